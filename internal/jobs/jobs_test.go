package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/pgtest"
	"github.com/custosdata/custos/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func eachBackend(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			loc := t.TempDir()
			if b == "postgres" {
				loc = pgtest.NewDatabase(t)
			}
			db, err := store.Open(context.Background(), loc)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			fn(t, db)
		})
	}
}

func enqueue(t *testing.T, db *store.DB, typ string, payload any) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = jobs.Enqueue(context.Background(), &tx.Queries, typ, payload, jobs.Options{TargetType: "test", TargetID: "1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func start(t *testing.T, r *jobs.Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestJobsRunReportAndFail(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		r.Register("echo", jobs.Handler{Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) {
			p(1, 2, "half way")
			return map[string]any{"payload": string(j.Payload)}, nil
		}})
		r.Register("fail", jobs.Handler{Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) {
			return nil, errors.New("the table is gone")
		}})
		r.Register("panic", jobs.Handler{Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) {
			panic("boom")
		}})
		start(t, r)
		ok := enqueue(t, db, "echo", map[string]int{"n": 1})
		bad := enqueue(t, db, "fail", nil)
		crash := enqueue(t, db, "panic", nil)
		r.Notify()
		got, err := jobs.Wait(context.Background(), db, []string{ok, bad, crash}, 10*time.Second, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if j := got[ok]; j.State != store.JobCompleted || !strings.Contains(strings.ReplaceAll(*j.Output, " ", ""), `{\"n\":1}`) || j.ProgressDone != 1 || j.ProgressTotal != 2 {
			t.Fatalf("echo job: %+v %s", j, deref(j.Output))
		}
		if j := got[bad]; j.State != store.JobFailed || *j.Output != "the table is gone" {
			t.Fatalf("failing job: %+v", j)
		}
		if j := got[crash]; j.State != store.JobFailed || !strings.Contains(*j.Output, "panicked: boom") {
			t.Fatalf("panicking job: %+v", j)
		}
	})
}

func TestInterruptedJobsAreResumedOrFailed(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var runs atomic.Int32
		r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		r.Register("resumable", jobs.Handler{Resumable: true, Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) {
			runs.Add(1)
			return "done", nil
		}})
		r.Register("oneshot", jobs.Handler{Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) {
			return "must not run again", nil
		}})
		// Two jobs a dead server was running: active, with leases that ran out.
		past := store.Now().Add(-time.Minute)
		owner := "dead-server"
		for _, j := range []*store.Job{
			{ID: "job-resumable", Type: "resumable", State: store.JobActive, Attempts: 1, LeaseOwner: &owner, LeaseExpires: &past, CreatedAt: past, UpdatedAt: past},
			{ID: "job-oneshot", Type: "oneshot", State: store.JobActive, Attempts: 1, LeaseOwner: &owner, LeaseExpires: &past, CreatedAt: past, UpdatedAt: past},
		} {
			if err := db.CreateJob(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		start(t, r)
		got, err := jobs.Wait(ctx, db, []string{"job-resumable", "job-oneshot"}, 10*time.Second, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if j := got["job-resumable"]; j.State != store.JobCompleted || j.Attempts != 2 || runs.Load() != 1 {
			t.Fatalf("resumable job: %+v runs=%d", j, runs.Load())
		}
		if j := got["job-oneshot"]; j.State != store.JobFailed || !strings.Contains(*j.Output, "interrupted") {
			t.Fatalf("one-shot job: %+v", j)
		}
	})
}

func TestWaitTimesOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		id := enqueue(t, db, "nobody-runs-this", nil)
		start := time.Now()
		got, err := jobs.Wait(context.Background(), db, []string{id}, 200*time.Millisecond, 50*time.Millisecond)
		if err != nil || got[id].State != store.JobCreated {
			t.Fatalf("wait: %v %+v", err, got[id])
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("wait did not stop at its limit")
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestARunnerLeavesOtherRunnersJobsAlone(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		past := store.Now().Add(-time.Minute)
		owner := "dead-server"
		if err := db.CreateJob(ctx, &store.Job{ID: "theirs", Type: "not-mine", State: store.JobActive, Attempts: 1,
			LeaseOwner: &owner, LeaseExpires: &past, CreatedAt: past, UpdatedAt: past}); err != nil {
			t.Fatal(err)
		}
		r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		r.Register("mine", jobs.Handler{Run: func(ctx context.Context, j *store.Job, p jobs.Progress) (any, error) { return nil, nil }})
		start(t, r)
		mine := enqueue(t, db, "mine", nil)
		if _, err := jobs.Wait(ctx, db, []string{mine}, 10*time.Second, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		j, err := db.GetJob(ctx, "theirs")
		if err != nil || j.State != store.JobActive {
			t.Fatalf("a job of a type this runner does not handle was touched: %+v %v", j, err)
		}
	})
}

// The reaper resumes or fails a job only while its lease is still out: a
// worker that renewed it after the reaper looked keeps its job, which must
// never run twice at once.
func TestReaperLeavesARenewedLeaseAlone(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		id := enqueue(t, db, "slow", nil)
		now := store.Now()
		if _, err := db.ClaimJob(ctx, []string{"slow"}, "worker", now, now.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		stale, err := db.ExpiredLeases(ctx, now)
		if err != nil || len(stale) != 1 {
			t.Fatalf("expired leases: %v %v", stale, err)
		}
		// The worker renews between the reaper's look and its decision.
		if ok, err := db.RenewLease(ctx, id, "worker", now.Add(30*time.Second)); err != nil || !ok {
			t.Fatalf("renew: %v %v", ok, err)
		}
		if err := db.RequeueJob(ctx, id, now); err != nil {
			t.Fatal(err)
		}
		if err := db.FailJob(ctx, id, "interrupted", now); err != nil {
			t.Fatal(err)
		}
		j, err := db.GetJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobActive || j.LeaseOwner == nil || *j.LeaseOwner != "worker" {
			t.Fatalf("a renewed job was taken from its worker: state %s, owner %v", j.State, j.LeaseOwner)
		}
	})
}
