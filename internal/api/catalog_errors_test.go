package api_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// fields returns the fields a 422 response names.
func fields(t testing.TB, r *servertest.Response) []string {
	t.Helper()
	var body struct {
		Message    string `json:"message"`
		Validation []struct {
			Field string `json:"field"`
		} `json:"validation"`
	}
	r.JSON(t, &body)
	var out []string
	for _, v := range body.Validation {
		out = append(out, v.Field)
	}
	return out
}

// closedPort returns a local port nothing listens on.
func closedPort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestV2BadInputChangesNothing(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		remote := sampleRemote(t)
		other := sampleRemote(t)
		// A registered key, to check that nothing below changes it.
		post(t, env, 200, map[string]any{"connectionKey": "good", "connection": remote.conn, "options": noSDD,
			"sources": []any{map[string]any{"table": "products", "schema": "shop"}}})
		unchanged := func(t *testing.T) {
			t.Helper()
			if n := countDataSources(t, env); n != 1 {
				t.Fatalf("the catalog changed: %d data sources", n)
			}
			var keys []map[string]any
			env.Admin(t, 200, "GET", "/api/v2/data", nil).JSON(t, &keys)
			if len(keys) != 1 || keys[0]["connectionKey"] != "good" {
				t.Fatalf("the connection keys changed: %v", keys)
			}
			doc := env.Admin(t, 200, "GET", "/api/v2/data/good", nil).Map(t)
			if doc["connection"].(map[string]any)["database"] != remote.conn["database"] {
				t.Fatalf("the stored connection changed: %v", doc)
			}
		}
		cases := []struct {
			name   string
			doc    any
			status int
			field  string // a field the 422 must name
			text   string // a phrase the message must contain
		}{
			{"unknown technology", map[string]any{"connectionKey": "x", "connection": map[string]any{"handler": "Oracle", "hostname": "h"}},
				422, "connection.handler", "not supported"},
			{"missing connection fields", map[string]any{"connectionKey": "x", "connection": remote.with("hostname", nil, "username", nil)},
				422, "connection.username", "required"},
			{"missing connection key", map[string]any{"connection": remote.conn}, 422, "connectionKey", "required"},
			{"unreachable database", map[string]any{"connectionKey": "x", "connection": remote.with("port", closedPort(t))},
				422, "connection.hostname", "no PostgreSQL server answers"},
			{"wrong password", map[string]any{"connectionKey": "x", "connection": remote.with("password", "wrong")},
				422, "connection.password", "password authentication failed"},
			{"missing database", map[string]any{"connectionKey": "x", "connection": remote.with("database", "nope")},
				422, "connection.database", "does not exist"},
			{"missing table", map[string]any{"connectionKey": "x", "connection": remote.conn, "sources": []any{
				map[string]any{"table": "products", "schema": "shop"}, map[string]any{"table": "nope", "schema": "shop"}}},
				422, "sources[1].table", "does not exist"},
			{"missing schema", map[string]any{"connectionKey": "x", "connection": remote.with("schema", "nowhere")},
				422, "connection.schema", "does not exist"},
			{"missing column", map[string]any{"connectionKey": "x", "connection": remote.conn, "sources": []any{
				map[string]any{"table": "products", "schema": "shop", "columns": []any{map[string]any{"name": "nope"}}}}},
				422, "sources[0].columns[0].name", "does not exist"},
			{"bad query", map[string]any{"connectionKey": "x", "connection": remote.conn, "sources": []any{
				map[string]any{"query": "DELETE FROM shop.orders", "naming": map[string]any{"datasource": "Gone"}}}},
				422, "sources[0].query", "SELECT"},
			{"owner that does not exist", map[string]any{"connectionKey": "x", "connection": remote.conn,
				"owners": []any{map[string]any{"type": "user", "name": "nobody"}}}, 422, "owners[0].name", "no user named"},
			{"bad name template", map[string]any{"connectionKey": "x", "connection": remote.conn,
				"nameTemplate": map[string]any{"dataSourceFormat": "<owner> <Tablename>"}}, 422, "nameTemplate.dataSourceFormat", "unknown placeholder"},
			{"explicit name taken", map[string]any{"connectionKey": "x", "connection": remote.conn, "sources": []any{
				map[string]any{"table": "orders", "schema": "shop", "naming": map[string]any{"datasource": "Shop Products"}}}},
				422, "sources[0].naming.datasource", "taken"},
			{"a source that is two things", map[string]any{"connectionKey": "x", "connection": remote.conn, "sources": []any{
				map[string]any{"all": true, "table": "orders"}}}, 422, "sources[0]", "exactly one"},
			{"a key that moves to another database", map[string]any{"connectionKey": "good", "connection": other.conn},
				409, "", "cannot move to another database"},
			{"malformed YAML", "connectionKey: [x\n", 400, "", "not valid YAML"},
			{"a wrong type", map[string]any{"connectionKey": "x", "connection": map[string]any{"handler": "PostgreSQL", "port": "five"}},
				422, "connection.port", "must be"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := env.Must(t, c.status, servertest.AdminKey, "POST", "/api/v2/data?wait=-1", c.doc)
				if !strings.Contains(string(r.Body), c.text) {
					t.Errorf("message lacks %q: %s", c.text, r.Body)
				}
				if c.field != "" {
					found := false
					for _, f := range fields(t, r) {
						found = found || f == c.field
					}
					if !found {
						t.Errorf("no problem on %s: %s", c.field, r.Body)
					}
				}
				unchanged(t)
			})
		}
		// Without CREATE_DATA_SOURCE nothing registers.
		_, key := env.NewUser(t, "reader")
		env.Must(t, 403, key, "POST", "/api/v2/data", map[string]any{"connectionKey": "x", "connection": remote.conn})
		unchanged(t)
	})
}

func TestSDDBadInputChangesNothing(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		defer noFallbacks(t, env)
		r := env.Must(t, 422, servertest.AdminKey, "POST", "/sdd/classifier", map[string]any{"name": "BAD_REGEX",
			"displayName": "Bad", "description": "d", "type": "regex", "config": map[string]any{"regex": "(unclosed", "tags": []string{"Discovered.X"}}})
		if f := fields(t, r); len(f) != 1 || f[0] != "config.regex" {
			t.Fatalf("invalid regex: %s", r.Body)
		}
		env.Must(t, 404, servertest.AdminKey, "GET", "/sdd/classifier/BAD_REGEX", nil)
		r = env.Must(t, 422, servertest.AdminKey, "POST", "/sdd/classifier", map[string]any{"name": "X", "displayName": "X",
			"description": "d", "type": "regex", "config": map[string]any{"regex": "a", "tags": []string{"NotDiscovered"}}})
		if f := fields(t, r); len(f) != 1 || f[0] != "config.tags[0]" {
			t.Fatalf("tag outside Discovered: %s", r.Body)
		}
		r = env.Must(t, 422, servertest.AdminKey, "POST", "/sdd/template", map[string]any{"name": "F", "displayName": "F",
			"description": "d", "classifiers": []any{map[string]any{"name": "NO_SUCH_IDENTIFIER"}}})
		if f := fields(t, r); len(f) != 1 || f[0] != "classifiers[0].name" {
			t.Fatalf("unknown identifier: %s", r.Body)
		}
		env.Must(t, 404, servertest.AdminKey, "GET", "/sdd/template/F", nil)
		env.Must(t, 403, servertest.AdminKey, "PUT", "/sdd/classifier/EMAIL_ADDRESS", map[string]any{"name": "EMAIL_ADDRESS",
			"displayName": "E", "description": "d", "type": "regex", "config": map[string]any{"regex": "@", "tags": []string{"Discovered.E"}}})
		env.Must(t, 403, servertest.AdminKey, "DELETE", "/sdd/classifier/EMAIL_ADDRESS", nil)
		env.Must(t, 422, servertest.AdminKey, "POST", "/sdd/run", map[string]any{"sources": []string{"nope"}})
		env.Must(t, 422, servertest.AdminKey, "POST", "/sdd/run", map[string]any{"all": true, "template": "DEFAULT_FRAMEWORK"})
	})
}

// Text no store keeps (a NUL character) is a 422 naming its field, on both
// backends, and nothing is written.
func TestCatalogRefusesNULInText(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		admin := servertest.AdminKey
		conn := map[string]any{"handler": "Snowflake", "hostname": "acme.snowflakecomputing.com", "database": "CRM",
			"warehouse": "WH", "username": "u", "password": "p"}
		source := func(column, description string) map[string]any {
			return map[string]any{"connectionKey": "crm", "connection": conn, "options": noSDD,
				"sources": []any{map[string]any{"table": "CLIENTS", "schema": "PUBLIC", "description": description,
					"columns": []any{map[string]any{"name": column, "dataType": "text"}}}}}
		}
		check := func(r *servertest.Response, field string) {
			t.Helper()
			if r.Status != 422 || !slices.Equal(fields(t, r), []string{field}) {
				t.Errorf("want a 422 on %s, got %d: %s", field, r.Status, r.Body)
			}
		}
		check(env.Do(t, admin, "POST", "/api/v2/data?wait=-1", source("N\x00OM", "clients")), "sources[0].columns[0].name")
		check(env.Do(t, admin, "POST", "/api/v2/data?wait=-1", source("NOM", "a\x00b")), "sources[0].description")
		if n := countDataSources(t, env); n != 0 {
			t.Fatalf("%d data sources after refused posts", n)
		}
		post(t, env, 200, source("NOM", "clients"))
		id := getDS(t, env, "Public Clients").ID
		check(env.Do(t, admin, "PUT", fmt.Sprintf("/dataSource/%d", id), map[string]any{"description": "x\x00y"}), "description")
		check(env.Do(t, admin, "PUT", fmt.Sprintf("/dictionary/%d", id), map[string]any{"metadata": []any{
			map[string]any{"name": "a\x00", "dataType": "text"}}}), "metadata[0].name")
		check(env.Do(t, admin, "PUT", fmt.Sprintf("/snowflake/handler/%d", id), map[string]any{"handler": map[string]any{
			"metadata": map[string]any{"dataSourceName": "Clients", "columns": []any{map[string]any{"name": "n\x00", "dataType": "text"}}}}}),
			"handler.metadata.columns[0].name")
		check(env.Do(t, admin, "POST", "/redshift/handler", map[string]any{"handler": map[string]any{"metadata": map[string]any{
			"port": 5439, "hostname": "redshift.example.io", "database": "test", "username": "user", "password": "pw",
			"schema": "army", "table": "records", "nativeViewName": "v\x00"}}}), "handler.metadata.nativeViewName")
		if d := getDS(t, env, "Public Clients"); deref(d.Description) != "clients" || len(dictionary(t, env, id).Metadata) != 1 {
			t.Fatalf("a refused change was written: %+v", d)
		}
	})
}

// Names with a NUL character name nothing: lookups by path are 400s (no
// path parameter may hold one) and named references 422s, on both backends.
func TestCatalogLookupsOfNULNames(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		admin := servertest.AdminKey
		for _, path := range []string{"/dataSource/name/a%00b", "/dataSource/sqlTableName/a%00b", "/api/v2/data/a%00b",
			"/api/v2/data/a%00b/sources", "/sdd/template/A%00B", "/sdd/classifier/A%00B"} {
			if r := env.Do(t, admin, "GET", path, nil); r.Status != 400 {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		if r := env.Do(t, admin, "POST", "/sdd/run", map[string]any{"sources": []string{"a\x00b"}}); r.Status != 422 {
			t.Errorf("sdd run: %d %s", r.Status, r.Body)
		}
		r := env.Do(t, admin, "POST", "/sdd/classifier", map[string]any{"name": "X", "displayName": "X", "description": "a\x00b",
			"type": "regex", "config": map[string]any{"regex": "x", "tags": []string{"Discovered.X"}}})
		if r.Status != 422 || !slices.Equal(fields(t, r), []string{"description"}) {
			t.Errorf("identifier: %d %s", r.Status, r.Body)
		}
	})
}
