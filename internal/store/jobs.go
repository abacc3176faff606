package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"
)

// Job states, as the jobs API names them.
const (
	JobCreated   = "created"
	JobActive    = "active"
	JobCompleted = "completed"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
	JobExpired   = "expired"
	JobRetry     = "retry"
)

// Job is a persisted background job.
type Job struct {
	ID              string
	Type            string
	State           string
	Payload         JSON
	Output          *string
	ProgressDone    int64
	ProgressTotal   int64
	ProgressMessage *string
	Attempts        int64
	CreatedBy       *int64
	TargetType      *string
	TargetID        *string
	LeaseOwner      *string
	LeaseExpires    *time.Time
	CreatedAt       time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	UpdatedAt       time.Time
}

// Finished reports whether the job will not run again.
func (j *Job) Finished() bool {
	return j.State == JobCompleted || j.State == JobFailed || j.State == JobCancelled || j.State == JobExpired
}

const jobColumns = `id, type, state, payload, output, progress_done, progress_total, progress_message, attempts,
	created_by, target_type, target_id, lease_owner, lease_expires, created_at, started_at, finished_at, updated_at`

func scanJob(row interface{ Scan(...any) error }, extra ...any) (*Job, error) {
	var j Job
	err := row.Scan(append([]any{&j.ID, &j.Type, &j.State, &j.Payload, &j.Output, &j.ProgressDone, &j.ProgressTotal,
		&j.ProgressMessage, &j.Attempts, &j.CreatedBy, &j.TargetType, &j.TargetID, &j.LeaseOwner, &j.LeaseExpires,
		&j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.UpdatedAt}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &j, err
}

// CreateJob inserts a job.
func (q *Queries) CreateJob(ctx context.Context, j *Job) error {
	_, err := q.Exec(ctx, `INSERT INTO jobs (`+jobColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
		$13, $14, $15, $16, $17, $18)`, j.ID, j.Type, j.State, j.Payload, j.Output, j.ProgressDone, j.ProgressTotal,
		j.ProgressMessage, j.Attempts, j.CreatedBy, j.TargetType, j.TargetID, j.LeaseOwner, j.LeaseExpires,
		j.CreatedAt, j.StartedAt, j.FinishedAt, j.UpdatedAt)
	return err
}

// GetJob returns one job.
func (q *Queries) GetJob(ctx context.Context, id string) (*Job, error) {
	return scanJob(q.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
}

// JobsByID returns the given jobs, keyed by id.
func (q *Queries) JobsByID(ctx context.Context, ids []string) (map[string]*Job, error) {
	out := make(map[string]*Job, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id IN `+List(&a, ids), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out[j.ID] = j
	}
	return out, rows.Err()
}

// ClaimJob takes the oldest runnable job of the given types for owner, with
// a lease until leaseUntil; it returns ErrNotFound when there is none.
func (q *Queries) ClaimJob(ctx context.Context, types []string, owner string, now, leaseUntil time.Time) (*Job, error) {
	if len(types) == 0 {
		return nil, ErrNotFound
	}
	var a Args
	lock := ""
	if q.backend == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	typeList := List(&a, types)
	pOwner, pNow, pLease := a.Add(owner), a.Add(now), a.Add(leaseUntil)
	row := q.QueryRow(ctx, `UPDATE jobs SET state = 'active', lease_owner = `+pOwner+`, lease_expires = `+pLease+`,
		attempts = attempts + 1, started_at = COALESCE(started_at, `+pNow+`), updated_at = `+pNow+`
		WHERE id = (SELECT id FROM jobs WHERE state IN ('created', 'retry') AND type IN `+typeList+`
		ORDER BY created_at, id LIMIT 1`+lock+`) RETURNING `+jobColumns, a...)
	return scanJob(row)
}

// RenewLease extends the lease of a job the owner still holds.
func (q *Queries) RenewLease(ctx context.Context, id, owner string, until time.Time) (bool, error) {
	res, err := q.Exec(ctx, `UPDATE jobs SET lease_expires = $3 WHERE id = $1 AND lease_owner = $2 AND state = 'active'`,
		id, owner, until)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetJobProgress records progress of an active job.
func (q *Queries) SetJobProgress(ctx context.Context, id string, done, total int64, message string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE jobs SET progress_done = $2, progress_total = $3, progress_message = $4, updated_at = $5
		WHERE id = $1`, id, done, total, message, now)
	return err
}

// FinishJob records a job's final state and output, if owner still holds it.
func (q *Queries) FinishJob(ctx context.Context, id, owner, state string, output *string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE jobs SET state = $3, output = $4, finished_at = $5, updated_at = $5,
		lease_owner = NULL, lease_expires = NULL WHERE id = $1 AND lease_owner = $2`, id, owner, state, output, now)
	return err
}

// ExpiredLeases returns active jobs whose lease ran out before now: their
// worker died.
func (q *Queries) ExpiredLeases(ctx context.Context, now time.Time) ([]*Job, error) {
	rows, err := q.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE state = 'active' AND lease_expires < $1`, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// RequeueJob puts an interrupted job back to be run again: an active job
// whose lease ran out before now. A lease renewed since ExpiredLeases saw it
// keeps its job, which must not run twice at once.
func (q *Queries) RequeueJob(ctx context.Context, id string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE jobs SET state = 'retry', lease_owner = NULL, lease_expires = NULL, updated_at = $2
		WHERE id = $1 AND state = 'active' AND lease_expires < $2`, id, now)
	return err
}

// FailJob marks an interrupted job failed: an active job whose lease ran
// out before now, whoever held it.
func (q *Queries) FailJob(ctx context.Context, id, output string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE jobs SET state = 'failed', output = $2, finished_at = $3, updated_at = $3,
		lease_owner = NULL, lease_expires = NULL WHERE id = $1 AND state = 'active' AND lease_expires < $3`,
		id, output, now)
	return err
}

// JobFilter narrows a job search.
type JobFilter struct {
	Type       string
	State      string
	CreatedBy  *int64 // only jobs this user created
	TargetType string
	TargetID   string
	// Targets, when not nil, keeps the jobs whose target is one of the
	// ids listed under its type (none when it is empty).
	Targets      map[string][]string
	From, To     *time.Time
	Offset, Size int
}

// SearchJobs returns one page of jobs, newest first, and the total.
func (q *Queries) SearchJobs(ctx context.Context, f JobFilter) ([]*Job, int, error) {
	var a Args
	var conds []string
	if f.Type != "" {
		conds = append(conds, `type = `+a.Add(f.Type))
	}
	if f.State != "" {
		conds = append(conds, `state = `+a.Add(f.State))
	}
	if f.CreatedBy != nil {
		conds = append(conds, `created_by = `+a.Add(*f.CreatedBy))
	}
	if f.TargetType != "" {
		conds = append(conds, `target_type = `+a.Add(f.TargetType))
	}
	if f.TargetID != "" {
		conds = append(conds, `target_id = `+a.Add(f.TargetID))
	}
	if f.Targets != nil {
		alternatives := []string{"FALSE"}
		for _, typ := range sortedKeys(f.Targets) {
			if ids := f.Targets[typ]; len(ids) > 0 {
				alternatives = append(alternatives, `(target_type = `+a.Add(typ)+` AND target_id IN `+List(&a, ids)+`)`)
			}
		}
		conds = append(conds, `(`+strings.Join(alternatives, ` OR `)+`)`)
	}
	if f.From != nil {
		conds = append(conds, `created_at >= `+a.Add(*f.From))
	}
	if f.To != nil {
		conds = append(conds, `created_at <= `+a.Add(*f.To))
	}
	var out []*Job
	total, err := q.page(ctx, "jobs", jobColumns, Where(conds), "created_at DESC, id DESC", a, f.Offset, f.Size,
		func(rows *sql.Rows, total *int) error {
			j, err := scanJob(rows, total)
			out = append(out, j)
			return err
		})
	return out, total, err
}

// JobSummary counts jobs by type and state.
func (q *Queries) JobSummary(ctx context.Context, f JobFilter) (map[string]map[string]int, error) {
	var a Args
	var conds []string
	if f.Type != "" {
		conds = append(conds, `type = `+a.Add(f.Type))
	}
	if f.CreatedBy != nil {
		conds = append(conds, `created_by = `+a.Add(*f.CreatedBy))
	}
	if f.From != nil {
		conds = append(conds, `created_at >= `+a.Add(*f.From))
	}
	if f.To != nil {
		conds = append(conds, `created_at <= `+a.Add(*f.To))
	}
	rows, err := q.Query(ctx, `SELECT type, state, COUNT(*) FROM jobs`+Where(conds)+` GROUP BY type, state`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var typ, state string
		var n int
		if err := rows.Scan(&typ, &state, &n); err != nil {
			return nil, err
		}
		if out[typ] == nil {
			out[typ] = map[string]int{}
		}
		out[typ][state] = n
	}
	return out, rows.Err()
}

// sortedKeys lists a map's keys in order, so statements built from it are
// the same each time.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
