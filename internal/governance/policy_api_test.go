package governance_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
)

const maskPassports = `name: Mask Passports
policyKey: mask passports
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Discovered.Passport}]
      maskingConfig: {type: Hash}
    exceptions: {groups: [HR]}
circumstances:
- {type: columnTags, columnTag: Discovered.Passport}
`

type saveJSON struct {
	DryRun   bool   `json:"dryRun"`
	Creating bool   `json:"creating"`
	Updating bool   `json:"updating"`
	PolicyID *int64 `json:"policyId"`
}

func TestPolicyEndpoints(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		f.makeTags("Discovered.Passport", "Discovered.Person Name")
		f.group("HR")
		people := f.dataSource(dsSpec{Name: "people", Columns: []policy.Column{{Name: "passport", Tags: []string{"Discovered.Passport"}},
			{Name: "name", Tags: []string{"Discovered.Person Name"}}, {Name: "notes"}}})
		f.dataSource(dsSpec{Name: "other", Columns: []policy.Column{{Name: "a"}}})

		// V2: a dry run creates nothing; then create, update, list, get.
		var res saveJSON
		f.call(200, "POST", "/api/v2/policy?dryRun=true", maskPassports, &res)
		if !res.DryRun || !res.Creating || res.PolicyID != nil {
			t.Fatalf("dry run: %+v", res)
		}
		var list []map[string]any
		f.call(200, "GET", "/api/v2/policy", nil, &list)
		if len(list) != 0 {
			t.Fatalf("a dry run saved: %v", list)
		}
		f.call(200, "POST", "/api/v2/policy", maskPassports, &res)
		if !res.Creating || res.Updating || res.PolicyID == nil {
			t.Fatalf("create: %+v", res)
		}
		id := *res.PolicyID
		f.call(200, "POST", "/api/v2/policy?dryRun=true&reCertify=true", maskPassports, &res)
		if !res.DryRun || res.Creating || !res.Updating || *res.PolicyID != id {
			t.Fatalf("dry run update: %+v", res)
		}
		// reCertify marks a changed certification for certifying again.
		certified := maskPassports + "certification: {text: Certified for use, label: Certified}\n"
		f.call(200, "POST", "/api/v2/policy?reCertify=true", certified, &res)
		var v1 policy.V1Policy
		f.call(200, "GET", fmt.Sprintf("/policy/global/%d", id), nil, &v1)
		if !strings.Contains(string(v1.Metadata), "recertificationRequiredAt") || !strings.Contains(string(v1.Certification), "Certified for use") {
			t.Fatalf("recertification not recorded: %s / %s", v1.Metadata, v1.Certification)
		}
		if v1.CreatedByName != "Administrator" || v1.CreatedAt == nil || v1.PolicyKey != "mask passports" || v1.ID != id {
			t.Fatalf("V1 metadata: %+v", v1)
		}
		f.call(200, "POST", "/api/v2/policy", "name: Anyone\npolicyKey: anyone\ntype: subscription\nactions: {type: anyone, automaticSubscription: true}\n", nil)
		f.call(200, "GET", "/api/v2/policy", nil, &list)
		if len(list) != 2 || list[0]["policyKey"] != "anyone" || list[1]["policyKey"] != "mask passports" {
			t.Fatalf("list is not sorted by key: %v", list)
		}
		got := f.call(200, "GET", "/api/v2/policy/"+url.PathEscape("mask passports"), nil, nil)
		if p, err := policy.DecodeV2(got); err != nil || p.Name != "Mask Passports" {
			t.Fatalf("get: %v %s", err, got)
		}
		f.call(404, "GET", "/api/v2/policy/nope", nil, nil)

		// appliedTo and the plan.
		var applied struct {
			Count int     `json:"count"`
			IDs   []int64 `json:"dataSourceIds"`
		}
		f.call(200, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", id), nil, &applied)
		if applied.Count != 1 || applied.IDs[0] != people {
			t.Fatalf("appliedTo: %+v", applied)
		}

		// Rename, then delete with and without dryRun.
		var renamed map[string]string
		f.call(200, "POST", "/api/v2/policy/"+url.PathEscape("mask passports")+"/rename", map[string]any{"newPolicyKey": "Passports/Masked"}, &renamed)
		if renamed["oldPolicyKey"] != "mask passports" || renamed["newPolicyKey"] != "Passports/Masked" {
			t.Fatalf("rename: %v", renamed)
		}
		f.refused(422, "POST", "/api/v2/policy/anyone/rename", map[string]any{"newPolicyKey": "Passports/Masked"})
		f.call(200, "GET", "/api/v2/policy/Passports%2FMasked", nil, nil)
		var deleted map[string]any
		f.call(200, "DELETE", "/api/v2/policy/Passports%2FMasked?dryRun=true", nil, &deleted)
		if deleted["dryRun"] != true || deleted["deleting"] != "Passports/Masked" {
			t.Fatalf("delete dry run: %v", deleted)
		}
		f.call(200, "GET", "/api/v2/policy/Passports%2FMasked", nil, nil)
		f.call(200, "DELETE", "/api/v2/policy/Passports%2FMasked", nil, &deleted)
		f.call(404, "GET", "/api/v2/policy/Passports%2FMasked", nil, nil)
		f.call(404, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", id), nil, nil)

		// V1: create (key from the name), list, update, delete answering the policy.
		var created policy.V1Policy
		f.call(200, "POST", "/policy/global", map[string]any{"type": "subscription", "name": "Data owners grant specific users write access",
			"template": true, "staged": false,
			"actions":       []any{map[string]any{"type": "subscription", "subscriptionType": "manual", "accessGrant": "WRITE"}},
			"circumstances": []any{map[string]any{"type": "columnTags", "columnTag": map[string]any{"name": "Discovered.Person Name", "displayName": "Discovered . Person Name", "hasLeafNodes": false}}},
		}, &created)
		if created.PolicyKey != "Data owners grant specific users write access" || !created.Template || created.Deleted || created.CreatedBy != 1 {
			t.Fatalf("V1 create: %+v", created)
		}
		act := created.Actions[0].(map[string]any)
		if act["accessGrant"] != "WRITE" || act["subscriptionType"] != "manual" || act["description"] != nil ||
			act["allowDiscovery"] != false || act["shareResponsibility"] != false || act["automaticSubscription"] != false {
			t.Fatalf("V1 write policy action: %v", act)
		}
		f.refused(422, "POST", "/policy/global", map[string]any{"type": "subscription", "name": "Data owners grant specific users write access",
			"actions": []any{map[string]any{"type": "subscription", "subscriptionType": "manual"}}})
		var names []map[string]any
		f.call(200, "GET", "/policy/global?nameOnly=true&sortField=name&sortOrder=asc", nil, &names)
		if len(names) != 2 || names[0]["name"] != "Anyone" || names[1]["type"] != "subscription" {
			t.Fatalf("nameOnly: %v", names)
		}
		// The list is a plain array of policies, as the reference answers it.
		var page []policy.V1Policy
		f.call(200, "GET", "/policy/global?templates=true", nil, &page)
		if len(page) != 1 || page[0].ID != created.ID {
			t.Fatalf("templates: %+v", page)
		}
		f.call(200, "GET", "/policy/global?searchText=ANYONE&size=1", nil, &page)
		if len(page) != 1 || page[0].Name != "Anyone" {
			t.Fatalf("searchText: %+v", page)
		}
		var updated policy.V1Policy
		f.call(200, "PUT", fmt.Sprintf("/policy/global/%d", created.ID), map[string]any{"type": "subscription", "name": "Manual global write policy",
			"template": true, "staged": false,
			"actions": []any{map[string]any{"type": "subscription", "subscriptionType": "manual", "accessGrant": "WRITE",
				"description": "This updated policy only applies to data sources tagged Discovered.Passport."}},
			"circumstances": []any{map[string]any{"operator": "or", "type": "columnTags", "columnTag": map[string]any{"name": "Discovered.Passport"}}},
		}, &updated)
		if updated.PolicyKey != created.PolicyKey || updated.Name != "Manual global write policy" || updated.ID != created.ID {
			t.Fatalf("V1 update keeps the key: %+v", updated)
		}
		f.call(200, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", created.ID), nil, &applied)
		if applied.Count != 1 || applied.IDs[0] != people {
			t.Fatalf("updated circumstances: %+v", applied)
		}
		var gone policy.V1Policy
		f.call(200, "DELETE", fmt.Sprintf("/policy/global/%d", created.ID), nil, &gone)
		if !gone.Deleted || gone.Name != "Manual global write policy" {
			t.Fatalf("V1 delete answer: %+v", gone)
		}
		f.call(404, "GET", fmt.Sprintf("/policy/global/%d", created.ID), nil, nil)
		f.call(404, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", created.ID), nil, nil)

		// Only governors change policies.
		_, key := env.NewUser(t, "reader@example.com")
		env.Must(t, 403, key, "POST", "/api/v2/policy", maskPassports)
		env.Must(t, 403, key, "POST", "/policy/global", map[string]any{"name": "x", "type": "data"})
		env.Must(t, 200, key, "GET", "/api/v2/policy", nil)
	})
}

func TestLocalPoliciesAndOwnerApplication(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		ownerID, ownerKey := env.NewUser(t, "owner@example.com")
		f.users["owner@example.com"] = ownerID
		_, strangerKey := env.NewUser(t, "stranger@example.com")
		f.group("admins")
		ds := f.dataSource(dsSpec{Name: "accounts", OwnerUsers: []string{"owner@example.com"},
			Columns: []policy.Column{{Name: "email", Tags: []string{"PII.Email"}}, {Name: "amount", Type: "numeric"}}})
		// A global policy masks email too; the local one never displaces
		// it: both stay in force, the global mask first.
		f.call(200, "POST", "/api/v2/policy", "name: Mask PII\npolicyKey: mask pii\ntype: data\nactions:\n- rules:\n  - type: Masking\n    config: {fields: [{type: columnTags, columnTag: PII}], maskingConfig: {type: \"Null\"}}\n", nil)
		local := map[string]any{"jsonPolicies": []any{
			map[string]any{"type": "masking", "rules": []any{map[string]any{"type": "masking", "exceptions": nil,
				"config": map[string]any{"fields": []any{"email"}, "maskingConfig": map[string]any{"type": "Consistent Value", "metadata": map[string]any{}}}}}},
		}}
		env.Must(t, 403, strangerKey, "POST", fmt.Sprintf("/policy/handler/%d", ds), local)
		first := env.Must(t, 200, ownerKey, "POST", fmt.Sprintf("/policy/handler/%d", ds), local).Map(t)
		if first["dataSourceId"].(float64) != float64(ds) || first["id"] == nil {
			t.Fatalf("handler: %v", first)
		}
		var entries []map[string]any
		f.call(200, "GET", fmt.Sprintf("/policy/dataSourcePolicies/%d", ds), nil, &entries)
		if len(entries) != 2 || entries[0]["global"] != nil {
			t.Fatalf("entries: %v", entries)
		}
		g := entries[1]["global"].(map[string]any)
		if g["conflict"] != nil || g["disabled"] != false || g["policyKey"] != "mask pii" {
			t.Fatalf("global entry: %v", g)
		}
		f.call(200, "GET", fmt.Sprintf("/policy/dataSourcePolicies/%d?excludeGlobal=true", ds), nil, &entries)
		if len(entries) != 1 {
			t.Fatalf("excludeGlobal: %v", entries)
		}
		// A second version, by rule objects; the diff compares them.
		env.Must(t, 200, ownerKey, "PUT", "/policy/handler", map[string]any{"dataSourceId": ds, "jsonRules": []any{
			map[string]any{"type": "masking", "fields": []any{"email", "amount"}, "operator": "or",
				"conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"name": "admins"}}}}}})
		var diff struct {
			Current    []map[string]any `json:"current"`
			Previous   []map[string]any `json:"previous"`
			HasChanges bool             `json:"hasChanges"`
		}
		f.call(200, "GET", fmt.Sprintf("/policy/diff/%d", ds), nil, &diff)
		if !diff.HasChanges || len(diff.Current) != 1 || len(diff.Previous) != 1 ||
			!strings.Contains(mustJSON(t, diff.Current), "amount") || strings.Contains(mustJSON(t, diff.Previous), "amount") {
			t.Fatalf("diff: %+v", diff)
		}
		prev := int64(first["id"].(float64))
		f.call(200, "GET", fmt.Sprintf("/policy/diff/%d?previousHandlerId=%d&currentHandlerId=%d", ds, prev, prev), nil, &diff)
		if diff.HasChanges {
			t.Fatalf("a version differs from itself")
		}
		f.call(404, "GET", fmt.Sprintf("/policy/diff/%d?previousHandlerId=99999", ds), nil, nil)
		var h map[string]any
		f.call(200, "GET", fmt.Sprintf("/policy/handler/%d", ds), nil, &h)
		if rules, _ := h["rules"].(string); !strings.Contains(rules, `mask "amount"`) || !strings.Contains(rules, `inGroup("admins")`) {
			t.Fatalf("handler rules: %v", h["rules"])
		}
		// The global mask keeps email (NULL, whatever the owner wrote);
		// the local policy adds amount.
		uid := f.user("analyst")
		var plan planJSON
		f.call(200, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, uid), nil, &plan)
		if len(plan.Columns) != 2 || plan.Columns[0].Column != "email" || plan.Columns[0].Masking.Type != policy.MaskNull ||
			plan.Columns[1].Column != "amount" || plan.Columns[1].Masking.Type != policy.MaskHash {
			t.Fatalf("decision after the local policy: %+v", plan)
		}

		// A policy with circumstances null applies only where owners apply it.
		var res saveJSON
		f.call(200, "POST", "/api/v2/policy", "name: On request\npolicyKey: on request\ntype: data\ncircumstances:\nactions:\n- rules:\n  - {type: Minimization, config: {percent: 10}}\n", &res)
		var applied struct {
			Count int `json:"count"`
		}
		f.call(200, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", *res.PolicyID), nil, &applied)
		if applied.Count != 0 {
			t.Fatalf("applied before the owner asked: %d", applied.Count)
		}
		body := map[string]any{"policyId": *res.PolicyID, "dataSourceId": ds, "merged": false}
		env.Must(t, 403, strangerKey, "POST", "/policy/global/applyPolicy", body)
		env.Must(t, 204, ownerKey, "POST", "/policy/global/applyPolicy", body)
		f.call(200, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", *res.PolicyID), nil, &applied)
		if applied.Count != 1 {
			t.Fatalf("not applied: %d", applied.Count)
		}
		var mask saveJSON
		f.call(200, "POST", "/api/v2/policy", "name: Auto\npolicyKey: auto\ntype: data\nactions:\n- rules:\n  - {type: Minimization, config: {percent: 10}}\n", &mask)
		fields := f.refused(422, "POST", "/policy/global/applyPolicy", map[string]any{"policyId": *mask.PolicyID, "dataSourceId": ds})
		if strings.Join(fields, ",") != "policyId" {
			t.Fatalf("applying a policy with circumstances: %v", fields)
		}
		fields = f.refused(422, "POST", "/policy/global/applyPolicy", []any{map[string]any{"policyId": *res.PolicyID}})
		if strings.Join(fields, ",") != "[0].dataSourceId" {
			t.Fatalf("missing dataSourceId: %v", fields)
		}
	})
}

func TestPolicySearch(t *testing.T) {
	f := newFixture(t, servertest.SQLite)
	f.group("HR")
	f.user("alice")
	f.join("HR", "alice")
	f.user("bob")
	people := f.dataSource(dsSpec{Name: "people", Columns: []policy.Column{{Name: "passport", Tags: []string{"Discovered.Passport"}}, {Name: "x"}}})
	f.dataSource(dsSpec{Name: "plain", Columns: []policy.Column{{Name: "x"}}})
	f.call(200, "POST", "/api/v2/policy", maskPassports, nil)
	f.call(200, "POST", "/api/v2/policy", "name: Staged Masking\npolicyKey: staged\ntype: data\nstaged: true\nactions:\n- rules:\n  - {type: Masking, config: {fields: [{type: columnTags, columnTag: Discovered.Passport}], maskingConfig: {type: Hash}}}\n", nil)
	f.call(200, "POST", "/api/v2/policy", "name: Employees\npolicyKey: employees\ntype: subscription\nactions: {type: entitlements, entitlements: {groups: [HR]}, automaticSubscription: true}\n", nil)
	f.call(200, "POST", fmt.Sprintf("/policy/handler/%d", people), map[string]any{"jsonPolicies": []any{map[string]any{"type": "minimization",
		"rules": []any{map[string]any{"type": "minimization", "config": map[string]any{"percent": 10}}}}}}, nil)

	type hits struct {
		Count int `json:"count"`
		Hits  []struct {
			Name           string              `json:"name"`
			Scope          string              `json:"scope"`
			State          string              `json:"state"`
			IsNotApplied   bool                `json:"isNotApplied"`
			GlobalPolicyID *int64              `json:"globalPolicyId"`
			DataSourceID   *int64              `json:"dataSourceId"`
			DetailLabels   map[string][]string `json:"detailLabels"`
			EnforcedOn     struct {
				Count int `json:"count"`
			} `json:"enforcedOn"`
		} `json:"hits"`
	}
	var h hits
	f.call(200, "POST", "/policy/search", nil, &h)
	if h.Count != 4 {
		t.Fatalf("all policies: %+v", h)
	}
	f.call(200, "POST", "/policy/search?scope=global&searchText=mask&sortField=name", nil, &h)
	if h.Count != 2 || h.Hits[0].Name != "Mask Passports" || h.Hits[1].State != "staged" || !h.Hits[1].IsNotApplied ||
		h.Hits[0].EnforcedOn.Count != 1 || h.Hits[0].DetailLabels["ruleType"][0] != "masking" {
		t.Fatalf("search mask: %+v", h)
	}
	f.call(200, "POST", "/policy/search?scope=local", nil, &h)
	if h.Count != 1 || h.Hits[0].Scope != "local" || *h.Hits[0].DataSourceID != people {
		t.Fatalf("local: %+v", h)
	}
	f.call(200, "POST", "/policy/search", map[string]any{"groups": []string{"HR"}}, &h)
	if h.Count != 2 {
		t.Fatalf("facet groups: %+v", h)
	}
	var count map[string]int
	f.call(200, "POST", "/policy/search?type=subscription&countOnly=true", nil, &count)
	if count["count"] != 1 || len(count) != 1 {
		t.Fatalf("countOnly: %v", count)
	}
	// similarPolicies: like a masking policy on passports.
	f.call(200, "POST", "/policy/search?mode=similarPolicies", maskPassports, &h)
	if h.Count != 2 {
		t.Fatalf("similar: %+v", h)
	}
	// impactedDataSources and impactedUsers of an unsaved policy.
	var ds struct {
		Count int `json:"count"`
		Hits  []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"hits"`
	}
	f.call(200, "POST", "/policy/search?mode=impactedDataSources", maskPassports, &ds)
	if ds.Count != 1 || ds.Hits[0].ID != people || ds.Hits[0].Name != "people" {
		t.Fatalf("impactedDataSources: %+v", ds)
	}
	var users struct {
		Count int `json:"count"`
		Hits  []struct {
			UserID string `json:"userid"`
		} `json:"hits"`
	}
	f.call(200, "POST", "/policy/search?mode=impactedUsers", maskPassports, &users)
	names := []string{}
	for _, u := range users.Hits {
		names = append(names, u.UserID)
	}
	if strings.Join(names, ",") != "admin,bob" {
		t.Fatalf("impactedUsers of a mask excepting HR: %v", names)
	}
	f.call(200, "POST", "/policy/search?mode=impactedUsers", "name: Employees\npolicyKey: employees2\ntype: subscription\nactions: {type: entitlements, entitlements: {groups: [HR]}}\n", &users)
	if users.Count != 1 || users.Hits[0].UserID != "alice" {
		t.Fatalf("impactedUsers of an entitlements policy: %+v", users)
	}
	var byID struct {
		Count int `json:"count"`
	}
	var list []map[string]any
	f.call(200, "GET", "/policy/global?nameOnly=true", nil, &list)
	for _, p := range list {
		if p["name"] == "Employees" {
			f.call(200, "POST", "/policy/search?mode=impactedUsers", map[string]any{"policyId": p["id"]}, &byID)
			if byID.Count != 1 {
				t.Fatalf("impactedUsers of a stored policy: %+v", byID)
			}
		}
	}
	f.call(422, "POST", "/policy/search?mode=impactedUsers", nil, nil)
	f.call(400, "POST", "/policy/search?mode=everything", nil, nil)
}
