package payload

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseAndResolve(t *testing.T) {
	dir := t.TempDir()
	pem := "-----BEGIN CERTIFICATE-----\nMIIB: 'quoted' \"and\" {{braces}}\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(pem), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ds.yaml")
	os.WriteFile(file, []byte(`connectionKey: k
connection:
  port: 5432
  password: '{{EnvVar "PW"}}'
  note: 'plain {{"{{"}} text'
  userFiles:
  - content: '{{ReadFile "ca.pem"}}'
`), 0o600)
	env := map[string]string{"PW": `it's: a "pass" #word`}
	doc, err := Load(file, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	conn := doc.Data["connection"].(map[string]any)
	if conn["password"] != env["PW"] || conn["port"] != 5432 || conn["note"] != "plain {{ text" {
		t.Fatalf("connection: %v", conn)
	}
	// A file read into a value keeps every byte: newlines, quotes, braces.
	if got := conn["userFiles"].([]any)[0].(map[string]any)["content"]; got != pem {
		t.Fatalf("ReadFile: %q", got)
	}
	var round map[string]any
	if err := json.Unmarshal(doc.JSON(), &round); err != nil || round["connectionKey"] != "k" {
		t.Fatalf("JSON: %s %v", doc.JSON(), err)
	}
}

func TestOnlyPlaceholdersAreAllowed(t *testing.T) {
	for _, v := range []string{`{{range 100000000}}x{{end}}`, `{{define "a"}}{{end}}`, `{{EnvVar "A" | printf "%s"}}`,
		`{{$x := EnvVar "A"}}`, `{{EnvVar .}}`, `{{printf "%s" "x"}}`, `{{if 1}}x{{end}}`} {
		d := &Document{Path: "f", Data: map[string]any{"v": v}}
		if err := d.Resolve(func(string) string { return "a" }); err == nil || !strings.Contains(err.Error(), "only {{EnvVar") {
			t.Errorf("%s: %v", v, err)
		}
	}
}

func TestDetectKind(t *testing.T) {
	cases := []struct {
		doc  string
		kind Kind
		err  string
	}{
		{"connectionKey: k\nconnection: {}", DataSource, ""},
		{"policyKey: p\nname: P\ntype: data", Policy, ""},
		{"projectKey: p\nname: P", Project, ""},
		{"name: Demo Purpose\nacknowledgement: ok", Purpose, ""},
		{"name: A basic purpose", Purpose, ""},
		{"name: P\nsubpurposes: [{name: P.C}]\nkAnonNoiseReduction: Medium\ndescription: d", Purpose, ""},
		{"policyKey: p\nprojectKey: q", "", "both policyKey and projectKey"},
		{"name: x\ntype: regex\nconfig: {}", "", "a purpose has no config, type"},
		{"description: nothing", "", "none of connectionKey"},
	}
	for _, c := range cases {
		m, err := Parse([]byte(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		k, err := DetectKind(m)
		if k != c.kind || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %q %v, want %q %q", c.doc, k, err, c.kind, c.err)
		}
	}
}

func TestLoadV2ChecksTheKindBeforeResolving(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(file, []byte("policyKey: p\nsecret: '{{EnvVar \"UNSET\"}}'\n"), 0o600)
	_, err := LoadV2(file, DataSource, nil, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "is a policy document, not a data source") {
		t.Fatalf("err = %v", err)
	}
}

func TestJSONToYAMLKeepsOrderAndRoundTrips(t *testing.T) {
	in := `{"name":"Multiple","policyKey":"data multiple","type":"data","actions":[{"rules":[{"type":"Masking",` +
		`"config":{"maskingConfig":{"type":"Null"}}}],"description":"it's 'quoted'"}],"n":1.5,"big":12345678901,` +
		`"empty":{},"none":null,"multi":"line one\nline two","tpl":"{{EnvVar \"X\"}}","yes":"true","num":"5432"}`
	y, err := JSONToYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(y), "name: Multiple\npolicyKey: data multiple\ntype: data\nactions:\n") {
		t.Fatalf("order lost:\n%s", y)
	}
	back, err := Parse(y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	var want map[string]any
	json.Unmarshal([]byte(in), &want)
	got := map[string]any{}
	b, _ := json.Marshal(back)
	json.Unmarshal(b, &got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %v\nwant %v\nyaml:\n%s", got, want, y)
	}
}

// FuzzParse: Parse never panics, and whatever it accepts turns into JSON
// and back into YAML that parses to the same document.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"name: x", "connectionKey: k\nconnection: {port: 1}", "a: [1, {b: c}]", "{\"x\": 1}",
		"a: &x 1\nb: *x", "---\nname: a\n---\n", "a: 1e400", "? [a]\n: b", "a: !!binary aGVsbG8=", "a: 2001-12-14t21:59:43.10-05:00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse([]byte(s))
		if err != nil {
			return
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted document does not encode as JSON: %v", err)
		}
		y, err := JSONToYAML(data)
		if err != nil {
			t.Fatalf("JSONToYAML: %v", err)
		}
		back, err := Parse(y)
		if err != nil {
			t.Fatalf("written YAML does not parse: %v\n%s", err, y)
		}
		again, _ := json.Marshal(back)
		var a, b any
		json.Unmarshal(data, &a)
		json.Unmarshal(again, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the document:\n%s\n%s", data, again)
		}
	})
}

// FuzzResolve: placeholders either resolve or fail with an error, never a
// panic, and a value without {{ is left alone.
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{`{{EnvVar "A"}}`, `{{ReadFile "x"}}`, `{{`, `}}{{`, `{{EnvVar}}`, `{{.}}`, `{{template "x"}}`, `plain`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := &Document{Path: "f", Data: map[string]any{"v": v}, base: t.TempDir()}
		err := d.Resolve(func(k string) string {
			if k == "A" {
				return "value"
			}
			return ""
		})
		if err == nil && !strings.Contains(v, "{{") && d.Data["v"] != v {
			t.Fatalf("a plain value changed: %q -> %q", v, d.Data["v"])
		}
	})
}

// FuzzLiteral: a string written with Literal resolves to itself and never
// calls EnvVar or ReadFile.
func FuzzLiteral(f *testing.F) {
	for _, s := range []string{`{{EnvVar "HOME"}}`, "{{{", "a{{-b", "}}{{", `{{"{{"}}`, "{{/* c */}}", "{", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := &Document{Path: "fuzz", Data: map[string]any{"v": Literal(s)}}
		if err := d.Resolve(func(name string) string {
			t.Fatalf("EnvVar %q called while resolving %q", name, s)
			return ""
		}); err != nil {
			t.Fatalf("Literal(%q) does not resolve: %v", s, err)
		}
		if d.Data["v"] != s {
			t.Fatalf("Literal(%q) resolves to %q", s, d.Data["v"])
		}
	})
}

// A data source's port from a placeholder is sent as a number; other text
// of digits (a password) stays text.
func TestDataSourcePortFromPlaceholder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ds.yaml")
	os.WriteFile(file, []byte("connectionKey: k\nconnection:\n  handler: PostgreSQL\n  port: '{{EnvVar \"PGPORT\"}}'\n  password: '{{EnvVar \"PW\"}}'\n"), 0o600)
	env := map[string]string{"PGPORT": "5433", "PW": "1234"}
	doc, err := LoadV2(file, DataSource, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := string(doc.JSON()); !strings.Contains(got, `"port":5433`) || !strings.Contains(got, `"password":"1234"`) {
		t.Fatalf("document: %s", got)
	}
}
