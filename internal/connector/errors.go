package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custosdata/custos/internal/errs"
)

// connectError turns a failure to reach or log in to PostgreSQL into an
// error naming the connection field to fix.
func connectError(err error, c Connection) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	port := c.Port
	if port == 0 {
		port = DefaultPort(c.Handler)
	}
	addr := net.JoinHostPort(c.Hostname, strconv.Itoa(port))
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
	var tlsErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dnsErr):
		return field("hostname", errs.CodeInvalid, "host %q cannot be resolved", c.Hostname)
	case errors.Is(err, syscall.ECONNREFUSED):
		return field("port", errs.CodeInvalid, "nothing accepts connections at %s; check connection.hostname and connection.port", addr)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return field("hostname", errs.CodeInvalid, "host %q is unreachable", c.Hostname)
	case isTimeout(err):
		return field("hostname", errs.CodeInvalid, "connecting to %s timed out; check connection.hostname, connection.port and the firewall", addr)
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return field("ssl", errs.CodeInvalid, "the server at %s does not accept SSL connections; set connection.ssl to false", addr)
	case errors.As(err, &tlsErr), errors.As(err, &certErr):
		return field("ssl", errs.CodeInvalid, "SSL handshake with %s failed", addr)
	case errors.Is(err, context.Canceled):
		return err
	}
	return errs.Unavailablef(err, "cannot connect to PostgreSQL at %s", addr)
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
