package policy

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/errs"
)

// V1Policy is the global policy object of the V1 API (/policy/global). The
// engine fills the policy part from a Policy (ToV1); the service fills the
// stored metadata (ID, CreatedBy, timestamps, ...).
type V1Policy struct {
	// The fields are in the order of the reference's examples.
	PolicyKey         string             `json:"policyKey"`
	Name              string             `json:"name"`
	Type              PolicyType         `json:"type"`
	Template          bool               `json:"template"`
	Staged            bool               `json:"staged"`
	SystemGenerated   bool               `json:"systemGenerated"`
	Deleted           bool               `json:"deleted"`
	Certification     json.RawMessage    `json:"certification"`
	Actions           []any              `json:"actions"`
	Circumstances     []V1Circumstance   `json:"circumstances"`
	Metadata          json.RawMessage    `json:"metadata"`
	ClonedFrom        *int64             `json:"clonedFrom"`
	CreatedBy         int64              `json:"createdBy,omitempty"`
	ID                int64              `json:"id,omitempty"`
	CreatedAt         *time.Time         `json:"createdAt,omitempty"`
	UpdatedAt         *time.Time         `json:"updatedAt,omitempty"`
	CreatedByName     string             `json:"createdByName,omitempty"`
	OwnerRestrictions *OwnerRestrictions `json:"ownerRestrictions"`
}

// V1Circumstance is a circumstance in the V1 shape, where tags and regexes are objects.
type V1Circumstance struct {
	Operator    string           `json:"operator"`
	Type        CircumstanceType `json:"type"`
	Tag         *V1Tag           `json:"tag,omitempty"`
	ColumnTag   *V1Tag           `json:"columnTag,omitempty"`
	ColumnRegex *V1Regex         `json:"columnRegex,omitempty"`
	Server      string           `json:"server,omitempty"`
	StartDate   string           `json:"startDate,omitempty"`
	EndDate     string           `json:"endDate,omitempty"`
}

// V1Tag is a tag reference in V1 payloads.
type V1Tag struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// HasLeafNodes says that the tag has tags below it.
	HasLeafNodes bool `json:"hasLeafNodes"`
}

// TagTree says whether a tag has tags below it; the engine keeps no tag
// hierarchy, so the caller who renders V1 objects supplies it.
type TagTree func(name string) bool

func (t TagTree) ref(name string) *V1Tag {
	return &V1Tag{Name: name, DisplayName: displayName(name), HasLeafNodes: t != nil && t(name)}
}

// V1Regex is a column-name regular expression in V1 payloads.
type V1Regex struct {
	Regex           string `json:"regex"`
	CaseInsensitive bool   `json:"caseInsensitive"`
}

// V1 rule and action types of the data rules.
const (
	v1Masking      = "masking"
	v1Minimization = "minimization"
	v1Time         = "time"
	v1Prerequisite = "prerequisite"
	v1RowRestrict  = "rowOrObjectRestriction"
	v1Visibility   = "visibility"
	v1CustomWhere  = "customWhere"
)

var v1SubscriptionTypes = map[string]SubscriptionType{
	"automatic": SubAnyone, "approval": SubApproval, "policy": SubEntitlements, "manual": SubManual,
	// the V2 spellings are accepted too
	"anyone": SubAnyone, "entitlements": SubEntitlements,
}

var v2ToV1Subscription = map[SubscriptionType]string{
	SubAnyone: "automatic", SubApproval: "approval", SubEntitlements: "policy", SubManual: "manual",
}

func displayName(tag string) string { return strings.ReplaceAll(tag, ".", " . ") }

// ToV1 renders p as a V1 global policy object (without stored metadata);
// its tag references say no tag has children.
func (p *Policy) ToV1() *V1Policy { return p.ToV1With(nil) }

// ToV1With renders p as a V1 global policy object, with tree telling which
// tags it names have children.
func (p *Policy) ToV1With(tree TagTree) *V1Policy {
	v := &V1Policy{PolicyKey: p.PolicyKey, Name: p.Name, Type: p.Type, Template: p.Template, Staged: p.Staged,
		Certification: p.Certification, Metadata: nil}
	if len(v.Certification) == 0 {
		v.Certification = json.RawMessage("null")
	}
	v.Metadata = json.RawMessage("null")
	v.OwnerRestrictions = p.OwnerRestrictions
	switch {
	case p.OwnerApplied:
		v.Circumstances = nil
	default:
		op := "and"
		if p.CircumstanceOperator == OpAny {
			op = "or"
		}
		v.Circumstances = []V1Circumstance{}
		for _, c := range p.Circumstances {
			vc := V1Circumstance{Operator: op, Type: c.Type, Server: c.Server}
			switch c.Type {
			case CircTags:
				vc.Tag = tree.ref(c.Tag)
			case CircColumnTags:
				vc.ColumnTag = tree.ref(c.Tag)
			case CircColumnRegex:
				vc.ColumnRegex = &V1Regex{c.Regex, c.CaseInsensitive}
			}
			if c.StartDate != nil {
				vc.StartDate = formatDate(*c.StartDate)
			}
			if c.EndDate != nil {
				vc.EndDate = formatDate(*c.EndDate)
			}
			v.Circumstances = append(v.Circumstances, vc)
		}
	}
	if p.Subscription != nil {
		v.Actions = []any{v1Sub(p.Subscription)}
	} else {
		v.Actions = v1DataActions(p.Data, tree)
	}
	return v
}

type v1Condition struct {
	Type          string   `json:"type"`
	Group         *v1Group `json:"group,omitempty"`
	Authorization *v1Auth  `json:"authorization,omitempty"`
	Value         string   `json:"value,omitempty"`
	Field         string   `json:"field,omitempty"`
	ColumnTag     string   `json:"columnTag,omitempty"`
}

type v1Group struct {
	Name string `json:"name,omitempty"`
}

type v1Auth struct {
	Auth  string `json:"auth"`
	Value string `json:"value,omitempty"`
}

type v1Conditions struct {
	Operator   string        `json:"operator"`
	Conditions []v1Condition `json:"conditions"`
}

func v1Op(o Operator) string {
	if o == OpAll {
		return "and"
	}
	return "or"
}

func v1Cond(c *Condition) *v1Conditions {
	if c == nil {
		return nil
	}
	out := &v1Conditions{Operator: v1Op(c.Operator)}
	for _, g := range c.Groups {
		out.Conditions = append(out.Conditions, v1Condition{Type: "groups", Group: &v1Group{g}})
	}
	for _, a := range c.Attributes {
		out.Conditions = append(out.Conditions, v1Condition{Type: "authorizations", Authorization: &v1Auth{a.Name, a.Value}})
	}
	for _, p := range c.Purposes {
		out.Conditions = append(out.Conditions, v1Condition{Type: "purposes", Value: p})
	}
	return out
}

// v1Subscription is a subscription action, its fields in the order of the
// reference's examples.
type v1Subscription struct {
	Type                  string        `json:"type"`
	AccessGrant           AccessGrant   `json:"accessGrant"`
	Description           *string       `json:"description"`
	AllowDiscovery        bool          `json:"allowDiscovery"`
	SubscriptionType      string        `json:"subscriptionType"`
	ShareResponsibility   bool          `json:"shareResponsibility"`
	AutomaticSubscription bool          `json:"automaticSubscription"`
	Exceptions            *v1Conditions `json:"exceptions,omitempty"`
	Advanced              string        `json:"advanced,omitempty"`
	Approvals             []Approval    `json:"approvals,omitempty"`
}

func v1Sub(s *SubscriptionAction) v1Subscription {
	g := s.AccessGrant
	if g == "" {
		g = GrantRead
	}
	out := v1Subscription{Type: "subscription", SubscriptionType: v2ToV1Subscription[s.Type], AccessGrant: g,
		AllowDiscovery: s.AllowDiscovery, ShareResponsibility: s.ShareResponsibility, AutomaticSubscription: s.AutomaticSubscription,
		Exceptions: v1Cond(s.Entitlements), Advanced: s.Advanced, Approvals: s.Approvals}
	if s.Description != "" {
		out.Description = &s.Description
	}
	return out
}

type v1Action struct {
	Type        string   `json:"type"`
	Rules       []v1Rule `json:"rules"`
	Description *string  `json:"description"`
}

type v1Rule struct {
	Type       string        `json:"type"`
	Config     any           `json:"config"`
	Exceptions *v1Conditions `json:"exceptions"`
	Inclusions *v1Conditions `json:"inclusions,omitempty"`
}

type v1MaskingConfig struct {
	Type     string         `json:"type"`
	Metadata map[string]any `json:"metadata"`
}

func v1DataActions(acts []DataAction, tree TagTree) []any {
	out := []any{}
	for _, a := range acts {
		va := v1Action{}
		if a.Description != "" {
			d := a.Description
			va.Description = &d
		}
		for _, r := range a.Rules {
			actionType, vr := v1RuleOf(r, tree)
			if va.Type == "" {
				va.Type = actionType
			}
			va.Rules = append(va.Rules, vr)
		}
		out = append(out, va)
	}
	return out
}

func v1RuleOf(r Rule, tree TagTree) (string, v1Rule) {
	vr := v1Rule{Exceptions: v1Cond(r.Exceptions), Inclusions: v1Cond(r.Inclusions)}
	switch r.Type {
	case RuleMasking:
		m := r.Masking
		fields := make([]any, len(m.Fields))
		for i, f := range m.Fields {
			switch f.Type {
			case FieldColumnTags:
				fields[i] = tree.ref(f.ColumnTag)
			case FieldColumn:
				fields[i] = f.Column
			default:
				fields[i] = v2Fld(f)
			}
		}
		cfg := map[string]any{"fields": fields, "maskingConfig": v1MaskingOf(m.Masking)}
		if m.ConditionalPredicate != "" {
			cfg["conditionalPredicate"] = m.ConditionalPredicate
		}
		vr.Type, vr.Config = v1Masking, cfg
		return v1Masking, vr
	case RuleMinimization:
		vr.Type, vr.Config = v1Minimization, map[string]any{"percent": r.Minimization.Percent}
		return v1Minimization, vr
	case RuleTimeRestriction:
		vr.Type, vr.Config = v1Time, map[string]any{"time": r.Time.Seconds, "isOlderOrNewer": r.Time.IsOlderOrNewer}
		return v1Time, vr
	case RulePurposeRestriction:
		q := v1Conditions{Operator: v1Op(r.Purpose.Operator)}
		for _, p := range r.Purpose.Purposes {
			q.Conditions = append(q.Conditions, v1Condition{Type: "purposes", Value: p})
		}
		vr.Type, vr.Config = v1Prerequisite, map[string]any{"qualifications": q}
		return v1Prerequisite, vr
	case RuleRowEntitlements:
		op := OpAll
		if r.RowMatch.Operator == OpAny {
			op = OpAny
		}
		q := v1Conditions{Operator: v1Op(op)}
		for _, m := range r.RowMatch.Matches {
			c := v1Condition{Field: m.Column, ColumnTag: m.Tag}
			switch m.Type {
			case MatchGroup:
				c.Type = "groups"
			case MatchAttribute:
				c.Type, c.Authorization = "authorizations", &v1Auth{Auth: m.Attribute}
			case MatchPurpose:
				c.Type = "purposes"
			}
			q.Conditions = append(q.Conditions, c)
		}
		vr.Type, vr.Config = v1Visibility, map[string]any{"qualifications": q}
		return v1RowRestrict, vr
	case RuleRowCustomWhere:
		vr.Type, vr.Config = v1CustomWhere, map[string]any{"predicate": r.CustomWhere.Predicate}
		return v1CustomWhere, vr
	}
	return string(r.Type), vr
}

func v1MaskingOf(m Masking) v1MaskingConfig {
	meta := map[string]any{}
	t := string(m.Type)
	switch m.Type {
	case MaskHash:
		t = "Consistent Value"
	case MaskNull:
		t, meta["constant"] = "Consistent Value", nil
	case MaskConstant:
		t, meta["constant"] = "Consistent Value", m.Constant
	default:
		b, _ := json.Marshal(m)
		_ = json.Unmarshal(b, &meta)
		delete(meta, "type")
	}
	return v1MaskingConfig{Type: t, Metadata: meta}
}

// DecodeV1 reads a V1 global policy object (JSON or YAML) and validates it.
// Stored metadata in the payload (id, createdAt, ...) is ignored.
func DecodeV1(data []byte) (*Policy, error) {
	tree, isYAML, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	r := &reader{yaml: isYAML}
	p := r.policyV1(tree)
	var l errs.List
	p.validate(&l)
	if p.Type == TypeSubscription {
		l = v1SubscriptionErrors(l)
	}
	if err := r.merge(l); err != nil {
		return nil, err
	}
	return p, nil
}

// v1SubscriptionErrors names, in the errors of a subscription policy's
// validation, the fields of the V1 payload: its one action is actions[0],
// its type subscriptionType and its entitlements exceptions.
func v1SubscriptionErrors(l errs.List) errs.List {
	rename := func(f string) string {
		switch {
		case f == "actions.type":
			return "actions[0].subscriptionType"
		case f == "actions.entitlements" || strings.HasPrefix(f, "actions.entitlements."):
			return "actions[0].exceptions"
		case strings.HasPrefix(f, "actions."):
			return "actions[0]." + strings.TrimPrefix(f, "actions.")
		}
		return f
	}
	out := make(errs.List, len(l))
	for i, e := range l {
		v1 := rename(e.Field)
		e.Message = strings.ReplaceAll(strings.Replace(e.Message, e.Field, v1, 1), "actions.advanced", "actions[0].advanced")
		e.Field = v1
		out[i] = e
	}
	return out
}

func (r *reader) policyV1(tree any) *Policy {
	o, ok := r.object(tree, "")
	p := &Policy{}
	if !ok {
		return p
	}
	p.Name = r.str(o, "name")
	p.PolicyKey = r.str(o, "policyKey")
	if p.PolicyKey == "" {
		p.PolicyKey = p.Name // V1 creates the key from the name
	}
	p.Type = PolicyType(lowerEnum(r.str(o, "type")))
	p.Staged = r.boolean(o, "staged")
	p.Template = r.boolean(o, "template")
	p.OwnerRestrictions = r.ownerRestrictions(o)
	if c, ok := o.m["certification"]; ok && c != nil {
		p.Certification, _ = json.Marshal(c)
	}
	if v, ok := o.m["circumstances"]; ok {
		if v == nil {
			p.OwnerApplied = true
		} else {
			and := false
			for i, c := range r.list(o, "circumstances", true) {
				if co, ok := r.object(c, index(o.at("circumstances"), i)); ok {
					p.Circumstances = append(p.Circumstances, r.circumstance(co))
					if lowerEnum(r.str(co, "operator")) == "and" {
						and = true
					}
				}
			}
			switch {
			case len(p.Circumstances) > 1 && and:
				p.CircumstanceOperator = OpAll
			case len(p.Circumstances) > 1:
				p.CircumstanceOperator = OpAny
			case len(p.Circumstances) == 1 && !and && o.m["circumstances"] != nil:
				// One circumstance: its operator changes nothing; kept as given.
				if co, ok := r.object(r.list(o, "circumstances", true)[0], index(o.at("circumstances"), 0)); ok &&
					lowerEnum(r.str(co, "operator")) == "or" {
					p.CircumstanceOperator = OpAny
				}
			}
		}
	}
	acts := r.list(o, "actions", true)
	switch p.Type {
	case TypeSubscription:
		if len(acts) > 0 {
			if ao, ok := r.object(acts[0], index(o.at("actions"), 0)); ok {
				p.Subscription = r.subscription(ao, true)
				if t := r.str(ao, "type"); t != "" && lowerEnum(t) != "subscription" {
					r.errs.Add(ao.at("type"), errs.CodeEnum, "%s must be subscription in a subscription policy, not %q", ao.at("type"), t)
				}
			}
		}
	case TypeData:
		for i, v := range acts {
			if ao, ok := r.object(v, index(o.at("actions"), i)); ok {
				p.Data = append(p.Data, r.dataActionV1(ao, false))
			}
		}
	}
	return p
}

// conditionV1 reads {operator: and|or, conditions: [...]} (conditions may be
// a single object, as in some documented examples).
func (r *reader) conditionV1(o obj) *Condition {
	c := &Condition{Operator: OpAny}
	switch lowerEnum(r.str(o, "operator")) {
	case "and", "all":
		c.Operator = OpAll
	case "or", "any", "":
	default:
		r.errs.Add(o.at("operator"), errs.CodeEnum, "%s must be and or or, not %q", o.at("operator"), r.str(o, "operator"))
	}
	for i, v := range r.list(o, "conditions", true) {
		p := index(o.at("conditions"), i)
		co, ok := r.object(v, p)
		if !ok {
			continue
		}
		switch lowerEnum(r.str(co, "type")) {
		case "groups":
			if g, ok := r.object(co.m["group"], co.at("group")); ok {
				c.Groups = append(c.Groups, r.str(g, "name"))
			}
		case "authorizations":
			if a, ok := r.object(co.m["authorization"], co.at("authorization")); ok {
				c.Attributes = append(c.Attributes, Attribute{Name: r.str(a, "auth"), Value: r.str(a, "value")})
			}
		case "purposes":
			c.Purposes = append(c.Purposes, r.str(co, "value"))
		default:
			r.errs.Add(co.at("type"), errs.CodeEnum, "%s must be groups, authorizations or purposes", co.at("type"))
		}
	}
	return c
}

func (r *reader) dataActionV1(o obj, local bool) DataAction {
	a := DataAction{Description: r.str(o, "description")}
	actionType := r.str(o, "type")
	for i, v := range r.list(o, "rules", true) {
		if ro, ok := r.object(v, index(o.at("rules"), i)); ok {
			a.Rules = append(a.Rules, r.ruleV1(ro, actionType, local))
		}
	}
	return a
}

func (r *reader) ruleV1(o obj, actionType string, local bool) Rule {
	rule := Rule{Exceptions: r.conditionAt(o, "exceptions", true), Inclusions: r.conditionAt(o, "inclusions", true)}
	cfg := obj{m: map[string]any{}, path: o.at("config")}
	if o.present("config") {
		if c, ok := r.object(o.m["config"], o.at("config")); ok {
			cfg = c
		}
	}
	t := r.str(o, "type")
	if t == "" {
		t = actionType
	}
	switch strings.ToLower(t) {
	case "masking":
		m := &MaskingRule{ConditionalPredicate: r.str(cfg, "conditionalPredicate")}
		for i, v := range r.list(cfg, "fields", true) {
			p := index(cfg.at("fields"), i)
			if s, ok := v.(string); ok {
				m.Fields = append(m.Fields, FieldSelector{Type: FieldColumn, Column: s})
				continue
			}
			if fo, ok := r.object(v, p); ok {
				m.Fields = append(m.Fields, r.field(fo))
			}
		}
		if mo, ok := r.object(cfg.m["maskingConfig"], cfg.at("maskingConfig")); ok {
			po := obj{m: map[string]any{}, path: mo.at("metadata")}
			if mo.present("metadata") {
				po, _ = r.object(mo.m["metadata"], mo.at("metadata"))
			}
			m.Masking = r.masking(mo, po)
			if strings.EqualFold(string(m.Masking.Type), "Consistent Value") {
				switch c, has := po.m["constant"]; {
				case !has:
					m.Masking.Type = MaskHash
				case c == nil:
					m.Masking.Type = MaskNull
				default:
					m.Masking.Type = MaskConstant
				}
			}
		}
		rule.Type, rule.Masking = RuleMasking, m
	case "minimization", "additional":
		rule.Type, rule.Minimization = RuleMinimization, &MinimizationRule{Percent: -1}
		if n := r.integer(cfg, "percent"); n != nil {
			rule.Minimization.Percent = int(clampInt(*n))
		}
	case "time":
		rule.Type, rule.Time = RuleTimeRestriction, &TimeRule{IsOlderOrNewer: lowerEnum(r.str(cfg, "isOlderOrNewer"))}
		if rule.Time.IsOlderOrNewer == "" {
			rule.Time.IsOlderOrNewer = "newer"
		}
		if n := r.integer(cfg, "time"); n != nil {
			rule.Time.Seconds = *n
		}
	case "prerequisite":
		pr := &PurposeRule{Operator: OpAny}
		if q, ok := r.object(cfg.m["qualifications"], cfg.at("qualifications")); ok {
			c := r.conditionV1(q)
			pr.Operator, pr.Purposes = c.Operator, c.Purposes
		}
		rule.Type, rule.Purpose = RulePurposeRestriction, pr
	case "customwhere":
		rule.Type, rule.CustomWhere = RuleRowCustomWhere, &CustomWhereRule{Predicate: r.str(cfg, "predicate")}
	case "visibility", "roworobjectrestriction":
		if cfg.present("predicate") {
			rule.Type, rule.CustomWhere = RuleRowCustomWhere, &CustomWhereRule{Predicate: r.str(cfg, "predicate")}
			break
		}
		m := &RowMatchRule{Operator: OpAll}
		if q, ok := r.object(cfg.m["qualifications"], cfg.at("qualifications")); ok {
			if lowerEnum(r.str(q, "operator")) == "or" {
				m.Operator = OpAny
			}
			for i, v := range r.list(q, "conditions", true) {
				co, ok := r.object(v, index(q.at("conditions"), i))
				if !ok {
					continue
				}
				mt := Match{Tag: r.str(co, "columnTag"), Column: r.str(co, "field")}
				switch lowerEnum(r.str(co, "type")) {
				case "groups":
					mt.Type = MatchGroup
				case "authorizations":
					mt.Type = MatchAttribute
					if a, ok := co.m["authorization"].(map[string]any); ok {
						mt.Attribute = r.str(obj{a, co.at("authorization")}, "auth")
					}
				case "purposes":
					mt.Type = MatchPurpose
				default:
					mt.Type = MatchType(r.str(co, "type"))
				}
				m.Matches = append(m.Matches, mt)
			}
		}
		rule.Type, rule.RowMatch = RuleRowEntitlements, m
	default:
		rule.Type = RuleType(t)
	}
	return rule
}

// V1SubscriptionType is the V1 name of a subscription type: automatic,
// approval, policy or manual.
func V1SubscriptionType(t SubscriptionType) string { return v2ToV1Subscription[t] }
