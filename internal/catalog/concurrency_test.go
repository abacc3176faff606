package catalog

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// holding runs change in a transaction of its own and keeps it open (its
// row locks held) until the returned function is called, which commits it.
func holding(t *testing.T, s *Service, change string, args ...any) (commit func()) {
	t.Helper()
	locked, release, done := make(chan error), make(chan struct{}), make(chan error)
	go func() {
		done <- s.db.InTx(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), change, args...)
			locked <- err
			<-release
			return err
		})
	}()
	if err := <-locked; err != nil {
		t.Fatal(err)
	}
	return func() {
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// waitForALockWait returns once some transaction of the database waits for
// a row lock.
func waitForALockWait(t *testing.T, s *Service) {
	t.Helper()
	ok := pgtest.WaitFor(10*time.Second, func() bool {
		var n int
		err := s.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n > 0
	})
	if !ok {
		t.Fatal("nothing waits for the held lock")
	}
}

// On PostgreSQL, a change to a data source written by another transaction
// while a request reads the same data source survives the request's write.
func TestConcurrentChangesToADataSourceAreNotLost(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{tables: []connector.Table{table("a"), table("b")}}
	s := newTestServiceOn(t, pgtest.NewDatabase(t), src)
	admin := &auth.Principal{UserID: 1, Permissions: []string{auth.Admin}}
	connID := registered(t, s, admin)
	if _, err := s.reconcile(ctx, connID, modeRegister, &admin.UserID, nil, noProgress); err != nil {
		t.Fatal(err)
	}
	a, err := s.db.GetDataSourceByName(ctx, "S A")
	if err != nil {
		t.Fatal(err)
	}

	// A rename while someone else's description is being written.
	commit := holding(t, s, `UPDATE data_sources SET description = 'by hand' WHERE id = $1`, a.ID)
	renamed := make(chan error)
	go func() {
		_, err := s.Update(ctx, admin, a.ID, Update{Name: ptr("Renamed")})
		renamed <- err
	}()
	waitForALockWait(t, s)
	commit()
	if err := <-renamed; err != nil {
		t.Fatal(err)
	}
	got, err := s.db.GetDataSource(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed" || deref(got.Description) != "by hand" {
		t.Fatalf("after two concurrent changes: name %q, description %q", got.Name, deref(got.Description))
	}

	// Schema monitoring while someone disables a data source whose columns
	// it changes.
	b, err := s.db.GetDataSourceByName(ctx, "S B")
	if err != nil {
		t.Fatal(err)
	}
	src.tables[1].Columns = append(src.tables[1].Columns, connector.Column{Name: "extra", Position: 2, DataType: "text", RemoteType: "text"})
	commit = holding(t, s, `UPDATE data_sources SET status = 'disabled', disabled_reason = 'user' WHERE id = $1`, b.ID)
	monitored := make(chan error)
	go func() {
		_, err := s.reconcile(ctx, connID, modeMonitor, nil, &monitorPayload{ConnectionID: connID}, noProgress)
		monitored <- err
	}()
	waitForALockWait(t, s)
	commit()
	if err := <-monitored; err != nil {
		t.Fatal(err)
	}
	if got, err = s.db.GetDataSource(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got.Status != store.DataSourceDisabled {
		t.Fatalf("monitoring enabled again a data source disabled meanwhile: %s", got.Status)
	}
}

// On PostgreSQL, rewriting a connection row (a rename, a failure noted)
// keeps what another transaction wrote to it meanwhile, such as a table
// deleted by hand.
func TestConcurrentChangesToAConnectionAreNotLost(t *testing.T) {
	ctx := context.Background()
	s := newTestServiceOn(t, pgtest.NewDatabase(t), &fakeSource{})
	admin := &auth.Principal{UserID: 1, Permissions: []string{auth.Admin}}
	connID := registered(t, s, admin)
	excluded := `[{"schema":"s","table":"b"}]`
	commit := holding(t, s, `UPDATE connections SET excluded = $2 WHERE id = $1`, connID, excluded)
	renamed := make(chan error)
	go func() {
		_, err := s.RenameV2(ctx, admin, "k", "k2")
		renamed <- err
	}()
	waitForALockWait(t, s)
	commit()
	if err := <-renamed; err != nil {
		t.Fatal(err)
	}
	c, err := s.db.GetConnection(ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConnectionKey != "k2" || !excludedKeys(c.Excluded)[tableKey("s", "b")] {
		t.Fatalf("after a rename and an exclusion: key %q, excluded %s", c.ConnectionKey, c.Excluded)
	}
}
