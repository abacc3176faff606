package postgres

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/policy"
)

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	Parent       string     `json:"Parent Relationship"`
	FunctionName string     `json:"Function Name"`
	RelationName string     `json:"Relation Name"`
	Loops        float64    `json:"Actual Loops"`
	Output       []string   `json:"Output"`
	Filter       string     `json:"Filter"`
	Workers      float64    `json:"Workers Launched"`
	Plans        []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// explain runs EXPLAIN ANALYZE as role with parallel query made attractive
// even on a small table, and returns the plan's root.
func (e *env) explain(role, sql string) planNode {
	e.t.Helper()
	var root planNode
	err := e.query(role, func(c *pgx.Conn) error {
		for _, s := range []string{`SET parallel_setup_cost = 0`, `SET parallel_tuple_cost = 0`, `SET min_parallel_table_scan_size = 0`} {
			if _, err := c.Exec(e.ctx, s); err != nil {
				return err
			}
		}
		var out []byte
		if err := c.QueryRow(e.ctx, `EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) `+sql).Scan(&out); err != nil {
			return err
		}
		var doc []struct{ Plan planNode }
		if err := json.Unmarshal(out, &doc); err != nil {
			return err
		}
		root = doc[0].Plan
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return root
}

// TestLookupsRunOncePerQuery proves the performance design with EXPLAIN:
// conditions over the user are InitPlans executed once, not SubPlans run per
// row; the lookups are inlined (an index scan of the entitlements, no
// function call); masks are inlined expressions; the scan stays parallel
// with the InitPlans' values passed to the workers.
func TestLookupsRunOncePerQuery(t *testing.T) {
	e := newEnv(t)
	analyst := e.user("analyst", policy.User{Attributes: map[string][]string{"Country": {"United States", "Canada"}}})
	e.source(1, "shop", "customers", map[string][]string{"ssn": {"PII.SSN"}, "country": {"Geo.Country"}})
	e.policy(maskPolicy("hash", "PII.SSN", "{type: Hash}"))
	e.policy(rowPolicy("rows", `
  - type: Row Restriction By User Entitlements
    config: {operator: all, matches: [{type: attribute, attribute: Country, tag: Geo.Country}]}
    exceptions: {groups: [Admins]}`))
	e.grant(1, []string{analyst}, nil)
	e.sync()

	for _, q := range []string{
		`SELECT count(*) FROM shop_governed.customers`,
		`SELECT max(ssn) FROM shop_governed.customers`,
	} {
		root := e.explain(analyst, q)
		var initPlans, lookups, subPlans int
		gather, inlined, called := false, false, false
		// The only SubPlans allowed are inside the InitPlans of the
		// attribute lookups (ARRAY(SELECT jsonb_array_elements_text ...),
		// over the limited and the own entitlements), which run once.
		var walk func(n planNode, inInit bool)
		walk = func(n planNode, inInit bool) {
			inInit = inInit || n.Parent == "InitPlan"
			if n.Parent == "SubPlan" && !inInit {
				subPlans++
			}
			for _, c := range n.Plans {
				walk(c, inInit)
			}
		}
		walk(root, false)
		root.walk(func(n planNode) {
			if n.Parent == "InitPlan" {
				initPlans++
			}
			if n.FunctionName == "entitlement" || n.FunctionName == "own_entitlement" {
				t.Errorf("%s: the %s lookup is called, not inlined", q, n.FunctionName)
			}
			if n.RelationName == "entitlements" {
				lookups++
				if n.Loops != 1 {
					t.Errorf("%s: a lookup of the entitlements ran %v times", q, n.Loops)
				}
			}
			if n.NodeType == "Gather" && n.Workers > 0 {
				gather = true
			}
			for _, o := range n.Output {
				inlined = inlined || strings.Contains(o, "sha256")
				called = called || strings.Contains(o, "mask_hash")
			}
		})
		if initPlans == 0 || lookups == 0 {
			t.Errorf("%s: %d InitPlans, %d lookups: the conditions are not InitPlans", q, initPlans, lookups)
		}
		if subPlans > 0 {
			t.Errorf("%s: %d SubPlans outside the InitPlans", q, subPlans)
		}
		if !gather {
			t.Errorf("%s: no parallel workers", q)
		}
		if strings.Contains(q, "ssn") && (!inlined || called) {
			t.Errorf("%s: the hash is not inlined (sha256 %v, mask_hash call %v)", q, inlined, called)
		}
	}
}
