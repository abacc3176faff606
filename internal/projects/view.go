package projects

import (
	"context"
	"sort"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// View is a project with what the API shows beside its row: purposes, tags,
// data sources, and the caller's own membership.
type View struct {
	*Project
	Purposes    []*Purpose
	Tags        []string
	DataSources []*DataSource
	// DataSourceNames names DataSources by id.
	DataSourceNames map[int64]string
	// Mine is the caller's membership row (their own, else their group's);
	// nil when they have none.
	Mine *Member
	// Membership is the caller's status: owner, expert, subscribed,
	// pending, denied or not_subscribed. Automatic members without a row
	// are subscribed.
	Membership string
	// AcknowledgeRequired is set when the caller is a member who has not
	// acknowledged every purpose statement at its required version.
	AcknowledgeRequired bool
}

// HasDeletedPurposes reports whether a purpose of the project was deleted.
func (v *View) HasDeletedPurposes() bool {
	for _, p := range v.Purposes {
		if p.Deleted {
			return true
		}
	}
	return false
}

// LivePurposes are the purposes members act under.
func (v *View) LivePurposes() []*Purpose {
	var out []*Purpose
	for _, p := range v.Purposes {
		if p.live() {
			out = append(out, p)
		}
	}
	return out
}

// StagedPurposes are the purposes waiting for a governor's approval (not
// deleted).
func (v *View) StagedPurposes() []*Purpose {
	var out []*Purpose
	for _, p := range v.Purposes {
		if p.Staged && !p.Deleted {
			out = append(out, p)
		}
	}
	return out
}

// stateRank orders membership states from strongest to weakest.
var stateRank = map[string]int{stateOwner: 5, stateExpert: 4, stateSubscribed: 3, statePending: 2, stateDenied: 1}

// views builds the views of projects for the caller, in a few queries.
func (s *Service) views(ctx context.Context, q *store.Queries, p *auth.Principal, list []*Project) ([]*View, error) {
	ids := make([]int64, len(list))
	for i, pr := range list {
		ids[i] = pr.ID
	}
	purposes, err := purposesOf(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	strIDs := make([]string, len(ids))
	for i, id := range ids {
		strIDs[i] = idString(id)
	}
	tagged, err := q.TagsOfModels(ctx, "project", strIDs)
	if err != nil {
		return nil, err
	}
	sources, err := dataSourcesOf(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	var dsIDs []int64
	for _, l := range sources {
		for _, d := range l {
			dsIDs = append(dsIDs, d.DataSourceID)
		}
	}
	found, err := q.DataSourcesByID(ctx, dsIDs)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for id, d := range found {
		names[id] = d.Name
	}
	var mine []*Member
	if p != nil {
		if mine, err = membershipsOf(ctx, q, p.UserID, ids); err != nil {
			return nil, err
		}
	}
	var ent *policy.Entitlements
	if p != nil && s.eng != nil {
		if u, ok := s.eng.OwnEntitlements([]int64{p.UserID})[p.UserID]; ok {
			ent = policy.NewEntitlements(u)
		}
	}
	now := store.Now()
	out := make([]*View, len(list))
	for i, pr := range list {
		v := &View{Project: pr, Purposes: purposes[pr.ID], DataSources: sources[pr.ID], DataSourceNames: names,
			Membership: stateNotSubscribed}
		for _, t := range tagged[idString(pr.ID)] {
			v.Tags = append(v.Tags, t.Tag.Name)
		}
		sort.Strings(v.Tags)
		for _, m := range mine {
			if m.ProjectID != pr.ID {
				continue
			}
			st := m.State
			if (st == stateOwner || st == stateExpert || st == stateSubscribed) && !m.active(now) {
				continue // expired
			}
			better := v.Mine == nil || stateRank[st] > stateRank[v.Mine.State] ||
				(stateRank[st] == stateRank[v.Mine.State] && m.ModelType == modelUser)
			if better {
				v.Mine, v.Membership = m, st
			}
		}
		if v.Mine == nil && pr.Policy.automatic() && ent != nil && pr.Policy.decide(ent) == policy.StatusAutomatic {
			v.Membership = stateSubscribed
		}
		if p != nil && (v.Membership == stateOwner || v.Membership == stateExpert || v.Membership == stateSubscribed) {
			acks, err := acknowledgements(ctx, q, pr.ID, p.UserID)
			if err != nil {
				return nil, err
			}
			v.AcknowledgeRequired = !acknowledged(v.Purposes, acks)
		}
		out[i] = v
	}
	return out, nil
}

func (s *Service) view(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project) (*View, error) {
	vs, err := s.views(ctx, q, p, []*Project{pr})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}
