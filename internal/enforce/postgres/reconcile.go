package postgres

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custosdata/custos/internal/enforce/pgsql"
	"github.com/custosdata/custos/internal/policy"
)

// Desired is what custos decided for one governed database.
type Desired struct {
	// Sources are the data sources to bring up to date. With Full they are
	// every data source the integration governs: views of others are
	// removed and the system functions are checked too.
	Sources []Source
	Full    bool
	// Keep are data sources whose objects stay as they are: neither
	// updated nor, in a full reconciliation, removed (custos cannot decide
	// for them right now).
	Keep []int64
	// Entitlements are the rows of every role custos maps a user to; the
	// table is made equal to them.
	Entitlements []Entitlement
	// Roles are every role custos maps a user to: on governed tables they
	// get exactly the privileges custos decides (none, or WRITE's).
	Roles []string
}

// Source is one data source as custos wants it in the database.
type Source struct {
	DataSourceID int64
	Schema       string // the governed relation
	Table        string
	ViewSchema   string // the policy-enforced view
	ViewName     string
	// Columns are the data source's columns, in order; the view exposes
	// those the relation has.
	Columns []string
	Plan    *policy.Plan
	// Readers get SELECT on the view; Writers also INSERT, UPDATE and
	// DELETE on the relation.
	Readers []string
	Writers []string
}

// Entitlement is what the policy engine evaluates the user behind a role with.
type Entitlement struct {
	Role       string
	UserID     int64
	Username   string
	IAM        string
	Groups     []string
	Attributes map[string][]string
	// OwnGroups and OwnAttributes are the user's own groups and attribute
	// values when an equalized project limits Groups and Attributes; nil
	// for both means no limit (the same as Groups and Attributes).
	OwnGroups     []string
	OwnAttributes map[string][]string
	Purposes      []string
}

// Report says what Reconcile found and did.
type Report struct {
	Sources map[int64]*SourceReport
	// Changes lists every change made, in order; empty when the database
	// already held what custos decided.
	Changes []string
	// Drift lists what was found changed by hand (and repaired).
	Drift []string
}

// SourceReport is the outcome for one data source.
type SourceReport struct {
	View     string // qualified name of the view
	Err      error  // nil when the data source is enforced
	Warnings []string
	// Closed are the rules enforced closed (their users see no row, or the
	// column as NULL): those the plan closed, those that could not be
	// rendered, and masks whose pattern PostgreSQL refused.
	Closed []policy.ClosedRule
}

// Reconcile makes the database hold what custos decided: entitlements, one
// view per data source, row filters, grants. It compares with what is there
// first and changes only what differs, so running it twice changes nothing;
// objects changed or dropped by hand are put back. One custos server at a
// time reconciles a database (an advisory lock). A data source that fails
// is reported and does not stop the others.
func Reconcile(ctx context.Context, d *Database, sys pgsql.System, want Desired) (*Report, error) {
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
	rc := &run{ctx: ctx, db: d, conn: conn, sys: sys, want: want, rep: &Report{Sources: map[int64]*SourceReport{}}}
	if err := rc.checkSystem(); err != nil {
		return rc.rep, err
	}
	if want.Full {
		if err := rc.repairFunctions(); err != nil {
			return rc.rep, err
		}
	}
	if err := rc.entitlements(); err != nil {
		return rc.rep, err
	}
	if err := rc.load(); err != nil {
		return rc.rep, err
	}
	for _, s := range want.Sources {
		rc.rep.Sources[s.DataSourceID] = rc.source(s)
	}
	if want.Full {
		if err := rc.orphans(); err != nil {
			return rc.rep, err
		}
		if err := rc.schemaGrants(); err != nil {
			return rc.rep, err
		}
	}
	return rc.rep, nil
}

// lock takes the database's enforcement lock on conn, waiting for another
// server to finish: however long that takes, so without the session's
// lock_timeout (meant for the DDL on busy tables).
func lock(ctx context.Context, conn *pgxpool.Conn, sys pgsql.System) (func(), error) {
	key := "custos enforcement " + sys.Schema
	if _, err := conn.Exec(ctx, `SET lock_timeout = 0`); err != nil {
		return nil, fmt.Errorf("take the enforcement lock: %w", err)
	}
	_, err := conn.Exec(ctx, `SELECT pg_catalog.pg_advisory_lock(pg_catalog.hashtextextended($1, 0))`, key)
	if _, rerr := conn.Exec(context.WithoutCancel(ctx), `RESET lock_timeout`); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("take the enforcement lock: %w", err)
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended($1, 0))`, key)
	}, nil
}

// run is one reconciliation.
type run struct {
	ctx  context.Context
	db   *Database
	conn *pgxpool.Conn
	sys  pgsql.System
	want Desired
	rep  *Report

	st   *state
	rels map[ref]*relation
	pols map[uint32]map[string]*rlsPolicy
	// children are the partitions and inheritance children of governed
	// tables, by table.
	children map[uint32][]*relation
	schemas  map[string]bool // view schemas known to exist as custos's
	owners   map[uint32]int64
	roles    map[string]bool // roles custos manages on governed tables
}

func (rc *run) change(format string, args ...any) {
	rc.rep.Changes = append(rc.rep.Changes, fmt.Sprintf(format, args...))
}

func (rc *run) drift(format string, args ...any) {
	rc.rep.Drift = append(rc.rep.Drift, fmt.Sprintf(format, args...))
}

// ErrNotSetUp reports that custos's system objects are missing.
var ErrNotSetUp = errors.New("custos's system objects are missing")

func (rc *run) checkSystem() error {
	var v string
	err := rc.conn.QueryRow(rc.ctx, `SELECT value FROM `+rc.sys.Table("meta")+` WHERE key = 'version'`).Scan(&v)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") {
			return fmt.Errorf("%w: schema %q has no custos tables; set the integration up again", ErrNotSetUp, rc.sys.Schema)
		}
		return fmt.Errorf("read custos's version: %w", err)
	}
	if v == pgsql.Version {
		return nil
	}
	if !pgsql.Upgradable(v) {
		return fmt.Errorf("%w: schema %q holds version %q, this custos needs %q", ErrNotSetUp, rc.sys.Schema, v, pgsql.Version)
	}
	return rc.upgrade(v)
}

// upgrade brings custos's system objects from version v to this custos's, in
// one transaction; the views are then re-rendered like any that changed.
func (rc *run) upgrade(v string) error {
	stmts, err := pgsql.Upgrade(rc.sys, v)
	if err != nil {
		return err
	}
	err = rc.tx(func(tx pgx.Tx) error {
		for _, st := range stmts {
			if err := exec(rc.ctx, tx, st); err != nil {
				return err
			}
		}
		return recordFunctions(rc.ctx, tx, rc.sys)
	})
	if err != nil {
		return fmt.Errorf("upgrade custos's system objects in %q from version %q to %q: %w", rc.sys.Schema, v, pgsql.Version, err)
	}
	rc.change("upgraded custos's system objects in %q from version %s to %s", rc.sys.Schema, v, pgsql.Version)
	return nil
}

// repairFunctions recreates custos's functions when their definitions (or
// privileges) are not those custos recorded.
func (rc *run) repairFunctions() error {
	var now, recorded string
	if err := rc.conn.QueryRow(rc.ctx, functionsFingerprint, rc.sys.Schema, pgsql.FunctionNames).Scan(&now); err != nil {
		now = ""
	}
	_ = rc.conn.QueryRow(rc.ctx, `SELECT value FROM `+rc.sys.Table("meta")+` WHERE key = 'functions'`).Scan(&recorded)
	if now != "" && now == recorded {
		return nil
	}
	err := pgx.BeginFunc(rc.ctx, rc.conn, func(tx pgx.Tx) error {
		for _, st := range pgsql.Functions(rc.sys) {
			if _, err := tx.Exec(rc.ctx, st); err != nil {
				return statementError(err, st)
			}
		}
		return recordFunctions(rc.ctx, tx, rc.sys)
	})
	if err != nil {
		return fmt.Errorf("repair custos's functions: %w", err)
	}
	rc.drift("custos's functions in %q were changed by hand", rc.sys.Schema)
	rc.change("restored custos's functions in %q", rc.sys.Schema)
	return nil
}

// load reads the catalog and custos's records for the data sources at hand.
func (rc *run) load() error {
	st, err := readState(rc.ctx, rc.conn, rc.sys)
	if err != nil {
		return err
	}
	rc.st = st
	var refs []ref
	for _, s := range rc.want.Sources {
		refs = append(refs, ref{s.Schema, s.Table}, ref{s.ViewSchema, s.ViewName})
	}
	for _, v := range st.views {
		refs = append(refs, ref{v.Schema, v.Name})
	}
	if rc.rels, err = relations(rc.ctx, rc.conn, refs); err != nil {
		return err
	}
	var tables []uint32
	for _, s := range rc.want.Sources {
		if t := rc.rels[ref{s.Schema, s.Table}]; t != nil {
			tables = append(tables, t.OID)
		}
	}
	if rc.pols, err = policies(rc.ctx, rc.conn, tables); err != nil {
		return err
	}
	if rc.children, err = descendants(rc.ctx, rc.conn, tables); err != nil {
		return err
	}
	rc.schemas = map[string]bool{}
	rc.owners = map[uint32]int64{}
	// A table is governed by the data source that has it in custos's
	// records, else by the lowest data source id asking for it.
	for _, v := range st.views {
		rc.owners[v.TableOID] = v.DataSourceID
	}
	srcs := append([]Source(nil), rc.want.Sources...)
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].DataSourceID < srcs[j].DataSourceID })
	for _, s := range srcs {
		if t := rc.rels[ref{s.Schema, s.Table}]; t != nil {
			if _, taken := rc.owners[t.OID]; !taken {
				rc.owners[t.OID] = s.DataSourceID
			}
		}
	}
	rc.roles = map[string]bool{}
	for _, r := range rc.want.Roles {
		rc.roles[r] = true
	}
	return nil
}

// tx runs fn in a transaction on the reconciliation's connection.
func (rc *run) tx(fn func(tx pgx.Tx) error) error { return pgx.BeginFunc(rc.ctx, rc.conn, fn) }

// exec runs one statement, recording it as a change.
func exec(ctx context.Context, tx pgx.Tx, stmt string, args ...any) error {
	if _, err := tx.Exec(ctx, stmt, args...); err != nil {
		return statementError(err, stmt)
	}
	return nil
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func qualified(schema, name string) string { return quoteOr(schema) + "." + quoteOr(name) }

func barrier(options []string) bool {
	for _, o := range options {
		if o == "security_barrier=true" || o == "security_barrier=on" {
			return true
		}
	}
	return false
}

// source brings one data source up to date in one transaction.
func (rc *run) source(s Source) *SourceReport {
	rep := &SourceReport{View: qualified(s.ViewSchema, s.ViewName)}
	fail := func(format string, args ...any) *SourceReport {
		rep.Err = fmt.Errorf(format, args...)
		// What custos decided could not be put in place: the view it made
		// earlier would keep showing the data under the old decisions, to
		// the old readers. Nobody reads it until the cause is fixed.
		if closed, err := rc.closeView(s.DataSourceID); err != nil {
			rep.Err = fmt.Errorf("%v; revoking access to its view failed too: %v", rep.Err, err)
		} else if closed != "" {
			rep.Err = fmt.Errorf("%v; nobody may read %s until this is fixed", rep.Err, closed)
		}
		return rep
	}
	tbl := rc.rels[ref{s.Schema, s.Table}]
	if tbl == nil {
		return fail("%s does not exist in database %q", qualified(s.Schema, s.Table), rc.conn.Conn().Config().Database)
	}
	switch tbl.Kind {
	case "r", "p", "v", "m", "f":
	default:
		return fail("%s is not a table or view", qualified(s.Schema, s.Table))
	}
	if owner := rc.owners[tbl.OID]; owner != s.DataSourceID {
		return fail("data source %d already governs %s; one view per table", owner, qualified(s.Schema, s.Table))
	}
	if s.ViewSchema == s.Schema {
		return fail("the view would replace the table: config.viewSchemaFormat must give another schema than %q", s.Schema)
	}
	if s.ViewSchema == rc.sys.Schema {
		// Everybody may use a view schema; nobody may use the system schema.
		return fail("the view would go into custos's system schema %q: change config.viewSchemaFormat or config.systemSchema", s.ViewSchema)
	}
	src := pgsql.Source{DataSourceID: s.DataSourceID, Schema: s.Schema, Table: s.Table,
		RowsInView: tbl.Kind != "r" && tbl.Kind != "p", HasCTID: tbl.Kind == "r" || tbl.Kind == "p" || tbl.Kind == "m"}
	have := map[string]pgsql.Column{}
	for _, c := range tbl.Columns {
		have[c.Name] = c
	}
	for _, name := range s.Columns {
		c, ok := have[name]
		if !ok {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("column %q is in the data source but not in %s; it is not exposed", name, qualified(s.Schema, s.Table)))
			continue
		}
		src.Columns = append(src.Columns, c)
	}
	if len(src.Columns) == 0 {
		return fail("none of the data source's columns exist in %s", qualified(s.Schema, s.Table))
	}
	tgt := pgsql.Target{Schema: s.ViewSchema, Name: s.ViewName}
	r, err := pgsql.Render(rc.sys, src, tgt, s.Plan)
	if err != nil {
		return fail("cannot render the policies: %v", err)
	}
	if broken := rc.probe(r.Probes); len(broken) > 0 {
		if r, err = pgsql.RenderWith(rc.sys, src, tgt, s.Plan, pgsql.Options{Broken: broken}); err != nil {
			return fail("cannot render the policies: %v", err)
		}
	}
	rep.Warnings = append(rep.Warnings, r.Warnings...)
	rep.Closed = r.Closed
	domains := rc.readDomains(s, tbl, src, r, rep)

	var changes, drift []string
	var newState *viewState
	var newTable *tableState
	var newChildren []*tableState
	var grantsAdded, grantsRemoved []grantKey
	err = rc.tx(func(tx pgx.Tx) error {
		changes, drift, newState, newTable, newChildren, grantsAdded, grantsRemoved = nil, nil, nil, nil, nil, nil, nil
		w := &srcTx{rc: rc, tx: tx, s: s, tbl: tbl, r: r, src: src, read: domains,
			change: func(f string, a ...any) { changes = append(changes, fmt.Sprintf(f, a...)) },
			drift:  func(f string, a ...any) { drift = append(drift, fmt.Sprintf(f, a...)) }}
		if err := w.run(); err != nil {
			return err
		}
		newState, newTable, newChildren, grantsAdded, grantsRemoved = w.view, w.table, w.children, w.added, w.removed
		return nil
	})
	if err != nil {
		return fail("%v", err)
	}
	rc.rep.Changes = append(rc.rep.Changes, changes...)
	rc.rep.Drift = append(rc.rep.Drift, drift...)
	rc.st.views[s.DataSourceID] = newState
	rc.st.tables[newTable.OID] = newTable
	for _, c := range newChildren {
		rc.st.tables[c.OID] = c
	}
	for _, g := range grantsAdded {
		rc.st.grants[g] = true
	}
	for _, g := range grantsRemoved {
		delete(rc.st.grants, g)
	}
	rep.Warnings = append(rep.Warnings, rc.leaks(s, tbl)...)
	for _, c := range rc.children[tbl.OID] {
		if _, governed := rc.owners[c.OID]; !governed {
			rep.Warnings = append(rep.Warnings, rc.leaks(s, c)...)
		}
	}
	return rep
}

// probe evaluates what the view's masks need PostgreSQL to accept (the
// patterns of Regular Expression masks, compiled only when a query first
// runs them) and returns those it refuses, by probe key, with the reason:
// they are rendered closed rather than fail every query of the view. The
// expressions are custos's own over constants; nothing of a user runs.
func (rc *run) probe(probes []pgsql.Probe) map[string]string {
	broken := map[string]string{}
	for _, p := range probes {
		var discard *string
		if err := rc.conn.QueryRow(rc.ctx, `SELECT (`+p.SQL+`)::pg_catalog.text`).Scan(&discard); err != nil {
			msg := err.Error()
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				msg = pgErr.Message
			}
			broken[p.Key()] = fmt.Sprintf("PostgreSQL refuses the %s mask on column %q: %s, so it is shown as NULL", policy.MaskRegex, p.Column, msg)
		}
	}
	return broken
}

// closeView revokes every privilege on the view custos made for a data
// source, if it still exists, and returns its name ("" when there was none).
func (rc *run) closeView(id int64) (string, error) {
	vs := rc.st.views[id]
	if vs == nil {
		return "", nil
	}
	var name string
	var grantees []string
	err := rc.tx(func(tx pgx.Tx) error {
		name, grantees = "", nil
		rows, err := tx.Query(rc.ctx, `
			SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),
			       CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_catalog.aclexplode(c.relacl) AS a ON a.grantee <> c.relowner
			WHERE c.oid = $1 AND c.relkind = 'v'`, vs.ViewOID)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for rows.Next() {
			var g *string
			if err := rows.Scan(&name, &g); err != nil {
				rows.Close()
				return err
			}
			if g != nil && !seen[*g] {
				seen[*g] = true
				grantees = append(grantees, *g)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		sort.Strings(grantees)
		for _, g := range grantees {
			if err := exec(rc.ctx, tx, "REVOKE ALL ON "+name+" FROM "+grantee(g)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(grantees) == 0 {
		return "", err
	}
	rc.change("revoked every privilege on %s from %s", name, strings.Join(grantees, ", "))
	return name, nil
}

// leaks warns about roles custos maps users to that can still read the
// relation itself, through something custos does not manage.
func (rc *run) leaks(s Source, tbl *relation) []string {
	var roles []string
	for r := range rc.roles {
		roles = append(roles, r)
	}
	if len(roles) == 0 {
		return nil
	}
	sort.Strings(roles)
	rows, err := rc.conn.Query(rc.ctx, `
		SELECT r FROM pg_catalog.unnest($1::text[]) AS r
		WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) AND pg_catalog.has_any_column_privilege(r, $2::oid, 'SELECT')`, roles, tbl.OID)
	if err != nil {
		return []string{fmt.Sprintf("could not check who reads %s directly: %v", qualified(tbl.Schema, tbl.Name), err)}
	}
	leaky, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	var out []string
	for _, r := range leaky {
		out = append(out, fmt.Sprintf("role %q can read %s directly (superuser, owner, or a member of a role with SELECT): custos cannot mask or filter what it reads there", r, qualified(tbl.Schema, tbl.Name)))
	}
	return out
}

// srcTx is the work on one data source inside its transaction.
type srcTx struct {
	rc     *run
	tx     pgx.Tx
	s      Source
	tbl    *relation
	r      *pgsql.Rendered
	src    pgsql.Source
	read   map[string]*valueDomain // value domains read for it, by column
	change func(string, ...any)
	drift  func(string, ...any)

	children       []*tableState // partitions and child tables custos started governing
	prev           *viewState    // custos's record before this transaction
	view           *viewState
	table          *tableState
	onboarded      bool // custos started governing the table in this transaction
	added, removed []grantKey
}

func (w *srcTx) exec(stmt string, args ...any) error { return exec(w.rc.ctx, w.tx, stmt, args...) }

func (w *srcTx) run() error {
	w.prev = w.rc.st.views[w.s.DataSourceID]
	if err := w.schema(); err != nil {
		return err
	}
	if err := w.onboard(); err != nil {
		return err
	}
	if err := w.viewDDL(); err != nil {
		return err
	}
	if !w.src.RowsInView {
		if err := w.rowSecurity(); err != nil {
			return err
		}
	}
	if err := w.viewGrants(); err != nil {
		return err
	}
	if err := w.tableGrants(); err != nil {
		return err
	}
	if err := w.closeChildren(); err != nil {
		return err
	}
	return w.domains()
}

// closeChildren takes from PUBLIC and from the roles custos manages every
// privilege on the table's partitions and inheritance children (and what
// custos granted there, when a child was a data source of its own): read
// directly, they show the rows past the view and the row filter. Writers
// write through the table itself. Children governed by a data source of
// their own are left to it.
func (w *srcTx) closeChildren() error {
	rc := w.rc
	managed := map[string]bool{"public": true}
	for r := range rc.roles {
		managed[r] = true
	}
	for _, r := range append(append([]string{}, w.s.Readers...), w.s.Writers...) {
		managed[r] = true
	}
	for _, c := range rc.children[w.tbl.OID] {
		if _, governed := rc.owners[c.OID]; governed {
			continue
		}
		name := qualified(c.Schema, c.Name)
		onboarded := false
		if rc.st.tables[c.OID] == nil {
			ts := &tableState{OID: c.OID, PublicACL: append(c.ACL.privileges("public"), c.PublicCols...)}
			if ts.PublicACL == nil {
				ts.PublicACL = []string{}
			}
			if err := w.exec(`INSERT INTO `+rc.sys.Table("tables")+` (table_oid, rls_enabled, public_acl) VALUES ($1, false, $2)
				ON CONFLICT (table_oid) DO NOTHING`, ts.OID, ts.PublicACL); err != nil {
				return err
			}
			w.children = append(w.children, ts)
			onboarded = true
			w.change("started governing %s, part of %s", name, qualified(w.s.Schema, w.s.Table))
		}
		for _, privs := range []acl{c.ACL, c.ColACL} {
			for _, g := range privs.grantees() {
				for _, p := range privs.privileges(g) {
					if !managed[g] && !rc.st.grants[grantKey{"table", c.OID, g, p}] {
						continue
					}
					// Revoking on the table revokes on its columns too.
					if err := w.exec("REVOKE " + p + " ON " + name + " FROM " + grantee(g)); err != nil {
						return err
					}
					// A partition that was a data source of its own keeps
					// custos's grants from then: forgotten, not drift.
					if k := (grantKey{"table", c.OID, g, p}); rc.st.grants[k] {
						if err := w.forget(k); err != nil {
							return err
						}
					} else if !onboarded {
						w.drift("%s on %s was granted to %s by hand", p, name, g)
					}
					w.change("revoked %s on %s from %s", p, name, g)
					delete(c.ACL[g], p)
					delete(c.ColACL[g], p)
				}
			}
		}
	}
	return nil
}

// schema makes sure the view's schema exists, belongs to the system role and
// may be used by everyone (the views' grants decide who reads what).
func (w *srcTx) schema() error {
	name := w.s.ViewSchema
	if w.rc.schemas[name] {
		return nil
	}
	var owner string
	var public bool
	err := w.tx.QueryRow(w.rc.ctx, `
		SELECT pg_catalog.pg_get_userbyid(n.nspowner)::text, pg_catalog.has_schema_privilege('public', n.oid, 'USAGE')
		FROM pg_catalog.pg_namespace n WHERE n.nspname = $1`, name).Scan(&owner, &public)
	q := quoteOr(name)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if err := w.exec("CREATE SCHEMA " + q + " AUTHORIZATION " + quoteOr(w.rc.sys.Role)); err != nil {
			return err
		}
		if err := w.exec("GRANT USAGE ON SCHEMA " + q + " TO PUBLIC"); err != nil {
			return err
		}
		w.change("created schema %s", q)
	case err != nil:
		return err
	case owner != w.rc.sys.Role:
		return fmt.Errorf("schema %s exists and belongs to %q, not to custos's role %q: change config.viewSchemaFormat or drop the schema", q, owner, w.rc.sys.Role)
	case !public:
		if err := w.exec("GRANT USAGE ON SCHEMA " + q + " TO PUBLIC"); err != nil {
			return err
		}
		w.drift("USAGE on schema %s was revoked by hand", q)
		w.change("granted USAGE on schema %s to PUBLIC", q)
	}
	w.rc.schemas[name] = true
	return nil
}

// onboard records a table the first time custos governs it: whether row
// security was on and what PUBLIC could do, then revokes PUBLIC's privileges.
func (w *srcTx) onboard() error {
	if ts := w.rc.st.tables[w.tbl.OID]; ts != nil {
		w.table = ts
		return nil
	}
	ts := &tableState{OID: w.tbl.OID, PublicACL: append(w.tbl.ACL.privileges("public"), w.tbl.PublicCols...)}
	if ts.PublicACL == nil {
		ts.PublicACL = []string{}
	}
	if err := w.exec(`INSERT INTO `+w.rc.sys.Table("tables")+` (table_oid, rls_enabled, public_acl) VALUES ($1, false, $2)`,
		ts.OID, ts.PublicACL); err != nil {
		return err
	}
	w.table = ts
	w.onboarded = true
	w.change("started governing %s", qualified(w.s.Schema, w.s.Table))
	return nil
}

func (w *srcTx) viewName() string { return qualified(w.s.ViewSchema, w.s.ViewName) }

// viewDDL creates or replaces the view unless the database holds exactly
// what custos rendered.
func (w *srcTx) viewDDL() error {
	rc, s := w.rc, w.s
	vs := rc.st.views[s.DataSourceID]
	cur := rc.rels[ref{s.ViewSchema, s.ViewName}]
	name := w.viewName()
	ours := cur != nil && vs != nil && vs.ViewOID == cur.OID
	switch {
	case cur != nil && !ours && cur.Owner != rc.sys.Role:
		return fmt.Errorf("%s already exists and custos did not create it: drop or rename it, or change config.viewSchemaFormat", name)
	case cur != nil && cur.Kind != "v":
		return fmt.Errorf("%s exists and is not a view", name)
	}
	if vs != nil && (vs.Schema != s.ViewSchema || vs.Name != s.ViewName) {
		// The view moved (new schema format or renamed table): drop the old one.
		if old := rc.rels[ref{vs.Schema, vs.Name}]; old != nil && old.OID == vs.ViewOID {
			if err := w.exec("DROP VIEW " + qualified(vs.Schema, vs.Name)); err != nil {
				return err
			}
			w.change("dropped view %s (moved to %s)", qualified(vs.Schema, vs.Name), name)
		}
		vs = nil
	}
	upToDate := ours && vs.Rendered == w.r.Fingerprint && vs.ViewDef == cur.ViewDef && cur.Owner == rc.sys.Role &&
		barrier(cur.Options) == w.r.Barrier && vs.TableOID == w.tbl.OID
	if upToDate {
		w.view = vs
		return nil
	}
	switch {
	case vs != nil && cur == nil:
		w.drift("view %s was dropped by hand", name)
	case ours && vs.ViewDef != cur.ViewDef:
		w.drift("view %s was changed by hand", name)
	case ours && cur.Owner != rc.sys.Role:
		w.drift("the owner of view %s was changed by hand", name)
	}
	create := w.r.View
	if cur != nil {
		// Replacing keeps the view's grants and dependent objects; it fails
		// when columns changed their type or disappeared.
		if _, err := w.tx.Exec(rc.ctx, "SAVEPOINT custos_view"); err != nil {
			return err
		}
		replace := "CREATE OR REPLACE VIEW" + strings.TrimPrefix(create, "CREATE VIEW")
		if _, err := w.tx.Exec(rc.ctx, replace); err != nil {
			if _, rerr := w.tx.Exec(rc.ctx, "ROLLBACK TO SAVEPOINT custos_view"); rerr != nil {
				return rerr
			}
			if err := w.exec("DROP VIEW " + name); err != nil {
				return fmt.Errorf("%v (after: %v)", err, statementError(err, replace))
			}
			cur = nil
		} else if _, err := w.tx.Exec(rc.ctx, "RELEASE SAVEPOINT custos_view"); err != nil {
			return err
		}
	}
	if cur == nil {
		if err := w.exec(create); err != nil {
			return err
		}
		w.change("created view %s", name)
	} else {
		w.change("replaced view %s", name)
	}
	if err := w.exec("ALTER VIEW " + name + " OWNER TO " + quoteOr(rc.sys.Role)); err != nil {
		return err
	}
	opt := "RESET (security_barrier)"
	if w.r.Barrier {
		opt = "SET (security_barrier = true)"
	}
	if err := w.exec("ALTER VIEW " + name + " " + opt); err != nil {
		return err
	}
	nv := &viewState{DataSourceID: s.DataSourceID, TableOID: w.tbl.OID, Schema: s.ViewSchema, Name: s.ViewName, Rendered: w.r.Fingerprint}
	if err := w.tx.QueryRow(rc.ctx, `SELECT c.oid, pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid)), COALESCE(c.reloptions, '{}')::text[]
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
		s.ViewSchema, s.ViewName).Scan(&nv.ViewOID, &nv.ViewDef, new([]string)); err != nil {
		return fmt.Errorf("read back view %s: %w", name, err)
	}
	if cur == nil {
		// A new view starts without grants.
		w.rc.rels[ref{s.ViewSchema, s.ViewName}] = &relation{OID: nv.ViewOID, Schema: s.ViewSchema, Name: s.ViewName, Kind: "v",
			Owner: rc.sys.Role, ACL: acl{}, ColACL: acl{}}
	}
	if vs != nil {
		nv.FilterDef = vs.FilterDef
	}
	if err := w.saveView(nv); err != nil {
		return err
	}
	w.view = nv
	return nil
}

func (w *srcTx) saveView(v *viewState) error {
	return w.exec(`INSERT INTO `+w.rc.sys.Table("views")+` (data_source_id, table_oid, view_oid, view_schema, view_name, rendered, view_def, filter_def, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, pg_catalog.now())
		ON CONFLICT (data_source_id) DO UPDATE SET table_oid = EXCLUDED.table_oid, view_oid = EXCLUDED.view_oid,
		view_schema = EXCLUDED.view_schema, view_name = EXCLUDED.view_name, rendered = EXCLUDED.rendered,
		view_def = EXCLUDED.view_def, filter_def = EXCLUDED.filter_def, updated_at = EXCLUDED.updated_at`,
		v.DataSourceID, v.TableOID, v.ViewOID, v.Schema, v.Name, v.Rendered, v.ViewDef, v.FilterDef)
}

var md5True = md5hex("true")

// rowSecurity keeps the table's row-level security equal to the plan's row
// rules: a restrictive policy for the system role (the views' owner), a
// permissive one letting it read (kept without row rules when the table's
// owner turned row security on), and, when custos had to enable row
// security, a permissive one keeping every other role's access unchanged.
func (w *srcTx) rowSecurity() error {
	rc := w.rc
	tbl := qualified(w.s.Schema, w.s.Table)
	pols := rc.pols[w.tbl.OID]
	role := quoteOr(rc.sys.Role)
	want := w.r.RowFilter != ""
	drop := func(name string) error {
		if pols[name] == nil {
			return nil
		}
		if err := w.exec("DROP POLICY " + quoteOr(name) + " ON " + tbl); err != nil {
			return err
		}
		delete(pols, name)
		w.change("dropped policy %s on %s", name, tbl)
		return nil
	}
	viewAccess := policySpec{pgsql.PolicyViewAccess,
		"CREATE POLICY " + quoteOr(pgsql.PolicyViewAccess) + " ON " + tbl + " AS PERMISSIVE FOR SELECT TO " + role + " USING (true)",
		func(p *rlsPolicy) bool {
			return p.Permissive && p.Command == "r" && len(p.Roles) == 1 && p.Roles[0] == rc.sys.Role && p.Using == md5True
		}}
	if !want {
		// Row security that the table's owner turned on applies to custos's
		// role too: without a policy letting it read, the view shows nothing.
		ownersRLS := w.tbl.RLS && !w.table.RLSEnabled
		for _, n := range []string{pgsql.PolicyRowFilter, pgsql.PolicyViewAccess, pgsql.PolicyOthers} {
			if n == pgsql.PolicyViewAccess && ownersRLS {
				continue
			}
			if err := drop(n); err != nil {
				return err
			}
		}
		if w.table.RLSEnabled {
			if w.tbl.RLS {
				if err := w.exec("ALTER TABLE " + tbl + " DISABLE ROW LEVEL SECURITY"); err != nil {
					return err
				}
				w.change("disabled row level security on %s", tbl)
			}
			if err := w.setRLS(false); err != nil {
				return err
			}
		}
		if w.view.FilterDef != nil {
			w.view.FilterDef = nil
			if err := w.saveView(w.view); err != nil {
				return err
			}
		}
		if !ownersRLS {
			return nil
		}
		return w.policies(tbl, pols, []policySpec{viewAccess}, false)
	}
	// Row security does not apply to a superuser, to a role with BYPASSRLS,
	// or to the table's owner (and the members of its owner role): if
	// custos's role is one of them, its views would show every row.
	var bypass bool
	if err := w.tx.QueryRow(rc.ctx, `SELECT r.rolsuper OR r.rolbypassrls OR pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE')
		FROM pg_catalog.pg_roles r, pg_catalog.pg_class c WHERE r.rolname = $1 AND c.oid = $2`, rc.sys.Role, w.tbl.OID).Scan(&bypass); err != nil {
		return err
	}
	if bypass {
		return fmt.Errorf("custos's role %q bypasses row security on %s (it is a superuser, has BYPASSRLS, or owns the table or belongs to its owner role): its row filter cannot apply", rc.sys.Role, tbl)
	}
	if pols == nil {
		pols = map[string]*rlsPolicy{}
		rc.pols[w.tbl.OID] = pols
	}
	if !w.tbl.RLS {
		if w.table.RLSEnabled {
			w.drift("row level security on %s was disabled by hand", tbl)
		}
		if err := w.exec("ALTER TABLE " + tbl + " ENABLE ROW LEVEL SECURITY"); err != nil {
			return err
		}
		w.change("enabled row level security on %s", tbl)
		w.tbl.RLS = true
		if !w.table.RLSEnabled {
			if err := w.setRLS(true); err != nil {
				return err
			}
		}
	}
	specs := []policySpec{viewAccess}
	if w.table.RLSEnabled {
		specs = append(specs, policySpec{pgsql.PolicyOthers,
			"CREATE POLICY " + quoteOr(pgsql.PolicyOthers) + " ON " + tbl + " AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)",
			func(p *rlsPolicy) bool {
				return p.Permissive && p.Command == "*" && len(p.Roles) == 1 && p.Roles[0] == "public" && p.Using == md5True && p.Check == md5True
			}})
	}
	filterUpToDate := w.prev != nil && w.prev.FilterDef != nil && w.prev.Rendered == w.r.Fingerprint
	specs = append(specs, policySpec{pgsql.PolicyRowFilter,
		"CREATE POLICY " + quoteOr(pgsql.PolicyRowFilter) + " ON " + tbl + " AS RESTRICTIVE FOR SELECT TO " + role + " USING (" + w.r.RowFilter + ")",
		func(p *rlsPolicy) bool {
			return filterUpToDate && !p.Permissive && p.Command == "r" && len(p.Roles) == 1 && p.Roles[0] == rc.sys.Role && p.Using == *w.prev.FilterDef
		}})
	return w.policies(tbl, pols, specs, filterUpToDate)
}

// policySpec is one of custos's row security policies as it must be.
type policySpec struct {
	name, stmt string
	ok         func(p *rlsPolicy) bool
}

// policies (re)creates the policies of specs that are missing or differ.
func (w *srcTx) policies(tbl string, pols map[string]*rlsPolicy, specs []policySpec, filterUpToDate bool) error {
	rc := w.rc
	for _, sp := range specs {
		p := pols[sp.name]
		if p != nil && sp.ok(p) {
			continue
		}
		if p != nil {
			if sp.name != pgsql.PolicyRowFilter || filterUpToDate {
				w.drift("policy %s on %s was changed by hand", sp.name, tbl)
			}
			if err := w.exec("DROP POLICY " + quoteOr(sp.name) + " ON " + tbl); err != nil {
				return err
			}
		} else if sp.name == pgsql.PolicyRowFilter && w.prev != nil && w.prev.FilterDef != nil {
			w.drift("policy %s on %s was dropped by hand", sp.name, tbl)
		}
		if err := w.exec(sp.stmt); err != nil {
			return err
		}
		w.change("created policy %s on %s", sp.name, tbl)
		if sp.name == pgsql.PolicyRowFilter {
			var def string
			if err := w.tx.QueryRow(rc.ctx, `SELECT pg_catalog.md5(COALESCE(pg_catalog.pg_get_expr(polqual, polrelid), ''))
				FROM pg_catalog.pg_policy WHERE polrelid = $1 AND polname = $2`, w.tbl.OID, sp.name).Scan(&def); err != nil {
				return err
			}
			w.view.FilterDef = &def
			if err := w.saveView(w.view); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *srcTx) setRLS(enabled bool) error {
	w.table = &tableState{OID: w.table.OID, RLSEnabled: enabled, PublicACL: w.table.PublicACL}
	return w.exec(`UPDATE `+w.rc.sys.Table("tables")+` SET rls_enabled = $2 WHERE table_oid = $1`, w.table.OID, enabled)
}

// viewGrants makes SELECT on the view exactly the readers' (and the audit
// role's): anything else granted on it is revoked.
func (w *srcTx) viewGrants() error {
	rc := w.rc
	cur := rc.rels[ref{w.s.ViewSchema, w.s.ViewName}]
	want := map[string]bool{}
	for _, r := range w.s.Readers {
		want[r] = true
	}
	if rc.sys.AuditRole != "" {
		want[rc.sys.AuditRole] = true
	}
	name := w.viewName()
	for _, g := range cur.ACL.grantees() {
		for _, p := range cur.ACL.privileges(g) {
			if want[g] && p == "SELECT" {
				continue
			}
			if err := w.exec("REVOKE " + p + " ON " + name + " FROM " + grantee(g)); err != nil {
				return err
			}
			if !rc.roles[g] || p != "SELECT" {
				w.drift("%s on view %s was granted to %s by hand", p, name, g)
			}
			w.change("revoked %s on %s from %s", p, name, g)
			delete(cur.ACL[g], p)
		}
	}
	for _, g := range cur.ColACL.grantees() {
		for _, p := range cur.ColACL.privileges(g) {
			if want[g] && p == "SELECT" {
				continue
			}
			// Revoking a privilege on the view revokes it on its columns.
			if err := w.exec("REVOKE " + p + " ON " + name + " FROM " + grantee(g)); err != nil {
				return err
			}
			w.drift("%s on columns of view %s was granted to %s by hand", p, name, g)
			w.change("revoked %s on the columns of %s from %s", p, name, g)
			delete(cur.ColACL[g], p)
		}
	}
	var missing []string
	for g := range want {
		if !cur.ACL.has(g, "SELECT") {
			missing = append(missing, g)
		}
	}
	sort.Strings(missing)
	for _, g := range missing {
		if err := w.exec("GRANT SELECT ON " + name + " TO " + grantee(g)); err != nil {
			return err
		}
		cur.ACL.add(g, "SELECT")
		w.change("granted SELECT on %s to %s", name, g)
	}
	return nil
}

func grantee(g string) string {
	if g == "public" {
		return "PUBLIC"
	}
	return quoteOr(g)
}

var writePrivileges = []string{"DELETE", "INSERT", "UPDATE"}

// tableGrants makes the privileges on the governed relation exactly what
// custos decides for the roles it manages: none for PUBLIC and for users
// without WRITE, INSERT/UPDATE/DELETE for writers, SELECT for the system
// role (the views read through it) and what the audit role needs.
func (w *srcTx) tableGrants() error {
	rc := w.rc
	name := qualified(w.s.Schema, w.s.Table)
	want := map[string]map[string]bool{"public": {}, rc.sys.Role: {"SELECT": true}}
	if rc.sys.AuditRole != "" {
		want[rc.sys.AuditRole] = map[string]bool{"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true}
	}
	for r := range rc.roles {
		if want[r] == nil {
			want[r] = map[string]bool{}
		}
	}
	for _, r := range w.s.Readers {
		if want[r] == nil {
			want[r] = map[string]bool{}
		}
	}
	for _, r := range w.s.Writers {
		if want[r] == nil {
			want[r] = map[string]bool{}
		}
		for _, p := range writePrivileges {
			want[r][p] = true
		}
	}
	for g := range rc.st.grants {
		if g.Kind == "table" && g.OID == w.tbl.OID && want[g.Grantee] == nil {
			want[g.Grantee] = map[string]bool{}
		}
	}
	var grantees []string
	for g := range want {
		grantees = append(grantees, g)
	}
	sort.Strings(grantees)
	for _, g := range grantees {
		revoked := map[string]bool{}
		for _, p := range w.tbl.ACL.privileges(g) {
			if want[g][p] {
				continue
			}
			revoked[p] = true
			if err := w.exec("REVOKE " + p + " ON " + name + " FROM " + grantee(g)); err != nil {
				return err
			}
			delete(w.tbl.ACL[g], p)
			k := grantKey{"table", w.tbl.OID, g, p}
			if rc.st.grants[k] {
				if err := w.forget(k); err != nil {
					return err
				}
			} else if !w.onboarded {
				w.drift("%s on %s was granted to %s by hand", p, name, g)
			}
			w.change("revoked %s on %s from %s", p, name, g)
		}
		for _, p := range w.tbl.ColACL.privileges(g) {
			if want[g][p] || revoked[p] {
				continue // granted on the whole table anyway, or just revoked with it
			}
			// Revoking a privilege on the table revokes it on its columns.
			if err := w.exec("REVOKE " + p + " ON " + name + " FROM " + grantee(g)); err != nil {
				return err
			}
			delete(w.tbl.ColACL[g], p)
			if !w.onboarded {
				w.drift("%s on columns of %s was granted to %s by hand", p, name, g)
			}
			w.change("revoked %s on the columns of %s from %s", p, name, g)
		}
		var missing []string
		for p := range want[g] {
			if !w.tbl.ACL.has(g, p) {
				missing = append(missing, p)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			if err := w.exec("GRANT " + strings.Join(missing, ", ") + " ON " + name + " TO " + grantee(g)); err != nil {
				return err
			}
			for _, p := range missing {
				w.tbl.ACL.add(g, p)
				k := grantKey{"table", w.tbl.OID, g, p}
				if rc.st.grants[k] {
					w.drift("%s on %s was revoked from %s by hand", p, name, g)
				}
				if err := w.remember(k); err != nil {
					return err
				}
			}
			w.change("granted %s on %s to %s", strings.Join(missing, ", "), name, g)
		}
	}
	// Writers name the table in their statements: they need USAGE on its schema.
	for _, r := range w.s.Writers {
		var ok bool
		var nsp uint32
		if err := w.tx.QueryRow(rc.ctx, `SELECT n.oid, pg_catalog.has_schema_privilege($1, n.oid, 'USAGE') FROM pg_catalog.pg_namespace n WHERE n.nspname = $2`,
			r, w.s.Schema).Scan(&nsp, &ok); err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := w.exec("GRANT USAGE ON SCHEMA " + quoteOr(w.s.Schema) + " TO " + quoteOr(r)); err != nil {
			return err
		}
		if err := w.remember(grantKey{"schema", nsp, r, "USAGE"}); err != nil {
			return err
		}
		w.change("granted USAGE on schema %s to %s", quoteOr(w.s.Schema), r)
	}
	return nil
}

func (w *srcTx) remember(k grantKey) error {
	if w.rc.st.grants[k] {
		return nil
	}
	w.added = append(w.added, k)
	return w.exec(`INSERT INTO `+w.rc.sys.Table("grants")+` (kind, object_oid, grantee, privilege) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, k.Kind, k.OID, k.Grantee, k.Privilege)
}

func (w *srcTx) forget(k grantKey) error {
	w.removed = append(w.removed, k)
	return w.exec(`DELETE FROM `+w.rc.sys.Table("grants")+` WHERE kind = $1 AND object_oid = $2 AND grantee = $3 AND privilege = $4`,
		k.Kind, k.OID, k.Grantee, k.Privilege)
}

// readDomains reads, before the data source's transaction and as the
// relation's owner (readDomain), the value domains Randomized Response draws
// from that are missing or older than a day. What cannot be read is
// reported; the view then draws from what was read before, if anything.
func (rc *run) readDomains(s Source, tbl *relation, src pgsql.Source, r *pgsql.Rendered, rep *SourceReport) map[string]*valueDomain {
	cols, err := rc.domainsToRead(s.DataSourceID, r.Domains)
	if err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("could not tell which value domains to refresh: %v", err))
		return nil
	}
	out := map[string]*valueDomain{}
	for _, c := range cols {
		var kind pgsql.Kind
		for _, sc := range src.Columns {
			if sc.Name == c {
				kind = sc.Kind
			}
		}
		d, err := rc.readDomain(tbl, c, kindNumeric(kind))
		if err != nil {
			rep.Warnings = append(rep.Warnings, domainWarning(c, err))
			continue
		}
		out[c] = d
	}
	return out
}

// domains stores the value domains read for the data source.
func (w *srcTx) domains() error {
	cols := make([]string, 0, len(w.read))
	for c := range w.read {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		d := w.read[c]
		vals := d.Vals
		if vals == nil {
			vals = []string{}
		}
		if err := w.exec(`INSERT INTO `+w.rc.sys.Table("domains")+` (data_source_id, column_name, vals, lo, hi, refreshed_at)
			VALUES ($1, $2, $3, $4, $5, pg_catalog.now())
			ON CONFLICT (data_source_id, column_name) DO UPDATE SET vals = EXCLUDED.vals, lo = EXCLUDED.lo, hi = EXCLUDED.hi, refreshed_at = EXCLUDED.refreshed_at`,
			w.s.DataSourceID, c, vals, d.Lo, d.Hi); err != nil {
			return err
		}
		w.change("refreshed the value domain of %s.%s", w.viewName(), quoteOr(c))
	}
	return nil
}

func kindNumeric(k pgsql.Kind) bool {
	switch k {
	case pgsql.KindInt2, pgsql.KindInt4, pgsql.KindInt8, pgsql.KindNumeric, pgsql.KindFloat4, pgsql.KindFloat8:
		return true
	}
	return false
}
