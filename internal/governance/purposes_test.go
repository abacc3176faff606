package governance_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/server/servertest"
)

type purposeView struct {
	ID                             int64          `json:"id"`
	Name                           string         `json:"name"`
	Acknowledgement                string         `json:"acknowledgement"`
	Description                    *string        `json:"description"`
	Deleted                        bool           `json:"deleted"`
	SystemGenerated                bool           `json:"systemGenerated"`
	DisplayAcknowledgement         bool           `json:"displayAcknowledgement"`
	InheritsAcknowledgement        bool           `json:"inheritsAcknowledgement"`
	AcknowledgementVersion         int64          `json:"acknowledgementVersion"`
	RequiredAcknowledgementVersion int64          `json:"requiredAcknowledgementVersion"`
	Subpurposes                    *[]purposeView `json:"subpurposes"`
	ProjectCount                   *int           `json:"projectCount"`
	AddedBy                        string         `json:"addedBy"`
}

func (f *fixture) purposeNamed(name string) purposeView {
	f.t.Helper()
	var list struct {
		Purposes []purposeView `json:"purposes"`
		Count    int           `json:"count"`
	}
	f.call(200, "GET", "/governance/purpose?strictSearch=true&searchText="+url.QueryEscape(name), nil, &list)
	if list.Count != 1 {
		f.t.Fatalf("purpose %q: %d found", name, list.Count)
	}
	return list.Purposes[0]
}

func TestPurposes(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		f := fixtureOf(t, env)
		defer f.audited()
		// The built-in purposes.
		var names []map[string]any
		f.call(200, "GET", "/api/v2/purpose", nil, &names)
		got := []string{}
		for _, n := range names {
			got = append(got, n["name"].(string))
		}
		if strings.Join(got, "|") != "Re-identification Prohibited|Re-identification Prohibited.CCPA|Re-identification Prohibited.Safe Harbor Method|Use Case Outside De-identification" {
			t.Fatalf("built-in purposes: %v", got)
		}
		// A hierarchy in one V2 document; children inherit the root's
		// statement unless they have their own.
		doc := map[string]any{"name": "Purpose Hierarchy", "acknowledgement": "The root acknowledgement",
			"subpurposes": []any{
				map[string]any{"name": "Purpose Hierarchy.Child 1", "acknowledgement": "Override the root acknowledgement"},
				map[string]any{"name": "Purpose Hierarchy.Child 2"},
				map[string]any{"name": "Purpose Hierarchy.Child 1.Grandchild 1"},
				"Purpose Hierarchy.Child 2.Grandchild 2",
			}}
		var res struct {
			DryRun    bool   `json:"dryRun"`
			Creating  bool   `json:"creating"`
			Updating  bool   `json:"updating"`
			PurposeID *int64 `json:"purposeId"`
		}
		f.call(200, "POST", "/api/v2/purpose?dryRun=true", doc, &res)
		if !res.DryRun || !res.Creating || res.PurposeID != nil {
			t.Fatalf("dry run: %+v", res)
		}
		f.call(404, "GET", "/api/v2/purpose/Purpose%20Hierarchy", nil, nil)
		f.call(200, "POST", "/api/v2/purpose", doc, &res)
		if !res.Creating || res.PurposeID == nil {
			t.Fatalf("create: %+v", res)
		}
		root := f.purposeNamed("Purpose Hierarchy")
		child1 := f.purposeNamed("Purpose Hierarchy.Child 1")
		grand1 := f.purposeNamed("Purpose Hierarchy.Child 1.Grandchild 1")
		grand2 := f.purposeNamed("Purpose Hierarchy.Child 2.Grandchild 2")
		if root.ID != *res.PurposeID || root.Acknowledgement != "The root acknowledgement" || root.InheritsAcknowledgement ||
			child1.Acknowledgement != "Override the root acknowledgement" || grand1.Acknowledgement != "Override the root acknowledgement" ||
			!grand1.InheritsAcknowledgement || grand2.Acknowledgement != "The root acknowledgement" {
			t.Fatalf("statements: %+v %+v %+v %+v", root, child1, grand1, grand2)
		}
		var one map[string]any
		f.call(200, "GET", "/api/v2/purpose/"+url.PathEscape("Purpose Hierarchy"), nil, &one)
		if subs := one["subpurposes"].([]any); len(subs) != 4 || one["acknowledgement"] != "The root acknowledgement" {
			t.Fatalf("V2 document: %v", one)
		}
		var withSubs purposeView
		f.call(200, "GET", fmt.Sprintf("/governance/purpose/%d?includeSubpurposes=true", root.ID), nil, &withSubs)
		if withSubs.Subpurposes == nil || len(*withSubs.Subpurposes) != 4 || withSubs.ProjectCount == nil || withSubs.AddedBy != "Administrator" {
			t.Fatalf("V1 with sub-purposes: %+v", withSubs)
		}

		// Changing the root's statement changes the version of every
		// purpose that inherits it; reAcknowledgeRequired makes members
		// acknowledge it again.
		doc["acknowledgement"] = "A new root acknowledgement"
		f.call(200, "POST", "/api/v2/purpose?reAcknowledgeRequired=true", doc, &res)
		if res.Creating || !res.Updating {
			t.Fatalf("update: %+v", res)
		}
		root2, child1b, grand2b := f.purposeNamed("Purpose Hierarchy"), f.purposeNamed("Purpose Hierarchy.Child 1"),
			f.purposeNamed("Purpose Hierarchy.Child 2.Grandchild 2")
		if root2.AcknowledgementVersion != 2 || root2.RequiredAcknowledgementVersion != 2 ||
			grand2b.AcknowledgementVersion != 2 || grand2b.Acknowledgement != "A new root acknowledgement" ||
			child1b.AcknowledgementVersion != 1 {
			t.Fatalf("versions: root %+v grandchild %+v child %+v", root2, grand2b, child1b)
		}
		// Without reAcknowledge the version moves but the required one stays.
		var upd purposeView
		f.call(200, "PUT", fmt.Sprintf("/governance/purpose/%d", child1.ID), map[string]any{"acknowledgement": "Child statement, amended"}, &upd)
		if upd.AcknowledgementVersion != 2 || upd.RequiredAcknowledgementVersion != 1 {
			t.Fatalf("update without reAcknowledge: %+v", upd)
		}
		if g := f.purposeNamed("Purpose Hierarchy.Child 1.Grandchild 1"); g.AcknowledgementVersion != 2 || g.Acknowledgement != "Child statement, amended" {
			t.Fatalf("the grandchild inherits the amended statement: %+v", g)
		}
		// An unchanged statement keeps its version.
		f.call(200, "PUT", fmt.Sprintf("/governance/purpose/%d", child1.ID), map[string]any{"description": "d", "reAcknowledge": true}, &upd)
		if upd.AcknowledgementVersion != 2 || upd.RequiredAcknowledgementVersion != 1 || *upd.Description != "d" {
			t.Fatalf("description only: %+v", upd)
		}

		// Malformed, circular and orphaned names are refused, naming the field.
		bad := []struct {
			body  any
			field string
		}{
			{map[string]any{"name": ""}, "name"},
			{map[string]any{"name": "A..B"}, "name"},
			{map[string]any{"name": " Padded"}, "name"},
			{map[string]any{"name": "<ANY PURPOSE>"}, "name"},
			{map[string]any{"name": "Orphan.Child"}, "name"},
			{map[string]any{"name": "Loop", "subpurposes": []any{"Loop"}}, "subpurposes[0].name"},
			{map[string]any{"name": "Root", "subpurposes": []any{"Elsewhere.Child"}}, "subpurposes[0].name"},
			{map[string]any{"name": "Root", "subpurposes": []any{"Root.A.B"}}, "subpurposes[0].name"},
			{map[string]any{"name": "Root", "subpurposes": []any{"Root.A", "Root.A"}}, "subpurposes[1].name"},
		}
		var before struct {
			Count int `json:"count"`
		}
		f.call(200, "GET", "/governance/purpose?includeDeleted=true", nil, &before)
		last, err := f.app.DB.LastChangeID(f.ctx)
		f.must(err)
		for _, b := range bad {
			fields := f.refused(422, "POST", "/api/v2/purpose", b.body)
			if !contains(fields, b.field) {
				t.Errorf("%v: fields %v, want %s", b.body, fields, b.field)
			}
		}
		f.refused(422, "POST", "/governance/purpose", map[string]any{"name": "Purpose Hierarchy"}) // V1 create refuses an existing one
		fields := f.refused(422, "PUT", fmt.Sprintf("/governance/purpose/%d", root.ID), map[string]any{"name": "Purpose Hierarchy.Child 1.Loop"})
		if !contains(fields, "name") {
			t.Errorf("renaming below itself: %v", fields)
		}
		if f.purposeNamed("Purpose Hierarchy").Name != "Purpose Hierarchy" {
			t.Fatal("a refused rename renamed")
		}
		var afterBad struct {
			Count int `json:"count"`
		}
		f.call(200, "GET", "/governance/purpose?includeDeleted=true", nil, &afterBad)
		if now, _ := f.app.DB.LastChangeID(f.ctx); now != last || afterBad.Count != before.Count {
			t.Fatalf("refused purposes changed something: %d purposes (was %d), change %d (was %d)", afterBad.Count, before.Count, now, last)
		}

		// Policies must name existing purposes; a purpose in use can be
		// neither deleted nor renamed.
		f.call(200, "POST", "/api/v2/policy", "name: Child only\npolicyKey: child only\ntype: data\nactions:\n- rules:\n  - {type: Purpose Restriction, config: {purposes: [Purpose Hierarchy.Child 2]}}\n", nil)
		f.call(409, "DELETE", "/api/v2/purpose/"+url.PathEscape("Purpose Hierarchy"), nil, nil)
		f.call(409, "DELETE", fmt.Sprintf("/governance/purpose/%d", f.purposeNamed("Purpose Hierarchy.Child 2").ID), nil, nil)
		f.call(409, "PUT", fmt.Sprintf("/governance/purpose/%d", root.ID), map[string]any{"name": "Renamed Hierarchy"}, nil)
		f.call(409, "DELETE", "/api/v2/purpose/"+url.PathEscape("Re-identification Prohibited.CCPA"), nil, nil)
		f.call(200, "DELETE", "/api/v2/policy/child%20only", nil, nil)

		// Renaming moves the sub-purposes along.
		f.call(200, "PUT", fmt.Sprintf("/governance/purpose/%d", root.ID), map[string]any{"name": "Renamed Hierarchy"}, &upd)
		if upd.Name != "Renamed Hierarchy" {
			t.Fatalf("rename: %+v", upd)
		}
		if g := f.purposeNamed("Renamed Hierarchy.Child 1.Grandchild 1"); g.ID != grand1.ID {
			t.Fatalf("the grandchild did not move: %+v", g)
		}

		// Deleting a purpose deletes its sub-purposes (dry run first).
		var del struct {
			DryRun   bool     `json:"dryRun"`
			Deleting []string `json:"deleting"`
		}
		f.call(200, "DELETE", "/api/v2/purpose/"+url.PathEscape("Renamed Hierarchy.Child 1")+"?dryRun=true", nil, &del)
		if !del.DryRun || strings.Join(del.Deleting, "|") != "Renamed Hierarchy.Child 1|Renamed Hierarchy.Child 1.Grandchild 1" {
			t.Fatalf("delete dry run: %+v", del)
		}
		f.purposeNamed("Renamed Hierarchy.Child 1")
		var deleted []purposeView
		f.call(200, "DELETE", fmt.Sprintf("/governance/purpose/%d", root.ID), nil, &deleted)
		if len(deleted) != 5 || !deleted[0].Deleted {
			t.Fatalf("V1 delete: %+v", deleted)
		}
		var list struct {
			Count int `json:"count"`
		}
		f.call(200, "GET", "/governance/purpose?root=Renamed%20Hierarchy", nil, &list)
		if list.Count != 0 {
			t.Fatalf("deleted purposes are listed: %d", list.Count)
		}
		f.call(200, "GET", "/governance/purpose?root=Renamed%20Hierarchy&includeDeleted=true", nil, &list)
		if list.Count != 5 {
			t.Fatalf("includeDeleted: %d", list.Count)
		}
		// A deleted name can be created again.
		f.call(200, "POST", "/api/v2/purpose", map[string]any{"name": "Renamed Hierarchy"}, &res)
		if !res.Creating {
			t.Fatalf("recreate: %+v", res)
		}
		if p := f.purposeNamed("Renamed Hierarchy"); p.Acknowledgement != governance.DefaultAcknowledgement {
			t.Fatalf("default statement: %+v", p)
		}
		// Paging and sorting of the V1 search.
		var page struct {
			Purposes []purposeView `json:"purposes"`
			Count    int           `json:"count"`
		}
		f.call(200, "GET", "/governance/purpose?size=2&offset=1&sortOrder=desc", nil, &page)
		if page.Count != 5 || len(page.Purposes) != 2 || page.Purposes[0].Name != "Renamed Hierarchy" {
			t.Fatalf("page: %+v", page)
		}
		// Only governors change purposes.
		_, key := env.NewUser(t, "reader@example.com")
		env.Must(t, 403, key, "POST", "/api/v2/purpose", map[string]any{"name": "Mine"})
		env.Must(t, 200, key, "GET", "/api/v2/purpose", nil)
	})
}
