package policy

import (
	"strings"

	"github.com/custosdata/custos/internal/errs"
)

// LocalPolicy is a data source's own policy (its policy handler): data rules
// that name columns directly, and optionally the data source's subscription
// policy. Local rules are combined with the global policies that apply to the
// data source; see Plan.
type LocalPolicy struct {
	Data         []DataAction
	Subscription *SubscriptionAction
}

// DecodeLocalV1 reads the jsonPolicies of a V1 policy handler: either the
// handler object {"jsonPolicies": [...]} or the bare array. Entries carrying
// a "global" object are global policies as applied to the data source and
// are skipped; an entry of type "subscription" is the subscription policy.
func DecodeLocalV1(data []byte) (*LocalPolicy, error) { return decodeLocalV1(data, false) }

// DecodeStoredLocalV1 reads stored jsonPolicies as DecodeLocalV1 does, except
// that a predicate that no longer parses (saved before a check was made
// stricter) does not make the whole local policy fail: its rule is planned
// closed.
func DecodeStoredLocalV1(data []byte) (*LocalPolicy, error) { return decodeLocalV1(data, true) }

func decodeLocalV1(data []byte, stored bool) (*LocalPolicy, error) {
	tree, isYAML, err := decodeAny(data)
	if err != nil {
		return nil, err
	}
	r := &reader{yaml: isYAML}
	path := "jsonPolicies"
	if m, ok := tree.(map[string]any); ok {
		tree = m["jsonPolicies"]
		if tree == nil {
			return nil, errs.Field("jsonPolicies", errs.CodeRequired, "jsonPolicies is required")
		}
	}
	items, ok := tree.([]any)
	if !ok {
		return nil, errs.Field(path, errs.CodeType, "jsonPolicies must be an array")
	}
	lp := &LocalPolicy{}
	var paths []string
	for i, v := range items {
		o, ok := r.object(v, index(path, i))
		if !ok || o.present("global") {
			continue
		}
		if lowerEnum(r.str(o, "type")) == "subscription" {
			lp.Subscription = r.subscription(o, true)
			continue
		}
		lp.Data = append(lp.Data, r.dataActionV1(o, true))
		paths = append(paths, index(path, i))
	}
	if len(r.errs) > 0 {
		return nil, r.errs.Err()
	}
	var l errs.List
	lp.validate(&l, paths)
	if stored {
		l = withoutPredicateErrors(l)
	}
	return lp, l.Err()
}

// validateStored checks a local policy as the engine loads it (see
// Policy.validateStored).
func (lp *LocalPolicy) validateStored() error {
	var l errs.List
	lp.validate(&l, nil)
	return withoutPredicateErrors(l).Err()
}

// Validate checks a local policy as Policy.Validate does a global one.
func (lp *LocalPolicy) Validate() error {
	var l errs.List
	lp.validate(&l, nil)
	return l.Err()
}

func (lp *LocalPolicy) validate(l *errs.List, paths []string) {
	validateData(l, func(i int) string {
		if i < len(paths) {
			return paths[i]
		}
		return index("actions", i)
	}, lp.Data, true)
	if lp.Subscription != nil {
		validateSubscription(l, "subscription", lp.Subscription)
	}
}

// DecodeHandlerV1 reads a policy handler object in its rule-object form:
// {"dataSourceId": 1, "jsonRules": [...]}, where each rule has a type
// (prerequisite, visibility, masking, or additional with name minimization
// or time), an operator and conditions. The parameters these rules leave to
// the data source go in an optional "policyHandler" object beside them:
// maskingConfiguration (per column: Consistent Value, Grouping, Regular
// Expression; Hash when a column has none) and additionalFilters
// (minimization {percent, hashPhrase}, time in seconds).
func DecodeHandlerV1(data []byte) (*LocalPolicy, error) {
	tree, isYAML, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	r := &reader{yaml: isYAML}
	o := obj{m: tree.(map[string]any)}
	masks := map[string]Masking{}
	var minimize *int64
	var hashPhrase string
	var seconds *int64
	if ph, ok := o.m["policyHandler"].(map[string]any); ok {
		po := obj{ph, "policyHandler"}
		for i, v := range r.list(po, "maskingConfiguration", true) {
			mo, ok := r.object(v, index(po.at("maskingConfiguration"), i))
			if !ok {
				continue
			}
			meta := obj{m: map[string]any{}, path: mo.at("metadata")}
			if mo.present("metadata") {
				meta, _ = r.object(mo.m["metadata"], mo.at("metadata"))
			}
			m := r.masking(mo, meta)
			if strings.EqualFold(string(m.Type), "Consistent Value") {
				m.Type = MaskHash
				if m.Constant != "" {
					m.Type = MaskConstant
				}
			}
			masks[r.required(mo, "name")] = m
		}
		if af, ok := po.m["additionalFilters"].(map[string]any); ok {
			ao := obj{af, po.at("additionalFilters")}
			if mm, ok := ao.m["minimization"].(map[string]any); ok {
				mo := obj{mm, ao.at("minimization")}
				minimize, hashPhrase = r.integer(mo, "percent"), r.str(mo, "hashPhrase")
			}
			seconds = r.integer(ao, "time")
		}
	}
	lp := &LocalPolicy{}
	for i, v := range r.list(o, "jsonRules", true) {
		ro, ok := r.object(v, index("jsonRules", i))
		if !ok {
			continue
		}
		cond := r.conditionV1(ro)
		var rules []Rule
		switch t := lowerEnum(r.str(ro, "type")); t {
		case "prerequisite":
			rules = []Rule{{Type: RulePurposeRestriction, Purpose: &PurposeRule{Operator: cond.Operator, Purposes: cond.Purposes}}}
		case "visibility":
			m := &RowMatchRule{Operator: cond.Operator}
			if lowerEnum(r.str(ro, "operator")) == "" {
				m.Operator = OpAll // as for global policies: every match must hold
			}
			for j, c := range r.list(ro, "conditions", true) {
				co, ok := r.object(c, index(ro.at("conditions"), j))
				if !ok {
					continue
				}
				mt := Match{Column: r.required(co, "field")}
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
				}
				m.Matches = append(m.Matches, mt)
			}
			rules = []Rule{{Type: RuleRowEntitlements, RowMatch: m}}
		case "masking":
			// One rule per masking function, fields grouped by their configuration.
			var groups []struct {
				m      Masking
				fields []FieldSelector
			}
			for _, name := range r.strings(ro, "fields") {
				m, ok := masks[name]
				if !ok {
					m = Masking{Type: MaskHash}
				}
				g := -1
				for k := range groups {
					if sameMasking(&groups[k].m, &m) {
						g = k
					}
				}
				if g < 0 {
					g = len(groups)
					groups = append(groups, struct {
						m      Masking
						fields []FieldSelector
					}{m: m})
				}
				groups[g].fields = append(groups[g].fields, FieldSelector{Type: FieldColumn, Column: name})
			}
			for _, g := range groups {
				rules = append(rules, Rule{Type: RuleMasking, Masking: &MaskingRule{Fields: g.fields, Masking: g.m}, Exceptions: nonEmpty(cond)})
			}
		case "additional":
			switch lowerEnum(r.str(ro, "name")) {
			case "minimization":
				p := -1
				if minimize != nil {
					p = int(clampInt(*minimize))
				}
				rules = []Rule{{Type: RuleMinimization, Minimization: &MinimizationRule{Percent: p, Column: hashPhrase}, Exceptions: nonEmpty(cond)}}
			case "time":
				var s int64
				if seconds != nil {
					s = *seconds
				}
				rules = []Rule{{Type: RuleTimeRestriction, Time: &TimeRule{IsOlderOrNewer: "newer", Seconds: s}, Exceptions: nonEmpty(cond)}}
			default:
				r.errs.Add(ro.at("name"), errs.CodeEnum, "%s must be minimization or time", ro.at("name"))
			}
		default:
			r.errs.Add(ro.at("type"), errs.CodeEnum, "%s must be prerequisite, visibility, masking or additional, not %q", ro.at("type"), t)
		}
		if len(rules) > 0 {
			lp.Data = append(lp.Data, DataAction{Rules: rules})
		}
	}
	if len(r.errs) > 0 {
		return nil, r.errs.Err()
	}
	return lp, lp.Validate()
}

func nonEmpty(c *Condition) *Condition {
	if c.empty() {
		return nil
	}
	return c
}
