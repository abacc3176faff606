package pgsql

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/policy/expr"
)

// origin says where a rendered value comes from, to decide casts: user
// values are text, so a column compared with one is compared as text.
type origin int

const (
	fromOther  origin = iota // an expression, a number, NULL
	fromColumn               // a column of the relation
	fromUser                 // a text value read from the user's entitlements
	fromString               // a string literal, typed by its context
)

type val struct {
	sql  string
	from origin
	kind Kind // for fromColumn
}

var numberRE = regexp.MustCompile(`^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$|^\.[0-9]+([eE][+-]?[0-9]+)?$`)

// predicate renders a row predicate (columns resolved, user functions left
// symbolic) as a boolean SQL expression.
func (r *renderer) predicate(e expr.Expr) (string, error) {
	v, err := r.expr(e)
	if err != nil {
		return "", err
	}
	return v.sql, nil
}

func (r *renderer) expr(e expr.Expr) (val, error) {
	switch n := e.(type) {
	case expr.Column:
		c, ok := r.cols[n.Name]
		if !ok {
			return val{}, fmt.Errorf("column %q is not in the table", n.Name)
		}
		return val{sql: r.col(c.Name), from: fromColumn, kind: c.Kind}, nil
	case expr.ColumnTagged:
		return val{}, fmt.Errorf("@columnTagged(%q) was not resolved to a column", n.Tag)
	case expr.String:
		l, err := Literal(n.Value)
		return val{sql: l, from: fromString}, err
	case expr.Number:
		if !numberRE.MatchString(n.Text) {
			return val{}, fmt.Errorf("malformed number %q", n.Text)
		}
		return val{sql: n.Text}, nil
	case expr.Bool:
		if n.Value {
			return val{sql: "true"}, nil
		}
		return val{sql: "false"}, nil
	case expr.Null:
		return val{sql: "NULL"}, nil
	case expr.Call:
		return r.call(n)
	case expr.Unary:
		x, err := r.expr(n.X)
		if err != nil {
			return val{}, err
		}
		if n.Op == expr.OpNot {
			return val{sql: "(NOT " + x.sql + ")"}, nil
		}
		return val{sql: "(- " + x.sql + ")"}, nil
	case expr.Binary:
		return r.binary(n)
	case expr.In:
		return r.in(n)
	case expr.Like:
		x, err := r.expr(n.X)
		if err != nil {
			return val{}, err
		}
		p, err := r.expr(n.Pattern)
		if err != nil {
			return val{}, err
		}
		op := " LIKE "
		if n.CaseInsensitive {
			op = " ILIKE "
		}
		if n.Not {
			op = " NOT" + op
		}
		return val{sql: "(" + asText(x) + op + asText(p) + ")"}, nil
	case expr.IsNull:
		x, err := r.expr(n.X)
		if err != nil {
			return val{}, err
		}
		if n.Not {
			return val{sql: "(" + x.sql + " IS NOT NULL)"}, nil
		}
		return val{sql: "(" + x.sql + " IS NULL)"}, nil
	case expr.Between:
		x, err := r.expr(n.X)
		if err != nil {
			return val{}, err
		}
		lo, err := r.expr(n.Lo)
		if err != nil {
			return val{}, err
		}
		hi, err := r.expr(n.Hi)
		if err != nil {
			return val{}, err
		}
		xs := x.sql
		if lo.from == fromUser || hi.from == fromUser {
			xs = asText(x)
		}
		op := " BETWEEN "
		if n.Not {
			op = " NOT BETWEEN "
		}
		return val{sql: "(" + xs + op + lo.sql + " AND " + hi.sql + ")"}, nil
	}
	return val{}, fmt.Errorf("unsupported predicate node %T", e)
}

// asText renders v as text when it is a column of another type.
func asText(v val) string {
	if v.from == fromColumn && v.kind != KindText {
		return v.sql + "::pg_catalog.text"
	}
	return v.sql
}

var binaryOps = map[expr.Op]string{
	expr.OpOr: "OR", expr.OpAnd: "AND", expr.OpEq: "=", expr.OpNe: "<>", expr.OpLt: "<", expr.OpLe: "<=",
	expr.OpGt: ">", expr.OpGe: ">=", expr.OpAdd: "+", expr.OpSub: "-", expr.OpMul: "*", expr.OpDiv: "/",
	expr.OpMod: "%", expr.OpConcat: "||",
}

func (r *renderer) binary(n expr.Binary) (val, error) {
	op, ok := binaryOps[n.Op]
	if !ok {
		return val{}, fmt.Errorf("unsupported operator %s", n.Op)
	}
	l, err := r.expr(n.L)
	if err != nil {
		return val{}, err
	}
	rt, err := r.expr(n.R)
	if err != nil {
		return val{}, err
	}
	ls, rs := l.sql, rt.sql
	if n.Op.IsComparison() || n.Op == expr.OpConcat {
		// A user value is text: compare the other side as text.
		if l.from == fromUser {
			rs = asText(rt)
		}
		if rt.from == fromUser {
			ls = asText(l)
		}
	}
	out := val{sql: "(" + ls + " " + op + " " + rs + ")"}
	if n.Op == expr.OpConcat {
		out.from = fromOther
	}
	return out, nil
}

// in renders x [NOT] IN (items), where an item may be a list-valued user
// function: those become = ANY over an InitPlan array.
func (r *renderer) in(n expr.In) (val, error) {
	x, err := r.expr(n.X)
	if err != nil {
		return val{}, err
	}
	var lits []string
	var arrays []string
	userItems := false
	for _, it := range n.List {
		if c, ok := it.(expr.Call); ok && c.Func.Kind() == expr.KindList {
			a, err := r.listLookup(c)
			if err != nil {
				return val{}, err
			}
			arrays = append(arrays, a)
			continue
		}
		v, err := r.expr(it)
		if err != nil {
			return val{}, err
		}
		userItems = userItems || v.from == fromUser
		lits = append(lits, v.sql)
	}
	xs := x.sql
	if userItems {
		xs = asText(x)
	}
	var parts []string
	if len(lits) > 0 {
		parts = append(parts, xs+" IN ("+strings.Join(lits, ", ")+")")
	}
	for _, a := range arrays {
		parts = append(parts, asText(x)+" = ANY ("+a+")")
	}
	if len(parts) == 0 {
		parts = []string{"false"}
	}
	s := "(" + strings.Join(parts, " OR ") + ")"
	if n.Not {
		s = "(NOT " + s + ")"
	}
	return val{sql: s}, nil
}

func stringArg(c expr.Call, i int) (string, bool) {
	if i < len(c.Args) {
		if s, ok := c.Args[i].(expr.String); ok {
			return s.Value, true
		}
	}
	return "", false
}

// listSQL renders the user's values a list function reads, over e.
func listSQL(c expr.Call) (string, int, error) {
	switch c.Func {
	case expr.FnGroups, expr.FnGroupsContains:
		return "e.groups", placeholderIndex(c.Func), nil
	case expr.FnPurposes, expr.FnPurposesContains:
		return "e.purposes", placeholderIndex(c.Func), nil
	case expr.FnAttributes, expr.FnAttributeValuesContains:
		name, ok := stringArg(c, 0)
		if !ok {
			return "", 0, fmt.Errorf("%s needs an attribute name", c.Func.Name())
		}
		l, err := Literal(name)
		if err != nil {
			return "", 0, err
		}
		return "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(COALESCE(e.attributes -> " + l +
			", '[]'::pg_catalog.jsonb)))", placeholderIndex(c.Func), nil
	}
	return "", 0, fmt.Errorf("%s is not a list function", c.Func.Name())
}

// placeholderIndex is the argument holding the value used when the user's
// list is empty.
func placeholderIndex(f expr.Func) int {
	switch f {
	case expr.FnGroups, expr.FnPurposes:
		return 0
	case expr.FnAttributes, expr.FnGroupsContains, expr.FnPurposesContains:
		return 1
	case expr.FnAttributeValuesContains:
		return 2
	}
	return -1
}

// listLookup renders the user's list as a text[] InitPlan, with the
// placeholder standing in for an empty list.
func (r *renderer) listLookup(c expr.Call) (string, error) {
	list, ph, err := listSQL(c)
	if err != nil {
		return "", err
	}
	if ph >= 0 && ph < len(c.Args) {
		p, ok := c.Args[ph].(expr.String)
		if !ok {
			return "", fmt.Errorf("the placeholder of %s must be a string", c.Func.Name())
		}
		l, err := Literal(p.Value)
		if err != nil {
			return "", err
		}
		list = "COALESCE(NULLIF(" + list + ", '{}'::pg_catalog.text[]), ARRAY[" + l + "]::pg_catalog.text[])"
	}
	return r.lookup(list) + "::pg_catalog.text[]", nil
}

var plainFuncs = map[expr.Func]string{
	expr.FnLower: "pg_catalog.lower", expr.FnUpper: "pg_catalog.upper", expr.FnTrim: "pg_catalog.btrim",
	expr.FnLength: "pg_catalog.length", expr.FnCoalesce: "COALESCE", expr.FnAbs: "pg_catalog.abs",
}

func (r *renderer) call(c expr.Call) (val, error) {
	switch c.Func {
	case expr.FnUsername:
		return val{sql: r.lookup("e.username"), from: fromUser}, nil
	case expr.FnIAM:
		return val{sql: r.lookup("e.iam"), from: fromUser}, nil
	case expr.FnGroups, expr.FnAttributes, expr.FnPurposes:
		return val{}, fmt.Errorf("%s is a list: use it inside IN (...)", c.Func.Name())
	case expr.FnGroupsContains, expr.FnPurposesContains, expr.FnAttributeValuesContains:
		xi := 0
		if c.Func == expr.FnAttributeValuesContains {
			xi = 1
		}
		if xi >= len(c.Args) {
			return val{}, fmt.Errorf("%s needs a value", c.Func.Name())
		}
		x, err := r.expr(c.Args[xi])
		if err != nil {
			return val{}, err
		}
		list, err := r.listLookup(c)
		if err != nil {
			return val{}, err
		}
		return val{sql: "(" + asText(x) + " = ANY (" + list + "))"}, nil
	case expr.FnHasAttribute:
		name, ok1 := stringArg(c, 0)
		value, ok2 := stringArg(c, 1)
		if !ok1 || !ok2 {
			return val{}, fmt.Errorf("@hasAttribute needs a name and a value")
		}
		s, err := hasAttribute(name, value)
		if err != nil {
			return val{}, err
		}
		return val{sql: r.lookup(s)}, nil
	case expr.FnIsInGroups:
		var groups []string
		for i := range c.Args {
			g, ok := stringArg(c, i)
			if !ok {
				return val{}, fmt.Errorf("@isInGroups takes group names")
			}
			groups = append(groups, g)
		}
		a, err := TextArray(groups)
		if err != nil {
			return val{}, err
		}
		return val{sql: r.lookup("e.groups @> " + a)}, nil
	case expr.FnIsUsingPurpose:
		p, ok := stringArg(c, 0)
		if !ok {
			return val{}, fmt.Errorf("@isUsingPurpose takes a purpose name")
		}
		s, err := condSQL(policy.ActingUnderPurpose{Purpose: p})
		if err != nil {
			return val{}, err
		}
		return val{sql: r.lookup(s)}, nil
	}
	fn, ok := plainFuncs[c.Func]
	if !ok {
		return val{}, fmt.Errorf("unsupported function %s", c.Func.Name())
	}
	args := make([]string, len(c.Args))
	from := fromOther
	for i, a := range c.Args {
		v, err := r.expr(a)
		if err != nil {
			return val{}, err
		}
		args[i] = v.sql
		if c.Func == expr.FnCoalesce && v.from == fromUser {
			from = fromUser
		}
	}
	if len(c.Args) > 0 && (c.Func == expr.FnLower || c.Func == expr.FnUpper || c.Func == expr.FnTrim || c.Func == expr.FnLength) {
		// These take text; other column types are converted explicitly.
		v, _ := r.expr(c.Args[0])
		args[0] = asText(v)
	}
	return val{sql: fn + "(" + strings.Join(args, ", ") + ")", from: from}, nil
}
