package governance_test

import (
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
)

// A tag a policy names, or one below it that a policy names, cannot be
// deleted or renamed: the policy would silently stop covering what it tags.
// The refusal names the policy and changes nothing.
func TestTagsNamedByPoliciesAreKept(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		f.makeTags("PII.SSN", "PII.Email")
		u := f.user("ulla")
		ds := f.dataSource(dsSpec{Name: "people", Columns: []policy.Column{{Name: "ssn", Tags: []string{"PII.SSN"}}}})
		f.call(200, "POST", "/api/v2/policy", "name: Hash SSNs\npolicyKey: hash ssns\ntype: data\nactions:\n- rules:\n  - {type: Masking, config: {fields: [{type: columnTags, columnTag: PII.SSN}], maskingConfig: {type: Hash}}}\n", nil)
		refused := func(method, path string, body any) {
			t.Helper()
			msg := string(f.call(409, method, path, body, nil))
			if !strings.Contains(msg, `PII.SSN`) || !strings.Contains(msg, `policy \"Hash SSNs\"`) {
				t.Errorf("%s %s: %s", method, path, msg)
			}
		}
		refused("DELETE", "/tag/PII.SSN", nil)
		refused("DELETE", "/tag/PII?deleteHierarchy=true", nil)
		refused("POST", "/tag", map[string]any{"rootTag": map[string]any{"name": "PII", "deleteHierarchy": true},
			"tags": []any{map[string]any{"name": "PII.Email"}}})
		var list []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		f.call(200, "GET", "/tag?searchText=PII", nil, &list)
		for _, x := range list {
			if x.Name == "PII" {
				refused("POST", "/tag", map[string]any{"tags": []any{map[string]any{"id": x.ID, "name": "Personal"}}})
			}
		}
		f.call(200, "GET", "/tag?searchText=PII", nil, &list)
		if len(list) != 3 || masked(f.decision(ds, u)) != "ssn=Hash" {
			t.Fatalf("a refused change was written: tags %v, mask %q", list, masked(f.decision(ds, u)))
		}
		// A tag no policy names goes; once the policy is gone, so can the rest.
		f.call(200, "DELETE", "/tag/PII.Email", nil, nil)
		f.call(200, "DELETE", "/api/v2/policy/hash ssns", nil, nil)
		f.call(200, "DELETE", "/tag/PII?deleteHierarchy=true", nil, nil)
	})
}
