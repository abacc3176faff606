// Package pgsql renders custos's decisions as PostgreSQL: the system objects
// (entitlements table, lookup and masking functions), one view per data
// source with its masks, the row filter of its table, and the statements that
// grant and revoke access. It is pure: no I/O, no database; the live
// integration (package postgres) runs what it renders.
//
// Design, and why it is fast and safe:
//
//   - Every identifier is quoted (Ident) and every value is an escaped literal
//     (Literal); predicates arrive as ASTs (package policy/expr) and are
//     walked, never pasted. Names a user chooses for custos's own objects are
//     restricted to plain identifiers (ValidName).
//   - Conditions over the querying user (exceptions, inclusions, entitlement
//     functions) become scalar subqueries over the lookup function
//     custos.entitlement(CURRENT_USER). Their value does not depend on the row,
//     so PostgreSQL runs each once per query as an InitPlan and passes the
//     result to parallel workers; per row only a parameter is compared.
//   - Masks are CASE expressions over those InitPlans and inlinable SQL
//     expressions (SHA-256, date_trunc, ...): no function call per row.
//   - On tables, row rules are a restrictive row-level security policy for the
//     role owning the views, not a WHERE clause in the view: a
//     security_barrier subquery cannot be run in parallel when it carries
//     InitPlans, while security quals on the table keep the scan parallel and
//     are still evaluated before any function of the user's query. Relations
//     that cannot carry row security (views registered as data sources) get
//     their row rules in the view's WHERE clause, under security_barrier.
//   - Secrets (hash salt, keys) are read by the views from a table only the
//     view owner can read, never written into view definitions, which every
//     user can read in pg_views.
package pgsql

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/policy/expr"
)

// Column is a column of a governed relation.
type Column struct {
	Name string
	Kind Kind
}

// Source is a governed relation as found in the database.
type Source struct {
	DataSourceID int64
	Schema       string
	Table        string
	// RowsInView puts row rules in the view's WHERE clause (security_barrier)
	// instead of a row-level security policy: for relations that cannot
	// carry one, such as views.
	RowsInView bool
	// HasCTID says whether rows have a ctid (tables do, views do not); it
	// seeds Randomized Response per row.
	HasCTID bool
	// Columns are the columns the view exposes, in order.
	Columns []Column
}

// Target names the view.
type Target struct {
	Schema string
	Name   string
}

// Rendered is the SQL of one data source.
type Rendered struct {
	// Query is the view's SELECT; View is the whole CREATE VIEW statement.
	Query   string
	View    string
	Barrier bool
	// RowFilter is the USING (and WITH CHECK) expression of the table's restrictive
	// row-level security policy; empty when the plan has no row rule or
	// the rules are in the view.
	RowFilter string
	// Domains are the columns whose Randomized Response draws replacement
	// values from custos.domains.
	Domains []string
	// Warnings say what could not be rendered as planned and how it was
	// made safe (the value hidden).
	Warnings []string
	// Closed are the rules enforced closed: those the plan closed and
	// those that could not be rendered (their users see no row, or the
	// column as NULL). Nothing is left out silently.
	Closed []policy.ClosedRule
	// Probes are expressions over constants that PostgreSQL checks only
	// when a query first evaluates them (the patterns of Regular
	// Expression masks): run them before creating the view, and render
	// again with those that fail in Options.Broken.
	Probes []Probe
	// Fingerprint identifies the rendered SQL, to tell whether the database
	// holds what custos would create.
	Fingerprint string
}

// Probe is an expression a mask rule on a column needs to evaluate.
type Probe struct {
	Source *policy.RuleRef
	Column string
	SQL    string // a scalar expression over constants
}

// Key identifies the rule and column of a probe, for Options.Broken.
func (p Probe) Key() string { return brokenKey(p.Source, p.Column) }

func brokenKey(ref *policy.RuleRef, column string) string { return ruleKey(ref) + "\x00" + column }

// Options tune Render.
type Options struct {
	// Broken closes mask rules on columns (by Probe.Key) whose probe
	// failed, with the reason.
	Broken map[string]string
}

// Render renders the view (and row filter) of one data source from its plan;
// a nil plan exposes the columns as they are.
func Render(sys System, src Source, tgt Target, plan *policy.Plan) (*Rendered, error) {
	return RenderWith(sys, src, tgt, plan, Options{})
}

// RenderWith is Render with options. A rule that cannot be rendered closes
// (its users see no row, or the column as NULL) and is listed in Closed.
func RenderWith(sys System, src Source, tgt Target, plan *policy.Plan, o Options) (*Rendered, error) {
	if err := sys.Validate(); err != nil {
		return nil, err
	}
	r := &renderer{sys: sys, src: src, cols: map[string]Column{}, qualify: "src.", broken: o.Broken}
	for _, c := range src.Columns {
		r.cols[c.Name] = c
	}
	if plan == nil {
		plan = &policy.Plan{}
	}
	masks := map[string]*policy.ColumnPlan{}
	for _, cp := range plan.Columns {
		if _, ok := r.cols[cp.Column]; !ok {
			r.warnf("column %q is masked by the plan but is not in the table; it is not exposed", cp.Column)
			continue
		}
		masks[cp.Column] = cp
	}
	r.planWindows(plan)

	var sel writer
	sel.str("SELECT ")
	for i, c := range src.Columns {
		if i > 0 {
			sel.str(",\n       ")
		}
		if cp := masks[c.Name]; cp != nil {
			e, err := r.maskedColumn(c, cp)
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", c.Name, err)
			}
			sel.str(e)
		} else {
			sel.str(r.col(c.Name))
		}
		sel.str(" AS ")
		sel.ident(c.Name)
	}
	if len(src.Columns) == 0 {
		return nil, fmt.Errorf("%s.%s has no column to expose", src.Schema, src.Table)
	}
	sel.str("\nFROM ")
	sel.qualified(src.Schema, src.Table)
	sel.str(" AS src")

	filter, err := r.rowFilter(plan.Rows)
	if err != nil {
		return nil, err
	}
	out := &Rendered{Warnings: r.warnings}
	if filter != "" && src.RowsInView {
		sel.str("\nWHERE ")
		sel.str(filter)
		out.Barrier = true
	}
	if len(r.windows) > 0 {
		sel.str("\nWINDOW ")
		for i, w := range r.windows {
			if i > 0 {
				sel.str(", ")
			}
			sel.str(w.name + " AS (PARTITION BY ")
			for j, c := range w.cols {
				if j > 0 {
					sel.str(", ")
				}
				sel.str(r.col(c))
			}
			sel.str(")")
		}
	}
	if sel.err != nil {
		return nil, sel.err
	}
	if filter != "" && !src.RowsInView {
		// In a policy the table's columns are referenced unqualified.
		pr := &renderer{sys: sys, src: src, cols: r.cols}
		if out.RowFilter, err = pr.rowFilter(plan.Rows); err != nil {
			return nil, err
		}
	}
	out.Closed, out.Probes = r.closed, r.probes
	out.Query = sel.String()
	var v writer
	v.str("CREATE VIEW ")
	v.qualified(tgt.Schema, tgt.Name)
	if out.Barrier {
		v.str(" WITH (security_barrier)")
	}
	v.str(" AS\n")
	v.str(out.Query)
	if v.err != nil {
		return nil, v.err
	}
	out.View = v.String()
	out.Domains = r.domains
	sort.Strings(out.Domains)
	h := sha256.Sum256([]byte(out.View + "\x00" + out.RowFilter))
	out.Fingerprint = hex.EncodeToString(h[:])
	return out, nil
}

// renderer renders the expressions of one data source.
type renderer struct {
	sys      System
	src      Source
	cols     map[string]Column
	qualify  string // "src." inside the view, "" inside a table's policy
	windows  []window
	winOf    map[string]string // rule key -> window name
	domains  []string
	warnings []string
	// own renders lookups over the user's own entitlements instead of the
	// limited ones (see appliesCond).
	own bool
	// closed collects the rules enforced closed; probes what masks need
	// PostgreSQL to accept; broken the rules on columns whose probe failed.
	closed []policy.ClosedRule
	probes []Probe
	broken map[string]string
}

// close records a rule enforced closed (column "" for a row rule).
func (r *renderer) close(ref *policy.RuleRef, column, reason string) {
	for _, c := range r.closed {
		if c.Column == column && c.Reason == reason && ruleKey(c.Source) == ruleKey(ref) {
			return
		}
	}
	r.closed = append(r.closed, policy.ClosedRule{Source: ref, Column: column, Reason: reason})
}

type window struct {
	name string
	cols []string
}

func (r *renderer) warnf(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

// col renders a reference to a column of the source relation.
func (r *renderer) col(name string) string { return r.qualify + mustIdent(name) }

// colText renders a column as text (char(n) and varchar(n) included, so
// that expressions over it are text whatever the column's own type).
func (r *renderer) colText(c Column) string { return r.col(c.Name) + "::pg_catalog.text" }

// secret renders a read of a secret, evaluated once per query.
func (r *renderer) secret(name string) string {
	return "(SELECT k.value FROM " + r.sys.obj("secrets") + " AS k WHERE k.name = " + mustLiteral(name) + ")"
}

// rowFilter renders the conjunction of the row rules, or "".
func (r *renderer) rowFilter(rows []*policy.RowRule) (string, error) {
	var parts []string
	for i, rr := range rows {
		if _, never := rr.AppliesTo.(policy.False); never {
			continue
		}
		var fs []string
		var err error
		if rr.Where != nil && exprReadsSets(rr.Where) {
			// Bound to each set: the rows kept are those both keep.
			var limited, own string
			if limited, err = r.rowPart(rr, r.userCond); err == nil {
				err = r.withOwn(func() (err error) { own, err = r.rowPart(rr, r.userCond); return err })
			}
			fs = []string{limited, "(" + r.ownLimited(true) + " OR " + own + ")"}
		} else {
			var f string
			f, err = r.rowPart(rr, r.appliesCond)
			fs = []string{f}
		}
		if err != nil {
			// Closed rather than dropped: the users it applies to see no
			// row (everybody, when who they are cannot be rendered either).
			fs = []string{"false"}
			if f, cerr := r.rowPart(&policy.RowRule{Kind: rr.Kind, AppliesTo: rr.AppliesTo, Where: expr.Bool{Value: false}}, r.appliesCond); cerr == nil {
				fs = []string{f}
			}
			r.close(rr.Source, "", fmt.Sprintf("row rule %d (%s) cannot be rendered: %v", i, rr.Kind, err))
		} else if rr.Closed != "" {
			r.close(rr.Source, "", rr.Closed)
		}
		for _, f := range fs {
			if f != "true" {
				parts = append(parts, f)
			}
		}
	}
	return strings.Join(parts, "\n  AND "), nil
}

// rowPart renders what a row rule keeps: every row for the users it does not
// apply to (who cond renders), its filter's rows for the others.
func (r *renderer) rowPart(rr *policy.RowRule, cond func(policy.Cond) (string, error)) (string, error) {
	f, err := r.rowRule(rr)
	if err != nil {
		return "", err
	}
	if _, all := rr.AppliesTo.(policy.True); !all && rr.AppliesTo != nil {
		c, err := cond(rr.AppliesTo)
		if err != nil {
			return "", err
		}
		if f == "false" {
			f = c + " IS FALSE"
		} else {
			f = "(" + c + " IS FALSE OR " + f + ")"
		}
	}
	return f, nil
}

// rowRule renders what a row rule keeps, for the users it applies to.
func (r *renderer) rowRule(rr *policy.RowRule) (string, error) {
	switch {
	case rr.Time != nil:
		c, ok := r.cols[rr.Time.Column]
		if !ok {
			return "", fmt.Errorf("event-time column %q is not in the table", rr.Time.Column)
		}
		if !c.Kind.temporal() {
			return "", fmt.Errorf("event-time column %q is %s, not a date or timestamp", c.Name, c.Kind)
		}
		op := ">="
		if !rr.Time.Newer {
			op = "<"
		}
		return fmt.Sprintf("(%s %s pg_catalog.now() - pg_catalog.make_interval(secs => %d))", r.col(c.Name), op, rr.Time.Seconds), nil
	case rr.Minimize != nil:
		cols := rr.Minimize.Columns
		if len(cols) == 0 {
			for _, c := range r.src.Columns {
				cols = append(cols, c.Name)
			}
		}
		var parts []string
		for _, n := range cols {
			if _, ok := r.cols[n]; !ok {
				return "", fmt.Errorf("minimization column %q is not in the table", n)
			}
			parts = append(parts, r.col(n))
		}
		key := parts[0] + "::pg_catalog.text"
		if len(parts) > 1 {
			key = "ROW(" + strings.Join(parts, ", ") + ")::pg_catalog.text"
		}
		p := rr.Minimize.Percent
		if p < 0 {
			p = 0
		}
		// hashtextextended spreads keys evenly; the double modulo keeps the
		// bucket non-negative without abs(), which overflows on the minimum.
		return fmt.Sprintf("(((pg_catalog.hashtextextended(%s, 0) %% 100) + 100) %% 100 < %d)", key, p), nil
	case rr.Where != nil:
		return r.predicate(rr.Where)
	}
	return "", fmt.Errorf("empty row rule")
}
