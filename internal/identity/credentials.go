package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
)

// touchInterval limits how often a credential's last use is written.
const touchInterval = time.Minute

// tokenBytes is the size of a bearer token's random part (hex encoded, twice as long).
const tokenBytes = 32

// Authenticate turns the value of an Authorization header (an API key, raw or
// after "Bearer ", or a bearer token) into the principal it stands for.
func (s *Service) Authenticate(ctx context.Context, header string) (*auth.Principal, error) {
	cred := strings.TrimSpace(header)
	if len(cred) > 7 && strings.EqualFold(cred[:7], "bearer ") {
		cred = strings.TrimSpace(cred[7:])
	}
	if cred == "" {
		return nil, errs.Unauthorizedf("missing credentials: send an API key in the Authorization header, or 'Bearer <token>'")
	}
	hash := secret.HashCredential(cred)
	now := store.Now()
	// Tokens are 64 hex characters and API keys 32 (or what an administrator
	// chose): look where the credential most likely is first.
	if len(cred) == 2*tokenBytes {
		if p, err := s.tokenAuth(ctx, hash, now); err == nil || !errors.Is(err, store.ErrNotFound) {
			return p, err
		}
		return s.keyAuth(ctx, hash, now)
	}
	if p, err := s.keyAuth(ctx, hash, now); err == nil || !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	return s.tokenAuth(ctx, hash, now)
}

// errInvalidCredential answers a credential that is neither key nor token.
var errInvalidCredential = errs.Unauthorizedf("the API key or bearer token is not valid (it may have been revoked)")

// keyAuth authenticates an API key; store.ErrNotFound when there is none.
func (s *Service) keyAuth(ctx context.Context, hash string, now time.Time) (*auth.Principal, error) {
	k, u, perms, err := s.db.APIKeyUser(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", errInvalidCredential, store.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, errs.Unauthorizedf("user %q is disabled", u.UserID)
	}
	p := (&UserView{User: u, Permissions: perms}).Principal()
	p.KeyID = &k.ID
	p.ProjectID = k.ProjectID
	s.touch(ctx, "k"+idString(k.ID), func() error { return s.db.TouchAPIKey(ctx, k.ID, now) })
	return p, nil
}

// tokenAuth authenticates a bearer token; store.ErrNotFound when there is none.
func (s *Service) tokenAuth(ctx context.Context, hash string, now time.Time) (*auth.Principal, error) {
	t, err := s.db.GetTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", errInvalidCredential, store.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	if !now.Before(t.ExpiresAt) {
		return nil, errs.Unauthorizedf("the bearer token expired at %s; authenticate again with POST /bim/apikey/authenticate",
			t.ExpiresAt.Format(time.RFC3339))
	}
	p, err := s.tokenPrincipal(ctx, t)
	if err != nil {
		return nil, err
	}
	s.touch(ctx, "t"+idString(t.ID), func() error { return s.db.TouchToken(ctx, t.ID, now) })
	return p, nil
}

func (s *Service) tokenPrincipal(ctx context.Context, t *store.Token) (*auth.Principal, error) {
	owner, err := s.principalOf(ctx, t.UserID)
	if err != nil {
		return nil, err
	}
	owner.TokenID = &t.ID
	owner.KeyID = t.APIKeyID
	owner.ProjectID = t.ProjectID
	if t.ActingUserID == nil {
		return owner, nil
	}
	acting, err := s.principalOf(ctx, *t.ActingUserID)
	if err != nil {
		return nil, err
	}
	// Permissions change after the token is issued: the rules of
	// impersonation hold on every use, not only when it began.
	if err := mayImpersonate(owner, acting); err != nil {
		return nil, errs.Unauthorizedf("the impersonation token is no longer valid: %s", errs.As(err).Message)
	}
	acting.TokenID = &t.ID
	acting.ProjectID = t.ProjectID
	acting.Impersonator = owner
	return acting, nil
}

// principalOf loads an enabled user's principal.
func (s *Service) principalOf(ctx context.Context, userID int64) (*auth.Principal, error) {
	u, perms, err := s.db.UserWithPermissions(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.Unauthorizedf("the credential's user no longer exists")
	} else if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, errs.Unauthorizedf("user %q is disabled", u.UserID)
	}
	return (&UserView{User: u, Permissions: perms}).Principal(), nil
}

// touch records a credential's use at most once per touchInterval; a failure
// to record is not a reason to refuse the request.
func (s *Service) touch(ctx context.Context, key string, write func() error) {
	now := time.Now()
	s.mu.Lock()
	last, ok := s.touched[key]
	if ok && now.Sub(last) < touchInterval {
		s.mu.Unlock()
		return
	}
	s.touched[key] = now
	if len(s.touched) > 100000 {
		s.touched = map[string]time.Time{key: now}
	}
	s.mu.Unlock()
	_ = write()
}

// IssuedToken is a bearer token as handed out, the only time it is visible.
type IssuedToken struct {
	Token     string
	ExpiresAt time.Time
	UserID    int64
}

func (s *Service) issueToken(ctx context.Context, q *store.Queries, t *store.Token) (*IssuedToken, error) {
	raw := secret.NewCredential(tokenBytes)
	t.TokenHash = secret.HashCredential(raw)
	t.CreatedAt = store.Now()
	t.ExpiresAt = t.CreatedAt.Add(s.cfg.TokenTTL)
	if err := q.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	return &IssuedToken{Token: raw, ExpiresAt: t.ExpiresAt, UserID: t.UserID}, nil
}

// ExchangeAPIKey trades an API key for a bearer token.
func (s *Service) ExchangeAPIKey(ctx context.Context, apikey string) (*IssuedToken, error) {
	if strings.TrimSpace(apikey) == "" {
		return nil, errs.Field("apikey", errs.CodeRequired, "apikey is required")
	}
	k, err := s.db.GetAPIKeyByHash(ctx, secret.HashCredential(strings.TrimSpace(apikey)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.authFailure(ctx, addressSubject(ctx), "apikey", nil, errs.Unauthorizedf("the API key is not valid (it may have been revoked)"))
	} else if err != nil {
		return nil, err
	}
	p, err := s.principalOf(ctx, k.UserID)
	if err != nil {
		return nil, s.authFailure(ctx, addressSubject(ctx), "apikey", &auth.Principal{UserID: k.UserID}, err)
	}
	var out *IssuedToken
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.issueToken(ctx, &tx.Queries, &store.Token{UserID: k.UserID, APIKeyID: &k.ID, ProjectID: k.ProjectID})
		if err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "authenticate", Action: "apikey", Success: true, Actor: p,
			Details: map[string]any{"keyId": k.ID}})
	})
	return out, err
}

// PasswordLogin checks a built-in user's password and issues a bearer token.
// Failed logins spend the budgets of the account and of the source address
// (s.cfg.Limits); a login with a budget spent is refused with 429 without
// looking at the password.
func (s *Service) PasswordLogin(ctx context.Context, iamid, username, password string) (*IssuedToken, error) {
	var problems errs.List
	problems.Require("username", username)
	problems.Require("password", password)
	if len(username) > 255 { // as no user id is: nothing to look up, or to keep a budget for
		problems.Add("username", errs.CodeInvalid, "username must be at most 255 characters")
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if iamid != BuiltinIAM {
		return nil, errs.NotFoundf("identity manager %q is not configured; the built-in one is %q", iamid, BuiltinIAM)
	}
	userid := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(username, "\x00", "\uFFFD")))
	account, address := accountSubject(iamid, userid), addressSubject(ctx)
	actor := &auth.Principal{Username: userid, IAMID: iamid}
	var u *store.User
	if !hasNUL(username) { // no user name holds one; the store could not even look
		var err error
		if u, err = s.db.GetUserByName(ctx, iamid, userid); err == nil {
			actor.UserID = u.ID
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if err := s.admitLogin(ctx, account, address, actor); err != nil {
		return nil, err
	}
	var hash *string
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := s.checkPassword(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.authFailure(ctx, account, "password", actor, errs.Unauthorizedf("invalid username or password"))
	}
	if u.Disabled {
		return nil, s.authFailure(ctx, account, "password", actor, errs.Unauthorizedf("user %q is disabled", u.UserID))
	}
	var out *IssuedToken
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		if err := s.loginSucceeded(ctx, tx, account, address, now); err != nil {
			return err
		}
		// u was read before the transaction: write only the login, so that
		// a change made meanwhile (disabling, a new password) stands.
		if err := tx.SetLastLogin(ctx, u.ID, now); err != nil {
			return err
		}
		var err error
		out, err = s.issueToken(ctx, &tx.Queries, &store.Token{UserID: u.ID})
		if err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "authenticate", Action: "password", Success: true, Actor: actor})
	})
	return out, err
}

// Impersonate issues a token that acts as another user. The API key's owner
// needs IMPERSONATE_USER and must hold every permission of the user they
// impersonate, so that impersonation never widens what they can do.
func (s *Service) Impersonate(ctx context.Context, apikey, iamid, userRef string, projectID *int64) (*IssuedToken, error) {
	var problems errs.List
	problems.Require("apikey", apikey)
	problems.Require("userid", userRef)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if iamid == "" {
		iamid = BuiltinIAM
	}
	k, err := s.db.GetAPIKeyByHash(ctx, secret.HashCredential(strings.TrimSpace(apikey)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.authFailure(ctx, addressSubject(ctx), "impersonate", nil, errs.Unauthorizedf("the API key is not valid (it may have been revoked)"))
	} else if err != nil {
		return nil, err
	}
	owner, err := s.principalOf(ctx, k.UserID)
	if err != nil {
		return nil, s.authFailure(ctx, addressSubject(ctx), "impersonate", &auth.Principal{UserID: k.UserID}, err)
	}
	if err := owner.Require(auth.ImpersonateUser); err != nil {
		return nil, s.authFailure(ctx, addressSubject(ctx), "impersonate", owner, err)
	}
	target, err := resolveUser(ctx, &s.db.Queries, iamid, userRef)
	if err != nil {
		return nil, err
	}
	acting, err := s.principalOf(ctx, target.ID)
	if err != nil {
		return nil, errs.Conflictf("user %q cannot be impersonated: %v", target.UserID, err)
	}
	if err := mayImpersonate(owner, acting); err != nil {
		return nil, s.authFailure(ctx, addressSubject(ctx), "impersonate", owner, err)
	}
	var out *IssuedToken
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.issueToken(ctx, &tx.Queries, &store.Token{UserID: owner.UserID, ActingUserID: &target.ID,
			APIKeyID: &k.ID, ProjectID: projectID, Scopes: "impersonation"})
		if err != nil {
			return err
		}
		acting.Impersonator = owner
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "authenticate", Action: "impersonate", Success: true,
			Actor: acting, TargetType: "user", TargetID: idString(target.ID)})
	})
	return out, err
}

// mayImpersonate checks that owner may act as acting: owner holds
// IMPERSONATE_USER and every permission of acting, so that impersonation
// never widens what owner can do.
func mayImpersonate(owner, acting *auth.Principal) error {
	if err := owner.Require(auth.ImpersonateUser); err != nil {
		return err
	}
	for _, perm := range acting.Permissions {
		if !owner.Has(perm) {
			return errs.Forbiddenf("user %q holds %s, which %q does not; impersonation cannot widen permissions",
				acting.Username, perm, owner.Username)
		}
	}
	return nil
}

// TokenDetails describes a bearer token.
type TokenDetails struct {
	Token  *store.Token
	Owner  *store.User
	Acting *store.User // impersonated user, if any
}

// TokenInfo describes a token. Users may inspect their own tokens; USER_ADMIN any.
func (s *Service) TokenInfo(ctx context.Context, p *auth.Principal, token string) (*TokenDetails, error) {
	if strings.TrimSpace(token) == "" {
		return nil, errs.Field("token", errs.CodeRequired, "token is required")
	}
	t, err := s.db.GetTokenByHash(ctx, secret.HashCredential(strings.TrimSpace(token)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("no such token (it may have expired or been revoked)")
	} else if err != nil {
		return nil, err
	}
	self := p.Is(t.UserID) || (p.Impersonator != nil && p.Impersonator.Is(t.UserID))
	if !self {
		if err := p.Require(auth.UserAdmin); err != nil {
			return nil, err
		}
	}
	d := &TokenDetails{Token: t}
	if d.Owner, err = s.db.GetUser(ctx, t.UserID); err != nil {
		return nil, err
	}
	if t.ActingUserID != nil {
		if d.Acting, err = s.db.GetUser(ctx, *t.ActingUserID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// NewAPIKey is a freshly created API key; Key is shown only now.
type NewAPIKey struct {
	Key    string
	Record *store.APIKey
}

// ProjectExists checks a project id for project-scoped keys; set by the
// projects service when it is wired in.
type ProjectExists func(ctx context.Context, q *store.Queries, id int64) (bool, error)

// SetProjectCheck installs the check used for project-scoped API keys.
func (s *Service) SetProjectCheck(f ProjectExists) { s.projectExists = f }

// CreateAPIKey creates an API key for the caller, optionally scoped to a
// project. A key cannot be created while impersonating.
func (s *Service) CreateAPIKey(ctx context.Context, p *auth.Principal, name *string, projectID *int64) (*NewAPIKey, error) {
	if p.Impersonator != nil {
		return nil, errs.Forbiddenf("API keys cannot be created while impersonating another user")
	}
	if (name == nil || strings.TrimSpace(*name) == "") && projectID == nil {
		return nil, errs.Field("name", errs.CodeRequired, "give a name, a projectId, or both")
	}
	if name != nil && len(*name) > 255 {
		return nil, errs.Field("name", errs.CodeInvalid, "name must be at most 255 characters")
	}
	if name != nil && hasNUL(*name) {
		return nil, errs.Field("name", errs.CodeInvalid, "name must not contain NUL characters")
	}
	raw := secret.NewCredential(16)
	k := &store.APIKey{UserID: p.UserID, Name: optional(name), KeyHash: secret.HashCredential(raw), ProjectID: projectID,
		CreatedAt: store.Now()}
	err := s.write(ctx, audit.Event{Type: "apiKey", Action: "create", TargetType: "apikey"}, func(tx *store.Tx, ev *audit.Event) error {
		if projectID != nil {
			ok := false
			if s.projectExists != nil {
				var err error
				if ok, err = s.projectExists(ctx, &tx.Queries, *projectID); err != nil {
					return err
				}
			}
			if !ok {
				return errs.Field("projectId", errs.CodeNotFound, "project %d does not exist", *projectID)
			}
		}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		ev.TargetID = idString(k.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &NewAPIKey{Key: raw, Record: k}, nil
}

// APIKeys lists a user's keys (never the keys themselves). Users list their
// own; USER_ADMIN anyone's but an ADMIN's, which only an ADMIN lists.
func (s *Service) APIKeys(ctx context.Context, p *auth.Principal, iamid, ref string) ([]*store.APIKey, error) {
	u, err := resolveUser(ctx, &s.db.Queries, iamid, ref)
	if err != nil {
		return nil, err
	}
	if err := requireSelfOr(p, u.ID, auth.UserAdmin); err != nil {
		return nil, err
	}
	if err := requireAdminFor(ctx, &s.db.Queries, p, u, "list the API keys of"); err != nil {
		return nil, err
	}
	return s.db.APIKeysOfUser(ctx, u.ID)
}

// DeleteAPIKey revokes a key and every token issued from it, returning how
// many tokens were revoked. Owners revoke their keys; USER_ADMIN anyone's
// but an ADMIN's, which only an ADMIN revokes. The last credential of the
// last ADMIN who can log in is not revoked (409).
func (s *Service) DeleteAPIKey(ctx context.Context, p *auth.Principal, keyID int64) (int64, error) {
	var revoked int64
	err := s.write(ctx, audit.Event{Type: "apiKey", Action: "delete", TargetType: "apikey", TargetID: idString(keyID)}, func(tx *store.Tx, ev *audit.Event) error {
		k, err := tx.GetAPIKey(ctx, keyID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("API key %d does not exist", keyID)
		} else if err != nil {
			return err
		}
		if err := requireSelfOr(p, k.UserID, auth.UserAdmin); err != nil {
			return err
		}
		owner, err := tx.LockUser(ctx, k.UserID)
		if err != nil {
			return err
		}
		if err := requireAdminFor(ctx, &tx.Queries, p, owner, "revoke the API keys of"); err != nil {
			return err
		}
		if revoked, err = tx.DeleteAPIKey(ctx, keyID); err != nil {
			return err
		}
		if admin, err := holdsAdmin(ctx, &tx.Queries, owner.ID); err != nil {
			return err
		} else if admin {
			if err := keepAnAdmin(ctx, &tx.Queries, fmt.Sprintf("revoking API key %d of %q", keyID, owner.UserID)); err != nil {
				return err
			}
		}
		ev.Details = map[string]any{"revokedTokens": revoked, "userId": k.UserID}
		return nil
	})
	return revoked, err
}

// PruneTokens deletes expired tokens; the server runs it periodically.
func (s *Service) PruneTokens(ctx context.Context) (int64, error) {
	return s.db.DeleteExpiredTokens(ctx, store.Now())
}
