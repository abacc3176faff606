package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/store"
)

func TestAuthFailuresRoundTripFlushAndPrune(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := store.Now()
		later := now.Add(time.Hour)
		// A subject without a record reads as a blank one.
		err := db.InTx(ctx, func(tx *store.Tx) error {
			f, err := tx.LockAuthFailures(ctx, "account:bim/alice")
			if err != nil {
				return err
			}
			if f.TAT != nil || f.Pending != 0 || f.WindowStart != nil {
				t.Fatalf("a new subject: %+v", f)
			}
			f.TAT, f.WindowStart, f.Recorded, f.Pending, f.PendingSince = &later, &now, 5, 3, &now
			return tx.SaveAuthFailures(ctx, f)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			f, err := tx.LockAuthFailures(ctx, "account:bim/alice")
			if err != nil {
				return err
			}
			if !f.TAT.Equal(later) || !f.WindowStart.Equal(now) || f.Recorded != 5 || f.Pending != 3 || !f.PendingSince.Equal(now) {
				t.Fatalf("read back: %+v", f)
			}
			// Only audit minutes that began before the cut-off flush.
			if rows, err := tx.PendingAuthFailures(ctx, now, 10); err != nil || len(rows) != 0 {
				t.Fatalf("pending before the minute ended: %v %v", rows, err)
			}
			rows, err := tx.PendingAuthFailures(ctx, now.Add(time.Minute), 10)
			if err != nil || len(rows) != 1 || rows[0].Subject != "account:bim/alice" {
				t.Fatalf("pending: %v %v", rows, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Nothing is pruned while failures wait for the trail or the
		// budget is spent.
		if n, err := db.PruneAuthFailures(ctx, now, now.Add(time.Minute)); err != nil || n != 0 {
			t.Fatalf("pruned %d: %v", n, err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			f, err := tx.LockAuthFailures(ctx, "account:bim/alice")
			if err != nil {
				return err
			}
			f.Pending, f.PendingSince = 0, nil
			return tx.SaveAuthFailures(ctx, f)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := db.PruneAuthFailures(ctx, now, now.Add(time.Minute)); err != nil || n != 0 {
			t.Fatalf("pruned a spent budget: %d %v", n, err)
		}
		if n, err := db.PruneAuthFailures(ctx, later, now.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("pruned %d once the budget came back: %v", n, err)
		}
	})
}

func TestAdminsWhoCanLogIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		admin := newUser(t, &db.Queries, "admin", "Admin")
		other := newUser(t, &db.Queries, "other", "Other")
		for _, u := range []*store.User{admin, other} {
			if err := db.SetUserPermissions(ctx, u.ID, []string{"ADMIN"}); err != nil {
				t.Fatal(err)
			}
		}
		count := func(want int) {
			t.Helper()
			if n, err := db.CountAdminsWhoCanLogIn(ctx); err != nil || n != want {
				t.Fatalf("ADMINs who can log in: %d (%v), want %d", n, err, want)
			}
		}
		count(0) // neither has a credential
		k := &store.APIKey{UserID: admin.ID, KeyHash: "k", CreatedAt: store.Now()}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		count(1)
		hash := "argon2id hash"
		other.PasswordHash = &hash
		if err := db.UpdateUser(ctx, other); err != nil {
			t.Fatal(err)
		}
		count(2)
		other.Disabled = true
		if err := db.UpdateUser(ctx, other); err != nil {
			t.Fatal(err)
		}
		count(1)
		if admins, err := db.EnabledAdmins(ctx); err != nil || len(admins) != 1 || admins[0].UserID != "admin" {
			t.Fatalf("enabled ADMINs: %v %v", admins, err)
		}
		// Password tokens go with a new password; key tokens stay.
		now := store.Now()
		for i, keyID := range []*int64{nil, nil, &k.ID} {
			tok := &store.Token{TokenHash: string(rune('a' + i)), UserID: admin.ID, APIKeyID: keyID, CreatedAt: now,
				ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		kept, _ := db.GetTokenByHash(ctx, "a")
		if n, err := db.DeletePasswordTokensOfUser(ctx, admin.ID, &kept.ID); err != nil || n != 1 {
			t.Fatalf("revoked %d: %v", n, err)
		}
		for hash, want := range map[string]bool{"a": true, "b": false, "c": true} {
			if _, err := db.GetTokenByHash(ctx, hash); (err == nil) != want || (err != nil && !errors.Is(err, store.ErrNotFound)) {
				t.Errorf("token %s: %v, want kept=%v", hash, err, want)
			}
		}
	})
}
