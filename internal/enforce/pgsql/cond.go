package pgsql

import (
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/policy"
)

// entitlementFrom is the FROM clause of every lookup: the querying role's
// entitlements, one row, defaults when custos has none for it.
func (r *renderer) entitlementFrom() string {
	return " FROM " + r.sys.obj("entitlement") + "(CURRENT_USER) AS e"
}

// lookup wraps an expression over the entitlement row e in a scalar
// subquery: an InitPlan, evaluated once per query.
func (r *renderer) lookup(expr string) string {
	return "(SELECT " + expr + r.entitlementFrom() + ")"
}

// userCond renders a condition over the querying user as one InitPlan
// returning a boolean that is never NULL.
func (r *renderer) userCond(c policy.Cond) (string, error) {
	s, err := condSQL(c)
	if err != nil {
		return "", err
	}
	return r.lookup(s), nil
}

// condSQL renders c over the entitlement row e.
func condSQL(c policy.Cond) (string, error) {
	switch c := c.(type) {
	case nil, policy.True:
		return "true", nil
	case policy.False:
		return "false", nil
	case policy.InGroup:
		l, err := Literal(c.Group)
		if err != nil {
			return "", err
		}
		return l + " = ANY (e.groups)", nil
	case policy.HasAttribute:
		return hasAttribute(c.Name, c.Value)
	case policy.ActingUnderPurpose:
		if c.Purpose == policy.AnyPurposeName {
			return "pg_catalog.cardinality(e.purposes) > 0", nil
		}
		l, err := Literal(c.Purpose)
		if err != nil {
			return "", err
		}
		return l + " = ANY (e.acting)", nil
	case policy.AnyPurpose:
		return "pg_catalog.cardinality(e.purposes) > 0", nil
	case policy.And:
		return joinConds([]policy.Cond(c), " AND ")
	case policy.Or:
		return joinConds([]policy.Cond(c), " OR ")
	case policy.Not:
		s, err := condSQL(c.X)
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	}
	return "", fmt.Errorf("unknown condition %T", c)
}

func hasAttribute(name, value string) (string, error) {
	n, err := Literal(name)
	if err != nil {
		return "", err
	}
	v, err := Literal(value)
	if err != nil {
		return "", err
	}
	return "COALESCE((e.attributes -> " + n + ") ? " + v + ", false)", nil
}

func joinConds(cs []policy.Cond, sep string) (string, error) {
	parts := make([]string, len(cs))
	for i, c := range cs {
		s, err := condSQL(c)
		if err != nil {
			return "", err
		}
		parts[i] = "(" + s + ")"
	}
	if len(parts) == 0 {
		if sep == " AND " {
			return "true", nil
		}
		return "false", nil
	}
	return strings.Join(parts, sep), nil
}
