package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements by their SQL text. database/sql
// re-prepares a statement on each connection it is used on and shares it
// safely between goroutines. The cache is bounded: queries built from
// optional filters have many shapes, and once it is full further queries run
// unprepared (evicting would close statements other goroutines may be using).
//
// A query's first use runs unprepared while the statement is prepared in
// the background: preparing takes a connection of its own, and on SQLite
// every connection may be held by transactions waiting for the write lock of
// the very transaction whose query asks, so neither that query nor the
// cache's lock may wait for it.
//
// Closing waits for the statements being prepared: a preparation that
// outlived the store would hold a connection past DB.Close, and closing
// that connection later rewrites the SQLite files after the caller thinks
// the store is gone (a test's temporary directory then cannot be removed).
type stmtCache struct {
	db      *sql.DB
	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // being prepared
	closed  bool

	preparing sync.WaitGroup     // background preparations in flight
	ctx       context.Context    // cancelled by close, so preparations stop waiting
	cancel    context.CancelFunc //
	// beforePrepare, when set (by tests), runs before each preparation.
	beforePrepare func()
}

const stmtCacheSize = 512

func newStmtCache(db *sql.DB) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}, ctx: ctx, cancel: cancel}
}

// get returns the statement for query, or nil when it is not prepared yet
// (the caller then runs the query unprepared, which also reports any error
// in it).
func (c *stmtCache) get(_ context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st := c.stmts[query]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil || c.closed || c.pending[query] || len(c.stmts)+len(c.pending) >= stmtCacheSize {
		return st
	}
	c.pending[query] = true
	c.preparing.Add(1)
	go c.prepare(query)
	return nil
}

// prepare prepares query for the cache; it holds no lock while it waits.
func (c *stmtCache) prepare(query string) {
	defer c.preparing.Done()
	if c.beforePrepare != nil {
		c.beforePrepare()
	}
	st, err := c.db.PrepareContext(c.ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return
	}
	if c.closed {
		st.Close()
		return
	}
	c.stmts[query] = st
}

// close closes the statements once no preparation is in flight.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.preparing.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
