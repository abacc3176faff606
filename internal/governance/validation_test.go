package governance_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
)

// errorBody is the API's error answer.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Validation []struct {
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"validation"`
}

// refused sends a request that must fail with status and returns the
// fields the error names.
func (f *fixture) refused(status int, method, path string, body any) []string {
	f.t.Helper()
	var e errorBody
	f.call(status, method, path, body, &e)
	var fields []string
	for _, v := range e.Validation {
		if v.Message == "" || v.Code == "" {
			f.t.Errorf("field %s has no code or message", v.Field)
		}
		fields = append(fields, v.Field)
	}
	sort.Strings(fields)
	return fields
}

// unchanged asserts that the policies and the change log are as they were.
func (f *fixture) unchanged(what string, policies int, lastChange int64) {
	f.t.Helper()
	var list []any
	f.call(200, "GET", "/api/v2/policy", nil, &list)
	if len(list) != policies {
		f.t.Errorf("%s: %d policies, want %d", what, len(list), policies)
	}
	last, err := f.app.DB.LastChangeID(f.ctx)
	f.must(err)
	if last != lastChange {
		f.t.Errorf("%s: the change log moved from %d to %d", what, lastChange, last)
	}
}

func TestInvalidPoliciesChangeNothing(t *testing.T) {
	data, err := os.ReadFile("../policy/testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string   `json:"name"`
		Payload string   `json:"payload"`
		Fields  []string `json:"fields"`
		Status  int      `json:"status"`
	}
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		f.makeTags("Discovered.Passport", "Discovered.Country")
		f.group("Employee")
		f.user("owner@example.com")
		f.call(200, "POST", "/api/v2/policy", "name: Existing\npolicyKey: existing\ntype: subscription\nactions: {type: anyone}\n", nil)
		last, err := f.app.DB.LastChangeID(f.ctx)
		f.must(err)
		// The engine's refusals, through the V2 endpoint.
		for _, c := range cases {
			want := c.Status
			if want == 0 {
				want = 422
			}
			got := f.refused(want, "POST", "/api/v2/policy", c.Payload)
			wantFields := append([]string(nil), c.Fields...)
			sort.Strings(wantFields)
			for _, w := range wantFields {
				if !contains(got, w) {
					t.Errorf("%s: field %s not named (got %v)", c.Name, w, got)
				}
			}
			f.unchanged(c.Name, 1, last)
		}
		// References that must exist in the store, with the field they are in.
		refs := []struct {
			name    string
			payload string
			fields  []string
		}{
			{"unknown tags and group", `
name: n
policyKey: k
type: data
circumstances: [{type: columnTags, columnTag: Discovered.Nope}]
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Discovered.Passport}, {type: columnTags, columnTag: Nope.Either}]
      conditionalPredicate: "@columnTagged('Missing.Tag') = 'x'"
      maskingConfig: {type: Hash}
    exceptions: {groups: [Employee, Ghosts]}
`, []string{"actions[0].rules[0].config.conditionalPredicate", "actions[0].rules[0].config.fields[1].columnTag",
				"actions[0].rules[0].exceptions.groups[1]", "circumstances[0].columnTag"}},
			{"unknown purposes", `
name: n
policyKey: k
type: data
actions:
- rules:
  - {type: Purpose Restriction, config: {purposes: ["<ANY PURPOSE>", "Not A Purpose"]}}
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@isUsingPurpose('Nor This') OR @isInGroups('Employee', 'Nobody')"}
`, []string{"actions[0].rules[0].config.purposes[1]", "actions[0].rules[1].config.predicate"}},
			{"unknown owners and advanced groups", `
name: n
policyKey: k
type: subscription
ownerRestrictions: {users: [{iamid: bim, username: owner@example.com}, {iamid: bim, username: ghost@example.com}], groups: [Nobody]}
actions: {type: entitlements, advanced: "@isInGroups('Employee') AND @hasPurpose('Unknown Purpose')"}
`, []string{"actions.advanced", "ownerRestrictions.groups[0]", "ownerRestrictions.users[1]"}},
			{"an approval needs OWNER or a permission", `
name: n
policyKey: k
type: subscription
actions: {type: approval, approvals: [{requiredPermission: OWNER}, {requiredPermission: GOVERNOR}]}
`, []string{"actions.approvals[1].requiredPermission"}},
		}
		for _, r := range refs {
			got := f.refused(422, "POST", "/api/v2/policy", r.payload)
			sort.Strings(r.fields)
			if strings.Join(uniq(got), ",") != strings.Join(r.fields, ",") {
				t.Errorf("%s: fields %v, want %v", r.name, uniq(got), r.fields)
			}
			f.unchanged(r.name, 1, last)
		}
		// The same through V1, with V1 paths.
		got := f.refused(422, "POST", "/policy/global", map[string]any{"name": "v1", "type": "data", "staged": false,
			"actions": []any{map[string]any{"type": "masking", "rules": []any{map[string]any{"type": "masking",
				"exceptions": map[string]any{"operator": "or", "conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"name": "Ghosts"}}}},
				"config": map[string]any{"fields": []any{map[string]any{"name": "Ghost.Tag"}},
					"maskingConfig": map[string]any{"type": "Consistent Value", "metadata": map[string]any{}}}}}}},
			"circumstances": []any{map[string]any{"operator": "or", "type": "tags", "tag": map[string]any{"name": "Ghost.Tag"}}}})
		want := []string{"actions[0].rules[0].config.fields[0].name", "actions[0].rules[0].exceptions", "circumstances[0].tag.name"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("V1 fields %v, want %v", got, want)
		}
		f.unchanged("V1", 1, last)
		// Unknown masking and rule types through V1.
		got = f.refused(422, "POST", "/policy/global", map[string]any{"name": "v1", "type": "data",
			"actions": []any{map[string]any{"type": "masking", "rules": []any{
				map[string]any{"type": "scramble", "config": map[string]any{}},
				map[string]any{"type": "masking", "config": map[string]any{"fields": []any{map[string]any{"name": "Discovered"}},
					"maskingConfig": map[string]any{"type": "Shuffle"}}}}}}})
		if len(got) != 2 {
			t.Errorf("V1 unknown types: fields %v", got)
		}
		f.unchanged("V1 types", 1, last)
		// An update that fails leaves the policy as it was.
		var before []policy.V1Policy
		f.call(200, "GET", "/policy/global?nameOnly=false", nil, &before)
		f.refused(422, "PUT", fmt.Sprintf("/policy/global/%d", before[0].ID), map[string]any{"name": "Existing", "type": "subscription",
			"actions": []any{map[string]any{"type": "subscription", "subscriptionType": "policy",
				"exceptions": map[string]any{"operator": "or", "conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"name": "Ghosts"}}}}}}})
		var after policy.V1Policy
		f.call(200, "GET", fmt.Sprintf("/policy/global/%d", before[0].ID), nil, &after)
		if mustJSON(t, after) != mustJSON(t, before[0]) {
			t.Errorf("a refused update changed the policy:\n%s\n%s", mustJSON(t, after), mustJSON(t, before[0]))
		}
		f.unchanged("refused update", 1, last)
		// Local policies: unknown columns, groups and purposes are named.
		ds := f.dataSource(dsSpec{Columns: []policy.Column{{Name: "email"}, {Name: "age"}}})
		f.sync()
		last, err = f.app.DB.LastChangeID(f.ctx)
		f.must(err)
		got = f.refused(422, "POST", fmt.Sprintf("/policy/handler/%d", ds), map[string]any{"jsonPolicies": []any{
			map[string]any{"type": "masking", "global": map[string]any{"id": 1}, "rules": []any{}},
			map[string]any{"type": "masking", "rules": []any{map[string]any{"type": "masking",
				"exceptions": map[string]any{"operator": "or", "conditions": []any{map[string]any{"type": "groups", "group": map[string]any{"name": "Ghosts"}}}},
				"config":     map[string]any{"fields": []any{"email", "phone"}, "maskingConfig": map[string]any{"type": "Consistent Value", "metadata": map[string]any{}}}}}},
			map[string]any{"type": "prerequisite", "rules": []any{map[string]any{"type": "prerequisite",
				"config": map[string]any{"qualifications": map[string]any{"operator": "and", "conditions": []any{map[string]any{"type": "purposes", "value": "Unheard Of"}}}}}}},
		}})
		want = []string{"jsonPolicies[1].rules[0].config.fields[1]", "jsonPolicies[1].rules[0].exceptions", "jsonPolicies[2].rules[0].config.qualifications"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("local policy fields %v, want %v", got, want)
		}
		var h struct {
			ID *int64 `json:"id"`
		}
		f.call(200, "GET", fmt.Sprintf("/policy/handler/%d", ds), nil, &h)
		if h.ID != nil {
			t.Errorf("a refused local policy was saved")
		}
		f.unchanged("local", 1, last)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func uniq(list []string) []string {
	var out []string
	for _, x := range list {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}
