package sdd

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
)

func repeat(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestScoreWithTheDefaultFramework(t *testing.T) {
	s := MustCompile(DefaultFramework(), nil)
	for _, tc := range []struct {
		col  Column
		want []string
	}{
		{Column{Name: "contact", Values: []string{"ann@example.com", " bob@example.org ", "eve@example.net"}}, []string{TagEmail}},
		{Column{Name: "dob", DataType: "date", Values: []string{"1980-01-02"}}, []string{TagDate, TagDateOfBirth}},
		{Column{Name: "DateOfBirth", DataType: "text", Values: []string{"1980-01-02", "3/4/1975"}}, []string{TagDate, TagDateOfBirth}},
		{Column{Name: "shipped_on", DataType: "date"}, []string{TagDate}},
		{Column{Name: "tax_id", Values: []string{"123-45-6780", "234-56-7890"}}, []string{TagCountryUS, TagSSN}},
		{Column{Name: "tax_id", Values: []string{"123456780", "234567890"}}, nil},
		{Column{Name: "customer_ssn", Values: []string{"123456780", "234567890"}}, []string{TagCountryUS, TagSSN}},
		{Column{Name: "ref", Values: []string{"4155550134", "2125550199"}}, nil},
		{Column{Name: "mobile_number", Values: []string{"4155550134", "2125550199"}}, []string{TagPhone}},
		{Column{Name: "code", Values: []string{"90210", "10001"}}, nil},
		{Column{Name: "PostalCode", Values: []string{"90210", "10001-1234"}}, []string{TagCountryUS, TagPostalCode}},
		{Column{Name: "first_name", Values: []string{"Ann", "Bob"}}, []string{TagPersonName}},
		{Column{Name: "first_name", Values: []string{"A1", "B2"}}, nil},
		{Column{Name: "product_name", Values: []string{"Lamp", "Mug"}}, nil},
		{Column{Name: "sex", Values: []string{"F", "M", "m"}}, []string{TagGender}},
		{Column{Name: "size", Values: []string{"M", "M", "F"}}, nil},
		{Column{Name: "country", Values: []string{"DE", "FR", "US"}}, []string{TagCountry, TagLocation}},
		{Column{Name: "lang", Values: []string{"DE", "FR", "IT"}}, nil},
		{Column{Name: "status", Values: []string{"OK", "OK"}}, nil},
		{Column{Name: "home_state", Values: []string{"Texas", "OK", "New York"}}, []string{TagCountryUS, TagLocation, TagState}},
		{Column{Name: "empty", Values: nil, Nulls: 10}, nil},
		{Column{Name: "blank", Values: []string{" ", ""}}, nil},
	} {
		got := s.Score(tc.col)
		want := tc.want
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got.Tags, want) {
			t.Errorf("%s %q: tags %q, want %q (%+v)", tc.col.Name, tc.col.Values, got.Tags, want, got.Matches)
		}
	}
}

func TestMinimumConfidenceIsAShareOfNonNullValues(t *testing.T) {
	s := MustCompile(Framework{Classifiers: []FrameworkIdentifier{{Name: "EMAIL_ADDRESS"}}}, nil)
	col := func(emails, others int) Column {
		return Column{Name: "c", Nulls: 50, Values: append(repeat(emails, func(i int) string { return fmt.Sprintf("u%d@example.com", i) }),
			repeat(others, func(int) string { return "n/a" })...)}
	}
	if r := s.Score(col(90, 10)); len(r.Matches) != 1 || r.Matches[0].Confidence != 0.9 {
		t.Errorf("90 of 100 must match at 0.9: %+v", r)
	}
	if r := s.Score(col(89, 11)); len(r.Matches) != 0 {
		t.Errorf("89 of 100 must not match: %+v", r)
	}
	if r := s.Score(col(9, 1)); len(r.Matches) != 1 {
		t.Errorf("9 of 10 must match: %+v", r)
	}

	low := 0.25
	lenient := MustCompile(Framework{Classifiers: []FrameworkIdentifier{{Name: "EMAIL_ADDRESS",
		Overrides: Overrides{MinConfidence: &low, Tags: []string{"Discovered.Contact"}}}}}, nil)
	r := lenient.Score(col(30, 70))
	if len(r.Matches) != 1 || r.Matches[0].Confidence != 0.3 || !slices.Equal(r.Tags, []string{"Discovered.Contact"}) {
		t.Errorf("overrides: %+v", r)
	}
	zero := 0.0
	anything := MustCompile(Framework{Classifiers: []FrameworkIdentifier{{Name: "EMAIL_ADDRESS", Overrides: Overrides{MinConfidence: &zero}}}}, nil)
	if r := anything.Score(col(0, 100)); len(r.Matches) != 0 {
		t.Errorf("no evidence must never match: %+v", r)
	}
}

func TestUserIdentifiers(t *testing.T) {
	regex := Identifier{Name: "ACCOUNT", Type: TypeRegex, Config: Config{Regex: `^acct-\d{6}$`, Tags: []string{"Discovered.Account"}}}
	strict := Identifier{Name: "ACCOUNT_STRICT", Type: TypeRegex, Config: Config{Regex: `^acct-\d{6}$`, CaseSensitive: true, Tags: []string{"Discovered.Account Strict"}}}
	dict := Identifier{Name: "NAMES", Type: TypeDictionary, Config: Config{Values: []string{"Bob", "Eve"}, Tags: []string{"Discovered.Names"}}}
	dictCS := Identifier{Name: "NAMES_CS", Type: TypeDictionary, Config: Config{Values: []string{"Bob", "Eve"}, CaseSensitive: true, Tags: []string{"Discovered.Names CS"}}}
	byName := Identifier{Name: "SSN_NAME", Type: TypeColumnNameRegex, Config: Config{ColumnNameRegex: "ssn|social ?security", Tags: []string{"Discovered.SSN Column"}}}
	cond := Identifier{Name: "FLAG", Type: TypeDictionary, Config: Config{Values: []string{"Y", "N"}, Tags: []string{"Discovered.Flag"},
		ConditionalTags: map[string]TagCondition{"Discovered.Consent": {ColumnNameRegex: "consent|opt.?in"}}}}
	lookup := lookupOf(regex, strict, dict, dictCS, byName, cond)
	f := Framework{Classifiers: []FrameworkIdentifier{{Name: "ACCOUNT"}, {Name: "ACCOUNT_STRICT"}, {Name: "NAMES"}, {Name: "NAMES_CS"}, {Name: "SSN_NAME"}, {Name: "FLAG"}}}
	s, err := Compile(f, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		col  Column
		want []string
	}{
		{Column{Name: "a", Values: []string{"ACCT-123456", "acct-654321"}}, []string{"Discovered.Account"}},
		{Column{Name: "a", Values: []string{"acct-123456", "acct-654321"}}, []string{"Discovered.Account", "Discovered.Account Strict"}},
		{Column{Name: "a", Values: []string{"BOB", " eve "}}, []string{"Discovered.Names"}},
		{Column{Name: "a", Values: []string{"Bob", "Eve"}}, []string{"Discovered.Names", "Discovered.Names CS"}},
		{Column{Name: "Social Security"}, []string{"Discovered.SSN Column"}},
		{Column{Name: "marketing_opt_in", Values: []string{"Y", "N", "y"}}, []string{"Discovered.Consent", "Discovered.Flag"}},
		{Column{Name: "active", Values: []string{"Y", "N"}}, []string{"Discovered.Flag"}},
	} {
		if got := s.Score(tc.col); !slices.Equal(got.Tags, tc.want) {
			t.Errorf("%s %q: %q, want %q", tc.col.Name, tc.col.Values, got.Tags, tc.want)
		}
	}

	_, err = Compile(Framework{Classifiers: []FrameworkIdentifier{{Name: "EMAIL_ADDRESS"}, {Name: "MISSING"}}}, lookup)
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"classifiers[1].name:notFound"}) {
		t.Errorf("got %q", got)
	}
}

func TestScoreIsDeterministic(t *testing.T) {
	s := MustCompile(DefaultFramework(), nil)
	col := Column{Name: "birth_date", DataType: "text", Values: repeat(100, func(i int) string { return fmt.Sprintf("19%02d-0%d-1%d", i, i%9+1, i%10) })}
	first := s.Score(col)
	for range 20 {
		if again := s.Score(col); !reflect.DeepEqual(first, again) {
			t.Fatalf("%+v then %+v", first, again)
		}
	}
	if !slices.Equal(first.Tags, []string{TagDate, TagDateOfBirth}) {
		t.Errorf("tags %q", first.Tags)
	}
}

func TestTagsByColumnAndDiff(t *testing.T) {
	results := []Result{{Column: "ssn", Tags: []string{TagCountryUS, TagSSN}}, {Column: "id", Tags: []string{}}}
	next := TagsByColumn(results)
	if !maps.EqualFunc(next, map[string][]string{"ssn": {TagCountryUS, TagSSN}}, slices.Equal) {
		t.Fatalf("TagsByColumn = %v", next)
	}
	previous := map[string][]string{"ssn": {TagCountryUS}, "email": {TagEmail}}
	added, removed := Diff(previous, next)
	if !maps.EqualFunc(added, map[string][]string{"ssn": {TagSSN}}, slices.Equal) ||
		!maps.EqualFunc(removed, map[string][]string{"email": {TagEmail}}, slices.Equal) {
		t.Errorf("added %v, removed %v", added, removed)
	}
}
