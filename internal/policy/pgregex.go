package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// A Regular Expression mask is written in RE2 syntax (what the documented
// examples use, checked with Go's regexp) and enforced by PostgreSQL's
// regular expressions. The two agree on the common syntax; where they do
// not, PostgreSQL refuses the pattern when a query first evaluates it
// (failing every query of the view), or reads it differently. So a mask's
// pattern must also be in the part both read alike.

// maxRepeat is the largest count PostgreSQL accepts in {n,m}.
const maxRepeat = 255

// posixClasses are the [:name:] classes both accept.
var posixClasses = map[string]bool{"alnum": true, "alpha": true, "blank": true, "cntrl": true, "digit": true,
	"graph": true, "lower": true, "print": true, "punct": true, "space": true, "upper": true, "xdigit": true,
	"word": true, "ascii": true}

// CheckPostgresRegex reports the first construct of an RE2 pattern that
// PostgreSQL rejects or reads differently; policies are saved only without
// one (stored ones with one are planned closed).
func CheckPostgresRegex(re string) error {
	inClass, classStart := false, 0
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\':
			if i+1 >= len(re) {
				return fmt.Errorf("ends with a lone backslash")
			}
			n := re[i+1]
			if isAlnum(n) {
				allowed := "dDsSwWtnrfv"
				if !inClass {
					allowed += "bBAz" // word boundaries and anchors, translated where they differ
				}
				if !strings.ContainsRune(allowed, rune(n)) {
					return fmt.Errorf(`\%c is not supported by PostgreSQL's regular expressions (or means something else there)`, n)
				}
				if inClass && strings.ContainsRune("dDsSwW", rune(n)) && rangeFollows(re, i+2) {
					return fmt.Errorf(`a range cannot start at \%c`, n)
				}
			}
			i++
		case inClass:
			switch {
			case c == '[' && i+1 < len(re) && (re[i+1] == '.' || re[i+1] == '='):
				// RE2 reads "[." as two characters, PostgreSQL as a
				// collating element or an equivalence class.
				return fmt.Errorf("%q in a bracket expression means something else in PostgreSQL: write \\[ for a literal [", re[i:i+2])
			case c == '[' && i+1 < len(re) && re[i+1] == ':':
				end := strings.Index(re[i+2:], ":]")
				if end < 0 {
					return fmt.Errorf("unterminated [: class")
				}
				name := re[i+2 : i+2+end]
				if !posixClasses[name] {
					return fmt.Errorf("character class [:%s:] is not supported by PostgreSQL", name)
				}
				i += end + 3
				if rangeFollows(re, i+1) {
					return fmt.Errorf("a range cannot start at [:%s:]", name)
				}
			case c == ']' && i > classStart:
				inClass = false
			}
		case c == '[':
			inClass = true
			classStart = i + 1
			if classStart < len(re) && re[classStart] == '^' {
				classStart++
			}
			// A ] right after [ or [^ is a literal.
		case c == '(' && i+1 < len(re) && re[i+1] == '?':
			if i+2 >= len(re) || re[i+2] != ':' {
				return fmt.Errorf("(?...) groups other than (?:...) are not supported by PostgreSQL (named groups, flags: use caseInsensitive)")
			}
		case c == '{':
			end := strings.IndexByte(re[i:], '}')
			if end < 0 {
				return fmt.Errorf("a literal { must be written \\{")
			}
			lo, hi, found := strings.Cut(re[i+1:i+end], ",")
			if !digits(lo) || found && hi != "" && !digits(hi) {
				return fmt.Errorf("a literal { must be written \\{")
			}
			for _, n := range []string{lo, hi} {
				if v, err := strconv.Atoi(n); err == nil && v > maxRepeat {
					return fmt.Errorf("repetition count %d is above PostgreSQL's limit of %d", v, maxRepeat)
				}
			}
			i += end
		}
	}
	return nil
}

// rangeFollows reports whether a bracket expression goes on at i with a
// range ("-" not closing the bracket).
func rangeFollows(re string, i int) bool {
	return i+1 < len(re) && re[i] == '-' && re[i+1] != ']'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
