package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog/naming"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// View is a data source with what its API object shows besides its row.
type View struct {
	DS           *store.DataSource
	Conn         *store.Connection // nil when the data source has no connection
	Tags         []*store.ModelTag // tags of the data source itself
	Framework    string            // the identification framework applied, "" for the global one
	Subscription string            // the caller's relation: owner, expert, subscribed, pending, ingest or not_subscribed
	// CatalogMetadata is what an external catalog keeps about the data
	// source, as sent; nil when none.
	CatalogMetadata store.JSON
}

// Verified reports whether custos reached the data source's database.
func (v *View) Verified() bool { return v.Conn != nil && v.Conn.Verified }

// Health is "passed" when custos reached the data source's database at its
// last attempt, "failed" otherwise (also when it cannot connect at all).
func (v *View) Health() string {
	if v.Verified() {
		return "passed"
	}
	return "failed"
}

// HealthMessage says why the health is what it is.
func (v *View) HealthMessage() string {
	switch {
	case v.Conn == nil:
		return "the data source has no connection"
	case !connector.Live(v.Conn.Technology):
		return fmt.Sprintf("custos does not connect to %s: the connection was validated and stored but never verified", v.Conn.Technology)
	case v.Conn.Verified:
		return "Passed"
	case v.Conn.LastError != nil:
		return *v.Conn.LastError
	}
	return "the connection has not been checked yet"
}

// viewBatch bounds the data sources completed at once, so that the lists
// of ids in the lookups stay statements both stores run.
const viewBatch = 1000

// views completes data sources for the API: connections, tags, frameworks
// and the caller's relation.
func (s *Service) views(ctx context.Context, q *store.Queries, p *auth.Principal, list []*store.DataSource) ([]*View, error) {
	if len(list) > viewBatch {
		out := make([]*View, 0, len(list))
		for start := 0; start < len(list); start += viewBatch {
			vs, err := s.views(ctx, q, p, list[start:min(start+viewBatch, len(list))])
			if err != nil {
				return nil, err
			}
			out = append(out, vs...)
		}
		return out, nil
	}
	out := make([]*View, len(list))
	if len(list) == 0 {
		return out, nil
	}
	ids := make([]int64, len(list))
	sids := make([]string, len(list))
	conns := map[int64]*store.Connection{}
	var fwIDs []int64
	for i, d := range list {
		ids[i], sids[i] = d.ID, idString(d.ID)
		if d.ConnectionID != nil && conns[*d.ConnectionID] == nil {
			c, err := q.GetConnection(ctx, *d.ConnectionID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			conns[*d.ConnectionID] = c
		}
		if d.SDDFrameworkID != nil {
			fwIDs = append(fwIDs, *d.SDDFrameworkID)
		}
	}
	tagsOf, err := q.TagsOfModels(ctx, ModelDataSource, sids)
	if err != nil {
		return nil, err
	}
	fws, err := q.SDDFrameworksByID(ctx, fwIDs)
	if err != nil {
		return nil, err
	}
	access, err := q.AccessToDataSources(ctx, ids)
	if err != nil {
		return nil, err
	}
	catalogMetadata, err := q.CatalogMetadataOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	var groups map[int64]bool
	if p != nil && p.UserID != 0 {
		gs, err := q.GroupsOfUsers(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		groups = map[int64]bool{}
		for _, g := range gs[p.UserID] {
			groups[g.Group.ID] = true
		}
	}
	rank := map[string]int{store.AccessOwner: 5, store.AccessExpert: 4, store.AccessSubscribed: 3, "ingest": 2, store.AccessPending: 1}
	for i, d := range list {
		v := &View{DS: d, Tags: tagsOf[idString(d.ID)], Subscription: store.AccessNotSubscribed,
			CatalogMetadata: catalogMetadata[d.ID]}
		if d.ConnectionID != nil {
			v.Conn = conns[*d.ConnectionID]
		}
		if d.SDDFrameworkID != nil && fws[*d.SDDFrameworkID] != nil {
			v.Framework = fws[*d.SDDFrameworkID].Name
		}
		best := 0
		for _, a := range access[d.ID] {
			mine := p != nil && ((a.ModelType == store.ModelUser && a.ModelID == p.UserID) ||
				(a.ModelType == store.ModelGroup && groups[a.ModelID]))
			if mine && a.Active(store.Now()) || mine && a.State == store.AccessPending {
				if r := rank[a.State]; r > best {
					best, v.Subscription = r, a.State
				}
			}
		}
		out[i] = v
	}
	return out, nil
}

func (s *Service) view(ctx context.Context, q *store.Queries, p *auth.Principal, d *store.DataSource) (*View, error) {
	vs, err := s.views(ctx, q, p, []*store.DataSource{d})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// Get returns a data source by id.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id int64) (*View, error) {
	q := &s.db.Queries
	d, err := s.Visible(ctx, q, p, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, q, p, d)
}

// GetByName returns a data source by its name.
func (s *Service) GetByName(ctx context.Context, p *auth.Principal, name string) (*View, error) {
	q := &s.db.Queries
	if strings.IndexByte(name, 0) >= 0 { // no name holds one; PostgreSQL refuses to look
		return nil, errs.NotFoundf("data source %q does not exist", name)
	}
	d, err := q.GetDataSourceByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("data source %q does not exist", name)
	} else if err != nil {
		return nil, err
	}
	if d, err = s.Visible(ctx, q, p, d.ID); err != nil {
		return nil, errs.NotFoundf("data source %q does not exist", name)
	}
	return s.view(ctx, q, p, d)
}

// GetBySQLTableName returns a data source by its SQL table name.
func (s *Service) GetBySQLTableName(ctx context.Context, p *auth.Principal, name string) (*View, error) {
	q := &s.db.Queries
	if strings.IndexByte(name, 0) >= 0 {
		return nil, errs.NotFoundf("no data source has the SQL table name %q", name)
	}
	found, err := q.GetDataSourceBySQLTableName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("no data source has the SQL table name %q", name)
	} else if err != nil {
		return nil, err
	}
	id := found.ID
	d, err := s.Visible(ctx, q, p, id)
	if err != nil {
		return nil, errs.NotFoundf("no data source has the SQL table name %q", name)
	}
	return s.view(ctx, q, p, d)
}

// Search returns one page of the data sources p may see that match f, and
// the total. The caller's identity in f is filled in here.
func (s *Service) Search(ctx context.Context, p *auth.Principal, f store.DataSourceFilter) ([]*View, int, error) {
	q := &s.db.Queries
	sc, err := s.Discoverable(ctx, q, p)
	if err != nil {
		return nil, 0, err
	}
	if !sc.All {
		f.VisibleOnly, f.Visible = true, sc.IDs
	}
	f.UserID = p.UserID
	gs, err := q.GroupsOfUsers(ctx, p.UserID)
	if err != nil {
		return nil, 0, err
	}
	for _, g := range gs[p.UserID] {
		f.GroupIDs = append(f.GroupIDs, g.Group.ID)
	}
	list, total, err := q.SearchDataSources(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	views, err := s.views(ctx, q, p, list)
	return views, total, err
}

// Update is a change to a data source's own fields; nil fields stay.
type Update struct {
	Name          *string
	Description   *string
	Documentation *string
	SQLTableName  *string
	SQLSchemaName *string
	RecordFormat  *string
	EventTime     *string
	// CatalogMetadata replaces the catalogMetadata when not nil; JSON null
	// removes it.
	CatalogMetadata json.RawMessage
	// Deleted disables (true) or restores (false) the data source.
	Deleted *bool
}

// Update changes a data source's name, descriptions and SQL names.
func (s *Service) Update(ctx context.Context, p *auth.Principal, id int64, in Update) (*View, error) {
	var l errs.List
	if err := addText(&l, "", map[string]*string{"name": in.Name, "description": in.Description, "documentation": in.Documentation,
		"sqlTableName": in.SQLTableName, "sqlSchemaName": in.SQLSchemaName, "recordFormat": in.RecordFormat,
		"eventTime": in.EventTime}); err != nil {
		return nil, err
	}
	if in.Name != nil && (strings.TrimSpace(*in.Name) == "" || naming.Display(*in.Name) != *in.Name) {
		l.Add("name", errs.CodeInvalid, "name must be non-empty, without control characters, repeated or surrounding blanks, at most %d characters", naming.MaxLength)
	}
	for _, f := range []struct {
		field string
		v     *string
	}{{"sqlTableName", in.SQLTableName}, {"sqlSchemaName", in.SQLSchemaName}} {
		if f.v != nil && naming.SQLName(*f.v) != *f.v {
			l.Add(f.field, errs.CodeInvalid, "%s may only hold lower-case letters, digits and single underscores (at most %d)", f.field, naming.MaxLength)
		}
	}
	for _, f := range []*string{in.Description, in.Documentation} {
		if f != nil && len(*f) > maxText {
			l.Add("description", errs.CodeInvalid, "description and documentation are limited to %d bytes", maxText)
		}
	}
	catalogMetadata, err := catalogMetadataOf(in.CatalogMetadata)
	if err != nil {
		l = append(l, errs.As(err).Fields...)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	var d *store.DataSource
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		var err error
		if d, err = s.visibleForUpdate(ctx, q, p, id); err != nil {
			return err
		}
		if err := MayChange(ctx, q, p, d); err != nil {
			return err
		}
		if in.EventTime != nil && *in.EventTime != "" {
			cols, err := q.ColumnsOf(ctx, id)
			if err != nil {
				return err
			}
			found := false
			for _, c := range cols[id] {
				found = found || c.Name == *in.EventTime
			}
			if !found {
				return errs.Field("eventTime", errs.CodeNotFound, "data source %q has no column %q", d.Name, *in.EventTime)
			}
		}
		set := func(dst **string, v *string) {
			if v != nil {
				*dst = optional(*v)
			}
		}
		if in.Name != nil {
			d.Name = *in.Name
		}
		set(&d.Description, in.Description)
		set(&d.Documentation, in.Documentation)
		set(&d.SQLTableName, in.SQLTableName)
		set(&d.SQLSchemaName, in.SQLSchemaName)
		set(&d.RecordFormat, in.RecordFormat)
		set(&d.EventTimeColumn, in.EventTime)
		d.UpdatedAt = store.Now()
		if err := q.UpdateDataSource(ctx, d); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Fields(errs.FieldError{Field: "name", Code: errs.CodeUnique,
					Message: "the name or the SQL table name is taken by another data source"})
			}
			return err
		}
		if in.CatalogMetadata != nil {
			if err := q.SetCatalogMetadata(ctx, id, catalogMetadata); err != nil {
				return err
			}
		}
		if err := q.AppendChange(ctx, ChangeUpdated, ModelDataSource, idString(id)); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, audit.Event{Type: "dataSourceUpdate", Success: true, TargetType: ModelDataSource,
			TargetID: idString(id), DataSourceID: &id, DataSourceName: d.Name}); err != nil {
			return err
		}
		switch {
		case in.Deleted == nil:
		case *in.Deleted:
			return s.remove(ctx, q, nil, d, false, store.DisabledByUser, d.UpdatedAt)
		default:
			return restore(ctx, q, d, d.UpdatedAt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, &s.db.Queries, p, d)
}

// DeleteResult is the response of DELETE /dataSource/{id}.
type V1DeleteResult struct {
	Success                   bool    `json:"success"`
	ID                        int64   `json:"id"`
	SchemaEvolutionID         *int64  `json:"schemaEvolutionId"`
	Name                      string  `json:"name"`
	Disabled                  bool    `json:"disabled"`
	HardDelete                bool    `json:"hardDelete"`
	HandlerDeleteErrorMessage *string `json:"handlerDeleteErrorMessage"`
}

// Delete disables a data source, or deletes it when hard. Disabling one
// that is disabled changes nothing, so that a script repeating a DELETE
// never destroys what it meant to disable. A deleted table of a connection
// that registers every table is remembered, so that schema monitoring does
// not register it again.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id int64, hard bool) (*V1DeleteResult, error) {
	var res *V1DeleteResult
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		res, err = s.deleteOne(ctx, &tx.Queries, p, id, hard, store.Now())
		return err
	})
	return res, err
}

func (s *Service) deleteOne(ctx context.Context, q *store.Queries, p *auth.Principal, id int64, hard bool, now time.Time) (*V1DeleteResult, error) {
	d, err := s.visibleForUpdate(ctx, q, p, id)
	if err != nil {
		return nil, err
	}
	if err := MayChange(ctx, q, p, d); err != nil {
		return nil, err
	}
	if !hard && d.Status == store.DataSourceDisabled {
		// Nothing changes; the request is recorded all the same.
		if err := audit.Write(ctx, q, audit.Event{Type: "dataSourceDisable", Success: true, TargetType: ModelDataSource,
			TargetID: idString(d.ID), DataSourceID: &d.ID, DataSourceName: d.Name,
			Details: map[string]any{"hardDelete": false, "alreadyDisabled": true}}); err != nil {
			return nil, err
		}
		return &V1DeleteResult{Success: true, ID: d.ID, SchemaEvolutionID: d.ConnectionID, Name: d.Name, Disabled: true}, nil
	}
	var conn *store.Connection
	if d.ConnectionID != nil {
		if hard {
			// exclude rewrites the connection row: lock it before reading it.
			if err := q.LockConnection(ctx, *d.ConnectionID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		if conn, err = q.GetConnection(ctx, *d.ConnectionID); errors.Is(err, store.ErrNotFound) {
			conn = nil
		} else if err != nil {
			return nil, err
		}
	}
	if hard && conn != nil && d.RemoteKind != kindQuery {
		if err := exclude(ctx, q, conn, deref(d.RemoteSchema), deref(d.RemoteTable)); err != nil {
			return nil, err
		}
	}
	if err := s.remove(ctx, q, conn, d, hard, store.DisabledByUser, now); err != nil {
		return nil, err
	}
	return &V1DeleteResult{Success: true, ID: d.ID, SchemaEvolutionID: d.ConnectionID, Name: d.Name, Disabled: !hard,
		HardDelete: hard}, nil
}

// exclude remembers a deleted table on its connection.
func exclude(ctx context.Context, q *store.Queries, c *store.Connection, schema, table string) error {
	var list []excludedTable
	_ = json.Unmarshal(c.Excluded, &list)
	for _, e := range list {
		if e.Schema == schema && e.Table == table {
			return nil
		}
	}
	list = append(list, excludedTable{Schema: schema, Table: table})
	var err error
	if c.Excluded, err = store.ToJSON(list); err != nil {
		return err
	}
	c.UpdatedAt = store.Now()
	return q.UpdateConnection(ctx, c)
}

// BulkResult is the response of PUT /dataSource/bulk/{type}. The changes are
// made at once; JobsCreated counts the data sources changed.
type BulkResult struct {
	BulkID      string `json:"bulkId"`
	JobsCreated int    `json:"jobsCreated"`
}

// Bulk types.
var BulkTypes = []string{"disable", "restore", "delete", "tags"}

// Bulk disables, restores, deletes or tags data sources, all or none.
func (s *Service) Bulk(ctx context.Context, p *auth.Principal, typ string, ids []int64, tagNames []string) (*BulkResult, error) {
	var l errs.List
	if len(ids) == 0 {
		l.Add("ids", errs.CodeRequired, "ids must list at least one data source id")
	}
	if typ == "tags" && len(tagNames) == 0 {
		l.Add("update.tags", errs.CodeRequired, "update.tags must list at least one tag")
	}
	if err := addText(&l, "update.tags", tagNames); err != nil {
		return nil, err
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	res := &BulkResult{BulkID: "bulk_ds_update_" + strings.ReplaceAll(uuid.NewString(), "-", "")}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		now := store.Now()
		var tagsOf map[string]*store.Tag
		if typ == "tags" {
			var err error
			if tagsOf, err = q.TagsByName(ctx, tagNames); err != nil {
				return err
			}
			for i, n := range tagNames {
				if t := tagsOf[n]; t == nil || t.Deleted {
					l.Add(fmt.Sprintf("update.tags[%d].name", i), errs.CodeNotFound, "tag %q does not exist", n)
				}
			}
			if err := l.Err(); err != nil {
				return err
			}
		}
		for i, id := range ids {
			d, err := s.visibleForUpdate(ctx, q, p, id)
			if errs.Is(err, errs.NotFound) {
				return errs.Field(fmt.Sprintf("ids[%d]", i), errs.CodeNotFound, "data source %d does not exist", id)
			} else if err != nil {
				return err
			}
			if err := MayChange(ctx, q, p, d); err != nil {
				return err
			}
			switch typ {
			case "disable":
				if d.Status == store.DataSourceDisabled {
					continue
				}
				if err := s.remove(ctx, q, nil, d, false, store.DisabledByUser, now); err != nil {
					return err
				}
			case "restore":
				if err := restore(ctx, q, d, now); err != nil {
					return err
				}
			case "delete":
				if _, err := s.deleteOne(ctx, q, p, id, d.Status == store.DataSourceDisabled, now); err != nil {
					return err
				}
			case "tags":
				if err := attach(ctx, q, ModelDataSource, idString(id), tagNames, tagsOf, "manual", &p.UserID, now); err != nil {
					return err
				}
				if err := audit.Write(ctx, q, audit.Event{Type: "modelTagAdd", Success: true, TargetType: ModelDataSource,
					TargetID: idString(id), DataSourceID: &id, DataSourceName: d.Name, Details: map[string]any{"tags": tagNames}}); err != nil {
					return err
				}
			default:
				return errs.BadRequestf("bulk type must be one of %s, not %q", strings.Join(BulkTypes, ", "), typ)
			}
			res.JobsCreated++
		}
		if res.JobsCreated == 0 {
			return audit.Write(ctx, q, audit.Event{Type: "dataSourceBulk", Action: typ, Success: true, TargetType: ModelDataSource,
				Details: map[string]any{"ids": ids, "changed": 0}})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// TagsOf returns the tags of a data source and of its columns.
func (s *Service) TagsOf(ctx context.Context, p *auth.Principal, id int64) ([]*store.ModelTag, error) {
	q := &s.db.Queries
	if _, err := s.Visible(ctx, q, p, id); err != nil {
		return nil, err
	}
	own, err := q.TagsOfModels(ctx, ModelDataSource, []string{idString(id)})
	if err != nil {
		return nil, err
	}
	out := own[idString(id)]
	cols, err := q.ColumnTagsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(cols) {
		out = append(out, cols[k]...)
	}
	return out, nil
}

// Check is the outcome of one health check.
type Check struct {
	Status  string `json:"status"` // passed or failed
	Message string `json:"message"`
}

// TestResult is the response of GET /dataSource/{id}/test.
type TestResult struct {
	Status          string    `json:"status"`
	LastAttempt     time.Time `json:"lastAttempt"`
	SQL             Check     `json:"sql"`
	ColumnEvolution Check     `json:"columnEvolution"`
}

// Test checks that the data source's remote table still reads as
// registered: that custos connects, the table or query resolves, and its
// columns are those of the dictionary.
func (s *Service) Test(ctx context.Context, p *auth.Principal, id int64) (*TestResult, error) {
	q := &s.db.Queries
	d, err := s.Visible(ctx, q, p, id)
	if err != nil {
		return nil, err
	}
	v, err := s.view(ctx, q, p, d)
	if err != nil {
		return nil, err
	}
	res := &TestResult{LastAttempt: store.Now()}
	fail := func(msg string) *TestResult {
		res.Status, res.SQL = "failed", Check{Status: "failed", Message: msg}
		res.ColumnEvolution = Check{Status: "failed", Message: "not checked"}
		return res
	}
	if v.Conn == nil || !connector.Live(v.Conn.Technology) {
		return fail(v.HealthMessage()), nil
	}
	cc, err := s.connectionOf(v.Conn)
	if err != nil {
		return nil, err
	}
	src, err := s.open(ctx, cc, s.cfg.Connect)
	if err != nil {
		return fail(errs.As(err).Message), nil
	}
	defer src.Close()
	var remote []connector.Column
	if d.RemoteKind == kindQuery {
		remote, err = src.DescribeQuery(ctx, connector.Query{SQL: deref(d.Query), Field: "query"})
	} else {
		var tables []connector.Table
		tables, err = src.LookupTables(ctx, []connector.TableRef{{Schema: deref(d.RemoteSchema), Name: deref(d.RemoteTable), Field: "table"}})
		if err == nil {
			remote = tables[0].Columns
		}
	}
	if err != nil {
		return fail(errs.As(err).Message), nil
	}
	res.Status, res.SQL = "passed", Check{Status: "passed", Message: "Passed"}
	cols, err := q.ColumnsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, c := range remote {
		have[c.Name] = c.DataType
	}
	var problems []string
	for _, c := range cols[id] {
		switch t, ok := have[c.Name]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("column %q is gone", c.Name))
		case t != c.DataType:
			problems = append(problems, fmt.Sprintf("column %q is now %s, registered as %s", c.Name, t, c.DataType))
		}
		delete(have, c.Name)
	}
	if !d.ColumnsFixed {
		for _, n := range sortedKeys(have) {
			problems = append(problems, fmt.Sprintf("column %q is not registered", n))
		}
	}
	res.ColumnEvolution = Check{Status: "passed", Message: "the dictionary matches the remote columns"}
	if len(problems) > 0 {
		res.Status = "failed"
		res.ColumnEvolution = Check{Status: "failed", Message: describe(problems) + "; schema monitoring brings the dictionary up to date"}
	}
	return res, nil
}

// DetectInput is the payload of PUT /dataSource/detectRemoteChanges.
type DetectInput struct {
	DataSourceIDs       []int64 `json:"dataSourceIds,omitempty"`
	Hostname            string  `json:"hostname,omitempty"`
	Port                int     `json:"port,omitempty"`
	Database            string  `json:"database,omitempty"`
	Table               string  `json:"table,omitempty"`
	SchemaEvolutionID   *int64  `json:"schemaEvolutionId,omitempty"`
	SkipColumnDetection bool    `json:"skipColumnDetection,omitempty"`
}

// DetectResult is the response of PUT /dataSource/detectRemoteChanges: the
// schema monitoring jobs started, one per connection.
type DetectResult struct {
	BulkID          string   `json:"bulkId"`
	SchemaDetection JobsList `json:"schemaDetection"`
}

// JobsList lists job ids.
type JobsList struct {
	Jobs []string `json:"jobs"`
}

// DetectRemoteChanges runs schema monitoring now on the connections the
// payload selects (every connection custos reads when it selects none).
func (s *Service) DetectRemoteChanges(ctx context.Context, p *auth.Principal, in DetectInput) (*DetectResult, error) {
	var l errs.List
	byIDs := len(in.DataSourceIDs) > 0
	byRemote := in.Hostname != "" || in.Port != 0 || in.Database != "" || in.Table != ""
	byGroup := in.SchemaEvolutionID != nil
	if byIDs && (byRemote || byGroup) {
		l.Add("dataSourceIds", errs.CodeInvalid, "dataSourceIds cannot be combined with schemaEvolutionId, hostname, port, database or table")
	}
	if byGroup && byRemote {
		l.Add("schemaEvolutionId", errs.CodeInvalid, "schemaEvolutionId cannot be combined with hostname, port, database or table")
	}
	if in.SkipColumnDetection && !byGroup {
		l.Add("skipColumnDetection", errs.CodeInvalid, "skipColumnDetection is only accepted with schemaEvolutionId")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	res := &DetectResult{BulkID: uuid.NewString(), SchemaDetection: JobsList{Jobs: []string{}}}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		conns, err := q.Connections(ctx)
		if err != nil {
			return err
		}
		selected := map[int64]*monitorPayload{}
		pick := func(c *store.Connection) *monitorPayload {
			if selected[c.ID] == nil {
				selected[c.ID] = &monitorPayload{ConnectionID: c.ID, SkipColumns: in.SkipColumnDetection}
			}
			return selected[c.ID]
		}
		byID := map[int64]*store.Connection{}
		for _, c := range conns {
			byID[c.ID] = c
		}
		switch {
		case byIDs:
			for i, id := range in.DataSourceIDs {
				d, err := s.Visible(ctx, q, p, id)
				if errs.Is(err, errs.NotFound) {
					l.Add(fmt.Sprintf("dataSourceIds[%d]", i), errs.CodeNotFound, "data source %d does not exist", id)
					continue
				} else if err != nil {
					return err
				}
				if d.ConnectionID == nil || byID[*d.ConnectionID] == nil {
					continue
				}
				mp := pick(byID[*d.ConnectionID])
				mp.Only = append(mp.Only, refOf(d))
			}
		case byGroup:
			c := byID[*in.SchemaEvolutionID]
			if c == nil {
				l.Add("schemaEvolutionId", errs.CodeNotFound, "schema evolution group %d does not exist", *in.SchemaEvolutionID)
				break
			}
			pick(c)
		default:
			for _, c := range conns {
				if in.Hostname != "" && !strings.EqualFold(deref(c.Hostname), in.Hostname) ||
					in.Port != 0 && deref(c.Port) != int64(in.Port) || in.Database != "" && deref(c.Database) != in.Database {
					continue
				}
				mp := pick(c)
				if in.Table != "" {
					mp.Table = in.Table
				}
			}
		}
		if err := l.Err(); err != nil {
			return err
		}
		for _, id := range sortedIDs(selected) {
			c := byID[id]
			if !connector.Live(c.Technology) {
				continue
			}
			if err := mayChangeConnection(ctx, q, p, c); err != nil {
				return err
			}
			j, err := s.enqueueMonitoring(ctx, q, selected[id], &p.UserID)
			if err != nil {
				return err
			}
			res.SchemaDetection.Jobs = append(res.SchemaDetection.Jobs, j)
		}
		return audit.Write(ctx, q, audit.Event{Type: "dataSourceDetectRemoteChanges", Success: true, TargetType: "connection",
			Details: map[string]any{"jobs": res.SchemaDetection.Jobs}})
	})
	if err != nil {
		return nil, err
	}
	s.runner.Notify()
	return res, nil
}

// NameCount is a value and how many data sources have it (GET /schemas,
// GET /connectionStrings).
type NameCount = store.NameCount

// Schemas lists the remote schemas of data sources with their counts.
func (s *Service) Schemas(ctx context.Context, p *auth.Principal, searchText string) ([]NameCount, error) {
	return s.db.SchemaCounts(ctx, searchText)
}

// ConnectionStrings lists the connection strings of data sources with their counts.
func (s *Service) ConnectionStrings(ctx context.Context, p *auth.Principal, searchText string) ([]NameCount, error) {
	return s.db.ConnectionStringCounts(ctx, searchText)
}

func sortedIDs[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// restore enables a disabled data source; an enabled one is left alone.
func restore(ctx context.Context, q *store.Queries, d *store.DataSource, now time.Time) error {
	if d.Status != store.DataSourceDisabled {
		return nil
	}
	id := d.ID
	d.Status, d.DisabledAt, d.DisabledReason, d.UpdatedAt = store.DataSourceEnabled, nil, nil, now
	if err := q.UpdateDataSource(ctx, d); err != nil {
		return err
	}
	if err := q.AppendChange(ctx, ChangeEnabled, ModelDataSource, idString(id)); err != nil {
		return err
	}
	return audit.Write(ctx, q, audit.Event{Type: "dataSourceRestore", Success: true, TargetType: ModelDataSource,
		TargetID: idString(id), DataSourceID: &id, DataSourceName: d.Name})
}

// maxCatalogMetadata bounds a catalogMetadata document.
const maxCatalogMetadata = 64 << 10

// catalogMetadataOf checks a catalogMetadata value: an object naming its
// provider (the 2023 Swagger requires provider), or null to remove it.
func catalogMetadataOf(raw json.RawMessage) (store.JSON, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errs.Field("catalogMetadata", errs.CodeType, "catalogMetadata must be an object (or null to remove it)")
	}
	if p, ok := m["provider"].(string); !ok || strings.TrimSpace(p) == "" {
		return nil, errs.Field("catalogMetadata.provider", errs.CodeRequired, "catalogMetadata.provider must name the external catalog")
	}
	if len(raw) > maxCatalogMetadata {
		return nil, errs.Field("catalogMetadata", errs.CodeInvalid, "catalogMetadata is limited to %d bytes", maxCatalogMetadata)
	}
	if err := checkText("catalogMetadata", m); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return store.JSON(b.Bytes()), nil
}
