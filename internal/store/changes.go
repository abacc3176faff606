package store

import (
	"context"
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
