package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server/servertest"
)

// TestDatasourceAndSDDCommands registers the sample database with the
// datasource commands and runs discovery with the sdd commands, against a
// real server and a real PostgreSQL.
func TestDatasourceAndSDDCommands(t *testing.T) {
	pg := pgtest.Get(t)
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	// custos registers with a role that can only read, never a superuser.
	u, _ := url.Parse(pgtest.NewReader(t, dsn))
	readerPassword, _ := u.User.Password()
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	c.env["SHOP_PASSWORD"] = readerPassword
	file := writeFile(t, t.TempDir(), "shop.yaml", fmt.Sprintf(`connectionKey: shop
connection:
  handler: PostgreSQL
  hostname: 127.0.0.1
  port: %d
  database: %s
  username: %s
  password: '{{EnvVar "SHOP_PASSWORD"}}'
  ssl: false
options:
  disableSensitiveDataDiscovery: true
sources:
- table: customers
  schema: shop
- table: orders
  schema: shop
`, pg.Port(), strings.TrimPrefix(u.Path, "/"), u.User.Username()))

	dry := c.ok("datasource", "save", file, "--dryRun")
	if !strings.Contains(dry, `"dryRun":true`) || !strings.Contains(dry, `"creating":["Shop Customers","Shop Orders"]`) {
		t.Fatalf("dry run: %s", dry)
	}
	check(t, c.ok("datasource", "list", "keys"), "")
	saved := c.ok("datasource", "save", file, "--wait", "60")
	if !strings.Contains(saved, `"dryRun":false`) || !strings.Contains(saved, `"creating":["Shop Customers","Shop Orders"]`) {
		t.Fatalf("save: %s", saved)
	}
	check(t, c.ok("datasource", "list", "keys"), "shop\n")
	check(t, c.ok("datasource", "list", "sources", "shop"), "Shop Customers\nShop Orders\n")
	again := c.ok("datasource", "save", file, "--wait", "60")
	if !strings.Contains(again, `"noChange":["Shop Customers","Shop Orders"]`) {
		t.Fatalf("re-save: %s", again)
	}

	// Discovery through the CLI tags the sensitive columns of customers.
	run := c.ok("sdd", "run", "Shop Customers")
	if !strings.HasPrefix(run, "Running SDD\nShop Customers  ") || !strings.Contains(run, "completed") {
		t.Fatalf("sdd run: %q", run)
	}
	id := c.ok("api", "dataSource/name/Shop Customers", "--outputTemplate", "{{.id}}")
	cols := c.ok("api", "dictionary/"+id, "--outputTemplate", `{{range .metadata}}{{.name}}={{.tags}}{{"\n"}}{{end}}`)
	for _, want := range []string{"Discovered.Entity.Electronic Mail Address", "Discovered.Entity.Social Security Number"} {
		if !strings.Contains(cols, want) {
			t.Fatalf("discovery did not tag %s:\n%s", want, cols)
		}
	}
	search := c.ok("sdd", "classifier", "search", "EMAIL")
	if !strings.Contains(search, "EMAIL_ADDRESS") {
		t.Fatalf("classifier search: %s", search)
	}

	// The reference's `immuta api` examples of schema monitoring, with -d
	// fields and with a JSON body.
	for _, args := range [][]string{{"-d", "table=customers", "-d", "database=" + strings.TrimPrefix(u.Path, "/")},
		{"--body", `{"table": "customers", "database": "` + strings.TrimPrefix(u.Path, "/") + `"}`}} {
		out := c.ok(append([]string{"api", "dataSource/detectRemoteChanges", "-X", "PUT"}, args...)...)
		if !strings.Contains(out, `"bulkId":`) || !strings.Contains(out, `"schemaDetection":{"jobs":["`) {
			t.Fatalf("detectRemoteChanges %v: %s", args, out)
		}
	}
	keys := c.ok("datasource", "list", "keys", "-v")
	if !strings.HasPrefix(keys, "[\n  {\n    \"connectionKey\": \"shop\",\n") {
		t.Fatalf("list keys -v: %q", keys)
	}
	c.fails(2, `Error: unknown command "bogus" for "custos datasource list"`, "datasource", "list", "bogus")
	c.fails(2, "Error: custos datasource rename needs <new connection key>", "datasource", "rename", "old")

	check(t, c.ok("datasource", "rename", "shop", "shop-main"), `{"oldConnectionKey":"shop","newConnectionKey":"shop-main"}`+"\n")
	check(t, c.ok("datasource", "delete", "shop-main", "--dryRun"), `{"dryRun":true,"deleting":["Shop Customers","Shop Orders"]}`+"\n")
	check(t, c.ok("datasource", "delete", "shop-main"), `{"dryRun":false,"deleting":["Shop Customers","Shop Orders"]}`+"\n")
	c.fails(1, `Error: status code: 404 message: The connection key "shop-main" was not found`, "datasource", "list", "sources", "shop-main")

	// A wrong password is refused with the field to fix; nothing is registered.
	c.env["SHOP_PASSWORD"] = "wrong"
	r := c.run("datasource", "save", file)
	if r.code != 1 || !strings.Contains(r.err, "status code: 422") || !strings.Contains(r.err, "password") {
		t.Fatalf("wrong password: %+v", r)
	}
	check(t, c.ok("datasource", "list", "keys"), "")
}
