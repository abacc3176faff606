package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
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

// expect is one request a contract server expects and its answer.
type expect struct {
	method string
	path   string // escaped, as sent
	query  string // encoded query, "" for none
	body   string // JSON compared by value; "" for no body
	status int    // default 200
	answer string
}

// contract is a stand-in server for endpoints the server does not serve
// yet: it checks each request against the next expectation and answers
// with the documented example.
type contract struct {
	t      *testing.T
	mu     sync.Mutex
	expect []expect
	got    int
	srv    *httptest.Server
}

const contractKey = "contract-key"

func newContract(t *testing.T) *contract {
	c := &contract{t: t}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

// on queues expectations.
func (c *contract) on(e ...expect) *contract {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expect = append(c.expect, e...)
	return c
}

func (c *contract) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if c.got >= len(c.expect) {
		c.t.Errorf("unexpected request %s %s?%s %s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, body)
		http.Error(w, `{"statusCode":500,"message":"unexpected request"}`, 500)
		return
	}
	e := c.expect[c.got]
	c.got++
	if r.Header.Get("Authorization") != contractKey {
		c.t.Errorf("Authorization %q", r.Header.Get("Authorization"))
	}
	if r.Method != e.method || r.URL.EscapedPath() != e.path {
		c.t.Errorf("request %d: %s %s, want %s %s", c.got, r.Method, r.URL.EscapedPath(), e.method, e.path)
	}
	wantQ, _ := url.ParseQuery(e.query)
	if !reflect.DeepEqual(r.URL.Query(), wantQ) && !(len(wantQ) == 0 && r.URL.RawQuery == "") {
		c.t.Errorf("request %d: query %q, want %q", c.got, r.URL.RawQuery, e.query)
	}
	switch {
	case e.body == "" && len(body) > 0:
		c.t.Errorf("request %d: unexpected body %s", c.got, body)
	case e.body != "":
		var gotV, wantV any
		if err := json.Unmarshal(body, &gotV); err != nil {
			c.t.Errorf("request %d: body is not JSON: %s", c.got, body)
		}
		if err := json.Unmarshal([]byte(e.body), &wantV); err != nil {
			c.t.Fatalf("bad expectation body: %v", err)
		}
		if !reflect.DeepEqual(gotV, wantV) {
			c.t.Errorf("request %d: body\n got %s\nwant %s", c.got, body, e.body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			c.t.Errorf("request %d: content type %q", c.got, ct)
		}
	}
	status := e.status
	if status == 0 {
		status = 200
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, e.answer)
}

// done checks that every expected request came.
func (c *contract) done() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got != len(c.expect) {
		c.t.Fatalf("%d of %d expected requests were made", c.got, len(c.expect))
	}
}

// cli returns a command line pointed at the contract server.
func (c *contract) cli() *cli { return newCLI(c.t).server(c.srv.URL, contractKey) }
