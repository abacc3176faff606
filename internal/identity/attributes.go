package identity

import (
	"context"
	"strconv"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// AttributeTarget is the user or group whose attributes changed, as one of
// the two views.
type AttributeTarget struct {
	User  *UserView
	Group *GroupView
}

// ChangeAttribute adds (value given, add true) or removes (add false; an empty
// value removes every value of the attribute) an attribute of a user or
// group. modelRef is a userid or id for users, an id or name for groups.
func (s *Service) ChangeAttribute(ctx context.Context, p *auth.Principal, iamid, modelType, modelRef, name, value string, add bool) (*AttributeTarget, error) {
	if err := p.Require(auth.UserAdmin); err != nil {
		return nil, err
	}
	if modelType != store.ModelUser && modelType != store.ModelGroup {
		return nil, errs.BadRequestf("modelType must be %q or %q, not %q", store.ModelUser, store.ModelGroup, modelType)
	}
	var problems errs.List
	problems.Require("attributeName", name)
	if add {
		problems.Require("attributeValue", value)
	}
	if len(name) > 255 {
		problems.Add("attributeName", errs.CodeInvalid, "attribute names are at most 255 characters")
	}
	if len(value) > 1024 {
		problems.Add("attributeValue", errs.CodeInvalid, "attribute values are at most 1024 characters")
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	action := "add"
	if !add {
		action = "remove"
	}
	out := &AttributeTarget{}
	err := s.write(ctx, audit.Event{Type: "attributeUpdate", Action: action, TargetType: modelType,
		Details: map[string]any{"attribute": name, "value": value}}, func(tx *store.Tx, ev *audit.Event) error {
		var id int64
		if modelType == store.ModelUser {
			u, err := resolveUser(ctx, &tx.Queries, iamid, modelRef)
			if err != nil {
				return err
			}
			id = u.ID
		} else {
			g, err := resolveGroup(ctx, &tx.Queries, iamid, modelRef)
			if err != nil {
				return err
			}
			id = g.ID
		}
		ev.TargetID = idString(id)
		if add {
			if err := tx.AddAttribute(ctx, modelType, id, name, value); err != nil {
				return err
			}
		} else {
			removed, err := tx.RemoveAttribute(ctx, modelType, id, name, value)
			if err != nil {
				return err
			}
			if !removed {
				if value == "" {
					return errs.NotFoundf("the %s has no attribute %q", modelType, name)
				}
				return errs.NotFoundf("the %s has no value %q for attribute %q", modelType, value, name)
			}
		}
		if err := tx.AppendChange(ctx, "attributes", modelType, idString(id)); err != nil {
			return err
		}
		if modelType == store.ModelUser {
			u, err := tx.GetUser(ctx, id)
			if err != nil {
				return err
			}
			out.User, err = view(ctx, &tx.Queries, u)
			return err
		}
		g, err := tx.GetGroup(ctx, id)
		if err != nil {
			return err
		}
		vs, err := groupViews(ctx, &tx.Queries, []*store.Group{g})
		if err == nil {
			out.Group = vs[0]
		}
		return err
	})
	return out, err
}

// resolveGroup finds a group of an IAM by id or, failing that, by name.
func resolveGroup(ctx context.Context, q *store.Queries, iamid, ref string) (*store.Group, error) {
	if iamid != BuiltinIAM {
		return nil, errs.NotFoundf("identity manager %q is not configured; the built-in one is %q", iamid, BuiltinIAM)
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		if g, err := q.GetGroup(ctx, id); err == nil && g.IAMID == iamid {
			return g, nil
		}
	}
	g, err := q.GetGroupByName(ctx, iamid, strings.TrimSpace(ref))
	if err != nil {
		return nil, errs.NotFoundf("group %q of identity manager %q does not exist", ref, iamid)
	}
	return g, nil
}
