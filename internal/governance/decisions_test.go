package governance_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/server/servertest"
)

func TestDecisionReports(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		f.makeTags("PII.SSN", "Org.Department", "Event.Time")
		f.group("HR")
		aliceID, aliceKey := env.NewUser(t, "alice@example.com")
		f.users["alice@example.com"] = aliceID
		f.join("HR", "alice@example.com")
		bobID, bobKey := env.NewUser(t, "bob@example.com")
		f.users["bob@example.com"] = bobID
		f.attribute("bob@example.com", "dept", "Sales")
		f.attribute("bob@example.com", "dept", "Ops")
		_, auditorKey := env.NewUser(t, "auditor@example.com", "FETCH_POLICY_INFO")
		ds := f.dataSource(dsSpec{Name: "staff", EventTime: "updated", Columns: []policy.Column{
			{Name: "ssn", Tags: []string{"PII.SSN"}}, {Name: "dept", Tags: []string{"Org.Department"}},
			{Name: "salary", Type: "numeric"}, {Name: "updated", Type: "timestamp"}}})
		f.call(200, "POST", "/api/v2/policy", `
name: Staff rules
policyKey: staff rules
type: data
actions:
- rules:
  - type: Masking
    config: {fields: [{type: columnTags, columnTag: PII.SSN}], maskingConfig: {type: "Null"}}
    exceptions: {groups: [HR]}
  - type: Masking
    config: {fields: [{type: columnRegex, regex: "^salary$"}], maskingConfig: {type: Grouping, bucketSize: 1000}}
  - type: Row Restriction by Custom Where Clause
    config: {predicate: "@columnTagged('Org.Department') <> 'Board'"}
  - type: Row Restriction By User Entitlements
    config: {matches: {type: attribute, attribute: dept, tag: Org.Department}}
    exceptions: {groups: [HR]}
  - type: Time Restriction
    config: {isOlderOrNewer: newer, time: 86400}
`, nil)
		f.call(200, "POST", "/api/v2/policy", "name: Read all\npolicyKey: read all\ntype: subscription\nactions: {type: anyone, automaticSubscription: true}\n", nil)

		// Bob: masked, filtered by his departments.
		var info struct {
			Visibilities          []string          `json:"visibilities"`
			VisibilityRuleApplies bool              `json:"visibilityRuleApplies"`
			Masked                []json.RawMessage `json:"masked"`
			AdditionalFilters     map[string]any    `json:"additionalFilters"`
		}
		r := env.Must(t, 200, auditorKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/policyInfo", ds, bobID), nil)
		r.JSON(t, &info)
		if strings.Join(info.Visibilities, ",") != "Ops,Sales" || !info.VisibilityRuleApplies || len(info.Masked) != 2 {
			t.Fatalf("bob's policyInfo: %s", r.Body)
		}
		if got := string(info.Masked[0]); got != `{"type":"Consistent Value","metadata":{"constant":null},"name":"ssn","actionType":"Nullify"}` {
			t.Fatalf("masked ssn: %s", got)
		}
		if got := string(info.Masked[1]); got != `{"type":"Grouping","metadata":{"bucketSize":1000},"name":"salary","actionType":"Round"}` {
			t.Fatalf("masked salary: %s", got)
		}
		af := info.AdditionalFilters
		if af["customWhere"] != `("dept" <> 'Board')` || af["eventTimeColumn"] != "updated" || af["time"] != float64(86400) ||
			af["isOlderOrNewer"] != "newer" || af["noRows"] != false {
			t.Fatalf("bob's filters: %v", af)
		}
		// Alice (HR): no ssn mask, no department filter.
		r = env.Must(t, 200, aliceKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/policyInfo", ds, aliceID), nil)
		r.JSON(t, &info)
		if len(info.Visibilities) != 0 || info.VisibilityRuleApplies || len(info.Masked) != 1 {
			t.Fatalf("alice's policyInfo: %s", r.Body)
		}
		// Only the user, FETCH_POLICY_INFO or GOVERNANCE.
		env.Must(t, 403, aliceKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/policyInfo", ds, bobID), nil)
		env.Must(t, 403, bobKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, aliceID), nil)
		f.call(404, "GET", fmt.Sprintf("/dataSource/%d/users/999999/policyInfo", ds), nil, nil)
		f.call(404, "GET", fmt.Sprintf("/dataSource/999999/users/%d/policyInfo", bobID), nil, nil)

		// Visibility reports.
		var reports []struct {
			NoVisibilities        bool   `json:"noVisibilities"`
			UserVisibilitiesCount int    `json:"userVisibilitiesCount"`
			DataSource            int64  `json:"dataSource"`
			DataSourceName        string `json:"dataSourceName"`
			PolicySet             string `json:"policySet"`
		}
		env.Must(t, 200, auditorKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/visibilityReport", ds, bobID), nil).JSON(t, &reports)
		if len(reports) != 1 || reports[0].NoVisibilities || reports[0].UserVisibilitiesCount != 2 || reports[0].DataSourceName != "staff" {
			t.Fatalf("bob's report: %+v", reports)
		}
		var set []struct {
			Type  string `json:"type"`
			Rules []struct {
				Type               string `json:"type"`
				RuleAppliedForUser bool   `json:"ruleAppliedForUser"`
			} `json:"rules"`
			Global map[string]any `json:"global"`
		}
		if err := json.Unmarshal([]byte(reports[0].PolicySet), &set); err != nil || len(set) != 2 {
			t.Fatalf("policySet: %v %s", err, reports[0].PolicySet)
		}
		applied := []string{}
		for _, r := range set[0].Rules {
			applied = append(applied, fmt.Sprint(r.RuleAppliedForUser))
		}
		if set[0].Global["policyKey"] != "staff rules" || strings.Join(applied, ",") != "true,true,true,true,true" {
			t.Fatalf("bob's rules: %+v", set[0])
		}
		var mine struct {
			DenialReason *string `json:"denialReason"`
			Masked       []any   `json:"masked"`
		}
		env.Must(t, 200, aliceKey, "GET", fmt.Sprintf("/dataSource/%d/visibilityReport", ds), nil).JSON(t, &mine)
		if mine.DenialReason != nil || len(mine.Masked) != 1 {
			t.Fatalf("alice's own report: %+v", mine)
		}
		env.Must(t, 200, aliceKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/visibilityReport", ds, aliceID), nil).JSON(t, &reports)
		if err := json.Unmarshal([]byte(reports[0].PolicySet), &set); err != nil {
			t.Fatal(err)
		}
		applied = applied[:0]
		for _, r := range set[0].Rules {
			applied = append(applied, fmt.Sprint(r.RuleAppliedForUser))
		}
		if strings.Join(applied, ",") != "false,true,true,false,true" {
			t.Fatalf("alice's rules applied: %v", applied)
		}
		// Without the subscription policy nobody is subscribed: the caller's
		// report says why.
		f.call(200, "DELETE", "/api/v2/policy/read%20all", nil, nil)
		env.Must(t, 200, aliceKey, "GET", fmt.Sprintf("/dataSource/%d/visibilityReport", ds), nil).JSON(t, &mine)
		if mine.DenialReason == nil || !strings.Contains(*mine.DenialReason, "no subscription policy") {
			t.Fatalf("denial reason: %+v", mine.DenialReason)
		}

		// unmaskUsers: those with access who see the column as it is.
		f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": aliceID, "state": "subscribed"}, nil)
		f.call(200, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": bobID, "state": "subscribed"}, nil)
		var users []struct {
			Name      string `json:"name"`
			ProfileID int64  `json:"profileId"`
			IAMID     string `json:"iamid"`
		}
		env.Must(t, 200, auditorKey, "GET", fmt.Sprintf("/dataSource/%d/ssn/unmaskUsers", ds), nil).JSON(t, &users)
		if len(users) != 1 || users[0].ProfileID != aliceID || users[0].IAMID != "bim" {
			t.Fatalf("unmaskUsers of ssn: %+v", users)
		}
		env.Must(t, 200, auditorKey, "GET", fmt.Sprintf("/dataSource/%d/salary/unmaskUsers", ds), nil).JSON(t, &users)
		if len(users) != 0 {
			t.Fatalf("unmaskUsers of salary: %+v", users)
		}
		env.Must(t, 403, bobKey, "GET", fmt.Sprintf("/dataSource/%d/ssn/unmaskUsers", ds), nil)
		f.call(404, "GET", fmt.Sprintf("/dataSource/%d/nope/unmaskUsers", ds), nil, nil)

		// The effective plan names the policy behind each part.
		var plan struct {
			Grant   *string `json:"grant"`
			CanRead bool    `json:"canRead"`
			Columns []struct {
				Column string `json:"column"`
				Policy struct {
					PolicyKey string `json:"policyKey"`
					Action    *int   `json:"action"`
					Rule      *int   `json:"rule"`
				} `json:"policy"`
			} `json:"columns"`
			Rows []struct {
				Kind   string `json:"kind"`
				Effect string `json:"effect"`
			} `json:"rows"`
		}
		env.Must(t, 200, bobKey, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, bobID), nil).JSON(t, &plan)
		if plan.Grant == nil || *plan.Grant != "READ" || !plan.CanRead || len(plan.Columns) != 2 ||
			plan.Columns[1].Policy.PolicyKey != "staff rules" || *plan.Columns[1].Policy.Rule != 1 || len(plan.Rows) != 3 ||
			plan.Rows[1].Effect != `"dept" IN ('Ops', 'Sales')` {
			t.Fatalf("bob's effective plan: %+v", plan)
		}
	})
}
