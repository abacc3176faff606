// Package expr is the predicate language of custom WHERE clauses, masking
// conditions and advanced subscription expressions: a small SQL-like boolean
// language with user functions such as @groupsContains(...) and column
// references such as @columnTagged('tag'). Text is parsed into an AST and never
// pasted into SQL: renderers walk the tree, quote every identifier and escape
// or bind every literal.
package expr

import (
	"strconv"
	"strings"
)

// Expr is a node of a parsed predicate. The concrete types are the exported
// structs of this package; switch on them to walk a tree.
type Expr interface {
	expr()
	// String renders the node in canonical predicate syntax; Parse(e.String())
	// gives back an equal tree.
	String() string
}

// Column is a reference to a column of the data source, by its exact name.
type Column struct{ Name string }

// ColumnTagged stands for the column carrying a tag (or one of its
// descendants). The engine replaces it by a Column when it applies a policy to
// a data source.
type ColumnTagged struct{ Tag string }

// String is a string literal.
type String struct{ Value string }

// Number is a numeric literal, kept as written (digits, optional fraction and
// exponent) so no precision is lost.
type Number struct{ Text string }

// Bool is TRUE or FALSE.
type Bool struct{ Value bool }

// Null is the NULL literal.
type Null struct{}

// Call is a call of one of the known functions (see Func).
type Call struct {
	Func Func
	Args []Expr
}

// Unary is NOT x or -x.
type Unary struct {
	Op Op // OpNot or OpNeg
	X  Expr
}

// Binary is a comparison, arithmetic or logical operation.
type Binary struct {
	Op   Op
	L, R Expr
}

// In is x [NOT] IN (list). A list item may be a list-valued user function such
// as @groups().
type In struct {
	X    Expr
	List []Expr
	Not  bool
}

// Like is x [NOT] LIKE pattern (ILIKE when CaseInsensitive).
type Like struct {
	X, Pattern      Expr
	Not             bool
	CaseInsensitive bool
}

// IsNull is x IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
}

// Between is x [NOT] BETWEEN lo AND hi.
type Between struct {
	X, Lo, Hi Expr
	Not       bool
}

func (Column) expr()       {}
func (ColumnTagged) expr() {}
func (String) expr()       {}
func (Number) expr()       {}
func (Bool) expr()         {}
func (Null) expr()         {}
func (Call) expr()         {}
func (Unary) expr()        {}
func (Binary) expr()       {}
func (In) expr()           {}
func (Like) expr()         {}
func (IsNull) expr()       {}
func (Between) expr()      {}

// Op is an operator.
type Op int

const (
	OpOr Op = iota
	OpAnd
	OpNot
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpMod
	OpConcat
	OpNeg
)

var opText = [...]string{
	OpOr: "OR", OpAnd: "AND", OpNot: "NOT", OpEq: "=", OpNe: "<>", OpLt: "<", OpLe: "<=",
	OpGt: ">", OpGe: ">=", OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%",
	OpConcat: "||", OpNeg: "-",
}

func (o Op) String() string { return opText[o] }

// precedence of binary operators; higher binds tighter.
func (o Op) precedence() int {
	switch o {
	case OpOr:
		return 1
	case OpAnd:
		return 2
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		return 4
	case OpAdd, OpSub, OpConcat:
		return 5
	default:
		return 6
	}
}

// IsComparison reports whether o compares two values.
func (o Op) IsComparison() bool { return o >= OpEq && o <= OpGe }

// Quote renders s as a single-quoted predicate string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QuoteIdent renders a column name as a double-quoted identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func (c Column) String() string       { return QuoteIdent(c.Name) }
func (c ColumnTagged) String() string { return "@columnTagged(" + Quote(c.Tag) + ")" }
func (s String) String() string       { return Quote(s.Value) }
func (n Number) String() string       { return n.Text }
func (b Bool) String() string         { return strings.ToUpper(strconv.FormatBool(b.Value)) }
func (Null) String() string           { return "NULL" }

func (c Call) String() string {
	var b strings.Builder
	b.WriteString(c.Func.Name())
	if c.Func.info().bare && len(c.Args) == 0 {
		return b.String()
	}
	b.WriteByte('(')
	for i, a := range c.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (u Unary) String() string {
	if u.Op == OpNot {
		return "NOT " + paren(u.X, 3)
	}
	if x, ok := u.X.(Unary); ok && x.Op == OpNeg {
		return "-(" + x.String() + ")" // never "--", which starts a SQL comment
	}
	return "-" + paren(u.X, 7)
}

func (b Binary) String() string {
	p := b.Op.precedence()
	l := p
	if b.Op.IsComparison() {
		l = p + 1 // comparisons do not chain
	}
	// Left-associative: the right operand needs parentheses at equal precedence.
	return paren(b.L, l) + " " + b.Op.String() + " " + paren(b.R, p+1)
}

func (in In) String() string {
	var b strings.Builder
	b.WriteString(paren(in.X, 5))
	if in.Not {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (")
	for i, a := range in.List {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (l Like) String() string {
	op := " LIKE "
	if l.CaseInsensitive {
		op = " ILIKE "
	}
	if l.Not {
		op = " NOT" + op
	}
	return paren(l.X, 5) + op + paren(l.Pattern, 5)
}

func (n IsNull) String() string {
	if n.Not {
		return paren(n.X, 5) + " IS NOT NULL"
	}
	return paren(n.X, 5) + " IS NULL"
}

func (b Between) String() string {
	op := " BETWEEN "
	if b.Not {
		op = " NOT BETWEEN "
	}
	return paren(b.X, 5) + op + paren(b.Lo, 5) + " AND " + paren(b.Hi, 5)
}

// level is the binding strength of a node, for deciding on parentheses.
func level(e Expr) int {
	switch e := e.(type) {
	case Binary:
		return e.Op.precedence()
	case Unary:
		if e.Op == OpNot {
			return 3
		}
		return 7
	case In, Like, IsNull, Between:
		return 4
	default:
		return 8
	}
}

func paren(e Expr, min int) string {
	if level(e) < min {
		return "(" + e.String() + ")"
	}
	return e.String()
}
