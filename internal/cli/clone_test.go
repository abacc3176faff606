package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const clonedDataSource = `{"connectionKey":"my-databricks","connection":{"hostname":"your.databricks.hostname.com","port":443,"ssl":true,
	"database":"tpc","username":"token","httpPath":"sql/protocolv1/o/0/11101101","handler":"Databricks"},
	"nameTemplate":{"dataSourceFormat":"Databricks <Tablename>"},"sources":[{"table":"crime_data","schema":"data"}]}`

const clonedImpala = `{"connectionKey":"cdh-impala","connection":{"hostname":"impala.example.com","port":21050,"ssl":true,
	"database":"default","handler":"Apache Impala","authenticationMethod":"kerberos","username":"usera",
	"userFiles":[{"keyName":"TrustedCerts","userFilename":"tls-ca-bundle.pem"}]}}`

func TestContractClone(t *testing.T) {
	s := newContract(t)
	c := s.cli()
	dir := filepath.Join(t.TempDir(), "tenant")
	s.on(
		expect{method: "GET", path: "/api/v2/data", answer: `[{"connectionKey":"my-databricks","connectionString":null,"dataSources":1},{"connectionKey":"cdh-impala","connectionString":null,"dataSources":0}]`},
		expect{method: "GET", path: "/api/v2/data/my-databricks", answer: clonedDataSource},
		expect{method: "GET", path: "/api/v2/data/cdh-impala", answer: clonedImpala},
		expect{method: "GET", path: "/api/v2/policy", answer: `[` + policyJSON + `]`},
		expect{method: "GET", path: "/api/v2/project", answer: `[` + projectJSON + `]`},
		expect{method: "GET", path: "/api/v2/purpose", answer: `[{"name":"Purpose Hierarchy","acknowledgement":"The root acknowledgement"},{"name":"Purpose Hierarchy.Child 1/2","acknowledgement":"Override"}]`},
	)
	out := c.ok("clone", dir)
	check(t, out, strings.Join([]string{
		"Cloning all data sources...",
		"Cloning: my-databricks to " + filepath.Join(dir, "datasource", "my-databricks.yaml"),
		"Cloning: cdh-impala to " + filepath.Join(dir, "datasource", "cdh-impala.yaml"),
		"Cloning all global policies...",
		"Cloning: data conditional masking to " + filepath.Join(dir, "policy", "data conditional masking.yaml"),
		"Cloning all projects...",
		"Cloning: demo project to " + filepath.Join(dir, "project", "demo project.yaml"),
		"Cloning all purposes...",
		"Cloning: Purpose Hierarchy to " + filepath.Join(dir, "purpose", "Purpose Hierarchy.yaml"),
		"Cloning: Purpose Hierarchy.Child 1/2 to " + filepath.Join(dir, "purpose", "Purpose Hierarchy.Child 1_2.yaml"),
	}, "\n")+"\n")
	s.done()

	ds, _ := os.ReadFile(filepath.Join(dir, "datasource", "my-databricks.yaml"))
	check(t, string(ds), `connectionKey: my-databricks
connection:
  hostname: your.databricks.hostname.com
  port: 443
  ssl: true
  database: tpc
  username: token
  httpPath: sql/protocolv1/o/0/11101101
  handler: Databricks
  password: '{{EnvVar "MY_DATABRICKS_PASSWORD"}}'
nameTemplate:
  dataSourceFormat: Databricks <Tablename>
sources:
- table: crime_data
  schema: data
`)
	impala, _ := os.ReadFile(filepath.Join(dir, "datasource", "cdh-impala.yaml"))
	if !strings.Contains(string(impala), `content: '{{ReadFile "tls-ca-bundle.pem.b64"}}'`) || strings.Contains(string(impala), "password") {
		t.Fatalf("kerberos connection with a user file:\n%s", impala)
	}

	// The cloned files save back: placeholders are resolved, and the body
	// is the server's document with the secret filled in.
	c.env["MY_DATABRICKS_PASSWORD"] = "dapi-secret"
	writeFile(t, filepath.Join(dir, "datasource"), "tls-ca-bundle.pem.b64", "TUlJQ2VUQ0NBZUtnQXdJQkFnSUJBREFO")
	s.on(
		expect{method: "POST", path: "/api/v2/data", body: strings.Replace(clonedDataSource, `"username":"token",`, `"username":"token","password":"dapi-secret",`, 1), answer: `{}`},
		expect{method: "POST", path: "/api/v2/data", body: strings.Replace(clonedImpala, `"userFilename":"tls-ca-bundle.pem"`, `"userFilename":"tls-ca-bundle.pem","content":"TUlJQ2VUQ0NBZUtnQXdJQkFnSUJBREFO"`, 1), answer: `{}`},
		expect{method: "POST", path: "/api/v2/policy", body: policyJSON, answer: `{}`},
		expect{method: "POST", path: "/api/v2/project", body: projectJSON, answer: `{}`},
		expect{method: "POST", path: "/api/v2/purpose", body: `{"name":"Purpose Hierarchy.Child 1/2","acknowledgement":"Override"}`, answer: `{}`},
	)
	c.ok("datasource", "save", filepath.Join(dir, "datasource", "my-databricks.yaml"))
	c.ok("datasource", "save", filepath.Join(dir, "datasource", "cdh-impala.yaml"))
	c.ok("policy", "save", filepath.Join(dir, "policy", "data conditional masking.yaml"))
	c.ok("project", "save", filepath.Join(dir, "project", "demo project.yaml"))
	c.ok("purpose", "save", filepath.Join(dir, "purpose", "Purpose Hierarchy.Child 1_2.yaml"))
	s.done()

	// A second clone needs --force; it overwrites what it writes.
	c.fails(2, "Error: the output directory "+dir+" is not empty: use --force to overwrite files in it", "clone", dir)
	s.on(
		expect{method: "GET", path: "/api/v2/data", answer: `[]`},
		expect{method: "GET", path: "/api/v2/policy", answer: `[]`},
		expect{method: "GET", path: "/api/v2/project", answer: `[]`},
		expect{method: "GET", path: "/api/v2/purpose", answer: `[]`},
	)
	check(t, c.ok("clone", dir, "--force"), "Cloning all data sources...\nCloning all global policies...\nCloning all projects...\nCloning all purposes...\n")
	s.done()
}

// TestContractCloneKeepsServerTextLiteral: text from the server that looks
// like a placeholder is saved back as the same text; it never reads the
// environment or the files of the machine that saves it.
func TestContractCloneKeepsServerTextLiteral(t *testing.T) {
	s := newContract(t)
	c := s.cli()
	dir := filepath.Join(t.TempDir(), "tenant")
	purpose := `{"name":"Sneaky","description":"{{EnvVar \"SECRET\"}} {{ReadFile \"/etc/hostname\"}} {{ alone"}`
	s.on(
		expect{method: "GET", path: "/api/v2/data", answer: `[]`},
		expect{method: "GET", path: "/api/v2/policy", answer: `[]`},
		expect{method: "GET", path: "/api/v2/project", answer: `[]`},
		expect{method: "GET", path: "/api/v2/purpose", answer: `[` + purpose + `]`},
	)
	c.ok("clone", dir)
	s.done()
	c.env["SECRET"] = "hunter2"
	s.on(expect{method: "POST", path: "/api/v2/purpose", body: purpose, answer: `{}`})
	c.ok("purpose", "save", filepath.Join(dir, "purpose", "Sneaky.yaml"))
	s.done()
}

// TestBadInputSendsNothing: each mistake is one clear line with the right
// exit code, and the stand-in server sees no request at all.
func TestBadInputSendsNothing(t *testing.T) {
	s := newContract(t)
	c := s.cli()
	dir := t.TempDir()
	broken := writeFile(t, dir, "broken.yaml", "connectionKey: [unclosed\n")
	policy := writeFile(t, dir, "policy.yaml", policyFile)
	noEnv := writeFile(t, dir, "ds.yaml", dataSourceFile)
	noFile := writeFile(t, dir, "ds-file.yaml", "connectionKey: k\nconnection:\n  key: '{{ReadFile \"missing.pem\"}}'\n")
	twoDocs := writeFile(t, dir, "two.yaml", "name: A\n---\nname: B\n")
	dupKey := writeFile(t, dir, "dup.yaml", "name: A\nname: B\n")
	list := writeFile(t, dir, "list.yaml", "- name: A\n")
	badTemplate := writeFile(t, dir, "tmpl.yaml", "connectionKey: k\npassword: '{{EnvVar}'\n")
	unknown := writeFile(t, dir, "unknown.yaml", "name: x\ntype: data\n")
	empty := writeFile(t, dir, "empty.yaml", "# nothing\n")

	c.fails(2, "Error: "+broken+": not valid YAML or JSON: line 1: did not find expected ',' or ']'", "datasource", "save", broken)
	c.fails(2, "Error: "+policy+" is a policy document, not a data source: save it with `custos policy save`", "datasource", "save", policy)
	c.fails(2, "Error: "+noEnv+" is a data source document, not a project: save it with `custos datasource save`", "project", "save", noEnv)
	c.fails(2, "Error: "+noEnv+": connection.password: environment variable myPassword is not set", "datasource", "save", noEnv)
	c.fails(2, "Error: "+noFile+": connection.key: cannot read file missing.pem: no such file or directory", "datasource", "save", noFile)
	c.fails(2, "Error: "+twoDocs+": the file holds 2 documents; give one document per file", "purpose", "save", twoDocs)
	c.fails(2, "Error: "+dupKey+`: not valid YAML or JSON: unmarshal errors: line 2: key "name" already set in map`, "purpose", "save", dupKey)
	c.fails(2, "Error: "+list+": the document must be a mapping of fields, not a list", "purpose", "save", list)
	c.fails(2, "Error: "+badTemplate+`: password: bad placeholder: line 1: bad character U+007D '}'`, "datasource", "save", badTemplate)
	c.fails(2, "Error: "+unknown+": the document is not a data source, policy, project or purpose: it has no connectionKey, policyKey or projectKey, and a purpose has no type", "purpose", "save", unknown)
	c.fails(2, "Error: "+empty+": the file is empty", "policy", "save", empty)
	c.fails(2, "Error: cannot read "+filepath.Join(dir, "nope.yaml")+": no such file or directory", "policy", "save", filepath.Join(dir, "nope.yaml"))
	c.fails(2, "Error: custos policy save needs <filepath>", "policy", "save")
	c.fails(2, "Error: unknown flag: --dry-run", "policy", "save", policy, "--dry-run")
	c.fails(2, `Error: unknown command "bogus" for "custos"`, "bogus")
	c.fails(2, `Error: no completion for shell "tcsh": choose bash, zsh, fish or powershell`, "completion", "tcsh")
	s.done()
}
