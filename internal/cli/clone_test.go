package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// fillTenant gives a real server what the reference's clone example holds:
// a Databricks connection (token in the password), a Snowflake one
// authenticating with a key file, a policy, a project and two purposes.
func fillTenant(t *testing.T, env *servertest.Env) {
	t.Helper()
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "my-databricks",
		"connection": map[string]any{"hostname": "your.databricks.hostname.com", "port": 443, "ssl": true, "database": "tpc",
			"username": "token", "password": "dapi-secret", "httpPath": "sql/protocolv1/o/0/11101101", "handler": "Databricks"},
		"nameTemplate": map[string]any{"dataSourceFormat": "Databricks <Tablename>"},
		"sources":      []any{map[string]any{"table": "crime_data", "schema": "data", "columns": []any{map[string]any{"name": "id", "dataType": "integer"}}}}})
	env.Admin(t, 200, "POST", "/api/v2/data?wait=-1", map[string]any{"connectionKey": "snow-keys",
		"connection": map[string]any{"hostname": "acme.snowflakecomputing.com", "port": 443, "database": "SALES", "warehouse": "W",
			"handler": "Snowflake", "authenticationMethod": "keyPair", "username": "svc",
			"userFiles": []any{map[string]any{"keyName": "PRIV_KEY_FILE", "userFilename": "rsa_key.p8", "content": "TUlJQ2VUQ0NBZUtnQXdJQkFnSUJBREFO"}}},
		"sources": []any{map[string]any{"table": "ORDERS", "schema": "PUBLIC", "columns": []any{map[string]any{"name": "ID", "dataType": "integer"}}}}})
	env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []any{map[string]any{"name": "Discovered.Passport"}, map[string]any{"name": "Discovered.Country"}}})
	env.Admin(t, 200, "POST", "/api/v2/policy", policyFile)
	env.Admin(t, 200, "POST", "/api/v2/project", projectFile)
	env.Admin(t, 200, "POST", "/api/v2/purpose", "name: Purpose Hierarchy\nacknowledgement: The root acknowledgement\n")
	env.Admin(t, 200, "POST", "/api/v2/purpose", "name: Purpose Hierarchy.Child 1/2\nacknowledgement: Override\n")
}

func TestContractClone(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	fillTenant(t, env)
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	dir := filepath.Join(t.TempDir(), "tenant")
	out := c.ok("clone", dir)
	for _, line := range []string{
		"Cloning all data sources...",
		"Cloning: my-databricks to " + filepath.Join(dir, "datasource", "my-databricks.yaml"),
		"Cloning: snow-keys to " + filepath.Join(dir, "datasource", "snow-keys.yaml"),
		"Cloning all global policies...",
		"Cloning: data conditional masking to " + filepath.Join(dir, "policy", "data conditional masking.yaml"),
		"Cloning all projects...",
		"Cloning: demo project to " + filepath.Join(dir, "project", "demo project.yaml"),
		"Cloning all purposes...",
		"Cloning: Purpose Hierarchy.Child 1/2 to " + filepath.Join(dir, "purpose", "Purpose Hierarchy.Child 1_2.yaml"),
	} {
		if !strings.Contains(out, line+"\n") {
			t.Fatalf("clone output lacks %q:\n%s", line, out)
		}
	}

	// Secrets never leave the server: the files name where to read them.
	ds, _ := os.ReadFile(filepath.Join(dir, "datasource", "my-databricks.yaml"))
	if !strings.Contains(string(ds), "connectionKey: my-databricks\n") || !strings.Contains(string(ds), `password: '{{EnvVar "MY_DATABRICKS_PASSWORD"}}'`) ||
		strings.Contains(string(ds), "dapi-secret") || !strings.Contains(string(ds), "dataSourceFormat: Databricks <Tablename>") {
		t.Fatalf("my-databricks.yaml:\n%s", ds)
	}
	keys, _ := os.ReadFile(filepath.Join(dir, "datasource", "snow-keys.yaml"))
	if !strings.Contains(string(keys), `content: '{{ReadFile "rsa_key.p8.b64"}}'`) || strings.Contains(string(keys), "password") ||
		strings.Contains(string(keys), "TUlJQ2") {
		t.Fatalf("a key-file connection:\n%s", keys)
	}

	// The cloned files save back: placeholders are resolved, and nothing
	// changes on the server.
	c.env["MY_DATABRICKS_PASSWORD"] = "dapi-secret"
	writeFile(t, filepath.Join(dir, "datasource"), "rsa_key.p8.b64", "TUlJQ2VUQ0NBZUtnQXdJQkFnSUJBREFO")
	for _, f := range []struct{ kind, file, want string }{
		{"datasource", "datasource/my-databricks.yaml", `"noChange":["Databricks Crime Data"]`},
		{"datasource", "datasource/snow-keys.yaml", `"noChange":[`},
		{"policy", "policy/data conditional masking.yaml", `"creating":false,"updating":true`},
		{"project", "project/demo project.yaml", `"creating":false,"updating":true`},
		{"purpose", "purpose/Purpose Hierarchy.Child 1_2.yaml", `"creating":false,"updating":true`},
	} {
		args := []string{f.kind, "save", filepath.Join(dir, f.file)}
		if f.kind == "datasource" {
			args = append(args, "--wait", "10")
		}
		if got := c.ok(args...); !strings.Contains(got, f.want) {
			t.Fatalf("saving %s back: %s", f.file, got)
		}
	}

	// A second clone needs --force; it overwrites what it writes.
	c.fails(2, "Error: the output directory "+dir+" is not empty: use --force to overwrite files in it", "clone", dir)
	if again := c.ok("clone", dir, "--force"); again != out {
		t.Fatalf("clone --force:\n%s\nwant\n%s", again, out)
	}
}

// TestContractCloneKeepsServerTextLiteral: text from the server that looks
// like a placeholder is saved back as the same text; it never reads the
// environment or the files of the machine that saves it.
func TestContractCloneKeepsServerTextLiteral(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	const description = `{{EnvVar "SECRET"}} {{ReadFile "/etc/hostname"}} {{ alone`
	env.Admin(t, 200, "POST", "/api/v2/purpose", map[string]any{"name": "Sneaky", "description": description})
	c := newCLI(t).server(env.URL, servertest.AdminKey)
	dir := filepath.Join(t.TempDir(), "tenant")
	c.ok("clone", dir)
	c.env["SECRET"] = "hunter2"
	c.ok("purpose", "save", filepath.Join(dir, "purpose", "Sneaky.yaml"))
	var got struct {
		Description string `json:"description"`
	}
	env.Admin(t, 200, "GET", "/api/v2/purpose/Sneaky", nil).JSON(t, &got)
	if got.Description != description {
		t.Fatalf("saved back as %q", got.Description)
	}
}

// TestBadInputSendsNothing: each mistake is one clear line with the right
// exit code, and the server receives no request at all.
func TestBadInputSendsNothing(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t).server(env.URL, servertest.AdminKey)
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
	if n := env.Requests(); n != 0 {
		t.Fatalf("bad input sent %d requests", n)
	}
}
