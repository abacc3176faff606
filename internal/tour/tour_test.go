// Package tour runs the README's tour: every shell block of its "A tour"
// section, in order, as a new user would type them, against a throwaway
// PostgreSQL server, and checks what each user sees at the end.
package tour

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/pgcluster"
)

// tourCommands returns the shell blocks of README's "## A tour" section,
// joined in order.
func tourCommands(t *testing.T, readme string) string {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	in, block, blocks := false, false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## A tour"
		case !in:
		case line == "```sh":
			block, blocks = true, blocks+1
		case line == "```" && block:
			block = false
		case block:
			out.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if blocks < 5 {
		t.Fatalf("README's tour has %d shell blocks", blocks)
	}
	return out.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// stopPID stops a process the tour started, by its id, and waits for it.
func stopPID(pidFile string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return // already gone
	}
	for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

func TestREADMETour(t *testing.T) {
	if testing.Short() {
		t.Skip("installs custos and starts PostgreSQL")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	pg, err := pgcluster.Start(pgcluster.Options{Prefix: "custos-tour-"})
	if errors.Is(err, pgcluster.ErrNotInstalled) && os.Getenv("CUSTOS_REQUIRE_POSTGRES") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	pgBin, err := pgcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	script := tourCommands(t, filepath.Join(root, "README.md"))
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	defer stopPID(filepath.Join(home, "custos-tour", "custos.pid"))
	env := []string{
		"HOME=" + home,
		"PATH=" + pgBin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TMPDIR=" + tmp,
		// go install writes to a GOPATH of the test's own; modules and
		// builds come from the caches already there.
		"GOPATH=" + filepath.Join(tmp, "gopath"),
		"GOMODCACHE=" + goEnv(t, "GOMODCACHE"),
		"GOCACHE=" + goEnv(t, "GOCACHE"),
		"GOFLAGS=" + os.Getenv("GOFLAGS"),
		"GOTOOLCHAIN=" + goEnv(t, "GOTOOLCHAIN"),
		"GOPROXY=" + goEnv(t, "GOPROXY"),
		// The server and the database the tour uses, on ports the kernel chose.
		"CUSTOS_LISTEN=" + freeAddr(t),
		"PGHOST=" + pg.Host(),
		"PGPORT=" + strconv.Itoa(pg.Port()),
		"ADMIN_PSQL=env PGUSER=postgres PGPASSWORD=" + pg.Password() + " PGDATABASE=postgres psql",
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = root, env
	outBytes, err := cmd.CombinedOutput()
	out := string(outBytes)
	if err != nil {
		t.Fatalf("the tour failed: %v\n%s\n--- custos.log:\n%s", err, out, readLog(home))
	}

	t.Logf("the tour's output:\n%s", out)
	// What each user sees, as step 6 says.
	ana, bob, ok := strings.Cut(out, "(6 rows)")
	if !ok {
		t.Fatalf("Ana must see the 6 customers of the United States:\n%s", out)
	}
	for _, hidden := range []string{"maria.garcia@", "524-11-7302", "1984-03-12", "Lucia Hernandez"} {
		if strings.Contains(ana, hidden) {
			t.Errorf("Ana sees %q:\n%s", hidden, ana)
		}
	}
	if !strings.Contains(ana, "*****@example.com") || !strings.Contains(ana, "1984-01-01") {
		t.Errorf("Ana's masks:\n%s", ana)
	}
	for _, shown := range []string{"maria.garcia@example.com", "524-11-7302", "Lucia Hernandez", "(12 rows)"} {
		if !strings.Contains(bob, shown) {
			t.Errorf("Bob, in HR, must see %q:\n%s", shown, bob)
		}
	}
	if strings.Count(out, "admin (bim) on http://") != 2 || !strings.Contains(out, `the new API key 2, named "recovery"`) {
		t.Errorf("custos whoami, before and after custos admin reset-key:\n%s", out)
	}
}

func readLog(home string) string {
	b, _ := os.ReadFile(filepath.Join(home, "custos-tour", "custos.log"))
	return string(b)
}
