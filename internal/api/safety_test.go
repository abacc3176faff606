package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/identity"
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

// Renaming a tag keeps the hierarchy whole: a tag cannot move below itself
// (its parent would vanish), and names held by deleted tags are free.
func TestTagRenameKeepsTheHierarchy(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		var created []map[string]any
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Alpha"},
			map[string]any{"name": "Alpha.x"}}}).JSON(t, &created)
		alpha := created[0]["id"]
		env.Admin(t, 422, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"id": alpha, "name": "Alpha.Beta"}}})
		var all []map[string]any
		env.Admin(t, 200, "GET", "/tag?searchText=Alpha", nil).JSON(t, &all)
		if len(all) != 2 || all[0]["name"] != "Alpha" || all[1]["name"] != "Alpha.x" {
			t.Fatalf("after a refused rename: %v", all)
		}

		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Gamma.x"}}})
		env.Admin(t, 200, "DELETE", "/tag/Gamma?deleteHierarchy=true", nil)
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"id": alpha, "name": "Gamma"}}})
		env.Admin(t, 200, "GET", "/tag?searchText=Gamma", nil).JSON(t, &all)
		if len(all) != 2 || all[0]["name"] != "Gamma" || all[1]["name"] != "Gamma.x" || all[0]["id"] != alpha {
			t.Fatalf("after renaming onto deleted names: %v", all)
		}
	})
}

// Tag hierarchies work the same with names beyond ASCII.
func TestTagHierarchyWithUnicodeNames(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Données.Santé"}}})
		env.Admin(t, 409, "DELETE", "/tag/"+url.PathEscape("Données"), nil)
		var all []map[string]any
		env.Admin(t, 200, "GET", "/tag?excludedHierarchies="+url.QueryEscape("Données"), nil).JSON(t, &all)
		for _, tag := range all {
			if strings.HasPrefix(tag["name"].(string), "Données") {
				t.Fatalf("excluded hierarchy listed: %v", tag)
			}
		}
		var deleted []map[string]any
		env.Admin(t, 200, "DELETE", "/tag/"+url.PathEscape("Données")+"?deleteHierarchy=true", nil).JSON(t, &deleted)
		if len(deleted) != 2 {
			t.Fatalf("deleting the hierarchy deleted %v", deleted)
		}
	})
}

// Metrics label requests by a bounded set of methods: made-up methods must
// not each create a time series (memory an anonymous caller controls).
func TestMetricsBoundMethodLabels(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	for i := 0; i < 20; i++ {
		r := env.Do(t, "", fmt.Sprintf("BOGUS%d", i), "/healthz", nil)
		if r.Status < 400 {
			t.Fatalf("method BOGUS%d: status %d", i, r.Status)
		}
	}
	m := env.Do(t, "", "GET", "/metrics", nil)
	if strings.Contains(string(m.Body), "BOGUS") {
		t.Fatal("a made-up method became a metric label")
	}
	if !strings.Contains(string(m.Body), `method="OTHER"`) {
		t.Fatal("requests with other methods are not counted")
	}
}

// Two servers (or two requests) taking ADMIN from the last two holders at
// once leave one of them an ADMIN: the last-ADMIN guard holds under
// concurrency, on PostgreSQL too.
func TestLastAdminGuardUnderConcurrency(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		ctx := t.Context()
		id := env.App.Identity
		root := &auth.Principal{UserID: 1 << 40, Username: "test", IAMID: "bim", Permissions: []string{"ADMIN"}}
		env.NewUser(t, "a@example.com", "ADMIN")
		env.NewUser(t, "b@example.com", "ADMIN")
		if _, err := id.ChangePermissions(ctx, root, "bim", "admin", identity.RemovePermissions, []string{"ADMIN"}); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 10; round++ {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, u := range []string{"a@example.com", "b@example.com"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = id.ChangePermissions(ctx, root, "bim", u, identity.RemovePermissions, []string{"ADMIN"})
				}()
			}
			close(start)
			wg.Wait()
			n, err := env.App.DB.CountUsersWithPermission(ctx, "ADMIN")
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 || (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: %d ADMINs left; errors %v", round, n, errs)
			}
			for _, u := range []string{"a@example.com", "b@example.com"} {
				if _, err := id.ChangePermissions(ctx, root, "bim", u, identity.AddPermissions, []string{"ADMIN"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// Requests creating tags that share a new parent at the same moment all
// succeed: the parent is created once and found by the others.
func TestConcurrentTagsShareANewParent(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		for round := 0; round < 5; round++ {
			var wg sync.WaitGroup
			status := make([]*servertest.Response, 4)
			start := make(chan struct{})
			for i := range status {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					status[i] = env.Do(t, servertest.AdminKey, "POST", "/tag", map[string]any{"tags": []any{
						map[string]any{"name": fmt.Sprintf("Shared%d.Mid.t%d", round, i)}}})
				}()
			}
			close(start)
			wg.Wait()
			for i, r := range status {
				if r.Status != 200 {
					t.Fatalf("round %d, request %d: status %d: %s", round, i, r.Status, r.Body)
				}
			}
		}
	})
}

// Path parameters are decoded once: a name holding "%41" is not "A".
func TestPathParametersDecodeOnce(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Rate%41"}}})
	var deleted []map[string]any
	env.Admin(t, 200, "DELETE", "/tag/"+url.PathEscape("Rate%41"), nil).JSON(t, &deleted)
	if len(deleted) != 1 || deleted[0]["name"] != "Rate%41" {
		t.Fatalf("deleted %v", deleted)
	}
	// Encoded slashes still arrive whole.
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "a/b%2F"}}})
	env.Admin(t, 200, "DELETE", "/tag/"+url.PathEscape("a/b%2F"), nil).JSON(t, &deleted)
	if len(deleted) != 1 || deleted[0]["name"] != "a/b%2F" {
		t.Fatalf("deleted %v", deleted)
	}
}

// A value too long is reported on attributeValue, not on the name.
func TestAttributeLimitsNameTheirField(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.NewUser(t, "attr@example.com")
	long := strings.Repeat("v", 1025)
	r := env.Admin(t, 422, "PUT", "/bim/iam/bim/user/attr@example.com/authorizations/Country/"+long, nil).Map(t)
	v := r["validation"].([]any)
	if len(v) != 1 || v[0].(map[string]any)["field"] != "attributeValue" {
		t.Fatalf("validation: %v", v)
	}
	r = env.Admin(t, 422, "PUT", "/bim/iam/bim/user/attr@example.com/authorizations/"+strings.Repeat("n", 256)+"/x", nil).Map(t)
	if v := r["validation"].([]any); len(v) != 1 || v[0].(map[string]any)["field"] != "attributeName" {
		t.Fatalf("validation: %v", v)
	}
}

// Readiness is public: when the store does not answer it says so without
// the store's error, which names its address, database and user.
func TestReadinessKeepsStoreErrorsToTheLog(t *testing.T) {
	env := servertest.New(t, servertest.Postgres)
	if err := env.App.DB.Close(); err != nil {
		t.Fatal(err)
	}
	r := env.Must(t, 503, "", "GET", "/readyz", nil).Map(t)
	if r["status"] != "unavailable" || r["detail"] != "the store does not answer; the server log has the reason" {
		t.Fatalf("readyz: %v", r)
	}
}

// The database role a user queries as is theirs only when a USER_ADMIN says
// so: a user claiming another's role would take it from them (a shared role
// maps nobody) or have custos grant to a role they do not own.
func TestOnlyAUserAdminMapsDatabaseRoles(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	defer noFallbacks(t, env)
	_, key := env.NewUser(t, "mallory@example.com")
	env.Admin(t, 200, "PUT", "/bim/iam/bim/user/mallory@example.com/profile", map[string]any{"sqlUser": "mallory"})
	env.Must(t, 403, key, "PUT", "/bim/iam/bim/user/mallory@example.com/profile", map[string]any{"sqlUser": "alice"})
	env.Must(t, 403, key, "PUT", "/bim/iam/bim/user/mallory@example.com/profile", map[string]any{"sqlUser": ""})
	// The rest of the profile stays the user's, and sending the role back unchanged is fine.
	prof := env.Must(t, 200, key, "PUT", "/bim/iam/bim/user/mallory@example.com/profile",
		map[string]any{"sqlUser": "mallory", "location": "Lyon"}).Map(t)
	if prof["sqlUser"] != "mallory" || prof["location"] != "Lyon" {
		t.Fatalf("profile: %v", prof)
	}
}

// Text that no store can hold (bytes that are not UTF-8, NUL) in a path or
// a query is a 400 naming the parameter, not a 500 from PostgreSQL.
func TestParametersMustBeText(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		for _, path := range []string{"/tag/%FF", "/tag/a%00b", "/bim/iam/bim/user/%C3%28", "/bim/user?name=%FF",
			"/tag?searchText=%00", "/audit?recordType=%FE"} {
			method := "GET"
			if strings.HasPrefix(path, "/tag/") {
				method = "DELETE"
			}
			r := env.Must(t, 400, servertest.AdminKey, method, path, nil)
			if !strings.Contains(string(r.Body), "UTF-8") {
				t.Fatalf("%s: %s", path, r.Body)
			}
		}
	})
}

// NUL characters in identity payloads are refused before the store, which
// on PostgreSQL cannot hold them: 422 naming the field, 401 for a login,
// 404 or 422 for a user named by reference.
func TestIdentityPayloadsRefuseNUL(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		field := func(r *servertest.Response) string {
			v := r.Map(t)["validation"].([]any)
			return v[0].(map[string]any)["field"].(string)
		}
		r := env.Admin(t, 422, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "a\x00b"})
		if f := field(r); f != "userid" {
			t.Fatalf("field %s", f)
		}
		r = env.Admin(t, 422, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "ok@example.com",
			"profile": map[string]any{"name": "N\x00"}})
		if f := field(r); f != "profile.name" {
			t.Fatalf("field %s", f)
		}
		env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "x\x00", "password": "whatever-password"})
		r = env.Admin(t, 422, "PUT", "/bim/iam/bim/user/admin/profile", map[string]any{"about": "\x00",
			"preferences": map[string]any{"k": []any{"\x00"}}})
		if f := field(r); f != "about" {
			t.Fatalf("field %s", f)
		}
		r = env.Admin(t, 422, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "g\x00"})
		if f := field(r); f != "name" {
			t.Fatalf("field %s", f)
		}
		env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "g"})
		env.Admin(t, 422, "POST", "/bim/group/1/user", map[string]any{"iamid": "bim", "userid": "a\x00"})
		env.Admin(t, 422, "POST", "/bim/apikey", map[string]any{"name": "k\x00"})
		env.Must(t, 404, "", "POST", "/bim/apikey/impersonate", map[string]any{"apikey": servertest.AdminKey, "userid": "a\x00"})
		// Nothing was created.
		users := env.Admin(t, 200, "GET", "/bim/user", nil).Map(t)
		if users["count"].(float64) != 1 {
			t.Fatalf("users: %v", users)
		}
	})
}
