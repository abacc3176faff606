package store

import (
	"context"
	"strings"
)

// Batched writes for operations that create many rows at once (registering
// a schema of a thousand tables): one statement per batch of rows instead of
// one per row, which matters most on PostgreSQL where each statement is a
// round trip.

// rowsPerStatement bounds a multi-row INSERT; with at most 25 columns the
// parameters stay far below both backends' limits. Statement shapes repeat,
// so prepared statements are reused. SQLite gains little from batching (no
// round trips) and binds numbered parameters in time quadratic in their
// count, so its batches are small.
func (q *Queries) rowsPerStatement() int {
	if q.backend == SQLite {
		return 8
	}
	return 50
}

// insertRows runs head + "(...), (...)" + tail for each batch of rows.
func (q *Queries) insertRows(ctx context.Context, head, tail string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), q.rowsPerStatement())
		var a Args
		var b strings.Builder
		b.WriteString(head)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(List(&a, r))
		}
		b.WriteString(tail)
		if _, err := q.Exec(ctx, b.String(), a...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// InsertDataSources creates data sources and sets their IDs. Names are
// unique, so ids are read back by name rather than relying on the order of
// RETURNING rows, which neither backend guarantees.
func (q *Queries) InsertDataSources(ctx context.Context, list []*DataSource) error {
	for per, start := q.rowsPerStatement(), 0; start < len(list); start += per {
		chunk := list[start:min(start+per, len(list))]
		rows := make([][]any, len(chunk))
		names := make([]string, len(chunk))
		for i, d := range chunk {
			rows[i] = []any{d.Name, d.ConnectionID, d.Technology, d.RemoteDatabase, d.RemoteSchema, d.RemoteTable,
				d.RemoteKind, d.Query, d.SQLSchemaName, d.SQLTableName, d.Description, d.Documentation, d.Status,
				d.EventTimeColumn, d.RecordFormat, d.CreatedBy, d.CreatedAt, d.UpdatedAt, d.DisabledAt, d.SchemaProject,
				d.HandlerMetadata, d.ColumnsFixed, d.RowEstimate, d.DisabledReason, d.SDDFrameworkID}
			names[i] = d.Name
		}
		if err := q.insertRows(ctx, `INSERT INTO data_sources (name, connection_id, technology, remote_database,
			remote_schema, remote_table, remote_kind, query, sql_schema_name, sql_table_name, description, documentation,
			status, event_time_column, record_format, created_by, created_at, updated_at, disabled_at, schema_project,
			handler_metadata, columns_fixed, row_estimate, disabled_reason, sdd_framework_id) VALUES `, "", rows); err != nil {
			return err
		}
		var a Args
		res, err := q.Query(ctx, `SELECT id, name FROM data_sources WHERE name IN `+List(&a, names), a...)
		if err != nil {
			return err
		}
		ids := make(map[string]int64, len(chunk))
		for res.Next() {
			var id int64
			var name string
			if err := res.Scan(&id, &name); err != nil {
				res.Close()
				return err
			}
			ids[name] = id
		}
		res.Close()
		if err := res.Err(); err != nil {
			return err
		}
		for _, d := range chunk {
			d.ID = ids[d.Name]
		}
	}
	return nil
}

// InsertColumnRows adds columns of any data sources (DataSourceID set).
func (q *Queries) InsertColumnRows(ctx context.Context, cols []Column) error {
	rows := make([][]any, len(cols))
	for i, c := range cols {
		rows[i] = []any{c.DataSourceID, c.Name, c.Position, c.DataType, c.RemoteType, c.Nullable, c.PrimaryKey,
			c.Description, c.IsNew, c.CreatedAt, c.UpdatedAt}
	}
	return q.insertRows(ctx, `INSERT INTO data_source_columns (`+columnColumns+`) VALUES `, "", rows)
}

// InsertAccesses adds access entries that do not exist yet.
func (q *Queries) InsertAccesses(ctx context.Context, list []*Access) error {
	rows := make([][]any, len(list))
	for i, a := range list {
		rows[i] = []any{a.DataSourceID, a.ModelType, a.ModelID, a.State, a.AccessGrant, a.Expiration, a.Reason,
			a.ApprovedBy, a.CreatedAt, a.UpdatedAt}
	}
	return q.insertRows(ctx, `INSERT INTO data_source_access (data_source_id, model_type, model_id, state, access_grant,
		expiration, reason, approved_by, created_at, updated_at) VALUES `, "", rows)
}

// AttachTags attaches tags to models; those already attached stay as they are.
func (q *Queries) AttachTags(ctx context.Context, list []*ModelTag) error {
	rows := make([][]any, len(list))
	for i, m := range list {
		rows[i] = []any{m.ModelType, m.ModelID, m.Tag.ID, m.Source, m.Context, m.AddedBy, m.CreatedAt}
	}
	return q.insertRows(ctx, `INSERT INTO model_tags (model_type, model_id, tag_id, source, context, added_by, created_at)
		VALUES `, ` ON CONFLICT (model_type, model_id, tag_id) DO NOTHING`, rows)
}

// AppendChanges records changes; call it in the transaction making them.
func (q *Queries) AppendChanges(ctx context.Context, list []Change) error {
	now := Now()
	rows := make([][]any, len(list))
	for i, c := range list {
		rows[i] = []any{c.Kind, c.ModelType, c.ModelID, now}
	}
	return q.insertRows(ctx, `INSERT INTO changes (kind, model_type, model_id, created_at) VALUES `, "", rows)
}

// InsertAudits appends records to the trail.
func (q *Queries) InsertAudits(ctx context.Context, list []*AuditRecord) error {
	rows := make([][]any, len(list))
	for i, r := range list {
		rows[i] = []any{r.ID, r.DateTime, r.RecordType, r.Action, r.Success, r.FailureReason, r.ProfileID, r.UserID, r.IAMID,
			r.ImpersonatorID, r.TargetType, r.TargetID, r.DataSourceID, r.DataSourceName, r.ProjectID, r.ProjectName,
			r.PolicyID, r.PolicyName, r.SQLUser, r.RequestID, r.Method, r.Path, r.RemoteAddr, r.Details}
	}
	return q.insertRows(ctx, `INSERT INTO audit_records (`+auditColumns+`) VALUES `, "", rows)
}
