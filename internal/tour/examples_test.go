package tour

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/cli/payload"
	"github.com/custosdata/custos/internal/server/servertest"
)

// TestExamplesSave saves every policy-as-code file of examples/ into a real
// server, as `custos <kind> save` sends it: each is a valid document of
// its directory's kind. The tour registers the data source file and shows
// the policies' effect in PostgreSQL.
func TestExamplesSave(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/bim/group", map[string]any{"iamid": "bim", "name": "HR"})
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{
		map[string]any{"name": "Discovered.Entity.Social Security Number"}, map[string]any{"name": "Discovered.Entity.Electronic Mail Address"},
		map[string]any{"name": "Discovered.Entity.Date of Birth"}, map[string]any{"name": "Discovered.Entity.Country"}}})
	saved := 0
	for _, k := range []struct {
		dir  string
		kind payload.Kind
		path string
	}{{"purpose", payload.Purpose, "/api/v2/purpose"}, {"policy", payload.Policy, "/api/v2/policy"},
		{"project", payload.Project, "/api/v2/project"}, {"datasource", payload.DataSource, ""}} {
		files, err := filepath.Glob(filepath.Join("..", "..", "examples", k.dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("examples/%s: %v %v", k.dir, files, err)
		}
		for _, f := range files {
			doc, err := payload.LoadV2(f, k.kind, nil, func(name string) string {
				return map[string]string{"PGHOST": "127.0.0.1", "PGPORT": "5432", "SHOP_READER_PASSWORD": "pw"}[name]
			})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if k.path == "" {
				continue // a connection the tour makes real
			}
			r := env.Admin(t, 200, "POST", k.path, string(doc.JSON()))
			if !strings.Contains(string(r.Body), `"creating":true`) {
				t.Fatalf("%s: %s", f, r.Body)
			}
			saved++
		}
	}
	if saved != 6 {
		t.Fatalf("%d example documents saved", saved)
	}
}
