package secret

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFileIsCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	b1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	sealed := b1.Seal([]byte("s3cret"))
	b2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b2.Open(sealed)
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("reopen with the same key: %q %v", got, err)
	}
	other, _ := LoadOrCreate(t.TempDir())
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("another key must not decrypt")
	}
	if _, err := b1.Open(sealed[:len(sealed)-4] + "AAAA"); err == nil {
		t.Fatal("tampered value must not decrypt")
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o644)
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("a world-readable key must be refused")
	}
}

func TestSealIsRandomized(t *testing.T) {
	b, _ := LoadOrCreate(t.TempDir())
	if b.Seal([]byte("x")) == b.Seal([]byte("x")) {
		t.Fatal("two seals of one value must differ")
	}
	if HashCredential("a") == HashCredential("b") || len(NewCredential(16)) != 32 {
		t.Fatal("credential helpers")
	}
}
