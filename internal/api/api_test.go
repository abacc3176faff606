package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const admin = servertest.AdminKey

// noFallbacks asserts that every change audited itself.
func noFallbacks(t *testing.T, env *servertest.Env) {
	t.Helper()
	if n := env.App.API.AuditFallbacks(); n != 0 {
		t.Fatalf("%d changes wrote no audit record of their own", n)
	}
}

func TestAuthentication(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		// The key works raw and as Bearer.
		env.Must(t, 200, admin, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 200, "Bearer "+admin, "GET", "/bim/rpc/user/current", nil)
		// Missing and invalid credentials are 401.
		env.Must(t, 401, "", "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 401, "not-a-key", "GET", "/bim/rpc/user/current", nil)
		// Exchange for a token.
		tok := env.Must(t, 200, "", "POST", "/bim/apikey/authenticate", map[string]any{"apikey": admin}).Map(t)
		if tok["authenticated"] != true || tok["token"] == "" {
			t.Fatalf("token response: %v", tok)
		}
		bearer := "Bearer " + tok["token"].(string)
		cur := env.Must(t, 200, bearer, "GET", "/bim/rpc/user/current", nil).Map(t)
		if cur["userid"] != "admin" {
			t.Fatalf("current user: %v", cur)
		}
		env.Must(t, 401, "", "POST", "/bim/apikey/authenticate", map[string]any{"apikey": "wrong"})
		// Token info.
		info := env.Must(t, 200, bearer, "POST", "/bim/token", map[string]any{"token": tok["token"]}).Map(t)
		if info["type"] != "bearer" || info["userid"] != "admin" || info["expiration"] == nil {
			t.Fatalf("token info: %v", info)
		}
		// An expired token is refused with 401.
		if _, err := env.App.DB.Exec(t.Context(), `UPDATE tokens SET expires_at = created_at`); err != nil {
			t.Fatal(err)
		}
		r := env.Must(t, 401, bearer, "GET", "/bim/rpc/user/current", nil)
		if !strings.Contains(string(r.Body), "expired") {
			t.Fatalf("expiry message: %s", r.Body)
		}
		// Password login, then the user creates their own key.
		uid, key := env.NewUser(t, "dana@example.com")
		me := env.Must(t, 200, key, "GET", "/bim/rpc/user/current", nil).Map(t)
		if int64(me["id"].(float64)) != uid {
			t.Fatalf("own key acts as %v", me["id"])
		}
		env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "dana@example.com", "password": "wrong-password"})
		env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "nobody", "password": "wrong-password"})
		login := env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate",
			map[string]any{"username": "DANA@example.com", "password": "correct-horse-battery"}).Map(t)
		if login["profileId"].(float64) != float64(uid) || login["tokenExpiration"] == nil {
			t.Fatalf("login: %v", login)
		}
		// Keys are listed without the key itself, and revoking one ends its tokens.
		keys := env.Must(t, 200, key, "GET", "/bim/iam/bim/user/dana@example.com/apikeys", nil)
		var list []map[string]any
		keys.JSON(t, &list)
		if len(list) != 1 || strings.Contains(string(keys.Body), key) {
			t.Fatalf("key list: %s", keys.Body)
		}
		utok := env.Must(t, 200, "", "POST", "/bim/apikey/authenticate", map[string]any{"apikey": key}).Map(t)
		revoked := env.Must(t, 200, key, "DELETE", fmt.Sprintf("/bim/apikey/%v", list[0]["keyid"]), nil).Map(t)
		if revoked["revokedTokens"].(float64) != 1 {
			t.Fatalf("revoke: %v", revoked)
		}
		env.Must(t, 401, key, "GET", "/bim/rpc/user/current", nil)
		env.Must(t, 401, "Bearer "+utok["token"].(string), "GET", "/bim/rpc/user/current", nil)
		// A disabled user cannot log in; enabling restores it.
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/dana@example.com/disable/true", nil)
		env.Must(t, 401, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "dana@example.com", "password": "correct-horse-battery"})
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/dana@example.com/disable/false", nil)
		env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "dana@example.com", "password": "correct-horse-battery"})
		// Authentication failures are audited.
		recs := env.Admin(t, 200, "GET", "/audit?recordType=authenticate&outcome=failure&size=100", nil).Map(t)
		if recs["count"].(float64) < 4 {
			t.Fatalf("failed authentications audited: %v", recs["count"])
		}
	})
}

func TestImpersonation(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		_, plainKey := env.NewUser(t, "plain@example.com")
		_, impKey := env.NewUser(t, "svc@example.com", "IMPERSONATE_USER")
		targetID, _ := env.NewUser(t, "end@example.com")
		env.NewUser(t, "boss@example.com", "USER_ADMIN")
		env.Must(t, 403, "", "POST", "/bim/apikey/impersonate", map[string]any{"apikey": plainKey, "userid": "end@example.com", "iamid": "bim"})
		tok := env.Must(t, 200, "", "POST", "/bim/apikey/impersonate", map[string]any{"apikey": impKey, "userid": "end@example.com", "iamid": "bim"}).Map(t)
		bearer := "Bearer " + tok["token"].(string)
		cur := env.Must(t, 200, bearer, "GET", "/bim/rpc/user/current", nil).Map(t)
		if int64(cur["id"].(float64)) != targetID {
			t.Fatalf("impersonation acts as %v", cur["id"])
		}
		// Impersonation cannot widen permissions or mint keys.
		env.Must(t, 403, "", "POST", "/bim/apikey/impersonate", map[string]any{"apikey": impKey, "userid": "boss@example.com"})
		env.Must(t, 403, bearer, "POST", "/bim/apikey", map[string]any{"name": "sneaky"})
		env.Must(t, 404, "", "POST", "/bim/apikey/impersonate", map[string]any{"apikey": impKey, "userid": "ghost@example.com"})
		info := env.Must(t, 200, bearer, "POST", "/bim/token", map[string]any{"token": tok["token"]}).Map(t)
		if info["impersonationuserid"] != "end@example.com" || info["userid"] != "svc@example.com" {
			t.Fatalf("token info: %v", info)
		}
		// The audit trail names the impersonator.
		recs := env.Admin(t, 200, "GET", "/audit?recordType=authenticate&outcome=success&size=100", nil).Map(t)
		found := false
		for _, h := range recs["hits"].([]any) {
			m := h.(map[string]any)
			if m["action"] == "impersonate" && m["impersonatorId"] != nil && m["userId"] == "end@example.com" {
				found = true
			}
		}
		if !found {
			t.Fatal("impersonation not audited with its impersonator")
		}
	})
}

func TestUsers(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		created := env.Admin(t, 200, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "Charlie.Doe@example.com",
			"profile": map[string]any{"name": "Charlie Doe", "email": "charlie.doe@example.com"}, "permissions": []string{"CREATE_PROJECT"}}).Map(t)
		nu := created["newUser"].(map[string]any)
		if nu["userid"] != "charlie.doe@example.com" || created["emailSent"] != false {
			t.Fatalf("create: %v", created)
		}
		// Duplicates are 422 with code unique.
		dup := env.Admin(t, 422, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "CHARLIE.DOE@example.com"}).Map(t)
		v := dup["validation"].([]any)[0].(map[string]any)
		if v["code"] != "unique" || v["field"] != "userid" {
			t.Fatalf("duplicate: %v", dup)
		}
		for i := 0; i < 5; i++ {
			env.Admin(t, 200, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": fmt.Sprintf("user%d@example.com", i),
				"profile": map[string]any{"name": fmt.Sprintf("User %d", i)}})
		}
		// Search: filters, sort, paging.
		page := env.Admin(t, 200, "GET", "/bim/user?size=2&name=user&sortOrder=desc", nil).Map(t)
		hits := page["hits"].([]any)
		if page["count"].(float64) != 5 || len(hits) != 2 || hits[0].(map[string]any)["userid"] != "user4@example.com" {
			t.Fatalf("search: %v", page)
		}
		page = env.Admin(t, 200, "GET", "/bim/user?size=10&offset=4&name=user", nil).Map(t)
		if len(page["hits"].([]any)) != 1 {
			t.Fatalf("offset: %v", page)
		}
		page = env.Admin(t, 200, "GET", "/bim/user?permission=CREATE_PROJECT", nil).Map(t)
		if page["count"].(float64) != 2 { // admin and charlie
			t.Fatalf("permission filter: %v", page["count"])
		}
		env.Admin(t, 400, "GET", "/bim/user?sortField=shoe", nil)
		env.Admin(t, 400, "GET", "/bim/user?size=abc", nil)
		// Attributes are hidden from callers without USER_ADMIN.
		_, key := env.NewUser(t, "viewer@example.com")
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/user1@example.com/authorizations/Department/Finance", nil)
		page = env.Must(t, 200, key, "GET", "/bim/user?name=User%201", nil).Map(t)
		if _, shown := page["hits"].([]any)[0].(map[string]any)["authorizations"]; shown {
			t.Fatal("attributes shown without USER_ADMIN")
		}
		page = env.Admin(t, 200, "GET", "/bim/user?name=User%201", nil).Map(t)
		if fmt.Sprint(page["hits"].([]any)[0].(map[string]any)["authorizations"]) != "map[Department:[Finance]]" {
			t.Fatalf("attributes for USER_ADMIN: %v", page["hits"])
		}
		// Get by id and by userid, profile.
		id := int64(nu["id"].(float64))
		got := env.Admin(t, 200, "GET", fmt.Sprintf("/bim/iam/bim/user/%d", id), nil).Map(t)
		if got["userid"] != "charlie.doe@example.com" {
			t.Fatalf("get: %v", got)
		}
		env.Admin(t, 404, "GET", "/bim/iam/bim/user/99999", nil)
		env.Admin(t, 404, "GET", "/bim/iam/ldap/user/1", nil)
		env.Must(t, 403, key, "GET", fmt.Sprintf("/bim/iam/bim/user/%d", id), nil)
		prof := env.Admin(t, 200, "PUT", "/bim/iam/bim/user/charlie.doe%40example.com/profile", map[string]any{
			"location": "Boston, MA", "sqlUser": "charlie", "preferences": map[string]any{"tabDataSourceState": 0}}).Map(t)
		if prof["location"] != "Boston, MA" || prof["sqlUser"] != "charlie" || prof["name"] != "Charlie Doe" {
			t.Fatalf("profile: %v", prof)
		}
		prof = env.Admin(t, 200, "GET", "/bim/iam/bim/user/charlie.doe@example.com/profile", nil).Map(t)
		if prof["location"] != "Boston, MA" {
			t.Fatalf("profile get: %v", prof)
		}
		env.Admin(t, 422, "PUT", "/bim/iam/bim/user/charlie.doe@example.com/profile", map[string]any{"email": "not an email"})
		// Users edit their own profile but not others'.
		env.Must(t, 200, key, "PUT", "/bim/iam/bim/user/viewer@example.com/profile", map[string]any{"phone": "555"})
		env.Must(t, 403, key, "PUT", "/bim/iam/bim/user/charlie.doe@example.com/profile", map[string]any{"phone": "555"})
		// Passwords: own change needs the original.
		env.Must(t, 422, key, "PUT", "/bim/iam/bim/user/viewer@example.com/password", map[string]any{"originalPassword": "nope", "password": "another-password"})
		env.Must(t, 200, key, "PUT", "/bim/iam/bim/user/viewer@example.com/password", map[string]any{"originalPassword": "correct-horse-battery", "password": "another-password"})
		env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "viewer@example.com", "password": "another-password"})
		env.Admin(t, 422, "PUT", "/bim/iam/bim/user/viewer@example.com/password", map[string]any{"password": "short"})
		// Permissions: add, remove, replace (bare array or object).
		rec := env.Admin(t, 200, "POST", "/bim/iam/bim/user/charlie.doe@example.com/permissions", []string{"CREATE_DATA_SOURCE", "CREATE_PROJECT"}).Map(t)
		if fmt.Sprint(rec["permissions"]) != "[CREATE_DATA_SOURCE CREATE_PROJECT]" || rec["profile"].(float64) != float64(id) {
			t.Fatalf("add permissions: %v", rec)
		}
		rec = env.Admin(t, 200, "DELETE", "/bim/iam/bim/user/charlie.doe@example.com/permissions/CREATE_PROJECT", nil).Map(t)
		if fmt.Sprint(rec["permissions"]) != "[CREATE_DATA_SOURCE]" {
			t.Fatalf("remove permission: %v", rec)
		}
		rec = env.Admin(t, 200, "PUT", "/bim/iam/bim/user/charlie.doe@example.com/permissions", map[string]any{"permissions": []string{"AUDIT"}}).Map(t)
		if fmt.Sprint(rec["permissions"]) != "[AUDIT]" {
			t.Fatalf("replace permissions: %v", rec)
		}
		env.Admin(t, 422, "PUT", "/bim/iam/bim/user/charlie.doe@example.com/permissions", []string{"AUDIT", "SUPERPOWER"})
		env.Must(t, 403, key, "PUT", "/bim/iam/bim/user/viewer@example.com/permissions", []string{"AUDIT"})
		// USER_ADMIN cannot grant ADMIN; the last ADMIN cannot lose it.
		_, ua := env.NewUser(t, "ua@example.com", "USER_ADMIN")
		env.Must(t, 422, ua, "POST", "/bim/iam/bim/user/viewer@example.com/permissions", []string{"ADMIN"})
		env.Admin(t, 409, "DELETE", "/bim/iam/bim/user/admin/permissions/ADMIN", nil)
		env.Admin(t, 409, "DELETE", "/bim/iam/bim/user/admin", nil)
		// Clone copies permissions, groups and attributes.
		g := env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "Analysts"}).Map(t)
		env.Admin(t, 200, "POST", fmt.Sprintf("/bim/group/%v/user", g["id"]), map[string]any{"userid": "charlie.doe@example.com", "iamid": "bim"})
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/charlie.doe@example.com/authorizations/Country/US", nil)
		cl := env.Admin(t, 200, "POST", "/bim/iam/bim/user/charlie.doe@example.com/clone", []string{"clone1@example.com", "not-an-email", "user0@example.com"}).Map(t)
		if fmt.Sprint(cl["failedEmails"]) != "[not-an-email user0@example.com]" {
			t.Fatalf("clone: %v", cl)
		}
		c1 := env.Admin(t, 200, "GET", "/bim/user?userid=clone1", nil).Map(t)["hits"].([]any)[0].(map[string]any)
		if fmt.Sprint(c1["permissions"]) != "[AUDIT]" || len(c1["groups"].([]any)) != 1 || fmt.Sprint(c1["bimAuthorizations"]) != "map[Country:[US]]" {
			t.Fatalf("clone copied: %v", c1)
		}
		// Groups of a user.
		var groups []map[string]any
		env.Admin(t, 200, "GET", "/bim/iam/bim/user/charlie.doe@example.com/groups", nil).JSON(t, &groups)
		if len(groups) != 1 || groups[0]["name"] != "Analysts" {
			t.Fatalf("groups of user: %v", groups)
		}
		// Delete.
		del := env.Admin(t, 200, "DELETE", "/bim/iam/bim/user/clone1@example.com", nil).Map(t)
		if del["userid"] != "clone1@example.com" {
			t.Fatalf("delete: %v", del)
		}
		env.Admin(t, 404, "DELETE", "/bim/iam/bim/user/clone1@example.com", nil)
		// IAMs.
		var iams []map[string]any
		env.Admin(t, 200, "GET", "/bim/iam", nil).JSON(t, &iams)
		if len(iams) != 1 || iams[0]["id"] != "bim" || iams[0]["type"] != "built-in" {
			t.Fatalf("iams: %v", iams)
		}
	})
}

func TestGroupsAndAttributes(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		uid, key := env.NewUser(t, "erin@example.com")
		g := env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "API Group"}).Map(t)
		if g["name"] != "API Group" || g["authorizations"] != nil || g["gid"] != nil {
			t.Fatalf("create group: %v", g)
		}
		gid := int64(g["id"].(float64))
		dup := env.Admin(t, 422, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "API Group"}).Map(t)
		if dup["validation"].([]any)[0].(map[string]any)["code"] != "unique" {
			t.Fatalf("duplicate group: %v", dup)
		}
		env.Admin(t, 422, "POST", "/bim/group", map[string]any{"iamid": "bim"})
		env.Admin(t, 422, "POST", "/bim/group", map[string]any{"iamid": "okta", "name": "x"})
		env.Must(t, 403, key, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "Mine"})
		env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "Other"})
		up := env.Admin(t, 200, "PUT", fmt.Sprintf("/bim/group/%d", gid), map[string]any{"description": "from the API"}).Map(t)
		if up["description"] != "from the API" || up["name"] != "API Group" {
			t.Fatalf("update group: %v", up)
		}
		// Membership.
		m := env.Admin(t, 200, "POST", fmt.Sprintf("/bim/group/%d/user", gid), map[string]any{"userid": "erin@example.com", "iamid": "bim"}).Map(t)
		if int64(m["profile"].(float64)) != uid {
			t.Fatalf("add member: %v", m)
		}
		missing := env.Admin(t, 422, "POST", fmt.Sprintf("/bim/group/%d/user", gid), map[string]any{"userid": "ghost", "iamid": "bim"}).Map(t)
		if missing["validation"].([]any)[0].(map[string]any)["code"] != "notFound" {
			t.Fatalf("missing member: %v", missing)
		}
		env.Admin(t, 404, "POST", "/bim/group/999/user", map[string]any{"userid": "erin@example.com", "iamid": "bim"})
		env.Admin(t, 404, "POST", "/bim/group/abc/user", map[string]any{"userid": "erin@example.com", "iamid": "bim"})
		members := env.Must(t, 200, key, "GET", fmt.Sprintf("/bim/group/%d/user", gid), nil).Map(t)
		if members["count"].(float64) != 1 || members["hits"].([]any)[0].(map[string]any)["userid"] != "erin@example.com" {
			t.Fatalf("members: %v", members)
		}
		// Search.
		page := env.Must(t, 200, key, "GET", "/bim/group?name=api", nil).Map(t)
		if page["count"].(float64) != 1 {
			t.Fatalf("group search: %v", page)
		}
		page = env.Must(t, 200, key, "GET", fmt.Sprintf("/bim/group?userid=%d", uid), nil).Map(t)
		if page["count"].(float64) != 1 {
			t.Fatalf("groups of member: %v", page)
		}
		page = env.Must(t, 200, key, "GET", "/bim/group?sortOrder=desc&nameOnly=true", nil).Map(t)
		if fmt.Sprint(page["hits"]) != "[Other API Group]" {
			t.Fatalf("name only: %v", page)
		}
		// Attributes: user's own plus their groups' are effective.
		env.Admin(t, 200, "PUT", "/bim/iam/bim/user/erin@example.com/authorizations/Finance/CFA", nil)
		rec := env.Admin(t, 200, "PUT", "/bim/iam/bim/user/erin@example.com/authorizations/Finance/Red%20Team", nil).Map(t)
		if fmt.Sprint(rec["bimAuthorizations"]) != "map[Finance:[CFA Red Team]]" {
			t.Fatalf("user attributes: %v", rec)
		}
		grp := env.Admin(t, 200, "PUT", fmt.Sprintf("/bim/iam/bim/group/%d/authorizations/Country/JP", gid), nil).Map(t)
		if fmt.Sprint(grp["authorizations"]) != "map[Country:[JP]]" {
			t.Fatalf("group attributes: %v", grp)
		}
		cur := env.Must(t, 200, key, "GET", "/bim/rpc/user/current", nil).Map(t)
		if fmt.Sprint(cur["authorizations"]) != "map[Country:[JP] Finance:[CFA Red Team]]" || fmt.Sprint(cur["bimAuthorizations"]) != "map[Finance:[CFA Red Team]]" {
			t.Fatalf("effective attributes: %v / %v", cur["authorizations"], cur["bimAuthorizations"])
		}
		rec = env.Admin(t, 200, "DELETE", "/bim/iam/bim/user/erin@example.com/authorizations/Finance/CFA", nil).Map(t)
		if fmt.Sprint(rec["bimAuthorizations"]) != "map[Finance:[Red Team]]" || fmt.Sprint(rec["authorizations"]) != "map[Country:[JP] Finance:[Red Team]]" {
			t.Fatalf("remove attribute value: %v", rec)
		}
		env.Admin(t, 404, "DELETE", "/bim/iam/bim/user/erin@example.com/authorizations/Finance/CFA", nil)
		env.Admin(t, 200, "DELETE", "/bim/iam/bim/user/erin@example.com/authorizations/Finance", nil)
		env.Admin(t, 400, "PUT", "/bim/iam/bim/robot/1/authorizations/a/b", nil)
		env.Must(t, 403, key, "PUT", "/bim/iam/bim/user/erin@example.com/authorizations/Finance/CFA", nil)
		// Remove membership, then the group.
		env.Admin(t, 404, "DELETE", fmt.Sprintf("/bim/group/%d/user/%d", gid, 9999), nil)
		env.Admin(t, 204, "DELETE", fmt.Sprintf("/bim/group/%d/user/%v", gid, m["id"]), nil)
		cur = env.Must(t, 200, key, "GET", "/bim/rpc/user/current", nil).Map(t)
		if len(cur["groups"].([]any)) != 0 || fmt.Sprint(cur["authorizations"]) != "map[]" {
			t.Fatalf("after leaving the group: %v %v", cur["groups"], cur["authorizations"])
		}
		env.Admin(t, 204, "DELETE", fmt.Sprintf("/bim/group/%d", gid), nil)
		env.Admin(t, 404, "GET", fmt.Sprintf("/bim/group/%d", gid), nil)
		// Changes that alter decisions are in the change log.
		var n int
		if err := env.App.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM changes WHERE kind IN ('userGroups', 'attributes', 'groupDeleted')`).Scan(&n); err != nil || n < 6 {
			t.Fatalf("change log: %d %v", n, err)
		}
	})
}

func TestTags(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		var created []map[string]any
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{
			map[string]any{"name": "Address.email"}, map[string]any{"name": "Address.work"}, map[string]any{"name": "Address.home"}}}).JSON(t, &created)
		if len(created) != 3 || created[0]["source"] != "curated" || created[0]["displayName"] != "email" {
			t.Fatalf("create: %v", created)
		}
		var all []map[string]any
		env.Admin(t, 200, "GET", "/tag?searchText=address", nil).JSON(t, &all)
		if len(all) != 4 { // the parent exists too
			t.Fatalf("search: %v", all)
		}
		// Rename the children under the root tag; keep the rest.
		var renamed []map[string]any
		env.Admin(t, 200, "POST", "/tag", map[string]any{"rootTag": map[string]any{"name": "Address", "deleteHierarchy": false},
			"tags": []any{map[string]any{"id": created[0]["id"], "name": "Address.state"}}}).JSON(t, &renamed)
		if renamed[0]["name"] != "Address.state" || renamed[0]["id"] != created[0]["id"] {
			t.Fatalf("rename: %v", renamed)
		}
		env.Admin(t, 422, "POST", "/tag", map[string]any{"rootTag": map[string]any{"name": "Address"}, "tags": []any{map[string]any{"name": "Elsewhere.x"}}})
		// A root tag that does not exist yet is created with its children.
		env.Admin(t, 200, "POST", "/tag", map[string]any{"rootTag": map[string]any{"name": "Fresh"}, "tags": []any{map[string]any{"name": "Fresh.x"}}})
		var fresh []map[string]any
		env.Admin(t, 200, "GET", "/tag?searchText=Fresh", nil).JSON(t, &fresh)
		if len(fresh) != 2 || fresh[0]["name"] != "Fresh" || fresh[1]["name"] != "Fresh.x" {
			t.Fatalf("rootTag created: %v", fresh)
		}
		env.Admin(t, 422, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "bad..name"}}})
		env.Admin(t, 422, "POST", "/tag", map[string]any{"tags": []any{}})
		// deleteHierarchy replaces the children.
		env.Admin(t, 200, "POST", "/tag", map[string]any{"rootTag": map[string]any{"name": "Address", "deleteHierarchy": true},
			"tags": []any{map[string]any{"name": "Address.zip"}}})
		env.Admin(t, 200, "GET", "/tag?searchText=Address.", nil).JSON(t, &all)
		if len(all) != 1 || all[0]["name"] != "Address.zip" {
			t.Fatalf("after deleteHierarchy: %v", all)
		}
		// Attach to users and groups; any invalid tag attaches nothing.
		uid, key := env.NewUser(t, "tagged@example.com")
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Confidential"}}})
		env.Admin(t, 422, "POST", fmt.Sprintf("/tag/user/%d", uid), []any{map[string]any{"name": "Confidential"}, map[string]any{"name": "Missing.Tag"}})
		tags, _ := env.App.Tags.Of(t.Context(), "user", []string{fmt.Sprint(uid)})
		if len(tags[fmt.Sprint(uid)]) != 0 {
			t.Fatal("a payload with an invalid tag must attach nothing")
		}
		var attached []map[string]any
		env.Admin(t, 200, "POST", fmt.Sprintf("/tag/user/%d", uid), []any{map[string]any{"name": "Confidential", "source": "curated"}}).JSON(t, &attached)
		if attached[0]["name"] != "Confidential" || attached[0]["context"] != "manual" {
			t.Fatalf("attach: %v", attached)
		}
		env.Must(t, 403, key, "POST", fmt.Sprintf("/tag/user/%d", uid), []any{map[string]any{"name": "Confidential"}})
		env.Admin(t, 404, "POST", "/tag/user/99999", []any{map[string]any{"name": "Confidential"}})
		env.Admin(t, 400, "POST", "/tag/spaceship/1", []any{map[string]any{"name": "Confidential"}})
		env.Admin(t, 404, "POST", "/tag/project/1", []any{map[string]any{"name": "Confidential"}})
		env.Admin(t, 204, "DELETE", fmt.Sprintf("/tag/user/%d/Confidential", uid), nil)
		env.Admin(t, 404, "DELETE", fmt.Sprintf("/tag/user/%d/Confidential", uid), nil)
		// Deleting a parent needs deleteHierarchy.
		env.Admin(t, 409, "DELETE", "/tag/Address", nil)
		var deleted []map[string]any
		env.Admin(t, 200, "DELETE", "/tag/Address?deleteHierarchy=true", nil).JSON(t, &deleted)
		if len(deleted) != 2 || deleted[0]["deleted"] != true {
			t.Fatalf("delete hierarchy: %v", deleted)
		}
		env.Admin(t, 404, "DELETE", "/tag/Address", nil)
		env.Must(t, 403, key, "DELETE", "/tag/Confidential", nil)
		// Recreating a deleted tag revives it.
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Address.zip"}}})
		env.Admin(t, 200, "POST", "/tag/refresh", nil)
	})
}

func TestAuditAndConventions(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		_, key := env.NewUser(t, "nosy@example.com")
		// AUDIT is required; the denial itself is audited.
		env.Must(t, 403, key, "GET", "/audit", nil)
		denied := env.Admin(t, 200, "GET", "/audit?recordType=permissionDenied", nil).Map(t)
		if denied["count"].(float64) != 1 || denied["hits"].([]any)[0].(map[string]any)["userId"] != "nosy@example.com" {
			t.Fatalf("denial audit: %v", denied)
		}
		// A change's record carries its request id.
		r := env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "Audited"})
		reqID := r.Header.Get("X-Request-Id")
		recs := env.Admin(t, 200, "GET", "/audit?recordType=groupCreate", nil).Map(t)
		hit := recs["hits"].([]any)[0].(map[string]any)
		if hit["requestId"] != reqID || hit["success"] != true || hit["targetType"] != "group" {
			t.Fatalf("change audit: %v (request %s)", hit, reqID)
		}
		one := env.Admin(t, 200, "GET", "/audit/"+hit["id"].(string), nil).Map(t)
		if one["recordType"] != "groupCreate" || one["component"] != "audit" {
			t.Fatalf("get audit: %v", one)
		}
		env.Admin(t, 404, "GET", "/audit/no-such-record", nil)
		// Paging, sorting and dates.
		page := env.Admin(t, 200, "GET", "/audit?size=2&sortField=dateTime&sortOrder=asc", nil).Map(t)
		if len(page["hits"].([]any)) != 2 || page["count"].(float64) < 4 {
			t.Fatalf("paging: %v", page)
		}
		page = env.Admin(t, 200, "GET", "/audit?minDate=2999-01-01", nil).Map(t)
		if page["count"].(float64) != 0 {
			t.Fatalf("minDate: %v", page)
		}
		env.Admin(t, 400, "GET", "/audit?minDate=yesterday", nil)
		env.Admin(t, 400, "GET", "/audit?outcome=maybe", nil)
		// YAML bodies work like JSON.
		env.Admin(t, 200, "POST", "/bim/group", "iamid: bim\nname: From YAML\n")
		// Malformed bodies are 400, wrong types 422 naming the field, size limit 413.
		env.Admin(t, 400, "POST", "/bim/group", `{"iamid": "bim", "name": `)
		wrong := env.Admin(t, 422, "POST", "/bim/group", `{"iamid": "bim", "name": 42}`).Map(t)
		if wrong["validation"].([]any)[0].(map[string]any)["field"] != "name" {
			t.Fatalf("type error: %v", wrong)
		}
		env.Admin(t, 400, "POST", "/bim/group", nil)
		big := `{"iamid":"bim","name":"` + strings.Repeat("x", 17<<20) + `"}`
		env.Admin(t, http.StatusRequestEntityTooLarge, "POST", "/bim/group", big)
		// Nothing was written by the failed requests.
		page = env.Admin(t, 200, "GET", "/bim/group?size=100", nil).Map(t)
		if page["count"].(float64) != 2 {
			t.Fatalf("groups after bad input: %v", page["count"])
		}
		// Unknown routes and methods.
		env.Admin(t, 404, "GET", "/no/such/route", nil)
		// Operations endpoints.
		env.Must(t, 200, "", "GET", "/healthz", nil)
		env.Must(t, 200, "", "GET", "/readyz", nil)
		m := env.Must(t, 200, "", "GET", "/metrics", nil)
		if !strings.Contains(string(m.Body), `custos_http_requests_total{method="POST",route="/bim/group",status="422"}`) {
			t.Fatalf("metrics lack route counts:\n%s", m.Body)
		}
	})
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	doc := env.Must(t, 200, "", "GET", "/openapi.json", nil).Map(t)
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("version: %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	for _, want := range []string{"/bim/rpc/user/current", "/bim/group/{groupId}/user/{groupuserid}", "/tag/{modelType}/{modelId}", "/audit"} {
		if _, ok := paths[want]; !ok {
			t.Errorf("path %s missing from the OpenAPI document", want)
		}
	}
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			o := op.(map[string]any)
			if o["summary"] == "" || o["operationId"] == "" {
				t.Errorf("%s %s lacks a summary or operation id", method, path)
			}
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	if _, ok := schemas["userAggregate"]; !ok {
		t.Errorf("schemas: %v", schemas)
	}
}

func TestJobsAPI(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		env.App.Jobs.Register("sleepy", jobs.Handler{Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) {
			p(3, 3, "counted")
			return "slept", nil
		}})
		uid, key := env.NewUser(t, "runner@example.com")
		_, other := env.NewUser(t, "other@example.com")
		var id string
		err := env.App.DB.InTx(t.Context(), func(tx *store.Tx) error {
			var err error
			id, err = jobs.Enqueue(t.Context(), &tx.Queries, "sleepy", nil, jobs.Options{CreatedBy: &uid})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		env.App.Jobs.Notify()
		st := env.Must(t, 200, key, "POST", "/jobs/statuses", map[string]any{"jobIds": []string{id}, "wait": 10}).Map(t)
		j := st[id].(map[string]any)
		if j["state"] != "completed" || j["output"] != "slept" {
			t.Fatalf("statuses: %v", st)
		}
		env.Must(t, 422, other, "POST", "/jobs/statuses", map[string]any{"jobIds": []string{id}})
		env.Must(t, 422, key, "POST", "/jobs/statuses", map[string]any{"jobIds": []string{}})
		env.Must(t, 422, key, "POST", "/jobs/statuses", map[string]any{"jobIds": []string{id}, "wait": 1, "pollInterval": 0})
		full := env.Must(t, 200, key, "GET", "/jobs/"+id, nil).Map(t)
		if full["progress"].(map[string]any)["done"].(float64) != 3 {
			t.Fatalf("job: %v", full)
		}
		env.Must(t, 404, other, "GET", "/jobs/"+id, nil)
		mine := env.Must(t, 200, key, "GET", "/jobs/search?state=completed", nil).Map(t)
		if mine["count"].(float64) != 1 {
			t.Fatalf("search: %v", mine)
		}
		if n := env.Must(t, 200, other, "GET", "/jobs/search", nil).Map(t)["count"].(float64); n != 0 {
			t.Fatalf("others see %v jobs", n)
		}
		env.Must(t, 400, key, "GET", "/jobs/search?state=sleeping", nil)
		sum := env.Admin(t, 200, "GET", "/jobs/summary", nil).Map(t)
		if sum["sleepy"].(map[string]any)["completed"].(float64) != 1 {
			t.Fatalf("summary: %v", sum)
		}
	})
}
