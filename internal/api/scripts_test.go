package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// The scripts' view: requests that scripts written against Immuta's API
// send, replayed against a real server with exactly their method, path,
// query and body, and each answer checked against the shape the reference
// gives it (docs/compatibility.md says what custos answers where the
// reference is silent).

// shapeOf describes a JSON value: "string", "number", "bool", "object",
// "array", "null" or "any", or alternatives such as "string|null"; a
// map[string]any is an object with at least those keys, each of its shape;
// a []any{elem} is an array whose every element has elem's shape and that
// is not empty.
type shapeOf = any

// checkShape reports where v differs from want.
func checkShape(v any, want shapeOf, at string) error {
	switch w := want.(type) {
	case string:
		for _, alt := range strings.Split(w, "|") {
			if kindOf(v) == alt || alt == "any" {
				return nil
			}
		}
		return fmt.Errorf("%s: %s, want %s", at, kindOf(v), w)
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s, want an object", at, kindOf(v))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			got, present := m[k]
			if !present {
				return fmt.Errorf("%s.%s is missing", at, k)
			}
			if err := checkShape(got, w[k], at+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %s, want an array", at, kindOf(v))
		}
		if len(list) == 0 {
			return fmt.Errorf("%s: empty array", at)
		}
		for i, e := range list {
			if err := checkShape(e, w[0], fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s: bad shape %T", at, want)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// scriptCall is one request of a script and what its answer must be.
type scriptCall struct {
	about  string // what scripts read there
	method string
	path   string // with the query; {name} is a value of the setup
	body   any    // sent as JSON; strings have {name} filled in, and "{#name}" is the number name holds
	status int
	allow  string  // the Allow header of a 405
	shape  shapeOf // the answer's shape; nil for none
	check  func(t *testing.T, got any)
}

// scriptWorld is what the calls refer to.
type scriptWorld map[string]string

func (w scriptWorld) fill(s string) string {
	for k, v := range w {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func (w scriptWorld) fillBody(b any) any {
	switch v := b.(type) {
	case string:
		if name, ok := strings.CutPrefix(v, "{#"); ok { // {#name} is a number
			n, _ := strconv.Atoi(w[strings.TrimSuffix(name, "}")])
			return n
		}
		return w.fill(v)
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = w.fillBody(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = w.fillBody(x)
		}
		return out
	}
	return b
}

// The shapes the reference gives the objects scripts read.
var (
	v1PolicyShape = map[string]any{"id": "number", "name": "string", "type": "string", "policyKey": "string",
		"actions": "array", "circumstances": "array|null", "template": "bool", "staged": "bool"}
	dataSourceShape = map[string]any{"id": "number", "name": "string", "deleted": "bool", "blobHandlerType": "string",
		"blobHandler": map[string]any{"url": "string"}, "subscriptionType": "string|null", "subscriptionPolicy": "object|null",
		"globalPolicies": "array|null", "policyHandler": "object|null", "policyHandlerType": "string", "status": "string",
		"catalogMetadata": "object|null", "sqlTableName": "string|null", "connectionString": "string|null"}
	deleteShape = map[string]any{"success": "bool", "id": "number", "name": "string", "disabled": "bool", "hardDelete": "bool"}
	jobShape    = map[string]any{"id": "string", "type": "string", "state": "string"}
	columnShape = map[string]any{"name": "string", "dataType": "string", "remoteType": "string", "nullable": "bool"}
)

func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestScriptsReplay(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		w := scriptSetup(t, env)
		for i, c := range scriptCalls {
			path := w.fill(c.path)
			name := fmt.Sprintf("%d (%s): %s %s", i, c.about, c.method, path)
			var body any
			if c.body != nil {
				body = w.fillBody(c.body)
			}
			r := env.Do(t, admin, c.method, path, body)
			if r.Status != c.status {
				t.Fatalf("%s: status %d, want %d: %s", name, r.Status, c.status, r.Body)
			}
			if c.allow != "" && r.Header.Get("Allow") != c.allow {
				t.Fatalf("%s: Allow %q, want %q", name, r.Header.Get("Allow"), c.allow)
			}
			if c.shape == nil && c.check == nil {
				continue
			}
			var got any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("%s: not JSON: %s", name, r.Body)
			}
			if c.shape != nil {
				if err := checkShape(got, c.shape, "answer"); err != nil {
					t.Fatalf("%s: %v\n%s", name, err, r.Body)
				}
			}
			if c.check != nil {
				t.Run(name, func(t *testing.T) { c.check(t, got) })
			}
		}
	})
}

// scriptSetup registers the sample shop and what the calls refer to: a
// masking policy on a tag with children, a subscription policy, a group
// with an attribute, a user with an e-mail, a deleted purpose.
func scriptSetup(t *testing.T, env *servertest.Env) scriptWorld {
	t.Helper()
	remote := sampleRemote(t)
	post(t, env, 200, map[string]any{"connectionKey": "shop", "connection": remote.conn, "options": noSDD,
		"sources": []any{map[string]any{"schema": "shop", "table": "customers"}, map[string]any{"schema": "shop", "table": "products"},
			map[string]any{"schema": "shop", "table": "orders"}}})
	w := scriptWorld{}
	for _, n := range []string{"Customers", "Products", "Orders"} {
		w[strings.ToLower(n)] = fmt.Sprint(getDS(t, env, "Shop "+n).ID)
	}
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "PII.Email"}}})
	env.Admin(t, 200, "POST", "/tag/column/"+w["customers"]+"_email", []any{map[string]any{"name": "PII.Email"}})
	env.Admin(t, 200, "POST", "/api/v2/policy", "name: Mask PII\npolicyKey: mask-pii\ntype: data\nactions:\n- rules:\n"+
		"  - type: Masking\n    config: {fields: [{type: columnTags, columnTag: PII}], maskingConfig: {type: Hash}}\n"+
		"circumstances:\n- {type: columnTags, columnTag: PII}\n")
	env.Admin(t, 200, "POST", "/api/v2/policy", "name: Anyone reads\npolicyKey: anyone\ntype: subscription\n"+
		"actions: {type: anyone, automaticSubscription: true}\n")
	var masking struct {
		ID int64 `json:"id"`
	}
	var names []map[string]any
	env.Admin(t, 200, "GET", "/policy/global?nameOnly=true", nil).JSON(t, &names)
	for _, n := range names {
		if n["name"] == "Mask PII" {
			masking.ID = int64(n["id"].(float64))
		}
	}
	w["maskPolicy"] = fmt.Sprint(masking.ID)
	g := env.Admin(t, 200, "POST", "/bim/group", map[string]any{"name": "Analysts", "iamid": "bim"}).Map(t)
	w["group"] = fmt.Sprint(g["id"])
	env.Admin(t, 200, "PUT", "/bim/iam/bim/group/"+w["group"]+"/authorizations/Department/Finance", nil)
	u := env.Admin(t, 200, "POST", "/bim/iam/bim/user", map[string]any{"iamid": "bim", "userid": "erin",
		"profile": map[string]any{"name": "Erin", "email": "erin@example.com"}}).Map(t)
	w["erin"] = fmt.Sprint(u["newUser"].(map[string]any)["id"])
	env.Admin(t, 200, "POST", "/api/v2/purpose", "name: Fraud\nsubpurposes: [Fraud.Cards]\n")
	var purposes struct {
		Purposes []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"purposes"`
	}
	env.Admin(t, 200, "GET", "/governance/purpose?searchText=Fraud", nil).JSON(t, &purposes)
	for _, p := range purposes.Purposes {
		if p.Name == "Fraud" {
			w["purpose"] = fmt.Sprint(p.ID)
		}
	}
	env.Admin(t, 200, "DELETE", "/api/v2/purpose/Fraud", nil)
	w["host"], w["port"], w["database"] = remote.conn["hostname"].(string), fmt.Sprint(remote.conn["port"]), remote.conn["database"].(string)
	w["user"], w["password"] = url.QueryEscape(remote.conn["username"].(string)), url.QueryEscape(remote.conn["password"].(string))
	w["rawUser"], w["rawPassword"] = remote.conn["username"].(string), remote.conn["password"].(string)
	return w
}

func pgMetadata(schema, table string) map[string]any {
	return map[string]any{"hostname": "{host}", "port": "{#port}", "database": "{database}", "username": "{rawUser}",
		"password": "{rawPassword}", "ssl": false, "schema": schema, "table": table}
}

var scriptCalls = []scriptCall{
	// 1, 2: the policy list is a plain array; Python clients page with floats.
	{about: "policy list", method: "GET", path: "/policy/global?offset=0.0&size=200.0", status: 200, shape: []any{v1PolicyShape},
		check: func(t *testing.T, got any) {
			if n := len(got.([]any)); n != 2 {
				t.Fatalf("%d policies, want 2", n)
			}
		}},
	{about: "policy list", method: "GET", path: "/policy/global?nameOnly=true", status: 200,
		shape: []any{map[string]any{"name": "string", "id": "number", "type": "string"}}},
	{about: "integers as decimals", method: "GET", path: "/dataSource?offset=0.0&size=200.0", status: 200,
		shape: map[string]any{"hits": []any{dataSourceShape}, "count": "number"}},
	{about: "integers as decimals", method: "GET", path: "/dataSource?size=1.5", status: 400},
	// 3: a large page is served whole.
	{about: "large pages", method: "GET", path: "/dataSource?size=25000", status: 200,
		shape: map[string]any{"hits": []any{dataSourceShape}, "count": "number"},
		check: func(t *testing.T, got any) {
			if n, count := len(field(got, "hits").([]any)), field(got, "count"); float64(n) != count || n != 3 {
				t.Fatalf("%d hits of %v", n, count)
			}
		}},
	// 4: global policies show on the data source and in its policy handler.
	{about: "policies on data sources", method: "GET", path: "/dataSource/{customers}", status: 200, shape: dataSourceShape,
		check: func(t *testing.T, got any) {
			if field(got, "subscriptionType") != "automatic" || field(got, "subscriptionPolicy", "type") != "subscription" ||
				field(got, "subscriptionPolicy", "subscriptionType") != "automatic" {
				t.Fatalf("subscription: %v %v", field(got, "subscriptionType"), field(got, "subscriptionPolicy"))
			}
			globals, _ := field(got, "globalPolicies").([]any)
			if len(globals) != 2 || checkShape(globals, []any{map[string]any{"id": "number", "name": "string", "type": "string",
				"disabled": "bool", "template": "bool", "createdAt": "string", "createdBy": "string"}}, "globalPolicies") != nil {
				t.Fatalf("globalPolicies: %v", field(got, "globalPolicies"))
			}
			if field(got, "policyHandlerType") != "Builder" || field(got, "policy") != "No Conflict" ||
				checkShape(field(got, "policyHandler"), map[string]any{"handlerId": "number|null", "dataSourceId": "number",
					"visibilitySchema": map[string]any{"fields": "array"}}, "policyHandler") != nil {
				t.Fatalf("policyHandler: %v %v", field(got, "policyHandlerType"), field(got, "policyHandler"))
			}
		}},
	{about: "policies on data sources", method: "GET", path: "/dataSource/{products}", status: 200, shape: dataSourceShape,
		check: func(t *testing.T, got any) {
			if field(got, "policyHandler") != nil || field(got, "policyHandlerType") != "None" || len(field(got, "globalPolicies").([]any)) != 1 {
				t.Fatalf("only the subscription policy applies to products: %v %v", field(got, "policyHandler"), field(got, "globalPolicies"))
			}
		}},
	{about: "policies on data sources", method: "GET", path: "/policy/handler/{customers}", status: 200,
		shape: map[string]any{"dataSourceId": "number", "jsonPolicies": []any{map[string]any{"type": "string",
			"global": map[string]any{"id": "number", "name": "string", "policyKey": "string", "disabled": "bool"}}}},
		check: func(t *testing.T, got any) {
			if field(got, "jsonPolicies", 0, "global", "name") != "Mask PII" {
				t.Fatalf("the global masking rule: %v", field(got, "jsonPolicies"))
			}
		}},
	// 5: a disabled data source reads deleted; a second DELETE keeps it;
	// PUT deleted:false restores it; hardDelete deletes it.
	{about: "deleted data sources", method: "DELETE", path: "/dataSource/{orders}", status: 200, shape: deleteShape,
		check: func(t *testing.T, got any) {
			if field(got, "disabled") != true || field(got, "hardDelete") != false {
				t.Fatalf("first delete: %v", got)
			}
		}},
	{about: "deleted data sources", method: "GET", path: "/dataSource/{orders}", status: 200, shape: dataSourceShape,
		check: func(t *testing.T, got any) {
			if field(got, "deleted") != true {
				t.Fatal("a disabled data source reads deleted: false")
			}
		}},
	{about: "deleted data sources", method: "DELETE", path: "/dataSource/{orders}", status: 200, shape: deleteShape,
		check: func(t *testing.T, got any) {
			if field(got, "disabled") != true || field(got, "hardDelete") != false {
				t.Fatalf("a second delete must not delete: %v", got)
			}
		}},
	{about: "deleted data sources", method: "PUT", path: "/dataSource/{orders}", body: map[string]any{"deleted": false}, status: 200, shape: dataSourceShape,
		check: func(t *testing.T, got any) {
			if field(got, "deleted") != false {
				t.Fatal("PUT deleted:false must restore")
			}
		}},
	{about: "deleted data sources", method: "DELETE", path: "/dataSource/{orders}?hardDelete=true", status: 200, shape: deleteShape,
		check: func(t *testing.T, got any) {
			if field(got, "hardDelete") != true {
				t.Fatalf("hardDelete: %v", got)
			}
		}},
	{about: "deleted data sources", method: "GET", path: "/dataSource/{orders}", status: 404},
	// 6: tag references and dictionary tags have the documented shapes.
	{about: "tag and dictionary shapes", method: "GET", path: "/policy/global/{maskPolicy}", status: 200,
		shape: map[string]any{"circumstances": []any{map[string]any{"type": "string", "operator": "string",
			"columnTag": map[string]any{"name": "string", "displayName": "string", "hasLeafNodes": "bool"}}}},
		check: func(t *testing.T, got any) {
			if field(got, "circumstances", 0, "columnTag", "hasLeafNodes") != true ||
				field(got, "actions", 0, "rules", 0, "config", "fields", 0, "hasLeafNodes") != true {
				t.Fatalf("PII has a child: %v", got)
			}
		}},
	{about: "tag and dictionary shapes", method: "GET", path: "/dictionary/{customers}", status: 200,
		shape: map[string]any{"id": "number", "dataSource": "number", "types": "array", "metadata": []any{map[string]any{
			"name": "string", "dataType": "string", "tags": "array"}}},
		check: func(t *testing.T, got any) {
			for _, c := range field(got, "metadata").([]any) {
				if field(c, "name") == "email" {
					if err := checkShape(field(c, "tags"), []any{map[string]any{"name": "string", "source": "string",
						"context": "string", "deleted": "bool"}}, "tags"); err != nil || field(c, "tags", 0, "name") != "PII.Email" {
						t.Fatalf("email tags: %v %v", field(c, "tags"), err)
					}
					return
				}
			}
			t.Fatal("no email column")
		}},
	{about: "tag and dictionary shapes", method: "PUT", path: "/dictionary/{products}", status: 200, body: map[string]any{"metadata": []any{
		map[string]any{"name": "product_id", "dataType": "integer", "remoteType": "integer"},
		map[string]any{"name": "sku", "dataType": "text", "remoteType": "text", "tags": []any{map[string]any{"name": "PII.Email", "source": "curated"}}},
		map[string]any{"name": "product_name", "dataType": "text", "tags": []any{"PII"}},
		map[string]any{"name": "category", "dataType": "text"}, map[string]any{"name": "description", "dataType": "text"},
		map[string]any{"name": "price_cents", "dataType": "integer"}, map[string]any{"name": "weight_grams", "dataType": "integer"},
		map[string]any{"name": "in_stock", "dataType": "boolean"}}},
		shape: map[string]any{"metadata": []any{map[string]any{"name": "string", "tags": "array"}}},
		check: func(t *testing.T, got any) {
			if field(got, "metadata", 1, "tags", 0, "name") != "PII.Email" || field(got, "metadata", 2, "tags", 0, "name") != "PII" ||
				field(got, "metadata", 1, "tags", 0, "context") != "manual" {
				t.Fatalf("column tags sent with PUT: %v", field(got, "metadata"))
			}
		}},
	{about: "tag and dictionary shapes", method: "GET", path: "/dataSource/{products}/tags", status: 200,
		check: func(t *testing.T, got any) {
			var names []string
			for _, tg := range field(got, "tags").([]any) {
				names = append(names, fmt.Sprint(field(tg, "modelId"), "=", field(tg, "name")))
			}
			sort.Strings(names)
			if len(names) != 2 || !strings.HasSuffix(names[0], "_product_name=PII") || !strings.HasSuffix(names[1], "_sku=PII.Email") {
				t.Fatalf("stored column tags: %v", names)
			}
		}},
	// 7: the reference's {rootTag, tags} creates the root.
	{about: "root tags", method: "POST", path: "/tag", status: 200,
		body:  map[string]any{"rootTag": map[string]any{"name": "Sensitivity", "source": "curated"}, "tags": []any{map[string]any{"name": "Sensitivity.High"}}},
		shape: []any{map[string]any{"id": "number", "name": "string", "source": "string", "deleted": "bool", "systemCreated": "bool"}}},
	{about: "root tags", method: "GET", path: "/tag?searchText=Sensitivity", status: 200, shape: []any{map[string]any{"name": "string"}},
		check: func(t *testing.T, got any) {
			if len(got.([]any)) != 2 {
				t.Fatalf("root and child: %v", got)
			}
		}},
	// 8: catalogMetadata is stored and returned.
	{about: "catalog metadata", method: "PUT", path: "/dataSource/{customers}", status: 200,
		body:  map[string]any{"catalogMetadata": map[string]any{"provider": "Collibra", "assetId": "a-1"}},
		shape: dataSourceShape},
	{about: "catalog metadata", method: "GET", path: "/dataSource/{customers}", status: 200,
		shape: map[string]any{"catalogMetadata": map[string]any{"provider": "string", "assetId": "string"}}},
	{about: "catalog metadata", method: "PUT", path: "/dataSource/{customers}", status: 422, body: map[string]any{"catalogMetadata": map[string]any{"assetId": "a-1"}}},
	// 9: users of a data source have an e-mail.
	{about: "e-mail of access users", method: "POST", path: "/dataSource/{customers}/access", status: 200, body: map[string]any{"profileId": "{#erin}", "state": "subscribed"}},
	{about: "e-mail of access users", method: "GET", path: "/dataSource/{customers}/access", status: 200,
		shape: map[string]any{"count": "number", "users": []any{map[string]any{"profile": "number|null", "name": "string",
			"iamid": "string", "email": "string|null", "type": "string", "state": "string", "approved": "bool"}}},
		check: func(t *testing.T, got any) {
			for _, u := range field(got, "users").([]any) {
				if field(u, "name") == "Erin" && field(u, "email") == "erin@example.com" {
					return
				}
			}
			t.Fatalf("Erin's e-mail: %v", got)
		}},
	// 10: a deleted purpose is not found, with or without its sub-purposes.
	{about: "deleted purposes", method: "GET", path: "/governance/purpose/{purpose}?includeSubpurposes=true", status: 404},
	{about: "deleted purposes", method: "GET", path: "/governance/purpose/{purpose}", status: 404},
	// 11: a group of an identity manager, with its attributes.
	{about: "groups of an identity manager", method: "GET", path: "/bim/iam/bim/group/{group}", status: 200,
		shape: map[string]any{"id": "number", "iamid": "string", "name": "string",
			"bimAuthorizations": map[string]any{"Department": []any{"string"}}}},
	{about: "groups of an identity manager", method: "GET", path: "/bim/iam/bim/group/Analysts", status: 200, shape: map[string]any{"bimAuthorizations": "object"}},
	{about: "groups of an identity manager", method: "GET", path: "/bim/iam/bim/group/999999", status: 404},
	// 12: the legacy PostgreSQL routes.
	{about: "legacy PostgreSQL routes", method: "POST", path: "/pg/handler", status: 200,
		body:  map[string]any{"handler": map[string]any{"metadata": pgMetadata("Marketing", "Loyalty Members")}, "dataSource": map[string]any{"name": "Loyalty"}},
		shape: map[string]any{"id": "number", "dataSourceId": "number", "connectionString": "string", "dataSources": "array"}},
	{about: "legacy PostgreSQL routes", method: "GET", path: "/dataSource/name/Loyalty", status: 200, shape: dataSourceShape,
		check: func(t *testing.T, got any) {
			if field(got, "blobHandler", "url") != fmt.Sprintf("/postgresql/handler/%v", field(got, "id")) || field(got, "status") != "passed" {
				t.Fatalf("blobHandler: %v, status %v", field(got, "blobHandler"), field(got, "status"))
			}
		}},
	{about: "legacy PostgreSQL routes", method: "GET", path: "/postgresql/handler/{customers}", status: 200,
		shape: map[string]any{"id": "number", "dataSourceId": "number", "type": "string", "connectionString": "string|null",
			"metadata": map[string]any{"columns": []any{columnShape}, "hostname": "string", "database": "string"}},
		check: func(t *testing.T, got any) {
			if field(got, "metadata", "password") != nil {
				t.Fatal("a handler object never shows the password")
			}
		}},
	{about: "legacy PostgreSQL routes", method: "GET", path: "/pg/database/{database}/table?hostname={host}&port={port}&username={user}&password={password}&schema=shop",
		status: 200, shape: []any{map[string]any{"tableName": "string", "schemaName": "string", "kind": "string"}},
		check: func(t *testing.T, got any) {
			if len(got.([]any)) != 4 {
				t.Fatalf("shop has 3 tables and a view: %v", got)
			}
		}},
	{about: "legacy PostgreSQL routes", method: "POST", path: "/pg/handler/getColumnTypes", status: 200,
		body: map[string]any{"handler": map[string]any{"metadata": pgMetadata("shop", "products")}}, shape: []any{columnShape},
		check: func(t *testing.T, got any) {
			if len(got.([]any)) != 8 || field(got, 0, "name") != "product_id" || field(got, 0, "isPrimaryKey") != true {
				t.Fatalf("columns: %v", got)
			}
		}},
	{about: "legacy PostgreSQL routes", method: "POST", path: "/postgresql/handler/getColumnTypes", status: 422,
		body: map[string]any{"handler": map[string]any{"metadata": pgMetadata("shop", "nope")}}},
	{about: "legacy PostgreSQL routes", method: "GET", path: "/jobs?connectionString={host}:{port}/{database}", status: 200,
		shape: map[string]any{"jobs": []any{jobShape}, "count": "number"}},
	// 13: a wrong method is a 405 with Allow; static paths are not ids.
	{about: "methods and static paths", method: "PATCH", path: "/dataSource", status: 405, allow: "GET"},
	{about: "methods and static paths", method: "DELETE", path: "/policy/global", status: 405, allow: "GET, POST"},
	{about: "methods and static paths", method: "POST", path: "/dataSource/{customers}", status: 405, allow: "GET, PUT, DELETE"},
	{about: "methods and static paths", method: "GET", path: "/dataSource/blobHandlerTypes", status: 200, shape: []any{"string"}},
	{about: "methods and static paths", method: "GET", path: "/dataSource/notAnId", status: 404},
}

// A page larger than the server's internal batches (1000 data sources
// completed at a time, 500 written at a time) is served whole and in
// order: nothing is lost at a batch's edge.
func TestDataSourcePageOfAnySize(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	const n = 1234
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"metadata": map[string]any{"hostname": "acme.snowflakecomputing.com", "port": 443,
			"database": "SALES", "warehouse": "W", "username": "u", "password": "p", "schema": "PUBLIC",
			"table": fmt.Sprintf("T%04d", i), "columns": []any{map[string]any{"name": "ID", "dataType": "integer"}}}}
	}
	env.Admin(t, 200, "POST", "/snowflake/handler", map[string]any{"handler": items})
	var page struct {
		Hits []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"hits"`
		Count int `json:"count"`
	}
	env.Admin(t, 200, "GET", "/dataSource?size=25000.0&sortField=name", nil).JSON(t, &page)
	if page.Count != n || len(page.Hits) != n {
		t.Fatalf("%d hits of %d, want %d", len(page.Hits), page.Count, n)
	}
	seen := map[int64]bool{}
	for i, h := range page.Hits {
		if want := fmt.Sprintf("Public T%04d", i); !strings.EqualFold(h.Name, want) || seen[h.ID] {
			t.Fatalf("hit %d: %+v, want %s once", i, h, want)
		}
		seen[h.ID] = true
	}
	env.Admin(t, 200, "GET", "/dataSource?size=600&offset=1000", nil).JSON(t, &page)
	if len(page.Hits) != n-1000 || page.Count != n {
		t.Fatalf("the last page: %d hits of %d", len(page.Hits), page.Count)
	}
}
