package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/cli/clone"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/sample"
	"github.com/custosdata/custos/internal/server/servertest"
)

// TestCloneThenSaveRecreatesTheTenant fills a server through the CLI (a
// registered PostgreSQL schema with discovery, purposes, policies and a
// project), clones it to files, saves every file into a fresh server, and
// checks that both servers hold the same data sources, policies, projects
// and purposes.
func TestCloneThenSaveRecreatesTheTenant(t *testing.T) {
	pg := pgtest.Get(t)
	dsn := pgtest.NewDatabase(t)
	if err := sample.Load(context.Background(), dsn); err != nil {
		t.Fatal(err)
	}
	// custos registers with a role that can only read, never a superuser.
	u, _ := url.Parse(pgtest.NewReader(t, dsn))
	readerPassword, _ := u.User.Password()
	files := t.TempDir()
	write := func(name, content string) string { return writeFile(t, files, name, content) }

	src := servertest.New(t, servertest.SQLite)
	a := newCLI(t).server(src.URL, servertest.AdminKey)
	a.env["SHOP_PASSWORD"] = readerPassword
	a.ok("purpose", "save", write("research.yaml", "name: Research\nacknowledgement: Use the data for research only.\n"))
	a.ok("purpose", "save", write("fraud.yaml", "name: Research.Fraud\ndescription: Fraud analytics.\n"))
	a.ok("datasource", "save", write("shop.yaml", fmt.Sprintf(`connectionKey: shop
connection:
  handler: PostgreSQL
  hostname: 127.0.0.1
  port: %d
  database: %s
  schema: shop
  username: %s
  password: '{{EnvVar "SHOP_PASSWORD"}}'
  ssl: false
nameTemplate:
  dataSourceFormat: <schema> <tablename>
options:
  tableTags: [Shop]
sources:
- table: customers
  schema: shop
  tags:
    columns:
    - columnName: ssn
      tags: [PII.SSN]
- table: orders
  schema: shop
`, pg.Port(), strings.TrimPrefix(u.Path, "/"), u.User.Username())), "--wait", "120")
	a.ok("policy", "save", write("read.yaml", `name: Anyone reads the shop
policyKey: shop readers
type: subscription
actions:
  type: anyone
  automaticSubscription: true
circumstances:
- type: tags
  tag: Shop
`))
	a.ok("policy", "save", write("mask.yaml", `name: Mask SSNs
policyKey: mask ssns
type: data
actions:
- rules:
  - type: Masking
    config:
      fields: [{type: columnTags, columnTag: PII.SSN}]
      maskingConfig: {type: Hash}
    exceptions:
      purposes: [Research.Fraud]
circumstances:
- type: columnTags
  columnTag: PII.SSN
`))
	a.ok("project", "save", write("project.yaml", `name: Fraud Team
projectKey: fraud team
description: Investigates fraud.
purposes: [Research.Fraud]
subscriptionPolicy:
  type: manual
`))

	dir := filepath.Join(t.TempDir(), "tenant")
	a.ok("clone", dir)

	dst := servertest.New(t, servertest.SQLite)
	b := newCLI(t).server(dst.URL, servertest.AdminKey)
	b.env[clone.EnvName("shop", "PASSWORD")] = readerPassword
	// Tags are not part of a clone (as documented); the target has them.
	b.ok("api", "tag", "-X", "POST", "--body", `{"tags":[{"name":"Shop"},{"name":"PII.SSN"}]}`)
	saveAll := func(kind string, extra ...string) {
		entries, err := os.ReadDir(filepath.Join(dir, kind))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		// Parent purposes before their children: fewer dots first.
		sort.SliceStable(names, func(i, j int) bool { return strings.Count(names[i], ".") < strings.Count(names[j], ".") })
		for _, n := range names {
			b.ok(append([]string{kind, "save", filepath.Join(dir, kind, n)}, extra...)...)
		}
	}
	saveAll("purpose")
	saveAll("datasource", "--wait", "120")
	saveAll("policy")
	saveAll("project")

	for path, want := range map[string]string{"/api/v2/purpose": "Research.Fraud", "/api/v2/policy": "mask ssns",
		"/api/v2/project": "fraud team", "/api/v2/data/shop": "PII.SSN"} {
		from, to := v2State(t, a, path), v2State(t, b, path)
		if doc, _ := json.Marshal(from); !strings.Contains(string(doc), want) {
			t.Fatalf("%s of the source lacks %q: %s", path, want, doc)
		}
		if !reflect.DeepEqual(from, to) {
			t.Errorf("%s differs after clone and save:\n source %v\n target %v", path, from, to)
		}
	}
	check(t, b.ok("datasource", "list", "sources", "shop"), a.ok("datasource", "list", "sources", "shop"))
}

// v2State reads a V2 document or list as plain JSON values.
func v2State(t *testing.T, c *cli, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(c.ok("api", strings.TrimPrefix(path, "/"))), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
