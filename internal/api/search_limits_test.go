package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// A search takes a bounded number of values per filter: more is a 400
// naming the parameter, not a statement the store cannot run.
func TestDataSourceSearchBoundsItsFilters(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		conn := map[string]any{"handler": "Snowflake", "hostname": "acme.snowflakecomputing.com", "database": "CRM",
			"warehouse": "WH", "username": "u", "password": "p"}
		post(t, env, 200, map[string]any{"connectionKey": "crm", "connection": conn, "options": noSDD,
			"sources": []any{map[string]any{"table": "CLIENTS", "schema": "PUBLIC",
				"columns": []any{map[string]any{"name": "NOM", "dataType": "text"}}}}})
		query := func(param string, n int) string {
			var q strings.Builder
			for i := range n {
				fmt.Fprintf(&q, "%s=v%d&", param, i+1)
			}
			return "/dataSource?" + q.String() + "size=1"
		}
		for _, param := range []string{"tag", "column", "connectionString", "blobHandlerType"} {
			if r := env.Do(t, servertest.AdminKey, "GET", query(param, 100), nil); r.Status != 200 {
				t.Errorf("100 × %s: %d %.300s", param, r.Status, r.Body)
			}
			if r := env.Do(t, servertest.AdminKey, "GET", query(param, 1000), nil); r.Status != 400 || !strings.Contains(string(r.Body), param) {
				t.Errorf("1000 × %s: %d %.300s", param, r.Status, r.Body)
			}
		}
		ids := strings.Replace(query("dataSourceIds", 1000), "=v", "=", -1)
		if r := env.Do(t, servertest.AdminKey, "GET", ids, nil); r.Status != 200 {
			t.Errorf("1000 ids: %d %.300s", r.Status, r.Body)
		}
		ids = strings.Replace(query("dataSourceIds", 1001), "=v", "=", -1)
		if r := env.Do(t, servertest.AdminKey, "GET", ids, nil); r.Status != 400 {
			t.Errorf("1001 ids: %d %.300s", r.Status, r.Body)
		}
	})
}
