package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// pworld builds the state project tests need through the API.
type pworld struct {
	t   *testing.T
	env *servertest.Env
}

func newPWorld(t *testing.T, env *servertest.Env) *pworld { return &pworld{t: t, env: env} }

// do sends a request as key and decodes the answer into out (when not nil).
func (w *pworld) do(key string, want int, method, path string, body, out any) *servertest.Response {
	w.t.Helper()
	r := w.env.Must(w.t, want, key, method, path, body)
	if out != nil {
		r.JSON(w.t, out)
	}
	return r
}

func (w *pworld) admin(want int, method, path string, body, out any) *servertest.Response {
	w.t.Helper()
	return w.do(admin, want, method, path, body, out)
}

// group creates a group with the given members (user ids of bim).
func (w *pworld) group(name string, members ...string) int64 {
	w.t.Helper()
	var g struct {
		ID int64 `json:"id"`
	}
	w.admin(200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": name}, &g)
	for _, m := range members {
		w.join(g.ID, m)
	}
	return g.ID
}

// join adds a user to a group and returns the membership's id.
func (w *pworld) join(group int64, userid string) int64 {
	w.t.Helper()
	var m struct {
		ID int64 `json:"id"`
	}
	w.admin(200, "POST", fmt.Sprintf("/bim/group/%d/user", group), map[string]any{"iamid": "bim", "userid": userid}, &m)
	return m.ID
}

// sources registers Snowflake tables (stored, not reached) with columns
// ID, SSN and REGION, named after the tables, and returns their ids.
func (w *pworld) sources(key string, tables ...string) map[string]int64 {
	w.t.Helper()
	var list []any
	for _, tb := range tables {
		list = append(list, map[string]any{"table": tb, "schema": "PUBLIC", "columns": []any{
			map[string]any{"name": "ID", "dataType": "numeric"}, map[string]any{"name": "SSN", "dataType": "text"},
			map[string]any{"name": "REGION", "dataType": "text"}}})
	}
	post(w.t, w.env, 200, map[string]any{"connectionKey": key, "connection": map[string]any{"handler": "Snowflake",
		"hostname": key + ".snowflakecomputing.com", "port": 443, "ssl": true, "database": "DB", "schema": "PUBLIC",
		"warehouse": "WH", "username": "U", "password": "p"}, "options": noSDD,
		"nameTemplate": map[string]any{"dataSourceFormat": "<Tablename>", "tableFormat": "<tablename>", "schemaFormat": "public"},
		"sources":      list})
	out := map[string]int64{}
	for _, tb := range tables {
		name := string(tb[0]) + lower(tb[1:])
		out[name] = getDS(w.t, w.env, name).ID
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// tagColumn attaches a tag (created when missing) to a column.
func (w *pworld) tagColumn(ds int64, column, tag string) {
	w.t.Helper()
	w.admin(200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": tag}}}, nil)
	w.admin(200, "POST", fmt.Sprintf("/tag/column/%d_%s", ds, column), []any{map[string]any{"name": tag}}, nil)
}

// policy saves a V2 global policy.
func (w *pworld) policy(doc string) {
	w.t.Helper()
	w.admin(200, "POST", "/api/v2/policy", doc, nil)
}

// purpose saves a V2 purpose.
func (w *pworld) purpose(doc string) {
	w.t.Helper()
	w.admin(200, "POST", "/api/v2/purpose", doc, nil)
}

// grant gives a user READ on a data source by hand.
func (w *pworld) grant(ds, user int64) {
	w.t.Helper()
	w.admin(200, "POST", fmt.Sprintf("/dataSource/%d/access", ds), map[string]any{"profileId": user, "state": "subscribed"}, nil)
}

type decisionJSON struct {
	Grant        *string `json:"grant"`
	Entitlements struct {
		Groups     []string            `json:"groups"`
		Attributes map[string][]string `json:"attributes"`
		Purposes   []string            `json:"purposes"`
	} `json:"entitlements"`
	Columns []struct {
		Column  string `json:"column"`
		Masking struct {
			Type string `json:"type"`
		} `json:"masking"`
	} `json:"columns"`
	NoRows      bool `json:"noRows"`
	ActingUnder *struct {
		ProjectID int64 `json:"projectId"`
		Equalized bool  `json:"equalized"`
	} `json:"actingUnder"`
	Read struct {
		Status string `json:"status"`
	} `json:"read"`
}

func (d decisionJSON) masked(column string) bool {
	for _, c := range d.Columns {
		if c.Column == column {
			return true
		}
	}
	return false
}

// decision asks the decision API as the administrator.
func (w *pworld) decision(ds, user int64, query ...string) decisionJSON {
	w.t.Helper()
	path := fmt.Sprintf("/dataSource/%d/users/%d/decision", ds, user)
	if len(query) > 0 {
		path += "?" + query[0]
	}
	var d decisionJSON
	w.admin(200, "GET", path, nil, &d)
	return d
}

type projectV1 struct {
	ID                  int64  `json:"id"`
	ProjectKey          string `json:"projectKey"`
	Name                string `json:"name"`
	Status              string `json:"status"`
	Deleted             bool   `json:"deleted"`
	SubscriptionType    string `json:"subscriptionType"`
	SubscriptionID      *int64 `json:"subscriptionId"`
	SubscriptionStatus  string `json:"subscriptionStatus"`
	AcknowledgeRequired bool   `json:"acknowledgeRequired"`
	IsEqualized         bool   `json:"isEqualized"`
	Purposes            []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"purposes"`
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
	DataSources []int64 `json:"dataSources"`
}

func (w *pworld) project(key string, id int64) projectV1 {
	w.t.Helper()
	var p projectV1
	w.do(key, 200, "GET", fmt.Sprintf("/project/%d", id), nil, &p)
	return p
}

// saveV2 posts a V2 project and returns its id.
func (w *pworld) saveV2(doc string) int64 {
	w.t.Helper()
	var res struct {
		ProjectID *int64 `json:"projectId"`
	}
	w.admin(200, "POST", "/api/v2/project", doc, &res)
	if res.ProjectID == nil {
		w.t.Fatalf("no project id for %s", doc)
	}
	return *res.ProjectID
}

// projectID finds a project by key through the V1 search.
func (w *pworld) projectID(key string) int64 {
	w.t.Helper()
	var res struct {
		Hits []projectV1 `json:"hits"`
	}
	w.admin(200, "GET", "/project?size=1000&includeDeleted=true", nil, &res)
	for _, p := range res.Hits {
		if p.ProjectKey == key {
			return p.ID
		}
	}
	w.t.Fatalf("no project with key %q", key)
	return 0
}

// joined adds the user (as themself) to a project and returns the answer.
func (w *pworld) joinProject(key string, project, user int64, body map[string]any) (sid int64, state string) {
	w.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["profileId"] = user
	var res struct {
		SubscriptionID int64  `json:"subscriptionId"`
		State          string `json:"state"`
	}
	w.do(key, 200, "POST", fmt.Sprintf("/project/%d/members", project), body, &res)
	return res.SubscriptionID, res.State
}

// currentProject reads a user's current project.
func (w *pworld) currentProject(key string) *int64 {
	w.t.Helper()
	var me struct {
		ProjectID *int64 `json:"projectId"`
	}
	w.do(key, 200, "GET", "/bim/rpc/user/current", nil, &me)
	return me.ProjectID
}

type feedJSON struct {
	Count      int `json:"count"`
	Unread     int `json:"unread"`
	Activities []struct {
		ID               int64          `json:"id"`
		ModelType        string         `json:"modelType"`
		ModelID          string         `json:"modelId"`
		NotificationType string         `json:"notificationType"`
		Metadata         map[string]any `json:"metadata"`
		Read             bool           `json:"read"`
	} `json:"activities"`
	Next string `json:"next"`
}

func (f feedJSON) types() []string {
	var out []string
	for _, a := range f.Activities {
		out = append(out, a.NotificationType)
	}
	return out
}

func (w *pworld) feed(key string, query url.Values) feedJSON {
	w.t.Helper()
	var f feedJSON
	path := "/activity"
	if query != nil {
		path += "?" + query.Encode()
	}
	w.do(key, 200, "GET", path, nil, &f)
	return f
}

func hasType(f feedJSON, typ string) bool { return slices.Contains(f.types(), typ) }

// changes counts the change-log rows of a kind naming a model.
func (w *pworld) changes(kind, modelType, modelID string) int {
	w.t.Helper()
	var n int
	if err := w.env.App.DB.QueryRow(w.t.Context(), `SELECT COUNT(*) FROM changes WHERE kind = $1 AND model_type = $2
		AND model_id = $3`, kind, modelType, modelID).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// count counts rows of a table.
func (w *pworld) count(table string) int {
	w.t.Helper()
	var n int
	if err := w.env.App.DB.QueryRow(w.t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
