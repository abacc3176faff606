package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// The Contract tests run the commands whose endpoints the server does not
// serve yet against a stand-in that checks every request (method, escaped
// path, query, body) and answers with the reference's example responses;
// they assert the exact output of every example of the reference. When the
// endpoints land, point them at servertest instead (as the policy, purpose
// and project tests are).

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

const dataSourceJSON = `{"connectionKey":"a connection key","connection":{"ssl":true,"port":5432,"hostname":"immuta.db.com",
	"database":"public","schema":"public","username":"user","password":"hunter2","handler":"Snowflake"}}`

const creatingFour = `"creating":["Public Credit Accounts","Public Credit Transactions","Public Fake Medical Claims 2017","Public Uciml Census Income Enriched"]`

func TestContractDatasource(t *testing.T) {
	s := newContract(t)
	c := s.cli()
	c.env["myPassword"] = "hunter2"
	file := writeFile(t, t.TempDir(), "test.yml", dataSourceFile)
	const key = "snowflake.demo-databases.your.url.com:3306/public/public"
	s.on(
		expect{method: "POST", path: "/api/v2/data", query: "dryRun=true", body: dataSourceJSON,
			answer: `{"dryRun": true, ` + creatingFour + `, "updating": [], "deleting": [], "noChange": [], "detectionRunning": false, "tagsUpdated": false, "connectionString": null}`},
		expect{method: "POST", path: "/api/v2/data", query: "wait=5", body: dataSourceJSON,
			answer: `{"dryRun":false,` + creatingFour + `,"updating":[],"deleting":[],"noChange":[],"detectionRunning":false,"tagsUpdated":false,"connectionString":"user@demo-databases.your.url.com:3306/public"}`},
		expect{method: "GET", path: "/api/v2/data",
			answer: `[{"connectionKey":"` + key + `","connectionString":"user@demo-databases.your.url.com:3306/public","dataSources":4}]`},
		expect{method: "POST", path: "/api/v2/data/snowflake.demo-databases.your.url.com:3306%2Fpublic%2Fpublic/rename",
			body: `{"newConnectionKey":"demonstration"}`, answer: `{"oldConnectionKey":"` + key + `","newConnectionKey":"demonstration"}`},
		expect{method: "DELETE", path: "/api/v2/data/demonstration",
			answer: `{"dryRun":false,"deleting":["Public Credit Transactions","Public Credit Accounts","Public Uciml Census Income Enriched","Public Fake Medical Claims 2017"]}`},
		expect{method: "GET", path: "/api/v2/data/demonstration/sources", status: 404,
			answer: `{"statusCode":404,"error":"Not Found","message":"The connection key \"demonstration\" was not found"}`},
		expect{method: "GET", path: "/api/v2/data/a%20connection%20key/sources", answer: `["Public Credit Accounts","Public Credit Transactions"]`},
		expect{method: "DELETE", path: "/api/v2/data/a%20connection%20key", query: "dryRun=true", answer: `{"dryRun":true,"deleting":["Public Credit Accounts"]}`},
		expect{method: "GET", path: "/api/v2/data", answer: `[{"connectionKey":"k","connectionString":null,"dataSources":0}]`},
	)
	want := func(got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("output\n got %q\nwant %q", got, want)
		}
	}
	want(c.ok("datasource", "save", file, "--dryRun"),
		`{"dryRun":true,`+creatingFour+`,"updating":[],"deleting":[],"noChange":[],"detectionRunning":false,"tagsUpdated":false,"connectionString":null}`+"\n")
	want(c.ok("datasource", "save", file, "--wait", "5"),
		`{"dryRun":false,`+creatingFour+`,"updating":[],"deleting":[],"noChange":[],"detectionRunning":false,"tagsUpdated":false,"connectionString":"user@demo-databases.your.url.com:3306/public"}`+"\n")
	want(c.ok("datasource", "list", "keys"), key+"\n")
	want(c.ok("datasource", "rename", key, "demonstration"), `{"oldConnectionKey":"`+key+`","newConnectionKey":"demonstration"}`+"\n")
	want(c.ok("datasource", "delete", "demonstration"),
		`{"dryRun":false,"deleting":["Public Credit Transactions","Public Credit Accounts","Public Uciml Census Income Enriched","Public Fake Medical Claims 2017"]}`+"\n")
	c.fails(1, `Error: status code: 404 message: The connection key "demonstration" was not found`, "datasource", "list", "sources", "demonstration")
	want(c.ok("datasource", "list", "sources", "a connection key"), "Public Credit Accounts\nPublic Credit Transactions\n")
	want(c.ok("datasource", "delete", "a connection key", "-d"), `{"dryRun":true,"deleting":["Public Credit Accounts"]}`+"\n")
	want(c.ok("datasource", "list", "keys", "-v"), "[\n  {\n    \"connectionKey\": \"k\",\n    \"connectionString\": null,\n    \"dataSources\": 0\n  }\n]\n")
	s.done()

	c.fails(2, `Error: unknown command "bogus" for "custos datasource list"`, "datasource", "list", "bogus")
	c.fails(2, "Error: custos datasource rename needs <new connection key>", "datasource", "rename", "old")
	s.done()
}

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

const policyJSON = `{"name":"Conditional Masking","policyKey":"data conditional masking","type":"data","actions":[{"rules":[{"type":"Masking",
	"config":{"fields":[{"type":"columnTags","columnTag":"Discovered.Passport"}],"conditionalPredicate":"@columnTagged('Discovered.Country') = 'USA'",
	"maskingConfig":{"type":"Hash"}}}]}],"circumstanceOperator":"all","circumstances":[{"type":"columnTags","columnTag":"Discovered.Passport"},
	{"type":"columnTags","columnTag":"Discovered.Country"}]}`

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

const projectJSON = `{"name":"Demo Project","projectKey":"demo project","description":"Users need approval to join this project",
	"allowMaskedJoins":true,"subscriptionPolicy":{"type":"approval","approvals":[{"requiredPermission":"GOVERNANCE","specificApproverRequired":false},
	{"requiredPermission":"ADMIN","specificApproverRequired":false}]}}`

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

// TestContractAPIExamples runs the `immuta api` examples: the current
// project against a real server, the others against the stand-in.
func TestContractAPIExamples(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	env.Admin(t, 200, "POST", "/api/v2/project", "name: First\nprojectKey: first\n")
	real := newCLI(t).server(env.URL, servertest.AdminKey)
	check(t, real.ok("api", "project/current/{projectId}", "-P", "projectId=1", "-X", "POST"), `{"projectId":1}`+"\n")
	check(t, real.ok("api", "project/current/1", "-X", "POST"), `{"projectId":1}`+"\n")
	check(t, real.ok("api", "project/current/null", "-X", "POST"), `{"projectId":null}`+"\n")

	s := newContract(t)
	c := s.cli()
	s.on(
		expect{method: "PUT", path: "/dataSource/detectRemoteChanges", body: `{"table":"tableName","schema":"schemaName"}`, answer: `{"jobs":1}`},
		expect{method: "PUT", path: "/dataSource/detectRemoteChanges", body: `{"table":"tableName","schema":"schemaName"}`, answer: `{"jobs":1}`},
		expect{method: "POST", path: "/dataSource", query: "verbose=1", body: `{"n":1,"ok":true,"none":null,"zip":"007","s":"true","arr":[1,"x"]}`, answer: `{}`},
	)
	check(t, c.ok("api", "dataSource/detectRemoteChanges", "-X", "PUT", "-d", "table=tableName", "-d", "schema=schemaName"), `{"jobs":1}`+"\n")
	check(t, c.ok("api", "dataSource/detectRemoteChanges", "-X", "PUT", "--body", `{"table": "tableName", "schema": "schemaName"}`), `{"jobs":1}`+"\n")
	c.ok("api", "/dataSource", "-q", "verbose=1", "-d", "n=1", "-d", "ok=true", "-d", "none=null", "-d", "zip=007",
		"--raw-data", "s=true", "-d", "arr[]=1", "--data-raw", "arr[]=x")
	s.done()
}

func TestContractSDD(t *testing.T) {
	s := newContract(t)
	c := s.cli()
	dir := t.TempDir()
	framework := `{"name":"ACCOUNT_NUMBERS_FRAMEWORK","displayName":"Account Numbers Framework","description":"This framework contains the identifier that recognizes account numbers.","createdBy":{"id":1,"name":"Example User","email":"user@example.com"},"id":2,"createdAt":"2022-03-28T15:48:02.977Z","updatedAt":"2022-03-28T15:48:02.977Z","classifiers":[{"name":"ACCOUNT_NUMBER_IDENTIFIER","overrides":{}}]}`
	identifier := `{"createdBy":{"id":1,"name":"Example User","email":"user@example.com"},"name":"ACCOUNT_NUMBER_IDENTIFIER","displayName":"Account Number Identifier","description":"This identifier recognizes account numbers using a regex criteria.","type":"regex","config":{"tags":["Discovered.account-number"],"regex":"^[0-9]{9}-[0-9]{3}-[0-9]{1}$"},"id":69,"createdAt":"2022-03-28T14:52:14.004Z","updatedAt":"2022-03-28T15:25:28.575Z"}`
	classifierFile := writeFile(t, dir, "account-classifier.json", `{"name":"MY_REGEX_IDENTIFIER","displayName":"My Regex Identifier","description":"A regex identifier","type":"regex","config":{"regex":"^[A-Z][a-z]+","tags":["Discovered.regex-example"]}}`)
	templateFile := writeFile(t, dir, "framework.yaml", "name: ACCOUNT_NUMBERS_FRAMEWORK\ndisplayName: Account Numbers Framework\ndescription: This framework contains the identifier that recognizes account numbers.\nclassifiers:\n- name: ACCOUNT_NUMBER_IDENTIFIER\n")
	eight := `{"a":{"id":"1","state":"completed"},"b":{"id":"2","state":"completed"},"c":{"id":"3","state":"completed"},"d":{"id":"4","state":"completed"},"e":{"id":"5","state":"active"},"f":{"id":"6","state":"active"},"g":{"id":"7","state":"created"},"h":{"id":"8","state":"created"}}`
	s.on(
		expect{method: "POST", path: "/sdd/run", body: `{"sources":["Datasource One","Datasource Two"],"wait":-1,"dryRun":true,"template":"someFramework"}`,
			answer: `{"Datasource One":{"id":"j1","state":"completed","output":{"sddTagResult":{"ssn":["Discovered.Entity.Social Security Number"]}}},"Datasource Two":{"id":"j2","state":"completed","output":{"sddTagResult":{}}}}`},
		expect{method: "POST", path: "/sdd/run", body: `{"sources":["Credit Accounts"],"wait":-1}`,
			answer: `{"Credit Accounts":{"id":"06b71830-aebc-11ec-970b-51ffefcbfd0c","state":"completed"}}`},
		expect{method: "POST", path: "/sdd/run", body: `{"all":true,"wait":-1}`, answer: eight},
		expect{method: "POST", path: "/sdd/run", body: `{"all":true,"wait":0}`, answer: eight},
		expect{method: "POST", path: "/sdd/run", body: `{"sources":["Credit Accounts"],"wait":10}`,
			answer: `{"Credit Accounts":{"id":"x","state":"active"}}`},
		expect{method: "GET", path: "/sdd/template", query: "classifiers=ACCOUNT_NUMBER_IDENTIFIER&limit=25", answer: `{"count":1,"hits":[` + framework + `]}`},
		expect{method: "GET", path: "/sdd/template/ACCOUNT_NUMBERS_FRAMEWORK", answer: framework},
		expect{method: "GET", path: "/sdd/template/global", answer: framework},
		expect{method: "POST", path: "/sdd/template", body: `{"name":"ACCOUNT_NUMBERS_FRAMEWORK","displayName":"Account Numbers Framework","description":"This framework contains the identifier that recognizes account numbers.","classifiers":[{"name":"ACCOUNT_NUMBER_IDENTIFIER"}]}`, answer: framework},
		expect{method: "POST", path: "/sdd/classifier", body: `{"name":"MY_REGEX_IDENTIFIER","displayName":"My Regex Identifier","description":"A regex identifier","type":"regex","config":{"regex":"^[A-Z][a-z]+","tags":["Discovered.regex-example"]}}`, answer: identifier},
		expect{method: "GET", path: "/sdd/classifier/ACCOUNT_NUMBER_IDENTIFIER", answer: identifier},
		expect{method: "GET", path: "/sdd/classifier", query: "searchText=ACCOUNT&limit=5&offSet=5&sortOrder=desc&sortField=name&type=regex&type=builtIn", answer: `{"count":7,"hits":[` + identifier + `]}`},
		expect{method: "PUT", path: "/sdd/classifier/MY_REGEX_IDENTIFIER", body: `{"name":"MY_REGEX_IDENTIFIER","displayName":"My Regex Identifier","description":"A regex identifier","type":"regex","config":{"regex":"^[A-Z][a-z]+","tags":["Discovered.regex-example"]}}`, answer: identifier},
		expect{method: "DELETE", path: "/sdd/classifier/MY_REGEX_IDENTIFIER", answer: identifier},
		expect{method: "GET", path: "/sdd/classifier/ACCOUNT_NUMBER_IDENTIFIER", answer: identifier},
	)
	check(t, c.ok("sdd", "run", "Datasource One", "Datasource Two", "--dryRun", "--template", "someFramework"),
		"Running SDD\nDatasource One  j1  completed\n    ssn: Discovered.Entity.Social Security Number\nDatasource Two  j2  completed\n")
	check(t, c.ok("sdd", "run", "Credit Accounts"), "Running SDD\nCredit Accounts  06b71830-aebc-11ec-970b-51ffefcbfd0c  completed\n")
	// All data sources: confirmed on a terminal, or --force.
	r := c.terminal().input("y\n").run("sdd", "run")
	if r.code != 0 || r.out != "Running SDD\nStarted 8 SDD jobs\n" || !strings.Contains(r.err, "Run sensitive data discovery on ALL data sources? [y/N]: ") {
		t.Fatalf("sdd run (confirmed): %+v", r)
	}
	check(t, c.ok("sdd", "run", "--force", "--wait", "0"), "Running SDD\nStarted 8 SDD jobs\n")
	check(t, c.ok("sdd", "run", "Credit Accounts", "-w", "10", "--outputTemplate", "{{range $k, $v := .}}{{$k}}={{$v.state}}{{end}}"), "Credit Accounts=active")
	check(t, c.ok("sdd", "template", "search", "--classifiers=ACCOUNT_NUMBER_IDENTIFIER"),
		"Searching all templates...\nACCOUNT_NUMBERS_FRAMEWORK This framework contains the identifier that recognizes account numbers.\nDisplaying 1 of 1 templates\n")
	got := c.ok("sdd", "template", "get", "ACCOUNT_NUMBERS_FRAMEWORK")
	if !strings.HasPrefix(got, "Getting template ACCOUNT_NUMBERS_FRAMEWORK...\n{\n  \"name\": \"ACCOUNT_NUMBERS_FRAMEWORK\",\n  \"displayName\"") {
		t.Fatalf("template get: %s", got)
	}
	if got := c.ok("sdd", "template", "global"); !strings.HasPrefix(got, "Getting global template...\n{\n") {
		t.Fatalf("template global: %s", got)
	}
	check(t, c.ok("sdd", "template", "create", templateFile), "Creating template from "+templateFile+"...\nCreate successful.\n")
	check(t, c.ok("sdd", "classifier", "create", classifierFile), "Creating classifier from "+classifierFile+"...\nCreate successful.\n")
	r = c.run("sdd", "classifier", "get", "ACCOUNT_NUMBER_IDENTIFIER", "-o", "yaml")
	if r.code != 0 || !strings.HasPrefix(r.out, "createdBy:\n  id: 1\n") || r.err != "Getting classifier ACCOUNT_NUMBER_IDENTIFIER...\n" {
		t.Fatalf("classifier get -o yaml: %+v", r)
	}
	check(t, c.ok("sdd", "classifier", "ls", "ACCOUNT", "--limit", "5", "--offset", "5", "--order", "desc", "-s", "name", "--type", "regex,builtIn"),
		"Searching all classifiers...\nACCOUNT_NUMBER_IDENTIFIER This identifier recognizes account numbers using a regex criteria.\nDisplaying 1 of 7 classifiers\n")
	check(t, c.ok("sdd", "classifier", "update", "MY_REGEX_IDENTIFIER", classifierFile),
		"Updating classifier MY_REGEX_IDENTIFIER from "+classifierFile+"...\nUpdate successful.\n")
	check(t, c.ok("sdd", "classifier", "delete", "MY_REGEX_IDENTIFIER"), "Deleting classifier MY_REGEX_IDENTIFIER...\nDelete successful.\n")
	check(t, c.ok("sdd", "classifier", "get", "ACCOUNT_NUMBER_IDENTIFIER", "--outputTemplate", "{{.id}}"), "69")
	s.done()

	// Refusals: nothing is sent.
	c.fails(2, "Error: running SDD on all data sources needs a confirmation and stdin is not a terminal: pass --force, or name the data sources", "sdd", "run")
	if r := c.terminal().input("n\n").run("sdd", "run", "-d"); r.code != 1 || !strings.HasSuffix(r.err, "? [y/N]: Error: cancelled: SDD was not run\n") {
		t.Fatalf("declined: %+v", r)
	}
	c.fails(2, "Error: --template can only be used with --dryRun", "sdd", "run", "x", "--template", "T")
	c.fails(2, `Error: --output must be json or yaml, not "xml"`, "sdd", "run", "x", "-o", "xml")
	c.fails(2, "Error: "+templateFile+" is an SDD template (it has classifiers), not a classifier: use `custos sdd template`", "sdd", "classifier", "create", templateFile)
	c.fails(2, "Error: "+classifierFile+" is an SDD classifier (it has type/config), not a template: use `custos sdd classifier`", "sdd", "template", "create", classifierFile)
	c.fails(2, `Error: --sort must be one of id, name, displayName, type, createdAt, updatedAt, not "size"`, "sdd", "template", "search", "-s", "size")
	s.done()
}
