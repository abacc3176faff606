package connector

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/pgtest"
)

// fakeService listens on a free local port and treats every connection with
// serve; it stops when the test ends.
func fakeService(t *testing.T, serve func(c net.Conn)) int {
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
				serve(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// freePort returns a local port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// answer is what a caller learns from a failed connection: status, field and
// message, with the port it tried taken out.
func answer(t *testing.T, err error, port int) string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a classified error, got %v", err)
	}
	field := ""
	if len(e.Fields) == 1 {
		field = e.Fields[0].Field
	}
	return strconv.Itoa(e.Status()) + " " + field + " " + strings.ReplaceAll(e.Message, strconv.Itoa(port), "PORT")
}

// Registering a connection is no port scanner: a closed port and open ports
// of services that are not PostgreSQL (one that answers in its own
// protocol, one that greets first, one that hangs up, one that says
// nothing) give one and the same answer, with SSL asked for or not.
func TestClosedAndForeignPortsLookAlike(t *testing.T) {
	ctx := context.Background()
	ports := map[string]int{
		"closed": freePort(t),
		"http": fakeService(t, func(c net.Conn) {
			_, _ = c.Read(make([]byte, 512))
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		}),
		"ssh": fakeService(t, func(c net.Conn) {
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
			_, _ = c.Read(make([]byte, 512))
		}),
		"hangs up": fakeService(t, func(c net.Conn) {}),
		"silent": fakeService(t, func(c net.Conn) {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Read(make([]byte, 512))
			_, _ = c.Read(make([]byte, 512))
		}),
	}
	for _, ssl := range []bool{false, true} {
		want := ""
		for _, name := range []string{"closed", "http", "ssh", "hangs up", "silent"} {
			c := Connection{Handler: PostgreSQL, Hostname: "127.0.0.1", Port: ports[name], Database: "d",
				Username: "u", Password: "p", SSL: ssl}
			_, err := Open(ctx, c, Options{ConnectTimeout: 500 * time.Millisecond})
			got := answer(t, err, ports[name])
			if want == "" {
				want = got
				if !strings.Contains(got, "422 connection.hostname no PostgreSQL server answers at 127.0.0.1:PORT") {
					t.Fatalf("ssl=%v closed port: %s", ssl, got)
				}
			} else if got != want {
				t.Errorf("ssl=%v: %s answers %q, a closed port %q", ssl, name, got, want)
			}
		}
	}
}

// PostgreSQL itself still gets its precise answers: one without SSL says
// so when SSL is asked for.
func TestPostgresRefusingSSLIsNamed(t *testing.T) {
	c := connectionFor(t, pgtest.NewDatabase(t))
	c.SSL = true
	_, err := Open(context.Background(), c, Options{ConnectTimeout: 3 * time.Second})
	e := wantField(t, err, "connection.ssl")
	if !strings.Contains(e.Message, "does not accept SSL") {
		t.Fatalf("message: %s", e.Message)
	}
}
