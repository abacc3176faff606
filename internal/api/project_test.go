package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/server/servertest"
)

const purposeHierarchy = `name: Purpose Hierarchy
acknowledgement: The root acknowledgement
subpurposes:
  - name: Purpose Hierarchy.Child 1
    acknowledgement: Override the root acknowledgement
  - name: Purpose Hierarchy.Child 2
  - name: Purpose Hierarchy.Child 1.Grandchild 1
  - name: Purpose Hierarchy.Child 1.Grandchild 2
  - name: Purpose Hierarchy.Child 2.Grandchild 1
  - name: Purpose Hierarchy.Child 2.Grandchild 2
`

const usePurposes = `name: Use Purposes
acknowledgement: You promise to be good
description: For use with projects to do policy adjustments
kAnonNoiseReduction: Medium
`

const anyoneProject = `name: Anyone Project
projectKey: Anyone project
documentation: "# Anyone Can See This"
description: "Anyone can join this project"
allowMaskedJoins: false
subscriptionPolicy:
    type: anyone
    automaticSubscription: true
    description: "Auto-subscribe everyone"
tags:
  - Discovered.Person Name
purposes:
  - Use Purposes
  - Purpose Hierarchy.Child 2.Grandchild 2
`

const approvalProject = `name: Approval Project
projectKey: Approval project
description: "Need approval to join this project"
allowMaskedJoins: true
subscriptionPolicy:
    type: approval
    approvals:
      - requiredPermission: GOVERNANCE
        specificApproverRequired: true
      - requiredPermission: ADMIN
        specificApproverRequired: false
`

const entitlementProject = `name: Entitlement Project
projectKey: entitlement project
description: "Need specific entitlements to join this project"
subscriptionPolicy:
    type: entitlements
    automaticSubscription: false
    allowDiscovery: true
    entitlements:
      operator: any
      groups:
        - Engineers
        - Founders
      attributes:
        - name: Auth1
          value: super secret
`

// TestProjectExamples saves every documented V2 project example and reads
// it back; the workspace examples are refused and change nothing.
func TestProjectExamples(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		w.group("Engineers")
		w.group("Founders")
		w.purpose(usePurposes)
		w.purpose(purposeHierarchy)

		var saved map[string]any
		w.admin(200, "POST", "/api/v2/project", "name: A Bare Bones Project\nprojectKey: simplest possible project\n", &saved)
		if saved["creating"] != true || saved["updating"] != false || saved["projectId"] == nil ||
			saved["numberOfDataSourcesAdded"] != 0.0 || saved["creatingWorkspace"] != false {
			t.Fatalf("basic project: %v", saved)
		}
		anyone := w.saveV2(anyoneProject)
		approval := w.saveV2(approvalProject)
		entitlement := w.saveV2(entitlementProject)

		// Read back as V2 documents: what was posted.
		var doc map[string]any
		w.admin(200, "GET", "/api/v2/project/Anyone%20project", nil, &doc)
		if doc["name"] != "Anyone Project" || doc["documentation"] != "# Anyone Can See This" ||
			jsonString(doc["purposes"]) != `["Purpose Hierarchy.Child 2.Grandchild 2","Use Purposes"]` ||
			jsonString(doc["tags"]) != `["Discovered.Person Name"]` ||
			jsonString(doc["subscriptionPolicy"]) != `{"allowDiscovery":false,"automaticSubscription":true,"description":"Auto-subscribe everyone","type":"anyone"}` {
			t.Fatalf("anyone project document: %v", jsonString(doc))
		}
		w.admin(200, "GET", "/api/v2/project/entitlement%20project", nil, &doc)
		if jsonString(doc["subscriptionPolicy"]) != `{"allowDiscovery":true,"automaticSubscription":false,"entitlements":{"attributes":[{"name":"Auth1","value":"super secret"}],"groups":["Engineers","Founders"],"operator":"any"},"type":"entitlements"}` {
			t.Fatalf("entitlement project document: %v", jsonString(doc))
		}
		// V1 objects.
		p := w.project(admin, approval)
		if p.SubscriptionType != "approval" || p.SubscriptionStatus != "owner" || p.Status != "open" || p.ProjectKey != "Approval project" {
			t.Fatalf("approval project: %+v", p)
		}
		if p := w.project(admin, entitlement); p.SubscriptionType != "policy" {
			t.Fatalf("entitlement project: %+v", p)
		}
		if p := w.project(admin, anyone); p.SubscriptionType != "automatic" || len(p.Purposes) != 2 || len(p.Tags) != 1 {
			t.Fatalf("anyone project: %+v", p)
		}

		// Saving the same document again updates and changes nothing.
		w.admin(200, "POST", "/api/v2/project", anyoneProject, &saved)
		if saved["creating"] != false || saved["updating"] != true || saved["projectId"] != float64(anyone) {
			t.Fatalf("second save: %v", saved)
		}
		// A dry run that would create reports without an id and creates nothing.
		before := w.count("projects")
		w.admin(200, "POST", "/api/v2/project?dryRun=true&deleteDataSourcesOnWorkspaceDelete=true",
			"name: Dry\nprojectKey: dry\npurposes: [Use Purposes]\n", &saved)
		if saved["dryRun"] != true || saved["creating"] != true || saved["projectId"] != nil || w.count("projects") != before {
			t.Fatalf("dry run: %v (%d projects)", saved, w.count("projects"))
		}

		// Workspaces, missing purposes, groups and data sources: 422 naming the field, nothing saved.
		for _, c := range []struct{ doc, field string }{
			{"name: Databricks Spark Project\nprojectKey: databricks spark project\npurposes: [Use Purposes]\n" +
				"workspace: {type: databricks, config: {database: native, directory: native, workspaceConfigurationName: S3}}\n", "workspace"},
			{"name: Snowflake Project\nprojectKey: snowflake project\n" +
				"workspace: {type: snowflake, config: {schema: SNOWFLAKE_NATIVE, warehouses: [DEMO_WH]}}\n", "workspace"},
			{"name: X\nprojectKey: x\npurposes: [Use Purposes, No Such Purpose]\n", "purposes[1]"},
			{"name: X\nprojectKey: x\ndatasources: [Crime Data]\n", "datasources[0]"},
			{"name: X\nprojectKey: x\nsubscriptionPolicy: {type: entitlements, entitlements: {groups: [Nobody]}}\n", "subscriptionPolicy.entitlements.groups[0]"},
			{"name: X\nprojectKey: x\nsubscriptionPolicy: {type: approval}\n", "subscriptionPolicy.approvals"},
			{"name: X\nprojectKey: x\nsubscriptionPolicy: {type: sometimes}\n", "subscriptionPolicy.type"},
			{"name: X\nprojectKey: x\nsubscriptionPolicy: {type: approval, approvals: [{requiredPermission: BOSS}]}\n", "subscriptionPolicy.approvals[0].requiredPermission"},
			{"projectKey: x\n", "name"},
		} {
			r := w.admin(422, "POST", "/api/v2/project", c.doc, nil)
			if got := fields(t, r); !slices.Contains(got, c.field) {
				t.Fatalf("%s: fields %v, want %s: %s", c.doc, got, c.field, r.Body)
			}
		}
		if n := w.count("projects"); n != before {
			t.Fatalf("refused saves created projects: %d, want %d", n, before)
		}
		// A refused update leaves the project as it was.
		w.admin(422, "POST", "/api/v2/project", strings.Replace(anyoneProject, "  - Use Purposes", "  - Missing Purpose", 1), nil)
		if p := w.project(admin, anyone); len(p.Purposes) != 2 {
			t.Fatalf("refused update changed purposes: %+v", p)
		}
		// Creating needs CREATE_PROJECT.
		_, key := env.NewUser(t, "plain@example.com")
		w.do(key, 403, "POST", "/api/v2/project", "name: Mine\nprojectKey: mine\n", nil)
		w.do(key, 403, "POST", "/project", map[string]any{"name": "Mine"}, nil)
		// Non-managers cannot change a project.
		w.do(key, 403, "PUT", fmt.Sprintf("/project/%d", anyone), map[string]any{"name": "Taken"}, nil)
	})
}

// TestProjectV1Lifecycle creates, searches, updates, disables and deletes a
// project through the V1 API, and renames and deletes by key through V2.
func TestProjectV1Lifecycle(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		w.purpose(usePurposes)
		var created map[string]any
		w.admin(200, "POST", "/project", map[string]any{"id": 4, "name": "API Project", "status": "open",
			"description": "project created with api", "deleted": false, "allowMaskedJoins": false,
			"createdAt": "2021-09-10", "updatedAt": "2021-09-10"}, &created)
		if created["projectKey"] != "api project" || created["documentation"] != "# API Project" ||
			created["subscriptionType"] != "manual" || created["subscriptionPolicy"] != nil || created["equalization"] != nil ||
			jsonString(created["workspaceWarnings"]) != "[]" || jsonString(created["purposes"]) != "[]" {
			t.Fatalf("created: %v", jsonString(created))
		}
		id := int64(created["id"].(float64))
		w.admin(200, "POST", "/project", map[string]any{"name": "Second", "status": "closed", "purposes": []any{"Use Purposes"},
			"tags": []any{map[string]any{"name": "Finance"}}, "subscriptionType": "automatic"}, nil)
		// Search: filters and modes.
		var page struct {
			Hits   []projectV1    `json:"hits"`
			Count  int            `json:"count"`
			Facets map[string]any `json:"facets"`
		}
		w.admin(200, "GET", "/project", nil, &page)
		if page.Count != 2 || page.Hits[0].Name != "API Project" || page.Hits[1].Name != "Second" {
			t.Fatalf("search: %+v", page)
		}
		for q, want := range map[string][]string{
			"status=closed": {"Second"}, "subscription=automatic": {"Second"}, "subscription=manual": {"API Project"},
			"subscription=owner": {"API Project", "Second"}, "subscription=not_subscribed": nil, "searchText=created%20with": {"API Project"},
			"searchText=created%20with&nameOnly=true": nil, "tag=Finance": {"Second"}, "isEqualized=false": {"API Project", "Second"},
			"snowflake=true": nil, "sortField=name&sortOrder=desc": {"Second", "API Project"}, "size=1&offset=1": {"Second"},
		} {
			w.admin(200, "GET", "/project?"+q, nil, &page)
			var names []string
			for _, h := range page.Hits {
				names = append(names, h.Name)
			}
			if !slices.Equal(names, want) {
				t.Fatalf("%s: %v, want %v", q, names, want)
			}
		}
		var agg map[string]any
		w.admin(200, "GET", "/project?mode=1", nil, &agg)
		if agg["count"] != 2.0 || agg["hits"] != nil {
			t.Fatalf("mode COUNT: %v", agg)
		}
		w.admin(200, "GET", "/project?mode=4", nil, &agg)
		if jsonString(agg["facets"]) != `{"tags":{"Finance":1}}` {
			t.Fatalf("mode TAG: %v", agg)
		}
		w.admin(200, "GET", "/project?mode=6", nil, &agg)
		if jsonString(agg["facets"]) != `{"status":{"closed":1,"open":1}}` {
			t.Fatalf("mode STATUS: %v", agg)
		}
		w.admin(200, "GET", "/project?mode=5", nil, &agg)
		if f := agg["facets"].(map[string]any); f["min"] == nil || f["max"] == nil {
			t.Fatalf("mode MIN_MAX: %v", agg)
		}
		w.admin(400, "GET", "/project?mode=3", nil, nil)
		w.admin(400, "GET", "/project?subscription=sometimes", nil, nil)

		// Projects take tags, and project-scoped API keys need a project.
		w.admin(200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Audited"}}}, nil)
		w.admin(200, "POST", fmt.Sprintf("/tag/project/%d", id), []any{map[string]any{"name": "Audited"}}, nil)
		if p := w.project(admin, id); len(p.Tags) != 1 || p.Tags[0].Name != "Audited" {
			t.Fatalf("project tags: %+v", p.Tags)
		}
		_, plainKey := env.NewUser(t, "plain@example.com")
		w.do(plainKey, 403, "POST", fmt.Sprintf("/tag/project/%d", id), []any{map[string]any{"name": "Audited"}}, nil)
		w.admin(422, "POST", "/bim/apikey", map[string]any{"projectId": 999}, nil)
		w.admin(200, "POST", "/bim/apikey", map[string]any{"projectId": id}, nil)

		// Update: the name changes, the key stays.
		var upd map[string]any
		w.admin(200, "PUT", fmt.Sprintf("/project/%d", id), map[string]any{"name": "Documentation Project", "deleted": false}, &upd)
		if upd["name"] != "Documentation Project" || upd["projectKey"] != "api project" {
			t.Fatalf("update: %v", upd)
		}
		w.admin(400, "PUT", fmt.Sprintf("/project/%d?deleteDataSources=true", id), map[string]any{"name": "x"}, nil)
		w.admin(422, "PUT", fmt.Sprintf("/project/%d", id), map[string]any{"purposes": []any{999}}, nil)
		w.admin(422, "PUT", fmt.Sprintf("/project/%d", id), map[string]any{"status": "half-open"}, nil)
		w.admin(404, "PUT", "/project/9999", map[string]any{"name": "x"}, nil)
		// Disable, then delete.
		var del map[string]any
		w.admin(200, "DELETE", fmt.Sprintf("/project/%d", id), nil, &del)
		if del["hardDelete"] != false || !w.project(admin, id).Deleted {
			t.Fatalf("first delete: %v", del)
		}
		w.admin(200, "GET", "/project", nil, &page)
		if page.Count != 1 {
			t.Fatalf("disabled projects are left out of searches: %+v", page)
		}
		w.admin(409, "POST", fmt.Sprintf("/project/%d/members", id), map[string]any{"profileId": 1}, nil)
		w.admin(200, "DELETE", fmt.Sprintf("/project/%d", id), nil, &del)
		if del["hardDelete"] != true {
			t.Fatalf("second delete: %v", del)
		}
		w.admin(404, "GET", fmt.Sprintf("/project/%d", id), nil, nil)

		// V2: list, rename, disable (still listed), delete for good.
		w.saveV2("name: Demo Project\nprojectKey: demo project\n")
		var renamed map[string]any
		w.admin(200, "POST", "/api/v2/project/demo%20project/rename", map[string]any{"newProjectKey": "Data Analytics Team"}, &renamed)
		if jsonString(renamed) != `{"newProjectKey":"Data Analytics Team","oldProjectKey":"demo project"}` {
			t.Fatalf("rename: %v", renamed)
		}
		w.admin(422, "POST", "/api/v2/project/Data%20Analytics%20Team/rename", map[string]any{"newProjectKey": "second"}, nil)
		w.admin(404, "POST", "/api/v2/project/demo%20project/rename", map[string]any{"newProjectKey": "y"}, nil)
		w.admin(200, "DELETE", "/api/v2/project/Data%20Analytics%20Team?dryRun=true", nil, nil)
		var list []map[string]any
		w.admin(200, "GET", "/api/v2/project", nil, &list)
		if len(list) != 2 || list[0]["disabled"] != nil {
			t.Fatalf("after a dry run: %v", list)
		}
		w.admin(200, "DELETE", "/api/v2/project/Data%20Analytics%20Team", nil, nil)
		w.admin(200, "GET", "/api/v2/project", nil, &list)
		if len(list) != 2 || list[0]["projectKey"] != "Data Analytics Team" || list[0]["disabled"] != true {
			t.Fatalf("disabled stays listed: %v", list)
		}
		w.admin(200, "DELETE", "/api/v2/project/Data%20Analytics%20Team?hardDelete=true", nil, nil)
		w.admin(200, "GET", "/api/v2/project", nil, &list)
		if len(list) != 1 || list[0]["projectKey"] != "second" {
			t.Fatalf("after hard delete: %v", list)
		}
		w.admin(404, "DELETE", "/api/v2/project/Data%20Analytics%20Team", nil, nil)
	})
}

const maskSSN = `policyKey: mask ssn
name: Mask SSN
type: data
actions:
- rules:
  - type: Masking
    exceptions:
      purposes:
      - Use Purposes
    config:
      fields:
      - type: columnTags
        columnTag: PII.SSN
      maskingConfig:
        type: Hash
circumstances:
- type: columnTags
  columnTag: PII.SSN
`

const restrictOrders = `policyKey: child two only
name: Child Two Only
type: data
actions:
- rules:
  - type: Purpose Restriction
    config:
      purposes:
      - Purpose Hierarchy.Child 2
circumstances:
- type: columnTags
  columnTag: Restricted
`

// TestActingUnderProjectPurposes follows a user who joins a project,
// acknowledges its purposes and acts under it: the purpose exception of a
// masking policy and a Purpose Restriction (through the purpose hierarchy)
// see those purposes in the decision API and in the entitlements
// enforcement reads, until the user clears their project, must acknowledge
// again, or leaves.
func TestActingUnderProjectPurposes(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		w.purpose(usePurposes)
		w.purpose(purposeHierarchy)
		ds := w.sources("acme", "CUSTOMER", "ORDERS")
		customer, orders := ds["Customer"], ds["Orders"]
		w.tagColumn(customer, "SSN", "PII.SSN")
		w.tagColumn(orders, "REGION", "Restricted")
		w.policy(maskSSN)
		w.policy(restrictOrders)
		ana, anaKey := env.NewUser(t, "ana@example.com")
		w.grant(customer, ana)
		w.grant(orders, ana)
		entitled := func() []string {
			t.Helper()
			users, err := env.App.Governance.Entitlements(t.Context(), []int64{ana})
			if err != nil {
				t.Fatal(err)
			}
			return users[ana].Purposes
		}
		acting := func(wantPurposes []string) {
			t.Helper()
			c, o := w.decision(customer, ana), w.decision(orders, ana)
			unmasked := slices.Contains(wantPurposes, "Use Purposes")
			shown := slices.Contains(wantPurposes, "Purpose Hierarchy.Child 2.Grandchild 2")
			if c.masked("SSN") == unmasked || o.NoRows == shown || c.Grant == nil || *c.Grant != "READ" {
				t.Fatalf("acting under %v: SSN masked %v, orders hidden %v (%+v)", wantPurposes, c.masked("SSN"), o.NoRows, c)
			}
			if !slices.Equal(c.Entitlements.Purposes, wantPurposes) {
				t.Fatalf("decision purposes %v, want %v", c.Entitlements.Purposes, wantPurposes)
			}
			if got := entitled(); !slices.Equal(got, wantPurposes) {
				t.Fatalf("enforced purposes %v, want %v", got, wantPurposes)
			}
		}
		acting(nil)

		pid := w.saveV2("name: Research\nprojectKey: research\nsubscriptionPolicy: {type: anyone}\n" +
			"purposes: [Use Purposes, Purpose Hierarchy.Child 2.Grandchild 2]\n")
		path := fmt.Sprintf("/project/%d", pid)
		uid := fmt.Sprint(ana)
		// Purposes know the projects using them.
		var found struct {
			Purposes []struct {
				ID           int64 `json:"id"`
				ProjectCount *int  `json:"projectCount"`
			} `json:"purposes"`
		}
		w.admin(200, "GET", "/governance/purpose?searchText=Use%20Purposes&getAffectedCount=true", nil, &found)
		if len(found.Purposes) != 1 || found.Purposes[0].ProjectCount == nil || *found.Purposes[0].ProjectCount != 1 {
			t.Fatalf("purpose search with counts: %+v", found)
		}
		var one struct {
			ProjectCount int     `json:"projectCount"`
			Projects     []int64 `json:"projects"`
		}
		w.admin(200, "GET", fmt.Sprintf("/governance/purpose/%d", found.Purposes[0].ID), nil, &one)
		if one.ProjectCount != 1 || len(one.Projects) != 1 || one.Projects[0] != pid {
			t.Fatalf("purpose with its projects: %+v", one)
		}
		// Not a member: refused, nothing changes.
		r := w.do(anaKey, 403, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
		if !strings.Contains(string(r.Body), "not a member") || w.currentProject(anaKey) != nil ||
			w.changes("currentProject", "user", uid) != 0 {
			t.Fatalf("current project of a non-member: %s", r.Body)
		}
		// A member that does not exist: 422, nothing added.
		members := w.count("project_members")
		w.admin(422, "POST", path+"/members", map[string]any{"profileId": 9999}, nil)
		w.admin(422, "POST", path+"/members", map[string]any{"groupId": 9999}, nil)
		if w.count("project_members") != members {
			t.Fatal("a refused member was added")
		}
		// Joining: a member, who must acknowledge before acting.
		sid, state := w.joinProject(anaKey, pid, ana, nil)
		if state != "subscribed" {
			t.Fatalf("join an anyone project: %s", state)
		}
		if again, _ := w.joinProject(anaKey, pid, ana, nil); again != sid {
			t.Fatalf("joining again: %d, want %d", again, sid)
		}
		if p := w.project(anaKey, pid); p.SubscriptionStatus != "subscribed" || !p.AcknowledgeRequired || *p.SubscriptionID != sid {
			t.Fatalf("member view: %+v", p)
		}
		r = w.do(anaKey, 409, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
		if !strings.Contains(string(r.Body), "acknowledge") || w.currentProject(anaKey) != nil {
			t.Fatalf("acting without acknowledging: %s", r.Body)
		}
		acting(nil)
		// Only the member acknowledges for themself.
		w.admin(403, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), map[string]any{}, nil)
		var ack struct {
			AcknowledgeRequired bool `json:"acknowledgeRequired"`
			Purposes            []struct {
				Name            string `json:"name"`
				Acknowledgement string `json:"acknowledgement"`
			} `json:"purposes"`
		}
		w.do(anaKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), map[string]any{}, &ack)
		if ack.AcknowledgeRequired || len(ack.Purposes) != 2 || ack.Purposes[0].Acknowledgement != "The root acknowledgement" ||
			ack.Purposes[1].Acknowledgement != "You promise to be good" {
			t.Fatalf("acknowledge: %+v", ack)
		}
		var cur map[string]any
		w.do(anaKey, 200, "POST", "/project/current/"+fmt.Sprint(pid), nil, &cur)
		if cur["projectId"] != float64(pid) || *w.currentProject(anaKey) != pid || w.changes("currentProject", "user", uid) != 1 {
			t.Fatalf("set current: %v", cur)
		}
		both := []string{"Purpose Hierarchy.Child 2.Grandchild 2", "Use Purposes"}
		acting(both)
		// As if under another project whose purpose the restriction does not admit.
		other := w.saveV2("name: Other\nprojectKey: other\npurposes: [Purpose Hierarchy.Child 1]\n")
		if d := w.decision(orders, ana, fmt.Sprintf("projectId=%d", other)); !d.NoRows ||
			!slices.Equal(d.Entitlements.Purposes, []string{"Purpose Hierarchy.Child 1"}) {
			t.Fatalf("as if under the other project: %+v", d)
		}
		w.admin(404, "GET", fmt.Sprintf("/dataSource/%d/users/%d/decision?projectId=999", customer, ana), nil, nil)

		// A new statement that must be acknowledged again ends acting under the purposes.
		w.admin(200, "POST", "/api/v2/purpose?reAcknowledgeRequired=true", "name: Use Purposes\nacknowledgement: A new promise\n", nil)
		acting(nil)
		if w.changes("projectPurposes", "user", uid) == 0 || !w.project(anaKey, pid).AcknowledgeRequired {
			t.Fatal("an invalidated acknowledgement is not announced")
		}
		w.do(anaKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		acting(both)
		// A statement changed without requiring it keeps the acknowledgement.
		w.admin(200, "POST", "/api/v2/purpose", "name: Use Purposes\nacknowledgement: A newer promise\n", nil)
		acting(both)
		// Editing the project's purposes changes what members act under.
		w.saveV2("name: Research\nprojectKey: research\nsubscriptionPolicy: {type: anyone}\npurposes: [Use Purposes]\n")
		acting([]string{"Use Purposes"})
		w.saveV2("name: Research\nprojectKey: research\nsubscriptionPolicy: {type: anyone}\n" +
			"purposes: [Use Purposes, Purpose Hierarchy.Child 2.Grandchild 2]\n")
		// The new purpose needs acknowledging.
		acting(nil)
		w.do(anaKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		acting(both)

		// Clearing the current project.
		w.do(anaKey, 200, "POST", "/project/current/null", nil, &cur)
		if cur["projectId"] != nil || w.currentProject(anaKey) != nil {
			t.Fatalf("clear current: %v", cur)
		}
		acting(nil)
		// Leaving the project.
		w.do(anaKey, 200, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
		acting(both)
		w.do(anaKey, 204, "DELETE", path+"/unsubscribe", nil, nil)
		acting(nil)
		if w.currentProject(anaKey) != nil {
			t.Fatal("leaving a project keeps it current")
		}
		w.do(anaKey, 404, "DELETE", path+"/unsubscribe", nil, nil)
		// Removed by an owner, and disabled projects: nobody acts under them.
		sid, _ = w.joinProject(anaKey, pid, ana, nil)
		w.do(anaKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		w.do(anaKey, 200, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
		acting(both)
		w.admin(200, "PUT", fmt.Sprintf("%s/members/%d", path, sid), map[string]any{"state": "not_subscribed"}, nil)
		acting(nil)
		sid, _ = w.joinProject(anaKey, pid, ana, nil)
		w.do(anaKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		w.do(anaKey, 200, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
		acting(both)
		w.admin(200, "DELETE", path, nil, nil)
		acting(nil)
		w.do(anaKey, 409, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
	})
}

// TestActingAcrossServers sets a current project through one server and
// reads decisions from another sharing the store: the change log carries
// what the user acts under.
func TestActingAcrossServers(t *testing.T) {
	a := servertest.New(t, servertest.Postgres)
	b := servertest.New(t, servertest.Postgres, func(c *server.Config) {
		c.Store, c.DataDir = a.App.Config.Store, a.App.Config.DataDir // one store, one secret key
	})
	wa, wb := newPWorld(t, a), newPWorld(t, b)
	wa.purpose(usePurposes)
	customer := wa.sources("two", "CUSTOMER")["Customer"]
	wa.tagColumn(customer, "SSN", "PII.SSN")
	wa.policy(maskSSN)
	ana, anaKey := a.NewUser(t, "ana@example.com")
	wa.grant(customer, ana)
	pid := wa.saveV2("name: Shared\nprojectKey: shared\nsubscriptionPolicy: {type: anyone}\npurposes: [Use Purposes]\n")
	sid, _ := wa.joinProject(anaKey, pid, ana, nil)
	wa.do(anaKey, 200, "POST", fmt.Sprintf("/project/%d/members/%d/acknowledge", pid, sid), nil, nil)
	if !wb.decision(customer, ana).masked("SSN") {
		t.Fatal("masked before acting")
	}
	wa.do(anaKey, 200, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)
	if d := wb.decision(customer, ana); d.masked("SSN") || d.ActingUnder == nil || d.ActingUnder.ProjectID != pid {
		t.Fatalf("the other server does not see the current project: %+v", d)
	}
	wb.do(anaKey, 200, "POST", "/project/current/null", nil, nil)
	if !wa.decision(customer, ana).masked("SSN") {
		t.Fatal("the first server does not see the project cleared")
	}
	users, err := a.App.Governance.Entitlements(t.Context(), []int64{ana})
	if err != nil || len(users[ana].Purposes) != 0 {
		t.Fatalf("enforced purposes on the first server: %+v %v", users[ana], err)
	}
}
