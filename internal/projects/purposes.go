package projects

import (
	"context"
	"slices"
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// A project's purposes are live or staged. Members act under the live ones
// only; a staged purpose waits for a governor (a holder of GOVERNANCE) to
// approve it and gives nobody anything meanwhile. Purposes a manager who
// does not govern adds to a project are staged: otherwise anyone who may
// create a project could grant themself every exception policies make for
// a purpose.

// purposeStates maps a project's purposes to whether each is staged.
type purposeStates map[int64]bool

// purposeStatesOf reads the purposes of a project and whether each is
// staged.
func purposeStatesOf(ctx context.Context, q *store.Queries, projectID int64) (purposeStates, error) {
	rows, err := q.Query(ctx, `SELECT purpose_id, staged FROM project_purposes WHERE project_id = $1`, projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := purposeStates{}
	for rows.Next() {
		var id int64
		var staged bool
		if err := rows.Scan(&id, &staged); err != nil {
			return nil, err
		}
		out[id] = staged
	}
	return out, rows.Err()
}

// purposeChange is what a change does to a project's purposes, each list
// sorted.
type purposeChange struct {
	Added     []int64 // added live
	Requested []int64 // added staged
	Demoted   []int64 // live made staged
	Approved  []int64 // staged made live
	Denied    []int64 // staged removed
	Removed   []int64 // live removed
}

// any reports whether anything changed.
func (c *purposeChange) any() bool {
	return len(c.Added)+len(c.Requested)+len(c.Demoted)+len(c.Approved)+len(c.Denied)+len(c.Removed) > 0
}

// liveChanged reports whether the purposes members act under changed.
func (c *purposeChange) liveChanged() bool {
	return len(c.Added)+len(c.Demoted)+len(c.Approved)+len(c.Removed) > 0
}

// stagedChanged reports whether the purposes waiting for approval changed.
func (c *purposeChange) stagedChanged() bool {
	return len(c.Requested)+len(c.Demoted)+len(c.Approved)+len(c.Denied) > 0
}

// counts are the activity metadata of the change (the reference's names).
func (c *purposeChange) counts() map[string]any {
	return map[string]any{
		"newPurposesAddedCount": len(c.Added),
		"requestedPurposeCount": len(c.Requested) + len(c.Demoted),
		"approvedPurposeCount":  len(c.Approved),
		"deniedPurposesCount":   len(c.Denied),
	}
}

// details are the audit details of the change: purpose ids by outcome.
func (c *purposeChange) details() map[string]any {
	out := map[string]any{}
	for k, v := range map[string][]int64{"purposesAdded": c.Added, "purposesRequested": c.Requested,
		"purposesStaged": c.Demoted, "purposesApproved": c.Approved, "purposesDenied": c.Denied,
		"purposesRemoved": c.Removed} {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// planPurposes computes what a project's purposes become when a caller
// states live (the purposes field) and staged (stagedPurposes) over cur;
// a nil list was not given and leaves its side as it is. A given list is
// the whole of its side: a live purpose left out of both lists is removed,
// and so is a staged purpose left out of both when stagedPurposes is given
// (it is denied). A governor's lists are taken as they are: listing a
// staged purpose in live approves it, listing a live one in staged stages
// it again. For anyone else both lists only request: what is live stays
// live, everything else is staged, so they can take purposes away but
// never make one live.
func planPurposes(cur purposeStates, live, staged []int64, governs bool) (purposeStates, *purposeChange) {
	want := purposeStates{}
	for id, st := range cur {
		want[id] = st
	}
	listed := map[int64]bool{}
	for _, id := range live {
		listed[id] = true
	}
	for _, id := range staged {
		listed[id] = true
	}
	for id, st := range cur {
		if listed[id] {
			continue
		}
		if (!st && live != nil) || (st && staged != nil) {
			delete(want, id)
		}
	}
	put := func(id int64, stage bool) {
		if !governs {
			wasStaged, had := cur[id]
			stage = !had || wasStaged
		}
		want[id] = stage
	}
	for _, id := range live {
		put(id, false)
	}
	for _, id := range staged {
		put(id, true)
	}
	return want, diffPurposes(cur, want)
}

// diffPurposes says what going from cur to want changes.
func diffPurposes(cur, want purposeStates) *purposeChange {
	c := &purposeChange{}
	for id, st := range cur {
		w, keep := want[id]
		switch {
		case !keep && st:
			c.Denied = append(c.Denied, id)
		case !keep:
			c.Removed = append(c.Removed, id)
		case st && !w:
			c.Approved = append(c.Approved, id)
		case !st && w:
			c.Demoted = append(c.Demoted, id)
		}
	}
	for id, st := range want {
		if _, had := cur[id]; had {
			continue
		}
		if st {
			c.Requested = append(c.Requested, id)
		} else {
			c.Added = append(c.Added, id)
		}
	}
	for _, l := range [][]int64{c.Added, c.Requested, c.Demoted, c.Approved, c.Denied, c.Removed} {
		slices.Sort(l)
	}
	return c
}

// writePurposes applies a change to a project's purposes. Members
// acknowledge anew a purpose that was removed or staged again before it
// becomes live (again).
func writePurposes(ctx context.Context, q *store.Queries, projectID int64, c *purposeChange, by *int64, now time.Time) error {
	forget := func(id int64) error {
		_, err := q.Exec(ctx, `DELETE FROM project_acknowledgements WHERE project_id = $1 AND purpose_id = $2`, projectID, id)
		return err
	}
	for _, id := range append(slices.Clone(c.Denied), c.Removed...) {
		if _, err := q.Exec(ctx, `DELETE FROM project_purposes WHERE project_id = $1 AND purpose_id = $2`, projectID, id); err != nil {
			return err
		}
		if err := forget(id); err != nil {
			return err
		}
	}
	for _, id := range c.Demoted {
		if _, err := q.Exec(ctx, `UPDATE project_purposes SET staged = TRUE WHERE project_id = $1 AND purpose_id = $2`,
			projectID, id); err != nil {
			return err
		}
		if err := forget(id); err != nil {
			return err
		}
	}
	for _, id := range c.Approved {
		if _, err := q.Exec(ctx, `UPDATE project_purposes SET staged = FALSE WHERE project_id = $1 AND purpose_id = $2`,
			projectID, id); err != nil {
			return err
		}
	}
	insert := func(id int64, staged bool) error {
		_, err := q.Exec(ctx, `INSERT INTO project_purposes (project_id, purpose_id, staged, added_by, created_at)
			VALUES ($1, $2, $3, $4, $5)`, projectID, id, staged, by, now)
		return err
	}
	for _, id := range c.Added {
		if err := insert(id, false); err != nil {
			return err
		}
	}
	for _, id := range c.Requested {
		if err := insert(id, true); err != nil {
			return err
		}
	}
	return nil
}

// purposeRecipients lists who hears of a change to a project's purposes:
// its members, and the governors when a purpose waits for their approval.
func purposeRecipients(ctx context.Context, q *store.Queries, projectID int64, c *purposeChange) ([]int64, error) {
	to, err := everyone(ctx, q, projectID)
	if err != nil {
		return nil, err
	}
	if len(c.Requested)+len(c.Demoted) > 0 {
		governors, err := activity.UsersWith(ctx, q, auth.Governance)
		if err != nil {
			return nil, err
		}
		to = append(to, governors...)
	}
	return to, nil
}

// DecidePurpose approves (approve) or denies a purpose staged in a project
// (POST /project/{id}/purpose/{purposeId}/approve and /deny). Only
// governors decide. An approved purpose is live: members act under it once
// they have acknowledged it. A denied one is removed from the project.
func (s *Service) DecidePurpose(ctx context.Context, p *auth.Principal, projectID, purposeID int64, approve bool) (*View, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	verb := "deny"
	if approve {
		verb = "approve"
	}
	if !p.Has(auth.Governance) {
		return nil, errs.Forbiddenf("only governors (GOVERNANCE) %s the purposes of a project", verb)
	}
	var pr *Project
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		var err error
		if pr, err = load(ctx, q, projectID); err != nil {
			return err
		}
		if pr.Deleted {
			return errs.Conflictf("project %q is disabled; restore it (PUT /project/%d with deleted: false) first", pr.Name, pr.ID)
		}
		cur, err := purposeStatesOf(ctx, q, pr.ID)
		if err != nil {
			return err
		}
		staged, ok := cur[purposeID]
		if !ok {
			return errs.NotFoundf("purpose %d is not a purpose of project %q", purposeID, pr.Name)
		}
		if !staged {
			return errs.Conflictf("purpose %d of project %q is live already: only staged purposes are approved or denied",
				purposeID, pr.Name)
		}
		if approve {
			var deleted bool
			if err := q.QueryRow(ctx, `SELECT deleted FROM purposes WHERE id = $1`, purposeID).Scan(&deleted); err != nil {
				return err
			}
			if deleted {
				return errs.Conflictf("purpose %d was deleted: it cannot be approved; deny it", purposeID)
			}
		}
		var requester *int64
		if err := q.QueryRow(ctx, `SELECT added_by FROM project_purposes WHERE project_id = $1 AND purpose_id = $2`,
			pr.ID, purposeID).Scan(&requester); err != nil {
			return err
		}
		want := purposeStates{}
		for id, st := range cur {
			want[id] = st
		}
		if approve {
			want[purposeID] = false
		} else {
			delete(want, purposeID)
		}
		c := diffPurposes(cur, want)
		now := store.Now()
		if err := writePurposes(ctx, q, pr.ID, c, &p.UserID, now); err != nil {
			return err
		}
		pr.UpdatedBy, pr.UpdatedAt = &p.UserID, now
		if err := saveProject(ctx, q, pr); err != nil {
			return err
		}
		fields := []string{"stagedPurposes"}
		if c.liveChanged() {
			fields = []string{"purposes", "stagedPurposes"}
			if err := touchProjects(ctx, q, KindProjectPurposes, pr.ID); err != nil {
				return err
			}
		}
		id := pr.ID
		details := c.details()
		details["fields"] = fields
		if err := audit.Write(ctx, q, audit.Event{Type: "projectPurposeDecision", Action: verb, Success: true,
			TargetType: "project", TargetID: idString(id), ProjectID: &id, ProjectName: pr.Name, Details: details}); err != nil {
			return err
		}
		to, err := purposeRecipients(ctx, q, id, c)
		if err != nil {
			return err
		}
		if requester != nil {
			to = append(to, *requester) // who asked for it hears the answer
		}
		meta := c.counts()
		meta["projectName"], meta["fields"], meta["purposeId"] = pr.Name, fields, purposeID
		uid := p.UserID
		return activity.Notify(ctx, q, &activity.Activity{ModelType: "project", ModelID: idString(id),
			NotificationType: activity.ProjectUpdated, ActionBy: &uid, Metadata: meta}, to)
	})
	if err != nil {
		return nil, err
	}
	s.synced(ctx)
	return s.view(ctx, &s.db.Queries, p, pr)
}
