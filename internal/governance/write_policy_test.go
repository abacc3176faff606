package governance_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
)

// writePolicyDoc is the reference's example of a global write policy: users
// with the attribute has.write get WRITE on every data source.
func writePolicyDoc(extra map[string]any) map[string]any {
	act := map[string]any{"type": "subscription", "subscriptionType": "policy", "accessGrant": "WRITE",
		"exceptions": map[string]any{"operator": "and", "conditions": []any{map[string]any{"type": "authorizations",
			"authorization": map[string]any{"auth": "has", "value": "write"}}}}}
	for k, v := range extra {
		act[k] = v
	}
	return map[string]any{"type": "subscription", "name": "Allow users with specific entitlements to have write access",
		"actions": []any{act}, "staged": false}
}

// subscriptionPolicy is a V1 subscription policy of one grant.
func subscriptionPolicy(name, subType, grant string, extra map[string]any) map[string]any {
	act := map[string]any{"type": "subscription", "subscriptionType": subType, "accessGrant": grant}
	for k, v := range extra {
		act[k] = v
	}
	return map[string]any{"type": "subscription", "name": name, "actions": []any{act}, "staged": false}
}

type userPlan struct {
	Grant         *string `json:"grant"`
	GrantByPolicy *string `json:"grantByPolicy"`
	CanWrite      bool    `json:"canWrite"`
	Read          struct {
		Status string `json:"status"`
	} `json:"read"`
	Write struct {
		Status string `json:"status"`
	} `json:"write"`
}

func (f *fixture) plan(ds, user int64) userPlan {
	f.t.Helper()
	f.sync()
	var p userPlan
	f.call(200, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, user), nil, &p)
	return p
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// The global write-policy endpoints answer the documented objects, field for
// field and in the documented order, for every documented subscription
// type and circumstance.
func TestWritePolicyAPIFollowsTheReference(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		f.makeTags("Discovered.Person Name", "Discovered.Healthcare NPI", "Discovered.Passport.Number", "Sales")

		// POST: the reference's request; the answer in the reference's order.
		body := f.call(200, "POST", "/policy/global", writePolicyDoc(nil), nil)
		want := "policyKey,name,type,template,staged,systemGenerated,deleted,certification,actions,circumstances,metadata,clonedFrom,createdBy,id,createdAt,updatedAt,createdByName,ownerRestrictions"
		if got := strings.Join(keysOf(t, body), ","); got != want {
			t.Fatalf("policy fields\n got %s\nwant %s", got, want)
		}
		var created struct {
			ID            int64            `json:"id"`
			PolicyKey     string           `json:"policyKey"`
			Template      bool             `json:"template"`
			Deleted       bool             `json:"deleted"`
			Circumstances []map[string]any `json:"circumstances"`
			CreatedByName string           `json:"createdByName"`
		}
		env.Must(t, 200, admin, "GET", fmt.Sprintf("/policy/global/%d", 1), nil).JSON(t, &created)
		if created.PolicyKey != "Allow users with specific entitlements to have write access" || created.Template || created.Deleted ||
			created.CreatedByName == "" || len(created.Circumstances) != 0 {
			t.Fatalf("created: %+v", created)
		}
		// The action's fields, in the documented order, on the raw answer.
		raw := string(body)
		i := strings.Index(raw, `"actions":[{`)
		if i < 0 || !strings.HasPrefix(raw[i:], `"actions":[{"type":"subscription","accessGrant":"WRITE","description":null,"allowDiscovery":false,"subscriptionType":"policy","shareResponsibility":false,"automaticSubscription":false,"exceptions":`) {
			t.Fatalf("action fields: %s", raw)
		}

		// The manual example on a column tag, then the documented update.
		var manual map[string]any
		f.call(200, "POST", "/policy/global", map[string]any{"type": "subscription", "name": "Data owners grant specific users write access",
			"actions": []any{map[string]any{"type": "subscription", "subscriptionType": "manual", "accessGrant": "WRITE"}}, "staged": false,
			"circumstances": []any{map[string]any{"type": "columnTags", "columnTag": map[string]any{"name": "Discovered.Person Name",
				"displayName": "Discovered . Person Name", "hasLeafNodes": false}}}}, &manual)
		if got := mustJSON(t, manual["circumstances"]); got != `[{"columnTag":{"displayName":"Discovered . Person Name","hasLeafNodes":false,"name":"Discovered.Person Name"},"operator":"and","type":"columnTags"}]` {
			t.Errorf("manual policy circumstances: %s", got)
		}
		id := int64(manual["id"].(float64))
		var updated map[string]any
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%d", id), map[string]any{"type": "subscription", "name": "Manual global write policy",
			"template": true, "actions": []any{map[string]any{"type": "subscription", "subscriptionType": "manual",
				"description": "This updated policy only applies to data sources tagged Discovered.Healthcare NPI.", "accessGrant": "WRITE"}},
			"staged": false, "circumstances": []any{map[string]any{"operator": "or", "type": "columnTags", "columnTag": map[string]any{
				"name": "Discovered.Passport", "displayName": "Discovered . Passport", "hasLeafNodes": true}}}}, &updated)
		if updated["name"] != "Manual global write policy" || updated["template"] != true || updated["policyKey"] != "Data owners grant specific users write access" ||
			mustJSON(t, updated["circumstances"]) != `[{"columnTag":{"displayName":"Discovered . Passport","hasLeafNodes":true,"name":"Discovered.Passport"},"operator":"or","type":"columnTags"}]` {
			t.Errorf("updated: %v", updated)
		}
		if a := updated["actions"].([]any)[0].(map[string]any); a["description"] != "This updated policy only applies to data sources tagged Discovered.Healthcare NPI." ||
			a["shareResponsibility"] != false || a["automaticSubscription"] != false || a["allowDiscovery"] != false {
			t.Errorf("updated action: %v", a)
		}
		var got map[string]any
		f.call(200, "GET", fmt.Sprintf("/policy/global/%d", id), nil, &got)
		if mustJSON(t, got) != mustJSON(t, updated) {
			t.Errorf("GET answers\n%v\nPUT answered\n%v", got, updated)
		}
		var deleted map[string]any
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%d", id), nil, &deleted)
		if deleted["deleted"] != true || deleted["name"] != "Manual global write policy" {
			t.Errorf("deleted: %v", deleted)
		}
		f.call(404, "GET", fmt.Sprintf("/policy/global/%d", id), nil, nil)

		// Refusals name the fields of the V1 payload, and change nothing.
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{subscriptionPolicy("x", "", "WRITE", nil), "actions[0].subscriptionType"},
			{subscriptionPolicy("x", "sometimes", "WRITE", nil), "actions[0].subscriptionType"},
			{subscriptionPolicy("x", "policy", "WRITE", nil), "actions[0].exceptions"},
			{subscriptionPolicy("x", "approval", "WRITE", nil), "actions[0].approvals"},
			{subscriptionPolicy("x", "manual", "DELETE", nil), "actions[0].accessGrant"},
			{subscriptionPolicy("x", "manual", "WRITE", map[string]any{"type": "data"}), "actions[0].type"},
			{map[string]any{"type": "subscription", "name": "x", "staged": false, "actions": []any{}}, "actions"},
			{map[string]any{"type": "subscription", "staged": false, "actions": []any{map[string]any{"type": "subscription", "subscriptionType": "manual", "accessGrant": "WRITE"}}}, "name"},
		} {
			if fields := f.refused(422, "POST", "/policy/global", c.body); !contains(fields, c.field) {
				t.Errorf("%v: fields %v, want %s", c.body, fields, c.field)
			}
		}
		var names []map[string]any
		f.call(200, "GET", "/policy/global?nameOnly=true", nil, &names)
		if len(names) != 1 {
			t.Errorf("refused policies were saved: %v", names)
		}
	})
}

// Each documented subscription type and circumstance of a global write
// policy decides who may write which data source, and READ and WRITE
// policies combine as docs/compatibility.md says.
func TestWritePolicyTypesAndCircumstances(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		writerID, writerKey := env.NewUser(t, "writer@example.com")
		f.users["writer@example.com"] = writerID
		otherID, otherKey := env.NewUser(t, "other@example.com")
		f.users["other@example.com"] = otherID
		f.attribute("writer@example.com", "has", "write")
		people := f.dataSource(dsSpec{Name: "people", Server: "db1.example.com", Tags: []string{"Sales"},
			Columns: []policy.Column{{Name: "name", Tags: []string{"Discovered.Person Name"}}, {Name: "npi_code"}}})
		plain := f.dataSource(dsSpec{Name: "plain", Server: "db2.example.com", CreatedAt: time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC),
			Columns: []policy.Column{{Name: "id"}}})
		all := []int64{people, plain}
		writeStatus := func(user int64) string {
			var out []string
			for _, ds := range all {
				out = append(out, f.plan(ds, user).Write.Status)
			}
			return strings.Join(out, ",")
		}
		subscribe := func(key string, ds int64, grant string) map[string]any {
			return env.Must(t, 200, key, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", ds), map[string]any{"accessGrant": grant}).Map(t)
		}

		// Circumstances: each documented type selects its data sources.
		for _, c := range []struct {
			circ map[string]any
			want string
		}{
			{nil, "allowed,allowed"},
			{map[string]any{"type": "anyTag", "operator": "and"}, "allowed,none"},
			{map[string]any{"type": "noTags", "operator": "and"}, "none,allowed"},
			{map[string]any{"type": "tags", "operator": "or", "tag": map[string]any{"name": "Sales"}}, "allowed,none"},
			{map[string]any{"type": "columnTags", "operator": "or", "columnTag": map[string]any{"name": "Discovered.Person Name", "hasLeafNodes": false}}, "allowed,none"},
			{map[string]any{"type": "columnRegex", "operator": "or", "columnRegex": map[string]any{"regex": "^NPI_", "caseInsensitive": true}}, "allowed,none"},
			{map[string]any{"type": "columnRegex", "operator": "or", "columnRegex": map[string]any{"regex": "^NPI_", "caseInsensitive": false}}, "none,none"},
			{map[string]any{"type": "server", "operator": "or", "server": "db2.example.com"}, "none,allowed"},
			{map[string]any{"type": "time", "operator": "or", "startDate": "2020-01-01"}, "allowed,none"},
			{map[string]any{"type": "time", "operator": "or", "startDate": "2019-01-01", "endDate": "2019-12-31"}, "none,allowed"},
		} {
			doc := writePolicyDoc(nil)
			if c.circ != nil {
				doc["circumstances"] = []any{c.circ}
			}
			var p map[string]any
			f.call(200, "POST", "/policy/global", doc, &p)
			if got := writeStatus(writerID); got != c.want {
				t.Errorf("circumstance %v: WRITE %s, want %s", c.circ, got, c.want)
			}
			if got := writeStatus(otherID); got != strings.NewReplacer("allowed", "denied").Replace(c.want) {
				t.Errorf("circumstance %v: WRITE for a user without has.write %s", c.circ, got)
			}
			f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", p["id"]), nil, nil)
		}

		// Subscription types. automatic: anyone, on request or at once.
		var p map[string]any
		f.call(200, "POST", "/policy/global", subscriptionPolicy("Anyone writes", "automatic", "WRITE", nil), &p)
		if got := f.plan(plain, otherID); got.Write.Status != "allowed" || got.Grant != nil {
			t.Errorf("automatic without automaticSubscription: %+v", got)
		}
		if r := subscribe(otherKey, plain, "WRITE"); len(r["success"].([]any)) != 1 {
			t.Fatalf("subscribing for WRITE: %v", r)
		}
		if got := f.plan(plain, otherID); str(got.Grant) != "WRITE" || !got.CanWrite {
			t.Errorf("after subscribing: %+v", got)
		}
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", p["id"]), subscriptionPolicy("Anyone writes", "automatic", "WRITE",
			map[string]any{"automaticSubscription": true}), nil)
		if got := f.plan(people, otherID); got.Write.Status != "automatic" || str(got.Grant) != "WRITE" {
			t.Errorf("automatic with automaticSubscription: %+v", got)
		}
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", p["id"]), nil, nil)

		// policy: the entitlements; automaticSubscription writes at once.
		f.call(200, "POST", "/policy/global", writePolicyDoc(map[string]any{"automaticSubscription": true}), &p)
		if got := f.plan(people, writerID); got.Write.Status != "automatic" || str(got.Grant) != "WRITE" {
			t.Errorf("policy with automaticSubscription, has.write: %+v", got)
		}
		if got := f.plan(people, otherID); got.Write.Status != "denied" || got.Grant != nil {
			t.Errorf("policy with automaticSubscription, without has.write: %+v", got)
		}
		// shareResponsibility: either sharing policy's conditions suffice;
		// without it, every policy's are required.
		f.attribute("other@example.com", "team", "ops")
		second := subscriptionPolicy("Ops write", "policy", "WRITE", map[string]any{"automaticSubscription": true,
			"exceptions": map[string]any{"operator": "and", "conditions": []any{map[string]any{"type": "authorizations",
				"authorization": map[string]any{"auth": "team", "value": "ops"}}}}})
		var q map[string]any
		f.call(200, "POST", "/policy/global", second, &q)
		if a, b := f.plan(people, writerID), f.plan(people, otherID); a.Grant != nil || b.Grant != nil {
			t.Errorf("two policies, not sharing: both conditions required: %v %v", str(a.Grant), str(b.Grant))
		}
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", p["id"]), writePolicyDoc(map[string]any{"automaticSubscription": true, "shareResponsibility": true}), nil)
		second["actions"].([]any)[0].(map[string]any)["shareResponsibility"] = true
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", q["id"]), second, nil)
		if a, b := f.plan(people, writerID), f.plan(people, otherID); str(a.Grant) != "WRITE" || str(b.Grant) != "WRITE" {
			t.Errorf("two sharing policies: either condition suffices: %v %v", str(a.Grant), str(b.Grant))
		}
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", q["id"]), nil, nil)
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", p["id"]), nil, nil)

		// approval: a request, granted once approved.
		f.call(200, "POST", "/policy/global", subscriptionPolicy("Approved writers", "approval", "WRITE",
			map[string]any{"approvals": []any{map[string]any{"requiredPermission": "GOVERNANCE", "specificApproverRequired": false}}}), &p)
		r := subscribe(writerKey, people, "WRITE")
		sub := r["success"].([]any)[0].(map[string]any)
		if sub["state"] != "pending" {
			t.Fatalf("an approval policy: %v", r)
		}
		if got := f.plan(people, writerID); got.Grant != nil || got.Write.Status != "approval" {
			t.Errorf("pending: %+v", got)
		}
		f.call(200, "POST", "/subscription/approve", map[string]any{"requests": []any{map[string]any{"id": sub["id"]}}}, nil)
		if got := f.plan(people, writerID); str(got.Grant) != "WRITE" {
			t.Errorf("approved: %+v", got)
		}
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", p["id"]), nil, nil)

		// manual: no requests; an owner's grant stands.
		f.call(200, "POST", "/policy/global", subscriptionPolicy("Owners choose", "manual", "WRITE", nil), &p)
		r = subscribe(otherKey, people, "WRITE")
		if len(r["inError"].([]any)) != 1 {
			t.Errorf("a manual policy takes a request: %v", r)
		}
		if got := f.plan(people, writerID); got.Grant != nil || got.Write.Status != "manual" {
			t.Errorf("the approved subscription under a manual policy: %+v", got)
		}
		var granted map[string]any
		f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", people), map[string]any{"profileId": writerID, "state": "subscribed", "accessGrant": "WRITE"}, &granted)
		if granted["isSubscriptionOverride"] != true || granted["accessGrant"] != "WRITE" || granted["approved"] != true || granted["policy"] != false {
			t.Errorf("manual grant: %v", granted)
		}
		if got := f.plan(people, writerID); str(got.Grant) != "WRITE" {
			t.Errorf("an owner's grant under a manual policy: %+v", got)
		}
		// An owner or expert may hold WRITE too; accessGrant defaults to READ.
		f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", plain), map[string]any{"profileId": otherID, "state": "expert", "accessGrant": "WRITE"}, &granted)
		if granted["state"] != "expert" || granted["accessGrant"] != "WRITE" {
			t.Errorf("expert with WRITE: %v", granted)
		}
		f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", plain), map[string]any{"profileId": writerID, "state": "owner"}, &granted)
		if granted["state"] != "owner" || granted["accessGrant"] != "READ" {
			t.Errorf("owner without accessGrant: %v", granted)
		}
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", p["id"]), nil, nil)

		// READ and WRITE policies on one data source: WRITE includes READ.
		f.call(200, "POST", "/policy/global", subscriptionPolicy("Owners choose readers", "manual", "READ", nil), &p)
		f.call(200, "POST", "/policy/global", writePolicyDoc(map[string]any{"automaticSubscription": true}), &q)
		third := f.user("third")
		f.attribute("third", "has", "write")
		if got := f.plan(people, third); got.Read.Status != "manual" || got.Write.Status != "automatic" || str(got.Grant) != "WRITE" {
			t.Errorf("a writer under a manual read policy: %+v", got)
		}
		fourth := f.user("fourth")
		if got := f.plan(people, fourth); got.Read.Status != "manual" || got.Write.Status != "denied" || got.Grant != nil {
			t.Errorf("a non-writer under a manual read policy: %+v", got)
		}
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", p["id"]), subscriptionPolicy("Anyone reads", "automatic", "READ",
			map[string]any{"automaticSubscription": true}), nil)
		if got := f.plan(people, fourth); str(got.Grant) != "READ" || str(got.GrantByPolicy) != "READ" {
			t.Errorf("a reader by policy: %+v", got)
		}
		if got := f.plan(people, third); str(got.Grant) != "WRITE" {
			t.Errorf("a writer by policy beside a read policy: %+v", got)
		}
	})
}

// A subscription obtained by policy lasts while a subscription policy in
// force admits it: tightening a policy, or deleting it, ends it (WRITE
// falls back to READ where a read policy admits it); an owner's grant
// stands.
func TestSubscriptionsFollowThePolicyInForce(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		rec := record(f.app)
		readerID, readerKey := env.NewUser(t, "reader@example.com")
		writerID, writerKey := env.NewUser(t, "writer@example.com")
		f.users["writer@example.com"] = writerID
		f.attribute("writer@example.com", "has", "write")
		ds := f.dataSource(dsSpec{Name: "sales", Columns: []policy.Column{{Name: "region"}}})
		subscribe := func(key, grant string) {
			t.Helper()
			r := env.Must(t, 200, key, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", ds), map[string]any{"accessGrant": grant}).Map(t)
			if len(r["success"].([]any)) != 1 {
				t.Fatalf("subscribe %s: %v", grant, r)
			}
		}
		type line struct {
			Profile     *int64 `json:"profile"`
			Approved    bool   `json:"approved"`
			AccessGrant string `json:"accessGrant"`
			State       string `json:"state"`
		}
		listed := func(user int64) string {
			var l struct {
				Users []line `json:"users"`
			}
			f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access", ds), nil, &l)
			for _, u := range l.Users {
				if u.Profile != nil && *u.Profile == user {
					return fmt.Sprintf("%s %s %v", u.State, u.AccessGrant, u.Approved)
				}
			}
			return "absent"
		}
		check := func(what, reader, writer string) {
			t.Helper()
			g := grantsOf(t, f, ds)
			if g[readerID] != reader || g[writerID] != writer {
				t.Errorf("%s: reader %q, writer %q; want %q, %q", what, g[readerID], g[writerID], reader, writer)
			}
			for _, u := range []struct {
				id   int64
				want string
			}{{readerID, reader}, {writerID, writer}} {
				if got := str(f.plan(ds, u.id).Grant); got != u.want {
					t.Errorf("%s: the decision endpoint says %q for user %d, want %q", what, got, u.id, u.want)
				}
			}
		}
		var anyone, write map[string]any
		f.call(200, "POST", "/policy/global", subscriptionPolicy("Anyone reads", "automatic", "READ", nil), &anyone)
		f.call(200, "POST", "/policy/global", writePolicyDoc(nil), &write)
		subscribe(readerKey, "READ")
		subscribe(writerKey, "WRITE")
		check("subscribed", "READ", "WRITE")
		if got := listed(writerID); got != "subscribed WRITE true" {
			t.Errorf("listed: %s", got)
		}

		// Deleting the reference's write policy ends WRITE: the read policy
		// still admits the writer, who reads.
		rec.reset()
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", write["id"]), nil, nil)
		rec.waitDS(t, ds)
		check("the write policy deleted", "READ", "READ")
		if got := listed(writerID); got != "subscribed READ true" {
			t.Errorf("listed after the write policy went: %s", got)
		}
		// Tightening the read policy to approval, then manual, ends both.
		for _, typ := range []string{"approval", "manual"} {
			extra := map[string]any{}
			if typ == "approval" {
				extra["approvals"] = []any{map[string]any{"requiredPermission": "OWNER"}}
			}
			rec.reset()
			f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", anyone["id"]), subscriptionPolicy("Anyone reads", typ, "READ", extra), nil)
			rec.waitDS(t, ds)
			check("tightened to "+typ, "", "")
			if got := listed(readerID); got != "subscribed READ false" {
				t.Errorf("tightened to %s, listed: %s", typ, got)
			}
		}
		// Loosening admits the subscription again; deleting the policy ends it.
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", anyone["id"]), subscriptionPolicy("Anyone reads", "automatic", "READ", nil), nil)
		check("loosened", "READ", "READ")
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", anyone["id"]), nil, nil)
		check("no policy", "", "")
		// Under approval, an approved subscription stands; subscribing again
		// after a lapse asks for approval.
		var appr map[string]any
		f.call(200, "POST", "/policy/global", subscriptionPolicy("Approved readers", "approval", "READ",
			map[string]any{"approvals": []any{map[string]any{"requiredPermission": "GOVERNANCE"}}}), &appr)
		r := env.Must(t, 200, readerKey, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", ds), nil).Map(t)
		sub := r["success"].([]any)[0].(map[string]any)
		if sub["state"] != "pending" {
			t.Fatalf("a lapsed subscription asked again: %v", r)
		}
		f.call(200, "POST", "/subscription/approve", map[string]any{"requests": []any{map[string]any{"id": sub["id"]}}}, nil)
		check("approved", "READ", "")
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%v", appr["id"]), subscriptionPolicy("Approved readers", "manual", "READ", nil), nil)
		check("approval tightened to manual", "", "")
		// An owner's grant stands whatever the policy.
		f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": writerID, "state": "subscribed", "accessGrant": "WRITE"}, nil)
		check("granted by hand under a manual policy", "", "WRITE")
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%v", appr["id"]), nil, nil)
		check("granted by hand, no policy", "", "WRITE")
	})
}
