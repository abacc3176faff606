package expr

import "fmt"

type typ int

const (
	tyAny   typ = iota // a column or NULL: may be a value or a boolean
	tyValue            // a scalar value
	tyBool             // a boolean
	tyList             // a list-valued user function
)

func typeOf(e Expr) (typ, error) {
	switch e := e.(type) {
	case Column, ColumnTagged, Null:
		return tyAny, nil
	case String, Number:
		return tyValue, nil
	case Bool:
		return tyBool, nil
	case Call:
		switch e.Func.Kind() {
		case KindList:
			return tyList, nil
		case KindBool, KindUserBool:
			return tyBool, nil
		}
		return tyValue, nil
	case Unary:
		t, err := typeOf(e.X)
		if err != nil {
			return 0, err
		}
		if e.Op == OpNot {
			if t != tyBool && t != tyAny {
				return 0, fmt.Errorf("NOT needs a condition, not %s", e.X)
			}
			return tyBool, nil
		}
		if t != tyValue && t != tyAny {
			return 0, fmt.Errorf("cannot negate %s", e.X)
		}
		return tyValue, nil
	case Binary:
		lt, err := typeOf(e.L)
		if err != nil {
			return 0, err
		}
		rt, err := typeOf(e.R)
		if err != nil {
			return 0, err
		}
		if lt == tyList || rt == tyList {
			return 0, fmt.Errorf("a list function may only appear inside IN (...): %s", e)
		}
		switch {
		case e.Op == OpAnd || e.Op == OpOr:
			if lt == tyValue || rt == tyValue {
				return 0, fmt.Errorf("%s needs conditions on both sides: %s", e.Op, e)
			}
			return tyBool, nil
		case e.Op.IsComparison():
			return tyBool, nil
		default:
			if lt == tyBool || rt == tyBool {
				return 0, fmt.Errorf("arithmetic on a condition: %s", e)
			}
			return tyValue, nil
		}
	case In:
		if err := checkValue(e.X); err != nil {
			return 0, err
		}
		for _, it := range e.List {
			t, err := typeOf(it)
			if err != nil {
				return 0, err
			}
			if t == tyBool {
				return 0, fmt.Errorf("IN list item is a condition: %s", it)
			}
		}
		return tyBool, nil
	case Like:
		if err := checkValue(e.X); err != nil {
			return 0, err
		}
		return tyBool, checkValue(e.Pattern)
	case IsNull:
		return tyBool, checkValue(e.X)
	case Between:
		for _, x := range []Expr{e.X, e.Lo, e.Hi} {
			if err := checkValue(x); err != nil {
				return 0, err
			}
		}
		return tyBool, nil
	}
	return 0, fmt.Errorf("unknown node %T", e)
}

// checkValue accepts anything usable as a scalar value.
func checkValue(e Expr) error {
	t, err := typeOf(e)
	if err != nil {
		return &SyntaxError{0, err.Error()}
	}
	if t == tyList {
		return &SyntaxError{0, fmt.Sprintf("a list function may only appear inside IN (...): %s", e)}
	}
	return nil
}

func checkBoolean(e Expr) error {
	t, err := typeOf(e)
	if err != nil {
		return &SyntaxError{0, err.Error()}
	}
	if t == tyValue || t == tyList {
		return &SyntaxError{0, fmt.Sprintf("the predicate must be a condition, not the value %s", e)}
	}
	return nil
}
