package postgres

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	// Readers get SELECT on the view; Writers also write the relation,
	// bound by their row decision and in the columns they read in clear
	// (see tableGrants and writerPolicies).
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
	ents     map[string]Entitlement
	writing  map[int64][]string // the roles writing each data source's relation
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
	rc.writing = map[int64][]string{}
	rc.ents = map[string]Entitlement{}
	for _, e := range rc.want.Entitlements {
		rc.ents[e.Role] = e
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
		// Nor write the table, or read it directly, under them.
		if closed, err := rc.closeWrites(s.DataSourceID); err != nil {
			rep.Err = fmt.Errorf("%v; revoking its writers' privileges failed too: %v", rep.Err, err)
		} else if closed != "" {
			rep.Err = fmt.Errorf("%v; nobody may write %s until this is fixed", rep.Err, closed)
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
	writers, clear, filters, warn := rc.writersOf(s, tbl, src, r)
	rep.Warnings = append(rep.Warnings, warn...)
	rc.writing[s.DataSourceID] = writers

	var changes, drift []string
	var newState *viewState
	var newTable *tableState
	var newChildren []*tableState
	var grantsAdded, grantsRemoved []grantKey
	err = rc.tx(func(tx pgx.Tx) error {
		changes, drift, newState, newTable, newChildren, grantsAdded, grantsRemoved = nil, nil, nil, nil, nil, nil, nil
		w := &srcTx{rc: rc, tx: tx, s: s, tbl: tbl, r: r, src: src, read: domains, writers: writers, clear: clear, filters: filters,
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
	rep.Warnings = append(rep.Warnings, rc.leaks(tbl, clear)...)
	for _, c := range rc.children[tbl.OID] {
		if _, governed := rc.owners[c.OID]; !governed {
			rep.Warnings = append(rep.Warnings, rc.leaks(c, nil)...)
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

// writersOf decides who may write the relation and, for each of them, the
// columns they read in clear (those of the view that no mask applies to for
// them; a mask that applies to some rows only counts as applying) and the
// filter of their rows (pgsql.WriterFilter). Both come from the engine's
// decision for the user, evaluated with the entitlements custos writes into
// the database. Writes are bound by row rules through row-level security,
// which only tables carry: a view, foreign table or materialized view with
// row rules is not written to by anybody.
func (rc *run) writersOf(s Source, tbl *relation, src pgsql.Source, r *pgsql.Rendered) ([]string, map[string][]string, map[string]string, []string) {
	if len(s.Writers) == 0 {
		return nil, nil, nil, nil
	}
	name := qualified(s.Schema, s.Table)
	switch {
	case tbl.Kind == "m":
		return nil, nil, nil, []string{fmt.Sprintf("%s is a materialized view, which cannot be written: its writers only read", name)}
	case (r.RowFilter != "" || r.Barrier) && tbl.Kind != "r" && tbl.Kind != "p":
		return nil, nil, nil, []string{fmt.Sprintf("row rules apply to %s, and PostgreSQL binds writes to row rules on tables only: its writers only read", name)}
	}
	plan := s.Plan
	if plan == nil {
		plan = &policy.Plan{}
	}
	clear, filters := map[string][]string{}, map[string]string{}
	var writers, warnings []string
	for _, role := range s.Writers {
		d := policy.Evaluate(plan, policy.NewEntitlements(rc.userOf(role)))
		f, err := pgsql.WriterFilter(rc.sys, src, d.Rows)
		if err != nil {
			// What cannot be rendered cannot bind the writer's rows: they
			// only read (through the view, which the same failure closes).
			warnings = append(warnings, fmt.Sprintf("the rows of writer %q cannot be rendered (%v): they only read %s", role, err, name))
			continue
		}
		masked := map[string]bool{}
		for _, c := range d.Columns {
			masked[c.Column] = true
		}
		list := []string{}
		for _, c := range src.Columns {
			if !masked[c.Name] {
				list = append(list, c.Name)
			}
		}
		sort.Strings(list)
		writers, clear[role], filters[role] = append(writers, role), list, f
	}
	return writers, clear, filters, warnings
}

// userOf is what the policy engine evaluates the user behind a role with:
// the entitlements custos writes into the database for it (none, the most
// restricted, for a role it has no row for).
func (rc *run) userOf(role string) policy.User {
	e, ok := rc.ents[role]
	if !ok {
		return policy.User{}
	}
	u := policy.User{Username: e.Username, IAMID: e.IAM, Groups: e.Groups, Attributes: e.Attributes, Purposes: e.Purposes}
	if e.OwnGroups != nil || e.OwnAttributes != nil {
		u.Own = &policy.Own{Groups: e.OwnGroups, Attributes: e.OwnAttributes}
	}
	return u
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

// closeWrites revokes what custos granted on the relation a data source
// governs (and on the sequences its column defaults use) from everybody but
// custos's own roles, and returns the relation's name ("" when there was
// nothing to revoke).
func (rc *run) closeWrites(id int64) (string, error) {
	vs := rc.st.views[id]
	if vs == nil || rc.owners[vs.TableOID] != id {
		return "", nil
	}
	var keys []grantKey
	grantees := map[string]bool{}
	for g := range rc.st.grants {
		if (g.Kind == "table" || g.Kind == "column") && g.OID == vs.TableOID && g.Grantee != rc.sys.Role && g.Grantee != rc.sys.AuditRole {
			keys = append(keys, g)
			grantees[g.Grantee] = true
		}
	}
	if len(keys) == 0 {
		return "", nil
	}
	var list []string
	for g := range grantees {
		list = append(list, g)
	}
	sort.Strings(list)
	var name string
	var seqKeys []grantKey
	err := rc.tx(func(tx pgx.Tx) error {
		seqKeys = nil
		err := tx.QueryRow(rc.ctx, `SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`, vs.TableOID).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			name = ""
		} else if err != nil {
			return err
		}
		if name != "" {
			ddl := runner(rc.ctx, tx, nil)
			for _, g := range list {
				if err := revokeIfRole(rc.ctx, tx, "REVOKE ALL ON "+name+" FROM "+grantee(g), ddl); err != nil {
					return err
				}
			}
			seqs, err := defaultSequences(rc.ctx, tx, vs.TableOID)
			if err != nil {
				return err
			}
			for _, sq := range seqs {
				for _, g := range list {
					k := grantKey{"sequence", sq.OID, g, "USAGE"}
					if !rc.st.grants[k] || len(sq.Others) > 0 {
						continue // another table's writers may need it: its own push decides
					}
					if err := revokeIfRole(rc.ctx, tx, "REVOKE USAGE ON SEQUENCE "+sq.Name+" FROM "+grantee(g), ddl); err != nil {
						return err
					}
					seqKeys = append(seqKeys, k)
				}
			}
		}
		for _, k := range append(append([]grantKey{}, keys...), seqKeys...) {
			if err := exec(rc.ctx, tx, `DELETE FROM `+rc.sys.Table("grants")+` WHERE kind = $1 AND object_oid = $2 AND grantee = $3 AND privilege = $4`,
				k.Kind, k.OID, k.Grantee, k.Privilege); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, k := range append(keys, seqKeys...) {
		delete(rc.st.grants, k)
	}
	if name == "" {
		return "", nil
	}
	rc.change("revoked every privilege on %s from %s", name, strings.Join(list, ", "))
	return name, nil
}

// leaks warns about roles custos maps users to that can read the relation
// itself beyond what custos grants them, through something custos does not
// manage: as a superuser, its owner, or a member of a role that may read it;
// a writer also by bypassing row security. clear maps each writer to the
// columns custos lets it read (nil: nobody may read the relation).
func (rc *run) leaks(tbl *relation, clear map[string][]string) []string {
	var roles []string
	for r := range rc.roles {
		roles = append(roles, r)
	}
	if len(roles) == 0 {
		return nil
	}
	sort.Strings(roles)
	if clear == nil {
		clear = map[string][]string{}
	}
	allowed, err := json.Marshal(clear)
	if err != nil {
		return []string{fmt.Sprintf("could not check who reads %s directly: %v", qualified(tbl.Schema, tbl.Name), err)}
	}
	rows, err := rc.conn.Query(rc.ctx, `
		SELECT r.rolname::text FROM pg_catalog.pg_roles r, pg_catalog.pg_class c
		WHERE r.rolname = ANY ($1::text[]) AND c.oid = $2::oid AND CASE
		WHEN ($3::jsonb -> r.rolname::text) IS NULL THEN pg_catalog.has_any_column_privilege(r.oid, c.oid, 'SELECT')
		ELSE r.rolsuper OR (r.rolbypassrls AND c.relrowsecurity) OR pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE')
			OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
				AND a.attname::text NOT IN (SELECT pg_catalog.jsonb_array_elements_text($3::jsonb -> r.rolname::text))
				AND pg_catalog.has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT'))
			OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles g WHERE g.oid <> r.oid AND pg_catalog.pg_has_role(r.oid, g.oid, 'USAGE')
				AND pg_catalog.has_any_column_privilege(g.oid, c.oid, 'SELECT'))
		END ORDER BY 1`, roles, tbl.OID, string(allowed))
	if err != nil {
		return []string{fmt.Sprintf("could not check who reads %s directly: %v", qualified(tbl.Schema, tbl.Name), err)}
	}
	leaky, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return []string{fmt.Sprintf("could not check who reads %s directly: %v", qualified(tbl.Schema, tbl.Name), err)}
	}
	var out []string
	for _, r := range leaky {
		out = append(out, fmt.Sprintf("role %q can read %s directly beyond what custos grants it (superuser, owner, a member of a role with SELECT, or, writing, a role that bypasses row security): custos cannot mask or filter what it reads there", r, qualified(tbl.Schema, tbl.Name)))
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

	// writers are the roles that write the relation, and clear the
	// columns each of them reads in clear.
	writers    []string
	clear      map[string][]string
	filters    map[string]string   // each writer's row filter; "" when no row rule applies to them
	colRecords map[string]grantKey // custos's column privileges, by grantee and privilege

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
		colRecords := rc.columnRecords(c.OID)
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
					keys := []grantKey{{"table", c.OID, g, p}}
					if k, ok := colRecords[g+"\x00"+p]; ok {
						keys = append(keys, k)
					}
					recorded := rc.st.grants[keys[0]] || len(keys) > 1
					if !managed[g] && !recorded {
						continue
					}
					// Revoking on the table revokes on its columns too.
					if err := w.exec("REVOKE " + p + " ON " + name + " FROM " + grantee(g)); err != nil {
						return err
					}
					// A partition that was a data source of its own keeps
					// custos's grants from then: forgotten, not drift.
					if recorded {
						for _, k := range keys {
							if rc.st.grants[k] {
								if err := w.forget(k); err != nil {
									return err
								}
							}
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
// owner turned row security on, and then letting writers at the rows too),
// and, when custos had to enable row security, a permissive one keeping
// every other role's access unchanged; and, for each writer some row rule
// applies to, a restrictive policy of their own (writerPolicies).
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
	// Under the owner's row security nobody but the roles its policies name
	// reaches a row: custos lets its own role and the writers at them.
	ownersRLS := w.tbl.RLS && !w.table.RLSEnabled
	access := []string{rc.sys.Role}
	if ownersRLS {
		access = append(access, w.writers...)
	}
	to := make([]string, len(access))
	for i, r := range access {
		to[i] = quoteOr(r)
	}
	viewAccess := policySpec{name: pgsql.PolicyViewAccess, roles: access,
		stmt: "CREATE POLICY " + quoteOr(pgsql.PolicyViewAccess) + " ON " + tbl + " AS PERMISSIVE FOR ALL TO " + strings.Join(to, ", ") +
			" USING (true) WITH CHECK (true)",
		ok: func(p *rlsPolicy) bool {
			return p.Permissive && p.Command == "*" && p.Using == md5True && p.Check == md5True
		}}
	if !want {
		if err := w.writerPolicies(tbl, pols, false); err != nil {
			return err
		}
		// Row security that the table's owner turned on applies to custos's
		// role too: without a policy letting it read, the view shows nothing.
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
		specs = append(specs, policySpec{name: pgsql.PolicyOthers, roles: []string{"public"},
			stmt: "CREATE POLICY " + quoteOr(pgsql.PolicyOthers) + " ON " + tbl + " AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)",
			ok: func(p *rlsPolicy) bool {
				return p.Permissive && p.Command == "*" && p.Using == md5True && p.Check == md5True
			}})
	}
	filterUpToDate := w.prev != nil && w.prev.FilterDef != nil && w.prev.Rendered == w.r.Fingerprint
	specs = append(specs, policySpec{name: pgsql.PolicyRowFilter, roles: []string{rc.sys.Role},
		stmt: "CREATE POLICY " + quoteOr(pgsql.PolicyRowFilter) + " ON " + tbl + " AS RESTRICTIVE FOR SELECT TO " + role + " USING (" + w.r.RowFilter + ")",
		ok: func(p *rlsPolicy) bool {
			return filterUpToDate && !p.Permissive && p.Command == "r" && p.Using == *w.prev.FilterDef
		}})
	if err := w.policies(tbl, pols, specs, filterUpToDate); err != nil {
		return err
	}
	return w.writerPolicies(tbl, pols, true)
}

// writerPolicyName names the row security policy of one writer: after the
// role, so that PostgreSQL's errors say whose rows a write fell outside of.
func writerPolicyName(role string) string {
	name := pgsql.PolicyWriterPrefix + role
	if len(name) > pgsql.MaxIdentLen {
		h := sha256.Sum256([]byte(role))
		name = pgsql.PolicyWriterPrefix + hex.EncodeToString(h[:8])
	}
	return name
}

// writerPolicies keeps one restrictive policy FOR ALL commands per writer a
// row rule applies to, TO that writer, with their filter (pgsql.WriterFilter)
// as USING and WITH CHECK: what they read, update, delete, insert or
// produce in the table are the rows the view shows them. Policies of
// writers who are gone are dropped. custos records each policy with the
// fingerprint of what it rendered and of the expression as the server
// printed it (kind "policy" in its grants), to tell a change of the
// writer's rows from a change by hand.
func (w *srcTx) writerPolicies(tbl string, pols map[string]*rlsPolicy, rules bool) error {
	rc := w.rc
	wanted := map[string]string{} // policy name -> role
	if rules {
		for _, r := range w.writers {
			if w.filters[r] != "" {
				wanted[writerPolicyName(r)] = r
			}
		}
	}
	recs := map[string]grantKey{}
	for k := range rc.st.grants {
		if k.Kind == "policy" && k.OID == w.tbl.OID {
			recs[k.Grantee] = k
		}
	}
	var names []string
	for n := range pols {
		if strings.HasPrefix(n, pgsql.PolicyWriterPrefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := wanted[n]; ok {
			continue
		}
		if err := w.exec("DROP POLICY " + quoteOr(n) + " ON " + tbl); err != nil {
			return err
		}
		delete(pols, n)
		w.change("dropped policy %s on %s", n, tbl)
	}
	var roles []string
	for r := range recs {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if _, ok := wanted[writerPolicyName(r)]; !ok {
			if err := w.forget(recs[r]); err != nil {
				return err
			}
		}
	}
	names = names[:0]
	for n := range wanted {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		role := wanted[n]
		f := w.filters[role]
		rendered := md5hex(f)
		rec, recorded := recs[role]
		recRendered, recDef, _ := strings.Cut(rec.Privilege, ":")
		p := pols[n]
		same := recorded && recRendered == rendered
		if p != nil && same && !p.Permissive && p.Command == "*" && len(p.Roles) == 1 && p.Roles[0] == role &&
			p.Using == recDef && p.Check == recDef {
			continue
		}
		switch {
		case p != nil && same:
			w.drift("policy %s on %s was changed by hand", n, tbl)
		case p == nil && same:
			w.drift("policy %s on %s was dropped by hand", n, tbl)
		}
		if p != nil {
			if err := w.exec("DROP POLICY " + quoteOr(n) + " ON " + tbl); err != nil {
				return err
			}
		}
		if err := w.exec("CREATE POLICY " + quoteOr(n) + " ON " + tbl + " AS RESTRICTIVE FOR ALL TO " + quoteOr(role) +
			" USING (" + f + ") WITH CHECK (" + f + ")"); err != nil {
			return err
		}
		w.change("created policy %s on %s", n, tbl)
		var def string
		if err := w.tx.QueryRow(rc.ctx, `SELECT pg_catalog.md5(COALESCE(pg_catalog.pg_get_expr(polqual, polrelid), ''))
			FROM pg_catalog.pg_policy WHERE polrelid = $1 AND polname = $2`, w.tbl.OID, n).Scan(&def); err != nil {
			return err
		}
		next := grantKey{"policy", w.tbl.OID, role, rendered + ":" + def}
		if recorded && rec != next {
			if err := w.forget(rec); err != nil {
				return err
			}
		}
		if err := w.remember(next); err != nil {
			return err
		}
	}
	return nil
}

// policySpec is one of custos's row security policies as it must be.
type policySpec struct {
	name, stmt string
	// roles are the roles it applies to; a policy that differs only in
	// them is altered, not recreated (the writers change with the grants).
	roles []string
	ok    func(p *rlsPolicy) bool
}

// policies (re)creates the policies of specs that are missing or differ.
func (w *srcTx) policies(tbl string, pols map[string]*rlsPolicy, specs []policySpec, filterUpToDate bool) error {
	rc := w.rc
	for _, sp := range specs {
		p := pols[sp.name]
		if p != nil && sp.ok(p) {
			if sameSet(p.Roles, sp.roles) {
				continue
			}
			to := make([]string, len(sp.roles))
			for i, r := range sp.roles {
				to[i] = grantee(r)
			}
			if err := w.exec("ALTER POLICY " + quoteOr(sp.name) + " ON " + tbl + " TO " + strings.Join(to, ", ")); err != nil {
				return err
			}
			p.Roles = append([]string(nil), sp.roles...)
			w.change("policy %s on %s now applies to %s", sp.name, tbl, strings.Join(sp.roles, ", "))
			continue
		}
		if p != nil {
			// custos_view_access was FOR SELECT before writers used it:
			// replacing it is an upgrade, not a repair.
			if (sp.name != pgsql.PolicyRowFilter || filterUpToDate) && !(sp.name == pgsql.PolicyViewAccess && p.Command == "r") {
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

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, s := range a {
		in[s] = true
	}
	for _, s := range b {
		if !in[s] {
			return false
		}
	}
	return true
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

// columnPrivileges are what a writer holds on each column they read in
// clear: reading it (so that WHERE, ORDER BY, RETURNING and ON CONFLICT may
// name it), and writing it. A masked column is none of these: a value one
// could write but not read back would let one probe through the mask.
var columnPrivileges = []string{"INSERT", "SELECT", "UPDATE"}

// tableGrants makes the privileges on the governed relation exactly what
// custos decides for the roles it manages: none for PUBLIC and for users
// without WRITE; for writers DELETE, and SELECT, INSERT and UPDATE on the
// columns they read in clear; SELECT for the system role (the views read
// through it) and what the audit role needs. Never TRUNCATE, which row
// security does not bind. Writers also get USAGE on the relation's schema
// and on the sequences its column defaults draw from.
func (w *srcTx) tableGrants() error {
	rc := w.rc
	name := qualified(w.s.Schema, w.s.Table)
	want := map[string]map[string]bool{"public": {}, rc.sys.Role: {"SELECT": true}}
	cols := map[string][]string{} // writer -> the columns of columnPrivileges
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
	for _, r := range w.writers {
		want[r] = map[string]bool{"DELETE": true}
		cols[r] = w.clear[r]
	}
	for g := range rc.st.grants {
		if (g.Kind == "table" || g.Kind == "column") && g.OID == w.tbl.OID && want[g.Grantee] == nil {
			want[g.Grantee] = map[string]bool{}
		}
	}
	w.colRecords = rc.columnRecords(w.tbl.OID)
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
		if err := w.columnGrants(name, g, want[g], revoked, cols[g]); err != nil {
			return err
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
	for _, r := range w.writers {
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
	return w.sequenceGrants()
}

// columnGrants makes g's privileges on single columns of the relation
// exactly want: the columns of columnPrivileges for a writer, none
// otherwise. table are g's privileges on the whole table (which cover every
// column) and revoked those just revoked there (which took the column
// privileges with them). custos records each privilege it grants on columns
// with a fingerprint of the columns ("SELECT:<md5>"), to tell a change made
// by hand from one of the columns a writer reads in clear.
func (w *srcTx) columnGrants(name, g string, table, revoked map[string]bool, want []string) error {
	privs := map[string]bool{}
	for p := range w.tbl.Cols[g] {
		privs[p] = true
	}
	if len(want) > 0 {
		for _, p := range columnPrivileges {
			privs[p] = true
		}
	}
	var list []string
	for p := range privs {
		list = append(list, p)
	}
	sort.Strings(list)
	for _, p := range list {
		if table[p] {
			continue // granted on the whole table anyway
		}
		rec, recorded := w.colRecords[g+"\x00"+p]
		have := w.tbl.Cols.columns(g, p)
		if revoked[p] {
			have = nil
		}
		want := want
		if !slices.Contains(columnPrivileges, p) {
			want = nil
		}
		var extra, missing []string
		for _, c := range have {
			if !slices.Contains(want, c) {
				extra = append(extra, c)
			}
		}
		for _, c := range want {
			if !slices.Contains(have, c) {
				missing = append(missing, c)
			}
		}
		switch {
		case len(extra) == 0 && len(missing) == 0:
		case recorded && rec.Privilege != columnRecord(p, have):
			w.drift("%s on columns of %s was changed by hand for %s", p, name, g)
		case !recorded && len(have) > 0 && !w.onboarded:
			w.drift("%s on columns of %s was granted to %s by hand", p, name, g)
		}
		if len(extra) > 0 {
			stmt := "REVOKE " + p + " ON " + name + " FROM " + grantee(g)
			if len(want) > 0 {
				stmt = "REVOKE " + p + " (" + quoteAll(extra) + ") ON " + name + " FROM " + grantee(g)
			}
			if err := w.exec(stmt); err != nil {
				return err
			}
			w.change("revoked %s on %s of %s from %s", p, strings.Join(extra, ", "), name, g)
		}
		if len(missing) > 0 {
			if err := w.exec("GRANT " + p + " (" + quoteAll(missing) + ") ON " + name + " TO " + grantee(g)); err != nil {
				return err
			}
			w.change("granted %s on %s of %s to %s", p, strings.Join(missing, ", "), name, g)
		}
		next := grantKey{"column", w.tbl.OID, g, columnRecord(p, want)}
		if recorded && (len(want) == 0 || rec != next) {
			if err := w.forget(rec); err != nil {
				return err
			}
		}
		if len(want) > 0 && (!recorded || rec != next) {
			if err := w.remember(next); err != nil {
				return err
			}
		}
		if w.tbl.Cols[g] != nil {
			delete(w.tbl.Cols[g], p)
		}
		for _, c := range want {
			w.tbl.Cols.add(g, p, c)
		}
	}
	return nil
}

// columnRecord is how custos records privilege p granted on cols.
func columnRecord(p string, cols []string) string {
	s := append([]string(nil), cols...)
	sort.Strings(s)
	return p + ":" + md5hex(strings.Join(s, "\x00"))
}

// columnRecords indexes custos's records of privileges on single columns of
// a table by grantee and privilege.
func (rc *run) columnRecords(oid uint32) map[string]grantKey {
	out := map[string]grantKey{}
	for k := range rc.st.grants {
		if k.Kind == "column" && k.OID == oid {
			p, _, _ := strings.Cut(k.Privilege, ":")
			out[k.Grantee+"\x00"+p] = k
		}
	}
	return out
}

func quoteAll(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteOr(n)
	}
	return strings.Join(out, ", ")
}

// sequenceGrants makes the privileges of the roles custos manages on the
// sequences the relation's column defaults draw from exactly USAGE for its
// writers (nextval for serial keys) and nothing for the others. A role
// keeps USAGE on a sequence another table's default also uses while it may
// insert into that table.
func (w *srcTx) sequenceGrants() error {
	rc := w.rc
	seqs, err := defaultSequences(rc.ctx, w.tx, w.tbl.OID)
	if err != nil {
		return err
	}
	writers := map[string]bool{}
	for _, r := range w.writers {
		writers[r] = true
	}
	for _, sq := range seqs {
		managed := map[string]bool{}
		for r := range rc.roles {
			managed[r] = true
		}
		for _, r := range w.s.Readers {
			managed[r] = true
		}
		for g := range rc.st.grants {
			if g.Kind == "sequence" && g.OID == sq.OID {
				managed[g.Grantee] = true
			}
		}
		var list []string
		for g := range managed {
			list = append(list, g)
		}
		sort.Strings(list)
		for _, g := range list {
			k := grantKey{"sequence", sq.OID, g, "USAGE"}
			for _, p := range sq.ACL.privileges(g) {
				if p == "USAGE" && writers[g] {
					continue
				}
				if p == "USAGE" && len(sq.Others) > 0 {
					var elsewhere bool
					if err := w.tx.QueryRow(rc.ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.unnest($2::oid[]) AS t
						WHERE pg_catalog.has_any_column_privilege($1, t, 'INSERT'))`, g, sq.Others).Scan(&elsewhere); err != nil {
						return err
					}
					if elsewhere {
						continue
					}
				}
				if err := w.exec("REVOKE " + p + " ON SEQUENCE " + sq.Name + " FROM " + grantee(g)); err != nil {
					return err
				}
				if p == "USAGE" && rc.st.grants[k] {
					if err := w.forget(k); err != nil {
						return err
					}
				} else if !w.onboarded {
					w.drift("%s on sequence %s was granted to %s by hand", p, sq.Name, g)
				}
				w.change("revoked %s on sequence %s from %s", p, sq.Name, g)
			}
			if !writers[g] {
				if rc.st.grants[k] && !sq.ACL.has(g, "USAGE") {
					if err := w.forget(k); err != nil {
						return err
					}
				}
				continue
			}
			if !sq.ACL.has(g, "USAGE") {
				if err := w.exec("GRANT USAGE ON SEQUENCE " + sq.Name + " TO " + grantee(g)); err != nil {
					return err
				}
				if rc.st.grants[k] {
					w.drift("USAGE on sequence %s was revoked from %s by hand", sq.Name, g)
				}
				w.change("granted USAGE on sequence %s to %s", sq.Name, g)
			}
			if err := w.remember(k); err != nil {
				return err
			}
		}
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
