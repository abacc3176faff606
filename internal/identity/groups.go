package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// GroupView is a group with its attributes.
type GroupView struct {
	*store.Group
	Attributes store.Attributes
}

func groupViews(ctx context.Context, q *store.Queries, groups []*store.Group) ([]*GroupView, error) {
	ids := make([]int64, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	attrs, err := q.AttributesOf(ctx, store.ModelGroup, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]*GroupView, len(groups))
	for i, g := range groups {
		out[i] = &GroupView{Group: g, Attributes: attrs[g.ID]}
	}
	return out, nil
}

func getGroup(ctx context.Context, q *store.Queries, id int64) (*store.Group, error) {
	g, err := q.GetGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("group %d does not exist", id)
	}
	return g, err
}

// GroupInput is the payload of group creation and update.
type GroupInput struct {
	IAMID       string
	Name        *string
	Email       *string
	Description *string
}

func validateGroup(in GroupInput, creating bool) error {
	var problems errs.List
	if creating {
		if in.IAMID == "" {
			problems.Add("iamid", errs.CodeRequired, "iamid is required")
		} else if in.IAMID != BuiltinIAM {
			problems.Add("iamid", errs.CodeEnum, "groups can only be created in the built-in identity manager %q", BuiltinIAM)
		}
		if in.Name == nil {
			problems.Add("name", errs.CodeRequired, "name is required")
		}
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		problems.Add("name", errs.CodeRequired, "name must not be empty")
	}
	noNULIn(&problems, "name", in.Name)
	noNULIn(&problems, "email", in.Email)
	noNULIn(&problems, "description", in.Description)
	return problems.Err()
}

func optional(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// CreateGroup creates a group; names are unique within an IAM.
func (s *Service) CreateGroup(ctx context.Context, p *auth.Principal, in GroupInput) (*GroupView, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	if err := validateGroup(in, true); err != nil {
		return nil, err
	}
	now := store.Now()
	g := &store.Group{IAMID: in.IAMID, Name: strings.TrimSpace(*in.Name), Email: optional(in.Email),
		Description: optional(in.Description), CreatedAt: now, UpdatedAt: now}
	err := s.write(ctx, audit.Event{Type: "groupCreate", TargetType: "group"}, func(tx *store.Tx, ev *audit.Event) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("name", errs.CodeUnique, "a group named %q already exists in %q", g.Name, g.IAMID)
			}
			return err
		}
		ev.TargetID = idString(g.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &GroupView{Group: g}, nil
}

// UpdateGroup changes a group's name, e-mail or description.
func (s *Service) UpdateGroup(ctx context.Context, p *auth.Principal, id int64, in GroupInput) (*GroupView, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	if err := validateGroup(in, false); err != nil {
		return nil, err
	}
	var out *GroupView
	err := s.write(ctx, audit.Event{Type: "groupUpdate", TargetType: "group", TargetID: idString(id)}, func(tx *store.Tx, ev *audit.Event) error {
		g, err := getGroup(ctx, &tx.Queries, id)
		if err != nil {
			return err
		}
		renamed := false
		if in.Name != nil && strings.TrimSpace(*in.Name) != g.Name {
			g.Name = strings.TrimSpace(*in.Name)
			renamed = true
		}
		if in.Email != nil {
			g.Email = optional(in.Email)
		}
		if in.Description != nil {
			g.Description = optional(in.Description)
		}
		g.UpdatedAt = store.Now()
		if err := tx.UpdateGroup(ctx, g); err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Field("name", errs.CodeUnique, "a group named %q already exists in %q", g.Name, g.IAMID)
			}
			return err
		}
		if renamed {
			// Policies name groups, so a rename changes decisions.
			if err := tx.AppendChange(ctx, "groupRenamed", "group", idString(g.ID)); err != nil {
				return err
			}
		}
		vs, err := groupViews(ctx, &tx.Queries, []*store.Group{g})
		if err == nil {
			out = vs[0]
		}
		return err
	})
	return out, err
}

// DeleteGroup deletes a group with its memberships and attributes.
func (s *Service) DeleteGroup(ctx context.Context, p *auth.Principal, id int64) error {
	if err := p.Require(auth.UserAdmin); err != nil {
		return err
	}
	return s.write(ctx, audit.Event{Type: "groupDelete", TargetType: "group", TargetID: idString(id)}, func(tx *store.Tx, ev *audit.Event) error {
		g, err := getGroup(ctx, &tx.Queries, id)
		if err != nil {
			return err
		}
		ev.Details = map[string]any{"name": g.Name}
		if err := tx.DeleteGroup(ctx, id); err != nil {
			return err
		}
		return tx.AppendChange(ctx, "groupDeleted", "group", idString(id))
	})
}

// Group returns one group; any authenticated user may read groups.
func (s *Service) Group(ctx context.Context, p *auth.Principal, id int64) (*GroupView, error) {
	g, err := getGroup(ctx, &s.db.Queries, id)
	if err != nil {
		return nil, err
	}
	vs, err := groupViews(ctx, &s.db.Queries, []*store.Group{g})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// GroupIn returns a group of an identity manager by its id or its name.
func (s *Service) GroupIn(ctx context.Context, p *auth.Principal, iamid, ref string) (*GroupView, error) {
	g, err := resolveGroup(ctx, &s.db.Queries, iamid, ref)
	if err != nil {
		return nil, err
	}
	vs, err := groupViews(ctx, &s.db.Queries, []*store.Group{g})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// SearchGroups searches groups.
func (s *Service) SearchGroups(ctx context.Context, p *auth.Principal, f store.GroupFilter) ([]*GroupView, int, error) {
	groups, total, err := s.db.SearchGroups(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	vs, err := groupViews(ctx, &s.db.Queries, groups)
	return vs, total, err
}

// AddMember adds a user (by IAM and userid or id) to a group.
func (s *Service) AddMember(ctx context.Context, p *auth.Principal, groupID int64, iamid, userRef string) (*store.Membership, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	var problems errs.List
	problems.Require("userid", userRef)
	problems.Require("iamid", iamid)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	var m *store.Membership
	err := s.write(ctx, audit.Event{Type: "groupMemberAdd", TargetType: "group", TargetID: idString(groupID)}, func(tx *store.Tx, ev *audit.Event) error {
		if _, err := getGroup(ctx, &tx.Queries, groupID); err != nil {
			return err
		}
		u, err := resolveUser(ctx, &tx.Queries, iamid, userRef)
		if errs.Is(err, errs.NotFound) {
			return errs.Field("userid", errs.CodeNotFound, "user %q of identity manager %q does not exist", userRef, iamid)
		} else if err != nil {
			return err
		}
		now := store.Now()
		m = &store.Membership{GroupID: groupID, UserID: u.ID, CreatedAt: now, UpdatedAt: now}
		if err := tx.AddMember(ctx, m); err != nil {
			return err
		}
		ev.Details = map[string]any{"userId": u.ID}
		return tx.AppendChange(ctx, "userGroups", "user", idString(u.ID))
	})
	return m, err
}

// RemoveMember removes a membership (by its id) from a group.
func (s *Service) RemoveMember(ctx context.Context, p *auth.Principal, groupID, membershipID int64) error {
	if err := p.Require(auth.UserAdmin); err != nil {
		return err
	}
	return s.write(ctx, audit.Event{Type: "groupMemberRemove", TargetType: "group", TargetID: idString(groupID)}, func(tx *store.Tx, ev *audit.Event) error {
		m, err := tx.GetMembership(ctx, membershipID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.GroupID != groupID) {
			return errs.NotFoundf("group %d has no membership %d", groupID, membershipID)
		} else if err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, membershipID); err != nil {
			return err
		}
		ev.Details = map[string]any{"userId": m.UserID}
		return tx.AppendChange(ctx, "userGroups", "user", idString(m.UserID))
	})
}

// Members lists one page of a group's members.
func (s *Service) Members(ctx context.Context, p *auth.Principal, groupID int64, descending bool, offset, size int) ([]store.Member, int, error) {
	if _, err := getGroup(ctx, &s.db.Queries, groupID); err != nil {
		return nil, 0, err
	}
	return s.db.GroupMembers(ctx, groupID, descending, offset, size)
}
