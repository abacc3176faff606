package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custosdata/custos/internal/enforce/pgsql"
)

// orphans removes, in a full reconciliation, the views of data sources that
// custos no longer governs and gives their tables back.
func (rc *run) orphans() error {
	wanted := map[int64]bool{}
	tables := map[uint32]bool{}
	for _, s := range rc.want.Sources {
		wanted[s.DataSourceID] = true
		if t := rc.rels[ref{s.Schema, s.Table}]; t != nil && rc.owners[t.OID] == s.DataSourceID {
			tables[t.OID] = true
		}
	}
	for _, id := range rc.want.Keep {
		wanted[id] = true
	}
	// A data source still governed keeps its table governed, even when it
	// could not be brought up to date (a table renamed under custos): giving
	// the table back would restore what PUBLIC could read there.
	for id := range wanted {
		if v := rc.st.views[id]; v != nil {
			tables[v.TableOID] = true
		}
	}
	// Partitions and child tables of governed tables stay governed.
	var roots []uint32
	for oid := range tables {
		roots = append(roots, oid)
	}
	children, err := descendants(rc.ctx, rc.conn, roots)
	if err != nil {
		return err
	}
	for _, cs := range children {
		for _, c := range cs {
			tables[c.OID] = true
		}
	}
	var ids []int64
	for id := range rc.st.views {
		if !wanted[id] {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		v := rc.st.views[id]
		err := rc.tx(func(tx pgx.Tx) error {
			return dropView(rc.ctx, tx, rc.sys, v, rc.rels[ref{v.Schema, v.Name}], runner(rc.ctx, tx, nil), rc.change)
		})
		if err != nil {
			return fmt.Errorf("remove the view of data source %d: %w", id, err)
		}
		delete(rc.st.views, id)
	}
	if err := rc.emptySchemas(); err != nil {
		return err
	}
	var stale []uint32
	for oid := range rc.st.tables {
		if !tables[oid] {
			stale = append(stale, oid)
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i] < stale[j] })
	for _, oid := range stale {
		ts := rc.st.tables[oid]
		err := rc.tx(func(tx pgx.Tx) error {
			return release(rc.ctx, tx, rc.sys, ts, rc.st.grants, runner(rc.ctx, tx, nil), rc.change)
		})
		if err != nil {
			return fmt.Errorf("give back table %d: %w", oid, err)
		}
		delete(rc.st.tables, oid)
	}
	return nil
}

// schemaGrants revokes, in a full reconciliation, the USAGE custos granted
// on a schema to a writer who no longer writes any of its tables. Schemas
// holding a data source custos could not decide for right now (failed or
// kept) keep theirs.
func (rc *run) schemaGrants() error {
	var held []grantKey
	for g := range rc.st.grants {
		if g.Kind == "schema" {
			held = append(held, g)
		}
	}
	if len(held) == 0 {
		return nil
	}
	sort.Slice(held, func(i, j int) bool {
		if held[i].OID != held[j].OID {
			return held[i].OID < held[j].OID
		}
		return held[i].Grantee < held[j].Grantee
	})
	needed := map[string]bool{} // schema "\x00" role
	unsure := map[string]bool{}
	for _, s := range rc.want.Sources {
		if r := rc.rep.Sources[s.DataSourceID]; r == nil || r.Err != nil {
			unsure[s.Schema] = true
			continue
		}
		for _, w := range rc.writing[s.DataSourceID] {
			needed[s.Schema+"\x00"+w] = true
		}
	}
	var kept, oids []uint32
	for _, id := range rc.want.Keep {
		if v := rc.st.views[id]; v != nil {
			kept = append(kept, v.TableOID)
		}
	}
	for _, g := range held {
		oids = append(oids, g.OID)
	}
	rows, err := rc.conn.Query(rc.ctx, `
		SELECT n.oid, n.nspname::text, EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND c.oid = ANY ($2::oid[]))
		FROM pg_catalog.pg_namespace n WHERE n.oid = ANY ($1::oid[])`, oids, kept)
	if err != nil {
		return err
	}
	names := map[uint32]string{}
	for rows.Next() {
		var oid uint32
		var name string
		var holdsKept bool
		if err := rows.Scan(&oid, &name, &holdsKept); err != nil {
			rows.Close()
			return err
		}
		names[oid] = name
		if holdsKept {
			unsure[name] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, g := range held {
		name, exists := names[g.OID]
		if exists && (unsure[name] || needed[name+"\x00"+g.Grantee]) {
			continue
		}
		err := rc.tx(func(tx pgx.Tx) error {
			if exists {
				stmt := "REVOKE USAGE ON SCHEMA " + quoteOr(name) + " FROM " + quoteOr(g.Grantee)
				if err := revokeIfRole(rc.ctx, tx, stmt, runner(rc.ctx, tx, nil)); err != nil {
					return err
				}
			}
			return exec(rc.ctx, tx, `DELETE FROM `+rc.sys.Table("grants")+` WHERE kind = $1 AND object_oid = $2 AND grantee = $3 AND privilege = $4`,
				g.Kind, g.OID, g.Grantee, g.Privilege)
		})
		if err != nil {
			return fmt.Errorf("revoke USAGE on schema %d from %s: %w", g.OID, g.Grantee, err)
		}
		delete(rc.st.grants, g)
		if exists {
			rc.change("revoked USAGE on schema %s from %s, who writes none of its tables", quoteOr(name), g.Grantee)
		}
	}
	return nil
}

// ddlFunc executes a DDL statement (and records it, for scripts).
type ddlFunc func(stmt string) error

// runner runs statements in tx, appending each to log when log is not nil.
func runner(ctx context.Context, tx pgx.Tx, log *[]string) ddlFunc {
	return func(stmt string) error {
		if err := exec(ctx, tx, stmt); err != nil {
			return err
		}
		if log != nil {
			*log = append(*log, stmt)
		}
		return nil
	}
}

// emptySchemas drops the view schemas custos created that no data source
// uses any more and that hold nothing.
func (rc *run) emptySchemas() error {
	used := map[string]bool{rc.sys.Schema: true}
	for _, s := range rc.want.Sources {
		used[s.ViewSchema] = true
	}
	for _, id := range rc.want.Keep {
		if v := rc.st.views[id]; v != nil {
			used[v.Schema] = true
		}
	}
	rows, err := rc.conn.Query(rc.ctx, `SELECT n.nspname::text FROM pg_catalog.pg_namespace n
		WHERE n.nspowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid)
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid)
		AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid)
		ORDER BY 1`, rc.sys.Role)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		if used[n] {
			continue
		}
		if err := rc.tx(func(tx pgx.Tx) error { return exec(rc.ctx, tx, "DROP SCHEMA "+quoteOr(n)) }); err != nil {
			return fmt.Errorf("drop the empty schema %s: %w", quoteOr(n), err)
		}
		rc.change("dropped the empty schema %s", quoteOr(n))
	}
	return nil
}

// dropView drops a view custos created (if it is still the one it created)
// and forgets it.
func dropView(ctx context.Context, tx pgx.Tx, sys pgsql.System, v *viewState, cur *relation, ddl ddlFunc, change func(string, ...any)) error {
	if cur == nil {
		var oid uint32
		err := tx.QueryRow(ctx, `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2`, v.Schema, v.Name).Scan(&oid)
		if err == nil {
			cur = &relation{OID: oid}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	if cur != nil && cur.OID == v.ViewOID {
		if err := ddl("DROP VIEW " + qualified(v.Schema, v.Name)); err != nil {
			return err
		}
		change("dropped view %s", qualified(v.Schema, v.Name))
	}
	if err := exec(ctx, tx, `DELETE FROM `+sys.Table("views")+` WHERE data_source_id = $1`, v.DataSourceID); err != nil {
		return err
	}
	return exec(ctx, tx, `DELETE FROM `+sys.Table("domains")+` WHERE data_source_id = $1`, v.DataSourceID)
}

// release gives a table back as custos found it: custos's policies dropped,
// row security disabled if custos enabled it, custos's grants revoked and
// PUBLIC's privileges restored.
func release(ctx context.Context, tx pgx.Tx, sys pgsql.System, ts *tableState, grants map[grantKey]bool, ddl ddlFunc, change func(string, ...any)) error {
	var name string
	var rls bool
	err := tx.QueryRow(ctx, `SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relrowsecurity
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`, ts.OID).Scan(&name, &rls)
	if err == nil {
		rows, err := tx.Query(ctx, `SELECT polname::text FROM pg_catalog.pg_policy WHERE polrelid = $1
			AND (polname = ANY ($2::text[]) OR pg_catalog.starts_with(polname, $3)) ORDER BY 1`,
			ts.OID, []string{pgsql.PolicyRowFilter, pgsql.PolicyViewAccess, pgsql.PolicyOthers}, pgsql.PolicyWriterPrefix)
		if err != nil {
			return err
		}
		pols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, p := range pols {
			if err := ddl("DROP POLICY " + quoteOr(p) + " ON " + name); err != nil {
				return err
			}
			change("dropped policy %s on %s", p, name)
		}
		if ts.RLSEnabled && rls {
			if err := ddl("ALTER TABLE " + name + " DISABLE ROW LEVEL SECURITY"); err != nil {
				return err
			}
			change("disabled row level security on %s", name)
		}
		var keys []grantKey
		for g := range grants {
			if (g.Kind == "table" || g.Kind == "column") && g.OID == ts.OID {
				keys = append(keys, g)
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i].Grantee+keys[i].Privilege+keys[i].Kind < keys[j].Grantee+keys[j].Privilege+keys[j].Kind
		})
		for _, g := range keys {
			// Revoking on the table revokes on its columns too; column
			// privileges are recorded as "PRIVILEGE:<columns' fingerprint>".
			priv, _, _ := strings.Cut(g.Privilege, ":")
			if !validPrivilege[priv] {
				return fmt.Errorf("custos's record of its privileges on %s holds %q", name, g.Privilege)
			}
			if err := revokeIfRole(ctx, tx, "REVOKE "+priv+" ON "+name+" FROM "+quoteOr(g.Grantee), ddl); err != nil {
				return err
			}
			change("revoked %s on %s from %s", priv, name, g.Grantee)
		}
		if err := releaseSequences(ctx, tx, sys, ts.OID, grants, ddl, change); err != nil {
			return err
		}
		var table []string
		cols := map[string][]int{}
		var colPrivs []string
		for _, p := range ts.PublicACL {
			priv, num, onColumn := strings.Cut(p, ":")
			n, err := strconv.Atoi(num)
			if !validPrivilege[priv] || onColumn && (err != nil || n <= 0) {
				return fmt.Errorf("custos's record of PUBLIC's privileges on %s holds %q", name, p)
			}
			if !onColumn {
				table = append(table, priv)
				continue
			}
			if cols[priv] == nil {
				colPrivs = append(colPrivs, priv)
			}
			cols[priv] = append(cols[priv], n)
		}
		if len(table) > 0 {
			if err := ddl("GRANT " + joinPrivs(table) + " ON " + name + " TO PUBLIC"); err != nil {
				return err
			}
			change("restored PUBLIC's privileges on %s", name)
		}
		for _, priv := range colPrivs {
			// Columns dropped since are left out.
			var names []string
			if err := tx.QueryRow(ctx, `SELECT COALESCE(pg_catalog.array_agg(pg_catalog.quote_ident(attname) ORDER BY attnum), '{}')
				FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = ANY ($2::int2[]) AND NOT attisdropped`, ts.OID, cols[priv]).Scan(&names); err != nil {
				return err
			}
			if len(names) == 0 {
				continue
			}
			if err := ddl("GRANT " + priv + " (" + strings.Join(names, ", ") + ") ON " + name + " TO PUBLIC"); err != nil {
				return err
			}
			change("restored PUBLIC's %s on columns of %s", priv, name)
		}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := exec(ctx, tx, `DELETE FROM `+sys.Table("grants")+` WHERE kind IN ('table', 'column', 'policy') AND object_oid = $1`, ts.OID); err != nil {
		return err
	}
	for g := range grants {
		if (g.Kind == "table" || g.Kind == "column" || g.Kind == "policy") && g.OID == ts.OID {
			delete(grants, g)
		}
	}
	return exec(ctx, tx, `DELETE FROM `+sys.Table("tables")+` WHERE table_oid = $1`, ts.OID)
}

// releaseSequences revokes the USAGE custos granted on the sequences a
// table's column defaults draw from, except from roles that may still
// insert into another table whose defaults draw from the same sequence.
func releaseSequences(ctx context.Context, tx pgx.Tx, sys pgsql.System, table uint32, grants map[grantKey]bool, ddl ddlFunc, change func(string, ...any)) error {
	seqs, err := defaultSequences(ctx, tx, table)
	if err != nil {
		return err
	}
	for _, sq := range seqs {
		var keys []grantKey
		for g := range grants {
			if g.Kind == "sequence" && g.OID == sq.OID {
				keys = append(keys, g)
			}
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].Grantee < keys[j].Grantee })
		for _, k := range keys {
			var elsewhere bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r, pg_catalog.unnest($2::oid[]) AS t
				WHERE r.rolname = $1 AND pg_catalog.has_any_column_privilege(r.oid, t, 'INSERT'))`, k.Grantee, sq.Others).Scan(&elsewhere); err != nil {
				return err
			}
			if elsewhere {
				continue
			}
			if err := revokeIfRole(ctx, tx, "REVOKE USAGE ON SEQUENCE "+sq.Name+" FROM "+quoteOr(k.Grantee), ddl); err != nil {
				return err
			}
			if err := exec(ctx, tx, `DELETE FROM `+sys.Table("grants")+` WHERE kind = $1 AND object_oid = $2 AND grantee = $3 AND privilege = $4`,
				k.Kind, k.OID, k.Grantee, k.Privilege); err != nil {
				return err
			}
			delete(grants, k)
			change("revoked USAGE on sequence %s from %s", sq.Name, k.Grantee)
		}
	}
	return nil
}

var validPrivilege = map[string]bool{"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "TRUNCATE": true,
	"REFERENCES": true, "TRIGGER": true, "USAGE": true}

func joinPrivs(ps []string) string {
	out := ""
	for i, p := range ps {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// revokeIfRole runs a REVOKE, ignoring a grantee role that no longer exists.
func revokeIfRole(ctx context.Context, tx pgx.Tx, stmt string, ddl ddlFunc) error {
	if _, err := tx.Exec(ctx, "SAVEPOINT custos_revoke"); err != nil {
		return err
	}
	if err := ddl(stmt); err != nil {
		var se *SQLError
		if errors.As(err, &se) && se.Code == "42704" { // undefined_object: the role is gone
			_, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT custos_revoke")
			return rerr
		}
		return err
	}
	_, err := tx.Exec(ctx, "RELEASE SAVEPOINT custos_revoke")
	return err
}

// TeardownOptions tune Teardown.
type TeardownOptions struct {
	Database string // the governed database, to reset pgaudit's setting
	// DryRun rolls everything back: the statements returned are a script.
	DryRun bool
}

// Teardown removes everything custos created in the database, in one
// transaction: its views and empty view schemas, row security policies and
// grants on governed tables (PUBLIC's privileges restored), the system
// schema, the audit setting and the custos roles. It returns the statements
// it ran; with DryRun it rolls them back, which makes them a script.
func Teardown(ctx context.Context, d *Database, sys pgsql.System, o TeardownOptions) ([]string, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, connectError(err, d.cfg)
	}
	defer conn.Release()
	unlock, err := lock(ctx, conn, sys)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var stmts []string
	change := func(string, ...any) {}
	st, err := d.System(ctx, sys)
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	ddl := runner(ctx, tx, &stmts)
	if st.SchemaExists && st.SchemaOwnedBy == sys.Role {
		cur, err := readState(ctx, tx, sys)
		if err != nil {
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
				return nil, err
			}
			cur = &state{views: map[int64]*viewState{}, tables: map[uint32]*tableState{}, grants: map[grantKey]bool{}}
		}
		for _, v := range cur.views {
			if err := dropView(ctx, tx, sys, v, nil, ddl, change); err != nil {
				return nil, err
			}
		}
		for _, ts := range cur.tables {
			if err := release(ctx, tx, sys, ts, cur.grants, ddl, change); err != nil {
				return nil, err
			}
		}
		for g := range cur.grants {
			if g.Kind != "sequence" {
				continue
			}
			var name string
			if err := tx.QueryRow(ctx, `SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
				JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`, g.OID).Scan(&name); err != nil {
				continue
			}
			if err := revokeIfRole(ctx, tx, "REVOKE "+g.Privilege+" ON SEQUENCE "+name+" FROM "+quoteOr(g.Grantee), ddl); err != nil {
				return nil, err
			}
		}
		for g := range cur.grants {
			if g.Kind != "schema" {
				continue
			}
			var name string
			if err := tx.QueryRow(ctx, `SELECT pg_catalog.quote_ident(nspname) FROM pg_catalog.pg_namespace WHERE oid = $1`, g.OID).Scan(&name); err != nil {
				continue
			}
			if err := revokeIfRole(ctx, tx, "REVOKE USAGE ON SCHEMA "+name+" FROM "+quoteOr(g.Grantee), ddl); err != nil {
				return nil, err
			}
		}
		// View schemas custos created, once empty.
		rows, err := tx.Query(ctx, `SELECT n.nspname::text, EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid)
			FROM pg_catalog.pg_namespace n WHERE n.nspowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AND n.nspname <> $2
			ORDER BY 1`, sys.Role, sys.Schema)
		if err != nil {
			return nil, err
		}
		type nsp struct {
			name     string
			nonEmpty bool
		}
		var schemas []nsp
		for rows.Next() {
			var n nsp
			if err := rows.Scan(&n.name, &n.nonEmpty); err != nil {
				rows.Close()
				return nil, err
			}
			schemas = append(schemas, n)
		}
		rows.Close()
		for _, n := range schemas {
			if n.nonEmpty {
				// It holds objects custos did not create: keep it, for its owner to decide.
				if err := ddl("ALTER SCHEMA " + quoteOr(n.name) + " OWNER TO CURRENT_USER"); err != nil {
					return nil, err
				}
				continue
			}
			if err := ddl("DROP SCHEMA " + quoteOr(n.name)); err != nil {
				return nil, err
			}
		}
		if err := ddl("DROP SCHEMA " + quoteOr(sys.Schema) + " CASCADE"); err != nil {
			return nil, err
		}
	}
	if sys.AuditRole != "" && o.Database != "" {
		if err := ddl("ALTER DATABASE " + quoteOr(o.Database) + " RESET pgaudit.role"); err != nil {
			return nil, err
		}
	}
	for _, role := range []string{sys.AuditRole, sys.Role} {
		if role == "" {
			continue
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			continue
		}
		if err := ddl("DROP OWNED BY " + quoteOr(role)); err != nil {
			return nil, err
		}
		if err := ddl("DROP ROLE " + quoteOr(role)); err != nil {
			return nil, err
		}
	}
	if o.DryRun {
		return stmts, nil
	}
	return stmts, tx.Commit(ctx)
}

// EnableAudit creates the audit role and points pgaudit at it; custos's next
// reconciliation grants it what it must log.
func EnableAudit(ctx context.Context, d *Database, sys pgsql.System, database string) error {
	stmts, err := pgsql.AuditSetup(sys, database)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, sys.AuditRole).Scan(&exists); err != nil {
			return err
		}
		for i, st := range stmts {
			if i == 0 && exists {
				continue
			}
			if err := exec(ctx, tx, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// DisableAudit undoes EnableAudit.
func DisableAudit(ctx context.Context, d *Database, sys pgsql.System, database string) error {
	if sys.AuditRole == "" {
		return nil
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if err := exec(ctx, tx, "ALTER DATABASE "+quoteOr(database)+" RESET pgaudit.role"); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, sys.AuditRole).Scan(&exists); err != nil || !exists {
			return err
		}
		if err := exec(ctx, tx, "DROP OWNED BY "+quoteOr(sys.AuditRole)); err != nil {
			return err
		}
		return exec(ctx, tx, "DROP ROLE "+quoteOr(sys.AuditRole))
	})
}
