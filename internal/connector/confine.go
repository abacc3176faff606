package connector

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/errs"
)

// Reading a database runs code its users wrote: the functions a view calls,
// a table's row security policies, what a query source calls or what the
// planner folds while describing it. That code runs as the connecting role.
// custos therefore reads only as a role that can do nothing but read, and
// never as one that can leave a read-only transaction:
//
//   - a superuser (or a role that may become one, by membership) can undo any
//     confinement from inside a function (RESET ROLE, SET SESSION
//     AUTHORIZATION, COPY ... TO PROGRAM, which a read-only transaction
//     allows), so such a connection is refused outright;
//   - members of the predefined roles below reach the server's files and
//     programs from SQL, which a read-only transaction does not stop either:
//     refused too;
//   - everything else runs in a READ ONLY transaction, with search_path
//     pinned and statement and lock timeouts, rolled back; the session is
//     then reset (DISCARD ALL) before the connection serves anything else:
//     what the code left in it (advisory locks, prepared statements that
//     custos's own statements would run, settings) does not outlive the
//     read.

// serverRoles are the predefined roles whose members reach the database
// server's files or programs.
var serverRoles = []string{"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files"}

// roleCheck reports the session role's name, whether it is or may become a
// superuser, and the server roles it may act as.
const roleCheck = `
	SELECT r.rolname::text,
	       r.rolsuper OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles s
	                             WHERE s.rolsuper AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')),
	       ARRAY(SELECT s.rolname::text FROM pg_catalog.pg_roles s
	             WHERE s.rolname = ANY ($1::text[]) AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER')
	             ORDER BY s.rolname)
	FROM pg_catalog.pg_roles r WHERE r.rolname = pg_catalog.session_user()`

// lockTimeout bounds how long a read waits for a lock: a sample queued
// behind someone's DDL would make everyone after it queue too.
const lockTimeout = 5 * time.Second

// checkRole refuses a session role that could escape a read-only
// transaction; the error names connection.username.
func (p *Postgres) checkRole(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error {
	var name string
	var super bool
	var server []string
	if err := q.QueryRow(ctx, roleCheck, serverRoles).Scan(&name, &super, &server); err != nil {
		return p.fail(err, blameNone, "")
	}
	return unsafeRole(name, super, server)
}

// unsafeRole builds the refusal for a role that is (or may become) a
// superuser or may reach the server's files or programs; nil otherwise.
func unsafeRole(name string, super bool, server []string) error {
	const advice = "; register with a role that can only read: CONNECT on the database, USAGE on the schemas and SELECT on what you register (see \"Least privilege\" in docs/enforcement.md)"
	switch {
	case super:
		return errs.Field("connection.username", errs.CodeInvalid,
			"role %q is a superuser (or may become one): custos samples views and queries by running their code as the connecting role, and nothing confines a superuser's session%s", name, advice)
	case len(server) > 0:
		return errs.Field("connection.username", errs.CodeInvalid,
			"role %q is a member of %s, which reaches the database server's files or programs from SQL: custos runs the code of the views it samples as the connecting role%s",
			name, strings.Join(server, " and "), advice)
	}
	return nil
}

// confined runs fn in a READ ONLY transaction, after checking the session
// role (checkRole), with statements bounded by timeout (the source's
// default when 0), locks by lockTimeout and search_path pinned to
// pg_catalog (pinned is false for a query source, whose text may name
// relations unqualified: it then sees PostgreSQL's default path). The
// transaction is rolled back and the session reset (or the connection
// closed) whatever fn does.
func (p *Postgres) confined(ctx context.Context, timeout time.Duration, pinned bool, fn func(pgx.Tx) error) error {
	if timeout <= 0 {
		timeout = p.opts.StatementTimeout
	}
	// The statement timeout can be caught inside a function; the deadline
	// cannot.
	ctx, cancel := context.WithTimeout(ctx, timeout+p.opts.ConnectTimeout)
	defer cancel()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return connectError(err, p.conn)
	}
	defer func() {
		// Nothing the code left in the session may reach custos's later
		// statements on this connection: DISCARD ALL drops prepared
		// statements, temporary objects, advisory locks, cursors,
		// LISTENs and settings, and pgx forgets the statements it had
		// prepared. A connection that cannot be reset is closed.
		bg := context.WithoutCancel(ctx)
		c := conn.Conn()
		if c.IsClosed() || c.PgConn().Exec(bg, "DISCARD ALL").Close() != nil || c.DeallocateAll(bg) != nil {
			_ = c.Close(bg)
		}
		conn.Release()
	}()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	path := "pg_catalog, pg_temp"
	if !pinned {
		path = `"$user", public`
	}
	var name string
	var super bool
	var server []string
	var pid int
	err = tx.QueryRow(ctx, `
		SELECT pg_catalog.set_config('statement_timeout', $2, true), pg_catalog.set_config('lock_timeout', $3, true),
		       pg_catalog.set_config('search_path', $4, true), pg_catalog.pg_backend_pid(), c.*
		FROM (`+roleCheck+`) AS c`, serverRoles, strconv.FormatInt(timeout.Milliseconds(), 10),
		strconv.FormatInt(min(lockTimeout, timeout).Milliseconds(), 10), path).
		Scan(nil, nil, nil, &pid, &name, &super, &server)
	if err != nil {
		return err
	}
	if err := unsafeRole(name, super, server); err != nil {
		return err
	}
	err = fn(tx)
	if err != nil && ctx.Err() != nil {
		// The code caught the statement timeout and goes on: stop it (a
		// role may end its own sessions).
		_, _ = p.pool.Exec(context.WithoutCancel(ctx), `SELECT pg_catalog.pg_terminate_backend($1)`, pid)
	}
	return err
}
