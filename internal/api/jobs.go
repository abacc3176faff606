package api

import (
	"fmt"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/store"
)

type jobStatusesBody struct {
	JobIDs       []string `json:"jobIds" required:"true"`
	Wait         int      `json:"wait" doc:"seconds to wait for the jobs to finish; -1 waits until they do"`
	PollInterval *int     `json:"pollInterval" doc:"seconds between polls while waiting (minimum 1)"`
}

type jobStatusJSON struct {
	ID     string  `json:"id"`
	State  string  `json:"state"`
	Output *string `json:"output"`
}

// jobJSON is the full view of a job (custos's GET /jobs/{id} and search).
type jobJSON struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	State      string     `json:"state"`
	Output     *string    `json:"output"`
	Progress   progress   `json:"progress"`
	Attempts   int64      `json:"attempts"`
	CreatedBy  *int64     `json:"createdBy"`
	TargetType *string    `json:"targetType"`
	TargetID   *string    `json:"targetId"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

type progress struct {
	Done    int64   `json:"done"`
	Total   int64   `json:"total"`
	Message *string `json:"message"`
}

func jobOf(j *store.Job) jobJSON {
	return jobJSON{ID: j.ID, Type: j.Type, State: j.State, Output: j.Output, Progress: progress{Done: j.ProgressDone,
		Total: j.ProgressTotal, Message: j.ProgressMessage}, Attempts: j.Attempts, CreatedBy: j.CreatedBy,
		TargetType: j.TargetType, TargetID: j.TargetID, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt,
		FinishedAt: j.FinishedAt, UpdatedAt: j.UpdatedAt}
}

type jobSearchQuery struct {
	Paging
	JobType   string    `query:"jobType"`
	State     string    `query:"state" doc:"created, active, completed, failed, cancelled, expired or retry"`
	StartDate time.Time `query:"startDate"`
	EndDate   time.Time `query:"endDate"`
}

type jobSearchJSON struct {
	Jobs  []jobJSON `json:"jobs"`
	Count int       `json:"count"`
	Next  *string   `json:"next" doc:"offset of the next page, when there is one"`
}

// visibleJob allows a job's creator, or an application administrator.
func visibleJob(p *auth.Principal, j *store.Job) bool {
	return (j.CreatedBy != nil && p.Is(*j.CreatedBy)) || p.Has(auth.ApplicationAdmin)
}

func (s *Server) jobRoutes() {
	const tag = "jobs"
	s.Handle(Op{Method: "POST", Path: "/jobs/statuses", Summary: "State and output of jobs, optionally waiting for them",
		Tag: tag, NoAudit: true, Body: jobStatusesBody{}, Response: map[string]jobStatusJSON{}}, func(r *Request) (any, error) {
		var b jobStatusesBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		var problems errs.List
		if len(b.JobIDs) == 0 {
			problems.Add("jobIds", errs.CodeRequired, "jobIds must list at least one job id")
		}
		poll := 1
		if b.PollInterval != nil {
			if *b.PollInterval < 1 {
				problems.Add("pollInterval", errs.CodeInvalid, "pollInterval must be at least 1 second")
			}
			poll = *b.PollInterval
		}
		if b.Wait < -1 {
			problems.Add("wait", errs.CodeInvalid, "wait must be -1 (until done), 0 or a number of seconds")
		}
		if err := problems.Err(); err != nil {
			return nil, err
		}
		found, err := s.DB.JobsByID(r.Context(), b.JobIDs)
		if err != nil {
			return nil, err
		}
		for i, id := range b.JobIDs {
			if j := found[id]; j == nil || !visibleJob(r.P, j) {
				problems.Add(fmt.Sprintf("jobIds[%d]", i), errs.CodeNotFound, "job %q does not exist", id)
			}
		}
		if err := problems.Err(); err != nil {
			return nil, err
		}
		wait := time.Duration(b.Wait) * time.Second
		if b.Wait < 0 {
			wait = -1
		}
		if b.Wait != 0 {
			if found, err = jobs.Wait(r.Context(), s.DB, b.JobIDs, wait, time.Duration(poll)*time.Second); err != nil {
				return nil, err
			}
		}
		out := make(map[string]jobStatusJSON, len(found))
		for id, j := range found {
			out[id] = jobStatusJSON{ID: id, State: j.State, Output: j.Output}
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/jobs/search", Summary: "Search your jobs (all jobs for APPLICATION_ADMIN)",
		Tag: tag, Query: jobSearchQuery{}, Response: jobSearchJSON{}}, func(r *Request) (any, error) {
		var q jobSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(25, 1000); err != nil {
			return nil, err
		}
		if err := OneOf("state", q.State, store.JobCreated, store.JobActive, store.JobCompleted, store.JobFailed,
			store.JobCancelled, store.JobExpired, store.JobRetry); err != nil {
			return nil, err
		}
		f := store.JobFilter{Type: q.JobType, State: q.State, Offset: q.Offset, Size: q.Size}
		if !r.P.Has(auth.ApplicationAdmin) {
			f.CreatedBy = &r.P.UserID
		}
		if !q.StartDate.IsZero() {
			f.From = &q.StartDate
		}
		if !q.EndDate.IsZero() {
			f.To = &q.EndDate
		}
		found, total, err := s.DB.SearchJobs(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out := jobSearchJSON{Jobs: make([]jobJSON, len(found)), Count: total}
		for i, j := range found {
			out.Jobs[i] = jobOf(j)
		}
		if q.Offset+len(found) < total {
			next := fmt.Sprint(q.Offset + len(found))
			out.Next = &next
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/jobs/summary", Summary: "Count your jobs by type and state", Tag: tag,
		Query: jobSearchQuery{}, Response: map[string]map[string]int{}}, func(r *Request) (any, error) {
		var q jobSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		f := store.JobFilter{Type: q.JobType}
		if !r.P.Has(auth.ApplicationAdmin) {
			f.CreatedBy = &r.P.UserID
		}
		if !q.StartDate.IsZero() {
			f.From = &q.StartDate
		}
		if !q.EndDate.IsZero() {
			f.To = &q.EndDate
		}
		return s.DB.JobSummary(r.Context(), f)
	})

	s.Handle(Op{Method: "GET", Path: "/jobs/{jobId}", Summary: "One job with its progress", Tag: tag,
		Response: jobJSON{}}, func(r *Request) (any, error) {
		j, err := s.DB.GetJob(r.Context(), r.Path("jobId"))
		if err == store.ErrNotFound || (err == nil && !visibleJob(r.P, j)) {
			return nil, errs.NotFoundf("job %q does not exist", r.Path("jobId"))
		} else if err != nil {
			return nil, err
		}
		return jobOf(j), nil
	})
}
