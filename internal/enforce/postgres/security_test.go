package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/policy"
)

// odd names and values built to break out of quoting.
const (
	oddSchema = `odd'sch$$ema`
	oddTable  = `t"able; DROP TABLE shop.products; --`
	oddName   = `na'me; DROP TABLE shop.products; --`
	oddDollar = `$$dollar$$`
	oddSlash  = `back\slash`
	oddUni    = `ünï/*cöde*/`
	oddGroup  = `HR'); DROP TABLE shop.products; --`
	oddAttr   = `Dept'; --`
	oddTag    = `Tag'; DROP TABLE shop.products; --`
	oddRole   = `in'j"ect; -- $$`
)

// connectAs opens a session as a role given by name and password, without
// building a URL from them.
func (e *env) connectAs(role, password string) *pgx.Conn {
	e.t.Helper()
	cfg, err := pgx.ParseConfig(e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.User, cfg.Password = role, password
	c, err := pgx.ConnectConfig(e.ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestInjectionThroughNamesAndValues(t *testing.T) {
	e := newEnv(t)
	q := func(parts ...string) string { return pgx.Identifier(parts).Sanitize() }
	table := q(oddSchema, oddTable)
	e.mustRows("postgres", `CREATE SCHEMA `+q(oddSchema))
	e.mustRows("postgres", `CREATE TABLE `+table+` (id int PRIMARY KEY, `+q(oddName)+` text, `+q(oddDollar)+` text, `+q(oddSlash)+` text, `+q(oddUni)+` text)`)
	e.mustRows("postgres", `INSERT INTO `+table+` VALUES
		(1, 'O''Brien', 'a', $$' OR '1'='1$$, 'a''b'),
		(2, 'x', 'b', 'back\slash', 'zz'),
		(3, 'y', 'c', 'nothing', 'a''b'),
		(99, 'z', 'd', $$' OR '1'='1$$, 'q')`)
	e.mustRows("postgres", `CREATE ROLE `+q(oddRole)+` LOGIN PASSWORD 'pw'`)
	t.Cleanup(func() { _ = e.srv.Exec(context.Background(), `DROP ROLE IF EXISTS `+q(oddRole)) })
	e.roles[oddRole] = "pw"
	e.ents[oddRole] = Entitlement{Role: oddRole, UserID: 100, Username: oddRole, IAM: "bim", Groups: []string{oddGroup},
		Attributes: map[string][]string{oddAttr: {`' OR '1'='1`, `back\slash`, `$$`}}}
	plain := e.user("plain", policy.User{Attributes: map[string][]string{oddAttr: {"nothing"}}})

	e.source(1, oddSchema, oddTable, map[string][]string{oddName: {oddTag}, oddSlash: {"Row.Match"}, oddDollar: {"Const"}})
	e.policy(`
name: "hash odd"
policyKey: "hash odd"
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: "` + oddTag + `"}]
      maskingConfig: {type: Hash}
    exceptions: {groups: ["` + oddGroup + `"]}
`)
	e.policy(`
name: constant
policyKey: constant
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: Const}]
      maskingConfig: {type: Constant, constant: "x'); DROP TABLE shop.products; --$$\\"}
`)
	e.policy(yamlDoc(map[string]any{
		"name": "rows", "policyKey": "rows", "type": "data",
		"actions": []any{map[string]any{"rules": []any{
			map[string]any{"type": "Row Restriction By User Entitlements", "config": map[string]any{"operator": "all",
				"matches": []any{map[string]any{"type": "attribute", "attribute": oddAttr, "tag": "Row.Match"}}}},
			map[string]any{"type": "Row Restriction by Custom Where Clause", "config": map[string]any{
				"predicate": "@columnReference('" + oddUni + "') = 'a''b' OR id = 99 OR @columnReference('" + oddSlash + "') LIKE '%\\%'"}},
		}}},
	}))
	e.grant(1, []string{oddRole, plain}, nil)
	e.sync()
	if got := e.one("postgres", `SELECT to_regclass('shop.products') IS NOT NULL`); got != "true" {
		t.Fatal("shop.products was dropped")
	}
	view := q(oddSchema+"_governed", oddTable)
	c := e.connectAs(oddRole, "pw")
	rows, err := c.Query(e.ctx, `SELECT id, `+q(oddName)+`, `+q(oddDollar)+` FROM `+view+` ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		t.Fatal(err)
	}
	// The attribute keeps rows 1, 2 and 99 (' OR '1'='1 and back\slash taken
	// literally); the predicate keeps 1, 3 and 99 (LIKE '%\%' asks for a
	// trailing percent sign, which no row has).
	var ids []int32
	for _, r := range got {
		ids = append(ids, r[0].(int32))
		if r[2] != `x'); DROP TABLE shop.products; --$$\` {
			t.Errorf("constant rendered as %q", r[2])
		}
	}
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 99 || got[0][1] != "O'Brien" {
		t.Errorf("the excepted role sees %v", got)
	}
	if r := e.mustRows(plain, `SELECT id, `+q(oddName)+` FROM `+view+` ORDER BY id`); len(r) != 1 || r[0][0] != "3" || len(r[0][1]) != 64 {
		t.Errorf("plain sees %v, want row 3 with a hashed name", r)
	}
	ent := e.ents[plain]
	ent.Attributes = map[string][]string{oddAttr: {"nothing", `' OR '1'='1`}}
	e.ents[plain] = ent
	e.sync()
	if r := e.mustRows(plain, `SELECT id, `+q(oddName)+` FROM `+view+` ORDER BY id`); len(r) != 3 || r[0][0] != "1" || r[2][0] != "99" || len(r[0][1]) != 64 {
		t.Errorf("plain sees %v, want rows 1, 3 and 99 with hashed names", r)
	}
	if got := e.one("postgres", `SELECT count(*) FROM shop.products`); got == "0" {
		t.Fatal("products emptied")
	}
}

func TestUsersCannotReachWhatCustosProtects(t *testing.T) {
	e := newEnv(t)
	hr := e.user("hr", policy.User{Groups: []string{"HR"}})
	plain := e.user("plain", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}, "iban": {"PII.IBAN"}})
	e.policy(maskPolicy("rev", "PII.IBAN", "{type: Reversible}"))
	e.policy(`
name: hr only
policyKey: hr only
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: "Null"}
    exceptions: {groups: [HR]}
`)
	e.grant(1, []string{hr, plain}, nil)
	e.sync()
	masked := `SELECT count(ssn) FROM shop_governed.customers`
	if e.one(plain, masked) != "0" || e.one(hr, masked) == "0" {
		t.Fatalf("setup: %s / %s", e.one(plain, masked), e.one(hr, masked))
	}
	salt := e.one("postgres", `SELECT encode(value, 'hex') FROM custos.secrets WHERE name = 'hash_salt'`)
	for _, q := range []string{
		`SELECT * FROM shop.customers`,
		`SELECT * FROM custos.entitlements`,
		`SELECT * FROM custos.secrets`,
		`SELECT * FROM custos.entitlement('` + hr + `')`,
		`SELECT custos.unmask_reversible('rev:x')`,
		`SET ROLE ` + hr,
		`SET SESSION AUTHORIZATION ` + hr,
	} {
		if _, err := e.rows(plain, q); err == nil {
			t.Errorf("plain ran %s", q)
		}
	}
	if strings.Contains(e.one(plain, `SELECT definition FROM pg_views WHERE viewname = 'customers' AND schemaname = 'shop_governed'`), salt) {
		t.Error("the view's definition shows the salt")
	}
	// Session tricks and settings change nothing.
	c := e.connectAs(plain, e.roles[plain])
	e.mustRows("postgres", `CREATE SCHEMA evil AUTHORIZATION `+plain)
	for _, st := range []string{
		`RESET ROLE`,
		`SET custos.groups = 'HR'`,
		`SET "custos.role" = '` + hr + `'`,
		`SET application_name = '` + hr + `'`,
		`CREATE FUNCTION evil.pg_has_role(name, name, text) RETURNS boolean LANGUAGE sql RETURN true`,
		`CREATE FUNCTION evil.encode(bytea, text) RETURNS text LANGUAGE sql RETURN 'leak'`,
		`SET search_path = evil, pg_catalog`,
	} {
		if _, err := c.Exec(e.ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	var n int
	if err := c.QueryRow(e.ctx, `SELECT count(ssn) FROM shop_governed.customers`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the tricks plain reads %d SSNs (%v)", n, err)
	}
	// A careless USAGE grant on custos's schema still shows nobody else's
	// entitlements, the secrets or the key.
	e.mustRows("postgres", `GRANT USAGE ON SCHEMA custos TO PUBLIC`)
	if g := e.one(plain, `SELECT array_length(groups, 1) IS NULL FROM custos.entitlement('`+hr+`')`); g != "true" {
		t.Error("plain reads HR's groups")
	}
	for _, q := range []string{`SELECT * FROM custos.secrets`, `SELECT * FROM custos.entitlements`, `SELECT custos.unmask_reversible('rev:x')`} {
		if _, err := e.rows(plain, q); !denied(err) {
			t.Errorf("plain ran %s: %v", q, err)
		}
	}
	// HR re-sharing through its own objects does not lend its exceptions.
	e.mustRows("postgres", `CREATE SCHEMA hrs AUTHORIZATION `+hr)
	e.mustRows("postgres", `GRANT USAGE ON SCHEMA hrs TO `+plain)
	e.mustRows(hr, `CREATE VIEW hrs.copy AS SELECT * FROM shop_governed.customers`)
	e.mustRows(hr, `CREATE FUNCTION hrs.ssns() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER AS 'SELECT ssn FROM shop_governed.customers'`)
	e.mustRows(hr, `GRANT SELECT ON hrs.copy TO `+plain)
	if n := e.one(plain, `SELECT count(ssn) FROM hrs.copy`); n != "0" {
		t.Errorf("through HR's view plain reads %s SSNs", n)
	}
	if n := e.one(plain, `SELECT count(s) FROM hrs.ssns() AS s`); n != "0" {
		t.Errorf("through HR's SECURITY DEFINER function plain reads %s SSNs", n)
	}
	if n := e.one(hr, `SELECT count(s) FROM hrs.ssns() AS s`); n == "0" {
		t.Error("HR's own function shows HR nothing")
	}
}
