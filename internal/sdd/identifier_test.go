package sdd

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/errs"
)

// fieldsOf returns "field:code" for each problem of a 422, or fails.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		t.Fatalf("want a 422, got %v", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+":"+f.Code)
	}
	return out
}

func TestTheDocumentedIdentifierExamplesParse(t *testing.T) {
	for _, payload := range []string{
		`{"name":"MY_REGEX_IDENTIFIER","displayName":"My Regex Identifier","description":"A regex identifier example","type":"regex",
		  "config":{"regex":"^[A-Z][a-z]+","tags":["Discovered.regex-example"],"minConfidence":0.9}}`,
		`{"name":"MY_DICTIONARY_IDENTIFIER","displayName":"My Dictionary Identifier","description":"A dictionary identifier example","type":"dictionary",
		  "config":{"values":["Bob","Eve"],"caseSensitive":true,"tags":["Discovered.dictionary-example","Discovered.dictionary-example"],"minConfidence":0.9}}`,
		`{"name":"MY_COLUMN_NAME_IDENTIFIER","displayName":"My Column Name Identifier","description":"A column name identifier example","type":"columnNameRegex",
		  "config":{"columnNameRegex":"ssn|social ?security","tags":["Discovered.column-name-regex"],"minConfidence":0.9}}`,
		`{"name":"ACCOUNT_NUMBER_IDENTIFIER","displayName":"Account Number Identifier","description":"Recognizes account numbers.","type":"regex",
		  "config":{"tags":["Discovered.account-number"],"regex":"^[0-9]{9}-[0-9]{3}-[0-9]{1}$"}}`,
	} {
		id, err := ParseIdentifier([]byte(payload))
		if err != nil {
			t.Errorf("%s: %v", payload, err)
			continue
		}
		if _, err := Compile(Framework{Classifiers: []FrameworkIdentifier{{Name: id.Name}}}, lookupOf(id)); err != nil {
			t.Errorf("%s: compile: %v", id.Name, err)
		}
	}
}

func TestIdentifierValidation(t *testing.T) {
	valid := func() Identifier {
		return Identifier{Name: "ACCT", DisplayName: "Account", Description: "d", Type: TypeRegex,
			Config: Config{Regex: `^\d{9}$`, Tags: []string{"Discovered.Account"}}}
	}
	half, two := 0.5, 1.5
	for _, tc := range []struct {
		name string
		edit func(*Identifier)
		want []string
	}{
		{"valid", func(*Identifier) {}, nil},
		{"invalid regex", func(id *Identifier) { id.Config.Regex = `^(\d+$` }, []string{"config.regex:invalid"}},
		{"lookahead is not RE2", func(id *Identifier) { id.Config.Regex = `^(?=\d)` }, []string{"config.regex:invalid"}},
		{"unknown type", func(id *Identifier) { id.Type = "neural" }, []string{"type:enum"}},
		{"no type", func(id *Identifier) { id.Type = "" }, []string{"type:required"}},
		{"lower-case name", func(id *Identifier) { id.Name = "my_identifier" }, []string{"name:invalid"}},
		{"missing texts", func(id *Identifier) { id.Name, id.DisplayName, id.Description = "", " ", "" },
			[]string{"name:required", "displayName:required", "description:required"}},
		{"tags", func(id *Identifier) {
			id.Config.Tags = []string{"Discovered.Ok", "PII", "Discovered..x", "Discovered."}
		},
			[]string{"config.tags[1]:invalid", "config.tags[2]:invalid", "config.tags[3]:invalid"}},
		{"no tags", func(id *Identifier) { id.Config.Tags = nil }, []string{"config.tags:required"}},
		{"confidence above 1", func(id *Identifier) { id.Config.MinConfidence = &two }, []string{"config.minConfidence:invalid"}},
		{"confidence in range", func(id *Identifier) { id.Config.MinConfidence = &half }, nil},
		{"regex without pattern", func(id *Identifier) { id.Config.Regex = "" }, []string{"config.regex:required"}},
		{"fields of another type", func(id *Identifier) { id.Config.Values = []string{"x"}; id.Config.ColumnNameRegex = "x" },
			[]string{"config.columnNameRegex:invalid", "config.values:invalid"}},
		{"dictionary", func(id *Identifier) {
			id.Type = TypeDictionary
			id.Config.Regex = ""
			id.Config.Values = []string{"Bob", " "}
		},
			[]string{"config.values[1]:required"}},
		{"empty dictionary", func(id *Identifier) { id.Type = TypeDictionary; id.Config.Regex = "" }, []string{"config.values:required"}},
		{"column name regex", func(id *Identifier) {
			id.Type = TypeColumnNameRegex
			id.Config.Regex = ""
			id.Config.ColumnNameRegex = "acct|account"
		}, nil},
		{"bad column name regex", func(id *Identifier) {
			id.Type = TypeColumnNameRegex
			id.Config.Regex = ""
			id.Config.ColumnNameRegex = "["
		},
			[]string{"config.columnNameRegex:invalid"}},
		{"conditional tags", func(id *Identifier) {
			id.Config.ConditionalTags = map[string]TagCondition{"Discovered.Savings": {ColumnNameRegex: "sav"}, "Bad": {ColumnNameRegex: "("}}
		}, []string{`config.conditionalTags["Bad"]:invalid`, `config.conditionalTags["Bad"].columnNameRegex:invalid`}},
		{"built-in that does not exist", func(id *Identifier) { id.Type = TypeBuiltIn; id.Config.Regex = "" }, []string{"name:enum"}},
		{"built-in", func(id *Identifier) { *id, _ = BuiltIn("EMAIL_ADDRESS") }, nil},
		// No store keeps text with a NUL character.
		{"NUL in texts", func(id *Identifier) { id.DisplayName, id.Description, id.Config.Regex = "a\x00", "b\x00", "\x00" },
			[]string{"displayName:invalid", "description:invalid", "config.regex:invalid"}},
		{"NUL in a word", func(id *Identifier) {
			id.Type = TypeDictionary
			id.Config.Regex = ""
			id.Config.Values = []string{"Bob", "E\x00ve"}
		}, []string{"config.values[1]:invalid"}},
		{"NUL in a column name regex", func(id *Identifier) {
			id.Config.ConditionalTags = map[string]TagCondition{"Discovered.X": {ColumnNameRegex: "a\x00"}}
		}, []string{`config.conditionalTags["Discovered.X"].columnNameRegex:invalid`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := valid()
			tc.edit(&id)
			err := id.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if got := fieldsOf(t, err); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseIdentifierReportsTypeErrorsOnTheirField(t *testing.T) {
	_, err := ParseIdentifier([]byte(`{"name":"X","type":"regex","config":{"minConfidence":"high"}}`))
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"config.minConfidence:type"}) {
		t.Errorf("got %q", got)
	}
	_, err = ParseIdentifier([]byte(`{"name":`))
	if !errs.Is(err, errs.BadRequest) {
		t.Errorf("truncated JSON: %v", err)
	}
}

func TestIdentifierJSONShape(t *testing.T) {
	b, _ := BuiltIn("DATE")
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"type":"builtIn"`) || !strings.Contains(string(out), `"conditionalTags":{"Discovered.Entity.Date of Birth":{"columnNameRegex":`) {
		t.Errorf("DATE = %s", out)
	}
	e, _ := BuiltIn("EMAIL_ADDRESS")
	out, _ = json.Marshal(e)
	if !strings.Contains(string(out), `"config":{"tags":["Discovered.Entity.Electronic Mail Address"],"conditionalTags":{}}`) {
		t.Errorf("EMAIL_ADDRESS = %s", out)
	}
	regex := Identifier{Name: "R", Type: TypeRegex, Config: Config{Regex: "x", Tags: []string{"Discovered.R"}}}
	out, _ = json.Marshal(regex)
	if strings.Contains(string(out), "conditionalTags") || strings.Contains(string(out), "minConfidence") {
		t.Errorf("regex identifier = %s", out)
	}
}

func TestBuiltInsAreValidAndSorted(t *testing.T) {
	ids := BuiltIns()
	if len(ids) < 12 {
		t.Fatalf("%d built-ins", len(ids))
	}
	for i, id := range ids {
		if err := id.Validate(); err != nil {
			t.Errorf("%s: %v", id.Name, err)
		}
		if i > 0 && ids[i-1].Name >= id.Name {
			t.Errorf("%s is out of order", id.Name)
		}
	}
	// Callers get copies.
	ids[0].Config.Tags[0] = "Discovered.Changed"
	if again, _ := BuiltIn(ids[0].Name); again.Config.Tags[0] == "Discovered.Changed" {
		t.Error("BuiltIns shares its slices")
	}
}

// lookupOf resolves the given user identifiers by name.
func lookupOf(ids ...Identifier) func(string) (Identifier, bool) {
	return func(name string) (Identifier, bool) {
		for _, id := range ids {
			if id.Name == name {
				return id, true
			}
		}
		return Identifier{}, false
	}
}
