package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
)

// UserView is a user with everything the API shows about them.
type UserView struct {
	*store.User
	Permissions []string
	Groups      []store.UserGroup
	Own         store.Attributes // attributes given to the user directly
	Effective   store.Attributes // own attributes merged with their groups'
}

// HasLogin reports whether the user can log in with a password.
func (v *UserView) HasLogin() bool { return v.PasswordHash != nil }

// GroupNames lists the names of the user's groups.
func (v *UserView) GroupNames() []string {
	out := make([]string, len(v.Groups))
	for i, g := range v.Groups {
		out[i] = g.Group.Name
	}
	return out
}

// views loads the permissions, groups and attributes of users in a few queries.
func views(ctx context.Context, q *store.Queries, users []*store.User) ([]*UserView, error) {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	perms, err := q.UserPermissions(ctx, ids...)
	if err != nil {
		return nil, err
	}
	groups, err := q.GroupsOfUsers(ctx, ids...)
	if err != nil {
		return nil, err
	}
	own, viaGroups, err := q.AttributesOfUsers(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]*UserView, len(users))
	for i, u := range users {
		v := &UserView{User: u, Permissions: perms[u.ID], Groups: groups[u.ID], Own: own[u.ID]}
		if v.Permissions == nil {
			v.Permissions = []string{}
		}
		v.Effective = mergeAttributes(v.Own)
		for name, values := range viaGroups[u.ID] {
			v.Effective[name] = appendUnique(v.Effective[name], values...)
		}
		for name := range v.Effective {
			sort.Strings(v.Effective[name])
		}
		out[i] = v
	}
	return out, nil
}

func view(ctx context.Context, q *store.Queries, u *store.User) (*UserView, error) {
	vs, err := views(ctx, q, []*store.User{u})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

func mergeAttributes(a store.Attributes) store.Attributes {
	out := store.Attributes{}
	for k, v := range a {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func appendUnique(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// Principal builds the principal of a user.
func (v *UserView) Principal() *auth.Principal {
	perms := append([]string(nil), v.Permissions...)
	sort.Strings(perms)
	return &auth.Principal{UserID: v.ID, IAMID: v.IAMID, Username: v.UserID, Name: v.Name, Email: v.Email, Permissions: perms}
}

// NewUser is the payload of user creation.
type NewUser struct {
	IAMID       string
	UserID      string
	Password    string
	Name        string
	Email       string
	Permissions []string
}

// validPermissions checks that perms are known and that the caller may grant them.
func validPermissions(p *auth.Principal, field string, perms []string, problems *errs.List) {
	for i, perm := range perms {
		if !auth.ValidPermission(perm) {
			problems.Add(fieldIndex(field, i, len(perms)), errs.CodeEnum, "%q is not a permission; known permissions are %s",
				perm, strings.Join(auth.AllPermissions, ", "))
		} else if perm == auth.Admin && !p.Has(auth.Admin) {
			problems.Add(fieldIndex(field, i, len(perms)), errs.CodeInvalid, "only an ADMIN can grant ADMIN")
		}
	}
}

func fieldIndex(field string, i, n int) string {
	if field == "" {
		return "[" + itoa(i) + "]"
	}
	return field + "[" + itoa(i) + "]"
}

func itoa(i int) string { return idString(int64(i)) }

// CreateUser creates a user of the built-in IAM. User ids are case-insensitive
// and stored in lower case.
func (s *Service) CreateUser(ctx context.Context, p *auth.Principal, in NewUser) (*UserView, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	var problems errs.List
	if in.IAMID == "" {
		problems.Add("iamid", errs.CodeRequired, "iamid is required")
	} else if in.IAMID != BuiltinIAM {
		problems.Add("iamid", errs.CodeEnum, "users can only be created in the built-in identity manager %q", BuiltinIAM)
	}
	in.UserID = strings.ToLower(strings.TrimSpace(in.UserID))
	problems.Require("userid", in.UserID)
	noNUL(&problems, "userid", in.UserID)
	noNUL(&problems, "profile.name", in.Name)
	noNUL(&problems, "profile.email", in.Email)
	if len(in.UserID) > 255 {
		problems.Add("userid", errs.CodeInvalid, "userid must be at most 255 characters")
	}
	if in.Password != "" && len(in.Password) < 8 {
		problems.Add("password", errs.CodeInvalid, "password must be at least 8 characters")
	}
	if in.Email != "" {
		if _, err := mail.ParseAddress(in.Email); err != nil {
			problems.Add("profile.email", errs.CodeInvalid, "%q is not an e-mail address", in.Email)
		}
	}
	validPermissions(p, "permissions", in.Permissions, &problems)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	now := store.Now()
	u := &store.User{IAMID: in.IAMID, UserID: in.UserID, Name: in.Name, Email: in.Email, CreatedAt: now, UpdatedAt: now}
	if u.Name == "" {
		u.Name = in.UserID
	}
	if in.Password != "" {
		h, err := s.hashPassword(ctx, in.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = &h
	}
	var out *UserView
	err := s.write(ctx, audit.Event{Type: "userCreate", TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("userid", errs.CodeUnique, "a user %q already exists in %q", in.UserID, in.IAMID)
			}
			return err
		}
		ev.TargetID = idString(u.ID)
		if err := tx.SetUserPermissions(ctx, u.ID, in.Permissions); err != nil {
			return err
		}
		if err := tx.AppendChange(ctx, "userCreated", "user", idString(u.ID)); err != nil {
			return err
		}
		var err error
		out, err = view(ctx, &tx.Queries, u)
		return err
	})
	return out, err
}

// CreateBootstrapAdmin creates the first administrator with every
// permission and an API key, returning the key; it is used once, when the
// store has no users. When rawKey is given (CUSTOS_ADMIN_API_KEY) it becomes
// the key. User and key are created together, so that a failed first start
// cannot leave an administrator nobody can log in as.
func (s *Service) CreateBootstrapAdmin(ctx context.Context, userid, rawKey string) (*store.User, string, error) {
	if rawKey == "" {
		rawKey = secret.NewCredential(16)
	} else if len(rawKey) < 16 {
		return nil, "", errors.New("an administrator API key must be at least 16 characters")
	}
	now := store.Now()
	u := &store.User{IAMID: BuiltinIAM, UserID: strings.ToLower(userid), Name: "Administrator", CreatedAt: now, UpdatedAt: now}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.SetUserPermissions(ctx, u.ID, auth.AllPermissions); err != nil {
			return err
		}
		actor := &auth.Principal{Username: "custos", IAMID: BuiltinIAM}
		if err := audit.Write(ctx, &tx.Queries, audit.Event{Type: "userCreate", Action: "bootstrap", Success: true,
			TargetType: "user", TargetID: idString(u.ID), Actor: actor}); err != nil {
			return err
		}
		name := "bootstrap"
		k := &store.APIKey{UserID: u.ID, Name: &name, KeyHash: secret.HashCredential(rawKey), CreatedAt: now}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "apiKey", Action: "create", Success: true,
			TargetType: "apikey", TargetID: idString(k.ID), Actor: actor})
	})
	if err != nil {
		return nil, "", err
	}
	return u, rawKey, nil
}

// User returns the view of one user. Users see themselves; USER_ADMIN sees anyone.
func (s *Service) User(ctx context.Context, p *auth.Principal, iamid, ref string) (*UserView, error) {
	u, err := resolveUser(ctx, &s.db.Queries, iamid, ref)
	if err != nil {
		return nil, err
	}
	if err := requireSelfOr(p, u.ID, auth.UserAdmin); err != nil {
		return nil, err
	}
	return view(ctx, &s.db.Queries, u)
}

// Current returns the view of the calling user.
func (s *Service) Current(ctx context.Context, p *auth.Principal) (*UserView, error) {
	u, err := s.db.GetUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return view(ctx, &s.db.Queries, u)
}

// SearchUsers searches users. Any user may search; the API hides attributes
// from callers without USER_ADMIN.
func (s *Service) SearchUsers(ctx context.Context, p *auth.Principal, f store.UserFilter) ([]*UserView, int, error) {
	users, total, err := s.db.SearchUsers(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	vs, err := views(ctx, &s.db.Queries, users)
	return vs, total, err
}

// ProfileUpdate carries the profile fields to change; nil fields stay.
type ProfileUpdate struct {
	Name, Email, Phone, About, Location, Organization, Position, SQLUser *string
	ExternalUserIDs, Preferences, SCIM                                   store.JSON
}

// UpdateProfile changes a user's profile. Users edit their own; USER_ADMIN edits anyone's.
func (s *Service) UpdateProfile(ctx context.Context, p *auth.Principal, iamid, ref string, up ProfileUpdate) (*UserView, error) {
	var problems errs.List
	if up.Email != nil && *up.Email != "" {
		if _, err := mail.ParseAddress(*up.Email); err != nil {
			problems.Add("email", errs.CodeInvalid, "%q is not an e-mail address", *up.Email)
		}
	}
	if up.SQLUser != nil && len(*up.SQLUser) > 63 {
		problems.Add("sqlUser", errs.CodeInvalid, "sqlUser must be at most 63 bytes (a database role name)")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"name", up.Name}, {"email", up.Email}, {"phone", up.Phone}, {"about", up.About}, {"location", up.Location},
		{"organization", up.Organization}, {"position", up.Position}, {"sqlUser", up.SQLUser}} {
		noNULIn(&problems, f.name, f.v)
	}
	noNULInJSON(&problems, "externalUserIds", up.ExternalUserIDs)
	noNULInJSON(&problems, "preferences", up.Preferences)
	noNULInJSON(&problems, "scim", up.SCIM)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	var out *UserView
	err := s.write(ctx, audit.Event{Type: "userProfileUpdate", TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		u, err := lockUser(ctx, &tx.Queries, iamid, ref)
		if err != nil {
			return err
		}
		ev.TargetID = idString(u.ID)
		if err := requireSelfOr(p, u.ID, auth.UserAdmin); err != nil {
			return err
		}
		set := func(dst **string, v *string) {
			if v != nil {
				if *v == "" {
					*dst = nil
				} else {
					c := *v
					*dst = &c
				}
			}
		}
		if up.Name != nil {
			u.Name = *up.Name
		}
		if up.Email != nil {
			u.Email = *up.Email
		}
		sqlUserBefore := deref(u.SQLUser)
		if up.SQLUser != nil && *up.SQLUser != sqlUserBefore {
			// Enforcement grants a user's access to this role: claiming
			// someone else's would take it from them or grant to a role
			// the user does not own, and remapping an ADMIN's would hand
			// the ADMIN's access to another role.
			if !p.Has(auth.UserAdmin) {
				return errs.Forbiddenf("only a USER_ADMIN can change the database role (sqlUser) a user queries as")
			}
			if err := requireAdminFor(ctx, &tx.Queries, p, u, "change the database role (sqlUser) of"); err != nil {
				return err
			}
		}
		set(&u.Phone, up.Phone)
		set(&u.About, up.About)
		set(&u.Location, up.Location)
		set(&u.Organization, up.Organization)
		set(&u.Position, up.Position)
		set(&u.SQLUser, up.SQLUser)
		if up.ExternalUserIDs != nil {
			u.ExternalUserIDs = up.ExternalUserIDs
		}
		if up.Preferences != nil {
			u.Preferences = up.Preferences
		}
		if up.SCIM != nil {
			u.SCIM = up.SCIM
		}
		u.UpdatedAt = store.Now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if deref(u.SQLUser) != sqlUserBefore {
			if err := tx.AppendChange(ctx, "userSQLUser", "user", idString(u.ID)); err != nil {
				return err
			}
		}
		out, err = view(ctx, &tx.Queries, u)
		return err
	})
	return out, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// SetPassword changes a user's password. Users change their own and must give
// the original; USER_ADMIN may set anyone's but an ADMIN's without it. The new
// password ends the sessions the old one opened: the user's bearer tokens
// from password logins are revoked, except the one the user changes their own
// password with. API keys, and the tokens exchanged for them, stay: they are
// credentials of their own, revoked with DELETE /bim/apikey/{keyid}.
func (s *Service) SetPassword(ctx context.Context, p *auth.Principal, iamid, ref, original, password string) error {
	if len(password) < 8 {
		return errs.Field("password", errs.CodeInvalid, "password must be at least 8 characters")
	}
	// Passwords are hashed before the transaction, which must not hold its
	// locks while waiting for a free hashing slot; the permissions are
	// checked before, so that nobody learns whether someone else's
	// original password matches, and again in the transaction.
	u, err := resolveUser(ctx, &s.db.Queries, iamid, ref)
	if err != nil {
		return err
	}
	allowed := func(q *store.Queries, u *store.User) error {
		if err := requireSelfOr(p, u.ID, auth.UserAdmin); err != nil {
			return err
		}
		return requireAdminFor(ctx, q, p, u, "set the password of")
	}
	if err := allowed(&s.db.Queries, u); err != nil {
		return err
	}
	checkOriginal := p.Is(u.ID) || original != ""
	if checkOriginal {
		// The original password is a guess like a login's, and spends the
		// same budgets.
		actor := &auth.Principal{UserID: u.ID, Username: u.UserID, IAMID: u.IAMID}
		if err := s.admitLogin(ctx, accountSubject(u.IAMID, u.UserID), addressSubject(ctx), actor); err != nil {
			return err
		}
		ok, err := s.checkPassword(ctx, u.PasswordHash, original)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Field("originalPassword", errs.CodeInvalid, "originalPassword does not match the current password")
		}
	}
	h, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.write(ctx, audit.Event{Type: "userPasswordUpdate", TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		locked, err := tx.LockUser(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("user %q of identity manager %q does not exist", ref, iamid)
		} else if err != nil {
			return err
		}
		ev.TargetID = idString(u.ID)
		if err := allowed(&tx.Queries, locked); err != nil {
			return err
		}
		if checkOriginal && deref(locked.PasswordHash) != deref(u.PasswordHash) {
			return errs.Conflictf("the password of %q changed meanwhile; try again", u.UserID)
		}
		locked.PasswordHash = &h
		locked.UpdatedAt = store.Now()
		if err := tx.UpdateUser(ctx, locked); err != nil {
			return err
		}
		var keep *int64
		if p.Is(u.ID) && p.Impersonator == nil {
			keep = p.TokenID
		}
		revoked, err := tx.DeletePasswordTokensOfUser(ctx, u.ID, keep)
		ev.Details = map[string]any{"revokedTokens": revoked}
		return err
	})
}

// SetDisabled disables or enables a user; disabling revokes their tokens.
func (s *Service) SetDisabled(ctx context.Context, p *auth.Principal, iamid, ref string, disabled bool) (*store.User, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	var out *store.User
	action := "enable"
	if disabled {
		action = "disable"
	}
	err := s.write(ctx, audit.Event{Type: "userUpdate", Action: action, TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		u, err := lockUser(ctx, &tx.Queries, iamid, ref)
		if err != nil {
			return err
		}
		ev.TargetID = idString(u.ID)
		if err := requireAdminFor(ctx, &tx.Queries, p, u, "disable or enable"); err != nil {
			return err
		}
		disabling := disabled && !u.Disabled
		if disabling {
			if err := tx.DeleteTokensOfUser(ctx, u.ID); err != nil {
				return err
			}
		}
		u.Disabled = disabled
		u.UpdatedAt = store.Now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if disabling {
			if admin, err := holdsAdmin(ctx, &tx.Queries, u.ID); err != nil {
				return err
			} else if admin {
				if err := keepAnAdmin(ctx, &tx.Queries, fmt.Sprintf("disabling %q", u.UserID)); err != nil {
					return err
				}
			}
		}
		out = u
		return tx.AppendChange(ctx, "userDisabled", "user", idString(u.ID))
	})
	return out, err
}

// DeleteUser deletes a user of the built-in IAM.
func (s *Service) DeleteUser(ctx context.Context, p *auth.Principal, ref string) (*store.User, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	var out *store.User
	err := s.write(ctx, audit.Event{Type: "userDelete", TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		u, err := lockUser(ctx, &tx.Queries, BuiltinIAM, ref)
		if err != nil {
			return err
		}
		ev.TargetID = idString(u.ID)
		if p.Is(u.ID) {
			return errs.Conflictf("you cannot delete yourself")
		}
		if err := requireAdminFor(ctx, &tx.Queries, p, u, "delete"); err != nil {
			return err
		}
		admin, err := holdsAdmin(ctx, &tx.Queries, u.ID)
		if err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		if admin {
			if err := keepAnAdmin(ctx, &tx.Queries, fmt.Sprintf("deleting %q", u.UserID)); err != nil {
				return err
			}
		}
		out = u
		return tx.AppendChange(ctx, "userDeleted", "user", idString(u.ID))
	})
	return out, err
}

// CloneUser creates one user per e-mail address with the permissions, groups
// and attributes of the given user. Addresses that are invalid or already
// taken are returned as failed; the others are created together.
func (s *Service) CloneUser(ctx context.Context, p *auth.Principal, ref string, emails []string) ([]string, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	if len(emails) == 0 {
		return nil, errs.Field("email", errs.CodeRequired, "give at least one e-mail address to clone the user to")
	}
	failed := []string{}
	err := s.write(ctx, audit.Event{Type: "userClone", TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		src, err := resolveUser(ctx, &tx.Queries, BuiltinIAM, ref)
		if err != nil {
			return err
		}
		ev.TargetID = idString(src.ID)
		v, err := view(ctx, &tx.Queries, src)
		if err != nil {
			return err
		}
		if slices.Contains(v.Permissions, auth.Admin) && !p.Has(auth.Admin) {
			return errs.Forbiddenf("only an ADMIN can clone a user holding ADMIN")
		}
		for _, email := range emails {
			addr, err := mail.ParseAddress(email)
			if err != nil || addr.Address != strings.TrimSpace(email) {
				failed = append(failed, email)
				continue
			}
			userid := strings.ToLower(addr.Address)
			if _, err := tx.GetUserByName(ctx, BuiltinIAM, userid); err == nil {
				failed = append(failed, email)
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			now := store.Now()
			u := &store.User{IAMID: BuiltinIAM, UserID: userid, Name: userid, Email: addr.Address, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.SetUserPermissions(ctx, u.ID, v.Permissions); err != nil {
				return err
			}
			for _, g := range v.Groups {
				if err := tx.AddMember(ctx, &store.Membership{GroupID: g.Group.ID, UserID: u.ID, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			for name, values := range v.Own {
				for _, value := range values {
					if err := tx.AddAttribute(ctx, store.ModelUser, u.ID, name, value); err != nil {
						return err
					}
				}
			}
			if err := tx.AppendChange(ctx, "userCreated", "user", idString(u.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	return failed, err
}

// PermissionChange says how to change a user's permissions.
type PermissionChange int

const (
	AddPermissions PermissionChange = iota
	RemovePermissions
	ReplacePermissions
)

// ChangePermissions adds, removes or replaces a user's permissions. Only
// USER_ADMIN may change permissions, and only an ADMIN may grant ADMIN.
func (s *Service) ChangePermissions(ctx context.Context, p *auth.Principal, iamid, ref string, how PermissionChange, perms []string) (*UserView, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	var problems errs.List
	if how == RemovePermissions {
		for _, perm := range perms {
			if !auth.ValidPermission(perm) {
				problems.Add("permission", errs.CodeEnum, "%q is not a permission", perm)
			} else if perm == auth.Admin && !p.Has(auth.Admin) {
				problems.Add("permission", errs.CodeInvalid, "only an ADMIN can revoke ADMIN")
			}
		}
	} else {
		validPermissions(p, "permissions", perms, &problems)
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	var out *UserView
	err := s.write(ctx, audit.Event{Type: "userPermissionsUpdate", TargetType: "user"}, func(tx *store.Tx, ev *audit.Event) error {
		u, err := lockUser(ctx, &tx.Queries, iamid, ref)
		if err != nil {
			return err
		}
		ev.TargetID = idString(u.ID)
		current, err := tx.UserPermissions(ctx, u.ID)
		if err != nil {
			return err
		}
		var next []string
		switch how {
		case AddPermissions:
			next = appendUnique(append([]string(nil), current[u.ID]...), perms...)
		case RemovePermissions:
			for _, perm := range current[u.ID] {
				if !slices.Contains(perms, perm) {
					next = append(next, perm)
				}
			}
		case ReplacePermissions:
			next = appendUnique(nil, perms...)
		}
		revokesAdmin := slices.Contains(current[u.ID], auth.Admin) && !slices.Contains(next, auth.Admin)
		if revokesAdmin && !p.Has(auth.Admin) {
			return errs.Forbiddenf("only an ADMIN can revoke ADMIN")
		}
		if err := tx.SetUserPermissions(ctx, u.ID, next); err != nil {
			return err
		}
		if revokesAdmin {
			if err := keepAnAdmin(ctx, &tx.Queries, fmt.Sprintf("revoking ADMIN from %q", u.UserID)); err != nil {
				return err
			}
		}
		if err := tx.AppendChange(ctx, "userPermissions", "user", idString(u.ID)); err != nil {
			return err
		}
		out, err = view(ctx, &tx.Queries, u)
		return err
	})
	return out, err
}

// GroupsOfUser lists a user's groups. Users see their own; USER_ADMIN anyone's.
func (s *Service) GroupsOfUser(ctx context.Context, p *auth.Principal, iamid, ref string) ([]store.UserGroup, *store.User, error) {
	u, err := resolveUser(ctx, &s.db.Queries, iamid, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := requireSelfOr(p, u.ID, auth.UserAdmin); err != nil {
		return nil, nil, err
	}
	groups, err := s.db.GroupsOfUsers(ctx, u.ID)
	return groups[u.ID], u, err
}
