package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// applyInput is a plan and what executing it needs to know.
type applyInput struct {
	conn      *store.Connection
	plan      *plan
	mode      mode
	requester *int64
	now       time.Time
	metadata  func(*target) store.JSON // handler metadata of created data sources (technology handlers)
}

// applied is what executing a plan did.
type applied struct {
	Outcome
	created        []int64
	columnsChanged []int64
}

// apply executes a plan in tx: removals first (freeing names), then
// updates, then creations. Each data source changed writes its audit record
// and its change-log entries.
func (s *Service) apply(ctx context.Context, tx *store.Tx, in applyInput) (*applied, error) {
	q := &tx.Queries
	p := in.plan
	out := &applied{Outcome: p.outcome()}
	tagsOf, err := s.tagsFor(ctx, q, p, in)
	if err != nil {
		return nil, err
	}
	for _, c := range p.removes {
		if err := s.remove(ctx, q, in.conn, c.ds, p.hard, store.DisabledRemoved, in.now); err != nil {
			return nil, err
		}
	}
	for _, u := range p.updates {
		changedCols, err := s.applyUpdate(ctx, q, in, u, tagsOf)
		if err != nil {
			return nil, err
		}
		if changedCols {
			out.columnsChanged = append(out.columnsChanged, u.c.ds.ID)
		}
	}
	if out.created, err = s.applyCreates(ctx, q, in, p.creates, tagsOf); err != nil {
		return nil, err
	}
	return out, nil
}

// tagsFor loads (creating when missing) every tag the plan attaches.
func (s *Service) tagsFor(ctx context.Context, q *store.Queries, p *plan, in applyInput) (map[string]*store.Tag, error) {
	var user, system []string
	for _, c := range p.creates {
		user = append(user, c.t.tags...)
		for _, ts := range c.t.columnTags {
			user = append(user, ts...)
		}
		if in.mode == modeMonitor {
			system = append(system, TagNew)
		}
	}
	for _, u := range p.updates {
		user = append(user, u.tagsAdd...)
		for _, ts := range u.colAdd {
			user = append(user, ts...)
		}
		if len(u.cols.add) > 0 {
			system = append(system, TagNew)
		}
	}
	out := map[string]*store.Tag{}
	for _, group := range []struct {
		names  []string
		system bool
	}{{sortedUnique(user), false}, {sortedUnique(system), true}} {
		if len(group.names) == 0 {
			continue
		}
		known, err := q.TagsByName(ctx, group.names)
		if err != nil {
			return nil, err
		}
		for _, n := range group.names {
			t := known[n]
			if t == nil || t.Deleted {
				if t, err = tags.Ensure(ctx, q, n, in.requester, group.system, in.now); err != nil {
					return nil, fmt.Errorf("create tag %q: %w", n, err)
				}
			}
			out[n] = t
		}
	}
	return out, nil
}

// ensureTags creates the tags that do not exist yet, each in a short
// transaction of its own, retrying when another transaction creates it first.
func (s *Service) ensureTags(ctx context.Context, names []string, createdBy *int64, system bool) error {
	if len(names) == 0 {
		return nil
	}
	known, err := s.db.TagsByName(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		if t := known[n]; t != nil && !t.Deleted {
			continue
		}
		for attempt := 0; ; attempt++ {
			err := s.db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tags.Ensure(ctx, &tx.Queries, n, createdBy, system, store.Now())
				return err
			})
			if err == nil {
				break
			}
			if !store.IsUniqueViolation(err) || attempt == 3 {
				return fmt.Errorf("create tag %q: %w", n, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// attach attaches tags to a model with a context, appending one change when
// any was newly attached.
func attach(ctx context.Context, q *store.Queries, modelType, modelID string, names []string, tagsOf map[string]*store.Tag,
	context string, by *int64, now time.Time) error {
	added := false
	for _, n := range names {
		ok, err := q.AttachTag(ctx, &store.ModelTag{ModelType: modelType, ModelID: modelID, Tag: tagsOf[n],
			Source: tagsOf[n].Source, Context: context, AddedBy: by, CreatedAt: now})
		if err != nil {
			return err
		}
		added = added || ok
	}
	if added {
		return q.AppendChange(ctx, ChangeTagAttached, modelType, modelID)
	}
	return nil
}

// detach removes tags from a model, appending one change when any was attached.
func detach(ctx context.Context, q *store.Queries, modelType, modelID string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	known, err := q.TagsByName(ctx, names)
	if err != nil {
		return err
	}
	removed := false
	for _, n := range names {
		if t := known[n]; t != nil {
			ok, err := q.DetachTag(ctx, modelType, modelID, t.ID)
			if err != nil {
				return err
			}
			removed = removed || ok
		}
	}
	if removed {
		return q.AppendChange(ctx, ChangeTagDetached, modelType, modelID)
	}
	return nil
}

// remove disables a data source (soft delete) or deletes it (hard).
func (s *Service) remove(ctx context.Context, q *store.Queries, conn *store.Connection, d *store.DataSource, hard bool,
	reason string, now time.Time) error {
	ev := audit.Event{Type: "dataSourceDelete", Success: true, TargetType: ModelDataSource, TargetID: idString(d.ID),
		DataSourceID: &d.ID, DataSourceName: d.Name, Details: map[string]any{"hardDelete": hard, "reason": reason}}
	if conn != nil {
		ev.Details["connectionKey"] = conn.ConnectionKey
	}
	if hard {
		if err := q.DeleteDataSource(ctx, d.ID); err != nil {
			return err
		}
		if err := q.AppendChange(ctx, ChangeDeleted, ModelDataSource, idString(d.ID)); err != nil {
			return err
		}
		return audit.Write(ctx, q, ev)
	}
	if d.Status == store.DataSourceDisabled {
		return nil
	}
	d.Status, d.DisabledAt, d.DisabledReason, d.UpdatedAt = store.DataSourceDisabled, &now, &reason, now
	if err := q.UpdateDataSource(ctx, d); err != nil {
		return err
	}
	if err := q.AppendChange(ctx, ChangeDisabled, ModelDataSource, idString(d.ID)); err != nil {
		return err
	}
	ev.Type = "dataSourceDisable"
	return audit.Write(ctx, q, ev)
}

func (s *Service) applyUpdate(ctx context.Context, q *store.Queries, in applyInput, u *update, tagsOf map[string]*store.Tag) (bool, error) {
	d := *u.c.ds
	t := u.t
	id := idString(d.ID)
	var what []string
	d.Name, d.SQLTableName, d.SQLSchemaName = u.names.DataSource, ptr(u.names.SQLTable), ptr(u.names.SQLSchema)
	d.SchemaProject, d.Description, d.Documentation = ptr(u.names.SchemaProject), t.description, t.documentation
	d.ColumnsFixed, d.RowEstimate, d.UpdatedAt = t.columnsFixed, t.rowEstimate, in.now
	if t.kind == kindQuery {
		d.Query = ptr(t.query)
	} else {
		d.RemoteKind = t.kind
	}
	if u.enable {
		d.Status, d.DisabledAt, d.DisabledReason = store.DataSourceEnabled, nil, nil
		what = append(what, "enabled")
	}
	if err := q.UpdateDataSource(ctx, &d); err != nil {
		if store.IsUniqueViolation(err) {
			return false, errs.Conflictf("data source %q cannot be renamed to %q or SQL table %q: the name is taken", u.c.ds.Name,
				d.Name, deref(d.SQLTableName))
		}
		return false, err
	}
	if u.meta {
		what = append(what, "metadata")
		if err := q.AppendChange(ctx, ChangeUpdated, ModelDataSource, id); err != nil {
			return false, err
		}
	}
	if u.enable {
		if err := q.AppendChange(ctx, ChangeEnabled, ModelDataSource, id); err != nil {
			return false, err
		}
	}
	cols := !u.cols.empty()
	if cols || u.c.ds.ColumnsFixed != t.columnsFixed {
		what = append(what, "columns")
	}
	if cols {
		if err := applyColumns(ctx, q, d.ID, u.cols, tagsOf, in.now); err != nil {
			return false, err
		}
	}
	if len(u.tagsAdd)+len(u.tagsDel) > 0 {
		what = append(what, "tags")
		if err := detach(ctx, q, ModelDataSource, id, u.tagsDel); err != nil {
			return false, err
		}
		if err := attach(ctx, q, ModelDataSource, id, u.tagsAdd, tagsOf, ContextV2, in.requester, in.now); err != nil {
			return false, err
		}
	}
	for _, col := range sortedKeys(u.colDel, u.colAdd) {
		mid := store.ColumnModelID(d.ID, col)
		if err := detach(ctx, q, ModelColumn, mid, u.colDel[col]); err != nil {
			return false, err
		}
		if err := attach(ctx, q, ModelColumn, mid, u.colAdd[col], tagsOf, ContextV2, in.requester, in.now); err != nil {
			return false, err
		}
		if !slices.Contains(what, "tags") {
			what = append(what, "tags")
		}
	}
	if len(u.ownAdd)+len(u.ownDel) > 0 {
		what = append(what, "owners")
		if err := setOwners(ctx, q, d.ID, u.ownAdd, u.ownDel, in.now); err != nil {
			return false, err
		}
	}
	if len(what) == 0 {
		return false, nil
	}
	return cols, audit.Write(ctx, q, audit.Event{Type: "dataSourceUpdate", Success: true, TargetType: ModelDataSource,
		TargetID: id, DataSourceID: &d.ID, DataSourceName: d.Name, Details: map[string]any{"changed": what}})
}

// applyColumns adds, removes and updates columns. Columns that appear after
// registration are flagged new and tagged New.
func applyColumns(ctx context.Context, q *store.Queries, dsID int64, d columnDiff, tagsOf map[string]*store.Tag, now time.Time) error {
	for _, name := range d.remove {
		if err := q.DeleteColumn(ctx, dsID, name); err != nil {
			return err
		}
	}
	for _, c := range d.change {
		c.UpdatedAt = now
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if err := q.UpsertColumn(ctx, dsID, c); err != nil {
			return err
		}
	}
	added := make([]store.Column, len(d.add))
	for i, c := range d.add {
		c.IsNew, c.CreatedAt, c.UpdatedAt = true, now, now
		added[i] = c
	}
	if err := q.InsertColumns(ctx, dsID, added); err != nil {
		return err
	}
	for _, c := range added {
		if err := attach(ctx, q, ModelColumn, store.ColumnModelID(dsID, c.Name), []string{TagNew}, tagsOf, ContextMonitor, nil, now); err != nil {
			return err
		}
	}
	return q.AppendChange(ctx, ChangeColumns, ModelDataSource, idString(dsID))
}

func setOwners(ctx context.Context, q *store.Queries, dsID int64, add, del []ownerRef, now time.Time) error {
	for _, o := range add {
		if err := q.PutAccess(ctx, &store.Access{DataSourceID: dsID, ModelType: o.typ, ModelID: o.id, State: store.AccessOwner,
			AccessGrant: store.GrantWrite, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	for _, o := range del {
		a, err := q.AccessOf(ctx, dsID, o.typ, o.id)
		if err != nil {
			return err
		}
		if err := q.DeleteAccess(ctx, a.ID); err != nil {
			return err
		}
	}
	return q.AppendChange(ctx, ChangeOwners, ModelDataSource, idString(dsID))
}

// applyCreates creates data sources in batches: the data sources, then all
// their columns, tags, owners, change-log entries and audit records. A
// creation's change covers its columns, tags and owners.
func (s *Service) applyCreates(ctx context.Context, q *store.Queries, in applyInput, creates []*creation, tagsOf map[string]*store.Tag) ([]int64, error) {
	if len(creates) == 0 {
		return nil, nil
	}
	list := make([]*store.DataSource, len(creates))
	for i, c := range creates {
		t := c.t
		d := &store.DataSource{Name: c.names.DataSource, ConnectionID: &in.conn.ID, Technology: in.conn.Technology,
			RemoteDatabase: in.conn.Database, RemoteKind: t.kind, SQLSchemaName: ptr(c.names.SQLSchema),
			SQLTableName: ptr(c.names.SQLTable), SchemaProject: ptr(c.names.SchemaProject), Description: t.description,
			Documentation: t.documentation, Status: store.DataSourceEnabled, CreatedBy: in.requester, CreatedAt: in.now,
			UpdatedAt: in.now, ColumnsFixed: t.columnsFixed, RowEstimate: t.rowEstimate, RemoteTable: ptr(t.table)}
		if t.kind == kindQuery {
			d.Query = ptr(t.query)
		} else {
			d.RemoteSchema = ptr(t.schema)
		}
		if in.metadata != nil {
			d.HandlerMetadata = in.metadata(t)
		}
		list[i] = d
	}
	if err := q.InsertDataSources(ctx, list); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, errs.Conflictf("a data source name or SQL table name of this registration is taken; post again")
		}
		return nil, err
	}
	var cols []store.Column
	var tagged []*store.ModelTag
	var access []*store.Access
	changes := make([]store.Change, len(list))
	records := make([]*store.AuditRecord, len(list))
	ids := make([]int64, len(list))
	tag := func(modelType, modelID string, names []string, context string, by *int64) {
		for _, n := range names {
			tagged = append(tagged, &store.ModelTag{ModelType: modelType, ModelID: modelID, Tag: tagsOf[n], Source: tagsOf[n].Source,
				Context: context, AddedBy: by, CreatedAt: in.now})
		}
	}
	for i, c := range creates {
		d, t := list[i], c.t
		if d.ID == 0 {
			return nil, fmt.Errorf("data source %q was not created", d.Name)
		}
		ids[i] = d.ID
		id := idString(d.ID)
		for _, col := range t.columns {
			col.DataSourceID, col.CreatedAt, col.UpdatedAt = d.ID, in.now, in.now
			cols = append(cols, col)
		}
		tag(ModelDataSource, id, t.tags, ContextV2, in.requester)
		if in.mode == modeMonitor {
			tag(ModelDataSource, id, []string{TagNew}, ContextMonitor, nil)
		}
		for _, col := range sortedKeys(t.columnTags) {
			tag(ModelColumn, store.ColumnModelID(d.ID, col), t.columnTags[col], ContextV2, in.requester)
		}
		for _, o := range c.owners {
			access = append(access, &store.Access{DataSourceID: d.ID, ModelType: o.typ, ModelID: o.id, State: store.AccessOwner,
				AccessGrant: store.GrantWrite, CreatedAt: in.now, UpdatedAt: in.now})
		}
		changes[i] = store.Change{Kind: ChangeCreated, ModelType: ModelDataSource, ModelID: id}
		remote := t.table
		if t.kind != kindQuery {
			remote = t.schema + "." + t.table
		}
		records[i] = audit.Build(ctx, audit.Event{Type: "dataSourceCreate", Success: true, TargetType: ModelDataSource,
			TargetID: id, DataSourceID: &d.ID, DataSourceName: d.Name,
			Details: map[string]any{"connectionKey": in.conn.ConnectionKey, "remote": remote, "kind": t.kind}})
	}
	if err := q.InsertColumnRows(ctx, cols); err != nil {
		return nil, err
	}
	if err := q.AttachTags(ctx, tagged); err != nil {
		return nil, err
	}
	if err := q.InsertAccesses(ctx, access); err != nil {
		return nil, err
	}
	if err := q.AppendChanges(ctx, changes); err != nil {
		return nil, err
	}
	return ids, q.InsertAudits(ctx, records)
}

// sortedKeys returns the keys of the maps, sorted and without duplicates.
func sortedKeys[V any](maps ...map[string]V) []string {
	var keys []string
	for _, m := range maps {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// describe lists names for messages.
func describe(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}
