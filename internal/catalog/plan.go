package catalog

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/custosdata/custos/internal/catalog/naming"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// current is a registered data source of a connection as reconciliation
// sees it.
type current struct {
	ds      *store.DataSource
	columns []store.Column
	tags    map[string]string            // every data source tag -> its context
	colTags map[string]map[string]string // column -> tag -> context
	owners  map[ownerRef]bool
}

// ownerRef is a user or group that owns a data source.
type ownerRef struct {
	typ string // store.ModelUser or store.ModelGroup
	id  int64
}

// loadCurrent reads the data sources of a connection with their columns,
// tags and owners.
func loadCurrent(ctx context.Context, q *store.Queries, connectionID int64) (map[string]*current, error) {
	list, err := q.DataSourcesOfConnection(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*current, len(list))
	// In chunks, so that no statement carries too many parameters.
	const chunk = 1000
	for start := 0; start < len(list); start += chunk {
		part := list[start:min(start+chunk, len(list))]
		if err := loadChunk(ctx, q, part, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func loadChunk(ctx context.Context, q *store.Queries, list []*store.DataSource, out map[string]*current) error {
	ids := make([]int64, len(list))
	sids := make([]string, len(list))
	for i, d := range list {
		ids[i], sids[i] = d.ID, idString(d.ID)
	}
	cols, err := q.ColumnsOf(ctx, ids...)
	if err != nil {
		return err
	}
	dsTags, err := q.TagsOfModels(ctx, ModelDataSource, sids)
	if err != nil {
		return err
	}
	colTags, err := q.TagsOfColumns(ctx, cols)
	if err != nil {
		return err
	}
	owners, err := q.AccessToDataSources(ctx, ids, store.AccessOwner)
	if err != nil {
		return err
	}
	for _, d := range list {
		c := &current{ds: d, columns: cols[d.ID], tags: map[string]string{}, colTags: map[string]map[string]string{},
			owners: map[ownerRef]bool{}}
		for _, mt := range dsTags[idString(d.ID)] {
			c.tags[mt.Tag.Name] = mt.Context
		}
		for _, col := range c.columns {
			for _, mt := range colTags[store.ColumnModelID(d.ID, col.Name)] {
				if c.colTags[col.Name] == nil {
					c.colTags[col.Name] = map[string]string{}
				}
				c.colTags[col.Name][mt.Tag.Name] = mt.Context
			}
		}
		for _, a := range owners[d.ID] {
			c.owners[ownerRef{a.ModelType, a.ModelID}] = true
		}
		out[keyOf(d)] = c
	}
	return nil
}

// mode says what asks for a reconciliation.
type mode int

const (
	modeRegister mode = iota // a posted document: names and tags follow it
	modeMonitor              // schema monitoring: existing names are kept, new tables are tagged New
	modeAdd                  // a technology handler adds data sources and removes none
)

// plan is what reconciling a connection with its targets does.
type plan struct {
	creates  []*creation
	updates  []*update
	same     []*current
	removes  []*current
	hard     bool // removals delete rather than disable
	tagsDiff bool // some v2 tag is attached or detached
}

type creation struct {
	t      *target
	names  naming.Names
	owners []ownerRef
}

type update struct {
	c       *current
	t       *target
	names   naming.Names
	meta    bool // name, SQL names, description or documentation change
	enable  bool
	cols    columnDiff
	tagsAdd []string
	tagsDel []string
	colAdd  map[string][]string
	colDel  map[string][]string
	ownAdd  []ownerRef
	ownDel  []ownerRef
}

func (u *update) changed() bool {
	return u.meta || u.enable || !u.cols.empty() || len(u.tagsAdd)+len(u.tagsDel)+len(u.colAdd)+len(u.colDel)+
		len(u.ownAdd)+len(u.ownDel) > 0 || u.c.ds.ColumnsFixed != u.t.columnsFixed
}

// columnDiff compares registered columns with the target's.
type columnDiff struct {
	add    []store.Column
	remove []string
	change []store.Column // same name, other type, position, nullability, key or description
}

func (d columnDiff) empty() bool { return len(d.add)+len(d.remove)+len(d.change) == 0 }

func diffColumns(have, want []store.Column) columnDiff {
	var d columnDiff
	byName := make(map[string]store.Column, len(have))
	for _, c := range have {
		byName[c.Name] = c
	}
	seen := make(map[string]bool, len(want))
	for _, w := range want {
		seen[w.Name] = true
		h, ok := byName[w.Name]
		if !ok {
			d.add = append(d.add, w)
			continue
		}
		if h.DataType != w.DataType || h.Position != w.Position || h.Nullable != w.Nullable || h.PrimaryKey != w.PrimaryKey ||
			!equalPtr(h.RemoteType, w.RemoteType) || !equalPtr(h.Description, w.Description) {
			w.IsNew, w.CreatedAt = h.IsNew, h.CreatedAt
			d.change = append(d.change, w)
		}
	}
	for _, h := range have {
		if !seen[h.Name] {
			d.remove = append(d.remove, h.Name)
		}
	}
	return d
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// planInput is what a plan is computed from.
type planInput struct {
	mode      mode
	targets   []*target
	current   map[string]*current
	hard      bool
	requester *int64                                  // who asked; owner of what is created
	owners    func(*target) ([]ownerRef, bool, error) // resolved owners of a target; false when not managed
	taken     map[string]bool                         // data source names of other connections
	takenSQL  map[string]bool                         // SQL table names of other connections
}

// makePlan compares the registered data sources with the targets.
func makePlan(in planInput) (*plan, error) {
	p := &plan{hard: in.hard}
	names := make(map[string]bool, len(in.taken)+len(in.current))
	for n := range in.taken {
		names[n] = true
	}
	sqlNames := make(map[string]bool, len(in.takenSQL)+len(in.current))
	for n := range in.takenSQL {
		sqlNames[n] = true
	}
	wanted := make(map[string]*target, len(in.targets))
	for _, t := range in.targets {
		wanted[t.key] = t
	}
	// Data sources that stay keep their names until renamed below; removed
	// ones keep theirs while they exist (disabled).
	keys := make([]string, 0, len(in.current))
	for k := range in.current {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := in.current[k]
		if wanted[k] == nil {
			if in.mode == modeAdd {
				continue
			}
			if in.hard || c.ds.Status != store.DataSourceDisabled {
				p.removes = append(p.removes, c)
			}
			if !in.hard {
				names[c.ds.Name] = true
				sqlNames[deref(c.ds.SQLTableName)] = true
			}
		}
	}
	var l errs.List
	assign := func(t *target, keep *store.DataSource) naming.Names {
		n := t.names
		switch {
		case keep != nil && (in.mode == modeMonitor || suffixed(keep.Name, n.DataSource, " ") && !names[keep.Name]):
			n.DataSource = keep.Name
		case t.explicitName:
			if names[n.DataSource] {
				l.Add(t.field+".naming.datasource", errs.CodeUnique, "data source name %q is taken by another data source", n.DataSource)
			}
		default:
			n.DataSource = naming.Unique(n.DataSource, " ", func(s string) bool { return names[s] })
		}
		names[n.DataSource] = true
		have := ""
		if keep != nil {
			have = deref(keep.SQLTableName)
		}
		switch {
		case keep != nil && (in.mode == modeMonitor || suffixed(have, n.SQLTable, "_") && !sqlNames[have]):
			n.SQLTable = have
		case t.explicitSQL:
			if sqlNames[n.SQLTable] {
				l.Add(t.field+".naming.table", errs.CodeUnique, "SQL table name %q is taken by another data source", n.SQLTable)
			}
		default:
			n.SQLTable = naming.Unique(n.SQLTable, "_", func(s string) bool { return sqlNames[s] })
		}
		sqlNames[n.SQLTable] = true
		if keep != nil && in.mode == modeMonitor {
			n.SQLSchema, n.SchemaProject = deref(keep.SQLSchemaName), deref(keep.SchemaProject)
		}
		return n
	}
	var fresh []*target
	for _, t := range in.targets {
		c := in.current[t.key]
		if c == nil {
			fresh = append(fresh, t)
			continue
		}
		u := &update{c: c, t: t, names: assign(t, c.ds)}
		d := c.ds
		u.meta = u.names.DataSource != d.Name || u.names.SQLTable != deref(d.SQLTableName) ||
			u.names.SQLSchema != deref(d.SQLSchemaName) || u.names.SchemaProject != deref(d.SchemaProject) ||
			!equalPtr(t.description, d.Description) || !equalPtr(t.documentation, d.Documentation) ||
			(t.kind == kindQuery && t.query != deref(d.Query)) || (t.kind != kindQuery && t.kind != d.RemoteKind)
		u.enable = d.Status == store.DataSourceDisabled && deref(d.DisabledReason) != store.DisabledByUser
		u.cols = diffColumns(c.columns, t.columns)
		if in.mode != modeMonitor {
			u.tagsAdd, u.tagsDel = diffTags(c.tags, t.tags)
			u.colAdd, u.colDel = map[string][]string{}, map[string][]string{}
			cols := map[string]bool{}
			for _, col := range t.columns {
				cols[col.Name] = true
			}
			for col := range cols {
				add, del := diffTags(c.colTags[col], t.columnTags[col])
				if len(add) > 0 {
					u.colAdd[col] = add
				}
				if len(del) > 0 {
					u.colDel[col] = del
				}
			}
			if len(u.tagsAdd)+len(u.tagsDel)+len(u.colAdd)+len(u.colDel) > 0 {
				p.tagsDiff = true
			}
			owners, managed, err := in.owners(t)
			if err != nil {
				return nil, err
			}
			if managed {
				want := map[ownerRef]bool{}
				for _, o := range owners {
					want[o] = true
				}
				if in.requester != nil {
					want[ownerRef{store.ModelUser, *in.requester}] = true
				}
				for o := range want {
					if !c.owners[o] {
						u.ownAdd = append(u.ownAdd, o)
					}
				}
				for o := range c.owners {
					if !want[o] {
						u.ownDel = append(u.ownDel, o)
					}
				}
				sortOwners(u.ownAdd)
				sortOwners(u.ownDel)
			}
		}
		if u.changed() {
			p.updates = append(p.updates, u)
		} else {
			p.same = append(p.same, c)
		}
	}
	for _, t := range fresh {
		cr := &creation{t: t, names: assign(t, nil)}
		owners, _, err := in.owners(t)
		if err != nil {
			return nil, err
		}
		set := map[ownerRef]bool{}
		if in.requester != nil {
			set[ownerRef{store.ModelUser, *in.requester}] = true
		}
		for _, o := range owners {
			set[o] = true
		}
		for o := range set {
			cr.owners = append(cr.owners, o)
		}
		sortOwners(cr.owners)
		if len(t.tags)+len(t.columnTags) > 0 {
			p.tagsDiff = true
		}
		p.creates = append(p.creates, cr)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// diffTags returns the tags to attach (wanted, not attached in any context)
// and to detach (attached from a document, no longer wanted).
func diffTags(have map[string]string, want []string) (add, del []string) {
	w := make(map[string]bool, len(want))
	for _, t := range want {
		w[t] = true
		if _, ok := have[t]; !ok {
			add = append(add, t)
		}
	}
	for t, ctx := range have {
		if ctx == ContextV2 && !w[t] {
			del = append(del, t)
		}
	}
	slices.Sort(add)
	slices.Sort(del)
	return add, del
}

func sortOwners(o []ownerRef) {
	sort.Slice(o, func(i, j int) bool {
		if o[i].typ != o[j].typ {
			return o[i].typ < o[j].typ
		}
		return o[i].id < o[j].id
	})
}

// suffixed reports whether name is base or base+sep+N for some N >= 2, the
// names naming.Unique gives.
func suffixed(name, base, sep string) bool {
	if name == base {
		return true
	}
	rest, ok := strings.CutPrefix(name, base+sep)
	if !ok {
		return false
	}
	n, err := strconv.Atoi(rest)
	return err == nil && n >= 2 && strconv.Itoa(n) == rest
}

// Outcome lists data source names by what a reconciliation did to them, as
// the V2 response reports them.
type Outcome struct {
	Creating    []string `json:"creating"`
	Updating    []string `json:"updating"`
	Deleting    []string `json:"deleting"`
	NoChange    []string `json:"noChange"`
	TagsUpdated bool     `json:"tagsUpdated"`
}

func (p *plan) outcome() Outcome {
	o := Outcome{Creating: []string{}, Updating: []string{}, Deleting: []string{}, NoChange: []string{}, TagsUpdated: p.tagsDiff}
	for _, c := range p.creates {
		o.Creating = append(o.Creating, c.names.DataSource)
	}
	for _, u := range p.updates {
		o.Updating = append(o.Updating, u.names.DataSource)
	}
	for _, c := range p.removes {
		o.Deleting = append(o.Deleting, c.ds.Name)
	}
	for _, c := range p.same {
		o.NoChange = append(o.NoChange, c.ds.Name)
	}
	for _, l := range [][]string{o.Creating, o.Updating, o.Deleting, o.NoChange} {
		slices.Sort(l)
	}
	return o
}
