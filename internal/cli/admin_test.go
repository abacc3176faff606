package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
)

// storeFlags are the flags naming the store of cfg.
func storeFlags(cfg server.Config) []string {
	if cfg.Store != "" {
		return []string{"--store", cfg.Store}
	}
	return []string{"--data-dir", cfg.DataDir}
}

// resetKey runs `custos admin reset-key` and returns the key it printed.
func resetKey(t *testing.T, c *cli, args ...string) string {
	t.Helper()
	r := c.run(append([]string{"admin", "reset-key"}, args...)...)
	if r.code != 0 {
		t.Fatalf("reset-key %v: exit %d: %s", args, r.code, r.err)
	}
	key := strings.TrimSpace(r.out)
	if len(key) != 32 || strings.Contains(key, "\n") || !strings.Contains(r.err, "shown only now") {
		t.Fatalf("reset-key printed %q, said %q", r.out, r.err)
	}
	return key
}

// An operator who lost every ADMIN credential gets back in from the
// server's machine, on either store: with the server running (the new key
// works at once) and with it stopped (the key works once it starts).
func TestAdminResetKey(t *testing.T) {
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		t.Run(string(backend), func(t *testing.T) {
			c := newCLI(t)
			env := servertest.New(t, backend)
			flags := storeFlags(env.App.Config)
			whoami := func(key string, want int) {
				t.Helper()
				r := env.Must(t, want, key, "GET", "/bim/rpc/user/current", nil)
				if want == 200 && r.Map(t)["userid"] != "admin" {
					t.Fatalf("the key acts as %s", r.Body)
				}
			}

			// While the server runs.
			first := resetKey(t, c, flags...)
			whoami(first, 200)
			whoami(servertest.AdminKey, 200)
			second := resetKey(t, c, append(flags, "--user", "Admin", "--revoke-others")...)
			whoami(second, 200)
			whoami(first, 401)
			whoami(servertest.AdminKey, 401)

			// The audit trail says who did it and how.
			recs := env.Must(t, 200, second, "GET", "/audit?recordType=apiKey&size=100", nil).Map(t)
			recovered := 0
			for _, h := range recs["hits"].([]any) {
				rec := h.(map[string]any)
				if rec["action"] != "recover" {
					continue
				}
				recovered++
				extra := rec["extra"].(map[string]any)
				if extra["userid"] != "admin" || !strings.Contains(extra["operator"].(string), "@") {
					t.Errorf("audit record: %v", rec)
				}
			}
			if recovered != 2 {
				t.Errorf("%d recovery records, want 2", recovered)
			}

			// With several ADMINs, the command asks which one.
			env.Must(t, 200, second, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "root2",
				"permissions": []string{"ADMIN"}})
			r := c.run(append([]string{"admin", "reset-key"}, flags...)...)
			if r.code != 1 || !strings.Contains(r.err, "several users hold ADMIN (admin, root2): name one with --user") {
				t.Errorf("several ADMINs: exit %d: %s", r.code, r.err)
			}
			r = c.run(append([]string{"admin", "reset-key", "--user", "nobody"}, flags...)...)
			if r.code != 1 || !strings.Contains(r.err, `"nobody" is not an enabled user holding ADMIN; those are: admin, root2`) {
				t.Errorf("unknown user: exit %d: %s", r.code, r.err)
			}
			if r.out != "" {
				t.Errorf("a failure printed a key: %q", r.out)
			}

			// With the server stopped: a store nobody serves.
			cfg := server.Defaults()
			cfg.DataDir, cfg.LogLevel = t.TempDir(), "error"
			if backend == servertest.Postgres {
				cfg.Store = pgtest.NewDatabase(t)
			}
			app, err := server.New(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			lost := app.AdminKey
			app.Close()
			key := resetKey(t, c, storeFlags(cfg)...)
			restarted := servertest.New(t, servertest.SQLite, func(c *server.Config) { c.DataDir, c.Store = cfg.DataDir, cfg.Store })
			restarted.Must(t, 200, key, "GET", "/bim/rpc/user/current", nil)
			restarted.Must(t, 200, lost, "GET", "/bim/rpc/user/current", nil)
		})
	}
}

// reset-key fails clearly, prints no key and creates nothing where there is
// no store, where the store cannot be reached, and where it has no ADMIN.
func TestAdminResetKeyFailures(t *testing.T) {
	c := newCLI(t)

	empty := filepath.Join(t.TempDir(), "typo")
	r := c.run("admin", "reset-key", "--data-dir", empty)
	if r.code != 1 || !strings.Contains(r.err, "no custos store in "+empty) || r.out != "" {
		t.Errorf("no store: exit %d: %q %q", r.code, r.out, r.err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("the command created %s", empty)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r = c.run("admin", "reset-key", "--store", fmt.Sprintf("postgres://custos:secret-pw@127.0.0.1:%d/custos", port))
	if r.code != 1 || !strings.Contains(r.err, "cannot open the store") || strings.Contains(r.err, "secret-pw") || r.out != "" {
		t.Errorf("unreachable store: exit %d: %q %q", r.code, r.out, r.err)
	}

	r = c.run("admin", "reset-key", "--store", pgtest.NewDatabase(t))
	if r.code != 1 || !strings.Contains(r.err, "no custos store in this PostgreSQL database") {
		t.Errorf("a database without custos: exit %d: %s", r.code, r.err)
	}

	r = c.run("admin", "reset-key", "--store", "mysql://somewhere/custos")
	if r.code != 2 || !strings.Contains(r.err, "store must be empty") {
		t.Errorf("not a store URL: exit %d: %s", r.code, r.err)
	}

	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		env := servertest.New(t, backend)
		if _, err := env.App.DB.Exec(t.Context(), `DELETE FROM user_permissions WHERE permission = 'ADMIN'`); err != nil {
			t.Fatal(err)
		}
		r = c.run(append([]string{"admin", "reset-key"}, storeFlags(env.App.Config)...)...)
		if r.code != 1 || !strings.Contains(r.err, "the store has no enabled user holding ADMIN") || r.out != "" {
			t.Errorf("%s store without an ADMIN: exit %d: %q %q", backend, r.code, r.out, r.err)
		}
	}
}
