package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits keep hostile input cheap to reject.
const (
	MaxLength = 8192 // characters in one predicate
	maxDepth  = 64   // nesting of parentheses and operators
)

// SyntaxError reports where and why a predicate does not parse.
type SyntaxError struct {
	Pos int // byte offset in the input
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at offset %d: %s", e.Pos, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuotedIdent
	tString
	tNumber
	tAtFunc
	tOp // punctuation and operators
	tKeyword
)

type token struct {
	kind tokKind
	text string // identifiers/strings unescaped; keywords upper-cased
	pos  int
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "IN": true, "LIKE": true, "ILIKE": true, "IS": true,
	"NULL": true, "BETWEEN": true, "TRUE": true, "FALSE": true,
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			// A comment to the end of the line, as PostgreSQL reads it.
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			// A block comment; PostgreSQL's nest.
			end, err := blockComment(s, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, &SyntaxError{start, "unterminated string literal"}
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, token{tString, b.String(), start})
		case c == '"' || c == '`':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, &SyntaxError{start, "unterminated quoted identifier"}
				}
				if s[i] == c {
					if i+1 < len(s) && s[i+1] == c {
						b.WriteByte(c)
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if b.Len() == 0 {
				return nil, &SyntaxError{start, "empty quoted identifier"}
			}
			toks = append(toks, token{tQuotedIdent, b.String(), start})
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			start := i
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			if i < len(s) && s[i] == '.' {
				i++
				for i < len(s) && isDigit(s[i]) {
					i++
				}
			}
			if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
				j := i + 1
				if j < len(s) && (s[j] == '+' || s[j] == '-') {
					j++
				}
				if j < len(s) && isDigit(s[j]) {
					for j < len(s) && isDigit(s[j]) {
						j++
					}
					i = j
				}
			}
			if i < len(s) && isIdentStart(s[i]) {
				return nil, &SyntaxError{i, "malformed number"}
			}
			if !NumericInRange(s[start:i]) {
				return nil, &SyntaxError{start, fmt.Sprintf("number %s is out of PostgreSQL's numeric range (at most %d digits before the decimal point and %d after)",
					s[start:i], maxNumericIntDigits, maxNumericScale)}
			}
			toks = append(toks, token{tNumber, s[start:i], start})
		case c == '@':
			start := i
			i++
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			if i == start+1 {
				return nil, &SyntaxError{start, "'@' must start a function name"}
			}
			toks = append(toks, token{tAtFunc, s[start:i], start})
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			w := s[start:i]
			if up := strings.ToUpper(w); keywords[up] {
				toks = append(toks, token{tKeyword, up, start})
			} else {
				toks = append(toks, token{tIdent, w, start})
			}
		default:
			start := i
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "<=", ">=", "<>", "!=", "||":
				toks = append(toks, token{tOp, two, start})
				i += 2
				continue
			}
			switch c {
			case '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',':
				toks = append(toks, token{tOp, string(c), start})
				i++
			default:
				return nil, &SyntaxError{start, fmt.Sprintf("unexpected character %q", rune(c))}
			}
		}
	}
	toks = append(toks, token{tEOF, "", len(s)})
	return toks, nil
}

// blockComment returns the offset just past the block comment starting at
// i (nested comments included).
func blockComment(s string, i int) (int, error) {
	start, depth := i, 0
	for i < len(s) {
		switch {
		case s[i] == '/' && i+1 < len(s) && s[i+1] == '*':
			depth++
			i += 2
		case s[i] == '*' && i+1 < len(s) && s[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i, nil
			}
		default:
			i++
		}
	}
	return 0, &SyntaxError{start, "unterminated /* comment"}
}

// PostgreSQL's numeric type holds up to 131072 digits before the decimal
// point and 16383 after; a literal beyond that fails the whole statement.
const (
	maxNumericIntDigits = 131072
	maxNumericScale     = 16383
)

// NumericInRange reports whether a number literal (digits, an optional
// fraction and exponent) is one PostgreSQL's numeric type accepts as
// written: the digits its scale needs, and the digits before the point.
func NumericInRange(text string) bool {
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		mant = text[:i]
		e, err := strconv.Atoi(text[i+1:])
		if err != nil || e > 1<<30 || e < -(1<<30) {
			return false
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if max(0, len(frac)-exp) > maxNumericScale {
		return false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return true // zero
	}
	// Digits before the point: where the point falls, less the leading
	// zeros.
	lead := len(intPart+frac) - len(digits)
	return len(intPart)+exp-lead <= maxNumericIntDigits
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '$' }

type parser struct {
	toks  []token
	p     int
	depth int
}

// Parse parses a predicate into its AST. Every function name is checked, with
// its argument count and kinds; bare identifiers are column references.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLength {
		return nil, &SyntaxError{MaxLength, fmt.Sprintf("predicate longer than %d characters", MaxLength)}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	ps := &parser{toks: toks}
	e, err := ps.or()
	if err != nil {
		return nil, err
	}
	if t := ps.peek(); t.kind != tEOF {
		return nil, ps.errAt(t, "unexpected "+describe(t))
	}
	if err := checkBoolean(e); err != nil {
		return nil, err
	}
	return e, nil
}

func (ps *parser) peek() token { return ps.toks[ps.p] }
func (ps *parser) next() token {
	t := ps.toks[ps.p]
	if t.kind != tEOF {
		ps.p++
	}
	return t
}

func (ps *parser) isKw(w string) bool {
	t := ps.peek()
	return t.kind == tKeyword && t.text == w
}

func (ps *parser) isOp(o string) bool {
	t := ps.peek()
	return t.kind == tOp && t.text == o
}

func (ps *parser) errAt(t token, msg string) error { return &SyntaxError{t.pos, msg} }

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of predicate"
	case tString:
		return "string " + Quote(t.text)
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

func (ps *parser) expectOp(o string) error {
	t := ps.next()
	if t.kind != tOp || t.text != o {
		return ps.errAt(t, fmt.Sprintf("expected %q, found %s", o, describe(t)))
	}
	return nil
}

func (ps *parser) enter() error {
	ps.depth++
	if ps.depth > maxDepth {
		return ps.errAt(ps.peek(), "predicate nested too deeply")
	}
	return nil
}

func (ps *parser) or() (Expr, error) {
	if err := ps.enter(); err != nil {
		return nil, err
	}
	defer func() { ps.depth-- }()
	l, err := ps.and()
	if err != nil {
		return nil, err
	}
	for ps.isKw("OR") {
		ps.next()
		r, err := ps.and()
		if err != nil {
			return nil, err
		}
		l = Binary{OpOr, l, r}
	}
	return l, nil
}

func (ps *parser) and() (Expr, error) {
	l, err := ps.not()
	if err != nil {
		return nil, err
	}
	for ps.isKw("AND") {
		ps.next()
		r, err := ps.not()
		if err != nil {
			return nil, err
		}
		l = Binary{OpAnd, l, r}
	}
	return l, nil
}

func (ps *parser) not() (Expr, error) {
	if ps.isKw("NOT") {
		if err := ps.enter(); err != nil {
			return nil, err
		}
		defer func() { ps.depth-- }()
		ps.next()
		x, err := ps.not()
		if err != nil {
			return nil, err
		}
		return Unary{OpNot, x}, nil
	}
	return ps.predicate()
}

var compOps = map[string]Op{"=": OpEq, "<>": OpNe, "!=": OpNe, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe}

func (ps *parser) predicate() (Expr, error) {
	x, err := ps.additive()
	if err != nil {
		return nil, err
	}
	t := ps.peek()
	if t.kind == tOp {
		if op, ok := compOps[t.text]; ok {
			ps.next()
			r, err := ps.additive()
			if err != nil {
				return nil, err
			}
			return Binary{op, x, r}, nil
		}
	}
	if t.kind != tKeyword {
		return x, nil
	}
	not := false
	if t.text == "NOT" {
		// x NOT IN / NOT LIKE / NOT BETWEEN
		nt := ps.toks[ps.p+1]
		if nt.kind != tKeyword || (nt.text != "IN" && nt.text != "LIKE" && nt.text != "ILIKE" && nt.text != "BETWEEN") {
			return nil, ps.errAt(nt, "expected IN, LIKE or BETWEEN after NOT")
		}
		ps.next()
		not = true
		t = ps.peek()
	}
	switch t.text {
	case "IN":
		ps.next()
		if err := ps.expectOp("("); err != nil {
			return nil, err
		}
		var list []Expr
		for {
			item, err := ps.additive()
			if err != nil {
				return nil, err
			}
			list = append(list, item)
			if ps.isOp(",") {
				ps.next()
				continue
			}
			break
		}
		if err := ps.expectOp(")"); err != nil {
			return nil, err
		}
		return In{X: x, List: list, Not: not}, nil
	case "LIKE", "ILIKE":
		ps.next()
		pat, err := ps.additive()
		if err != nil {
			return nil, err
		}
		return Like{X: x, Pattern: pat, Not: not, CaseInsensitive: t.text == "ILIKE"}, nil
	case "BETWEEN":
		ps.next()
		lo, err := ps.additive()
		if err != nil {
			return nil, err
		}
		if !ps.isKw("AND") {
			return nil, ps.errAt(ps.peek(), "expected AND in BETWEEN")
		}
		ps.next()
		hi, err := ps.additive()
		if err != nil {
			return nil, err
		}
		return Between{X: x, Lo: lo, Hi: hi, Not: not}, nil
	case "IS":
		ps.next()
		n := false
		if ps.isKw("NOT") {
			ps.next()
			n = true
		}
		if !ps.isKw("NULL") {
			return nil, ps.errAt(ps.peek(), "expected NULL after IS")
		}
		ps.next()
		return IsNull{X: x, Not: n}, nil
	}
	return x, nil
}

func (ps *parser) additive() (Expr, error) {
	return ps.leftAssoc(ps.multiplicative, []string{"+", "-", "||"}, []Op{OpAdd, OpSub, OpConcat})
}

func (ps *parser) multiplicative() (Expr, error) {
	return ps.leftAssoc(ps.unary, []string{"*", "/", "%"}, []Op{OpMul, OpDiv, OpMod})
}

// leftAssoc parses operands (by operand) joined by the operators texts
// (ops[i] for texts[i]), grouping to the left: a - b - c is (a - b) - c.
func (ps *parser) leftAssoc(operand func() (Expr, error), texts []string, ops []Op) (Expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		k := -1
		for i, t := range texts {
			if ps.isOp(t) {
				k = i
				break
			}
		}
		if k < 0 {
			return l, nil
		}
		ps.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = Binary{ops[k], l, r}
	}
}

func (ps *parser) unary() (Expr, error) {
	if ps.isOp("-") {
		if err := ps.enter(); err != nil {
			return nil, err
		}
		defer func() { ps.depth-- }()
		ps.next()
		x, err := ps.unary()
		if err != nil {
			return nil, err
		}
		return Unary{OpNeg, x}, nil
	}
	return ps.primary()
}

func (ps *parser) primary() (Expr, error) {
	t := ps.next()
	switch t.kind {
	case tString:
		return String{t.text}, nil
	case tNumber:
		return Number{t.text}, nil
	case tQuotedIdent:
		return Column{t.text}, nil
	case tKeyword:
		switch t.text {
		case "TRUE":
			return Bool{true}, nil
		case "FALSE":
			return Bool{false}, nil
		case "NULL":
			return Null{}, nil
		}
		return nil, ps.errAt(t, "unexpected "+describe(t))
	case tOp:
		if t.text == "(" {
			e, err := ps.or()
			if err != nil {
				return nil, err
			}
			if err := ps.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		}
		return nil, ps.errAt(t, "unexpected "+describe(t))
	case tIdent:
		if ps.isOp("(") {
			return ps.call(t)
		}
		return Column{t.text}, nil
	case tAtFunc:
		return ps.call(t)
	}
	return nil, ps.errAt(t, "unexpected "+describe(t))
}

func (ps *parser) call(name token) (Expr, error) {
	f, ok := LookupFunc(name.text)
	if !ok {
		return nil, ps.errAt(name, fmt.Sprintf("unknown function %s", name.text))
	}
	fi := f.info()
	var args []Expr
	if ps.isOp("(") {
		ps.next()
		if !ps.isOp(")") {
			for {
				a, err := ps.or()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				if ps.isOp(",") {
					ps.next()
					continue
				}
				break
			}
		}
		if err := ps.expectOp(")"); err != nil {
			return nil, err
		}
	} else if !fi.bare {
		return nil, ps.errAt(ps.peek(), fmt.Sprintf("expected ( after %s", fi.name))
	}
	if len(args) < fi.minArgs || (fi.maxArgs >= 0 && len(args) > fi.maxArgs) {
		return nil, ps.errAt(name, fmt.Sprintf("%s takes %s", fi.name, arity(fi)))
	}
	for i, a := range args {
		switch fi.argKind(i) {
		case argName, argText:
			s, ok := a.(String)
			if !ok {
				return nil, ps.errAt(name, fmt.Sprintf("argument %d of %s must be a string literal", i+1, fi.name))
			}
			if fi.argKind(i) == argName && strings.TrimSpace(s.Value) == "" {
				return nil, ps.errAt(name, fmt.Sprintf("argument %d of %s must not be empty", i+1, fi.name))
			}
		default:
			if err := checkValue(a); err != nil {
				return nil, err
			}
		}
	}
	switch f {
	case FnColumnTagged:
		return ColumnTagged{args[0].(String).Value}, nil
	case FnColumnReference:
		return Column{args[0].(String).Value}, nil
	}
	return Call{Func: f, Args: args}, nil
}

func arity(fi funcInfo) string {
	switch {
	case fi.maxArgs < 0:
		return fmt.Sprintf("at least %d argument(s)", fi.minArgs)
	case fi.minArgs == fi.maxArgs:
		return fmt.Sprintf("%d argument(s)", fi.minArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", fi.minArgs, fi.maxArgs)
	}
}
