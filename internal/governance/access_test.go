package governance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// keysOf returns the top-level keys of a JSON object in their order.
func keysOf(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func grantsOf(t *testing.T, f *fixture, ds int64) map[int64]string {
	t.Helper()
	f.sync()
	list, err := f.app.Governance.Grants(f.ctx, ds)
	f.must(err)
	out := map[int64]string{}
	for _, g := range list {
		out[g.UserID] = g.AccessGrant
	}
	return out
}

func TestManualGrantsAndGrants(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		rec := record(f.app)
		ownerID, ownerKey := env.NewUser(t, "owner@example.com")
		f.users["owner@example.com"] = ownerID
		_, strangerKey := env.NewUser(t, "stranger@example.com")
		writer, reader, member1, member2 := f.user("writer"), f.user("reader"), f.user("member1"), f.user("member2")
		f.join("analysts", "member1")
		f.join("analysts", "member2")
		ds := f.dataSource(dsSpec{Name: "sales", OwnerUsers: []string{"owner@example.com"},
			Columns: []policy.Column{{Name: "region"}, {Name: "amount", Type: "numeric"}}})
		if g := grantsOf(t, f, ds); len(g) != 1 || g[ownerID] != "READ" {
			t.Fatalf("an owner reads: %v", g)
		}

		// The documented manual WRITE grant, field for field.
		body := f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": writer, "state": "subscribed", "accessGrant": "WRITE"}, nil)
		want := "isSubscriptionOverride,id,modelId,modelType,state,metadata,admin,denialReasoning,profile,group,policy,expiration,acknowledgeRequired,createdAt,updatedAt,accessGrant,approved"
		if got := strings.Join(keysOf(t, body), ","); got != want {
			t.Fatalf("response fields\n got %s\nwant %s", got, want)
		}
		var sub map[string]any
		f.must(json.Unmarshal(body, &sub))
		if sub["isSubscriptionOverride"] != true || sub["modelId"] != fmt.Sprint(ds) || sub["modelType"] != "datasource" ||
			sub["state"] != "subscribed" || mustJSON(t, sub["metadata"]) != "{}" || sub["admin"] != float64(1) ||
			sub["denialReasoning"] != nil || sub["profile"] != float64(writer) || sub["group"] != nil || sub["policy"] != false ||
			sub["expiration"] != nil || sub["acknowledgeRequired"] != false || sub["accessGrant"] != "WRITE" || sub["approved"] != true ||
			sub["id"].(float64) <= 0 {
			t.Fatalf("manual WRITE grant: %v", sub)
		}
		// READ, by an owner; a group's grant counts for its members.
		env.Must(t, 200, ownerKey, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": reader, "state": "subscribed", "accessGrant": "READ"})
		grp := env.Must(t, 200, ownerKey, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"groupId": f.groups["analysts"], "state": "subscribed"}).Map(t)
		if grp["group"] != "analysts" || grp["profile"] != nil || grp["accessGrant"] != "READ" {
			t.Fatalf("group grant: %v", grp)
		}
		g := grantsOf(t, f, ds)
		if g[writer] != "WRITE" || g[reader] != "READ" || g[member1] != "READ" || g[member2] != "READ" || len(g) != 5 {
			t.Fatalf("grants: %v", g)
		}
		rec.waitDS(t, ds)
		// Disabled users hold nothing.
		f.call(200, "PUT", "/bim/iam/bim/user/member2/disable/true", nil, nil)
		if g := grantsOf(t, f, ds); g[member2] != "" || g[member1] != "READ" {
			t.Fatalf("a disabled member: %v", g)
		}
		rec.waitUsers(t, member2)

		// Refusals, and nothing changes.
		var before struct {
			Count int `json:"count"`
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access", ds), nil, &before)
		env.Must(t, 403, strangerKey, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": reader, "state": "owner"})
		env.Must(t, 403, strangerKey, "GET", fmt.Sprintf("/dataSource/%d/access", ds), nil)
		env.Must(t, 403, ownerKey, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": ownerID, "state": "subscribed", "accessGrant": "WRITE"})
		for _, b := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"profileId": reader, "state": "reader"}, "state"},
			{map[string]any{"profileId": reader, "state": "ingest"}, "state"},
			{map[string]any{"profileId": reader}, "state"},
			{map[string]any{"profileId": reader, "state": "subscribed", "accessGrant": "DELETE"}, "accessGrant"},
			{map[string]any{"state": "subscribed"}, "profileId"},
			{map[string]any{"profileId": 999999, "state": "subscribed"}, "profileId"},
			{map[string]any{"groupId": 999999, "state": "subscribed"}, "groupId"},
			{map[string]any{"profileId": reader, "groupId": f.groups["analysts"], "state": "subscribed"}, "groupId"},
			{map[string]any{"profileId": reader, "state": "subscribed", "expiration": "2001-01-01"}, "expiration"},
			{map[string]any{"profileId": reader, "state": "subscribed", "expiration": "soon"}, "expiration"},
		} {
			if fields := f.refused(422, "POST", fmt.Sprintf("/dataSource/%d/access", ds), b.body); !contains(fields, b.field) {
				t.Errorf("%v: fields %v, want %s", b.body, fields, b.field)
			}
		}
		f.call(404, "POST", "/dataSource/999999/access", map[string]any{"profileId": reader, "state": "subscribed"}, nil)
		var after struct {
			Count int `json:"count"`
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access", ds), nil, &after)
		if after.Count != before.Count {
			t.Fatalf("a refused grant changed the subscribers: %d -> %d", before.Count, after.Count)
		}

		// An expired subscription stops granting, and its end is announced.
		exp := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		env.Must(t, 200, ownerKey, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": reader,
			"state": "subscribed", "accessGrant": "READ", "expiration": exp})
		if g := grantsOf(t, f, ds); g[reader] != "READ" {
			t.Fatalf("before the expiration: %v", g)
		}
		rec.reset()
		time.Sleep(1600 * time.Millisecond)
		rec.waitDS(t, ds)
		if g := grantsOf(t, f, ds); g[reader] != "" {
			t.Fatalf("after the expiration: %v", g)
		}
		var plan struct {
			Grant        *string `json:"grant"`
			Subscription *struct {
				Expiration *time.Time `json:"expiration"`
			} `json:"subscription"`
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, reader), nil, &plan)
		if plan.Grant != nil || plan.Subscription == nil || plan.Subscription.Expiration == nil {
			t.Fatalf("the decision after the expiration: %+v", plan)
		}

		// Automatic policies: anyone reads; holders of has=write write.
		f.call(200, "POST", "/api/v2/policy", "name: Anyone\npolicyKey: anyone\ntype: subscription\nactions: {type: anyone, automaticSubscription: true}\n", nil)
		f.call(200, "POST", "/policy/global", map[string]any{"type": "subscription", "name": "Allow users with specific entitlements to have write access",
			"actions": []any{map[string]any{"type": "subscription", "subscriptionType": "policy", "accessGrant": "WRITE", "automaticSubscription": true,
				"exceptions": map[string]any{"operator": "and", "conditions": []any{map[string]any{"type": "authorizations",
					"authorization": map[string]any{"auth": "has", "value": "write"}}}}}}, "staged": false}, nil)
		scribe := f.user("scribe")
		f.attribute("scribe", "has", "write")
		g = grantsOf(t, f, ds)
		if g[scribe] != "WRITE" || g[reader] != "READ" || g[1] != "READ" || g[member2] != "" {
			t.Fatalf("automatic grants: %v", g)
		}
		// A subscription that is not an override lasts while the user
		// meets the policy of its grant.
		nonOverride := f.user("requester")
		f.must(f.app.DB.InTx(f.ctx, func(tx *store.Tx) error {
			now := store.Now()
			e := &access.Entry{Access: store.Access{DataSourceID: ds, ModelType: "user", ModelID: nonOverride, State: "subscribed",
				AccessGrant: "WRITE", CreatedAt: now, UpdatedAt: now}}
			if err := access.Put(f.ctx, &tx.Queries, e); err != nil {
				return err
			}
			return access.AppendChange(f.ctx, &tx.Queries, ds)
		}))
		if g := grantsOf(t, f, ds); g[nonOverride] != "READ" {
			t.Fatalf("a WRITE request without the write entitlement: %v", g)
		}
		f.attribute("requester", "has", "write")
		if g := grantsOf(t, f, ds); g[nonOverride] != "WRITE" {
			t.Fatalf("a WRITE request with the write entitlement: %v", g)
		}

		// The subscriber list: rows, groups expanded or not, automatic ones.
		type listed struct {
			Count int `json:"count"`
			Users []struct {
				Profile        *int64  `json:"profile"`
				Name           string  `json:"name"`
				Type           string  `json:"type"`
				State          string  `json:"state"`
				AccessGrant    string  `json:"accessGrant"`
				SubscriptionID *int64  `json:"subscriptionId"`
				Policy         bool    `json:"policy"`
				Approved       bool    `json:"approved"`
				Group          *string `json:"group"`
			} `json:"users"`
		}
		var l listed
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access?states=owner", ds), nil, &l)
		if l.Count != 1 || l.Users[0].Name != "owner@example.com" {
			t.Fatalf("owners: %+v", l)
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access?searchText=ANALY", ds), nil, &l)
		if l.Count != 1 || l.Users[0].Type != "group" {
			t.Fatalf("groups: %+v", l)
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access?expandGroups=true&searchText=member", ds), nil, &l)
		if l.Count != 2 || l.Users[0].Group == nil || *l.Users[0].Group != "analysts" {
			t.Fatalf("expanded: %+v", l)
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access?searchText=scribe", ds), nil, &l)
		if l.Count != 1 || !l.Users[0].Policy || l.Users[0].SubscriptionID != nil || l.Users[0].AccessGrant != "WRITE" {
			t.Fatalf("automatic subscriber: %+v", l)
		}
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/access?size=2&offset=1&sortField=name&sortOrder=desc", ds), nil, &l)
		if len(l.Users) != 2 {
			t.Fatalf("page: %+v", l)
		}
		// Anyone is subscribed now, so the stranger may list too.
		env.Must(t, 200, strangerKey, "GET", fmt.Sprintf("/dataSource/%d/access?states=owner", ds), nil)
		f.call(400, "GET", fmt.Sprintf("/dataSource/%d/access?states=bogus", ds), nil, nil)
	})
}
