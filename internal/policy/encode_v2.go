package policy

import (
	"encoding/json"
)

// V2 payload shapes, in the field order of the documentation.

type v2Policy struct {
	PolicyKey            string             `json:"policyKey"`
	Name                 string             `json:"name"`
	Type                 PolicyType         `json:"type"`
	Actions              any                `json:"actions"`
	CircumstanceOperator Operator           `json:"circumstanceOperator,omitempty"`
	Circumstances        *[]v2Circumstance  `json:"circumstances,omitempty"`
	OwnerRestrictions    *OwnerRestrictions `json:"ownerRestrictions,omitempty"`
	Staged               bool               `json:"staged"`
	Template             bool               `json:"template,omitempty"`
	Certification        json.RawMessage    `json:"certification,omitempty"`
}

type v2Circumstance struct {
	Type            CircumstanceType `json:"type"`
	Tag             string           `json:"tag,omitempty"`
	ColumnTag       string           `json:"columnTag,omitempty"`
	Regex           string           `json:"regex,omitempty"`
	CaseInsensitive *bool            `json:"caseInsensitive,omitempty"`
	Server          string           `json:"server,omitempty"`
	StartDate       string           `json:"startDate,omitempty"`
	EndDate         string           `json:"endDate,omitempty"`
}

type v2Subscription struct {
	Type                  SubscriptionType `json:"type"`
	AccessGrant           AccessGrant      `json:"accessGrant,omitempty"`
	Approvals             []Approval       `json:"approvals,omitempty"`
	Entitlements          *v2Condition     `json:"entitlements,omitempty"`
	Advanced              string           `json:"advanced,omitempty"`
	AutomaticSubscription bool             `json:"automaticSubscription"`
	AllowDiscovery        bool             `json:"allowDiscovery"`
	ShareResponsibility   bool             `json:"shareResponsibility,omitempty"`
	Description           string           `json:"description,omitempty"`
}

type v2Condition struct {
	Operator   Operator    `json:"operator,omitempty"`
	Groups     []string    `json:"groups,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
	Purposes   []string    `json:"purposes,omitempty"`
}

type v2Action struct {
	Rules       []v2Rule `json:"rules"`
	Description string   `json:"description,omitempty"`
}

type v2Rule struct {
	Type       RuleType     `json:"type"`
	Config     any          `json:"config"`
	Exceptions *v2Condition `json:"exceptions,omitempty"`
	Inclusions *v2Condition `json:"inclusions,omitempty"`
}

type v2Field struct {
	Type            FieldType `json:"type"`
	ColumnTag       string    `json:"columnTag,omitempty"`
	Regex           string    `json:"regex,omitempty"`
	CaseInsensitive *bool     `json:"caseInsensitive,omitempty"`
	Name            string    `json:"name,omitempty"`
}

type v2MaskingConfig struct {
	Fields               []v2Field `json:"fields"`
	ConditionalPredicate string    `json:"conditionalPredicate,omitempty"`
	MaskingConfig        Masking   `json:"maskingConfig"`
}

type v2Match struct {
	Type      MatchType `json:"type"`
	Tag       string    `json:"tag,omitempty"`
	Attribute string    `json:"attribute,omitempty"`
	Column    string    `json:"column,omitempty"`
}

// MarshalJSON encodes p as a V2 policy payload.
func (p *Policy) MarshalJSON() ([]byte, error) {
	out := v2Policy{PolicyKey: p.PolicyKey, Name: p.Name, Type: p.Type, CircumstanceOperator: p.CircumstanceOperator,
		Staged: p.Staged, Template: p.Template, Certification: p.Certification}
	switch {
	case p.Type == TypeSubscription && p.Subscription != nil:
		out.Actions = v2Sub(p.Subscription)
	default:
		acts := make([]v2Action, len(p.Data))
		for i, a := range p.Data {
			acts[i] = v2Act(a)
		}
		out.Actions = acts
	}
	if p.OwnerApplied {
		out.Circumstances = &[]v2Circumstance{} // replaced by null below
	} else if len(p.Circumstances) > 0 {
		cs := make([]v2Circumstance, len(p.Circumstances))
		for i, c := range p.Circumstances {
			cs[i] = v2Circ(c)
		}
		out.Circumstances = &cs
	}
	out.OwnerRestrictions = p.OwnerRestrictions
	b, err := json.Marshal(out)
	if err != nil || !p.OwnerApplied {
		return b, err
	}
	// "circumstances": null is meaningful (owner-applied), so it is written out.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["circumstances"] = json.RawMessage("null")
	return marshalOrdered(m, []string{"policyKey", "name", "type", "actions", "circumstanceOperator", "circumstances", "ownerRestrictions", "staged", "template", "certification"})
}

// marshalOrdered writes m with keys in order (keys not listed are dropped).
func marshalOrdered(m map[string]json.RawMessage, order []string) ([]byte, error) {
	buf := []byte{'{'}
	first := true
	for _, k := range order {
		v, ok := m[k]
		if !ok {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		kb, _ := json.Marshal(k)
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	return append(buf, '}'), nil
}

// UnmarshalJSON decodes a V2 payload without validating it (see DecodeV2 for
// the checked path); shape errors are reported as an errs.Invalid error.
func (p *Policy) UnmarshalJSON(data []byte) error {
	tree, err := decodeTree(data, false)
	if err != nil {
		return err
	}
	r := &reader{}
	got := r.policyV2(tree)
	if len(r.errs) > 0 {
		return r.errs.Err()
	}
	*p = *got
	return nil
}

func v2Circ(c Circumstance) v2Circumstance {
	o := v2Circumstance{Type: c.Type, Server: c.Server}
	switch c.Type {
	case CircTags:
		o.Tag = c.Tag
	case CircColumnTags:
		o.ColumnTag = c.Tag
	case CircColumnRegex:
		o.Regex, o.CaseInsensitive = c.Regex, &c.CaseInsensitive
	}
	if c.StartDate != nil {
		o.StartDate = formatDate(*c.StartDate)
	}
	if c.EndDate != nil {
		o.EndDate = formatDate(*c.EndDate)
	}
	return o
}

func v2Cond(c *Condition) *v2Condition {
	if c == nil {
		return nil
	}
	return &v2Condition{Operator: c.Operator, Groups: c.Groups, Attributes: c.Attributes, Purposes: c.Purposes}
}

func v2Sub(s *SubscriptionAction) v2Subscription {
	return v2Subscription{Type: s.Type, AccessGrant: s.AccessGrant, Approvals: s.Approvals, Entitlements: v2Cond(s.Entitlements),
		Advanced: s.Advanced, AutomaticSubscription: s.AutomaticSubscription, AllowDiscovery: s.AllowDiscovery,
		ShareResponsibility: s.ShareResponsibility, Description: s.Description}
}

func v2Act(a DataAction) v2Action {
	out := v2Action{Description: a.Description, Rules: make([]v2Rule, len(a.Rules))}
	for i, r := range a.Rules {
		out.Rules[i] = v2Rule{Type: r.Type, Config: v2Config(r), Exceptions: v2Cond(r.Exceptions), Inclusions: v2Cond(r.Inclusions)}
	}
	return out
}

func v2Config(r Rule) any {
	switch r.Type {
	case RuleMasking:
		m := r.Masking
		fs := make([]v2Field, len(m.Fields))
		for i, f := range m.Fields {
			fs[i] = v2Fld(f)
		}
		return v2MaskingConfig{Fields: fs, ConditionalPredicate: m.ConditionalPredicate, MaskingConfig: m.Masking}
	case RuleMinimization:
		if r.Minimization.Column != "" {
			return map[string]any{"percent": r.Minimization.Percent, "column": r.Minimization.Column}
		}
		return map[string]any{"percent": r.Minimization.Percent}
	case RulePurposeRestriction:
		return struct {
			Operator Operator `json:"operator,omitempty"`
			Purposes []string `json:"purposes"`
		}{r.Purpose.Operator, r.Purpose.Purposes}
	case RuleTimeRestriction:
		return struct {
			IsOlderOrNewer string `json:"isOlderOrNewer"`
			Time           int64  `json:"time"`
		}{r.Time.IsOlderOrNewer, r.Time.Seconds}
	case RuleRowEntitlements:
		ms := make([]v2Match, len(r.RowMatch.Matches))
		for i, m := range r.RowMatch.Matches {
			ms[i] = v2Match(m)
		}
		var matches any = ms
		if len(ms) == 1 {
			matches = ms[0] // the documented shape is a single object
		}
		return struct {
			Operator Operator `json:"operator,omitempty"`
			Matches  any      `json:"matches"`
		}{r.RowMatch.Operator, matches}
	case RuleRowCustomWhere:
		return map[string]any{"predicate": r.CustomWhere.Predicate}
	}
	return map[string]any{}
}

func v2Fld(f FieldSelector) v2Field {
	o := v2Field{Type: f.Type}
	switch f.Type {
	case FieldColumnTags:
		o.ColumnTag = f.ColumnTag
	case FieldColumnRegex:
		o.Regex, o.CaseInsensitive = f.Regex, &f.CaseInsensitive
	case FieldColumn:
		o.Name = f.Column
	}
	return o
}
