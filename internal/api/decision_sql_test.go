package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// TestDecisionShowsTheRenderedSQL checks that a user's effective plan comes
// with the PostgreSQL its data source renders to, named as the governing
// integration names things.
func TestDecisionShowsTheRenderedSQL(t *testing.T) {
	remote := sampleRemote(t)
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "shop",
		"connection": remote.with("schema", "shop"), "options": map[string]any{"disableSensitiveDataDiscovery": true},
		"sources": []any{map[string]any{"schema": "shop", "table": "customers"}}})
	ds := env.Admin(t, 200, "GET", "/dataSource/name/Shop%20Customers", nil).Map(t)
	id := int64(ds["id"].(float64))
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "PII.SSN"}}})
	env.Admin(t, 200, "POST", fmt.Sprintf("/tag/column/%d_ssn", id), []any{map[string]any{"name": "PII.SSN"}})
	env.Admin(t, 200, "POST", "/api/v2/policy", `name: Hash SSNs
policyKey: hash ssns
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: Hash}
`)
	uid, _ := env.NewUser(t, "analyst@example.com")
	path := fmt.Sprintf("/dataSource/%d/users/%d/decision", id, uid)
	sql := env.Admin(t, 200, "GET", path, nil).Map(t)["sql"].(map[string]any)
	view := sql["view"].(string)
	if sql["integrationId"] != nil || !strings.HasPrefix(view, `CREATE VIEW "shop_governed"."customers"`) ||
		!strings.Contains(view, `"custos"."mask_hash"(src."ssn"`) || !strings.Contains(view, `AS "ssn"`) {
		t.Fatalf("rendered SQL without an integration: %v", sql)
	}
	// With an integration governing the database, its names are used.
	// The integration administers the database (the data sources only read it).
	admin := superuserConn(t, remote)
	in := env.Admin(t, 200, "POST", "/integrations", map[string]any{"type": "PostgreSQL", "autoBootstrap": true,
		"config": map[string]any{"host": remote.conn["hostname"], "port": remote.conn["port"], "database": remote.conn["database"],
			"ssl": false, "authenticationType": "userPassword", "username": admin["username"],
			"password": admin["password"], "viewSchemaFormat": "<schema>_safe"}}).Map(t)
	sql = env.Admin(t, 200, "GET", path, nil).Map(t)["sql"].(map[string]any)
	if fmt.Sprint(sql["integrationId"]) != fmt.Sprint(in["id"]) || !strings.HasPrefix(sql["view"].(string), `CREATE VIEW "shop_safe"."customers"`) {
		t.Fatalf("rendered SQL with integration %v: %v", in["id"], sql)
	}
}
