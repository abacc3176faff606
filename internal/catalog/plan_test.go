package catalog

import (
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/catalog/naming"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

func tgt(schema, table, name, sql string) *target {
	return &target{key: tableKey(schema, table), kind: "table", schema: schema, table: table,
		names: naming.Names{DataSource: name, SQLTable: sql, SQLSchema: schema, SchemaProject: schema}}
}

func cur(id int64, schema, table, name, sql string, status, reason string) *current {
	d := &store.DataSource{ID: id, Name: name, RemoteSchema: &schema, RemoteTable: &table, RemoteKind: "table",
		SQLTableName: &sql, SQLSchemaName: &schema, SchemaProject: &schema, Status: status}
	if reason != "" {
		d.DisabledReason = &reason
	}
	return &current{ds: d, tags: map[string]string{}, colTags: map[string]map[string]string{}, owners: map[ownerRef]bool{}}
}

func noOwners(*target) ([]ownerRef, bool, error) { return nil, false, nil }

func TestPlanNamesAndRemovals(t *testing.T) {
	have := map[string]*current{
		tableKey("s", "kept"):    cur(1, "s", "kept", "S Kept 2", "kept_2", store.DataSourceEnabled, ""),
		tableKey("s", "gone"):    cur(2, "s", "gone", "S Gone", "gone", store.DataSourceEnabled, ""),
		tableKey("s", "back"):    cur(3, "s", "back", "S Back", "back", store.DataSourceDisabled, store.DisabledRemoved),
		tableKey("s", "parked"):  cur(4, "s", "parked", "S Parked", "parked", store.DataSourceDisabled, store.DisabledByUser),
		tableKey("s", "retired"): cur(5, "s", "retired", "S Retired", "retired", store.DataSourceDisabled, store.DisabledRemoved),
	}
	targets := []*target{tgt("s", "kept", "S Kept", "kept"), tgt("s", "back", "S Back", "back"),
		tgt("s", "parked", "S Parked", "parked"), tgt("s", "new", "S New", "new"), tgt("t", "new", "S New", "new")}
	in := planInput{mode: modeRegister, targets: targets, current: have, owners: noOwners,
		taken: map[string]bool{"S Kept": true}, takenSQL: map[string]bool{"kept": true, "new": true}}
	p, err := makePlan(in)
	if err != nil {
		t.Fatal(err)
	}
	o := p.outcome()
	// "S Kept 2" keeps its suffix while "S Kept" is taken elsewhere; the two
	// new tables get distinct names; the retired table stays disabled.
	if !slices.Equal(o.Creating, []string{"S New", "S New 2"}) || !slices.Equal(o.Updating, []string{"S Back"}) ||
		!slices.Equal(o.Deleting, []string{"S Gone"}) || !slices.Equal(o.NoChange, []string{"S Kept 2", "S Parked"}) {
		t.Fatalf("outcome: %+v", o)
	}
	var sql []string
	for _, c := range p.creates {
		sql = append(sql, c.names.SQLTable)
	}
	if !slices.Equal(sql, []string{"new_2", "new_3"}) {
		t.Fatalf("SQL names: %v", sql)
	}
	if !p.updates[0].enable {
		t.Fatal("a table that came back is not enabled")
	}
	// Hard deletion removes disabled data sources too.
	in.hard = true
	p, err = makePlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if o := p.outcome(); !slices.Equal(o.Deleting, []string{"S Gone", "S Retired"}) {
		t.Fatalf("hard: %+v", o)
	}
	// Monitoring never renames; adding removes nothing.
	in.hard, in.mode = false, modeMonitor
	in.taken = map[string]bool{}
	if p, err = makePlan(in); err != nil || p.updates[0].names.DataSource != "S Back" || len(p.outcome().NoChange) != 2 {
		t.Fatalf("monitor: %+v %v", p.outcome(), err)
	}
	in.mode = modeAdd
	if p, err = makePlan(in); err != nil || len(p.removes) != 0 {
		t.Fatalf("add: %+v %v", p.outcome(), err)
	}
	// An explicit name that is taken is a 422 on its field.
	explicit := tgt("s", "x", "S Kept", "x")
	explicit.explicitName, explicit.field = true, "sources[0]"
	_, err = makePlan(planInput{mode: modeRegister, targets: []*target{explicit}, current: map[string]*current{},
		owners: noOwners, taken: map[string]bool{"S Kept": true}, takenSQL: map[string]bool{}})
	if e := errs.As(err); e.Kind != errs.Invalid || e.Fields[0].Field != "sources[0].naming.datasource" {
		t.Fatalf("explicit name: %v", err)
	}
}

func TestDiffTagsKeepsOtherContexts(t *testing.T) {
	have := map[string]string{"A": ContextV2, "B": "manual", "C": ContextSDD, "D": ContextV2}
	add, del := diffTags(have, []string{"B", "D", "E"})
	if !slices.Equal(add, []string{"E"}) || !slices.Equal(del, []string{"A"}) {
		t.Fatalf("add %v, del %v", add, del)
	}
}

func TestDiffColumns(t *testing.T) {
	col := func(name, typ string, pos int64) store.Column {
		return store.Column{Name: name, DataType: typ, Position: pos, Nullable: true}
	}
	d := diffColumns([]store.Column{col("a", "text", 1), col("b", "integer", 2), col("c", "date", 3)},
		[]store.Column{col("a", "text", 1), col("b", "bigint", 2), col("d", "text", 3)})
	if len(d.add) != 1 || d.add[0].Name != "d" || !slices.Equal(d.remove, []string{"c"}) || len(d.change) != 1 || d.change[0].Name != "b" {
		t.Fatalf("diff: %+v", d)
	}
	if !suffixed("Name 12", "Name", " ") || suffixed("Name 1", "Name", " ") || suffixed("Name 02", "Name", " ") || suffixed("Other", "Name", " ") {
		t.Fatal("suffixed")
	}
}
