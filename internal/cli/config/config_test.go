package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveKeepsOtherProfilesAndFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg.yaml")
	os.WriteFile(path, []byte("default:\n  host: https://a\n  api_key: k1\n  extra: kept\nother:\n  host: https://b\n  api_key: k2\n"), 0o644)
	if err := Save(path, "default", Profile{Host: "https://c", APIKey: "k3"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := "default:\n  api_key: k3\n  extra: kept\n  host: https://c\nother:\n  api_key: k2\n  host: https://b\n"
	if string(data) != want {
		t.Fatalf("file:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cfg.yaml")
	os.WriteFile(path, []byte("default:\n  host: example.com/custos/\n  api_key: k\nnohost:\n  api_key: k\n"), 0o600)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	p, err := Resolve(path, "default", getenv)
	if err != nil || p.Host != "https://example.com/custos" || p.APIKey != "k" {
		t.Fatalf("%+v %v", p, err)
	}
	for profile, want := range map[string]string{"nohost": `profile "nohost" has no host`, "missing": `profile "missing" is not in`} {
		if _, err := Resolve(path, profile, getenv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", profile, err)
		}
	}
	env["CUSTOS_URL"] = "http://override:8080"
	if p, _ := Resolve(path, "default", getenv); p.Host != "http://override:8080" || p.APIKey != "k" {
		t.Fatalf("override: %+v", p)
	}
	if _, err := Resolve(filepath.Join(dir, "none.yaml"), "default", getenv); err == nil || !strings.Contains(err.Error(), "CUSTOS_URL is set but CUSTOS_API_KEY is not") {
		t.Fatalf("half the environment: %v", err)
	}
	env["CUSTOS_API_KEY"] = "envkey"
	if p, err := Resolve(filepath.Join(dir, "none.yaml"), "any", getenv); err != nil || p.APIKey != "envkey" {
		t.Fatalf("environment only: %+v %v", p, err)
	}
}

func TestLocatePrefersCustosThenImmuta(t *testing.T) {
	home := t.TempDir()
	if got := Locate("", home); got != filepath.Join(home, FileName) {
		t.Fatal(got)
	}
	os.WriteFile(filepath.Join(home, LegacyFileName), []byte("{}"), 0o600)
	if got := Locate("", home); got != filepath.Join(home, LegacyFileName) {
		t.Fatal(got)
	}
	os.WriteFile(filepath.Join(home, FileName), []byte("{}"), 0o600)
	if got := Locate("", home); got != filepath.Join(home, FileName) {
		t.Fatal(got)
	}
	if got := Locate("/x/y.yaml", home); got != "/x/y.yaml" {
		t.Fatal(got)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{"https://a.b/": "https://a.b", "a.b:8443": "https://a.b:8443",
		" http://127.0.0.1:8080 ": "http://127.0.0.1:8080", "https://a/prefix/": "https://a/prefix",
		// A loopback server without a scheme is custos serve's plain HTTP.
		"127.0.0.1:8080": "http://127.0.0.1:8080", "localhost:8080/": "http://localhost:8080", "[::1]:8080": "http://[::1]:8080",
		"https://localhost:8443": "https://localhost:8443", "custos.example.com": "https://custos.example.com"} {
		if got, err := NormalizeURL(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ftp://a", "https://", "https://a?x=1", "http://[::1"} {
		if _, err := NormalizeURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
