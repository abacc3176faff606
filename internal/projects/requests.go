package projects

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/requests"
	"github.com/custosdata/custos/internal/store"
)

// Requests is the project side of the request workflow.
func (s *Service) Requests() requests.Model { return projectRequests{s} }

type projectRequests struct{ s *Service }

func (projectRequests) Type() string { return requests.ModelProject }

func (r projectRequests) Request(ctx context.Context, q *store.Queries, id int64) (*requests.Request, error) {
	// A no-op update takes the row's lock (and waits for a decision in
	// flight), so that what is read next is the latest committed state.
	if _, err := q.Exec(ctx, `UPDATE project_members SET updated_at = updated_at WHERE id = $1`, id); err != nil {
		return nil, err
	}
	m, err := getMember(ctx, q, id)
	if err != nil {
		return nil, err
	}
	pr, err := getProject(ctx, q, m.ProjectID)
	if err != nil {
		return nil, err
	}
	return r.s.requestOf(ctx, q, m, pr.Name)
}

func (r projectRequests) Pending(ctx context.Context, q *store.Queries) ([]*requests.Request, error) {
	rows, err := scanMembers(q.Query(ctx, `SELECT `+memberColumns+` FROM project_members WHERE state = 'pending' ORDER BY id`))
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(rows))
	for _, m := range rows {
		ids = append(ids, m.ProjectID)
	}
	projects, err := projectsByID(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	var out []*requests.Request
	for _, m := range rows {
		pr := projects[m.ProjectID]
		if pr == nil || pr.Deleted {
			continue
		}
		req, err := r.s.requestOf(ctx, q, m, pr.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

func (projectRequests) IsOwner(ctx context.Context, q *store.Queries, modelID, userID int64) (bool, error) {
	return isOwner(ctx, q, modelID, userID)
}

func (projectRequests) Owners(ctx context.Context, q *store.Queries, modelID int64) ([]int64, error) {
	return owners(ctx, q, modelID)
}

// Settle writes the outcome of a request to join a project.
func (projectRequests) Settle(ctx context.Context, tx *store.Tx, r *requests.Request) error {
	q := &tx.Queries
	m, err := getMember(ctx, q, r.ID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r.Approvals)
	if err != nil {
		return err
	}
	m.State, m.Approvals, m.Expiration, m.Reason, m.ApprovedBy, m.UpdatedAt = r.State, b, r.Expiration, r.Reason, r.ApprovedBy, r.UpdatedAt
	if err := putMember(ctx, q, m); err != nil {
		return err
	}
	if err := touchMember(ctx, q, KindMembership, m); err != nil {
		return err
	}
	id := m.ProjectID
	return audit.Write(ctx, q, audit.Event{Type: "accessRequest", Action: r.State, Success: true, TargetType: m.ModelType,
		TargetID: idString(m.ModelID), ProjectID: &id, ProjectName: r.ModelName,
		Details: map[string]any{"subscriptionId": m.ID, "approvals": r.Approvals, "reason": r.Reason}})
}

// requestOf turns a membership row into a request.
func (s *Service) requestOf(ctx context.Context, q *store.Queries, m *Member, name string) (*requests.Request, error) {
	r := &requests.Request{ID: m.ID, ModelType: requests.ModelProject, ModelID: m.ProjectID, ModelName: name,
		EntityType: m.ModelType, EntityID: m.ModelID, State: m.State, Expiration: m.Expiration, Reason: m.Reason,
		ApprovedBy: m.ApprovedBy, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Metadata: map[string]any{}}
	if len(m.Approvals) > 0 && string(m.Approvals) != "null" {
		if err := json.Unmarshal(m.Approvals, &r.Approvals); err != nil {
			return nil, fmt.Errorf("subscription %d: approvals: %w", m.ID, err)
		}
	}
	if len(m.Metadata) > 0 && string(m.Metadata) != "null" {
		_ = json.Unmarshal(m.Metadata, &r.Metadata)
	}
	return r, nil
}
