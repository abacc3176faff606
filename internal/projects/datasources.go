package projects

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// SourceLine is one data source of a project as listed.
type SourceLine struct {
	Link       *DataSource
	DataSource *store.DataSource
	AddedBy    string
	// Status is the caller's: owner, expert, subscribed, pending or
	// not_subscribed.
	Status string
	// Plan is the data source's current plan (nil when disabled).
	Plan *policy.Plan
}

// SourceFilter narrows a project's data source list.
type SourceFilter struct {
	SearchText   string
	Unsubscribed *bool    // true: the caller may not query it (pending included); false: they may
	Subscription []string // the caller's statuses
	SortField    string   // dataSourceName (default), addedBy, addedOn
	Descending   bool
	Offset, Size int
}

// DataSources lists a project's data sources with the caller's status on
// each. Every user may list them.
func (s *Service) DataSources(ctx context.Context, p *auth.Principal, projectID int64, f SourceFilter) ([]SourceLine, int, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, 0, err
	}
	q := &s.db.Queries
	pr, err := load(ctx, q, projectID)
	if err != nil {
		return nil, 0, err
	}
	links, err := dataSourcesOf(ctx, q, []int64{pr.ID})
	if err != nil {
		return nil, 0, err
	}
	var ids, adders []int64
	for _, l := range links[pr.ID] {
		ids = append(ids, l.DataSourceID)
		if l.AddedBy != nil {
			adders = append(adders, *l.AddedBy)
		}
	}
	found, err := q.DataSourcesByID(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	users, err := q.UsersByID(ctx, adders)
	if err != nil {
		return nil, 0, err
	}
	status, err := s.statuses(ctx, q, p, ids)
	if err != nil {
		return nil, 0, err
	}
	subs := map[string]bool{}
	for _, st := range f.Subscription {
		subs[st] = true
	}
	needle := strings.ToLower(f.SearchText)
	var out []SourceLine
	for _, l := range links[pr.ID] {
		d := found[l.DataSourceID]
		if d == nil {
			continue
		}
		line := SourceLine{Link: l, DataSource: d, Status: status[d.ID]}
		if l.AddedBy != nil {
			if u := users[*l.AddedBy]; u != nil {
				line.AddedBy = u.Name
			}
		}
		if s.eng != nil {
			line.Plan, _ = s.eng.Plan(d.ID)
		}
		querying := line.Status == stateOwner || line.Status == stateExpert || line.Status == stateSubscribed
		switch {
		case needle != "" && !strings.Contains(strings.ToLower(d.Name), needle):
		case f.Unsubscribed != nil && *f.Unsubscribed == querying:
		case len(subs) > 0 && !subs[line.Status]:
		default:
			out = append(out, line)
		}
	}
	key := func(l SourceLine) string {
		switch f.SortField {
		case "addedBy":
			return strings.ToLower(l.AddedBy)
		case "addedOn":
			return l.Link.CreatedAt.UTC().Format(time.RFC3339Nano)
		}
		return strings.ToLower(l.DataSource.Name)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if a == b {
			return false
		}
		return (a < b) != f.Descending
	})
	total := len(out)
	lo := min(f.Offset, total)
	hi := total
	if f.Size > 0 {
		hi = min(lo+f.Size, total)
	}
	return out[lo:hi], total, nil
}

// statuses gives the caller's status on each data source: their own row's
// state (owner, expert, subscribed, pending), subscribed when they hold a
// grant otherwise (a group's row, an automatic policy), else
// not_subscribed.
func (s *Service) statuses(ctx context.Context, q *store.Queries, p *auth.Principal, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for _, id := range ids {
		out[id] = stateNotSubscribed
	}
	if len(ids) == 0 {
		return out, nil
	}
	var grants map[int64]string
	if s.eng != nil {
		var err error
		if grants, err = s.eng.GrantsOf(ctx, p.UserID); err != nil {
			return nil, err
		}
	}
	for id := range out {
		if grants[id] != "" {
			out[id] = stateSubscribed
		}
	}
	var a store.Args
	rows, err := q.Query(ctx, `SELECT data_source_id, state, expiration FROM data_source_access WHERE model_type = 'user'
		AND model_id = `+a.Add(p.UserID)+` AND data_source_id IN `+store.List(&a, ids), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := store.Now()
	for rows.Next() {
		var id int64
		var st string
		var exp *time.Time
		if err := rows.Scan(&id, &st, &exp); err != nil {
			return nil, err
		}
		switch {
		case st == store.AccessPending:
			if out[id] == stateNotSubscribed {
				out[id] = statePending
			}
		case (st == store.AccessOwner || st == store.AccessExpert) && (exp == nil || now.Before(*exp)):
			out[id] = st
		}
	}
	return out, rows.Err()
}

// SourceResult names a data source a change concerned.
type SourceResult struct {
	ID         int64
	Name       string
	Technology string
	Message    string // why it failed
}

// AddDataSources adds data sources to a project. Managers add the data
// sources they may query, own or (governors) any; each is reported in
// success or, with the reason, in inError. Members gain no access by it.
func (s *Service) AddDataSources(ctx context.Context, p *auth.Principal, projectID int64, ids []int64, reason *string) ([]SourceResult, []SourceResult, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return nil, nil, errs.Field("dataSourceIds", errs.CodeRequired, "dataSourceIds must list the data sources to add")
	}
	success, failed := []SourceResult{}, []SourceResult{}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := loadEnabled(ctx, q, projectID)
		if err != nil {
			return err
		}
		if err := s.requireManager(ctx, q, p, pr); err != nil {
			return err
		}
		links, err := dataSourcesOf(ctx, q, []int64{pr.ID})
		if err != nil {
			return err
		}
		have := map[int64]bool{}
		for _, l := range links[pr.ID] {
			have[l.DataSourceID] = true
		}
		now := store.Now()
		var added []string
		for _, id := range ids {
			d, err := q.GetDataSource(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				failed = append(failed, SourceResult{ID: id, Message: "data source does not exist"})
				continue
			} else if err != nil {
				return err
			}
			r := SourceResult{ID: d.ID, Name: d.Name, Technology: d.Technology}
			if have[d.ID] {
				success = append(success, r)
				continue
			}
			why, err := s.mayAdd(ctx, q, p, d)
			if err != nil {
				return err
			}
			if why != "" {
				r.Message = why
				failed = append(failed, r)
				continue
			}
			if _, err := q.Exec(ctx, `INSERT INTO project_data_sources (project_id, data_source_id, added_by, reason, created_at)
				VALUES ($1, $2, $3, $4, $5)`, pr.ID, d.ID, p.UserID, trimmed(reason), now); err != nil {
				return err
			}
			have[d.ID] = true
			added = append(added, d.Name)
			success = append(success, r)
		}
		return s.announceSources(ctx, q, p, pr, "add", activity.AddedToProject, added)
	})
	if err != nil {
		return nil, nil, err
	}
	return success, failed, nil
}

// RemoveDataSources takes data sources out of a project (managers only).
func (s *Service) RemoveDataSources(ctx context.Context, p *auth.Principal, projectID int64, ids []int64) ([]SourceResult, []SourceResult, error) {
	if len(ids) == 0 {
		return nil, nil, errs.BadRequestf("query parameter ids must list the data sources to remove")
	}
	success, failed := []SourceResult{}, []SourceResult{}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := loadEnabled(ctx, q, projectID)
		if err != nil {
			return err
		}
		if err := s.requireManager(ctx, q, p, pr); err != nil {
			return err
		}
		var removed []string
		for _, id := range ids {
			r := SourceResult{ID: id}
			if d, err := q.GetDataSource(ctx, id); err == nil {
				r.Name, r.Technology = d.Name, d.Technology
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			res, err := q.Exec(ctx, `DELETE FROM project_data_sources WHERE project_id = $1 AND data_source_id = $2`, pr.ID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				r.Message = "the data source is not in the project"
				failed = append(failed, r)
				continue
			}
			removed = append(removed, r.Name)
			success = append(success, r)
		}
		return s.announceSources(ctx, q, p, pr, "remove", activity.RemovedFromProject, removed)
	})
	if err != nil {
		return nil, nil, err
	}
	return success, failed, nil
}

// UpdateDataSourceReason changes why a data source is in a project.
func (s *Service) UpdateDataSourceReason(ctx context.Context, p *auth.Principal, projectID, dataSourceID int64, reason *string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := loadEnabled(ctx, q, projectID)
		if err != nil {
			return err
		}
		if err := s.requireManager(ctx, q, p, pr); err != nil {
			return err
		}
		res, err := q.Exec(ctx, `UPDATE project_data_sources SET reason = $3 WHERE project_id = $1 AND data_source_id = $2`,
			pr.ID, dataSourceID, trimmed(reason))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("data source %d is not in project %q", dataSourceID, pr.Name)
		}
		id := pr.ID
		return audit.Write(ctx, q, audit.Event{Type: "projectDataSource", Action: "reason", Success: true, TargetType: "datasource",
			TargetID: idString(dataSourceID), DataSourceID: &dataSourceID, ProjectID: &id, ProjectName: pr.Name})
	})
}

// announceSources audits a change of a project's data sources and tells
// its members.
func (s *Service) announceSources(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project, action, kind string, names []string) error {
	id := pr.ID
	if err := audit.Write(ctx, q, audit.Event{Type: "projectDataSource", Action: action, Success: true, TargetType: "project",
		TargetID: idString(id), ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"dataSources": names}}); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	members, err := everyone(ctx, q, id)
	if err != nil {
		return err
	}
	uid := p.UserID
	return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id), NotificationType: kind,
		ActionBy: &uid, Metadata: map[string]any{"projectName": pr.Name, "dataSources": names}}, members)
}

// PurposeMatch is a data source whose purpose restrictions the given
// purposes satisfy.
type PurposeMatch struct {
	ID           int64
	Name         string
	PolicyID     int64
	Restrictions []Restriction
}

// Restriction is one Purpose Restriction rule: the purposes it admits and
// how they combine (and: all of them, or: any).
type Restriction struct {
	Operator string
	Purposes []string
}

// ByPurposes lists the enabled data sources with Purpose Restriction rules
// that a user acting under the given purposes passes (and so would see
// rows of), leaving out those in excludedProjects.
func (s *Service) ByPurposes(ctx context.Context, purposes []string, excludedProjects []int64) ([]PurposeMatch, error) {
	if len(purposes) == 0 {
		return nil, errs.BadRequestf("query parameter purposes is required")
	}
	q := &s.db.Queries
	excluded := map[int64]bool{}
	if len(excludedProjects) > 0 {
		links, err := dataSourcesOf(ctx, q, excludedProjects)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			for _, d := range l {
				excluded[d.DataSourceID] = true
			}
		}
	}
	ent := policy.NewEntitlements(policy.User{Purposes: purposes})
	var out []PurposeMatch
	err := q.AllDataSources(ctx, func(d *store.DataSource) error {
		if d.Status != store.DataSourceEnabled || excluded[d.ID] || s.eng == nil {
			return nil
		}
		plan, ok := s.eng.Plan(d.ID)
		if !ok {
			return nil
		}
		m := PurposeMatch{ID: d.ID, Name: d.Name}
		passes := true
		for _, r := range plan.Rows {
			if r.Kind != policy.RowPurpose {
				continue
			}
			if m.PolicyID == 0 && r.Source != nil {
				m.PolicyID = r.Source.Policy.ID
			}
			m.Restrictions = append(m.Restrictions, restrictionOf(r.AppliesTo))
			if ent.Applies(r.AppliesTo) {
				passes = false
			}
		}
		if passes && len(m.Restrictions) > 0 {
			out = append(out, m)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// restrictionOf reads the purposes of a Purpose Restriction row rule, whose
// condition is "not acting under the purposes" (and the rule's own
// conditions).
func restrictionOf(c policy.Cond) Restriction {
	var purposes policy.Cond
	policy.WalkCond(c, func(x policy.Cond) {
		if n, ok := x.(policy.Not); ok && purposes == nil {
			purposes = n.X
		}
	})
	r := Restriction{Operator: "or"}
	if _, ok := purposes.(policy.And); ok {
		r.Operator = "and"
	}
	policy.WalkCond(purposes, func(x policy.Cond) {
		switch p := x.(type) {
		case policy.ActingUnderPurpose:
			r.Purposes = append(r.Purposes, p.Purpose)
		case policy.AnyPurpose:
			r.Purposes = append(r.Purposes, policy.AnyPurposeName)
		}
	})
	return r
}

// ProjectsUsing lists, for each purpose, the enabled projects working under
// it (by id, ascending); a project where it waits for approval does not.
func (s *Service) ProjectsUsing(ctx context.Context, purposeIDs []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	if len(purposeIDs) == 0 {
		return out, nil
	}
	var a store.Args
	rows, err := s.db.Query(ctx, `SELECT pp.purpose_id, pp.project_id FROM project_purposes pp JOIN projects p ON p.id = pp.project_id
		WHERE p.deleted = FALSE AND pp.staged = FALSE AND pp.purpose_id IN `+store.List(&a, purposeIDs)+` ORDER BY pp.purpose_id, pp.project_id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var purpose, project int64
		if err := rows.Scan(&purpose, &project); err != nil {
			return nil, err
		}
		out[purpose] = append(out[purpose], project)
	}
	return out, rows.Err()
}
