package sdd

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/errs"
)

// FuzzParseIdentifier checks that any payload either parses into an
// identifier that compiles and scores, or is refused with a 400 or 422.
func FuzzParseIdentifier(f *testing.F) {
	for _, seed := range []string{
		`{"name":"MY_REGEX_IDENTIFIER","displayName":"R","description":"d","type":"regex","config":{"regex":"^[A-Z][a-z]+","tags":["Discovered.regex-example"],"minConfidence":0.9}}`,
		`{"name":"D","displayName":"D","description":"d","type":"dictionary","config":{"values":["Bob","Eve"],"caseSensitive":true,"tags":["Discovered.d"]}}`,
		`{"name":"C","displayName":"C","description":"d","type":"columnNameRegex","config":{"columnNameRegex":"ssn|social ?security","tags":["Discovered.c"]}}`,
		`{"name":"DATE","displayName":"Date","description":"d","type":"builtIn","config":{"tags":["Discovered.Entity.Date"],"conditionalTags":{"Discovered.X":{"columnNameRegex":"x"}}}}`,
		`{"name":"R","displayName":"R","description":"d","type":"regex","config":{"regex":"(?i)a{1000}","tags":["Discovered.r"]}}`,
		`{"name":"R","type":"regex","config":{"regex":"\\","tags":["x"],"minConfidence":-1}}`,
		`[]`, `{"config":{"values":"x"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := ParseIdentifier(data)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || (e.Kind != errs.Invalid && e.Kind != errs.BadRequest) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		s, err := Compile(Framework{Classifiers: []FrameworkIdentifier{{Name: id.Name}}}, lookupOf(id))
		if err != nil {
			t.Fatalf("a valid identifier does not compile: %v", err)
		}
		col := Column{Name: id.Config.Regex + id.Config.ColumnNameRegex, Values: append([]string{id.Description, id.DisplayName}, id.Config.Values...)}
		first := s.Score(col)
		if again := s.Score(col); !reflect.DeepEqual(first, again) {
			t.Fatalf("scores differ: %+v %+v", first, again)
		}
		for _, tag := range first.Tags {
			if !strings.HasPrefix(tag, TagPrefix) {
				t.Fatalf("tag %q", tag)
			}
		}
	})
}

// FuzzRegexIdentifier checks that a pattern validates exactly when it
// compiles for both value and column-name matching.
func FuzzRegexIdentifier(f *testing.F) {
	for _, seed := range []string{`^\d{3}-\d{2}-\d{4}$`, `(a|b)*c`, `[`, `(?P<x>a)`, `\p{Greek}+`, `(?=x)`, `x{2,1}`, `\8`, `a**`} {
		f.Add(seed, "123-45-6789", "ssn", false)
	}
	f.Fuzz(func(t *testing.T, pattern, value, name string, caseSensitive bool) {
		for _, typ := range []Type{TypeRegex, TypeColumnNameRegex} {
			id := Identifier{Name: "F", DisplayName: "F", Description: "F", Type: typ, Config: Config{Tags: []string{"Discovered.F"}, CaseSensitive: caseSensitive && typ == TypeRegex}}
			if typ == TypeRegex {
				id.Config.Regex = pattern
			} else {
				id.Config.ColumnNameRegex = pattern
			}
			verr := id.Validate()
			s, cerr := Compile(Framework{Classifiers: []FrameworkIdentifier{{Name: "F"}}}, lookupOf(id))
			if verr == nil && cerr != nil {
				t.Fatalf("%s %q validates but does not compile: %v", typ, pattern, cerr)
			}
			if verr == nil {
				s.Score(Column{Name: name, Values: []string{value, value}})
			} else if !errs.Is(verr, errs.Invalid) {
				t.Fatalf("unclassified error %v", verr)
			}
		}
	})
}

// FuzzValueChecks runs every built-in check on arbitrary text and checks
// properties that tie them together.
func FuzzValueChecks(f *testing.F) {
	for _, seed := range []string{"4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "123-45-6789", "(415) 555-0134",
		"+44 20 7946 0958", "90210-1234", "2024-02-29 10:00:00+00", "2001:db8::1/64", "ann@example.com", "Zoë O'Brien",
		"1600 Pennsylvania Avenue NW", "EMail Address", "\xff\xfe", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if isCreditCard(s) {
			var buf [24]byte
			d, ok := cardDigits(s, buf[:])
			if !ok || !luhn(d) || len(d) < 13 || len(d) > 19 {
				t.Fatalf("card %q", s)
			}
		}
		if isIBAN(s) && !isIBAN(strings.ToLower(s)) {
			t.Fatalf("IBAN %q is case-sensitive", s)
		}
		if isSSN(s, false) && !isSSN(s, true) {
			t.Fatalf("SSN %q", s)
		}
		if strong, weak := phone(s); strong && weak {
			t.Fatalf("phone %q both strong and weak", s)
		}
		if strong, weak := zip(s); strong && weak {
			t.Fatalf("zip %q both strong and weak", s)
		}
		isEmail(s)
		isIPAddress(s)
		isDate(s)
		isPersonName(s)
		isStreetAddress(s)
		lookupFold(countryNames, s)
		if w := words(s); words(w) != w {
			t.Fatalf("words(%q) = %q is not stable", s, w)
		}
	})
}

// FuzzScore scores arbitrary columns with every built-in identifier.
func FuzzScore(f *testing.F) {
	f.Add("phone", "(415) 555-0134", "text")
	f.Add("birth_date", "1980-01-02", "date")
	f.Add("EMail Address", "ann@example.com", "text")
	s := MustCompile(DefaultFramework(), nil)
	f.Fuzz(func(t *testing.T, name, value, dataType string) {
		col := Column{Name: name, DataType: dataType, Values: []string{value, value, strings.ToUpper(value)}}
		first := s.Score(col)
		if again := s.Score(col); !reflect.DeepEqual(first, again) {
			t.Fatalf("scores differ: %+v %+v", first, again)
		}
		for _, m := range first.Matches {
			if m.Confidence <= 0 || m.Confidence > 1 {
				t.Fatalf("confidence %v", m.Confidence)
			}
		}
	})
}

// FuzzParseClassification checks that any classification payload either
// validates and classifies, or is refused with a 400 or 422.
func FuzzParseClassification(f *testing.F) {
	f.Add([]byte(`{"active":true,"shortName":"HR","name":"HR","description":"d","tags":[{"name":"HR.Data","source":"curated","sensitivities":[{"dimension":"confidentiality","sensitivity":2}]}],"rules":[{"name":"r","classificationTag":{"name":"HR.Data","source":"curated"},"neighborColumnTags":[{"name":"Employee Name","source":"curated"}]}]}`))
	f.Add([]byte(`{"tags":[{"sensitivities":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseClassification(data)
		if err != nil {
			if !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.BadRequest) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		src := TaggedSource{Tags: []string{"Employee Name"}, Columns: []TaggedColumn{{Name: "a", Tags: []string{"Employee Name", c.Name}}, {Name: "b"}}}
		first := c.Classify(src)
		if again := c.Classify(src); !reflect.DeepEqual(first, again) {
			t.Fatalf("classifications differ: %v %v", first, again)
		}
	})
}
