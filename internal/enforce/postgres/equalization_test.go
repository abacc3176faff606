package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/policy"
)

// equalizationPolicies mask e-mails for contractors (an inclusion), keep
// contractors to French customers (an inclusion on a row rule), and keep
// everyone to the countries of their Country attribute (a filter bound to
// the user).
func equalizationPolicies(e *env) {
	e.t.Helper()
	e.policy(rowPolicy("contractor emails", `
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.Email}]
      maskingConfig: {type: "Null"}
    inclusions: {groups: [Contractors]}`))
	e.policy(rowPolicy("contractors see France", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country = 'France'"}
    inclusions: {groups: [Contractors]}`))
	e.policy(rowPolicy("own countries", `
  - type: Row Restriction By User Entitlements
    config:
      operator: all
      matches: [{type: attribute, attribute: Country, tag: Geo.Country}]`))
}

// TestEqualizedMembersKeepTheirRestrictions: a user acting under an
// equalized project whose set drops the group a mask and a row rule name
// still gets both in real queries, and keeps only the countries both their
// own and their limited entitlements allow.
func TestEqualizedMembersKeepTheirRestrictions(t *testing.T) {
	e := newEnv(t)
	countries := map[string][]string{"Country": {"France", "Spain"}}
	// A contractor with France and Spain, under a project equalized to
	// {Country: France, Spain, Germany}: Contractors is dropped.
	equalized := e.user("equalized", policy.User{Attributes: countries,
		Own: &policy.Own{Groups: []string{"Contractors"}, Attributes: countries}})
	// An employee with France and Spain under a project equalized to
	// {Country: France}: they lose Spain.
	limited := e.user("limited", policy.User{Attributes: map[string][]string{"Country": {"France"}},
		Own: &policy.Own{Attributes: countries}})
	// A contractor acting under no project, and an employee with the same
	// countries acting under an equalized project that changes nothing.
	contractor := e.user("contractor", policy.User{Groups: []string{"Contractors"}, Attributes: countries})
	employee := e.user("employee", policy.User{Attributes: countries, Own: &policy.Own{Attributes: countries}})
	e.source(1, "shop", "customers", map[string][]string{"email": {"PII.Email"}, "country": {"Geo.Country"}})
	equalizationPolicies(e)
	e.grant(1, []string{equalized, limited, contractor, employee}, nil)
	e.sync()

	count := func(where string) string {
		return e.one("postgres", `SELECT count(*) FROM shop.customers WHERE `+where)
	}
	france, spainToo := count("country = 'France'"), count("country IN ('France', 'Spain')")
	if n, _ := strconv.Atoi(france); n == 0 || france == spainToo {
		t.Fatalf("the sample does not tell France from Spain: %s, %s", france, spainToo)
	}
	for _, c := range []struct {
		role, rows string
		masked     bool
	}{
		{contractor, france, true},
		{equalized, france, true},
		{limited, france, false},
		{employee, spainToo, false},
	} {
		got := e.mustRows(c.role, `SELECT count(*), count(email) FROM shop_governed.customers`)
		if got[0][0] != c.rows {
			t.Errorf("%s sees %s rows, want %s", c.role, got[0][0], c.rows)
		}
		if emails := got[0][1]; (emails == "0") != c.masked {
			t.Errorf("%s sees %s e-mails, masked: %v", c.role, emails, c.masked)
		}
	}
	// The decisions of the engine say the same.
	plan, _ := e.ix.Plan(1)
	u := policy.User{Attributes: countries, Own: &policy.Own{Groups: []string{"Contractors"}, Attributes: countries}}
	if d := policy.Evaluate(plan, policy.NewEntitlements(u)); len(d.Columns) != 1 || d.Columns[0].Column != "email" || len(d.Rows) != 2 {
		t.Errorf("decision for the equalized contractor: %+v", d)
	}
	if rep := e.sync(); len(rep.Changes) != 0 {
		t.Errorf("second reconcile changed: %v", rep.Changes)
	}
}

// TestUpgradeFromVersion1 brings system objects of the first version (no
// own entitlements) up to date under a view that reads the entitlements:
// the view keeps working through the upgrade, the entitlements rows get
// their own groups and attributes, and restrictions they bring apply.
func TestUpgradeFromVersion1(t *testing.T) {
	e := newEnv(t)
	equalized := e.user("equalized", policy.User{Own: &policy.Own{Groups: []string{"Contractors"}}})
	e.source(1, "shop", "customers", map[string][]string{"email": {"PII.Email"}, "ssn": {"PII.SSN"}})
	e.policy(rowPolicy("ssn unless auditing", `
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: "Null"}
    exceptions: {purposes: [Audit]}`))
	e.grant(1, []string{equalized}, nil)
	e.sync()
	// Back to what version 1 held: a SECURITY DEFINER lookup over the
	// table, no own lookup, no own columns.
	for _, st := range []string{
		`CREATE OR REPLACE FUNCTION custos.entitlement(r name)
		RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[])
		LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
		BEGIN ATOMIC
			SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.groups, '{}'),
			       COALESCE(e.attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}')
			FROM (SELECT 1) AS one
			LEFT JOIN custos.entitlements AS e ON e.role_name = r AND pg_catalog.pg_has_role(SESSION_USER, r, 'MEMBER');
		END`,
		`DROP FUNCTION custos.own_entitlement(name)`,
		`DROP VIEW custos.own_entitlements`,
		`ALTER TABLE custos.entitlements DROP COLUMN own_groups, DROP COLUMN own_attributes`,
		`UPDATE custos.meta SET value = '1' WHERE key = 'version'`,
	} {
		if err := e.query("postgres", func(c *pgx.Conn) error { _, err := c.Exec(e.ctx, st); return err }); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	e.policy(rowPolicy("contractor emails", `
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.Email}]
      maskingConfig: {type: "Null"}
    inclusions: {groups: [Contractors]}`))
	rep := e.sync()
	if !strings.Contains(strings.Join(rep.Changes, "\n"), "from version 1 to 3") {
		t.Errorf("changes do not say the objects were upgraded: %v", rep.Changes)
	}
	if v := e.one("postgres", `SELECT value FROM custos.meta WHERE key = 'version'`); v != "3" {
		t.Errorf("version %s after the upgrade", v)
	}
	if got := e.one("postgres", `SELECT own_groups::text FROM custos.entitlements WHERE role_name = $1`, equalized); got != "{Contractors}" {
		t.Errorf("own groups %s after the upgrade", got)
	}
	got := e.mustRows(equalized, `SELECT count(*), count(email), count(ssn) FROM shop_governed.customers`)
	if got[0][0] == "0" || got[0][1] != "0" || got[0][2] != "0" {
		t.Errorf("the equalized contractor sees (rows, e-mails, ssns) %v after the upgrade", got[0])
	}
	if rep := e.sync(); len(rep.Changes) != 0 || len(rep.Drift) != 0 {
		t.Errorf("reconcile after the upgrade changed: %v %v", rep.Changes, rep.Drift)
	}
}

// TestUpgradeFromVersion2 replaces the SECURITY DEFINER lookups of version 2
// with inlined ones over the view own_entitlements, under a view that uses
// them: it keeps working, and nobody reads another role's entitlements.
func TestUpgradeFromVersion2(t *testing.T) {
	e := newEnv(t)
	analyst := e.user("analyst", policy.User{Attributes: map[string][]string{"Country": {"Mexico"}}})
	other := e.user("other", policy.User{Groups: []string{"Admins"}})
	e.source(1, "shop", "customers", map[string][]string{"country": {"Geo.Country"}})
	e.policy(rowPolicy("rows", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: attribute, attribute: Country, tag: Geo.Country}]}
    exceptions: {groups: [Admins]}`))
	e.grant(1, []string{analyst, other}, []string{analyst})
	e.sync()
	want := e.one("postgres", `SELECT count(*) FROM shop.customers WHERE country = 'Mexico'`)
	for _, st := range []string{
		`CREATE OR REPLACE FUNCTION custos.entitlement(r name)
		RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[])
		LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
		BEGIN ATOMIC
			SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.groups, '{}'),
			       COALESCE(e.attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}')
			FROM (SELECT 1) AS one
			LEFT JOIN custos.entitlements AS e ON e.role_name = r AND pg_catalog.pg_has_role(SESSION_USER, r, 'MEMBER');
		END`,
		`CREATE OR REPLACE FUNCTION custos.own_entitlement(r name)
		RETURNS TABLE (username text, iam text, groups text[], attributes jsonb, purposes text[], acting text[], limited boolean)
		LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
		BEGIN ATOMIC
			SELECT COALESCE(e.username, ''), COALESCE(e.iam, ''), COALESCE(e.own_groups, '{}'),
			       COALESCE(e.own_attributes, '{}'), COALESCE(e.purposes, '{}'), COALESCE(e.acting, '{}'),
			       COALESCE(e.own_groups IS DISTINCT FROM e.groups OR e.own_attributes IS DISTINCT FROM e.attributes, false)
			FROM (SELECT 1) AS one
			LEFT JOIN custos.entitlements AS e ON e.role_name = r AND pg_catalog.pg_has_role(SESSION_USER, r, 'MEMBER');
		END`,
		`DROP VIEW custos.own_entitlements`,
		`UPDATE custos.meta SET value = '2' WHERE key = 'version'`,
	} {
		e.mustRows("postgres", st)
	}
	if got := e.one(analyst, `SELECT count(*) FROM shop_governed.customers`); got != want {
		t.Fatalf("setup: version 2 shows %s rows", got)
	}
	rep := e.sync()
	if !strings.Contains(strings.Join(rep.Changes, "\n"), "from version 2 to 3") {
		t.Errorf("changes do not say the objects were upgraded: %v", rep.Changes)
	}
	if got := e.one("postgres", `SELECT count(*) FROM pg_proc WHERE proname IN ('entitlement', 'own_entitlement') AND prosecdef`); got != "0" {
		t.Errorf("%s lookups are still SECURITY DEFINER", got)
	}
	if got := e.one(analyst, `SELECT count(*) FROM shop_governed.customers`); got != want {
		t.Errorf("after the upgrade the analyst reads %s rows, want %s", got, want)
	}
	if n, err := e.try(analyst, `UPDATE shop.customers SET loyalty_points = 1`); err != nil || fmt.Sprint(n) != want {
		t.Errorf("after the upgrade the analyst updates %d rows (%v), want %s", n, err, want)
	}
	// The view of the lookups shows each session its own row only.
	if got := e.one(analyst, `SELECT count(*) FROM shop_governed.customers WHERE country <> 'Mexico'`); got != "0" {
		t.Errorf("the analyst reads %s rows of other countries", got)
	}
	if got := e.one("postgres", `SELECT has_table_privilege('public', 'custos.own_entitlements', 'SELECT')::text`); got != "true" {
		t.Error("PUBLIC may not read own_entitlements")
	}
	if _, err := e.rows(other, `SELECT * FROM custos.own_entitlements`); err == nil || !strings.Contains(err.Error(), "permission denied for schema custos") {
		t.Errorf("a user names the system schema: %v", err)
	}
	if rep := e.sync(); len(rep.Changes) != 0 || len(rep.Drift) != 0 {
		t.Errorf("reconcile after the upgrade changed: %v %v", rep.Changes, rep.Drift)
	}
}
