package expr

import (
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{"@columnTagged('Discovered.Country')  in ('USA', 'CANADA', 'MEXICO')", `@columnTagged('Discovered.Country') IN ('USA', 'CANADA', 'MEXICO')`},
		{"@columnTagged('Discovered.Country') = 'USA'", `@columnTagged('Discovered.Country') = 'USA'`},
		{"(`city` in (@groups()))", `"city" IN (@groups())`},
		{"a = 1 and b <> 'x' or not c is null", `"a" = 1 AND "b" <> 'x' OR NOT "c" IS NULL`},
		{"a != 2", `"a" <> 2`},
		{"x between 1 and 10 and y not like 'a%'", `"x" BETWEEN 1 AND 10 AND "y" NOT LIKE 'a%'`},
		{"@groupsContains(@columnReference('Region'))", `@groupsContains("Region")`},
		{"@attributeValuesContains('sales_region', territory, 'none')", `@attributeValuesContains('sales_region', "territory", 'none')`},
		{"owner = @username", `"owner" = @username`},
		{"owner = @username()", `"owner" = @username`},
		{"@isInGroups('Engineers', 'Founders') AND @hasAttribute('Auth1', 'Super Secret')", `@isInGroups('Engineers', 'Founders') AND @hasAttribute('Auth1', 'Super Secret')`},
		{"@hasPurpose('Research')", `@isUsingPurpose('Research')`},
		{"(a + 2) * 3 > -b", `("a" + 2) * 3 > -"b"`},
		{"a - (b - c) = 0", `"a" - ("b" - "c") = 0`},
		{"not (a or b)", `NOT ("a" OR "b")`},
		{"(a or b) and c", `("a" OR "b") AND "c"`},
		{"name = 'O''Brien'", `"name" = 'O''Brien'`},
		{`"weird ""col""" = 1.5e3`, `"weird ""col""" = 1.5e3`},
		{"lower(name) ilike 'a%'", `lower("name") ILIKE 'a%'`},
		{"x not in (1, 2)", `"x" NOT IN (1, 2)`},
		{"active", `"active"`},
		{"TRUE", `TRUE`},
		// Comments are read as PostgreSQL reads them: -- to the end of the
		// line, /* */ nested.
		{"country = 'a' -- trailing", `"country" = 'a'`},
		{"a -- comment", `"a"`},
		{"a = 1 /* x */", `"a" = 1`},
		{"a = 1 --x\n AND b = '--y'", `"a" = 1 AND "b" = '--y'`},
		{"a /* one /* two */ still */ = 1", `"a" = 1`},
		{"a=1--1", `"a" = 1`},
		{"id > 1e131071 AND id < 1e-16383", `"id" > 1e131071 AND "id" < 1e-16383`},
	}
	for _, c := range cases {
		e, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("Parse(%q).String() = %s, want %s", c.in, got, c.want)
		}
		again, err := Parse(e.String())
		if err != nil || !Equal(again, e) {
			t.Errorf("round trip of %q: %v %v", c.in, again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "unexpected end"},
		{"a =", "unexpected end"},
		{"'abc", "unterminated string"},
		{"@nosuch(1)", "unknown function @nosuch"},
		{"pg_sleep(10) = 1", "unknown function pg_sleep"},
		{"a = 1; drop table x", "unexpected character"},
		{"@hasAttribute('a')", "takes 2 argument"},
		{"@columnTagged(name) = 1", "must be a string literal"},
		{"@columnTagged('') = 1", "must not be empty"},
		{"a = 1 = 2", "unexpected"},
		{"@groups() = 'x'", "only appear inside IN"},
		{"a + 1", "must be a condition"},
		{"1 AND a", "needs conditions"},
		{"a + 1 -- = 2", "must be a condition"},
		{"a = 1 /* x", "unterminated /* comment"},
		{"a = 1 /* x /* y */", "unterminated /* comment"},
		{"id > 1e999999", "out of PostgreSQL's numeric range"},
		{"id > 1e131072", "out of PostgreSQL's numeric range"},
		{"id > 0.0000001e-16380", "out of PostgreSQL's numeric range"},
		{"id > 1e99999999999999999999", "out of PostgreSQL's numeric range"},
		{"@isInGroups('Engineers', 'Founders'') AND @hasAttribute('Auth1', 'Super Secret')", "unterminated string"},
		{"x IN ()", "unexpected"},
		{"@username(1)", "takes 0 argument"},
		{"12abc = 1", "malformed number"},
		{strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100), "nested too deeply"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", c.in, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", c.in, err, c.want)
		}
	}
}

type testUser struct {
	name     string
	groups   []string
	attrs    map[string][]string
	purposes []string
}

func (u testUser) Username() string    { return u.name }
func (u testUser) IAM() string         { return "bim" }
func (u testUser) GroupList() []string { return u.groups }
func (u testUser) InGroup(g string) bool {
	for _, x := range u.groups {
		if x == g {
			return true
		}
	}
	return false
}
func (u testUser) AttributeValues(n string) []string { return u.attrs[n] }
func (u testUser) HasAttribute(n, v string) bool {
	for _, x := range u.attrs[n] {
		if x == v {
			return true
		}
	}
	return false
}
func (u testUser) PurposeList() []string { return u.purposes }
func (u testUser) ActingUnder(p string) bool {
	for _, x := range u.purposes {
		if x == p || strings.HasPrefix(x, p+".") {
			return true
		}
	}
	return false
}

func TestBind(t *testing.T) {
	alice := testUser{name: "alice", groups: []string{"HR", "EU"}, attrs: map[string][]string{"region": {"US", "Canada"}}, purposes: []string{"Research.Cancer"}}
	nobody := testUser{name: "bob"}
	cases := []struct {
		in   string
		u    testUser
		want string
	}{
		{"`city` in (@groups())", alice, `"city" IN ('HR', 'EU')`},
		{"`city` in (@groups())", nobody, `FALSE`},
		{"@groupsContains(region, 'none')", nobody, `"region" IN ('none')`},
		{"@attributeValuesContains('region', @columnReference('Territory'))", alice, `"Territory" IN ('US', 'Canada')`},
		{"owner = @username OR @isInGroups('HR')", alice, `TRUE`},
		{"owner = @username OR @isInGroups('HR')", nobody, `"owner" = 'bob'`},
		{"@isUsingPurpose('Research') AND x > 1", alice, `"x" > 1`},
		{"@isUsingPurpose('Research.Cancer.Lung')", alice, `FALSE`},
		{"@hasAttribute('region', 'US') AND NOT @isInGroups('HR', 'EU')", alice, `FALSE`},
		{"@purposesContains(p)", alice, `"p" IN ('Research.Cancer')`},
		{"x NOT IN (@groups())", nobody, `TRUE`},
	}
	for _, c := range cases {
		e, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		if got := Bind(e, c.u).String(); got != c.want {
			t.Errorf("Bind(%q, %s) = %s, want %s", c.in, c.u.name, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"@columnTagged('Discovered.Country')  in ('USA', 'CANADA', 'MEXICO')",
		"(`city` in (@groups()))",
		"a = 1 and b <> 'x' or not c is null",
		"x between 1 and 10 and y not like 'a%'",
		"@attributeValuesContains('sales_region', territory, 'none')",
		"(a + 2) * 3 > -b",
		"@isInGroups('Engineers', 'Founders') AND @hasAttribute('Auth1', 'Super Secret')",
		`"weird ""col""" = 1.5e3`,
		"- - 1 = a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		out := e.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", out, s, err)
		}
		if !Equal(again, e) {
			t.Fatalf("round trip changed the tree: %q -> %q -> %q", s, out, again.String())
		}
		if again.String() != out {
			t.Fatalf("canonical form not stable: %q vs %q", out, again.String())
		}
		Bind(e, testUser{name: "x'y", groups: []string{"a"}})
	})
}
