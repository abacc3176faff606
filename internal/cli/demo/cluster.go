package demo

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
	"syscall"
	"time"
)

// cluster is a throwaway PostgreSQL server in a temporary directory. It is
// stopped by its own postmaster's PID, so nothing else is touched.
type cluster struct {
	base     string
	bin      string
	port     int
	password string
	pid      int
	pgaudit  bool
	cred     *syscall.Credential
	home     string
}

// errNoPostgres says PostgreSQL is not installed.
var errNoPostgres = errors.New("PostgreSQL is not installed: run scripts/demo.sh, which installs it (apt-get install postgresql postgresql-15-pgaudit), or set CUSTOS_PG_BIN")

func findBin() (string, error) {
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
	return "", errNoPostgres
}

// startCluster creates and starts the cluster. The log names user and
// database on every line, and pgaudit is preloaded when installed, so that
// query audit works.
func startCluster(ctx context.Context) (*cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "custos-demo-")
	if err != nil {
		return nil, err
	}
	c := &cluster{base: base, bin: bin, password: randomHex(12)}
	if os.Getuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user
		// the Debian package creates.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred, c.home = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, u.HomeDir
		if err := os.Chown(base, uid, gid); err != nil {
			return nil, err
		}
	}
	pw := filepath.Join(base, "pw")
	if err := os.WriteFile(pw, []byte(c.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if c.cred != nil {
		_ = os.Chown(pw, int(c.cred.Uid), int(c.cred.Gid))
	}
	data := filepath.Join(base, "data")
	if out, err := c.command("initdb", "-D", data, "-U", "postgres", "--pwfile", pw, "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if lib, err := exec.Command(filepath.Join(bin, "pg_config"), "--pkglibdir").Output(); err == nil {
		_, statErr := os.Stat(filepath.Join(strings.TrimSpace(string(lib)), "pgaudit.so"))
		c.pgaudit = statErr == nil
	}
	for attempt := 0; attempt < 5; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, base)
		if c.pgaudit {
			opts += " -c shared_preload_libraries=pgaudit"
		}
		opts += " -c log_line_prefix='%m [%p] %q%u@%d '"
		out, err := c.command("pg_ctl", "-D", data, "-l", c.LogPath(), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
		if err != nil {
			if attempt == 4 {
				return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
			}
			continue
		}
		break
	}
	pidFile, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	c.pid, _ = strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	return c, nil
}

func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.base
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(os.Environ(), "HOME="+c.home)
	}
	return cmd
}

// LogPath is the server's log file.
func (c *cluster) LogPath() string { return filepath.Join(c.base, "server.log") }

// DSN connects to database as the superuser.
func (c *cluster) DSN(database string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", c.password, c.port, database)
}

// DSNAs connects to database as role.
func (c *cluster) DSNAs(role, password, database string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", role, password, c.port, database)
}

// stop stops the postmaster the cluster started (fast shutdown, by its PID)
// and removes the directory.
func (c *cluster) stop() error {
	if c.pid > 0 {
		if p, err := os.FindProcess(c.pid); err == nil {
			_ = p.Signal(syscall.SIGINT)
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && p.Signal(syscall.Signal(0)) == nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	return os.RemoveAll(c.base)
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
