// Package pgtest gives tests a throwaway PostgreSQL server (package
// pgcluster): one server per test binary, started on first use, and a fresh
// database for every test that asks for one.
//
// When the server binaries are missing, tests that need PostgreSQL are
// skipped, unless CUSTOS_REQUIRE_POSTGRES is set (as CI sets it), in which
// case they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgcluster"
)

// Server is the throwaway PostgreSQL server of a test binary.
type Server struct {
	*pgcluster.Cluster
	mu  sync.Mutex
	seq int
}

var (
	once     sync.Once
	shared   *Server
	startErr error
)

// Run wraps testing.M: it runs the tests and stops the server afterwards if any
// test started it. Use it from TestMain: os.Exit(pgtest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop:", err)
		}
	}
	return code
}

// Required reports whether PostgreSQL tests must run rather than be skipped.
func Required() bool { return os.Getenv("CUSTOS_REQUIRE_POSTGRES") != "" }

// Get returns the shared server, starting it on first use. It skips the test
// when PostgreSQL is not installed and not required.
func Get(t testing.TB) *Server {
	t.Helper()
	once.Do(func() {
		var c *pgcluster.Cluster
		c, startErr = pgcluster.Start(pgcluster.Options{Prefix: "custos-pgtest-"})
		if startErr == nil {
			shared = &Server{Cluster: c}
		}
	})
	if startErr != nil {
		if errors.Is(startErr, pgcluster.ErrNotInstalled) && !Required() {
			t.Skipf("PostgreSQL is not installed: %v", startErr)
		}
		t.Fatalf("pgtest: %v", startErr)
	}
	return shared
}

// NewDatabase creates an empty database on the shared server and returns a DSN
// that connects to it as the superuser. The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	s := Get(t)
	name := s.nextName("t")
	ctx := context.Background()
	if err := s.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return s.DSN(name)
}

// Exec runs one statement on the maintenance database as the superuser.
func (s *Server) Exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// NewRole creates a login role with a random password, dropped when the test
// ends, and returns its name and password. Roles are cluster-wide, so names are
// unique per server.
func (s *Server) NewRole(t testing.TB, prefix string) (name, password string) {
	t.Helper()
	name = s.nextName(prefix)
	password = randomHex(12)
	ctx := context.Background()
	if err := s.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pgx.Identifier{name}.Sanitize(), password)); err != nil {
		t.Fatalf("pgtest: create role: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	})
	return name, password
}

func (s *Server) nextName(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), s.seq)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WaitFor polls cond until it is true or the timeout passes; for tests that
// wait on asynchronous work.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// NewReader creates a login role that can only read (a member of
// pg_read_all_data: SELECT on every table and view, USAGE on every schema),
// dropped when the test ends, and returns dsn with that role's credentials:
// a role such as custos registers data sources with. It is not a superuser.
func NewReader(t testing.TB, dsn string) string {
	t.Helper()
	s := Get(t)
	name, password := s.NewRole(t, "reader")
	if err := s.Exec(context.Background(), "GRANT pg_read_all_data TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: grant pg_read_all_data: %v", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.User = url.UserPassword(name, password)
	return u.String()
}
