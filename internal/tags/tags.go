// Package tags owns the tag vocabulary — dotted hierarchies such as
// Discovered.PII.SSN — and the tags attached to users, groups, projects, data
// sources and columns. Other areas register the model types they own.
package tags

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// SourceCurated marks tags created in custos.
const SourceCurated = "curated"

// Model is a kind of thing tags attach to, registered by the area that owns it.
type Model struct {
	// Check verifies that the model exists and that p may change its tags;
	// it returns errs.NotFound or errs.Forbidden otherwise. id is the
	// model id as given in the path and may be normalized in the result.
	Check func(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error)
}

// Service implements the tag API.
type Service struct {
	db     *store.DB
	mu     sync.RWMutex
	models map[string]Model
	inUse  InUse
}

// InUse tells which of the named tags policies name, as a map from tag name
// to descriptions of the policies naming it. A tag policies name is neither
// renamed nor deleted: the policies would silently stop covering what it
// tags.
type InUse func(ctx context.Context, q *store.Queries, tags []string) (map[string][]string, error)

// SetInUse plugs in the policies' use of tags.
func (s *Service) SetInUse(f InUse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inUse = f
}

// checkUnused refuses (409) to rename or delete tags that policies name;
// verb says which.
func (s *Service) checkUnused(ctx context.Context, q *store.Queries, tags []*store.Tag, verb string) error {
	s.mu.RLock()
	f := s.inUse
	s.mu.RUnlock()
	if f == nil || len(tags) == 0 {
		return nil
	}
	used, err := f(ctx, q, names(tags))
	if err != nil {
		return err
	}
	for _, t := range tags {
		if by := used[t.Name]; len(by) > 0 {
			return errs.Conflictf("cannot %s tag %q: %s %s it; change or delete %s first",
				verb, t.Name, strings.Join(by, ", "), plural(len(by), "names", "name"), plural(len(by), "that policy", "those policies"))
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// New returns the tag service with the user and group models registered;
// the project model is registered by the projects service.
func New(db *store.DB) *Service {
	s := &Service{db: db, models: map[string]Model{}}
	s.Register("user", Model{Check: checkIdentity("user")})
	s.Register("group", Model{Check: checkIdentity("group")})
	return s
}

// Register makes modelType taggable; a later registration replaces an earlier one.
func (s *Service) Register(modelType string, m Model) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[modelType] = m
}

func (s *Service) model(modelType string) (Model, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.models[modelType]
	if !ok {
		types := make([]string, 0, len(s.models))
		for t := range s.models {
			types = append(types, t)
		}
		sort.Strings(types)
		return Model{}, errs.BadRequestf("modelType must be one of %s, not %q", strings.Join(types, ", "), modelType)
	}
	return m, nil
}

func checkIdentity(modelType string) func(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
	return func(ctx context.Context, q *store.Queries, p *auth.Principal, id string) (string, error) {
		if err := p.Require(auth.UserAdmin, auth.Governance); err != nil {
			return "", err
		}
		var n int64
		if _, err := fmt.Sscan(id, &n); err != nil {
			return "", errs.BadRequestf("a %s id is a number, not %q", modelType, id)
		}
		var err error
		if modelType == "user" {
			_, err = q.GetUser(ctx, n)
		} else {
			_, err = q.GetGroup(ctx, n)
		}
		if errors.Is(err, store.ErrNotFound) {
			return "", errs.NotFoundf("%s %d does not exist", modelType, n)
		}
		return fmt.Sprint(n), err
	}
}

// ValidName checks a fully-qualified tag name.
func ValidName(name string) error {
	if name == "" {
		return errors.New("a tag name must not be empty")
	}
	if len(name) > 512 {
		return errors.New("a tag name must be at most 512 characters")
	}
	for _, seg := range strings.Split(name, ".") {
		if strings.TrimSpace(seg) == "" {
			return fmt.Errorf("tag %q has an empty part: parts are separated by single dots", name)
		}
		if seg != strings.TrimSpace(seg) {
			return fmt.Errorf("tag %q has a part with leading or trailing spaces", name)
		}
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("tag %q contains a control character", name)
		}
	}
	return nil
}

// Ancestors returns the names above name in its hierarchy, root first.
func Ancestors(name string) []string {
	parts := strings.Split(name, ".")
	out := make([]string, 0, len(parts)-1)
	for i := 1; i < len(parts); i++ {
		out = append(out, strings.Join(parts[:i], "."))
	}
	return out
}

// TagInput is one entry of a create-or-update request.
type TagInput struct {
	ID   *int64
	Name string
}

// RootTag scopes a create-or-update request to the children of one tag.
type RootTag struct {
	Name            string
	DeleteHierarchy bool
}

// Save creates tags (with any missing parents) and renames existing ones
// (those given with an id). With a root tag, which is created when missing,
// every tag must be below it and, with DeleteHierarchy, the root's existing children that are not listed are
// deleted. Nothing is written when any entry is invalid.
func (s *Service) Save(ctx context.Context, p *auth.Principal, root *RootTag, in []TagInput) ([]*store.Tag, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	var problems errs.List
	if len(in) == 0 {
		problems.Add("tags", errs.CodeRequired, "tags must list at least one tag")
	}
	if root != nil {
		if err := ValidName(root.Name); err != nil {
			problems.Add("rootTag.name", errs.CodeInvalid, "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, t := range in {
		field := fmt.Sprintf("tags[%d].name", i)
		if err := ValidName(t.Name); err != nil {
			problems.Add(field, errs.CodeInvalid, "%v", err)
			continue
		}
		if seen[t.Name] {
			problems.Add(field, errs.CodeUnique, "tag %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		if root != nil && !strings.HasPrefix(t.Name, root.Name+".") {
			problems.Add(field, errs.CodeInvalid, "tag %q is not below the root tag %q", t.Name, root.Name)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	var out []*store.Tag
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := store.Now()
		if root != nil {
			// The root is created (or revived) when missing: the
			// reference's {rootTag, tags} payload creates a hierarchy.
			if _, err := s.ensure(ctx, tx, p, root.Name, now); err != nil {
				return err
			}
			if root.DeleteHierarchy {
				children, err := tx.TagDescendants(ctx, root.Name)
				if err != nil {
					return err
				}
				keep := map[int64]bool{}
				for _, t := range in {
					if t.ID != nil {
						keep[*t.ID] = true
					}
				}
				var drop []*store.Tag
				for _, c := range children {
					if !keep[c.ID] && !seen[c.Name] {
						drop = append(drop, c)
					}
				}
				if err := s.softDelete(ctx, tx, drop, now); err != nil {
					return err
				}
			}
		}
		for i, t := range in {
			var tag *store.Tag
			var err error
			if t.ID != nil {
				tag, err = s.rename(ctx, tx, p, fmt.Sprintf("tags[%d]", i), *t.ID, t.Name, now)
			} else {
				tag, err = s.ensure(ctx, tx, p, t.Name, now)
			}
			if err != nil {
				return err
			}
			out = append(out, tag)
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "tagSave", Success: true, TargetType: "tag",
			Details: map[string]any{"tags": names(out)}})
	})
	return out, err
}

func names(tags []*store.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Name
	}
	return out
}

// ensure creates name and its missing ancestors, reviving deleted ones.
func (s *Service) ensure(ctx context.Context, tx *store.Tx, p *auth.Principal, name string, now time.Time) (*store.Tag, error) {
	return Ensure(ctx, &tx.Queries, name, &p.UserID, false, now)
}

// Ensure creates name and its missing ancestors through q (a transaction's
// queries), reviving deleted ones, and returns the tag. system marks the tags
// it creates as created by custos itself (New, Discovered.*), which protects
// them from renaming. It checks no permission: callers that create tags on a
// user's behalf check their own.
func Ensure(ctx context.Context, q *store.Queries, name string, createdBy *int64, system bool, now time.Time) (*store.Tag, error) {
	var last *store.Tag
	for _, n := range append(Ancestors(name), name) {
		t, err := q.GetTagByName(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			// Another transaction may be creating the same tag (a parent
			// shared by two new tags): take its tag rather than fail.
			t = &store.Tag{Name: n, Source: SourceCurated, CreatedBy: createdBy, SystemCreated: system,
				CreatedAt: now, UpdatedAt: now}
			err = q.CreateTagOrGet(ctx, t)
		}
		switch {
		case err != nil:
			return nil, err
		case t.Deleted:
			t.Deleted = false
			t.UpdatedAt = now
			if err := q.UpdateTag(ctx, t); err != nil {
				return nil, err
			}
		}
		last = t
	}
	return last, nil
}

// rename gives tag id the new name, moving its descendants along.
func (s *Service) rename(ctx context.Context, tx *store.Tx, p *auth.Principal, field string, id int64, name string, now time.Time) (*store.Tag, error) {
	t, err := tx.GetTag(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Deleted) {
		return nil, errs.Field(field+".id", errs.CodeNotFound, "tag %d does not exist", id)
	} else if err != nil {
		return nil, err
	}
	if t.Name == name {
		return t, nil
	}
	if t.Protected || t.SystemCreated {
		return nil, errs.Field(field+".id", errs.CodeInvalid, "tag %q is protected and cannot be renamed", t.Name)
	}
	if strings.HasPrefix(name, t.Name+".") {
		// The tag would be its own ancestor, and its old name, which its
		// new name needs as a parent, would vanish.
		return nil, errs.Field(field+".name", errs.CodeInvalid, "tag %q cannot move below itself to %q", t.Name, name)
	}
	if existing, err := tx.GetTagByName(ctx, name); err == nil && !existing.Deleted {
		return nil, errs.Field(field+".name", errs.CodeUnique, "a tag named %q already exists", name)
	}
	// Deleted tags may hold the new name and the names its children move
	// to; free them.
	stale, err := tx.DeletedTagsAt(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, d := range stale {
		d.Name = fmt.Sprintf("%s#deleted-%d", d.Name, d.ID)
		if err := tx.UpdateTag(ctx, d); err != nil {
			return nil, err
		}
	}
	for _, a := range Ancestors(name) {
		if _, err := s.ensure(ctx, tx, p, a, now); err != nil {
			return nil, err
		}
	}
	children, err := tx.TagDescendants(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	if err := s.checkUnused(ctx, &tx.Queries, append([]*store.Tag{t}, children...), "rename"); err != nil {
		return nil, err
	}
	old := t.Name
	t.Name, t.UpdatedAt = name, now
	if err := tx.UpdateTag(ctx, t); err != nil {
		return nil, err
	}
	for _, c := range children {
		c.Name, c.UpdatedAt = name+strings.TrimPrefix(c.Name, old), now
		if err := tx.UpdateTag(ctx, c); err != nil {
			if store.IsUniqueViolation(err) {
				return nil, errs.Field(field+".name", errs.CodeUnique, "renaming %q would collide with tag %q", old, c.Name)
			}
			return nil, err
		}
	}
	return t, tx.AppendChange(ctx, "tagRenamed", "tag", fmt.Sprint(t.ID))
}

// softDelete marks tags deleted and detaches them from every model.
func (s *Service) softDelete(ctx context.Context, tx *store.Tx, tags []*store.Tag, now time.Time) error {
	if len(tags) == 0 {
		return nil
	}
	if err := s.checkUnused(ctx, &tx.Queries, tags, "delete"); err != nil {
		return err
	}
	ids := make([]int64, len(tags))
	for i, t := range tags {
		ids[i] = t.ID
		t.Deleted, t.UpdatedAt = true, now
		if err := tx.UpdateTag(ctx, t); err != nil {
			return err
		}
	}
	models, err := tx.DetachTagEverywhere(ctx, ids)
	if err != nil {
		return err
	}
	for _, m := range models {
		typ, id, _ := strings.Cut(m, "/")
		if err := tx.AppendChange(ctx, "tagDetached", typ, id); err != nil {
			return err
		}
	}
	return nil
}

// Delete deletes a tag; a tag with children needs deleteHierarchy, which
// deletes them too. It returns the deleted tags.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, name string, deleteHierarchy bool) ([]*store.Tag, error) {
	if err := p.Require(auth.Governance); err != nil {
		return nil, err
	}
	var out []*store.Tag
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		t, err := tx.GetTagByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.Deleted) {
			return errs.NotFoundf("tag %q does not exist", name)
		} else if err != nil {
			return err
		}
		children, err := tx.TagDescendants(ctx, name)
		if err != nil {
			return err
		}
		if len(children) > 0 && !deleteHierarchy {
			return errs.Conflictf("tag %q has %d child tags; delete them first or pass deleteHierarchy=true", name, len(children))
		}
		out = append([]*store.Tag{t}, children...)
		if err := s.softDelete(ctx, tx, out, store.Now()); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "tagDelete", Success: true, TargetType: "tag",
			TargetID: fmt.Sprint(t.ID), Details: map[string]any{"tags": names(out)}})
	})
	return out, err
}

// Search returns tags matching f; any authenticated user may search.
func (s *Service) Search(ctx context.Context, p *auth.Principal, f store.TagFilter) ([]*store.Tag, error) {
	return s.db.SearchTags(ctx, f)
}

// Attach attaches existing tags to a model. Nothing is attached when any
// tag is invalid.
func (s *Service) Attach(ctx context.Context, p *auth.Principal, modelType, modelID string, tagNames []string, source string) ([]*store.ModelTag, error) {
	m, err := s.model(modelType)
	if err != nil {
		return nil, err
	}
	var problems errs.List
	if len(tagNames) == 0 {
		problems.Add("[0].name", errs.CodeRequired, "give at least one tag")
	}
	for i, n := range tagNames {
		if err := ValidName(n); err != nil {
			problems.Add(fmt.Sprintf("[%d].name", i), errs.CodeInvalid, "%v", err)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if source == "" {
		source = SourceCurated
	}
	var out []*store.ModelTag
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		id, err := m.Check(ctx, &tx.Queries, p, modelID)
		if err != nil {
			return err
		}
		known, err := tx.TagsByName(ctx, tagNames)
		if err != nil {
			return err
		}
		for i, n := range tagNames {
			if t := known[n]; t == nil || t.Deleted {
				problems.Add(fmt.Sprintf("[%d].name", i), errs.CodeNotFound, "tag %q does not exist; create it with POST /tag first", n)
			}
		}
		if err := problems.Err(); err != nil {
			return err
		}
		now := store.Now()
		changed := false
		for _, n := range tagNames {
			mt := &store.ModelTag{ModelType: modelType, ModelID: id, Tag: known[n], Source: source, Context: "manual",
				AddedBy: &p.UserID, CreatedAt: now}
			added, err := tx.AttachTag(ctx, mt)
			if err != nil {
				return err
			}
			changed = changed || added
			out = append(out, mt)
		}
		if changed {
			if err := tx.AppendChange(ctx, "tagAttached", modelType, id); err != nil {
				return err
			}
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "modelTagAdd", Success: true, TargetType: modelType,
			TargetID: id, Details: map[string]any{"tags": tagNames}})
	})
	return out, err
}

// Detach removes a tag from a model.
func (s *Service) Detach(ctx context.Context, p *auth.Principal, modelType, modelID, tagName string) error {
	m, err := s.model(modelType)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		id, err := m.Check(ctx, &tx.Queries, p, modelID)
		if err != nil {
			return err
		}
		t, err := tx.GetTagByName(ctx, tagName)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("tag %q does not exist", tagName)
		} else if err != nil {
			return err
		}
		removed, err := tx.DetachTag(ctx, modelType, id, t.ID)
		if err != nil {
			return err
		}
		if !removed {
			return errs.NotFoundf("%s %s is not tagged %q", modelType, id, tagName)
		}
		if err := tx.AppendChange(ctx, "tagDetached", modelType, id); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "modelTagRemove", Success: true, TargetType: modelType,
			TargetID: id, Details: map[string]any{"tag": tagName}})
	})
}

// Of returns the tags attached to the given models of one type.
func (s *Service) Of(ctx context.Context, modelType string, ids []string) (map[string][]*store.ModelTag, error) {
	return s.db.TagsOfModels(ctx, modelType, ids)
}
