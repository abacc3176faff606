package auditexport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/custosdata/custos/internal/store"
)

// notConnectedADLS is the status of ADLS configurations: stored and
// validated, never delivered.
const notConnectedADLS = "custos cannot deliver to ADLS Gen2 yet: the configuration is stored and validated, " +
	"but no audit record has been uploaded; the records since it was created will be exported once custos can"

// errNotConnected marks a destination custos cannot deliver to.
var errNotConnected = errors.New("not connected")

// Run exports due configurations every Tick until ctx ends. Register it
// as a background loop of the server.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		if err := s.ExportDue(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.opts.Log.Warn("audit export", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExportDue runs every enabled configuration whose export is due at now,
// once. Each run exports the records after its cursor that are older than
// the lag, in files of at most Batch records, moving the cursor after each
// file. A failed run keeps its cursor and is retried later.
func (s *Service) ExportDue(ctx context.Context, now time.Time) error {
	now = now.UTC().Truncate(time.Millisecond)
	due, err := dueConfigs(ctx, &s.db.Queries, now)
	if err != nil {
		return err
	}
	var errList []error
	for _, d := range due {
		c, ok, err := claim(ctx, s.db, d.ID, now, now.Add(s.opts.Lease))
		if err != nil {
			errList = append(errList, err)
			continue
		}
		if ok {
			if err := s.exportOne(ctx, c, now); err != nil {
				errList = append(errList, fmt.Errorf("configuration %s: %w", c.ID, err))
			}
		}
	}
	return errors.Join(errList...)
}

// exportOne runs one claimed configuration. It returns an error only when
// the outcome could not be recorded; delivery failures are its status.
func (s *Service) exportOne(ctx context.Context, c *Config, now time.Time) error {
	interval := Intervals[c.Interval]
	retry := min(s.opts.RetryAfter, interval)
	dest, err := s.destination(c)
	if errors.Is(err, errNotConnected) {
		return finish(ctx, s.db, c, now, now.Add(interval), StateNotConnected, notConnectedADLS)
	}
	if err != nil {
		return finish(ctx, s.db, c, now, now.Add(retry), StateError, err.Error())
	}
	until := now.Add(-s.opts.Lag)
	total, files := 0, 0
	for {
		recs, err := s.db.AuditAfter(ctx, c.CursorTime, c.CursorID, until, s.opts.Batch)
		if err != nil {
			return errors.Join(err, finish(ctx, s.db, c, now, now.Add(retry), StateError, "reading the audit trail failed"))
		}
		if len(recs) == 0 {
			break
		}
		data, err := s.encode(recs)
		if err != nil {
			return errors.Join(err, finish(ctx, s.db, c, now, now.Add(retry), StateError, "encoding audit records failed"))
		}
		name := ObjectName(recs[0])
		if err := dest.Put(ctx, name, data); err != nil {
			s.opts.Log.Warn("audit export failed", "config", c.ID, "destination", dest.String(), "error", err)
			msg := fmt.Sprintf("exporting to %s failed, and will be retried: %v", dest.String(), err)
			if total > 0 {
				msg = fmt.Sprintf("exported %d records, then %s", total, msg)
			}
			return finish(ctx, s.db, c, now, now.Add(retry), StateError, msg)
		}
		last := recs[len(recs)-1]
		moved, err := progress(ctx, s.db, c, last.DateTime.UTC(), last.ID, len(recs))
		if err != nil {
			return err
		}
		if !moved {
			// Another server took this run over after our lease ran out; it
			// writes the same file names, so stopping here loses nothing.
			s.opts.Log.Warn("audit export taken over by another server", "config", c.ID)
			return nil
		}
		total += len(recs)
		files++
		if len(recs) < s.opts.Batch {
			break
		}
	}
	msg := fmt.Sprintf("no new audit records for %s", dest.String())
	if total > 0 {
		msg = fmt.Sprintf("exported %d audit records in %d files to %s", total, files, dest.String())
	}
	return finish(ctx, s.db, c, now, now.Add(interval), StateOK, msg)
}

// encode writes records as JSON lines.
func (s *Service) encode(recs []*store.AuditRecord) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(s.opts.Encode(r)); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// ObjectName is the file name of a batch, derived from its first record
// only: a batch written again after a crash replaces the same file rather
// than adding a second copy.
func ObjectName(first *store.AuditRecord) string {
	t := first.DateTime.UTC()
	return fmt.Sprintf("%s/%s-%s.jsonl", t.Format("2006/01/02"), t.Format("20060102T150405.000Z"), first.ID)
}
