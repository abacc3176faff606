package catalog

import (
	"context"
	"time"

	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/store"
)

// Monitor enqueues a schema monitoring job for every monitored connection
// whose last run is older than the monitoring interval, until ctx ends. Each
// connection is claimed in the store, so servers sharing a store do not
// monitor the same connection twice.
func (s *Service) Monitor(ctx context.Context) {
	every := min(max(s.cfg.MonitorInterval/4, 50*time.Millisecond), 5*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.monitorDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("schema monitoring", "error", err)
		}
		select {
		case <-ctx.Done():
			s.pool.closeIdle(true)
			return
		case <-t.C:
			s.pool.closeIdle(false)
		}
	}
}

// monitorDue enqueues the monitoring jobs that are due.
func (s *Service) monitorDue(ctx context.Context) error {
	now := store.Now()
	before := now.Add(-s.cfg.MonitorInterval)
	ids, err := s.db.MonitoredConnections(ctx, before)
	if err != nil || len(ids) == 0 {
		return err
	}
	for _, id := range ids {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			won, err := tx.ClaimMonitoring(ctx, id, before, now)
			if err != nil || !won {
				return err
			}
			_, err = s.enqueueMonitoring(ctx, &tx.Queries, &monitorPayload{ConnectionID: id}, nil)
			return err
		})
		if err != nil {
			return err
		}
	}
	s.runner.Notify()
	return nil
}

// monitorPayload is what a schema monitoring job looks at: a connection,
// optionally narrowed to some of its data sources or tables.
type monitorPayload struct {
	ConnectionID int64       `json:"connectionId"`
	Only         []sourceRef `json:"only,omitempty"`  // registered data sources
	Table        string      `json:"table,omitempty"` // tables of this name, in any schema
	SkipColumns  bool        `json:"skipColumns,omitempty"`
}

// narrowed reports whether the job looks at part of the connection only.
func (m *monitorPayload) narrowed() bool { return m != nil && (len(m.Only) > 0 || m.Table != "") }

// keeps reports whether the job looks at the data source with this identity.
func (m *monitorPayload) keeps(key, table string) bool {
	if !m.narrowed() {
		return true
	}
	for _, r := range m.Only {
		if r.key() == key {
			return true
		}
	}
	return m.Table != "" && m.Table == table
}

// sourceRef names a registered table or query in a job payload.
type sourceRef struct {
	Schema string `json:"schema,omitempty"`
	Table  string `json:"table"` // a query source's declared name when Query
	Query  bool   `json:"query,omitempty"`
}

func (r sourceRef) key() string {
	if r.Query {
		return queryKey(r.Table)
	}
	return tableKey(r.Schema, r.Table)
}

func refOf(d *store.DataSource) sourceRef {
	return sourceRef{Schema: deref(d.RemoteSchema), Table: deref(d.RemoteTable), Query: d.RemoteKind == kindQuery}
}

func (s *Service) enqueueMonitoring(ctx context.Context, q *store.Queries, p *monitorPayload, createdBy *int64) (string, error) {
	return jobs.Enqueue(ctx, q, JobMonitoring, p, jobs.Options{CreatedBy: createdBy, TargetType: "connection",
		TargetID: idString(p.ConnectionID)})
}
