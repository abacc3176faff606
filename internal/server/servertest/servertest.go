// Package servertest runs a real custos server for tests: the whole HTTP
// stack over an httptest listener, on SQLite or on a throwaway PostgreSQL
// store, with a client that speaks its JSON.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server"
)

// AdminKey is the administrator's API key in every test server.
const AdminKey = "test-admin-key-0123456789abcdef"

// Env is a running test server.
type Env struct {
	App    *server.App
	URL    string
	Client *http.Client

	requests atomic.Int64
}

// Requests counts the requests the server received, so that a test can
// check that a client sent none.
func (e *Env) Requests() int64 { return e.requests.Load() }

// Backend selects the store of a test server.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// New starts a server on the given backend; it stops when the test ends.
// Tweak, if given, adjusts the configuration first.
func New(t testing.TB, backend Backend, tweak ...func(*server.Config)) *Env {
	t.Helper()
	cfg := server.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.AdminAPIKey = AdminKey
	cfg.LogLevel = "error"
	if backend == Postgres {
		cfg.Store = pgtest.NewDatabase(t)
	}
	for _, f := range tweak {
		f(&cfg)
	}
	app, err := server.New(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatalf("start custos: %v", err)
	}
	stop := app.Start()
	env := &Env{App: app}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.requests.Add(1)
		app.API.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		stop()
		app.Close()
	})
	env.URL, env.Client = ts.URL, ts.Client()
	return env
}

// EachBackend runs fn against a fresh server on SQLite and on PostgreSQL.
func EachBackend(t *testing.T, fn func(t *testing.T, env *Env)) {
	for _, b := range []Backend{SQLite, Postgres} {
		t.Run(string(b), func(t *testing.T) { fn(t, New(t, b)) })
	}
}

// Response is a decoded HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends a request with key as the Authorization header (none when
// empty). A body that is a string or []byte is sent as is (YAML when it does
// not start with { or [); anything else is encoded as JSON.
func (e *Env) Do(t testing.TB, key, method, path string, body any) *Response {
	t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), guessType([]byte(b))
	case []byte:
		rd, contentType = bytes.NewReader(b), guessType(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func guessType(b []byte) string {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		return "application/json"
	}
	return "application/yaml"
}

// Must sends a request and fails the test unless the status is want.
func (e *Env) Must(t testing.TB, want int, key, method, path string, body any) *Response {
	t.Helper()
	r := e.Do(t, key, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Admin sends a request as the administrator and expects status want.
func (e *Env) Admin(t testing.TB, want int, method, path string, body any) *Response {
	t.Helper()
	return e.Must(t, want, AdminKey, method, path, body)
}

// NewUser creates a user with the given permissions and an API key for
// them, returning the user's id and key.
func (e *Env) NewUser(t testing.TB, userid string, perms ...string) (int64, string) {
	t.Helper()
	if perms == nil {
		perms = []string{}
	}
	r := e.Admin(t, 200, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": userid,
		"password": "correct-horse-battery", "profile": map[string]any{"name": userid}, "permissions": perms})
	var created struct {
		NewUser struct {
			ID int64 `json:"id"`
		} `json:"newUser"`
	}
	r.JSON(t, &created)
	tok := e.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate",
		map[string]any{"username": userid, "password": "correct-horse-battery"})
	token := "Bearer " + tok.Map(t)["token"].(string)
	key := e.Must(t, 200, token, "POST", "/bim/apikey", map[string]any{"name": "tests"})
	return created.NewUser.ID, key.Map(t)["apikey"].(string)
}
