package catalog

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/secret"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// fakeSource is a live database of tables without rows. Before answering
// Tables it calls reading, so that a test can act while a reconciliation
// is between reading the database and writing the catalog.
type fakeSource struct {
	tables  []connector.Table
	reading func()
}

func (f *fakeSource) Handler() string                           { return connector.PostgreSQL }
func (f *fakeSource) Ping(context.Context) error                { return nil }
func (f *fakeSource) Schemas(context.Context) ([]string, error) { return []string{"s"}, nil }
func (f *fakeSource) Tables(context.Context, ...string) ([]connector.Table, error) {
	if f.reading != nil {
		f.reading()
	}
	return f.tables, nil
}
func (f *fakeSource) LookupTables(context.Context, []connector.TableRef) ([]connector.Table, error) {
	return nil, nil
}
func (f *fakeSource) DescribeQuery(context.Context, connector.Query) ([]connector.Column, error) {
	return nil, nil
}
func (f *fakeSource) Sample(context.Context, connector.TableRef, connector.SampleOptions) (*connector.Sample, error) {
	return &connector.Sample{}, nil
}
func (f *fakeSource) SampleQuery(context.Context, connector.Query, connector.SampleOptions) (*connector.Sample, error) {
	return &connector.Sample{}, nil
}
func (f *fakeSource) Close() {}

func table(name string) connector.Table {
	return connector.Table{Schema: "s", Name: name, Kind: connector.KindTable, Readable: true, RowEstimate: -1,
		Columns: []connector.Column{{Name: "id", Position: 1, DataType: "integer", RemoteType: "integer"}}}
}

// newTestService is a catalog on a fresh SQLite store whose live
// connections all reach src.
func newTestService(t *testing.T, src connector.Source) *Service {
	t.Helper()
	return newTestServiceOn(t, t.TempDir(), src)
}

// newTestServiceOn is newTestService on the store at location (a directory
// for SQLite, a PostgreSQL URL).
func newTestServiceOn(t *testing.T, location string, src connector.Source) *Service {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(db, box, jobs.NewRunner(db, log), tags.New(db), log, Config{})
	s.open = func(context.Context, connector.Connection, connector.Options) (connector.Source, error) {
		return src, nil
	}
	return s
}

// registered stores a document registering every table, as SaveV2 does,
// and returns its connection id.
func registered(t *testing.T, s *Service, p *auth.Principal) int64 {
	t.Helper()
	doc := Document{ConnectionKey: "k", Connection: connector.Connection{Handler: connector.PostgreSQL, Hostname: "db",
		Database: "d", Username: "u", Password: "p"}}
	var conn *store.Connection
	err := s.db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		conn, err = s.storeDocument(context.Background(), tx, p, &doc, nil, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return conn.ID
}

func names(t *testing.T, s *Service, connID int64) []string {
	t.Helper()
	list, err := s.db.DataSourcesOfConnection(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range list {
		out = append(out, d.Name)
	}
	return out
}

func noProgress(int64, int64, string) {}

// A table deleted by hand while schema monitoring reads the database stays
// deleted: monitoring does not register it again from what it read before.
func TestReconcileKeepsATableDeletedWhileReading(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{tables: []connector.Table{table("a"), table("b")}}
	s := newTestService(t, src)
	admin := &auth.Principal{UserID: 1, Permissions: []string{auth.Governance}}
	connID := registered(t, s, admin)
	if _, err := s.reconcile(ctx, connID, modeRegister, &admin.UserID, nil, noProgress); err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, connID); !slices.Equal(got, []string{"S A", "S B"}) {
		t.Fatalf("registered: %v", got)
	}
	b, err := s.db.GetDataSourceByName(ctx, "S B")
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	src.reading = func() {
		if deleted {
			return
		}
		deleted = true
		for _, hard := range []bool{false, true} { // disable, then delete
			if _, err := s.Delete(ctx, admin, b.ID, hard); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := s.reconcile(ctx, connID, modeMonitor, nil, &monitorPayload{ConnectionID: connID}, noProgress); err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, connID); !slices.Equal(got, []string{"S A"}) {
		t.Fatalf("after a delete during monitoring: %v", got)
	}
}

// A registration job whose connection key was deleted meanwhile does
// nothing, and does not fail.
func TestReconcileOfADeletedConnection(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{tables: []connector.Table{table("a")}}
	s := newTestService(t, src)
	admin := &auth.Principal{UserID: 1, Permissions: []string{auth.Governance}}
	connID := registered(t, s, admin)
	src.reading = func() {
		if _, err := s.DeleteV2(ctx, admin, "k", false); err != nil {
			t.Error(err)
		}
	}
	out, err := s.reconcile(ctx, connID, modeRegister, &admin.UserID, nil, noProgress)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Creating) != 0 {
		t.Fatalf("created %v for a deleted connection", out.Creating)
	}
	if got := names(t, s, connID); len(got) != 0 {
		t.Fatalf("data sources of a deleted connection: %v", got)
	}
}

// A post stores its document over the connection row as it is when the
// post is written, not as it was when the post began: a table deleted by
// hand meanwhile stays excluded.
func TestSaveKeepsATableDeletedWhilePosting(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{tables: []connector.Table{table("a"), table("b")}}
	s := newTestService(t, src)
	admin := &auth.Principal{UserID: 1, Permissions: []string{auth.Admin}}
	connID := registered(t, s, admin)
	if _, err := s.reconcile(ctx, connID, modeRegister, &admin.UserID, nil, noProgress); err != nil {
		t.Fatal(err)
	}
	b, err := s.db.GetDataSourceByName(ctx, "S B")
	if err != nil {
		t.Fatal(err)
	}
	deleted := false
	src.reading = func() {
		if deleted {
			return
		}
		deleted = true
		for _, hard := range []bool{false, true} {
			if _, err := s.Delete(ctx, admin, b.ID, hard); err != nil {
				t.Error(err)
			}
		}
	}
	doc := Document{ConnectionKey: "k", Connection: connector.Connection{Handler: connector.PostgreSQL, Hostname: "db",
		Database: "d", Username: "u"}, Options: &Options{DisableSensitiveDataDiscovery: true}}
	if _, err := s.SaveV2(ctx, admin, doc, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := s.db.GetConnection(ctx, connID)
	if err != nil {
		t.Fatal(err)
	}
	if !excludedKeys(conn.Excluded)[tableKey("s", "b")] {
		t.Fatalf("the post forgot the table deleted meanwhile: excluded %s", conn.Excluded)
	}
	if _, err := s.reconcile(ctx, connID, modeRegister, &admin.UserID, nil, noProgress); err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, connID); !slices.Equal(got, []string{"S A"}) {
		t.Fatalf("after the post: %v", got)
	}
}
