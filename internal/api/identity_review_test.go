package api_test

import (
	"testing"
	"time"

	"github.com/custosdata/custos/internal/server/servertest"
)

// An impersonation token follows the rules of impersonation on every use:
// it stops working when its holder loses IMPERSONATE_USER or when the
// impersonated user gains a permission its holder lacks.
func TestImpersonationTokenFollowsPermissionChanges(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		_, impKey := env.NewUser(t, "svc@example.com", "IMPERSONATE_USER")
		env.NewUser(t, "end@example.com")
		impersonate := func() string {
			tok := env.Must(t, 200, "", "POST", "/bim/apikey/impersonate",
				map[string]any{"apikey": impKey, "userid": "end@example.com", "iamid": "bim"}).Map(t)
			return "Bearer " + tok["token"].(string)
		}

		bearer := impersonate()
		env.Must(t, 200, bearer, "GET", "/bim/rpc/user/current", nil)
		env.Admin(t, 200, "POST", "/bim/iam/bim/user/end@example.com/permissions", []string{"GOVERNANCE"})
		env.Must(t, 401, bearer, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 403, "", "POST", "/bim/apikey/impersonate",
			map[string]any{"apikey": impKey, "userid": "end@example.com", "iamid": "bim"})
		env.Admin(t, 200, "DELETE", "/bim/iam/bim/user/end@example.com/permissions/GOVERNANCE", nil)
		env.Must(t, 200, bearer, "GET", "/bim/rpc/user/current", nil)

		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/svc@example.com/permissions", []string{})
		env.Must(t, 401, bearer, "GET", "/bim/rpc/user/current", nil)
	})
}

// A password login racing with an administrator's change to the user (here
// disabling them) must not write the user back as it was before the change.
func TestLoginDoesNotUndoConcurrentUserChanges(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		env.NewUser(t, "racer@example.com")
		login := map[string]any{"username": "racer@example.com", "password": "correct-horse-battery"}
		for round := 0; round < 5; round++ {
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
						env.Do(t, "", "POST", "/bim/iam/bim/user/authenticate", login)
					}
				}
			}()
			time.Sleep(30 * time.Millisecond)
			env.Admin(t, 200, "PUT", "/bim/iam/bim/user/racer@example.com/disable/true", nil)
			time.Sleep(60 * time.Millisecond)
			close(stop)
			<-done
			u := env.Admin(t, 200, "GET", "/bim/iam/bim/user/racer@example.com", nil).Map(t)
			if u["disabled"] != true {
				t.Fatalf("round %d: a login running while the user was disabled enabled them again", round)
			}
			env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", login)
			env.Admin(t, 200, "PUT", "/bim/iam/bim/user/racer@example.com/disable/false", nil)
		}
	})
}

// A USER_ADMIN manages users but cannot take over, disable or delete an
// ADMIN: only an ADMIN grants or revokes ADMIN.
func TestUserAdminCannotTakeOverAnAdmin(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		_, uaKey := env.NewUser(t, "ua@example.com", "USER_ADMIN")
		env.NewUser(t, "root2@example.com", "ADMIN")
		env.NewUser(t, "plain@example.com")
		newPassword := map[string]any{"password": "a-brand-new-password"}
		env.Must(t, 403, uaKey, "PUT", "/bim/iam/bim/user/root2@example.com/password", newPassword)
		env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate",
			map[string]any{"username": "root2@example.com", "password": "a-brand-new-password"})
		env.Must(t, 403, uaKey, "PUT", "/bim/iam/bim/user/root2@example.com/disable/true", nil)
		env.Must(t, 403, uaKey, "DELETE", "/bim/iam/bim/user/root2@example.com", nil)
		if u := env.Admin(t, 200, "GET", "/bim/iam/bim/user/root2@example.com", nil).Map(t); u["disabled"] != false {
			t.Fatalf("the ADMIN was changed: %v", u)
		}
		// Other users stay theirs to manage, and an ADMIN may do all of it.
		env.Must(t, 200, uaKey, "PUT", "/bim/iam/bim/user/plain@example.com/password", newPassword)
		env.Must(t, 200, uaKey, "PUT", "/bim/iam/bim/user/plain@example.com/disable/true", nil)
		env.Must(t, 200, uaKey, "DELETE", "/bim/iam/bim/user/plain@example.com", nil)
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/root2@example.com/password", newPassword)
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/root2@example.com/disable/true", nil)
		env.Admin(t, 200, "DELETE", "/bim/iam/bim/user/root2@example.com", nil)
	})
}
