package policy

import (
	"math"
	"strings"
	"sync"

	"github.com/custosdata/custos/internal/policy/expr"
)

// compiled is a policy prepared for matching and planning: tags interned,
// regexes cached, predicates parsed, exceptions turned into conditions.
type compiled struct {
	ref          *PolicyRef
	staged       bool
	ownerApplied bool
	anyOp        bool
	circs        []compiledCirc
	ownerUsers   []UserRef
	ownerGroups  map[string]bool
	restricted   bool
	sub          *compiledSub
	rules        []*compiledRule
	canonical    []byte      // the policy's V2 JSON, to spot an unchanged upsert
	set          compiledSet // the same, as a contributor to plans
}

type compiledCirc struct {
	typ        CircumstanceType
	tag        uint32
	re         *regexCache
	server     string
	start, end int64 // unix nanoseconds
}

type compiledSub struct {
	typ       SubscriptionType
	grant     AccessGrant
	who       Cond
	approvals []Approval
	auto      bool
	discover  bool
	share     bool
	ref       *RuleRef
}

type compiledRule struct {
	ref       *RuleRef
	typ       RuleType
	appliesTo Cond
	// Masking
	fields  []compiledField
	masking *Masking
	rowsIf  expr.Expr
	// Minimization
	percent    int
	hashColumn string
	// Purpose Restriction
	purposes Cond
	// Time Restriction
	seconds int64
	newer   bool
	// Row Restriction By User Entitlements
	matches  []compiledMatch
	matchAny bool
	// Row Restriction by Custom Where Clause
	where expr.Expr
	// broken says why the rule cannot apply as written anywhere (a stored
	// predicate that no longer parses, a pattern PostgreSQL rejects): it is
	// planned closed on every data source (see closedRow, closedMask).
	broken string
	// plainMask is the MaskRule of a masking rule without a conditional
	// predicate, and purposeRow the RowRule of a purpose restriction: the same
	// on every data source.
	plainMask  *MaskRule
	purposeRow *RowRule
	// cache holds what the rule gives on data sources, by the columns it
	// resolves to (see shared): many data sources share column names.
	cache sync.Map
}

// shared returns the value cached under key, making it with mk the first time.
func (r *compiledRule) shared(key string, mk func() any) any {
	if v, ok := r.cache.Load(key); ok {
		return v
	}
	v, _ := r.cache.LoadOrStore(key, mk())
	return v
}

type compiledField struct {
	typ    FieldType
	tag    uint32
	re     *regexCache
	column string
}

type compiledMatch struct {
	Match
	tag uint32
}

// regexFor returns the shared cache of a regex, creating it.
func (ix *Index) regexFor(pattern string, ci bool) *regexCache {
	key := pattern
	if ci {
		key = "(?i)" + pattern
	}
	c, ok := ix.regexes[key]
	if !ok {
		re, err := compileRegex(pattern, ci)
		if err != nil {
			re = regexpNever
		}
		c = &regexCache{re: re}
		ix.regexes[key] = c
	}
	c.refs++
	c.extend(ix.names.strs)
	return c
}

// release drops the regex caches a compiled policy holds.
func (ix *Index) release(c *compiled) {
	drop := func(rc *regexCache) {
		if rc == nil {
			return
		}
		rc.refs--
		if rc.refs == 0 {
			for k, v := range ix.regexes {
				if v == rc {
					delete(ix.regexes, k)
				}
			}
		}
	}
	for _, ci := range c.circs {
		drop(ci.re)
	}
	for _, r := range c.rules {
		for _, f := range r.fields {
			drop(f.re)
		}
	}
}

func (ix *Index) compile(id int64, p *Policy) *compiled {
	c := &compiled{ref: &PolicyRef{ID: id, Key: p.PolicyKey, Name: p.Name}, staged: p.Staged,
		ownerApplied: p.OwnerApplied, anyOp: p.CircumstanceOperator == OpAny}
	for _, ci := range p.Circumstances {
		cc := compiledCirc{typ: ci.Type, server: normServer(ci.Server), start: math.MinInt64, end: math.MaxInt64}
		switch ci.Type {
		case CircTags, CircColumnTags:
			cc.tag = ix.tags.intern(ci.Tag)
		case CircColumnRegex:
			cc.re = ix.regexFor(ci.Regex, ci.CaseInsensitive)
		case CircTime:
			if ci.StartDate != nil {
				cc.start = ci.StartDate.UnixNano()
			}
			if ci.EndDate != nil {
				cc.end = ci.EndDate.UnixNano()
			}
		}
		c.circs = append(c.circs, cc)
	}
	if o := p.OwnerRestrictions; o != nil && (len(o.Users) > 0 || len(o.Groups) > 0) {
		c.restricted = true
		c.ownerUsers = o.Users
		c.ownerGroups = map[string]bool{}
		for _, g := range o.Groups {
			c.ownerGroups[g] = true
		}
	}
	if p.Type == TypeSubscription && p.Subscription != nil {
		c.sub = compileSub(p.Subscription, &RuleRef{Policy: *c.ref})
	}
	c.rules = ix.compileRules(c.ref, p.Data)
	c.set = compiledSet{ref: c.ref, sub: c.sub, rules: c.rules}
	return c
}

func normServer(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func compileSub(s *SubscriptionAction, ref *RuleRef) *compiledSub {
	cs := &compiledSub{typ: s.Type, grant: s.AccessGrant, approvals: s.Approvals, auto: s.AutomaticSubscription,
		discover: s.AllowDiscovery, share: s.ShareResponsibility, ref: ref, who: True{}}
	if cs.grant == "" {
		cs.grant = GrantRead
	}
	if s.Type == SubEntitlements {
		if s.Advanced != "" {
			if who, err := ParseAdvanced(s.Advanced); err == nil {
				cs.who = who
			} else {
				cs.who = False{} // unreachable for validated policies; fail closed
			}
		} else if w := s.Entitlements.Cond(); w != nil {
			cs.who = w
		}
	}
	return cs
}

func (ix *Index) compileRules(ref *PolicyRef, actions []DataAction) []*compiledRule {
	var out []*compiledRule
	for ai, a := range actions {
		for ri, r := range a.Rules {
			cr := &compiledRule{ref: &RuleRef{Policy: *ref, Action: ai, Rule: ri}, typ: r.Type}
			var inc, exc Cond
			if r.Inclusions != nil {
				inc = r.Inclusions.Cond()
			}
			if r.Exceptions != nil {
				if e := r.Exceptions.Cond(); e != nil {
					exc = NotOf(e)
				}
			}
			cr.appliesTo = AllOf(inc, exc)
			switch r.Type {
			case RuleMasking:
				m := r.Masking.Masking
				cr.masking = &m
				for _, f := range r.Masking.Fields {
					cf := compiledField{typ: f.Type, column: f.Column}
					switch f.Type {
					case FieldColumnTags:
						cf.tag = ix.tags.intern(f.ColumnTag)
					case FieldColumnRegex:
						cf.re = ix.regexFor(f.Regex, f.CaseInsensitive)
					}
					cr.fields = append(cr.fields, cf)
				}
				if r.Masking.ConditionalPredicate != "" {
					cr.rowsIf, cr.broken = ix.parse(r.Masking.ConditionalPredicate)
				}
				if m.Type == MaskRegex {
					if err := CheckPostgresRegex(m.Regex); err != nil {
						cr.broken = "the regular expression cannot be enforced: " + err.Error()
					}
				}
			case RuleMinimization:
				cr.percent, cr.hashColumn = r.Minimization.Percent, r.Minimization.Column
			case RulePurposeRestriction:
				c := &Condition{Operator: r.Purpose.Operator, Purposes: r.Purpose.Purposes}
				cr.purposes = c.Cond()
			case RuleTimeRestriction:
				cr.seconds, cr.newer = r.Time.Seconds, r.Time.IsOlderOrNewer != "older"
			case RuleRowEntitlements:
				cr.matchAny = r.RowMatch.Operator == OpAny
				for _, m := range r.RowMatch.Matches {
					cm := compiledMatch{Match: m}
					if m.Tag != "" {
						cm.tag = ix.tags.intern(m.Tag)
					}
					cr.matches = append(cr.matches, cm)
				}
			case RuleRowCustomWhere:
				cr.where, cr.broken = ix.parse(r.CustomWhere.Predicate)
			default:
				continue
			}
			switch {
			case cr.typ == RuleMasking && cr.broken != "":
				cr.plainMask = closedMask(cr, cr.broken)
			case cr.typ == RuleMasking && cr.rowsIf == nil:
				cr.plainMask = &MaskRule{AppliesTo: cr.appliesTo, Masking: cr.masking, Source: cr.ref}
			case cr.typ == RulePurposeRestriction:
				cr.purposeRow = &RowRule{Kind: RowPurpose, AppliesTo: AllOf(NotOf(cr.purposes), cr.appliesTo), Where: expr.Bool{Value: false}, Source: cr.ref}
			}
			out = append(out, cr)
		}
	}
	return out
}

// parse parses a predicate validated when it was saved; should it fail now
// (a check made stricter since), broken says why, and the rule is planned
// closed: it hides everything it governs rather than nothing.
func (ix *Index) parse(s string) (e expr.Expr, broken string) {
	e, err := expr.Parse(s)
	if err != nil {
		return expr.Bool{Value: false}, "the predicate does not parse: " + err.Error()
	}
	for _, t := range expr.ColumnTags(e) {
		ix.tags.intern(t)
	}
	return e, ""
}

// closedMask is what a masking rule that cannot apply as written masks
// with: NULL on every row, for the users it applies to.
func closedMask(r *compiledRule, why string) *MaskRule {
	return &MaskRule{AppliesTo: r.appliesTo, Masking: &Masking{Type: MaskNull}, Source: r.ref, Closed: why}
}
