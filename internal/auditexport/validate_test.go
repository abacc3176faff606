package auditexport

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLocalDirectory: whatever directory a configuration names, an
// accepted one resolves inside the export root, and so does every file.
func FuzzLocalDirectory(f *testing.F) {
	for _, seed := range []string{"trail", "a/b", "../x", "a/../../x", "/etc", `C:\x`, `..\x`, "./.", "a//b/", "...", " x "} {
		f.Add(seed, "2026/01/02/x.jsonl")
	}
	root := f.TempDir()
	s := &Service{opts: Options{Dir: root}}
	f.Fuzz(func(t *testing.T, dir, name string) {
		endpoint, _, err := validate(Input{Type: TypeLocal, Interval: "EVERY_HOUR", EndpointConfiguration: map[string]any{"directory": dir}})
		if err != nil {
			return
		}
		d, err := s.destination(&Config{Type: TypeLocal, Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		local := d.(localDir)
		if rel, err := filepath.Rel(root, local.dir); err != nil || outside(rel) {
			t.Fatalf("directory %q resolves to %s, outside %s", dir, local.dir, root)
		}
		target := filepath.Join(local.dir, filepath.FromSlash(filepath.ToSlash(filepath.Clean("/"+name))))
		if rel, err := filepath.Rel(root, target); err != nil || outside(rel) {
			t.Fatalf("file %q of %q resolves outside the root", name, dir)
		}
	})
}

func outside(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel)
}

// FuzzValidate: validation never panics and never returns a secret among
// the endpoint fields.
func FuzzValidate(f *testing.F) {
	f.Add("s3", "EVERY_HOUR", "bucket", "my-bucket", "secretAccessKey", "x")
	f.Add("adls", "EVERY_2_HOURS", "sasToken", "sig", "container", "c-1")
	f.Add("local", "", "directory", "..", "path", "/")
	f.Fuzz(func(t *testing.T, typ, interval, k1, v1, k2, v2 string) {
		endpoint, secrets, err := validate(Input{Type: typ, Interval: interval, EndpointConfiguration: map[string]any{k1: v1, k2: v2}})
		if err != nil {
			return
		}
		for _, secret := range []string{"secretAccessKey", "sasToken"} {
			if _, leaked := endpoint[secret]; leaked {
				t.Fatalf("%s kept among the endpoint fields", secret)
			}
		}
		if typ == TypeS3 && secrets["secretAccessKey"] == "" {
			t.Fatal("an s3 configuration without its secret was accepted")
		}
	})
}
