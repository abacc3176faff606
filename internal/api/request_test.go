package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

const approveFinance = `policyKey: approve finance
name: Approve Finance
type: subscription
actions:
  type: approval
  approvals:
  - requiredPermission: GOVERNANCE
    specificApproverRequired: false
  - requiredPermission: OWNER
    specificApproverRequired: false
circumstances:
- type: columnTags
  columnTag: Finance
`

type subscribeJSON struct {
	InError []struct {
		ID           int64  `json:"id"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"inError"`
	Success []struct {
		ID        int64  `json:"id"`
		ModelID   string `json:"modelId"`
		ModelType string `json:"modelType"`
		State     string `json:"state"`
		Approved  bool   `json:"approved"`
		Profile   *int64 `json:"profile"`
		Approvals []struct {
			RequiredPermission string `json:"requiredPermission"`
			State              string `json:"state"`
			ApproverID         *int64 `json:"approverId"`
		} `json:"approvals"`
	} `json:"success"`
}

type failuresJSON struct {
	Failures []struct {
		ID           int64  `json:"id"`
		ErrorMessage string `json:"errorMessage"`
		Model        *struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"model"`
		Entity *struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
		} `json:"entity"`
	} `json:"failures"`
}

type pendingJSON struct {
	Count int `json:"count"`
	Hits  []struct {
		ID    *int64 `json:"id"`
		Count *int   `json:"count"`
		Model *struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"model"`
		Entity struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"entity"`
		Approvals []struct {
			RequiredPermission string `json:"requiredPermission"`
			State              string `json:"state"`
		} `json:"approvals"`
	} `json:"hits"`
}

// state reads the state of a user's subscription to a data source.
func (w *pworld) state(ds, user int64) string {
	w.t.Helper()
	var list struct {
		Users []struct {
			Profile *int64 `json:"profile"`
			State   string `json:"state"`
		} `json:"users"`
	}
	w.admin(200, "GET", fmt.Sprintf("/dataSource/%d/access", ds), nil, &list)
	for _, u := range list.Users {
		if u.Profile != nil && *u.Profile == user {
			return u.State
		}
	}
	return ""
}

// TestAccessRequests runs requests from asking to access: approvals checked
// against the permissions the policy names, every approval before access,
// denial with a reason, bulk decisions, and the activity feed of requester
// and approvers.
func TestAccessRequests(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		ds := w.sources("fin", "LEDGER", "VAULT", "TILL")
		ledger, vault, till := ds["Ledger"], ds["Vault"], ds["Till"]
		for _, id := range []int64{ledger, vault, till} {
			w.tagColumn(id, "ID", "Finance")
		}
		w.policy(approveFinance)
		ria, riaKey := env.NewUser(t, "ria@example.com")
		gus, gusKey := env.NewUser(t, "gus@example.com", "GOVERNANCE")
		olga, olgaKey := env.NewUser(t, "olga@example.com")
		_, ozzyKey := env.NewUser(t, "ozzy@example.com")
		for _, id := range []int64{ledger, vault, till} {
			w.admin(200, "POST", fmt.Sprintf("/dataSource/%d/access", id), map[string]any{"profileId": olga, "state": "owner"}, nil)
		}

		// Asking: a pending request with the two approvals the policy names.
		var sub subscribeJSON
		w.do(riaKey, 200, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", ledger), map[string]any{"metadata": map[string]any{"why": "audit"}}, &sub)
		if len(sub.Success) != 1 || sub.Success[0].State != "pending" || sub.Success[0].Approved || len(sub.Success[0].Approvals) != 2 ||
			sub.Success[0].ModelType != "datasource" || sub.Success[0].ModelID != fmt.Sprint(ledger) || *sub.Success[0].Profile != ria {
			t.Fatalf("subscribe: %+v", sub)
		}
		sid := sub.Success[0].ID
		w.do(riaKey, 200, "POST", "/dataSource/subscribe", map[string]any{"dataSourceIds": []int64{ledger}}, &sub)
		if len(sub.Success) != 1 || sub.Success[0].ID != sid || sub.Success[0].State != "pending" {
			t.Fatalf("asking again: %+v", sub)
		}
		if d := w.decision(ledger, ria); d.Grant != nil || d.Read.Status != "approval" {
			t.Fatalf("pending request grants: %+v", d)
		}
		// Requester and approvers hear of it; others do not.
		for _, key := range []string{riaKey, gusKey, olgaKey, admin} {
			if f := w.feed(key, url.Values{"notificationType": {"modelAccessRequested"}}); f.Count != 1 ||
				f.Activities[0].ModelID != fmt.Sprint(ledger) || f.Activities[0].Read {
				t.Fatalf("feed of an approver or the requester: %+v", f)
			}
		}
		if f := w.feed(ozzyKey, nil); f.Count != 0 {
			t.Fatalf("a stranger's feed: %+v", f)
		}
		var pending pendingJSON
		w.do(gusKey, 200, "GET", "/subscription/getPendingRequestsForUser", nil, &pending)
		if pending.Count != 1 || *pending.Hits[0].ID != sid || pending.Hits[0].Model.ID != ledger || pending.Hits[0].Entity.ID != ria ||
			pending.Hits[0].Entity.Type != "profile" {
			t.Fatalf("pending for the governor: %+v", pending)
		}
		w.do(ozzyKey, 200, "GET", "/subscription/getPendingRequestsForUser", nil, &pending)
		if pending.Count != 0 {
			t.Fatalf("pending for a stranger: %+v", pending)
		}
		var info struct {
			Records []struct {
				SubscriptionID     int64  `json:"subscriptionId"`
				RequiredPermission string `json:"requiredPermission"`
				State              string `json:"state"`
			} `json:"records"`
		}
		w.do(riaKey, 200, "GET", fmt.Sprintf("/subscription/requestInfo/datasource/%d", ledger), nil, &info)
		if len(info.Records) != 2 || info.Records[0].RequiredPermission != "GOVERNANCE" || info.Records[1].RequiredPermission != "OWNER" ||
			info.Records[0].State != "pending" || info.Records[0].SubscriptionID != sid {
			t.Fatalf("request info: %+v", info)
		}
		w.do(ozzyKey, 403, "GET", fmt.Sprintf("/subscription/requestInfo/datasource/%d?profileId=%d", ledger, ria), nil, nil)

		// Without a named permission, and one's own request: refused, nothing changes.
		approve := map[string]any{"requests": []any{map[string]any{"id": sid}}}
		var fails failuresJSON
		w.do(ozzyKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 1 || !strings.Contains(fails.Failures[0].ErrorMessage, "GOVERNANCE, an owner of the datasource") ||
			fails.Failures[0].Model.ID != ledger || fails.Failures[0].Entity.ID != ria {
			t.Fatalf("approval without the permission: %+v", fails)
		}
		w.do(riaKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 1 || !strings.Contains(fails.Failures[0].ErrorMessage, "your own request") {
			t.Fatalf("approving one's own request: %+v", fails)
		}
		w.do(ozzyKey, 200, "POST", "/subscription/deny", map[string]any{"requests": []any{map[string]any{"id": sid, "denialReasoning": "no"}}}, &fails)
		if len(fails.Failures) != 1 || w.state(ledger, ria) != "pending" {
			t.Fatalf("denial without the permission: %+v", fails)
		}
		// Approvals add up: the governor's, then the owner's.
		w.do(gusKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 0 || w.state(ledger, ria) != "pending" || w.decision(ledger, ria).Grant != nil {
			t.Fatalf("after one of two approvals: %+v %s", fails, w.state(ledger, ria))
		}
		w.do(gusKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 1 {
			t.Fatal("one person gave two approvals")
		}
		w.do(olgaKey, 200, "POST", "/subscription/approve", map[string]any{"requests": []any{map[string]any{"id": sid, "expiration": "2999-01-01"}}}, &fails)
		if len(fails.Failures) != 0 || w.state(ledger, ria) != "subscribed" {
			t.Fatalf("after every approval: %+v %s", fails, w.state(ledger, ria))
		}
		if d := w.decision(ledger, ria); d.Grant == nil || *d.Grant != "READ" {
			t.Fatalf("approved access: %+v", d)
		}
		if f := w.feed(riaKey, url.Values{"notificationType": {"modelAccessApproved"}}); f.Count != 1 {
			t.Fatalf("the requester is told: %+v", f)
		}
		w.do(olgaKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 1 || !strings.Contains(fails.Failures[0].ErrorMessage, "not pending") {
			t.Fatalf("approving a settled request: %+v", fails)
		}
		var mine []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		w.do(riaKey, 200, "GET", "/dataSource/rpc/mine", nil, &mine)
		if len(mine) != 1 || mine[0].ID != ledger {
			t.Fatalf("rpc/mine: %+v", mine)
		}
		w.do(riaKey, 200, "GET", "/dataSource/rpc/mine?handler=Databricks", nil, &mine)
		if len(mine) != 0 {
			t.Fatalf("rpc/mine by handler: %+v", mine)
		}

		// Denial, with a reason.
		w.do(riaKey, 200, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", vault), nil, &sub)
		vsid := sub.Success[0].ID
		w.do(olgaKey, 422, "POST", "/subscription/deny", map[string]any{"requests": []any{map[string]any{"id": vsid}}}, nil)
		w.do(olgaKey, 200, "POST", "/subscription/deny", map[string]any{"requests": []any{map[string]any{"id": vsid, "denialReasoning": "not your ledger"}}}, &fails)
		if len(fails.Failures) != 0 || w.state(vault, ria) != "denied" {
			t.Fatalf("deny: %+v %s", fails, w.state(vault, ria))
		}
		f := w.feed(riaKey, url.Values{"notificationType": {"modelAccessDenied"}})
		if f.Count != 1 || f.Activities[0].Metadata["denialReasoning"] != "not your ledger" {
			t.Fatalf("the requester hears of the denial: %+v", f)
		}
		w.do(gusKey, 200, "GET", "/subscription/getPendingRequestsForUser", nil, &pending)
		if pending.Count != 0 {
			t.Fatalf("settled requests are not pending: %+v", pending)
		}

		// Bulk: by requester, all or nothing.
		w.do(riaKey, 200, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", till), nil, &sub)
		tsid := sub.Success[0].ID
		w.do(ozzyKey, 403, "POST", "/subscription/approve/bulk", map[string]any{"requestIds": []int64{tsid}}, nil)
		w.do(gusKey, 200, "POST", "/subscription/approve/bulk", map[string]any{"id": ria, "type": "profile"}, nil)
		if w.state(till, ria) != "pending" {
			t.Fatal("the governor's bulk approval gave the owner's too")
		}
		w.do(gusKey, 404, "POST", "/subscription/approve/bulk", map[string]any{"id": ria, "type": "profile"}, nil)
		w.do(olgaKey, 422, "POST", "/subscription/approve/bulk", map[string]any{"id": ria}, nil)
		w.do(olgaKey, 200, "POST", "/subscription/approve/bulk", map[string]any{"requestIds": []int64{tsid}}, nil)
		if w.state(till, ria) != "subscribed" {
			t.Fatal("bulk approval")
		}

		// Owners change states; requestors never their own.
		w.do(riaKey, 403, "PUT", fmt.Sprintf("/dataSource/%d/access/%d", ledger, sid), map[string]any{"state": "owner"}, nil)
		var upd struct {
			State         string `json:"state"`
			OriginalState string `json:"originalState"`
		}
		w.do(olgaKey, 200, "PUT", fmt.Sprintf("/dataSource/%d/access/%d", vault, vsid), map[string]any{"state": "subscribed"}, &upd)
		if upd.State != "subscribed" || upd.OriginalState != "denied" {
			t.Fatalf("update: %+v", upd)
		}
		w.do(olgaKey, 422, "PUT", fmt.Sprintf("/dataSource/%d/access/%d", vault, vsid), map[string]any{"state": "ingest"}, nil)
		w.do(olgaKey, 404, "PUT", fmt.Sprintf("/dataSource/%d/access/%d", ledger, vsid), map[string]any{"state": "expert"}, nil)
		var contacts []struct {
			Type    string `json:"type"`
			State   string `json:"state"`
			Profile int64  `json:"profile"`
		}
		w.do(riaKey, 200, "GET", fmt.Sprintf("/dataSource/%d/contacts", ledger), nil, &contacts)
		// The administrator registered the data source and owns it too.
		if len(contacts) != 2 || contacts[1].Profile != olga || contacts[1].State != "owner" || contacts[0].Profile != 1 {
			t.Fatalf("contacts: %+v", contacts)
		}
		// Unsubscribing.
		w.do(riaKey, 200, "DELETE", fmt.Sprintf("/dataSource/%d/unsubscribe", ledger), nil, nil)
		if w.decision(ledger, ria).Grant != nil || w.state(ledger, ria) != "" {
			t.Fatal("unsubscribed access")
		}
		w.do(riaKey, 404, "DELETE", fmt.Sprintf("/dataSource/%d/unsubscribe", ledger), nil, nil)
		w.do(olgaKey, 409, "DELETE", fmt.Sprintf("/dataSource/%d/unsubscribe", ledger), nil, nil)
		_ = gus

		// A manual data source takes no requests.
		w.tagColumn(ledger, "SSN", "Manual")
		w.policy("policyKey: manual x\nname: Manual X\ntype: subscription\nactions:\n  type: manual\ncircumstances:\n- type: columnTags\n  columnTag: Manual\n")
		rows := w.count("data_source_access")
		w.do(riaKey, 200, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", ledger), nil, &sub)
		if len(sub.Success) != 0 || len(sub.InError) != 1 || !strings.Contains(sub.InError[0].ErrorMessage, "owners grant access") ||
			w.count("data_source_access") != rows {
			t.Fatalf("subscribing to a manual data source: %+v", sub)
		}
	})
}

// TestProjectApproval joins the documented approval project: the request
// must name the specific GOVERNANCE approver, and needs both approvals.
func TestProjectApproval(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		pid := w.saveV2(approvalProject)
		ria, riaKey := env.NewUser(t, "ria@example.com")
		gus, gusKey := env.NewUser(t, "gus@example.com", "GOVERNANCE")
		_, ginaKey := env.NewUser(t, "gina@example.com", "GOVERNANCE")
		path := fmt.Sprintf("/project/%d/members", pid)
		rows := w.count("project_members")
		r := w.do(riaKey, 422, "POST", path, map[string]any{"profileId": ria}, nil)
		if got := fields(t, r); len(got) != 1 || got[0] != "approvals" || w.count("project_members") != rows {
			t.Fatalf("joining without naming the approver: %s", r.Body)
		}
		w.do(riaKey, 422, "POST", path, map[string]any{"profileId": ria, "approvals": []any{
			map[string]any{"requiredPermission": "GOVERNANCE", "specificApprover": ria}}}, nil)
		sid, state := w.joinProject(riaKey, pid, ria, map[string]any{"approvals": []any{
			map[string]any{"requiredPermission": "GOVERNANCE", "specificApprover": gus}}})
		if state != "pending" || w.project(riaKey, pid).SubscriptionStatus != "pending" {
			t.Fatalf("join an approval project: %s", state)
		}
		w.do(riaKey, 403, "POST", fmt.Sprintf("/project/current/%d", pid), nil, nil)
		// Another governor is not the approver named.
		var pending pendingJSON
		w.do(ginaKey, 200, "GET", "/subscription/getPendingRequestsForUser?modelTypes=project", nil, &pending)
		if pending.Count != 0 {
			t.Fatalf("pending for a governor not named: %+v", pending)
		}
		approve := map[string]any{"requests": []any{map[string]any{"id": sid, "modelType": "project"}}}
		var fails failuresJSON
		w.do(ginaKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 1 {
			t.Fatal("a governor not named approved")
		}
		w.do(gusKey, 200, "GET", "/subscription/getPendingRequestsForUser", nil, &pending)
		if pending.Count != 1 || pending.Hits[0].Model.Type != "project" || pending.Hits[0].Model.ID != pid {
			t.Fatalf("pending for the approver named: %+v", pending)
		}
		w.do(gusKey, 200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 0 || w.project(riaKey, pid).SubscriptionStatus != "pending" {
			t.Fatalf("after the first approval: %+v", fails)
		}
		w.admin(200, "POST", "/subscription/approve", approve, &fails)
		if len(fails.Failures) != 0 || w.project(riaKey, pid).SubscriptionStatus != "subscribed" {
			t.Fatalf("after both approvals: %+v", fails)
		}
		if f := w.feed(riaKey, url.Values{"modelType": {"project"}, "nonRequestActivity": {"true"}}); !hasType(f, "modelAccessApproved") ||
			hasType(f, "modelAccessRequested") {
			t.Fatalf("requester's project feed: %v", f.types())
		}
		// The project's own activity.
		var act feedJSON
		w.admin(200, "GET", fmt.Sprintf("/project/%d/activity?size=50", pid), nil, &act)
		if !hasType(act, "modelCreated") || !hasType(act, "modelAccessApproved") {
			t.Fatalf("project activity: %v", act.types())
		}
		// Members list: the owner and the new member.
		var members struct {
			Count   int `json:"count"`
			Members []struct {
				Profile *int64 `json:"profile"`
				State   string `json:"state"`
			} `json:"members"`
		}
		w.do(riaKey, 200, "GET", path, nil, &members)
		if members.Count != 2 {
			t.Fatalf("members: %+v", members)
		}
		_, strangerKey := env.NewUser(t, "stranger@example.com")
		w.do(strangerKey, 403, "GET", path, nil, nil)
	})
}

// TestFeedAndPurposeSearch pages the activity feed, marks it read, filters
// by permission, and finds data sources by the purposes that open them.
func TestFeedAndPurposeSearch(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		w.purpose(usePurposes)
		w.purpose(purposeHierarchy)
		ds := w.sources("bp", "ORDERS", "PLAIN")
		w.tagColumn(ds["Orders"], "REGION", "Restricted")
		w.policy(restrictOrders)
		var found []struct {
			ID           int64 `json:"id"`
			PolicyID     int64 `json:"policyId"`
			Restrictions []struct {
				Operator string   `json:"operator"`
				Purposes []string `json:"purposes"`
			} `json:"restrictions"`
		}
		w.admin(200, "GET", "/dataSource/byPurposes?purposes=Purpose%20Hierarchy.Child%202.Grandchild%201", nil, &found)
		if len(found) != 1 || found[0].ID != ds["Orders"] || found[0].PolicyID == 0 ||
			jsonString(found[0].Restrictions) != `[{"operator":"or","purposes":["Purpose Hierarchy.Child 2"]}]` {
			t.Fatalf("byPurposes: %+v", found)
		}
		w.admin(200, "GET", "/dataSource/byPurposes?purposes=Use%20Purposes", nil, &found)
		if len(found) != 0 {
			t.Fatalf("a purpose the restriction does not admit: %+v", found)
		}
		pid := w.saveV2("name: Excluded\nprojectKey: excluded\ndatasources: [Orders]\n")
		w.admin(200, "GET", fmt.Sprintf("/dataSource/byPurposes?purposes=Purpose%%20Hierarchy.Child%%202&excludedProjects=%d", pid), nil, &found)
		if len(found) != 0 {
			t.Fatalf("excludedProjects: %+v", found)
		}
		w.admin(400, "GET", "/dataSource/byPurposes", nil, nil)

		// The administrator's feed: projects created, switched, ...
		ana, anaKey := env.NewUser(t, "ana@example.com")
		for i := 0; i < 3; i++ {
			w.admin(200, "POST", fmt.Sprintf("/project/%d/members", pid), map[string]any{"profileId": ana, "state": []string{"subscribed", "expert", "owner"}[i]}, nil)
		}
		var unread struct {
			Unread bool `json:"unread"`
		}
		w.do(anaKey, 200, "GET", "/activity/hasUnread", nil, &unread)
		if !unread.Unread {
			t.Fatal("ana has news")
		}
		first := w.feed(anaKey, url.Values{"size": {"2"}})
		if first.Count != 3 || first.Unread != 3 || len(first.Activities) != 2 || first.Next == "" ||
			first.Activities[0].ID < first.Activities[1].ID {
			t.Fatalf("first page: %+v", first)
		}
		second := w.feed(anaKey, url.Values{"size": {"2"}, "offset": {first.Next}})
		if len(second.Activities) != 1 || second.Activities[0].ID >= first.Activities[1].ID {
			t.Fatalf("second page: %+v", second)
		}
		if f := w.feed(anaKey, url.Values{"offset": {"1"}, "sortOrder": {"asc"}}); len(f.Activities) != 2 ||
			f.Activities[0].ID != first.Activities[1].ID {
			t.Fatalf("offset and order: %+v", f)
		}
		if f := w.feed(anaKey, url.Values{"excludeMine": {"true"}, "searchText": {"ACCESS"}}); f.Count != 2 ||
			!hasType(f, "modelAccessUpdated") {
			t.Fatalf("searchText: %+v", f)
		}
		w.do(anaKey, 403, "GET", "/activity?permission=ADMIN", nil, nil)
		w.do(anaKey, 400, "GET", "/activity?permission=BOSS", nil, nil)
		if f := w.feed(admin, url.Values{"permission": {"ADMIN"}, "modelType": {"project"}}); f.Count == 0 {
			t.Fatalf("the administrator's own activities: %+v", f)
		}
		var marked struct {
			Marked int `json:"marked"`
		}
		w.do(anaKey, 200, "PUT", "/activity/read", map[string]any{"ids": []int64{first.Activities[0].ID}}, &marked)
		if marked.Marked != 1 || w.feed(anaKey, url.Values{"new": {"true"}}).Count != 2 {
			t.Fatalf("marked one: %+v", marked)
		}
		w.do(anaKey, 200, "PUT", "/activity/read", nil, &marked)
		w.do(anaKey, 200, "GET", "/activity/hasUnread", nil, &unread)
		if marked.Marked != 2 || unread.Unread {
			t.Fatalf("marked all: %+v %+v", marked, unread)
		}
	})
}
