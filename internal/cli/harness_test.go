package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// result is what a command printed and returned.
type result struct {
	code     int
	out, err string
}

// term runs a command as if stdin were a terminal.
type term bool

// cli runs the command line in-process with its own home directory and
// environment; extra arguments of type map[string]string add environment
// variables, a string given with stdin() is the input, term(true) makes
// stdin a terminal.
type cli struct {
	t     *testing.T
	home  string
	env   map[string]string
	stdin string
	tty   bool
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, home: t.TempDir(), env: map[string]string{}}
}

// server points the client at url with key through the environment.
func (c *cli) server(url, key string) *cli {
	c.env["CUSTOS_URL"], c.env["CUSTOS_API_KEY"] = url, key
	return c
}

func (c *cli) input(s string) *cli { c.stdin = s; return c }

func (c *cli) terminal() *cli { c.tty = true; return c }

func (c *cli) run(args ...string) result {
	c.t.Helper()
	var out, errOut bytes.Buffer
	io := cmdutil.IO{In: strings.NewReader(c.stdin), Out: &out, ErrOut: &errOut, InTTY: c.tty,
		Getenv: func(k string) string {
			if k == "HOME" {
				return c.home
			}
			return c.env[k]
		}}
	code := ExecuteWith(&cmdutil.Factory{IO: io}, args)
	c.stdin, c.tty = "", false
	return result{code: code, out: out.String(), err: errOut.String()}
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("custos %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// fails runs a command that must fail with code and print exactly the
// one error line want on stderr (plus the help hint for usage mistakes
// when hint is set).
func (c *cli) fails(code int, want string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("custos %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	first, _, _ := strings.Cut(r.err, "\n")
	if first != want {
		c.t.Fatalf("custos %s: stderr\n got %q\nwant %q", strings.Join(args, " "), first, want)
	}
	return r
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
