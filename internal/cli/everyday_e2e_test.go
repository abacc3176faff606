package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server/servertest"
)

// TestEverydayCommands runs the commands for what administrators do every
// day (users, groups, attributes, API keys, tags, access requests,
// whoami) against a real server, with their output, errors and completion.
func TestEverydayCommands(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t).server(env.URL, servertest.AdminKey)

	if got := c.ok("whoami"); !strings.HasPrefix(got, "admin (bim) on "+env.URL+"\nname:        Administrator\npermissions: ADMIN, ") ||
		!strings.HasSuffix(got, ", USER_ADMIN\ngroups:      (none)\n") {
		t.Fatalf("whoami: %q", got)
	}
	check(t, c.ok("whoami", "--outputTemplate", "{{.userid}}"), "admin")

	// Users.
	created := c.ok("user", "create", "Ana", "--name", "Ana Lima", "--email", "ana@example.com", "--sql-user", "ana_role",
		"--permission", "create_data_source")
	if !strings.Contains(created, `"newUser":{`) || !strings.Contains(created, `"userid":"ana"`) || !strings.Contains(created, `"sqlUser":"ana_role"`) ||
		strings.Count(created, "\n") != 1 {
		t.Fatalf("user create: %q", created)
	}
	c.input("correct-horse-battery\n").ok("user", "create", "bob", "--password-stdin")
	check(t, c.ok("user", "list"), "admin\nana\nbob\n")
	check(t, c.ok("user", "list", "an"), "ana\n")
	check(t, c.ok("user", "get", "ana", "--outputTemplate", "{{.profile.sqlUser}} {{.profile.email}} {{index .permissions 0}}"),
		"ana_role ana@example.com CREATE_DATA_SOURCE")
	if got := c.ok("user", "update", "ana", "--email", "ana.lima@example.com"); !strings.Contains(got, `"email":"ana.lima@example.com"`) {
		t.Fatalf("user update: %q", got)
	}
	c.ok("user", "grant", "ana", "GOVERNANCE", "user_admin")
	check(t, c.ok("user", "get", "ana", "--outputTemplate", "{{range .permissions}}{{.}} {{end}}"), "CREATE_DATA_SOURCE GOVERNANCE USER_ADMIN ")
	c.ok("user", "revoke", "ana", "USER_ADMIN")
	check(t, c.ok("user", "get", "ana", "--outputTemplate", "{{range .permissions}}{{.}} {{end}}"), "CREATE_DATA_SOURCE GOVERNANCE ")
	c.input("another-long-password\n").ok("user", "password", "ana")
	env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "ana", "password": "another-long-password"})
	env.Must(t, 200, "", "POST", "/bim/iam/bim/user/authenticate", map[string]any{"username": "bob", "password": "correct-horse-battery"})
	c.ok("user", "disable", "bob")
	check(t, c.ok("user", "list"), "admin\nana\n")
	c.ok("user", "enable", "bob")
	c.fails(1, "Error: status code: 404 message: user \"nobody\" of identity manager \"bim\" does not exist", "user", "get", "nobody")
	c.fails(2, "Error: custos user create needs <userid>", "user", "create")
	c.fails(2, "Error: reading the password from stdin: no answer: the input ended", "user", "password", "ana")

	// Groups and attributes.
	c.ok("group", "create", "HR", "--description", "Human resources")
	c.ok("group", "create", "Finance")
	check(t, c.ok("group", "list"), "Finance\nHR\n")
	c.ok("group", "add", "HR", "bob", "ana")
	check(t, c.ok("group", "members", "HR"), "ana\nbob\n")
	check(t, c.ok("group", "remove", "HR", "ana"), "Removed ana from group HR\n")
	check(t, c.ok("group", "members", "HR"), "bob\n")
	c.fails(1, "Error: ana is not a member of group HR", "group", "remove", "HR", "ana")
	c.ok("attribute", "add", "user", "ana", "Country", "US", "DE")
	c.ok("attribute", "add", "group", "HR", "Department", "HR")
	check(t, c.ok("attribute", "list", "user", "ana"), "Country=DE\nCountry=US\n")
	check(t, c.ok("attribute", "list", "group", "HR"), "Department=HR\n")
	check(t, c.ok("group", "get", "HR", "--outputTemplate", "{{.description}} {{index .bimAuthorizations.Department 0}}"), "Human resources HR")
	c.ok("attribute", "remove", "user", "ana", "Country", "DE")
	c.ok("group", "add", "HR", "ana")
	check(t, c.ok("attribute", "list", "user", "ana", "--effective"), "Country=US\nDepartment=HR\n")
	c.ok("attribute", "remove", "user", "ana", "Country")
	check(t, c.ok("attribute", "list", "user", "ana"), "")
	c.fails(2, `Error: attributes belong to a user or a group, not "project"`, "attribute", "add", "project", "1", "a", "b")
	check(t, c.ok("group", "delete", "Finance"), "Deleted group Finance\n")
	c.fails(1, `Error: status code: 404 message: group "Finance" of identity manager "bim" does not exist`, "group", "get", "Finance")

	// API keys.
	var key struct {
		APIKey string `json:"apikey"`
		KeyID  int64  `json:"keyid"`
	}
	if err := json.Unmarshal([]byte(c.ok("apikey", "create", "--name", "ci")), &key); err != nil || key.APIKey == "" {
		t.Fatalf("apikey create: %v %+v", err, key)
	}
	if withKey := newCLI(t).server(env.URL, key.APIKey); !strings.HasPrefix(withKey.ok("whoami"), "admin (bim)") {
		t.Fatal("the new key does not work")
	}
	if list := c.ok("apikey", "list"); !strings.Contains(list, fmt.Sprintf("%d  ci  last used ", key.KeyID)) {
		t.Fatalf("apikey list: %q", list)
	}
	check(t, c.ok("apikey", "delete", fmt.Sprint(key.KeyID)), `{"revokedTokens":0}`+"\n")
	newCLI(t).server(env.URL, key.APIKey).fails(1,
		"Error: status code: 401 message: the API key or bearer token is not valid (it may have been revoked)", "whoami")
	c.fails(2, `Error: a key id is a number (see custos apikey list), not "ci"`, "apikey", "delete", "ci")

	// Tags, on a data source of a technology custos stores without connecting.
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "warehouse", "connection": map[string]any{
		"handler": "Snowflake", "hostname": "acme.snowflakecomputing.com", "port": 443, "database": "SALES", "warehouse": "W",
		"username": "u", "password": "p"}, "sources": []any{map[string]any{"schema": "PUBLIC", "table": "ORDERS",
		"columns": []any{map[string]any{"name": "ID", "dataType": "integer"}, map[string]any{"name": "EMAIL", "dataType": "text"}}}}})
	c.ok("tag", "create", "PII.Email", "PII.Phone")
	check(t, c.ok("tag", "list", "PII"), "PII\nPII.Email\nPII.Phone\n")
	var page struct {
		Hits []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"hits"`
	}
	env.Admin(t, 200, "GET", "/dataSource?searchText=Orders", nil).JSON(t, &page)
	ds := page.Hits[0]
	c.ok("tag", "add", "datasource", ds.Name, "PII")
	c.ok("tag", "add", "column", fmt.Sprintf("%d_EMAIL", ds.ID), "PII.Email")
	tags := c.ok("api", fmt.Sprintf("dataSource/%d/tags", ds.ID), "--outputTemplate", "{{range .tags}}{{.modelType}}:{{.name}} {{end}}")
	check(t, tags, "datasource:PII column:PII.Email ")
	check(t, c.ok("tag", "remove", "column", fmt.Sprintf("%d_EMAIL", ds.ID), "PII.Email"),
		fmt.Sprintf("Removed tag PII.Email from column %d_EMAIL\n", ds.ID))
	if got := c.ok("tag", "delete", "PII.Phone"); !strings.HasPrefix(got, `[{"id":`) || !strings.Contains(got, `"name":"PII.Phone"`) ||
		!strings.Contains(got, `"deleted":true`) {
		t.Fatalf("tag delete: %q", got)
	}
	c.fails(2, `Error: tags attach to datasource, column, project, user, group, not "table"`, "tag", "add", "table", "x", "PII")

	// Shell completion asks the server for names.
	check(t, c.ok("__complete", "group", "get", ""), "HR\n:4\n")
	check(t, c.ok("__complete", "user", "get", "a"), "admin\nana\n:4\n")
	check(t, c.ok("__complete", "tag", "delete", "PII."), "PII.Email\n:4\n")
	check(t, c.ok("__complete", "user", "grant", "ana", "USER_"), "USER_ADMIN\n:4\n")
	if got := newCLI(t).ok("__complete", "group", "get", ""); got != ":4\n" {
		t.Fatalf("completion without a server: %q", got)
	}
}

// TestRequestAndIntegrationCommands follows an access request from the
// requester to the approver's commands, and an integration into a real
// PostgreSQL database from its payload file to its removal.
func TestRequestAndIntegrationCommands(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Get(t)
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	database := strings.TrimPrefix(u.Path, "/")
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	c.env["PG_PASSWORD"] = pg.Password()
	// custos registers as a role that can only read (a superuser is refused);
	// the integration below administers the database.
	reader, _ := url.Parse(pgtest.NewReader(t, dsn))
	readerPassword, _ := reader.User.Password()
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "shop", "options": map[string]any{
		"disableSensitiveDataDiscovery": true}, "connection": map[string]any{"handler": "PostgreSQL", "hostname": pg.Host(),
		"port": pg.Port(), "database": database, "username": reader.User.Username(), "password": readerPassword, "ssl": false},
		"sources": []any{map[string]any{"schema": "shop", "table": "customers"}, map[string]any{"schema": "shop", "table": "orders"}}})
	env.Admin(t, 200, "POST", "/api/v2/policy", "name: Owners approve\npolicyKey: owners-approve\ntype: subscription\n"+
		"actions: {type: approval, approvals: [{requiredPermission: OWNER}]}\n")

	// Two users ask for access; the owner (the administrator) settles.
	_, erinKey := env.NewUser(t, "erin")
	_, finnKey := env.NewUser(t, "finn")
	customers, orders := dataSourceID(t, env, "Shop Customers"), dataSourceID(t, env, "Shop Orders")
	env.Must(t, 200, erinKey, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", customers), map[string]any{})
	env.Must(t, 200, finnKey, "POST", fmt.Sprintf("/dataSource/subscribe?dataSourceId=%d", orders), map[string]any{})
	list := c.ok("request", "list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.Contains(list, `erin asks for datasource "Shop Customers"`) ||
		!strings.Contains(list, `finn asks for datasource "Shop Orders"`) {
		t.Fatalf("request list: %q", list)
	}
	idOf := func(who string) string {
		for _, l := range lines {
			if strings.Contains(l, who+" asks") {
				return strings.Fields(l)[0]
			}
		}
		t.Fatalf("no request of %s", who)
		return ""
	}
	check(t, c.ok("request", "approve", idOf("erin")), `{"failures":[]}`+"\n")
	c.fails(2, "Error: a denial needs --reason", "request", "deny", idOf("finn"))
	check(t, c.ok("request", "deny", idOf("finn"), "--reason", "ask for the anonymised orders"), `{"failures":[]}`+"\n")
	check(t, c.ok("request", "list"), "")
	r := c.run("request", "approve", idOf("finn"))
	if r.code != 1 || !strings.HasPrefix(r.err, "Error: 1 of 1 requests were not settled: "+idOf("finn")+": ") {
		t.Fatalf("approving a settled request: %+v", r)
	}
	if mine := env.Must(t, 200, erinKey, "GET", "/dataSource/rpc/mine", nil); !strings.Contains(string(mine.Body), "Shop Customers") {
		t.Fatalf("erin's approved access: %s", mine.Body)
	}

	// An integration from a payload file, followed until it synchronised.
	file := writeFile(t, t.TempDir(), "pg.yaml", fmt.Sprintf(`type: PostgreSQL
autoBootstrap: true
config:
  host: %s
  port: %d
  database: %s
  ssl: false
  authenticationType: userPassword
  username: postgres
  password: '{{EnvVar "PG_PASSWORD"}}'
`, pg.Host(), pg.Port(), database))
	dry := c.ok("integration", "create", file, "--dryRun")
	if !strings.Contains(dry, `"dryRun":true`) {
		t.Fatalf("dry run: %s", dry)
	}
	created := c.ok("integration", "create", file, "--wait", "60")
	var in struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(created, "\n", 2)[0]), &in); err != nil || in.ID == "" {
		t.Fatalf("integration create: %q", created)
	}
	check(t, c.ok("integration", "list"), in.ID+"  PostgreSQL  enabled\n")
	check(t, c.ok("integration", "status", in.ID, "--wait", "60", "--outputTemplate", "{{.status}} {{len .dataSources}}"), "enabled 2")
	if got := c.ok("integration", "get", in.ID, "-o", "yaml"); !strings.Contains(got, "password: <REDACTED>") {
		t.Fatalf("integration get shows the password: %s", got)
	}
	check(t, c.ok("__complete", "integration", "status", ""), in.ID+"\n:4\n")
	c.fails(2, `Error: an integration id is a number (see custos integration list), not "pg"`, "integration", "status", "pg")
	del := c.ok("integration", "delete", in.ID)
	if !strings.Contains(del, `"status":"deleting"`) {
		t.Fatalf("integration delete: %s", del)
	}
	c.env["PG_PASSWORD"] = ""
	c.fails(2, "Error: "+file+": config.password: environment variable PG_PASSWORD is not set", "integration", "create", file)
}

// dataSourceID looks a data source up by name.
func dataSourceID(t *testing.T, env *servertest.Env, name string) int64 {
	t.Helper()
	var ds struct {
		ID int64 `json:"id"`
	}
	env.Admin(t, 200, "GET", "/dataSource/name/"+url.PathEscape(name), nil).JSON(t, &ds)
	return ds.ID
}
