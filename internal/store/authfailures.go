package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// AuthFailures is what the store keeps about the failed authentications of
// one subject: an account or a source address (see migration 0710).
type AuthFailures struct {
	Subject      string
	TAT          *time.Time // password-login budget: whole once this has passed
	WindowStart  *time.Time // the current audit minute
	Recorded     int64      // failures recorded one by one in that minute
	Pending      int64      // failures counted but not yet in the audit trail
	PendingSince *time.Time
}

const authFailureColumns = `subject, tat, window_start, recorded, pending, pending_since`

func scanAuthFailures(row interface{ Scan(...any) error }) (*AuthFailures, error) {
	var f AuthFailures
	err := row.Scan(&f.Subject, &f.TAT, &f.WindowStart, &f.Recorded, &f.Pending, &f.PendingSince)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &f, err
}

// LockAuthFailures returns subject's record, a blank one when it has none,
// for a change that depends on it: on PostgreSQL the row stays locked until
// the transaction ends, so that servers sharing the store count every
// attempt once (SQLite transactions hold the database's write lock).
// Transactions locking several subjects lock them in sorted order.
func (q *Queries) LockAuthFailures(ctx context.Context, subject string) (*AuthFailures, error) {
	if _, err := q.Exec(ctx, `INSERT INTO auth_failures (subject) VALUES ($1) ON CONFLICT (subject) DO NOTHING`, subject); err != nil {
		return nil, err
	}
	query := `SELECT ` + authFailureColumns + ` FROM auth_failures WHERE subject = $1`
	if q.backend == Postgres {
		query += ` FOR UPDATE`
	}
	return scanAuthFailures(q.QueryRow(ctx, query, subject))
}

// SaveAuthFailures writes a record read with LockAuthFailures back.
func (q *Queries) SaveAuthFailures(ctx context.Context, f *AuthFailures) error {
	res, err := q.Exec(ctx, `UPDATE auth_failures SET tat = $2, window_start = $3, recorded = $4, pending = $5,
		pending_since = $6 WHERE subject = $1`, f.Subject, f.TAT, f.WindowStart, f.Recorded, f.Pending, f.PendingSince)
	return affectedOne(res, err)
}

// PendingAuthFailures locks up to limit records holding failures not yet in
// the audit trail whose audit minute began before before. On PostgreSQL rows
// another server is flushing are skipped, not waited for.
func (q *Queries) PendingAuthFailures(ctx context.Context, before time.Time, limit int) ([]*AuthFailures, error) {
	query := `SELECT ` + authFailureColumns + ` FROM auth_failures WHERE pending > 0 AND window_start < $1
		ORDER BY subject LIMIT $2`
	if q.backend == Postgres {
		query += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := q.Query(ctx, query, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AuthFailures
	for rows.Next() {
		f, err := scanAuthFailures(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// PruneAuthFailures deletes the records that hold nothing any more: no
// failure waiting for the audit trail, a whole budget at now, and an audit
// minute that began before before.
func (q *Queries) PruneAuthFailures(ctx context.Context, now, before time.Time) (int64, error) {
	res, err := q.Exec(ctx, `DELETE FROM auth_failures WHERE pending = 0 AND (tat IS NULL OR tat <= $1)
		AND (window_start IS NULL OR window_start < $2)`, now, before)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
