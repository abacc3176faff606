package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReferences(t *testing.T) {
	p, err := DecodeV2([]byte(`
policyKey: refs
name: Refs
type: data
ownerRestrictions: {users: [{iamid: bim, username: ann}], groups: [owners]}
circumstances: [{type: columnTags, columnTag: PII.Email}, {type: tags, tag: Region.EU}]
circumstanceOperator: any
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII}]
      conditionalPredicate: "@columnTagged('Geo.Country') = 'US' AND @hasAttribute('clearance', 'high')"
      maskingConfig: {type: Hash}
    exceptions: {groups: [HR], purposes: [Audit.Internal, "<ANY PURPOSE>"], attributes: [{name: dept, value: sales}]}
  - type: Row Restriction By User Entitlements
    config: {matches: {type: attribute, attribute: region, tag: Geo.Region}}
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@isInGroups('Admins', 'Ops') OR @isUsingPurpose('Research') OR @attributeValuesContains('site', site)"}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := p.References()
	want := References{
		Groups:     []string{"Admins", "HR", "Ops", "owners"},
		Attributes: []Attribute{{"clearance", "high"}, {"dept", "sales"}, {Name: "region"}, {Name: "site"}},
		Purposes:   []string{"Audit.Internal", "Research"},
		Tags:       []string{"Geo.Country", "Geo.Region", "PII", "PII.Email", "Region.EU"},
		Users:      []UserRef{{IAMID: "bim", Username: "ann"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("References:\n got %+v\nwant %+v", got, want)
	}
	sub, err := DecodeV2([]byte(`{"policyKey":"s","name":"s","type":"subscription","actions":{"type":"entitlements","advanced":"@isInGroups('A') AND NOT @hasPurpose('P.Q')"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := sub.References(); !reflect.DeepEqual(r.Groups, []string{"A"}) || !reflect.DeepEqual(r.Purposes, []string{"P.Q"}) {
		t.Errorf("subscription references: %+v", r)
	}
}

// The V1 object of a write policy has the documented shape.
func TestV1Shape(t *testing.T) {
	p, err := DecodeV1([]byte(`{"type": "subscription", "name": "Manual global write policy", "template": true,
 "actions": [{"type": "subscription", "subscriptionType": "manual",
   "description": "This updated policy only applies to data sources tagged Discovered.Healthcare NPI.", "accessGrant": "WRITE"}],
 "staged": false,
 "circumstances": [{"operator": "or", "type": "columnTags", "columnTag": {"name": "Discovered.Healthcare NPI", "displayName": "Discovered . Healthcare NPI", "hasLeafNodes": false}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	v := p.ToV1()
	v.ID = 4
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["policyKey"] != "Manual global write policy" || m["type"] != "subscription" || m["template"] != true || m["staged"] != false || m["id"] != float64(4) {
		t.Errorf("top level: %s", b)
	}
	act := m["actions"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{"type": "subscription", "subscriptionType": "manual", "accessGrant": "WRITE",
		"allowDiscovery": false, "shareResponsibility": false, "automaticSubscription": false} {
		if act[k] != want {
			t.Errorf("actions[0].%s = %v, want %v (%s)", k, act[k], want, b)
		}
	}
	circ := m["circumstances"].([]any)[0].(map[string]any)
	if circ["type"] != "columnTags" || circ["columnTag"].(map[string]any)["name"] != "Discovered.Healthcare NPI" ||
		circ["columnTag"].(map[string]any)["displayName"] != "Discovered . Healthcare NPI" {
		t.Errorf("circumstances: %s", b)
	}
	// circumstances null (owner applied) and absent (everywhere) stay distinct
	p.OwnerApplied, p.Circumstances = true, nil
	b, _ = json.Marshal(p.ToV1())
	if !strings.Contains(string(b), `"circumstances":null`) {
		t.Errorf("owner-applied V1: %s", b)
	}
	b, _ = json.Marshal(p)
	if !strings.Contains(string(b), `"circumstances":null`) {
		t.Errorf("owner-applied V2: %s", b)
	}
	back, err := DecodeV2(b)
	if err != nil || !back.OwnerApplied {
		t.Errorf("owner-applied V2 round trip: %v %+v", err, back)
	}
}

func TestPlanJSON(t *testing.T) {
	ix := NewIndex()
	p, err := DecodeV2([]byte(`
policyKey: k
name: n
type: data
actions:
- rules:
  - type: Masking
    config: {fields: [{type: allColumns}], maskingConfig: {type: Constant, constant: X}, conditionalPredicate: "a = 'b'"}
    exceptions: {groups: [HR]}
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "a = @username"}
`))
	if err != nil {
		t.Fatal(err)
	}
	ix.UpsertPolicy(1, p)
	ix.UpsertDataSource(DataSource{ID: 9, CreatedAt: time.Now(), Columns: []Column{{Name: "a"}}})
	plan, _ := ix.Plan(9)
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"appliesTo":"not inGroup(\"HR\")"`, `"rows":"\"a\" = 'b'"`, `"where":"\"a\" = @username"`, `"type":"Constant"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("plan JSON lacks %s: %s", want, b)
		}
	}
	d := Evaluate(plan, NewEntitlements(User{Username: "o'neil"}))
	b, _ = json.Marshal(d)
	if !strings.Contains(string(b), `"where":"\"a\" = 'o''neil'"`) {
		t.Errorf("decision JSON: %s", b)
	}
}

func TestDecodeLocalErrors(t *testing.T) {
	_, err := DecodeLocalV1([]byte(`{"jsonPolicies": [{"type": "masking", "rules": [{"type": "masking", "config": {"fields": [], "maskingConfig": {"type": "Sparkle"}}}]}]}`))
	if err == nil || !strings.Contains(err.Error(), "jsonPolicies[0].rules[0].config.maskingConfig.type") {
		t.Errorf("local masking errors: %v", err)
	}
	_, err = DecodeHandlerV1([]byte(`{"jsonRules": [{"type": "teleport"}]}`))
	if err == nil || !strings.Contains(err.Error(), "jsonRules[0].type") {
		t.Errorf("handler errors: %v", err)
	}
}

// A row visibility rule without an operator needs every match, in the
// rule-object form as in the V1 policy objects.
func TestLocalVisibilityDefaultsToAll(t *testing.T) {
	lp, err := DecodeHandlerV1([]byte(`{"jsonRules": [{"type": "visibility", "conditions": [
		{"type": "groups", "field": "city", "group": {"iam": "bim"}},
		{"type": "authorizations", "field": "dept", "authorization": {"auth": "Department", "iam": "bim"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if op := lp.Data[0].Rules[0].RowMatch.Operator; op != OpAll {
		t.Errorf("operator %q, want all", op)
	}
}

func TestAdvancedRepairOnlyWhenNeeded(t *testing.T) {
	c, err := ParseAdvanced("@isInGroups('O''Brien')")
	if err != nil || c.String() != `inGroup("O'Brien")` {
		t.Errorf("escaped quote: %v %v", c, err)
	}
	if _, err := ParseAdvanced("@isInGroups('a') AND lower(x) = 'y'"); err == nil {
		t.Error("columns accepted in an advanced expression")
	}
}
