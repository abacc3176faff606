package expr

// User is what a predicate may ask about the querying user.
type User interface {
	Username() string
	IAM() string
	GroupList() []string
	InGroup(group string) bool
	AttributeValues(name string) []string
	HasAttribute(name, value string) bool
	PurposeList() []string
	// ActingUnder reports whether the user acts under purpose or one of its
	// sub-purposes.
	ActingUnder(purpose string) bool
}

// Bind resolves every user function of e for u, leaving a predicate over
// columns and literals only, and folds what became constant: a condition that
// no longer depends on the row becomes TRUE or FALSE.
func Bind(e Expr, u User) Expr {
	if !HasUserFunctions(e) {
		return e
	}
	return Simplify(Map(e, func(n Expr) Expr {
		c, ok := n.(Call)
		if !ok || !c.Func.User() {
			return n
		}
		return bindCall(c, u)
	}))
}

func strArg(c Call, i int) string {
	if i < len(c.Args) {
		if s, ok := c.Args[i].(String); ok {
			return s.Value
		}
	}
	return ""
}

// listOf turns user values into literals; an empty list falls back to the
// placeholder argument at index ph when the predicate gave one.
func listOf(vals []string, c Call, ph int) []Expr {
	if len(vals) == 0 && ph < len(c.Args) {
		return []Expr{c.Args[ph]}
	}
	out := make([]Expr, len(vals))
	for i, v := range vals {
		out[i] = String{v}
	}
	return out
}

func bindCall(c Call, u User) Expr {
	switch c.Func {
	case FnUsername:
		return String{u.Username()}
	case FnIAM:
		return String{u.IAM()}
	case FnGroups:
		return listMarker{listOf(u.GroupList(), c, 0)}
	case FnAttributes:
		return listMarker{listOf(u.AttributeValues(strArg(c, 0)), c, 1)}
	case FnPurposes:
		return listMarker{listOf(u.PurposeList(), c, 0)}
	case FnGroupsContains:
		return In{X: c.Args[0], List: listOf(u.GroupList(), c, 1)}
	case FnAttributeValuesContains:
		return In{X: c.Args[1], List: listOf(u.AttributeValues(strArg(c, 0)), c, 2)}
	case FnPurposesContains:
		return In{X: c.Args[0], List: listOf(u.PurposeList(), c, 1)}
	case FnHasAttribute:
		return Bool{u.HasAttribute(strArg(c, 0), strArg(c, 1))}
	case FnIsInGroups:
		for i := range c.Args {
			if !u.InGroup(strArg(c, i)) {
				return Bool{false}
			}
		}
		return Bool{true}
	case FnIsUsingPurpose:
		return Bool{u.ActingUnder(strArg(c, 0))}
	}
	return c
}

// listMarker carries the values of a list function until the enclosing IN
// splices them in; it never survives Bind.
type listMarker struct{ items []Expr }

func (listMarker) expr()            {}
func (l listMarker) String() string { return In{X: Null{}, List: l.items}.String() }

// HasUserFunctions reports whether e calls a function that reads the user.
func HasUserFunctions(e Expr) bool {
	switch n := e.(type) {
	case Call:
		if n.Func.User() {
			return true
		}
		for _, a := range n.Args {
			if HasUserFunctions(a) {
				return true
			}
		}
	case Unary:
		return HasUserFunctions(n.X)
	case Binary:
		return HasUserFunctions(n.L) || HasUserFunctions(n.R)
	case In:
		if HasUserFunctions(n.X) {
			return true
		}
		for _, a := range n.List {
			if HasUserFunctions(a) {
				return true
			}
		}
	case Like:
		return HasUserFunctions(n.X) || HasUserFunctions(n.Pattern)
	case IsNull:
		return HasUserFunctions(n.X)
	case Between:
		return HasUserFunctions(n.X) || HasUserFunctions(n.Lo) || HasUserFunctions(n.Hi)
	}
	return false
}

// Simplify splices bound lists into IN and folds boolean constants.
func Simplify(e Expr) Expr {
	return Map(e, func(n Expr) Expr {
		switch n := n.(type) {
		case In:
			var list []Expr
			for _, it := range n.List {
				if l, ok := it.(listMarker); ok {
					list = append(list, l.items...)
				} else {
					list = append(list, it)
				}
			}
			if len(list) == 0 {
				return Bool{n.Not}
			}
			n.List = list
			return n
		case Unary:
			if b, ok := n.X.(Bool); ok && n.Op == OpNot {
				return Bool{!b.Value}
			}
			if u, ok := n.X.(Unary); ok && n.Op == OpNot && u.Op == OpNot {
				return u.X
			}
		case Binary:
			lb, lok := n.L.(Bool)
			rb, rok := n.R.(Bool)
			switch n.Op {
			case OpAnd:
				switch {
				case lok && !lb.Value, rok && !rb.Value:
					return Bool{false}
				case lok:
					return n.R
				case rok:
					return n.L
				}
			case OpOr:
				switch {
				case lok && lb.Value, rok && rb.Value:
					return Bool{true}
				case lok:
					return n.R
				case rok:
					return n.L
				}
			case OpEq, OpNe:
				if lok && rok {
					return Bool{(lb.Value == rb.Value) == (n.Op == OpEq)}
				}
				ls, lsok := n.L.(String)
				rs, rsok := n.R.(String)
				if lsok && rsok {
					return Bool{(ls.Value == rs.Value) == (n.Op == OpEq)}
				}
			}
		}
		return n
	})
}
