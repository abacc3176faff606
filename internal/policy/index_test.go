package policy

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"
)

// TestIncrementalMatchesRebuild applies random changes to an index and checks
// after each that (a) every plan equals the plan a fresh index computes from
// scratch and (b) the reported data sources are exactly those whose plan
// changed.
func TestIncrementalMatchesRebuild(t *testing.T) {
	for _, seed := range []uint64{7, 8, 9} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { incrementalMatchesRebuild(t, seed) })
	}
}

func incrementalMatchesRebuild(t *testing.T, seed uint64) {
	w := newWorld(seed)
	if seed%2 == 1 {
		// few tags: policies overlap, masks conflict
		w.leafTags, w.tags = w.leafTags[:12], w.tags[:20]
	}
	conflicts := 0
	defer func() { t.Logf("masking conflicts seen: %d", conflicts) }()
	ix := NewIndex()
	policies := map[int64]*Policy{}
	sources := map[int64]DataSource{}
	for i := int64(1); i <= 120; i++ {
		ds := w.dataSource(i, 12)
		sources[i] = ds
		if _, err := ix.UpsertDataSource(ds); err != nil {
			t.Fatal(err)
		}
	}
	plansBefore := func() map[int64]*Plan {
		m := map[int64]*Plan{}
		for id := range sources {
			p, _ := ix.Plan(id)
			m[id] = p
		}
		return m
	}
	check := func(step string, changed []int64, before map[int64]*Plan) {
		t.Helper()
		fresh := NewIndex()
		ids := make([]int64, 0, len(policies))
		for id := range policies {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			if _, err := fresh.UpsertPolicy(id, policies[id]); err != nil {
				t.Fatal(err)
			}
		}
		for _, ds := range sources {
			if _, err := fresh.UpsertDataSource(ds); err != nil {
				t.Fatal(err)
			}
		}
		var want []int64
		for id := range sources {
			got, _ := ix.Plan(id)
			exp, _ := fresh.Plan(id)
			if !got.Equal(exp) {
				t.Fatalf("%s: plan of %d differs from a rebuild:\n%s\n%s", step, id, mustJSON(t, got), mustJSON(t, exp))
			}
			if !before[id].Equal(got) {
				want = append(want, id)
			}
			conflicts += len(got.AllConflicts())
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if !reflect.DeepEqual(changed, want) {
			t.Fatalf("%s: reported %v, changed %v", step, changed, want)
		}
	}
	for step := 0; step < 150; step++ {
		before := plansBefore()
		var changed []int64
		var err error
		var what string
		switch op := w.rng.IntN(10); {
		case op < 4:
			id := int64(1 + w.rng.IntN(25))
			p := w.policy(id)
			policies[id] = p
			what = "upsert policy"
			changed, err = ix.UpsertPolicy(id, p)
		case op < 5 && len(policies) > 0:
			for id := range policies {
				delete(policies, id)
				what = "remove policy"
				changed = ix.RemovePolicy(id)
				break
			}
		case op < 8:
			id := int64(1 + w.rng.IntN(len(sources)))
			ds := sources[id]
			col := ds.Columns[w.rng.IntN(len(ds.Columns))]
			tag := w.tag()
			ncols := make([]Column, len(ds.Columns))
			copy(ncols, ds.Columns)
			for i := range ncols {
				if ncols[i].Name == col.Name {
					has := false
					for _, x := range ncols[i].Tags {
						has = has || x == tag
					}
					if !has {
						ncols[i].Tags = append(append([]string(nil), ncols[i].Tags...), tag)
					}
				}
			}
			ds.Columns = ncols
			sources[id] = ds
			what = "tag column"
			changed, err = ix.TagColumn(id, col.Name, tag)
		case op < 9:
			id := int64(1 + w.rng.IntN(len(sources)))
			ds := w.dataSource(id, 12)
			sources[id] = ds
			what = "replace data source"
			changed, err = ix.UpsertDataSource(ds)
		default:
			// re-upserting an unchanged policy changes nothing
			for id, p := range policies {
				what = "same policy again"
				changed, err = ix.UpsertPolicy(id, p)
				break
			}
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", step, what, err)
		}
		check(what, changed, before)
	}
}

func TestIndexOperations(t *testing.T) {
	ix := NewIndex()
	ds := DataSource{ID: 1, Name: "t", CreatedAt: time.Now(), Columns: []Column{{Name: "a"}, {Name: "b", Tags: []string{"PII.Email"}}}}
	if ch, err := ix.UpsertDataSource(ds); err != nil || !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("new data source: %v %v", ch, err)
	}
	if ch, _ := ix.UpsertDataSource(ds); ch != nil {
		t.Fatalf("same data source again reported %v", ch)
	}
	mask := &Policy{PolicyKey: "mask pii", Name: "Mask PII", Type: TypeData,
		Circumstances: []Circumstance{{Type: CircColumnTags, Tag: "PII"}},
		Data:          []DataAction{{Rules: []Rule{{Type: RuleMasking, Masking: &MaskingRule{Fields: []FieldSelector{{Type: FieldColumnTags, ColumnTag: "PII"}}, Masking: Masking{Type: MaskHash}}}}}}}
	if ch, err := ix.UpsertPolicy(10, mask); err != nil || !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("policy: %v %v", ch, err)
	}
	if ch, _ := ix.TagColumn(1, "a", "Unrelated"); ch != nil {
		t.Fatalf("an unrelated tag changed plans: %v", ch)
	}
	if ch, _ := ix.TagColumn(1, "a", "PII.Phone"); !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("tagging a column: %v", ch)
	}
	p, _ := ix.Plan(1)
	if len(p.Columns) != 2 {
		t.Fatalf("both columns should be masked: %+v", p.Columns)
	}
	if ch, _ := ix.TagColumn(1, "a", "PII.Phone"); ch != nil {
		t.Fatalf("tagging twice reported %v", ch)
	}
	if ch, _ := ix.UntagColumn(1, "a", "PII.Phone"); !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("untagging: %v", ch)
	}
	if _, err := ix.TagColumn(1, "nope", "PII"); err == nil {
		t.Fatal("tagging a missing column succeeded")
	}
	if _, err := ix.TagColumn(2, "a", "PII"); err == nil {
		t.Fatal("tagging a missing data source succeeded")
	}
	if got := ix.AppliesTo(10); !reflect.DeepEqual(got, []int64{1}) {
		t.Fatalf("AppliesTo = %v", got)
	}
	bad := *mask
	bad.Name = ""
	if _, err := ix.UpsertPolicy(11, &bad); err == nil {
		t.Fatal("an invalid policy was accepted")
	}
	pci := &Policy{PolicyKey: "pci rows", Name: "PCI rows", Type: TypeData,
		Circumstances: []Circumstance{{Type: CircTags, Tag: "Discovered.PCI"}},
		Data:          []DataAction{{Rules: []Rule{{Type: RuleMinimization, Minimization: &MinimizationRule{Percent: 10}}}}}}
	if ch, err := ix.UpsertPolicy(12, pci); err != nil || ch != nil {
		t.Fatalf("a policy for tagged data sources changed %v (%v)", ch, err)
	}
	if ch, _ := ix.TagDataSource(1, "Discovered.PCI.Cards"); !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("tagging the data source: %v", ch)
	}
	if got := ix.AppliesTo(12); !reflect.DeepEqual(got, []int64{1}) {
		t.Fatalf("after tagging, AppliesTo = %v", got)
	}
	if ch, _ := ix.UntagDataSource(1, "Discovered.PCI.Cards"); !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("untagging the data source: %v", ch)
	}
	if ch := ix.RemovePolicy(12); ch != nil {
		t.Fatalf("removing an unapplied policy changed %v", ch)
	}
	if ch := ix.RemovePolicy(10); !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("remove policy: %v", ch)
	}
	if ch := ix.RemoveDataSource(1); !reflect.DeepEqual(ch, []int64{1}) {
		t.Fatalf("remove data source: %v", ch)
	}
	if _, ok := ix.Plan(1); ok {
		t.Fatal("plan of a removed data source")
	}
	if _, err := ix.UpsertDataSource(DataSource{ID: 3, Columns: []Column{{Name: "x"}, {Name: "x"}}, EventTimeColumn: "t"}); err == nil {
		t.Fatal("duplicate columns accepted")
	}
}

// TestParallelReplan changes policies on enough data sources for plans to be
// rebuilt by several goroutines (run it with -race), and checks the result.
func TestParallelReplan(t *testing.T) {
	w := newWorld(11)
	ix := NewIndex()
	var sources []DataSource
	for i := int64(1); i <= 600; i++ {
		ds := w.dataSource(i, 20)
		sources = append(sources, ds)
		if _, err := ix.UpsertDataSource(ds); err != nil {
			t.Fatal(err)
		}
	}
	policies := map[int64]*Policy{}
	for round := 0; round < 3; round++ {
		for id := int64(1); id <= 30; id++ {
			p := w.policy(id)
			if id%10 == 0 {
				p.Circumstances = nil // everywhere: every plan is patched
				p.Type, p.Subscription = TypeData, nil
				p.Data = []DataAction{{Rules: []Rule{{Type: RuleMinimization, Minimization: &MinimizationRule{Percent: 5 + round}}}}}
			}
			policies[id] = p
			if _, err := ix.UpsertPolicy(id, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	fresh := NewIndex()
	for id := int64(1); id <= 30; id++ {
		fresh.UpsertPolicy(id, policies[id])
	}
	for _, ds := range sources {
		fresh.UpsertDataSource(ds)
	}
	for _, ds := range sources {
		a, _ := ix.Plan(ds.ID)
		b, _ := fresh.Plan(ds.ID)
		if !a.Equal(b) {
			t.Fatalf("plan of %d differs from a rebuild", ds.ID)
		}
	}
}

// Built-in user ids are case-insensitive: an owner restriction written with
// other capitals than the stored user id still names that owner.
func TestOwnerRestrictionsIgnoreTheCaseOfUserIDs(t *testing.T) {
	ix := NewIndex()
	ds := DataSource{ID: 1, Name: "t", CreatedAt: time.Now(), Columns: []Column{{Name: "ssn"}},
		OwnerUsers: []UserRef{{IAMID: "bim", Username: "olivia@example.com"}}}
	if _, err := ix.UpsertDataSource(ds); err != nil {
		t.Fatal(err)
	}
	mask := &Policy{PolicyKey: "k", Name: "Olivia's", Type: TypeData,
		OwnerRestrictions: &OwnerRestrictions{Users: []UserRef{{IAMID: "bim", Username: "Olivia@Example.com"}}},
		Data: []DataAction{{Rules: []Rule{{Type: RuleMasking, Masking: &MaskingRule{
			Fields: []FieldSelector{{Type: FieldAllColumns}}, Masking: Masking{Type: MaskHash}}}}}}}
	if _, err := ix.UpsertPolicy(10, mask); err != nil {
		t.Fatal(err)
	}
	if got := ix.AppliesTo(10); !reflect.DeepEqual(got, []int64{1}) {
		t.Fatalf("AppliesTo = %v, want [1]", got)
	}
}
