package governance_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// What enforcement consumes, as its package declares it.
type decisions interface {
	Plan(dataSourceID int64) (*policy.Plan, bool)
	Grants(ctx context.Context, dataSourceID int64) ([]governance.Grant, error)
	Entitlements(ctx context.Context, userIDs []int64) (map[int64]policy.User, error)
	Subscribe(fn func(dataSourceIDs []int64))
	SubscribeUsers(fn func(userIDs []int64))
}

var _ decisions = (*governance.Service)(nil)

// enforcement's Grant has the same fields, so slices convert element-wise.
type enforceGrant struct {
	UserID      int64
	AccessGrant string
}

var _ = enforceGrant(governance.Grant{})

// step runs a change and checks exactly what was announced.
func step(t *testing.T, f *fixture, rec *recorder, what string, wantDS, wantUsers []int64, change func()) {
	t.Helper()
	rec.reset()
	change()
	f.sync()
	if len(wantDS) > 0 {
		rec.waitDS(t, wantDS...)
	}
	if len(wantUsers) > 0 {
		rec.waitUsers(t, wantUsers...)
	}
	time.Sleep(100 * time.Millisecond)
	ds, users := rec.announced()
	if wantDS == nil {
		wantDS = []int64{}
	}
	if wantUsers == nil {
		wantUsers = []int64{}
	}
	if ds == nil {
		ds = []int64{}
	}
	if users == nil {
		users = []int64{}
	}
	if !reflect.DeepEqual(ds, wantDS) || !reflect.DeepEqual(users, wantUsers) {
		t.Fatalf("%s: announced data sources %v and users %v, want %v and %v", what, ds, users, wantDS, wantUsers)
	}
}

func (f *fixture) decision(ds, user int64) planJSON {
	f.t.Helper()
	var p planJSON
	f.call(200, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, user), nil, &p)
	return p
}

func masked(p planJSON) string {
	var cols []string
	for _, c := range p.Columns {
		cols = append(cols, c.Column+"="+string(c.Masking.Type))
	}
	return strings.Join(cols, ",")
}

func TestChangesReachDecisionsAndCallbacks(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		rec := record(f.app)
		f.makeTags("PII.SSN", "Region")
		f.group("HR")
		u := f.user("dana")
		people := f.dataSource(dsSpec{Name: "people", Columns: []policy.Column{{Name: "ssn"}, {Name: "region"}}})
		orders := f.dataSource(dsSpec{Name: "orders", Columns: []policy.Column{{Name: "id"}, {Name: "region", Tags: []string{"Region"}}}})
		f.call(200, "POST", "/api/v2/policy", "name: Mask SSN\npolicyKey: mask ssn\ntype: data\nactions:\n- rules:\n  - type: Masking\n    config: {fields: [{type: columnTags, columnTag: PII.SSN}], maskingConfig: {type: Hash}}\n    exceptions: {groups: [HR]}\ncircumstances: [{type: columnTags, columnTag: PII}]\n", nil)
		f.sync()
		if m := masked(f.decision(people, u)); m != "" {
			t.Fatalf("masked before the tag: %s", m)
		}

		// A tag on a column: that data source's plan changes, no other.
		step(t, f, rec, "tag a column", []int64{people}, nil, func() {
			_, err := f.app.Tags.Attach(f.ctx, f.root, "column", store.ColumnModelID(people, "ssn"), []string{"PII.SSN"}, "")
			f.must(err)
		})
		if m := masked(f.decision(people, u)); m != "ssn=Hash" {
			t.Fatalf("after the tag: %q", m)
		}
		// Group membership: the user's entitlements change.
		step(t, f, rec, "join a group", nil, []int64{u}, func() { f.join("HR", "dana") })
		if m := masked(f.decision(people, u)); m != "" {
			t.Fatalf("an HR member is excepted: %q", m)
		}
		// A policy saved: the data sources it reaches.
		step(t, f, rec, "save a policy", []int64{orders}, nil, func() {
			f.call(200, "POST", "/api/v2/policy", "name: Own region\npolicyKey: own region\ntype: data\nactions:\n- rules:\n  - type: Row Restriction by Custom Where Clause\n    config: {predicate: \"@columnTagged('Region') IN (@attributes('region'))\"}\ncircumstances: [{type: columnTags, columnTag: Region}]\n", nil)
		})
		p := f.decision(orders, u)
		if len(p.Rows) != 1 || !p.NoRows || *p.Rows[0].Where != "FALSE" {
			t.Fatalf("rows without the attribute: %+v", p.Rows)
		}
		// An attribute: the user again; the next decision binds it.
		step(t, f, rec, "add an attribute", nil, []int64{u}, func() { f.attribute("dana", "region", "EU") })
		p = f.decision(orders, u)
		if len(p.Rows) != 1 || p.NoRows || *p.Rows[0].Where != `"region" IN ('EU')` {
			t.Fatalf("rows with the attribute: %+v", p.Rows)
		}
		// An automatic subscription on an attribute: every data source whose
		// grants change for the user is announced with the user.
		step(t, f, rec, "save a subscription policy", []int64{people, orders}, nil, func() {
			f.call(200, "POST", "/api/v2/policy", "name: EU readers\npolicyKey: eu readers\ntype: subscription\nactions: {type: entitlements, automaticSubscription: true, entitlements: {attributes: [{name: region, value: EU}]}}\n", nil)
		})
		erin := f.user("erin")
		step(t, f, rec, "give a user the attribute", []int64{people, orders}, []int64{erin}, func() { f.attribute("erin", "region", "EU") })
		if g := grantsOf(t, f, orders); g[erin] != "READ" || g[u] != "READ" || len(g) != 2 {
			t.Fatalf("grants: %v", g)
		}
		step(t, f, rec, "disable a user", []int64{people, orders}, []int64{erin}, func() {
			f.call(200, "PUT", "/bim/iam/bim/user/erin/disable/true", nil, nil)
		})
		step(t, f, rec, "change a profile's sqlUser", nil, []int64{u}, func() {
			f.call(200, "PUT", "/bim/iam/bim/user/dana/profile", map[string]any{"sqlUser": "dana_role"}, nil)
		})
		// A tag detached and a data source deleted.
		step(t, f, rec, "detach a tag", []int64{people}, nil, func() {
			f.must(f.app.Tags.Detach(f.ctx, f.root, "column", store.ColumnModelID(people, "ssn"), "PII.SSN"))
		})
		step(t, f, rec, "delete a data source", []int64{orders}, nil, func() { f.dropDataSource(orders) })
		if _, ok := f.app.Governance.Plan(orders); ok {
			t.Fatal("a deleted data source keeps a plan")
		}
		// A tag renamed: the data sources carrying it or a tag below it. The
		// column's tag moves below the tag the policy names, which now matches.
		f.makeTags("Legacy", "Old.SSN")
		cust := f.dataSource(dsSpec{Name: "customers", Columns: []policy.Column{{Name: "ssn", Tags: []string{"Old.SSN"}}}})
		f.call(200, "POST", "/api/v2/policy", "name: Legacy\npolicyKey: legacy\ntype: data\nactions:\n- rules:\n  - {type: Masking, config: {fields: [{type: columnTags, columnTag: Legacy}], maskingConfig: {type: Hash}}}\n", nil)
		if m := masked(f.decision(cust, u)); m != "" {
			t.Fatalf("before the rename: %q", m)
		}
		tagID := func(name string) int64 {
			var list []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}
			f.call(200, "GET", "/tag?searchText="+name, nil, &list)
			for _, x := range list {
				if x.Name == name {
					return x.ID
				}
			}
			t.Fatalf("no tag %q", name)
			return 0
		}
		step(t, f, rec, "rename a tag", []int64{cust}, nil, func() {
			f.call(200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"id": tagID("Old"), "name": "Legacy.Old"}}}, nil)
		})
		if m := masked(f.decision(cust, u)); m != "ssn=Hash" {
			t.Fatalf("after the rename: %q", m)
		}
		// A tag a policy names is neither renamed nor deleted.
		f.call(409, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"id": tagID("Legacy"), "name": "Retired"}}}, nil)
		f.call(409, "DELETE", "/tag/Legacy?deleteHierarchy=true", nil, nil)
		if m := masked(f.decision(cust, u)); m != "ssn=Hash" {
			t.Fatalf("after the refused changes: %q", m)
		}
		// The metric counts recomputed plans.
		metrics := string(f.call(200, "GET", "/metrics", nil, nil))
		line := ""
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, "custos_policy_plans_recomputed_total ") {
				line = l
			}
		}
		n, _ := strconv.ParseFloat(strings.TrimPrefix(line, "custos_policy_plans_recomputed_total "), 64)
		if n < 6 {
			t.Fatalf("recomputed plans metric: %q", line)
		}
	})
}

// Two servers on one PostgreSQL store: what one writes, the other's engine
// follows, with its own callbacks.
func TestServersSharingAStoreConverge(t *testing.T) {
	a := newFixture(t, servertest.Postgres)
	b := fixtureOf(t, servertest.New(t, servertest.Postgres, func(c *server.Config) { c.Store = a.app.Config.Store }))
	rec := record(b.app)
	a.makeTags("PII")
	ds := a.dataSource(dsSpec{Name: "shared", Columns: []policy.Column{{Name: "secret", Tags: []string{"PII"}}}})
	u := a.user("fred")
	waitFor(t, "the other server loads the data source", func() bool { _, ok := b.app.Governance.Plan(ds); return ok })
	rec.waitDS(t, ds)
	a.call(200, "POST", "/api/v2/policy", "name: Null PII\npolicyKey: null pii\ntype: data\nactions:\n- rules:\n  - {type: Masking, config: {fields: [{type: columnTags, columnTag: PII}], maskingConfig: {type: \"Null\"}}}\n", nil)
	waitFor(t, "the other server applies the policy", func() bool {
		p, ok := b.app.Governance.Plan(ds)
		return ok && len(p.Columns) == 1
	})
	if m := masked(b.decision(ds, u)); m != "secret=Null" {
		t.Fatalf("the other server decides %q", m)
	}
	rec.reset()
	a.join("Cleared", "fred")
	rec.waitUsers(t, u)
	ents, err := b.app.Governance.Entitlements(b.ctx, []int64{u})
	b.must(err)
	if !reflect.DeepEqual(ents[u].Groups, []string{"Cleared"}) {
		t.Fatalf("the other server's entitlements: %+v", ents[u])
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
