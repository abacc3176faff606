package enforce

import (
	"context"
	"testing"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// An update that was validating while the integration was being removed
// must not bring it back to life.
func TestUpdateLosesToARemovalThatStartedMeanwhile(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(db, nil, Options{})
	in := &store.Integration{Type: TypeTrino, Status: StatusEnabled, Target: "trino", Config: store.JSON(`{}`), CreatedAt: store.Now()}
	in.UpdatedAt = in.CreatedAt
	if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	// The removal commits first.
	if _, err := db.SetIntegrationStatus(ctx, in.ID, StatusDeleting, nil, store.Now()); err != nil {
		t.Fatal(err)
	}
	upd := *in
	upd.Config, upd.UpdatedAt = store.JSON(`{"changed": true}`), store.Now()
	err = s.saveUpdate(ctx, &upd, StatusEnabled)
	if e := errs.As(err); err == nil || e.Kind != errs.Conflict {
		t.Fatalf("update after a removal: %v, want a conflict", err)
	}
	now, err := db.GetIntegration(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Status != StatusDeleting || string(now.Config) != `{}` {
		t.Errorf("the update overwrote the removal: %s %s", now.Status, now.Config)
	}
	// Without a concurrent change the update is saved.
	if _, err := db.SetIntegrationStatus(ctx, in.ID, StatusEnabled, nil, store.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.saveUpdate(ctx, &upd, StatusEnabled); err != nil {
		t.Fatal(err)
	}
	if now, _ := db.GetIntegration(ctx, in.ID); string(now.Config) != `{"changed": true}` {
		t.Errorf("config %s", now.Config)
	}
}
