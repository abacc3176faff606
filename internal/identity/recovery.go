package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
)

// Recovery is the outcome of RecoverAdmin.
type Recovery struct {
	User        *store.User
	Key         string // the new API key, shown only now
	KeyID       int64
	RevokedKeys int // the ADMIN's other keys, when asked to revoke them
}

// RecoverAdmin gives an enabled ADMIN a new API key with no caller to check:
// it is how whoever runs the server's machine (and so holds its store)
// regains access when every ADMIN credential is lost. userid picks the
// ADMIN; empty means the only enabled one. With revokeOthers, the ADMIN's
// other keys and the tokens issued from them are revoked. operator says who
// asked, for the audit record written with the key.
func (s *Service) RecoverAdmin(ctx context.Context, userid string, revokeOthers bool, operator string) (*Recovery, error) {
	raw := secret.NewCredential(16)
	out := &Recovery{Key: raw}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		admins, err := tx.EnabledAdmins(ctx)
		if err != nil {
			return err
		}
		names := make([]string, len(admins))
		for i, a := range admins {
			names[i] = a.UserID
		}
		switch {
		case len(admins) == 0:
			return errors.New("the store has no enabled user holding ADMIN: there is nobody to give a key to")
		case userid == "" && len(admins) > 1:
			return fmt.Errorf("several users hold ADMIN (%s): name one with --user", strings.Join(names, ", "))
		case userid == "":
			out.User = admins[0]
		default:
			want := strings.ToLower(strings.TrimSpace(userid))
			for _, a := range admins {
				if a.UserID == want {
					out.User = a
				}
			}
			if out.User == nil {
				return fmt.Errorf("%q is not an enabled user holding ADMIN; those are: %s", userid, strings.Join(names, ", "))
			}
		}
		u := out.User
		if _, err := tx.LockUser(ctx, u.ID); err != nil {
			return err
		}
		if revokeOthers {
			keys, err := tx.APIKeysOfUser(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if _, err := tx.DeleteAPIKey(ctx, k.ID); err != nil {
					return err
				}
			}
			out.RevokedKeys = len(keys)
		}
		name := "recovery"
		k := &store.APIKey{UserID: u.ID, Name: &name, KeyHash: secret.HashCredential(raw), CreatedAt: store.Now()}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		out.KeyID = k.ID
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "apiKey", Action: "recover", Success: true,
			TargetType: "apikey", TargetID: idString(k.ID), Actor: &auth.Principal{Username: "custos", IAMID: BuiltinIAM},
			Details: map[string]any{"userId": u.ID, "userid": u.UserID, "revokedKeys": out.RevokedKeys,
				"operator": operator, "command": "custos admin reset-key"}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
