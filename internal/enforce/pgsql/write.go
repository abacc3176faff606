package pgsql

import (
	"fmt"

	"github.com/custosdata/custos/internal/policy"
)

// WriterFilter renders one writer's row decisions (bound to the writer: no
// condition over the user is left in them, see policy.Evaluate) as the
// USING and WITH CHECK expression of the restrictive row security policy
// that binds that writer's reads and writes of the table: "" when no row
// rule applies to them, false when one hides every row. The rows it keeps
// are those the table's row filter keeps for the same user; being literal,
// it costs no lookup of the entitlements, which a single-row write would
// otherwise pay several times (for USING and for WITH CHECK). The lookups'
// rule that nobody acts under another role's entitlements holds too: the
// policy keeps no row unless the session's user may act as the current
// role (not, for instance, inside another role's SECURITY DEFINER function
// called by someone else).
func WriterFilter(sys System, src Source, rows []policy.RowDecision) (string, error) {
	if err := sys.Validate(); err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", nil
	}
	r := &renderer{sys: sys, src: src, cols: map[string]Column{}}
	for _, c := range src.Columns {
		r.cols[c.Name] = c
	}
	rules := make([]*policy.RowRule, len(rows))
	for i, rd := range rows {
		rules[i] = &policy.RowRule{Kind: rd.Kind, Where: rd.Where, Time: rd.Time, Minimize: rd.Minimize, Source: rd.Source}
	}
	f, err := r.rowFilter(rules)
	if err != nil {
		return "", fmt.Errorf("row rules bound to the writer: %w", err)
	}
	if f == "" {
		return "", nil
	}
	return "(" + f + ")\n  AND (SELECT pg_catalog.pg_has_role(SESSION_USER, CURRENT_USER, 'MEMBER'))", nil
}
