// Package identity owns users, groups, attributes, permissions, API keys and
// bearer tokens of the built-in identity manager ("bim"), and turns the
// credential of a request into an auth.Principal.
package identity

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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
	Limits   LoginLimits   // default DefaultLoginLimits
	Log      *slog.Logger
}

// Service implements identity operations. Each method checks the caller's
// permissions, validates before writing, and writes in one transaction with
// its audit record.
type Service struct {
	db     *store.DB
	cfg    Config
	hasher *hasher
	log    *slog.Logger

	projectExists ProjectExists

	mu      sync.Mutex
	touched map[string]time.Time // credential -> last recorded use
}

// New returns the identity service.
func New(db *store.DB, cfg Config) *Service {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Limits == (LoginLimits{}) {
		cfg.Limits = DefaultLoginLimits()
	}
	if cfg.Limits.Window <= 0 {
		cfg.Limits.Window = DefaultLoginLimits().Window
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{db: db, cfg: cfg, hasher: newHasher(cfg.Limits.HashConcurrency), log: cfg.Log,
		touched: map[string]time.Time{}}
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

// requireAdminFor refuses an action on another user who holds ADMIN unless
// the caller is an ADMIN too: only an ADMIN acts on an ADMIN, so that a
// USER_ADMIN cannot take over an ADMIN's account (a password, a database
// role), take ADMIN away (disabling, deleting) or lock every ADMIN out
// (revoking their keys). what completes "only an ADMIN can ...".
func requireAdminFor(ctx context.Context, q *store.Queries, p *auth.Principal, u *store.User, what string) error {
	if p.Is(u.ID) || p.Has(auth.Admin) {
		return nil
	}
	admin, err := holdsAdmin(ctx, q, u.ID)
	if err != nil {
		return err
	}
	if admin {
		return errs.Forbiddenf("user %q holds ADMIN: only an ADMIN can %s a user holding ADMIN", u.UserID, what)
	}
	return nil
}

// holdsAdmin reports whether a user holds ADMIN.
func holdsAdmin(ctx context.Context, q *store.Queries, userID int64) (bool, error) {
	perms, err := q.UserPermissions(ctx, userID)
	return slices.Contains(perms[userID], auth.Admin), err
}

// keepAnAdmin refuses, inside the transaction of a change to an ADMIN and
// after the change, a change that left no enabled ADMIN able to log in
// (with a password or an API key): nobody could administer custos through
// the API any more. what names the change for the message.
func keepAnAdmin(ctx context.Context, q *store.Queries, what string) error {
	// Two transactions each removing one of the last two ADMINs must not
	// both count the other one still there: the second counts after the
	// first commits.
	if err := q.Serialize(ctx, "custos.lastAdmin"); err != nil {
		return err
	}
	n, err := q.CountAdminsWhoCanLogIn(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.Conflictf("%s would leave no enabled ADMIN who can log in (with a password or an API key); "+
			"grant ADMIN to another user, or give this one another credential, first", what)
	}
	return nil
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
