package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/policy"
)

func denied(err error) bool { return err != nil && strings.Contains(err.Error(), "permission denied") }

func TestReadWriteAndRevoke(t *testing.T) {
	e := newEnv(t)
	reader := e.user("reader", policy.User{})
	writer := e.user("writer", policy.User{})
	outsider := e.user("outsider", policy.User{})
	e.source(1, "shop", "products", nil)
	e.grant(1, []string{reader}, []string{writer})
	e.sync()

	insert := `INSERT INTO shop.products (product_id, sku, product_name, category, price_cents, in_stock) VALUES ($1, $2, 'x', 'y', 1, true)`
	if _, err := e.rows(reader, insert, 1001, "R-1"); !denied(err) {
		t.Errorf("READ inserted into the table: %v", err)
	}
	if _, err := e.rows(writer, insert, 1002, "W-1"); err != nil {
		t.Errorf("WRITE cannot insert: %v", err)
	}
	for _, role := range []string{reader, writer} {
		if n := e.one(role, `SELECT count(*) FROM shop_governed.products WHERE product_id = 1002`); n != "1" {
			t.Errorf("%s does not read the inserted row: %s", role, n)
		}
	}
	if _, err := e.rows(outsider, `SELECT * FROM shop_governed.products`); !denied(err) {
		t.Errorf("a user without access reads the view: %v", err)
	}
	// Nothing is masked here: a writer reads the table in clear, as its view.
	if n := e.one(writer, `SELECT count(*) FROM shop.products`); n != e.one(writer, `SELECT count(*) FROM shop_governed.products`) {
		t.Errorf("WRITE reads %s rows of the table", n)
	}
	if _, err := e.rows(reader, `SELECT * FROM shop.products`); !denied(err) {
		t.Errorf("READ reads the table itself: %v", err)
	}

	// Losing access revokes at once; gaining WRITE grants it.
	e.grant(1, nil, []string{reader})
	e.sync()
	if _, err := e.rows(writer, `SELECT 1 FROM shop_governed.products LIMIT 1`); !denied(err) {
		t.Errorf("a removed subscriber still reads: %v", err)
	}
	if _, err := e.rows(writer, insert, 1003, "W-2"); !denied(err) {
		t.Errorf("a removed writer still inserts: %v", err)
	}
	if _, err := e.rows(reader, insert, 1004, "R-2"); err != nil {
		t.Errorf("the new writer cannot insert: %v", err)
	}
	// A user whose role leaves custos's mapping keeps no entitlement row.
	delete(e.ents, writer)
	e.sync()
	if n := e.one("postgres", `SELECT count(*) FROM custos.entitlements WHERE role_name = $1`, writer); n != "0" {
		t.Errorf("entitlements of an unmapped role remain")
	}
}

func TestChangesShowInTheNextQuery(t *testing.T) {
	e := newEnv(t)
	hr := e.user("hr", policy.User{Groups: []string{"HR"}})
	e.source(1, "shop", "customers", map[string][]string{"email": {"PII.Email"}})
	e.grant(1, []string{hr}, nil)
	e.sync()
	raw := e.one("postgres", `SELECT email FROM shop.customers WHERE customer_id = 1`)
	q := `SELECT email FROM shop_governed.customers WHERE customer_id = 1`
	if got := e.one(hr, q); got != raw {
		t.Fatalf("no policy yet: %q", got)
	}
	// A policy appears.
	id := e.policy(maskPolicy("mask email", "PII.Email", "{type: Constant, constant: hidden}"))
	e.sync()
	if got := e.one(hr, q); got != "hidden" {
		t.Errorf("after the policy: %q", got)
	}
	// The user joins the excepted group: an entitlement change, no view change.
	ent := e.ents[hr]
	ent.Groups = []string{"HR", "Exempt"}
	e.ents[hr] = ent
	if rep := e.sync(); len(rep.Changes) != 1 {
		t.Errorf("a group change rewrote more than the entitlements: %v", rep.Changes)
	}
	if got := e.one(hr, q); got != raw {
		t.Errorf("after joining Exempt: %q", got)
	}
	// The tag leaves the column.
	ent.Groups = []string{"HR"}
	e.ents[hr] = ent
	if _, err := e.ix.UntagColumn(1, "email", "PII.Email"); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if got := e.one(hr, q); got != raw {
		t.Errorf("after untagging: %q", got)
	}
	// The policy goes away with the tag back.
	if _, err := e.ix.TagColumn(1, "email", "PII.Email"); err != nil {
		t.Fatal(err)
	}
	e.ix.RemovePolicy(id)
	e.sync()
	if got := e.one(hr, q); got != raw {
		t.Errorf("after removing the policy: %q", got)
	}
}

func TestDriftIsRepaired(t *testing.T) {
	e := newEnv(t)
	reader := e.user("reader", policy.User{})
	other := e.user("other", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}, "country": {"Geo.Country"}})
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.policy(rowPolicy("rows", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country = 'United States'"}`))
	e.grant(1, []string{reader}, nil)
	e.sync()
	us := e.one("postgres", `SELECT count(*) FROM shop.customers WHERE country = 'United States'`)
	var cols []string
	for _, c := range e.srcs[1].Columns {
		if c == "ssn" {
			c = "ssn::text AS ssn"
		}
		cols = append(cols, c)
	}
	unmasked := `CREATE OR REPLACE VIEW shop_governed.customers AS SELECT ` + strings.Join(cols, ", ") + ` FROM shop.customers`

	for _, c := range []struct {
		name, sql, drift string
	}{
		{"view dropped", `DROP VIEW shop_governed.customers`, "dropped by hand"},
		{"view altered", unmasked, "changed by hand"},
		{"grant added on the view", `GRANT SELECT ON shop_governed.customers TO ` + other, ""},
		{"grant removed from the view", `REVOKE SELECT ON shop_governed.customers FROM ` + reader, ""},
		{"table granted to a user", `GRANT SELECT ON shop.customers TO ` + other, "by hand"},
		{"table granted to PUBLIC", `GRANT SELECT ON shop.customers TO PUBLIC`, "by hand"},
		{"row filter dropped", `DROP POLICY custos_row_filter ON shop.customers`, "dropped by hand"},
		{"row filter altered", `ALTER POLICY custos_row_filter ON shop.customers USING (true)`, "changed by hand"},
		{"row security disabled", `ALTER TABLE shop.customers DISABLE ROW LEVEL SECURITY`, "disabled by hand"},
		{"function replaced", `CREATE OR REPLACE FUNCTION custos.mask_hash(v text, salt bytea) RETURNS text LANGUAGE sql STABLE RETURN v`, "functions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.mustRows("postgres", c.sql)
			rep := e.sync()
			if len(rep.Changes) == 0 {
				t.Fatalf("nothing repaired")
			}
			if c.drift != "" && !strings.Contains(strings.Join(rep.Drift, "\n"), c.drift) {
				t.Errorf("drift %v does not say %q", rep.Drift, c.drift)
			}
			if again := e.sync(); len(again.Changes) != 0 {
				t.Errorf("a second reconcile changed %v", again.Changes)
			}
			if got := e.one(reader, `SELECT count(*) FROM shop_governed.customers`); got != us {
				t.Errorf("reader sees %s rows, want %s", got, us)
			}
			if got := e.one(reader, `SELECT count(*) FROM shop_governed.customers WHERE length(ssn) = 64`); got != us {
				t.Errorf("%s hashed SSNs after repair, want %s", got, us)
			}
			for _, role := range []string{reader, other} {
				if _, err := e.rows(role, `SELECT 1 FROM shop.customers LIMIT 1`); !denied(err) {
					t.Errorf("%s reads the table: %v", role, err)
				}
			}
			if _, err := e.rows(other, `SELECT 1 FROM shop_governed.customers LIMIT 1`); !denied(err) {
				t.Errorf("other reads the view: %v", err)
			}
		})
	}
}

func TestTeardownRestoresTheDatabase(t *testing.T) {
	e := newEnv(t)
	reader := e.user("reader", policy.User{})
	writer := e.user("writer", policy.User{})
	e.mustRows("postgres", `GRANT SELECT ON shop.orders TO PUBLIC`)
	e.source(1, "shop", "customers", map[string][]string{"country": {"Geo.Country"}})
	e.source(2, "shop", "orders", nil)
	e.policy(rowPolicy("rows", `
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "country = 'France'"}`))
	e.grant(1, []string{reader}, []string{writer})
	e.grant(2, []string{reader}, nil)
	e.sync()
	if _, err := e.rows(reader, `SELECT 1 FROM shop.orders`); !denied(err) {
		t.Fatalf("PUBLIC's SELECT was not revoked: %v", err)
	}
	changes, err := Teardown(e.ctx, e.db, e.sys, TeardownOptions{Database: e.dbname})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("teardown: %v", changes)
	checks := map[string]string{
		`SELECT count(*) FROM pg_namespace WHERE nspname IN ('custos', 'shop_governed')`:                                               "0",
		`SELECT count(*) FROM pg_roles WHERE rolname = '` + e.sys.Role + `'`:                                                           "0",
		`SELECT count(*) FROM pg_policy WHERE polrelid = 'shop.customers'::regclass`:                                                   "0",
		`SELECT relrowsecurity::text FROM pg_class WHERE oid = 'shop.customers'::regclass`:                                             "false",
		`SELECT has_table_privilege('` + writer + `', 'shop.customers', 'INSERT')::text`:                                               "false",
		`SELECT has_table_privilege('` + reader + `', 'shop.orders', 'SELECT')::text`:                                                  "true", // PUBLIC's again
		`SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = 'shop.customers'::regclass AND a.grantee <> c.relowner`: "0",
	}
	for q, want := range checks {
		if got := e.one("postgres", q); got != want {
			t.Errorf("%s = %s, want %s", q, got, want)
		}
	}
}

func TestKeptDataSourcesAreLeftAlone(t *testing.T) {
	e := newEnv(t)
	r := e.user("r", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}})
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.grant(1, []string{r}, nil)
	e.sync()
	d := e.desired(true)
	d.Sources, d.Keep = nil, []int64{1}
	rep, err := Reconcile(e.ctx, e.db, e.sys, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 0 {
		t.Errorf("a kept data source was changed: %v", rep.Changes)
	}
	if n := e.one(r, `SELECT count(*) FROM shop_governed.customers WHERE length(ssn) = 64`); n == "0" {
		t.Error("the kept view lost its masks")
	}
	// Without Keep, the same full reconciliation removes the view.
	d.Keep = nil
	if _, err := Reconcile(e.ctx, e.db, e.sys, d); err != nil {
		t.Fatal(err)
	}
	if n := e.one("postgres", `SELECT count(*) FROM pg_namespace WHERE nspname = 'shop_governed'`); n != "0" {
		t.Error("the view of a data source no longer governed remains")
	}
}

// reconcileAll reconciles everything and returns the report, failures included.
func (e *env) reconcileAll() *Report {
	e.t.Helper()
	rep, err := Reconcile(e.ctx, e.db, e.sys, e.desired(true))
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	return rep
}

// A decision custos cannot put in place closes the view instead of leaving
// it readable under the old one.
func TestFailuresCloseTheView(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.source(1, "shop", "customers", map[string][]string{"loyalty_points": {"PII.Points"}})
	e.grant(1, []string{u}, nil)
	e.sync()
	raw := e.one("postgres", `SELECT loyalty_points::text FROM shop.customers WHERE customer_id = 1`)
	// The user's own view over custos's keeps custos from changing the
	// column's type, which hashing a number does.
	e.mustRows("postgres", `CREATE SCHEMA own AUTHORIZATION `+u)
	e.mustRows(u, `CREATE VIEW own.v AS SELECT * FROM shop_governed.customers`)
	e.policy(maskPolicy("hash", "PII.Points", "{type: Hash}"))
	rep := e.reconcileAll()
	if err := rep.Sources[1].Err; err == nil || !strings.Contains(err.Error(), "nobody may read") {
		t.Errorf("error: %v", err)
	}
	for _, q := range []string{`SELECT loyalty_points::text FROM shop_governed.customers WHERE customer_id = 1`,
		`SELECT loyalty_points::text FROM own.v WHERE customer_id = 1`} {
		if r, err := e.rows(u, q); !denied(err) {
			t.Errorf("%s: %v %v (raw %s)", q, r, err, raw)
		}
	}
	// Once the obstacle is gone the view opens again, masked.
	e.mustRows("postgres", `DROP VIEW own.v`)
	e.sync()
	if got := e.one(u, `SELECT loyalty_points FROM shop_governed.customers WHERE customer_id = 1`); len(got) != 64 {
		t.Errorf("after the repair: %q", got)
	}
}

// A table renamed under custos stays governed: PUBLIC does not get back what
// it could read before, and the old view is closed.
func TestRenamedTablesStayGoverned(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.mustRows("postgres", `GRANT USAGE ON SCHEMA shop TO PUBLIC`)
	e.mustRows("postgres", `GRANT SELECT ON shop.customers TO PUBLIC`)
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}})
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.grant(1, []string{u}, nil)
	e.sync()
	e.mustRows("postgres", `ALTER TABLE shop.customers RENAME TO customers_old`)
	e.grant(1, nil, nil) // and u loses access
	rep := e.reconcileAll()
	if rep.Sources[1].Err == nil {
		t.Fatal("no error for a missing table")
	}
	if r, err := e.rows(u, `SELECT ssn FROM shop.customers_old WHERE ssn IS NOT NULL LIMIT 1`); !denied(err) {
		t.Errorf("u reads the renamed table: %v %v", r, err)
	}
	if r, err := e.rows(u, `SELECT count(*) FROM shop_governed.customers`); !denied(err) {
		t.Errorf("u reads the old view: %v %v", r, err)
	}
}

// Privileges granted on columns read the table as surely as those granted
// on the table: custos manages them too, and restores PUBLIC's.
func TestColumnPrivilegesAreManaged(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	w := e.user("w", policy.User{})
	member := e.user("member", policy.User{})
	other := e.user("other", policy.User{})
	delete(e.ents, other) // a role custos does not map
	group, _ := e.srv.NewRole(t, "colgroup")
	e.mustRows("postgres", `GRANT USAGE ON SCHEMA shop TO PUBLIC`)
	e.mustRows("postgres", `GRANT SELECT (ssn) ON shop.customers TO PUBLIC`)
	e.mustRows("postgres", `GRANT SELECT (email), UPDATE (email) ON shop.customers TO `+u)
	e.mustRows("postgres", `GRANT SELECT (email), INSERT (email) ON shop.customers TO `+w)
	e.mustRows("postgres", `GRANT SELECT (email) ON shop.customers TO `+group)
	e.mustRows("postgres", `GRANT `+group+` TO `+member)
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}})
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.grant(1, []string{u, member}, []string{w})
	rep := e.sync()
	for _, role := range []string{u, w} {
		for _, col := range []string{"ssn", "email"} {
			if role == w && col == "email" {
				continue // the writer reads what it reads in clear
			}
			if r, err := e.rows(role, `SELECT `+col+` FROM shop.customers LIMIT 1`); !denied(err) {
				t.Errorf("%s reads shop.customers.%s: %v %v", role, col, r, err)
			}
		}
	}
	for col, want := range map[string]string{"email": "true", "ssn": "false"} {
		if e.one("postgres", `SELECT has_column_privilege($1, 'shop.customers', $2, 'INSERT')::text`, w, col) != want {
			t.Errorf("the writer's INSERT on %s is not %s", col, want)
		}
	}
	if ws := strings.Join(rep.Sources[1].Warnings, "\n"); !strings.Contains(ws, member) {
		t.Errorf("no warning about %s, who reads a column through %s: %v", member, group, ws)
	}
	// A column grant on the view is drift.
	e.mustRows("postgres", `GRANT SELECT (ssn) ON shop_governed.customers TO `+other)
	rep = e.sync()
	if !strings.Contains(strings.Join(rep.Drift, "\n"), "columns of view") {
		t.Errorf("drift: %v", rep.Drift)
	}
	if r, err := e.rows(other, `SELECT ssn FROM shop_governed.customers LIMIT 1`); !denied(err) {
		t.Errorf("%s reads the view's column: %v %v", other, r, err)
	}
	if again := e.sync(); len(again.Changes) != 0 {
		t.Errorf("a second reconcile changed %v", again.Changes)
	}
	// Removal gives PUBLIC its column back.
	if _, err := Teardown(e.ctx, e.db, e.sys, TeardownOptions{Database: e.dbname}); err != nil {
		t.Fatal(err)
	}
	if got := e.one("postgres", `SELECT has_column_privilege($1, 'shop.customers', 'ssn', 'SELECT')::text`, other); got != "true" {
		t.Error("PUBLIC's SELECT on ssn was not restored")
	}
}

// Partitions and child tables show the rows of a governed table past its
// view and row filter: custos closes them as it closes the table.
func TestPartitionsAreClosed(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	other := e.user("other", policy.User{})
	delete(e.ents, other) // a role custos does not map
	e.mustRows("postgres", `CREATE TABLE shop.events (id int, secret text) PARTITION BY RANGE (id)`)
	e.mustRows("postgres", `CREATE TABLE shop.events_1 PARTITION OF shop.events FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id)`)
	e.mustRows("postgres", `CREATE TABLE shop.events_1a PARTITION OF shop.events_1 FOR VALUES FROM (0) TO (50)`)
	e.mustRows("postgres", `CREATE TABLE shop.events_1b PARTITION OF shop.events_1 FOR VALUES FROM (50) TO (100)`)
	e.mustRows("postgres", `INSERT INTO shop.events VALUES (1, 'raw'), (60, 'raw')`)
	e.mustRows("postgres", `GRANT USAGE ON SCHEMA shop TO PUBLIC`)
	e.mustRows("postgres", `GRANT SELECT ON ALL TABLES IN SCHEMA shop TO PUBLIC`)
	e.mustRows("postgres", `ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO PUBLIC`)
	e.mustRows("postgres", `GRANT SELECT (secret) ON shop.events_1b TO `+u)
	e.mustRows("postgres", `GRANT SELECT ON shop.events_1a TO `+other)
	e.source(1, "shop", "events", map[string][]string{"secret": {"PII.Secret"}})
	e.policy(maskPolicy("hash", "PII.Secret", "{type: Hash}"))
	e.grant(1, []string{u}, nil)
	e.sync()
	readable := func(role string, tables ...string) {
		t.Helper()
		for _, tb := range tables {
			if r, err := e.rows(role, `SELECT secret FROM shop.`+tb); !denied(err) {
				t.Errorf("%s reads shop.%s: %v %v", role, tb, r, err)
			}
		}
	}
	readable(u, "events", "events_1", "events_1a", "events_1b")
	if n := e.one(u, `SELECT count(*) FROM shop_governed.events WHERE length(secret) = 64`); n != "2" {
		t.Errorf("u reads %s hashed rows through the view, want 2", n)
	}
	// Roles custos does not map keep what they had.
	if n := e.one(other, `SELECT count(*) FROM shop.events_1a`); n != "1" {
		t.Errorf("an unmapped role lost its access: %s", n)
	}
	// A partition added later is closed at the next reconciliation.
	e.mustRows("postgres", `CREATE TABLE shop.events_2 PARTITION OF shop.events FOR VALUES FROM (100) TO (200)`)
	e.sync()
	readable(u, "events_2")
	if again := e.sync(); len(again.Changes) != 0 {
		t.Errorf("a second reconcile changed %v", again.Changes)
	}
	// A partition governed by a data source of its own is left to it.
	e.source(2, "shop", "events_2", nil)
	e.grant(2, []string{u}, []string{u})
	e.sync()
	if again := e.sync(); len(again.Changes) != 0 {
		t.Errorf("with a governed partition, a second reconcile changed %v", again.Changes)
	}
	if e.one("postgres", `SELECT has_any_column_privilege($1, 'shop.events_2', 'INSERT')::text`, u) != "true" {
		t.Error("the writer of the partition's own data source cannot write it")
	}
	// Back to being only a partition: closed again, custos's grants forgotten.
	delete(e.srcs, 2)
	e.sync() // removes the partition's view
	e.sync() // closes the partition
	rep := e.sync()
	if len(rep.Changes) != 0 || len(rep.Drift) != 0 {
		t.Errorf("after the partition's data source went: changes %v, drift %v", rep.Changes, rep.Drift)
	}
	if e.one("postgres", `SELECT has_any_column_privilege($1, 'shop.events_2', 'INSERT')::text`, u) != "false" {
		t.Error("the writer of a former data source still writes the partition")
	}
	if n := e.one("postgres", `SELECT count(*) FROM custos.grants WHERE object_oid = 'shop.events_2'::regclass`); n != "0" {
		t.Errorf("%s grants on the partition remain on record", n)
	}
	// Removal gives PUBLIC its privileges back.
	if _, err := Teardown(e.ctx, e.db, e.sys, TeardownOptions{Database: e.dbname}); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{"events_1", "events_1a", "events_1b", "events_2"} {
		if got := e.one("postgres", `SELECT has_table_privilege('public', $1::regclass, 'SELECT')::text`, "shop."+tb); got != "true" {
			t.Errorf("PUBLIC's SELECT on %s was not restored", tb)
		}
	}
}

// A writer reads only what custos grants it: one who can read the table
// through something else (here as a member of a role that may) is reported.
func TestWritersWhoReadTheTableAreReported(t *testing.T) {
	e := newEnv(t)
	w := e.user("w", policy.User{})
	readers, _ := e.srv.NewRole(t, "readers")
	e.mustRows("postgres", `GRANT SELECT ON shop.products TO `+readers)
	e.mustRows("postgres", `GRANT `+readers+` TO `+w)
	e.source(1, "shop", "products", nil)
	e.grant(1, nil, []string{w})
	rep := e.sync()
	if ws := strings.Join(rep.Sources[1].Warnings, "\n"); !strings.Contains(ws, w) {
		t.Errorf("no warning about the writer %s: %v", w, ws)
	}
}

// A view schema format that lands on the system schema would open that
// schema to everybody: refused.
func TestViewsStayOutOfTheSystemSchema(t *testing.T) {
	e := newEnv(t)
	u := e.user("u", policy.User{})
	e.source(1, "shop", "products", nil)
	e.srcs[1].ViewSchema = e.sys.Schema
	e.grant(1, []string{u}, nil)
	rep := e.reconcileAll()
	if rep.Sources[1].Err == nil {
		t.Error("a view was put in the system schema")
	}
	if got := e.one("postgres", `SELECT has_schema_privilege('public', $1, 'USAGE')::text`, e.sys.Schema); got != "false" {
		t.Error("PUBLIC may use the system schema")
	}
}

// A reconciliation waits for another one to finish, however long it takes,
// rather than fail with the session's lock timeout.
func TestReconcileWaitsForTheEnforcementLock(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a lock for six seconds")
	}
	e := newEnv(t)
	e.source(1, "shop", "products", nil)
	e.sync()
	c, err := pgx.Connect(e.ctx, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	key := "custos enforcement " + e.sys.Schema
	if _, err := c.Exec(e.ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(6 * time.Second) // longer than the sessions' lock_timeout
		_, _ = c.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
	}()
	if _, err := Reconcile(e.ctx, e.db, e.sys, e.desired(true)); err != nil {
		t.Errorf("reconcile: %v", err)
	}
	<-done
}

// The USAGE on a table's schema that custos gave a writer goes with WRITE.
func TestSchemaUsageGoesWithWrite(t *testing.T) {
	e := newEnv(t)
	w := e.user("w", policy.User{})
	e.source(1, "shop", "products", nil)
	e.source(2, "shop", "orders", nil)
	usage := func() string {
		return e.one("postgres", `SELECT has_schema_privilege($1, 'shop', 'USAGE')::text`, w)
	}
	if usage() != "false" {
		t.Fatal("setup: the role may use schema shop already")
	}
	e.grant(1, nil, []string{w})
	e.grant(2, nil, []string{w})
	e.sync()
	if usage() != "true" {
		t.Fatal("a writer may not use the table's schema")
	}
	e.grant(1, []string{w}, nil)
	e.sync()
	if usage() != "true" {
		t.Error("USAGE revoked while the role still writes shop.orders")
	}
	e.grant(2, nil, nil)
	e.sync()
	if usage() != "false" {
		t.Error("USAGE kept after the role lost WRITE everywhere in the schema")
	}
	if again := e.sync(); len(again.Changes) != 0 {
		t.Errorf("a second reconcile changed %v", again.Changes)
	}
}
