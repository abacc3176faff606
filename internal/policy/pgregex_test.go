package policy

import (
	"strings"
	"testing"
)

func TestCheckPostgresRegex(t *testing.T) {
	for _, ok := range []string{`^.*(\d{4})$`, `\bword\b`, `[a-z0-9_]+@`, `[]a]`, `[^]a-]`, `\.\*\(\)`, `a{255}`, `a{2,}`,
		`(?:ab)+?`, `[[:alpha:][:digit:]]`, `[\d\s-]`, `\A\z`, `x\ty`, `[[:alpha:]-]`} {
		if _, err := compileRegex(ok, false); err != nil {
			t.Fatalf("%q does not compile in Go: %v", ok, err)
		}
		if err := CheckPostgresRegex(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for re, want := range map[string]string{
		`\pL`:           `\p is not supported`,
		`[\p{Greek}]`:   `\p is not supported`,
		`\PL`:           `\P is not supported`,
		`\Q.*\E`:        `\Q is not supported`,
		`\x41`:          `\x is not supported`,
		`\101`:          `\1 is not supported`,
		`(?i)abc`:       "(?...) groups",
		`(?P<year>\d+)`: "(?...) groups",
		`a{256}`:        "above PostgreSQL's limit",
		`a{2,300}`:      "above PostgreSQL's limit",
		`a{2`:           "a literal {",
		`[[:^alpha:]]`:  "[:^alpha:] is not supported",
		`[[:alpha:]-z]`: "a range cannot start",
		`\C`:            `\C is not supported`,
		`x{,5}`:         "a literal {",
		`[[.a.]]`:       "means something else",
		`[[=e=]]`:       "means something else",
	} {
		err := CheckPostgresRegex(re)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", re, err, want)
		}
	}
}
