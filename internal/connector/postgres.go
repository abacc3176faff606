package connector

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custosdata/custos/internal/errs"
)

// Postgres is a live PostgreSQL source. Every session it opens is read-only
// (default_transaction_read_only), resolves names in pg_catalog first
// (search_path), and every statement is bounded by a statement timeout.
// What runs database users' code (samples, query descriptions) is confined
// further (see confined).
type Postgres struct {
	pool *pgxpool.Pool
	conn Connection
	opts Options
}

var _ Source = (*Postgres)(nil)

// OpenPostgres connects to the PostgreSQL database described by c and checks
// the credentials. It does not validate c nor the role; Open does. Reading
// the catalog alone (Tables, LookupTables) runs no user code; reading rows
// refuses a role that cannot be confined.
func OpenPostgres(ctx context.Context, c Connection, opts Options) (*Postgres, error) {
	opts = opts.withDefaults()
	cfg, err := poolConfig(c, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, connectError(err, c)
	}
	p := &Postgres{pool: pool, conn: c, opts: opts}
	if err := p.Ping(ctx); err != nil {
		pool.Close()
		// Any service that answers first refuses SSL, or fails its
		// handshake, as PostgreSQL could: say so only of PostgreSQL.
		if blamesSSL(err) && !SpeaksPostgres(ctx, c.address(), opts.ConnectTimeout) {
			return nil, noServer(err, c)
		}
		return nil, err
	}
	return p, nil
}

// poolConfig builds the pool configuration from the connection's fields
// directly, so that no part of the user's input is parsed as a connection
// string. Only fixed settings go through the parser.
func poolConfig(c Connection, opts Options) (*pgxpool.Config, error) {
	q := url.Values{}
	q.Set("sslmode", "disable")
	q.Set("application_name", "custos")
	cfg, err := pgxpool.ParseConfig("postgres://?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("postgres config: %w", err)
	}
	cc := cfg.ConnConfig
	cc.TLSConfig = nil
	if c.SSL {
		// Like libpq's sslmode=require: encrypted, the certificate unchecked.
		cc.TLSConfig = &tls.Config{ServerName: c.Hostname, InsecureSkipVerify: true}
	}
	port := c.Port
	if port == 0 {
		port = DefaultPort(PostgreSQL)
	}
	cc.Host = c.Hostname
	cc.Port = uint16(port)
	cc.Database = c.Database
	cc.User = c.Username
	cc.Password = c.Password
	cc.Fallbacks = nil
	cc.ConnectTimeout = opts.ConnectTimeout
	cc.RuntimeParams["default_transaction_read_only"] = "on"
	// The catalog statements name functions and operators unqualified: no
	// schema a database user can write to may capture them.
	cc.RuntimeParams["search_path"] = "pg_catalog, pg_temp"
	cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	cfg.MaxConns = opts.MaxConns
	return cfg, nil
}

// Handler implements Source.
func (p *Postgres) Handler() string { return PostgreSQL }

// Close implements Source.
func (p *Postgres) Close() { p.pool.Close() }

// Ping implements Source.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return connectError(err, p.conn)
	}
	return nil
}

// Schemas implements Source.
func (p *Postgres) Schemas(ctx context.Context) ([]string, error) {
	rows, err := p.pool.Query(ctx, `
		SELECT nspname FROM pg_catalog.pg_namespace
		WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\_%'
		ORDER BY nspname COLLATE "C"`)
	if err != nil {
		return nil, p.fail(err, blameNone, "")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, p.fail(err, blameNone, "")
	}
	return names, nil
}

// relkinds are the relation kinds custos registers: ordinary, partitioned and
// foreign tables, views and materialized views.
const relkinds = `('r', 'p', 'v', 'm', 'f')`

// columnsSelect lists, for the relations in CTE "rel", one row per column in
// table order (one row with NULL column fields for a table without columns),
// reading the catalog once for all relations. extra adds select columns.
func columnsSelect(extra string) string {
	return `
	SELECT rel.nspname, rel.relname, rel.relkind, rel.description, rel.estimate, rel.readable,
	       a.attname,
	       format_type(a.atttypid, a.atttypmod),
	       format_type(bt.oid, NULL),
	       bt.typcategory::text,
	       a.attnotnull,
	       coalesce(a.attnum = ANY (pk.indkey::int2[]), false),
	       coalesce(d.description, '')` + extra + `
	FROM rel
	LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
	LEFT JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
	LEFT JOIN pg_catalog.pg_index pk ON pk.indrelid = rel.oid AND pk.indisprimary
	LEFT JOIN pg_catalog.pg_description d ON d.objoid = rel.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum`
}

// relSelect computes per relation what columnsSelect repeats on each column
// row; it is materialised so that privilege checks run once per relation.
const relSelect = `
	SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
	       coalesce(td.description, '') AS description,
	       c.reltuples::bigint AS estimate,
	       has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') AS readable`

var tablesQuery = `
WITH rel AS MATERIALIZED (` + relSelect + `
	FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_catalog.pg_description td ON td.objoid = c.oid AND td.classoid = 'pg_catalog.pg_class'::regclass AND td.objsubid = 0
	WHERE c.relkind IN ` + relkinds + ` AND NOT c.relispartition
	  AND CASE WHEN $2 THEN n.nspname = ANY ($1::text[])
	           ELSE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' END
)` + columnsSelect("") + `
ORDER BY rel.nspname COLLATE "C", rel.relname COLLATE "C", a.attnum`

// Tables implements Source. A named schema that does not exist is a 422 on
// connection.schema, the field that names a schema to register whole.
func (p *Postgres) Tables(ctx context.Context, schemas ...string) ([]Table, error) {
	if len(schemas) > 0 {
		var missing []string
		err := p.pool.QueryRow(ctx, `
			SELECT coalesce(array_agg(s ORDER BY i), '{}') FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i)
			WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = s)`, schemas).Scan(&missing)
		if err != nil {
			return nil, p.fail(err, blameNone, "")
		}
		if len(missing) > 0 {
			var l errs.List
			for _, s := range missing {
				l.Add("connection.schema", errs.CodeNotFound, "schema %q does not exist in database %q", s, p.conn.Database)
			}
			return nil, l.Err()
		}
	}
	rows, err := p.pool.Query(ctx, tablesQuery, schemas, len(schemas) > 0)
	if err != nil {
		return nil, p.fail(err, blameNone, "")
	}
	defer rows.Close()
	var tables []Table
	for rows.Next() {
		var r columnRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, p.fail(err, blameNone, "")
		}
		tables = r.appendTo(tables)
	}
	if err := rows.Err(); err != nil {
		return nil, p.fail(err, blameNone, "")
	}
	return tables, nil
}

var lookupQuery = `
WITH rel AS MATERIALIZED (` + relSelect + `, r.i
	FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(schema, name, i)
	JOIN pg_catalog.pg_namespace n ON n.nspname = r.schema
	JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.name AND c.relkind IN ` + relkinds + `
	LEFT JOIN pg_catalog.pg_description td ON td.objoid = c.oid AND td.classoid = 'pg_catalog.pg_class'::regclass AND td.objsubid = 0
)` + columnsSelect(", rel.i") + `
ORDER BY rel.i, a.attnum`

// LookupTables implements Source. Names match exactly (no case folding), so
// mixed-case and quoted identifiers round-trip.
func (p *Postgres) LookupTables(ctx context.Context, refs []TableRef) ([]Table, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	schemas := make([]string, len(refs))
	names := make([]string, len(refs))
	for i, r := range refs {
		schemas[i], names[i] = r.Schema, r.Name
	}
	rows, err := p.pool.Query(ctx, lookupQuery, schemas, names)
	if err != nil {
		return nil, p.fail(err, blameNone, "")
	}
	defer rows.Close()
	var tables []Table
	var last int64 = -1
	for rows.Next() {
		var r columnRow
		var i int64
		if err := rows.Scan(append(r.dest(), &i)...); err != nil {
			return nil, p.fail(err, blameNone, "")
		}
		if i != last { // a new ref starts; the same table may be named twice
			tables = append(tables, r.table())
			last = i
		}
		t := &tables[len(tables)-1]
		if c, ok := r.column(len(t.Columns) + 1); ok {
			t.Columns = append(t.Columns, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, p.fail(err, blameNone, "")
	}
	return p.checkFound(ctx, refs, tables)
}

// checkFound orders the tables as refs and reports every ref that did not
// resolve to a readable table, naming its field: the schema when the schema
// is missing, the table otherwise.
func (p *Postgres) checkFound(ctx context.Context, refs []TableRef, tables []Table) ([]Table, error) {
	byName := make(map[[2]string]Table, len(tables))
	for _, t := range tables {
		byName[[2]string{t.Schema, t.Name}] = t
	}
	var unresolved []string
	for _, r := range refs {
		if _, ok := byName[[2]string{r.Schema, r.Name}]; !ok {
			unresolved = append(unresolved, r.Schema)
		}
	}
	schemaExists := map[string]bool{}
	if len(unresolved) > 0 {
		rows, err := p.pool.Query(ctx, `SELECT nspname::text FROM pg_catalog.pg_namespace WHERE nspname = ANY ($1::text[])`, unresolved)
		if err != nil {
			return nil, p.fail(err, blameNone, "")
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, p.fail(err, blameNone, "")
		}
		for _, n := range names {
			schemaExists[n] = true
		}
	}
	var l errs.List
	out := make([]Table, 0, len(refs))
	for i, r := range refs {
		field := r.Field
		if field == "" {
			field = fmt.Sprintf("sources[%d]", i)
		}
		t, ok := byName[[2]string{r.Schema, r.Name}]
		switch {
		case strings.TrimSpace(r.Schema) == "":
			l.Add(field+".schema", errs.CodeRequired, "%s.schema is required", field)
		case strings.TrimSpace(r.Name) == "":
			l.Add(field+".table", errs.CodeRequired, "%s.table is required", field)
		case !ok && !schemaExists[r.Schema]:
			l.Add(field+".schema", errs.CodeNotFound, "schema %q does not exist in database %q", r.Schema, p.conn.Database)
		case !ok:
			l.Add(field+".table", errs.CodeNotFound, "table %s does not exist in database %q", quoted(r.Schema, r.Name), p.conn.Database)
		case !t.Readable:
			l.Add(field+".table", errs.CodeInvalid, "permission denied: role %q may not SELECT from %s", p.conn.Username, quoted(r.Schema, r.Name))
		default:
			out = append(out, t)
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// columnRow is one row of columnsSelect.
type columnRow struct {
	schema, name, kind, description string
	estimate                        int64
	readable                        bool
	colName, remoteType, baseType   *string
	category                        *string
	notNull, primaryKey             *bool
	columnDescription               *string
}

func (r *columnRow) dest() []any {
	return []any{&r.schema, &r.name, &r.kind, &r.description, &r.estimate, &r.readable,
		&r.colName, &r.remoteType, &r.baseType, &r.category, &r.notNull, &r.primaryKey, &r.columnDescription}
}

func (r *columnRow) table() Table {
	kind := relationKind(r.kind)
	estimate := r.estimate
	if estimate < 0 {
		estimate = -1
	}
	return Table{Schema: r.schema, Name: r.name, Kind: kind,
		View:        kind == KindView || kind == KindMaterializedView,
		Description: r.description, RowEstimate: estimate, Readable: r.readable}
}

func (r *columnRow) column(position int) (Column, bool) {
	if r.colName == nil {
		return Column{}, false
	}
	return Column{
		Name:        *r.colName,
		Position:    position,
		DataType:    dataType(deref(r.baseType), deref(r.category)),
		RemoteType:  deref(r.remoteType),
		Nullable:    r.notNull == nil || !*r.notNull,
		PrimaryKey:  r.primaryKey != nil && *r.primaryKey,
		Description: deref(r.columnDescription),
	}, true
}

// appendTo adds the row to tables, starting a new table when the row belongs
// to a different relation than the last one.
func (r *columnRow) appendTo(tables []Table) []Table {
	if n := len(tables); n == 0 || tables[n-1].Schema != r.schema || tables[n-1].Name != r.name {
		tables = append(tables, r.table())
	}
	t := &tables[len(tables)-1]
	if c, ok := r.column(len(t.Columns) + 1); ok {
		t.Columns = append(t.Columns, c)
	}
	return tables
}

func relationKind(relkind string) string {
	switch relkind {
	case "p":
		return KindPartitionedTable
	case "v":
		return KindView
	case "m":
		return KindMaterializedView
	case "f":
		return KindForeignTable
	}
	return KindTable
}

// dataType maps a PostgreSQL base type (without modifiers) and its type
// category to the portable family reported in Column.DataType.
func dataType(base, category string) string {
	switch category {
	case "A":
		return "array"
	case "S", "E":
		return "text"
	case "B":
		return "boolean"
	case "T":
		return "interval"
	case "I":
		return "inet"
	case "N":
		switch base {
		case "smallint", "integer":
			return "integer"
		case "bigint":
			return "bigint"
		case "real", "double precision":
			return "double precision"
		case "numeric", "money":
			return "numeric"
		}
		return "integer" // oid and its aliases
	case "D":
		switch {
		case base == "date":
			return "date"
		case strings.HasPrefix(base, "timestamp"):
			return "timestamp"
		case strings.HasPrefix(base, "time"):
			return "time"
		}
	case "U":
		switch base {
		case "json", "jsonb":
			return "json"
		case "bytea":
			return "binary"
		case "uuid":
			return "uuid"
		}
	}
	return "other"
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// quoted renders schema.name as SQL would need it, for messages.
func quoted(schema, name string) string {
	return pgx.Identifier{schema, name}.Sanitize()
}
