// Package pgtest starts a throwaway PostgreSQL server for tests: one server per
// test binary, started on first use in a temporary directory on a loopback port,
// and a fresh database for every test that asks for one.
//
// The server binaries come from Debian's postgresql package. When the test
// process runs as root, initdb and the server run as the "postgres" OS user,
// because PostgreSQL refuses to run as root. When the binaries are missing,
// tests that need PostgreSQL are skipped, unless CUSTOS_REQUIRE_POSTGRES is set
// (as CI sets it), in which case they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running throwaway PostgreSQL server.
type Server struct {
	base     string // temporary directory holding data, socket and logs
	bin      string // directory of initdb, pg_ctl
	port     int
	password string // of the "postgres" superuser
	cred     *syscall.Credential
	home     string
	mu       sync.Mutex
	seq      int
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
	once.Do(func() { shared, startErr = start() })
	if startErr != nil {
		if errors.Is(startErr, errNotInstalled) && !Required() {
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

// DSN returns a URL connecting to database as the superuser over TCP.
func (s *Server) DSN(database string) string {
	return s.DSNAs("postgres", s.password, database)
}

// DSNAs returns a URL connecting to database as role with password over TCP.
func (s *Server) DSNAs(role, password, database string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable",
		urlEscape(role), urlEscape(password), s.port, urlEscape(database))
}

// Host and Port say where the server listens; Password is the superuser's.
func (s *Server) Host() string     { return "127.0.0.1" }
func (s *Server) Port() int        { return s.port }
func (s *Server) Password() string { return s.password }

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
		conn, err := pgx.Connect(context.Background(), s.DSN("postgres"))
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	})
	return name, password
}

func (s *Server) nextName(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), s.seq)
}

var errNotInstalled = errors.New("PostgreSQL server binaries not found")

// binDir finds the directory holding initdb: $CUSTOS_PG_BIN, pg_config's
// bindir, or the newest /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	if d := os.Getenv("CUSTOS_PG_BIN"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errNotInstalled
}

func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "custos-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{base: base, bin: bin, password: randomHex(16)}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		s.home = u.HomeDir
		if err := os.Chown(base, uid, gid); err != nil {
			return nil, err
		}
	}
	pwfile := filepath.Join(base, "pw")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if s.cred != nil {
		_ = os.Chown(pwfile, int(s.cred.Uid), int(s.cred.Gid))
	}
	data := filepath.Join(base, "data")
	if out, err := s.command("initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200%s",
			port, base, preloadOption(bin))
		out, err := s.command("pg_ctl", "-D", data, "-l", filepath.Join(base, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
		if err == nil {
			s.port = port
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(base, "server.log"))
		lastErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	return nil, lastErr
}

// preloadOption loads pgaudit when it is installed, so that tests of query
// auditing can enable it.
func preloadOption(bin string) string {
	out, err := exec.Command(filepath.Join(bin, "pg_config"), "--pkglibdir").Output()
	if err != nil {
		out, err = exec.Command("pg_config", "--pkglibdir").Output()
	}
	if err == nil {
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "pgaudit.so")); err == nil {
			return " -c shared_preload_libraries=pgaudit"
		}
	}
	return ""
}

// HasPgaudit reports whether the server preloads pgaudit.
func (s *Server) HasPgaudit() bool { return preloadOption(s.bin) != "" }

// LogPath is the server's log file (where pgaudit writes).
func (s *Server) LogPath() string { return filepath.Join(s.base, "server.log") }

// Stop stops the server by its data directory's postmaster and removes the
// temporary directory.
func (s *Server) Stop() error {
	out, err := s.command("pg_ctl", "-D", filepath.Join(s.base, "data"), "-m", "fast", "-w", "-t", "30", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return os.RemoveAll(s.base)
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.base
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Env = append(os.Environ(), "HOME="+s.home)
	}
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func urlEscape(s string) string {
	r := strings.NewReplacer("%", "%25", ":", "%3A", "@", "%40", "/", "%2F", "?", "%3F", "#", "%23", " ", "%20")
	return r.Replace(s)
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
