package naming

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custosdata/custos/internal/errs"
)

func TestRender(t *testing.T) {
	cases := []struct {
		tmpl Template
		r    Remote
		want Names
	}{
		{Template{}, Remote{"db", "public", "credit_accounts"},
			Names{"Public Credit Accounts", "public", "credit_accounts", "Public"}},
		{Template{}, Remote{"shop", "Marketing", "Loyalty Members"},
			Names{"Marketing Loyalty Members", "marketing", "loyalty_members", "Marketing"}},
		{Template{DataSourceFormat: "Snowflake <Tablename>", TableFormat: "<tablename>", SchemaFormat: "snowflake"},
			Remote{"TPC", "PUBLIC", "WEB_SALES"}, Names{"Snowflake Web Sales", "snowflake", "web_sales", "Public"}},
		{Template{DataSourceFormat: "<schema>.<tablename>", SchemaProjectNameFormat: "<database> <schema>"},
			Remote{"TPC", "TPC", "CUSTOMER"}, Names{"tpc.customer", "tpc", "customer", "tpc tpc"}},
		{Template{DataSourceFormat: "a <b <Tablename>"}, Remote{"d", "s", "t-1"}, Names{"a <b T 1", "s", "t_1", "S"}},
	}
	for _, c := range cases {
		if got := c.tmpl.Render(c.r); got != c.want {
			t.Errorf("%+v on %+v: %+v, want %+v", c.tmpl, c.r, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := (Template{DataSourceFormat: "<Schema> <Tablename>", TableFormat: "x_<tablename>"}).Validate("nameTemplate"); err != nil {
		t.Fatal(err)
	}
	err := Template{DataSourceFormat: "<Schema>", TableFormat: "<table>", SchemaFormat: "<owner>"}.Validate("nameTemplate")
	e := errs.As(err)
	fields := map[string]bool{}
	for _, f := range e.Fields {
		fields[f.Field] = true
	}
	for _, f := range []string{"nameTemplate.dataSourceFormat", "nameTemplate.tableFormat", "nameTemplate.schemaFormat"} {
		if !fields[f] {
			t.Errorf("no problem reported on %s: %v", f, err)
		}
	}
}

func TestSQLNameAndUnique(t *testing.T) {
	for in, want := range map[string]string{"Loyalty Members": "loyalty_members", "__a--b__": "a_b", "日本": "data_source",
		"customerId": "customerid", "x1": "x1"} {
		if got := SQLName(in); got != want {
			t.Errorf("SQLName(%q) = %q, want %q", in, got, want)
		}
	}
	taken := map[string]bool{"a": true, "a 2": true}
	if got := Unique("a", " ", func(s string) bool { return taken[s] }); got != "a 3" {
		t.Errorf("Unique: %q", got)
	}
	long := strings.Repeat("x", 300)
	got := Unique(SQLName(long), "_", func(s string) bool { return len(s) == MaxLength && !strings.HasSuffix(s, "_2") })
	if len(got) > MaxLength || !strings.HasSuffix(got, "_2") {
		t.Errorf("long unique name %d chars: %q", len(got), got[len(got)-5:])
	}
}

var sqlName = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// FuzzRender checks that any template and remote names render to names that
// are valid: SQL names of the allowed alphabet, display names of valid UTF-8
// within the length bound.
func FuzzRender(f *testing.F) {
	f.Add("<Schema> <Tablename>", "<tablename>", "shop", "customers")
	f.Add("<<Tablename>>", "x<schema", "Marketing", "Loyalty Members")
	f.Add("<TABLENAME> <Database>", "<tablename>_\x00", "\xff", "日本")
	f.Fuzz(func(t *testing.T, dsFormat, tableFormat, schema, table string) {
		tmpl := Template{DataSourceFormat: dsFormat, TableFormat: tableFormat}
		_ = tmpl.Validate("nameTemplate")
		n := tmpl.Render(Remote{Database: "db", Schema: schema, Table: table})
		for _, s := range []string{n.SQLTable, n.SQLSchema} {
			if !sqlName.MatchString(s) || len(s) > MaxLength {
				t.Fatalf("bad SQL name %q", s)
			}
		}
		for _, s := range []string{n.DataSource, n.SchemaProject} {
			if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxLength || strings.TrimSpace(s) != s {
				t.Fatalf("bad display name %q", s)
			}
		}
	})
}
