package auditexport

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/custosdata/custos/internal/store"
)

const configColumns = `id, type, export_interval, enabled, endpoint, secrets, created_at, created_by, updated_at,
	updated_by, cursor_time, cursor_id, next_run_at, last_run_at, state, message, exported_records`

func scanConfig(row interface{ Scan(...any) error }) (*Config, error) {
	var (
		c                  Config
		endpoint, by, upBy store.JSON
		sealed, message    sql.NullString
		lastRun            sql.NullTime
	)
	err := row.Scan(&c.ID, &c.Type, &c.Interval, &c.Enabled, &endpoint, &sealed, &c.CreatedAt, &by, &c.UpdatedAt,
		&upBy, &c.CursorTime, &c.CursorID, &c.NextRunAt, &lastRun, &c.State, &message, &c.Exported)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.sealed, c.Message = sealed.String, message.String
	if lastRun.Valid {
		t := lastRun.Time.UTC()
		c.LastRunAt = &t
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.CursorTime, c.NextRunAt = c.CursorTime.UTC(), c.NextRunAt.UTC()
	for _, part := range []struct {
		raw store.JSON
		dst any
	}{{endpoint, &c.Endpoint}, {by, &c.CreatedBy}, {upBy, &c.UpdatedBy}} {
		if err := json.Unmarshal(part.raw, part.dst); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertConfig(ctx context.Context, q *store.Queries, c *Config) error {
	endpoint, by, upBy, err := jsonColumns(c)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO audit_export_configs (`+configColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7,
		$8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`, c.ID, c.Type, c.Interval, c.Enabled, endpoint,
		nullable(c.sealed), c.CreatedAt, by, c.UpdatedAt, upBy, c.CursorTime, c.CursorID, c.NextRunAt, c.LastRunAt,
		c.State, nullable(c.Message), c.Exported)
	return err
}

// updateConfig writes the fields an API call changes.
func updateConfig(ctx context.Context, q *store.Queries, c *Config) error {
	_, _, upBy, err := jsonColumns(c)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `UPDATE audit_export_configs SET enabled = $2, updated_at = $3, updated_by = $4,
		next_run_at = $5 WHERE id = $1`, c.ID, c.Enabled, c.UpdatedAt, upBy, c.NextRunAt)
	return err
}

func jsonColumns(c *Config) (endpoint, by, upBy store.JSON, err error) {
	if endpoint, err = store.ToJSON(c.Endpoint); err != nil {
		return
	}
	if by, err = store.ToJSON(c.CreatedBy); err != nil {
		return
	}
	upBy, err = store.ToJSON(c.UpdatedBy)
	return
}

func deleteConfig(ctx context.Context, q *store.Queries, id string) error {
	_, err := q.Exec(ctx, `DELETE FROM audit_export_configs WHERE id = $1`, id)
	return err
}

// getConfig reads one configuration; lock takes a row lock on PostgreSQL
// (SQLite transactions already hold the database's write lock).
func getConfig(ctx context.Context, q *store.Queries, id string, lock bool) (*Config, error) {
	query := `SELECT ` + configColumns + ` FROM audit_export_configs WHERE id = $1`
	if lock && q.Backend() == store.Postgres {
		query += ` FOR UPDATE`
	}
	return scanConfig(q.QueryRow(ctx, query, id))
}

func listConfigs(ctx context.Context, q *store.Queries) ([]*Config, error) {
	return queryConfigs(ctx, q, `SELECT `+configColumns+` FROM audit_export_configs ORDER BY created_at, id`)
}

// dueConfigs returns the enabled configurations whose next export is due.
func dueConfigs(ctx context.Context, q *store.Queries, now time.Time) ([]*Config, error) {
	return queryConfigs(ctx, q, `SELECT `+configColumns+` FROM audit_export_configs
		WHERE enabled = $1 AND next_run_at <= $2 ORDER BY next_run_at, id`, true, now)
}

func queryConfigs(ctx context.Context, q *store.Queries, query string, args ...any) ([]*Config, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Config
	for rows.Next() {
		c, err := scanConfig(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// claim takes a due configuration for one run: its next run moves out by
// the lease, so that no other server starts it meanwhile. It reports
// false when another server claimed it first.
func claim(ctx context.Context, db *store.DB, id string, now, leaseUntil time.Time) (*Config, bool, error) {
	var out *Config
	err := db.InTx(ctx, func(tx *store.Tx) error {
		c, err := getConfig(ctx, &tx.Queries, id, true)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if !c.Enabled || c.NextRunAt.After(now) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_export_configs SET next_run_at = $2 WHERE id = $1`, id, leaseUntil); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, out != nil, err
}

// progress records an exported batch: the cursor moves to its last record,
// but only if nobody moved it meanwhile (a run that lost its lease).
func progress(ctx context.Context, db *store.DB, c *Config, lastTime time.Time, lastID string, n int) (bool, error) {
	var moved bool
	err := db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE audit_export_configs SET cursor_time = $4, cursor_id = $5,
			exported_records = exported_records + $6 WHERE id = $1 AND cursor_time = $2 AND cursor_id = $3`,
			c.ID, c.CursorTime, c.CursorID, lastTime, lastID, n)
		if err != nil {
			return err
		}
		affected, err := res.RowsAffected()
		moved = affected == 1
		return err
	})
	if moved {
		c.CursorTime, c.CursorID, c.Exported = lastTime, lastID, c.Exported+int64(n)
	}
	return moved, err
}

// finish records the outcome of a run and schedules the next one.
func finish(ctx context.Context, db *store.DB, c *Config, ranAt, next time.Time, state, message string) error {
	_, err := db.Exec(ctx, `UPDATE audit_export_configs SET last_run_at = $2, next_run_at = $3, state = $4,
		message = $5 WHERE id = $1`, c.ID, ranAt, next, state, nullable(message))
	return err
}
