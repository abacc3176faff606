package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog/naming"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// Technology describes one of the V1 technology handler endpoints
// (/snowflake, /databricks, ...).
type Technology struct {
	Path    string // the path segment: snowflake, presto, asa, databricks, trino, redshift
	Handler string // the connection handler, as V2 spells it
	DBMS    string // dbms.name in handler objects
	Type    string // the handler object's type: odbcHandler or queryable
}

// Technologies lists the V1 technology handler endpoints custos serves.
var Technologies = []Technology{
	{"snowflake", connector.Snowflake, "snowflake", "odbcHandler"},
	{"presto", connector.Presto, "presto", "odbcHandler"},
	{"asa", connector.AzureSynapse, "asa", "odbcHandler"},
	{"databricks", connector.Databricks, "databricks", "queryable"},
	{"trino", connector.Trino, "trino", "queryable"},
	{"redshift", connector.Redshift, "redshift", "odbcHandler"},
}

// Object-store technologies of the S3 and Azure Blob handlers.
const (
	TechS3        = "Amazon S3"
	TechAzureBlob = "Azure Blob Storage"
)

// HandlerColumn is a column in handler metadata.
type HandlerColumn struct {
	Name         string `json:"name"`
	DataType     string `json:"dataType"`
	RemoteType   string `json:"remoteType,omitempty"`
	Nullable     *bool  `json:"nullable,omitempty"`
	IsPrimaryKey bool   `json:"isPrimaryKey,omitempty"`
	Description  string `json:"description,omitempty"`
	RemoteColumn string `json:"remoteColumn,omitempty"`
}

// handlerMeta is the part of handler metadata custos reads; the rest is
// kept as it was sent (without secrets) and shown back.
type handlerMeta struct {
	connector.Connection
	Table             string          `json:"table"`
	Query             *string         `json:"query"`
	DataSourceName    string          `json:"dataSourceName"`
	BodataTableName   string          `json:"bodataTableName"`
	BodataSchemaName  string          `json:"bodataSchemaName"`
	SchemaProjectName string          `json:"schemaProjectName"`
	Columns           []HandlerColumn `json:"columns"`
	DisableClassify   bool            `json:"disableClassify"`
}

// HandlerDataSource is the dataSource block of a handler POST.
type HandlerDataSource struct {
	Name          string `json:"name"`
	SQLTableName  string `json:"sqlTableName"`
	Description   string `json:"description"`
	Documentation string `json:"documentation"`
	RecordFormat  string `json:"recordFormat"`
}

// HandlerNameTemplate is schemaEvolution.config.nameTemplate of a handler POST.
type HandlerNameTemplate struct {
	NameFormat              string `json:"nameFormat"`
	TableFormat             string `json:"tableFormat"`
	SQLSchemaNameFormat     string `json:"sqlSchemaNameFormat"`
	SchemaProjectNameFormat string `json:"schemaProjectNameFormat"`
}

// HandlerRequest is the payload of POST /{technology}/handler. Handler is
// {"metadata": {...}} or, for several tables, an array of them.
type HandlerRequest struct {
	Handler         json.RawMessage   `json:"handler"`
	DataSource      HandlerDataSource `json:"dataSource"`
	SchemaEvolution *struct {
		Config struct {
			NameTemplate *HandlerNameTemplate `json:"nameTemplate"`
		} `json:"config"`
	} `json:"schemaEvolution"`
}

// HandlerCreated is one data source a handler POST registered.
type HandlerCreated struct {
	ID           int64  `json:"id"`
	DataSourceID int64  `json:"dataSourceId"`
	Name         string `json:"name"`
}

// HandlerResult is the response of POST /{technology}/handler.
type HandlerResult struct {
	ConnectionString string           `json:"connectionString"`
	DataSources      []HandlerCreated `json:"dataSources"`
	Warnings         []string         `json:"warnings"`
}

type handlerItem struct {
	Metadata json.RawMessage `json:"metadata"`
}

// parseHandlers reads the handler field: one object or an array.
func parseHandlers(raw json.RawMessage) ([]handlerItem, []string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, errs.Field("handler", errs.CodeRequired, "handler is required: {\"metadata\": {...}} or an array of them")
	}
	if raw[0] == '[' {
		var items []handlerItem
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, nil, errs.Field("handler", errs.CodeType, "handler must be an object or an array of objects with metadata")
		}
		fields := make([]string, len(items))
		for i := range items {
			fields[i] = fmt.Sprintf("handler[%d].metadata", i)
		}
		if len(items) == 0 {
			return nil, nil, errs.Field("handler", errs.CodeRequired, "handler must list at least one table")
		}
		return items, fields, nil
	}
	var item handlerItem
	if err := json.Unmarshal(raw, &item); err != nil {
		return nil, nil, errs.Field("handler", errs.CodeType, "handler must be an object or an array of objects with metadata")
	}
	return []handlerItem{item}, []string{"handler.metadata"}, nil
}

// v1Connection turns handler metadata into a connection block of tech.
func v1Connection(tech Technology, m handlerMeta) connector.Connection {
	c := m.Connection
	c.Handler = tech.Handler
	if tech.Handler == connector.Databricks && c.AuthenticationMethod == "Access Token" {
		// The V1 examples name token authentication so and send the token as the password.
		c.AuthenticationMethod, c.Token = "token", c.Password
	}
	return c
}

// connectionFields are the metadata fields the connection holds (the
// table's schema aside): the data source keeps the rest.
var connectionFields = []string{"handler", "hostname", "port", "ssl", "database", "username", "password", "warehouse",
	"httpPath", "connectionStringOptions", "authenticationMethod", "token", "useCertificate", "clientId", "clientSecret",
	"certificateThumbprint", "audience", "scope", "userFiles", "sid", "idpHost", "appID", "role", "sasToken"}

// publicMetadata is a data source's own handler metadata as stored: without
// the connection's fields (secrets among them) or the columns, which the
// dictionary holds.
func publicMetadata(raw json.RawMessage) (store.JSON, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for _, k := range append(connectionFields, "columns") {
		delete(m, k)
	}
	return store.ToJSON(m)
}

// RegisterHandler registers the tables of a technology handler POST. The
// technology is not live: the connection is validated and stored, not
// verified, and each data source has the columns its metadata lists.
func (s *Service) RegisterHandler(ctx context.Context, p *auth.Principal, tech Technology, req HandlerRequest) (*HandlerResult, error) {
	if err := p.Require(auth.CreateDataSource); err != nil {
		return nil, err
	}
	if err := checkText("", req); err != nil {
		return nil, err
	}
	items, fields, err := parseHandlers(req.Handler)
	if err != nil {
		return nil, err
	}
	tmpl := naming.Default
	if req.SchemaEvolution != nil && req.SchemaEvolution.Config.NameTemplate != nil {
		nt := req.SchemaEvolution.Config.NameTemplate
		tmpl = naming.Template{DataSourceFormat: nt.NameFormat, TableFormat: nt.TableFormat, SchemaFormat: nt.SQLSchemaNameFormat,
			SchemaProjectNameFormat: nt.SchemaProjectNameFormat}
		if err := tmpl.Validate("schemaEvolution.config.nameTemplate"); err != nil {
			return nil, err
		}
	}
	var l errs.List
	var conn connector.Connection
	var targets []*target
	metadata := map[string]store.JSON{}
	classify := map[string]bool{}
	for i, it := range items {
		at := fields[i]
		var m handlerMeta
		if err := json.Unmarshal(it.Metadata, &m); err != nil || len(it.Metadata) == 0 {
			l.Add(at, errs.CodeType, "%s must be an object of connection and table fields", at)
			continue
		}
		c := v1Connection(tech, m)
		if err := c.Validate(at); err != nil {
			l = append(l, errs.As(err).Fields...)
			continue
		}
		if i == 0 {
			conn = c
		} else if !sameIdentity(conn, c) {
			l.Add(at+".hostname", errs.CodeInvalid, "every table of one request must be in the same database (%s)", conn.ConnectionString())
			continue
		}
		query := deref(m.Query)
		if (m.Table == "") == (query == "") {
			l.Add(at+".table", errs.CodeRequired, "%s needs a table (with its schema) or a query", at)
			continue
		}
		if m.Table != "" && m.Schema == "" {
			l.Add(at+".schema", errs.CodeRequired, "%s.schema is required", at)
			continue
		}
		t := &target{key: tableKey(m.Schema, m.Table), field: at, kind: connector.KindTable, schema: m.Schema, table: m.Table}
		t.names = tmpl.Render(naming.Remote{Database: c.Database, Schema: m.Schema, Table: m.Table})
		name := m.DataSourceName
		if name == "" && len(items) == 1 {
			name = req.DataSource.Name
		}
		if query != "" {
			if name == "" {
				l.Add(at+".dataSourceName", errs.CodeRequired, "a query needs dataSourceName")
				continue
			}
			t.key, t.kind, t.query, t.table, t.schema = queryKey(name), kindQuery, query, name, ""
		}
		if name != "" {
			t.names.DataSource, t.explicitName = name, true
		}
		sqlTable := m.BodataTableName
		if len(items) == 1 && req.DataSource.SQLTableName != "" {
			sqlTable = req.DataSource.SQLTableName
		}
		if sqlTable != "" {
			if naming.SQLName(sqlTable) != sqlTable {
				l.Add(at+".bodataTableName", errs.CodeInvalid, "the SQL table name %q may only hold lower-case letters, digits and single underscores", sqlTable)
				continue
			}
			t.names.SQLTable, t.explicitSQL = sqlTable, true
		}
		if m.BodataSchemaName != "" {
			t.names.SQLSchema = naming.SQLName(m.BodataSchemaName)
		}
		if m.SchemaProjectName != "" {
			t.names.SchemaProject = naming.Display(m.SchemaProjectName)
		}
		if len(items) == 1 && req.DataSource.Description != "" {
			t.description = ptr(req.DataSource.Description)
		}
		if len(items) == 1 && req.DataSource.Documentation != "" {
			t.documentation = ptr(req.DataSource.Documentation)
		}
		seen := map[string]bool{}
		for j, hc := range m.Columns {
			cat := fmt.Sprintf("%s.columns[%d]", at, j)
			if strings.TrimSpace(hc.Name) == "" || strings.TrimSpace(hc.DataType) == "" {
				l.Add(cat, errs.CodeRequired, "%s needs a name and a dataType", cat)
				continue
			}
			if seen[hc.Name] {
				l.Add(cat+".name", errs.CodeUnique, "column %q is listed twice", hc.Name)
				continue
			}
			seen[hc.Name] = true
			nullable := hc.Nullable == nil || *hc.Nullable
			t.columns = append(t.columns, store.Column{Name: hc.Name, Position: int64(len(t.columns) + 1), DataType: hc.DataType,
				RemoteType: optional(hc.RemoteType), Nullable: nullable, PrimaryKey: hc.IsPrimaryKey, Description: optional(hc.Description)})
		}
		t.columnsFixed = true
		if metadata[t.key], err = publicMetadata(it.Metadata); err != nil {
			return nil, err
		}
		classify[t.key] = !m.DisableClassify
		targets = append(targets, t)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	live := connector.Live(tech.Handler)
	if live {
		if err := s.readTargets(ctx, conn, fields[0], targets); err != nil {
			return nil, err
		}
	}
	cfg, err := store.ToJSON(withoutSecrets(conn))
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal(conn)
	if err != nil {
		return nil, err
	}
	reg := v1Registration{key: "v1/" + tech.DBMS + "/" + conn.ConnectionString(), technology: tech.Handler, conn: conn,
		config: cfg, secret: sealed, connectionString: conn.ConnectionString(), targets: targets, metadata: metadata,
		classify: classify, verified: live}
	created, err := s.registerV1(ctx, p, reg)
	if err != nil {
		return nil, err
	}
	warnings := []string{}
	if !live {
		warnings = append(warnings, fmt.Sprintf("custos does not connect to %s: the connection is validated and stored but not verified, "+
			"and the data sources have only the columns listed", tech.Handler))
	}
	return &HandlerResult{ConnectionString: conn.ConnectionString(), DataSources: created, Warnings: warnings}, nil
}

// v1Registration is a set of data sources a V1 handler adds to the
// connection grouping them.
type v1Registration struct {
	key              string
	technology       string
	conn             connector.Connection
	config           store.JSON
	secret           *string
	connectionString string
	targets          []*target
	metadata         map[string]store.JSON
	classify         map[string]bool
	verified         bool // custos read the tables from the database
}

// registerV1 adds or updates the data sources of a V1 registration, keeping
// the other data sources of its connection.
func (s *Service) registerV1(ctx context.Context, p *auth.Principal, reg v1Registration) ([]HandlerCreated, error) {
	var out []HandlerCreated
	var jobsEnqueued bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		now := store.Now()
		c, err := q.GetConnectionByKey(ctx, reg.key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c = &store.Connection{ConnectionKey: reg.key, Origin: store.ConnectionV1, CreatedBy: &p.UserID, CreatedAt: now}
		case err != nil:
			return err
		case c.Origin != store.ConnectionV1:
			return errs.Conflictf("connection key %q belongs to data sources registered through the V2 data API", reg.key)
		default:
			// Lock and read again: the row and its data sources are rewritten below.
			if err := q.LockConnection(ctx, c.ID); err != nil {
				return err
			}
			if err := q.LockDataSourcesOfConnection(ctx, c.ID); err != nil {
				return err
			}
			if c, err = q.GetConnection(ctx, c.ID); err != nil {
				return err
			}
			if err := mayChangeConnection(ctx, q, p, c); err != nil {
				return err
			}
		}
		c.Technology, c.Config, c.Secret, c.ConnectionString = reg.technology, reg.config, reg.secret, &reg.connectionString
		c.Hostname, c.Database, c.Schema = optional(reg.conn.Hostname), optional(reg.conn.Database), optional(reg.conn.Schema)
		c.Port = nil
		if port := reg.conn.Port; port != 0 || connector.DefaultPort(reg.technology) != 0 {
			if port == 0 {
				port = connector.DefaultPort(reg.technology)
			}
			c.Port = ptr(int64(port))
		}
		c.Verified, c.SchemaMonitoring, c.UpdatedAt = reg.verified, false, now
		if c.ID == 0 {
			err = q.CreateConnection(ctx, c)
		} else {
			err = q.UpdateConnection(ctx, c)
		}
		if err != nil {
			return err
		}
		current, err := loadCurrent(ctx, q, c.ID)
		if err != nil {
			return err
		}
		taken, takenSQL, err := q.TakenNames(ctx, c.ID)
		if err != nil {
			return err
		}
		pl, err := makePlan(planInput{mode: modeAdd, targets: reg.targets, current: current, requester: &p.UserID,
			owners: ownersOf(ctx, q, true), taken: taken, takenSQL: takenSQL})
		if err != nil {
			return err
		}
		res, err := s.apply(ctx, tx, applyInput{conn: c, plan: pl, mode: modeAdd, requester: &p.UserID, now: now,
			metadata: func(t *target) store.JSON { return reg.metadata[t.key] }})
		if err != nil {
			return err
		}
		list, err := q.DataSourcesOfConnection(ctx, c.ID)
		if err != nil {
			return err
		}
		byKey := map[string]*store.DataSource{}
		for _, d := range list {
			byKey[keyOf(d)] = d
		}
		var classify []int64
		for _, t := range reg.targets {
			d := byKey[t.key]
			if d == nil {
				continue
			}
			if md := reg.metadata[t.key]; md != nil && string(d.HandlerMetadata) != string(md) {
				d.HandlerMetadata, d.UpdatedAt = md, now
				if err := q.UpdateDataSource(ctx, d); err != nil {
					return err
				}
			}
			out = append(out, HandlerCreated{ID: d.ID, DataSourceID: d.ID, Name: d.Name})
		}
		for _, id := range res.created {
			for _, t := range reg.targets {
				if d := byKey[t.key]; d != nil && d.ID == id && reg.classify[t.key] {
					classify = append(classify, id)
				}
			}
		}
		if s.classifier != nil && len(classify) > 0 {
			if _, err := s.classifier.Enqueue(ctx, q, classify, &p.UserID); err != nil {
				return err
			}
			jobsEnqueued = true
		}
		return audit.Write(ctx, q, audit.Event{Type: "dataSourceHandlerSave", Success: true, TargetType: "connection",
			TargetID: reg.key, Details: map[string]any{"creating": res.Creating, "updating": res.Updating}})
	})
	if err != nil {
		return nil, err
	}
	if jobsEnqueued {
		s.runner.Notify()
	}
	return out, nil
}

// HandlerView is a handler object: a data source seen as its technology's
// handler.
type HandlerView struct {
	ID               int64          `json:"id"`
	DataSourceID     int64          `json:"dataSourceId"`
	Metadata         map[string]any `json:"metadata"`
	Type             string         `json:"type"`
	ConnectionString *string        `json:"connectionString"`
	CreatedAt        string         `json:"createdAt"`
	UpdatedAt        string         `json:"updatedAt"`
	DBMS             *struct {
		Name string `json:"name"`
	} `json:"dbms,omitempty"`
	AWSLocationPath string `json:"awsLocationPath,omitempty"`
}

// Handler returns the handler object of a data source of the given
// technology (tech.Path, or "native-s3" and "azureblob").
func (s *Service) Handler(ctx context.Context, p *auth.Principal, technology, path string, id int64) (*HandlerView, error) {
	q := &s.db.Queries
	d, err := s.Visible(ctx, q, p, id)
	if err != nil || d.Technology != technology {
		return nil, errs.NotFoundf("%s handler %d does not exist", path, id)
	}
	return s.handlerView(ctx, q, d, path)
}

func (s *Service) handlerView(ctx context.Context, q *store.Queries, d *store.DataSource, path string) (*HandlerView, error) {
	meta := map[string]any{}
	if len(d.HandlerMetadata) > 0 {
		if err := json.Unmarshal(d.HandlerMetadata, &meta); err != nil {
			return nil, err
		}
	}
	var conn *store.Connection
	if d.ConnectionID != nil {
		c, err := q.GetConnection(ctx, *d.ConnectionID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		conn = c
	}
	if conn != nil && len(conn.Config) > 0 {
		var cfg map[string]any
		if err := json.Unmarshal(conn.Config, &cfg); err != nil {
			return nil, err
		}
		for k, v := range cfg {
			if _, set := meta[k]; !set && k != "handler" {
				meta[k] = v
			}
		}
	}
	meta["dataSourceName"] = d.Name
	if d.RemoteKind == kindQuery {
		meta["query"] = deref(d.Query)
	} else if d.RemoteTable != nil {
		if _, set := meta["table"]; !set && d.RemoteSchema != nil {
			meta["table"], meta["schema"] = *d.RemoteTable, *d.RemoteSchema
		}
	}
	if d.SQLTableName != nil {
		meta["bodataTableName"] = *d.SQLTableName
	}
	if d.SQLSchemaName != nil {
		meta["bodataSchemaName"] = *d.SQLSchemaName
	}
	if d.EventTimeColumn != nil {
		meta["eventTime"] = *d.EventTimeColumn
	}
	cols, err := q.ColumnsOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	hcols := []HandlerColumn{}
	for _, c := range cols[d.ID] {
		nullable := c.Nullable
		hcols = append(hcols, HandlerColumn{Name: c.Name, DataType: c.DataType, RemoteType: deref(c.RemoteType),
			Nullable: &nullable, IsPrimaryKey: c.PrimaryKey, Description: deref(c.Description), RemoteColumn: c.Name})
	}
	meta["columns"] = hcols
	v := &HandlerView{ID: d.ID, DataSourceID: d.ID, Metadata: meta, CreatedAt: d.CreatedAt.Format("2006-01-02T15:04:05.000Z"),
		UpdatedAt: d.UpdatedAt.Format("2006-01-02T15:04:05.000Z")}
	if conn != nil {
		v.ConnectionString = conn.ConnectionString
	}
	switch d.Technology {
	case TechS3:
		v.Type, v.AWSLocationPath = "nativeS3Handler", "s3://"
	case TechAzureBlob:
		v.Type = "azureBlobStorageHandler"
	default:
		v.Type = "odbcHandler"
		for _, t := range Technologies {
			if t.Handler == d.Technology {
				v.Type = t.Type
				v.DBMS = &struct {
					Name string `json:"name"`
				}{t.DBMS}
			}
		}
		if d.Technology == connector.PostgreSQL {
			v.DBMS = &struct {
				Name string `json:"name"`
			}{"postgresql"}
		}
	}
	return v, nil
}

// HandlerUpdate is the payload of PUT /{technology}/handler/{id}: the whole
// handler object (no partial updates), whose dictionary may be left out.
type HandlerUpdate struct {
	Handler struct {
		Metadata json.RawMessage `json:"metadata"`
	} `json:"handler"`
}

// UpdateHandler replaces a data source's handler metadata: its name, its
// dictionary when metadata lists columns, and the connection's credentials
// when given (the connection must stay the same database).
func (s *Service) UpdateHandler(ctx context.Context, p *auth.Principal, tech Technology, id int64, in HandlerUpdate) (*HandlerView, error) {
	if len(in.Handler.Metadata) == 0 {
		return nil, errs.Field("handler.metadata", errs.CodeRequired, "handler.metadata is required")
	}
	var m handlerMeta
	if err := json.Unmarshal(in.Handler.Metadata, &m); err != nil {
		return nil, errs.Field("handler.metadata", errs.CodeType, "handler.metadata must be an object")
	}
	if err := checkText("handler.metadata", in.Handler.Metadata); err != nil {
		return nil, err
	}
	var view *HandlerView
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		d, err := s.visibleForUpdate(ctx, q, p, id)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		if err != nil || d.Technology != tech.Handler {
			return errs.NotFoundf("%s handler %d does not exist", tech.Path, id)
		}
		if err := MayChange(ctx, q, p, d); err != nil {
			return err
		}
		now := store.Now()
		if d.ConnectionID != nil && m.Hostname != "" {
			conn, err := lockedConnection(ctx, q, *d.ConnectionID)
			if err != nil {
				return err
			}
			if err := mayChangeConnection(ctx, q, p, conn); err != nil {
				return err
			}
			stored, err := s.connectionOf(conn)
			if err != nil {
				return err
			}
			c := v1Connection(tech, m)
			if !sameIdentity(stored, c) {
				return errs.Conflictf("handler %d reads %s; its metadata cannot move it to another database", id, stored.ConnectionString())
			}
			keepSecrets(&c, stored)
			if err := c.Validate("handler.metadata"); err != nil {
				return err
			}
			if conn.Config, err = store.ToJSON(withoutSecrets(c)); err != nil {
				return err
			}
			if conn.Secret, err = s.seal(c); err != nil {
				return err
			}
			conn.UpdatedAt = now
			if err := q.UpdateConnection(ctx, conn); err != nil {
				return err
			}
		}
		if m.DataSourceName != "" && m.DataSourceName != d.Name {
			if naming.Display(m.DataSourceName) != m.DataSourceName {
				return errs.Field("handler.metadata.dataSourceName", errs.CodeInvalid, "dataSourceName %q has control characters or repeated blanks", m.DataSourceName)
			}
			d.Name = m.DataSourceName
		}
		if d.HandlerMetadata, err = publicMetadata(in.Handler.Metadata); err != nil {
			return err
		}
		d.UpdatedAt = now
		if err := q.UpdateDataSource(ctx, d); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("handler.metadata.dataSourceName", errs.CodeUnique, "data source name %q is taken", d.Name)
			}
			return err
		}
		if err := q.AppendChange(ctx, ChangeUpdated, ModelDataSource, idString(id)); err != nil {
			return err
		}
		if len(m.Columns) > 0 {
			have, err := q.ColumnsOf(ctx, id)
			if err != nil {
				return err
			}
			var want []store.Column
			for j, hc := range m.Columns {
				if strings.TrimSpace(hc.Name) == "" || strings.TrimSpace(hc.DataType) == "" {
					return errs.Field(fmt.Sprintf("handler.metadata.columns[%d]", j), errs.CodeRequired, "a column needs a name and a dataType")
				}
				nullable := hc.Nullable == nil || *hc.Nullable
				want = append(want, store.Column{Name: hc.Name, Position: int64(j + 1), DataType: hc.DataType,
					RemoteType: optional(hc.RemoteType), Nullable: nullable, PrimaryKey: hc.IsPrimaryKey, Description: optional(hc.Description)})
			}
			if diff := diffColumns(have[id], want); !diff.empty() {
				for i := range diff.add {
					diff.add[i].CreatedAt, diff.add[i].UpdatedAt = now, now
				}
				for _, name := range diff.remove {
					if err := q.DeleteColumn(ctx, id, name); err != nil {
						return err
					}
				}
				for _, c := range diff.change {
					c.UpdatedAt = now
					if err := q.UpsertColumn(ctx, id, c); err != nil {
						return err
					}
				}
				if err := q.InsertColumns(ctx, id, diff.add); err != nil {
					return err
				}
				if err := q.AppendChange(ctx, ChangeColumns, ModelDataSource, idString(id)); err != nil {
					return err
				}
			}
		}
		if err := audit.Write(ctx, q, audit.Event{Type: "dataSourceHandlerUpdate", Success: true, TargetType: ModelDataSource,
			TargetID: idString(id), DataSourceID: &id, DataSourceName: d.Name}); err != nil {
			return err
		}
		view, err = s.handlerView(ctx, q, d, tech.Path)
		return err
	})
	return view, err
}

// BulkHandlerResult is the response of PUT /{technology}/bulk.
type BulkHandlerResult struct {
	BulkID           string `json:"bulkId"`
	ConnectionString string `json:"connectionString"`
	JobsCreated      int    `json:"jobsCreated"`
}

// BulkHandler changes, with change, the connection of every data source of
// the technology that shares the connection string.
func (s *Service) BulkHandler(ctx context.Context, p *auth.Principal, technology string, connString string,
	change func(c *store.Connection) error) (*BulkHandlerResult, error) {
	if strings.TrimSpace(connString) == "" {
		return nil, errs.Field("connectionString", errs.CodeRequired, "connectionString is required")
	}
	res := &BulkHandlerResult{BulkID: "bulk_ds_update_" + strings.ReplaceAll(uuid.NewString(), "-", ""), ConnectionString: connString}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		conns, err := q.Connections(ctx)
		if err != nil {
			return err
		}
		matched := 0
		for _, c := range conns {
			if c.Technology != technology || deref(c.ConnectionString) != connString {
				continue
			}
			matched++
			if c, err = lockedConnection(ctx, q, c.ID); err != nil {
				return err
			}
			if err := mayChangeConnection(ctx, q, p, c); err != nil {
				return err
			}
			if err := change(c); err != nil {
				return err
			}
			c.UpdatedAt = store.Now()
			if err := q.UpdateConnection(ctx, c); err != nil {
				return err
			}
			list, err := q.DataSourcesOfConnection(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, d := range list {
				if err := q.AppendChange(ctx, ChangeUpdated, ModelDataSource, idString(d.ID)); err != nil {
					return err
				}
			}
			res.JobsCreated += len(list)
		}
		if matched == 0 {
			return errs.Field("connectionString", errs.CodeNotFound, "no %s data source has the connection string %q", technology, connString)
		}
		return audit.Write(ctx, q, audit.Event{Type: "dataSourceBulkHandlerUpdate", Success: true, TargetType: "connection",
			TargetID: connString, Details: map[string]any{"dataSources": res.JobsCreated}})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// BulkTechnologyHandler is BulkHandler for a technology handler: metadata
// carries the connection fields; the connection must stay the same database.
func (s *Service) BulkTechnologyHandler(ctx context.Context, p *auth.Principal, tech Technology, connString string, metadata json.RawMessage) (*BulkHandlerResult, error) {
	var m handlerMeta
	if len(metadata) == 0 || json.Unmarshal(metadata, &m) != nil {
		return nil, errs.Field("handler.metadata", errs.CodeRequired, "handler.metadata must hold the connection settings")
	}
	if err := checkText("handler.metadata", metadata); err != nil {
		return nil, err
	}
	return s.BulkHandler(ctx, p, tech.Handler, connString, func(row *store.Connection) error {
		stored, err := s.connectionOf(row)
		if err != nil {
			return err
		}
		c := v1Connection(tech, m)
		if !sameIdentity(stored, c) {
			return errs.Conflictf("the metadata names %s, not the database of %s", c.ConnectionString(), connString)
		}
		keepSecrets(&c, stored)
		if err := c.Validate("handler.metadata"); err != nil {
			return err
		}
		if row.Config, err = store.ToJSON(withoutSecrets(c)); err != nil {
			return err
		}
		row.Secret, err = s.seal(c)
		return err
	})
}

// S3 registers S3 prefixes of an S3 integration (POST /native-s3/handler).
// Integrations are configured elsewhere; the integration id is stored as
// given and the data sources are not verified.
func (s *Service) RegisterS3(ctx context.Context, p *auth.Principal, h connector.S3Handler) ([]HandlerCreated, error) {
	if err := p.Require(auth.CreateDataSource); err != nil {
		return nil, err
	}
	if err := checkText("", h); err != nil {
		return nil, err
	}
	if err := h.Validate(""); err != nil {
		return nil, err
	}
	var targets []*target
	metadata := map[string]store.JSON{}
	for i, ds := range h.DataSources {
		t := &target{key: tableKey("", ds.Prefix), field: fmt.Sprintf("dataSources[%d]", i), kind: "prefix", table: ds.Prefix,
			explicitName: true, columnsFixed: true}
		t.names = naming.Names{DataSource: ds.DataSourceName, SQLTable: naming.SQLName(ds.DataSourceName), SQLSchema: "s3",
			SchemaProject: "S3"}
		metadata[t.key], _ = store.ToJSON(map[string]any{"prefix": ds.Prefix, "integrationId": h.IntegrationID})
		targets = append(targets, t)
	}
	cfg, _ := store.ToJSON(map[string]any{"type": h.Type, "integrationId": h.IntegrationID})
	cs := fmt.Sprintf("s3://integration/%d", h.IntegrationID)
	return s.registerV1(ctx, p, v1Registration{key: fmt.Sprintf("v1/s3/%d", h.IntegrationID), technology: TechS3,
		config: cfg, connectionString: cs, targets: targets, metadata: metadata})
}

// AzureBlobRequest is the payload of POST /azureblob/handler.
type AzureBlobRequest struct {
	Handler struct {
		Metadata connector.AzureBlobHandler `json:"metadata"`
	} `json:"handler"`
	DataSource HandlerDataSource `json:"dataSource"`
}

// azureAccount is the storage account of a SAS token URL: the first label
// of its host.
func azureAccount(sasURL string) string {
	u, err := url.Parse(sasURL)
	if err != nil {
		return ""
	}
	host, _, _ := strings.Cut(u.Hostname(), ".")
	return host
}

// withoutQuery returns a SAS URL without what may carry the SAS token (its
// query and fragment) or credentials (user information): the token is
// kept sealed, and only the storage account's address is shown.
func withoutQuery(sasURL string) string {
	u, err := url.Parse(sasURL)
	if err != nil {
		return ""
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}

// RegisterAzureBlob registers an Azure Blob Storage container. The SAS token
// is sealed; custos does not reach the storage account.
func (s *Service) RegisterAzureBlob(ctx context.Context, p *auth.Principal, req AzureBlobRequest) (*HandlerCreated, error) {
	if err := p.Require(auth.CreateDataSource); err != nil {
		return nil, err
	}
	m := req.Handler.Metadata
	var l errs.List
	if err := addText(&l, "", req); err != nil {
		return nil, err
	}
	if err := m.Validate("handler.metadata"); err != nil {
		l = append(l, errs.As(err).Fields...)
	}
	if strings.TrimSpace(req.DataSource.Name) == "" {
		l.Add("dataSource.name", errs.CodeRequired, "dataSource.name is required")
	}
	if req.DataSource.SQLTableName != "" && naming.SQLName(req.DataSource.SQLTableName) != req.DataSource.SQLTableName {
		l.Add("dataSource.sqlTableName", errs.CodeInvalid, "dataSource.sqlTableName may only hold lower-case letters, digits and single underscores")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	account := azureAccount(m.SASTokenURL)
	cs := account + "/" + m.Container
	t := &target{key: tableKey(account, m.Container), field: "handler.metadata", kind: "container", schema: account,
		table: m.Container, explicitName: true, columnsFixed: true}
	t.names = naming.Names{DataSource: req.DataSource.Name, SQLTable: naming.SQLName(req.DataSource.Name), SQLSchema: naming.SQLName(account),
		SchemaProject: naming.Display(account)}
	if req.DataSource.SQLTableName != "" {
		t.names.SQLTable, t.explicitSQL = req.DataSource.SQLTableName, true
	}
	if req.DataSource.Description != "" {
		t.description = ptr(req.DataSource.Description)
	}
	md, _ := store.ToJSON(map[string]any{"container": m.Container, "accountName": account, "sasTokenUrl": withoutQuery(m.SASTokenURL),
		"tagAttributes": nonNil(m.TagAttributes), "eventTimeAttribute": m.EventTimeAttribute,
		"useDirectoryForTags": m.UseDirectoryForTags, "dataSourceName": req.DataSource.Name})
	cfg, _ := store.ToJSON(map[string]any{"container": m.Container, "accountName": account, "sasTokenUrl": withoutQuery(m.SASTokenURL)})
	sealed := s.secrets.Seal(mustJSON(secrets{Token: m.SASToken}))
	created, err := s.registerV1(ctx, p, v1Registration{key: "v1/azureblob/" + cs, technology: TechAzureBlob, config: cfg,
		secret: &sealed, connectionString: cs, targets: []*target{t}, metadata: map[string]store.JSON{t.key: md}})
	if err != nil {
		return nil, err
	}
	return &created[0], nil
}

// UpdateAzureBlob replaces the metadata of an Azure Blob data source: its
// name and, when given, a new SAS token (the container may not change).
func (s *Service) UpdateAzureBlob(ctx context.Context, p *auth.Principal, id int64, m connector.AzureBlobHandler, name string) (*HandlerView, error) {
	var l errs.List
	if err := addText(&l, "handler.metadata", m); err != nil {
		return nil, err
	}
	if err := addText(&l, "handler.metadata.dataSourceName", name); err != nil {
		return nil, err
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if m.SASToken == "" {
		m.SASToken = "unchanged" // Validate needs one; a missing token keeps the stored one
	}
	if err := m.Validate("handler.metadata"); err != nil {
		return nil, err
	}
	var view *HandlerView
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		d, err := s.visibleForUpdate(ctx, q, p, id)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		if err != nil || d.Technology != TechAzureBlob {
			return errs.NotFoundf("azureblob handler %d does not exist", id)
		}
		if err := MayChange(ctx, q, p, d); err != nil {
			return err
		}
		if m.Container != deref(d.RemoteTable) || azureAccount(m.SASTokenURL) != deref(d.RemoteSchema) {
			return errs.Conflictf("handler %d reads container %s/%s; register another container as a new data source",
				id, deref(d.RemoteSchema), deref(d.RemoteTable))
		}
		now := store.Now()
		if m.SASToken != "unchanged" && d.ConnectionID != nil {
			c, err := lockedConnection(ctx, q, *d.ConnectionID)
			if err != nil {
				return err
			}
			if err := mayChangeConnection(ctx, q, p, c); err != nil {
				return err
			}
			sealed := s.secrets.Seal(mustJSON(secrets{Token: m.SASToken}))
			c.Secret, c.UpdatedAt = &sealed, now
			if err := q.UpdateConnection(ctx, c); err != nil {
				return err
			}
		}
		if name != "" && name != d.Name {
			if naming.Display(name) != name {
				return errs.Field("handler.metadata.dataSourceName", errs.CodeInvalid, "dataSourceName %q has control characters or repeated blanks", name)
			}
			d.Name = name
		}
		if d.HandlerMetadata, err = store.ToJSON(map[string]any{"container": m.Container, "accountName": azureAccount(m.SASTokenURL),
			"sasTokenUrl": withoutQuery(m.SASTokenURL), "tagAttributes": nonNil(m.TagAttributes), "eventTimeAttribute": m.EventTimeAttribute,
			"useDirectoryForTags": m.UseDirectoryForTags, "dataSourceName": d.Name}); err != nil {
			return err
		}
		d.UpdatedAt = now
		if err := q.UpdateDataSource(ctx, d); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("handler.metadata.dataSourceName", errs.CodeUnique, "data source name %q is taken", d.Name)
			}
			return err
		}
		if err := q.AppendChange(ctx, ChangeUpdated, ModelDataSource, idString(id)); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, audit.Event{Type: "dataSourceHandlerUpdate", Success: true, TargetType: ModelDataSource,
			TargetID: idString(id), DataSourceID: &id, DataSourceName: d.Name}); err != nil {
			return err
		}
		view, err = s.handlerView(ctx, q, d, "azureblob")
		return err
	})
	return view, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// BulkAzureBlob replaces the SAS token of every Azure Blob data source of a
// connection string ("<account>/<container>").
func (s *Service) BulkAzureBlob(ctx context.Context, p *auth.Principal, connString string, m connector.AzureBlobHandler) (*BulkHandlerResult, error) {
	if strings.TrimSpace(m.SASToken) == "" {
		return nil, errs.Field("handler.metadata.sasToken", errs.CodeRequired, "handler.metadata.sasToken is required")
	}
	if err := checkText("handler.metadata", m); err != nil {
		return nil, err
	}
	return s.BulkHandler(ctx, p, TechAzureBlob, connString, func(row *store.Connection) error {
		sealed := s.secrets.Seal(mustJSON(secrets{Token: m.SASToken}))
		row.Secret = &sealed
		return nil
	})
}
