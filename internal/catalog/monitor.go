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
			return
		case <-t.C:
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
			_, err = jobs.Enqueue(ctx, &tx.Queries, JobMonitoring, registrationPayload{ConnectionID: id},
				jobs.Options{TargetType: "connection", TargetID: idString(id)})
			return err
		})
		if err != nil {
			return err
		}
	}
	s.runner.Notify()
	return nil
}

// MonitorNow enqueues schema monitoring of the given connections at once,
// returning the job ids.
func (s *Service) monitorNow(ctx context.Context, q *store.Queries, ids []int64, createdBy *int64) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		j, err := jobs.Enqueue(ctx, q, JobMonitoring, registrationPayload{ConnectionID: id},
			jobs.Options{CreatedBy: createdBy, TargetType: "connection", TargetID: idString(id)})
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}
