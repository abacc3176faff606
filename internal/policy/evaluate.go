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
}

// RowDecision is one row filter a user gets. Where is bound to the user: no
// user function is left in it.
type RowDecision struct {
	Kind     RowKind         `json:"kind"`
	Where    expr.Expr       `json:"where,omitempty"`
	Time     *TimeFilter     `json:"time,omitempty"`
	Minimize *MinimizeFilter `json:"minimize,omitempty"`
	Source   *RuleRef        `json:"source"`
}

// Evaluate resolves a plan for one user.
//
// Mask rules: per column, the first rule that applies to the user gives the
// mask. A conditional mask (MaskRule.Rows) is bound to the user too; when it
// can never hold the next rule is tried; otherwise it stands, limited to
// those rows, and the next rules decide for the other rows (Otherwise). Row rules that apply to the user are bound: user functions become
// literals (@username is the user's name, @groupsContains(c) becomes
// c IN (groups), ...) and constant parts fold; a filter that folds to TRUE
// is dropped, one that folds to FALSE sets NoRows.
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
		if !e.Holds(r.AppliesTo) {
			continue
		}
		rd := RowDecision{Kind: r.Kind, Time: r.Time, Minimize: r.Minimize, Source: r.Source}
		if r.Where != nil {
			rd.Where = expr.Bind(r.Where, e)
			if b, ok := rd.Where.(expr.Bool); ok {
				if b.Value {
					continue
				}
				d.NoRows = true
			}
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
		if !e.Holds(m.AppliesTo) {
			continue
		}
		var rows expr.Expr
		if m.Rows != nil {
			rows = expr.Bind(m.Rows, e)
			if b, ok := rows.(expr.Bool); ok {
				if !b.Value {
					continue
				}
				rows = nil
			}
		}
		used.add(m.Source.Policy.ID, m.Source.Policy.Local)
		cd := &ColumnDecision{Column: c.Column, Masking: m.Masking, Rows: rows, Source: m.Source}
		if rows != nil {
			cd.Otherwise = maskFor(c, j+1, e, used)
		}
		return cd
	}
	return nil
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
	case !e.Holds(a.Who):
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
