package policy

import (
	"regexp"
	"strings"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy/expr"
)

// Validate checks everything about p that does not need the store: required
// fields, enum spellings, regular expressions and predicates. It returns every
// problem at once as an errs.Invalid error with dotted paths into the V2
// payload (e.g. "actions[0].rules[1].config.maskingConfig.regex").
// Whether named groups, purposes and tags exist is the caller's check; see
// References.
func (p *Policy) Validate() error {
	var l errs.List
	p.validate(&l)
	return l.Err()
}

// validateStored checks p as the engine loads it: like Validate, except
// that a predicate that no longer parses (saved before a check was made
// stricter) does not keep the policy out. Its rule is compiled closed
// instead (see Index.parse): ignoring the policy would drop everything it
// imposes.
func (p *Policy) validateStored() error {
	var l errs.List
	p.validate(&l)
	return withoutPredicateErrors(l).Err()
}

// withoutPredicateErrors drops what validatePredicate reported.
func withoutPredicateErrors(l errs.List) errs.List {
	out := l[:0:0]
	for _, f := range l {
		if f.Code == errs.CodeInvalid && strings.HasSuffix(strings.ToLower(f.Field), "predicate") && strings.Contains(f.Message, doesNotParse) {
			continue
		}
		out = append(out, f)
	}
	return out
}

const doesNotParse = " does not parse: "

func (p *Policy) validate(l *errs.List) {
	l.Require("policyKey", p.PolicyKey)
	l.Require("name", p.Name)
	switch p.Type {
	case TypeSubscription:
		if p.Subscription == nil {
			l.Add("actions", errs.CodeRequired, "actions is required")
		} else {
			validateSubscription(l, "actions", p.Subscription)
		}
	case TypeData:
		if len(p.Data) == 0 {
			l.Add("actions", errs.CodeRequired, "actions must have at least one action")
		}
		validateData(l, func(i int) string { return index("actions", i) }, p.Data, false)
	case "":
		l.Add("type", errs.CodeRequired, "type is required")
	default:
		l.Add("type", errs.CodeEnum, "type must be subscription or data, not %q", p.Type)
	}
	switch p.CircumstanceOperator {
	case "", OpAll, OpAny:
	default:
		l.Add("circumstanceOperator", errs.CodeEnum, "circumstanceOperator must be all or any, not %q", p.CircumstanceOperator)
	}
	for i, c := range p.Circumstances {
		validateCircumstance(l, index("circumstances", i), c)
	}
	if o := p.OwnerRestrictions; o != nil {
		for i, u := range o.Users {
			if strings.TrimSpace(u.Username) == "" && strings.TrimSpace(u.IAMID) == "" {
				l.Add(index("ownerRestrictions.users", i)+".username", errs.CodeRequired, "an owner restriction user needs a username")
			}
		}
		for i, g := range o.Groups {
			l.Require(index("ownerRestrictions.groups", i), g)
		}
	}
}

func validateCircumstance(l *errs.List, path string, c Circumstance) {
	switch c.Type {
	case CircTags:
		validateTag(l, path+".tag", c.Tag)
	case CircColumnTags:
		validateTag(l, path+".columnTag", c.Tag)
	case CircColumnRegex:
		validateRegex(l, path+".regex", c.Regex, c.CaseInsensitive)
	case CircServer:
		l.Require(path+".server", c.Server)
	case CircTime:
		if c.StartDate == nil {
			l.Add(path+".startDate", errs.CodeRequired, "%s.startDate is required", path)
		} else if c.EndDate != nil && c.EndDate.Before(*c.StartDate) {
			l.Add(path+".endDate", errs.CodeInvalid, "%s.endDate is before startDate", path)
		}
	case CircAnyTag, CircNoTags:
	case "":
		l.Add(path+".type", errs.CodeRequired, "%s.type is required", path)
	default:
		l.Add(path+".type", errs.CodeEnum, "%s.type must be one of tags, columnTags, columnRegex, anyTag, noTags, server, time; not %q", path, c.Type)
	}
}

func validateTag(l *errs.List, path, tag string) {
	if strings.TrimSpace(tag) == "" {
		l.Add(path, errs.CodeRequired, "%s is required", path)
		return
	}
	for _, seg := range strings.Split(tag, ".") {
		if strings.TrimSpace(seg) == "" {
			l.Add(path, errs.CodeInvalid, "%s %q has an empty segment", path, tag)
			return
		}
	}
}

func validateRegex(l *errs.List, path, re string, ci bool) {
	if re == "" {
		l.Add(path, errs.CodeRequired, "%s is required", path)
		return
	}
	if _, err := compileRegex(re, ci); err != nil {
		l.Add(path, errs.CodeInvalid, "%s does not compile: %v", path, err)
	}
}

func compileRegex(re string, ci bool) (*regexp.Regexp, error) {
	if ci {
		re = "(?i)" + re
	}
	return regexp.Compile(re)
}

func validateSubscription(l *errs.List, path string, s *SubscriptionAction) {
	switch s.AccessGrant {
	case "", GrantRead, GrantWrite:
	default:
		l.Add(path+".accessGrant", errs.CodeEnum, "%s.accessGrant must be READ or WRITE, not %q", path, s.AccessGrant)
	}
	switch s.Type {
	case SubAnyone, SubManual:
	case SubApproval:
		if len(s.Approvals) == 0 {
			l.Add(path+".approvals", errs.CodeRequired, "%s.approvals needs at least one approval", path)
		}
	case SubEntitlements:
		hasEnt := s.Entitlements != nil && !s.Entitlements.empty()
		switch {
		case s.Advanced != "" && hasEnt:
			l.Add(path+".advanced", errs.CodeInvalid, "give %s.entitlements or %s.advanced, not both", path, path)
		case s.Advanced != "":
			if _, err := ParseAdvanced(s.Advanced); err != nil {
				l.Add(path+".advanced", errs.CodeInvalid, "%s does not parse: %v", path+".advanced", err)
			}
		case !hasEnt:
			l.Add(path+".entitlements", errs.CodeRequired, "%s.entitlements needs groups, attributes or purposes (or give %s.advanced)", path, path)
		}
	case "":
		l.Add(path+".type", errs.CodeRequired, "%s.type is required", path)
	default:
		l.Add(path+".type", errs.CodeEnum, "%s.type must be one of anyone, approval, entitlements, manual; not %q", path, s.Type)
	}
	if s.Entitlements != nil {
		validateCondition(l, path+".entitlements", s.Entitlements)
	}
	for i, a := range s.Approvals {
		l.Require(index(path+".approvals", i)+".requiredPermission", a.RequiredPermission)
	}
}

func (c *Condition) empty() bool {
	return c == nil || len(c.Groups) == 0 && len(c.Attributes) == 0 && len(c.Purposes) == 0
}

func validateCondition(l *errs.List, path string, c *Condition) {
	switch c.Operator {
	case "", OpAll, OpAny:
	default:
		l.Add(path+".operator", errs.CodeEnum, "%s.operator must be any or all, not %q", path, c.Operator)
	}
	for i, g := range c.Groups {
		l.Require(index(path+".groups", i), g)
	}
	for i, a := range c.Attributes {
		l.Require(index(path+".attributes", i)+".name", a.Name)
		l.Require(index(path+".attributes", i)+".value", a.Value)
	}
	for i, p := range c.Purposes {
		l.Require(index(path+".purposes", i), p)
	}
}

func validateData(l *errs.List, pathOf func(int) string, actions []DataAction, local bool) {
	for i, a := range actions {
		ap := pathOf(i)
		if len(a.Rules) == 0 {
			l.Add(ap+".rules", errs.CodeRequired, "%s.rules needs at least one rule", ap)
		}
		for j, r := range a.Rules {
			validateRule(l, index(ap+".rules", j), r, local)
		}
	}
}

func validateRule(l *errs.List, path string, r Rule, local bool) {
	cfg := path + ".config"
	if r.Exceptions != nil {
		validateCondition(l, path+".exceptions", r.Exceptions)
	}
	if r.Inclusions != nil {
		validateCondition(l, path+".inclusions", r.Inclusions)
	}
	switch r.Type {
	case RuleMasking:
		m := r.Masking
		if len(m.Fields) == 0 {
			l.Add(cfg+".fields", errs.CodeRequired, "%s.fields needs at least one column selector", cfg)
		}
		for i, f := range m.Fields {
			validateField(l, index(cfg+".fields", i), f, local)
		}
		if m.ConditionalPredicate != "" {
			validatePredicate(l, cfg+".conditionalPredicate", m.ConditionalPredicate)
		}
		validateMasking(l, cfg+".maskingConfig", m.Masking)
	case RuleMinimization:
		if r.Minimization.Percent < 0 {
			l.Add(cfg+".percent", errs.CodeRequired, "%s.percent is required", cfg)
		} else if r.Minimization.Percent < 1 || r.Minimization.Percent > 100 {
			l.Add(cfg+".percent", errs.CodeInvalid, "%s.percent must be between 1 and 100", cfg)
		}
	case RulePurposeRestriction:
		switch r.Purpose.Operator {
		case "", OpAll, OpAny:
		default:
			l.Add(cfg+".operator", errs.CodeEnum, "%s.operator must be any or all, not %q", cfg, r.Purpose.Operator)
		}
		if len(r.Purpose.Purposes) == 0 {
			l.Add(cfg+".purposes", errs.CodeRequired, "%s.purposes needs at least one purpose", cfg)
		}
		for i, p := range r.Purpose.Purposes {
			l.Require(index(cfg+".purposes", i), p)
		}
	case RuleTimeRestriction:
		switch r.Time.IsOlderOrNewer {
		case "older", "newer":
		case "":
			l.Add(cfg+".isOlderOrNewer", errs.CodeRequired, "%s.isOlderOrNewer is required", cfg)
		default:
			l.Add(cfg+".isOlderOrNewer", errs.CodeEnum, "%s.isOlderOrNewer must be older or newer, not %q", cfg, r.Time.IsOlderOrNewer)
		}
		if r.Time.Seconds <= 0 {
			l.Add(cfg+".time", errs.CodeRequired, "%s.time must be a positive number of seconds", cfg)
		}
	case RuleRowEntitlements:
		switch r.RowMatch.Operator {
		case "", OpAll, OpAny:
		default:
			l.Add(cfg+".operator", errs.CodeEnum, "%s.operator must be all or any, not %q", cfg, r.RowMatch.Operator)
		}
		if len(r.RowMatch.Matches) == 0 {
			l.Add(cfg+".matches", errs.CodeRequired, "%s.matches is required", cfg)
		}
		for i, m := range r.RowMatch.Matches {
			mp := cfg + ".matches"
			if len(r.RowMatch.Matches) > 1 {
				mp = index(mp, i)
			}
			switch m.Type {
			case MatchGroup, MatchPurpose:
			case MatchAttribute:
				l.Require(mp+".attribute", m.Attribute)
			case "":
				l.Add(mp+".type", errs.CodeRequired, "%s.type is required", mp)
			default:
				l.Add(mp+".type", errs.CodeEnum, "%s.type must be group, attribute or purpose, not %q", mp, m.Type)
			}
			if local && m.Column != "" {
				continue
			}
			validateTag(l, mp+".tag", m.Tag)
		}
	case RuleRowCustomWhere:
		if strings.TrimSpace(r.CustomWhere.Predicate) == "" {
			l.Add(cfg+".predicate", errs.CodeRequired, "%s.predicate is required", cfg)
		} else {
			validatePredicate(l, cfg+".predicate", r.CustomWhere.Predicate)
		}
	case "":
		l.Add(path+".type", errs.CodeRequired, "%s.type is required", path)
	default:
		l.Add(path+".type", errs.CodeEnum, "%s.type must be one of %s; not %q", path, ruleTypeList, r.Type)
	}
}

const ruleTypeList = "Masking, Minimization, Purpose Restriction, Time Restriction, Row Restriction By User Entitlements, Row Restriction by Custom Where Clause"

func validatePredicate(l *errs.List, path, s string) {
	if _, err := expr.Parse(s); err != nil {
		l.Add(path, errs.CodeInvalid, "%s"+doesNotParse+"%v", path, err)
	}
}

func validateField(l *errs.List, path string, f FieldSelector, local bool) {
	switch f.Type {
	case FieldColumnTags:
		validateTag(l, path+".columnTag", f.ColumnTag)
	case FieldColumnRegex:
		validateRegex(l, path+".regex", f.Regex, f.CaseInsensitive)
	case FieldAnyTag, FieldNoTags, FieldAllColumns:
	case FieldColumn:
		l.Require(path+".name", f.Column)
	case "":
		l.Add(path+".type", errs.CodeRequired, "%s.type is required", path)
	default:
		l.Add(path+".type", errs.CodeEnum, "%s.type must be one of columnTags, columnRegex, anyTag, noTags, allColumns; not %q", path, f.Type)
	}
	_ = local
}

var timePrecisions = map[string]bool{"MIN": true, "MINUTE": true, "HOUR": true, "DAY": true, "WEEK": true, "MONTH": true, "YEAR": true}

func validateMasking(l *errs.List, path string, m Masking) {
	switch m.Type {
	case MaskHash, MaskNull, MaskFormatPreserving, MaskReversible:
	case MaskConstant:
		if m.Constant == "" {
			l.Add(path+".constant", errs.CodeRequired, "%s.constant is required", path)
		}
	case MaskRegex:
		validateRegex(l, path+".regex", m.Regex, m.CaseInsensitive)
	case MaskGrouping:
		if m.TimePrecision != "" && m.BucketSize != nil {
			l.Add(path, errs.CodeInvalid, "%s takes timePrecision or bucketSize, not both", path)
		}
		if m.TimePrecision != "" && !timePrecisions[m.TimePrecision] {
			l.Add(path+".timePrecision", errs.CodeEnum, "%s.timePrecision must be one of MINUTE, HOUR, DAY, WEEK, MONTH, YEAR; not %q", path, m.TimePrecision)
		}
		if m.BucketSize != nil && *m.BucketSize <= 0 {
			l.Add(path+".bucketSize", errs.CodeInvalid, "%s.bucketSize must be positive", path)
		}
	case MaskRandomized:
		switch {
		case m.ReplacementRatePercent != nil && m.Stddev != nil:
			l.Add(path, errs.CodeInvalid, "%s takes replacementRatePercent or stddev, not both", path)
		case m.ReplacementRatePercent != nil:
			if v := *m.ReplacementRatePercent; v <= 0 || v > 100 {
				l.Add(path+".replacementRatePercent", errs.CodeInvalid, "%s.replacementRatePercent must be above 0 and at most 100", path)
			}
		case m.Stddev != nil:
			if *m.Stddev <= 0 {
				l.Add(path+".stddev", errs.CodeInvalid, "%s.stddev must be positive", path)
			}
		default:
			l.Add(path+".replacementRatePercent", errs.CodeRequired, "%s needs replacementRatePercent or stddev", path)
		}
	case MaskKAnonymization:
		if m.KLevel != nil && m.ReIDProbability != nil {
			l.Add(path, errs.CodeInvalid, "%s takes kLevel or reIdProbability, not both", path)
		}
		if m.KLevel != nil && *m.KLevel < 2 {
			l.Add(path+".kLevel", errs.CodeInvalid, "%s.kLevel must be at least 2", path)
		}
		if v := m.ReIDProbability; v != nil && (*v <= 0 || *v > 100) {
			l.Add(path+".reIdProbability", errs.CodeInvalid, "%s.reIdProbability must be above 0 and at most 100", path)
		}
	case "":
		l.Add(path+".type", errs.CodeRequired, "%s.type is required", path)
	default:
		l.Add(path+".type", errs.CodeEnum, "%s.type must be one of Hash, Null, Constant, Regular Expression, Grouping, Format Preserving Masking, Reversible, Randomized Response, K-Anonymization; not %q", path, m.Type)
	}
}
