package governance

import (
	"context"
	"sort"
	"sync"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// people is the in-memory copy of what the engine evaluates users with:
// every user's groups and attributes (their own merged with their groups')
// and the purposes they act under. It follows the change log like the
// index, so that decisions and grants never query identity tables.
type people struct {
	mu     sync.RWMutex
	users  map[int64]*person
	groups map[int64]*team
}

// person is one user as the engine sees them.
type person struct {
	id      int64
	iamid   string
	userid  string
	enabled bool
	groups  []int64 // ids, ascending
	own     store.Attributes
	acting  Acting
	ent     *policy.Entitlements // nil when disabled
}

// team is one group.
type team struct {
	id      int64
	iamid   string
	name    string
	members map[int64]bool
	attrs   store.Attributes
}

func newPeople() *people {
	return &people{users: map[int64]*person{}, groups: map[int64]*team{}}
}

// PurposeSource gives the purposes each user acts under (their current
// project's). Without an acting source users act under none.
type PurposeSource func(ctx context.Context, q *store.Queries, userIDs []int64) (map[int64][]string, error)

// Acting is what a user acts under: the purposes of their current project
// and, when that project is equalized, the entitlements they are limited to.
type Acting struct {
	// ProjectID is the project the user acts under, if any.
	ProjectID *int64
	Purposes  []string
	// Limit, when not nil, keeps of the user's groups and attribute values
	// only those it lists as well.
	Limit *Limit
}

// Limit lists the groups and attribute values a user may keep.
type Limit struct {
	Groups     []string
	Attributes map[string][]string
}

// ActingSource gives what each of the users acts under. Projects plug it in.
type ActingSource func(ctx context.Context, q *store.Queries, userIDs []int64) (map[int64]Acting, error)

// ProjectActing gives what a user would act under in a project, for
// decisions asked as if they acted under it; an errs.NotFound error when the
// project does not exist.
type ProjectActing func(ctx context.Context, q *store.Queries, projectID int64) (Acting, error)

// load reads the given users (every user when ids is nil) and the groups
// they belong to, and replaces them in the cache. It returns the users'
// previous and current states (nil when absent).
func (pp *people) load(ctx context.Context, q *store.Queries, ids []int64, source ActingSource) (before, after map[int64]*person, err error) {
	var a store.Args
	rows, err := q.Query(ctx, `SELECT id, iamid, userid, disabled FROM users WHERE 1 = 1`+inIDs(&a, "id", ids), a...)
	if err != nil {
		return nil, nil, err
	}
	fresh := map[int64]*person{}
	for rows.Next() {
		u := &person{own: store.Attributes{}}
		var disabled bool
		if err := rows.Scan(&u.id, &u.iamid, &u.userid, &disabled); err != nil {
			rows.Close()
			return nil, nil, err
		}
		u.enabled = !disabled
		fresh[u.id] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	a = nil
	rows, err = q.Query(ctx, `SELECT user_id, group_id FROM group_members WHERE 1 = 1`+inIDs(&a, "user_id", ids)+
		` ORDER BY user_id, group_id`, a...)
	if err != nil {
		return nil, nil, err
	}
	groupSet := map[int64]bool{}
	for rows.Next() {
		var uid, gid int64
		if err := rows.Scan(&uid, &gid); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if u := fresh[uid]; u != nil {
			u.groups = append(u.groups, gid)
			groupSet[gid] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	userIDs := make([]int64, 0, len(fresh))
	for id := range fresh {
		userIDs = append(userIDs, id)
	}
	var own map[int64]store.Attributes
	if ids == nil {
		own, err = allAttributes(ctx, q, store.ModelUser)
	} else {
		own, err = q.AttributesOf(ctx, store.ModelUser, userIDs...)
	}
	if err != nil {
		return nil, nil, err
	}
	for id, attrs := range own {
		if u := fresh[id]; u != nil {
			u.own = attrs
		}
	}
	var groupIDs []int64
	if ids != nil {
		for id := range groupSet {
			groupIDs = append(groupIDs, id)
		}
	}
	teams, err := loadTeams(ctx, q, groupIDs, ids == nil)
	if err != nil {
		return nil, nil, err
	}
	var acting map[int64]Acting
	if source != nil && len(userIDs) > 0 {
		if acting, err = source(ctx, q, userIDs); err != nil {
			return nil, nil, err
		}
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if ids == nil {
		pp.groups = map[int64]*team{}
	}
	for id, t := range teams {
		if old := pp.groups[id]; old != nil && ids != nil {
			t.members = old.members // members are kept per user below
		}
		pp.groups[id] = t
	}
	before, after = map[int64]*person{}, map[int64]*person{}
	if ids == nil {
		for id, u := range pp.users {
			before[id] = u
		}
		pp.users = map[int64]*person{}
		for _, t := range pp.groups {
			t.members = map[int64]bool{}
		}
	} else {
		for _, id := range ids {
			if old := pp.users[id]; old != nil {
				before[id] = old
				for _, g := range old.groups {
					if t := pp.groups[g]; t != nil {
						delete(t.members, id)
					}
				}
				delete(pp.users, id)
			}
		}
	}
	for id, u := range fresh {
		u.acting = acting[id]
		for _, g := range u.groups {
			if t := pp.groups[g]; t != nil {
				if t.members == nil {
					t.members = map[int64]bool{}
				}
				t.members[id] = true
			}
		}
		pp.users[id] = u
		after[id] = u
	}
	for _, u := range fresh {
		u.ent = pp.entitlements(u)
	}
	return before, after, nil
}

// reloadGroup refreshes one group (name, attributes) and returns its
// members before and after, who must be reloaded by the caller.
func (pp *people) reloadGroup(ctx context.Context, q *store.Queries, id int64) ([]int64, error) {
	teams, err := loadTeams(ctx, q, []int64{id}, false)
	if err != nil {
		return nil, err
	}
	current, err := store.Int64s(q.Query(ctx, `SELECT user_id FROM group_members WHERE group_id = $1`, id))
	if err != nil {
		return nil, err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	affected := map[int64]bool{}
	for _, u := range current {
		affected[u] = true
	}
	if old := pp.groups[id]; old != nil {
		for u := range old.members {
			affected[u] = true
		}
		if t := teams[id]; t != nil {
			t.members = old.members
		}
	}
	if t := teams[id]; t != nil {
		pp.groups[id] = t
	} else {
		delete(pp.groups, id)
	}
	return sortedIDs(affected), nil
}

// loadTeams reads groups with their attributes: the given ones, or all.
func loadTeams(ctx context.Context, q *store.Queries, ids []int64, all bool) (map[int64]*team, error) {
	out := map[int64]*team{}
	if !all && len(ids) == 0 {
		return out, nil
	}
	var a store.Args
	var filter []int64
	if !all {
		filter = ids
	}
	rows, err := q.Query(ctx, `SELECT id, iamid, name FROM groups WHERE 1 = 1`+inIDs(&a, "id", filter), a...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		t := &team{members: map[int64]bool{}}
		if err := rows.Scan(&t.id, &t.iamid, &t.name); err != nil {
			rows.Close()
			return nil, err
		}
		out[t.id] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var attrs map[int64]store.Attributes
	if all {
		attrs, err = allAttributes(ctx, q, store.ModelGroup)
	} else {
		attrs, err = q.AttributesOf(ctx, store.ModelGroup, ids...)
	}
	if err != nil {
		return nil, err
	}
	for id, a := range attrs {
		if t := out[id]; t != nil {
			t.attrs = a
		}
	}
	return out, nil
}

func allAttributes(ctx context.Context, q *store.Queries, modelType string) (map[int64]store.Attributes, error) {
	rows, err := q.Query(ctx, `SELECT model_id, name, value FROM attributes WHERE model_type = $1
		ORDER BY model_id, name, value`, modelType)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]store.Attributes{}
	for rows.Next() {
		var id int64
		var name, value string
		if err := rows.Scan(&id, &name, &value); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = store.Attributes{}
		}
		out[id][name] = append(out[id][name], value)
	}
	return out, rows.Err()
}

// entitlements builds what the engine evaluates u with; nil when disabled.
// The caller holds pp.mu.
func (pp *people) entitlements(u *person) *policy.Entitlements {
	if !u.enabled {
		return nil
	}
	return policy.NewEntitlements(pp.userOf(u))
}

// userOf is u as a policy.User: group names, attributes merged with the
// groups', and what they act under. The caller holds pp.mu.
func (pp *people) userOf(u *person) policy.User {
	return pp.userActing(u, u.acting)
}

// userActing is u as a policy.User acting as a says: a's purposes, and their
// groups and attributes kept to a's limit (their own ones in Own). The
// caller holds pp.mu.
func (pp *people) userActing(u *person, a Acting) policy.User {
	out := policy.User{Username: u.userid, IAMID: u.iamid, Purposes: append([]string(nil), a.Purposes...)}
	merged := map[string]map[string]bool{}
	add := func(attrs store.Attributes) {
		for n, vs := range attrs {
			if merged[n] == nil {
				merged[n] = map[string]bool{}
			}
			for _, v := range vs {
				merged[n][v] = true
			}
		}
	}
	add(u.own)
	for _, g := range u.groups {
		t := pp.groups[g]
		if t == nil {
			continue
		}
		out.Groups = append(out.Groups, t.name)
		add(t.attrs)
	}
	sort.Strings(out.Groups)
	if len(merged) > 0 {
		out.Attributes = map[string][]string{}
		for n, set := range merged {
			vs := make([]string, 0, len(set))
			for v := range set {
				vs = append(vs, v)
			}
			sort.Strings(vs)
			out.Attributes[n] = vs
		}
	}
	if a.Limit != nil {
		// The limit takes away what the set lacks; the user's own groups
		// and attributes stay known, so that restrictions they bring still
		// apply (see policy.Entitlements.Applies).
		out.Own = &policy.Own{Groups: out.Groups, Attributes: out.Attributes}
		limitUser(&out, a.Limit)
	}
	return out
}

// limitUser keeps of u's groups and attribute values those l lists too,
// in new slices and maps (u.Own may share the old ones).
func limitUser(u *policy.User, l *Limit) {
	keep := map[string]bool{}
	for _, g := range l.Groups {
		keep[g] = true
	}
	groups := u.Groups[:0:0]
	for _, g := range u.Groups {
		if keep[g] {
			groups = append(groups, g)
		}
	}
	u.Groups = groups
	var attrs map[string][]string
	for n, vs := range u.Attributes {
		allowed := map[string]bool{}
		for _, v := range l.Attributes[n] {
			allowed[v] = true
		}
		for _, v := range vs {
			if allowed[v] {
				if attrs == nil {
					attrs = map[string][]string{}
				}
				attrs[n] = append(attrs[n], v)
			}
		}
	}
	u.Attributes = attrs
}

// refresh rebuilds the entitlements of the given users from the cache (after
// a group they belong to changed).
func (pp *people) refresh(ids []int64) (before, after map[int64]*person) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	before, after = map[int64]*person{}, map[int64]*person{}
	for _, id := range ids {
		u := pp.users[id]
		if u == nil {
			continue
		}
		before[id] = u
		nu := *u
		nu.ent = pp.entitlements(&nu)
		pp.users[id] = &nu
		after[id] = &nu
	}
	return before, after
}

// get returns a user's current state.
func (pp *people) get(id int64) *person {
	pp.mu.RLock()
	defer pp.mu.RUnlock()
	return pp.users[id]
}

// snapshot returns every enabled user, by id.
func (pp *people) enabled() []*person {
	pp.mu.RLock()
	defer pp.mu.RUnlock()
	out := make([]*person, 0, len(pp.users))
	for _, u := range pp.users {
		if u.enabled {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// members returns the enabled members of a group.
func (pp *people) members(groupID int64) []*person {
	pp.mu.RLock()
	defer pp.mu.RUnlock()
	t := pp.groups[groupID]
	if t == nil {
		return nil
	}
	out := make([]*person, 0, len(t.members))
	for id := range t.members {
		if u := pp.users[id]; u != nil && u.enabled {
			out = append(out, u)
		}
	}
	return out
}

// user returns the policy.User of an enabled user.
func (pp *people) user(id int64) (policy.User, bool) {
	pp.mu.RLock()
	defer pp.mu.RUnlock()
	u := pp.users[id]
	if u == nil || !u.enabled {
		return policy.User{}, false
	}
	return pp.userOf(u), true
}

func sortedIDs(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// userAs returns an enabled user's policy.User acting as a instead of as
// their current project says.
func (pp *people) userAs(id int64, a Acting) (policy.User, bool) {
	pp.mu.RLock()
	defer pp.mu.RUnlock()
	u := pp.users[id]
	if u == nil || !u.enabled {
		return policy.User{}, false
	}
	return pp.userActing(u, a), true
}

// acting returns what a user acts under, or nothing for an unknown user.
func (pp *people) actingOf(id int64) Acting {
	pp.mu.RLock()
	defer pp.mu.RUnlock()
	if u := pp.users[id]; u != nil {
		return u.acting
	}
	return Acting{}
}
