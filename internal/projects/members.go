package projects

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
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

// MemberInput is the body of POST /project/{id}/members.
type MemberInput struct {
	ProfileID  *int64
	GroupID    *int64
	State      string // owner, expert, subscribed (default); not_subscribed and pending are asked, not set
	Expiration *time.Time
	Approvals  []requests.Approval
	Metadata   json.RawMessage
}

// AddMember adds a member to a project. Managers add anyone (a user or a
// group) in any state; users join themselves as the project's subscription
// policy allows: at once (anyone, or entitlements they meet), or as a
// pending request with the approvals the policy names. Either way a member
// acts under the project's purposes only after acknowledging them.
func (s *Service) AddMember(ctx context.Context, p *auth.Principal, projectID int64, in MemberInput) (*Member, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	state := strings.TrimSpace(in.State)
	switch state {
	case "":
		state = stateSubscribed
	case stateOwner, stateExpert, stateSubscribed:
	case statePending, stateNotSubscribed:
		return nil, errs.Field("state", errs.CodeEnum, "state %s is what a request is in, not something to ask for: use subscribed", state)
	default:
		return nil, errs.Field("state", errs.CodeEnum, "state must be owner, expert or subscribed, not %q", in.State)
	}
	switch {
	case in.ProfileID == nil && in.GroupID == nil:
		return nil, errs.Field("profileId", errs.CodeRequired, "profileId is required (or groupId to add a group)")
	case in.ProfileID != nil && in.GroupID != nil:
		return nil, errs.Field("groupId", errs.CodeInvalid, "give profileId or groupId, not both")
	}
	now := store.Now()
	if in.Expiration != nil && !in.Expiration.After(now) {
		return nil, errs.Field("expiration", errs.CodeInvalid, "expiration %s is not in the future", in.Expiration.UTC().Format(time.RFC3339))
	}
	var out *Member
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := loadEnabled(ctx, q, projectID)
		if err != nil {
			return err
		}
		manager, err := s.manages(ctx, q, p, pr)
		if err != nil {
			return err
		}
		m := &Member{ProjectID: pr.ID, State: state, Expiration: in.Expiration, Metadata: in.Metadata, CreatedAt: now, UpdatedAt: now}
		if in.ProfileID != nil {
			u, err := q.GetUser(ctx, *in.ProfileID)
			if errors.Is(err, store.ErrNotFound) {
				return errs.Field("profileId", errs.CodeNotFound, "user %d does not exist", *in.ProfileID)
			} else if err != nil {
				return err
			}
			m.ModelType, m.ModelID = modelUser, u.ID
		} else {
			g, err := q.GetGroup(ctx, *in.GroupID)
			if errors.Is(err, store.ErrNotFound) {
				return errs.Field("groupId", errs.CodeNotFound, "group %d does not exist", *in.GroupID)
			} else if err != nil {
				return err
			}
			m.ModelType, m.ModelID = modelGroup, g.ID
		}
		cur, err := memberRow(ctx, q, pr.ID, m.ModelType, m.ModelID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		self := m.ModelType == modelUser && m.ModelID == p.UserID
		switch {
		case manager && !self:
			uid := p.UserID
			m.ApprovedBy = &uid
		case self:
			if cur != nil && (cur.active(now) || cur.State == statePending) {
				out = cur // already a member, or already asked
				id := pr.ID
				return audit.Write(ctx, q, audit.Event{Type: "projectMember", Action: "unchanged", Success: true,
					TargetType: modelUser, TargetID: idString(cur.ModelID), ProjectID: &id, ProjectName: pr.Name,
					Details: map[string]any{"subscriptionId": cur.ID, "state": cur.State}})
			}
			if manager {
				m.ApprovedBy = &p.UserID
				break
			}
			if state != stateSubscribed {
				return errs.Forbiddenf("only the owners of project %q and its managers make owners and experts", pr.Name)
			}
			if err := s.join(ctx, q, p, pr, m, in.Approvals); err != nil {
				return err
			}
		default:
			return errs.Forbiddenf("only the owners of project %q and its managers add other members; to join, add yourself", pr.Name)
		}
		if cur != nil {
			if cur.State == stateOwner && m.State != stateOwner {
				if err := lastOwner(ctx, q, pr, cur); err != nil {
					return err
				}
			}
			m.ID, m.CreatedAt = cur.ID, cur.CreatedAt
		}
		if err := putMember(ctx, q, m); err != nil {
			return err
		}
		out = m
		return s.announceMember(ctx, q, p, pr, m, cur)
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// join decides a user's own request to join: subscribed at once, or
// pending with the approvals the policy names.
func (s *Service) join(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project, m *Member, given []requests.Approval) error {
	if pr.Status == "closed" {
		return errs.Conflictf("project %q is closed: it takes no new members", pr.Name)
	}
	var ent *policy.Entitlements
	if s.eng != nil {
		if u, ok := s.eng.OwnEntitlements([]int64{p.UserID})[p.UserID]; ok {
			ent = policy.NewEntitlements(u)
		}
	}
	switch pr.Policy.decide(ent) {
	case policy.StatusAutomatic, policy.StatusAllowed:
		m.State = stateSubscribed
	case policy.StatusApproval:
		slots, err := requests.Slots(ctx, q, pr.Policy.Approvals, given, "approvals")
		if err != nil {
			return err
		}
		b, err := json.Marshal(slots)
		if err != nil {
			return err
		}
		m.State, m.Approvals = statePending, b
	case policy.StatusDenied:
		return errs.Forbiddenf("you do not meet the entitlements project %q requires of its members", pr.Name)
	default:
		return errs.Forbiddenf("project %q takes no requests: its owners add the members they choose", pr.Name)
	}
	return nil
}

// announceMember writes the audit record, the change and the activities of
// a membership row that was added or changed (cur is the row before).
func (s *Service) announceMember(ctx context.Context, q *store.Queries, p *auth.Principal, pr *Project, m, cur *Member) error {
	id := pr.ID
	from := ""
	if cur != nil {
		from = cur.State
	}
	if err := audit.Write(ctx, q, audit.Event{Type: "projectMember", Success: true, TargetType: m.ModelType,
		TargetID: idString(m.ModelID), ProjectID: &id, ProjectName: pr.Name,
		Details: map[string]any{"subscriptionId": m.ID, "state": m.State, "from": from, "expiration": m.Expiration}}); err != nil {
		return err
	}
	if err := touchMember(ctx, q, KindMembership, m); err != nil {
		return err
	}
	if m.State == statePending {
		r, err := s.requestOf(ctx, q, m, pr.Name)
		if err != nil {
			return err
		}
		return requests.Announce(ctx, q, s.Requests(), r, p.UserID)
	}
	kind := activity.UserAdded
	switch {
	case m.ModelType == modelUser && m.ModelID == p.UserID:
		kind = activity.UserJoined
	case cur != nil:
		kind = activity.AccessUpdated
	}
	to, err := s.recipients(ctx, q, m)
	if err != nil {
		return err
	}
	uid := p.UserID
	a := &activity.Activity{ModelType: "project", ModelID: idString(id), NotificationType: kind, ActionBy: &uid,
		Metadata: map[string]any{"projectName": pr.Name, "state": m.State, "subscriptionId": m.ID}}
	if m.ModelType == modelUser {
		a.TargetUser = &m.ModelID
	} else {
		a.TargetGroup = &m.ModelID
	}
	return activity.Notify(ctx, q, a, to)
}

// UpdateMember changes a member's state (or, with not_subscribed, removes
// them) and expiration. Managers decide; nobody changes their own state.
func (s *Service) UpdateMember(ctx context.Context, p *auth.Principal, projectID, subscriptionID int64, state string, expiration *time.Time) (*Member, error) {
	state = strings.TrimSpace(state)
	switch state {
	case stateOwner, stateExpert, stateSubscribed, stateDenied, stateNotSubscribed:
	case "":
		return nil, errs.Field("state", errs.CodeRequired, "state is required")
	default:
		return nil, errs.Field("state", errs.CodeEnum, "state must be owner, expert, subscribed, denied or not_subscribed, not %q", state)
	}
	if expiration != nil && !expiration.After(store.Now()) {
		return nil, errs.Field("expiration", errs.CodeInvalid, "expiration %s is not in the future", expiration.UTC().Format(time.RFC3339))
	}
	var out *Member
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := loadEnabled(ctx, q, projectID)
		if err != nil {
			return err
		}
		m, err := getMember(ctx, q, subscriptionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.ProjectID != pr.ID) {
			return errs.NotFoundf("subscription %d of project %q does not exist", subscriptionID, pr.Name)
		} else if err != nil {
			return err
		}
		if m.ModelType == modelUser && m.ModelID == p.UserID {
			return errs.Forbiddenf("members cannot update their own status; ask an owner of project %q", pr.Name)
		}
		if err := s.requireManager(ctx, q, p, pr); err != nil {
			return err
		}
		if m.State == stateOwner && state != stateOwner {
			if err := lastOwner(ctx, q, pr, m); err != nil {
				return err
			}
		}
		before := *m
		now := store.Now()
		if state == stateNotSubscribed {
			if err := s.drop(ctx, q, pr, m); err != nil {
				return err
			}
			m.State = stateNotSubscribed
			out = m
		} else {
			uid := p.UserID
			m.State, m.UpdatedAt, m.ApprovedBy = state, now, &uid
			if state == stateDenied {
				m.Expiration = nil
			}
			if expiration != nil {
				exp := expiration.UTC().Truncate(time.Millisecond)
				m.Expiration = &exp
			}
			if err := putMember(ctx, q, m); err != nil {
				return err
			}
			out = m
		}
		return s.announceMember(ctx, q, p, pr, m, &before)
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// lastOwner refuses to take away the project's last owner.
func lastOwner(ctx context.Context, q *store.Queries, pr *Project, m *Member) error {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM project_members WHERE project_id = $1 AND state = 'owner' AND id <> $2`,
		pr.ID, m.ID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errs.Conflictf("subscription %d is the last owner of project %q; make someone else owner first", m.ID, pr.Name)
	}
	return nil
}

// drop removes a membership row; its user (or the group's members, unless
// still members otherwise) stop acting under the project and lose their
// acknowledgements.
func (s *Service) drop(ctx context.Context, q *store.Queries, pr *Project, m *Member) error {
	if err := touchMember(ctx, q, KindMembership, m); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `DELETE FROM project_members WHERE id = $1`, m.ID); err != nil {
		return err
	}
	if m.ModelType == modelUser {
		if _, err := q.Exec(ctx, `DELETE FROM project_acknowledgements WHERE project_id = $1 AND user_id = $2`, pr.ID, m.ModelID); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE users SET current_project_id = NULL WHERE id = $1 AND current_project_id = $2`,
			m.ModelID, pr.ID); err != nil {
			return err
		}
	}
	return nil
}

// Unsubscribe ends the caller's own membership (or request) of a project.
// The last owner cannot leave.
func (s *Service) Unsubscribe(ctx context.Context, p *auth.Principal, projectID int64) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := load(ctx, q, projectID)
		if err != nil {
			return err
		}
		m, err := memberRow(ctx, q, pr.ID, modelUser, p.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("you are not a member of project %q", pr.Name)
		} else if err != nil {
			return err
		}
		if m.State == stateOwner {
			if err := lastOwner(ctx, q, pr, m); err != nil {
				return err
			}
		}
		if err := s.drop(ctx, q, pr, m); err != nil {
			return err
		}
		id := pr.ID
		if err := audit.Write(ctx, q, audit.Event{Type: "projectUnsubscribe", Success: true, TargetType: modelUser,
			TargetID: idString(p.UserID), ProjectID: &id, ProjectName: pr.Name,
			Details: map[string]any{"subscriptionId": m.ID, "state": m.State}}); err != nil {
			return err
		}
		to, err := s.recipients(ctx, q, m)
		if err != nil {
			return err
		}
		uid := p.UserID
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.UserDeleted, ActionBy: &uid, TargetUser: &uid,
			Metadata: map[string]any{"projectName": pr.Name, "action": "unsubscribed"}}, to)
	})
	if err == nil {
		s.synced(ctx)
	}
	return err
}

// Acknowledgement is what acknowledging answers.
type Acknowledgement struct {
	AcknowledgeRequired bool
	Purposes            []AcknowledgedPurpose
}

// AcknowledgedPurpose is a purpose acknowledged, with its statement.
type AcknowledgedPurpose struct {
	ID              int64
	Name            string
	Acknowledgement string
}

// Acknowledge records that the caller agrees to the statements of every
// purpose of a project, at their current versions. subscriptionID is the
// caller's membership (their own row, or a group's they belong to).
func (s *Service) Acknowledge(ctx context.Context, p *auth.Principal, projectID, subscriptionID int64) (*Acknowledgement, error) {
	out := &Acknowledgement{Purposes: []AcknowledgedPurpose{}}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		pr, err := loadEnabled(ctx, q, projectID)
		if err != nil {
			return err
		}
		m, err := getMember(ctx, q, subscriptionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.ProjectID != pr.ID) {
			return errs.NotFoundf("subscription %d of project %q does not exist", subscriptionID, pr.Name)
		} else if err != nil {
			return err
		}
		mine := m.ModelType == modelUser && m.ModelID == p.UserID
		if m.ModelType == modelGroup {
			var n int
			if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2`,
				m.ModelID, p.UserID).Scan(&n); err != nil {
				return err
			}
			mine = n > 0
		}
		if !mine {
			return errs.Forbiddenf("subscription %d is not yours: members acknowledge for themselves", subscriptionID)
		}
		if !m.active(store.Now()) {
			return errs.Conflictf("subscription %d is %s: only members acknowledge a project's purposes", subscriptionID, m.State)
		}
		purposes, err := purposesOf(ctx, q, []int64{pr.ID})
		if err != nil {
			return err
		}
		now := store.Now()
		var names []string
		for _, pu := range purposes[pr.ID] {
			if !pu.live() {
				continue
			}
			if _, err := q.Exec(ctx, `DELETE FROM project_acknowledgements WHERE project_id = $1 AND user_id = $2 AND purpose_id = $3`,
				pr.ID, p.UserID, pu.ID); err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `INSERT INTO project_acknowledgements (project_id, user_id, purpose_id, version, acknowledged_at)
				VALUES ($1, $2, $3, $4, $5)`, pr.ID, p.UserID, pu.ID, pu.Version, now); err != nil {
				return err
			}
			statement := ""
			if s.eng != nil {
				full, err := s.eng.PurposeByID(ctx, pu.ID, false)
				if err != nil {
					return err
				}
				statement = full.EffectiveAcknowledgement
			}
			out.Purposes = append(out.Purposes, AcknowledgedPurpose{ID: pu.ID, Name: pu.Name, Acknowledgement: statement})
			names = append(names, pu.Name)
		}
		if err := touchUsers(ctx, q, KindAcknowledgement, actingSelf(ctx, q, p.UserID, pr.ID)...); err != nil {
			return err
		}
		id := pr.ID
		if err := audit.Write(ctx, q, audit.Event{Type: "projectAcknowledge", Success: true, TargetType: modelUser,
			TargetID: idString(p.UserID), ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"purposes": names}}); err != nil {
			return err
		}
		own, err := owners(ctx, q, pr.ID)
		if err != nil {
			return err
		}
		uid := p.UserID
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.AcknowledgedAccess, ActionBy: &uid, TargetUser: &uid,
			Metadata: map[string]any{"projectName": pr.Name, "purposes": names}}, append(own, uid))
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return out, nil
}

// actingSelf returns the user when they act under the project, else nothing.
func actingSelf(ctx context.Context, q *store.Queries, userID, projectID int64) []int64 {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = $1 AND current_project_id = $2`, userID, projectID).Scan(&n); err != nil || n == 0 {
		return nil
	}
	return []int64{userID}
}

// SetCurrent makes a project the one the caller acts under (nil: none). The
// caller must be an active member who has acknowledged its purposes; a
// user an automatic policy admits becomes a member on the way.
func (s *Service) SetCurrent(ctx context.Context, p *auth.Principal, projectID *int64) error {
	if err := s.fresh(ctx); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		u, err := q.GetUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		uid := p.UserID
		if projectID == nil {
			if u.CurrentProjectID == nil {
				return audit.Write(ctx, q, audit.Event{Type: "projectSwitch", Success: true, TargetType: modelUser, TargetID: idString(uid)})
			}
			if _, err := q.Exec(ctx, `UPDATE users SET current_project_id = NULL WHERE id = $1`, uid); err != nil {
				return err
			}
			if err := touchUsers(ctx, q, KindCurrentProject, uid); err != nil {
				return err
			}
			if err := audit.Write(ctx, q, audit.Event{Type: "projectSwitch", Success: true, TargetType: modelUser, TargetID: idString(uid),
				Details: map[string]any{"from": *u.CurrentProjectID, "to": nil}}); err != nil {
				return err
			}
			return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(*u.CurrentProjectID),
				NotificationType: activity.SwitchedProject, ActionBy: &uid, TargetUser: &uid,
				Metadata: map[string]any{"projectId": nil}}, []int64{uid})
		}
		pr, err := loadEnabled(ctx, q, *projectID)
		if err != nil {
			return err
		}
		rows, err := membershipsOf(ctx, q, uid, []int64{pr.ID})
		if err != nil {
			return err
		}
		now := store.Now()
		var row, own *Member
		for _, m := range rows {
			if m.active(now) && (row == nil || m.ModelType == modelUser) {
				row = m
			}
			if m.ModelType == modelUser {
				own = m
			}
		}
		if row == nil && own != nil && own.State == stateDenied {
			return errs.Forbiddenf("an owner of project %q denied your membership", pr.Name)
		}
		if row == nil {
			ent := (*policy.Entitlements)(nil)
			if s.eng != nil {
				if own, ok := s.eng.OwnEntitlements([]int64{uid})[uid]; ok {
					ent = policy.NewEntitlements(own)
				}
			}
			if !pr.Policy.automatic() || pr.Policy.decide(ent) != policy.StatusAutomatic {
				return errs.Forbiddenf("you are not a member of project %q: join it (POST /project/%d/members) before acting under it", pr.Name, pr.ID)
			}
		}
		purposes, err := purposesOf(ctx, q, []int64{pr.ID})
		if err != nil {
			return err
		}
		acks, err := acknowledgements(ctx, q, pr.ID, uid)
		if err != nil {
			return err
		}
		if !acknowledged(purposes[pr.ID], acks) {
			if row == nil {
				return errs.Conflictf("project %q has purposes to acknowledge: join it (POST /project/%d/members) and acknowledge them first",
					pr.Name, pr.ID)
			}
			return errs.Conflictf("you have not acknowledged the purposes of project %q: POST /project/%d/members/%d/acknowledge first",
				pr.Name, pr.ID, row.ID)
		}
		if row == nil {
			// The policy admits the user: a row of their own (that expired,
			// or a request still pending) becomes their membership.
			m := &Member{ProjectID: pr.ID, ModelType: modelUser, ModelID: uid, State: stateSubscribed, CreatedAt: now, UpdatedAt: now}
			if own != nil {
				m.ID, m.CreatedAt = own.ID, own.CreatedAt
			}
			if err := putMember(ctx, q, m); err != nil {
				return err
			}
			if err := s.announceMember(ctx, q, p, pr, m, own); err != nil {
				return err
			}
		}
		if _, err := q.Exec(ctx, `UPDATE users SET current_project_id = $2 WHERE id = $1`, uid, pr.ID); err != nil {
			return err
		}
		if err := touchUsers(ctx, q, KindCurrentProject, uid); err != nil {
			return err
		}
		id := pr.ID
		if err := audit.Write(ctx, q, audit.Event{Type: "projectSwitch", Success: true, TargetType: modelUser, TargetID: idString(uid),
			ProjectID: &id, ProjectName: pr.Name, Details: map[string]any{"from": u.CurrentProjectID, "to": id}}); err != nil {
			return err
		}
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.SwitchedProject, ActionBy: &uid, TargetUser: &uid,
			Metadata: map[string]any{"projectName": pr.Name, "projectId": id}}, []int64{uid})
	})
	if err == nil {
		s.synced(ctx)
	}
	return err
}

// MemberFilter narrows a member list.
type MemberFilter struct {
	States           []string // owner, expert, subscribed, pending, denied
	MemberTypes      []string // user, group, policy
	SearchText       string
	Approved         *bool
	ExpandGroups     bool
	CheckDataSources bool
	SortField        string // name (default), email, state, expiration, type
	Descending       bool
	Offset, Size     int
}

// MemberLine is one line of a member list.
type MemberLine struct {
	Member *Member // nil for a member an automatic policy admits
	Type   string  // user or group
	ID     int64   // the user's or group's id
	Name   string
	IAMID  string
	UserID string
	Email  string
	// Via names the group of a member listed through expandGroups.
	Via                 *string
	State               string
	Approved            bool
	SystemGenerated     bool
	Policy              bool
	AcknowledgeRequired bool
	CanApprove          bool
	// MissingDataSources (checkDataSources) are the project's data sources
	// the member cannot query.
	MissingDataSources []int64
}

// Members lists a project's members and requests, for its members and
// managers.
func (s *Service) Members(ctx context.Context, p *auth.Principal, projectID int64, f MemberFilter) ([]MemberLine, int, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, 0, err
	}
	q := &s.db.Queries
	pr, err := load(ctx, q, projectID)
	if err != nil {
		return nil, 0, err
	}
	if err := s.requireMemberOrManager(ctx, q, p, pr); err != nil {
		return nil, 0, err
	}
	rows, err := membersOf(ctx, q, pr.ID)
	if err != nil {
		return nil, 0, err
	}
	purposes, err := purposesOf(ctx, q, []int64{pr.ID})
	if err != nil {
		return nil, 0, err
	}
	var userIDs []int64
	groupNames := map[int64]*store.Group{}
	expanded := map[int64][]int64{}
	for _, m := range rows {
		if m.ModelType == modelUser {
			userIDs = append(userIDs, m.ModelID)
			continue
		}
		g, err := q.GetGroup(ctx, m.ModelID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, 0, err
		}
		groupNames[g.ID] = g
		if f.ExpandGroups {
			ids, err := store.Int64s(q.Query(ctx, `SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, g.ID))
			if err != nil {
				return nil, 0, err
			}
			expanded[g.ID] = ids
			userIDs = append(userIDs, ids...)
		}
	}
	if pr.Policy.automatic() && s.eng != nil {
		all, err := store.Int64s(q.Query(ctx, `SELECT id FROM users WHERE disabled = FALSE ORDER BY id`))
		if err != nil {
			return nil, 0, err
		}
		userIDs = append(userIDs, all...)
	}
	users, err := q.UsersByID(ctx, userIDs)
	if err != nil {
		return nil, 0, err
	}
	manager, err := s.manages(ctx, q, p, pr)
	if err != nil {
		return nil, 0, err
	}
	owner, err := isOwner(ctx, q, pr.ID, p.UserID)
	if err != nil {
		return nil, 0, err
	}
	now := store.Now()
	var lines []MemberLine
	seen := map[int64]bool{}
	line := func(m *Member, u *store.User) (MemberLine, error) {
		l := MemberLine{Member: m, Type: modelUser, ID: u.ID, Name: u.Name, IAMID: u.IAMID, UserID: u.UserID, Email: u.Email,
			SystemGenerated: u.SystemGenerated, State: stateSubscribed, Approved: true}
		if m != nil {
			l.State, l.Approved = m.State, m.active(now)
			if m.State == statePending {
				r, err := s.requestOf(ctx, q, m, pr.Name)
				if err != nil {
					return l, err
				}
				l.CanApprove = !(m.ModelType == modelUser && m.ModelID == p.UserID) && approvableBy(p, r, owner)
			}
		}
		if l.Approved {
			acks, err := acknowledgements(ctx, q, pr.ID, u.ID)
			if err != nil {
				return l, err
			}
			l.AcknowledgeRequired = !acknowledged(purposes[pr.ID], acks)
		}
		return l, nil
	}
	for _, m := range rows {
		if m.ModelType == modelUser {
			u := users[m.ModelID]
			if u == nil {
				continue
			}
			l, err := line(m, u)
			if err != nil {
				return nil, 0, err
			}
			seen[u.ID] = true
			lines = append(lines, l)
		}
	}
	for _, m := range rows {
		g := groupNames[m.ModelID]
		if m.ModelType != modelGroup || g == nil {
			continue
		}
		if !f.ExpandGroups {
			l := MemberLine{Member: m, Type: modelGroup, ID: g.ID, Name: g.Name, IAMID: g.IAMID, State: m.State, Approved: m.active(now)}
			if g.Email != nil {
				l.Email = *g.Email
			}
			lines = append(lines, l)
			continue
		}
		for _, uid := range expanded[g.ID] {
			u := users[uid]
			if u == nil || seen[uid] {
				continue
			}
			seen[uid] = true
			l, err := line(m, u)
			if err != nil {
				return nil, 0, err
			}
			name := g.Name
			l.Via = &name
			lines = append(lines, l)
		}
	}
	if pr.Policy.automatic() && s.eng != nil {
		var rest []int64
		for id, u := range users {
			if !seen[id] && !u.Disabled && groupMemberOnly(expanded, id) {
				rest = append(rest, id)
			}
		}
		own := s.eng.OwnEntitlements(rest)
		sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
		for _, id := range rest {
			u, ok := own[id]
			if !ok || pr.Policy.decide(policy.NewEntitlements(u)) != policy.StatusAutomatic {
				continue
			}
			l, err := line(nil, users[id])
			if err != nil {
				return nil, 0, err
			}
			l.Policy = true
			lines = append(lines, l)
		}
	}
	if f.CheckDataSources && manager {
		if err := s.checkDataSources(ctx, q, pr, lines); err != nil {
			return nil, 0, err
		}
	}
	lines = filterMembers(lines, f)
	total := len(lines)
	lo := min(f.Offset, total)
	hi := total
	if f.Size > 0 {
		hi = min(lo+f.Size, total)
	}
	return lines[lo:hi], total, nil
}

// groupMemberOnly reports whether a user came in only as the member of an
// expanded group (and so is listed already) — false when not in any.
func groupMemberOnly(expanded map[int64][]int64, id int64) bool {
	for _, ids := range expanded {
		for _, x := range ids {
			if x == id {
				return false
			}
		}
	}
	return true
}

// approvableBy reports whether p may give an approval of r.
func approvableBy(p *auth.Principal, r *requests.Request, owner bool) bool {
	for _, a := range r.Approvals {
		if a.State != requests.Pending {
			continue
		}
		switch {
		case a.SpecificApprover != nil && *a.SpecificApprover != p.UserID:
		case a.RequiredPermission == requests.Owner:
			if owner {
				return true
			}
		case p.Has(a.RequiredPermission):
			return true
		}
	}
	return len(r.Approvals) == 0 && owner
}

// checkDataSources fills what each listed user cannot query of the
// project's data sources.
func (s *Service) checkDataSources(ctx context.Context, q *store.Queries, pr *Project, lines []MemberLine) error {
	sources, err := dataSourcesOf(ctx, q, []int64{pr.ID})
	if err != nil {
		return err
	}
	for i := range lines {
		l := &lines[i]
		if l.Type != modelUser || s.eng == nil {
			continue
		}
		grants, err := s.eng.GrantsOf(ctx, l.ID)
		if err != nil {
			return err
		}
		l.MissingDataSources = []int64{}
		for _, d := range sources[pr.ID] {
			if grants[d.DataSourceID] == "" {
				l.MissingDataSources = append(l.MissingDataSources, d.DataSourceID)
			}
		}
	}
	return nil
}

func filterMembers(lines []MemberLine, f MemberFilter) []MemberLine {
	states := map[string]bool{}
	for _, s := range f.States {
		states[s] = true
	}
	types := map[string]bool{}
	for _, t := range f.MemberTypes {
		types[t] = true
	}
	needle := strings.ToLower(f.SearchText)
	var out []MemberLine
	for _, l := range lines {
		typ := l.Type
		if l.Policy {
			typ = "policy"
		}
		switch {
		case len(states) > 0 && !states[l.State]:
		case len(types) > 0 && !types[typ]:
		case f.Approved != nil && l.Approved != *f.Approved:
		case needle != "" && !strings.Contains(strings.ToLower(l.Name), needle) && !strings.Contains(strings.ToLower(l.UserID), needle) &&
			!strings.Contains(strings.ToLower(l.Email), needle):
		default:
			out = append(out, l)
		}
	}
	key := func(l MemberLine) string {
		switch f.SortField {
		case "email":
			return strings.ToLower(l.Email)
		case "state":
			return l.State
		case "type":
			return l.Type
		case "expiration":
			if l.Member == nil || l.Member.Expiration == nil {
				return "~"
			}
			return l.Member.Expiration.UTC().Format(time.RFC3339Nano)
		}
		return strings.ToLower(l.Name)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if a == b {
			return false
		}
		return (a < b) != f.Descending
	})
	return out
}
