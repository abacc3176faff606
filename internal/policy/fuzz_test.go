package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// seedPolicies returns every policy payload of the case files, as JSON and as YAML.
func seedPolicies(f *testing.F) [][]byte {
	files, _ := filepath.Glob("testdata/cases/*.yaml")
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var cf caseFile
		if err := yaml.Unmarshal(data, &cf); err != nil {
			f.Fatal(err)
		}
		for _, c := range cf.Cases {
			for _, p := range c.Policies {
				if len(p.Policy) > 0 {
					y, _ := yaml.JSONToYAML(p.Policy)
					out = append(out, p.Policy, y)
				}
			}
		}
	}
	return out
}

var fuzzSource = DataSource{ID: 1, Name: "fuzz", Server: "h:5432/db", CreatedAt: time.Date(2020, 12, 15, 0, 0, 0, 0, time.UTC),
	Tags: []string{"Discovered.PCI"}, EventTimeColumn: "t", HighCardinalityColumn: "ssn",
	Columns: []Column{{Name: "ssn", Tags: []string{"Discovered.Entity.Social Security Number"}},
		{Name: "country", Tags: []string{"Discovered.Country"}}, {Name: "t"}, {Name: "note"}}}

func FuzzDecodeV2(f *testing.F) {
	for _, s := range seedPolicies(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeV2(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := DecodeV2(out)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip differs:\n%s\n%+v\n%+v", out, p, again)
		}
		if _, err := DecodeV1(mustJSON(t, p.ToV1())); err != nil {
			t.Fatalf("V1 form does not decode: %v", err)
		}
		ix := NewIndex()
		if _, err := ix.UpsertPolicy(1, p); err != nil {
			t.Fatalf("valid policy refused by the index: %v", err)
		}
		if _, err := ix.UpsertDataSource(fuzzSource); err != nil {
			t.Fatal(err)
		}
		plan, _ := ix.Plan(1)
		Evaluate(plan, NewEntitlements(User{Username: "u", Groups: []string{"Employee"}, Purposes: []string{"P.Q"}}))
		p.References()
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzParseAdvanced(f *testing.F) {
	for _, s := range []string{
		"@isInGroups('Engineers', 'Founders'') AND @hasAttribute('Auth1', 'Super Secret')",
		"@isInGroups('a') OR NOT (@hasPurpose('x.y') AND @hasAttribute('k', 'v'))",
		"NOT NOT @isUsingPurpose('<ANY PURPOSE>')",
		"TRUE AND @isInGroups('x''y')",
	} {
		f.Add(s)
	}
	e := NewEntitlements(User{Username: "u", Groups: []string{"a", "Engineers"}, Attributes: map[string][]string{"k": {"v"}}, Purposes: []string{"x.y.z"}})
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseAdvanced(s)
		if err != nil {
			return
		}
		WalkCond(c, func(c Cond) {
			switch c.(type) {
			case True, False, InGroup, HasAttribute, ActingUnderPurpose, AnyPurpose, And, Or, Not:
			default:
				t.Fatalf("unexpected condition %T", c)
			}
		})
		e.Qualifies(c)
		e.Applies(c)
		_ = c.String()
	})
}

// FuzzDecodeV1 feeds the V1 readers (global policy objects, jsonPolicies and
// the rule-object form): they refuse with an error, never panic, and what
// they accept is valid and loads into an index.
func FuzzDecodeV1(f *testing.F) {
	for _, s := range seedPolicies(f) {
		if p, err := DecodeV2(s); err == nil {
			b, _ := json.Marshal(p.ToV1())
			f.Add(b)
			f.Add([]byte(`{"jsonPolicies": [` + string(mustJSONF(f, p.ToV1().Actions[0])) + `]}`))
		}
	}
	f.Add([]byte(`{"jsonRules": [{"type": "visibility", "operator": "and", "conditions": [{"type": "groups", "field": "ssn", "group": {"iam": "bim"}}]},
		{"type": "masking", "fields": ["ssn"], "operator": "or", "conditions": [{"type": "groups", "group": {"name": "admins"}}]},
		{"type": "additional", "name": "minimization", "conditions": {"type": "groups", "group": {"name": "admins"}}}],
		"policyHandler": {"maskingConfiguration": [{"name": "ssn", "type": "Consistent Value", "metadata": {"constant": "x"}}],
		"additionalFilters": {"minimization": {"percent": 10, "hashPhrase": "ssn"}, "time": 60}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := DecodeV1(data); err == nil {
			if err := p.Validate(); err != nil {
				t.Fatalf("accepted an invalid policy: %v", err)
			}
			if _, err := NewIndex().UpsertPolicy(1, p); err != nil {
				t.Fatalf("valid policy refused by the index: %v", err)
			}
		}
		for _, decode := range []func([]byte) (*LocalPolicy, error){DecodeLocalV1, DecodeHandlerV1} {
			lp, err := decode(data)
			if err != nil {
				continue
			}
			ds := fuzzSource
			ds.Local = lp
			if _, err := NewIndex().UpsertDataSource(ds); err != nil {
				t.Fatalf("valid local policy refused by the index: %v", err)
			}
		}
	})
}

func mustJSONF(f *testing.F, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
