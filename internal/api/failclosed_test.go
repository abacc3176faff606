package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server/servertest"
)

// policyDoc is a V2 data policy with one rule.
func policyDoc(key, rule string) string {
	return fmt.Sprintf("name: %s\npolicyKey: %s\ntype: data\nactions:\n- rules:\n  - %s\n", key, key, rule)
}

// fieldsOf lists the fields and messages of a 422.
func fieldsOf(t testing.TB, r *servertest.Response) string {
	t.Helper()
	var body struct {
		Validation []struct{ Field, Message string } `json:"validation"`
	}
	r.JSON(t, &body)
	var out []string
	for _, v := range body.Validation {
		out = append(out, v.Field+": "+v.Message)
	}
	return strings.Join(out, "\n")
}

// A rule that cannot apply as written is refused when custos can know it
// (the policy applies to data sources, none of which has the column; a
// pattern or number PostgreSQL would reject), and is enforced closed when it
// got in anyway: the users it applies to see no row, or NULL; the data
// source's status, the decision endpoint and the audit trail say so.
func TestRulesThatCannotApplyAreRefusedOrClosed(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	remote := sampleRemote(t)
	analyst, analystPW := pgtest.Get(t).NewRole(t, "analyst")
	uid, _ := env.NewUser(t, "analyst")
	env.Admin(t, 200, "PUT", "/bim/iam/bim/user/analyst/profile", map[string]any{"sqlUser": analyst})
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "PII.Email"},
		map[string]any{"name": "K.Noise"}, map[string]any{"name": "K.Bucket"}, map[string]any{"name": "K.Month"}}})

	// Saved before any data source exists, custos cannot tell which
	// columns these rules may name: they are accepted.
	env.Admin(t, 200, "POST", "/api/v2/policy", "name: Everyone reads\npolicyKey: everyone\ntype: subscription\nactions:\n  type: anyone\n  automaticSubscription: true\n")
	for key, rule := range map[string]string{
		"typo":        `{type: Row Restriction by Custom Where Clause, config: {predicate: "country = 'nobody' AND regoin = 'x'"}}`,
		"conditional": `{type: Masking, config: {fields: [{type: columnTags, columnTag: PII.Email}], conditionalPredicate: "countryy = 'Mexico'", maskingConfig: {type: Hash}}}`,
		"noise":       `{type: Masking, config: {fields: [{type: columnTags, columnTag: K.Noise}], maskingConfig: {type: Randomized Response, stddev: 2}}}`,
		"bucket":      `{type: Masking, config: {fields: [{type: columnTags, columnTag: K.Bucket}], maskingConfig: {type: Grouping, bucketSize: 10}}}`,
		"month":       `{type: Masking, config: {fields: [{type: columnTags, columnTag: K.Month}], maskingConfig: {type: Grouping, timePrecision: MONTH}}}`,
	} {
		env.Admin(t, 200, "POST", "/api/v2/policy", policyDoc(key, rule))
	}
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "shop",
		"connection": remote.with("schema", "shop"), "options": noSDD,
		"sources": []any{map[string]any{"schema": "shop", "table": "customers"}}})
	ds := getDS(t, env, "Shop Customers").ID
	for col, tag := range map[string]string{"email": "PII.Email", "first_name": "K.Noise", "birth_date": "K.Bucket", "loyalty_points": "K.Month"} {
		env.Admin(t, 200, "POST", fmt.Sprintf("/tag/column/%d_%s", ds, col), []any{map[string]any{"name": tag}})
	}
	admin := superuserConn(t, remote)
	in := env.Admin(t, 200, "POST", "/integrations", map[string]any{"type": "PostgreSQL", "autoBootstrap": true,
		"config": map[string]any{"host": remote.conn["hostname"], "port": remote.conn["port"], "database": remote.conn["database"],
			"ssl": false, "authenticationType": "userPassword", "username": admin["username"], "password": admin["password"]}}).Map(t)
	iid := fmt.Sprint(in["id"])

	// The integration's status: closed, rule by rule.
	var src map[string]any
	eventually(t, "the data source is enforced closed", func() bool {
		st := env.Admin(t, 200, "GET", "/integrations/"+iid+"/status", nil).Map(t)
		for _, d := range st["dataSources"].([]any) {
			if d := d.(map[string]any); d["dataSourceId"] == float64(ds) {
				src = d
			}
		}
		return src != nil && src["state"] == "closed" && len(src["closedRules"].([]any)) == 5
	})
	closed := mustJSON(t, src["closedRules"])
	for _, want := range []string{`no column named \"regoin\"`, `no column named \"countryy\"`, `"column":"email"`,
		`column \"first_name\" is text: Randomized Response with stddev needs numbers`,
		`column \"birth_date\" is date: Grouping by buckets needs numbers`,
		`column \"loyalty_points\" is integer: Grouping by MONTH needs a date or a timestamp`} {
		if !strings.Contains(closed, want) {
			t.Errorf("closed rules lack %s: %s", want, closed)
		}
	}

	// The database: the analyst sees no row.
	read := func(q string) [][]string {
		t.Helper()
		u, _ := url.Parse(remote.dsn)
		u.User = url.UserPassword(analyst, analystPW)
		c, err := pgx.Connect(context.Background(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		rows, err := c.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			vals, _ := rows.Values()
			row := make([]string, len(vals))
			for i, v := range vals {
				row[i] = fmt.Sprint(v)
			}
			out = append(out, row)
		}
		return out
	}
	if n := read(`SELECT count(*) FROM shop_governed.customers`)[0][0]; n != "0" {
		t.Fatalf("the analyst sees %s rows past a rule with a typo", n)
	}

	// The decision endpoint says what each rule really does.
	plan := env.Admin(t, 200, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, uid), nil).Map(t)
	if plan["noRows"] != true || len(plan["closedRules"].([]any)) != 5 {
		t.Fatalf("decision: %v", plan)
	}
	masks := map[string]string{}
	for _, c := range plan["columns"].([]any) {
		c := c.(map[string]any)
		masks[c["column"].(string)] = fmt.Sprint(c["masking"].(map[string]any)["type"]) + " / " + fmt.Sprint(c["closed"])
	}
	for _, col := range []string{"email", "first_name", "birth_date", "loyalty_points"} {
		if !strings.HasPrefix(masks[col], "Null / ") || strings.HasSuffix(masks[col], "<nil>") {
			t.Errorf("decision for %s: %s", col, masks[col])
		}
	}
	if rows := mustJSON(t, plan["rows"]); !strings.Contains(rows, `"closed":"no column named \"regoin\""`) {
		t.Errorf("decision rows: %s", rows)
	}

	// The audit trail.
	var recs struct {
		Hits []map[string]any `json:"hits"`
	}
	env.Admin(t, 200, "GET", fmt.Sprintf("/audit?recordType=enforcementRulesClosed&dataSourceId=%d", ds), nil).JSON(t, &recs)
	if len(recs.Hits) == 0 || !strings.Contains(mustJSON(t, recs.Hits[0]), "regoin") {
		t.Fatalf("audit: %+v", recs)
	}

	// Without the typo the rows show, the other closed columns as NULL.
	env.Admin(t, 200, "DELETE", "/api/v2/policy/typo", nil)
	eventually(t, "the typo's rule is gone", func() bool {
		return read(`SELECT count(*) FROM shop_governed.customers`)[0][0] != "0"
	})
	for _, r := range read(`SELECT email, first_name, birth_date, loyalty_points FROM shop_governed.customers`) {
		for i, v := range r {
			if v != "<nil>" {
				t.Fatalf("column %d shows %q, want NULL", i, v)
			}
		}
	}

	// Now that the policies target a data source, custos knows its columns:
	// the same mistakes are refused, naming the field, and change nothing.
	for _, tc := range []struct{ rule, field, msg string }{
		{`{type: Row Restriction by Custom Where Clause, config: {predicate: "country = 'nobody' AND regoin = 'x'"}}`, "actions[0].rules[0].config.predicate", `column "regoin"`},
		{`{type: Masking, config: {fields: [{type: columnTags, columnTag: PII.Email}], conditionalPredicate: "countryy = 'Mexico'", maskingConfig: {type: Hash}}}`, "actions[0].rules[0].config.conditionalPredicate", `column "countryy"`},
		{`{type: Masking, config: {fields: [{type: columnTags, columnTag: PII.Email}], maskingConfig: {type: Regular Expression, regex: '\pL', replacement: x}}}`, "actions[0].rules[0].config.maskingConfig.regex", `\p is not supported`},
		{`{type: Row Restriction by Custom Where Clause, config: {predicate: "customer_id > 1e999999"}}`, "actions[0].rules[0].config.predicate", "numeric range"},
		{`{type: Row Restriction by Custom Where Clause, config: {predicate: "country = 'a' /* unterminated"}}`, "actions[0].rules[0].config.predicate", "unterminated"},
	} {
		r := env.Admin(t, 422, "POST", "/api/v2/policy", policyDoc("refused", tc.rule))
		if got := fieldsOf(t, r); !strings.Contains(got, tc.field+": ") || !strings.Contains(got, tc.msg) {
			t.Errorf("%s: %s", tc.rule, got)
		}
	}
	env.Must(t, 404, servertest.AdminKey, "GET", "/api/v2/policy/refused", nil)
	// A comment ends the predicate as PostgreSQL reads it.
	env.Admin(t, 200, "POST", "/api/v2/policy", policyDoc("comment", `{type: Row Restriction by Custom Where Clause, config: {predicate: "country = 'Spain' -- trailing"}}`))
	eventually(t, "the commented filter applies", func() bool {
		r := read(`SELECT count(*), count(DISTINCT country) FROM shop_governed.customers`)
		return r[0][0] != "0" && r[0][1] == "1"
	})
	if c := read(`SELECT DISTINCT country FROM shop_governed.customers`)[0][0]; c != "Spain" {
		t.Fatalf("the filter keeps %s", c)
	}

	// A data owner's local policy is checked against the data source's
	// columns.
	r := env.Admin(t, 422, "POST", fmt.Sprintf("/policy/handler/%d", ds), map[string]any{"jsonPolicies": []any{
		map[string]any{"type": "rowOrObjectRestriction", "rules": []any{map[string]any{"type": "visibility", "exceptions": nil,
			"config": map[string]any{"predicate": "regoin = 'x'"}}}}}})
	if got := fieldsOf(t, r); !strings.Contains(got, "predicate") || !strings.Contains(got, `"regoin"`) {
		t.Errorf("local policy: %s", got)
	}
	r = env.Admin(t, 422, "POST", fmt.Sprintf("/policy/handler/%d", ds), map[string]any{"jsonPolicies": []any{
		map[string]any{"type": "masking", "rules": []any{map[string]any{"type": "masking", "exceptions": nil,
			"config": map[string]any{"fields": []any{"email"}, "maskingConfig": map[string]any{"type": "Regular Expression",
				"metadata": map[string]any{"regex": `\pL`, "replacement": "x"}}}}}}}})
	if got := fieldsOf(t, r); !strings.Contains(got, "maskingConfig.metadata.regex: ") || !strings.Contains(got, `\p is not supported`) {
		t.Errorf("local pattern: %s", got)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
