package tags

import (
	"strings"
	"testing"
)

// FuzzValidName: a valid name has valid ancestors, each a proper prefix
// ending where a part ends, so that the hierarchy can hold it.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"Discovered.PII.SSN", "A..B", " A", "A.", ".A", "Données.Santé", "a\x00b", "Rate%41", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidName(name) != nil {
			return
		}
		for _, a := range Ancestors(name) {
			if err := ValidName(a); err != nil {
				t.Fatalf("ancestor %q of valid %q is invalid: %v", a, name, err)
			}
			if !strings.HasPrefix(name, a+".") {
				t.Fatalf("ancestor %q is not a part prefix of %q", a, name)
			}
		}
	})
}
