package policy

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The benchmarks share one realistic population, built once: 1,000 global
// policies, 100,000 data sources of 30 columns and 10,000 users. Set
// CUSTOS_BENCH_SOURCES to build fewer data sources.

type benchState struct {
	w         *world
	ix        *Index
	policies  map[int64]*Policy
	users     []*Entitlements
	sources   int
	buildTime time.Duration
	heapBytes uint64
}

var (
	benchOnce sync.Once
	bench     *benchState
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func benchWorld(b *testing.B) *benchState {
	benchOnce.Do(func() {
		n := 100_000
		if s := os.Getenv("CUSTOS_BENCH_SOURCES"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		st := &benchState{w: newWorld(1), policies: map[int64]*Policy{}, sources: n}
		before := heapInUse()
		start := time.Now()
		st.ix = NewIndex()
		for id := int64(1); id <= 1000; id++ {
			p := st.w.policy(id)
			st.policies[id] = p
			if _, err := st.ix.UpsertPolicy(id, p); err != nil {
				panic(err)
			}
		}
		for id := int64(1); id <= int64(n); id++ {
			if _, err := st.ix.UpsertDataSource(st.w.dataSource(id, 30)); err != nil {
				panic(err)
			}
		}
		st.buildTime = time.Since(start)
		st.heapBytes = heapInUse() - before
		for i := 0; i < 10_000; i++ {
			st.users = append(st.users, NewEntitlements(st.w.user(i)))
		}
		bench = st
		fmt.Fprintf(os.Stderr, "index: %d policies, %d data sources x 30 columns built in %v, heap %.0f MB\n",
			1000, n, st.buildTime.Round(time.Millisecond), float64(st.heapBytes)/(1<<20))
	})
	return bench
}

// BenchmarkEvaluate: one user's decision on one data source; reports the
// median and 99th percentile besides the mean.
func BenchmarkEvaluate(b *testing.B) {
	st := benchWorld(b)
	plans := make([]*Plan, st.sources)
	for i := range plans {
		plans[i], _ = st.ix.Plan(int64(i + 1))
	}
	var lat []time.Duration
	b.ResetTimer()
	i := 0
	for b.Loop() {
		p := plans[st.w.rng.IntN(len(plans))]
		u := st.users[st.w.rng.IntN(len(st.users))]
		t0 := time.Now()
		Evaluate(p, u)
		lat = append(lat, time.Since(t0))
		i++
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// benchPolicyChange re-upserts policy id, alternating between two versions
// that differ in their effect, and reports how many data sources were
// touched per change.
func benchPolicyChange(b *testing.B, id int64, p *Policy) {
	st := benchWorld(b)
	alt := *p
	alt.Data = append([]DataAction(nil), p.Data...)
	alt.Data = append(alt.Data, DataAction{Rules: []Rule{{Type: RuleMinimization, Minimization: &MinimizationRule{Percent: 50}}}})
	orig := st.policies[id]
	versions := []*Policy{p, &alt}
	if _, err := st.ix.UpsertPolicy(id, p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	changed, i := 0, 0
	for b.Loop() {
		i++
		ch, err := st.ix.UpsertPolicy(id, versions[i%2])
		if err != nil {
			b.Fatal(err)
		}
		changed += len(ch)
	}
	b.StopTimer()
	b.ReportMetric(float64(changed)/float64(i), "changed/op")
	if orig != nil {
		if _, err := st.ix.UpsertPolicy(id, orig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPolicyChange: a typical policy (a column-tag circumstance on a
// common tag) changes; every data source is re-checked, affected plans rebuilt.
func BenchmarkPolicyChange(b *testing.B) {
	p := &Policy{PolicyKey: "bench mask", Name: "Bench mask", Type: TypeData,
		Circumstances: []Circumstance{{Type: CircColumnTags, Tag: "Discovered.Entity"}},
		Data: []DataAction{{Rules: []Rule{{Type: RuleMasking, Exceptions: &Condition{Groups: []string{"group-001"}},
			Masking: &MaskingRule{Fields: []FieldSelector{{Type: FieldColumnTags, ColumnTag: "Discovered.Entity"}}, Masking: Masking{Type: MaskHash}}}}}}}
	benchPolicyChange(b, 500, p)
}

// BenchmarkPolicyChangeEverywhere: the worst case, a policy without
// circumstances (every plan is rebuilt).
func BenchmarkPolicyChangeEverywhere(b *testing.B) {
	p := &Policy{PolicyKey: "bench everywhere", Name: "Bench everywhere", Type: TypeData,
		Data: []DataAction{{Rules: []Rule{{Type: RulePurposeRestriction, Purpose: &PurposeRule{Purposes: []string{AnyPurposeName}}}}}}}
	benchPolicyChange(b, 501, p)
}

// BenchmarkTagColumn: a tag that policies use is added to (then removed
// from) one column of one data source.
func BenchmarkTagColumn(b *testing.B) {
	st := benchWorld(b)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := int64(1 + (i/2)%st.sources)
		p, _ := st.ix.Plan(id)
		_ = p
		var err error
		if i%2 == 0 {
			_, err = st.ix.TagColumn(id, colOf(st, id), "Discovered.Passport")
		} else {
			_, err = st.ix.UntagColumn(id, colOf(st, id), "Discovered.Passport")
		}
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func colOf(st *benchState, id int64) string {
	st.ix.mu.RLock()
	defer st.ix.mu.RUnlock()
	s := st.ix.sources[id]
	return st.ix.names.strs[s.cols[len(s.cols)-1].name]
}

// BenchmarkIndexMemory reports the heap the whole index takes.
func BenchmarkIndexMemory(b *testing.B) {
	st := benchWorld(b)
	for b.Loop() {
	}
	b.ReportMetric(float64(st.heapBytes)/(1<<20), "heap-MB")
	b.ReportMetric(st.buildTime.Seconds(), "build-s")
}
