package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// resolveOwners finds the users and groups a list of owners names. A name
// without iam matches it in every identity manager. strict reports names
// that match nobody as 422s on field[i].name; otherwise they are skipped
// (a job runs after the request checked them, and a user may have gone).
func resolveOwners(ctx context.Context, q *store.Queries, owners []Owner, field string, strict bool) ([]ownerRef, error) {
	var out []ownerRef
	var l errs.List
	for i, o := range owners {
		var found []ownerRef
		switch o.Type {
		case "user":
			users, err := q.UsersNamed(ctx, o.IAM, strings.ToLower(strings.TrimSpace(o.Name)))
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				found = append(found, ownerRef{store.ModelUser, u.ID})
			}
		case "group":
			groups, err := q.GroupsNamed(ctx, o.IAM, strings.TrimSpace(o.Name))
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				found = append(found, ownerRef{store.ModelGroup, g.ID})
			}
		}
		if len(found) == 0 && strict {
			where := "any identity manager"
			if o.IAM != "" {
				where = fmt.Sprintf("identity manager %q", o.IAM)
			}
			l.Add(fmt.Sprintf("%s[%d].name", field, i), errs.CodeNotFound, "there is no %s named %q in %s", o.Type, o.Name, where)
		}
		out = append(out, found...)
	}
	return out, l.Err()
}

// ownersOf returns a resolver of targets' owners for makePlan, caching by
// the owners list (most targets share the document's).
func ownersOf(ctx context.Context, q *store.Queries, strict bool) func(*target) ([]ownerRef, bool, error) {
	cache := map[*[]Owner][]ownerRef{}
	return func(t *target) ([]ownerRef, bool, error) {
		if t.owners == nil {
			return nil, false, nil
		}
		if refs, ok := cache[t.owners]; ok {
			return refs, true, nil
		}
		refs, err := resolveOwners(ctx, q, *t.owners, t.ownersField, strict)
		if err != nil {
			return nil, false, err
		}
		cache[t.owners] = refs
		return refs, true, nil
	}
}
