package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// writeGoverned is a custos server governing, through its own policy engine
// and a live PostgreSQL integration, a table with a serial key, a row rule
// (customers of one's own countries) and a masked column (SSNs hashed).
type writeGoverned struct {
	t      *testing.T
	env    *servertest.Env
	srv    *pgtest.Server
	dsn    string
	dbname string
	ds     int64
	roles  map[string]string // role -> password
}

func newWriteGoverned(t *testing.T) *writeGoverned {
	t.Helper()
	ctx := context.Background()
	env := servertest.New(t, servertest.SQLite)
	dsn := pgtest.NewDatabase(t)
	u, _ := url.Parse(dsn)
	g := &writeGoverned{t: t, env: env, srv: pgtest.Get(t), dsn: dsn, dbname: strings.TrimPrefix(u.Path, "/"), roles: map[string]string{}}
	for _, q := range []string{
		`CREATE SCHEMA app`,
		`CREATE TABLE app.accounts (id serial PRIMARY KEY, full_name text NOT NULL, country text NOT NULL, ssn text, points integer NOT NULL DEFAULT 0)`,
		`INSERT INTO app.accounts (full_name, country, ssn) VALUES ('Ann', 'United States', '111-11-1111'), ('Ben', 'Mexico', '222-22-2222'),
			('Chloé', 'France', '333-33-3333')`,
	} {
		g.exec("postgres", q)
	}
	// custos registers as a role that can only read; the integration below
	// administers the database.
	reader, _ := url.Parse(pgtest.NewReader(t, dsn))
	readerPassword, _ := reader.User.Password()
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", fmt.Sprintf(`connectionKey: app
connection:
  handler: PostgreSQL
  hostname: %s
  port: %d
  ssl: false
  database: %s
  schema: app
  username: %s
  password: %s
nameTemplate:
  dataSourceFormat: <schema>.<tablename>
`, g.srv.Host(), g.srv.Port(), g.dbname, reader.User.Username(), readerPassword))
	g.ds = int64(env.Admin(t, 200, "GET", "/dataSource/name/app.accounts", nil).Map(t)["id"].(float64))
	root := &auth.Principal{UserID: 1, IAMID: "bim", Username: "admin", Permissions: []string{auth.Admin}}
	if _, err := env.App.Tags.Save(ctx, root, nil, []tags.TagInput{{Name: "PII.SSN"}, {Name: "Geo.Country"}}); err != nil {
		t.Fatal(err)
	}
	for col, tag := range map[string]string{"ssn": "PII.SSN", "country": "Geo.Country"} {
		if _, err := env.App.Tags.Attach(ctx, root, "column", store.ColumnModelID(g.ds, col), []string{tag}, ""); err != nil {
			t.Fatal(err)
		}
	}
	env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "HR"})
	for _, p := range []string{hashSSN, countryRows, `
name: Anyone reads
policyKey: anyone reads
type: subscription
actions: {type: anyone, automaticSubscription: true}
`} {
		env.Admin(t, 200, "POST", "/api/v2/policy", p)
	}
	id := env.Admin(t, 200, "POST", "/integrations", map[string]any{"type": "PostgreSQL", "autoBootstrap": true,
		"config": map[string]any{"host": g.srv.Host(), "port": g.srv.Port(), "database": g.dbname, "ssl": false,
			"authenticationType": "userPassword", "username": "postgres", "password": g.srv.Password()}}).Map(t)["id"].(string)
	if !pgtest.WaitFor(20*time.Second, func() bool {
		return env.Admin(t, 200, "GET", "/integrations/"+id+"/status", nil).Map(t)["status"] == "enabled"
	}) {
		t.Fatal("the integration was not enabled")
	}
	return g
}

// user creates a custos user mapped to a new login role, with Country
// United States and Mexico.
func (g *writeGoverned) user(name string) (int64, string, string) {
	g.t.Helper()
	role, pw := g.srv.NewRole(g.t, name)
	g.roles[role] = pw
	id, key := g.env.NewUser(g.t, name)
	g.env.Admin(g.t, 200, "PUT", "/bim/iam/bim/user/"+name+"/profile", map[string]any{"sqlUser": role})
	for _, c := range []string{"United%20States", "Mexico"} {
		g.env.Admin(g.t, 200, "PUT", "/bim/iam/bim/user/"+name+"/authorizations/Country/"+c, nil)
	}
	return id, key, role
}

// exec runs one statement as role and returns the rows it changed.
func (g *writeGoverned) exec(role, q string) (int64, error) {
	dsn := g.dsn
	if role != "postgres" {
		dsn = g.srv.DSNAs(role, g.roles[role], g.dbname)
	}
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	tag, err := c.Exec(context.Background(), q)
	if err != nil && role == "postgres" {
		g.t.Fatalf("%s: %v", q, err)
	}
	return tag.RowsAffected(), err
}

// writes reports whether role may write as a writer: a targeted UPDATE of a
// row of its countries, an INSERT drawing the serial key; and that the
// hidden French row is out of its reach either way.
func (g *writeGoverned) writes(role string) bool {
	if n, err := g.exec(role, `UPDATE app.accounts SET points = points + 1 WHERE id = 1`); err != nil || n != 1 {
		return false
	}
	if n, err := g.exec(role, `UPDATE app.accounts SET points = points + 1 WHERE id = 3`); err != nil || n != 0 {
		g.t.Errorf("%s touched the hidden row: %d %v", role, n, err)
	}
	n, err := g.exec(role, `INSERT INTO app.accounts (full_name, country) VALUES ('New', 'Mexico')`)
	return err == nil && n == 1
}

// revoked reports whether every privilege WRITE gave role is gone from the
// database: the statements are refused, the sequence and the table's columns
// closed, and the row security policies no longer name it.
func (g *writeGoverned) revoked(role string) bool {
	for _, q := range []string{`UPDATE app.accounts SET points = 0 WHERE id = 1`, `INSERT INTO app.accounts (full_name, country) VALUES ('x', 'Mexico')`,
		`DELETE FROM app.accounts WHERE id = 1`, `SELECT id FROM app.accounts`} {
		if _, err := g.exec(role, q); err == nil || !strings.Contains(err.Error(), "permission denied") {
			return false
		}
	}
	var held bool
	c, err := pgx.Connect(context.Background(), g.dsn)
	if err != nil {
		g.t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.QueryRow(context.Background(), `SELECT has_sequence_privilege($1, 'app.accounts_id_seq', 'USAGE')
		OR has_any_column_privilege($1, 'app.accounts', 'SELECT') OR has_table_privilege($1, 'app.accounts', 'DELETE')
		OR EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = 'app.accounts'::regclass AND (SELECT oid FROM pg_roles WHERE rolname = $1) = ANY (polroles))`,
		role).Scan(&held); err != nil {
		g.t.Fatal(err)
	}
	return !held
}

func (g *writeGoverned) eventually(what string, cond func() bool) {
	g.t.Helper()
	if !pgtest.WaitFor(15*time.Second, cond) {
		g.t.Fatalf("timed out waiting until %s", what)
	}
}

// Every way of losing WRITE takes what it gave out of the database within
// the usual sync time: the write policy tightened or deleted, a grant
// revoked or expired, the user disabled.
func TestLosingWriteRevokesItInTheDatabase(t *testing.T) {
	g := newWriteGoverned(t)
	env := g.env
	writePolicy := func(value string) map[string]any {
		return map[string]any{"type": "subscription", "name": "Allow users with specific entitlements to have write access", "staged": false,
			"actions": []any{map[string]any{"type": "subscription", "subscriptionType": "policy", "accessGrant": "WRITE",
				"exceptions": map[string]any{"operator": "and", "conditions": []any{map[string]any{"type": "authorizations",
					"authorization": map[string]any{"auth": "has", "value": value}}}}}}}
	}
	pol := env.Admin(t, 200, "POST", "/policy/global", writePolicy("write")).Map(t)
	_, subKey, subscriber := g.user("subscriber")
	env.Admin(t, 200, "PUT", "/bim/iam/bim/user/subscriber/authorizations/has/write", nil)
	revID, _, revokedW := g.user("revokedw")
	expID, _, expiring := g.user("expiring")
	disID, _, disabled := g.user("disabledw")
	sub := env.Must(t, 200, subKey, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", g.ds), map[string]any{"accessGrant": "WRITE"}).Map(t)
	if s := sub["success"].([]any); len(s) != 1 || s[0].(map[string]any)["state"] != "subscribed" {
		t.Fatalf("subscribing for WRITE: %v", sub)
	}
	grant := func(id int64, extra map[string]any) map[string]any {
		body := map[string]any{"profileId": id, "state": "subscribed", "accessGrant": "WRITE"}
		for k, v := range extra {
			body[k] = v
		}
		return env.Admin(t, 200, "POST", fmt.Sprintf("/dataSource/%d/access", g.ds), body).Map(t)
	}
	revokedGrant := grant(revID, nil)
	grant(expID, map[string]any{"expiration": time.Now().Add(8 * time.Second).UTC().Format(time.RFC3339Nano)})
	grant(disID, nil)
	for _, role := range []string{subscriber, revokedW, expiring, disabled} {
		g.eventually(role+" writes", func() bool { return g.writes(role) })
	}

	// The write policy tightened: the subscriber no longer meets it.
	env.Admin(t, 200, "PUT", fmt.Sprintf("/policy/global/%v", pol["id"]), writePolicy("admin"))
	g.eventually("the tightened policy takes WRITE away", func() bool { return g.revoked(subscriber) })
	if n, err := g.exec(subscriber, `SELECT count(*) FROM app_governed.accounts`); err != nil || n != 1 {
		t.Errorf("the former writer still reads through the read policy: %d %v", n, err)
	}
	env.Admin(t, 200, "PUT", fmt.Sprintf("/policy/global/%v", pol["id"]), writePolicy("write"))
	g.eventually("the loosened policy gives WRITE back", func() bool { return g.writes(subscriber) })
	// The write policy deleted.
	env.Admin(t, 200, "DELETE", fmt.Sprintf("/policy/global/%v", pol["id"]), nil)
	g.eventually("the deleted policy takes WRITE away", func() bool { return g.revoked(subscriber) })
	// A grant revoked by hand.
	env.Admin(t, 200, "PUT", fmt.Sprintf("/dataSource/%d/access/%v", g.ds, revokedGrant["id"]), map[string]any{"state": "denied"})
	g.eventually("the revoked grant takes WRITE away", func() bool { return g.revoked(revokedW) })
	// A grant that expires.
	g.eventually("the expired grant takes WRITE away", func() bool { return g.revoked(expiring) })
	// A user disabled.
	env.Admin(t, 200, "PUT", "/bim/iam/bim/user/disabledw/disable/true", nil)
	g.eventually("disabling the user takes WRITE away", func() bool { return g.revoked(disabled) })
	if _, err := g.exec(disabled, `SELECT 1 FROM app_governed.accounts`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("a disabled user reads: %v", err)
	}
	// Nobody's write touched the hidden row.
	if n, _ := g.exec("postgres", `UPDATE app.accounts SET points = points WHERE id = 3 AND points = 0 AND full_name = 'Chloé'`); n != 1 {
		t.Error("the hidden row changed")
	}
}
