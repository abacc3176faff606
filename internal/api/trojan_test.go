package api_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
)

// superuserConn is the connection block of remote with the superuser's
// credentials, as the documentation once told people to register.
func superuserConn(t testing.TB, remote *remoteDB) map[string]any {
	u, _ := url.Parse(remote.dsn)
	pw, _ := u.User.Password()
	return remote.with("username", u.User.Username(), "password", pw)
}

// trojanRanAsReader checks that the attacker's function ran, always as the
// registering reader, and that he gained nothing.
func trojanRanAsReader(t testing.TB, tr *pgtest.Trojan, reader string) {
	t.Helper()
	runs := tr.Runs(t)
	if len(runs) == 0 {
		t.Fatal("the view was never sampled")
	}
	for _, r := range runs {
		if !strings.Contains(r, "current_user="+reader+" ") {
			t.Errorf("the attacker's function ran as %s", r)
		}
	}
	if tr.Escalated(t) {
		t.Fatal("the attacker became a superuser")
	}
	if tr.LockHeld(t) {
		t.Error("a session the attacker's code ran in was kept")
	}
}

// The attack on sensitive data discovery: a database user's view calls his
// function, which makes him a superuser when it runs as one. Registered with
// the superuser, discovery sampled the view as the superuser. custos now
// refuses the superuser, and samples as the reader it is given.
func TestDiscoveryNeverRunsAViewsCodeAsASuperuser(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	remote := newRemote(t)
	tr := pgtest.PlantTrojan(t, remote.dsn)
	doc := map[string]any{"connectionKey": "lab", "connection": superuserConn(t, remote)}
	doc["connection"].(map[string]any)["schema"] = tr.Schema
	r := env.Do(t, servertest.AdminKey, "POST", "/api/v2/data?wait=-1", doc)
	if r.Status == 200 {
		var res saveResult
		r.JSON(t, &res)
		waitJobs(t, env, res.SDDJobs)
	}
	if tr.Escalated(t) {
		t.Fatal("discovery ran the attacker's code as a superuser: he is one now")
	}
	if r.Status != 422 || !strings.Contains(string(r.Body), "connection.username") || !strings.Contains(string(r.Body), "superuser") {
		t.Fatalf("registering as a superuser: %d %s", r.Status, r.Body)
	}

	// The same registration as a role that can only read.
	doc["connection"] = remote.with("schema", tr.Schema)
	res := post(t, env, 200, doc)
	if len(res.SDDJobs) != 1 {
		t.Fatalf("discovery jobs: %+v", res)
	}
	waitJobs(t, env, res.SDDJobs)
	trojanRanAsReader(t, tr, remote.conn["username"].(string))
}

// The attack on schema monitoring: the view appears after registration, and
// monitoring (on request and on its schedule) samples it on its own. A
// registered role that became a superuser since is refused, not used.
func TestSchemaMonitoringNeverRunsANewViewsCodeAsASuperuser(t *testing.T) {
	env := servertest.New(t, servertest.SQLite, func(c *server.Config) { c.SchemaMonitorInterval = 500 * time.Millisecond })
	remote := newRemote(t)
	reader := remote.conn["username"].(string)
	remote.exec(t, `CREATE TABLE public.seed (id int)`)
	post(t, env, 200, map[string]any{"connectionKey": "lab", "connection": remote.conn})

	// The registered role is made a superuser by mistake; the attacker then
	// plants his view and asks for monitoring.
	remote.exec(t, "ALTER ROLE "+pgx.Identifier{reader}.Sanitize()+" SUPERUSER")
	tr := pgtest.PlantTrojan(t, remote.dsn)
	r := env.Do(t, servertest.AdminKey, "PUT", "/dataSource/detectRemoteChanges", map[string]any{})
	if r.Status == 200 {
		var res struct {
			SchemaDetection struct {
				Jobs []string `json:"jobs"`
			} `json:"schemaDetection"`
		}
		r.JSON(t, &res)
		for _, id := range res.SchemaDetection.Jobs {
			_, _ = jobsWait(t.Context(), env.App, id)
		}
	}
	time.Sleep(2 * time.Second) // the periodic monitor runs meanwhile
	waitIdle(t, env)
	if tr.Escalated(t) {
		t.Fatal("monitoring ran the attacker's code as a superuser: he is one now")
	}
	if len(tr.Runs(t)) != 0 {
		t.Fatalf("the view was sampled as a superuser: %q", tr.Runs(t))
	}

	// Back to a reader: monitoring registers the view and discovery
	// samples it, as the reader.
	remote.exec(t, "ALTER ROLE "+pgx.Identifier{reader}.Sanitize()+" NOSUPERUSER")
	detect(t, env, map[string]any{})
	waitIdle(t, env)
	getDS(t, env, "Public Seed")
	trojanRanAsReader(t, tr, reader)
}

// waitIdle waits until no job is queued or running.
func waitIdle(t testing.TB, env *servertest.Env) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := env.App.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM jobs WHERE state IN ('created', 'active', 'retry')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still queued or running", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
