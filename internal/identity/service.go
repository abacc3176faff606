// Package identity owns users, groups, attributes, permissions, API keys and
// bearer tokens of the built-in identity manager ("bim"), and turns the
// credential of a request into an auth.Principal.
package identity

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// BuiltinIAM is the id of the built-in identity manager.
const BuiltinIAM = "bim"

// Config tunes authentication.
type Config struct {
	TokenTTL time.Duration // lifetime of bearer tokens; default one hour
}

// Service implements identity operations. Each method checks the caller's
// permissions, validates before writing, and writes in one transaction with
// its audit record.
type Service struct {
	db  *store.DB
	cfg Config

	projectExists ProjectExists

	mu      sync.Mutex
	touched map[string]time.Time // credential -> last recorded use
}

// New returns the identity service.
func New(db *store.DB, cfg Config) *Service {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	return &Service{db: db, cfg: cfg, touched: map[string]time.Time{}}
}

// TokenTTL is the lifetime of the bearer tokens the service issues.
func (s *Service) TokenTTL() time.Duration { return s.cfg.TokenTTL }

// write runs fn in a transaction and, when fn succeeds, writes the audit
// event in it; fn may complete the event (its target, details).
func (s *Service) write(ctx context.Context, ev audit.Event, fn func(tx *store.Tx, ev *audit.Event) error) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		e := ev
		if err := fn(tx, &e); err != nil {
			return err
		}
		e.Success = true
		return audit.Write(ctx, &tx.Queries, e)
	})
}

// resolveUser finds a user of an IAM by the path segment the API was given:
// the userid (user name) or, when that matches nobody, the numeric id.
func resolveUser(ctx context.Context, q *store.Queries, iamid, ref string) (*store.User, error) {
	if iamid != BuiltinIAM {
		return nil, errs.NotFoundf("identity manager %q is not configured; the built-in one is %q", iamid, BuiltinIAM)
	}
	if hasNUL(ref) { // no user name holds one; the store could not even look
		return nil, errs.NotFoundf("user %q of identity manager %q does not exist", ref, iamid)
	}
	u, err := q.GetUserByName(ctx, iamid, strings.ToLower(ref))
	if errors.Is(err, store.ErrNotFound) {
		if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
			u, err = q.GetUser(ctx, id)
			if err == nil && u.IAMID != iamid {
				err = store.ErrNotFound
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("user %q of identity manager %q does not exist", ref, iamid)
	}
	return u, err
}

// lockUser is resolveUser for a change inside a transaction: it reads the
// user again holding its row (store.LockUser), so that concurrent changes to
// one user apply one after the other rather than undo each other.
func lockUser(ctx context.Context, q *store.Queries, iamid, ref string) (*store.User, error) {
	u, err := resolveUser(ctx, q, iamid, ref)
	if err != nil {
		return nil, err
	}
	locked, err := q.LockUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("user %q of identity manager %q does not exist", ref, iamid)
	}
	return locked, err
}

// requireSelfOr allows the user themself or a holder of perm.
func requireSelfOr(p *auth.Principal, userID int64, perm string) error {
	if p.Is(userID) {
		return nil
	}
	return p.Require(perm)
}

// requireAdminFor refuses a change to another user who holds ADMIN unless
// the caller is an ADMIN too: only an ADMIN grants or revokes ADMIN, so a
// USER_ADMIN must not take over an ADMIN's account by setting its password,
// nor take ADMIN away by disabling or deleting its holder.
func requireAdminFor(ctx context.Context, q *store.Queries, p *auth.Principal, u *store.User) error {
	if p.Is(u.ID) || p.Has(auth.Admin) {
		return nil
	}
	perms, err := q.UserPermissions(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, perm := range perms[u.ID] {
		if perm == auth.Admin {
			return errs.Forbiddenf("user %q holds ADMIN: only an ADMIN can change their password, disable or delete them", u.UserID)
		}
	}
	return nil
}

// guardLastAdmin refuses a change that would leave no enabled ADMIN.
func guardLastAdmin(ctx context.Context, q *store.Queries, u *store.User, perms []string) error {
	has := false
	for _, p := range perms {
		if p == auth.Admin {
			has = true
		}
	}
	if !has || u.Disabled {
		return nil
	}
	// Two transactions each taking ADMIN from one of the last two holders
	// must not both see the other still holding it.
	if err := q.Serialize(ctx, "custos.lastAdmin"); err != nil {
		return err
	}
	n, err := q.CountUsersWithPermission(ctx, auth.Admin)
	if err != nil {
		return err
	}
	if n <= 1 {
		return errs.Conflictf("user %q is the last enabled ADMIN; grant ADMIN to another user first", u.UserID)
	}
	return nil
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
