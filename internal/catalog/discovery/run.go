package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/store"
)

// RunInput is the payload of POST /sdd/run.
type RunInput struct {
	Sources  []string // data source names
	All      bool     // every enabled data source instead
	Wait     time.Duration
	DryRun   bool
	Template string // dry runs only: use this framework
}

// JobState is one data source's discovery job, as /sdd/run reports it.
type JobState struct {
	ID     string          `json:"id"`
	State  string          `json:"state"`
	Output json.RawMessage `json:"output"`
}

// RunResult is what a run started: the job of each named data source, or
// for all data sources only how many jobs were started.
type RunResult struct {
	Jobs     map[string]JobState
	JobCount int
}

// Run starts discovery on data sources and waits for it as asked.
func (s *Service) Run(ctx context.Context, p *auth.Principal, in RunInput) (*RunResult, error) {
	var l errs.List
	if in.Template != "" && !in.DryRun {
		l.Add("template", errs.CodeInvalid, "template can only be given with dryRun: true; apply a framework with PUT /sdd/template/apply")
	}
	if !in.All && len(in.Sources) == 0 {
		l.Add("sources", errs.CodeRequired, "sources must name at least one data source, or set all: true")
	}
	if in.All && len(in.Sources) > 0 {
		l.Add("all", errs.CodeInvalid, "give either sources or all: true, not both")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if in.All {
		if err := p.Require(auth.Governance); err != nil {
			return nil, err
		}
	}
	names := map[string]string{} // job id -> data source name
	var ids []string
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		if in.Template != "" {
			if _, err := getFramework(ctx, q, in.Template); err != nil {
				return errs.Field("template", errs.CodeNotFound, "framework %q does not exist", in.Template)
			}
		}
		var list []*store.DataSource
		if in.All {
			err := q.AllDataSources(ctx, func(d *store.DataSource) error {
				if d.Status == store.DataSourceEnabled {
					list = append(list, d)
				}
				return nil
			})
			if err != nil {
				return err
			}
		} else {
			var err error
			if list, err = s.namedSources(ctx, q, p, in.Sources, "sources"); err != nil {
				return err
			}
			for _, d := range list {
				if err := catalog.MayChange(ctx, q, p, d); err != nil {
					return err
				}
			}
		}
		for _, d := range list {
			id, err := jobs.Enqueue(ctx, q, JobType, runPayload{DataSourceID: d.ID, DryRun: in.DryRun, Template: in.Template},
				jobs.Options{CreatedBy: &p.UserID, TargetType: catalog.ModelDataSource, TargetID: fmt.Sprint(d.ID)})
			if err != nil {
				return err
			}
			ids = append(ids, id)
			names[id] = d.Name
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddRun", Success: true, TargetType: "sdd",
			Details: map[string]any{"dataSources": len(list), "all": in.All, "dryRun": in.DryRun, "template": in.Template}})
	})
	if err != nil {
		return nil, err
	}
	s.runner.Notify()
	found := map[string]*store.Job{}
	if len(ids) > 0 {
		if found, err = jobs.Wait(ctx, s.db, ids, in.Wait, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
	res := &RunResult{JobCount: len(ids), Jobs: map[string]JobState{}}
	for _, id := range ids {
		st := JobState{ID: id, State: store.JobCreated, Output: json.RawMessage("null")}
		if j := found[id]; j != nil {
			st.State = j.State
			if j.Output != nil {
				if json.Valid([]byte(*j.Output)) {
					st.Output = json.RawMessage(*j.Output)
				} else {
					b, _ := json.Marshal(*j.Output)
					st.Output = b
				}
			}
		}
		res.Jobs[names[id]] = st
	}
	return res, nil
}
