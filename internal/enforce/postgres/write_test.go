package postgres

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/policy"
)

// writeEnv is a governed table with a serial key, an identity column, a row
// rule (customers of one's own countries, by attribute) and a masked column
// (SSNs hashed, but for group Exempt), and four users: a writer, a writer
// the mask does not apply to, a reader and an outsider.
type writeEnv struct {
	*env
	writer, clearWriter, reader, outsider string
}

func newWriteEnv(t testing.TB) *writeEnv {
	e := newEnvTB(t)
	for _, q := range []string{
		`CREATE SCHEMA app`,
		`GRANT USAGE ON SCHEMA app TO PUBLIC`,
		`CREATE TABLE app.accounts (
			id serial PRIMARY KEY,
			ref bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
			full_name text NOT NULL,
			country text NOT NULL,
			ssn text UNIQUE,
			points integer NOT NULL DEFAULT 0)`,
		`INSERT INTO app.accounts (full_name, country, ssn) VALUES
			('Ann', 'United States', '111-11-1111'), ('Ben', 'Mexico', '222-22-2222'),
			('Chloé', 'France', '333-33-3333'), ('Dan', 'United States', '444-44-4444')`,
		// A table without row rules, where COPY works.
		`CREATE TABLE app.notes (id bigserial PRIMARY KEY, body text NOT NULL)`,
	} {
		e.mustRows("postgres", q)
	}
	countries := map[string][]string{"Country": {"United States", "Mexico"}}
	w := &writeEnv{env: e,
		writer:      e.user("writer", policy.User{Attributes: countries}),
		clearWriter: e.user("hrwriter", policy.User{Attributes: countries, Groups: []string{"Exempt"}}),
		reader:      e.user("reader", policy.User{Attributes: countries}),
		outsider:    e.user("outsider", policy.User{Attributes: countries}),
	}
	e.source(1, "app", "accounts", map[string][]string{"ssn": {"PII.SSN"}, "country": {"Geo.Country"}})
	e.source(2, "app", "notes", nil)
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.policy(rowPolicy("rows", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: attribute, attribute: Country, tag: Geo.Country}]}`))
	e.grant(1, []string{w.reader}, []string{w.writer, w.clearWriter})
	e.grant(2, []string{w.reader}, []string{w.writer, w.clearWriter})
	e.sync()
	return w
}

// try runs sql as role in a transaction it rolls back, and returns the rows
// it changed (or returned) and its error.
func (e *env) try(role, sql string) (int64, error) {
	var n int64
	err := e.query(role, func(c *pgx.Conn) error {
		tx, err := c.Begin(e.ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(e.ctx) }()
		tag, err := tx.Exec(e.ctx, sql)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// copyIn runs COPY ... FROM STDIN as role with data, and returns the rows copied.
func (e *env) copyIn(role, sql, data string) (int64, error) {
	var n int64
	err := e.query(role, func(c *pgx.Conn) error {
		tag, err := c.PgConn().CopyFrom(e.ctx, strings.NewReader(data), sql)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// outcome is what a statement should do: change (or return) rows rows, or
// fail with an error containing err.
type outcome struct {
	rows int64
	err  string
}

func ok(n int64) outcome     { return outcome{rows: n} }
func fails(s string) outcome { return outcome{err: s} }
func (o outcome) String() string {
	if o.err != "" {
		return "error " + o.err
	}
	return fmt.Sprintf("%d rows", o.rows)
}

func (e *env) expect(t *testing.T, role, who, sql string, want outcome) {
	t.Helper()
	n, err := e.try(role, sql)
	switch {
	case want.err == "" && err != nil:
		t.Errorf("as the %s: %s\n  want %s, got error %v", who, sql, want, err)
	case want.err != "" && (err == nil || !strings.Contains(err.Error(), want.err)):
		t.Errorf("as the %s: %s\n  want %s, got %d rows, error %v", who, sql, want, n, err)
	case want.err == "" && n != want.rows:
		t.Errorf("as the %s: %s\n  want %s, got %d", who, sql, want, n)
	}
}

const (
	tableDenied = "permission denied for table accounts"
	viewDenied  = "permission denied for view accounts"
	// Each writer's rows are bound by a policy named after them.
	rowRefused   = `new row violates row-level security policy "custos_writer_`
	usingRefused = `(USING expression) for table "accounts"`
)

// Every statement of ordinary write access, as each kind of user: what it
// changes, what it is refused and with which error. Ids 1, 2 and 4 are the
// writers' countries; id 3 (France) is hidden from them.
func TestWriteAccess(t *testing.T) {
	e := newWriteEnv(t)
	type statement struct {
		sql                                   string
		writer, clearWriter, reader, outsider outcome
	}
	denied := fails(tableDenied)
	for _, s := range []statement{
		// INSERT: defaults from the serial sequence and the identity column,
		// RETURNING what the writer reads in clear.
		{`INSERT INTO app.accounts (full_name, country) VALUES ('Eve', 'Mexico') RETURNING id, ref, country, points`,
			ok(1), ok(1), denied, denied},
		{`INSERT INTO app.accounts (full_name, country) VALUES ('Eve', 'Mexico') RETURNING *`,
			denied, ok(1), denied, denied},
		{`INSERT INTO app.accounts (full_name, country, ssn) VALUES ('Gil', 'Mexico', '999-99-9999')`,
			denied, ok(1), denied, denied},
		{`INSERT INTO app.accounts (full_name, country) VALUES ('Fay', 'France')`,
			fails(rowRefused), fails(rowRefused), denied, denied},
		{`INSERT INTO app.accounts (full_name, country) SELECT 'Multi ' || c, c FROM unnest(ARRAY['Mexico', 'United States']) AS c`,
			ok(2), ok(2), denied, denied},
		// ON CONFLICT: on a column read in clear, for rows one reads.
		{`INSERT INTO app.accounts (id, full_name, country) VALUES (1, 'Ann', 'United States') ON CONFLICT (id) DO UPDATE SET points = 7`,
			ok(1), ok(1), denied, denied},
		{`INSERT INTO app.accounts (full_name, country, ssn) VALUES ('Ivy', 'Mexico', '111-11-1111') ON CONFLICT (ssn) DO NOTHING`,
			denied, ok(0), denied, denied},
		{`INSERT INTO app.accounts (full_name, country) VALUES ('Ivy', 'Mexico') ON CONFLICT (ssn) DO NOTHING`,
			denied, ok(1), denied, denied},
		// What PostgreSQL's own row security lets through, documented:
		// unique keys tell that a hidden row holds a value.
		{`INSERT INTO app.accounts (id, full_name, country) VALUES (3, 'Hal', 'Mexico')`,
			fails(`duplicate key value violates unique constraint "accounts_pkey"`),
			fails(`duplicate key value violates unique constraint "accounts_pkey"`), denied, denied},
		{`INSERT INTO app.accounts (id, full_name, country) VALUES (3, 'Hal', 'Mexico') ON CONFLICT (id) DO NOTHING`,
			ok(0), ok(0), denied, denied},
		{`INSERT INTO app.accounts (id, full_name, country) VALUES (3, 'Hal', 'Mexico') ON CONFLICT (id) DO UPDATE SET points = 7`,
			fails(usingRefused), fails(usingRefused), denied, denied},
		// UPDATE: only the rows one reads, only to rows one could read, only
		// columns read in clear, filtering only on them.
		{`UPDATE app.accounts SET points = points + 1`, ok(3), ok(3), denied, denied},
		{`UPDATE app.accounts SET points = points + 1 WHERE id = 1`, ok(1), ok(1), denied, denied},
		{`UPDATE app.accounts SET points = points + 1 WHERE id = 3`, ok(0), ok(0), denied, denied},
		{`UPDATE app.accounts SET points = 5 WHERE id = 1 RETURNING id, full_name, points`, ok(1), ok(1), denied, denied},
		{`UPDATE app.accounts SET points = 5 WHERE id = 1 RETURNING ssn`, denied, ok(1), denied, denied},
		{`UPDATE app.accounts SET points = 0 WHERE ssn = '111-11-1111'`, denied, ok(1), denied, denied},
		{`UPDATE app.accounts SET points = 0 WHERE ssn = '333-33-3333'`, denied, ok(0), denied, denied},
		{`UPDATE app.accounts SET ssn = '000-00-0000' WHERE id = 1`, denied, ok(1), denied, denied},
		{`UPDATE app.accounts SET country = 'France' WHERE id = 1`, fails(rowRefused), fails(rowRefused), denied, denied},
		// DELETE: only the rows one reads.
		{`DELETE FROM app.accounts WHERE id = 3`, ok(0), ok(0), denied, denied},
		{`DELETE FROM app.accounts WHERE id = 4`, ok(1), ok(1), denied, denied},
		{`DELETE FROM app.accounts WHERE country = 'France'`, ok(0), ok(0), denied, denied},
		{`DELETE FROM app.accounts WHERE ssn = '444-44-4444'`, denied, ok(1), denied, denied},
		{`DELETE FROM app.accounts`, ok(3), ok(3), denied, denied},
		{`TRUNCATE app.accounts`, denied, denied, denied, denied},
		// Reading: the view for everyone with access; the table, for writers,
		// in the columns they read in clear, under the same row rules.
		{`SELECT * FROM app_governed.accounts`, ok(3), ok(3), ok(3), fails(viewDenied)},
		{`SELECT id, full_name, country, points FROM app.accounts`, ok(3), ok(3), denied, denied},
		{`SELECT * FROM app.accounts`, denied, ok(3), denied, denied},
		{`SELECT id FROM app.accounts ORDER BY ssn`, denied, ok(3), denied, denied},
		{`SELECT count(*) FROM app.accounts WHERE country = 'France'`, ok(1), ok(1), denied, denied},
		{`SELECT last_value FROM app.accounts_id_seq`, fails("permission denied for sequence accounts_id_seq"),
			fails("permission denied for sequence accounts_id_seq"), fails("permission denied for sequence accounts_id_seq"),
			fails("permission denied for sequence accounts_id_seq")},
	} {
		e.expect(t, e.writer, "writer", s.sql, s.writer)
		e.expect(t, e.clearWriter, "writer who reads SSNs", s.sql, s.clearWriter)
		e.expect(t, e.reader, "reader", s.sql, s.reader)
		e.expect(t, e.outsider, "outsider", s.sql, s.outsider)
	}
	if _, err := e.try(e.writer, `INSERT INTO app.accounts (full_name, country) VALUES ('Fay', 'France')`); err == nil ||
		!strings.Contains(err.Error(), `new row violates row-level security policy "custos_writer_`+e.writer+`" for table "accounts"`) {
		t.Errorf("the refusal does not name the writer's policy: %v", err)
	}
	// The count over the hidden country is 0, not 1.
	if n := e.one(e.writer, `SELECT count(*) FROM app.accounts WHERE country = 'France'`); n != "0" {
		t.Errorf("the writer counts %s hidden rows", n)
	}
	// WRITE includes READ: the writer reads the view as a reader does.
	for _, q := range []string{
		`SELECT string_agg(id || ':' || country || ':' || (length(ssn) = 64), ',' ORDER BY id) FROM app_governed.accounts`,
	} {
		if w, r := e.one(e.writer, q), e.one(e.reader, q); w != r || w != "1:United States:true,2:Mexico:true,4:United States:true" {
			t.Errorf("the writer reads %q, the reader %q", w, r)
		}
	}
	if got := e.one(e.clearWriter, `SELECT ssn FROM app_governed.accounts WHERE id = 1`); got != "111-11-1111" {
		t.Errorf("the writer the mask does not apply to reads %q", got)
	}
	for _, role := range []string{e.writer, e.clearWriter} {
		if got := e.one(role, `SELECT count(*) FROM app_governed.accounts`); got != e.one(role, `SELECT count(*) FROM app.accounts`) {
			t.Errorf("%s reads another number of rows in the table than in the view", role)
		}
	}
}

// Writes that stick: committed transactions, a hidden row left as it was,
// and COPY, which PostgreSQL refuses under row-level security.
func TestWritesCommitAndCopy(t *testing.T) {
	e := newWriteEnv(t)
	before := e.one("postgres", `SELECT points || ':' || full_name FROM app.accounts WHERE id = 3`)
	err := e.query(e.writer, func(c *pgx.Conn) error {
		return pgx.BeginFunc(e.ctx, c, func(tx pgx.Tx) error {
			for _, q := range []string{
				`INSERT INTO app.accounts (full_name, country) VALUES ('Kim', 'Mexico')`,
				`UPDATE app.accounts SET points = points + 10 WHERE country = 'Mexico'`,
				`UPDATE app.accounts SET points = 99, full_name = 'Nobody' WHERE id = 3`,
				`SAVEPOINT s`,
			} {
				if _, err := tx.Exec(e.ctx, q); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			if _, err := tx.Exec(e.ctx, `INSERT INTO app.accounts (full_name, country) VALUES ('Lou', 'France')`); err == nil {
				return errors.New("a France row was inserted")
			}
			_, err := tx.Exec(e.ctx, `ROLLBACK TO SAVEPOINT s`)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.one("postgres", `SELECT string_agg(full_name || ':' || points, ',' ORDER BY id) FROM app.accounts WHERE country = 'Mexico'`); got != "Ben:10,Kim:10" {
		t.Errorf("after the commit: %s", got)
	}
	if got := e.one("postgres", `SELECT points || ':' || full_name FROM app.accounts WHERE id = 3`); got != before {
		t.Errorf("the hidden row changed: %s -> %s", before, got)
	}
	if got := e.one("postgres", `SELECT count(*) FROM app.accounts WHERE full_name = 'Lou'`); got != "0" {
		t.Error("the rolled back insert is there")
	}

	// COPY into a table without row rules: the serial default applies.
	if n, err := e.copyIn(e.writer, `COPY app.notes (body) FROM STDIN`, "first\nsecond\n"); err != nil || n != 2 {
		t.Errorf("COPY into app.notes: %d rows, %v", n, err)
	}
	if _, err := e.copyIn(e.reader, `COPY app.notes (body) FROM STDIN`, "third\n"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("a reader copied into app.notes: %v", err)
	}
	// Under row rules PostgreSQL refuses COPY FROM; a temporary table and
	// INSERT ... SELECT do the same, under the row rules.
	if _, err := e.copyIn(e.writer, `COPY app.accounts (full_name, country) FROM STDIN`, "Mo\tMexico\n"); err == nil ||
		!strings.Contains(err.Error(), "COPY FROM not supported with row-level security") {
		t.Errorf("COPY into app.accounts: %v", err)
	}
	load := func(data string) error {
		return e.query(e.writer, func(c *pgx.Conn) error {
			return pgx.BeginFunc(e.ctx, c, func(tx pgx.Tx) error {
				if _, err := tx.Exec(e.ctx, `CREATE TEMPORARY TABLE load (full_name text, country text) ON COMMIT DROP`); err != nil {
					return err
				}
				if _, err := tx.Conn().PgConn().CopyFrom(e.ctx, strings.NewReader(data), `COPY load FROM STDIN`); err != nil {
					return err
				}
				_, err := tx.Exec(e.ctx, `INSERT INTO app.accounts (full_name, country) SELECT full_name, country FROM load`)
				return err
			})
		})
	}
	if err := load("Mo\tMexico\nNed\tUnited States\n"); err != nil {
		t.Errorf("loading through a temporary table: %v", err)
	}
	if err := load("Oz\tMexico\nPia\tFrance\n"); err == nil || !strings.Contains(err.Error(), rowRefused) {
		t.Errorf("loading a France row: %v", err)
	}
	if got := e.one("postgres", `SELECT string_agg(full_name, ',' ORDER BY id) FROM app.accounts WHERE id > 4`); got != "Kim,Mo,Ned" {
		t.Errorf("rows inserted: %s", got)
	}
}

// hasPrivileges lists what a role holds on the table, its columns and its
// serial sequence, and whether custos's row security policies name it.
func (w *writeEnv) privileges(role string) string {
	return w.one("postgres", `SELECT concat_ws(',',
		CASE WHEN has_table_privilege($1, 'app.accounts', 'DELETE') THEN 'DELETE' END,
		CASE WHEN has_any_column_privilege($1, 'app.accounts', 'SELECT') THEN 'SELECT' END,
		CASE WHEN has_any_column_privilege($1, 'app.accounts', 'INSERT') THEN 'INSERT' END,
		CASE WHEN has_any_column_privilege($1, 'app.accounts', 'UPDATE') THEN 'UPDATE' END,
		CASE WHEN has_table_privilege($1, 'app.accounts', 'TRUNCATE') THEN 'TRUNCATE' END,
		CASE WHEN has_sequence_privilege($1, 'app.accounts_id_seq', 'USAGE') THEN 'sequence' END,
		CASE WHEN EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = 'app.accounts'::regclass AND (SELECT oid FROM pg_roles WHERE rolname = $1) = ANY (polroles))
		     THEN 'policies' END)`, role)
}

// Losing WRITE takes every privilege it gave, sequences and row security
// policies included, at the next push: as a reader, or with no access at
// all (a user disabled or no longer mapped).
func TestLosingWriteRevokesEverything(t *testing.T) {
	e := newWriteEnv(t)
	if got := e.privileges(e.writer); got != "DELETE,SELECT,INSERT,UPDATE,sequence,policies" {
		t.Fatalf("a writer holds %s", got)
	}
	if got := e.privileges(e.reader); got != "" {
		t.Fatalf("a reader holds %s", got)
	}
	writes := []string{
		`INSERT INTO app.accounts (full_name, country) VALUES ('Eve', 'Mexico')`,
		`UPDATE app.accounts SET points = 1 WHERE id = 1`,
		`DELETE FROM app.accounts WHERE id = 1`,
		`SELECT id FROM app.accounts`,
		`TRUNCATE app.accounts`,
	}
	// WRITE becomes READ (a policy change, a revoked or expired grant).
	e.grant(1, []string{e.writer, e.reader}, []string{e.clearWriter})
	e.grant(2, []string{e.writer, e.reader}, []string{e.clearWriter})
	e.sync()
	if got := e.privileges(e.writer); got != "" {
		t.Errorf("a former writer holds %s", got)
	}
	for _, q := range writes {
		e.expect(t, e.writer, "former writer", q, fails(tableDenied))
	}
	if n, err := e.try(e.writer, `SELECT nextval('app.accounts_id_seq')`); err == nil || !strings.Contains(err.Error(), "permission denied for sequence") {
		t.Errorf("a former writer draws from the sequence: %d %v", n, err)
	}
	e.expect(t, e.writer, "former writer", `SELECT * FROM app_governed.accounts`, ok(3))
	if got := e.privileges(e.clearWriter); got != "DELETE,SELECT,INSERT,UPDATE,sequence,policies" {
		t.Errorf("the other writer holds %s", got)
	}
	// No access at all: the user is disabled (custos maps no role to them).
	delete(e.ents, e.clearWriter)
	e.grant(1, []string{e.writer, e.reader}, nil)
	e.grant(2, []string{e.writer, e.reader}, nil)
	e.sync()
	if got := e.privileges(e.clearWriter); got != "" {
		t.Errorf("a disabled writer holds %s", got)
	}
	for _, q := range writes {
		e.expect(t, e.clearWriter, "disabled writer", q, fails(tableDenied))
	}
	e.expect(t, e.clearWriter, "disabled writer", `SELECT * FROM app_governed.accounts`, fails(viewDenied))
	if n := e.one("postgres", `SELECT count(*) FROM custos.grants WHERE grantee IN ($1, $2) AND kind <> 'schema'`, e.writer, e.clearWriter); n != "0" {
		t.Errorf("%s grants remain on record", n)
	}
	if again := e.sync(); len(again.Changes) != 0 || len(again.Drift) != 0 {
		t.Errorf("a second reconcile changed %v, drift %v", again.Changes, again.Drift)
	}
	// Regaining WRITE gives it all back.
	e.grant(1, []string{e.reader}, []string{e.writer})
	e.sync()
	if got := e.privileges(e.writer); got != "DELETE,SELECT,INSERT,UPDATE,sequence,policies" {
		t.Errorf("a writer again holds %s", got)
	}
}

// Changes made by hand to what WRITE grants are repaired like any other.
func TestWritePrivilegesDriftIsRepaired(t *testing.T) {
	e := newWriteEnv(t)
	for _, c := range []struct{ by, want string }{
		{`REVOKE USAGE ON SEQUENCE app.accounts_id_seq FROM ` + e.writer, "USAGE on sequence"},
		{`REVOKE INSERT (full_name) ON app.accounts FROM ` + e.writer, "INSERT on columns of"},
		{`GRANT SELECT (ssn) ON app.accounts TO ` + e.writer, "SELECT on columns of"},
		{`GRANT UPDATE ON app.accounts TO ` + e.writer, "UPDATE on"},
		{`GRANT TRUNCATE ON app.accounts TO ` + e.writer, "TRUNCATE on"},
		{`GRANT SELECT, UPDATE ON SEQUENCE app.accounts_id_seq TO ` + e.writer, "on sequence"},
		{`GRANT INSERT (full_name) ON app.accounts TO ` + e.reader, "INSERT on columns of"},
		{`GRANT USAGE ON SEQUENCE app.accounts_id_seq TO ` + e.reader, "USAGE on sequence"},
		{`ALTER POLICY custos_writer_` + e.writer + ` ON app.accounts USING (true)`, "changed by hand"},
		{`ALTER POLICY custos_writer_` + e.writer + ` ON app.accounts TO ` + e.reader, "changed by hand"},
		{`DROP POLICY custos_writer_` + e.writer + ` ON app.accounts`, "dropped by hand"},
		{`DROP POLICY custos_row_filter ON app.accounts`, "dropped by hand"},
		{`DROP POLICY custos_view_access ON app.accounts`, ""},
	} {
		e.mustRows("postgres", c.by)
		rep := e.sync()
		if len(rep.Changes) == 0 {
			t.Errorf("%s: nothing repaired", c.by)
		}
		if d := strings.Join(rep.Drift, "\n"); c.want != "" && !strings.Contains(d, c.want) {
			t.Errorf("%s: drift %v", c.by, rep.Drift)
		}
		if got := e.privileges(e.writer); got != "DELETE,SELECT,INSERT,UPDATE,sequence,policies" {
			t.Errorf("%s: the writer holds %s", c.by, got)
		}
		if got := e.privileges(e.reader); got != "" {
			t.Errorf("%s: the reader holds %s", c.by, got)
		}
		e.expect(t, e.writer, "writer", `UPDATE app.accounts SET points = 1`, ok(3))
		e.expect(t, e.writer, "writer", `SELECT ssn FROM app.accounts`, fails(tableDenied))
		if again := e.sync(); len(again.Changes) != 0 {
			t.Errorf("%s: a second reconcile changed %v", c.by, again.Changes)
		}
	}
}

// A failure to bring a data source up to date closes its table to writers
// too: nobody writes, or reads directly, under decisions that no longer hold.
func TestAFailureClosesTheTableToWriters(t *testing.T) {
	e := newWriteEnv(t)
	e.mustRows("postgres", `ALTER TABLE app.accounts RENAME TO accounts_old`)
	rep, err := Reconcile(e.ctx, e.db, e.sys, e.desired(true))
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Sources[1]; r.Err == nil || !strings.Contains(r.Err.Error(), "nobody may write") {
		t.Fatalf("the failure: %v", r.Err)
	}
	if _, err := e.try(e.writer, `UPDATE app.accounts_old SET points = 1`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the writer writes the renamed table: %v", err)
	}
	e.mustRows("postgres", `ALTER TABLE app.accounts_old RENAME TO accounts`)
	e.sync()
	e.expect(t, e.writer, "writer", `UPDATE app.accounts SET points = 1`, ok(3))
}

// A registered view with row rules cannot bind writes to them: nobody
// writes it. Without row rules its writers write the columns they read in
// clear.
func TestWritesThroughARegisteredView(t *testing.T) {
	e := newWriteEnv(t)
	e.mustRows("postgres", `CREATE VIEW app.account_names AS SELECT id, full_name, country, ssn FROM app.accounts`)
	e.source(3, "app", "account_names", map[string][]string{"ssn": {"PII.SSN"}, "country": {"Geo.Country"}})
	e.grant(3, []string{e.reader}, []string{e.writer})
	rep := e.sync()
	if w := strings.Join(rep.Sources[3].Warnings, "\n"); !strings.Contains(w, "its writers only read") {
		t.Errorf("warnings: %v", rep.Sources[3].Warnings)
	}
	if _, err := e.try(e.writer, `UPDATE app.account_names SET full_name = 'x'`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the writer writes a view with row rules: %v", err)
	}
	e.expect(t, e.writer, "writer", `SELECT * FROM app_governed.account_names`, ok(3))
	// Without row rules (the rule's tag gone), writes go through the view.
	if _, err := e.ix.UntagColumn(3, "country", "Geo.Country"); err != nil {
		t.Fatal(err)
	}
	e.sync()
	e.expect(t, e.writer, "writer", `UPDATE app.account_names SET full_name = 'x' WHERE id = 3`, ok(1))
	e.expect(t, e.writer, "writer", `UPDATE app.account_names SET ssn = 'x' WHERE id = 3`, fails("permission denied for view account_names"))
}

// A writer limited by an equalized project touches only the rows both
// their own and their limited entitlements keep, as they read them.
func TestEqualizedWriterWritesWhatTheyRead(t *testing.T) {
	e := newWriteEnv(t)
	limited := e.user("limited", policy.User{Attributes: map[string][]string{"Country": {"United States", "Mexico"}},
		Own: &policy.Own{Attributes: map[string][]string{"Country": {"Mexico", "France"}}}})
	e.grant(1, []string{e.reader}, []string{e.writer, limited})
	e.sync()
	if got := e.one(limited, `SELECT string_agg(id::text, ',' ORDER BY id) FROM app_governed.accounts`); got != "2" {
		t.Fatalf("the limited writer reads %s", got)
	}
	e.expect(t, limited, "limited writer", `UPDATE app.accounts SET points = 1`, ok(1))
	e.expect(t, limited, "limited writer", `INSERT INTO app.accounts (full_name, country) VALUES ('x', 'United States')`, fails(rowRefused))
	e.expect(t, limited, "limited writer", `INSERT INTO app.accounts (full_name, country) VALUES ('x', 'France')`, fails(rowRefused))
	e.expect(t, limited, "limited writer", `INSERT INTO app.accounts (full_name, country) VALUES ('x', 'Mexico')`, ok(1))
}
