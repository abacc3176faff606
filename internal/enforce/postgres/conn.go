// Package postgres is custos's live PostgreSQL integration: it connects to a
// governed database, creates custos's system objects there (Bootstrap) or
// checks that a database administrator did (CheckManual), keeps the views,
// row filters, grants and entitlements equal to what custos decided
// (Reconcile, idempotent, repairing changes made by hand), and removes
// everything it created (Teardown). The SQL itself comes from package pgsql.
package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/errs"
)

// Config says how to reach a governed database and as whom.
type Config struct {
	Host     string
	Port     int
	Database string
	SSL      bool
	Username string
	Password string
	// Field prefixes error fields, e.g. "config".
	Field string
	// ConnectTimeout bounds connecting (default 10 s).
	ConnectTimeout time.Duration
}

// Address is host:port.
func (c Config) Address() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Database is an open connection pool to a governed database.
type Database struct {
	pool *pgxpool.Pool
	cfg  Config
}

// Open connects and checks the credentials. Errors a caller can fix name the
// config field (config.password, config.host, ...).
func Open(ctx context.Context, cfg Config) (*Database, error) {
	if cfg.Port == 0 {
		cfg.Port = 5432
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	q := url.Values{}
	q.Set("sslmode", "disable")
	q.Set("application_name", "custos")
	pc, err := pgxpool.ParseConfig("postgres://?" + q.Encode())
	if err != nil {
		return nil, err
	}
	cc := pc.ConnConfig
	if cfg.SSL {
		// Like libpq's sslmode=require: encrypted, the certificate unchecked.
		cc.TLSConfig = &tls.Config{ServerName: cfg.Host, InsecureSkipVerify: true}
	} else {
		cc.TLSConfig = nil
	}
	cc.Host, cc.Port, cc.Database = cfg.Host, uint16(cfg.Port), cfg.Database
	cc.User, cc.Password = cfg.Username, cfg.Password
	cc.Fallbacks = nil
	cc.ConnectTimeout = cfg.ConnectTimeout
	// Everything custos renders is fully qualified and relies on
	// standard-conforming string literals; names in pg_temp or other schemas
	// cannot capture it.
	cc.RuntimeParams["search_path"] = "pg_catalog, pg_temp"
	cc.RuntimeParams["standard_conforming_strings"] = "on"
	cc.RuntimeParams["lock_timeout"] = "5s"
	pc.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, connectError(err, cfg)
	}
	d := &Database{pool: pool, cfg: cfg}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		// Any service that answers first refuses SSL, or fails its
		// handshake, as PostgreSQL could: say so only of PostgreSQL.
		if cfg.SSL && (strings.Contains(err.Error(), "server refused TLS connection") || errors.As(err, new(tls.RecordHeaderError))) &&
			!connector.SpeaksPostgres(ctx, cfg.Address(), cfg.ConnectTimeout) {
			return nil, noServer(err, cfg)
		}
		return nil, connectError(err, cfg)
	}
	return d, nil
}

// Close releases the connections.
func (d *Database) Close() { d.pool.Close() }

// Config returns the configuration the database was opened with.
func (d *Database) Config() Config { return d.cfg }

// connectError names the config field to fix when connecting fails.
// Whatever does not show that a PostgreSQL server answered gets one answer
// (noServer), so that a closed port and an open one of another service look
// alike: the API is no port scanner.
func connectError(err error, c Config) error {
	prefix := c.Field
	if prefix != "" {
		prefix += "."
	}
	field := func(name, format string, args ...any) error {
		fe := errs.Field(prefix+name, errs.CodeInvalid, format, args...)
		fe.Err = err
		return fe
	}
	addr := c.Address()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return field("password", "password authentication failed for user %q at %s; check %susername and %spassword", c.Username, addr, prefix, prefix)
		case "28000":
			return field("username", "user %q may not log in at %s: %s", c.Username, addr, pgErr.Message)
		case "3D000":
			return field("database", "database %q does not exist at %s", c.Database, addr)
		case "42501":
			return field("username", "user %q may not connect to database %q: %s", c.Username, c.Database, pgErr.Message)
		}
		return errs.Unavailablef(err, "PostgreSQL at %s refused the connection: %s", addr, pgErr.Message)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return field("host", "host %q cannot be resolved", c.Host)
	case errors.Is(err, context.Canceled):
		return err
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return field("ssl", "the server at %s does not accept SSL connections; set %sssl to false", addr, prefix)
	}
	// Refused, unreachable, timed out, or an answer that is not
	// PostgreSQL's: all the same to the caller.
	return noServer(err, c)
}

// noServer is the one answer for every address where no PostgreSQL server
// could be reached.
func noServer(cause error, c Config) error {
	prefix := c.Field
	if prefix != "" {
		prefix += "."
	}
	fe := errs.Field(prefix+"host", errs.CodeInvalid, "no PostgreSQL server answers at %s; check %shost, %sport and the firewall",
		c.Address(), prefix, prefix)
	fe.Err = cause
	return fe
}

// Server describes the connecting role and what the server offers, for the
// validation tests of an integration.
type Server struct {
	Version       string
	Role          string
	Superuser     bool
	CreateRole    bool
	CreateOnDB    bool // may create schemas in the database
	PgauditLoaded bool
	LogLinePrefix string
	LogFile       string // pg_current_logfile(), when the server's collector writes one
	DataDirectory string // only readable by privileged roles; may be empty
}

// Inspect reads what the validation tests need.
func (d *Database) Inspect(ctx context.Context) (*Server, error) {
	s := &Server{}
	// pg_settings shows every role what it may see: a loaded pgaudit
	// defines its settings, whoever asks.
	err := d.pool.QueryRow(ctx, `
		SELECT pg_catalog.current_setting('server_version'), CURRENT_USER::text, r.rolsuper, r.rolcreaterole,
		       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),
		       EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'pgaudit.role'),
		       COALESCE((SELECT setting FROM pg_catalog.pg_settings WHERE name = 'log_line_prefix'), '')
		FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER`).Scan(&s.Version, &s.Role, &s.Superuser, &s.CreateRole,
		&s.CreateOnDB, &s.PgauditLoaded, &s.LogLinePrefix)
	if err != nil {
		return nil, fmt.Errorf("inspect the server: %w", err)
	}
	if s.Superuser {
		_ = d.pool.QueryRow(ctx, `SELECT COALESCE(pg_catalog.pg_current_logfile(), ''), pg_catalog.current_setting('data_directory')`).
			Scan(&s.LogFile, &s.DataDirectory)
	}
	return s, nil
}

// RolesExist reports which of the given roles exist.
func (d *Database) RolesExist(ctx context.Context, names []string) (map[string]bool, error) {
	out := make(map[string]bool, len(names))
	if len(names) == 0 {
		return out, nil
	}
	rows, err := d.pool.Query(ctx, `SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY ($1::text[])`, names)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, n := range found {
		out[n] = true
	}
	return out, nil
}

// SystemState says whether custos's system objects are present.
type SystemState struct {
	RoleExists      bool
	SchemaExists    bool
	SchemaOwnedBy   string
	Version         string // from the meta table; empty when missing
	MemberOfRole    bool   // the connecting role may act as the system role
	AuditRoleExists bool
}

// System reads the state of the system objects named by sys.
func (d *Database) System(ctx context.Context, sys pgsql.System) (*SystemState, error) {
	st := &SystemState{}
	err := d.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1),
		       EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $2),
		       COALESCE((SELECT r.rolname::text FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE n.nspname = $2), ''),
		       EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AND pg_catalog.pg_has_role(CURRENT_USER, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1), 'USAGE'),
		       $3 <> '' AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $3)`,
		sys.Role, sys.Schema, sys.AuditRole).Scan(&st.RoleExists, &st.SchemaExists, &st.SchemaOwnedBy, &st.MemberOfRole, &st.AuditRoleExists)
	if err != nil {
		return nil, fmt.Errorf("inspect custos's system objects: %w", err)
	}
	if st.SchemaExists {
		// The meta table may be missing or unreadable: then there is no version.
		var v string
		if err := d.pool.QueryRow(ctx, `SELECT value FROM `+sys.Table("meta")+` WHERE key = 'version'`).Scan(&v); err == nil {
			st.Version = v
		}
	}
	return st, nil
}

// TableName names a table.
type TableName struct{ Schema, Name string }

// NotManageable lists the given tables that exist and that the connecting
// role cannot manage (it neither owns them nor belongs to their owner).
func (d *Database) NotManageable(ctx context.Context, tables []TableName) ([]string, error) {
	schemas, names := make([]string, len(tables)), make([]string, len(tables))
	for i, t := range tables {
		schemas[i], names[i] = t.Schema, t.Name
	}
	rows, err := d.pool.Query(ctx, `
		SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
		FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS s(schema_name, rel_name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema_name
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.rel_name
		WHERE NOT pg_catalog.pg_has_role(CURRENT_USER, c.relowner, 'USAGE')
		ORDER BY 1`, schemas, names)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// QueryRow runs a query on the pool.
func (d *Database) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.pool.QueryRow(ctx, sql, args...)
}

// AuditUser is the custos user behind a role, as custos last pushed it.
type AuditUser struct {
	UserID   int64
	Username string
	IAM      string
}

// AuditMap reads what query audit needs to name what it finds in the log:
// the governed objects (views and tables, as pgaudit quotes them) with their
// data source, and the users behind the roles.
func (d *Database) AuditMap(ctx context.Context, sys pgsql.System) (map[string]int64, map[string]AuditUser, error) {
	objects := map[string]int64{}
	rows, err := d.pool.Query(ctx, `
		SELECT v.data_source_id, pg_catalog.quote_ident(v.view_schema) || '.' || pg_catalog.quote_ident(v.view_name),
		       COALESCE(pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), '')
		FROM `+sys.Table("views")+` v
		LEFT JOIN pg_catalog.pg_class c ON c.oid = v.table_oid
		LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var id int64
		var view, table string
		if err := rows.Scan(&id, &view, &table); err != nil {
			rows.Close()
			return nil, nil, err
		}
		objects[view] = id
		if table != "" {
			objects[table] = id
		}
	}
	rows.Close()
	users := map[string]AuditUser{}
	rows, err = d.pool.Query(ctx, `SELECT role_name::text, user_id, username, iam FROM `+sys.Table("entitlements"))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var role string
		var u AuditUser
		if err := rows.Scan(&role, &u.UserID, &u.Username, &u.IAM); err != nil {
			return nil, nil, err
		}
		users[role] = u
	}
	return objects, users, rows.Err()
}

// ServerLog reads the server's current log file through SQL
// (pg_current_logfile, pg_read_binary_file): it needs the logging collector
// and a superuser or a member of pg_read_server_files.
type ServerLog struct{ D *Database }

// Ident names the current log file and gives its size.
func (l ServerLog) Ident(ctx context.Context) (string, int64, error) {
	var path *string
	var size *int64
	err := l.D.pool.QueryRow(ctx, `SELECT f, (pg_catalog.pg_stat_file(f)).size FROM pg_catalog.pg_current_logfile() AS f`).Scan(&path, &size)
	if err != nil {
		return "", 0, err
	}
	if path == nil || size == nil {
		return "", 0, fmt.Errorf("the server writes no log file of its own (logging_collector is off): set config.audit.logPath")
	}
	return *path, *size, nil
}

// Read reads up to n bytes of the log file from off.
func (l ServerLog) Read(ctx context.Context, path string, off int64, n int) ([]byte, error) {
	var b []byte
	err := l.D.pool.QueryRow(ctx, `SELECT pg_catalog.pg_read_binary_file($1, $2, $3)`, path, off, int64(n)).Scan(&b)
	return b, err
}
