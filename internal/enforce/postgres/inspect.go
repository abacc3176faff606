package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custosdata/custos/internal/enforce/pgsql"
)

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// relation is a table or view as the catalog describes it.
type relation struct {
	OID     uint32
	Schema  string
	Name    string
	Kind    string // relkind: r, p, v, m, f
	Owner   string
	RLS     bool
	Options []string // reloptions
	ViewDef string   // md5 of pg_get_viewdef, views only
	Columns []pgsql.Column
	ACL     acl // privileges granted to others than the owner
	// ColACL are privileges granted on some of its columns; PublicCols
	// lists PUBLIC's as "PRIVILEGE:attnum", to restore them.
	ColACL     acl
	PublicCols []string
	// Cols are the same column privileges column by column.
	Cols colACL
}

// ref names a relation.
type ref struct{ Schema, Name string }

// relations reads the named relations; missing ones are absent from the map.
func relations(ctx context.Context, q querier, refs []ref) (map[ref]*relation, error) {
	out := map[ref]*relation{}
	if len(refs) == 0 {
		return out, nil
	}
	schemas, names := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		schemas[i], names[i] = r.Schema, r.Name
	}
	rows, err := q.Query(ctx, `
		SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner)::text,
		       c.relrowsecurity, COALESCE(c.reloptions, '{}')::text[],
		       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid)) ELSE '' END
		FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS s(schema_name, rel_name)
		JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema_name
		JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.rel_name`, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("read relations: %w", err)
	}
	byOID := map[uint32]*relation{}
	for rows.Next() {
		r := &relation{ACL: acl{}, ColACL: acl{}, Cols: colACL{}}
		if err := rows.Scan(&r.OID, &r.Schema, &r.Name, &r.Kind, &r.Owner, &r.RLS, &r.Options, &r.ViewDef); err != nil {
			rows.Close()
			return nil, err
		}
		out[ref{r.Schema, r.Name}] = r
		byOID[r.OID] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(byOID) == 0 {
		return out, nil
	}
	oids := make([]uint32, 0, len(byOID))
	for o := range byOID {
		oids = append(oids, o)
	}
	rows, err = q.Query(ctx, `
		SELECT a.attrelid, a.attname::text, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
		FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
		WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attrelid, a.attnum`, oids)
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	for rows.Next() {
		var rel, typ uint32
		var name string
		if err := rows.Scan(&rel, &name, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		r := byOID[rel]
		r.Columns = append(r.Columns, pgsql.Column{Name: name, Kind: pgsql.KindOfType(typ)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `
		SELECT c.oid, CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END, a.privilege_type
		FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) AS a
		WHERE c.oid = ANY ($1::oid[]) AND a.grantee <> c.relowner`, oids)
	if err != nil {
		return nil, fmt.Errorf("read privileges: %w", err)
	}
	for rows.Next() {
		var rel uint32
		var grantee, priv string
		if err := rows.Scan(&rel, &grantee, &priv); err != nil {
			rows.Close()
			return nil, err
		}
		byOID[rel].ACL.add(grantee, priv)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Column privileges read the columns as surely as table privileges do.
	rows, err = q.Query(ctx, `
		SELECT a.attrelid, a.attnum, a.attname::text, CASE WHEN x.grantee = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(x.grantee)::text END, x.privilege_type
		FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid, pg_catalog.aclexplode(a.attacl) AS x
		WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped AND x.grantee <> c.relowner
		ORDER BY 1, 2, 3, 4`, oids)
	if err != nil {
		return nil, fmt.Errorf("read column privileges: %w", err)
	}
	for rows.Next() {
		var rel uint32
		var num int16
		var col, grantee, priv string
		if err := rows.Scan(&rel, &num, &col, &grantee, &priv); err != nil {
			rows.Close()
			return nil, err
		}
		r := byOID[rel]
		r.ColACL.add(grantee, priv)
		r.Cols.add(grantee, priv, col)
		if grantee == "public" {
			r.PublicCols = append(r.PublicCols, fmt.Sprintf("%s:%d", priv, num))
		}
	}
	rows.Close()
	return out, rows.Err()
}

// descendants reads the partitions and inheritance children, at any depth,
// of the given tables, by table.
func descendants(ctx context.Context, q querier, roots []uint32) (map[uint32][]*relation, error) {
	out := map[uint32][]*relation{}
	if len(roots) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `
		WITH RECURSIVE d(root, child) AS (
			SELECT i.inhparent, i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = ANY ($1::oid[])
			UNION
			SELECT d.root, i.inhrelid FROM pg_catalog.pg_inherits i JOIN d ON i.inhparent = d.child)
		SELECT d.root, n.nspname::text, c.relname::text
		FROM d JOIN pg_catalog.pg_class c ON c.oid = d.child JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		ORDER BY 1, 2, 3`, roots)
	if err != nil {
		return nil, fmt.Errorf("read partitions and child tables: %w", err)
	}
	type child struct {
		root uint32
		ref  ref
	}
	var children []child
	var refs []ref
	for rows.Next() {
		var c child
		if err := rows.Scan(&c.root, &c.ref.Schema, &c.ref.Name); err != nil {
			rows.Close()
			return nil, err
		}
		children = append(children, c)
		refs = append(refs, c.ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rels, err := relations(ctx, q, refs)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		if r := rels[c.ref]; r != nil {
			out[c.root] = append(out[c.root], r)
		}
	}
	return out, nil
}

// rlsPolicy is one of custos's row-level security policies on a table.
type rlsPolicy struct {
	Table      uint32
	Name       string
	Permissive bool
	Command    string // r (SELECT), * (ALL), ...
	Roles      []string
	Using      string // md5 of the USING expression as the server prints it
	Check      string // md5 of the WITH CHECK expression
}

func policies(ctx context.Context, q querier, tables []uint32) (map[uint32]map[string]*rlsPolicy, error) {
	out := map[uint32]map[string]*rlsPolicy{}
	if len(tables) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `
		SELECT p.polrelid, p.polname::text, p.polpermissive, p.polcmd::text,
		       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text END FROM pg_catalog.unnest(p.polroles) AS r ORDER BY 1),
		       pg_catalog.md5(COALESCE(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '')),
		       pg_catalog.md5(COALESCE(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), ''))
		FROM pg_catalog.pg_policy p
		WHERE p.polrelid = ANY ($1::oid[]) AND (p.polname = ANY ($2::text[]) OR pg_catalog.starts_with(p.polname, $3))`,
		tables, []string{pgsql.PolicyRowFilter, pgsql.PolicyViewAccess, pgsql.PolicyOthers}, pgsql.PolicyWriterPrefix)
	if err != nil {
		return nil, fmt.Errorf("read row security policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &rlsPolicy{}
		if err := rows.Scan(&p.Table, &p.Name, &p.Permissive, &p.Command, &p.Roles, &p.Using, &p.Check); err != nil {
			return nil, err
		}
		if out[p.Table] == nil {
			out[p.Table] = map[string]*rlsPolicy{}
		}
		out[p.Table][p.Name] = p
	}
	return out, rows.Err()
}

// state is what custos recorded in the system tables.
type state struct {
	views  map[int64]*viewState   // by data source
	tables map[uint32]*tableState // by table oid
	grants map[grantKey]bool
}

type viewState struct {
	DataSourceID int64
	TableOID     uint32
	ViewOID      uint32
	Schema, Name string
	Rendered     string
	ViewDef      string
	FilterDef    *string
}

type tableState struct {
	OID        uint32
	RLSEnabled bool
	PublicACL  []string
}

// grantKey is a privilege custos granted on an object it does not own.
type grantKey struct {
	Kind      string // table or schema
	OID       uint32
	Grantee   string
	Privilege string
}

func readState(ctx context.Context, q querier, sys pgsql.System) (*state, error) {
	st := &state{views: map[int64]*viewState{}, tables: map[uint32]*tableState{}, grants: map[grantKey]bool{}}
	rows, err := q.Query(ctx, `SELECT data_source_id, table_oid, view_oid, view_schema::text, view_name::text, rendered, view_def, filter_def FROM `+sys.Table("views"))
	if err != nil {
		return nil, fmt.Errorf("read custos's views: %w", err)
	}
	for rows.Next() {
		v := &viewState{}
		if err := rows.Scan(&v.DataSourceID, &v.TableOID, &v.ViewOID, &v.Schema, &v.Name, &v.Rendered, &v.ViewDef, &v.FilterDef); err != nil {
			rows.Close()
			return nil, err
		}
		st.views[v.DataSourceID] = v
	}
	rows.Close()
	rows, err = q.Query(ctx, `SELECT table_oid, rls_enabled, public_acl FROM `+sys.Table("tables"))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		t := &tableState{}
		if err := rows.Scan(&t.OID, &t.RLSEnabled, &t.PublicACL); err != nil {
			rows.Close()
			return nil, err
		}
		st.tables[t.OID] = t
	}
	rows.Close()
	rows, err = q.Query(ctx, `SELECT kind, object_oid, grantee::text, privilege FROM `+sys.Table("grants"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g grantKey
		if err := rows.Scan(&g.Kind, &g.OID, &g.Grantee, &g.Privilege); err != nil {
			return nil, err
		}
		st.grants[g] = true
	}
	return st, rows.Err()
}

// sequence is a sequence a governed table's column defaults draw from
// (serial columns, DEFAULT nextval(...)): inserting with the default needs
// USAGE on it. Identity columns need no privilege and are not listed.
type sequence struct {
	OID  uint32
	Name string // qualified and quoted
	ACL  acl    // privileges granted to others than the owner
	// Others are the other tables whose column defaults draw from it.
	Others []uint32
}

// defaultSequences reads the sequences the column defaults of a table use.
func defaultSequences(ctx context.Context, q querier, table uint32) ([]*sequence, error) {
	rows, err := q.Query(ctx, `
		WITH uses AS (
			SELECT DISTINCT ad.adrelid AS tbl, d.refobjid AS seq
			FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attrdef ad ON d.objid = ad.oid
			WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass)
		SELECT s.oid, pg_catalog.format('%I.%I', n.nspname, s.relname),
		       ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END || ':' || a.privilege_type
		             FROM pg_catalog.aclexplode(s.relacl) AS a WHERE a.grantee <> s.relowner),
		       ARRAY(SELECT o.tbl FROM uses AS o WHERE o.seq = s.oid AND o.tbl <> $1 ORDER BY 1)
		FROM pg_catalog.pg_class s JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace
		WHERE s.relkind = 'S' AND s.oid IN (SELECT u.seq FROM uses AS u WHERE u.tbl = $1)
		ORDER BY 2`, table)
	if err != nil {
		return nil, fmt.Errorf("read the sequences of column defaults: %w", err)
	}
	defer rows.Close()
	var out []*sequence
	for rows.Next() {
		s := &sequence{ACL: acl{}}
		var privs []string
		if err := rows.Scan(&s.OID, &s.Name, &privs, &s.Others); err != nil {
			return nil, err
		}
		for _, p := range privs {
			i := strings.LastIndexByte(p, ':')
			s.ACL.add(p[:i], p[i+1:])
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
