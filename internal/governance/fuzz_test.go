package governance

import (
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/policy"
)

func FuzzPurposeName(f *testing.F) {
	for _, s := range []string{"Re-identification Prohibited.CCPA", "A..B", " A", "A.", "<ANY PURPOSE>", "Ä.ß", "a\x00b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidPurposeName(name) != nil {
			return
		}
		for _, seg := range strings.Split(name, ".") {
			if seg == "" || strings.TrimSpace(seg) != seg {
				t.Fatalf("accepted %q with a bad part %q", name, seg)
			}
		}
		if p := parentName(name); p != "" && ValidPurposeName(p) != nil {
			t.Fatalf("the parent %q of valid %q is invalid", p, name)
		}
	})
}

// FuzzPolicyReferences feeds payloads to everything the service reads
// before the engine: the decoders, the reference walker, the body peeks.
func FuzzPolicyReferences(f *testing.F) {
	for _, s := range []string{
		"name: n\npolicyKey: k\ntype: data\nactions:\n- rules:\n  - type: Masking\n    config: {fields: [{type: columnTags, columnTag: A.B}], conditionalPredicate: \"@columnTagged('C') = 'x'\", maskingConfig: {type: Hash}}\n    exceptions: {groups: [G], purposes: [P]}\n",
		`{"name":"n","policyKey":"k","type":"subscription","actions":{"type":"entitlements","advanced":"@isInGroups('a','b') AND @hasPurpose('p')"}}`,
		`{"type":"subscription","name":"w","actions":[{"type":"subscription","subscriptionType":"policy","accessGrant":"WRITE","exceptions":{"operator":"and","conditions":[{"type":"authorizations","authorization":{"auth":"has","value":"write"}}]}}],"staged":false}`,
		`{"jsonPolicies":[{"type":"masking","rules":[{"type":"masking","config":{"fields":["a"],"maskingConfig":{"type":"Consistent Value","metadata":{}}}}]},{"type":"subscription","subscriptionType":"manual"}]}`,
		`{"policyId": 3}`, `[]`, `{`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = bodyHas(body, "policyKey")
		_ = PolicyReference(body)
		_, _ = ParseFacets(body)
		pathOf, _ := jsonPoliciesPaths(body)
		_ = pathOf(3)
		if p, err := DecodeAnyPolicy(body); err == nil {
			for _, d := range []dialect{dialectV2, dialectV1} {
				for _, r := range policyRefs(p, d) {
					if r.field == "" {
						t.Fatalf("a reference without a field: %+v", r)
					}
				}
			}
		}
		if lp, err := policy.DecodeLocalV1(body); err == nil {
			for _, r := range localRefs(lp, pathOf, "jsonPolicies") {
				if r.field == "" {
					t.Fatalf("a local reference without a field: %+v", r)
				}
			}
		}
	})
}
