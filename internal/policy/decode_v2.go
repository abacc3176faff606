package policy

import (
	"encoding/json"
	"strings"

	"github.com/custosdata/custos/internal/errs"
)

// DecodeV2 reads a V2 global policy payload, JSON or YAML (told apart by the
// first character), and validates it. Problems come back together as one
// errs.Invalid error with a dotted path per field; input that is not JSON or
// YAML at all is errs.BadRequest.
func DecodeV2(data []byte) (*Policy, error) {
	tree, isYAML, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	r := &reader{yaml: isYAML}
	p := r.policyV2(tree)
	var l errs.List
	p.validate(&l)
	if err := r.merge(l); err != nil {
		return nil, err
	}
	return p, nil
}

func (r *reader) policyV2(tree any) *Policy {
	o, ok := r.object(tree, "")
	p := &Policy{}
	if !ok {
		return p
	}
	p.PolicyKey = r.str(o, "policyKey")
	p.Name = r.str(o, "name")
	p.Type = PolicyType(lowerEnum(r.str(o, "type")))
	p.Staged = r.boolean(o, "staged")
	p.Template = r.boolean(o, "template")
	p.CircumstanceOperator = Operator(lowerEnum(r.str(o, "circumstanceOperator")))
	r.circumstances(o, p)
	p.OwnerRestrictions = r.ownerRestrictions(o)
	if c, ok := o.m["certification"]; ok && c != nil {
		p.Certification, _ = json.Marshal(c)
	}
	switch p.Type {
	case TypeSubscription:
		if v, ok := o.m["actions"]; ok && v != nil {
			path := o.at("actions")
			if l, isList := v.([]any); isList && len(l) == 1 {
				v, path = l[0], index(path, 0)
			}
			if ao, ok := r.object(v, path); ok {
				p.Subscription = r.subscription(ao, false)
			}
		}
	case TypeData:
		for i, v := range r.list(o, "actions", true) {
			if ao, ok := r.object(v, index(o.at("actions"), i)); ok {
				p.Data = append(p.Data, r.dataAction(ao))
			}
		}
	}
	return p
}

func (r *reader) circumstances(o obj, p *Policy) {
	v, ok := o.m["circumstances"]
	if !ok {
		return
	}
	if v == nil {
		p.OwnerApplied = true
		return
	}
	for i, c := range r.list(o, "circumstances", true) {
		if co, ok := r.object(c, index(o.at("circumstances"), i)); ok {
			p.Circumstances = append(p.Circumstances, r.circumstance(co))
		}
	}
}

// circumstance reads the V2 shape and also the V1 one, where columnTag, tag
// and columnRegex are objects.
func (r *reader) circumstance(o obj) Circumstance {
	c := Circumstance{Type: CircumstanceType(r.str(o, "type"))}
	if t, ok := canonicalCircumstance[strings.ToLower(string(c.Type))]; ok {
		c.Type = t
	}
	switch c.Type {
	case CircTags:
		c.Tag = r.tagName(o, "tag")
	case CircColumnTags:
		c.Tag = r.tagName(o, "columnTag")
	case CircColumnRegex:
		if cr, ok := o.m["columnRegex"].(map[string]any); ok {
			ro := obj{cr, o.at("columnRegex")}
			c.Regex, c.CaseInsensitive = r.str(ro, "regex"), r.boolean(ro, "caseInsensitive")
		} else {
			c.Regex, c.CaseInsensitive = r.str(o, "regex"), r.boolean(o, "caseInsensitive")
		}
	case CircServer:
		c.Server = r.str(o, "server")
	case CircTime:
		c.StartDate, c.EndDate = r.date(o, "startDate"), r.date(o, "endDate")
	}
	return c
}

var canonicalCircumstance = map[string]CircumstanceType{
	"tags": CircTags, "columntags": CircColumnTags, "columnregex": CircColumnRegex, "anytag": CircAnyTag,
	"notags": CircNoTags, "server": CircServer, "time": CircTime,
}

// tagName reads a tag given as a string or as a V1 tag object {name, ...}.
func (r *reader) tagName(o obj, key string) string {
	if m, ok := o.m[key].(map[string]any); ok {
		return r.str(obj{m, o.at(key)}, "name")
	}
	return r.str(o, key)
}

func (r *reader) ownerRestrictions(o obj) *OwnerRestrictions {
	items := r.list(o, "ownerRestrictions", true)
	if items == nil {
		return nil
	}
	or := &OwnerRestrictions{}
	path := o.at("ownerRestrictions")
	_, isList := o.m["ownerRestrictions"].([]any)
	for i, v := range items {
		p := path
		if isList {
			p = index(path, i)
		}
		io, ok := r.object(v, p)
		if !ok {
			continue
		}
		for j, u := range r.list(io, "users", true) {
			up := index(io.at("users"), j)
			if s, ok := u.(string); ok {
				or.Users = append(or.Users, UserRef{Username: s})
				continue
			}
			if uo, ok := r.object(u, up); ok {
				or.Users = append(or.Users, UserRef{IAMID: r.str(uo, "iamid"), Username: r.str(uo, "username")})
			}
		}
		or.Groups = append(or.Groups, r.strings(io, "groups")...)
	}
	return or
}

func (r *reader) subscription(o obj, v1 bool) *SubscriptionAction {
	s := &SubscriptionAction{
		Type:                  SubscriptionType(lowerEnum(r.str(o, "type"))),
		AccessGrant:           AccessGrant(strings.ToUpper(strings.TrimSpace(r.str(o, "accessGrant")))),
		Description:           r.str(o, "description"),
		AutomaticSubscription: r.boolean(o, "automaticSubscription"),
		AllowDiscovery:        r.boolean(o, "allowDiscovery"),
		ShareResponsibility:   r.boolean(o, "shareResponsibility"),
		Advanced:              r.str(o, "advanced"),
	}
	if v1 {
		s.Type = v1SubscriptionTypes[lowerEnum(r.str(o, "subscriptionType"))]
		if s.Type == "" {
			s.Type = SubscriptionType(r.str(o, "subscriptionType"))
		}
		if o.present("exceptions") {
			if eo, ok := r.object(o.m["exceptions"], o.at("exceptions")); ok {
				s.Entitlements = r.conditionV1(eo)
			}
		}
	} else if o.present("entitlements") {
		if eo, ok := r.object(o.m["entitlements"], o.at("entitlements")); ok {
			s.Entitlements = r.condition(eo)
		}
	}
	for i, v := range r.list(o, "approvals", true) {
		if ao, ok := r.object(v, index(o.at("approvals"), i)); ok {
			s.Approvals = append(s.Approvals, Approval{
				RequiredPermission:       strings.ToUpper(strings.TrimSpace(r.str(ao, "requiredPermission"))),
				SpecificApproverRequired: r.boolean(ao, "specificApproverRequired"),
				SpecificApprover:         r.approver(ao),
			})
		}
	}
	return s
}

// approver reads specificApprover as a name or as an object naming a user.
func (r *reader) approver(o obj) string {
	if m, ok := o.m["specificApprover"].(map[string]any); ok {
		ao := obj{m, o.at("specificApprover")}
		for _, k := range []string{"username", "name", "id"} {
			if v, ok := ao.m[k]; ok && v != nil {
				return (&reader{yaml: true}).text(v, ao.at(k))
			}
		}
		return ""
	}
	if n, ok := o.m["specificApprover"].(json.Number); ok {
		return n.String()
	}
	return r.str(o, "specificApprover")
}

func (r *reader) condition(o obj) *Condition {
	c := &Condition{Operator: Operator(lowerEnum(r.str(o, "operator")))}
	c.Groups = r.strings(o, "groups")
	for i, v := range r.list(o, "attributes", true) {
		if ao, ok := r.object(v, index(o.at("attributes"), i)); ok {
			c.Attributes = append(c.Attributes, Attribute{Name: r.str(ao, "name"), Value: r.str(ao, "value")})
		}
	}
	c.Purposes = r.strings(o, "purposes")
	return c
}

// exceptions reads an optional exceptions/inclusions block; an empty or null
// block (the docs write "exceptions:" with nothing after it) means none.
func (r *reader) conditionAt(o obj, key string, v1 bool) *Condition {
	if !o.present(key) {
		return nil
	}
	co, ok := r.object(o.m[key], o.at(key))
	if !ok {
		return nil
	}
	var c *Condition
	if v1 {
		c = r.conditionV1(co)
	} else {
		c = r.condition(co)
	}
	if len(c.Groups) == 0 && len(c.Attributes) == 0 && len(c.Purposes) == 0 {
		return nil
	}
	return c
}

func (r *reader) dataAction(o obj) DataAction {
	a := DataAction{Description: r.str(o, "description")}
	for i, v := range r.list(o, "rules", true) {
		if ro, ok := r.object(v, index(o.at("rules"), i)); ok {
			a.Rules = append(a.Rules, r.ruleV2(ro))
		}
	}
	return a
}

var canonicalRule = func() map[string]RuleType {
	m := map[string]RuleType{}
	for _, t := range []RuleType{RuleMasking, RuleMinimization, RulePurposeRestriction, RuleTimeRestriction, RuleRowEntitlements, RuleRowCustomWhere} {
		m[strings.ToLower(string(t))] = t
	}
	return m
}()

var canonicalMasking = func() map[string]MaskingType {
	m := map[string]MaskingType{}
	for _, t := range []MaskingType{MaskHash, MaskNull, MaskConstant, MaskRegex, MaskGrouping, MaskFormatPreserving, MaskReversible, MaskRandomized, MaskKAnonymization} {
		m[strings.ToLower(string(t))] = t
	}
	return m
}()

func (r *reader) ruleV2(o obj) Rule {
	rule := Rule{Type: RuleType(r.str(o, "type"))}
	if t, ok := canonicalRule[strings.ToLower(strings.TrimSpace(string(rule.Type)))]; ok {
		rule.Type = t
	}
	rule.Exceptions = r.conditionAt(o, "exceptions", false)
	rule.Inclusions = r.conditionAt(o, "inclusions", false)
	cfg := obj{path: o.at("config")}
	if o.present("config") {
		cfg, _ = r.object(o.m["config"], o.at("config"))
	}
	if cfg.m == nil {
		cfg.m = map[string]any{}
	}
	switch rule.Type {
	case RuleMasking:
		m := &MaskingRule{ConditionalPredicate: r.str(cfg, "conditionalPredicate")}
		for i, v := range r.list(cfg, "fields", true) {
			if fo, ok := r.object(v, index(cfg.at("fields"), i)); ok {
				m.Fields = append(m.Fields, r.field(fo))
			}
		}
		if cfg.has("maskingConfig") {
			if mo, ok := r.object(cfg.m["maskingConfig"], cfg.at("maskingConfig")); ok {
				m.Masking = r.masking(mo, mo)
			}
		}
		rule.Masking = m
	case RuleMinimization:
		m := &MinimizationRule{}
		if n := r.integer(cfg, "percent"); n != nil {
			m.Percent = int(clampInt(*n))
		} else if !r.failedAt(cfg.at("percent")) {
			m.Percent = -1 // reported as missing by Validate
		}
		rule.Minimization = m
	case RulePurposeRestriction:
		rule.Purpose = &PurposeRule{Operator: Operator(lowerEnum(r.str(cfg, "operator"))), Purposes: r.strings(cfg, "purposes")}
	case RuleTimeRestriction:
		t := &TimeRule{IsOlderOrNewer: lowerEnum(r.str(cfg, "isOlderOrNewer"))}
		if n := r.integer(cfg, "time"); n != nil {
			t.Seconds = *n
		}
		rule.Time = t
	case RuleRowEntitlements:
		m := &RowMatchRule{Operator: Operator(lowerEnum(r.str(cfg, "operator")))}
		for i, v := range r.list(cfg, "matches", true) {
			p := cfg.at("matches")
			if _, isList := cfg.m["matches"].([]any); isList {
				p = index(p, i)
			}
			if mo, ok := r.object(v, p); ok {
				m.Matches = append(m.Matches, Match{Type: MatchType(lowerEnum(r.str(mo, "type"))), Tag: r.str(mo, "tag"),
					Attribute: r.str(mo, "attribute"), Column: r.str(mo, "column")})
			}
		}
		rule.RowMatch = m
	case RuleRowCustomWhere:
		rule.CustomWhere = &CustomWhereRule{Predicate: r.str(cfg, "predicate")}
	}
	return rule
}

func clampInt(n int64) int64 {
	if n > 1<<31-1 {
		return 1<<31 - 1
	}
	if n < -1<<31 {
		return -1 << 31
	}
	return n
}

func (r *reader) field(o obj) FieldSelector {
	f := FieldSelector{Type: FieldType(r.str(o, "type"))}
	if f.Type == "" && o.has("name") {
		// V1 global policies list column tags as tag objects {name, ...}.
		return FieldSelector{Type: FieldColumnTags, ColumnTag: r.str(o, "name")}
	}
	switch strings.ToLower(string(f.Type)) {
	case "columntags":
		f.Type, f.ColumnTag = FieldColumnTags, r.tagName(o, "columnTag")
	case "columnregex":
		f.Type = FieldColumnRegex
		if cr, ok := o.m["columnRegex"].(map[string]any); ok {
			ro := obj{cr, o.at("columnRegex")}
			f.Regex, f.CaseInsensitive = r.str(ro, "regex"), r.boolean(ro, "caseInsensitive")
		} else {
			f.Regex, f.CaseInsensitive = r.str(o, "regex"), r.boolean(o, "caseInsensitive")
		}
	case "anytag":
		f.Type = FieldAnyTag
	case "notags":
		f.Type = FieldNoTags
	case "allcolumns":
		f.Type = FieldAllColumns
	case "column":
		f.Type, f.Column = FieldColumn, r.str(o, "name")
	}
	return f
}

// masking reads a masking config; po is where the parameters are (the config
// itself in V2, its metadata object in V1).
func (r *reader) masking(o obj, po obj) Masking {
	m := Masking{Type: MaskingType(r.str(o, "type"))}
	if r.yaml && o.has("type") && o.m["type"] == nil {
		// Unquoted `type: Null` is YAML's null; the docs quote it, people may not.
		m.Type = MaskNull
	}
	if t, ok := canonicalMasking[strings.ToLower(strings.TrimSpace(string(m.Type)))]; ok {
		m.Type = t
	}
	m.Constant = r.str(po, "constant")
	m.Regex = r.str(po, "regex")
	m.Replacement = r.str(po, "replacement")
	m.CaseInsensitive = r.boolean(po, "caseInsensitive")
	m.Global = r.boolean(po, "global")
	m.TimePrecision = strings.ToUpper(strings.TrimSpace(r.str(po, "timePrecision")))
	m.BucketSize = r.number(po, "bucketSize")
	m.ReplacementRatePercent = r.number(po, "replacementRatePercent")
	m.Stddev = r.number(po, "stddev")
	m.Clip = r.optBool(po, "clip")
	if k := r.integer(po, "kLevel"); k != nil {
		n := int(clampInt(*k))
		m.KLevel = &n
	}
	m.ReIDProbability = r.number(po, "reIdProbability")
	return m
}
