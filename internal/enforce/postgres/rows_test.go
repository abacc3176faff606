package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custosdata/custos/internal/policy"
)

func rowPolicy(key, rule string) string {
	return fmt.Sprintf(`
name: "%s"
policyKey: "%s"
type: data
actions:
- rules:
%s`, key, key, rule)
}

// ids lists the customer ids a role sees through the view, sorted.
func (e *env) ids(role, rel, where string) string {
	e.t.Helper()
	rows := e.mustRows(role, `SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT customer_id AS id FROM `+rel+` `+where+`) s`)
	return rows[0][0]
}

func TestRowRules(t *testing.T) {
	cases := []struct {
		name   string
		rule   string
		user   policy.User
		want   string // WHERE clause over shop.customers giving the rows the user sees
		source func(*policy.DataSource)
	}{
		{"custom where with the user's groups", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@groupsContains(@columnTagged('Geo.Country')) OR @username = 'boss'"}`,
			policy.User{Groups: []string{"France", "Spain"}}, "WHERE country IN ('France', 'Spain')", nil},
		{"custom where: @username", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@groupsContains(@columnTagged('Geo.Country')) OR @username = 'boss'"}`,
			policy.User{Username: "boss"}, "", nil},
		{"custom where with a placeholder for no values", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@attributeValuesContains('Region', country, 'United States')"}`,
			policy.User{}, "WHERE country = 'United States'", nil},
		{"IN with a list function and literals", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country IN ('Mexico', @attributes('Region')) AND loyalty_points > 1000"}`,
			policy.User{Attributes: map[string][]string{"Region": {"Canada"}}}, "WHERE country IN ('Mexico', 'Canada') AND loyalty_points > 1000", nil},
		{"user-only functions", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "(@isInGroups('A', 'B') AND @hasAttribute('Level', '3')) OR customer_id < 10"}`,
			policy.User{Groups: []string{"A"}, Attributes: map[string][]string{"Level": {"3"}}}, "WHERE customer_id < 10", nil},
		{"user-only functions all true", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "(@isInGroups('A', 'B') AND @hasAttribute('Level', '3')) OR customer_id < 10"}`,
			policy.User{Groups: []string{"A", "B"}, Attributes: map[string][]string{"Level": {"3"}}}, "", nil},
		{"entitlements: group matches column", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: group, tag: Geo.Country}]}`,
			policy.User{Groups: []string{"Germany"}}, "WHERE country = 'Germany'", nil},
		{"entitlements: excepted user sees everything", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: group, tag: Geo.Country}]}
    exceptions: {groups: [Admins]}`,
			policy.User{Groups: []string{"Admins"}}, "", nil},
		{"entitlements: purpose matches column", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: purpose, tag: Geo.Country}]}`,
			policy.User{Purposes: []string{"Canada"}}, "WHERE country = 'Canada'", nil},
		{"purpose restriction, not acting under it", `
  - type: Purpose Restriction
    config: {operator: any, purposes: [Marketing]}`,
			policy.User{Purposes: []string{"Fraud"}}, "WHERE false", nil},
		{"purpose restriction, acting under a sub-purpose", `
  - type: Purpose Restriction
    config: {operator: any, purposes: [Marketing]}`,
			policy.User{Purposes: []string{"Marketing.Email"}}, "", nil},
		{"time restriction", `
  - type: Time Restriction
    config: {isOlderOrNewer: older, time: 126144000}`,
			policy.User{}, "WHERE created_at < now() - interval '126144000 seconds'",
			func(ds *policy.DataSource) { ds.EventTimeColumn = "created_at" }},
		{"minimization", `
  - type: Minimization
    config: {percent: 25}`,
			policy.User{}, "WHERE ((hashtextextended(customer_id::text, 0) % 100) + 100) % 100 < 25",
			func(ds *policy.DataSource) { ds.HighCardinalityColumn = "customer_id" }},
		{"inclusions: the rule applies only to the included", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country = 'France'"}
    inclusions: {groups: [Contractors]}`,
			policy.User{Groups: []string{"Employees"}}, "", nil},
		{"inclusions: included user", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country = 'France'"}
    inclusions: {groups: [Contractors]}`,
			policy.User{Groups: []string{"Contractors"}}, "WHERE country = 'France'", nil},
	}
	e := newEnv(t)
	var roles []string
	for i, c := range cases {
		roles = append(roles, e.user(fmt.Sprintf("u%d", i), c.user))
		if c.user.Username != "" {
			ent := e.ents[roles[i]]
			ent.Username = c.user.Username
			e.ents[roles[i]] = ent
		}
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.ix = policy.NewIndex()
			e.polID = 0
			var extra []func(*policy.DataSource)
			if c.source != nil {
				extra = append(extra, c.source)
			}
			e.source(1, "shop", "customers", map[string][]string{"country": {"Geo.Country"}}, extra...)
			e.policy(rowPolicy("rows", c.rule))
			e.grant(1, roles, nil)
			e.sync()
			got := e.ids(roles[i], "shop_governed.customers", "")
			want := e.ids("postgres", "shop.customers", c.want)
			if got != want {
				t.Errorf("sees %s\nwant %s", short(got), short(want))
			}
			if want == "" || !strings.Contains(want, ",") && c.want != "WHERE false" {
				t.Errorf("the expected rows (%q) are too few to prove anything", short(want))
			}
		})
	}
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestConditionalMaskAndOtherwise(t *testing.T) {
	e := newEnv(t)
	a := e.user("a", policy.User{Groups: []string{"A"}})
	other := e.user("other", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"email": {"PII.Email"}, "country": {"Geo.Country"}})
	// Group A sees "A" for e-mails of US customers only; everyone else gets
	// NULL for every row.
	e.policy(rowPolicy("otherwise", `
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.Email}]
      conditionalPredicate: "@columnTagged('Geo.Country') = 'United States'"
      maskingConfig: {type: Constant, constant: A}
    inclusions: {groups: [A]}
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.Email}]
      maskingConfig: {type: "Null"}
`))
	e.grant(1, []string{a, other}, nil)
	e.sync()
	got := e.mustRows(a, `SELECT country = 'United States', count(*), count(*) FILTER (WHERE email = 'A'), count(email) FROM shop_governed.customers GROUP BY 1 ORDER BY 1`)
	// non-US: masked by the next rule (NULL); US: constant A
	if len(got) != 2 || got[0][2] != "0" || got[0][3] != "0" || got[1][1] != got[1][2] {
		t.Errorf("group A: %v", got)
	}
	if n := e.one(other, `SELECT count(email) FROM shop_governed.customers`); n != "0" {
		t.Errorf("others see %s e-mails, want none", n)
	}
}

// TestRegisteredViewsGetTheirRowsInTheView covers a data source that is a
// view: no row-level security there, so the custos view filters the rows
// itself, under security_barrier.
func TestRegisteredViewsGetTheirRowsInTheView(t *testing.T) {
	e := newEnv(t)
	gold := e.user("gold", policy.User{})
	e.source(1, "Marketing", "Gold Members", map[string][]string{"Full Name": {"PII.Name"}})
	e.policy(rowPolicy("initials", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@columnTagged('PII.Name') LIKE 'A%' OR @columnTagged('PII.Name') LIKE 'B%'"}`))
	e.policy(maskPolicy("null names", "PII.Name", `{type: "Null"}`))
	e.grant(1, []string{gold}, nil)
	e.sync()
	if opts := e.one("postgres", `SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = '"Marketing_governed"."Gold Members"'::regclass`); opts != "security_barrier=true" {
		t.Errorf("view options %q", opts)
	}
	want := e.one("postgres", `SELECT count(*) FROM "Marketing"."Gold Members" WHERE "Full Name" LIKE 'A%' OR "Full Name" LIKE 'B%'`)
	if got := e.one(gold, `SELECT count(*) FROM "Marketing_governed"."Gold Members"`); got != want || want == "0" {
		t.Errorf("gold sees %s members, want %s", got, want)
	}
	if n := e.one(gold, `SELECT count("Full Name") FROM "Marketing_governed"."Gold Members"`); n != "0" {
		t.Errorf("names shown: %s", n)
	}
	// A function of the user's query cannot see the rows the view hides.
	e.mustRows("postgres", `CREATE SCHEMA leak AUTHORIZATION `+gold)
	e.mustRows(gold, `CREATE FUNCTION leak.see(int) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$ BEGIN RAISE NOTICE 'saw %', $1; RETURN true; END $$`)
	var seen []string
	cfg, _ := pgx.ParseConfig(e.srv.DSNAs(gold, e.roles[gold], e.dbname))
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { seen = append(seen, n.Message) }
	c, err := pgx.ConnectConfig(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(e.ctx)
	var k int
	if err := c.QueryRow(e.ctx, `SELECT count(*) FROM "Marketing_governed"."Gold Members" WHERE leak.see("Member ID")`).Scan(&k); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(len(seen)) != want {
		t.Errorf("the user's function saw %d rows, want only the %s visible ones", len(seen), want)
	}
}

// TestLeakyFunctionsSeeOnlyVisibleRows checks that a function in the user's
// own WHERE clause, which could print what it is given, runs after the row
// filter on a governed table (row-level security quals come first).
func TestLeakyFunctionsSeeOnlyVisibleRows(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"country": {"Geo.Country"}})
	e.policy(rowPolicy("france", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@columnTagged('Geo.Country') = 'France'"}`))
	e.grant(1, []string{u}, nil)
	e.sync()
	e.mustRows("postgres", `CREATE SCHEMA leak AUTHORIZATION `+u)
	e.mustRows(u, `CREATE FUNCTION leak.see(text) RETURNS boolean LANGUAGE plpgsql COST 0.0001 AS $$ BEGIN RAISE NOTICE '%', $1; RETURN true; END $$`)
	var seen []string
	cfg, _ := pgx.ParseConfig(e.srv.DSNAs(u, e.roles[u], e.dbname))
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { seen = append(seen, n.Message) }
	c, err := pgx.ConnectConfig(e.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(e.ctx)
	var k int
	if err := c.QueryRow(e.ctx, `SELECT count(*) FROM shop_governed.customers WHERE leak.see(country)`).Scan(&k); err != nil {
		t.Fatal(err)
	}
	for _, s := range seen {
		if s != "France" {
			t.Fatalf("the user's function saw a hidden row of %q", s)
		}
	}
	if len(seen) != k || k == 0 {
		t.Errorf("saw %d values for %d rows", len(seen), k)
	}
}

// Row security turned on by the table's owner applies to custos's role too;
// without row rules of its own custos still lets its views read.
func TestOwnersRowSecurityKeepsViewsReadable(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.mustRows("postgres", `ALTER TABLE shop.products ENABLE ROW LEVEL SECURITY`)
	e.mustRows("postgres", `CREATE POLICY app ON shop.products TO pg_monitor USING (true)`)
	all := e.one("postgres", `SELECT count(*) FROM shop.products`)
	e.source(1, "shop", "products", nil)
	e.grant(1, []string{u}, nil)
	e.sync()
	if n := e.one(u, `SELECT count(*) FROM shop_governed.products`); n != all {
		t.Errorf("u sees %s products, want %s", n, all)
	}
	if rep := e.sync(); len(rep.Changes) != 0 {
		t.Errorf("a second reconcile changed %v", rep.Changes)
	}
	// A row rule comes and goes: the owner's row security stays on.
	id := e.policy(rowPolicy("cheap", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "price_cents < 1000"}`))
	e.sync()
	cheap := e.one("postgres", `SELECT count(*) FROM shop.products WHERE price_cents < 1000`)
	if n := e.one(u, `SELECT count(*) FROM shop_governed.products`); n != cheap {
		t.Errorf("with the row rule u sees %s products, want %s", n, cheap)
	}
	e.ix.RemovePolicy(id)
	e.sync()
	if n := e.one(u, `SELECT count(*) FROM shop_governed.products`); n != all {
		t.Errorf("after the row rule u sees %s products, want %s", n, all)
	}
	if on := e.one("postgres", `SELECT relrowsecurity::text FROM pg_class WHERE oid = 'shop.products'::regclass`); on != "true" {
		t.Error("custos turned off the owner's row security")
	}
}

// Row security does not apply to a table's owner: if custos's own role
// comes to own a table (or to bypass row security), its row filter would
// hide nothing, so the data source fails and its view closes.
func TestRowFiltersNeedARoleTheyApplyTo(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"country": {"Geo.Country"}})
	e.policy(rowPolicy("france", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country = 'France'"}`))
	e.grant(1, []string{u}, nil)
	e.sync()
	fr := e.one("postgres", `SELECT count(*) FROM shop.customers WHERE country = 'France'`)
	for _, c := range []struct{ change, undo string }{
		{`ALTER TABLE shop.customers OWNER TO ` + e.sys.Role, `ALTER TABLE shop.customers OWNER TO CURRENT_USER`},
		{`ALTER ROLE ` + e.sys.Role + ` BYPASSRLS`, `ALTER ROLE ` + e.sys.Role + ` NOBYPASSRLS`},
	} {
		e.mustRows("postgres", c.change)
		rep := e.reconcileAll()
		if rep.Sources[1].Err == nil {
			t.Errorf("%s: no error", c.change)
		}
		if r, err := e.rows(u, `SELECT count(*) FROM shop_governed.customers`); !denied(err) {
			t.Errorf("%s: u reads %v (%v), want nothing; %s are French", c.change, r, err, fr)
		}
		e.mustRows("postgres", c.undo)
		e.sync()
		if n := e.one(u, `SELECT count(*) FROM shop_governed.customers`); n != fr {
			t.Errorf("after %s: u reads %s rows, want %s", c.undo, n, fr)
		}
	}
}
