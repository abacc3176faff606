package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/sample"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// env is a governed copy of the sample database with custos set up in it.
type env struct {
	t      testing.TB
	ctx    context.Context
	srv    *pgtest.Server
	dsn    string
	dbname string
	db     *Database
	sys    pgsql.System
	ix     *policy.Index
	srcs   map[int64]*Source
	ents   map[string]Entitlement
	roles  map[string]string // role -> password
	polID  int64
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	port, _ := strconv.Atoi(u.Port())
	pw, _ := u.User.Password()
	dbname := strings.TrimPrefix(u.Path, "/")
	db, err := Open(ctx, Config{Host: u.Hostname(), Port: port, Database: dbname, Username: u.User.Username(), Password: pw, Field: "config"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	e := &env{t: t, ctx: ctx, srv: pgtest.Get(t), dsn: dsn, dbname: dbname, db: db, ix: policy.NewIndex(),
		srcs: map[int64]*Source{}, ents: map[string]Entitlement{}, roles: map[string]string{}}
	e.sys = pgsql.System{Schema: "custos", Role: "custos_" + dbname}
	if err := Bootstrap(ctx, db, e.sys, pgsql.BootstrapOptions{Member: u.User.Username(), Database: dbname}, false); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(func() {
		// Roles are cluster-wide: remove custos's role with the database.
		_, _ = Teardown(context.Background(), db, e.sys, TeardownOptions{Database: dbname})
	})
	return e
}

// user creates a login role and its entitlements.
func (e *env) user(name string, u policy.User) string {
	e.t.Helper()
	role, pw := e.srv.NewRole(e.t, name)
	e.roles[role] = pw
	e.ents[role] = Entitlement{Role: role, UserID: int64(len(e.ents) + 1), Username: name, IAM: "bim", Groups: u.Groups,
		Attributes: u.Attributes, Purposes: u.Purposes}
	if u.Own != nil {
		ent := e.ents[role]
		ent.OwnGroups, ent.OwnAttributes = u.Own.Groups, u.Own.Attributes
		e.ents[role] = ent
	}
	return role
}

// source registers a data source over a sample table, columns tagged as given.
func (e *env) source(id int64, schema, table string, tags map[string][]string, extra ...func(*policy.DataSource)) {
	e.t.Helper()
	var cols []string
	err := e.query("postgres", func(c *pgx.Conn) error {
		rows, err := c.Query(e.ctx, `SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
			pgx.Identifier{schema, table}.Sanitize())
		if err != nil {
			return err
		}
		cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ds := policy.DataSource{ID: id, Name: schema + "." + table}
	for _, c := range cols {
		ds.Columns = append(ds.Columns, policy.Column{Name: c, Tags: tags[c]})
	}
	for _, f := range extra {
		f(&ds)
	}
	if _, err := e.ix.UpsertDataSource(ds); err != nil {
		e.t.Fatal(err)
	}
	e.srcs[id] = &Source{DataSourceID: id, Schema: schema, Table: table, ViewSchema: schema + "_governed", ViewName: table, Columns: cols}
}

// policy saves a V2 policy given as YAML.
func (e *env) policy(doc string) int64 {
	e.t.Helper()
	p, err := policy.DecodeV2([]byte(doc))
	if err != nil {
		e.t.Fatal(err)
	}
	e.polID++
	if _, err := e.ix.UpsertPolicy(e.polID, p); err != nil {
		e.t.Fatal(err)
	}
	return e.polID
}

func (e *env) grant(id int64, readers, writers []string) {
	e.srcs[id].Readers, e.srcs[id].Writers = append(readers, writers...), writers
}

func (e *env) desired(full bool) Desired {
	d := Desired{Full: full}
	var ids []int64
	for id := range e.srcs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		s := *e.srcs[id]
		s.Plan, _ = e.ix.Plan(id)
		d.Sources = append(d.Sources, s)
	}
	for r, ent := range e.ents {
		d.Entitlements = append(d.Entitlements, ent)
		d.Roles = append(d.Roles, r)
	}
	sort.Strings(d.Roles)
	return d
}

// sync reconciles and fails the test on any error.
func (e *env) sync() *Report {
	e.t.Helper()
	rep, err := Reconcile(e.ctx, e.db, e.sys, e.desired(true))
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	for id, s := range rep.Sources {
		if s.Err != nil {
			e.t.Fatalf("data source %d: %v", id, s.Err)
		}
	}
	return rep
}

// query connects as role ("postgres" for the superuser) and runs fn.
func (e *env) query(role string, fn func(c *pgx.Conn) error) error {
	dsn := e.dsn
	if role != "postgres" {
		dsn = e.srv.DSNAs(role, e.roles[role], e.dbname)
	}
	c, err := pgx.Connect(e.ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(e.ctx)
	return fn(c)
}

// rows runs a query as role and returns its rows as text.
func (e *env) rows(role, sql string, args ...any) ([][]string, error) {
	var out [][]string
	err := e.query(role, func(c *pgx.Conn) error {
		rows, err := c.Query(e.ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					row[i] = "NULL"
				} else {
					row[i] = fmt.Sprint(v)
				}
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	return out, err
}

func (e *env) mustRows(role, sql string, args ...any) [][]string {
	e.t.Helper()
	out, err := e.rows(role, sql, args...)
	if err != nil {
		e.t.Fatalf("as %s: %s: %v", role, sql, err)
	}
	return out
}

func (e *env) one(role, sql string, args ...any) string {
	e.t.Helper()
	r := e.mustRows(role, sql, args...)
	if len(r) != 1 || len(r[0]) != 1 {
		e.t.Fatalf("as %s: %s: want one value, got %v", role, sql, r)
	}
	return r[0][0]
}

func yamlDoc(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

func TestMaskingAndRowFilterAsRealRoles(t *testing.T) {
	e := newEnv(t)
	hr := e.user("hr", policy.User{Groups: []string{"HR"}, Attributes: map[string][]string{"Country": {"France"}}})
	analyst := e.user("analyst", policy.User{Attributes: map[string][]string{"Country": {"Spain", "Germany"}}})
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}, "email": {"PII.Email"}, "country": {"Geo.Country"}})
	e.policy(`
name: Hash SSNs
policyKey: hash-ssn
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: Hash}
    exceptions: {groups: [HR]}
`)
	e.policy(`
name: Countries of the user
policyKey: country-rows
type: data
actions:
- rules:
  - type: Row Restriction By User Entitlements
    config:
      operator: all
      matches: [{type: attribute, attribute: Country, tag: Geo.Country}]
`)
	e.grant(1, []string{hr, analyst}, nil)
	rep := e.sync()
	t.Logf("changes: %v", rep.Changes)

	want := func(role, country string) string {
		return e.one("postgres", `SELECT count(*) FROM shop.customers WHERE country = $1`, country)
	}
	if got, w := e.one(hr, `SELECT count(*) FROM shop_governed.customers`), want(hr, "France"); got != w {
		t.Errorf("hr sees %s rows, want the %s French customers", got, w)
	}
	fr, _ := strconv.Atoi(want(analyst, "Spain"))
	de, _ := strconv.Atoi(want(analyst, "Germany"))
	if got := e.one(analyst, `SELECT count(*) FROM shop_governed.customers`); got != strconv.Itoa(fr+de) {
		t.Errorf("analyst sees %s rows, want %d", got, fr+de)
	}
	// HR is excepted from hashing; the analyst sees salted SHA-256 hex.
	raw := e.mustRows("postgres", `SELECT customer_id::text, ssn FROM shop.customers WHERE country = 'France' AND ssn IS NOT NULL ORDER BY 1 LIMIT 3`)
	for _, r := range raw {
		if got := e.one(hr, `SELECT ssn FROM shop_governed.customers WHERE customer_id = $1::bigint`, r[0]); got != r[1] {
			t.Errorf("hr: ssn of %s = %q, want %q", r[0], got, r[1])
		}
	}
	for _, r := range e.mustRows(analyst, `SELECT ssn FROM shop_governed.customers WHERE ssn IS NOT NULL LIMIT 20`) {
		if len(r[0]) != 64 || strings.Trim(r[0], "0123456789abcdef") != "" {
			t.Errorf("analyst sees ssn %q, want a 64-digit hex hash", r[0])
		}
	}
	// Nobody reads the table itself.
	for _, role := range []string{hr, analyst} {
		if _, err := e.rows(role, `SELECT * FROM shop.customers LIMIT 1`); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s reads shop.customers: %v", role, err)
		}
	}
	// Running it again changes nothing.
	if rep := e.sync(); len(rep.Changes) != 0 {
		t.Errorf("second reconcile changed: %v", rep.Changes)
	}
}
