package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/enforce/enforcetest"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// governed is a custos server with a sample database registered in it and
// test decisions connected.
type governed struct {
	t      *testing.T
	env    *servertest.Env
	dec    *enforcetest.Decisions
	srv    *pgtest.Server
	dsn    string
	dbname string
	ids    map[string]int64
	roles  map[string]string // role -> password
}

func newGoverned(t *testing.T, backend ...servertest.Backend) *governed {
	t.Helper()
	ctx := context.Background()
	b := servertest.SQLite
	if len(backend) > 0 {
		b = backend[0]
	}
	env := servertest.New(t, b)
	dec := enforcetest.New(env.App.DB)
	env.App.Enforce.SetDecisions(dec)
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	ids, err := enforcetest.Register(ctx, env.App.DB, dsn, "sample", "shop")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	return &governed{t: t, env: env, dec: dec, srv: pgtest.Get(t), dsn: dsn, dbname: strings.TrimPrefix(u.Path, "/"), ids: ids,
		roles: map[string]string{}}
}

// payload is a PostgreSQL integration payload for the sample database.
func (g *governed) payload(auto bool, change func(cfg map[string]any)) map[string]any {
	cfg := map[string]any{"host": g.srv.Host(), "port": g.srv.Port(), "database": g.dbname, "ssl": false,
		"authenticationType": "userPassword", "username": "postgres", "password": g.srv.Password()}
	if change != nil {
		change(cfg)
	}
	return map[string]any{"type": "PostgreSQL", "autoBootstrap": auto, "config": cfg}
}

// user creates a custos user mapped to a new login role.
func (g *governed) user(name string) (int64, string) {
	g.t.Helper()
	role, pw := g.srv.NewRole(g.t, name)
	g.roles[role] = pw
	id, _ := g.env.NewUser(g.t, name)
	g.env.Admin(g.t, 200, "PUT", "/bim/iam/bim/user/"+name+"/profile", map[string]any{"sqlUser": role})
	return id, role
}

func (g *governed) sql(role, q string, args ...any) ([][]string, error) {
	dsn := g.dsn
	if role != "postgres" {
		dsn = g.srv.DSNAs(role, g.roles[role], g.dbname)
	}
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	rows, err := c.Query(context.Background(), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func (g *governed) one(role, q string, args ...any) string {
	g.t.Helper()
	r, err := g.sql(role, q, args...)
	if err != nil {
		g.t.Fatalf("as %s: %s: %v", role, q, err)
	}
	if len(r) != 1 || len(r[0]) != 1 {
		g.t.Fatalf("as %s: %s: %v", role, q, r)
	}
	return r[0][0]
}

// eventually polls cond for up to ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !pgtest.WaitFor(10*time.Second, cond) {
		t.Fatalf("timed out waiting until %s", what)
	}
}

func (g *governed) status(id string) map[string]any {
	return g.env.Admin(g.t, 200, "GET", "/integrations/"+id+"/status", nil).Map(g.t)
}

func (g *governed) waitEnabled(id string) {
	g.t.Helper()
	var last map[string]any
	if !pgtest.WaitFor(10*time.Second, func() bool { last = g.status(id); return last["status"] == "enabled" }) {
		g.t.Fatalf("timed out waiting until integration %s is enabled: %v", id, last)
	}
}

const hashSSN = `
name: Hash SSNs
policyKey: hash ssn
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: Hash}
    exceptions: {groups: [HR]}
`

const countryRows = `
name: Own countries
policyKey: own countries
type: data
actions:
- rules:
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: attribute, attribute: Country, tag: Geo.Country}]}
    exceptions: {groups: [HR]}
`

func TestPostgresIntegration(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	db := g.env.App.DB
	aliceID, alice := g.user("alice")
	bobID, bob := g.user("bob")
	grp := g.env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "HR"}).Map(t)
	g.env.Admin(t, 200, "POST", fmt.Sprintf("/bim/group/%v/user", grp["id"]), map[string]any{"iamid": "bim", "userid": "alice"})
	g.env.Admin(t, 200, "PUT", "/bim/iam/bim/user/bob/authorizations/Country/Spain", nil)
	customers := g.ids["shop.customers"]
	for col, tag := range map[string]string{"ssn": "PII.SSN", "country": "Geo.Country"} {
		if err := enforcetest.Tag(ctx, db, customers, col, tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.dec.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{hashSSN, countryRows} {
		if err := g.dec.SavePolicy(int64(i+1), []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := enforcetest.Subscribe(ctx, db, customers, aliceID, store.GrantRead); err != nil {
		t.Fatal(err)
	}
	if err := enforcetest.Subscribe(ctx, db, g.ids["shop.products"], bobID, store.GrantWrite); err != nil {
		t.Fatal(err)
	}
	if err := enforcetest.Subscribe(ctx, db, customers, bobID, store.GrantRead); err != nil {
		t.Fatal(err)
	}

	// A dry run validates and leaves nothing behind.
	dry := g.env.Admin(t, 200, "POST", "/integrations?dryRun=true", g.payload(true, nil)).Map(t)
	if vr := dry["validationResults"].(map[string]any); vr["status"] != "passed" {
		t.Fatalf("dry run: %v", dry)
	}
	if n := g.one("postgres", `SELECT count(*) FROM pg_namespace WHERE nspname = 'custos'`); n != "0" {
		t.Fatal("the dry run created the system schema")
	}

	created := g.env.Admin(t, 200, "POST", "/integrations", g.payload(true, nil)).Map(t)
	id := created["id"].(string)
	if created["status"] != "creating" {
		t.Errorf("created: %v", created)
	}
	g.waitEnabled(id)
	st := g.status(id)
	if srcs := st["dataSources"].([]any); len(srcs) != 4 { // three tables and a view
		t.Errorf("status lists %d data sources: %v", len(srcs), st)
	}
	// The administrator has no database role: reported, granted nothing.
	um := st["unmappedUsers"].([]any)
	if len(um) != 1 || um[0].(map[string]any)["userid"] != "admin" || !strings.Contains(um[0].(map[string]any)["reason"].(string), "does not exist") {
		t.Errorf("unmapped users: %v", um)
	}

	// What each user sees.
	fr := g.one("postgres", `SELECT count(*) FROM shop.customers`)
	es := g.one("postgres", `SELECT count(*) FROM shop.customers WHERE country = 'Spain'`)
	if got := g.one(alice, `SELECT count(*) FROM shop_governed.customers`); got != fr {
		t.Errorf("alice (HR) sees %s customers, want all %s", got, fr)
	}
	if got := g.one(bob, `SELECT count(*) FROM shop_governed.customers`); got != es {
		t.Errorf("bob sees %s customers, want the %s Spanish ones", got, es)
	}
	if got := g.one(alice, `SELECT count(*) FROM shop_governed.customers WHERE length(ssn) = 64`); got != "0" {
		t.Errorf("alice sees %s hashed SSNs", got)
	}
	if _, err := g.sql(alice, `INSERT INTO shop.products (product_id, sku, product_name, category, price_cents, in_stock) VALUES (900, 'A-900', 'x', 'y', 1, true)`); err == nil {
		t.Error("alice inserted without WRITE")
	}
	if _, err := g.sql(bob, `INSERT INTO shop.products (product_id, sku, product_name, category, price_cents, in_stock) VALUES (901, 'B-901', 'x', 'y', 1, true)`); err != nil {
		t.Errorf("bob cannot insert with WRITE: %v", err)
	}

	// The configuration comes back without secrets.
	got := g.env.Admin(t, 200, "GET", "/integrations/"+id, nil).Map(t)
	cfg := got["config"].(map[string]any)
	if cfg["password"] != "<REDACTED>" || cfg["viewSchemaFormat"] != "<schema>_governed" || got["type"] != "PostgreSQL" {
		t.Errorf("GET: %v", got)
	}
	if strings.Contains(string(g.env.Admin(t, 200, "GET", "/integrations", nil).Body), g.srv.Password()) {
		t.Error("the list shows the password")
	}

	// A second integration on the same database is refused.
	r := g.env.Admin(t, 409, "POST", "/integrations", g.payload(true, nil)).Map(t)
	if !strings.Contains(r["message"].(string), "(id = "+id+")") {
		t.Errorf("409: %v", r)
	}

	// Changes reach the database: a user joins HR, a subscription ends.
	g.env.Admin(t, 200, "POST", fmt.Sprintf("/bim/group/%v/user", grp["id"]), map[string]any{"iamid": "bim", "userid": "bob"})
	g.dec.UsersChanged([]int64{bobID})
	eventually(t, "bob sees every customer", func() bool {
		r, err := g.sql(bob, `SELECT count(*) FROM shop_governed.customers`)
		return err == nil && r[0][0] == fr
	})
	if err := db.DeleteAccess(ctx, mustAccess(t, db, customers, aliceID)); err != nil {
		t.Fatal(err)
	}
	g.dec.Changed([]int64{customers})
	eventually(t, "alice loses access", func() bool {
		_, err := g.sql(alice, `SELECT 1 FROM shop_governed.customers LIMIT 1`)
		return err != nil && strings.Contains(err.Error(), "permission denied")
	})
	// A policy change.
	g.dec.RemovePolicy(1)
	eventually(t, "SSNs are no longer hashed", func() bool {
		r, err := g.sql(bob, `SELECT count(*) FROM shop_governed.customers WHERE length(ssn) = 64`)
		return err == nil && r[0][0] == "0"
	})

	// Editing: the host cannot change; the view schema format can.
	bad := g.env.Admin(t, 400, "PUT", "/integrations/"+id, g.payload(true, func(c map[string]any) { c["host"] = "localhost" })).Map(t)
	if !strings.Contains(bad["message"].(string), "config.host") {
		t.Errorf("PUT host: %v", bad)
	}
	upd := g.env.Admin(t, 200, "PUT", "/integrations/"+id, g.payload(true, func(c map[string]any) {
		c["viewSchemaFormat"] = "governed_<schema>"
		c["password"] = "<REDACTED>"
	})).Map(t)
	if upd["status"] != "editing" {
		t.Errorf("PUT: %v", upd)
	}
	g.waitEnabled(id)
	if got := g.one(bob, `SELECT count(*) FROM governed_shop.customers`); got != fr {
		t.Errorf("after moving the views bob sees %s", got)
	}
	if n := g.one("postgres", `SELECT count(*) FROM pg_namespace WHERE nspname = 'shop_governed'`); n != "0" {
		t.Error("the old view schema remains")
	}

	// Removal takes everything back.
	del := g.env.Admin(t, 200, "DELETE", "/integrations/"+id, nil).Map(t)
	if del["status"] != "deleting" {
		t.Errorf("DELETE: %v", del)
	}
	eventually(t, "the integration is deleted", func() bool { return g.status(id)["status"] == "deleted" })
	if n := g.one("postgres", `SELECT count(*) FROM pg_namespace WHERE nspname IN ('custos', 'governed_shop')`); n != "0" {
		t.Error("custos's schemas remain")
	}
	if n := g.one("postgres", `SELECT count(*) FROM pg_policy WHERE polrelid = 'shop.customers'::regclass`); n != "0" {
		t.Error("row security policies remain")
	}
	// Deleted, the database may be governed again.
	g.env.Admin(t, 200, "POST", "/integrations?dryRun=true", g.payload(true, nil))
}

// logNamesUsers makes the test server's log name user and database on every
// line, as Debian's clusters do by default.
func (g *governed) logNamesUsers() {
	g.t.Helper()
	for _, q := range []string{`ALTER SYSTEM SET log_line_prefix = '%m [%p] %q%u@%d '`, `SELECT pg_reload_conf()`} {
		if err := g.srv.Exec(context.Background(), q); err != nil {
			g.t.Fatal(err)
		}
	}
	eventually(g.t, "the new log_line_prefix", func() bool {
		return g.one("postgres", `SHOW log_line_prefix`) == "%m [%p] %q%u@%d "
	})
}

func mustAccess(t *testing.T, db *store.DB, ds, user int64) int64 {
	a, err := db.AccessOf(context.Background(), ds, "user", user)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestIntegrationErrorsNameTheFix(t *testing.T) {
	g := newGoverned(t)
	fields := func(r *servertest.Response) string {
		var body struct {
			Message    string `json:"message"`
			Validation []struct {
				Field string `json:"field"`
			} `json:"validation"`
		}
		r.JSON(t, &body)
		var f []string
		for _, v := range body.Validation {
			f = append(f, v.Field)
		}
		return strings.Join(f, ",") + " | " + body.Message
	}
	cases := []struct {
		name   string
		status int
		body   any
		want   []string
	}{
		{"wrong password", 422, g.payload(true, func(c map[string]any) { c["password"] = "nope" }), []string{"config.password", "password authentication failed"}},
		{"unknown database", 422, g.payload(true, func(c map[string]any) { c["database"] = "postgres" }), []string{"config.database", "POST /api/v2/data"}},
		{"other host for a known database", 422, g.payload(true, func(c map[string]any) { c["host"] = "localhost" }), []string{"config.database", "use the same host and port"}},
		{"missing fields", 422, map[string]any{"type": "PostgreSQL", "config": map[string]any{"host": "x"}}, []string{"autoBootstrap", "config.database", "config.password", "config.username"}},
		{"unknown type", 422, map[string]any{"type": "Oracle"}, []string{"type", "PostgreSQL"}},
		{"bad view schema format", 422, g.payload(true, func(c map[string]any) { c["viewSchemaFormat"] = "views" }), []string{"config.viewSchemaFormat", "<schema>"}},
		{"bad system schema", 422, g.payload(true, func(c map[string]any) { c["systemSchema"] = `x"; DROP` }), []string{"config.systemSchema"}},
		{"BigQuery with autoBootstrap", 422, map[string]any{"type": "Google BigQuery", "autoBootstrap": true, "config": map[string]any{}}, []string{"autoBootstrap", "config.credential"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fields(g.env.Admin(t, c.status, "POST", "/integrations", c.body))
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not mention %q", got, w)
				}
			}
		})
	}

	// Missing privileges: nothing is half-created.
	role, pw := g.srv.NewRole(t, "weak")
	r := g.env.Admin(t, 422, "POST", "/integrations", g.payload(true, func(c map[string]any) { c["username"], c["password"] = role, pw }))
	if got := fields(r); !strings.Contains(got, "CREATEROLE") || !strings.Contains(got, "scripts/create") {
		t.Errorf("missing privileges: %s", got)
	}
	// A role that may create roles and schemas but not point pgaudit at
	// custos's audit role (a superuser's setting): the setup runs, fails at
	// its last statement, and leaves nothing behind.
	for _, q := range []string{`ALTER ROLE ` + role + ` CREATEROLE`, `GRANT CREATE ON DATABASE ` + g.dbname + ` TO ` + role} {
		if _, err := g.sql("postgres", q); err != nil {
			t.Fatal(err)
		}
	}
	if g.srv.HasPgaudit() {
		g.logNamesUsers()
		r := g.env.Admin(t, 422, "POST", "/integrations", g.payload(true, func(c map[string]any) {
			c["username"], c["password"] = role, pw
			c["audit"] = map[string]any{"enabled": true, "logPath": g.srv.LogPath()}
		}))
		if got := fields(r); !strings.Contains(got, "Validate Automatic: Bootstrap") || !strings.Contains(got, "nothing was created") && !strings.Contains(got, "superuser") {
			t.Errorf("failed setup: %s", got)
		}
		for _, q := range []string{`SELECT count(*) FROM pg_namespace WHERE nspname = 'custos'`,
			`SELECT count(*) FROM pg_roles WHERE rolname LIKE 'custos\_` + g.dbname + `%'`,
			`SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = '` + g.dbname + `'`} {
			if n := g.one("postgres", q); n != "0" {
				t.Errorf("half-created: %s = %s", q, n)
			}
		}
		if list := g.env.Admin(t, 200, "GET", "/integrations", nil); strings.Contains(string(list.Body), `"PostgreSQL"`) {
			t.Errorf("an integration was stored: %s", list.Body)
		}
		// Without a log path custos reads the server's own log file, which
		// this server (no logging collector) does not write.
		r = g.env.Admin(t, 422, "POST", "/integrations", g.payload(true, func(c map[string]any) {
			c["audit"] = map[string]any{"enabled": true}
		}))
		if got := fields(r); !strings.Contains(got, "config.audit.logPath") || !strings.Contains(got, "logging_collector") {
			t.Errorf("audit without a readable log: %s", got)
		}
	}

	// A manual setup: the script, run by an administrator, then validated.
	g2 := newGoverned(t)
	if err := g2.dec.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	script := g2.env.Admin(t, 200, "POST", "/integrations/scripts/create", g2.payload(false, nil))
	sql := string(script.Body)
	if !strings.Contains(sql, "CREATE ROLE") || !strings.Contains(sql, "BEGIN;") {
		t.Fatalf("script: %s", sql)
	}
	// Before the script runs, creation says what is missing.
	if got := fields(g2.env.Admin(t, 422, "POST", "/integrations", g2.payload(false, nil))); !strings.Contains(got, "scripts/create") {
		t.Errorf("manual before the script: %s", got)
	}
	c, err := pgx.Connect(context.Background(), g2.dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Run it as psql would, psql's own commands aside: one simple query.
	var kept []string
	for _, line := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(line, `\`) {
			kept = append(kept, line)
		}
	}
	if _, err := c.Exec(context.Background(), strings.Join(kept, "\n")); err != nil {
		t.Fatalf("the script: %v", err)
	}
	c.Close(context.Background())
	created := g2.env.Admin(t, 200, "POST", "/integrations", g2.payload(false, nil)).Map(t)
	g2.waitEnabled(created["id"].(string))
	// Credentials in a removal of a manual integration are refused, as documented.
	body := map[string]any{"authenticationType": "userPassword", "username": "postgres", "password": "x"}
	if m := g2.env.Admin(t, 400, "DELETE", "/integrations/"+created["id"].(string), body).Map(t)["message"].(string); !strings.Contains(m, "Credentials are not required") {
		t.Errorf("DELETE with credentials: %s", m)
	}
	// forceDisable stops at once and leaves the objects, saying how to remove them.
	d := g2.env.Admin(t, 200, "DELETE", "/integrations/"+created["id"].(string)+"?forceDisable=true", nil).Map(t)
	if d["status"] != "disabled" {
		t.Errorf("forceDisable: %v", d)
	}
	if n := g2.one("postgres", `SELECT count(*) FROM pg_namespace WHERE nspname = 'custos'`); n != "1" {
		t.Error("forceDisable removed custos's schema")
	}
	del := g2.env.Admin(t, 200, "POST", "/integrations/"+created["id"].(string)+"/scripts/delete", nil)
	if !strings.Contains(string(del.Body), `DROP SCHEMA "custos" CASCADE`) || !strings.Contains(string(del.Body), `DROP VIEW`) {
		t.Errorf("delete script: %s", del.Body)
	}
}

func TestOtherPlatformsAreStoredNotConnected(t *testing.T) {
	servertest.EachBackend(t, otherPlatforms)
}

func otherPlatforms(t *testing.T, env *servertest.Env) {
	sf := map[string]any{"type": "Snowflake", "autoBootstrap": true, "config": map[string]any{"host": "acme.snowflakecomputing.com",
		"warehouse": "WH", "database": "IMMUTA", "authenticationType": "userPassword", "username": "svc", "password": "s3cret", "role": "ACCOUNTADMIN"}}
	created := env.Admin(t, 200, "POST", "/integrations", sf).Map(t)
	id := created["id"].(string)
	got := env.Admin(t, 200, "GET", "/integrations/"+id, nil).Map(t)
	cfg := got["config"].(map[string]any)
	if got["status"] != "disabled" || got["connected"] != false || cfg["password"] != "<REDACTED>" || cfg["port"] != float64(443) {
		t.Errorf("snowflake: %v", got)
	}
	if strings.Contains(string(env.Admin(t, 200, "GET", "/integrations", nil).Body), "s3cret") {
		t.Error("the password is shown")
	}
	env.Admin(t, 409, "POST", "/integrations", sf)
	env.Admin(t, 400, "POST", "/integrations/scripts/create", sf)
	// Trino: an API key, masked, that regenerate replaces.
	tr := env.Admin(t, 200, "POST", "/integrations", map[string]any{"type": "Trino"}).Map(t)
	k1 := env.Admin(t, 200, "GET", "/integrations/"+tr["id"].(string), nil).Map(t)["config"].(map[string]any)["apiKey"].(string)
	k2 := env.Admin(t, 200, "POST", "/integrations/"+tr["id"].(string)+"/regenerate", nil).Map(t)["newKey"].(string)
	if !strings.Contains(k1, "******") || k1 == k2 {
		t.Errorf("keys %q then %q", k1, k2)
	}
	env.Admin(t, 400, "POST", "/integrations/"+id+"/regenerate", nil)
	// Status and removal.
	if st := env.Admin(t, 200, "GET", "/integrations/"+id+"/status", nil).Map(t); st["id"] != float64(mustInt(id)) {
		t.Errorf("status: %v", st)
	}
	env.Admin(t, 200, "DELETE", "/integrations/"+id, nil)
	env.Admin(t, 404, "GET", "/integrations/99", nil)
	// Only APPLICATION_ADMIN.
	_, key := env.NewUser(t, "someone")
	env.Must(t, 403, key, "GET", "/integrations", nil)
	noFallbacks(t, env)
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func TestQueryAuditAnswersWhoReadATable(t *testing.T) {
	// On a PostgreSQL store: the store's queries of enforcement and audit
	// run on both backends.
	g := newGoverned(t, servertest.Postgres)
	if !g.srv.HasPgaudit() {
		if pgtest.Required() {
			t.Fatal("pgaudit is not installed (apt-get install postgresql-15-pgaudit)")
		}
		t.Skip("pgaudit is not installed")
	}
	ctx := context.Background()
	g.logNamesUsers()
	db := g.env.App.DB
	aliceID, alice := g.user("alice")
	customers := g.ids["shop.customers"]
	if err := g.dec.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := enforcetest.Subscribe(ctx, db, customers, aliceID, store.GrantRead); err != nil {
		t.Fatal(err)
	}
	created := g.env.Admin(t, 200, "POST", "/integrations", g.payload(true, func(c map[string]any) {
		c["audit"] = map[string]any{"enabled": true, "logPath": g.srv.LogPath()}
	})).Map(t)
	id := created["id"].(string)
	g.waitEnabled(id)
	iid := mustInt(id)
	// Start after anything logged so far.
	if _, err := g.env.App.Enforce.Ingest(ctx, iid); err != nil {
		t.Fatal(err)
	}
	query := "SELECT count(*) FROM shop_governed.customers WHERE country = 'France' -- who reads this"
	g.one(alice, query)
	if _, err := g.sql(alice, "SELECT customer_id,\n  email FROM shop_governed.customers LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	g.one("postgres", "SELECT count(*) FROM shop.customers")
	eventually(t, "the log has the queries", func() bool {
		b, _ := os.ReadFile(g.srv.LogPath())
		return strings.Count(string(b), "SELECT count(*) FROM shop.customers") > 0
	})
	// Servers sharing the store ingest at the same time: each record once.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, err := g.env.App.Enforce.Ingest(ctx, iid); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Ingesting again records nothing twice.
	if again, err := g.env.App.Enforce.Ingest(ctx, iid); err != nil || again != 0 {
		t.Errorf("a later ingestion recorded %d (%v)", again, err)
	}
	page := g.env.Admin(t, 200, "GET", fmt.Sprintf("/audit?dataSourceId=%d&recordType=auditQuery&sortOrder=asc", customers), nil).Map(t)
	hits := page["hits"].([]any)
	if len(hits) != 3 {
		t.Fatalf("%d audit records: %v", len(hits), page)
	}
	first := hits[0].(map[string]any)
	extra := first["extra"].(map[string]any)
	if first["sqlUser"] != alice || first["userId"] != "alice" || first["recordType"] != "auditQuery" ||
		extra["query"] != query || extra["command"] != "SELECT" {
		t.Errorf("first record: %v", first)
	}
	if second := hits[1].(map[string]any)["extra"].(map[string]any); second["query"] != "SELECT customer_id,\n  email FROM shop_governed.customers LIMIT 1" {
		t.Errorf("multi-line query: %q", second["query"])
	}
	// The owner reading the table directly is recorded too, as itself.
	if third := hits[2].(map[string]any); third["sqlUser"] != "postgres" || third["userId"] != nil {
		t.Errorf("direct read: %v", third)
	}
}

// A role name PostgreSQL cannot hold (a long user name) or custos's own
// connection role must not stop enforcement for everybody else.
func TestAnOddSQLUserDoesNotStopEnforcement(t *testing.T) {
	g := newGoverned(t)
	ctx := context.Background()
	db := g.env.App.DB
	aliceID, alice := g.user("alice")
	// A user name too long for a role name, without a sqlUser.
	mallory := strings.Repeat("m", 70)
	g.env.NewUser(t, mallory)
	customers := g.ids["shop.customers"]
	if err := g.dec.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := enforcetest.Subscribe(ctx, db, customers, aliceID, store.GrantRead); err != nil {
		t.Fatal(err)
	}
	id := g.env.Admin(t, 200, "POST", "/integrations", g.payload(true, nil)).Map(t)["id"].(string)
	g.waitEnabled(id)
	g.one(alice, `SELECT count(*) FROM shop_governed.customers`)

	g.env.NewUser(t, "trudy")
	g.env.Admin(t, 200, "PUT", "/bim/iam/bim/user/trudy/profile", map[string]any{"sqlUser": "postgres"})
	g.dec.UsersChanged(nil)
	if err := db.DeleteAccess(ctx, mustAccess(t, db, customers, aliceID)); err != nil {
		t.Fatal(err)
	}
	g.dec.Changed([]int64{customers})
	eventually(t, "alice loses access", func() bool {
		_, err := g.sql(alice, `SELECT 1 FROM shop_governed.customers LIMIT 1`)
		return err != nil && strings.Contains(err.Error(), "permission denied")
	})
	st := g.status(id)
	found := 0
	for _, u := range st["unmappedUsers"].([]any) {
		u := u.(map[string]any)
		if u["userid"] == mallory && strings.Contains(u["reason"].(string), "cannot be a PostgreSQL role name") ||
			u["userid"] == "trudy" && strings.Contains(u["reason"].(string), "the role custos connects as") {
			found++
		}
	}
	if found != 2 || st["status"] != "enabled" {
		t.Errorf("status: %v", st)
	}
}
