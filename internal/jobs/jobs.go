// Package jobs runs long operations (introspection, schema monitoring,
// sensitive data discovery, enforcement) as persisted background jobs.
//
// A job is inserted in the transaction of the request that asks for it, so
// it exists exactly when the request's change does. Workers claim jobs with a
// lease they renew while running; when a server dies mid-job its lease runs
// out and another server (or the same one after a restart) resumes the job if
// its handler is resumable, or marks it failed. No job is ever lost.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/custosdata/custos/internal/store"
)

// Handler runs jobs of one type.
type Handler struct {
	// Run does the work; its output (a string, or anything JSON-encodable)
	// becomes the job's output.
	Run func(ctx context.Context, job *store.Job, progress Progress) (any, error)
	// Resumable handlers are idempotent: an interrupted run is retried.
	Resumable bool
	// MaxAttempts bounds retries of a resumable job (default 3).
	MaxAttempts int64
}

// Progress lets a handler report how far it got.
type Progress func(done, total int64, message string)

// Options of a new job.
type Options struct {
	CreatedBy  *int64
	TargetType string
	TargetID   string
}

// Enqueue creates a job in q's transaction and returns its id. Call
// Runner.Notify after the transaction commits to start it without waiting
// for the next poll.
func Enqueue(ctx context.Context, q *store.Queries, typ string, payload any, o Options) (string, error) {
	p, err := store.ToJSON(payload)
	if err != nil {
		return "", fmt.Errorf("encode %s job payload: %w", typ, err)
	}
	now := store.Now()
	j := &store.Job{ID: uuid.NewString(), Type: typ, State: store.JobCreated, Payload: p, CreatedBy: o.CreatedBy,
		CreatedAt: now, UpdatedAt: now}
	if o.TargetType != "" {
		j.TargetType, j.TargetID = &o.TargetType, &o.TargetID
	}
	return j.ID, q.CreateJob(ctx, j)
}

// Runner claims and runs jobs.
type Runner struct {
	db       *store.DB
	log      *slog.Logger
	node     string
	workers  int
	leaseTTL time.Duration
	poll     time.Duration

	mu       sync.RWMutex
	handlers map[string]Handler
	wake     chan struct{}
}

// NewRunner returns a runner; register handlers, then Run it.
func NewRunner(db *store.DB, log *slog.Logger) *Runner {
	return &Runner{db: db, log: log, node: uuid.NewString(), workers: 2, leaseTTL: 30 * time.Second,
		poll: time.Second, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Register installs the handler for a job type.
func (r *Runner) Register(typ string, h Handler) {
	if h.MaxAttempts <= 0 {
		h.MaxAttempts = 3
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[typ] = h
}

func (r *Runner) types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.handlers))
	for t := range r.handlers {
		out = append(out, t)
	}
	return out
}

func (r *Runner) handler(typ string) (Handler, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	h, ok := r.handlers[typ]
	return h, ok
}

// Notify wakes the workers: a job was just enqueued.
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run runs workers and the lease reaper until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < r.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	r.reap(ctx) // once at start: jobs a previous run of this server left behind
	t := time.NewTicker(r.leaseTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			r.reap(ctx)
		}
	}
}

func (r *Runner) work(ctx context.Context) {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		for r.runOne(ctx) {
			if ctx.Err() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// runOne claims and runs one job, reporting whether there was one.
func (r *Runner) runOne(ctx context.Context) bool {
	var job *store.Job
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		var err error
		job, err = tx.ClaimJob(ctx, r.types(), r.node, now, now.Add(r.leaseTTL))
		return err
	})
	if err != nil {
		if err != store.ErrNotFound && ctx.Err() == nil {
			r.log.Warn("claim job", "error", err)
		}
		return false
	}
	r.execute(ctx, job)
	return true
}

func (r *Runner) execute(ctx context.Context, job *store.Job) {
	h, _ := r.handler(job.Type)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Renew the lease while the job runs.
	go func() {
		t := time.NewTicker(r.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				ok, err := r.db.RenewLease(runCtx, job.ID, r.node, store.Now().Add(r.leaseTTL))
				if err == nil && !ok {
					cancel() // the job was taken from us (cancelled or failed elsewhere)
					return
				}
			}
		}
	}()
	progress := func(done, total int64, message string) {
		if err := r.db.SetJobProgress(runCtx, job.ID, done, total, message, store.Now()); err != nil && runCtx.Err() == nil {
			r.log.Debug("job progress", "job", job.ID, "error", err)
		}
	}
	out, err := safeRun(runCtx, h, job, progress)
	if ctx.Err() != nil {
		// The server is stopping: leave the job active; its lease runs out
		// and the next start resumes or fails it.
		return
	}
	state := store.JobCompleted
	var output *string
	if err != nil {
		state = store.JobFailed
		msg := err.Error()
		output = &msg
		r.log.Warn("job failed", "job", job.ID, "type", job.Type, "error", err)
	} else if out != nil {
		s, ok := out.(string)
		if !ok {
			b, merr := json.Marshal(out)
			if merr != nil {
				state, s = store.JobFailed, "cannot encode the job's output: "+merr.Error()
			} else {
				s = string(b)
			}
		}
		output = &s
	}
	if err := r.db.FinishJob(context.WithoutCancel(ctx), job.ID, r.node, state, output, store.Now()); err != nil {
		r.log.Error("record job result", "job", job.ID, "error", err)
	}
}

func safeRun(ctx context.Context, h Handler, job *store.Job, p Progress) (out any, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("job panicked: %v\n%s", rec, debug.Stack())
		}
	}()
	if h.Run == nil {
		return nil, fmt.Errorf("no handler for job type %q", job.Type)
	}
	return h.Run(ctx, job, p)
}

// reap resumes or fails jobs whose worker stopped renewing its lease.
func (r *Runner) reap(ctx context.Context) {
	now := store.Now()
	stale, err := r.db.ExpiredLeases(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("find interrupted jobs", "error", err)
		}
		return
	}
	for _, j := range stale {
		h, known := r.handler(j.Type)
		if !known {
			// Another runner (a dedicated one, or a server with more
			// handlers) owns this type and decides its fate.
			continue
		}
		if h.Resumable && j.Attempts < h.MaxAttempts {
			err = r.db.RequeueJob(ctx, j.ID, now)
			r.log.Info("resuming interrupted job", "job", j.ID, "type", j.Type, "attempt", j.Attempts+1)
		} else {
			reason := "interrupted: the server running it stopped"
			if h.Resumable {
				reason = fmt.Sprintf("interrupted %d times; giving up", j.Attempts)
			}
			err = r.db.FailJob(ctx, j.ID, reason, now)
			r.log.Info("failing interrupted job", "job", j.ID, "type", j.Type)
		}
		if err != nil {
			r.log.Warn("recover interrupted job", "job", j.ID, "error", err)
		}
	}
	if len(stale) > 0 {
		r.Notify()
	}
}

// Wait polls the jobs until all are finished or wait passes (a negative wait
// waits until they finish or ctx ends), then returns their current state.
func Wait(ctx context.Context, db *store.DB, ids []string, wait, poll time.Duration) (map[string]*store.Job, error) {
	if poll < 50*time.Millisecond {
		poll = 50 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	for {
		jobs, err := db.JobsByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		done := true
		for _, id := range ids {
			if j := jobs[id]; j != nil && !j.Finished() {
				done = false
			}
		}
		if done || (wait >= 0 && !time.Now().Before(deadline)) {
			return jobs, nil
		}
		sleep := poll
		if wait >= 0 {
			if left := time.Until(deadline); left < sleep {
				sleep = left
			}
		}
		select {
		case <-ctx.Done():
			return jobs, nil
		case <-time.After(sleep):
		}
	}
}
