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
// no longer depends on the row becomes TRUE or FALSE. Subtrees without user
// functions are shared with e, not copied.
func Bind(e Expr, u User) Expr {
	if !HasUserFunctions(e) {
		return e
	}
	return bindTree(e, u)
}

// Literals is an optional interface of User: the user's values as literals,
// prepared once, so binding does not rebuild them for every predicate.
type Literals interface {
	GroupLiterals() []Expr
	PurposeLiterals() []Expr
	AttributeLiterals(name string) []Expr
}

func bindTree(e Expr, u User) Expr {
	if !HasUserFunctions(e) {
		return e
	}
	switch n := e.(type) {
	case Call:
		if n.Func.User() {
			return bindCall(n, u)
		}
		args := make([]Expr, len(n.Args))
		for i, a := range n.Args {
			args[i] = bindTree(a, u)
		}
		n.Args = args
		return n
	case Unary:
		n.X = bindTree(n.X, u)
		return fold(n)
	case Binary:
		n.L, n.R = bindTree(n.L, u), bindTree(n.R, u)
		return fold(n)
	case In:
		n.X = bindTree(n.X, u)
		list := make([]Expr, len(n.List))
		for i, a := range n.List {
			list[i] = bindTree(a, u)
		}
		n.List = list
		return fold(n)
	case Like:
		n.X, n.Pattern = bindTree(n.X, u), bindTree(n.Pattern, u)
		return n
	case IsNull:
		n.X = bindTree(n.X, u)
		return n
	case Between:
		n.X, n.Lo, n.Hi = bindTree(n.X, u), bindTree(n.Lo, u), bindTree(n.Hi, u)
		return n
	}
	return e
}

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
func Simplify(e Expr) Expr { return Map(e, fold) }

// fold simplifies one node whose children are already simplified.
func fold(n Expr) Expr {
	switch n := n.(type) {
	case In:
		spliced := false
		for _, it := range n.List {
			_, isList := it.(listMarker)
			spliced = spliced || isList
		}
		if spliced {
			var list []Expr
			for _, it := range n.List {
				if l, ok := it.(listMarker); ok {
					list = append(list, l.items...)
				} else {
					list = append(list, it)
				}
			}
			n.List = list
		}
		if len(n.List) == 0 {
			return Bool{n.Not}
		}
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
	out := make([]Expr, len(vals))
	for i, v := range vals {
		out[i] = String{v}
	}
	return withPlaceholder(out, c, ph)
}

func withPlaceholder(l []Expr, c Call, ph int) []Expr {
	if len(l) == 0 && ph < len(c.Args) {
		return []Expr{c.Args[ph]}
	}
	return l
}

func bindCall(c Call, u User) Expr {
	if lit, ok := u.(Literals); ok {
		switch c.Func {
		case FnGroups:
			return listMarker{withPlaceholder(lit.GroupLiterals(), c, 0)}
		case FnAttributes:
			return listMarker{withPlaceholder(lit.AttributeLiterals(strArg(c, 0)), c, 1)}
		case FnPurposes:
			return listMarker{withPlaceholder(lit.PurposeLiterals(), c, 0)}
		case FnGroupsContains:
			return fold(In{X: bindTree(c.Args[0], u), List: withPlaceholder(lit.GroupLiterals(), c, 1)})
		case FnAttributeValuesContains:
			return fold(In{X: bindTree(c.Args[1], u), List: withPlaceholder(lit.AttributeLiterals(strArg(c, 0)), c, 2)})
		case FnPurposesContains:
			return fold(In{X: bindTree(c.Args[0], u), List: withPlaceholder(lit.PurposeLiterals(), c, 1)})
		}
	}
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
		return fold(In{X: bindTree(c.Args[0], u), List: listOf(u.GroupList(), c, 1)})
	case FnAttributeValuesContains:
		return fold(In{X: bindTree(c.Args[1], u), List: listOf(u.AttributeValues(strArg(c, 0)), c, 2)})
	case FnPurposesContains:
		return fold(In{X: bindTree(c.Args[0], u), List: listOf(u.PurposeList(), c, 1)})
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
