package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/custosdata/custos/internal/server/servertest"
)

// The commands below run against a real custos server.

func TestVersion(t *testing.T) {
	out := newCLI(t).ok("version")
	if !strings.HasPrefix(out, "custos ") {
		t.Fatalf("version: %q", out)
	}
	newCLI(t).fails(2, `Error: custos version takes no arguments, got an unexpected argument "x"`, "version", "x")
}

func TestConfigure(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t)
	path := filepath.Join(c.home, ".custoscfg.yaml")

	// Scripts pass flags; the key is checked before anything is saved.
	c.fails(1, `Error: `+env.URL+` did not accept the API key, so nothing was saved: status code: 401 message: the API key or bearer token is not valid (it may have been revoked)`,
		"configure", "--url", env.URL, "--api-key", "wrong")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("a rejected key was saved")
	}
	c.fails(1, "Error: checking the API key failed, so nothing was saved: cannot reach the custos server at http://127.0.0.1:1: connection refused",
		"configure", "--url", "http://127.0.0.1:1", "--api-key", "k")
	c.fails(2, "Error: stdin is not a terminal, so nothing can be asked: give --url and --api-key", "configure")
	c.fails(2, `Error: the server URL "ftp://x" must start with http:// or https://`, "configure", "--url", "ftp://x", "--api-key", "k")

	out := c.ok("configure", "--url", env.URL+"/", "--api-key", servertest.AdminKey)
	if out != "Updated the config at "+path+" (profile \"default\", server "+env.URL+", user admin)\n" {
		t.Fatalf("configure: %q", out)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", fi, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "default:\n  api_key: "+servertest.AdminKey+"\n  host: "+env.URL+"\n" {
		t.Fatalf("config file content:\n%s", data)
	}
	// The saved profile is used.
	if !strings.Contains(c.ok("api", "bim/rpc/user/current"), `"userid":"admin"`) {
		t.Fatal("the saved profile does not work")
	}

	// Interactively, on a terminal, into another profile: the default stays.
	r := c.terminal().input(env.URL+"\n"+servertest.AdminKey+"\n").run("configure", "--profile", "staging")
	if r.code != 0 || !strings.Contains(r.err, "? What is the url of the custos server you use?: ") ||
		!strings.Contains(r.err, "? What is the api key of your custos user account?: ") {
		t.Fatalf("interactive configure: %+v", r)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "default:") || !strings.Contains(string(data), "staging:") {
		t.Fatalf("profiles: %s", data)
	}
	c.ok("api", "tag", "-p", "staging")
	c.fails(1, `Error: profile "prod" is not in `+path+": run `custos configure --profile prod`", "api", "tag", "-p", "prod")

	// An explicit --config file.
	other := filepath.Join(t.TempDir(), "sub", "cfg.yaml")
	c.ok("configure", "--config", other, "--url", env.URL, "--api-key", servertest.AdminKey)
	c.ok("api", "tag", "--config", other)
}

func TestConfigurationSources(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t)
	c.fails(1, "Error: no custos server is configured ("+filepath.Join(c.home, ".custoscfg.yaml")+
		" does not exist): run `custos configure`, or set CUSTOS_URL and CUSTOS_API_KEY", "api", "tag")

	// The immuta CLI's file is read when custos has none.
	writeFile(t, c.home, ".immutacfg.yaml", "default:\n  api_key: "+servertest.AdminKey+"\n  host: "+env.URL+"\n")
	c.ok("api", "tag")
	// custos's own file wins once it exists.
	writeFile(t, c.home, ".custoscfg.yaml", "default:\n  api_key: wrong\n  host: "+env.URL+"\n")
	c.fails(1, "Error: status code: 401 message: the API key or bearer token is not valid (it may have been revoked)", "api", "tag")
	// The environment overrides the file, field by field.
	c.env["CUSTOS_API_KEY"] = servertest.AdminKey
	c.ok("api", "tag")
	c.env["CUSTOS_URL"] = "http://127.0.0.1:1"
	c.fails(1, "Error: cannot reach the custos server at http://127.0.0.1:1: connection refused", "api", "tag")

	writeFile(t, c.home, ".custoscfg.yaml", "default: [not, a, profile]\n")
	delete(c.env, "CUSTOS_URL")
	delete(c.env, "CUSTOS_API_KEY")
	r := c.run("api", "tag")
	if r.code != 1 || !strings.Contains(r.err, "is not a YAML map of profiles") {
		t.Fatalf("broken config file: %+v", r)
	}
}

// TestAPIExamples runs every `immuta api` example of the reference that
// the server serves, and the command's other flags.
func TestAPIExamples(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	c := newCLI(t).server(env.URL, servertest.AdminKey)

	// POST is chosen for a body; the body may be YAML from stdin.
	c.input("tags:\n  - name: Discovered.PII\n  - name: Discovered.Country\n  - name: Finance\n").ok("api", "tag", "--input", "-")

	var tags []map[string]any
	if err := json.Unmarshal([]byte(c.ok("api", "tag")), &tags); err != nil || len(tags) != 4 {
		t.Fatalf("immuta api tag: %v %v", tags, err)
	}
	var found []map[string]any
	if err := json.Unmarshal([]byte(c.ok("api", "tag", "-q", "searchText=Discovered", "-q", "limit=10")), &found); err != nil || len(found) != 3 {
		t.Fatalf("search: %v %v", found, err)
	}
	names := c.ok("api", "tag", "-q", "limit=10", "--template", `{{range .}}{{.name}}{{"\n"}}{{end}}`)
	if names != "Discovered\nDiscovered.Country\nDiscovered.PII\nFinance\n" {
		t.Fatalf("template: %q", names)
	}
	if got := c.ok("api", "/tag", "-q", "searchText=Fin", "-t", `{{len .}}`); got != "1" {
		t.Fatalf("-t: %q", got)
	}
	if got := c.ok("api", "tag?searchText=Country", "--outputTemplate", `{{(index . 0).name}}`); got != "Discovered.Country" {
		t.Fatalf("query in the endpoint: %q", got)
	}

	// Typed and string fields, path parameters, headers.
	group := c.ok("api", "bim/group", "-d", "iamid=bim", "-d", "name=Analysts", "--raw-data", "description=007")
	var g map[string]any
	if err := json.Unmarshal([]byte(group), &g); err != nil || g["name"] != "Analysts" || g["description"] != "007" {
		t.Fatalf("group: %s", group)
	}
	id := g["id"].(float64)
	out := c.ok("api", "bim/group/{groupId}", "-P", "groupId="+strconv.FormatInt(int64(id), 10), "-H", "X-Request-Id: cli-test",
		"-t", "{{.name}}")
	if out != "Analysts" {
		t.Fatalf("path param: %q", out)
	}
	c.ok("api", "bim/group", "--data-raw", "iamid=bim", "--data-raw", "name=Raw Group")
	// A path parameter with a dot is escaped into one segment.
	c.ok("api", "tag/{tag}", "-X", "DELETE", "-P", "tag=Discovered.PII")
	if strings.Contains(c.ok("api", "tag"), "Discovered.PII") {
		t.Fatal("the tag was not deleted")
	}
	recs := c.ok("api", "audit", "-q", "recordType=tagDelete", "-t", "{{.count}}")
	if recs != "1" {
		t.Fatalf("audit count: %q", recs)
	}

	// Server errors print the documented line and exit 1.
	c.fails(1, "Error: status code: 404 message: no route GET /no/such/route", "api", "no/such/route")
	c.fails(1, `Error: status code: 422 message: tag "Nope" does not exist; create it with POST /tag first`,
		"api", "tag/user/1", "--body", `[{"name": "Nope"}]`)
	// Usage errors exit 2 and send nothing.
	c.fails(2, "Error: the endpoint has {id} but no --path-param id=value", "api", "bim/group/{id}")
	c.fails(2, `Error: --data "novalue" must be key=value`, "api", "tag", "-d", "novalue")
	c.fails(2, "Error: give the body one way: --input, --body, or --data/--raw-data fields", "api", "tag", "-b", "{}", "-d", "a=1")
	c.fails(2, "Error: --outputTemplate is not a valid Go template: line 1: bad character U+007D '}'", "api", "tag", "-t", "{{.}")
	c.fails(2, "Error: unknown flag: --nope", "api", "tag", "--nope")
	c.fails(2, "Error: custos api needs <endpoint>", "api")
}

func TestAuditExportConfigCommands(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		c := newCLI(t).server(env.URL, servertest.AdminKey)
		dir := t.TempDir()
		local := writeFile(t, dir, "local.yaml", "interval: EVERY_HOUR\ndirectory: nightly\n")
		out := c.ok("audit", "exportConfig", "create", "local", local)
		var created map[string]any
		if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(out, "{\n  \"id\": ") {
			t.Fatalf("create prints indented JSON: %s", out)
		}
		id := created["id"].(string)

		s3 := writeFile(t, dir, "exportConfig.json", `{"interval": "EVERY_12_HOURS", "bucket": "your-s3-bucket", "path": "hr-data",
			"region": "us-east-1", "accessKeyId": "AKIAACCESSKEY1234", "secretAccessKey": "{{EnvVar \"S3_SECRET\"}}"}`)
		// A missing variable is an input error: nothing is sent.
		c.fails(2, `Error: `+s3+`: secretAccessKey: environment variable S3_SECRET is not set`, "audit", "exportConfig", "create:s3", s3)
		c.env["S3_SECRET"] = "very-secret-value"
		s3out := c.ok("audit", "exportConfig", "create:s3", s3, "-o", "yaml")
		if !strings.Contains(s3out, "__typename: S3EndpointConfiguration") || strings.Contains(s3out, "very-secret-value") {
			t.Fatalf("create:s3 -o yaml: %s", s3out)
		}

		got := c.ok("audit", "exportConfig", "get", id)
		var cfg map[string]any
		if err := json.Unmarshal([]byte(got), &cfg); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "interval", "enabled", "endpointConfiguration", "createdAt", "createdBy", "updatedAt", "updatedBy"} {
			if _, ok := cfg[k]; !ok {
				t.Errorf("get lacks %s: %s", k, got)
			}
		}
		by := cfg["createdBy"].(map[string]any)
		if by["id"] != "admin" || by["identityProvider"] != "bim" || by["type"] != "USER" {
			t.Fatalf("createdBy: %v", by)
		}
		if c.ok("audit", "exportConfig", "list", "--outputTemplate", `{{range .}}{{.interval}} {{end}}`) != "EVERY_HOUR EVERY_12_HOURS " {
			t.Fatal("list")
		}
		if !strings.Contains(c.ok("audit", "exportConfig", "disable", id), `"enabled": false`) {
			t.Fatal("disable")
		}
		if !strings.Contains(c.ok("audit", "exportConfig", "enable", id), `"enabled": true`) {
			t.Fatal("enable")
		}
		if out := c.ok("audit", "exportConfig", "delete", id); out != "Deleted audit export configuration "+id+"\n" {
			t.Fatalf("delete: %q", out)
		}
		c.fails(1, `Error: status code: 404 message: the audit export configuration "`+id+`" was not found`,
			"audit", "exportConfig", "get", id)

		bad := writeFile(t, dir, "bad.yaml", "interval: EVERY_MINUTE\nbucket: x\n")
		c.fails(1, "Error: status code: 422 message: interval must be one of EVERY_HOUR, EVERY_2_HOURS, EVERY_6_HOURS, EVERY_12_HOURS, EVERY_24_HOURS, not \"EVERY_MINUTE\"; "+
			"endpointConfiguration.bucket must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and dashes), not \"x\"; "+
			"endpointConfiguration.region is required for s3 exports; endpointConfiguration.accessKeyId is required for s3 exports; "+
			"endpointConfiguration.secretAccessKey is required for s3 exports", "audit", "exportConfig", "create", "s3", bad)
		c.fails(2, `Error: the destination must be s3, adls or local, not "gcs"`, "audit", "exportConfig", "create", "gcs", bad)
		typed := writeFile(t, dir, "typed.yaml", "type: local\ninterval: EVERY_HOUR\n")
		c.fails(2, "Error: "+typed+": the file says type local but the command says s3", "audit", "exportConfig", "create", "s3", typed)
		policy := writeFile(t, dir, "policy.yaml", "policyKey: p\nname: P\n")
		c.fails(2, "Error: "+policy+" is a policy document, not an audit export configuration", "audit", "exportConfig", "create", "s3", policy)
		if list := c.ok("audit", "exportConfig", "list", "--outputTemplate", "{{len .}}"); list != "1" {
			t.Fatalf("configurations after the failures: %s", list)
		}
	})
}
