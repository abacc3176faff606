// Package pgcluster starts and stops a throwaway PostgreSQL server from the
// installed server binaries (Debian's postgresql package): a new cluster in
// a temporary directory, listening on a free loopback port, stopped by its
// own postmaster's PID. The test harness and the demo both use it.
//
// PostgreSQL refuses to run as root; when the process is root, initdb and
// the server run as the "postgres" OS user the Debian package creates.
package pgcluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNotInstalled says the PostgreSQL server binaries were not found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries not found (install Debian's postgresql package, or set CUSTOS_PG_BIN)")

// Options tune a new cluster.
type Options struct {
	// Prefix names the temporary directory (default "custos-pg-").
	Prefix string
	// Settings are extra server settings (-c name=value), e.g.
	// log_line_prefix.
	Settings map[string]string
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	base     string
	bin      string
	port     int
	password string // of the "postgres" superuser
	pid      int
	pgaudit  bool
	cred     *syscall.Credential
	home     string
}

// BinDir finds the directory holding initdb: $CUSTOS_PG_BIN, pg_config's
// bindir, or the newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
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
	return "", ErrNotInstalled
}

// Start creates and starts a cluster: the superuser "postgres" gets a random
// password (host connections use scram-sha-256, so wrong passwords fail),
// durability is traded for speed (it is thrown away), and pgaudit is
// preloaded when installed.
func Start(o Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if o.Prefix == "" {
		o.Prefix = "custos-pg-"
	}
	base, err := os.MkdirTemp("", o.Prefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{base: base, bin: bin, password: randomHex(16)}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(base)
		return nil, err
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("running as root needs the postgres OS user: %w", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred, c.home = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, u.HomeDir
		if err := os.Chown(base, uid, gid); err != nil {
			return fail(err)
		}
	}
	pwfile := filepath.Join(base, "pw")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if c.cred != nil {
		_ = os.Chown(pwfile, int(c.cred.Uid), int(c.cred.Gid))
	}
	data := filepath.Join(base, "data")
	if out, err := c.command("initdb", "-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, out))
	}
	if lib, err := exec.Command(filepath.Join(bin, "pg_config"), "--pkglibdir").Output(); err == nil {
		_, statErr := os.Stat(filepath.Join(strings.TrimSpace(string(lib)), "pgaudit.so"))
		c.pgaudit = statErr == nil
	}
	settings := map[string]string{"listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "off",
		"full_page_writes": "off", "max_connections": "200"}
	if c.pgaudit {
		settings["shared_preload_libraries"] = "pgaudit"
	}
	for k, v := range o.Settings {
		if strings.ContainsAny(v, `'\`) {
			return fail(fmt.Errorf("server setting %s: quotes and backslashes are not supported", k))
		}
		settings[k] = v
	}
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if c.port, err = freePort(); err != nil {
			return fail(err)
		}
		opts := fmt.Sprintf("-p %d -k %s", c.port, base)
		for _, k := range names {
			opts += fmt.Sprintf(" -c %s='%s'", k, settings[k])
		}
		out, err := c.command("pg_ctl", "-D", data, "-l", c.LogPath(), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
		if err == nil {
			lastErr = nil
			break
		}
		log, _ := os.ReadFile(c.LogPath())
		lastErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	if lastErr != nil {
		return fail(lastErr)
	}
	pidFile, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return fail(err)
	}
	c.pid, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	return c, nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.base
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(os.Environ(), "HOME="+c.home)
	}
	return cmd
}

// Stop stops the postmaster this cluster started (a fast shutdown, by its
// PID) and removes the directory.
func (c *Cluster) Stop() error {
	if c.pid > 0 {
		if p, err := os.FindProcess(c.pid); err == nil && p.Signal(syscall.SIGINT) == nil {
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && p.Signal(syscall.Signal(0)) == nil {
				time.Sleep(20 * time.Millisecond)
			}
			if p.Signal(syscall.Signal(0)) == nil {
				return fmt.Errorf("PostgreSQL (pid %d) did not stop within 30 s", c.pid)
			}
		}
	}
	return os.RemoveAll(c.base)
}

// Host, Port and Password say where the server listens and the superuser's password.
func (c *Cluster) Host() string     { return "127.0.0.1" }
func (c *Cluster) Port() int        { return c.port }
func (c *Cluster) Password() string { return c.password }

// PID is the postmaster's process id.
func (c *Cluster) PID() int { return c.pid }

// Dir is the cluster's temporary directory.
func (c *Cluster) Dir() string { return c.base }

// LogPath is the server's log file (where pgaudit writes).
func (c *Cluster) LogPath() string { return filepath.Join(c.base, "server.log") }

// HasPgaudit reports whether the server preloads pgaudit.
func (c *Cluster) HasPgaudit() bool { return c.pgaudit }

// DSN returns a URL connecting to database as the superuser over TCP.
func (c *Cluster) DSN(database string) string { return c.DSNAs("postgres", c.password, database) }

// DSNAs returns a URL connecting to database as role with password over TCP.
func (c *Cluster) DSNAs(role, password, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, password), Host: fmt.Sprintf("127.0.0.1:%d", c.port),
		Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
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
