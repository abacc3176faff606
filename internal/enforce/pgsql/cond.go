package pgsql

import (
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/policy/expr"
)

// entitlementFrom is the FROM clause of every lookup: the querying role's
// entitlements, one row, defaults when custos has none for it. While r.own
// is set it is the row of the user's own groups and attributes.
func (r *renderer) entitlementFrom() string {
	if r.own {
		return " FROM " + r.sys.obj("own_entitlement") + "(CURRENT_USER) AS e"
	}
	return " FROM " + r.sys.obj("entitlement") + "(CURRENT_USER) AS e"
}

// Under an equalized project a user acts with their groups and attributes
// limited to the project's set, and restrictions must still apply when
// their own entitlements bring them (equalization only takes access away).
// Conditions and predicates that read groups or attributes are therefore
// rendered over both rows, limited (entitlement) and own (own_entitlement):
// a rule applies when it applies under either, and a row filter bound to
// the user holds under each set the rule applies under. Those that read
// neither render once, as they would without equalization: both rows have
// the same name, purposes and acting.

// condReadsSets reports whether c reads the user's groups or attributes.
func condReadsSets(c policy.Cond) bool {
	found := false
	policy.WalkCond(c, func(c policy.Cond) {
		switch c.(type) {
		case policy.InGroup, policy.HasAttribute:
			found = true
		}
	})
	return found
}

// exprReadsSets reports whether e calls a function that reads the user's
// groups or attributes.
func exprReadsSets(e expr.Expr) bool {
	found := false
	expr.Walk(e, func(n expr.Expr) bool {
		if c, ok := n.(expr.Call); ok {
			switch c.Func {
			case expr.FnGroups, expr.FnGroupsContains, expr.FnIsInGroups, expr.FnAttributes,
				expr.FnAttributeValuesContains, expr.FnHasAttribute:
				found = true
			}
		}
		return !found
	})
	return found
}

// ownLimited renders whether the querying user's own row differs from the
// limited one, evaluated once per query: per-row work over the own row is
// put behind it, so users no equalized project limits pay nothing for it.
func (r *renderer) ownLimited(negate bool) string {
	not := ""
	if negate {
		not = "NOT "
	}
	return "(SELECT " + not + "e.limited FROM " + r.sys.obj("own_entitlement") + "(CURRENT_USER) AS e)"
}

// withOwn runs fn with r rendering lookups over the own row.
func (r *renderer) withOwn(fn func() error) error {
	r.own = true
	defer func() { r.own = false }()
	return fn()
}

// appliesCond renders whether a restriction with condition c applies to the
// querying user: under their limited or their own entitlements. A condition
// that reads neither groups nor attributes renders once.
func (r *renderer) appliesCond(c policy.Cond) (string, error) {
	limited, err := r.userCond(c)
	if err != nil || !condReadsSets(c) {
		return limited, err
	}
	var own string
	if err := r.withOwn(func() (err error) { own, err = r.userCond(c); return err }); err != nil {
		return "", err
	}
	return "(" + limited + " OR " + own + ")", nil
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
