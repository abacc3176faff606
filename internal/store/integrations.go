package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Integration is a platform custos enforces policies in.
type Integration struct {
	ID            int64
	Type          string // PostgreSQL, Snowflake, Databricks, ...
	Status        string // creating, enabled, editing, deleting, deleted, disabled, createError, ...
	AutoBootstrap bool
	Target        string // what the platform is, e.g. host:port/database; one integration per type and target
	Config        JSON   // the configuration without secrets
	Secret        *string
	Validation    JSON // the last validation results
	Message       *string
	Unmapped      JSON // users custos could not map to a database role
	CreatedBy     *int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SyncedAt      *time.Time
}

const integrationColumns = `id, type, status, auto_bootstrap, target, config, secret, validation, message, unmapped,
	created_by, created_at, updated_at, synced_at`

func scanIntegration(row interface{ Scan(...any) error }) (*Integration, error) {
	var i Integration
	err := row.Scan(&i.ID, &i.Type, &i.Status, &i.AutoBootstrap, &i.Target, &i.Config, &i.Secret, &i.Validation,
		&i.Message, &i.Unmapped, &i.CreatedBy, &i.CreatedAt, &i.UpdatedAt, &i.SyncedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &i, err
}

// CreateIntegration inserts i and sets its ID.
func (q *Queries) CreateIntegration(ctx context.Context, i *Integration) error {
	return q.QueryRow(ctx, `INSERT INTO integrations (type, status, auto_bootstrap, target, config, secret, validation,
		message, unmapped, created_by, created_at, updated_at, synced_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		i.Type, i.Status, i.AutoBootstrap, i.Target, i.Config, i.Secret, i.Validation, i.Message, i.Unmapped, i.CreatedBy,
		i.CreatedAt, i.UpdatedAt, i.SyncedAt).Scan(&i.ID)
}

// UpdateIntegration writes every mutable field of i.
func (q *Queries) UpdateIntegration(ctx context.Context, i *Integration) error {
	res, err := q.Exec(ctx, `UPDATE integrations SET status = $2, auto_bootstrap = $3, target = $4, config = $5,
		secret = $6, validation = $7, message = $8, unmapped = $9, updated_at = $10, synced_at = $11 WHERE id = $1`,
		i.ID, i.Status, i.AutoBootstrap, i.Target, i.Config, i.Secret, i.Validation, i.Message, i.Unmapped, i.UpdatedAt,
		i.SyncedAt)
	return affectedOne(res, err)
}

// SetIntegrationStatus changes an integration's status and message, only
// when its status is one of from (any status when from is empty); it reports
// whether it did.
func (q *Queries) SetIntegrationStatus(ctx context.Context, id int64, status string, message *string, now time.Time, from ...string) (bool, error) {
	var a Args
	where := `id = ` + a.Add(id)
	if len(from) > 0 {
		where += ` AND status IN ` + List(&a, from)
	}
	res, err := q.Exec(ctx, `UPDATE integrations SET status = `+a.Add(status)+`, message = `+a.Add(message)+
		`, updated_at = `+a.Add(now)+` WHERE `+where, a...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetIntegrationSynced records the end of a synchronisation.
func (q *Queries) SetIntegrationSynced(ctx context.Context, id int64, unmapped JSON, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE integrations SET unmapped = $2, synced_at = $3 WHERE id = $1`, id, unmapped, at)
	return err
}

// GetIntegration returns an integration by id.
func (q *Queries) GetIntegration(ctx context.Context, id int64) (*Integration, error) {
	return scanIntegration(q.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1`, id))
}

// Integrations lists every integration by id.
func (q *Queries) Integrations(ctx context.Context) ([]*Integration, error) {
	rows, err := q.Query(ctx, `SELECT `+integrationColumns+` FROM integrations ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Integration
	for rows.Next() {
		i, err := scanIntegration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// IntegrationSource is how one data source is enforced by an integration.
type IntegrationSource struct {
	IntegrationID int64
	DataSourceID  int64
	ViewName      *string
	State         string // synced, error, pending
	Message       *string
	Warnings      JSON
	// Closed lists the rules enforced closed there (policy.ClosedRule).
	Closed   JSON
	SyncedAt *time.Time
}

// PutIntegrationSource inserts or replaces a data source's status.
func (q *Queries) PutIntegrationSource(ctx context.Context, s *IntegrationSource) error {
	_, err := q.Exec(ctx, `INSERT INTO integration_sources (integration_id, data_source_id, view_name, state, message,
		warnings, closed, synced_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (integration_id, data_source_id) DO UPDATE SET view_name = EXCLUDED.view_name, state = EXCLUDED.state,
		message = EXCLUDED.message, warnings = EXCLUDED.warnings, closed = EXCLUDED.closed, synced_at = EXCLUDED.synced_at`,
		s.IntegrationID, s.DataSourceID, s.ViewName, s.State, s.Message, s.Warnings, s.Closed, s.SyncedAt)
	return err
}

// DeleteIntegrationSource forgets a data source's status.
func (q *Queries) DeleteIntegrationSource(ctx context.Context, integrationID, dataSourceID int64) error {
	_, err := q.Exec(ctx, `DELETE FROM integration_sources WHERE integration_id = $1 AND data_source_id = $2`, integrationID, dataSourceID)
	return err
}

// IntegrationSources lists the data source statuses of an integration.
func (q *Queries) IntegrationSources(ctx context.Context, integrationID int64) ([]*IntegrationSource, error) {
	rows, err := q.Query(ctx, `SELECT integration_id, data_source_id, view_name, state, message, warnings, closed, synced_at
		FROM integration_sources WHERE integration_id = $1 ORDER BY data_source_id`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*IntegrationSource
	for rows.Next() {
		var s IntegrationSource
		if err := rows.Scan(&s.IntegrationID, &s.DataSourceID, &s.ViewName, &s.State, &s.Message, &s.Warnings, &s.Closed, &s.SyncedAt); err != nil {
			return nil, err
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}

// Kinds of pending enforcement work.
const (
	PendingAll        = "all"
	PendingDataSource = "datasource"
	PendingUser       = "user"
)

// AddPending records work for an integration's enforcement job.
func (q *Queries) AddPending(ctx context.Context, integrationID int64, kind string, modelID int64, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO integration_pending (integration_id, kind, model_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (integration_id, kind, model_id) DO NOTHING`, integrationID, kind, modelID, now)
	return err
}

// Pending is one piece of pending work.
type Pending struct {
	Kind    string
	ModelID int64
}

// TakePending returns and deletes the integration's pending work.
func (q *Queries) TakePending(ctx context.Context, integrationID int64) ([]Pending, error) {
	rows, err := q.Query(ctx, `SELECT kind, model_id FROM integration_pending WHERE integration_id = $1 ORDER BY kind, model_id`, integrationID)
	if err != nil {
		return nil, err
	}
	var out []Pending
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.Kind, &p.ModelID); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range out {
		if _, err := q.Exec(ctx, `DELETE FROM integration_pending WHERE integration_id = $1 AND kind = $2 AND model_id = $3`,
			integrationID, p.Kind, p.ModelID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WaitingJob reports whether a job of type typ for the target has not
// started yet, so that a new request can ride on it.
func (q *Queries) WaitingJob(ctx context.Context, typ, targetType, targetID string) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE type = $1 AND target_type = $2 AND target_id = $3 AND state IN ($4, $5)`,
		typ, targetType, targetID, JobCreated, JobRetry).Scan(&n)
	return n > 0, err
}

// AuditCursor is where query-audit ingestion stopped.
type AuditCursor struct {
	Source   string // identity of the log read (e.g. a file and its inode)
	Position int64  // bytes consumed
}

// GetAuditCursor returns an integration's cursor, or ErrNotFound.
func (q *Queries) GetAuditCursor(ctx context.Context, integrationID int64) (*AuditCursor, error) {
	var c AuditCursor
	err := q.QueryRow(ctx, `SELECT source, position FROM integration_audit_cursors WHERE integration_id = $1`, integrationID).
		Scan(&c.Source, &c.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &c, err
}

// MoveAuditCursor moves the cursor from what the caller read (nil: no cursor
// yet) to next, and reports false when another server moved it first: the
// caller then rolls back, so every log record is ingested exactly once.
func (q *Queries) MoveAuditCursor(ctx context.Context, integrationID int64, from *AuditCursor, next AuditCursor, now time.Time) (bool, error) {
	if from == nil {
		res, err := q.Exec(ctx, `INSERT INTO integration_audit_cursors (integration_id, source, position, updated_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (integration_id) DO NOTHING`, integrationID, next.Source, next.Position, now)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	res, err := q.Exec(ctx, `UPDATE integration_audit_cursors SET source = $2, position = $3, updated_at = $4
		WHERE integration_id = $1 AND source = $5 AND position = $6`, integrationID, next.Source, next.Position, now, from.Source, from.Position)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
