package policy

import (
	"github.com/custosdata/custos/internal/policy/expr"
)

// SubscribeStatus says how a user may get a grant on a data source.
type SubscribeStatus string

const (
	StatusAutomatic SubscribeStatus = "automatic" // subscribed without asking
	StatusAllowed   SubscribeStatus = "allowed"   // may subscribe on request, no approval
	StatusApproval  SubscribeStatus = "approval"  // may ask; approvers decide
	StatusManual    SubscribeStatus = "manual"    // only an owner's individual grant
	StatusDenied    SubscribeStatus = "denied"    // does not meet the conditions
	StatusNone      SubscribeStatus = "none"      // no subscription policy with this grant
)

// Decision is what a plan means for one user.
type Decision struct {
	DataSource int64 `json:"dataSource"`
	// Grant is the highest grant the user gets by policy alone, without an
	// approval or a manual grant: WRITE, READ or empty. WRITE includes READ.
	Grant AccessGrant    `json:"grant,omitempty"`
	Read  AccessDecision `json:"read"`
	Write AccessDecision `json:"write"`
	// Columns are the columns masked for this user, in column order.
	Columns []ColumnDecision `json:"columns,omitempty"`
	// Rows are the row filters for this user, user functions resolved.
	Rows []RowDecision `json:"rows,omitempty"`
	// NoRows is true when a row rule hides every row from this user.
	NoRows bool `json:"noRows,omitempty"`
	// Policies are those that affected this user, in precedence order.
	Policies []PolicyRef `json:"policies,omitempty"`
}

// AccessDecision is the outcome for one grant.
type AccessDecision struct {
	Status       SubscribeStatus `json:"status"`
	Approvals    []Approval      `json:"approvals,omitempty"`
	Discoverable bool            `json:"discoverable"`
}

// ColumnDecision is the mask a user gets on a column.
type ColumnDecision struct {
	Column  string   `json:"column"`
	Masking *Masking `json:"masking"`
	// Rows, when not nil, limits the mask to the rows where it holds.
	Rows   expr.Expr `json:"rows,omitempty"`
	Source *RuleRef  `json:"source"`
	// Otherwise is the mask of the rows Rows leaves out (nil: shown as is).
	Otherwise *ColumnDecision `json:"otherwise,omitempty"`
	// Closed, when set, says why the rule could not apply as written: the
	// mask shown (NULL) is what it does instead (MaskRule.Closed).
	Closed string `json:"closed,omitempty"`
}

// RowDecision is one row filter a user gets. Where is bound to the user: no
// user function is left in it.
type RowDecision struct {
	Kind     RowKind         `json:"kind"`
	Where    expr.Expr       `json:"where,omitempty"`
	Time     *TimeFilter     `json:"time,omitempty"`
	Minimize *MinimizeFilter `json:"minimize,omitempty"`
	Source   *RuleRef        `json:"source"`
	// Closed, when set, says why the rule could not apply as written: it
	// hides every row instead (RowRule.Closed).
	Closed string `json:"closed,omitempty"`
}

// Evaluate resolves a plan for one user.
//
// Mask rules: per column, the first rule that applies to the user gives the
// mask. A conditional mask (MaskRule.Rows) is bound to the user too; when it
// can never hold the next rule is tried; otherwise it stands, limited to
// those rows, and the next rules decide for the other rows (Otherwise). Row
// rules that apply to the user are bound: user functions become literals
// (@username is the user's name, @groupsContains(c) becomes c IN (groups),
// ...) and constant parts fold; a filter that folds to TRUE is dropped, one
// that folds to FALSE sets NoRows.
//
// Under an equalized project (e.Limited) the user is evaluated with both
// their own and their limited entitlements, so that the limit only ever
// takes away: access needs both (Qualifies); a mask or row rule applies
// when either set makes it apply (Applies). A conditional mask covers the
// rows it would cover under either set (the bound conditions ORed), and a
// row rule keeps only the rows its filter keeps under each set it applies
// under (the bound filters ANDed).
func Evaluate(p *Plan, e *Entitlements) *Decision {
	d := &Decision{DataSource: p.DataSource, Columns: make([]ColumnDecision, 0, len(p.Columns)), Rows: make([]RowDecision, 0, len(p.Rows))}
	used := make(usedSet, 0, 8)
	d.Read = access(p.Read, e, &used)
	d.Write = access(p.Write, e, &used)
	switch {
	case d.Write.Status == StatusAutomatic || d.Write.Status == StatusAllowed:
		d.Grant = GrantWrite
	case d.Read.Status == StatusAutomatic || d.Read.Status == StatusAllowed:
		d.Grant = GrantRead
	}
	for _, c := range p.Columns {
		if cd := maskFor(c, 0, e, &used); cd != nil {
			d.Columns = append(d.Columns, *cd)
		}
	}
	for _, r := range p.Rows {
		rd, ok := rowFor(r, e)
		if !ok {
			continue
		}
		if b, isBool := rd.Where.(expr.Bool); isBool && !b.Value {
			d.NoRows = true
		}
		d.Rows = append(d.Rows, rd)
		used.add(r.Source.Policy.ID, r.Source.Policy.Local)
	}
	for _, ref := range p.Policies {
		if used.has(ref.ID, ref.Local) {
			d.Policies = append(d.Policies, *ref)
		}
	}
	if len(d.Columns) == 0 {
		d.Columns = nil
	}
	if len(d.Rows) == 0 {
		d.Rows = nil
	}
	return d
}

// usedSet remembers which policies affected a user; it stays small.
type usedSet []int64

// key folds the local flag into the id: local policies are keyed by their
// data source's id, which may equal a global policy's id.
func usedKey(id int64, local bool) int64 {
	if local {
		return -id - 1
	}
	return id
}

func (u *usedSet) add(id int64, local bool) {
	if !u.has(id, local) {
		*u = append(*u, usedKey(id, local))
	}
}

func (u usedSet) has(id int64, local bool) bool {
	k := usedKey(id, local)
	for _, x := range u {
		if x == k {
			return true
		}
	}
	return false
}

// maskFor finds the mask of column c for the user, trying its rules from
// index from on: the first rule that applies decides; a conditional one
// decides for its rows, and the rules after it for the others (Otherwise).
func maskFor(c *ColumnPlan, from int, e *Entitlements, used *usedSet) *ColumnDecision {
	for j := from; j < len(c.Masks); j++ {
		m := c.Masks[j]
		rows, ok := maskRows(m, e)
		if !ok {
			continue
		}
		used.add(m.Source.Policy.ID, m.Source.Policy.Local)
		cd := &ColumnDecision{Column: c.Column, Masking: m.Masking, Rows: rows, Source: m.Source, Closed: m.Closed}
		if rows != nil {
			cd.Otherwise = maskFor(c, j+1, e, used)
		}
		return cd
	}
	return nil
}

// maskRows says whether mask rule m masks anything for the user, and which
// rows: nil for every row. Each set of the user's entitlements the rule
// applies under adds the rows its condition, bound to that set, holds for.
func maskRows(m *MaskRule, e *Entitlements) (expr.Expr, bool) {
	var rows []expr.Expr
	applies := false
	for _, s := range e.sets {
		if !s.holds(m.AppliesTo) {
			continue
		}
		if m.Rows == nil {
			return nil, true
		}
		b := expr.Bind(m.Rows, s)
		if v, ok := b.(expr.Bool); ok {
			if v.Value {
				return nil, true
			}
			continue
		}
		applies = true
		rows = appendDistinct(rows, b)
	}
	if !applies {
		return nil, false
	}
	return combine(rows, expr.OpOr), true
}

// rowFor binds row rule r for the user; false when it does not apply. Each
// set of the user's entitlements the rule applies under adds its filter,
// bound to that set; the filters all hold (AND). A filter that folds to
// TRUE keeps every row and is left out; one that folds to FALSE makes Where
// FALSE.
func rowFor(r *RowRule, e *Entitlements) (RowDecision, bool) {
	rd := RowDecision{Kind: r.Kind, Time: r.Time, Minimize: r.Minimize, Source: r.Source, Closed: r.Closed}
	applies := false
	var wheres []expr.Expr
	for _, s := range e.sets {
		if !s.holds(r.AppliesTo) {
			continue
		}
		applies = true
		if r.Where == nil {
			continue
		}
		w := expr.Bind(r.Where, s)
		if b, ok := w.(expr.Bool); ok {
			if b.Value {
				continue
			}
			rd.Where = w
			return rd, true
		}
		wheres = appendDistinct(wheres, w)
	}
	if !applies || (r.Where != nil && len(wheres) == 0) {
		return rd, false
	}
	if len(wheres) > 0 {
		rd.Where = combine(wheres, expr.OpAnd)
	}
	return rd, true
}

// appendDistinct appends x unless list already holds the same predicate.
func appendDistinct(list []expr.Expr, x expr.Expr) []expr.Expr {
	for _, y := range list {
		if y.String() == x.String() {
			return list
		}
	}
	return append(list, x)
}

// combine joins predicates with op (OpAnd or OpOr); nil for none.
func combine(list []expr.Expr, op expr.Op) expr.Expr {
	if len(list) == 0 {
		return nil
	}
	out := list[0]
	for _, x := range list[1:] {
		out = expr.Binary{Op: op, L: out, R: x}
	}
	return out
}

func access(a *Access, e *Entitlements, used *usedSet) AccessDecision {
	if a == nil {
		return AccessDecision{Status: StatusNone}
	}
	for _, ref := range a.Policies {
		used.add(ref.ID, ref.Local)
	}
	d := AccessDecision{Discoverable: true}
	switch {
	case a.Type == SubManual:
		d.Status = StatusManual
	case !e.Qualifies(a.Who):
		d.Status, d.Discoverable = StatusDenied, a.AllowDiscovery
	case a.Type == SubApproval:
		d.Status, d.Approvals = StatusApproval, a.Approvals
	case a.AutomaticSubscription:
		d.Status = StatusAutomatic
	default:
		d.Status = StatusAllowed
	}
	return d
}
