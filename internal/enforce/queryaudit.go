package enforce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/enforce/postgres"
	"github.com/custosdata/custos/internal/queryaudit"
	"github.com/custosdata/custos/internal/store"
)

// logReader reads a database server's log.
type logReader interface {
	// Ident names the log (a change means a new file) and gives its size.
	Ident(ctx context.Context) (id string, size int64, err error)
	// Read reads up to n bytes of log id from off.
	Read(ctx context.Context, id string, off int64, n int) ([]byte, error)
}

// fileLog is a log file custos reads directly.
type fileLog struct{ path string }

func (f fileLog) Ident(ctx context.Context) (string, int64, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", 0, err
	}
	id := f.path
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id += "#" + strconv.FormatUint(st.Ino, 10)
	}
	return id, fi.Size(), nil
}

func (f fileLog) Read(ctx context.Context, id string, off int64, n int) ([]byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	buf := make([]byte, n)
	m, err := fh.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:m], nil
}

type serverLog struct{ postgres.ServerLog }

func (l serverLog) Read(ctx context.Context, id string, off int64, n int) ([]byte, error) {
	return l.ServerLog.Read(ctx, id, off, n)
}

func (s *Service) logOf(db *postgres.Database, pc PostgresConfig) logReader {
	if pc.Audit.LogPath != "" {
		return fileLog{pc.Audit.LogPath}
	}
	return serverLog{postgres.ServerLog{D: db}}
}

// checkLogReadable is the validation test of the log source.
func checkLogReadable(ctx context.Context, db *postgres.Database, srv *postgres.Server, pc PostgresConfig) error {
	if pc.Audit.LogPath != "" {
		f, err := os.Open(pc.Audit.LogPath)
		if err != nil {
			return fmt.Errorf("custos cannot read config.audit.logPath %q: %v; give the custos server read access to the PostgreSQL log file", pc.Audit.LogPath, err)
		}
		return f.Close()
	}
	if _, _, err := (postgres.ServerLog{D: db}).Ident(ctx); err != nil {
		return fmt.Errorf("custos cannot read the server's log through SQL (%v): set config.audit.logPath to the log file as custos can read it, or turn logging_collector on and connect as a superuser", err)
	}
	return nil
}

// chunk bounds what one ingestion reads.
const chunk = 1 << 20

func (s *Service) ingestLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.AuditInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			list, err := s.db.Integrations(ctx)
			if err != nil {
				continue
			}
			for _, in := range list {
				if in.Type != TypePostgreSQL || !live[in.Status] {
					continue
				}
				if _, err := s.Ingest(ctx, in.ID); err != nil && ctx.Err() == nil {
					s.log.Warn("query audit", "integration", in.ID, "error", err)
				}
			}
		}
	}
}

// startAudit puts the cursor of a newly audited integration at the end of the
// log: audit starts when custos starts governing.
func (s *Service) startAudit(ctx context.Context, in *store.Integration, db *postgres.Database, pc PostgresConfig) error {
	if _, err := s.db.GetAuditCursor(ctx, in.ID); err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	id, size, err := s.logOf(db, pc).Ident(ctx)
	if err != nil {
		return err
	}
	_, err = s.db.MoveAuditCursor(ctx, in.ID, nil, store.AuditCursor{Source: id, Position: size}, store.Now())
	return err
}

// Ingest reads the new records of an integration's database log and records
// one auditQuery record per statement and data source: who (database role,
// and the custos user behind it) queried which data source with what. The
// cursor moves in the same transaction as the records are written, and only
// if no other server moved it meanwhile: each record is ingested once.
func (s *Service) Ingest(ctx context.Context, id int64) (int, error) {
	in, err := s.db.GetIntegration(ctx, id)
	if err != nil {
		return 0, err
	}
	cfg, _, err := s.config(in)
	if err != nil {
		return 0, err
	}
	pc := postgresConfig(cfg)
	if !pc.Audit.Enabled {
		return 0, nil
	}
	db, err := s.open(ctx, in.ID, pc)
	if err != nil {
		return 0, err
	}
	cur, err := s.db.GetAuditCursor(ctx, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, s.startAudit(ctx, in, db, pc)
	} else if err != nil {
		return 0, err
	}
	src := s.logOf(db, pc)
	logID, size, err := src.Ident(ctx)
	if err != nil {
		return 0, err
	}
	pos := cur.Position
	if logID != cur.Source || size < pos {
		pos = 0 // a new or truncated log: read it from its start
	}
	if size == pos {
		return 0, nil
	}
	data, err := src.Read(ctx, logID, pos, int(min(size-pos, chunk)))
	if err != nil {
		return 0, err
	}
	var prefix string
	if err := db.QueryRow(ctx, `SELECT pg_catalog.current_setting('log_line_prefix')`).Scan(&prefix); err != nil {
		return 0, err
	}
	p, err := queryaudit.ParsePrefix(prefix, pc.Database)
	if err != nil {
		return 0, err
	}
	entries, n := queryaudit.Scan(p, data)
	if n == 0 && len(data) == chunk {
		n = len(data) // one record larger than a chunk: skip it rather than stall
	}
	next := store.AuditCursor{Source: logID, Position: pos + int64(n)}
	var records []*store.AuditRecord
	if len(entries) > 0 {
		if records, err = s.auditRecords(ctx, in, db, pc, entries); err != nil {
			return 0, err
		}
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		moved, err := tx.MoveAuditCursor(ctx, in.ID, cur, next, store.Now())
		if err != nil {
			return err
		}
		if !moved {
			records = nil
			return errMoved
		}
		for _, r := range records {
			if err := tx.InsertAudit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errMoved) {
		return 0, nil // another server ingested this part
	}
	return len(records), err
}

var errMoved = errors.New("the audit cursor moved")

func (s *Service) auditRecords(ctx context.Context, in *store.Integration, db *postgres.Database, pc PostgresConfig, entries []queryaudit.Entry) ([]*store.AuditRecord, error) {
	objects, users, err := db.AuditMap(ctx, pc.System())
	if err != nil {
		return nil, err
	}
	type key struct {
		process string
		stmt    int64
		ds      int64
	}
	seen := map[key]bool{}
	var ids []int64
	type hit struct {
		e  queryaudit.Entry
		ds int64
	}
	var hits []hit
	for _, e := range entries {
		ds, ok := objects[e.Object]
		if !ok {
			continue
		}
		k := key{e.Process, e.StatementID, ds}
		if e.Process != "" && seen[k] {
			continue // the view and its table, or a repeated substatement
		}
		seen[k] = true
		hits = append(hits, hit{e, ds})
		ids = append(ids, ds)
	}
	names, err := s.db.DataSourcesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []*store.AuditRecord
	for _, h := range hits {
		ds := h.ds
		ev := audit.Event{Type: "auditQuery", Action: h.e.Command, Success: true, TargetType: "datasource",
			TargetID: strconv.FormatInt(ds, 10), DataSourceID: &ds, SQLUser: h.e.User, Actor: &auth.Principal{},
			Details: map[string]any{"query": h.e.Statement, "command": h.e.Command, "class": h.e.Class,
				"objectType": h.e.ObjectType, "object": h.e.Object, "auditType": h.e.AuditType, "database": pc.Database,
				"statementId": h.e.StatementID, "integrationId": in.ID}}
		if d := names[ds]; d != nil {
			ev.DataSourceName = d.Name
		}
		if u, ok := users[h.e.User]; ok {
			ev.Actor = &auth.Principal{UserID: u.UserID, Username: u.Username, IAMID: u.IAM}
		}
		rec := audit.Build(context.Background(), ev)
		if !h.e.Time.IsZero() {
			rec.DateTime = h.e.Time.UTC().Truncate(time.Millisecond)
		}
		out = append(out, rec)
	}
	return out, nil
}
