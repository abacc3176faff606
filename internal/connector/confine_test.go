package connector

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgtest"
)

// A superuser's session cannot be confined (the code it runs can RESET ROLE
// or reach the shell), nor can a role that may become one or that reaches
// the server's files and programs: custos refuses to read as any of them,
// when connecting and again before every read.
func TestRolesThatCannotBeConfinedAreRefused(t *testing.T) {
	srv := pgtest.Get(t)
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	withRole := func(name, password string) Connection {
		c := connectionFor(t, dsn)
		c.Username, c.Password = name, password
		return c
	}
	member, memberPW := srv.NewRole(t, "member")
	exec(t, dsn, "GRANT postgres TO "+pgx.Identifier{member}.Sanitize())
	shell, shellPW := srv.NewRole(t, "shell")
	exec(t, dsn, "GRANT pg_execute_server_program TO "+pgx.Identifier{shell}.Sanitize())
	files, filesPW := srv.NewRole(t, "files")
	exec(t, dsn, "GRANT pg_write_server_files TO "+pgx.Identifier{files}.Sanitize())
	for _, tc := range []struct {
		name string
		conn Connection
		msg  string
	}{
		{"superuser", connectionFor(t, dsn), "is a superuser"},
		{"member of a superuser", withRole(member, memberPW), "is a superuser (or may become one)"},
		{"server programs", withRole(shell, shellPW), "pg_execute_server_program"},
		{"server files", withRole(files, filesPW), "pg_write_server_files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open(ctx, tc.conn, Options{})
			if err == nil {
				src.Close()
			}
			if e := wantField(t, err, "connection.username"); !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q lacks %q", e.Message, tc.msg)
			}
		})
	}

	// A role that became a superuser after it was registered reads nothing.
	exec(t, dsn, "CREATE TABLE t AS SELECT 1 AS a")
	reader := readerFor(t, dsn)
	src, err := Open(ctx, reader, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Sample(ctx, TableRef{Schema: "public", Name: "t"}, SampleOptions{}); err != nil {
		t.Fatal(err)
	}
	exec(t, dsn, "ALTER ROLE "+pgx.Identifier{reader.Username}.Sanitize()+" SUPERUSER")
	defer exec(t, dsn, "ALTER ROLE "+pgx.Identifier{reader.Username}.Sanitize()+" NOSUPERUSER")
	_, err = src.Sample(ctx, TableRef{Schema: "public", Name: "t"}, SampleOptions{})
	wantField(t, err, "connection.username")
	_, err = src.SampleQuery(ctx, Query{SQL: "SELECT * FROM public.t", Field: "sources[0].query"}, SampleOptions{})
	wantField(t, err, "connection.username")
	_, err = src.DescribeQuery(ctx, Query{SQL: "SELECT * FROM public.t", Field: "sources[0].query"})
	wantField(t, err, "connection.username")
}

// The attack of a database user on whoever samples his view: sampled by a
// role that can only read, his function runs as that role, in a read-only
// transaction it cannot leave, on a connection that is closed afterwards.
func TestSamplingAViewConfinesItsCode(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	tr := pgtest.PlantTrojan(t, dsn)
	ctx := context.Background()

	// Registering with the superuser, as the documentation once said, is
	// refused before anything is read.
	if _, err := Open(ctx, connectionFor(t, dsn), Options{}); err == nil {
		t.Fatal("a superuser connection was accepted")
	}
	reader := readerFor(t, dsn)
	src, err := Open(ctx, reader, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ref := TableRef{Schema: tr.Schema, Name: tr.View}
	s, err := src.Sample(ctx, ref, SampleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Column("email"); len(c.Values) != 1 {
		t.Fatalf("the view was not read: %+v", s)
	}
	if _, err := src.SampleQuery(ctx, Query{SQL: "SELECT * FROM " + quoted(tr.Schema, tr.View)}, SampleOptions{}); err != nil {
		t.Fatal(err)
	}
	runs := tr.Runs(t)
	if len(runs) < 2 {
		t.Fatalf("the function ran %d times, want at least 2", len(runs))
	}
	for _, r := range runs {
		if !strings.Contains(r, "current_user="+reader.Username+" session_user="+reader.Username) {
			t.Errorf("the function ran as %s, want the reader", r)
		}
	}
	if tr.Escalated(t) {
		t.Fatal("the attacker became a superuser")
	}
	if tr.LockHeld(t) {
		t.Error("the session the function ran in was kept, with the lock it took")
	}
}
