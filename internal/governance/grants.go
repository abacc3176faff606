package governance

import (
	"context"
	"sort"
	"time"

	"github.com/custosdata/custos/internal/access"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Grant is one user's access to one data source. Its fields match
// enforcement's Grant, so a slice converts element by element.
type Grant struct {
	UserID      int64
	AccessGrant string // "READ" or "WRITE"
}

// Grants lists who may read or write a data source right now: owners,
// experts and subscribers whose row has not expired (a group's row counts
// for each member), and every user an automatic subscription policy admits.
// A subscription that is not an override lasts only while a subscription
// policy in force admits it (access.Entry.Admits). WRITE implies READ. Disabled users
// are left out; a data source that is unknown or disabled has no grants.
func (s *Service) Grants(ctx context.Context, dataSourceID int64) ([]Grant, error) {
	ix := s.index()
	plan, ok := ix.Plan(dataSourceID)
	if !ok || plan == nil {
		return nil, nil
	}
	rows, err := access.OfDataSources(ctx, &s.db.Queries, []int64{dataSourceID})
	if err != nil {
		return nil, err
	}
	now := store.Now()
	got := map[int64]string{}
	for _, e := range rows {
		if !e.Grants(now) {
			continue
		}
		var who []*person
		if e.ModelType == access.ModelGroup {
			who = s.people.members(e.ModelID)
		} else if u := s.people.get(e.ModelID); u != nil && u.ent != nil {
			who = []*person{u}
		}
		for _, u := range who {
			merge(got, u.id, rowGrant(plan, e, u.ent, now))
		}
	}
	if hasAutomatic(plan) {
		for _, u := range s.people.enabled() {
			merge(got, u.id, automaticGrant(plan, u.ent))
		}
	}
	out := make([]Grant, 0, len(got))
	for id, g := range got {
		out = append(out, Grant{UserID: id, AccessGrant: g})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// AutomaticGrants returns the users an automatic subscription policy admits
// to a data source right now, with their grant.
func (s *Service) AutomaticGrants(dataSourceID int64) map[int64]string {
	out := map[int64]string{}
	plan, ok := s.index().Plan(dataSourceID)
	if !ok || !hasAutomatic(plan) {
		return out
	}
	for _, u := range s.people.enabled() {
		merge(out, u.id, automaticGrant(plan, u.ent))
	}
	return out
}

// merge records grant g for user id, WRITE winning over READ.
func merge(m map[int64]string, id int64, g string) {
	if g == "" || m[id] == store.GrantWrite {
		return
	}
	m[id] = g
}

// rowGrant is what a subscription row gives a user at t, under the data
// source's current plan (see access.Entry.GrantUnder).
func rowGrant(plan *policy.Plan, e *access.Entry, ent *policy.Entitlements, t time.Time) string {
	return e.GrantUnder(plan, ent, t)
}

// automaticGrant is the grant an automatic subscription policy gives a user.
func automaticGrant(plan *policy.Plan, ent *policy.Entitlements) string {
	if ent == nil {
		return ""
	}
	auto := func(a *policy.Access) bool {
		return a != nil && a.AutomaticSubscription && (a.Type == policy.SubAnyone || a.Type == policy.SubEntitlements) &&
			ent.Qualifies(a.Who)
	}
	switch {
	case auto(plan.Write):
		return store.GrantWrite
	case auto(plan.Read):
		return store.GrantRead
	}
	return ""
}

// userGrants computes, for each given user state, the grant they hold on
// every data source: from their rows and their groups' rows, and from
// automatic policies.
func (s *Service) userGrants(ctx context.Context, users map[int64]*person) (map[int64]map[int64]string, error) {
	out := make(map[int64]map[int64]string, len(users))
	var uids, gids []int64
	groupSeen := map[int64]bool{}
	for id, u := range users {
		out[id] = map[int64]string{}
		if u == nil || u.ent == nil {
			continue
		}
		uids = append(uids, id)
		for _, g := range u.groups {
			if !groupSeen[g] {
				groupSeen[g] = true
				gids = append(gids, g)
			}
		}
	}
	if len(uids) == 0 {
		return out, nil
	}
	q := &s.db.Queries
	userRows, err := access.OfModels(ctx, q, access.ModelUser, uids)
	if err != nil {
		return nil, err
	}
	groupRows, err := access.OfModels(ctx, q, access.ModelGroup, gids)
	if err != nil {
		return nil, err
	}
	byUser, byGroup := map[int64][]*access.Entry{}, map[int64][]*access.Entry{}
	for _, e := range userRows {
		byUser[e.ModelID] = append(byUser[e.ModelID], e)
	}
	for _, e := range groupRows {
		byGroup[e.ModelID] = append(byGroup[e.ModelID], e)
	}
	ix := s.index()
	autos := s.sourceIDs(true)
	now := store.Now()
	for id, u := range users {
		if u == nil || u.ent == nil {
			continue
		}
		m := out[id]
		apply := func(e *access.Entry) {
			if plan, ok := ix.Plan(e.DataSourceID); ok && plan != nil {
				merge(m, e.DataSourceID, rowGrant(plan, e, u.ent, now))
			}
		}
		for _, e := range byUser[id] {
			apply(e)
		}
		for _, g := range u.groups {
			for _, e := range byGroup[g] {
				apply(e)
			}
		}
		for _, ds := range autos {
			if plan, ok := ix.Plan(ds); ok && plan != nil {
				merge(m, ds, automaticGrant(plan, u.ent))
			}
		}
	}
	return out, nil
}
