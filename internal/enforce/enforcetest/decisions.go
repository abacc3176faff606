// Package enforcetest implements enforce.Decisions for tests, benchmarks and
// the demo until the governance service provides it: a real policy.Index fed
// from the store (data sources, columns and their tags) and policies given
// as V2 payloads, with grants read from the store's subscriptions and
// entitlements from its users, groups and attributes.
package enforcetest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/custosdata/custos/internal/enforce"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Decisions answers for enforcement from an index it keeps in step with the
// store on request (Load, SavePolicy, ...).
type Decisions struct {
	DB    *store.DB
	Index *policy.Index

	mu    sync.Mutex
	subs  []func([]int64)
	usubs []func([]int64)
}

var _ enforce.Decisions = (*Decisions)(nil)

// New returns decisions over db with an empty index.
func New(db *store.DB) *Decisions { return &Decisions{DB: db, Index: policy.NewIndex()} }

// Plan implements enforce.Decisions.
func (d *Decisions) Plan(id int64) (*policy.Plan, bool) { return d.Index.Plan(id) }

// Subscribe implements enforce.Decisions.
func (d *Decisions) Subscribe(fn func([]int64)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs = append(d.subs, fn)
}

// SubscribeUsers implements enforce.Decisions.
func (d *Decisions) SubscribeUsers(fn func([]int64)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.usubs = append(d.usubs, fn)
}

// Changed tells subscribers that these data sources changed (nil: all).
func (d *Decisions) Changed(ids []int64) {
	d.mu.Lock()
	subs := append([]func([]int64){}, d.subs...)
	d.mu.Unlock()
	for _, fn := range subs {
		go fn(ids)
	}
}

// UsersChanged tells subscribers that these users changed (nil: all).
func (d *Decisions) UsersChanged(ids []int64) {
	d.mu.Lock()
	subs := append([]func([]int64){}, d.usubs...)
	d.mu.Unlock()
	for _, fn := range subs {
		go fn(ids)
	}
}

// Load reads data sources (all when ids is empty) from the store into the
// index and announces those whose plan changed.
func (d *Decisions) Load(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		if err := d.DB.AllDataSources(ctx, func(ds *store.DataSource) error {
			ids = append(ids, ds.ID)
			return nil
		}); err != nil {
			return err
		}
	}
	dss, err := d.DB.DataSourcesByID(ctx, ids)
	if err != nil {
		return err
	}
	cols, err := d.DB.ColumnsOf(ctx, ids...)
	if err != nil {
		return err
	}
	var changed []int64
	for _, id := range ids {
		ds := dss[id]
		if ds == nil || ds.Status != store.DataSourceEnabled {
			changed = append(changed, d.Index.RemoveDataSource(id)...)
			continue
		}
		var colIDs []string
		for _, c := range cols[id] {
			colIDs = append(colIDs, store.ColumnModelID(id, c.Name))
		}
		colTags, err := d.DB.TagsOfModels(ctx, "column", colIDs)
		if err != nil {
			return err
		}
		dsTags, err := d.DB.TagsOfModels(ctx, "datasource", []string{strconv.FormatInt(id, 10)})
		if err != nil {
			return err
		}
		pd := policy.DataSource{ID: id, Name: ds.Name, CreatedAt: ds.CreatedAt}
		if ds.EventTimeColumn != nil {
			pd.EventTimeColumn = *ds.EventTimeColumn
		}
		for _, t := range dsTags[strconv.FormatInt(id, 10)] {
			pd.Tags = append(pd.Tags, t.Tag.Name)
		}
		for _, c := range cols[id] {
			pc := policy.Column{Name: c.Name, Type: c.DataType}
			for _, t := range colTags[store.ColumnModelID(id, c.Name)] {
				pc.Tags = append(pc.Tags, t.Tag.Name)
			}
			pd.Columns = append(pd.Columns, pc)
		}
		ch, err := d.Index.UpsertDataSource(pd)
		if err != nil {
			return fmt.Errorf("data source %d: %w", id, err)
		}
		changed = append(changed, ch...)
	}
	if len(changed) > 0 {
		d.Changed(changed)
	}
	return nil
}

// SavePolicy saves a global policy given as a V2 payload under id and
// announces the data sources whose plan changed.
func (d *Decisions) SavePolicy(id int64, v2 []byte) error {
	p, err := policy.DecodeV2(v2)
	if err != nil {
		return err
	}
	changed, err := d.Index.UpsertPolicy(id, p)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		d.Changed(changed)
	}
	return nil
}

// RemovePolicy removes a global policy.
func (d *Decisions) RemovePolicy(id int64) {
	if changed := d.Index.RemovePolicy(id); len(changed) > 0 {
		d.Changed(changed)
	}
}

// Grants implements enforce.Decisions: active owners, experts and
// subscribers (a group's access counts for each member), plus every enabled
// user an automatic subscription policy admits.
func (d *Decisions) Grants(ctx context.Context, id int64) ([]enforce.Grant, error) {
	access, err := d.DB.AccessToDataSource(ctx, id, store.AccessOwner, store.AccessExpert, store.AccessSubscribed)
	if err != nil {
		return nil, err
	}
	grant := map[int64]string{}
	give := func(user int64, g string) {
		if grant[user] != store.GrantWrite {
			grant[user] = g
		}
	}
	now := store.Now()
	for _, a := range access {
		if !a.Active(now) {
			continue
		}
		if a.ModelType == "user" {
			give(a.ModelID, a.AccessGrant)
			continue
		}
		members, _, err := d.DB.GroupMembers(ctx, a.ModelID, false, 0, 100000)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			give(m.User.ID, a.AccessGrant)
		}
	}
	if plan, ok := d.Index.Plan(id); ok && (plan.Read != nil && plan.Read.AutomaticSubscription || plan.Write != nil && plan.Write.AutomaticSubscription) {
		ents, err := d.Entitlements(ctx, nil)
		if err != nil {
			return nil, err
		}
		for uid, u := range ents {
			dec := policy.Evaluate(plan, policy.NewEntitlements(u))
			switch {
			case dec.Write.Status == policy.StatusAutomatic:
				give(uid, store.GrantWrite)
			case dec.Read.Status == policy.StatusAutomatic:
				give(uid, store.GrantRead)
			}
		}
	}
	users := make([]int64, 0, len(grant))
	for u := range grant {
		users = append(users, u)
	}
	byID, err := d.DB.UsersByID(ctx, users)
	if err != nil {
		return nil, err
	}
	var out []enforce.Grant
	for _, u := range users {
		if byID[u] == nil || byID[u].Disabled {
			continue
		}
		out = append(out, enforce.Grant{UserID: u, AccessGrant: grant[u]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// Entitlements implements enforce.Decisions: users' groups and attributes
// (their own merged with their groups'); no purposes.
func (d *Decisions) Entitlements(ctx context.Context, ids []int64) (map[int64]policy.User, error) {
	var users []*store.User
	if ids == nil {
		for off := 0; ; off += 1000 {
			page, _, err := d.DB.SearchUsers(ctx, store.UserFilter{Offset: off, Size: 1000})
			if err != nil {
				return nil, err
			}
			users = append(users, page...)
			if len(page) < 1000 {
				break
			}
		}
	} else {
		byID, err := d.DB.UsersByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, u := range byID {
			users = append(users, u)
		}
	}
	var uids []int64
	for _, u := range users {
		if !u.Disabled {
			uids = append(uids, u.ID)
		}
	}
	groups, err := d.DB.GroupsOfUsers(ctx, uids...)
	if err != nil {
		return nil, err
	}
	attrs, err := d.DB.AttributesOf(ctx, "user", uids...)
	if err != nil {
		return nil, err
	}
	gids := map[int64]bool{}
	for _, gs := range groups {
		for _, g := range gs {
			gids[g.Group.ID] = true
		}
	}
	var gidList []int64
	for g := range gids {
		gidList = append(gidList, g)
	}
	gattrs, err := d.DB.AttributesOf(ctx, "group", gidList...)
	if err != nil {
		return nil, err
	}
	out := map[int64]policy.User{}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		pu := policy.User{Username: u.UserID, IAMID: u.IAMID, Attributes: map[string][]string{}}
		merge := func(a store.Attributes) {
			for n, vs := range a {
				pu.Attributes[n] = append(pu.Attributes[n], vs...)
			}
		}
		merge(attrs[u.ID])
		for _, g := range groups[u.ID] {
			pu.Groups = append(pu.Groups, g.Group.Name)
			merge(gattrs[g.Group.ID])
		}
		out[u.ID] = pu
	}
	return out, nil
}
