package pgsql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxIdentLen is PostgreSQL's identifier limit in bytes; longer names are
// silently truncated by the server, so the renderer refuses them instead.
const MaxIdentLen = 63

// checkText rejects what PostgreSQL cannot store in a name or a text literal:
// NUL bytes and invalid UTF-8.
func checkText(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", what, s)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

// Ident quotes a name as a PostgreSQL identifier. Every identifier the
// renderer writes goes through it, whatever its spelling.
func Ident(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("an identifier cannot be empty")
	}
	if err := checkText("identifier", name); err != nil {
		return "", err
	}
	if len(name) > MaxIdentLen {
		return "", fmt.Errorf("identifier %q is longer than %d bytes", name, MaxIdentLen)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// Literal renders s as a standard-conforming string literal: quotes doubled,
// backslashes literal. Sessions that run rendered SQL set
// standard_conforming_strings on, and scripts start by setting it.
func Literal(s string) (string, error) {
	if err := checkText("string", s); err != nil {
		return "", err
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// TextArray renders a text[] literal built from escaped elements.
func TextArray(items []string) (string, error) {
	if len(items) == 0 {
		return "'{}'::pg_catalog.text[]", nil
	}
	parts := make([]string, len(items))
	for i, it := range items {
		l, err := Literal(it)
		if err != nil {
			return "", err
		}
		parts[i] = l
	}
	return "ARRAY[" + strings.Join(parts, ", ") + "]::pg_catalog.text[]", nil
}

// writer accumulates SQL and the first error, so rendering code reads as a
// sequence of writes.
type writer struct {
	b   strings.Builder
	err error
}

func (w *writer) str(s string) { w.b.WriteString(s) }

func (w *writer) ident(name string) {
	q, err := Ident(name)
	w.fail(err)
	w.b.WriteString(q)
}

func (w *writer) qualified(schema, name string) {
	w.ident(schema)
	w.b.WriteByte('.')
	w.ident(name)
}

func (w *writer) lit(s string) {
	q, err := Literal(s)
	w.fail(err)
	w.b.WriteString(q)
}

func (w *writer) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func (w *writer) failf(format string, args ...any) { w.fail(fmt.Errorf(format, args...)) }

func (w *writer) String() string { return w.b.String() }

// must renders pieces that come from the renderer's own vocabulary and
// cannot fail unless a name is invalid; it keeps call sites short.
func mustIdent(name string) string {
	q, err := Ident(name)
	if err != nil {
		panic(err)
	}
	return q
}
