package policy

import (
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/policy/expr"
)

// buildPlan applies the local policy and the matched global policies of s.
// It reads the index but changes nothing, so plans build in parallel.
func (ix *Index) buildPlan(s *source) *Plan {
	p, contributors := ix.startPlan(s, nil)
	b := &planner{ix: ix, s: s, p: p, entries: make([]maskEntry, 0, 16)}
	for ci, c := range contributors {
		for _, r := range c.rules {
			b.rule(ci, r)
		}
	}
	b.columns()
	return p
}

// columns groups the mask entries by column, in column order, sharing one
// backing array for the masks and one for the disabled rules.
func (b *planner) columns() {
	if len(b.entries) == 0 {
		return
	}
	n := len(b.s.cols)
	count := make([]int32, 2*(n+1)) // masks per column, then disabled per column
	nmasks, ndisabled := 0, 0
	for _, e := range b.entries {
		if e.disabled {
			count[n+1+e.col+1]++
			ndisabled++
		} else {
			count[e.col+1]++
			nmasks++
		}
	}
	mc, dc := count[:n+1], count[n+1:]
	for i := 1; i <= n; i++ {
		mc[i] += mc[i-1]
		dc[i] += dc[i-1]
	}
	masks := make([]*MaskRule, nmasks)
	var disabled []*RuleRef
	if ndisabled > 0 {
		disabled = make([]*RuleRef, ndisabled)
	}
	mnext := append([]int32(nil), mc...)
	dnext := append([]int32(nil), dc...)
	ncols := 0
	// Mandatory global policies' masks first, then those owners applied,
	// then the data source's own: what an owner chose decides only where
	// governance leaves the value unmasked.
	for rank := range ranks {
		for _, e := range b.entries {
			if e.rank != rank {
				continue
			}
			if e.disabled {
				disabled[dnext[e.col]] = e.rule.Source
				dnext[e.col]++
			} else {
				if mnext[e.col] == mc[e.col] {
					ncols++
				}
				masks[mnext[e.col]] = e.rule
				mnext[e.col]++
			}
		}
	}
	plans := make([]ColumnPlan, 0, ncols)
	b.p.Columns = make([]*ColumnPlan, 0, ncols)
	for i := range b.s.cols {
		if lo, hi := mc[i], mc[i+1]; hi > lo {
			col := b.s.cols[i]
			cp := ColumnPlan{Column: b.ix.names.strs[col.name], Type: b.ix.strs.strs[col.typ], Masks: masks[lo:hi:hi], col: int32(i)}
			if dlo, dhi := dc[i], dc[i+1]; dhi > dlo {
				cp.Disabled = disabled[dlo:dhi:dhi]
			}
			plans = append(plans, cp)
			b.p.Columns = append(b.p.Columns, &plans[len(plans)-1])
		}
	}
}

// startPlan lists the contributors of s in precedence order (local policy
// first, then global ones by id) and plans the subscriptions.
// The policy list of prev is shared when it is the same.
func (ix *Index) startPlan(s *source, prev *Plan) (*Plan, []*compiledSet) {
	p := &Plan{DataSource: s.id}
	n := len(s.matched)
	if s.local != nil {
		n++
	}
	contributors := make([]*compiledSet, 0, n)
	if s.local != nil {
		contributors = append(contributors, &s.local.set)
	}
	for _, c := range s.matched {
		contributors = append(contributors, &c.set)
	}
	same := prev != nil && len(prev.Policies) == n
	for i := 0; same && i < n; i++ {
		same = *prev.Policies[i] == *contributors[i].ref
	}
	if same {
		p.Policies = prev.Policies
	} else {
		p.Policies = make([]*PolicyRef, n)
		for i, c := range contributors {
			p.Policies[i] = c.ref
		}
	}
	ix.planSubscriptions(p, contributors)
	return p, contributors
}

type compiledSet struct {
	ref   *PolicyRef
	sub   *compiledSub
	rules []*compiledRule
}

var subscriptionRank = map[SubscriptionType]int{SubAnyone: 0, SubEntitlements: 1, SubApproval: 2, SubManual: 3}

// planSubscriptions merges the subscription policies per grant. Global
// policies override the data source's own subscription policy; several global
// ones merge: the most restrictive type wins, conditions of policies that
// are always required are all needed, and it is enough to meet one of the
// policies that share responsibility.
func (ix *Index) planSubscriptions(p *Plan, cs []*compiledSet) {
	for _, grant := range []AccessGrant{GrantRead, GrantWrite} {
		var local *compiledSub
		var subs []*compiledSub
		for _, c := range cs {
			if c.sub == nil || c.sub.grant != grant {
				continue
			}
			if c.ref.Local {
				local = c.sub
			} else {
				subs = append(subs, c.sub)
			}
		}
		if len(subs) > 0 && local != nil {
			p.Conflicts = append(p.Conflicts, Conflict{Kind: ConflictLocalSubscription, Grant: grant,
				Winner: subs[0].ref, Loser: local.ref})
		}
		if len(subs) == 0 && local != nil {
			subs = []*compiledSub{local}
		}
		if len(subs) == 0 {
			continue
		}
		a := &Access{Type: SubAnyone, AutomaticSubscription: true, AllowDiscovery: true}
		var required, shared []Cond
		seen := map[Approval]bool{}
		for _, s := range subs {
			if subscriptionRank[s.typ] > subscriptionRank[a.Type] {
				a.Type = s.typ
			}
			if s.share && s.typ != SubManual {
				shared = append(shared, s.who)
			} else {
				required = append(required, s.who)
			}
			for _, ap := range s.approvals {
				if !seen[ap] {
					seen[ap] = true
					a.Approvals = append(a.Approvals, ap)
				}
			}
			a.AutomaticSubscription = a.AutomaticSubscription && s.auto
			a.AllowDiscovery = a.AllowDiscovery && s.discover
			a.Policies = append(a.Policies, &s.ref.Policy)
		}
		if len(shared) > 0 {
			required = append(required, AnyOf(shared...))
		}
		a.Who = AllOf(required...)
		if a.Type == SubApproval || a.Type == SubManual {
			a.AutomaticSubscription = false
		}
		if len(subs) > 1 {
			p.Conflicts = append(p.Conflicts, Conflict{Kind: ConflictSubscriptionMerged, Grant: grant, Policies: a.Policies})
		}
		if grant == GrantRead {
			p.Read = a
		} else {
			p.Write = a
		}
	}
}

type planner struct {
	ix      *Index
	s       *source
	p       *Plan
	owner   []int32 // per column: index of the contributor whose masks it carries, -1 none
	entries []maskEntry
}

// maskEntry is a mask rule planned for a column, or (disabled) a rule that
// lost the column to an earlier policy.
type maskEntry struct {
	col      int
	rule     *MaskRule
	disabled bool
	rank     int8 // see rank
}

// Ranks of the policies masking a column, in the order of its chain:
// global policies that apply by their circumstances, then global policies
// that apply because an owner applied them (circumstances null), then the
// data source's own. Only the first may displace one another; the others
// add, after them.
const (
	rankMandatory int8 = iota
	rankOwnerApplied
	rankLocal
	ranks
)

// rank is the rank of contributor ci (see startPlan for their order).
func (b *planner) rank(ci int) int8 {
	if b.s.local != nil {
		if ci == 0 {
			return rankLocal
		}
		ci--
	}
	if ci < len(b.s.matched) && b.s.matched[ci].ownerApplied {
		return rankOwnerApplied
	}
	return rankMandatory
}

func (b *planner) skip(r *compiledRule, format string, args ...any) {
	b.p.Skipped = append(b.p.Skipped, Skip{Source: r.ref, Reason: fmt.Sprintf(format, args...)})
}

// closeSkip reports a rule that is enforced closed.
func (b *planner) closeSkip(r *compiledRule, why string) {
	b.p.Skipped = append(b.p.Skipped, Skip{Source: r.ref, Reason: why, Closed: true})
}

func (b *planner) colName(i int) string { return b.ix.names.strs[b.s.cols[i].name] }

// taggedColumn finds the first column (in column order) carrying tag or a
// descendant of it.
func (b *planner) taggedColumn(tag uint32) int {
	if !containsSorted(b.s.colClosure, tag) {
		return -1
	}
	for i := range b.s.cols {
		for _, t := range b.s.colTagIDs(i) {
			if b.ix.tags.under(t, tag) {
				return i
			}
		}
	}
	return -1
}

// columnNamed finds a column by exact name, else by a unique case-insensitive match.
func (b *planner) columnNamed(name string) int {
	if id, ok := b.ix.names.ids[name]; ok {
		for i, c := range b.s.cols {
			if c.name == id {
				return i
			}
		}
	}
	found := -1
	for i := range b.s.cols {
		if strings.EqualFold(b.colName(i), name) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

// resolve replaces @columnTagged and column names in e by the data source's
// columns; missing says why when one cannot be found, and named whether a
// column named by name is missing (a mistake the rule is closed for) rather
// than only a tag no column carries (the rule is not about this data
// source). Resolved trees are cached on the rule by the columns they name,
// since many data sources share column names.
func (b *planner) resolve(r *compiledRule, e expr.Expr) (out expr.Expr, key, missing string, named bool) {
	var buf [8]int
	cols := buf[:0]
	var tagMissing string
	expr.ForColumns(e, func(n expr.Expr) {
		if missing != "" {
			return
		}
		i := -1
		switch n := n.(type) {
		case expr.ColumnTagged:
			if id, ok := b.ix.tags.ids[n.Tag]; ok {
				i = b.taggedColumn(id)
			}
			if i < 0 && tagMissing == "" {
				tagMissing = fmt.Sprintf("no column tagged %q", n.Tag)
			}
		case expr.Column:
			if i = b.columnNamed(n.Name); i < 0 {
				missing = fmt.Sprintf("no column named %q", n.Name)
			}
		}
		cols = append(cols, i)
	})
	if missing != "" {
		return nil, "", missing, true
	}
	if tagMissing != "" {
		return nil, "", tagMissing, false
	}
	var kb strings.Builder
	for _, i := range cols {
		kb.WriteString(b.colName(i))
		kb.WriteByte(0)
	}
	key = kb.String()
	out = r.shared("w:"+key, func() any {
		k := 0
		return expr.Map(e, func(n expr.Expr) expr.Expr {
			switch n.(type) {
			case expr.ColumnTagged, expr.Column:
				c := expr.Column{Name: b.colName(cols[k])}
				k++
				return c
			}
			return n
		})
	}).(expr.Expr)
	return out, key, "", false
}

func (b *planner) fieldSelects(f compiledField, i int) bool {
	tags := b.s.colTagIDs(i)
	switch f.typ {
	case FieldColumnTags:
		for _, t := range tags {
			if b.ix.tags.under(t, f.tag) {
				return true
			}
		}
	case FieldColumnRegex:
		return f.re.match(b.s.cols[i].name)
	case FieldAnyTag:
		return len(tags) > 0
	case FieldNoTags:
		return len(tags) == 0
	case FieldAllColumns:
		return true
	case FieldColumn:
		return b.colName(i) == f.column
	}
	return false
}

func (b *planner) rule(contributor int, r *compiledRule) {
	switch r.typ {
	case RuleMasking:
		b.mask(contributor, r)
	case RuleRowCustomWhere:
		if r.broken != "" {
			b.closedRow(r, RowWhere, r.broken)
			return
		}
		w, key, missing, named := b.resolve(r, r.where)
		switch {
		case named:
			b.closedRow(r, RowWhere, missing)
			return
		case missing != "":
			b.skip(r, "%s", missing)
			return
		}
		b.row(r, key, func() *RowRule { return &RowRule{Kind: RowWhere, AppliesTo: r.appliesTo, Where: w, Source: r.ref} })
	case RuleRowEntitlements:
		var key strings.Builder
		var buf [4]int
		cols := buf[:0]
		for _, m := range r.matches {
			i := -1
			what := fmt.Sprintf("no column named %q", m.Column)
			if m.Column != "" {
				i = b.columnNamed(m.Column)
			} else {
				i, what = b.taggedColumn(m.tag), fmt.Sprintf("no column tagged %q", m.Tag)
			}
			switch {
			case i < 0 && m.Column != "":
				b.closedRow(r, RowEntitlements, what)
				return
			case i < 0:
				b.skip(r, "%s", what)
				return
			}
			cols = append(cols, i)
			key.WriteString(b.colName(i))
			key.WriteByte(0)
		}
		b.row(r, key.String(), func() *RowRule {
			var parts []expr.Expr
			for k, m := range r.matches {
				col := expr.Column{Name: b.colName(cols[k])}
				switch m.Type {
				case MatchGroup:
					parts = append(parts, expr.Call{Func: expr.FnGroupsContains, Args: []expr.Expr{col}})
				case MatchAttribute:
					parts = append(parts, expr.Call{Func: expr.FnAttributeValuesContains, Args: []expr.Expr{expr.String{Value: m.Attribute}, col}})
				case MatchPurpose:
					parts = append(parts, expr.Call{Func: expr.FnPurposesContains, Args: []expr.Expr{col}})
				}
			}
			op := expr.OpAnd
			if r.matchAny {
				op = expr.OpOr
			}
			w := parts[0]
			for _, x := range parts[1:] {
				w = expr.Binary{Op: op, L: w, R: x}
			}
			return &RowRule{Kind: RowEntitlements, AppliesTo: r.appliesTo, Where: w, Source: r.ref}
		})
	case RulePurposeRestriction:
		// Users not acting under the purposes see no rows.
		b.p.Rows = append(b.p.Rows, r.purposeRow)
	case RuleTimeRestriction:
		if b.s.eventTime < 0 {
			b.skip(r, "the data source has no event-time column")
			return
		}
		col := b.colName(int(b.s.eventTime))
		b.row(r, col, func() *RowRule {
			return &RowRule{Kind: RowTime, AppliesTo: r.appliesTo, Source: r.ref, Time: &TimeFilter{Column: col, Seconds: r.seconds, Newer: r.newer}}
		})
	case RuleMinimization:
		i := -1
		if r.hashColumn != "" {
			if i = b.columnNamed(r.hashColumn); i < 0 {
				b.closedRow(r, RowMinimization, fmt.Sprintf("no column named %q", r.hashColumn))
				return
			}
		} else if b.s.highCard >= 0 {
			i = int(b.s.highCard)
		}
		var cols []string
		if i >= 0 {
			cols = []string{b.colName(i)}
		}
		b.row(r, strings.Join(cols, "\x00"), func() *RowRule {
			return &RowRule{Kind: RowMinimization, AppliesTo: r.appliesTo, Minimize: &MinimizeFilter{Percent: r.percent, Columns: cols}, Source: r.ref}
		})
	}
}

// closedRow stands in for a row rule that cannot apply as written on this
// data source: the users it applies to see no row. It is reported (Skipped).
func (b *planner) closedRow(r *compiledRule, kind RowKind, why string) {
	b.closeSkip(r, why)
	if _, never := r.appliesTo.(False); never {
		return
	}
	b.p.Rows = append(b.p.Rows, r.shared("closed:"+why, func() any {
		return &RowRule{Kind: kind, AppliesTo: r.appliesTo, Where: expr.Bool{Value: false}, Source: r.ref, Closed: why}
	}).(*RowRule))
}

// row adds the row rule r makes for this data source; key names the columns
// it depends on, so data sources with the same ones share one RowRule.
func (b *planner) row(r *compiledRule, key string, mk func() *RowRule) {
	if _, never := r.appliesTo.(False); never {
		return
	}
	b.p.Rows = append(b.p.Rows, r.shared("r:"+key, func() any { return mk() }).(*RowRule))
}

// maskTargets prepares a masking rule for this data source: its conditional
// predicate resolved and the field selectors that can select anything here.
// ok is false when the rule cannot apply (a skip is recorded if record).
func (b *planner) maskTargets(r *compiledRule, buf []compiledField, record bool) (m *MaskRule, fields []compiledField, ok bool) {
	var rows expr.Expr
	key := ""
	closed := r.broken
	if r.rowsIf != nil && closed == "" {
		var missing string
		var named bool
		rows, key, missing, named = b.resolve(r, r.rowsIf)
		switch {
		case named:
			// Where the condition cannot be evaluated, every row is masked.
			closed = missing
		case missing != "":
			// Only a tag no column carries: the rule is not about this
			// data source.
			if record {
				b.skip(r, "%s", missing)
			}
			return nil, nil, false
		}
	}
	fields = buf[:0]
	for _, f := range r.fields {
		if f.typ == FieldColumnTags && !containsSorted(b.s.colClosure, f.tag) {
			continue // no column carries the tag
		}
		fields = append(fields, f)
	}
	if len(fields) == 0 {
		return nil, nil, false
	}
	if closed != "" {
		if record {
			b.closeSkip(r, closed)
		}
		return r.shared("closed:"+closed, func() any { return closedMask(r, closed) }).(*MaskRule), fields, true
	}
	if r.rowsIf == nil {
		return r.plainMask, fields, true
	}
	m = r.shared("m:"+key, func() any {
		return &MaskRule{AppliesTo: r.appliesTo, Masking: r.masking, Rows: rows, Source: r.ref}
	}).(*MaskRule)
	return m, fields, true
}

func (b *planner) selects(fields []compiledField, i int) bool {
	for _, f := range fields {
		if b.fieldSelects(f, i) {
			return true
		}
	}
	return false
}

// claim applies the conflict rule to column i for a rule of contributor:
// the first global policy that applies by its circumstances to mask a
// column keeps it; later ones are reported. What an owner chose (the data
// source's own policy, a global policy they applied) never displaces those
// nor is displaced: its masks follow theirs in the column's chain (columns
// orders them by rank), so they only add restrictions where governance
// imposes none.
func (b *planner) claim(contributor int, r *compiledRule, m *MaskRule, i int) {
	if m.Closed == "" {
		typ := b.ix.strs.strs[b.s.cols[i].typ]
		if why := misfit(m.Masking, typ); why != "" {
			// What PostgreSQL can show of such a mask is NULL: the plan says
			// so, for the decision endpoints as for enforcement.
			m = r.shared("misfit:"+typ+":"+fmt.Sprint(m.Rows), func() any {
				return &MaskRule{AppliesTo: m.AppliesTo, Masking: &Masking{Type: MaskNull}, Rows: m.Rows, Source: m.Source,
					Closed: fmt.Sprintf("column %q is %s: %s, so it is shown as NULL", b.colName(i), typ, why)}
			}).(*MaskRule)
		}
	}
	if rank := b.rank(contributor); rank != rankMandatory {
		b.entries = append(b.entries, maskEntry{col: i, rule: m, rank: rank})
		return
	}
	if b.owner == nil {
		b.owner = make([]int32, len(b.s.cols))
		for i := range b.owner {
			b.owner[i] = -1
		}
	}
	switch b.owner[i] {
	case -1:
		b.owner[i] = int32(contributor)
	case int32(contributor):
	default:
		b.entries = append(b.entries, maskEntry{col: i, rule: m, disabled: true})
		return
	}
	b.entries = append(b.entries, maskEntry{col: i, rule: m})
}

func (b *planner) mask(contributor int, r *compiledRule) {
	var buf [4]compiledField
	m, fields, ok := b.maskTargets(r, buf[:], true)
	if !ok {
		return
	}
	for i := range b.s.cols {
		if b.selects(fields, i) {
			b.claim(contributor, r, m, i)
		}
	}
}

// Equal reports whether two plans decide the same.
func (p *Plan) Equal(q *Plan) bool {
	if p == nil || q == nil {
		return p == q
	}
	if p.DataSource != q.DataSource || len(p.Policies) != len(q.Policies) || len(p.Columns) != len(q.Columns) ||
		len(p.Rows) != len(q.Rows) || len(p.Conflicts) != len(q.Conflicts) || len(p.Skipped) != len(q.Skipped) {
		return false
	}
	if !equalRefs(p.Policies, q.Policies) {
		return false
	}
	if !p.Read.equal(q.Read) || !p.Write.equal(q.Write) {
		return false
	}
	for i, c := range p.Columns {
		d := q.Columns[i]
		if c == d {
			continue
		}
		if c.Column != d.Column || c.Type != d.Type || len(c.Masks) != len(d.Masks) || len(c.Disabled) != len(d.Disabled) {
			return false
		}
		for j := range c.Disabled {
			if !sameRef(c.Disabled[j], d.Disabled[j]) {
				return false
			}
		}
		for j, m := range c.Masks {
			n := d.Masks[j]
			if m == n {
				continue
			}
			if !sameRef(m.Source, n.Source) || !sameMasking(m.Masking, n.Masking) || !EqualCond(m.AppliesTo, n.AppliesTo) || !expr.Equal(m.Rows, n.Rows) || m.Closed != n.Closed {
				return false
			}
		}
	}
	for i, r := range p.Rows {
		s := q.Rows[i]
		if r == s {
			continue
		}
		if r.Kind != s.Kind || !sameRef(r.Source, s.Source) || !EqualCond(r.AppliesTo, s.AppliesTo) || !expr.Equal(r.Where, s.Where) || r.Closed != s.Closed {
			return false
		}
		if (r.Time == nil) != (s.Time == nil) || r.Time != nil && *r.Time != *s.Time {
			return false
		}
		if (r.Minimize == nil) != (s.Minimize == nil) || r.Minimize != nil && (r.Minimize.Percent != s.Minimize.Percent || !equalStrings(r.Minimize.Columns, s.Minimize.Columns)) {
			return false
		}
	}
	if !equalConflicts(p.Conflicts, q.Conflicts) {
		return false
	}
	for i, k := range p.Skipped {
		if k.Reason != q.Skipped[i].Reason || k.Closed != q.Skipped[i].Closed || !sameRef(k.Source, q.Skipped[i].Source) {
			return false
		}
	}
	return true
}

func equalConflicts(p, q []Conflict) bool {
	if len(p) != len(q) {
		return false
	}
	for i, c := range p {
		d := q[i]
		if c.Kind != d.Kind || c.Column != d.Column || c.Grant != d.Grant || !sameRef(c.Winner, d.Winner) || !sameRef(c.Loser, d.Loser) || !equalRefs(c.Policies, d.Policies) {
			return false
		}
	}
	return true
}

func (a *Access) equal(b *Access) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Type != b.Type || a.AutomaticSubscription != b.AutomaticSubscription || a.AllowDiscovery != b.AllowDiscovery ||
		!EqualCond(a.Who, b.Who) || !equalRefs(a.Policies, b.Policies) || len(a.Approvals) != len(b.Approvals) {
		return false
	}
	for i := range a.Approvals {
		if a.Approvals[i] != b.Approvals[i] {
			return false
		}
	}
	return true
}

func sameRef(a, b *RuleRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameMasking(a, b *Masking) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	return a.Type == b.Type && a.Constant == b.Constant && a.Regex == b.Regex && a.Replacement == b.Replacement &&
		a.CaseInsensitive == b.CaseInsensitive && a.Global == b.Global && a.TimePrecision == b.TimePrecision &&
		eqF(a.BucketSize, b.BucketSize) && eqF(a.ReplacementRatePercent, b.ReplacementRatePercent) && eqF(a.Stddev, b.Stddev) &&
		eqF(a.ReIDProbability, b.ReIDProbability) && eqP(a.Clip, b.Clip) && eqP(a.KLevel, b.KLevel)
}

func eqF(a, b *float64) bool { return eqP(a, b) }

func eqP[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalRefs(a, b []*PolicyRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if *a[i] != *b[i] {
			return false
		}
	}
	return true
}

// Column type families, as the catalog reports them (connector.Column's
// DataType).
var (
	numericTypes  = map[string]bool{"integer": true, "bigint": true, "numeric": true, "double precision": true}
	temporalTypes = map[string]bool{"date": true, "timestamp": true}
	knownTypes    = map[string]bool{"text": true, "integer": true, "bigint": true, "numeric": true, "double precision": true,
		"boolean": true, "date": true, "timestamp": true, "time": true, "interval": true, "json": true, "binary": true,
		"uuid": true, "inet": true, "array": true}
)

// misfit says why a masking function cannot apply to a column of type
// family typ (where PostgreSQL then shows NULL), or "" when it can or the
// type is not one custos knows (enforcement then decides on the live type).
func misfit(m *Masking, typ string) string {
	if !knownTypes[typ] {
		return ""
	}
	switch m.Type {
	case MaskGrouping:
		switch {
		case m.TimePrecision != "" && !temporalTypes[typ]:
			return "Grouping by " + m.TimePrecision + " needs a date or a timestamp"
		case m.TimePrecision == "" && m.BucketSize != nil && !numericTypes[typ]:
			return "Grouping by buckets needs numbers"
		case m.TimePrecision == "" && m.BucketSize == nil && !numericTypes[typ] && !temporalTypes[typ] && typ != "text":
			return "Grouping needs numbers, dates or text"
		}
	case MaskRandomized:
		if m.Stddev != nil && !numericTypes[typ] {
			return "Randomized Response with stddev needs numbers"
		}
	}
	return ""
}
