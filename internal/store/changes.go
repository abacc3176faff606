package store

import (
	"context"
	"strconv"
	"time"
)

// Change is one entry of the change log.
type Change struct {
	ID        int64
	Kind      string // e.g. "userGroups", "tagAttached", "policySaved"
	ModelType string // e.g. "user", "group", "datasource", "column", "policy"
	ModelID   string
	CreatedAt time.Time
}

// AppendChange records a change; call it in the transaction making the change.
func (q *Queries) AppendChange(ctx context.Context, kind, modelType, modelID string) error {
	_, err := q.Exec(ctx, `INSERT INTO changes (kind, model_type, model_id, created_at) VALUES ($1, $2, $3, $4)`,
		kind, modelType, modelID, Now())
	return err
}

// ChangesAfter returns up to limit changes with ids greater than after, oldest first.
func (q *Queries) ChangesAfter(ctx context.Context, after int64, limit int) ([]Change, error) {
	rows, err := q.Query(ctx, `SELECT id, kind, model_type, model_id, created_at FROM changes WHERE id > $1
		ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.ID, &c.Kind, &c.ModelType, &c.ModelID, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastChangeID returns the id of the newest change, or 0.
func (q *Queries) LastChangeID(ctx context.Context) (int64, error) {
	var id *int64
	err := q.QueryRow(ctx, `SELECT MAX(id) FROM changes`).Scan(&id)
	if id == nil {
		return 0, err
	}
	return *id, err
}

// XIDHorizon is, on PostgreSQL, the oldest transaction id not yet finished
// (the current snapshot's xmin): a change invisible now is written by a
// transaction at or above it.
func (q *Queries) XIDHorizon(ctx context.Context) (int64, error) {
	var h int64
	err := q.QueryRow(ctx, `SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint`).Scan(&h)
	return h, err
}

// WrittenChange is a change with the transaction that wrote it.
type WrittenChange struct {
	Change
	Writer int64
}

// ChangesWrittenSince returns, on PostgreSQL, the changes written by
// transactions with ids at or above horizon, oldest first, and the horizon
// of the snapshot that read them: every change it did not see is written at
// or above that horizon, so the next read starts there.
func (q *Queries) ChangesWrittenSince(ctx context.Context, horizon int64) ([]WrittenChange, int64, error) {
	// One statement, one snapshot: the horizon belongs to the rows read.
	rows, err := q.Query(ctx, `SELECT s.xmin, c.id, c.kind, c.model_type, c.model_id, c.created_at, c.writer_xid::text::bigint
		FROM (SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint AS xmin) s
		LEFT JOIN changes c ON c.writer_xid >= $1::text::xid8 ORDER BY c.id`, strconv.FormatInt(horizon, 10))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []WrittenChange
	next := horizon
	for rows.Next() {
		var id, writer *int64
		var kind, modelType, modelID *string
		var at *time.Time
		if err := rows.Scan(&next, &id, &kind, &modelType, &modelID, &at, &writer); err != nil {
			return nil, 0, err
		}
		if id != nil {
			out = append(out, WrittenChange{Change: Change{ID: *id, Kind: *kind, ModelType: *modelType, ModelID: *modelID,
				CreatedAt: *at}, Writer: *writer})
		}
	}
	return out, next, rows.Err()
}
