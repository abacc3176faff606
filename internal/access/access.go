// Package access owns the subscription state model: who is owner, expert or
// subscriber of a data source (a user, or a group standing for its members),
// with a READ or WRITE grant and an optional expiration, and who is pending
// or denied. Rows are made by hand (the manual grant of POST
// /dataSource/{id}/access) or by the request workflow; subscriptions that
// automatic policies give are computed, not stored (see package governance).
package access

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/custosdata/custos/internal/policy"
	"github.com/custosdata/custos/internal/store"
)

// ChangeKind is the change-log kind every write of this package appends,
// with model type datasource and the data source's id.
const ChangeKind = "accessChanged"

// Model types of a subscriber.
const (
	ModelUser  = "user"
	ModelGroup = "group"
)

// Entry is one subscription row.
type Entry struct {
	store.Access
	// Override marks a grant made by hand: it stands whatever the data
	// source's subscription policy says. Other subscriptions hold only
	// while the subscriber still meets the policy.
	Override  bool
	Approvals json.RawMessage
	// Metadata is what the requester said with a request.
	Metadata json.RawMessage
}

// Grants reports whether the entry gives access at t: an owner, expert or
// subscriber whose expiration has not passed.
func (e *Entry) Grants(t time.Time) bool { return e.Access.Active(t) }

// GrantUnder is what the entry gives a user at t under a data source's
// current plan: WRITE, READ or nothing (ent nil: a disabled user holds
// nothing). Owners, experts and grants made by hand hold their grant
// whatever the policies say. A subscription obtained by policy lasts only
// while a subscription policy now in force grants it (Admits): a WRITE
// subscription the write policy no longer admits reads if the read policy
// admits it, and ends otherwise.
func (e *Entry) GrantUnder(plan *policy.Plan, ent *policy.Entitlements, t time.Time) string {
	if ent == nil || !e.Grants(t) {
		return ""
	}
	g := e.AccessGrant
	if e.State == store.AccessSubscribed && !e.Override {
		if g == store.GrantWrite && !e.Admits(plan.Write, ent) {
			g = store.GrantRead
		}
		if g == store.GrantRead && !e.Admits(plan.Read, ent) {
			return ""
		}
	}
	return g
}

// Admits reports whether the subscription rule a (of the grant the entry
// asks for) admits the entry, a subscription obtained by policy, for the
// user now: there must be a rule; a manual one admits only the grants its
// data source's owners make by hand; an approval one admits the
// subscriptions approvers approved, for users who still meet its
// conditions; anyone and entitlements rules admit the users who meet their
// conditions. So tightening a policy ends the subscriptions it no longer
// admits, and deleting it ends those no other policy admits.
func (e *Entry) Admits(a *policy.Access, ent *policy.Entitlements) bool {
	switch {
	case a == nil, a.Type == policy.SubManual:
		return false
	case a.Type == policy.SubApproval && !e.Approved():
		return false
	}
	return ent.Qualifies(a.Who)
}

// Approved reports whether the entry was settled by approvers: a request
// with approvals that was granted.
func (e *Entry) Approved() bool {
	if e.State == store.AccessPending || len(e.Approvals) == 0 {
		return false
	}
	var list []json.RawMessage
	return json.Unmarshal(e.Approvals, &list) == nil && len(list) > 0
}

const entryColumns = `id, data_source_id, model_type, model_id, state, access_grant, expiration, reason, approved_by,
	created_at, updated_at, override, approvals, metadata`

func scanEntry(row interface{ Scan(...any) error }) (*Entry, error) {
	var e Entry
	var approvals, meta store.JSON
	err := row.Scan(&e.ID, &e.DataSourceID, &e.ModelType, &e.ModelID, &e.State, &e.AccessGrant, &e.Expiration,
		&e.Reason, &e.ApprovedBy, &e.CreatedAt, &e.UpdatedAt, &e.Override, &approvals, &meta)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	e.Approvals, e.Metadata = json.RawMessage(approvals), json.RawMessage(meta)
	return &e, err
}

func scanEntries(rows *sql.Rows, err error) ([]*Entry, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Put inserts or replaces the row of a user or group on a data source and
// sets e.ID. The caller appends the change.
func Put(ctx context.Context, q *store.Queries, e *Entry) error {
	var approvals, meta any
	if len(e.Approvals) > 0 {
		approvals = string(e.Approvals)
	}
	if len(e.Metadata) > 0 && string(e.Metadata) != "null" {
		meta = string(e.Metadata)
	}
	return q.QueryRow(ctx, `INSERT INTO data_source_access (data_source_id, model_type, model_id, state, access_grant,
		expiration, reason, approved_by, created_at, updated_at, override, approvals, metadata)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (data_source_id, model_type, model_id) DO UPDATE SET state = EXCLUDED.state,
		access_grant = EXCLUDED.access_grant, expiration = EXCLUDED.expiration, reason = EXCLUDED.reason,
		approved_by = EXCLUDED.approved_by, updated_at = EXCLUDED.updated_at, override = EXCLUDED.override,
		approvals = EXCLUDED.approvals, metadata = EXCLUDED.metadata RETURNING id, created_at`,
		e.DataSourceID, e.ModelType, e.ModelID, e.State, e.AccessGrant, e.Expiration, e.Reason, e.ApprovedBy,
		e.CreatedAt, e.UpdatedAt, e.Override, approvals, meta).Scan(&e.ID, &e.CreatedAt)
}

// Get returns one row by its id (the subscription id).
func Get(ctx context.Context, q *store.Queries, id int64) (*Entry, error) {
	return scanEntry(q.QueryRow(ctx, `SELECT `+entryColumns+` FROM data_source_access WHERE id = $1`, id))
}

// InState returns every row in one of the states, ordered by id.
func InState(ctx context.Context, q *store.Queries, states ...string) ([]*Entry, error) {
	var a store.Args
	return scanEntries(q.Query(ctx, `SELECT `+entryColumns+` FROM data_source_access WHERE state IN `+
		store.List(&a, states)+` ORDER BY id`, a...))
}

// OfDataSources returns the rows of the given data sources (all rows when
// ids is nil), ordered by data source and id.
func OfDataSources(ctx context.Context, q *store.Queries, ids []int64) ([]*Entry, error) {
	var a store.Args
	where := ""
	if ids != nil {
		if len(ids) == 0 {
			return nil, nil
		}
		where = ` WHERE data_source_id IN ` + store.List(&a, ids)
	}
	return scanEntries(q.Query(ctx, `SELECT `+entryColumns+` FROM data_source_access`+where+
		` ORDER BY data_source_id, id`, a...))
}

// OfModels returns the rows of the given users or groups on every data source.
func OfModels(ctx context.Context, q *store.Queries, modelType string, ids []int64) ([]*Entry, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var a store.Args
	typ := a.Add(modelType)
	return scanEntries(q.Query(ctx, `SELECT `+entryColumns+` FROM data_source_access WHERE model_type = `+typ+
		` AND model_id IN `+store.List(&a, ids)+` ORDER BY data_source_id, id`, a...))
}

// ExpiringBetween lists the data sources with a row whose expiration falls
// in (after, until]: their grants end in that window.
func ExpiringBetween(ctx context.Context, q *store.Queries, after, until time.Time) ([]int64, error) {
	return store.Int64s(q.Query(ctx, `SELECT DISTINCT data_source_id FROM data_source_access WHERE expiration > $1
		AND expiration <= $2 ORDER BY data_source_id`, after, until))
}

// OwnedBy lists the data sources the given user or group is an owner of.
func OwnedBy(ctx context.Context, q *store.Queries, modelType string, id int64) ([]int64, error) {
	return store.Int64s(q.Query(ctx, `SELECT data_source_id FROM data_source_access WHERE model_type = $1 AND model_id = $2
		AND state = 'owner' ORDER BY data_source_id`, modelType, id))
}

// IsOwner reports whether the user owns the data source, directly or
// through a group, with an owner row that has not expired.
func IsOwner(ctx context.Context, q *store.Queries, dataSourceID, userID int64) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM data_source_access WHERE data_source_id = $1 AND state = 'owner'
		AND (expiration IS NULL OR expiration > $3) AND ((model_type = 'user' AND model_id = $2)
		OR (model_type = 'group' AND model_id IN (SELECT group_id FROM group_members WHERE user_id = $2)))`,
		dataSourceID, userID, store.Now()).Scan(&n)
	return n > 0, err
}

// AppendChange records that the subscriptions of a data source changed.
func AppendChange(ctx context.Context, q *store.Queries, dataSourceID int64) error {
	return q.AppendChange(ctx, ChangeKind, "datasource", strconv.FormatInt(dataSourceID, 10))
}
