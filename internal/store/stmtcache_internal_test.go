package store

import (
	"context"
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
