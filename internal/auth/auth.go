// Package auth defines who is calling (the Principal) and the permissions
// custos checks. Authentication itself lives in package identity; every
// service receives the Principal and checks what it needs.
package auth

import (
	"context"
	"slices"

	"github.com/custosdata/custos/internal/errs"
)

// Permissions a user can hold. ADMIN implies every other permission.
const (
	Admin                              = "ADMIN"
	ApplicationAdmin                   = "APPLICATION_ADMIN"
	Audit                              = "AUDIT"
	CreateDataSource                   = "CREATE_DATA_SOURCE"
	CreateDataSourceInProject          = "CREATE_DATA_SOURCE_IN_PROJECT"
	CreateFilter                       = "CREATE_FILTER"
	CreateProject                      = "CREATE_PROJECT"
	CreateS3DataSourceWithInstanceRole = "CREATE_S3_DATASOURCE_WITH_INSTANCE_ROLE"
	FetchPolicyInfo                    = "FETCH_POLICY_INFO"
	Governance                         = "GOVERNANCE"
	ImpersonateHDFSUser                = "IMPERSONATE_HDFS_USER"
	ImpersonateUser                    = "IMPERSONATE_USER"
	ProjectManagement                  = "PROJECT_MANAGEMENT"
	UserAdmin                          = "USER_ADMIN"
)

// AllPermissions lists every permission, sorted.
var AllPermissions = []string{
	Admin, ApplicationAdmin, Audit, CreateDataSource, CreateDataSourceInProject, CreateFilter, CreateProject,
	CreateS3DataSourceWithInstanceRole, FetchPolicyInfo, Governance, ImpersonateHDFSUser, ImpersonateUser,
	ProjectManagement, UserAdmin,
}

// ValidPermission reports whether p is a known permission.
func ValidPermission(p string) bool { return slices.Contains(AllPermissions, p) }

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID      int64  // the user's id, which is also their profile id
	IAMID       string // identity manager, "bim" for built-in users
	Username    string // the user's userid within the IAM
	Name        string
	Email       string
	Permissions []string // sorted
	KeyID       *int64   // API key used, directly or to obtain the token
	TokenID     *int64   // bearer token used, if any
	ProjectID   *int64   // project the credential is scoped to, if any
	// Impersonator is set when the caller acts as this user through an
	// impersonation token; it is the user who holds the token.
	Impersonator *Principal
}

// Has reports whether the principal holds perm, directly or through ADMIN.
func (p *Principal) Has(perm string) bool {
	if p == nil {
		return false
	}
	_, found := slices.BinarySearch(p.Permissions, perm)
	if found {
		return true
	}
	_, admin := slices.BinarySearch(p.Permissions, Admin)
	return admin
}

// Require returns a Forbidden error unless the principal holds one of perms.
func (p *Principal) Require(perms ...string) error {
	for _, perm := range perms {
		if p.Has(perm) {
			return nil
		}
	}
	if len(perms) == 1 {
		return errs.Forbiddenf("this action requires the %s permission", perms[0])
	}
	return errs.Forbiddenf("this action requires one of the permissions %v", perms)
}

// Is reports whether the principal is the given user.
func (p *Principal) Is(userID int64) bool { return p != nil && p.UserID == userID }

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of the request, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
