package policy

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/custosdata/custos/internal/policy/expr"
)

// strayQuote matches a doubled quote right before ")" or ",", the typo of the
// documented advanced example @isInGroups('Engineers', 'Founders”).
var strayQuote = regexp.MustCompile(`''(\s*[),])`)

// ParseAdvanced parses an advanced subscription expression (@isInGroups,
// @hasAttribute, @isUsingPurpose or @hasPurpose, combined with AND, OR, NOT
// and parentheses) into a condition over the user.
//
// @isInGroups('a', 'b') needs membership of every listed group. When the text
// does not parse, a doubled quote before ")" or "," is read as one quote and
// parsing is tried again, so the documented example with its stray quote is
// accepted.
func ParseAdvanced(s string) (Cond, error) {
	e, err := expr.Parse(s)
	if err != nil {
		repaired := strayQuote.ReplaceAllString(s, "'$1")
		if repaired == s {
			return nil, err
		}
		var err2 error
		if e, err2 = expr.Parse(repaired); err2 != nil {
			return nil, err
		}
	}
	return condOfExpr(e)
}

var errAdvanced = errors.New("an advanced expression may only combine @isInGroups, @hasAttribute and @isUsingPurpose with AND, OR and NOT")

func condOfExpr(e expr.Expr) (Cond, error) {
	switch e := e.(type) {
	case expr.Bool:
		if e.Value {
			return True{}, nil
		}
		return False{}, nil
	case expr.Unary:
		if e.Op != expr.OpNot {
			return nil, errAdvanced
		}
		x, err := condOfExpr(e.X)
		if err != nil {
			return nil, err
		}
		return NotOf(x), nil
	case expr.Binary:
		if e.Op != expr.OpAnd && e.Op != expr.OpOr {
			return nil, fmt.Errorf("%w (found %s)", errAdvanced, e.Op)
		}
		l, err := condOfExpr(e.L)
		if err != nil {
			return nil, err
		}
		r, err := condOfExpr(e.R)
		if err != nil {
			return nil, err
		}
		if e.Op == expr.OpAnd {
			return AllOf(l, r), nil
		}
		return AnyOf(l, r), nil
	case expr.Call:
		arg := func(i int) string { return e.Args[i].(expr.String).Value }
		switch e.Func {
		case expr.FnIsInGroups:
			var cs []Cond
			for i := range e.Args {
				cs = append(cs, InGroup{arg(i)})
			}
			return AllOf(cs...), nil
		case expr.FnHasAttribute:
			return HasAttribute{arg(0), arg(1)}, nil
		case expr.FnIsUsingPurpose:
			return purposeCond(arg(0)), nil
		}
		return nil, fmt.Errorf("%w (found %s)", errAdvanced, e.Func.Name())
	}
	return nil, fmt.Errorf("%w (found %s)", errAdvanced, e)
}

func purposeCond(p string) Cond {
	if p == AnyPurposeName {
		return AnyPurpose{}
	}
	return ActingUnderPurpose{p}
}

// Cond is the condition a user meets when they satisfy c: its groups,
// attributes and purposes combined with its operator (any by default).
func (c *Condition) Cond() Cond {
	if c.empty() {
		return nil
	}
	var cs []Cond
	for _, g := range c.Groups {
		cs = append(cs, InGroup{g})
	}
	for _, a := range c.Attributes {
		cs = append(cs, HasAttribute{a.Name, a.Value})
	}
	for _, p := range c.Purposes {
		cs = append(cs, purposeCond(p))
	}
	if c.Operator == OpAll {
		return AllOf(cs...)
	}
	return AnyOf(cs...)
}
