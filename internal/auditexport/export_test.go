package auditexport_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/api"
	"github.com/custosdata/custos/internal/auditexport"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// makeRecords writes n audit records by creating tags.
func makeRecords(t *testing.T, env *servertest.Env, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		env.Admin(t, 200, "POST", "/tag", map[string]any{"tags": []map[string]any{{"name": prefix + "." + string(rune('a'+i))}}})
	}
}

// exported reads every JSON line under dir, keyed by record id, failing
// on a record exported twice.
func exported(t *testing.T, dir string) (map[string]map[string]any, []string) {
	t.Helper()
	seen := map[string]map[string]any{}
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files = append(files, p)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: a line is not JSON: %v", p, err)
			}
			id := rec["id"].(string)
			if _, dup := seen[id]; dup {
				t.Fatalf("record %s exported twice", id)
			}
			seen[id] = rec
		}
		return nil
	})
	sort.Strings(files)
	return seen, files
}

func createLocal(t *testing.T, env *servertest.Env, dir string) map[string]any {
	t.Helper()
	return env.Admin(t, 200, "POST", "/audit/exportConfig", map[string]any{"type": "local", "interval": "EVERY_HOUR",
		"endpointConfiguration": map[string]any{"directory": dir}}).Map(t)
}

func TestLocalExportIsCompleteAndExactlyOnce(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		cfg := createLocal(t, env, "trail")
		id := cfg["id"].(string)
		if cfg["endpointConfiguration"].(map[string]any)["__typename"] != "LocalEndpointConfiguration" || cfg["status"].(map[string]any)["state"] != "pending" {
			t.Fatalf("created: %v", cfg)
		}
		dir := filepath.Join(env.App.Config.DataDir, "audit-export", "trail")
		makeRecords(t, env, "First", 3)
		start := time.Now()

		// Not due yet: nothing is written.
		if err := env.App.AuditExport.ExportDue(ctx, start); err != nil {
			t.Fatal(err)
		}
		if got, _ := exported(t, dir); len(got) != 0 {
			t.Fatalf("exported before the interval: %d records", len(got))
		}

		if err := env.App.AuditExport.ExportDue(ctx, start.Add(61*time.Minute)); err != nil {
			t.Fatal(err)
		}
		first, files := exported(t, dir)
		if len(first) < 4 || len(files) != 1 { // three tag creations (and the configuration's own record)
			t.Fatalf("first export: %d records in %v", len(first), files)
		}
		for _, rec := range first {
			if rec["recordType"] == "" || rec["dateTime"] == "" {
				t.Fatalf("record lacks fields: %v", rec)
			}
		}
		st := env.Admin(t, 200, "GET", "/audit/exportConfig/"+id, nil).Map(t)["status"].(map[string]any)
		if st["state"] != "ok" || int(st["exportedRecords"].(float64)) != len(first) {
			t.Fatalf("status after the first export: %v", st)
		}

		// A second pass in the same interval exports nothing more.
		if err := env.App.AuditExport.ExportDue(ctx, start.Add(62*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if again, _ := exported(t, dir); len(again) != len(first) {
			t.Fatalf("a pass before the next interval exported %d more", len(again)-len(first))
		}

		// A new service over the same store (a restart) resumes from the
		// cursor: only the new records, in a new file, each exactly once.
		makeRecords(t, env, "Second", 2)
		restarted := auditexport.New(env.App.DB, env.App.Secrets, auditexport.Options{
			Dir: filepath.Join(env.App.Config.DataDir, "audit-export"), Encode: api.AuditRecordJSON, Batch: 1})
		if err := restarted.ExportDue(ctx, start.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		all, files := exported(t, dir)
		added := 0
		for rid, rec := range all {
			if _, old := first[rid]; !old {
				added++
				if rec["recordType"] != "tagCreate" && rec["recordType"] != "apiCall" {
					t.Logf("new record of type %v", rec["recordType"])
				}
			}
		}
		if added < 2 || len(files) != 1+added {
			t.Fatalf("after the restart: %d new records in %d files (batch of 1 means a file each)", added, len(files))
		}
	})
}

func TestDisabledConfigurationsWait(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	ctx := context.Background()
	id := createLocal(t, env, "paused")["id"].(string)
	off := env.Admin(t, 200, "PUT", "/audit/exportConfig/"+id+"/disable", nil).Map(t)
	if off["enabled"] != false || off["status"].(map[string]any)["nextExportAt"] != nil {
		t.Fatalf("disabled: %v", off)
	}
	makeRecords(t, env, "Paused", 2)
	if err := env.App.AuditExport.ExportDue(ctx, time.Now().Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.App.Config.DataDir, "audit-export", "paused")
	if got, _ := exported(t, dir); len(got) != 0 {
		t.Fatalf("a disabled configuration exported %d records", len(got))
	}
	on := env.Admin(t, 200, "PUT", "/audit/exportConfig/"+id+"/enable", nil).Map(t)
	if on["enabled"] != true {
		t.Fatalf("enabled: %v", on)
	}
	if err := env.App.AuditExport.ExportDue(ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Records created while disabled are exported once enabled again.
	if got, _ := exported(t, dir); len(got) < 2 {
		t.Fatalf("after enabling: %d records", len(got))
	}
}

// fakeS3 accepts signed PutObject requests and keeps the objects.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	fail    bool
	t       *testing.T
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	auth := r.Header.Get("Authorization")
	switch {
	case r.Method != http.MethodPut:
		f.t.Errorf("method %s", r.Method)
	case r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]):
		f.t.Errorf("x-amz-content-sha256 does not match the body")
	case !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY123/") ||
		!strings.Contains(auth, "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="):
		f.t.Errorf("Authorization: %s", auth)
	case len(r.Header.Get("X-Amz-Date")) != len("20060102T150405Z"):
		f.t.Errorf("x-amz-date: %q", r.Header.Get("X-Amz-Date"))
	}
	if f.fail {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	f.objects[r.URL.Path] = body
}

func TestS3ExportAndSecrets(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		s3 := &fakeS3{objects: map[string][]byte{}, fail: true, t: t}
		srv := httptest.NewServer(s3)
		defer srv.Close()
		const secret = "s3cr3t/KEY+value-that-must-never-leak"
		cfg := env.Admin(t, 200, "POST", "/audit/exportConfig", map[string]any{"type": "s3", "interval": "EVERY_12_HOURS",
			"endpointConfiguration": map[string]any{"bucket": "audit-bucket", "path": "hr-data", "region": "us-east-1",
				"accessKeyId": "AKIAEXAMPLEKEY123", "secretAccessKey": secret, "endpoint": srv.URL}}).Map(t)
		id := cfg["id"].(string)
		ep := cfg["endpointConfiguration"].(map[string]any)
		if ep["__typename"] != "S3EndpointConfiguration" || ep["bucket"] != "audit-bucket" || ep["accessKeyId"] != "AKIAEXAMPLEKEY123" {
			t.Fatalf("endpoint: %v", ep)
		}
		for _, body := range [][]byte{env.Admin(t, 200, "GET", "/audit/exportConfig/"+id, nil).Body,
			env.Admin(t, 200, "GET", "/audit/exportConfig", nil).Body} {
			if strings.Contains(string(body), secret) || strings.Contains(string(body), "secretAccessKey") {
				t.Fatalf("the secret is returned: %s", body)
			}
		}
		var sealed string
		if err := env.App.DB.QueryRow(ctx, `SELECT secrets FROM audit_export_configs WHERE id = $1`, id).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, secret) {
			t.Fatalf("the secret is not sealed at rest: %q", sealed)
		}

		makeRecords(t, env, "Cloud", 2)
		at := time.Now().Add(13 * time.Hour)
		// S3 refuses: the status says so and the cursor stays.
		if err := env.App.AuditExport.ExportDue(ctx, at); err != nil {
			t.Fatal(err)
		}
		st := env.Admin(t, 200, "GET", "/audit/exportConfig/"+id, nil).Map(t)["status"].(map[string]any)
		if st["state"] != "error" || !strings.Contains(st["message"].(string), "AccessDenied") || st["exportedRecords"].(float64) != 0 {
			t.Fatalf("status after a refused upload: %v", st)
		}
		// Retried after the retry delay, it succeeds and exports everything.
		s3.mu.Lock()
		s3.fail = false
		s3.mu.Unlock()
		if err := env.App.AuditExport.ExportDue(ctx, at.Add(6*time.Minute)); err != nil {
			t.Fatal(err)
		}
		st = env.Admin(t, 200, "GET", "/audit/exportConfig/"+id, nil).Map(t)["status"].(map[string]any)
		if st["state"] != "ok" || st["exportedRecords"].(float64) < 2 {
			t.Fatalf("status after the retry: %v", st)
		}
		s3.mu.Lock()
		defer s3.mu.Unlock()
		if len(s3.objects) != 1 {
			t.Fatalf("objects: %v", len(s3.objects))
		}
		for p, data := range s3.objects {
			if !strings.HasPrefix(p, "/audit-bucket/hr-data/") || !strings.HasSuffix(p, ".jsonl") {
				t.Fatalf("object key %s", p)
			}
			if lines := strings.Count(string(data), "\n"); float64(lines) != st["exportedRecords"].(float64) {
				t.Fatalf("%d lines for %v records", lines, st["exportedRecords"])
			}
		}
	})
}

func TestADLSIsStoredButNotConnected(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	cfg := env.Admin(t, 200, "POST", "/audit/exportConfig", map[string]any{"type": "adls", "interval": "EVERY_24_HOURS",
		"endpointConfiguration": map[string]any{"storageAccount": "auditstore", "container": "custos-audit", "path": "trail",
			"sasToken": "sv=2022&sig=abc"}}).Map(t)
	st := cfg["status"].(map[string]any)
	if st["state"] != "notConnected" || !strings.Contains(st["message"].(string), "no audit record has been uploaded") {
		t.Fatalf("status: %v", st)
	}
	if strings.Contains(string(env.Admin(t, 200, "GET", "/audit/exportConfig", nil).Body), "sig=abc") {
		t.Fatal("the SAS token is returned")
	}
	if err := env.App.AuditExport.ExportDue(context.Background(), time.Now().Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st = env.Admin(t, 200, "GET", "/audit/exportConfig/"+cfg["id"].(string), nil).Map(t)["status"].(map[string]any)
	if st["state"] != "notConnected" || st["exportedRecords"].(float64) != 0 || st["lastExportAt"] == nil {
		t.Fatalf("status after a run: %v", st)
	}
}

func TestValidationNamesEveryField(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	cases := []struct {
		body   map[string]any
		fields []string
	}{
		{map[string]any{}, []string{"type", "interval", "endpointConfiguration"}},
		{map[string]any{"type": "ftp", "interval": "EVERY_MINUTE", "endpointConfiguration": map[string]any{}}, []string{"type", "interval"}},
		{map[string]any{"type": "s3", "interval": "EVERY_HOUR", "endpointConfiguration": map[string]any{"bucket": "No_Such",
			"region": "moon", "accessKeyId": "lower", "path": "../up", "endpoint": "ftp://x"}},
			[]string{"endpointConfiguration.bucket", "endpointConfiguration.path", "endpointConfiguration.region",
				"endpointConfiguration.accessKeyId", "endpointConfiguration.secretAccessKey", "endpointConfiguration.endpoint"}},
		{map[string]any{"type": "adls", "interval": "EVERY_HOUR", "endpointConfiguration": map[string]any{"storageAccount": 7,
			"container": "a--b"}}, []string{"endpointConfiguration.storageAccount", "endpointConfiguration.container", "endpointConfiguration.sasToken"}},
		{map[string]any{"type": "local", "interval": "EVERY_HOUR", "endpointConfiguration": map[string]any{"directory": "/etc"}},
			[]string{"endpointConfiguration.directory"}},
		{map[string]any{"type": "local", "interval": "EVERY_HOUR", "endpointConfiguration": map[string]any{"directory": "a/../../x"}},
			[]string{"endpointConfiguration.directory"}},
	}
	for _, c := range cases {
		r := env.Admin(t, 422, "POST", "/audit/exportConfig", c.body)
		var body struct {
			Validation []struct{ Field string } `json:"validation"`
		}
		r.JSON(t, &body)
		var got []string
		for _, v := range body.Validation {
			got = append(got, v.Field)
		}
		sort.Strings(got)
		want := append([]string(nil), c.fields...)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%v: fields %v, want %v", c.body, got, want)
		}
	}
	if list := env.Admin(t, 200, "GET", "/audit/exportConfig", nil).Body; strings.TrimSpace(string(list)) != "[]" {
		t.Fatalf("invalid configurations were stored: %s", list)
	}
}

func TestExportConfigNeedsAudit(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	_, key := env.NewUser(t, "nosy", "GOVERNANCE")
	env.Must(t, 403, key, "GET", "/audit/exportConfig", nil)
	env.Must(t, 403, key, "POST", "/audit/exportConfig", map[string]any{"type": "local", "interval": "EVERY_HOUR",
		"endpointConfiguration": map[string]any{"directory": "x"}})
	_, auditor := env.NewUser(t, "auditor", "AUDIT")
	id := env.Must(t, 200, auditor, "POST", "/audit/exportConfig", map[string]any{"type": "local", "interval": "EVERY_HOUR",
		"endpointConfiguration": map[string]any{"directory": "x"}}).Map(t)["id"].(string)
	env.Must(t, 404, auditor, "GET", "/audit/exportConfig/no-such-id", nil)
	env.Must(t, 204, auditor, "DELETE", "/audit/exportConfig/"+id, nil)
	env.Must(t, 404, auditor, "DELETE", "/audit/exportConfig/"+id, nil)
	recs := env.Admin(t, 200, "GET", "/audit?targetType=auditExportConfig&targetId="+id, nil).Map(t)
	if recs["count"].(float64) != 2 {
		t.Fatalf("audit records of the configuration: %v", recs["count"])
	}
	if n := env.App.API.AuditFallbacks(); n != 0 {
		t.Fatalf("%d changes were audited only by the safety net", n)
	}
}

func TestRecentRecordsWaitForTheLag(t *testing.T) {
	env := servertest.New(t, servertest.SQLite)
	ctx := context.Background()
	id := createLocal(t, env, "lagged")["id"].(string)
	makeRecords(t, env, "Fresh", 2)
	// Make the export due now: the records are younger than the lag (a
	// minute), so a transaction still open could commit one older than
	// them; they wait for the next run.
	if _, err := env.App.DB.Exec(ctx, `UPDATE audit_export_configs SET next_run_at = $2 WHERE id = $1`, id,
		time.Now().Add(-time.Second).UTC()); err != nil {
		t.Fatal(err)
	}
	if err := env.App.AuditExport.ExportDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.App.Config.DataDir, "audit-export", "lagged")
	if got, _ := exported(t, dir); len(got) != 0 {
		t.Fatalf("%d records younger than the lag were exported", len(got))
	}
	if err := env.App.AuditExport.ExportDue(ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := exported(t, dir); len(got) < 2 {
		t.Fatalf("later: %d records", len(got))
	}
}

func TestServersSharingAStoreExportOnce(t *testing.T) {
	servertest.EachBackend(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		createLocal(t, env, "shared")
		makeRecords(t, env, "Shared", 4)
		opts := auditexport.Options{Dir: filepath.Join(env.App.Config.DataDir, "audit-export"), Encode: api.AuditRecordJSON, Batch: 1}
		a, b := auditexport.New(env.App.DB, env.App.Secrets, opts), auditexport.New(env.App.DB, env.App.Secrets, opts)
		at := time.Now().Add(2 * time.Hour)
		var wg sync.WaitGroup
		for _, s := range []*auditexport.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.ExportDue(ctx, at); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, files := exported(t, filepath.Join(env.App.Config.DataDir, "audit-export", "shared"))
		if len(got) < 4 || len(files) != len(got) {
			t.Fatalf("%d records in %d files", len(got), len(files))
		}
	})
}
