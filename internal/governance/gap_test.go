package governance_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// heldTx runs fn in a transaction that stays open until release is called
// with true (commit) or false (roll back).
func heldTx(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) (release func(commit bool)) {
	t.Helper()
	ready, decide, done := make(chan error, 1), make(chan bool), make(chan error, 1)
	go func() {
		done <- db.InTx(context.Background(), func(tx *store.Tx) error {
			err := fn(tx)
			ready <- err
			if err != nil {
				return err
			}
			if !<-decide {
				return errors.New("rolled back on purpose")
			}
			return nil
		})
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	return func(commit bool) {
		decide <- commit
		err := <-done
		if commit && err != nil {
			t.Fatal(err)
		}
	}
}

// insertPolicy writes a policy and its change the way the service does,
// in tx, and returns the policy id.
func insertPolicy(t *testing.T, tx *store.Tx, key string) int64 {
	t.Helper()
	p, err := policy.DecodeV2([]byte("name: " + key + "\npolicyKey: " + key + "\ntype: data\nactions:\n- rules:\n  - {type: Masking, config: {fields: [{type: allColumns}], maskingConfig: {type: Hash}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(p)
	now := store.Now()
	var id int64
	ctx := context.Background()
	if err := tx.QueryRow(ctx, `INSERT INTO policies (policy_key, name, type, document, created_at, updated_at)
		VALUES ($1, $1, 'data', $2, $3, $3) RETURNING id`, key, string(doc), now).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := tx.AppendChange(ctx, governance.KindPolicySaved, "policy", strconv.FormatInt(id, 10)); err != nil {
		t.Fatal(err)
	}
	return id
}

func backlog(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "custos_policy_change_backlog" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no backlog metric")
	return 0
}

// On PostgreSQL, change ids of concurrent transactions commit out of order:
// a change that commits after a later id was read must still be applied,
// however long its transaction stays open, also across a reload; and a
// rolled-back transaction must not hold the engine back.
func TestChangeLogGaps(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	svc := governance.New(db, governance.Options{Registry: reg, GapTimeout: 300 * time.Millisecond})
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var ds int64
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		d := &store.DataSource{Name: "t", Technology: "PostgreSQL", RemoteKind: "table", Status: store.DataSourceEnabled,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateDataSource(ctx, d); err != nil {
			return err
		}
		ds = d.ID
		if err := tx.ReplaceColumns(ctx, ds, []store.Column{{Name: "a", DataType: "text", CreatedAt: now, UpdatedAt: now}}); err != nil {
			return err
		}
		return tx.AppendChange(ctx, "dataSourceCreated", "datasource", strconv.FormatInt(ds, 10))
	}); err != nil {
		t.Fatal(err)
	}
	sync := func() {
		t.Helper()
		if err := svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	applies := func(id int64) bool {
		for _, x := range svc.Reach(id) {
			if x == ds {
				return true
			}
		}
		return false
	}
	sync()

	// A change that commits late, below one already applied, after longer
	// than GapTimeout.
	var early, late int64
	release := heldTx(t, db, func(tx *store.Tx) error { early = insertPolicy(t, tx, "early"); return nil })
	if err := db.InTx(ctx, func(tx *store.Tx) error { late = insertPolicy(t, tx, "late"); return nil }); err != nil {
		t.Fatal(err)
	}
	sync()
	if !applies(late) || applies(early) {
		t.Fatalf("before the early transaction commits: late %v, early %v", applies(late), applies(early))
	}
	if backlog(t, reg) != 1 {
		t.Fatalf("backlog %v while a change is in flight", backlog(t, reg))
	}
	time.Sleep(400 * time.Millisecond)
	sync()
	release(true)
	sync()
	if !applies(early) {
		t.Fatal("a change that committed late was skipped")
	}
	if backlog(t, reg) != 0 {
		t.Fatalf("backlog %v after the early transaction finished", backlog(t, reg))
	}

	// A rolled-back transaction holds nothing back.
	release = heldTx(t, db, func(tx *store.Tx) error { insertPolicy(t, tx, "never"); return nil })
	var after int64
	if err := db.InTx(ctx, func(tx *store.Tx) error { after = insertPolicy(t, tx, "after"); return nil }); err != nil {
		t.Fatal(err)
	}
	release(false)
	sync()
	if !applies(after) || backlog(t, reg) != 0 {
		t.Fatalf("past a rolled-back change: applied %v, backlog %v", applies(after), backlog(t, reg))
	}

	// A transaction open across a reload commits after it.
	var straddle int64
	release = heldTx(t, db, func(tx *store.Tx) error { straddle = insertPolicy(t, tx, "straddle"); return nil })
	time.Sleep(400 * time.Millisecond)
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if applies(straddle) {
		t.Fatal("an uncommitted change was loaded")
	}
	release(true)
	sync()
	if !applies(straddle) || !applies(after) {
		t.Fatalf("after a reload: straddle %v, after %v", applies(straddle), applies(after))
	}
}
