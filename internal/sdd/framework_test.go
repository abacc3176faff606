package sdd

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestTheDocumentedFrameworkExampleParses(t *testing.T) {
	payload := `{"name":"MY_FIRST_FRAMEWORK","displayName":"My First Framework","description":"This is the first framework I've created.",
	  "classifiers":[{"name":"MY_COLUMN_NAME_IDENTIFIER"},{"name":"MY_REGEX_IDENTIFIER"},{"name":"AGE","overrides":{"tags":["Discovered.Entity.Age"]}}]}`
	known := func(name string) bool { return name != "NOPE" }
	f, err := ParseFramework([]byte(payload), known)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Identifiers(), []string{"MY_COLUMN_NAME_IDENTIFIER", "MY_REGEX_IDENTIFIER", "AGE"}) ||
		!slices.Equal(f.Classifiers[2].Overrides.Tags, []string{"Discovered.Entity.Age"}) {
		t.Fatalf("parsed %+v", f)
	}
	out, _ := json.Marshal(f)
	if !strings.Contains(string(out), `{"name":"MY_REGEX_IDENTIFIER","overrides":{}}`) {
		t.Errorf("empty overrides must encode as {}: %s", out)
	}
}

func TestFrameworkValidation(t *testing.T) {
	two := 2.0
	f := Framework{Name: "PII", DisplayName: "PII", Description: "d", Classifiers: []FrameworkIdentifier{
		{Name: "EMAIL_ADDRESS"},
		{Name: ""},
		{Name: "EMAIL_ADDRESS"},
		{Name: "NOPE"},
		{Name: "DATE", Overrides: Overrides{Tags: []string{"Entity.Date"}, MinConfidence: &two}},
	}}
	known := func(name string) bool { _, ok := BuiltIn(name); return ok }
	want := []string{"classifiers[1].name:required", "classifiers[2].name:unique", "classifiers[3].name:notFound",
		"classifiers[4].overrides.tags[0]:invalid", "classifiers[4].overrides.minConfidence:invalid"}
	if got := fieldsOf(t, f.Validate(known)); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	empty := Framework{Name: "lower", Classifiers: nil}
	want = []string{"name:invalid", "displayName:required", "description:required", "classifiers:required"}
	if got := fieldsOf(t, empty.Validate(nil)); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestDefaultFrameworkHoldsEveryBuiltIn(t *testing.T) {
	f := DefaultFramework()
	known := func(name string) bool { _, ok := BuiltIn(name); return ok }
	if err := f.Validate(known); err != nil {
		t.Fatal(err)
	}
	s := MustCompile(f, nil)
	if len(s.Identifiers()) != len(BuiltIns()) {
		t.Errorf("scorer runs %v", s.Identifiers())
	}
}
