package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// purposeSides reads a project's live and staged purpose names as a caller
// sees them.
type purposeSides struct {
	ID             int64  `json:"id"`
	SubscriptionID *int64 `json:"subscriptionId"`
	Purposes       []struct {
		Name string `json:"name"`
	} `json:"purposes"`
	StagedPurposes []struct {
		Name string `json:"name"`
	} `json:"stagedPurposes"`
	PurposeCount int `json:"purposeCount"`
}

func (p purposeSides) names() (live, staged []string) {
	for _, x := range p.Purposes {
		live = append(live, x.Name)
	}
	for _, x := range p.StagedPurposes {
		staged = append(staged, x.Name)
	}
	return live, staged
}

// purposeID finds a purpose's id by its full name.
func purposeID(w *pworld, name string) int64 {
	w.t.Helper()
	var found struct {
		Purposes []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"purposes"`
	}
	w.admin(200, "GET", "/governance/purpose?size=100&searchText="+url.QueryEscape(name), nil, &found)
	for _, p := range found.Purposes {
		if p.Name == name {
			return p.ID
		}
	}
	w.t.Fatalf("no purpose %q", name)
	return 0
}

// TestPurposeApproval: purposes a project owner without GOVERNANCE adds are
// staged and give nothing (decisions, the entitlements enforcement reads,
// purpose counts) until a governor approves them; governors add live
// purposes directly, approve and deny, and the project's activity counts
// each. Owners cannot make a purpose live through any path, and refused
// requests change nothing.
func TestPurposeApproval(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := newPWorld(t, env)
		w.purpose(usePurposes)
		w.purpose(purposeHierarchy)
		const other = "Purpose Hierarchy.Child 2"
		customer := w.sources("acme", "CUSTOMER")["Customer"]
		w.tagColumn(customer, "SSN", "PII.SSN")
		w.policy(maskSSN)
		bob, bobKey := env.NewUser(t, "bob@example.com", "CREATE_PROJECT")
		_, ginaKey := env.NewUser(t, "gina@example.com", "GOVERNANCE", "CREATE_PROJECT")
		w.grant(customer, bob)

		read := func(id int64) purposeSides {
			t.Helper()
			var p purposeSides
			w.do(bobKey, 200, "GET", fmt.Sprintf("/project/%d", id), nil, &p)
			return p
		}
		sides := func(id int64, wantLive, wantStaged []string) {
			t.Helper()
			live, staged := read(id).names()
			if !slices.Equal(live, wantLive) || !slices.Equal(staged, wantStaged) {
				t.Fatalf("project %d: purposes %v staged %v, want %v and %v", id, live, staged, wantLive, wantStaged)
			}
		}
		// acting checks what bob acts under, in decisions and enforcement.
		acting := func(want []string) {
			t.Helper()
			d := w.decision(customer, bob)
			if d.masked("SSN") == slices.Contains(want, "Use Purposes") || !slices.Equal(d.Entitlements.Purposes, want) {
				t.Fatalf("decision: SSN masked %v, purposes %v; want %v", d.masked("SSN"), d.Entitlements.Purposes, want)
			}
			users, err := env.App.Governance.Entitlements(t.Context(), []int64{bob})
			if err != nil || !slices.Equal(users[bob].Purposes, want) {
				t.Fatalf("enforced purposes %v (%v), want %v", users[bob].Purposes, err, want)
			}
		}
		// counts reads the purpose counts of the newest project activity.
		counts := func(id int64, typ string) string {
			t.Helper()
			var f feedJSON
			w.do(bobKey, 200, "GET", fmt.Sprintf("/project/%d/activity?size=1", id), nil, &f)
			if len(f.Activities) == 0 || f.Activities[0].NotificationType != typ {
				t.Fatalf("newest activity of project %d: %v, want %s", id, f.types(), typ)
			}
			m := f.Activities[0].Metadata
			return fmt.Sprintf("added %v requested %v approved %v denied %v", m["newPurposesAddedCount"],
				m["requestedPurposeCount"], m["approvedPurposeCount"], m["deniedPurposesCount"])
		}
		projectCount := func() int {
			t.Helper()
			var found struct {
				Purposes []struct {
					ProjectCount *int `json:"projectCount"`
				} `json:"purposes"`
			}
			w.admin(200, "GET", "/governance/purpose?searchText=Use%20Purposes&getAffectedCount=true", nil, &found)
			if len(found.Purposes) != 1 || found.Purposes[0].ProjectCount == nil {
				t.Fatalf("purpose search: %+v", found)
			}
			return *found.Purposes[0].ProjectCount
		}

		// An owner without GOVERNANCE creates a project with a purpose: staged.
		var created purposeSides
		w.do(bobKey, 200, "POST", "/project", map[string]any{"name": "Fraud", "purposes": []any{"Use Purposes"}}, &created)
		pid := created.ID
		path := fmt.Sprintf("/project/%d", pid)
		if live, staged := created.names(); len(live) != 0 || !slices.Equal(staged, []string{"Use Purposes"}) || created.PurposeCount != 0 {
			t.Fatalf("created: purposes %v staged %v (count %d)", live, staged, created.PurposeCount)
		}
		if got := counts(pid, "modelCreated"); got != "added 0 requested 1 approved 0 denied 0" {
			t.Fatalf("creation activity: %s", got)
		}
		if !hasType(w.feed(ginaKey, url.Values{"modelId": {fmt.Sprint(pid)}}), "modelCreated") {
			t.Fatal("governors do not hear of a purpose waiting for them")
		}
		if projectCount() != 0 {
			t.Fatal("a project counts for a purpose it only asked for")
		}
		// Nothing to acknowledge, so bob may act under the project, and gets nothing from it.
		w.do(bobKey, 200, "POST", "/project/current/"+fmt.Sprint(pid), nil, nil)
		acting(nil)
		if d := w.decision(customer, bob, fmt.Sprintf("projectId=%d", pid)); len(d.Entitlements.Purposes) != 0 {
			t.Fatalf("as if under the project: %v", d.Entitlements.Purposes)
		}

		// Bob cannot make it live: not through PUT, the V2 document, or the approval endpoint.
		w.do(bobKey, 200, "PUT", path, map[string]any{"purposes": []any{"Use Purposes"}}, nil)
		w.do(bobKey, 200, "PUT", path, map[string]any{"purposes": []any{"Use Purposes"}, "stagedPurposes": []any{}}, nil)
		w.do(bobKey, 200, "PUT", path, map[string]any{"stagedPurposes": []any{"Use Purposes"}}, nil)
		w.do(bobKey, 200, "POST", "/api/v2/project", "name: Fraud\nprojectKey: fraud\npurposes: [Use Purposes]\n", nil)
		w.do(bobKey, 403, "POST", path+"/purpose/1/approve", nil, nil)
		useID := purposeID(w, "Use Purposes")
		w.do(bobKey, 403, "POST", fmt.Sprintf("%s/purpose/%d/approve", path, useID), nil, nil)
		sides(pid, nil, []string{"Use Purposes"})
		acting(nil)

		// Refused requests change nothing.
		before := w.count("activities")
		r := w.do(ginaKey, 422, "PUT", path, map[string]any{"purposes": []any{"Use Purposes"}, "stagedPurposes": []any{"Use Purposes"}}, nil)
		if got := fields(t, r); !slices.Equal(got, []string{"stagedPurposes[0]"}) {
			t.Fatalf("a purpose live and staged: %v", got)
		}
		w.do(ginaKey, 422, "PUT", path, map[string]any{"purposes": []any{"Use Purposes", "No Such Purpose"}}, nil)
		w.do(ginaKey, 422, "PUT", path, map[string]any{"stagedPurposes": []any{"No Such Purpose"}}, nil)
		w.do(ginaKey, 404, "POST", "/project/9999/purpose/1/approve", nil, nil)
		w.do(ginaKey, 404, "POST", fmt.Sprintf("%s/purpose/9999/deny", path), nil, nil)
		w.do(ginaKey, 404, "POST", path+"/purpose/x/approve", nil, nil)
		sides(pid, nil, []string{"Use Purposes"})
		if w.count("activities") != before {
			t.Fatal("a refused request wrote activity")
		}

		// A governor approves it by listing it in purposes: bob acts under it once he acknowledges.
		touched := w.changes("projectPurposes", "user", fmt.Sprint(bob))
		w.do(ginaKey, 200, "PUT", path, map[string]any{"purposes": []any{"Use Purposes"}, "stagedPurposes": []any{}}, nil)
		sides(pid, []string{"Use Purposes"}, nil)
		if got := counts(pid, "projectUpdated"); got != "added 0 requested 0 approved 1 denied 0" {
			t.Fatalf("approval activity: %s", got)
		}
		if w.changes("projectPurposes", "user", fmt.Sprint(bob)) == touched {
			t.Fatal("approval is not announced to the users acting under the project")
		}
		if projectCount() != 1 {
			t.Fatal("an approved purpose does not count the project")
		}
		acting(nil)
		sid := *read(pid).SubscriptionID
		w.do(bobKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		acting([]string{"Use Purposes"})
		w.do(ginaKey, 409, "POST", fmt.Sprintf("%s/purpose/%d/approve", path, useID), nil, nil)

		// A second purpose bob asks for is staged beside the live one; a governor denies it.
		w.do(bobKey, 200, "PUT", path, map[string]any{"purposes": []any{"Use Purposes", other}}, nil)
		sides(pid, []string{"Use Purposes"}, []string{other})
		if got := counts(pid, "projectUpdated"); got != "added 0 requested 1 approved 0 denied 0" {
			t.Fatalf("request activity: %s", got)
		}
		acting([]string{"Use Purposes"})
		childID := purposeID(w, other)
		w.do(bobKey, 403, "POST", fmt.Sprintf("%s/purpose/%d/deny", path, childID), nil, nil)
		var denied purposeSides
		w.do(ginaKey, 200, "POST", fmt.Sprintf("%s/purpose/%d/deny", path, childID), nil, &denied)
		if live, staged := denied.names(); !slices.Equal(live, []string{"Use Purposes"}) || len(staged) != 0 {
			t.Fatalf("after denial: %v %v", live, staged)
		}
		if got := counts(pid, "projectUpdated"); got != "added 0 requested 0 approved 0 denied 1" {
			t.Fatalf("denial activity: %s", got)
		}
		acting([]string{"Use Purposes"})
		// Asked again, denied by leaving it out of both lists.
		w.do(bobKey, 200, "PUT", path, map[string]any{"stagedPurposes": []any{other}}, nil)
		sides(pid, []string{"Use Purposes"}, []string{other})
		w.do(ginaKey, 200, "PUT", path, map[string]any{"purposes": []any{"Use Purposes"}, "stagedPurposes": []any{}}, nil)
		sides(pid, []string{"Use Purposes"}, nil)
		// Asked again, approved through the endpoint.
		w.do(bobKey, 200, "PUT", path, map[string]any{"stagedPurposes": []any{other}}, nil)
		w.do(ginaKey, 200, "POST", fmt.Sprintf("%s/purpose/%d/approve", path, childID), nil, nil)
		sides(pid, []string{other, "Use Purposes"}, nil)
		if got := counts(pid, "projectUpdated"); got != "added 0 requested 0 approved 1 denied 0" {
			t.Fatalf("approval activity: %s", got)
		}
		acting(nil) // the new purpose needs acknowledging
		w.do(bobKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		acting([]string{"Purpose Hierarchy.Child 2", "Use Purposes"})

		// Bob may take purposes away, but what he adds back is staged again.
		w.do(bobKey, 200, "PUT", path, map[string]any{"purposes": []any{other}}, nil)
		sides(pid, []string{other}, nil)
		acting([]string{"Purpose Hierarchy.Child 2"})
		w.do(bobKey, 200, "PUT", path, map[string]any{"purposes": []any{other, "Use Purposes"}}, nil)
		sides(pid, []string{other}, []string{"Use Purposes"})
		acting([]string{"Purpose Hierarchy.Child 2"})

		// V2: bob's document keeps live purposes live and stages new ones; the
		// document shows both sides.
		w.do(bobKey, 200, "POST", "/api/v2/project", "name: Fraud\nprojectKey: fraud\npurposes: [\"Use Purposes\", \""+other+"\"]\n", nil)
		sides(pid, []string{other}, []string{"Use Purposes"})
		var doc map[string]any
		w.do(bobKey, 200, "GET", "/api/v2/project/fraud", nil, &doc)
		if jsonString(doc["purposes"]) != `["Purpose Hierarchy.Child 2"]` || jsonString(doc["stagedPurposes"]) != `["Use Purposes"]` {
			t.Fatalf("V2 document: %s", jsonString(doc))
		}
		acting([]string{"Purpose Hierarchy.Child 2"})
		// A governor saving the same document approves what it lists in purposes.
		w.do(ginaKey, 200, "POST", "/api/v2/project", "name: Fraud\nprojectKey: fraud\npurposes: [\"Use Purposes\", \""+other+"\"]\n", nil)
		sides(pid, []string{other, "Use Purposes"}, nil)
		w.do(bobKey, 200, "POST", fmt.Sprintf("%s/members/%d/acknowledge", path, sid), nil, nil)
		acting([]string{"Purpose Hierarchy.Child 2", "Use Purposes"})
		// A governor's stagedPurposes stages a live purpose again.
		w.do(ginaKey, 200, "POST", "/api/v2/project", "name: Fraud\nprojectKey: fraud\npurposes: [\""+other+"\"]\nstagedPurposes: [Use Purposes]\n", nil)
		sides(pid, []string{other}, []string{"Use Purposes"})
		acting([]string{"Purpose Hierarchy.Child 2"})

		// Decisions are audited: the approval by PUT in the save record, the endpoints on their own.
		audited := func(where string, args ...any) int {
			t.Helper()
			var n int
			if err := env.App.DB.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_records WHERE success = TRUE AND `+where,
				args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := audited(`record_type = 'projectPurposeDecision' AND action = $1 AND project_id = $2`, "approve", pid); n != 1 {
			t.Fatalf("%d approvals audited", n)
		}
		if n := audited(`record_type = 'projectPurposeDecision' AND action = $1 AND project_id = $2`, "deny", pid); n != 1 {
			t.Fatalf("%d denials audited", n)
		}
		saves := map[string]int{}
		rows, err := env.App.DB.Query(t.Context(), `SELECT details FROM audit_records WHERE success = TRUE
			AND record_type = 'projectSave' AND project_id = $1`, pid)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var d []byte
			if err := rows.Scan(&d); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"purposesApproved", "purposesRequested", "purposesDenied"} {
				if strings.Contains(string(d), `"`+k+`"`) {
					saves[k]++
				}
			}
		}
		rows.Close()
		if saves["purposesApproved"] < 2 || saves["purposesRequested"] < 3 || saves["purposesDenied"] < 1 {
			t.Fatalf("saves audited by outcome: %v", saves)
		}

		// A governor's own project: purposes are live at once.
		var direct purposeSides
		w.do(ginaKey, 200, "POST", "/project", map[string]any{"name": "Gina's", "purposes": []any{"Use Purposes"},
			"stagedPurposes": []any{other}}, &direct)
		if live, staged := direct.names(); !slices.Equal(live, []string{"Use Purposes"}) || !slices.Equal(staged, []string{other}) {
			t.Fatalf("governor's project: %v %v", live, staged)
		}
		if got := counts(direct.ID, "modelCreated"); got != "added 1 requested 1 approved 0 denied 0" {
			t.Fatalf("governor's creation activity: %s", got)
		}
	})
}
