package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/requests"
	"github.com/custosdata/custos/internal/store"
)

// SubscribeInput is what a user asks for when subscribing.
type SubscribeInput struct {
	AccessGrant string // READ (default) or WRITE
	// Approvals name specific approvers where the subscription policy
	// requires one.
	Approvals []requests.Approval
	Metadata  json.RawMessage
}

// SubscribeFailure is a data source the caller could not subscribe to.
type SubscribeFailure struct {
	ID      int64
	Name    string
	Message string
}

// SubscribeResult lists the subscriptions made (or pending) and the refusals.
type SubscribeResult struct {
	Success []*Entry
	InError []SubscribeFailure
}

// Subscribe asks for access to each data source as its subscription policy
// allows: at once when the policy admits the caller (anyone, or
// entitlements they meet), as a pending request with the approvals the
// policy names when it needs approval. Manual policies, unmet entitlements
// and data sources without a subscription policy refuse (only owners grant
// there). Each data source is settled in a transaction of its own.
func (s *Service) Subscribe(ctx context.Context, p *auth.Principal, ids []int64, in SubscribeInput) (*SubscribeResult, error) {
	grant := strings.ToUpper(strings.TrimSpace(in.AccessGrant))
	switch grant {
	case "":
		grant = store.GrantRead
	case store.GrantRead, store.GrantWrite:
	default:
		return nil, errs.Field("accessGrant", errs.CodeEnum, "accessGrant must be READ or WRITE, not %q", in.AccessGrant)
	}
	if len(ids) == 0 {
		return nil, errs.Field("dataSourceIds", errs.CodeRequired, "name the data sources to subscribe to (dataSourceId or dataSourceIds)")
	}
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		var m map[string]any
		if err := json.Unmarshal(in.Metadata, &m); err != nil {
			return nil, errs.Field("metadata", errs.CodeType, "metadata must be an object")
		}
	}
	if s.pol == nil {
		return nil, errs.Conflictf("no policy engine is running: subscriptions cannot be decided")
	}
	if err := s.pol.Sync(ctx); err != nil {
		return nil, err
	}
	users, err := s.pol.Entitlements(ctx, []int64{p.UserID})
	if err != nil {
		return nil, err
	}
	me, ok := users[p.UserID]
	if !ok {
		return nil, errs.Forbiddenf("disabled users cannot subscribe")
	}
	ent := policy.NewEntitlements(me)
	out := &SubscribeResult{Success: []*Entry{}, InError: []SubscribeFailure{}}
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var e *Entry
		var name string
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			e, name, err = s.subscribeOne(ctx, tx, p, id, grant, ent, in)
			return err
		})
		if err != nil {
			fe := errs.As(err)
			if fe.Kind == errs.Internal || fe.Kind == errs.Unavailable {
				return nil, err
			}
			out.InError = append(out.InError, SubscribeFailure{ID: id, Name: name, Message: fe.Message})
			continue
		}
		out.Success = append(out.Success, e)
	}
	return out, nil
}

func (s *Service) subscribeOne(ctx context.Context, tx *store.Tx, p *auth.Principal, id int64, grant string,
	ent *policy.Entitlements, in SubscribeInput) (*Entry, string, error) {
	q := &tx.Queries
	ds, err := q.GetDataSource(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", errs.NotFoundf("data source %d does not exist", id)
	} else if err != nil {
		return nil, "", err
	}
	plan, ok := s.pol.Plan(id)
	if !ok || ds.Status != store.DataSourceEnabled {
		return nil, ds.Name, errs.Conflictf("data source %q is disabled", ds.Name)
	}
	now := store.Now()
	cur, err := scanEntry(q.QueryRow(ctx, `SELECT `+entryColumns+` FROM data_source_access WHERE data_source_id = $1
		AND model_type = 'user' AND model_id = $2`, id, p.UserID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, ds.Name, err
	}
	unchanged := func() (*Entry, string, error) {
		return cur, ds.Name, audit.Write(ctx, q, audit.Event{Type: "subscribe", Action: "unchanged", Success: true,
			TargetType: "datasource", TargetID: strconv.FormatInt(id, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name,
			Details: map[string]any{"state": cur.State, "subscriptionId": cur.ID}})
	}
	// What the current row gives now: a subscription the policies in force
	// no longer admit holds nothing, and may be asked for again.
	holds := ""
	if cur != nil {
		holds = cur.GrantUnder(plan, ent, now)
	}
	if cur != nil {
		switch {
		case cur.State == store.AccessPending:
			return unchanged() // already asked; the request stands
		case holds == store.GrantWrite || (holds == store.GrantRead && grant == store.GrantRead):
			return unchanged() // already held
		case cur.State == store.AccessOwner || cur.State == store.AccessExpert:
			return nil, ds.Name, errs.Conflictf("you are %s of data source %q; ask another owner or a governor for WRITE", cur.State, ds.Name)
		}
	}
	d := policy.Evaluate(plan, ent)
	decision := d.Read
	if grant == store.GrantWrite {
		decision = d.Write
	}
	if holds != "" && decision.Status == policy.StatusApproval {
		// One row per user and data source: a pending WRITE request would
		// end the READ subscription while it waits.
		return nil, ds.Name, errs.Conflictf("you hold READ on data source %q and WRITE needs approval: "+
			"ask an owner or a governor to change your subscription %d", ds.Name, cur.ID)
	}
	e := &Entry{Access: store.Access{DataSourceID: id, ModelType: ModelUser, ModelID: p.UserID, AccessGrant: grant,
		CreatedAt: now, UpdatedAt: now}, Metadata: in.Metadata}
	switch decision.Status {
	case policy.StatusAutomatic, policy.StatusAllowed:
		e.State = store.AccessSubscribed
	case policy.StatusApproval:
		slots, err := requests.Slots(ctx, q, decision.Approvals, in.Approvals, "approvals")
		if err != nil {
			return nil, ds.Name, err
		}
		b, err := json.Marshal(slots)
		if err != nil {
			return nil, ds.Name, err
		}
		e.State, e.Approvals = store.AccessPending, b
	case policy.StatusManual:
		return nil, ds.Name, errs.Forbiddenf("data source %q takes no requests: its owners grant access to users they choose", ds.Name)
	case policy.StatusDenied:
		return nil, ds.Name, errs.Forbiddenf("you do not meet the subscription policy of data source %q (%s)", ds.Name, grant)
	default:
		return nil, ds.Name, errs.Forbiddenf("no subscription policy with %s applies to data source %q: only its owners grant access", grant, ds.Name)
	}
	if err := Put(ctx, q, e); err != nil {
		return nil, ds.Name, err
	}
	if err := AppendChange(ctx, q, id); err != nil {
		return nil, ds.Name, err
	}
	if err := audit.Write(ctx, q, audit.Event{Type: "subscribe", Success: true, TargetType: "datasource",
		TargetID: strconv.FormatInt(id, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name,
		Details: map[string]any{"state": e.State, "accessGrant": grant, "subscriptionId": e.ID}}); err != nil {
		return nil, ds.Name, err
	}
	if e.State == store.AccessPending {
		r, err := s.requestOf(ctx, q, e, ds.Name)
		if err != nil {
			return nil, ds.Name, err
		}
		return e, ds.Name, requests.Announce(ctx, q, s.Requests(), r, p.UserID)
	}
	owners, err := s.owners(ctx, q, id)
	if err != nil {
		return nil, ds.Name, err
	}
	uid := p.UserID
	return e, ds.Name, activity.Notify(ctx, q, &activity.Activity{ModelType: "datasource", ModelID: strconv.FormatInt(id, 10),
		NotificationType: activity.UserJoined, ActionBy: &uid, TargetUser: &uid,
		Metadata: map[string]any{"dataSourceName": ds.Name, "accessGrant": grant}}, append(owners, uid))
}

// Unsubscribe ends the caller's own subscription (or pending request) to a
// data source. Owners cannot unsubscribe (another owner or a governor
// changes their state), and access an automatic policy gives cannot be
// dropped.
func (s *Service) Unsubscribe(ctx context.Context, p *auth.Principal, dataSourceID int64) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		ds, err := q.GetDataSource(ctx, dataSourceID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("data source %d does not exist", dataSourceID)
		} else if err != nil {
			return err
		}
		e, err := scanEntry(q.QueryRow(ctx, `SELECT `+entryColumns+` FROM data_source_access WHERE data_source_id = $1
			AND model_type = 'user' AND model_id = $2`, dataSourceID, p.UserID))
		if errors.Is(err, store.ErrNotFound) {
			if s.auto != nil && s.auto.AutomaticGrants(dataSourceID)[p.UserID] != "" {
				return errs.Conflictf("your access to data source %q comes from its automatic subscription policy and cannot be dropped", ds.Name)
			}
			return errs.NotFoundf("you are not subscribed to data source %q", ds.Name)
		} else if err != nil {
			return err
		}
		if e.State == store.AccessOwner {
			return errs.Conflictf("you own data source %q: another owner or a governor can change your state", ds.Name)
		}
		if _, err := q.Exec(ctx, `DELETE FROM data_source_access WHERE id = $1`, e.ID); err != nil {
			return err
		}
		if err := AppendChange(ctx, q, dataSourceID); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, audit.Event{Type: "unsubscribe", Success: true, TargetType: "datasource",
			TargetID: strconv.FormatInt(dataSourceID, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name,
			Details: map[string]any{"state": e.State, "subscriptionId": e.ID}}); err != nil {
			return err
		}
		owners, err := s.owners(ctx, q, dataSourceID)
		if err != nil {
			return err
		}
		uid := p.UserID
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "datasource", ModelID: strconv.FormatInt(dataSourceID, 10),
			NotificationType: activity.UserDeleted, ActionBy: &uid, TargetUser: &uid,
			Metadata: map[string]any{"dataSourceName": ds.Name, "activity": "access", "action": "unsubscribed"}}, append(owners, uid))
	})
}

// Updated is a subscription whose state changed, with the state it had.
type Updated struct {
	Entry         *Entry
	OriginalState string
	GroupName     *string
}

// updateStates are the states an owner or governor may set.
var updateStates = map[string]bool{store.AccessSubscribed: true, store.AccessOwner: true, store.AccessExpert: true,
	store.AccessDenied: true}

// UpdateState changes the state of a subscription (and, when given, its
// expiration): governors and the data source's owners decide, and
// requestors cannot change their own. Setting subscribed grants by hand
// (an override of the subscription policy); denied ends any access.
func (s *Service) UpdateState(ctx context.Context, p *auth.Principal, dataSourceID, subscriptionID int64, state string,
	expiration *time.Time) (*Updated, error) {
	switch {
	case state == "":
		return nil, errs.Field("state", errs.CodeRequired, "state is required")
	case state == "ingest":
		return nil, errs.Field("state", errs.CodeEnum, "state ingest applies to ingested data sources, which custos does not have")
	case !updateStates[state]:
		return nil, errs.Field("state", errs.CodeEnum, "state must be subscribed, owner, expert or denied, not %q", state)
	}
	if expiration != nil && !expiration.After(store.Now()) {
		return nil, errs.Field("expiration", errs.CodeInvalid, "expiration %s is not in the future", expiration.UTC().Format(time.RFC3339))
	}
	out := &Updated{}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		ds, err := q.GetDataSource(ctx, dataSourceID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("data source %d does not exist", dataSourceID)
		} else if err != nil {
			return err
		}
		e, err := Get(ctx, q, subscriptionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && e.DataSourceID != dataSourceID) {
			return errs.NotFoundf("subscription %d of data source %q does not exist", subscriptionID, ds.Name)
		} else if err != nil {
			return err
		}
		if e.ModelType == ModelUser && e.ModelID == p.UserID {
			return errs.Forbiddenf("requestors cannot update their own status; ask an owner of %q or a governor", ds.Name)
		}
		if !p.Has(auth.Governance) {
			owner, err := IsOwner(ctx, q, dataSourceID, p.UserID)
			if err != nil {
				return err
			}
			if !owner {
				return errs.Forbiddenf("only the owners of data source %q and governors may change who has access to it", ds.Name)
			}
			if e.ModelType == ModelGroup {
				if mine, err := inGroup(ctx, q, e.ModelID, p.UserID); err != nil {
					return err
				} else if mine {
					return errs.Forbiddenf("you belong to the group of subscription %d and cannot change its status; ask another owner of %q or a governor",
						e.ID, ds.Name)
				}
			}
		}
		out.OriginalState = e.State
		now := store.Now()
		uid := p.UserID
		e.State, e.UpdatedAt, e.ApprovedBy = state, now, &uid
		if expiration != nil {
			exp := expiration.UTC().Truncate(time.Millisecond)
			e.Expiration = &exp
		}
		if state == store.AccessDenied {
			e.Override = false
		} else {
			e.Override = true
		}
		if err := Put(ctx, q, e); err != nil {
			return err
		}
		out.Entry = e
		if e.ModelType == ModelGroup {
			g, err := q.GetGroup(ctx, e.ModelID)
			if err == nil {
				out.GroupName = &g.Name
			}
		}
		if err := AppendChange(ctx, q, dataSourceID); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, audit.Event{Type: "accessUpdate", Success: true, TargetType: e.ModelType,
			TargetID: strconv.FormatInt(e.ModelID, 10), DataSourceID: &ds.ID, DataSourceName: ds.Name,
			Details: map[string]any{"subscriptionId": e.ID, "from": out.OriginalState, "to": state, "expiration": e.Expiration}}); err != nil {
			return err
		}
		kind := activity.AccessUpdated
		switch {
		case out.OriginalState == store.AccessPending && state == store.AccessDenied:
			kind = activity.AccessDenied
		case out.OriginalState == store.AccessPending:
			kind = activity.AccessApproved
		case state == store.AccessDenied:
			kind = activity.AccessRevoked
		}
		a := &activity.Activity{ModelType: "datasource", ModelID: strconv.FormatInt(dataSourceID, 10), NotificationType: kind,
			ActionBy: &uid, Metadata: map[string]any{"dataSourceName": ds.Name, "state": state, "originalState": out.OriginalState}}
		var to []int64
		id := e.ModelID
		if e.ModelType == ModelUser {
			a.TargetUser, to = &id, []int64{id}
		} else {
			a.TargetGroup = &id
		}
		return activity.Notify(ctx, q, a, to)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Contact is an owner or expert of a data source.
type Contact struct {
	ModelType string // user or group
	ModelID   int64
	State     string
	Name      string
	Email     string
}

// Contacts lists a data source's owners and experts whose rows have not
// expired, owners first.
func (s *Service) Contacts(ctx context.Context, dataSourceID int64) ([]Contact, error) {
	q := &s.db.Queries
	if _, err := q.GetDataSource(ctx, dataSourceID); errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("data source %d does not exist", dataSourceID)
	} else if err != nil {
		return nil, err
	}
	rows, err := InState(ctx, q, store.AccessOwner, store.AccessExpert)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	var out []Contact
	var userIDs []int64
	for _, e := range rows {
		if e.DataSourceID == dataSourceID && e.Grants(now) && e.ModelType == ModelUser {
			userIDs = append(userIDs, e.ModelID)
		}
	}
	users, err := q.UsersByID(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	for _, st := range []string{store.AccessOwner, store.AccessExpert} {
		for _, e := range rows {
			if e.DataSourceID != dataSourceID || e.State != st || !e.Grants(now) {
				continue
			}
			c := Contact{ModelType: e.ModelType, ModelID: e.ModelID, State: e.State}
			if e.ModelType == ModelUser {
				u := users[e.ModelID]
				if u == nil {
					continue
				}
				c.Name, c.Email = u.Name, u.Email
			} else {
				g, err := q.GetGroup(ctx, e.ModelID)
				if errors.Is(err, store.ErrNotFound) {
					continue
				} else if err != nil {
					return nil, err
				}
				c.Name = g.Name
				if g.Email != nil {
					c.Email = *g.Email
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// MineFilter narrows the data sources a user has access to.
type MineFilter struct {
	Database string   // the remote database
	Tables   []string // remote table or SQL table names
	Handler  string   // the technology, any case
}

// Held is a data source the caller may query, with their grant.
type Held struct {
	DataSource  *store.DataSource
	AccessGrant string
}

// Mine lists the enabled data sources the caller may read or write right
// now, by name.
func (s *Service) Mine(ctx context.Context, p *auth.Principal, f MineFilter) ([]Held, error) {
	if s.pol == nil {
		return nil, nil
	}
	if err := s.pol.Sync(ctx); err != nil {
		return nil, err
	}
	grants, err := s.pol.GrantsOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(grants))
	for id := range grants {
		ids = append(ids, id)
	}
	found, err := s.db.DataSourcesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	tables := map[string]bool{}
	for _, t := range f.Tables {
		tables[strings.ToLower(t)] = true
	}
	var out []Held
	for id, g := range grants {
		d := found[id]
		switch {
		case d == nil || d.Status != store.DataSourceEnabled:
		case f.Database != "" && !strings.EqualFold(deref(d.RemoteDatabase), f.Database):
		case len(tables) > 0 && !tables[strings.ToLower(deref(d.RemoteTable))] && !tables[strings.ToLower(deref(d.SQLTableName))]:
		case f.Handler != "" && !strings.EqualFold(d.Technology, f.Handler):
		default:
			out = append(out, Held{DataSource: d, AccessGrant: g})
		}
	}
	sortHeld(out)
	return out, nil
}

func sortHeld(h []Held) {
	sort.Slice(h, func(i, j int) bool {
		return strings.ToLower(h[i].DataSource.Name) < strings.ToLower(h[j].DataSource.Name)
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// owners lists the users owning a data source, directly or through a group.
func (s *Service) owners(ctx context.Context, q *store.Queries, dataSourceID int64) ([]int64, error) {
	return store.Int64s(q.Query(ctx, `SELECT model_id FROM data_source_access WHERE data_source_id = $1 AND state = 'owner'
		AND model_type = 'user' AND (expiration IS NULL OR expiration > $2)
		UNION SELECT gm.user_id FROM data_source_access a JOIN group_members gm ON gm.group_id = a.model_id
		WHERE a.data_source_id = $1 AND a.state = 'owner' AND a.model_type = 'group' AND (a.expiration IS NULL OR a.expiration > $2)`,
		dataSourceID, store.Now()))
}

// Requests is the data source side of the request workflow.
func (s *Service) Requests() requests.Model { return dataSourceRequests{s} }

type dataSourceRequests struct{ s *Service }

func (dataSourceRequests) Type() string { return requests.ModelDataSource }

func (r dataSourceRequests) Request(ctx context.Context, q *store.Queries, id int64) (*requests.Request, error) {
	// A no-op update takes the row's lock (and waits for a decision in
	// flight), so that what is read next is the latest committed state.
	if _, err := q.Exec(ctx, `UPDATE data_source_access SET updated_at = updated_at WHERE id = $1`, id); err != nil {
		return nil, err
	}
	e, err := Get(ctx, q, id)
	if err != nil {
		return nil, err
	}
	ds, err := q.GetDataSource(ctx, e.DataSourceID)
	if err != nil {
		return nil, err
	}
	return r.s.requestOf(ctx, q, e, ds.Name)
}

func (r dataSourceRequests) Pending(ctx context.Context, q *store.Queries) ([]*requests.Request, error) {
	rows, err := InState(ctx, q, store.AccessPending)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(rows))
	for _, e := range rows {
		ids = append(ids, e.DataSourceID)
	}
	found, err := q.DataSourcesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*requests.Request, 0, len(rows))
	for _, e := range rows {
		ds := found[e.DataSourceID]
		if ds == nil || ds.Status != store.DataSourceEnabled {
			continue
		}
		req, err := r.s.requestOf(ctx, q, e, ds.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

func (dataSourceRequests) IsOwner(ctx context.Context, q *store.Queries, modelID, userID int64) (bool, error) {
	return IsOwner(ctx, q, modelID, userID)
}

func (r dataSourceRequests) Owners(ctx context.Context, q *store.Queries, modelID int64) ([]int64, error) {
	return r.s.owners(ctx, q, modelID)
}

// Settle writes the outcome of a request on a data source: the grant it
// asked for once approved (lasting while the user meets the policy), or the
// denial.
func (dataSourceRequests) Settle(ctx context.Context, tx *store.Tx, r *requests.Request) error {
	q := &tx.Queries
	e, err := Get(ctx, q, r.ID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r.Approvals)
	if err != nil {
		return err
	}
	e.State, e.Approvals, e.Expiration, e.Reason, e.ApprovedBy, e.UpdatedAt = r.State, b, r.Expiration, r.Reason, r.ApprovedBy, r.UpdatedAt
	if err := Put(ctx, q, e); err != nil {
		return err
	}
	if err := AppendChange(ctx, q, e.DataSourceID); err != nil {
		return err
	}
	ds := e.DataSourceID
	return audit.Write(ctx, q, audit.Event{Type: "accessRequest", Action: r.State, Success: true, TargetType: e.ModelType,
		TargetID: strconv.FormatInt(e.ModelID, 10), DataSourceID: &ds, DataSourceName: r.ModelName,
		Details: map[string]any{"subscriptionId": e.ID, "approvals": r.Approvals, "reason": r.Reason}})
}

// requestOf turns a row into a request.
func (s *Service) requestOf(ctx context.Context, q *store.Queries, e *Entry, name string) (*requests.Request, error) {
	r := &requests.Request{ID: e.ID, ModelType: requests.ModelDataSource, ModelID: e.DataSourceID, ModelName: name,
		EntityType: e.ModelType, EntityID: e.ModelID, State: e.State, AccessGrant: e.AccessGrant, Expiration: e.Expiration,
		Reason: e.Reason, ApprovedBy: e.ApprovedBy, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, Metadata: map[string]any{}}
	if len(e.Approvals) > 0 && string(e.Approvals) != "null" {
		if err := json.Unmarshal(e.Approvals, &r.Approvals); err != nil {
			return nil, fmt.Errorf("subscription %d: approvals: %w", e.ID, err)
		}
	}
	if len(e.Metadata) > 0 && string(e.Metadata) != "null" {
		_ = json.Unmarshal(e.Metadata, &r.Metadata)
	}
	return r, nil
}
