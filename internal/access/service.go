package access

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Automatic gives, for a data source, the users an automatic subscription
// policy admits right now and their grant (READ or WRITE). The governance
// service provides it; those subscriptions are computed, never stored.
type Automatic interface {
	AutomaticGrants(dataSourceID int64) map[int64]string
}

// Policies is what the service needs of the policy engine (the governance
// service): automatic subscribers, the plans and users' entitlements that
// decide how a user may subscribe, and what a user holds.
type Policies interface {
	Automatic
	Plan(dataSourceID int64) (*policy.Plan, bool)
	Entitlements(ctx context.Context, userIDs []int64) (map[int64]policy.User, error)
	GrantsOf(ctx context.Context, userID int64) (map[int64]string, error)
	// Sync applies the change log, so that users and plans are current.
	Sync(ctx context.Context) error
}

// Service implements manual grants, the subscriber list, subscribing and
// unsubscribing, and data source access requests.
type Service struct {
	db   *store.DB
	auto Automatic
	pol  Policies
}

// New returns the access service; pol may be nil (no automatic
// subscribers, and nobody may subscribe by policy).
func New(db *store.DB, pol Policies) *Service {
	s := &Service{db: db, pol: pol}
	if pol != nil {
		s.auto = pol
	}
	return s
}

// GrantInput is the body of POST /dataSource/{id}/access.
type GrantInput struct {
	ProfileID   *int64
	GroupID     *int64
	State       string
	AccessGrant string // READ (default) or WRITE
	Expiration  *time.Time
	Approvals   json.RawMessage
}

// Granted is a saved manual grant with the names the response shows.
type Granted struct {
	Entry     *Entry
	GroupName *string
}

// grantStates are the states an owner or governor may give by hand.
var grantStates = map[string]bool{store.AccessSubscribed: true, store.AccessOwner: true, store.AccessExpert: true}

// Grant gives a user or group a state and a grant on a data source, by
// hand: the row is an override of the subscription policy. Governors and
// the data source's owners may grant; nobody but a governor may grant
// themself.
func (s *Service) Grant(ctx context.Context, p *auth.Principal, dataSourceID int64, in GrantInput) (*Granted, error) {
	var l errs.List
	switch {
	case in.State == "":
		l.Add("state", errs.CodeRequired, "state is required")
	case in.State == "ingest":
		l.Add("state", errs.CodeEnum, "state ingest applies to ingested data sources, which custos does not have; use subscribed, owner or expert")
	case !grantStates[in.State]:
		l.Add("state", errs.CodeEnum, "state must be subscribed, owner or expert, not %q", in.State)
	}
	grant := strings.ToUpper(in.AccessGrant)
	switch grant {
	case "":
		grant = store.GrantRead
	case store.GrantRead, store.GrantWrite:
	default:
		l.Add("accessGrant", errs.CodeEnum, "accessGrant must be READ or WRITE, not %q", in.AccessGrant)
	}
	switch {
	case in.ProfileID == nil && in.GroupID == nil:
		l.Add("profileId", errs.CodeRequired, "profileId is required (or groupId to grant a group)")
	case in.ProfileID != nil && in.GroupID != nil:
		l.Add("groupId", errs.CodeInvalid, "give profileId or groupId, not both")
	}
	now := store.Now()
	if in.Expiration != nil && !in.Expiration.After(now) {
		l.Add("expiration", errs.CodeInvalid, "expiration %s is not in the future", in.Expiration.UTC().Format(time.RFC3339))
	}
	if len(in.Approvals) > 0 {
		var list []map[string]any
		if err := json.Unmarshal(in.Approvals, &list); err != nil {
			l.Add("approvals", errs.CodeType, "approvals must be an array of objects")
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	out := &Granted{}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		ds, err := tx.GetDataSource(ctx, dataSourceID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("data source %d does not exist", dataSourceID)
		} else if err != nil {
			return err
		}
		if !p.Has(auth.Governance) {
			owner, err := IsOwner(ctx, &tx.Queries, dataSourceID, p.UserID)
			if err != nil {
				return err
			}
			if !owner {
				return errs.Forbiddenf("only the owners of data source %q and governors may grant access to it", ds.Name)
			}
			if in.ProfileID != nil && *in.ProfileID == p.UserID {
				return errs.Forbiddenf("you cannot grant yourself access; ask another owner or a governor")
			}
			if in.GroupID != nil {
				if mine, err := inGroup(ctx, &tx.Queries, *in.GroupID, p.UserID); err != nil {
					return err
				} else if mine {
					return errs.Forbiddenf("you belong to group %d, so granting it would grant you; ask another owner or a governor", *in.GroupID)
				}
			}
		}
		e := &Entry{Access: store.Access{DataSourceID: dataSourceID, State: in.State, AccessGrant: grant,
			Expiration: in.Expiration, ApprovedBy: &p.UserID, CreatedAt: now, UpdatedAt: now}, Override: true,
			Approvals: in.Approvals}
		target := ""
		if in.ProfileID != nil {
			u, err := tx.GetUser(ctx, *in.ProfileID)
			if errors.Is(err, store.ErrNotFound) {
				return errs.Field("profileId", errs.CodeNotFound, "user %d does not exist", *in.ProfileID)
			} else if err != nil {
				return err
			}
			e.ModelType, e.ModelID, target = ModelUser, u.ID, u.UserID
		} else {
			g, err := tx.GetGroup(ctx, *in.GroupID)
			if errors.Is(err, store.ErrNotFound) {
				return errs.Field("groupId", errs.CodeNotFound, "group %d does not exist", *in.GroupID)
			} else if err != nil {
				return err
			}
			e.ModelType, e.ModelID, target = ModelGroup, g.ID, g.Name
			out.GroupName = &g.Name
		}
		if err := Put(ctx, &tx.Queries, e); err != nil {
			return err
		}
		out.Entry = e
		if err := AppendChange(ctx, &tx.Queries, dataSourceID); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "accessGrant", Success: true, TargetType: e.ModelType,
			TargetID: strconv.FormatInt(e.ModelID, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name,
			Details: map[string]any{"subscriber": target, "state": e.State, "accessGrant": e.AccessGrant,
				"expiration": e.Expiration, "subscriptionId": e.ID}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Filter narrows the subscriber list of a data source.
type Filter struct {
	States                []string // owner, expert, subscribed, pending, denied
	Approved              *bool
	SearchText            string // part of the name, user id or e-mail, any case
	ExpandGroups          bool   // list the members of subscribed groups one by one
	IgnoreSystemGenerated bool
	SortField             string // name (default), state, createdAt, updatedAt, expiration
	Descending            bool
	Offset, Size          int
}

// Member is one line of the subscriber list.
type Member struct {
	Entry           *Entry // nil for a subscription an automatic policy gives
	Type            string // user or group
	ProfileID       *int64
	GroupID         *int64
	Name            string
	IAMID           string
	UserID          string
	Email           string
	SystemGenerated bool
	State           string
	AccessGrant     string
	Expiration      *time.Time
	Approved        bool
	Policy          bool    // given by an automatic subscription policy
	ViaGroup        *string // the group whose subscription this member has (expandGroups)
	AdminName       *string // who granted it
}

var listStates = map[string]bool{store.AccessOwner: true, store.AccessExpert: true, store.AccessSubscribed: true,
	store.AccessPending: true, store.AccessDenied: true}

// List returns one page of a data source's subscribers and their count:
// stored rows plus the users automatic policies subscribe. Governors,
// holders of FETCH_POLICY_INFO or USER_ADMIN, and users with access to the
// data source may list.
func (s *Service) List(ctx context.Context, p *auth.Principal, dataSourceID int64, f Filter) ([]Member, int, error) {
	for i, st := range f.States {
		if !listStates[st] {
			return nil, 0, errs.BadRequestf("query parameter states[%d] must be owner, expert, subscribed, pending or denied, not %q", i, st)
		}
	}
	q := &s.db.Queries
	if _, err := q.GetDataSource(ctx, dataSourceID); errors.Is(err, store.ErrNotFound) {
		return nil, 0, errs.NotFoundf("data source %d does not exist", dataSourceID)
	} else if err != nil {
		return nil, 0, err
	}
	entries, err := OfDataSources(ctx, q, []int64{dataSourceID})
	if err != nil {
		return nil, 0, err
	}
	now := store.Now()
	auto := map[int64]string{}
	if s.auto != nil {
		auto = s.auto.AutomaticGrants(dataSourceID)
	}
	if !p.Has(auth.Governance) && !p.Has(auth.FetchPolicyInfo) && !p.Has(auth.UserAdmin) {
		allowed := auto[p.UserID] != ""
		for _, e := range entries {
			if e.ModelType == ModelUser && e.ModelID == p.UserID && e.Grants(now) {
				allowed = true
			}
		}
		if !allowed {
			if owner, err := IsOwner(ctx, q, dataSourceID, p.UserID); err != nil {
				return nil, 0, err
			} else if !owner {
				return nil, 0, errs.Forbiddenf("only governors and users with access to data source %d may list its subscribers", dataSourceID)
			}
		}
	}
	held, err := s.held(ctx, dataSourceID, entries)
	if err != nil {
		return nil, 0, err
	}
	members, err := s.members(ctx, q, entries, auto, held, f.ExpandGroups)
	if err != nil {
		return nil, 0, err
	}
	states := map[string]bool{}
	for _, st := range f.States {
		states[st] = true
	}
	needle := strings.ToLower(f.SearchText)
	kept := members[:0]
	for _, m := range members {
		switch {
		case len(states) > 0 && !states[m.State]:
		case f.Approved != nil && m.Approved != *f.Approved:
		case f.IgnoreSystemGenerated && m.SystemGenerated:
		case needle != "" && !strings.Contains(strings.ToLower(m.Name), needle) &&
			!strings.Contains(strings.ToLower(m.UserID), needle) && !strings.Contains(strings.ToLower(m.Email), needle):
		default:
			kept = append(kept, m)
		}
	}
	sortMembers(kept, f.SortField, f.Descending)
	total := len(kept)
	lo := min(f.Offset, total)
	hi := total
	if f.Size > 0 {
		hi = min(lo+f.Size, total)
	}
	return kept[lo:hi], total, nil
}

// held evaluates the users' subscriptions obtained by policy among a data
// source's rows: what each gives its user now (by row id; "" when the
// policies in force no longer admit it). Rows left out hold what they say.
func (s *Service) held(ctx context.Context, dataSourceID int64, entries []*Entry) (map[int64]string, error) {
	out := map[int64]string{}
	if s.pol == nil {
		return out, nil
	}
	var ids []int64
	for _, e := range entries {
		if e.ModelType == ModelUser && e.State == store.AccessSubscribed && !e.Override {
			ids = append(ids, e.ModelID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	if err := s.pol.Sync(ctx); err != nil {
		return nil, err
	}
	plan, ok := s.pol.Plan(dataSourceID)
	users, err := s.pol.Entitlements(ctx, ids)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	for _, e := range entries {
		if e.ModelType != ModelUser || e.State != store.AccessSubscribed || e.Override {
			continue
		}
		u, enabled := users[e.ModelID]
		if !ok || plan == nil || !enabled {
			out[e.ID] = ""
			continue
		}
		out[e.ID] = e.GrantUnder(plan, policy.NewEntitlements(u), now)
	}
	return out, nil
}

// members turns rows (and automatic grants) into list lines with names.
// held overrides what the rows it names give (see held).
func (s *Service) members(ctx context.Context, q *store.Queries, entries []*Entry, auto map[int64]string, held map[int64]string,
	expand bool) ([]Member, error) {
	var userIDs, groupIDs, admins []int64
	for _, e := range entries {
		if e.ModelType == ModelGroup {
			groupIDs = append(groupIDs, e.ModelID)
		} else {
			userIDs = append(userIDs, e.ModelID)
		}
		if e.ApprovedBy != nil {
			admins = append(admins, *e.ApprovedBy)
		}
	}
	groups := map[int64]*store.Group{}
	if len(groupIDs) > 0 {
		list, _, err := q.SearchGroups(ctx, store.GroupFilter{IDs: groupIDs, Size: len(groupIDs)})
		if err != nil {
			return nil, err
		}
		for _, g := range list {
			groups[g.ID] = g
		}
	}
	membersOf := map[int64][]int64{}
	if expand {
		for _, gid := range groupIDs {
			ms, _, err := q.GroupMembers(ctx, gid, false, 0, 1<<30)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				membersOf[gid] = append(membersOf[gid], m.UserID)
				userIDs = append(userIDs, m.UserID)
			}
		}
	}
	for id := range auto {
		userIDs = append(userIDs, id)
	}
	users, err := q.UsersByID(ctx, append(userIDs, admins...))
	if err != nil {
		return nil, err
	}
	now := store.Now()
	var out []Member
	seen := map[int64]bool{}
	userLine := func(u *store.User, e *Entry) Member {
		id := u.ID
		m := Member{Entry: e, Type: ModelUser, ProfileID: &id, Name: u.Name, IAMID: u.IAMID, UserID: u.UserID,
			Email: u.Email, SystemGenerated: u.SystemGenerated}
		if e != nil {
			m.State, m.AccessGrant, m.Expiration = e.State, e.AccessGrant, e.Expiration
			m.Approved = e.Grants(now)
			if g, evaluated := held[e.ID]; evaluated && e.ModelType == ModelUser {
				// A subscription the policies no longer admit grants nothing;
				// a WRITE one they admit for READ only reads.
				m.Approved = g != ""
				if g != "" {
					m.AccessGrant = g
				}
			}
			if e.ApprovedBy != nil {
				if a := users[*e.ApprovedBy]; a != nil {
					m.AdminName = &a.Name
				}
			}
		}
		return m
	}
	for _, e := range entries {
		if e.ModelType == ModelUser {
			u := users[e.ModelID]
			if u == nil {
				continue // the user was deleted; the row grants nothing
			}
			seen[u.ID] = true
			out = append(out, userLine(u, e))
			continue
		}
		g := groups[e.ModelID]
		if g == nil {
			continue
		}
		if !expand {
			gid := g.ID
			m := Member{Entry: e, Type: ModelGroup, GroupID: &gid, Name: g.Name, IAMID: g.IAMID, State: e.State,
				AccessGrant: e.AccessGrant, Expiration: e.Expiration, Approved: e.Grants(now)}
			if e.ApprovedBy != nil {
				if a := users[*e.ApprovedBy]; a != nil {
					m.AdminName = &a.Name
				}
			}
			out = append(out, m)
			continue
		}
		for _, uid := range membersOf[g.ID] {
			u := users[uid]
			if u == nil || seen[uid] {
				continue
			}
			seen[uid] = true
			m := userLine(u, e)
			name := g.Name
			m.ViaGroup = &name
			out = append(out, m)
		}
	}
	ids := make([]int64, 0, len(auto))
	for id := range auto {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		u := users[id]
		if u == nil || seen[id] {
			continue
		}
		m := userLine(u, nil)
		m.State, m.AccessGrant, m.Approved, m.Policy = store.AccessSubscribed, auto[id], true, true
		out = append(out, m)
	}
	return out, nil
}

func sortMembers(ms []Member, field string, desc bool) {
	key := func(m Member) string {
		switch field {
		case "state":
			return m.State
		case "createdAt", "updatedAt":
			if m.Entry == nil {
				return ""
			}
			t := m.Entry.CreatedAt
			if field == "updatedAt" {
				t = m.Entry.UpdatedAt
			}
			return t.UTC().Format(time.RFC3339Nano)
		case "expiration":
			if m.Expiration == nil {
				return "~" // no expiration sorts last
			}
			return m.Expiration.UTC().Format(time.RFC3339Nano)
		}
		return strings.ToLower(m.Name)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := key(ms[i]), key(ms[j])
		if a == b {
			return false
		}
		return (a < b) != desc
	})
}

// inGroup reports whether a user belongs to a group.
func inGroup(ctx context.Context, q *store.Queries, groupID, userID int64) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID).Scan(&n)
	return n > 0, err
}

// IsOwner reports whether the user owns the data source.
func (s *Service) IsOwner(ctx context.Context, dataSourceID, userID int64) (bool, error) {
	return IsOwner(ctx, &s.db.Queries, dataSourceID, userID)
}
