package pgsql

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/custosdata/custos/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCase is one file of testdata/*.yaml: a data source, the global
// policies (V2 payloads) and how the relation is found in the database; the
// SQL rendered from the engine's plan is compared with testdata/<name>.sql.
type goldenCase struct {
	Source struct {
		Schema     string `json:"schema"`
		Table      string `json:"table"`
		RowsInView bool   `json:"rowsInView"`
		NoCTID     bool   `json:"noCtid"`
		Columns    []struct {
			Name string   `json:"name"`
			Kind string   `json:"kind"`
			Tags []string `json:"tags"`
		} `json:"columns"`
		Tags                  []string `json:"tags"`
		EventTimeColumn       string   `json:"eventTimeColumn"`
		HighCardinalityColumn string   `json:"highCardinalityColumn"`
	} `json:"source"`
	Policies []any `json:"policies"`
}

var kindNames = map[string]Kind{"text": KindText, "int2": KindInt2, "int4": KindInt4, "int8": KindInt8,
	"numeric": KindNumeric, "float4": KindFloat4, "float8": KindFloat8, "date": KindDate, "timestamp": KindTimestamp,
	"timestamptz": KindTimestampTZ, "bool": KindBool, "other": KindOther}

var testSystem = System{Schema: "custos", Role: "custos_shop"}

// planFor builds the engine's plan for a case.
func planFor(t *testing.T, gc *goldenCase) (*policy.Plan, Source) {
	t.Helper()
	ix := policy.NewIndex()
	ds := policy.DataSource{ID: 7, Name: gc.Source.Table, Tags: gc.Source.Tags,
		EventTimeColumn: gc.Source.EventTimeColumn, HighCardinalityColumn: gc.Source.HighCardinalityColumn}
	src := Source{DataSourceID: 7, Schema: gc.Source.Schema, Table: gc.Source.Table, RowsInView: gc.Source.RowsInView,
		HasCTID: !gc.Source.NoCTID}
	for _, c := range gc.Source.Columns {
		k, ok := kindNames[c.Kind]
		if !ok {
			t.Fatalf("unknown kind %q", c.Kind)
		}
		ds.Columns = append(ds.Columns, policy.Column{Name: c.Name, Type: c.Kind, Tags: c.Tags})
		src.Columns = append(src.Columns, Column{Name: c.Name, Kind: k})
	}
	if _, err := ix.UpsertDataSource(ds); err != nil {
		t.Fatal(err)
	}
	for i, p := range gc.Policies {
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := policy.DecodeV2(b)
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if _, err := ix.UpsertPolicy(int64(i+1), pol); err != nil {
			t.Fatal(err)
		}
	}
	plan, _ := ix.Plan(7)
	return plan, src
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var gc goldenCase
			if err := yaml.UnmarshalStrict(data, &gc); err != nil {
				t.Fatal(err)
			}
			plan, src := planFor(t, &gc)
			got, err := Render(testSystem, src, Target{Schema: gc.Source.Schema + "_governed", Name: gc.Source.Table}, plan)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(got.View + ";\n")
			if got.RowFilter != "" {
				b.WriteString("\n-- row filter (restrictive policy for custos_shop)\n" + got.RowFilter + "\n")
			}
			for _, w := range got.Warnings {
				b.WriteString("\n-- warning: " + w + "\n")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".sql"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(want) != b.String() {
				t.Errorf("rendered SQL differs from %s (go test -update rewrites it):\n%s", golden, b.String())
			}
		})
	}
}

// TestGoldenBootstrap pins the setup script a database administrator runs.
func TestGoldenBootstrap(t *testing.T) {
	sys := System{Schema: "custos", Role: "custos_shop", AuditRole: "custos_shop_audit"}
	stmts, err := Bootstrap(sys, BootstrapOptions{Member: "admin", Database: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	got := Script("custos setup of database shop", stmts) + "\n" + Script("cleanup", Cleanup(sys, "shop"))
	golden := "testdata/bootstrap.sql"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("the setup script differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	// Names are quoted whatever they hold (the API only lets plain ones in).
	odd, err := Bootstrap(System{Schema: `x"; DROP`, Role: "r"}, BootstrapOptions{})
	if err != nil || !strings.Contains(odd[1], `CREATE SCHEMA "x""; DROP" AUTHORIZATION "r"`) {
		t.Errorf("odd schema name: %v %q", err, odd)
	}
}
