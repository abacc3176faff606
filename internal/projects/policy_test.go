package projects

import (
	"encoding/json"
	"testing"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
)

func TestSubscriptionPolicies(t *testing.T) {
	eng := policy.NewEntitlements(policy.User{Groups: []string{"Engineers"}, Attributes: map[string][]string{"Auth1": {"super secret"}}})
	none := policy.NewEntitlements(policy.User{})
	for _, c := range []struct {
		v2         string
		v1Type, v1 string
		want, nope policy.SubscribeStatus
	}{
		{v2: `{"type":"anyone","automaticSubscription":true}`, want: policy.StatusAutomatic, nope: policy.StatusAutomatic},
		{v2: `{"type":"anyone"}`, want: policy.StatusAllowed, nope: policy.StatusAllowed},
		{v2: `{"type":"approval","approvals":[{"requiredPermission":"governance"}]}`, want: policy.StatusApproval, nope: policy.StatusApproval},
		{v2: `{"type":"entitlements","entitlements":{"groups":["Founders","Engineers"]}}`, want: policy.StatusAllowed, nope: policy.StatusDenied},
		{v2: `{"type":"entitlements","entitlements":{"operator":"all","groups":["Engineers"],"attributes":[{"name":"Auth1","value":"super secret"}]}}`,
			want: policy.StatusAllowed, nope: policy.StatusDenied},
		{v2: `{"type":"manual"}`, want: policy.StatusManual, nope: policy.StatusManual},
		{v2: `null`, want: policy.StatusManual, nope: policy.StatusManual},
		{v1Type: "policy", v1: `{"type":"subscription","exceptions":{"operator":"and","conditions":[{"type":"groups","group":{"name":"Engineers"}},
			{"type":"authorizations","authorization":{"auth":"Auth1","value":"super secret"}}]},"automaticSubscription":true}`,
			want: policy.StatusAutomatic, nope: policy.StatusDenied},
		{v1Type: "automatic", want: policy.StatusAllowed, nope: policy.StatusAllowed},
		{v1Type: "manual", v1: `{"type":"subscription"}`, want: policy.StatusManual, nope: policy.StatusManual},
	} {
		var sp *SubscriptionPolicy
		var err error
		if c.v2 != "" {
			sp, err = ParseV2Policy(json.RawMessage(c.v2), "subscriptionPolicy")
		} else {
			sp, err = ParseV1Policy(c.v1Type, json.RawMessage(c.v1))
		}
		if err != nil {
			t.Fatalf("%s%s: %v", c.v2, c.v1, err)
		}
		if got := sp.decide(eng); got != c.want {
			t.Errorf("%s%s: entitled user %s, want %s", c.v2, c.v1, got, c.want)
		}
		if got := sp.decide(none); got != c.nope {
			t.Errorf("%s%s: other user %s, want %s", c.v2, c.v1, got, c.nope)
		}
		// The V1 object reads back as the same policy.
		back, err := ParseV1Policy(sp.V1Type(), mustJSON(t, sp.V1Object()))
		if err != nil || !samePolicy(normalizedPolicy(back), normalizedPolicy(sp)) {
			t.Errorf("%s%s: V1 round trip %+v (%v), want %+v", c.v2, c.v1, back, err, sp)
		}
	}
	for _, bad := range []string{`{"type":"sometimes"}`, `{"type":"approval"}`, `{"type":"entitlements"}`, `[]`,
		`{"type":"anyone","approvals":[{"requiredPermission":"OWNER"}]}`, `{"type":"approval","approvals":[{"requiredPermission":"x"}]}`,
		`{"type":"entitlements","entitlements":{"operator":"most","groups":["a"]}}`, `{"type":"approval","automaticSubscription":true,"approvals":[{"requiredPermission":"OWNER"}]}`} {
		if _, err := ParseV2Policy(json.RawMessage(bad), "subscriptionPolicy"); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: %v, want a 422", bad, err)
		}
	}
	if _, err := ParseV1Policy("sometimes", nil); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown V1 type: %v", err)
	}
	// V1 exceptions combine with and or or; any other operator is refused
	// rather than read as or, which would admit users meeting one condition.
	_, err := ParseV1Policy("policy", json.RawMessage(`{"exceptions":{"operator":"nand","conditions":[
		{"type":"groups","group":{"name":"Engineers"}},{"type":"groups","group":{"name":"Founders"}}]}}`))
	if e := errs.As(err); !errs.Is(err, errs.Invalid) || len(e.Fields) != 1 || e.Fields[0].Field != "subscriptionPolicy.exceptions.operator" {
		t.Errorf("operator nand: %v", err)
	}
}

// normalizedPolicy drops what the V1 object does not carry.
func normalizedPolicy(sp *SubscriptionPolicy) *SubscriptionPolicy {
	if sp == nil {
		return nil
	}
	c := *sp
	c.Description = ""
	return &c
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEqualizationSets(t *testing.T) {
	a := Entitlements{Groups: []string{"G1", "G2"}, Attributes: map[string][]string{"Dept": {"Sales", "Ops"}}}
	b := Entitlements{Groups: []string{"G1"}, Attributes: map[string][]string{"Dept": {"Sales"}}}
	if !subset(b, a) || subset(a, b) || !sameEntitlements(normalize(a), normalize(Entitlements{Groups: []string{"G2", "G1", "G1"},
		Attributes: map[string][]string{"Dept": {"Ops", "Sales"}, "Empty": {}}})) {
		t.Fatal("subset and sameEntitlements")
	}
	g, at := lacks(policy.User{Groups: []string{"G1"}, Attributes: map[string][]string{"Dept": {"Sales"}}}, a)
	if len(g) != 1 || g[0] != "G2" || len(at) != 1 || at[0] != (policy.Attribute{Name: "Dept", Value: "Ops"}) {
		t.Fatalf("lacks: %v %v", g, at)
	}
}

func TestRestrictionOf(t *testing.T) {
	for _, c := range []struct {
		cond     policy.Cond
		operator string
		purposes []string
	}{
		{policy.NotOf(policy.ActingUnderPurpose{Purpose: "A"}), "or", []string{"A"}},
		{policy.AllOf(policy.NotOf(policy.AnyOf(policy.ActingUnderPurpose{Purpose: "A"}, policy.ActingUnderPurpose{Purpose: "B"})),
			policy.NotOf(policy.InGroup{Group: "G"})), "or", []string{"A", "B"}},
		{policy.NotOf(policy.AllOf(policy.ActingUnderPurpose{Purpose: "A"}, policy.AnyPurpose{})), "and", []string{"A", policy.AnyPurposeName}},
	} {
		r := restrictionOf(c.cond)
		if r.Operator != c.operator || len(r.Purposes) != len(c.purposes) || r.Purposes[0] != c.purposes[0] {
			t.Errorf("%v: %+v", c.cond, r)
		}
	}
}

func FuzzParsePolicies(f *testing.F) {
	for _, s := range []string{`{"type":"anyone","automaticSubscription":true}`, `{"type":"approval","approvals":[{"requiredPermission":"OWNER"}]}`,
		`{"type":"entitlements","entitlements":{"operator":"all","groups":["a"],"attributes":[{"name":"n","value":"v"}]}}`,
		`{"type":"subscription","exceptions":{"operator":"or","conditions":[{"type":"groups","group":{"name":"x"}}]}}`, `null`, `{}`} {
		f.Add(s, "policy")
	}
	f.Fuzz(func(t *testing.T, raw, v1Type string) {
		for _, parse := range []func() (*SubscriptionPolicy, error){
			func() (*SubscriptionPolicy, error) { return ParseV2Policy(json.RawMessage(raw), "subscriptionPolicy") },
			func() (*SubscriptionPolicy, error) { return ParseV1Policy(v1Type, json.RawMessage(raw)) },
		} {
			sp, err := parse()
			if err != nil {
				if e := errs.As(err); e.Kind != errs.Invalid {
					t.Fatalf("%q: a %v error, want a 422: %v", raw, e.Kind, err)
				}
				continue
			}
			// A parsed policy is valid, decides for anyone, and writes back.
			if sp != nil {
				if err := sp.validate("x"); err != nil {
					t.Fatalf("%q parsed but does not validate: %v", raw, err)
				}
			}
			sp.decide(policy.NewEntitlements(policy.User{}))
			if _, err := json.Marshal(sp.V1Object()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
