package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/secret"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "custos.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:9000\ntokenTTL: 2h\nlogLevel: debug\n"), 0o600)
	cfg := Defaults()
	if err := cfg.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CUSTOS_LISTEN": "127.0.0.1:9001", "CUSTOS_ADMIN_API_KEY": "k"}
	if err := cfg.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9001" || cfg.TokenTTL != 2*time.Hour || cfg.LogLevel != "debug" || cfg.AdminAPIKey != "k" {
		t.Fatalf("precedence: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte("listne: typo\n"), 0o600)
	typo := Defaults()
	if err := typo.LoadFile(file); err == nil || !strings.Contains(err.Error(), "listne") {
		t.Fatalf("a misspelled key must be reported: %v", err)
	}
	bad := Defaults()
	bad.Store = "mysql://x:secret@h/db"
	bad.LogFormat = "xml"
	err := bad.Validate()
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "log format") {
		t.Fatalf("validation must name problems without leaking passwords: %v", err)
	}
	ttl := Defaults()
	if err := ttl.LoadEnv(func(k string) string { return map[string]string{"CUSTOS_TOKEN_TTL": "soon"}[k] }); err == nil {
		t.Fatal("a bad duration must be refused")
	}
}

func TestFirstStartCreatesAdminOnce(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	ctx := context.Background()
	app, err := New(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	key := app.AdminKey
	if len(key) != 32 {
		t.Fatalf("generated admin key: %q", key)
	}
	p, err := app.Identity.Authenticate(ctx, key)
	if err != nil || p.Username != "admin" || !p.Has("ADMIN") {
		t.Fatalf("admin key: %v %+v", err, p)
	}
	app.Close()
	fi, err := os.Stat(filepath.Join(cfg.DataDir, secret.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("encryption key file: %v %v", fi, err)
	}
	again, err := New(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.AdminKey != "" {
		t.Fatal("a second start must not create another administrator")
	}
	if _, err := again.Identity.Authenticate(ctx, key); err != nil {
		t.Fatalf("the first key must still work: %v", err)
	}

	chosen := Defaults()
	chosen.DataDir = t.TempDir()
	chosen.AdminAPIKey = "my-chosen-admin-key-123"
	app3, err := New(ctx, chosen, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app3.Close()
	if _, err := app3.Identity.Authenticate(ctx, "my-chosen-admin-key-123"); err != nil {
		t.Fatalf("CUSTOS_ADMIN_API_KEY must become the admin key: %v", err)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	app, err := New(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, func(a string) { addrs <- a }) }()
	base := URLFor(<-addrs)
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}

// The administrator and their key are created together: a first start that
// fails to create the key leaves no administrator behind, so the next
// start creates both instead of leaving a store nobody can log in to.
func TestFirstStartCreatesAdminWithItsKeyOrNothing(t *testing.T) {
	ctx := context.Background()
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.AdminAPIKey = "short"
	if app, err := New(ctx, cfg, io.Discard); err == nil {
		app.Close()
		t.Fatal("a CUSTOS_ADMIN_API_KEY shorter than 16 characters must be refused")
	}
	cfg.AdminAPIKey = "a-long-enough-admin-key"
	app, err := New(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Identity.Authenticate(ctx, "a-long-enough-admin-key"); err != nil {
		t.Fatalf("the administrator cannot log in after a failed first start: %v", err)
	}
}
