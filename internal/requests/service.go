package requests

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// Service runs the request workflow over the models it is given.
type Service struct {
	db     *store.DB
	models []Model
}

// New returns the workflow over the given models.
func New(db *store.DB, models ...Model) *Service { return &Service{db: db, models: models} }

func (s *Service) model(typ string) (Model, error) {
	for _, m := range s.models {
		if m.Type() == typ {
			return m, nil
		}
	}
	return nil, errs.BadRequestf("modelType must be datasource or project, not %q", typ)
}

// ModelRef names the model of a request.
type ModelRef struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// EntityRef names who asks: a user (type profile) or a group.
type EntityRef struct {
	Type  string `json:"type"`
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Failure is a request that could not be approved or denied, and why.
type Failure struct {
	ID           int64
	ErrorMessage string
	Model        *ModelRef
	Entity       *EntityRef
}

// Decision is one request to approve (with an optional expiration) or deny
// (with a reason). ModelType, when given, says which model's subscription
// ids ID is among (data sources and projects number theirs apart).
type Decision struct {
	ID         int64
	ModelType  string
	Expiration *time.Time
	Reason     string
}

// find loads the request with subscription id id: among the given model
// type's, or among every model's when it is unique there.
func (s *Service) find(ctx context.Context, q *store.Queries, id int64, modelType string) (Model, *Request, error) {
	models := s.models
	if modelType != "" {
		m, err := s.model(modelType)
		if err != nil {
			return nil, nil, err
		}
		models = []Model{m}
	}
	var foundM []Model
	var found []*Request
	for _, m := range models {
		r, err := m.Request(ctx, q, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		foundM, found = append(foundM, m), append(found, r)
	}
	switch {
	case len(found) == 0:
		return nil, nil, errs.NotFoundf("subscription %d does not exist", id)
	case len(found) == 1:
		return foundM[0], found[0], nil
	}
	// Both a data source and a project use the id: the pending one is meant.
	var pm []Model
	var pr []*Request
	for i, r := range found {
		if r.State == Pending {
			pm, pr = append(pm, foundM[i]), append(pr, r)
		}
	}
	if len(pr) == 1 {
		return pm[0], pr[0], nil
	}
	return nil, nil, errs.Conflictf("subscription id %d names a request on a data source and one on a project; "+
		"give modelType (datasource or project) with the id", id)
}

// Approve gives the caller's approval to each request. A request is granted
// once every approval it needs is given; each is settled in a transaction of
// its own, and those that fail are returned with the reason, unchanged.
func (s *Service) Approve(ctx context.Context, p *auth.Principal, items []Decision) ([]Failure, error) {
	return s.each(ctx, items, func(tx *store.Tx, d Decision) (*Request, error) {
		return s.approve(ctx, tx, p, d)
	})
}

// Deny denies each request with its reason; only someone who may give one
// of a request's approvals may deny it.
func (s *Service) Deny(ctx context.Context, p *auth.Principal, items []Decision) ([]Failure, error) {
	for i, d := range items {
		if strings.TrimSpace(d.Reason) == "" {
			return nil, errs.Field("requests["+strconv.Itoa(i)+"].denialReasoning", errs.CodeRequired,
				"requests[%d].denialReasoning is required: say why the request is denied", i)
		}
	}
	return s.each(ctx, items, func(tx *store.Tx, d Decision) (*Request, error) {
		return s.deny(ctx, tx, p, d)
	})
}

func (s *Service) each(ctx context.Context, items []Decision, fn func(tx *store.Tx, d Decision) (*Request, error)) ([]Failure, error) {
	failures := []Failure{}
	for _, d := range items {
		var last *Request
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			last, err = fn(tx, d)
			return err
		})
		if err == nil {
			continue
		}
		e := errs.As(err)
		if e.Kind == errs.Internal || e.Kind == errs.Unavailable {
			return nil, err
		}
		f := Failure{ID: d.ID, ErrorMessage: e.Message}
		if last != nil {
			f.Model = &ModelRef{Type: last.ModelType, ID: last.ModelID, Name: last.ModelName}
			ent, err := s.entity(ctx, &s.db.Queries, last)
			if err != nil {
				return nil, err
			}
			f.Entity = &ent
		}
		failures = append(failures, f)
	}
	return failures, nil
}

// approve gives p's approval to one request in tx. The request is returned
// even on failure, to name it.
func (s *Service) approve(ctx context.Context, tx *store.Tx, p *auth.Principal, d Decision) (*Request, error) {
	m, r, err := s.find(ctx, &tx.Queries, d.ID, d.ModelType)
	if err != nil {
		return nil, err
	}
	if err := s.actionable(ctx, tx, p, m, r); err != nil {
		return r, err
	}
	owner, err := m.IsOwner(ctx, &tx.Queries, r.ModelID, p.UserID)
	if err != nil {
		return r, err
	}
	i := approvable(p, r, owner)
	if i < 0 {
		return r, errs.Forbiddenf("you cannot approve request %d: it needs the approval of %s", r.ID, missing(r))
	}
	if d.Expiration != nil && !d.Expiration.After(store.Now()) {
		return r, errs.Field("expiration", errs.CodeInvalid, "expiration %s is not in the future",
			d.Expiration.UTC().Format(time.RFC3339))
	}
	name, err := userName(ctx, &tx.Queries, p.UserID)
	if err != nil {
		return r, err
	}
	now := store.Now()
	uid := p.UserID
	r.Approvals[i].State, r.Approvals[i].ApproverID, r.Approvals[i].Approver = Approved, &uid, &name
	r.UpdatedAt = now
	done := true
	for _, a := range r.Approvals {
		if a.State != Approved {
			done = false
		}
	}
	if done {
		r.State, r.ApprovedBy = Subscribed, &uid
		if d.Expiration != nil {
			exp := d.Expiration.UTC().Truncate(time.Millisecond)
			r.Expiration = &exp
		}
	}
	if err := m.Settle(ctx, tx, r); err != nil {
		return r, err
	}
	if !done {
		return r, nil
	}
	return r, s.tell(ctx, &tx.Queries, r, activity.AccessApproved, p.UserID, map[string]any{"expiration": r.Expiration})
}

func (s *Service) deny(ctx context.Context, tx *store.Tx, p *auth.Principal, d Decision) (*Request, error) {
	m, r, err := s.find(ctx, &tx.Queries, d.ID, d.ModelType)
	if err != nil {
		return nil, err
	}
	if err := s.actionable(ctx, tx, p, m, r); err != nil {
		return r, err
	}
	owner, err := m.IsOwner(ctx, &tx.Queries, r.ModelID, p.UserID)
	if err != nil {
		return r, err
	}
	may := false
	for _, a := range slotsOf(r) {
		may = may || (a.State == Pending && qualifies(p, a, owner))
	}
	if !may {
		return r, errs.Forbiddenf("you cannot deny request %d: it needs the approval of %s", r.ID, missing(r))
	}
	reason := strings.TrimSpace(d.Reason)
	r.State, r.Reason, r.UpdatedAt = Denied, &reason, store.Now()
	for i := range r.Approvals {
		if r.Approvals[i].State == Pending {
			r.Approvals[i].State = Denied
		}
	}
	if err := m.Settle(ctx, tx, r); err != nil {
		return r, err
	}
	return r, s.tell(ctx, &tx.Queries, r, activity.AccessDenied, p.UserID, map[string]any{"denialReasoning": reason})
}

// actionable refuses requests that are not pending and one's own requests.
func (s *Service) actionable(ctx context.Context, tx *store.Tx, p *auth.Principal, m Model, r *Request) error {
	if r.State != Pending {
		return errs.Conflictf("request %d is not pending: it is %s", r.ID, r.State)
	}
	if r.EntityType == "user" && r.EntityID == p.UserID {
		return errs.Forbiddenf("you cannot approve or deny your own request %d", r.ID)
	}
	return nil
}

// tell notifies the requester of the outcome of their request.
func (s *Service) tell(ctx context.Context, q *store.Queries, r *Request, kind string, by int64, meta map[string]any) error {
	meta["modelName"], meta["subscriptionId"], meta["state"] = r.ModelName, r.ID, r.State
	a := &activity.Activity{ModelType: r.ModelType, ModelID: strconv.FormatInt(r.ModelID, 10), NotificationType: kind,
		ActionBy: &by, Metadata: meta}
	var recipients []int64
	id := r.EntityID
	if r.EntityType == "user" {
		a.TargetUser, recipients = &id, []int64{id}
	} else {
		a.TargetGroup = &id
		members, _, err := q.GroupMembers(ctx, id, false, 0, 1<<30)
		if err != nil {
			return err
		}
		for _, gm := range members {
			recipients = append(recipients, gm.UserID)
		}
	}
	return activity.Notify(ctx, q, a, recipients)
}

// Selection picks requests for a bulk decision: by id, or every pending
// request of one user (EntityType profile) or group that the caller may act
// on.
type Selection struct {
	RequestIDs []int64
	EntityID   *int64
	EntityType string // profile or group
	ModelType  string
}

// ApproveAll approves the selected requests at once: all of them or, when
// any cannot be approved, none (the error says which and why).
func (s *Service) ApproveAll(ctx context.Context, p *auth.Principal, sel Selection) error {
	return s.all(ctx, p, sel, func(tx *store.Tx, d Decision) (*Request, error) { return s.approve(ctx, tx, p, d) })
}

// DenyAll denies the selected requests at once, all or none.
func (s *Service) DenyAll(ctx context.Context, p *auth.Principal, sel Selection, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errs.Field("denialReasoning", errs.CodeRequired, "denialReasoning is required: say why the requests are denied")
	}
	return s.all(ctx, p, sel, func(tx *store.Tx, d Decision) (*Request, error) {
		d.Reason = reason
		return s.deny(ctx, tx, p, d)
	})
}

func (s *Service) all(ctx context.Context, p *auth.Principal, sel Selection, fn func(tx *store.Tx, d Decision) (*Request, error)) error {
	if len(sel.RequestIDs) == 0 && sel.EntityID == nil {
		return errs.Field("requestIds", errs.CodeRequired, "give requestIds, or id and type to select every request of a user or group")
	}
	if len(sel.RequestIDs) == 0 {
		switch sel.EntityType {
		case "profile", "group":
		case "":
			return errs.Field("type", errs.CodeRequired, "type is required with id: profile or group")
		default:
			return errs.Field("type", errs.CodeEnum, "type must be profile or group, not %q", sel.EntityType)
		}
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		items := make([]Decision, 0, len(sel.RequestIDs))
		for _, id := range sel.RequestIDs {
			items = append(items, Decision{ID: id, ModelType: sel.ModelType})
		}
		if len(sel.RequestIDs) == 0 {
			entity := "user"
			if sel.EntityType == "group" {
				entity = "group"
			}
			hits, err := s.pending(ctx, &tx.Queries, p)
			if err != nil {
				return err
			}
			for _, h := range hits {
				if h.r.EntityType == entity && h.r.EntityID == *sel.EntityID {
					items = append(items, Decision{ID: h.r.ID, ModelType: h.r.ModelType})
				}
			}
			if len(items) == 0 {
				return errs.NotFoundf("%s %d has no pending request you can act on", sel.EntityType, *sel.EntityID)
			}
		}
		for _, d := range items {
			if _, err := fn(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

type pendingHit struct {
	m Model
	r *Request
}

// pending lists the pending requests p may give an approval of.
func (s *Service) pending(ctx context.Context, q *store.Queries, p *auth.Principal) ([]pendingHit, error) {
	var out []pendingHit
	for _, m := range s.models {
		list, err := m.Pending(ctx, q)
		if err != nil {
			return nil, err
		}
		owned := map[int64]bool{}
		for _, r := range list {
			if r.EntityType == "user" && r.EntityID == p.UserID {
				continue
			}
			own, ok := owned[r.ModelID]
			if !ok {
				if own, err = m.IsOwner(ctx, q, r.ModelID, p.UserID); err != nil {
					return nil, err
				}
				owned[r.ModelID] = own
			}
			if approvable(p, r, own) >= 0 {
				out = append(out, pendingHit{m, r})
			}
		}
	}
	return out, nil
}

// PendingFilter narrows the pending requests of an approver.
type PendingFilter struct {
	GroupByEntity bool
	ProfileID     *int64
	GroupID       *int64
	Name          string // part of the requester's name
	Email         string // part of the requester's e-mail
	ModelName     string // part of the model's name
	ModelTypes    []string
	SortField     string // name (default) or email
	Descending    bool
	Offset, Size  int
}

// Hit is one pending request (or, grouped by entity, the newest of Count).
type Hit struct {
	Request *Request
	Entity  EntityRef
	Count   int
}

// PendingFor returns one page of the pending requests p can approve, and
// their count.
func (s *Service) PendingFor(ctx context.Context, p *auth.Principal, f PendingFilter) ([]Hit, int, error) {
	for _, t := range f.ModelTypes {
		if _, err := s.model(t); err != nil {
			return nil, 0, err
		}
	}
	q := &s.db.Queries
	hits, err := s.pending(ctx, q, p)
	if err != nil {
		return nil, 0, err
	}
	var out []Hit
	for _, h := range hits {
		r := h.r
		ent, err := s.entity(ctx, q, r)
		if err != nil {
			return nil, 0, err
		}
		switch {
		case len(f.ModelTypes) > 0 && !contains(f.ModelTypes, r.ModelType):
		case f.ProfileID != nil && (r.EntityType != "user" || r.EntityID != *f.ProfileID):
		case f.GroupID != nil && (r.EntityType != "group" || r.EntityID != *f.GroupID):
		case f.Name != "" && !strings.Contains(strings.ToLower(ent.Name), strings.ToLower(f.Name)):
		case f.Email != "" && !strings.Contains(strings.ToLower(ent.Email), strings.ToLower(f.Email)):
		case f.ModelName != "" && !strings.Contains(strings.ToLower(r.ModelName), strings.ToLower(f.ModelName)):
		default:
			out = append(out, Hit{Request: r, Entity: ent, Count: 1})
		}
	}
	key := func(h Hit) string {
		if f.SortField == "email" {
			return strings.ToLower(h.Entity.Email)
		}
		return strings.ToLower(h.Entity.Name)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if a != b {
			return (a < b) != f.Descending
		}
		return out[i].Request.CreatedAt.After(out[j].Request.CreatedAt)
	})
	if f.GroupByEntity {
		grouped := out[:0]
		at := map[string]int{}
		for _, h := range out {
			k := h.Entity.Type + "/" + strconv.FormatInt(h.Entity.ID, 10)
			if i, ok := at[k]; ok {
				grouped[i].Count++
				continue
			}
			at[k] = len(grouped)
			grouped = append(grouped, h)
		}
		out = grouped
	}
	total := len(out)
	lo := min(f.Offset, total)
	hi := total
	if f.Size > 0 {
		hi = min(lo+f.Size, total)
	}
	return out[lo:hi], total, nil
}

// Info returns the pending requests on one model of the caller, or of the
// given user or group (for someone who may approve them, or a governor).
func (s *Service) Info(ctx context.Context, p *auth.Principal, modelType string, modelID int64, profileID, groupID *int64) ([]*Request, error) {
	m, err := s.model(modelType)
	if err != nil {
		return nil, err
	}
	q := &s.db.Queries
	entity, id := "user", p.UserID
	switch {
	case groupID != nil:
		entity, id = "group", *groupID
	case profileID != nil:
		id = *profileID
	}
	list, err := m.Pending(ctx, q)
	if err != nil {
		return nil, err
	}
	owner, err := m.IsOwner(ctx, q, modelID, p.UserID)
	if err != nil {
		return nil, err
	}
	var out []*Request
	for _, r := range list {
		if r.ModelID != modelID || r.EntityType != entity || r.EntityID != id {
			continue
		}
		mine := entity == "user" && id == p.UserID
		if !mine && !p.Has(auth.Governance) && approvable(p, r, owner) < 0 {
			return nil, errs.Forbiddenf("only the requester, those who may approve a request and governors may see it")
		}
		slotsOf(r)
		out = append(out, r)
	}
	return out, nil
}

// entity names who made a request.
func (s *Service) entity(ctx context.Context, q *store.Queries, r *Request) (EntityRef, error) {
	if r.EntityType == "group" {
		g, err := q.GetGroup(ctx, r.EntityID)
		if errors.Is(err, store.ErrNotFound) {
			return EntityRef{Type: "group", ID: r.EntityID}, nil
		} else if err != nil {
			return EntityRef{}, err
		}
		ref := EntityRef{Type: "group", ID: g.ID, Name: g.Name}
		if g.Email != nil {
			ref.Email = *g.Email
		}
		return ref, nil
	}
	u, err := q.GetUser(ctx, r.EntityID)
	if errors.Is(err, store.ErrNotFound) {
		return EntityRef{Type: "profile", ID: r.EntityID}, nil
	} else if err != nil {
		return EntityRef{}, err
	}
	return EntityRef{Type: "profile", ID: u.ID, Name: u.Name, Email: u.Email}, nil
}

// Entity names who made a request, for callers listing requests.
func (s *Service) Entity(ctx context.Context, r *Request) (EntityRef, error) {
	return s.entity(ctx, &s.db.Queries, r)
}

func userName(ctx context.Context, q *store.Queries, id int64) (string, error) {
	u, err := q.GetUser(ctx, id)
	if err != nil {
		return "", err
	}
	if u.Name != "" {
		return u.Name, nil
	}
	return u.UserID, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
