package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Connection is a connection key of the V2 data API: how to reach a remote
// database and the desired state of its data sources.
type Connection struct {
	ID               int64
	ConnectionKey    string
	Technology       string // the handler: PostgreSQL, Snowflake, Databricks, ...
	Hostname         *string
	Port             *int64
	Database         *string
	Schema           *string
	ConnectionString *string // host:port/database, what the "server" circumstance matches
	Config           JSON    // the connection block without secrets
	Secret           *string // the secret fields, sealed
	NameTemplate     JSON
	Options          JSON
	Owners           JSON
	Sources          JSON
	Verified         bool // custos reached the database with these settings
	LastError        *string
	SchemaMonitoring bool
	LastMonitoredAt  *time.Time
	CreatedBy        *int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Origin           string // ConnectionV2 or ConnectionV1: the API that registered it
	Excluded         JSON   // tables ("schema.table") deleted by hand, which monitoring leaves out
}

// Connection origins.
const (
	ConnectionV2 = "v2" // a connection key of /api/v2/data
	ConnectionV1 = "v1" // grouped from a technology handler endpoint
)

const connectionColumns = `id, connection_key, technology, hostname, port, database_name, schema_name, connection_string,
	config, secret, name_template, options, owners, sources, verified, last_error, schema_monitoring, last_monitored_at,
	created_by, created_at, updated_at, origin, excluded`

func scanConnection(row interface{ Scan(...any) error }) (*Connection, error) {
	var c Connection
	err := row.Scan(&c.ID, &c.ConnectionKey, &c.Technology, &c.Hostname, &c.Port, &c.Database, &c.Schema,
		&c.ConnectionString, &c.Config, &c.Secret, &c.NameTemplate, &c.Options, &c.Owners, &c.Sources, &c.Verified,
		&c.LastError, &c.SchemaMonitoring, &c.LastMonitoredAt, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.Origin,
		&c.Excluded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &c, err
}

// CreateConnection inserts c and sets its ID.
func (q *Queries) CreateConnection(ctx context.Context, c *Connection) error {
	return q.QueryRow(ctx, `INSERT INTO connections (connection_key, technology, hostname, port, database_name,
		schema_name, connection_string, config, secret, name_template, options, owners, sources, verified, last_error,
		schema_monitoring, last_monitored_at, created_by, created_at, updated_at, origin, excluded)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		RETURNING id`,
		c.ConnectionKey, c.Technology, c.Hostname, c.Port, c.Database, c.Schema, c.ConnectionString, c.Config, c.Secret,
		c.NameTemplate, c.Options, c.Owners, c.Sources, c.Verified, c.LastError, c.SchemaMonitoring, c.LastMonitoredAt,
		c.CreatedBy, c.CreatedAt, c.UpdatedAt, origin(c.Origin), c.Excluded).Scan(&c.ID)
}

func origin(o string) string {
	if o == "" {
		return ConnectionV2
	}
	return o
}

// UpdateConnection writes every mutable field of c.
func (q *Queries) UpdateConnection(ctx context.Context, c *Connection) error {
	res, err := q.Exec(ctx, `UPDATE connections SET connection_key = $2, technology = $3, hostname = $4, port = $5,
		database_name = $6, schema_name = $7, connection_string = $8, config = $9, secret = $10, name_template = $11,
		options = $12, owners = $13, sources = $14, verified = $15, last_error = $16, schema_monitoring = $17,
		last_monitored_at = $18, updated_at = $19, origin = $20, excluded = $21 WHERE id = $1`,
		c.ID, c.ConnectionKey, c.Technology, c.Hostname, c.Port, c.Database, c.Schema, c.ConnectionString, c.Config,
		c.Secret, c.NameTemplate, c.Options, c.Owners, c.Sources, c.Verified, c.LastError, c.SchemaMonitoring,
		c.LastMonitoredAt, c.UpdatedAt, origin(c.Origin), c.Excluded)
	return affectedOne(res, err)
}

// DeleteConnection removes a connection; its data sources keep existing
// without it unless deleted first.
func (q *Queries) DeleteConnection(ctx context.Context, id int64) error {
	res, err := q.Exec(ctx, `DELETE FROM connections WHERE id = $1`, id)
	return affectedOne(res, err)
}

// GetConnection returns a connection by id.
func (q *Queries) GetConnection(ctx context.Context, id int64) (*Connection, error) {
	return scanConnection(q.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = $1`, id))
}

// GetConnectionByKey returns a connection by its connection key.
func (q *Queries) GetConnectionByKey(ctx context.Context, key string) (*Connection, error) {
	return scanConnection(q.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections WHERE connection_key = $1`, key))
}

// Connections lists every connection ordered by key.
func (q *Queries) Connections(ctx context.Context) ([]*Connection, error) {
	rows, err := q.Query(ctx, `SELECT `+connectionColumns+` FROM connections ORDER BY connection_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Data source statuses.
const (
	DataSourceEnabled  = "enabled"
	DataSourceDisabled = "disabled" // soft-deleted or its table disappeared; policies no longer pushed
)

// DataSource is a registered table, view or query.
type DataSource struct {
	ID              int64
	Name            string
	ConnectionID    *int64
	Technology      string
	RemoteDatabase  *string
	RemoteSchema    *string
	RemoteTable     *string
	RemoteKind      string // table, view or query
	Query           *string
	SQLSchemaName   *string
	SQLTableName    *string
	Description     *string
	Documentation   *string
	Status          string
	EventTimeColumn *string
	RecordFormat    *string
	CreatedBy       *int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DisabledAt      *time.Time
	SchemaProject   *string
	HandlerMetadata JSON // the technology handler's metadata, without secrets
	ColumnsFixed    bool // the registration lists the columns; monitoring leaves them alone
	RowEstimate     *int64
	DisabledReason  *string // DisabledRemoved or DisabledByUser
	SDDFrameworkID  *int64  // the identification framework applied; nil uses the global one
}

// Why a data source is disabled.
const (
	DisabledRemoved = "removed" // its remote table disappeared
	DisabledByUser  = "user"    // someone disabled (soft-deleted) it
)

const dataSourceColumns = `id, name, connection_id, technology, remote_database, remote_schema, remote_table,
	remote_kind, query, sql_schema_name, sql_table_name, description, documentation, status, event_time_column,
	record_format, created_by, created_at, updated_at, disabled_at, schema_project, handler_metadata, columns_fixed,
	row_estimate, disabled_reason, sdd_framework_id`

func scanDataSource(row interface{ Scan(...any) error }, extra ...any) (*DataSource, error) {
	var d DataSource
	err := row.Scan(append([]any{&d.ID, &d.Name, &d.ConnectionID, &d.Technology, &d.RemoteDatabase, &d.RemoteSchema,
		&d.RemoteTable, &d.RemoteKind, &d.Query, &d.SQLSchemaName, &d.SQLTableName, &d.Description, &d.Documentation,
		&d.Status, &d.EventTimeColumn, &d.RecordFormat, &d.CreatedBy, &d.CreatedAt, &d.UpdatedAt, &d.DisabledAt,
		&d.SchemaProject, &d.HandlerMetadata, &d.ColumnsFixed, &d.RowEstimate, &d.DisabledReason, &d.SDDFrameworkID},
		extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &d, err
}

func scanDataSources(rows *sql.Rows, err error) ([]*DataSource, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*DataSource
	for rows.Next() {
		d, err := scanDataSource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// CreateDataSource inserts d and sets its ID.
func (q *Queries) CreateDataSource(ctx context.Context, d *DataSource) error {
	return q.QueryRow(ctx, `INSERT INTO data_sources (name, connection_id, technology, remote_database, remote_schema,
		remote_table, remote_kind, query, sql_schema_name, sql_table_name, description, documentation, status,
		event_time_column, record_format, created_by, created_at, updated_at, disabled_at, schema_project,
		handler_metadata, columns_fixed, row_estimate, disabled_reason, sdd_framework_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
		$23, $24, $25) RETURNING id`,
		d.Name, d.ConnectionID, d.Technology, d.RemoteDatabase, d.RemoteSchema, d.RemoteTable, d.RemoteKind, d.Query,
		d.SQLSchemaName, d.SQLTableName, d.Description, d.Documentation, d.Status, d.EventTimeColumn, d.RecordFormat,
		d.CreatedBy, d.CreatedAt, d.UpdatedAt, d.DisabledAt, d.SchemaProject, d.HandlerMetadata, d.ColumnsFixed,
		d.RowEstimate, d.DisabledReason, d.SDDFrameworkID).Scan(&d.ID)
}

// UpdateDataSource writes every mutable field of d.
func (q *Queries) UpdateDataSource(ctx context.Context, d *DataSource) error {
	res, err := q.Exec(ctx, `UPDATE data_sources SET name = $2, connection_id = $3, technology = $4,
		remote_database = $5, remote_schema = $6, remote_table = $7, remote_kind = $8, query = $9,
		sql_schema_name = $10, sql_table_name = $11, description = $12, documentation = $13, status = $14,
		event_time_column = $15, record_format = $16, updated_at = $17, disabled_at = $18, schema_project = $19,
		handler_metadata = $20, columns_fixed = $21, row_estimate = $22, disabled_reason = $23, sdd_framework_id = $24
		WHERE id = $1`,
		d.ID, d.Name, d.ConnectionID, d.Technology, d.RemoteDatabase, d.RemoteSchema, d.RemoteTable, d.RemoteKind,
		d.Query, d.SQLSchemaName, d.SQLTableName, d.Description, d.Documentation, d.Status, d.EventTimeColumn,
		d.RecordFormat, d.UpdatedAt, d.DisabledAt, d.SchemaProject, d.HandlerMetadata, d.ColumnsFixed, d.RowEstimate,
		d.DisabledReason, d.SDDFrameworkID)
	return affectedOne(res, err)
}

// DeleteDataSource removes a data source with its columns, access and tags.
func (q *Queries) DeleteDataSource(ctx context.Context, id int64) error {
	key := strconv.FormatInt(id, 10)
	if _, err := q.Exec(ctx, `DELETE FROM model_tags WHERE (model_type = 'datasource' AND model_id = $1)
		OR (model_type = 'column' AND SUBSTR(model_id, 1, $2) = $3)`, key, len(key)+1, key+"_"); err != nil {
		return err
	}
	res, err := q.Exec(ctx, `DELETE FROM data_sources WHERE id = $1`, id)
	return affectedOne(res, err)
}

// GetDataSource returns a data source by id.
func (q *Queries) GetDataSource(ctx context.Context, id int64) (*DataSource, error) {
	return scanDataSource(q.QueryRow(ctx, `SELECT `+dataSourceColumns+` FROM data_sources WHERE id = $1`, id))
}

// GetDataSourceByName returns a data source by its unique name.
func (q *Queries) GetDataSourceByName(ctx context.Context, name string) (*DataSource, error) {
	return scanDataSource(q.QueryRow(ctx, `SELECT `+dataSourceColumns+` FROM data_sources WHERE name = $1`, name))
}

// DataSourcesOfConnection lists a connection's data sources ordered by name.
func (q *Queries) DataSourcesOfConnection(ctx context.Context, connectionID int64) ([]*DataSource, error) {
	return scanDataSources(q.Query(ctx, `SELECT `+dataSourceColumns+` FROM data_sources WHERE connection_id = $1
		ORDER BY name`, connectionID))
}

// DataSourcesByID loads the given data sources, keyed by id.
func (q *Queries) DataSourcesByID(ctx context.Context, ids []int64) (map[int64]*DataSource, error) {
	out := make(map[int64]*DataSource, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	list, err := scanDataSources(q.Query(ctx, `SELECT `+dataSourceColumns+` FROM data_sources WHERE id IN `+List(&a, ids), a...))
	for _, d := range list {
		out[d.ID] = d
	}
	return out, err
}

// AllDataSources streams every data source ordered by id, in batches, to fn.
func (q *Queries) AllDataSources(ctx context.Context, fn func(*DataSource) error) error {
	var after int64
	for {
		list, err := scanDataSources(q.Query(ctx, `SELECT `+dataSourceColumns+` FROM data_sources WHERE id > $1
			ORDER BY id LIMIT 5000`, after))
		if err != nil {
			return err
		}
		for _, d := range list {
			if err := fn(d); err != nil {
				return err
			}
			after = d.ID
		}
		if len(list) < 5000 {
			return nil
		}
	}
}

// Column is one column of a data source's dictionary.
type Column struct {
	DataSourceID int64
	Name         string
	Position     int64
	DataType     string
	RemoteType   *string
	Nullable     bool
	PrimaryKey   bool
	Description  *string
	IsNew        bool // appeared after registration; tagged New until reviewed
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const columnColumns = `data_source_id, name, position, data_type, remote_type, nullable, primary_key, description,
	is_new, created_at, updated_at`

// ColumnModelID is the tag model id of a column: "<dataSourceId>_<name>".
func ColumnModelID(dataSourceID int64, name string) string {
	return strconv.FormatInt(dataSourceID, 10) + "_" + name
}

// ParseColumnModelID splits a column's tag model id.
func ParseColumnModelID(id string) (int64, string, bool) {
	ds, name, ok := strings.Cut(id, "_")
	if !ok || name == "" {
		return 0, "", false
	}
	n, err := strconv.ParseInt(ds, 10, 64)
	return n, name, err == nil
}

// ReplaceColumns sets a data source's dictionary to cols.
func (q *Queries) ReplaceColumns(ctx context.Context, dataSourceID int64, cols []Column) error {
	if _, err := q.Exec(ctx, `DELETE FROM data_source_columns WHERE data_source_id = $1`, dataSourceID); err != nil {
		return err
	}
	for _, c := range cols {
		if err := q.UpsertColumn(ctx, dataSourceID, c); err != nil {
			return err
		}
	}
	return nil
}

// UpsertColumn inserts or updates one column.
func (q *Queries) UpsertColumn(ctx context.Context, dataSourceID int64, c Column) error {
	_, err := q.Exec(ctx, `INSERT INTO data_source_columns (`+columnColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (data_source_id, name) DO UPDATE SET position = EXCLUDED.position, data_type = EXCLUDED.data_type,
		remote_type = EXCLUDED.remote_type, nullable = EXCLUDED.nullable, primary_key = EXCLUDED.primary_key,
		description = EXCLUDED.description, is_new = EXCLUDED.is_new, updated_at = EXCLUDED.updated_at`,
		dataSourceID, c.Name, c.Position, c.DataType, c.RemoteType, c.Nullable, c.PrimaryKey, c.Description, c.IsNew,
		c.CreatedAt, c.UpdatedAt)
	return err
}

// DeleteColumn removes one column and its tags.
func (q *Queries) DeleteColumn(ctx context.Context, dataSourceID int64, name string) error {
	if _, err := q.Exec(ctx, `DELETE FROM model_tags WHERE model_type = 'column' AND model_id = $1`,
		ColumnModelID(dataSourceID, name)); err != nil {
		return err
	}
	res, err := q.Exec(ctx, `DELETE FROM data_source_columns WHERE data_source_id = $1 AND name = $2`, dataSourceID, name)
	return affectedOne(res, err)
}

// ColumnsOf returns the columns of each data source, ordered by position.
func (q *Queries) ColumnsOf(ctx context.Context, ids ...int64) (map[int64][]Column, error) {
	out := make(map[int64][]Column, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT `+columnColumns+` FROM data_source_columns WHERE data_source_id IN `+List(&a, ids)+
		` ORDER BY data_source_id, position, name`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.DataSourceID, &c.Name, &c.Position, &c.DataType, &c.RemoteType, &c.Nullable,
			&c.PrimaryKey, &c.Description, &c.IsNew, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return nil, err
		}
		out[c.DataSourceID] = append(out[c.DataSourceID], c)
	}
	return out, rows.Err()
}

// Access states of a user or group on a data source.
const (
	AccessOwner         = "owner"
	AccessExpert        = "expert"
	AccessSubscribed    = "subscribed"
	AccessPending       = "pending"
	AccessDenied        = "denied"
	AccessNotSubscribed = "not_subscribed"
)

// Access grants.
const (
	GrantRead  = "READ"
	GrantWrite = "WRITE"
)

// Access is a user's or group's relation to a data source (a subscription).
type Access struct {
	ID           int64
	DataSourceID int64
	ModelType    string // user or group
	ModelID      int64
	State        string
	AccessGrant  string
	Expiration   *time.Time
	Reason       *string
	ApprovedBy   *int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Active reports whether the access grants anything at t: an owner,
// expert or subscriber whose expiration has not passed.
func (a *Access) Active(t time.Time) bool {
	switch a.State {
	case AccessOwner, AccessExpert, AccessSubscribed:
		return a.Expiration == nil || t.Before(*a.Expiration)
	}
	return false
}

const accessColumns = `id, data_source_id, model_type, model_id, state, access_grant, expiration, reason, approved_by,
	created_at, updated_at`

func scanAccess(row interface{ Scan(...any) error }) (*Access, error) {
	var a Access
	err := row.Scan(&a.ID, &a.DataSourceID, &a.ModelType, &a.ModelID, &a.State, &a.AccessGrant, &a.Expiration,
		&a.Reason, &a.ApprovedBy, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &a, err
}

func scanAccesses(rows *sql.Rows, err error) ([]*Access, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Access
	for rows.Next() {
		a, err := scanAccess(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PutAccess inserts or replaces the access of a user or group on a data
// source, setting a.ID.
func (q *Queries) PutAccess(ctx context.Context, a *Access) error {
	return q.QueryRow(ctx, `INSERT INTO data_source_access (data_source_id, model_type, model_id, state, access_grant,
		expiration, reason, approved_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (data_source_id, model_type, model_id) DO UPDATE SET state = EXCLUDED.state,
		access_grant = EXCLUDED.access_grant, expiration = EXCLUDED.expiration, reason = EXCLUDED.reason,
		approved_by = EXCLUDED.approved_by, updated_at = EXCLUDED.updated_at RETURNING id`,
		a.DataSourceID, a.ModelType, a.ModelID, a.State, a.AccessGrant, a.Expiration, a.Reason, a.ApprovedBy,
		a.CreatedAt, a.UpdatedAt).Scan(&a.ID)
}

// GetAccess returns one access entry by id.
func (q *Queries) GetAccess(ctx context.Context, id int64) (*Access, error) {
	return scanAccess(q.QueryRow(ctx, `SELECT `+accessColumns+` FROM data_source_access WHERE id = $1`, id))
}

// AccessOf returns the access of one user or group on a data source.
func (q *Queries) AccessOf(ctx context.Context, dataSourceID int64, modelType string, modelID int64) (*Access, error) {
	return scanAccess(q.QueryRow(ctx, `SELECT `+accessColumns+` FROM data_source_access WHERE data_source_id = $1
		AND model_type = $2 AND model_id = $3`, dataSourceID, modelType, modelID))
}

// DeleteAccess removes one access entry.
func (q *Queries) DeleteAccess(ctx context.Context, id int64) error {
	res, err := q.Exec(ctx, `DELETE FROM data_source_access WHERE id = $1`, id)
	return affectedOne(res, err)
}

// AccessToDataSource lists the access entries of a data source, optionally
// only those in the given states.
func (q *Queries) AccessToDataSource(ctx context.Context, dataSourceID int64, states ...string) ([]*Access, error) {
	var a Args
	where := `data_source_id = ` + a.Add(dataSourceID)
	if len(states) > 0 {
		where += ` AND state IN ` + List(&a, states)
	}
	return scanAccesses(q.Query(ctx, `SELECT `+accessColumns+` FROM data_source_access WHERE `+where+
		` ORDER BY id`, a...))
}

// AccessOfModels lists the access entries of the given users or groups on
// every data source.
func (q *Queries) AccessOfModels(ctx context.Context, modelType string, ids []int64) ([]*Access, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var a Args
	typ := a.Add(modelType)
	return scanAccesses(q.Query(ctx, `SELECT `+accessColumns+` FROM data_source_access WHERE model_type = `+typ+
		` AND model_id IN `+List(&a, ids)+` ORDER BY data_source_id, id`, a...))
}
