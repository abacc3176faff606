package policy

import (
	"strings"
	"testing"
)

// A policy saved before a check was made stricter (here: a number beyond
// PostgreSQL's numeric range, once accepted) still loads: ignoring it would
// drop everything it imposes. The rules whose predicate no longer parses
// close instead: no rows, or the column NULL on every row.
func TestStoredPredicatesThatNoLongerParseClose(t *testing.T) {
	p, err := DecodeV2([]byte(`
name: Stored
policyKey: stored
type: data
actions:
- rules:
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "id > 1"}
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII}]
      conditionalPredicate: "id > 1"
      maskingConfig: {type: Hash}
`))
	if err != nil {
		t.Fatal(err)
	}
	p.Data[0].Rules[0].CustomWhere.Predicate = "id > 1e999999"
	p.Data[0].Rules[1].Masking.ConditionalPredicate = "id > 1e999999"
	if p.Validate() == nil {
		t.Fatal("the predicate must not validate for saving")
	}
	ix := NewIndex()
	if _, err := ix.UpsertPolicy(1, p); err != nil {
		t.Fatalf("a stored policy must load: %v", err)
	}
	if _, err := ix.UpsertDataSource(DataSource{ID: 1, Name: "t", Columns: []Column{{Name: "id", Type: "integer"},
		{Name: "ssn", Type: "text", Tags: []string{"PII"}}}}); err != nil {
		t.Fatal(err)
	}
	plan, _ := ix.Plan(1)
	if len(plan.Rows) != 1 || !strings.Contains(plan.Rows[0].Closed, "does not parse") || plan.Rows[0].Where.String() != "FALSE" {
		t.Fatalf("rows: %+v", plan.Rows)
	}
	if len(plan.Columns) != 1 || plan.Columns[0].Masks[0].Masking.Type != MaskNull || plan.Columns[0].Masks[0].Rows != nil ||
		!strings.Contains(plan.Columns[0].Masks[0].Closed, "does not parse") {
		t.Fatalf("columns: %+v", plan.Columns[0].Masks[0])
	}
	d := Evaluate(plan, NewEntitlements(User{Username: "u"}))
	if !d.NoRows || d.Columns[0].Masking.Type != MaskNull || d.Columns[0].Closed == "" || d.Rows[0].Closed == "" {
		t.Fatalf("decision: %+v", d)
	}

	// The same for a data source's own policy.
	local := []byte(`[{"type": "rowOrObjectRestriction", "rules": [{"type": "visibility", "exceptions": null,
		"config": {"predicate": "id > 1e999999"}}]}]`)
	if _, err := DecodeLocalV1(local); err == nil {
		t.Fatal("the local predicate must not validate for saving")
	}
	lp, err := DecodeStoredLocalV1(local)
	if err != nil {
		t.Fatalf("a stored local policy must load: %v", err)
	}
	if _, err := ix.SetLocalPolicy(1, lp); err != nil {
		t.Fatal(err)
	}
	plan, _ = ix.Plan(1)
	if len(plan.Rows) != 2 || plan.Rows[0].Closed == "" || !plan.Rows[0].Source.Policy.Local {
		t.Fatalf("rows with the local policy: %+v", plan.Rows)
	}
}
