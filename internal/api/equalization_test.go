package api_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/server/servertest"
)

const maskUnlessG2 = `policyKey: mask unless g2
name: Mask Unless G2
type: data
actions:
- rules:
  - type: Masking
    exceptions:
      groups:
      - G2
    config:
      fields:
      - type: columnTags
        columnTag: PII.SSN
      maskingConfig:
        type: Hash
circumstances:
- type: columnTags
  columnTag: PII.SSN
`

// TestEqualization equalizes a project: every member acting under it is
// limited to the entitlements all members share, which the decision API and
// the entitlements enforcement reads both show; the state follows the
// members' entitlements.
func TestEqualization(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		customer := w.sources("eq", "CUSTOMER")["Customer"]
		w.tagColumn(customer, "SSN", "PII.SSN")
		ana, anaKey := env.NewUser(t, "ana@example.com")
		ben, benKey := env.NewUser(t, "ben@example.com")
		g1 := w.group("G1", "ben@example.com")
		anaInG1 := w.join(g1, "ana@example.com")
		w.group("Holder", "ana@example.com")
		g2 := w.group("G2", "ana@example.com")
		for _, u := range []string{"ana@example.com", "ben@example.com"} {
			w.admin(200, "PUT", "/bim/iam/bim/user/"+u+"/authorizations/Dept/Sales", nil, nil)
		}
		w.admin(200, "PUT", "/bim/iam/bim/user/ana@example.com/authorizations/Level/High", nil, nil)
		w.policy(maskUnlessG2)
		w.grant(customer, ana)
		w.grant(customer, ben)

		pid := w.saveV2("name: Equal\nprojectKey: equal\n")
		path := fmt.Sprintf("/project/%d", pid)
		w.admin(200, "POST", path+"/members", map[string]any{"profileId": ana, "state": "owner"}, nil)
		w.admin(200, "POST", path+"/members", map[string]any{"profileId": ben}, nil)
		w.admin(204, "DELETE", path+"/unsubscribe", nil, nil) // the administrator leaves; ana owns it
		for _, key := range []string{anaKey, benKey} {
			w.do(key, 200, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)
		}
		state := func() string {
			t.Helper()
			var st struct {
				EqualizationState string `json:"equalizationState"`
			}
			w.do(anaKey, 200, "GET", path+"/checkEqualizationState", nil, &st)
			return st.EqualizationState
		}
		if st := state(); st != "recommended" {
			t.Fatalf("members differ, not equalized: %s", st)
		}
		if d := w.decision(customer, ana); d.masked("SSN") || !slices.Equal(d.Entitlements.Groups, []string{"G1", "G2", "Holder"}) {
			t.Fatalf("before equalization: %+v", d)
		}

		// Equalized: ana acts with what she shares with ben.
		var p projectV1
		w.do(anaKey, 200, "PUT", path, map[string]any{"equalization": true}, &p)
		if !p.IsEqualized || state() != "active" {
			t.Fatalf("equalized: %+v %s", p, state())
		}
		d := w.decision(customer, ana)
		if !d.masked("SSN") || !slices.Equal(d.Entitlements.Groups, []string{"G1"}) || d.ActingUnder == nil ||
			d.ActingUnder.ProjectID != pid || !d.ActingUnder.Equalized ||
			jsonString(d.Entitlements.Attributes) != `{"Dept":["Sales"]}` {
			t.Fatalf("equalized decision: %+v", d)
		}
		users, err := env.App.Governance.Entitlements(t.Context(), []int64{ana})
		if err != nil || !slices.Equal(users[ana].Groups, []string{"G1"}) {
			t.Fatalf("enforced entitlements: %+v %v", users[ana], err)
		}
		// Not acting under the project, ana has her own entitlements back.
		w.do(anaKey, 200, "POST", "/project/current/null", nil, nil)
		if d := w.decision(customer, ana); d.masked("SSN") {
			t.Fatal("outside the project equalization still applies")
		}
		// Asked as if under the project, the decision is limited.
		if d := w.decision(customer, ana, fmt.Sprintf("projectId=%d", pid)); !d.masked("SSN") || !slices.Equal(d.Entitlements.Groups, []string{"G1"}) {
			t.Fatalf("as if under the project: %+v", d)
		}
		w.do(anaKey, 200, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)

		// checkEqualizedAuths: the set, and a set that ben lacks.
		var auths struct {
			ValidSet          bool                      `json:"validSet"`
			UsersMissingAuths map[string]map[string]any `json:"usersMissingAuths"`
		}
		w.do(anaKey, 200, "POST", path+"/checkEqualizedAuths", nil, &auths)
		if !auths.ValidSet || len(auths.UsersMissingAuths) != 0 {
			t.Fatalf("equalized set: %+v", auths)
		}
		w.do(anaKey, 200, "POST", path+"/checkEqualizedAuths", map[string]any{"conditionsObj": map[string]any{"operator": "and",
			"conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"id": g2, "name": "G2"}}}}}, &auths)
		if auths.ValidSet || len(auths.UsersMissingAuths) != 1 || jsonString(auths.UsersMissingAuths["ben@example.com"]["groups"]) != `["G2"]` {
			t.Fatalf("a set ben lacks: %+v", auths)
		}
		_, strangerKey := env.NewUser(t, "stranger@example.com")
		w.do(strangerKey, 403, "POST", path+"/checkEqualizedAuths", nil, nil)

		// Ben joins G2: members share more than the set.
		w.join(g2, "ben@example.com")
		if st := state(); st != "upgrade" {
			t.Fatalf("after ben joined G2: %s", st)
		}
		// Ana leaves G1: she lacks part of the set.
		w.admin(204, "DELETE", fmt.Sprintf("/bim/group/%d/user/%d", g1, anaInG1), nil, nil)
		if st := state(); st != "nonCompliantMembers" {
			t.Fatalf("after ana left G1: %s", st)
		}
		if d := w.decision(customer, ana); len(d.Entitlements.Groups) != 0 || !d.masked("SSN") {
			t.Fatalf("a member lacking the set keeps only what she holds of it: %+v", d)
		}
		// Setting the set explicitly, then turning equalization off.
		w.do(anaKey, 200, "PUT", path, map[string]any{"equalization": map[string]any{"conditions": map[string]any{"operator": "and",
			"conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"name": "G2"}}}}}}, nil)
		if d := w.decision(customer, ana); d.masked("SSN") || !slices.Equal(d.Entitlements.Groups, []string{"G2"}) {
			t.Fatalf("equalized to G2: %+v", d)
		}
		w.do(anaKey, 422, "PUT", path, map[string]any{"equalization": map[string]any{"conditions": map[string]any{"operator": "and",
			"conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"name": "No Such Group"}}}}}}, nil)
		w.do(anaKey, 200, "PUT", path, map[string]any{"equalization": false}, nil)
		if st := state(); st != "recommended" {
			t.Fatalf("off again: %s", st)
		}
		if d := w.decision(customer, ana); !slices.Equal(d.Entitlements.Groups, []string{"G2", "Holder"}) {
			t.Fatalf("not equalized: %+v", d)
		}
		var search struct {
			Count int `json:"count"`
		}
		w.admin(200, "GET", "/project?isEqualized=true", nil, &search)
		if search.Count != 0 {
			t.Fatalf("isEqualized filter: %+v", search)
		}
	})
}

// TestExpirations ends a subscription and a project membership at their
// expiration: the grant and the purposes go, and enforcement is told.
func TestExpirations(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		w.purpose(usePurposes)
		customer := w.sources("exp", "CUSTOMER")["Customer"]
		w.tagColumn(customer, "SSN", "PII.SSN")
		w.policy(maskSSN)
		ana, anaKey := env.NewUser(t, "ana@example.com")
		var mu sync.Mutex
		announced, users := map[int64]bool{}, map[int64]bool{}
		env.App.Governance.Subscribe(func(ids []int64) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				announced[id] = true
			}
		})
		env.App.Governance.SubscribeUsers(func(ids []int64) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				users[id] = true
			}
		})
		until := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		w.admin(200, "POST", fmt.Sprintf("/dataSource/%d/access", customer), map[string]any{"profileId": ana, "state": "subscribed",
			"expiration": until}, nil)
		pid := w.saveV2("name: Brief\nprojectKey: brief\npurposes: [Use Purposes]\n")
		var added struct {
			SubscriptionID int64 `json:"subscriptionId"`
		}
		w.admin(200, "POST", fmt.Sprintf("/project/%d/members", pid), map[string]any{"profileId": ana, "expiration": until}, &added)
		w.do(anaKey, 200, "POST", fmt.Sprintf("/project/%d/members/%d/acknowledge", pid, added.SubscriptionID), nil, nil)
		w.do(anaKey, 200, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)
		d := w.decision(customer, ana)
		if d.Grant == nil || d.masked("SSN") {
			t.Fatalf("before the expiration: %+v", d)
		}
		mu.Lock()
		announced, users = map[int64]bool{}, map[int64]bool{}
		mu.Unlock()
		deadline := time.Now().Add(15 * time.Second)
		for {
			d = w.decision(customer, ana)
			mu.Lock()
			done := announced[customer] && users[ana]
			mu.Unlock()
			if d.Grant == nil && d.masked("SSN") && done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the expiration: %+v, data source announced %v, user announced %v", d, announced[customer], users[ana])
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(d.Entitlements.Purposes) != 0 || w.changes("projectMembership", "user", fmt.Sprint(ana)) == 0 {
			t.Fatalf("an expired membership still gives purposes: %+v", d)
		}
		if f := w.feed(anaKey, nil); !hasType(f, "modelAccessRevoked") {
			t.Fatalf("the member hears of the expiration: %v", f.types())
		}
		w.do(anaKey, 403, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)
	})
}

// TestEqualizationKeepsRestrictions: a contractor who equalizes a project
// of their own to nothing and acts under it keeps the mask every contractor
// gets (an inclusion), in the decision API and in what enforcement reads.
func TestEqualizationKeepsRestrictions(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		customer := w.sources("eqr", "CUSTOMER")["Customer"]
		w.tagColumn(customer, "SSN", "PII.SSN")
		cid, cKey := env.NewUser(t, "carl@example.com")
		w.group("Contractors", "carl@example.com")
		w.policy(`policyKey: mask for contractors
name: Mask For Contractors
type: data
actions:
- rules:
  - type: Masking
    inclusions:
      groups:
      - Contractors
    config:
      fields:
      - type: columnTags
        columnTag: PII.SSN
      maskingConfig:
        type: Hash
circumstances:
- type: columnTags
  columnTag: PII.SSN
`)
		w.grant(customer, cid)
		if d := w.decision(customer, cid); !d.masked("SSN") {
			t.Fatalf("a contractor is masked: %+v", d)
		}
		pid := w.saveV2("name: Escape\nprojectKey: escape\n")
		path := fmt.Sprintf("/project/%d", pid)
		w.admin(200, "POST", path+"/members", map[string]any{"profileId": cid, "state": "owner"}, nil)
		w.admin(200, "PUT", path, map[string]any{"equalization": map[string]any{"setNone": true}}, nil)
		w.do(cKey, 200, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)
		d := w.decision(customer, cid)
		if !d.masked("SSN") || len(d.Entitlements.Groups) != 0 {
			t.Fatalf("under a project equalized to nothing the contractor is still masked: %+v", d)
		}
		users, err := env.App.Governance.Entitlements(t.Context(), []int64{cid})
		if u := users[cid]; err != nil || len(u.Groups) != 0 || u.Own == nil || !slices.Equal(u.Own.Groups, []string{"Contractors"}) {
			t.Fatalf("enforced entitlements: %+v %v", users[cid], err)
		}
	})
}
