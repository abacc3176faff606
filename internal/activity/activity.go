// Package activity owns the activity feed: what happened to data sources,
// projects and access requests, delivered to the people it concerns (the
// requester of an access request, its approvers, a project's members). An
// activity is written once, in the transaction of the change it reports,
// with one receipt per recipient that remembers whether they read it.
package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// Notification types custos writes (the reference's names).
const (
	AccessRequested       = "modelAccessRequested"
	AccessApproved        = "modelAccessApproved"
	AccessDenied          = "modelAccessDenied"
	AccessUpdated         = "modelAccessUpdated"
	AccessRevoked         = "modelAccessRevoked"
	UserAdded             = "modelUserAdded"
	UserDeleted           = "modelUserDeleted"
	UserJoined            = "modelUserJoined"
	ModelCreated          = "modelCreated"
	ModelDeleted          = "modelDeleted"
	ProjectUpdated        = "projectUpdated"
	ProjectDisabled       = "projectDisabled"
	EqualizationToggled   = "projectEqualizationToggled"
	AddedToProject        = "addedToProject"
	RemovedFromProject    = "removedFromProject"
	SwitchedProject       = "switchedCurrentProject"
	AcknowledgedAccess    = "acknowledgedAccess"
	MemberNotInCompliance = "projectEqualizationMemberNotInCompliance"
)

// Person is who acted or was acted upon, as the feed shows them.
type Person struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Activity is one entry of the feed.
type Activity struct {
	ID               int64
	ModelType        string // datasource, project
	ModelID          string
	NotificationType string
	Metadata         map[string]any
	ActionBy         *int64
	TargetUser       *int64
	TargetGroup      *int64
	CreatedAt        time.Time
	// Read and UpdatedAt are the reader's receipt, when they have one.
	Read      bool
	UpdatedAt time.Time
	// Filled when listed.
	ActionByPerson    *Person
	TargetUserPerson  *Person
	TargetGroupPerson *Person
}

// Notify records a and delivers it to the recipients (user ids, each once;
// ids of users that no longer exist are skipped). Call it in the
// transaction of the change it reports.
func Notify(ctx context.Context, q *store.Queries, a *Activity, recipients []int64) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = store.Now()
	}
	meta, err := store.ToJSON(a.Metadata)
	if err != nil {
		return err
	}
	if err := q.QueryRow(ctx, `INSERT INTO activities (model_type, model_id, notification_type, metadata, action_by,
		target_user, target_group, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		a.ModelType, a.ModelID, a.NotificationType, meta, a.ActionBy, a.TargetUser, a.TargetGroup, a.CreatedAt).Scan(&a.ID); err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	seen := map[int64]bool{}
	for _, id := range recipients {
		if seen[id] || id == 0 {
			continue
		}
		seen[id] = true
		// Users deleted since (an owner's stale row) get nothing.
		if _, err := q.Exec(ctx, `INSERT INTO activity_receipts (activity_id, user_id, is_read, updated_at)
			SELECT $1, id, FALSE, $3 FROM users WHERE id = $2`, a.ID, id, a.CreatedAt); err != nil {
			return fmt.Errorf("deliver activity: %w", err)
		}
	}
	return nil
}

// Filter narrows a feed.
type Filter struct {
	ModelType        string
	ModelID          string
	NotificationType string
	SearchText       string // part of the notification type, any case
	// Permission keeps the activities whose actor holds it (ADMIN counts).
	Permission string
	// ExcludeMine leaves out what the reader did.
	ExcludeMine bool
	// NonRequest leaves out access requests.
	NonRequest bool
	// Unread keeps the activities the reader has not read.
	Unread     bool
	Descending bool
	// After, when not zero, starts after this id in the sort order (the
	// cursor of a previous page); otherwise Offset skips.
	After  int64
	Offset int
	Size   int
}

// Page is one page of a feed.
type Page struct {
	Activities []*Activity
	Count      int // every activity the filter keeps
	Unread     int // of those, how many the reader has not read
	Next       string
}

// Cursor is the value of a page's next field: the last id and its time.
func Cursor(a *Activity) string {
	return strconv.FormatInt(a.ID, 10) + "_" + a.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ParseCursor reads an offset given as a cursor ("<id>_<time>"); ok is false
// when s is not one.
func ParseCursor(s string) (int64, bool) {
	id, _, found := strings.Cut(s, "_")
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0
}

// Feed returns one page of a reader's feed: the activities delivered to them.
func Feed(ctx context.Context, q *store.Queries, p *auth.Principal, f Filter) (*Page, error) {
	if f.Permission != "" {
		if !auth.ValidPermission(f.Permission) {
			return nil, errs.BadRequestf("query parameter permission must be a permission such as GOVERNANCE, not %q", f.Permission)
		}
		if !p.Has(f.Permission) {
			return nil, errs.Forbiddenf("you can filter by the %s permission only when you hold it", f.Permission)
		}
	}
	var a store.Args
	conds := []string{"r.user_id = " + a.Add(p.UserID)}
	return page(ctx, q, p, f, a, conds, `activities x JOIN activity_receipts r ON r.activity_id = x.id`)
}

// OfModel returns one page of what happened to one model (a project), as
// seen by the reader: their receipts say what they read. f's paging and
// order apply; its other filters do not.
func OfModel(ctx context.Context, q *store.Queries, p *auth.Principal, modelType, modelID string, f Filter) (*Page, error) {
	var a store.Args
	reader := a.Add(p.UserID)
	conds := []string{"x.model_type = " + a.Add(modelType), "x.model_id = " + a.Add(modelID)}
	return page(ctx, q, p, Filter{Descending: f.Descending, After: f.After, Offset: f.Offset, Size: f.Size}, a, conds,
		`activities x LEFT JOIN activity_receipts r ON r.activity_id = x.id AND r.user_id = `+reader)
}

func page(ctx context.Context, q *store.Queries, p *auth.Principal, f Filter, a store.Args, conds []string, from string) (*Page, error) {
	if f.ModelType != "" {
		conds = append(conds, "x.model_type = "+a.Add(f.ModelType))
	}
	if f.ModelID != "" {
		conds = append(conds, "x.model_id = "+a.Add(f.ModelID))
	}
	if f.NotificationType != "" {
		conds = append(conds, "x.notification_type = "+a.Add(f.NotificationType))
	}
	if f.SearchText != "" {
		conds = append(conds, `LOWER(x.notification_type) LIKE `+a.Add(store.LikePattern(f.SearchText))+` ESCAPE '\'`)
	}
	if f.ExcludeMine {
		conds = append(conds, "(x.action_by IS NULL OR x.action_by <> "+a.Add(p.UserID)+")")
	}
	if f.NonRequest {
		conds = append(conds, "x.notification_type <> "+a.Add(AccessRequested))
	}
	if f.Permission != "" {
		conds = append(conds, "x.action_by IN (SELECT user_id FROM user_permissions WHERE permission IN ("+
			a.Add(f.Permission)+", "+a.Add(auth.Admin)+"))")
	}
	where := store.Where(conds)
	out := &Page{Activities: []*Activity{}}
	var unread *int
	if err := q.QueryRow(ctx, `SELECT COUNT(*), SUM(CASE WHEN r.is_read = FALSE THEN 1 ELSE 0 END) FROM `+from+where,
		a...).Scan(&out.Count, &unread); err != nil {
		return nil, err
	}
	if unread != nil {
		out.Unread = *unread
	}
	if f.Unread {
		where += " AND r.is_read = FALSE"
		out.Count = out.Unread
	}
	order := "x.id"
	if f.Descending {
		order += " DESC"
	}
	if f.After > 0 {
		op := ">"
		if f.Descending {
			op = "<"
		}
		where += " AND x.id " + op + " " + a.Add(f.After)
		f.Offset = 0
	}
	rows, err := q.Query(ctx, `SELECT x.id, x.model_type, x.model_id, x.notification_type, x.metadata, x.action_by,
		x.target_user, x.target_group, x.created_at, r.is_read, r.updated_at FROM `+
		from+where+` ORDER BY `+order+` LIMIT `+a.Add(f.Size)+` OFFSET `+a.Add(f.Offset), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var x Activity
		var meta store.JSON
		var read *bool
		var updated *time.Time // no receipt: an activity of a model the reader was not told of
		if err := rows.Scan(&x.ID, &x.ModelType, &x.ModelID, &x.NotificationType, &meta, &x.ActionBy, &x.TargetUser,
			&x.TargetGroup, &x.CreatedAt, &read, &updated); err != nil {
			return nil, err
		}
		x.Read, x.UpdatedAt = read != nil && *read, x.CreatedAt
		if updated != nil {
			x.UpdatedAt = *updated
		}
		x.Metadata = map[string]any{}
		if len(meta) > 0 {
			if err := json.Unmarshal(meta, &x.Metadata); err != nil {
				return nil, fmt.Errorf("activity %d: %w", x.ID, err)
			}
		}
		out.Activities = append(out.Activities, &x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n := len(out.Activities); n > 0 {
		out.Next = Cursor(out.Activities[n-1])
	}
	return out, people(ctx, q, out.Activities)
}

// people fills the names of the actors and targets.
func people(ctx context.Context, q *store.Queries, list []*Activity) error {
	var users, groups []int64
	for _, x := range list {
		for _, id := range []*int64{x.ActionBy, x.TargetUser} {
			if id != nil {
				users = append(users, *id)
			}
		}
		if x.TargetGroup != nil {
			groups = append(groups, *x.TargetGroup)
		}
	}
	us, err := q.UsersByID(ctx, users)
	if err != nil {
		return err
	}
	gs := map[int64]*store.Group{}
	if len(groups) > 0 {
		found, _, err := q.SearchGroups(ctx, store.GroupFilter{IDs: groups, Size: len(groups)})
		if err != nil {
			return err
		}
		for _, g := range found {
			gs[g.ID] = g
		}
	}
	person := func(id *int64) *Person {
		if id == nil {
			return nil
		}
		if u := us[*id]; u != nil {
			return &Person{ID: u.ID, Name: u.Name, Email: u.Email}
		}
		return &Person{ID: *id}
	}
	for _, x := range list {
		x.ActionByPerson, x.TargetUserPerson = person(x.ActionBy), person(x.TargetUser)
		if x.TargetGroup != nil {
			x.TargetGroupPerson = &Person{ID: *x.TargetGroup}
			if g := gs[*x.TargetGroup]; g != nil {
				x.TargetGroupPerson.Name = g.Name
				if g.Email != nil {
					x.TargetGroupPerson.Email = *g.Email
				}
			}
		}
	}
	return nil
}

// HasUnread reports whether the reader has an unread activity.
func HasUnread(ctx context.Context, q *store.Queries, userID int64) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM activity_receipts WHERE user_id = $1 AND is_read = FALSE`, userID).Scan(&n)
	return n > 0, err
}

// MarkRead marks the reader's given activities read (every one when ids is
// empty) and returns how many changed.
func MarkRead(ctx context.Context, q *store.Queries, userID int64, ids []int64) (int64, error) {
	now := store.Now()
	mark := func(chunk []int64) (int64, error) {
		var a store.Args
		where := "user_id = " + a.Add(userID) + " AND is_read = FALSE"
		if len(chunk) > 0 {
			where += " AND activity_id IN " + store.List(&a, chunk)
		}
		res, err := q.Exec(ctx, `UPDATE activity_receipts SET is_read = TRUE, updated_at = `+a.Add(now)+` WHERE `+where, a...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	if len(ids) == 0 {
		return mark(nil)
	}
	// In chunks: a statement takes a bounded number of parameters.
	var total int64
	for lo := 0; lo < len(ids); lo += 1000 {
		n, err := mark(ids[lo:min(lo+1000, len(ids))])
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// UsersWith lists the enabled users holding any of the permissions (ADMIN
// counts for every one), sorted: the approvers of a permission.
func UsersWith(ctx context.Context, q *store.Queries, perms ...string) ([]int64, error) {
	var a store.Args
	return store.Int64s(q.Query(ctx, `SELECT DISTINCT p.user_id FROM user_permissions p JOIN users u ON u.id = p.user_id
		WHERE u.disabled = FALSE AND p.permission IN `+store.List(&a, append(perms, auth.Admin))+` ORDER BY p.user_id`, a...))
}
