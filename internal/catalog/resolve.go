package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/custosdata/custos/internal/catalog/naming"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// target is one data source a document asks for, resolved against the
// remote database (or, for a technology custos cannot reach, taken from the
// payload alone).
type target struct {
	key   string // identity within the connection: see tableKey and queryKey
	field string // the payload path of its source ("sources[2]"), "" for a table found by all
	kind  string // a connector relation kind, or "query"

	schema, table, query string // table is the query's declared name for a query source

	names                     naming.Names
	explicitName, explicitSQL bool // naming.datasource, naming.table/schema given

	columns       []store.Column
	columnsFixed  bool // the payload lists the columns
	description   *string
	documentation *string
	tags          []string            // data source tags, sorted
	columnTags    map[string][]string // column tags, sorted
	owners        *[]Owner
	ownersField   string
	rowEstimate   *int64
}

const kindQuery = "query"

func tableKey(schema, table string) string { return "t\x00" + schema + "\x00" + table }
func queryKey(name string) string          { return "q\x00" + name }

// keyOf is the identity of a registered data source within its connection.
// A query source keeps its declared name in remote_table.
func keyOf(d *store.DataSource) string {
	if d.RemoteKind == kindQuery {
		return queryKey(deref(d.RemoteTable))
	}
	return tableKey(deref(d.RemoteSchema), deref(d.RemoteTable))
}

// excludedTable is an entry of a connection's excluded list.
type excludedTable struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
}

func excludedKeys(j store.JSON) map[string]bool {
	var list []excludedTable
	_ = json.Unmarshal(j, &list)
	out := make(map[string]bool, len(list))
	for _, e := range list {
		out[tableKey(e.Schema, e.Table)] = true
	}
	return out
}

// resolver resolves a document's sources into targets.
type resolver struct {
	doc      *Document
	src      connector.Source // nil for a technology custos cannot reach
	strict   bool             // report missing tables and columns (a request) rather than skip them (a job)
	excluded map[string]bool
}

// resolve returns the targets of the document, sorted by key.
func (r *resolver) resolve(ctx context.Context) ([]*target, error) {
	d := r.doc
	var out []*target
	listed := map[string]bool{}
	var refs []connector.TableRef
	var specs []int
	for i, s := range d.Sources {
		if s.Table == "" {
			continue
		}
		schema := s.Schema
		if schema == "" {
			schema = d.Connection.Schema
		}
		refs = append(refs, connector.TableRef{Schema: schema, Name: s.Table, Field: fmt.Sprintf("sources[%d]", i)})
		specs = append(specs, i)
		listed[tableKey(schema, s.Table)] = true
	}
	if r.src == nil {
		for i, ref := range refs {
			t, err := r.fromTable(connector.Table{Schema: ref.Schema, Name: ref.Name, Kind: connector.KindTable, RowEstimate: -1},
				&d.Sources[specs[i]], ref.Field, false)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	} else if len(refs) > 0 {
		tables, found, err := r.lookup(ctx, refs)
		if err != nil {
			return nil, err
		}
		for i, ref := range refs {
			if !found[i] {
				continue
			}
			t, err := r.fromTable(tables[i], &d.Sources[specs[i]], ref.Field, true)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	if d.monitored() && r.src != nil {
		var schemas []string
		if d.Connection.Schema != "" {
			schemas = []string{d.Connection.Schema}
		}
		tables, err := r.src.Tables(ctx, schemas...)
		if err != nil && (r.strict || !errs.Is(err, errs.Invalid)) {
			return nil, err
		}
		for _, tb := range tables {
			k := tableKey(tb.Schema, tb.Name)
			if listed[k] || r.excluded[k] || !tb.Readable {
				continue
			}
			t, err := r.fromTable(tb, nil, "", true)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	for i := range d.Sources {
		s := &d.Sources[i]
		if s.Query == "" {
			continue
		}
		t, err := r.fromQuery(ctx, s, fmt.Sprintf("sources[%d]", i))
		if err != nil {
			return nil, err
		}
		if t != nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

// lookup reads the listed tables. A request reports each missing one as a
// 422 on its field; a job skips them (they are then removed from the catalog).
func (r *resolver) lookup(ctx context.Context, refs []connector.TableRef) ([]connector.Table, []bool, error) {
	found := make([]bool, len(refs))
	if r.strict {
		tables, err := r.src.LookupTables(ctx, refs)
		if err != nil {
			return nil, nil, err
		}
		for i := range found {
			found[i] = true
		}
		return tables, found, nil
	}
	existing, err := r.src.Schemas(ctx)
	if err != nil {
		return nil, nil, err
	}
	var schemas []string
	for _, ref := range refs {
		if slices.Contains(existing, ref.Schema) && !slices.Contains(schemas, ref.Schema) {
			schemas = append(schemas, ref.Schema)
		}
	}
	byKey := map[string]connector.Table{}
	if len(schemas) > 0 {
		tables, err := r.src.Tables(ctx, schemas...)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range tables {
			byKey[tableKey(t.Schema, t.Name)] = t
		}
	}
	out := make([]connector.Table, len(refs))
	for i, ref := range refs {
		t, ok := byKey[tableKey(ref.Schema, ref.Name)]
		out[i], found[i] = t, ok && t.Readable
	}
	return out, found, nil
}

// fromTable builds the target of a table; spec is its source entry (nil for
// a table registered by all), field its payload path. remote says the
// columns come from the database, so listed columns must exist there.
func (r *resolver) fromTable(tb connector.Table, spec *Source, field string, remote bool) (*target, error) {
	d := r.doc
	t := &target{key: tableKey(tb.Schema, tb.Name), field: field, kind: tb.Kind, schema: tb.Schema, table: tb.Name,
		ownersField: "owners", owners: d.Owners}
	t.names = d.template().Render(naming.Remote{Database: d.Connection.Database, Schema: tb.Schema, Table: tb.Name})
	if tb.Description != "" {
		t.description = ptr(tb.Description)
	}
	if tb.RowEstimate >= 0 {
		t.rowEstimate = ptr(tb.RowEstimate)
	}
	remoteCols := make([]store.Column, len(tb.Columns))
	for i, c := range tb.Columns {
		remoteCols[i] = store.Column{Name: c.Name, Position: int64(c.Position), DataType: c.DataType,
			RemoteType: optional(c.RemoteType), Nullable: c.Nullable, PrimaryKey: c.PrimaryKey, Description: optional(c.Description)}
	}
	t.columns = remoteCols
	t.tags = sortedUnique(d.options().TableTags)
	if spec == nil {
		return t, nil
	}
	if err := r.applySpec(t, spec, field, remoteCols, remote); err != nil {
		return nil, err
	}
	return t, nil
}

// applySpec applies a source entry's options to its target.
func (r *resolver) applySpec(t *target, spec *Source, field string, remoteCols []store.Column, remote bool) error {
	var l errs.List
	if n := spec.Naming; n != nil {
		if n.Datasource != "" {
			t.names.DataSource, t.explicitName = n.Datasource, true
		}
		if n.Table != "" {
			t.names.SQLTable, t.explicitSQL = n.Table, true
		}
		if n.Schema != "" {
			t.names.SQLSchema = n.Schema
		}
	}
	if spec.Description != "" {
		t.description = ptr(spec.Description)
	}
	if spec.Documentation != "" {
		t.documentation = ptr(spec.Documentation)
	}
	if spec.Owners != nil {
		t.owners, t.ownersField = spec.Owners, field+".owners"
	}
	byName := map[string]store.Column{}
	for _, c := range remoteCols {
		byName[c.Name] = c
	}
	if len(spec.Columns) > 0 {
		t.columnsFixed = true
		t.columns = nil
		for j, c := range spec.Columns {
			col, ok := byName[c.Name]
			if remote && !ok {
				if r.strict {
					l.Add(fmt.Sprintf("%s.columns[%d].name", field, j), errs.CodeNotFound, "column %q does not exist in %s.%s",
						c.Name, t.schema, t.table)
				}
				continue
			}
			if !remote {
				col = store.Column{Name: c.Name, Nullable: true}
			}
			col.Position = int64(len(t.columns) + 1)
			if c.DataType != "" {
				col.DataType = c.DataType
			}
			if c.RemoteType != "" {
				col.RemoteType = ptr(c.RemoteType)
			}
			if c.Nullable != nil {
				col.Nullable = *c.Nullable
			}
			if c.PrimaryKey {
				col.PrimaryKey = true
			}
			if c.Description != "" {
				col.Description = ptr(c.Description)
			}
			t.columns = append(t.columns, col)
		}
	}
	has := map[string]int{}
	for i, c := range t.columns {
		has[c.Name] = i
	}
	for j, cd := range spec.ColumnDescriptions {
		i, ok := has[cd.ColumnName]
		if !ok {
			if r.strict {
				l.Add(fmt.Sprintf("%s.columnDescriptions[%d].columnName", field, j), errs.CodeNotFound,
					"column %q is not a column of this source", cd.ColumnName)
			}
			continue
		}
		t.columns[i].Description = optional(cd.Description)
	}
	if spec.Tags != nil {
		t.tags = sortedUnique(append(slices.Clone(t.tags), spec.Tags.Table...))
		for j, ct := range spec.Tags.Columns {
			if _, ok := has[ct.ColumnName]; !ok {
				if r.strict {
					l.Add(fmt.Sprintf("%s.tags.columns[%d].columnName", field, j), errs.CodeNotFound,
						"column %q is not a column of this source", ct.ColumnName)
				}
				continue
			}
			if t.columnTags == nil {
				t.columnTags = map[string][]string{}
			}
			t.columnTags[ct.ColumnName] = sortedUnique(append(t.columnTags[ct.ColumnName], ct.Tags...))
		}
	}
	return l.Err()
}

// fromQuery builds the target of a query source; it returns nil when a job
// finds the query no longer valid.
func (r *resolver) fromQuery(ctx context.Context, spec *Source, field string) (*target, error) {
	d := r.doc
	name := spec.Naming.Datasource
	t := &target{key: queryKey(name), field: field, kind: kindQuery, table: name, query: spec.Query,
		ownersField: "owners", owners: d.Owners, tags: sortedUnique(d.options().TableTags)}
	base := d.Connection.Schema
	if base == "" {
		base = d.Connection.Database
	}
	t.names = naming.Names{DataSource: name, SQLTable: naming.SQLName(name), SQLSchema: naming.SQLName(base),
		SchemaProject: naming.Display(naming.Title(base))}
	t.explicitName = true
	var remoteCols []store.Column
	remote := r.src != nil
	if remote {
		cols, err := r.src.DescribeQuery(ctx, connector.Query{SQL: spec.Query, Field: field + ".query"})
		if err != nil {
			if !r.strict && errs.Is(err, errs.Invalid) {
				return nil, nil
			}
			return nil, err
		}
		for _, c := range cols {
			remoteCols = append(remoteCols, store.Column{Name: c.Name, Position: int64(c.Position), DataType: c.DataType,
				RemoteType: optional(c.RemoteType), Nullable: c.Nullable})
		}
	}
	t.columns = remoteCols
	if err := r.applySpec(t, spec, field, remoteCols, remote); err != nil {
		return nil, err
	}
	return t, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
