// Package audit writes the audit trail: every change, every authentication
// and every denial becomes a record. Changes write their record in the same
// transaction as the change itself, so the trail and the state never disagree.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// Event describes what happened; Write fills in who, when and which request.
type Event struct {
	Type           string // record type, e.g. "userCreate", "authenticate"
	Action         string // optional finer verb
	Success        bool
	FailureReason  string
	TargetType     string // e.g. "user", "group", "tag", "datasource"
	TargetID       string
	DataSourceID   *int64
	DataSourceName string
	ProjectID      *int64
	ProjectName    string
	PolicyID       *int64
	PolicyName     string
	SQLUser        string
	// Actor overrides the request's principal, for events about a caller
	// who is not (yet) authenticated, such as a failed login.
	Actor   *auth.Principal
	Details map[string]any
}

// Request is what the HTTP layer knows about the request being served.
type Request struct {
	ID         string
	Method     string
	Path       string
	RemoteAddr string
	written    atomic.Int32
}

// Written reports how many records the request has written so far.
func (r *Request) Written() int { return int(r.written.Load()) }

type requestKey struct{}

// WithRequest returns a context carrying the request's metadata.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request metadata of ctx, or nil.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// Write appends a record for ev through q (pass a transaction's queries to
// make the record part of a change).
func Write(ctx context.Context, q *store.Queries, ev Event) error {
	rec := Build(ctx, ev)
	if err := q.InsertAudit(ctx, rec); err != nil {
		return err
	}
	if req := RequestFrom(ctx); req != nil {
		req.written.Add(1)
	}
	return nil
}

// Build turns an event into a record without writing it.
func Build(ctx context.Context, ev Event) *store.AuditRecord {
	rec := &store.AuditRecord{
		ID:             uuid.Must(uuid.NewV7()).String(),
		DateTime:       store.Now(),
		RecordType:     ev.Type,
		Action:         opt(ev.Action),
		Success:        ev.Success,
		FailureReason:  opt(ev.FailureReason),
		TargetType:     opt(ev.TargetType),
		TargetID:       opt(ev.TargetID),
		DataSourceID:   ev.DataSourceID,
		DataSourceName: opt(ev.DataSourceName),
		ProjectID:      ev.ProjectID,
		ProjectName:    opt(ev.ProjectName),
		PolicyID:       ev.PolicyID,
		PolicyName:     opt(ev.PolicyName),
		SQLUser:        opt(ev.SQLUser),
	}
	actor := ev.Actor
	if actor == nil {
		actor = auth.FromContext(ctx)
	}
	if actor != nil {
		if actor.UserID != 0 {
			rec.ProfileID = &actor.UserID
		}
		rec.UserID = opt(actor.Username)
		rec.IAMID = opt(actor.IAMID)
		if actor.Impersonator != nil {
			rec.ImpersonatorID = &actor.Impersonator.UserID
		}
	}
	if req := RequestFrom(ctx); req != nil {
		rec.RequestID = opt(req.ID)
		rec.Method = opt(req.Method)
		rec.Path = opt(req.Path)
		rec.RemoteAddr = opt(req.RemoteAddr)
	}
	if len(ev.Details) > 0 {
		if b, err := json.Marshal(ev.Details); err == nil {
			rec.Details = b
		}
	}
	return rec
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Search returns one page of audit records; it requires AUDIT.
func Search(ctx context.Context, q *store.Queries, p *auth.Principal, f store.AuditFilter) ([]*store.AuditRecord, int, error) {
	if err := p.Require(auth.Audit); err != nil {
		return nil, 0, err
	}
	return q.SearchAudit(ctx, f)
}

// Get returns one audit record; it requires AUDIT.
func Get(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (*store.AuditRecord, error) {
	if err := p.Require(auth.Audit); err != nil {
		return nil, err
	}
	r, err := q.GetAudit(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("audit record %q does not exist", id)
	}
	return r, err
}
