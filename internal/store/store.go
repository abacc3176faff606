// Package store persists custos's state in SQLite (the embedded default) or
// PostgreSQL (production). One implementation over database/sql serves both:
// the SQL is portable, and migrations are written once with type macros that
// expand per backend (see migrate.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Backend names a storage engine.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// DB is an open store. Its query methods run outside a transaction; use InTx
// for anything that writes.
type DB struct {
	Queries
	sql     *sql.DB
	backend Backend
}

// Queries holds the query methods shared by DB and Tx.
type Queries struct {
	q       queryer
	backend Backend
	stmts   *stmtCache // SQLite only: parsing SQL dominates its small queries
	tx      *sql.Tx
}

type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a transaction; its query methods see its own writes.
type Tx struct {
	Queries
	tx *sql.Tx
}

// Open opens the store named by location: a postgres:// or postgresql:// URL
// selects PostgreSQL; anything else is a directory for the SQLite database
// (created if missing). It runs pending migrations before returning.
func Open(ctx context.Context, location string) (*DB, error) { return open(ctx, location, false) }

// ErrNoStore means OpenExisting found no custos store at the location.
var ErrNoStore = errors.New("no custos store")

// OpenExisting opens a store a custos server has created before, like Open,
// but creates nothing where there is none (ErrNoStore): for tools run
// beside a server, where a mistyped location must not become a new store.
func OpenExisting(ctx context.Context, location string) (*DB, error) {
	return open(ctx, location, true)
}

func open(ctx context.Context, location string, mustExist bool) (*DB, error) {
	var (
		db      *sql.DB
		backend Backend
		err     error
	)
	if strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://") {
		backend = Postgres
		cfg, err := pgx.ParseConfig(location)
		if err != nil {
			return nil, fmt.Errorf("parse postgres store URL: %w", err)
		}
		// Times come back in UTC whatever the server's or host's zone.
		db = stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
			c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
				Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
			return nil
		}))
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		backend = SQLite
		path := filepath.Join(location, "custos.db")
		if _, err := os.Stat(path); mustExist && err != nil {
			return nil, fmt.Errorf("%w in %s: %w", ErrNoStore, location, err)
		}
		if err := os.MkdirAll(location, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", location, err)
		}
		// WAL lets readers proceed during a write; immediate transactions
		// take the write lock up front so two writers never deadlock on
		// upgrading a read lock.
		dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s store: %w", backend, err)
	}
	if mustExist && backend == Postgres {
		var found bool
		err := db.QueryRowContext(ctx, `SELECT pg_catalog.to_regclass('users') IS NOT NULL
			AND pg_catalog.to_regclass('goose_db_version') IS NOT NULL`).Scan(&found)
		if err == nil && !found {
			err = fmt.Errorf("%w in this PostgreSQL database (custos's tables are not in its search path)", ErrNoStore)
		}
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	s := &DB{Queries: Queries{q: db, backend: backend}, sql: db, backend: backend}
	if backend == SQLite {
		s.stmts = newStmtCache(db)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Backend says which engine the store runs on.
func (db *DB) Backend() Backend { return db.backend }

// Close closes the store.
func (db *DB) Close() error {
	if db.stmts != nil {
		db.stmts.close()
	}
	return db.sql.Close()
}

// Ping checks that the store answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise (also on panic). Serialization failures on PostgreSQL and
// busy errors on SQLite are retried a few times.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	return err
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{Queries: Queries{q: stx, backend: db.backend, stmts: db.stmts, tx: stx}, tx: stx}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Serialize makes the transactions that call it with the same name run
// that part one at a time, until each ends: on PostgreSQL, whose default
// isolation lets two transactions check an invariant over many rows at
// once and both break it, it takes a transaction-scoped advisory lock.
// SQLite transactions already hold the database's write lock.
func (q *Queries) Serialize(ctx context.Context, name string) error {
	if q.backend != Postgres {
		return nil
	}
	if q.tx == nil {
		return errors.New("store: Serialize needs a transaction")
	}
	_, err := q.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($1, 0))`, name)
	return err
}

func retryable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 40001") || strings.Contains(msg, "SQLSTATE 40P01") ||
		strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// ErrNotFound is returned by getters when no row matches.
var ErrNotFound = errors.New("not found")

// IsUniqueViolation reports whether err comes from a unique constraint.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed")
}

// Backend says which engine the queries run on.
func (q *Queries) Backend() Backend { return q.backend }

// prepared returns a cached prepared statement for query, bound to the
// transaction when there is one, or nil when statements are not cached.
func (q *Queries) prepared(ctx context.Context, query string) *sql.Stmt {
	if q.stmts == nil {
		return nil
	}
	st := q.stmts.get(ctx, query)
	if st != nil && q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
}

// Exec runs a statement.
func (q *Queries) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.q.ExecContext(ctx, query, args...)
}

// Query runs a query returning rows.
func (q *Queries) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.q.QueryContext(ctx, query, args...)
}

// QueryRow runs a query returning at most one row.
func (q *Queries) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.q.QueryRowContext(ctx, query, args...)
}

// Now is the store's notion of the current time: UTC, millisecond precision,
// so that both backends return exactly what was written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
