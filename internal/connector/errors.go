package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/custosdata/custos/internal/errs"
)

// connectError turns a failure to reach or log in to PostgreSQL into an
// error naming the connection field to fix. Whatever does not show that a
// PostgreSQL server answered gets one answer (noServer), so that registering
// connections cannot tell a closed port from an open one of another service:
// the API is no port scanner.
func connectError(err error, c Connection) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	addr := c.address()
	field := func(name, code, format string, args ...any) error {
		fe := errs.Field("connection."+name, code, format, args...)
		fe.Err = err
		return fe
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01": // invalid_password
			return field("password", errs.CodeInvalid, "password authentication failed for user %q at %s", c.Username, addr)
		case "28000": // invalid_authorization_specification: unknown role, refused by pg_hba
			return field("username", errs.CodeInvalid, "user %q may not log in at %s: %s", c.Username, addr, pgErr.Message)
		case "3D000": // invalid_catalog_name
			return field("database", errs.CodeNotFound, "database %q does not exist at %s", c.Database, c.Hostname)
		case "42501": // insufficient_privilege, e.g. no CONNECT on the database
			return field("username", errs.CodeInvalid, "user %q may not connect to database %q: %s", c.Username, c.Database, pgErr.Message)
		}
		return errs.Unavailablef(err, "PostgreSQL at %s refused the connection: %s", addr, pgErr.Message)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return field("hostname", errs.CodeInvalid, "host %q cannot be resolved", c.Hostname)
	case errors.Is(err, context.Canceled):
		return err
	case refusedTLS(err):
		// PostgreSQL without SSL refuses it so; OpenPostgres makes sure
		// that it was PostgreSQL before it says so.
		return field("ssl", errs.CodeInvalid, "the server at %s does not accept SSL connections; set connection.ssl to false", addr)
	case failedTLS(err):
		return field("ssl", errs.CodeInvalid, "SSL handshake with %s failed", addr)
	}
	// Refused, unreachable, timed out, or an answer that is not
	// PostgreSQL's: all the same to the caller.
	return noServer(err, c)
}

// noServer is the one answer for every address where no PostgreSQL server
// could be reached.
func noServer(cause error, c Connection) error {
	fe := errs.Field("connection.hostname", errs.CodeInvalid,
		"no PostgreSQL server answers at %s; check connection.hostname, connection.port and the firewall", c.address())
	fe.Err = cause
	return fe
}

// refusedTLS reports that the server answered the request for SSL with
// anything but yes: PostgreSQL without SSL does, and so does any other
// service that sends a byte first.
func refusedTLS(err error) bool {
	return strings.Contains(err.Error(), "server refused TLS connection")
}

// failedTLS reports that the server agreed to SSL and then did not speak it.
func failedTLS(err error) bool {
	var tlsErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	return errors.As(err, &tlsErr) || errors.As(err, &certErr)
}

// blamesSSL reports whether err is connectError's answer about SSL.
func blamesSSL(err error) bool {
	var e *errs.Error
	return errors.As(err, &e) && len(e.Fields) == 1 && e.Fields[0].Field == "connection.ssl"
}

// SpeaksPostgres reports whether a PostgreSQL server answers at addr. It
// sends a startup message naming no user, which PostgreSQL refuses with an
// error before asking for any credential, and reads the answer; nothing of
// the connection's own credentials is sent.
func SpeaksPostgres(ctx context.Context, addr string, timeout time.Duration) bool {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{}})
	if err := fe.Flush(); err != nil {
		return false
	}
	msg, err := fe.Receive()
	if err != nil {
		return false
	}
	_, ok := msg.(*pgproto3.ErrorResponse)
	return ok
}

func isTimeout(err error) bool {
	if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Whose fault a statement's failure is, for fail.
type blame int

const (
	blameNone  blame = iota // a catalog statement: no payload field to fix
	blameTable              // a table source: field is its path, e.g. "sources[2]"
	blameQuery              // a query source: field is the statement's path, e.g. "sources[3].query"
)

// fail classifies an error of a catalog, sampling or describing statement.
// Errors a payload can fix become 422s on the source's field; the rest are
// Unavailable (the server failed) or unclassified.
func (p *Postgres) fail(err error, who blame, field string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return connectError(err, p.conn)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if who != blameNone {
			at := func(suffix string) string {
				if who == blameQuery {
					return field
				}
				return field + suffix
			}
			fe := func(name, code, format string, args ...any) error {
				x := errs.Field(name, code, format, args...)
				x.Err = err
				return x
			}
			switch {
			case pgErr.Code == "42501": // insufficient_privilege
				return fe(at(".table"), errs.CodeInvalid, "permission denied for user %q: %s", p.conn.Username, pgErr.Message)
			case pgErr.Code == "42P01": // undefined_table
				return fe(at(".table"), errs.CodeNotFound, "%s", pgErr.Message)
			case pgErr.Code == "3F000": // invalid_schema_name
				return fe(at(".schema"), errs.CodeNotFound, "%s", pgErr.Message)
			case pgErr.Code == "42703": // undefined_column
				return fe(at(".columns"), errs.CodeNotFound, "%s", pgErr.Message)
			case pgErr.Code == "25006": // read_only_sql_transaction
				return fe(at(""), errs.CodeInvalid, "a source may only read: %s", pgErr.Message)
			case who == blameQuery && strings.HasPrefix(pgErr.Code, "42"): // syntax error or access rule violation
				return fe(field, errs.CodeInvalid, "the query is not valid: %s", pgErr.Message)
			}
		}
		if pgErr.Code == "57014" { // query_canceled, here by statement_timeout
			return errs.Unavailablef(err, "reading %s timed out: %s", p.conn.ConnectionString(), pgErr.Message)
		}
		return errs.Unavailablef(err, "PostgreSQL at %s failed: %s", p.conn.ConnectionString(), pgErr.Message)
	}
	if isTimeout(err) {
		return errs.Unavailablef(err, "reading %s timed out", p.conn.ConnectionString())
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("postgres %s: %w", p.conn.ConnectionString(), err)
}

// address is the connection's host:port, the technology's port by default.
func (c Connection) address() string {
	port := c.Port
	if port == 0 {
		port = DefaultPort(c.Handler)
	}
	return net.JoinHostPort(c.Hostname, strconv.Itoa(port))
}
