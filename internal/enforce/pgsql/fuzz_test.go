package pgsql

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/policy/expr"
)

// lex splits SQL into tokens the way PostgreSQL's scanner delimits them
// (standard-conforming strings): quoted literals and identifiers, comments,
// dollar quotes and everything else. It reports what lies outside quotes.
func lex(sql string) (outside string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for {
				k := strings.IndexByte(sql[j:], c)
				if k < 0 {
					return "", false // unterminated
				}
				j += k + 1
				if j < len(sql) && sql[j] == c {
					j++ // doubled quote
					continue
				}
				break
			}
			b.WriteString(" Q ")
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), true
}

// FuzzLiteral checks that any text rendered as a literal or an identifier
// is one token that reads back as the text.
func FuzzLiteral(f *testing.F) {
	for _, s := range []string{"", "a", "'", "''; DROP TABLE x; --", `\'`, "$$", "é\u2028", "\"", "x\"y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, quote := range []func(string) (string, error){Literal, Ident} {
			q, err := quote(s)
			if err != nil {
				if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && s != "" && len(s) <= MaxIdentLen {
					t.Fatalf("%q refused: %v", s, err)
				}
				continue
			}
			out, ok := lex(q)
			if !ok || strings.TrimSpace(out) != "Q" {
				t.Fatalf("%q rendered as %q is not one token", s, q)
			}
			inner := q[1 : len(q)-1]
			if got := strings.ReplaceAll(inner, q[:1]+q[:1], q[:1]); got != s {
				t.Fatalf("%q reads back as %q", s, got)
			}
		}
	})
}

// FuzzPredicate renders any predicate the parser accepts into a row filter
// and checks that outside quoted tokens the SQL holds no statement
// separator, comment or dollar quote, and balanced parentheses: user text
// can only ever end up inside a quoted token.
func FuzzPredicate(f *testing.F) {
	for _, s := range []string{
		"country = 'x'' OR ''1''=''1'",
		"@groupsContains(country) OR @username = 'a;b'",
		"country IN ('a', @attributes('Dept''; --'), @groups('$$'))",
		"lower(\"we\"\"ird\") LIKE '%\\%' AND NOT id BETWEEN -1 AND 2.5e3",
		"@isInGroups('a', 'b') OR @hasAttribute('x', '/* y */') OR @isUsingPurpose('p')",
		"coalesce(country, 'none') <> 'x' OR country IS NULL",
	} {
		f.Add(s)
	}
	cols := []Column{{Name: "country", Kind: KindText}, {Name: "id", Kind: KindInt8}, {Name: `we"ird`, Kind: KindOther}}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := expr.Parse(s)
		if err != nil {
			return
		}
		// Resolve tagged columns to a column, as the engine does.
		e = expr.Map(e, func(n expr.Expr) expr.Expr {
			if _, ok := n.(expr.ColumnTagged); ok {
				return expr.Column{Name: "country"}
			}
			return n
		})
		plan := &policy.Plan{Rows: []*policy.RowRule{{Kind: policy.RowWhere, AppliesTo: policy.Not{X: policy.InGroup{Group: s}}, Where: e}}}
		r, err := Render(testSystem, Source{DataSourceID: 1, Schema: "s", Table: "t", RowsInView: true, Columns: cols},
			Target{Schema: "s_governed", Name: "t"}, plan)
		if err != nil {
			return // e.g. a column the table does not have
		}
		out, ok := lex(r.View)
		if !ok {
			t.Fatalf("unterminated quote in %s", r.View)
		}
		for _, bad := range []string{";", "--", "/*", "$$"} {
			if strings.Contains(out, bad) {
				t.Fatalf("%q outside quotes in the SQL of %q:\n%s", bad, s, r.View)
			}
		}
		if strings.Count(out, "(") != strings.Count(out, ")") {
			t.Fatalf("unbalanced parentheses for %q:\n%s", s, r.View)
		}
	})
}
