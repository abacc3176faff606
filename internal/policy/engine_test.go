package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The engine's behaviour is specified by the case files in testdata/cases:
// each file gives data sources and users, then cases of policies (V2 YAML,
// or V1 JSON objects) with what they must apply to and what they must do.

type caseFile struct {
	DataSources []caseDataSource `json:"dataSources"`
	Users       map[string]User  `json:"users"`
	Cases       []engineCase     `json:"cases"`
}

type caseDataSource struct {
	DataSource
	Local   json.RawMessage `json:"local"`   // V1 jsonPolicies
	Handler json.RawMessage `json:"handler"` // V1 policy handler object with jsonRules
}

type casePolicy struct {
	ID       int64           `json:"id"`
	Policy   json.RawMessage `json:"policy"`   // V2 payload
	PolicyV1 json.RawMessage `json:"policyV1"` // V1 global policy object
}

type engineCase struct {
	Name string `json:"name"`
	// EngineOnly: the API refuses these policies when they are saved
	// (custos can tell they cannot apply); the case shows what the engine
	// does with such policies stored before.
	EngineOnly  bool             `json:"engineOnly"`
	Policies    []casePolicy     `json:"policies"`
	DataSources []caseDataSource `json:"dataSources"` // replace the file's when given
	Expect      struct {
		Applies   map[string][]int64   `json:"applies"`
		Plans     map[string]planCheck `json:"plans"`
		Decisions []decisionCheck      `json:"decisions"`
	} `json:"expect"`
}

type planCheck struct {
	Read      *string             `json:"read"`
	Write     *string             `json:"write"`
	Columns   map[string][]string `json:"columns"`
	Rows      []string            `json:"rows"`
	Conflicts []string            `json:"conflicts"`
	Skipped   []string            `json:"skipped"`
}

type decisionCheck struct {
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

func TestEngineCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cf caseFile
		if err := yaml.UnmarshalStrict(data, &cf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, c := range cf.Cases {
			t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml")+"/"+c.Name, func(t *testing.T) {
				runCase(t, &cf, &c)
			})
		}
	}
}

func runCase(t *testing.T, cf *caseFile, c *engineCase) {
	ix := NewIndex()
	srcs := cf.DataSources
	if c.DataSources != nil {
		srcs = c.DataSources
	}
	for _, cp := range c.Policies {
		p := decodeCasePolicy(t, cp)
		if _, err := ix.UpsertPolicy(cp.ID, p); err != nil {
			t.Fatalf("upsert policy %d: %v", cp.ID, err)
		}
	}
	for _, cds := range srcs {
		ds := cds.DataSource
		if len(cds.Local) > 0 && string(cds.Local) != "null" {
			lp, err := DecodeLocalV1(cds.Local)
			if err != nil {
				t.Fatalf("local policy of %d: %v", ds.ID, err)
			}
			ds.Local = lp
		}
		if len(cds.Handler) > 0 && string(cds.Handler) != "null" {
			lp, err := DecodeHandlerV1(cds.Handler)
			if err != nil {
				t.Fatalf("policy handler of %d: %v", ds.ID, err)
			}
			ds.Local = lp
		}
		if ds.CreatedAt.IsZero() {
			ds.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		changed, err := ix.UpsertDataSource(ds)
		if err != nil {
			t.Fatalf("upsert data source %d: %v", ds.ID, err)
		}
		if len(changed) != 1 || changed[0] != ds.ID {
			t.Errorf("adding data source %d reported %v", ds.ID, changed)
		}
	}
	for _, cp := range c.Policies {
		var want []int64
		for ds, ids := range c.Expect.Applies {
			for _, id := range ids {
				if id == cp.ID {
					var n int64
					fmt.Sscan(ds, &n)
					want = append(want, n)
				}
			}
		}
		if c.Expect.Applies == nil {
			continue
		}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if got := ix.AppliesTo(cp.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("policy %d applies to %v, want %v", cp.ID, got, want)
		}
	}
	for ds, pc := range c.Expect.Plans {
		var id int64
		fmt.Sscan(ds, &id)
		p, ok := ix.Plan(id)
		if !ok {
			t.Fatalf("no plan for %d", id)
		}
		checkPlan(t, id, p, pc)
	}
	for _, dc := range c.Expect.Decisions {
		u, ok := cf.Users[dc.User]
		if !ok {
			t.Fatalf("unknown user %q", dc.User)
		}
		if u.Username == "" {
			u.Username = dc.User
		}
		p, ok := ix.Plan(dc.DataSource)
		if !ok {
			t.Fatalf("no plan for %d", dc.DataSource)
		}
		d := Evaluate(p, NewEntitlements(u))
		checkDecision(t, dc, d)
	}
}

func decodeCasePolicy(t *testing.T, cp casePolicy) *Policy {
	t.Helper()
	if len(cp.PolicyV1) > 0 {
		p, err := DecodeV1(cp.PolicyV1)
		if err != nil {
			t.Fatalf("policy %d (V1): %v", cp.ID, err)
		}
		checkV1RoundTrip(t, p)
		return p
	}
	p, err := DecodeV2(cp.Policy)
	if err != nil {
		t.Fatalf("policy %d: %v", cp.ID, err)
	}
	// The same payload as YAML gives the same policy.
	y, err := yaml.JSONToYAML(cp.Policy)
	if err != nil {
		t.Fatal(err)
	}
	py, err := DecodeV2(y)
	if err != nil {
		t.Fatalf("policy %d as YAML: %v\n%s", cp.ID, err, y)
	}
	if !reflect.DeepEqual(p, py) {
		t.Errorf("policy %d: YAML and JSON decode differently:\n%+v\n%+v", cp.ID, p, py)
	}
	// model -> JSON -> model
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeV2(out)
	if err != nil {
		t.Fatalf("policy %d: re-decoding %s: %v", cp.ID, out, err)
	}
	if !reflect.DeepEqual(p, again) {
		t.Errorf("policy %d does not round-trip:\n%s\n%+v\n%+v", cp.ID, out, p, again)
	}
	checkV1RoundTrip(t, p)
	return p
}

// checkV1RoundTrip: model -> V1 object -> model gives the same policy, up to
// what V1 cannot say differently (the default operators).
func checkV1RoundTrip(t *testing.T, p *Policy) {
	t.Helper()
	b, err := json.Marshal(p.ToV1())
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeV1(b)
	if err != nil {
		t.Fatalf("V1 form %s does not decode: %v", b, err)
	}
	if !reflect.DeepEqual(normalizeOps(p), normalizeOps(back)) {
		t.Errorf("V1 round trip differs:\n%s\n%+v\n%+v", b, normalizeOps(p), normalizeOps(back))
	}
}

func normalizeOps(p *Policy) *Policy {
	b, _ := json.Marshal(p)
	var q Policy
	if err := json.Unmarshal(b, &q); err != nil {
		panic(err)
	}
	if len(q.Circumstances) < 2 || q.CircumstanceOperator == "" {
		q.CircumstanceOperator = OpAll
		if len(q.Circumstances) < 2 {
			q.CircumstanceOperator = ""
		}
	}
	norm := func(c *Condition) {
		if c != nil && c.Operator == "" {
			c.Operator = OpAny
		}
	}
	if q.Subscription != nil {
		norm(q.Subscription.Entitlements)
		if q.Subscription.AccessGrant == "" {
			q.Subscription.AccessGrant = GrantRead
		}
	}
	for i := range q.Data {
		for j := range q.Data[i].Rules {
			r := &q.Data[i].Rules[j]
			norm(r.Exceptions)
			norm(r.Inclusions)
			if r.Purpose != nil && r.Purpose.Operator == "" {
				r.Purpose.Operator = OpAny
			}
			if r.RowMatch != nil && r.RowMatch.Operator == "" {
				r.RowMatch.Operator = OpAll
			}
		}
	}
	return &q
}

func condText(c Cond) string {
	if c == nil {
		return "true"
	}
	return c.String()
}

func accessText(a *Access) string {
	if a == nil {
		return "none"
	}
	s := fmt.Sprintf("%s who=%s auto=%v discover=%v", a.Type, condText(a.Who), a.AutomaticSubscription, a.AllowDiscovery)
	for _, ap := range a.Approvals {
		s += fmt.Sprintf(" approval=%s", ap.RequiredPermission)
		if ap.SpecificApproverRequired {
			s += "!"
		}
	}
	return s
}

func refText(r *RuleRef) string {
	if r == nil {
		return "-"
	}
	if r.Policy.Local {
		return fmt.Sprintf("local[%d][%d]", r.Action, r.Rule)
	}
	return fmt.Sprintf("%d[%d][%d]", r.Policy.ID, r.Action, r.Rule)
}

func checkPlan(t *testing.T, ds int64, p *Plan, pc planCheck) {
	t.Helper()
	if pc.Read != nil && accessText(p.Read) != *pc.Read {
		t.Errorf("plan %d read = %q, want %q", ds, accessText(p.Read), *pc.Read)
	}
	if pc.Write != nil && accessText(p.Write) != *pc.Write {
		t.Errorf("plan %d write = %q, want %q", ds, accessText(p.Write), *pc.Write)
	}
	if pc.Columns != nil {
		got := map[string][]string{}
		for _, c := range p.Columns {
			for _, m := range c.Masks {
				s := condText(m.AppliesTo) + " -> " + m.Masking.String()
				if m.Rows != nil {
					s += " if " + m.Rows.String()
				}
				if m.Closed != "" {
					s += " (closed: " + m.Closed + ")"
				}
				got[c.Column] = append(got[c.Column], s)
			}
		}
		if !reflect.DeepEqual(got, pc.Columns) {
			t.Errorf("plan %d columns:\n got %q\nwant %q", ds, got, pc.Columns)
		}
	}
	if pc.Rows != nil {
		got := []string{}
		for _, r := range p.Rows {
			row := fmt.Sprintf("%s %s -> %s", r.Kind, condText(r.AppliesTo), r.effect())
			if r.Closed != "" {
				row += " (closed: " + r.Closed + ")"
			}
			got = append(got, row)
		}
		if !reflect.DeepEqual(got, pc.Rows) {
			t.Errorf("plan %d rows:\n got %q\nwant %q", ds, got, pc.Rows)
		}
	}
	if pc.Conflicts != nil {
		got := []string{}
		for _, c := range p.AllConflicts() {
			s := string(c.Kind)
			if c.Column != "" {
				s += " " + c.Column
			}
			if c.Grant != "" {
				s += " " + string(c.Grant)
			}
			if c.Winner != nil {
				s += " " + refText(c.Winner) + ">" + refText(c.Loser)
			}
			for _, p := range c.Policies {
				s += fmt.Sprintf(" %d", p.ID)
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, pc.Conflicts) {
			t.Errorf("plan %d conflicts:\n got %q\nwant %q", ds, got, pc.Conflicts)
		}
	}
	if pc.Skipped != nil {
		got := []string{}
		for _, k := range p.Skipped {
			s := refText(k.Source) + " " + k.Reason
			if k.Closed {
				s += " (closed)"
			}
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, pc.Skipped) {
			t.Errorf("plan %d skipped:\n got %q\nwant %q", ds, got, pc.Skipped)
		}
	}
}

func rowDecisionText(r RowDecision) string {
	return RowRule{Kind: r.Kind, Where: r.Where, Time: r.Time, Minimize: r.Minimize}.effect()
}

func checkDecision(t *testing.T, dc decisionCheck, d *Decision) {
	t.Helper()
	who := fmt.Sprintf("decision for %s on %d", dc.User, dc.DataSource)
	if dc.Grant != nil && string(d.Grant) != *dc.Grant {
		t.Errorf("%s: grant %q, want %q", who, d.Grant, *dc.Grant)
	}
	if dc.Read != "" && string(d.Read.Status) != dc.Read {
		t.Errorf("%s: read %q, want %q", who, d.Read.Status, dc.Read)
	}
	if dc.Write != "" && string(d.Write.Status) != dc.Write {
		t.Errorf("%s: write %q, want %q", who, d.Write.Status, dc.Write)
	}
	if dc.Masks != nil {
		got := map[string]string{}
		for _, c := range d.Columns {
			s := c.Masking.String()
			for o := &c; o.Rows != nil; {
				s += " if " + o.Rows.String()
				if o = o.Otherwise; o == nil {
					break
				}
				s += " else " + o.Masking.String()
			}
			got[c.Column] = s
		}
		if !reflect.DeepEqual(got, dc.Masks) {
			t.Errorf("%s: masks\n got %q\nwant %q", who, got, dc.Masks)
		}
	}
	if dc.Rows != nil {
		got := []string{}
		for _, r := range d.Rows {
			got = append(got, rowDecisionText(r))
		}
		if !reflect.DeepEqual(got, dc.Rows) {
			t.Errorf("%s: rows\n got %q\nwant %q", who, got, dc.Rows)
		}
	}
	if d.NoRows != dc.NoRows {
		t.Errorf("%s: noRows %v, want %v", who, d.NoRows, dc.NoRows)
	}
	if dc.Policies != nil {
		got := []string{}
		for _, p := range d.Policies {
			got = append(got, p.Key)
		}
		if !reflect.DeepEqual(got, dc.Policies) {
			t.Errorf("%s: policies %q, want %q", who, got, dc.Policies)
		}
	}
}
