package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestServerStartsAndIsolatesDatabases(t *testing.T) {
	dsn := NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "select 40 + 2").Scan(&n); err != nil || n != 42 {
		t.Fatalf("select: %v %d", err, n)
	}
	if _, err := conn.Exec(ctx, "create table x(a int)"); err != nil {
		t.Fatal(err)
	}
	other := NewDatabase(t)
	if other == dsn {
		t.Fatal("databases must differ")
	}
}

func TestWrongPasswordIsRefused(t *testing.T) {
	s := Get(t)
	role, _ := s.NewRole(t, "r")
	_, err := pgx.Connect(context.Background(), s.DSNAs(role, "wrong", "postgres"))
	if err == nil {
		t.Fatal("a wrong password must be refused")
	}
}
