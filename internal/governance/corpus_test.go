package governance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
	"github.com/custosdata/custos/internal/store"
)

// The engine's case files (internal/policy/testdata/cases) are the corpus:
// every policy of every case is saved through the API (V2, or V1 for V1
// objects), read back as V1 and V2, and must apply to the same data sources
// and give the same decisions through the decision endpoint as the engine
// gives in memory.

type corpusFile struct {
	DataSources []corpusDS             `json:"dataSources"`
	Users       map[string]policy.User `json:"users"`
	Cases       []corpusCase           `json:"cases"`
}

type corpusDS struct {
	policy.DataSource
	Local   json.RawMessage `json:"local"`
	Handler json.RawMessage `json:"handler"`
}

type corpusPolicy struct {
	ID       int64           `json:"id"`
	Policy   json.RawMessage `json:"policy"`
	PolicyV1 json.RawMessage `json:"policyV1"`
}

type corpusCase struct {
	Name        string         `json:"name"`
	EngineOnly  bool           `json:"engineOnly"` // the API refuses its policies: not replayed
	Policies    []corpusPolicy `json:"policies"`
	DataSources []corpusDS     `json:"dataSources"`
	Expect      struct {
		Applies   map[string][]int64 `json:"applies"`
		Decisions []corpusDecision   `json:"decisions"`
	} `json:"expect"`
}

type corpusDecision struct {
	DataSource int64             `json:"dataSource"`
	User       string            `json:"user"`
	Grant      *string           `json:"grant"`
	Read       string            `json:"read"`
	Write      string            `json:"write"`
	Masks      map[string]string `json:"masks"`
	Rows       []string          `json:"rows"`
	NoRows     bool              `json:"noRows"`
	Policies   []string          `json:"policies"`
}

func TestEngineCorpusThroughTheAPI(t *testing.T) {
	files, err := filepath.Glob("../policy/testdata/cases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, backend := range []servertest.Backend{servertest.SQLite, servertest.Postgres} {
		t.Run(string(backend), func(t *testing.T) {
			for _, file := range files {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				var cf corpusFile
				if err := yaml.Unmarshal(data, &cf); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
					runCorpusFile(t, backend, &cf)
				})
			}
		})
	}
}

// corpusWorld is a server set up with a case file's users and data sources.
type corpusWorld struct {
	f       *fixture
	cf      *corpusFile
	sources map[int64]int64   // corpus data source id -> store id
	back    map[int64]int64   // store id -> corpus id
	applied map[int64][]int64 // corpus data source id -> corpus policies its owners applied
}

func runCorpusFile(t *testing.T, backend servertest.Backend, cf *corpusFile) {
	var shared *corpusWorld
	for _, c := range cf.Cases {
		if c.DataSources == nil {
			shared = newWorld(t, backend, cf, cf.DataSources, cf.Cases)
			break
		}
	}
	for _, c := range cf.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.EngineOnly {
				t.Skip("the API refuses these policies when they are saved")
			}
			w := shared
			if c.DataSources != nil {
				w = newWorld(t, backend, cf, c.DataSources, []corpusCase{c})
			}
			parent := w.f.t
			w.f.t = t
			defer func() { w.f.t = parent }()
			w.run(t, &c)
		})
	}
}

// newWorld starts a server with the file's users, the groups, tags and
// purposes the cases name, and the data sources (with their own policies).
func newWorld(t *testing.T, backend servertest.Backend, cf *corpusFile, sources []corpusDS, cases []corpusCase) *corpusWorld {
	f := newFixture(t, backend)
	w := &corpusWorld{f: f, cf: cf, sources: map[int64]int64{}, back: map[int64]int64{}, applied: map[int64][]int64{}}
	acting := map[int64]governance.Acting{}
	for name, u := range cf.Users {
		id := f.user(corpusUserID(name))
		acting[id] = governance.Acting{Purposes: u.Purposes}
		if u.Own != nil {
			// A user acting under an equalized project: they hold Own, and
			// the project's set is what the case lets them keep.
			acting[id] = governance.Acting{Purposes: u.Purposes,
				Limit: &governance.Limit{Groups: u.Groups, Attributes: u.Attributes}}
			u.Groups, u.Attributes = u.Own.Groups, u.Own.Attributes
		}
		for _, g := range u.Groups {
			f.join(g, corpusUserID(name))
		}
		attrs := make([]string, 0, len(u.Attributes))
		for a := range u.Attributes {
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			for _, v := range u.Attributes[a] {
				f.attribute(corpusUserID(name), a, v)
			}
		}
	}
	f.must(f.app.Governance.SetActingSources(f.ctx, func(ctx context.Context, q *store.Queries, ids []int64) (map[int64]governance.Acting, error) {
		return acting, nil
	}, nil))
	var refs []policy.References
	for _, c := range cases {
		for _, cp := range c.Policies {
			refs = append(refs, decodeCorpus(t, cp).References())
		}
	}
	locals := map[int64]*policy.LocalPolicy{}
	for _, ds := range sources {
		var lp *policy.LocalPolicy
		var err error
		switch {
		case len(ds.Local) > 0:
			lp, err = policy.DecodeLocalV1(ds.Local)
		case len(ds.Handler) > 0:
			lp, err = policy.DecodeHandlerV1(ds.Handler)
		}
		if err != nil {
			t.Fatal(err)
		}
		if lp != nil {
			locals[ds.ID] = lp
			refs = append(refs, (&policy.Policy{Type: policy.TypeData, Data: lp.Data, Subscription: lp.Subscription}).References())
		}
	}
	for _, r := range refs {
		f.makeTags(r.Tags...)
		for _, g := range r.Groups {
			f.group(g)
		}
		for _, u := range r.Users {
			f.user(u.Username)
		}
		for _, p := range r.Purposes {
			w.purpose(p)
		}
	}
	for _, ds := range sources {
		spec := dsSpec{Name: ds.Name, Server: ds.Server, CreatedAt: ds.CreatedAt, Tags: ds.Tags,
			EventTime: ds.EventTimeColumn, Columns: ds.Columns, OwnerGroups: ds.OwnerGroups}
		for _, o := range ds.OwnerUsers {
			spec.OwnerUsers = append(spec.OwnerUsers, o.Username)
		}
		id := f.dataSource(spec)
		w.sources[ds.ID], w.back[id] = id, ds.ID
		w.applied[ds.ID] = ds.AppliedPolicies
		switch {
		case len(ds.Local) > 0:
			f.call(200, "POST", fmt.Sprintf("/policy/handler/%d", id), []byte(ds.Local), nil)
		case len(ds.Handler) > 0:
			var h map[string]any
			if err := json.Unmarshal(yamlJSON(t, ds.Handler), &h); err != nil {
				t.Fatal(err)
			}
			h["dataSourceId"] = id
			f.call(200, "POST", "/policy/handler", h, nil)
		}
	}
	return w
}

// corpusUserID names a corpus user in the store ("admin" is taken by the
// server's administrator).
func corpusUserID(name string) string {
	if strings.EqualFold(name, "admin") {
		return "corpus-admin"
	}
	return strings.ToLower(name)
}

// purpose creates a purpose and its parents unless they exist.
func (w *corpusWorld) purpose(name string) {
	parts := strings.Split(name, ".")
	for i := range parts {
		n := strings.Join(parts[:i+1], ".")
		if _, err := w.f.app.Governance.PurposeByName(w.f.ctx, n); err == nil {
			continue
		}
		w.f.call(200, "POST", "/api/v2/purpose", map[string]any{"name": n}, nil)
	}
}

func yamlJSON(t *testing.T, raw json.RawMessage) []byte {
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func decodeCorpus(t *testing.T, cp corpusPolicy) *policy.Policy {
	t.Helper()
	var p *policy.Policy
	var err error
	if len(cp.PolicyV1) > 0 {
		p, err = policy.DecodeV1(cp.PolicyV1)
	} else {
		p, err = policy.DecodeV2(cp.Policy)
	}
	if err != nil {
		t.Fatalf("corpus policy %d: %v", cp.ID, err)
	}
	return p
}

func (w *corpusWorld) run(t *testing.T, c *corpusCase) {
	f := w.f
	ps := append([]corpusPolicy(nil), c.Policies...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	ids := map[int64]int64{} // corpus policy id -> store id
	defer func() {
		for _, id := range ids {
			f.call(200, "DELETE", fmt.Sprintf("/policy/global/%d", id), nil, nil)
		}
	}()
	for _, cp := range ps {
		want := decodeCorpus(t, cp)
		if len(cp.PolicyV1) > 0 {
			var v1 policy.V1Policy
			f.call(200, "POST", "/policy/global", []byte(cp.PolicyV1), &v1)
			ids[cp.ID] = v1.ID
		} else {
			var res struct {
				Creating bool   `json:"creating"`
				PolicyID *int64 `json:"policyId"`
			}
			f.call(200, "POST", "/api/v2/policy", []byte(cp.Policy), &res)
			if !res.Creating || res.PolicyID == nil {
				t.Fatalf("policy %d saved as %+v", cp.ID, res)
			}
			ids[cp.ID] = *res.PolicyID
		}
		// The policy reads back the same in V2 and in V1.
		v2 := f.call(200, "GET", "/api/v2/policy/"+url.PathEscape(want.PolicyKey), nil, nil)
		got, err := policy.DecodeV2(v2)
		if err != nil {
			t.Fatalf("GET V2 of %q does not decode: %v\n%s", want.PolicyKey, err, v2)
		}
		if mustJSON(t, got) != mustJSON(t, want) {
			t.Errorf("V2 of %q reads back\n%s\nwant\n%s", want.PolicyKey, mustJSON(t, got), mustJSON(t, want))
		}
		v1 := f.call(200, "GET", fmt.Sprintf("/policy/global/%d", ids[cp.ID]), nil, nil)
		got1, err := policy.DecodeV1(v1)
		if err != nil {
			t.Fatalf("GET V1 of %q does not decode: %v\n%s", want.PolicyKey, err, v1)
		}
		if a, b := mustJSON(t, v1Form(got1)), mustJSON(t, v1Form(want)); a != b {
			t.Errorf("V1 of %q reads back\n%s\nwant\n%s", want.PolicyKey, a, b)
		}
	}
	for ds, pids := range w.applied {
		for _, pid := range pids {
			if id, ok := ids[pid]; ok {
				f.call(204, "POST", "/policy/global/applyPolicy", map[string]any{"policyId": id, "dataSourceId": w.sources[ds]}, nil)
			}
		}
	}
	if c.Expect.Applies != nil {
		for _, cp := range ps {
			var want []int64
			for ds, pids := range c.Expect.Applies {
				for _, pid := range pids {
					if pid == cp.ID {
						var n int64
						fmt.Sscan(ds, &n)
						want = append(want, n)
					}
				}
			}
			var applied struct {
				Count int     `json:"count"`
				IDs   []int64 `json:"dataSourceIds"`
			}
			f.call(200, "GET", fmt.Sprintf("/policy/global/appliedTo/%d", ids[cp.ID]), nil, &applied)
			got := []int64{}
			for _, id := range applied.IDs {
				got = append(got, w.back[id])
			}
			sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			if want == nil {
				want = []int64{}
			}
			if !reflect.DeepEqual(got, want) || applied.Count != len(want) {
				t.Errorf("policy %d applies to %v (count %d), want %v", cp.ID, got, applied.Count, want)
			}
		}
	}
	for _, dc := range c.Expect.Decisions {
		w.checkDecision(t, dc)
	}
}

// v1Form is a policy's V1 object; with fewer than two circumstances their
// operator says nothing, and V1 does not keep it.
func v1Form(p *policy.Policy) *policy.V1Policy {
	q := *p
	if len(q.Circumstances) < 2 {
		q.CircumstanceOperator = ""
	}
	return q.ToV1()
}

// planJSON is the part of the decision endpoint's answer the corpus checks.
type planJSON struct {
	GrantByPolicy *string `json:"grantByPolicy"`
	Read          struct {
		Status string `json:"status"`
	} `json:"read"`
	Write struct {
		Status string `json:"status"`
	} `json:"write"`
	Columns []columnJSON `json:"columns"`
	Rows    []struct {
		Kind     string                 `json:"kind"`
		Where    *string                `json:"where"`
		Time     *policy.TimeFilter     `json:"time"`
		Minimize *policy.MinimizeFilter `json:"minimize"`
	} `json:"rows"`
	NoRows   bool `json:"noRows"`
	Policies []struct {
		PolicyKey string `json:"policyKey"`
	} `json:"policies"`
}

type columnJSON struct {
	Column  string `json:"column"`
	Masking struct {
		Type       policy.MaskingType `json:"type"`
		Parameters map[string]any     `json:"parameters"`
	} `json:"masking"`
	Rows      *string     `json:"rows"`
	Otherwise *columnJSON `json:"otherwise"`
}

func (c *columnJSON) masking(t *testing.T) string {
	m := map[string]any{"type": c.Masking.Type}
	for k, v := range c.Masking.Parameters {
		m[k] = v
	}
	var pm policy.Masking
	if err := json.Unmarshal([]byte(mustJSON(t, m)), &pm); err != nil {
		t.Fatal(err)
	}
	return pm.String()
}

// byColumns drops the columns a minimization hashes: custos does not store
// a data source's high-cardinality column yet, so global minimization
// hashes whole rows.
var byColumns = regexp.MustCompile(` by \[[^\]]*\]$`)

func (w *corpusWorld) checkDecision(t *testing.T, dc corpusDecision) {
	t.Helper()
	ds := w.sources[dc.DataSource]
	uid := w.f.users[corpusUserID(dc.User)]
	if ds == 0 || uid == 0 {
		t.Fatalf("decision for %s on %d: unknown data source or user", dc.User, dc.DataSource)
	}
	var got planJSON
	w.f.call(200, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, uid), nil, &got)
	who := fmt.Sprintf("decision for %s on %d", dc.User, dc.DataSource)
	if dc.Grant != nil {
		g := ""
		if got.GrantByPolicy != nil {
			g = *got.GrantByPolicy
		}
		if g != *dc.Grant {
			t.Errorf("%s: grant %q, want %q", who, g, *dc.Grant)
		}
	}
	if dc.Read != "" && got.Read.Status != dc.Read {
		t.Errorf("%s: read %q, want %q", who, got.Read.Status, dc.Read)
	}
	if dc.Write != "" && got.Write.Status != dc.Write {
		t.Errorf("%s: write %q, want %q", who, got.Write.Status, dc.Write)
	}
	if dc.Masks != nil {
		masks := map[string]string{}
		for _, c := range got.Columns {
			s := c.masking(t)
			for o := &c; o.Rows != nil; {
				s += " if " + *o.Rows
				if o = o.Otherwise; o == nil {
					break
				}
				s += " else " + o.masking(t)
			}
			masks[c.Column] = s
		}
		if !reflect.DeepEqual(masks, dc.Masks) {
			t.Errorf("%s: masks\n got %q\nwant %q", who, masks, dc.Masks)
		}
	}
	if dc.Rows != nil {
		rows := []string{}
		for _, r := range got.Rows {
			var s string
			switch {
			case r.Time != nil:
				dir := "newer"
				if !r.Time.Newer {
					dir = "older"
				}
				s = fmt.Sprintf("time %q %s than %ds", r.Time.Column, dir, r.Time.Seconds)
			case r.Minimize != nil:
				s = fmt.Sprintf("minimize %d%% by %v", r.Minimize.Percent, r.Minimize.Columns)
			case r.Where != nil:
				s = "where " + *r.Where
			}
			rows = append(rows, byColumns.ReplaceAllString(s, ""))
		}
		want := make([]string, len(dc.Rows))
		for i, r := range dc.Rows {
			want[i] = byColumns.ReplaceAllString(r, "")
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("%s: rows\n got %q\nwant %q", who, rows, want)
		}
	}
	if got.NoRows != dc.NoRows {
		t.Errorf("%s: noRows %v, want %v", who, got.NoRows, dc.NoRows)
	}
	if dc.Policies != nil {
		keys := []string{}
		for _, p := range got.Policies {
			keys = append(keys, p.PolicyKey)
		}
		if !reflect.DeepEqual(keys, dc.Policies) {
			t.Errorf("%s: policies %q, want %q", who, keys, dc.Policies)
		}
	}
}
