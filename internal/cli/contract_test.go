package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// The contract tests run the reference's documented commands against a real
// custos server and assert their exact output.

const dataSourceFile = `connectionKey: 'a connection key'
connection:
  ssl: true
  port: 5432
  hostname: immuta.db.com
  database: public
  schema: public
  username: user
  password: '{{EnvVar "myPassword"}}'
  handler: Snowflake
`

const policyFile = `name: Conditional Masking
policyKey: data conditional masking
type: data
actions:
- rules:
  - type: Masking
    config:
      fields:
      - type: columnTags
        columnTag: Discovered.Passport
      conditionalPredicate: "@columnTagged('Discovered.Country') = 'USA'"
      maskingConfig:
        type: Hash
circumstanceOperator: all
circumstances:
- type: columnTags
  columnTag: Discovered.Passport
- type: columnTags
  columnTag: Discovered.Country
`

// TestContractPolicy runs every documented policy command against a real
// server.
func TestContractPolicy(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Discovered.Passport"},
		map[string]any{"name": "Discovered.Country"}}})
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	dir := t.TempDir()
	file := writeFile(t, dir, "test-policy.yml", policyFile)
	other := writeFile(t, dir, "other-policy.yml", "name: Test\npolicyKey: Test\ntype: subscription\nactions:\n  type: anyone\n  description: Rationale\ncircumstances:\n- type: tags\n  tag: Discovered\n")
	out := filepath.Join(dir, "policy-folder")
	check(t, c.ok("policy", "list"), "")
	check(t, c.ok("policy", "save", file), `{"dryRun":false,"creating":true,"updating":false,"policyId":1}`+"\n")
	check(t, c.ok("policy", "save", file, "--dryRun", "--reCertify"), `{"dryRun":true,"creating":false,"updating":true,"policyId":1}`+"\n")
	check(t, c.ok("policy", "list"), "data conditional masking\n")
	check(t, c.ok("policy", "rename", "data conditional masking", "Data Masking"), `{"oldPolicyKey":"data conditional masking","newPolicyKey":"Data Masking"}`+"\n")
	check(t, c.ok("policy", "save", other), `{"dryRun":false,"creating":true,"updating":false,"policyId":2}`+"\n")
	check(t, c.ok("policy", "clone", out), "Cloning all global policies...\nCloning: Data Masking to "+filepath.Join(out, "policy", "Data Masking.yaml")+
		"\nCloning: Test to "+filepath.Join(out, "policy", "Test.yaml")+"\n")
	data, err := os.ReadFile(filepath.Join(out, "policy", "Test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, string(data), "policyKey: Test\nname: Test\ntype: subscription\nactions:\n  type: anyone\n  automaticSubscription: false\n  allowDiscovery: false\n  description: Rationale\ncircumstances:\n- type: tags\n  tag: Discovered\nstaged: false\n")
	// A cloned file saves back as the same policy.
	check(t, c.ok("policy", "save", filepath.Join(out, "policy", "Data Masking.yaml")), `{"dryRun":false,"creating":false,"updating":true,"policyId":1}`+"\n")
	check(t, c.ok("policy", "delete", "Data Masking", "--dryRun"), `{"dryRun":true,"deleting":"Data Masking"}`+"\n")
	check(t, c.ok("policy", "delete", "Data Masking"), `{"dryRun":false,"deleting":"Data Masking"}`+"\n")
	check(t, c.ok("policy", "list"), "Test\n")
	c.fails(1, `Error: status code: 404 message: the policy key "Data Masking" was not found`, "policy", "delete", "Data Masking")
	// The clone directory is not empty any more: refused before any request.
	c.fails(2, "Error: the output directory "+out+" is not empty: use --force to overwrite files in it", "policy", "clone", out)
}

func check(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("output\n got %q\nwant %q", got, want)
	}
}

const projectFile = `name: Demo Project
projectKey: demo project
description: "Users need approval to join this project"
allowMaskedJoins: true
subscriptionPolicy:
    type: approval
    approvals:
    - requiredPermission: GOVERNANCE
      specificApproverRequired: false
    - requiredPermission: ADMIN
      specificApproverRequired: false
`

// TestContractProject runs every documented project command against a
// real server ("Public" stands for the reference's pre-existing project).
func TestContractProject(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/api/v2/project", "name: Public\nprojectKey: Public\n")
	env.Admin(t, 200, "POST", "/api/v2/project", "name: Other\nprojectKey: Other\n")
	env.Admin(t, 200, "DELETE", "/api/v2/project/Other?hardDelete=true", nil)
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	file := writeFile(t, t.TempDir(), "test-project.yml", projectFile)
	saved := `{"dryRun":false,"creating":true,"updating":false,"numberOfDataSourcesAdded":0,"numberOfDataSourcesRemoved":0,"creatingWorkspace":false,"deletingWorkspace":false,"projectId":3}`
	check(t, c.ok("project", "list"), "Public\n")
	check(t, c.ok("project", "save", file), saved+"\n")
	check(t, c.ok("project", "save", file, "-d", "--deleteWorkSpaceDataSources"),
		`{"dryRun":true,"creating":false,"updating":true,"numberOfDataSourcesAdded":0,"numberOfDataSourcesRemoved":0,"creatingWorkspace":false,"deletingWorkspace":false,"projectId":3}`+"\n")
	check(t, c.ok("project", "rename", "demo project", "Data Analytics Team"), `{"oldProjectKey":"demo project","newProjectKey":"Data Analytics Team"}`+"\n")
	check(t, c.ok("project", "delete", "Data Analytics Team"), `{"dryRun":false,"deleting":"Data Analytics Team"}`+"\n")
	check(t, c.ok("project", "list"), "Data Analytics Team\nPublic\n")
	check(t, c.ok("project", "delete", "Data Analytics Team", "--hardDelete"), `{"dryRun":false,"deleting":"Data Analytics Team"}`+"\n")
	check(t, c.ok("project", "list"), "Public\n")
	c.fails(1, `Error: status code: 404 message: the project key "Data Analytics Team" was not found`, "project", "delete", "Data Analytics Team")
	c.fails(1, "Error: status code: 422 message: workspace: custos does not support project workspaces (Databricks, Snowflake); leave workspace out",
		"project", "save", writeFile(t, t.TempDir(), "ws.yml", "name: W\nprojectKey: w\nworkspace: {type: snowflake, config: {schema: S}}\n"))

	// A cloned project saves back as the same project.
	env.Admin(t, 200, "POST", "/api/v2/purpose", "name: Use Purposes\nacknowledgement: You promise to be good\n")
	env.Admin(t, 200, "POST", "/api/v2/project", "name: Anyone Project\nprojectKey: Anyone project\ndocumentation: \"# Anyone Can See This\"\n"+
		"subscriptionPolicy: {type: anyone, automaticSubscription: true}\ntags: [Discovered.Person Name]\npurposes: [Use Purposes]\nequalization: true\n")
	before := string(env.Admin(t, 200, "GET", "/api/v2/project/Anyone%20project", nil).Body)
	dir := filepath.Join(t.TempDir(), "tenant")
	c.ok("clone", dir)
	cloned := filepath.Join(dir, "project", "Anyone project.yaml")
	if out := c.ok("project", "save", cloned); !strings.Contains(out, `"creating":false,"updating":true`) {
		t.Fatalf("saving a cloned project: %s", out)
	}
	if after := string(env.Admin(t, 200, "GET", "/api/v2/project/Anyone%20project", nil).Body); after != before {
		t.Fatalf("a cloned project saved back differs:\n%s\n%s", before, after)
	}
}

// TestContractPurpose runs every documented purpose command against a real
// server.
func TestContractPurpose(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	file := writeFile(t, t.TempDir(), "test-purpose.yml", "name: Demo Purpose\nacknowledgement: You promise not to share this data outside the project.\ndescription: This project is only to be used for departmental data.\n")
	check(t, c.ok("purpose", "list"), "Re-identification Prohibited\nRe-identification Prohibited.CCPA\nRe-identification Prohibited.Safe Harbor Method\nUse Case Outside De-identification\n")
	check(t, c.ok("purpose", "save", file), `{"dryRun":false,"creating":true,"updating":false,"purposeId":5}`+"\n")
	check(t, c.ok("purpose", "save", file, "--reAcknowledge"), `{"dryRun":false,"creating":false,"updating":true,"purposeId":5}`+"\n")
	check(t, c.ok("purpose", "list"), "Demo Purpose\nRe-identification Prohibited\nRe-identification Prohibited.CCPA\nRe-identification Prohibited.Safe Harbor Method\nUse Case Outside De-identification\n")
	check(t, c.ok("purpose", "delete", "Demo Purpose", "--dryRun"), `{"dryRun":true,"deleting":["Demo Purpose"]}`+"\n")
	check(t, c.ok("purpose", "delete", "Demo Purpose"), `{"dryRun":false,"deleting":["Demo Purpose"]}`+"\n")
	c.fails(1, `Error: status code: 404 message: purpose "Demo Purpose" does not exist`, "purpose", "delete", "Demo Purpose")
}

// TestContractAPIExamples runs the `immuta api` example of the current
// project; the other examples run in TestDatasourceAndSDDCommands, where a
// database is registered.
func TestContractAPIExamples(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/api/v2/project", "name: First\nprojectKey: first\n")
	real := newCLI(t).server(env.URL, servertest.AdminKey)
	check(t, real.ok("api", "project/current/{projectId}", "-P", "projectId=1", "-X", "POST"), `{"projectId":1}`+"\n")
	check(t, real.ok("api", "project/current/1", "-X", "POST"), `{"projectId":1}`+"\n")
	check(t, real.ok("api", "project/current/null", "-X", "POST"), `{"projectId":null}`+"\n")

}

// TestContractSDD runs the documented sdd commands against a real server,
// on data sources of a technology custos stores without connecting (their
// columns are scored by name and type).
func TestContractSDD(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "warehouse", "options": map[string]any{
		"disableSensitiveDataDiscovery": true}, "connection": map[string]any{"handler": "Snowflake",
		"hostname": "acme.snowflakecomputing.com", "port": 443, "database": "SALES", "warehouse": "W", "username": "u", "password": "p"},
		"sources": []any{
			map[string]any{"schema": "PUBLIC", "table": "CUSTOMERS", "naming": map[string]any{"datasource": "Datasource One"},
				"columns": []any{map[string]any{"name": "id", "dataType": "integer"}, map[string]any{"name": "email_address", "dataType": "text"}}},
			map[string]any{"schema": "PUBLIC", "table": "PRODUCTS", "naming": map[string]any{"datasource": "Datasource Two"},
				"columns": []any{map[string]any{"name": "sku", "dataType": "text"}}}}})
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	dir := t.TempDir()
	classifierFile := writeFile(t, dir, "account-classifier.json", `{"name":"MY_REGEX_IDENTIFIER","displayName":"My Regex Identifier","description":"A regex identifier","type":"regex","config":{"regex":"^[A-Z][a-z]+","tags":["Discovered.regex-example"]}}`)
	nameFile := writeFile(t, dir, "name-classifier.yaml", "name: MY_COLUMN_NAME_IDENTIFIER\ndisplayName: My Column Name Identifier\n"+
		"description: A column name identifier\ntype: columnNameRegex\nconfig:\n  columnNameRegex: e-?mail\n  tags: [Discovered.email-column]\n")
	templateFile := writeFile(t, dir, "framework.yaml", "name: ACCOUNT_NUMBERS_FRAMEWORK\ndisplayName: Account Numbers Framework\n"+
		"description: This framework contains the identifier that recognizes account numbers.\nclassifiers:\n- name: MY_REGEX_IDENTIFIER\n"+
		"- name: MY_COLUMN_NAME_IDENTIFIER\n")

	// A dry run with another template tags nothing and says what it would.
	check(t, c.ok("sdd", "classifier", "create", classifierFile), "Creating classifier from "+classifierFile+"...\nCreate successful.\n")
	c.ok("sdd", "classifier", "create", nameFile)
	check(t, c.ok("sdd", "template", "create", templateFile), "Creating template from "+templateFile+"...\nCreate successful.\n")
	dry := c.ok("sdd", "run", "Datasource One", "Datasource Two", "--dryRun", "--template", "ACCOUNT_NUMBERS_FRAMEWORK")
	if !strings.HasPrefix(dry, "Running SDD\nDatasource One  ") || !strings.Contains(dry, "  completed\n    email_address: Discovered.email-column\nDatasource Two  ") {
		t.Fatalf("dry run: %q", dry)
	}
	if tags := env.Admin(t, 200, "GET", fmt.Sprintf("/dataSource/%d/tags", dataSourceID(t, env, "Datasource One")), nil); strings.Contains(string(tags.Body), "Discovered") {
		t.Fatalf("a dry run tagged: %s", tags.Body)
	}
	run := c.ok("sdd", "run", "Datasource One")
	if !strings.HasPrefix(run, "Running SDD\nDatasource One  ") || !strings.HasSuffix(run, "  completed\n") {
		t.Fatalf("sdd run: %q", run)
	}
	// All data sources: confirmed on a terminal, or --force; the server
	// answers how many jobs it started.
	r := c.terminal().input("y\n").run("sdd", "run")
	if r.code != 0 || r.out != "Running SDD\nStarted 2 SDD jobs\n" || !strings.Contains(r.err, "Run sensitive data discovery on ALL data sources? [y/N]: ") {
		t.Fatalf("sdd run (confirmed): %+v", r)
	}
	check(t, c.ok("sdd", "run", "--force", "--wait", "0"), "Running SDD\nStarted 2 SDD jobs\n")
	check(t, c.ok("sdd", "run", "Datasource Two", "-w", "10", "--outputTemplate", "{{range $k, $v := .}}{{$k}}={{$v.state}}{{end}}"), "Datasource Two=completed")
	check(t, c.ok("sdd", "template", "search", "--classifiers=MY_COLUMN_NAME_IDENTIFIER"),
		"Searching all templates...\nACCOUNT_NUMBERS_FRAMEWORK This framework contains the identifier that recognizes account numbers.\nDisplaying 1 of 1 templates\n")
	got := c.ok("sdd", "template", "get", "ACCOUNT_NUMBERS_FRAMEWORK")
	if !strings.HasPrefix(got, "Getting template ACCOUNT_NUMBERS_FRAMEWORK...\n{\n  \"") || !strings.Contains(got, `"displayName": "Account Numbers Framework"`) {
		t.Fatalf("template get: %s", got)
	}
	if got := c.ok("sdd", "template", "global"); !strings.HasPrefix(got, "Getting global template...\n{\n") || !strings.Contains(got, "DEFAULT_FRAMEWORK") {
		t.Fatalf("template global: %s", got)
	}
	r = c.run("sdd", "classifier", "get", "MY_REGEX_IDENTIFIER", "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.out, "name: MY_REGEX_IDENTIFIER\n") || r.err != "Getting classifier MY_REGEX_IDENTIFIER...\n" {
		t.Fatalf("classifier get -o yaml: %+v", r)
	}
	ls := c.ok("sdd", "classifier", "ls", "MY_REGEX", "--limit", "5", "--order", "desc", "-s", "name", "--type", "regex")
	check(t, ls, "Searching all classifiers...\nMY_REGEX_IDENTIFIER A regex identifier\nDisplaying 1 of 1 classifiers\n")
	check(t, c.ok("sdd", "classifier", "update", "MY_REGEX_IDENTIFIER", classifierFile),
		"Updating classifier MY_REGEX_IDENTIFIER from "+classifierFile+"...\nUpdate successful.\n")
	c.fails(1, "Error: status code: 409 message: identifier MY_REGEX_IDENTIFIER is used by the frameworks ACCOUNT_NUMBERS_FRAMEWORK; remove it from them first",
		"sdd", "classifier", "delete", "MY_REGEX_IDENTIFIER")
	check(t, c.ok("sdd", "template", "delete", "ACCOUNT_NUMBERS_FRAMEWORK"), "Deleting template ACCOUNT_NUMBERS_FRAMEWORK...\nDelete successful.\n")
	check(t, c.ok("sdd", "classifier", "delete", "MY_REGEX_IDENTIFIER"), "Deleting classifier MY_REGEX_IDENTIFIER...\nDelete successful.\n")
	id := c.ok("sdd", "classifier", "get", "EMAIL_ADDRESS", "--outputTemplate", "{{.id}}")
	if _, err := strconv.Atoi(id); err != nil {
		t.Fatalf("classifier id: %q", id)
	}

	// Refusals: nothing is sent.
	before := env.Requests()
	c.fails(2, "Error: running SDD on all data sources needs a confirmation and stdin is not a terminal: pass --force, or name the data sources", "sdd", "run")
	if r := c.terminal().input("n\n").run("sdd", "run", "-d"); r.code != 1 || !strings.HasSuffix(r.err, "? [y/N]: Error: cancelled: SDD was not run\n") {
		t.Fatalf("declined: %+v", r)
	}
	c.fails(2, "Error: --template can only be used with --dryRun", "sdd", "run", "x", "--template", "T")
	c.fails(2, `Error: --output must be json or yaml, not "xml"`, "sdd", "run", "x", "-o", "xml")
	c.fails(2, "Error: "+templateFile+" is an SDD template (it has classifiers), not a classifier: use `custos sdd template`", "sdd", "classifier", "create", templateFile)
	c.fails(2, "Error: "+classifierFile+" is an SDD classifier (it has type/config), not a template: use `custos sdd classifier`", "sdd", "template", "create", classifierFile)
	c.fails(2, `Error: --sort must be one of id, name, displayName, type, createdAt, updatedAt, not "size"`, "sdd", "template", "search", "-s", "size")
	if n := env.Requests() - before; n != 0 {
		t.Fatalf("refused commands sent %d requests", n)
	}
}
