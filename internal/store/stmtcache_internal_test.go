package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// A query prepared in the background is served from the cache afterwards.
func TestStatementCacheFills(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const query = `SELECT COUNT(*) FROM users WHERE id > $1`
	var n int
	if err := db.QueryRow(ctx, query, 0).Scan(&n); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); db.stmts.get(ctx, query) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the statement was never cached")
		}
	}
	err = db.InTx(ctx, func(tx *Tx) error { return tx.QueryRow(ctx, query, 0).Scan(&n) })
	if err != nil {
		t.Fatal(err)
	}
	// A query that does not parse is reported by the unprepared run and never cached.
	if err := db.QueryRow(ctx, `SELECT FROM WHERE`).Scan(&n); err == nil {
		t.Fatal("a malformed query must fail")
	}
}

// Closing the store waits for the statements being prepared in the
// background, so that no connection outlives Close: one that did would
// rewrite the SQLite files after the caller removed them (the cause of a
// test's "TempDir RemoveAll cleanup: directory not empty").
func TestCloseWaitsForBackgroundPreparation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	db.stmts.beforePrepare = func() {
		close(entered)
		<-release
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE id > $1 AND id < $2`, 0, 10).Scan(&n); err != nil {
		t.Fatal(err)
	}
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a statement was still being prepared", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "-wal") || strings.HasSuffix(e.Name(), "-shm") {
			t.Fatalf("%s is left after Close: a connection is still open", e.Name())
		}
	}
}
