package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// PostgresHandler is the V1 per-technology handler of PostgreSQL, which
// older scripts call at /pg and /postgresql. Unlike the other technology
// handlers, its tables are read from the database.
var PostgresHandler = Technology{"postgresql", connector.PostgreSQL, "postgresql", "queryable"}

// relabel renames the fields of a connector error ("connection.password")
// to where the V1 payload holds them ("handler.metadata.password").
func relabel(err error, at string) error {
	e := errs.As(err)
	if e.Kind != errs.Invalid {
		return err
	}
	out := *e
	out.Fields = make([]errs.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if rest, ok := strings.CutPrefix(f.Field, "connection."); ok {
			f.Field = at + "." + rest
		}
		f.Message = strings.ReplaceAll(f.Message, "connection.", at+".")
		out.Fields[i] = f
	}
	out.Message = strings.ReplaceAll(out.Message, "connection.", at+".")
	return &out
}

// readTargets reads the tables (and queries) of a live handler payload from
// the database: each target gets the columns the database has. Columns the
// payload lists must exist there.
func (s *Service) readTargets(ctx context.Context, conn connector.Connection, at string, targets []*target) error {
	src, err := s.open(ctx, conn, s.cfg.Connect)
	if err != nil {
		return relabel(err, at)
	}
	defer src.Close()
	var refs []connector.TableRef
	var tables []*target
	for _, t := range targets {
		if t.kind == kindQuery {
			cols, err := src.DescribeQuery(ctx, connector.Query{SQL: t.query, Field: t.field + ".query"})
			if err != nil {
				return relabel(err, at)
			}
			if err := t.useRemote(cols); err != nil {
				return err
			}
			continue
		}
		refs = append(refs, connector.TableRef{Schema: t.schema, Name: t.table, Field: t.field})
		tables = append(tables, t)
	}
	if len(refs) == 0 {
		return nil
	}
	found, err := src.LookupTables(ctx, refs)
	if err != nil {
		return relabel(err, at)
	}
	for i, tb := range found {
		t := tables[i]
		t.kind = tb.Kind
		if tb.RowEstimate >= 0 {
			t.rowEstimate = ptr(tb.RowEstimate)
		}
		if t.description == nil && tb.Description != "" {
			t.description = ptr(tb.Description)
		}
		if err := t.useRemote(tb.Columns); err != nil {
			return err
		}
	}
	return nil
}

// useRemote replaces a target's listed columns with the database's, after
// checking that each listed one exists there.
func (t *target) useRemote(cols []connector.Column) error {
	have := map[string]bool{}
	remote := make([]store.Column, len(cols))
	for i, c := range cols {
		have[c.Name] = true
		remote[i] = store.Column{Name: c.Name, Position: int64(i + 1), DataType: c.DataType, RemoteType: optional(c.RemoteType),
			Nullable: c.Nullable, PrimaryKey: c.PrimaryKey, Description: optional(c.Description)}
	}
	var l errs.List
	for i, c := range t.columns {
		if !have[c.Name] {
			l.Add(fmt.Sprintf("%s.columns[%d].name", t.field, i), errs.CodeNotFound, "the database has no column %q in %s",
				c.Name, t.table)
		}
	}
	if err := l.Err(); err != nil {
		return err
	}
	t.columns, t.columnsFixed = remote, false
	return nil
}

// RemoteTable is a table of a remote database, as the legacy table listing
// answers it.
type RemoteTable struct {
	TableName  string `json:"tableName"`
	SchemaName string `json:"schemaName"`
	Kind       string `json:"kind" doc:"table, view, materialized view, partitioned table or foreign table"`
}

// RemoteTables lists the tables of a PostgreSQL database the caller gives
// the connection of (one schema, or every user schema). It needs
// CREATE_DATA_SOURCE, as registering them does.
func (s *Service) RemoteTables(ctx context.Context, p *auth.Principal, conn connector.Connection, schema string) ([]RemoteTable, error) {
	if err := p.Require(auth.CreateDataSource); err != nil {
		return nil, err
	}
	conn.Handler = connector.PostgreSQL
	src, err := s.open(ctx, conn, s.cfg.Connect)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var schemas []string
	if schema != "" {
		schemas = []string{schema}
	}
	tables, err := src.Tables(ctx, schemas...)
	if err != nil {
		return nil, err
	}
	out := make([]RemoteTable, 0, len(tables))
	for _, t := range tables {
		out = append(out, RemoteTable{TableName: t.Name, SchemaName: t.Schema, Kind: t.Kind})
	}
	return out, nil
}

// ColumnTypes reads the columns of the table or query of a PostgreSQL
// handler's metadata, in the handler's column shape, without registering
// anything. It needs CREATE_DATA_SOURCE.
func (s *Service) ColumnTypes(ctx context.Context, p *auth.Principal, raw json.RawMessage) ([]HandlerColumn, error) {
	if err := p.Require(auth.CreateDataSource); err != nil {
		return nil, err
	}
	const at = "handler.metadata"
	var m handlerMeta
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil, errs.Field(at, errs.CodeType, "%s must be an object of connection and table fields", at)
	}
	if err := checkText(at, m); err != nil {
		return nil, err
	}
	c := v1Connection(PostgresHandler, m)
	if err := c.Validate(at); err != nil {
		return nil, err
	}
	query := deref(m.Query)
	if (m.Table == "") == (query == "") {
		return nil, errs.Field(at+".table", errs.CodeRequired, "%s needs a table (with its schema) or a query", at)
	}
	if m.Table != "" && m.Schema == "" {
		return nil, errs.Field(at+".schema", errs.CodeRequired, "%s.schema is required", at)
	}
	src, err := s.open(ctx, c, s.cfg.Connect)
	if err != nil {
		return nil, relabel(err, at)
	}
	defer src.Close()
	var cols []connector.Column
	if query != "" {
		if cols, err = src.DescribeQuery(ctx, connector.Query{SQL: query, Field: at + ".query"}); err != nil {
			return nil, relabel(err, at)
		}
	} else {
		tables, err := src.LookupTables(ctx, []connector.TableRef{{Schema: m.Schema, Name: m.Table, Field: at}})
		if err != nil {
			return nil, relabel(err, at)
		}
		cols = tables[0].Columns
	}
	out := make([]HandlerColumn, len(cols))
	for i, c := range cols {
		nullable := c.Nullable
		out[i] = HandlerColumn{Name: c.Name, DataType: c.DataType, RemoteType: c.RemoteType, Nullable: &nullable,
			IsPrimaryKey: c.PrimaryKey, Description: c.Description, RemoteColumn: c.Name}
	}
	return out, nil
}

// JobTargets are the targets of the jobs that concern the connections
// with a connection string (host:port/database) the caller may read: the
// connections (registration) and their data sources (discovery), by target
// type.
func (s *Service) JobTargets(ctx context.Context, p *auth.Principal, connectionString string) (map[string][]string, error) {
	q := &s.db.Queries
	conns, err := q.Connections(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range conns {
		if c.ConnectionString == nil || !strings.EqualFold(*c.ConnectionString, connectionString) {
			continue
		}
		if ok, err := mayReadConnection(ctx, q, p, c); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		out["connection"] = append(out["connection"], c.ConnectionKey)
		list, err := q.DataSourcesOfConnection(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			out[ModelDataSource] = append(out[ModelDataSource], idString(d.ID))
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out, nil
}
