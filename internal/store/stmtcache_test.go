package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/store"
)

// On SQLite, preparing a statement for the cache must not stop the
// transaction that holds the write lock: when every connection is taken
// (by that transaction and by others waiting for the lock), a query
// waiting to be prepared must not hold up the queries of the transaction,
// which alone can free the connections.
func TestStatementCacheDoesNotStallTheWriter(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *store.Tx) error {
			close(inside)
			<-release
			var n int
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE id > $1`, 0).Scan(&n)
		})
	}()
	<-inside
	// The other connections wait for the write lock.
	for i := 0; i < 7; i++ {
		go func() { _ = db.InTx(ctx, func(tx *store.Tx) error { return nil }) }()
	}
	time.Sleep(200 * time.Millisecond)
	// A read of a new query shape waits for a connection to prepare on.
	go func() {
		var n int
		_ = db.QueryRow(ctx, `SELECT COUNT(*) FROM groups WHERE id > $1`, 0).Scan(&n)
	}()
	time.Sleep(200 * time.Millisecond)
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer's query waited for another query's preparation")
	}
}
