package policy

import (
	"encoding/json"
	"fmt"

	"github.com/custosdata/custos/internal/policy/expr"
)

// Plan is what the policies decide for one data source, for every user at
// once: the conditions over the user stay symbolic (Cond), so one plan can be
// rendered into one view or one set of masks and row filters, and evaluated
// for any user with Evaluate.
type Plan struct {
	DataSource int64 `json:"dataSource"`
	// Policies are the policies applying to the data source, in precedence
	// order: the local policy first, then global ones by ascending id.
	Policies []*PolicyRef `json:"policies"`
	// Read and Write say who may subscribe with that grant; nil when no
	// subscription policy with that grant applies.
	Read  *Access `json:"read,omitempty"`
	Write *Access `json:"write,omitempty"`
	// Columns lists the columns with at least one mask rule, in column order.
	Columns []*ColumnPlan `json:"columns,omitempty"`
	// Rows are the row rules; a user sees the rows that pass every rule that
	// applies to them. Plans share MaskRules and RowRules: never modify them.
	Rows []*RowRule `json:"rows,omitempty"`
	// Conflicts report how competing subscription policies were resolved;
	// masking conflicts are on the columns (ColumnPlan.Disabled), and
	// AllConflicts lists both.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Skipped lists rules of applying policies that cannot take effect as
	// written on this data source. A rule that names a missing column by
	// name, or whose stored predicate or pattern cannot be enforced, is
	// planned closed (Skip.Closed; RowRule.Closed, MaskRule.Closed). A rule
	// about a tag no column carries, or a time restriction on a data source
	// without an event-time column, is not about this data source and
	// decides nothing here.
	Skipped []Skip `json:"skipped,omitempty"`
}

// PolicyRef names a policy in a plan.
type PolicyRef struct {
	ID    int64  `json:"id"`
	Key   string `json:"policyKey,omitempty"`
	Name  string `json:"name,omitempty"`
	Local bool   `json:"local,omitempty"` // the data source's own policy
}

// RuleRef names one rule of a policy: Action and Rule index its actions and
// their rules (for a subscription policy both are 0).
type RuleRef struct {
	Policy PolicyRef `json:"policy"`
	Action int       `json:"action"`
	Rule   int       `json:"rule"`
}

// Access is the merged subscription rule for one grant (READ or WRITE).
type Access struct {
	// Type is the most restrictive type among the merged policies:
	// manual > approval > entitlements > anyone.
	Type SubscriptionType `json:"type"`
	// Who qualifies: the conditions of the policies that are always required,
	// and the disjunction of those that share responsibility.
	Who                   Cond         `json:"who"`
	Approvals             []Approval   `json:"approvals,omitempty"`
	AutomaticSubscription bool         `json:"automaticSubscription"`
	AllowDiscovery        bool         `json:"allowDiscovery"`
	Policies              []*PolicyRef `json:"policies"`
}

// ColumnPlan lists the mask rules of one column. For a given user and row,
// the first rule that applies decides the mask; when none applies the value
// is shown as is.
type ColumnPlan struct {
	Column string      `json:"column"`
	Type   string      `json:"type,omitempty"`
	Masks  []*MaskRule `json:"masks"`
	// Disabled are mask rules of later policies that this column's masks
	// (from an earlier policy) override: conflicts of kind existingMasking.
	Disabled []*RuleRef `json:"disabled,omitempty"`
	col      int32      // position of the column in the data source
}

// MaskRule masks a column for the users of AppliesTo.
type MaskRule struct {
	AppliesTo Cond     `json:"appliesTo"`
	Masking   *Masking `json:"masking"`
	// Rows, when not nil, restricts the mask to the rows where it holds
	// (a conditional masking predicate, columns resolved).
	Rows   expr.Expr `json:"rows,omitempty"`
	Source *RuleRef  `json:"source"`
	// Closed, when set, says why the rule could not apply as written here:
	// the mask stands in for it with what it would not weaken, NULL (on
	// every row for a rule that could not be evaluated; on the rows of its
	// condition for a mask that does not fit the column's type).
	Closed string `json:"closed,omitempty"`
}

// RowKind says which rule produced a row rule.
type RowKind string

const (
	RowWhere        RowKind = "where"        // Row Restriction by Custom Where Clause
	RowEntitlements RowKind = "entitlements" // Row Restriction By User Entitlements
	RowPurpose      RowKind = "purpose"      // Purpose Restriction: every row or none
	RowTime         RowKind = "time"         // Time Restriction
	RowMinimization RowKind = "minimization" // Minimization
)

// RowRule restricts the rows seen by the users of AppliesTo: to those where
// Where holds, to the Time window, or to the Minimize share.
type RowRule struct {
	Kind      RowKind         `json:"kind"`
	AppliesTo Cond            `json:"appliesTo"`
	Where     expr.Expr       `json:"where,omitempty"`
	Time      *TimeFilter     `json:"time,omitempty"`
	Minimize  *MinimizeFilter `json:"minimize,omitempty"`
	Source    *RuleRef        `json:"source"`
	// Closed, when set, says why the rule could not apply as written here:
	// it then hides every row (Where is FALSE) from the users it applies to.
	Closed string `json:"closed,omitempty"`
}

// TimeFilter keeps the rows whose Column is newer (or older) than Seconds ago.
type TimeFilter struct {
	Column  string `json:"column"`
	Seconds int64  `json:"seconds"`
	Newer   bool   `json:"newer"`
}

// MinimizeFilter keeps Percent percent of the rows, chosen deterministically
// by a hash of Columns (the data source's high-cardinality column; all
// columns when it has none).
type MinimizeFilter struct {
	Percent int      `json:"percent"`
	Columns []string `json:"columns,omitempty"`
}

// ConflictKind names how a conflict was resolved.
type ConflictKind string

const (
	// ConflictMasking: two policies mask one column; the earlier policy (local
	// first, then lowest id) keeps it and the later one is disabled there.
	ConflictMasking ConflictKind = "existingMasking"
	// ConflictSubscriptionMerged: several subscription policies with one grant
	// apply; they were merged (most restrictive type, conditions combined).
	ConflictSubscriptionMerged ConflictKind = "subscriptionMerged"
	// ConflictLocalSubscription: a global subscription policy overrides the
	// data source's own subscription policy.
	ConflictLocalSubscription ConflictKind = "localSubscriptionOverridden"
)

// Conflict reports one resolution.
type Conflict struct {
	Kind     ConflictKind `json:"kind"`
	Column   string       `json:"column,omitempty"`
	Grant    AccessGrant  `json:"grant,omitempty"`
	Winner   *RuleRef     `json:"winner,omitempty"`
	Loser    *RuleRef     `json:"loser,omitempty"`
	Policies []*PolicyRef `json:"policies,omitempty"`
}

// AllConflicts lists the plan's conflicts: the subscription ones, then the
// masking ones column by column.
func (p *Plan) AllConflicts() []Conflict {
	out := append([]Conflict(nil), p.Conflicts...)
	for _, c := range p.Columns {
		for _, d := range c.Disabled {
			out = append(out, Conflict{Kind: ConflictMasking, Column: c.Column, Winner: c.Masks[0].Source, Loser: d})
		}
	}
	return out
}

// Skip reports a rule that cannot take effect on the data source as
// written; Closed says it is enforced closed instead.
type Skip struct {
	Source *RuleRef `json:"source"`
	Reason string   `json:"reason"`
	Closed bool     `json:"closed,omitempty"`
}

// String renders a masking function with its parameters, e.g.
// `Constant {"constant":"REDACTED"}`.
func (m *Masking) String() string {
	if m == nil {
		return "<nil>"
	}
	b, _ := json.Marshal(m)
	var params map[string]json.RawMessage
	_ = json.Unmarshal(b, &params)
	delete(params, "type")
	if len(params) == 0 {
		return string(m.Type)
	}
	p, _ := json.Marshal(params)
	return string(m.Type) + " " + string(p)
}

// effect renders what a row rule keeps, e.g. `where "region" IN ('EU')`.
func (r RowRule) effect() string {
	switch {
	case r.Time != nil:
		dir := "newer"
		if !r.Time.Newer {
			dir = "older"
		}
		return fmt.Sprintf("time %q %s than %ds", r.Time.Column, dir, r.Time.Seconds)
	case r.Minimize != nil:
		return fmt.Sprintf("minimize %d%% by %v", r.Minimize.Percent, r.Minimize.Columns)
	case r.Where != nil:
		return "where " + r.Where.String()
	}
	return ""
}

// ClosedRule is a rule that cannot apply as written on a data source and is
// enforced closed instead: its users see no row (Column empty), or the
// column as NULL.
type ClosedRule struct {
	Source *RuleRef `json:"source"`
	Column string   `json:"column,omitempty"`
	Reason string   `json:"reason"`
}

// ClosedRules lists the plan's closed rules: row rules in order, then masks
// column by column (disabled ones, which decide nothing, left out).
func (p *Plan) ClosedRules() []ClosedRule {
	var out []ClosedRule
	for _, r := range p.Rows {
		if r.Closed != "" {
			out = append(out, ClosedRule{Source: r.Source, Reason: r.Closed})
		}
	}
	for _, c := range p.Columns {
		for _, m := range c.Masks {
			if m.Closed != "" {
				out = append(out, ClosedRule{Source: m.Source, Column: c.Column, Reason: m.Closed})
			}
		}
	}
	return out
}
