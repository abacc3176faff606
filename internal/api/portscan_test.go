package api_test

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// httpLookalike listens on a free local port and answers whatever it is
// sent the way a web server answers garbage; it stops when the test ends.
func httpLookalike(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Read(make([]byte, 512))
				_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// The API is no port scanner: registering a connection, or an integration,
// to a closed port and to an open port of a service that is not PostgreSQL
// answers the same status and message (but for the port it names).
func TestRegisteringIsNoPortScanner(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		closed, open := closedPort(t), httpLookalike(t)
		answer := func(method, path string, port int, body map[string]any) string {
			t.Helper()
			r := env.Do(t, admin, method, path, body)
			var e struct {
				Message    string `json:"message"`
				Validation []struct {
					Field string `json:"field"`
				} `json:"validation"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil {
				t.Fatalf("%s %s: %s", method, path, r.Body)
			}
			fields := make([]string, len(e.Validation))
			for i, f := range e.Validation {
				fields[i] = f.Field
			}
			return strconv.Itoa(r.Status) + " " + strings.Join(fields, ",") + " " +
				strings.ReplaceAll(e.Message, strconv.Itoa(port), "PORT")
		}
		for _, ssl := range []bool{false, true} {
			register := func(port int) string {
				return answer("POST", "/api/v2/data?wait=-1", port, map[string]any{"connectionKey": "probe", "connection": map[string]any{
					"handler": "PostgreSQL", "hostname": "127.0.0.1", "port": port, "database": "d", "username": "u",
					"password": "p", "ssl": ssl}})
			}
			want := register(closed)
			if !strings.HasPrefix(want, "422 connection.hostname no PostgreSQL server answers at 127.0.0.1:PORT") {
				t.Fatalf("ssl=%v, closed port: %s", ssl, want)
			}
			if got := register(open); got != want {
				t.Errorf("ssl=%v: an open port of another service answers %q, a closed one %q", ssl, got, want)
			}
			integrate := func(port int) string {
				return answer("POST", "/integrations", port, map[string]any{"type": "PostgreSQL", "autoBootstrap": true,
					"config": map[string]any{"host": "127.0.0.1", "port": port, "database": "d", "ssl": ssl,
						"authenticationType": "userPassword", "username": "u", "password": "p"}})
			}
			want = integrate(closed)
			if !strings.Contains(want, "no PostgreSQL server answers at 127.0.0.1:PORT") {
				t.Fatalf("ssl=%v, integration on a closed port: %s", ssl, want)
			}
			if got := integrate(open); got != want {
				t.Errorf("ssl=%v: an integration on an open port of another service answers %q, on a closed one %q", ssl, got, want)
			}
		}
	})
}
