package postgres

import (
	"strings"
	"testing"
)

// Names that are no valid identifier (too long, NUL) are still quoted.
func TestQuoteOrNeverPastes(t *testing.T) {
	for _, s := range []string{strings.Repeat("x", 70) + `"; DROP TABLE t; --`, "a\x00b\"c", "plain"} {
		q := quoteOr(s)
		inner := q[1 : len(q)-1]
		if q[0] != '"' || q[len(q)-1] != '"' || strings.ReplaceAll(inner, `""`, "") != strings.ReplaceAll(s, `"`, "") {
			t.Errorf("quoteOr(%q) = %s", s, q)
		}
	}
}
