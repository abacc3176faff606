// Package requests owns access requests: the approvals a request to join a
// data source or a project needs (from its subscription policy), who may
// give each one, and the workflow of the /subscription API: the pending
// requests an approver can act on, approving (access is granted once every
// approval is given) and denying with a reason. The rows themselves belong
// to their models (package access for data sources, package projects for
// projects), which implement Model; requesters and approvers hear of each
// step through the activity feed.
package requests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// Model types requests are made for.
const (
	ModelDataSource = "datasource"
	ModelProject    = "project"
)

// Owner is the approval that an owner of the requested model gives.
const Owner = "OWNER"

// States of a request and of its approvals.
const (
	Pending    = "pending"
	Approved   = "approved"
	Denied     = "denied"
	Subscribed = "subscribed"
)

// Approval is one approval a request needs and, once given, who gave it.
type Approval struct {
	RequiredPermission       string  `json:"requiredPermission"`
	SpecificApproverRequired bool    `json:"specificApproverRequired"`
	SpecificApprover         *int64  `json:"specificApprover,omitempty"`
	State                    string  `json:"state"`
	ApproverID               *int64  `json:"approverId"`
	Approver                 *string `json:"approver"`
	OwnerModelID             *int64  `json:"ownerModelId"`
	OwnerModelName           *string `json:"ownerModelName"`
}

// Request is a subscription row seen as a request: who asks for what, in
// which state, with which approvals.
type Request struct {
	ID          int64
	ModelType   string
	ModelID     int64
	ModelName   string
	EntityType  string // user or group
	EntityID    int64
	State       string
	AccessGrant string
	Approvals   []Approval
	Metadata    map[string]any
	Expiration  *time.Time
	Reason      *string
	ApprovedBy  *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Model is a kind of thing people request access to; the package owning its
// rows implements it.
type Model interface {
	// Type is ModelDataSource or ModelProject.
	Type() string
	// Request loads a subscription row by id as a request; store.ErrNotFound
	// when there is none. q is a transaction's: the row stays locked until
	// it ends, so that decisions on one request take turns.
	Request(ctx context.Context, q *store.Queries, id int64) (*Request, error)
	// Pending lists every pending request.
	Pending(ctx context.Context, q *store.Queries) ([]*Request, error)
	// IsOwner reports whether a user owns the model (OWNER approvals).
	IsOwner(ctx context.Context, q *store.Queries, modelID, userID int64) (bool, error)
	// Owners lists the users owning the model (directly or through a group).
	Owners(ctx context.Context, q *store.Queries, modelID int64) ([]int64, error)
	// Settle writes a request's new state (subscribed with its expiration,
	// or denied with its reason) and its approvals, with the change it
	// makes and its audit record.
	Settle(ctx context.Context, tx *store.Tx, r *Request) error
}

// Slots builds the approvals a new request needs from the approvals of a
// subscription policy and those the requester gave (which name a specific
// approver where the policy requires one). field names the requester's
// approvals in errors. Nothing is written.
func Slots(ctx context.Context, q *store.Queries, required []policy.Approval, given []Approval, field string) ([]Approval, error) {
	var l errs.List
	used := make([]bool, len(given))
	out := make([]Approval, 0, len(required))
	for i, r := range required {
		perm := strings.ToUpper(strings.TrimSpace(r.RequiredPermission))
		slot := Approval{RequiredPermission: perm, SpecificApproverRequired: r.SpecificApproverRequired, State: Pending}
		if r.SpecificApprover != "" {
			id, err := userRef(ctx, q, r.SpecificApprover)
			if err != nil {
				return nil, err
			}
			slot.SpecificApprover = id
		}
		for j, g := range given {
			if used[j] || !strings.EqualFold(strings.TrimSpace(g.RequiredPermission), perm) {
				continue
			}
			used[j] = true
			if g.SpecificApprover != nil && slot.SpecificApprover == nil {
				f := fmt.Sprintf("%s[%d].specificApprover", field, j)
				u, err := q.GetUser(ctx, *g.SpecificApprover)
				switch {
				case errors.Is(err, store.ErrNotFound):
					l.Add(f, errs.CodeNotFound, "%s: user %d does not exist", f, *g.SpecificApprover)
					continue
				case err != nil:
					return nil, err
				case u.Disabled:
					l.Add(f, errs.CodeInvalid, "%s: user %q is disabled", f, u.UserID)
					continue
				}
				if perm != Owner {
					perms, err := q.UserPermissions(ctx, u.ID)
					if err != nil {
						return nil, err
					}
					if !(&auth.Principal{UserID: u.ID, Permissions: perms[u.ID]}).Has(perm) {
						l.Add(f, errs.CodeInvalid, "%s: user %q does not hold %s, which this approval requires", f, u.UserID, perm)
						continue
					}
				}
				slot.SpecificApprover = &u.ID
			}
			break
		}
		if slot.SpecificApproverRequired && slot.SpecificApprover == nil {
			l.Add(field, errs.CodeRequired, "the %s approval (number %d of the subscription policy) needs a specific approver: "+
				"give approvals: [{requiredPermission: %s, specificApprover: <profile id>}]", perm, i+1, perm)
		}
		out = append(out, slot)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// userRef resolves a policy's specific approver: a profile id or a user id
// of the built-in identity manager.
func userRef(ctx context.Context, q *store.Queries, ref string) (*int64, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if _, err := q.GetUser(ctx, id); err == nil {
			return &id, nil
		}
	}
	u, err := q.GetUserByName(ctx, "bim", strings.ToLower(ref))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.Conflictf("the subscription policy names %q as its approver, who does not exist", ref)
	} else if err != nil {
		return nil, err
	}
	return &u.ID, nil
}

// slotsOf returns a request's approvals; a request without any needs an
// owner's.
func slotsOf(r *Request) []Approval {
	if len(r.Approvals) == 0 {
		r.Approvals = []Approval{{RequiredPermission: Owner, State: Pending}}
	}
	return r.Approvals
}

// qualifies reports whether p may give approval a of a request on a model
// they own (owner) or not.
func qualifies(p *auth.Principal, a Approval, owner bool) bool {
	if a.SpecificApprover != nil && *a.SpecificApprover != p.UserID {
		return false
	}
	if a.RequiredPermission == Owner {
		return owner
	}
	return p.Has(a.RequiredPermission)
}

// approvable returns the index of the first pending approval p may give on
// r, or -1. One person gives at most one approval of a request.
func approvable(p *auth.Principal, r *Request, owner bool) int {
	for _, a := range slotsOf(r) {
		if a.State == Approved && a.ApproverID != nil && *a.ApproverID == p.UserID {
			return -1
		}
	}
	for i, a := range r.Approvals {
		if a.State == Pending && qualifies(p, a, owner) {
			return i
		}
	}
	return -1
}

// missing describes the approvals still pending, for refusals.
func missing(r *Request) string {
	var parts []string
	for _, a := range slotsOf(r) {
		if a.State != Pending {
			continue
		}
		s := a.RequiredPermission
		if a.RequiredPermission == Owner {
			s = "an owner of the " + r.ModelType
		}
		if a.SpecificApprover != nil {
			s += fmt.Sprintf(" (user %d)", *a.SpecificApprover)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// Approvers lists who may give a pending approval of r (not the requester):
// the specific approvers, the owners for OWNER, and the holders of the
// other permissions.
func Approvers(ctx context.Context, q *store.Queries, m Model, r *Request) ([]int64, error) {
	set := map[int64]bool{}
	for _, a := range slotsOf(r) {
		if a.State != Pending {
			continue
		}
		var ids []int64
		var err error
		switch {
		case a.SpecificApprover != nil:
			ids = []int64{*a.SpecificApprover}
		case a.RequiredPermission == Owner:
			ids, err = m.Owners(ctx, q, r.ModelID)
		default:
			ids, err = activity.UsersWith(ctx, q, a.RequiredPermission)
		}
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			set[id] = true
		}
	}
	if r.EntityType == "user" {
		delete(set, r.EntityID)
	}
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return out, nil
}

// Announce tells the requester and the approvers of a new request about it.
// Call it in the transaction that created the request.
func Announce(ctx context.Context, q *store.Queries, m Model, r *Request, by int64) error {
	approvers, err := Approvers(ctx, q, m, r)
	if err != nil {
		return err
	}
	a := &activity.Activity{ModelType: r.ModelType, ModelID: strconv.FormatInt(r.ModelID, 10),
		NotificationType: activity.AccessRequested, ActionBy: &by,
		Metadata: map[string]any{"modelName": r.ModelName, "subscriptionId": r.ID, "approvals": slotsOf(r),
			"accessGrant": r.AccessGrant}}
	recipients := approvers
	if r.EntityType == "user" {
		id := r.EntityID
		a.TargetUser = &id
		recipients = append(recipients, id)
	} else {
		id := r.EntityID
		a.TargetGroup = &id
	}
	return activity.Notify(ctx, q, a, recipients)
}
