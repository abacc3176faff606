package projects

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/governance"
	"github.com/custosdata/custos/internal/store"
)

// Change kinds this package appends, all with model type user and the
// user's id: whenever what a user acts under may have changed, every server
// reloads them (and enforcement follows).
const (
	// KindCurrentProject: the user set or cleared their current project.
	KindCurrentProject = "currentProject"
	// KindMembership: the user's membership of the project they act under
	// changed (added, removed, state, expiration, expired).
	KindMembership = "projectMembership"
	// KindProjectPurposes: the purposes or equalization of the project they
	// act under changed, or the project was disabled, restored or deleted;
	// or a purpose of it was renamed, deleted or re-versioned (which can
	// invalidate acknowledgements).
	KindProjectPurposes = "projectPurposes"
	// KindAcknowledgement: the user acknowledged the project's purposes.
	KindAcknowledgement = "acknowledgement"
)

// Acting is the governance service's acting source: what each user acts
// under. A user acts under their current project when it is enabled and
// they are an active member (directly or through a group): its live
// purposes once they have acknowledged every statement at its required
// version, and, when it is equalized, its equalized entitlements as a limit.
func (s *Service) Acting(ctx context.Context, q *store.Queries, userIDs []int64) (map[int64]governance.Acting, error) {
	out := map[int64]governance.Acting{}
	current := map[int64]int64{}
	for lo := 0; lo < len(userIDs); lo += 1000 {
		var a store.Args
		chunk := userIDs[lo:min(lo+1000, len(userIDs))]
		rows, err := q.Query(ctx, `SELECT id, current_project_id FROM users WHERE current_project_id IS NOT NULL
			AND id IN `+store.List(&a, chunk), a...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var uid, pid int64
			if err := rows.Scan(&uid, &pid); err != nil {
				rows.Close()
				return nil, err
			}
			current[uid] = pid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(current) == 0 {
		return out, nil
	}
	pidSet := map[int64]bool{}
	for _, pid := range current {
		pidSet[pid] = true
	}
	pids := make([]int64, 0, len(pidSet))
	for pid := range pidSet {
		pids = append(pids, pid)
	}
	projects, err := projectsByID(ctx, q, pids)
	if err != nil {
		return nil, err
	}
	purposes, err := purposesOf(ctx, q, pids)
	if err != nil {
		return nil, err
	}
	member, acks, err := standing(ctx, q, current, pids)
	if err != nil {
		return nil, err
	}
	for uid, pid := range current {
		p := projects[pid]
		if p == nil || p.Deleted || !member[uid] {
			continue
		}
		a := governance.Acting{ProjectID: &p.ID, Limit: limitOf(p)}
		if acknowledged(purposes[pid], acks[uid]) {
			a.Purposes = liveNames(purposes[pid])
		}
		out[uid] = a
	}
	return out, nil
}

// standing reads, for users and the current project of each, whether they
// are an active member of it (directly or through a group) and what they
// acknowledged of its purposes: indexed lookups, a few per thousand users.
func standing(ctx context.Context, q *store.Queries, current map[int64]int64, pids []int64) (member map[int64]bool, acks map[int64]map[int64]int64, err error) {
	member, acks = map[int64]bool{}, map[int64]map[int64]int64{}
	now := store.Now()
	// The groups that are members of the projects, by project.
	var a store.Args
	groupRows, err := scanMembers(q.Query(ctx, `SELECT `+memberColumns+` FROM project_members WHERE model_type = 'group'
		AND project_id IN `+store.List(&a, pids), a...))
	if err != nil {
		return nil, nil, err
	}
	groupsIn := map[int64]map[int64]bool{}
	for _, m := range groupRows {
		if m.active(now) {
			if groupsIn[m.ProjectID] == nil {
				groupsIn[m.ProjectID] = map[int64]bool{}
			}
			groupsIn[m.ProjectID][m.ModelID] = true
		}
	}
	uids := make([]int64, 0, len(current))
	for uid := range current {
		uids = append(uids, uid)
	}
	for lo := 0; lo < len(uids); lo += 1000 {
		chunk := uids[lo:min(lo+1000, len(uids))]
		a = nil
		rows, err := scanMembers(q.Query(ctx, `SELECT `+memberColumns+` FROM project_members WHERE model_type = 'user'
			AND model_id IN `+store.List(&a, chunk), a...))
		if err != nil {
			return nil, nil, err
		}
		for _, m := range rows {
			if current[m.ModelID] == m.ProjectID && m.active(now) {
				member[m.ModelID] = true
			}
		}
		if len(groupsIn) > 0 {
			a = nil
			gm, err := q.Query(ctx, `SELECT user_id, group_id FROM group_members WHERE user_id IN `+store.List(&a, chunk), a...)
			if err != nil {
				return nil, nil, err
			}
			for gm.Next() {
				var uid, gid int64
				if err := gm.Scan(&uid, &gid); err != nil {
					gm.Close()
					return nil, nil, err
				}
				if groupsIn[current[uid]][gid] {
					member[uid] = true
				}
			}
			gm.Close()
			if err := gm.Err(); err != nil {
				return nil, nil, err
			}
		}
		a = nil
		ack, err := q.Query(ctx, `SELECT project_id, user_id, purpose_id, version FROM project_acknowledgements
			WHERE user_id IN `+store.List(&a, chunk), a...)
		if err != nil {
			return nil, nil, err
		}
		for ack.Next() {
			var pid, uid, purpose, version int64
			if err := ack.Scan(&pid, &uid, &purpose, &version); err != nil {
				ack.Close()
				return nil, nil, err
			}
			if current[uid] != pid {
				continue
			}
			if acks[uid] == nil {
				acks[uid] = map[int64]int64{}
			}
			acks[uid][purpose] = version
		}
		ack.Close()
		if err := ack.Err(); err != nil {
			return nil, nil, err
		}
	}
	return member, acks, nil
}

// ProjectActing is the governance service's project source: what a user
// would act under in a project (its live purposes and equalized limit), for
// decisions asked about that project.
func (s *Service) ProjectActing(ctx context.Context, q *store.Queries, projectID int64) (governance.Acting, error) {
	p, err := getProject(ctx, q, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return governance.Acting{}, errs.NotFoundf("project %d does not exist", projectID)
	} else if err != nil {
		return governance.Acting{}, err
	}
	if p.Deleted {
		return governance.Acting{}, errs.Conflictf("project %q is disabled: nobody acts under it", p.Name)
	}
	purposes, err := purposesOf(ctx, q, []int64{projectID})
	if err != nil {
		return governance.Acting{}, err
	}
	return governance.Acting{ProjectID: &p.ID, Purposes: liveNames(purposes[projectID]), Limit: limitOf(p)}, nil
}

// limitOf is the limit an equalized project puts on its members.
func limitOf(p *Project) *governance.Limit {
	if !p.Equalized {
		return nil
	}
	l := &governance.Limit{}
	if e := p.Equalization; e != nil {
		l.Groups, l.Attributes = e.Groups, e.Attributes
	}
	return l
}

func liveNames(purposes []*Purpose) []string {
	var out []string
	for _, p := range purposes {
		if p.live() {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// actingUsers lists the users whose current project is one of projectIDs.
func actingUsers(ctx context.Context, q *store.Queries, projectIDs ...int64) ([]int64, error) {
	if len(projectIDs) == 0 {
		return nil, nil
	}
	var a store.Args
	return store.Int64s(q.Query(ctx, `SELECT id FROM users WHERE current_project_id IN `+store.List(&a, projectIDs)+` ORDER BY id`, a...))
}

// touchProjects appends a change of kind for every user acting under one
// of the projects.
func touchProjects(ctx context.Context, q *store.Queries, kind string, projectIDs ...int64) error {
	users, err := actingUsers(ctx, q, projectIDs...)
	if err != nil {
		return err
	}
	return touchUsers(ctx, q, kind, users...)
}

// touchMember appends a change of kind for the users a membership row
// names (the user, or the group's members) who act under its project.
func touchMember(ctx context.Context, q *store.Queries, kind string, m *Member) error {
	var users []int64
	var err error
	if m.ModelType == modelUser {
		users, err = store.Int64s(q.Query(ctx, `SELECT id FROM users WHERE id = $1 AND current_project_id = $2`, m.ModelID, m.ProjectID))
	} else {
		users, err = store.Int64s(q.Query(ctx, `SELECT u.id FROM users u JOIN group_members gm ON gm.user_id = u.id
			WHERE gm.group_id = $1 AND u.current_project_id = $2 ORDER BY u.id`, m.ModelID, m.ProjectID))
	}
	if err != nil {
		return err
	}
	return touchUsers(ctx, q, kind, users...)
}

func touchUsers(ctx context.Context, q *store.Queries, kind string, ids ...int64) error {
	for _, id := range ids {
		if err := q.AppendChange(ctx, kind, "user", idString(id)); err != nil {
			return err
		}
	}
	return nil
}

// PurposesWritten is the governance service's purpose hook: when purposes
// are saved, renamed or deleted, the users acting under projects with one
// of them are reloaded (names, deletions and required acknowledgement
// versions may have changed).
func (s *Service) PurposesWritten(ctx context.Context, tx *store.Tx, purposeIDs []int64) error {
	if len(purposeIDs) == 0 {
		return nil
	}
	var a store.Args
	pids, err := store.Int64s(tx.Query(ctx, `SELECT DISTINCT project_id FROM project_purposes WHERE purpose_id IN `+
		store.List(&a, purposeIDs)+` ORDER BY project_id`, a...))
	if err != nil {
		return err
	}
	return touchProjects(ctx, &tx.Queries, KindProjectPurposes, pids...)
}

// Run ends memberships whose expiration has passed, at most a second
// late: the users they named stop acting under the project (their servers
// are told through the change log) and hear of it. Each expiration is
// handled once whichever server sees it first.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.ExpiryInterval)
	defer t.Stop()
	for {
		if err := s.Expire(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("end expired project memberships", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Expire handles the memberships that expired since the last call.
func (s *Service) Expire(ctx context.Context) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		expired, err := scanMembers(q.Query(ctx, `UPDATE project_members SET expiry_announced = TRUE
			WHERE expiration <= $1 AND expiry_announced = FALSE RETURNING `+memberColumns, store.Now()))
		if err != nil {
			return err
		}
		for _, m := range expired {
			if err := touchMember(ctx, q, KindMembership, m); err != nil {
				return err
			}
			p, err := getProject(ctx, q, m.ProjectID)
			if err != nil {
				return err
			}
			a := &activity.Activity{ModelType: "project", ModelID: idString(p.ID), NotificationType: activity.AccessRevoked,
				Metadata: map[string]any{"projectName": p.Name, "subscriptionId": m.ID, "reason": "expired"}}
			to, err := s.recipients(ctx, q, m)
			if err != nil {
				return err
			}
			if m.ModelType == modelUser {
				a.TargetUser = &m.ModelID
			} else {
				a.TargetGroup = &m.ModelID
			}
			if err := activity.Notify(ctx, q, a, to); err != nil {
				return err
			}
		}
		if len(expired) > 0 {
			s.log.Debug("project memberships expired", slog.Int("count", len(expired)))
		}
		return nil
	})
}
