package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reading a governed relation runs code its owner put there (a view's
// functions, row security policies), and custos connects as an
// administrator. So custos reads a relation only as the relation's owner,
// and in a way the code cannot undo:
//
//   - the read is the body of a SECURITY DEFINER function owned by the
//     relation's owner, created for the occasion in the session's temporary
//     schema: inside it current_user is the owner, and PostgreSQL refuses SET
//     ROLE, RESET ROLE, SET SESSION AUTHORIZATION and their set_config
//     forms, so the code cannot get back to custos's role;
//   - the transaction is made READ ONLY before the function runs, and rolled
//     back afterwards (the function with it);
//   - it runs on a connection of its own, closed afterwards: nothing the
//     code left in the session (advisory locks, prepared statements that
//     custos's later statements would run, settings) outlives the read;
//   - statements are bounded by readTimeout and locks by the session's
//     lock_timeout, so a hostile relation cannot hold enforcement up;
//   - a relation whose reading runs code (anything but a table or a
//     materialized view) is not read at all when its owner is (or may
//     become) a superuser, may act as custos's own role, or reaches the
//     server's files or programs: its code could call anybody's functions
//     with those rights.

// readTimeout bounds one read of a governed relation.
const readTimeout = 2 * time.Minute

// valueDomain is what Randomized Response draws from for one column: up to
// 1,000 distinct values as text, and for numbers the range.
type valueDomain struct {
	Vals   []string
	Lo, Hi *float64
}

// errNotRead says custos refused to read a relation.
var errNotRead = errors.New("custos does not read it")

// readDomain reads the value domain of column col of rel as its owner (see
// above); numeric adds the range.
func (rc *run) readDomain(rel *relation, col string, numeric bool) (*valueDomain, error) {
	ctx, cancel := context.WithTimeout(rc.ctx, readTimeout+10*time.Second)
	defer cancel()
	conn, err := rc.db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
	}()
	var out *valueDomain
	pid := 0
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		name, c := qualified(rel.Schema, rel.Name), quoteOr(col)
		bounds := "NULL::pg_catalog.float8, NULL::pg_catalog.float8"
		if numeric {
			bounds = "(SELECT pg_catalog.min(" + c + ")::pg_catalog.float8 FROM " + name + "), (SELECT pg_catalog.max(" + c + ")::pg_catalog.float8 FROM " + name + ")"
		}
		// Creating the function binds its body to the relation and locks
		// it until the transaction ends: what is checked next is what the
		// function reads.
		create := `CREATE FUNCTION pg_temp.custos_read_domain()
			RETURNS TABLE (vals pg_catalog.text[], lo pg_catalog.float8, hi pg_catalog.float8)
			LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
			BEGIN ATOMIC
				SELECT ARRAY(SELECT v FROM (SELECT DISTINCT ` + c + `::pg_catalog.text AS v FROM ` + name + ` WHERE ` + c + ` IS NOT NULL) AS d
				             ORDER BY v LIMIT 1000), ` + bounds + `;
			END`
		if _, err := tx.Exec(ctx, create); err != nil {
			return statementError(err, create)
		}
		var kind, owner string
		var super, custos, server bool
		err := tx.QueryRow(ctx, `
			SELECT c.relkind::pg_catalog.text, r.rolname::pg_catalog.text,
			       r.rolsuper OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles s WHERE s.rolsuper AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')),
			       pg_catalog.pg_has_role(r.oid, $2::pg_catalog.name, 'MEMBER'),
			       EXISTS (SELECT 1 FROM pg_catalog.pg_roles s WHERE s.rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files')
			               AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')),
			       pg_catalog.pg_backend_pid(), pg_catalog.set_config('statement_timeout', $3, true)
			FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
			WHERE c.oid = $1::pg_catalog.regclass`, name, rc.sys.Role, fmt.Sprint(readTimeout.Milliseconds())).
			Scan(&kind, &owner, &super, &custos, &server, &pid, nil)
		if err != nil {
			return fmt.Errorf("look up the owner of %s: %w", name, err)
		}
		if (super || custos || server) && kind != "r" && kind != "p" && kind != "m" {
			why := "a superuser (or may become one)"
			switch {
			case custos && !super:
				why = "a role that may act as custos's " + quoteOr(rc.sys.Role)
			case server && !super:
				why = "a role that reaches the server's files or programs"
			}
			return fmt.Errorf("%w: %s is owned by %s, %s, and reading it would run its code with those rights; give it to an ordinary role",
				errNotRead, name, quoteOr(owner), why)
		}
		for _, stmt := range []string{
			`ALTER FUNCTION pg_temp.custos_read_domain() OWNER TO ` + quoteOr(owner),
			`SET TRANSACTION READ ONLY`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return statementError(err, stmt)
			}
		}
		d := &valueDomain{}
		if err := tx.QueryRow(ctx, `SELECT vals, lo, hi FROM pg_temp.custos_read_domain()`).Scan(&d.Vals, &d.Lo, &d.Hi); err != nil {
			return statementError(err, "SELECT the value domain of "+name+"."+c+" as "+quoteOr(owner))
		}
		out = d
		// Nothing of it is kept: the function goes with the transaction.
		return errRollback
	})
	if errors.Is(err, errRollback) {
		return out, nil
	}
	if err != nil && ctx.Err() != nil && pid != 0 {
		// The code caught the statement timeout and goes on: stop it.
		_, _ = rc.conn.Exec(context.WithoutCancel(rc.ctx), `SELECT pg_catalog.pg_terminate_backend($1)`, pid)
	}
	return nil, err
}

// errRollback ends a transaction that must not commit.
var errRollback = errors.New("rolled back")

// domainsToRead lists the columns of r.Domains whose stored domain is
// missing or older than a day.
func (rc *run) domainsToRead(dataSourceID int64, cols []string) ([]string, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	rows, err := rc.conn.Query(rc.ctx, `SELECT column_name FROM `+rc.sys.Table("domains")+`
		WHERE data_source_id = $1 AND refreshed_at > pg_catalog.now() - interval '1 day'`, dataSourceID)
	if err != nil {
		return nil, err
	}
	fresh, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cols {
		if !contains(fresh, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// domainWarning says why a column's value domain could not be read.
func domainWarning(col string, err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("the value domain of column %q (Randomized Response) was not refreshed: %s; replacement values are drawn from what custos read before, or are NULL", col, msg)
}
