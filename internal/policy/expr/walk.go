package expr

// Walk calls fn for e and, while fn returns true, for every node below it,
// depth first.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	for _, c := range children(e) {
		Walk(c, fn)
	}
}

func children(e Expr) []Expr {
	switch e := e.(type) {
	case Call:
		return e.Args
	case Unary:
		return []Expr{e.X}
	case Binary:
		return []Expr{e.L, e.R}
	case In:
		return append([]Expr{e.X}, e.List...)
	case Like:
		return []Expr{e.X, e.Pattern}
	case IsNull:
		return []Expr{e.X}
	case Between:
		return []Expr{e.X, e.Lo, e.Hi}
	}
	return nil
}

// Map rebuilds e bottom-up, replacing every node n by fn(n) after its
// children have been mapped. fn returns its argument to keep a node.
func Map(e Expr, fn func(Expr) Expr) Expr {
	switch n := e.(type) {
	case Call:
		if len(n.Args) > 0 {
			args := make([]Expr, len(n.Args))
			for i, a := range n.Args {
				args[i] = Map(a, fn)
			}
			n.Args = args
		}
		return fn(n)
	case Unary:
		n.X = Map(n.X, fn)
		return fn(n)
	case Binary:
		n.L, n.R = Map(n.L, fn), Map(n.R, fn)
		return fn(n)
	case In:
		n.X = Map(n.X, fn)
		list := make([]Expr, len(n.List))
		for i, a := range n.List {
			list[i] = Map(a, fn)
		}
		n.List = list
		return fn(n)
	case Like:
		n.X, n.Pattern = Map(n.X, fn), Map(n.Pattern, fn)
		return fn(n)
	case IsNull:
		n.X = Map(n.X, fn)
		return fn(n)
	case Between:
		n.X, n.Lo, n.Hi = Map(n.X, fn), Map(n.Lo, fn), Map(n.Hi, fn)
		return fn(n)
	}
	return fn(e)
}

// Equal reports whether two trees are the same.
func Equal(a, b Expr) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case Call:
		y, ok := b.(Call)
		return ok && x.Func == y.Func && equalList(x.Args, y.Args)
	case Unary:
		y, ok := b.(Unary)
		return ok && x.Op == y.Op && Equal(x.X, y.X)
	case Binary:
		y, ok := b.(Binary)
		return ok && x.Op == y.Op && Equal(x.L, y.L) && Equal(x.R, y.R)
	case In:
		y, ok := b.(In)
		return ok && x.Not == y.Not && Equal(x.X, y.X) && equalList(x.List, y.List)
	case Like:
		y, ok := b.(Like)
		return ok && x.Not == y.Not && x.CaseInsensitive == y.CaseInsensitive && Equal(x.X, y.X) && Equal(x.Pattern, y.Pattern)
	case IsNull:
		y, ok := b.(IsNull)
		return ok && x.Not == y.Not && Equal(x.X, y.X)
	case Between:
		y, ok := b.(Between)
		return ok && x.Not == y.Not && Equal(x.X, y.X) && Equal(x.Lo, y.Lo) && Equal(x.Hi, y.Hi)
	}
	return a == b // leaves are comparable structs
}

func equalList(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// ColumnTags lists the tags named by @columnTagged in e, in order of appearance.
func ColumnTags(e Expr) []string {
	var tags []string
	Walk(e, func(n Expr) bool {
		if t, ok := n.(ColumnTagged); ok {
			tags = append(tags, t.Tag)
		}
		return true
	})
	return tags
}

// HasColumns reports whether e refers to any column, i.e. depends on the row.
func HasColumns(e Expr) bool {
	found := false
	Walk(e, func(n Expr) bool {
		switch n.(type) {
		case Column, ColumnTagged:
			found = true
		}
		return !found
	})
	return found
}

// ForColumns calls fn for every Column and ColumnTagged of e, left to right,
// without allocating.
func ForColumns(e Expr, fn func(Expr)) {
	switch n := e.(type) {
	case Column, ColumnTagged:
		fn(n)
	case Call:
		for _, a := range n.Args {
			ForColumns(a, fn)
		}
	case Unary:
		ForColumns(n.X, fn)
	case Binary:
		ForColumns(n.L, fn)
		ForColumns(n.R, fn)
	case In:
		ForColumns(n.X, fn)
		for _, a := range n.List {
			ForColumns(a, fn)
		}
	case Like:
		ForColumns(n.X, fn)
		ForColumns(n.Pattern, fn)
	case IsNull:
		ForColumns(n.X, fn)
	case Between:
		ForColumns(n.X, fn)
		ForColumns(n.Lo, fn)
		ForColumns(n.Hi, fn)
	}
}
