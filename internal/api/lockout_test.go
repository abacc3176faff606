package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// keyIDs lists the ids of a user's API keys, as the given caller sees them.
func keyIDs(t *testing.T, env *servertest.Env, key, userid string) []int64 {
	t.Helper()
	var keys []struct {
		KeyID int64 `json:"keyid"`
	}
	env.Must(t, 200, key, "GET", "/bim/iam/bim/user/"+userid+"/apikeys", nil).JSON(t, &keys)
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.KeyID
	}
	return ids
}

// A USER_ADMIN cannot lock every ADMIN out: only an ADMIN lists or revokes
// an ADMIN's API keys or remaps the database role an ADMIN queries as, and
// nobody revokes the last credential of the last ADMIN who can log in.
func TestUserAdminCannotLockTheAdminsOut(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		_, ua := env.NewUser(t, "ua@example.com", "USER_ADMIN")
		_, plain := env.NewUser(t, "plain@example.com")
		adminKeys := keyIDs(t, env, admin, "admin")
		if len(adminKeys) != 1 {
			t.Fatalf("the administrator's keys: %v", adminKeys)
		}

		// The attack: list the ADMIN's keys, revoke them (the ids are
		// small numbers, so the list is not even needed), remap the role.
		r := env.Must(t, 403, ua, "GET", "/bim/iam/bim/user/admin/apikeys", nil)
		if !strings.Contains(string(r.Body), "only an ADMIN can list the API keys of a user holding ADMIN") {
			t.Errorf("listing: %s", r.Body)
		}
		env.Must(t, 403, ua, "GET", "/bim/iam/bim/user/1/apikeys", nil)
		r = env.Must(t, 403, ua, "DELETE", fmt.Sprintf("/bim/apikey/%d", adminKeys[0]), nil)
		if !strings.Contains(string(r.Body), "only an ADMIN can revoke the API keys of") {
			t.Errorf("revoking: %s", r.Body)
		}
		env.Must(t, 403, ua, "PUT", "/bim/iam/bim/user/admin/profile", map[string]any{"sqlUser": "mallory"})
		env.Must(t, 403, ua, "POST", "/bim/iam/bim/user/admin/profile", map[string]any{"sqlUser": "mallory"})
		// Nothing changed: the key works and the role is the ADMIN's own.
		prof := env.Admin(t, 200, "GET", "/bim/iam/bim/user/admin/profile", nil).Map(t)
		if prof["sqlUser"] != nil {
			t.Fatalf("the ADMIN's role was remapped: %v", prof)
		}
		// Each denial is in the audit trail.
		denied := env.Admin(t, 200, "GET", "/audit?recordType=permissionDenied&size=100", nil).Map(t)
		if denied["count"].(float64) < 5 {
			t.Errorf("denials audited: %v", denied["count"])
		}

		// Other users stay the USER_ADMIN's to manage.
		plainKeys := keyIDs(t, env, ua, "plain@example.com")
		env.Must(t, 200, ua, "PUT", "/bim/iam/bim/user/plain@example.com/profile", map[string]any{"sqlUser": "plain"})
		env.Must(t, 200, ua, "DELETE", fmt.Sprintf("/bim/apikey/%d", plainKeys[0]), nil)
		env.Must(t, 401, plain, "GET", "/bim/rpc/user/current", nil)

		// The only ADMIN cannot revoke their own last credential either.
		r = env.Must(t, 409, admin, "DELETE", fmt.Sprintf("/bim/apikey/%d", adminKeys[0]), nil)
		if !strings.Contains(string(r.Body), "would leave no enabled ADMIN who can log in") {
			t.Errorf("last credential: %s", r.Body)
		}
		env.Must(t, 200, admin, "GET", "/bim/rpc/user/current", nil)

		// An ADMIN acts on ADMINs, and once another ADMIN can log in, the
		// key may go.
		_, root2 := env.NewUser(t, "root2@example.com", "ADMIN")
		if ids := keyIDs(t, env, root2, "admin"); len(ids) != 1 {
			t.Fatalf("an ADMIN lists an ADMIN's keys: %v", ids)
		}
		env.Must(t, 200, root2, "PUT", "/bim/iam/bim/user/admin/profile", map[string]any{"sqlUser": "custos_admin"})
		env.Must(t, 200, root2, "DELETE", fmt.Sprintf("/bim/apikey/%d", adminKeys[0]), nil)
		env.Must(t, 401, admin, "GET", "/bim/rpc/user/current", nil)
	})
}

// An ADMIN who cannot log in (no password, no key) does not count as the
// ADMIN that must remain: revoking ADMIN from, disabling or deleting the
// last ADMIN who can log in is refused while the only other ADMIN has no
// credential (a USER_ADMIN could not give them one).
func TestTheLastAdminWhoCanLogInStays(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		env.Admin(t, 200, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "ghost@example.com",
			"permissions": []string{"ADMIN"}})
		_, root2 := env.NewUser(t, "root2@example.com", "ADMIN")
		env.Must(t, 200, root2, "DELETE", "/bim/iam/bim/user/admin", nil)
		for _, change := range []struct{ method, path string }{
			{"DELETE", "/bim/iam/bim/user/root2@example.com/permissions/ADMIN"},
			{"PUT", "/bim/iam/bim/user/root2@example.com/disable/true"},
		} {
			r := env.Must(t, 409, root2, change.method, change.path, nil)
			if !strings.Contains(string(r.Body), "no enabled ADMIN who can log in") {
				t.Errorf("%s %s: %s", change.method, change.path, r.Body)
			}
		}
		// root2's key may go: root2 still logs in with a password.
		for _, id := range keyIDs(t, env, root2, "root2@example.com") {
			env.Must(t, 200, root2, "DELETE", fmt.Sprintf("/bim/apikey/%d", id), nil)
		}
		session := "Bearer " + env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate",
			map[string]any{"username": "root2@example.com", "password": "correct-horse-battery"}).Map(t)["token"].(string)
		env.Must(t, 409, session, "PUT", "/bim/iam/bim/user/root2@example.com/disable/true", nil)
		// Once the other ADMIN has a password, it may all happen.
		env.Must(t, 200, session, "PUT", "/bim/iam/bim/user/ghost@example.com/password", map[string]any{"password": "ghost-password-1"})
		env.Must(t, 200, session, "DELETE", "/bim/iam/bim/user/root2@example.com/permissions/ADMIN", nil)
	})
}

// A new password ends the sessions of the old one: bearer tokens from
// password logins are revoked (but the one changing its own password), while
// API keys and the tokens exchanged for them stay.
func TestPasswordChangeRevokesTokens(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		_, key := env.NewUser(t, "dana@example.com")
		login := func(password string) string {
			t.Helper()
			r := env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "dana@example.com", "password": password})
			return "Bearer " + r.Map(t)["token"].(string)
		}
		mine, stolen := login("correct-horse-battery"), login("correct-horse-battery")
		exchanged := "Bearer " + env.Must(t, 200, "", "POST", "/bim/apikey/authenticate", map[string]any{"apikey": key}).Map(t)["token"].(string)

		// The user changes their own password in one session: the others end.
		env.Must(t, 200, mine, "PUT", "/bim/iam/bim/user/dana@example.com/password",
			map[string]any{"originalPassword": "correct-horse-battery", "password": "staple-battery-horse"})
		env.Must(t, 200, mine, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 401, stolen, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 200, key, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 200, exchanged, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "dana@example.com", "password": "correct-horse-battery"})

		// A reset by an administrator ends every password session.
		again := login("staple-battery-horse")
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/dana@example.com/password", map[string]any{"password": "reset-by-admin-1"})
		env.Must(t, 401, mine, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 401, again, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 200, key, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 200, exchanged, "GET", "/bim/rpc/user/current", nil)
		login("reset-by-admin-1")

		// The audit record of each change says how many tokens ended: the
		// first time the stolen one and the one NewUser logged in with,
		// then mine and again.
		recs := env.Admin(t, 200, "GET", "/audit?recordType=userPasswordUpdate&size=10", nil).Map(t)
		var revoked []float64
		for _, h := range recs["hits"].([]any) {
			revoked = append(revoked, h.(map[string]any)["extra"].(map[string]any)["revokedTokens"].(float64))
		}
		if fmt.Sprint(revoked) != "[2 2]" {
			t.Errorf("revoked tokens in the audit records: %v", revoked)
		}
	})
}
