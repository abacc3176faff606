package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/sdd"
	"github.com/custosdata/custos/internal/store"
)

// Framework is a stored identification framework with its decoded
// definition and creator.
type Framework struct {
	Record    *store.SDDFramework
	Def       sdd.Framework
	CreatedBy *store.User // nil for the framework custos ships
}

func decodeFramework(x *store.SDDFramework) (sdd.Framework, error) {
	f := sdd.Framework{Name: x.Name, DisplayName: x.DisplayName, Description: x.Description}
	if err := json.Unmarshal(x.Classifiers, &f.Classifiers); err != nil {
		return f, fmt.Errorf("framework %s: stored classifiers: %w", x.Name, err)
	}
	return f, nil
}

func (s *Service) frameworkViews(ctx context.Context, q *store.Queries, list []*store.SDDFramework) ([]*Framework, error) {
	var ids []int64
	for _, x := range list {
		if x.CreatedBy != nil {
			ids = append(ids, *x.CreatedBy)
		}
	}
	users, err := q.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Framework, len(list))
	for i, x := range list {
		def, err := decodeFramework(x)
		if err != nil {
			return nil, err
		}
		out[i] = &Framework{Record: x, Def: def}
		if x.CreatedBy != nil {
			out[i].CreatedBy = users[*x.CreatedBy]
		}
	}
	return out, nil
}

func (s *Service) frameworkView(ctx context.Context, q *store.Queries, x *store.SDDFramework) (*Framework, error) {
	views, err := s.frameworkViews(ctx, q, []*store.SDDFramework{x})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

func getFramework(ctx context.Context, q *store.Queries, name string) (*store.SDDFramework, error) {
	if strings.IndexByte(name, 0) >= 0 { // no name holds one; PostgreSQL refuses to look
		return nil, errs.NotFoundf("framework %q does not exist", name)
	}
	x, err := q.GetSDDFramework(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("framework %q does not exist", name)
	}
	return x, err
}

// known reports, for framework validation, whether an identifier exists.
func known(ctx context.Context, q *store.Queries) (func(string) bool, error) {
	all, err := q.SDDIdentifiers(ctx)
	if err != nil {
		return nil, err
	}
	return func(name string) bool { return all[name] != nil }, nil
}

// CreateFramework stores a new framework.
func (s *Service) CreateFramework(ctx context.Context, p *auth.Principal, def sdd.Framework) (*Framework, error) {
	if err := requireAuthor(p); err != nil {
		return nil, err
	}
	var x *store.SDDFramework
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		ok, err := known(ctx, q)
		if err != nil {
			return err
		}
		if err := def.Validate(ok); err != nil {
			return err
		}
		cl, err := store.ToJSON(def.Classifiers)
		if err != nil {
			return err
		}
		now := store.Now()
		x = &store.SDDFramework{Name: def.Name, DisplayName: def.DisplayName, Description: def.Description, Classifiers: cl,
			CreatedBy: &p.UserID, CreatedAt: now, UpdatedAt: now}
		if err := uniqueness(q.CreateSDDFramework(ctx, x), def.Name, def.DisplayName); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddTemplateCreate", Success: true, TargetType: "sddTemplate", TargetID: def.Name})
	})
	if err != nil {
		return nil, err
	}
	return s.frameworkView(ctx, &s.db.Queries, x)
}

// GetFramework returns a framework by name.
func (s *Service) GetFramework(ctx context.Context, p *auth.Principal, name string) (*Framework, error) {
	x, err := getFramework(ctx, &s.db.Queries, name)
	if err != nil {
		return nil, err
	}
	return s.frameworkView(ctx, &s.db.Queries, x)
}

// GlobalFramework returns the framework of data sources that have none.
func (s *Service) GlobalFramework(ctx context.Context, p *auth.Principal) (*Framework, error) {
	x, err := s.db.GlobalSDDFramework(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("no framework is global")
	} else if err != nil {
		return nil, err
	}
	return s.frameworkView(ctx, &s.db.Queries, x)
}

// SetGlobalFramework makes a framework the global one.
func (s *Service) SetGlobalFramework(ctx context.Context, p *auth.Principal, name string) (*Framework, error) {
	if err := p.Require(auth.ApplicationAdmin); err != nil {
		return nil, err
	}
	var x *store.SDDFramework
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if x, err = getFramework(ctx, &tx.Queries, name); err != nil {
			return errs.Field("template", errs.CodeNotFound, "framework %q does not exist", name)
		}
		if err := tx.SetGlobalSDDFramework(ctx, x.ID); err != nil {
			return err
		}
		x.Global = true
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "sddTemplateSetGlobal", Success: true, TargetType: "sddTemplate", TargetID: name})
	})
	if err != nil {
		return nil, err
	}
	return s.frameworkView(ctx, &s.db.Queries, x)
}

// UpdateFramework replaces a framework's definition; it may rename it.
func (s *Service) UpdateFramework(ctx context.Context, p *auth.Principal, name string, def sdd.Framework) (*Framework, error) {
	var x *store.SDDFramework
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		var err error
		if x, err = getFramework(ctx, q, name); err != nil {
			return err
		}
		if x.BuiltIn {
			return errs.Forbiddenf("framework %s is built in and cannot be changed; clone it", name)
		}
		if err := requireOwnerOf(p, x.CreatedBy, "framework "+name); err != nil {
			return err
		}
		ok, err := known(ctx, q)
		if err != nil {
			return err
		}
		if err := def.Validate(ok); err != nil {
			return err
		}
		if x.Classifiers, err = store.ToJSON(def.Classifiers); err != nil {
			return err
		}
		x.Name, x.DisplayName, x.Description, x.UpdatedAt = def.Name, def.DisplayName, def.Description, store.Now()
		if err := uniqueness(q.UpdateSDDFramework(ctx, x), def.Name, def.DisplayName); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddTemplateUpdate", Success: true, TargetType: "sddTemplate",
			TargetID: def.Name, Details: map[string]any{"previousName": name}})
	})
	if err != nil {
		return nil, err
	}
	return s.frameworkView(ctx, &s.db.Queries, x)
}

// DeleteFramework deletes a framework that is not global, returning it; its
// data sources fall back to the global framework.
func (s *Service) DeleteFramework(ctx context.Context, p *auth.Principal, name string) (*Framework, error) {
	var view *Framework
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		x, err := getFramework(ctx, q, name)
		if err != nil {
			return err
		}
		if x.BuiltIn {
			return errs.Forbiddenf("framework %s is built in and cannot be deleted", name)
		}
		if x.Global {
			return errs.Conflictf("framework %s is the global framework; make another one global first", name)
		}
		if err := requireOwnerOf(p, x.CreatedBy, "framework "+name); err != nil {
			return err
		}
		if view, err = s.frameworkView(ctx, q, x); err != nil {
			return err
		}
		if err := q.DeleteSDDFramework(ctx, x.ID); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddTemplateDelete", Success: true, TargetType: "sddTemplate", TargetID: name})
	})
	return view, err
}

// CloneInput names the copy a clone makes.
type CloneInput struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Description string `json:"description"`
}

// CloneFramework copies a framework's identifiers into a new framework.
func (s *Service) CloneFramework(ctx context.Context, p *auth.Principal, name string, in CloneInput) (*Framework, error) {
	src, err := getFramework(ctx, &s.db.Queries, name)
	if err != nil {
		return nil, err
	}
	def, err := decodeFramework(src)
	if err != nil {
		return nil, err
	}
	def.Name, def.DisplayName = in.Name, in.DisplayName
	if in.Description != "" {
		def.Description = in.Description
	}
	return s.CreateFramework(ctx, p, def)
}

// SearchFrameworks returns one page of frameworks and the total.
func (s *Service) SearchFrameworks(ctx context.Context, p *auth.Principal, f store.SDDSearch) ([]*Framework, int, error) {
	list, total, err := s.db.SearchSDDFrameworks(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	views, err := s.frameworkViews(ctx, &s.db.Queries, list)
	return views, total, err
}

// ApplyFramework applies a framework to data sources named by name, or with
// an empty name lets them use the global one again.
func (s *Service) ApplyFramework(ctx context.Context, p *auth.Principal, name string, sources []string) error {
	if len(sources) == 0 {
		return errs.Field("sources", errs.CodeRequired, "sources must name at least one data source")
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		var fw *int64
		if name != "" {
			x, err := getFramework(ctx, q, name)
			if err != nil {
				return errs.Field("template", errs.CodeNotFound, "framework %q does not exist", name)
			}
			fw = &x.ID
		}
		list, err := s.namedSources(ctx, q, p, sources, "sources")
		if err != nil {
			return err
		}
		ids := make([]int64, len(list))
		for i, d := range list {
			if err := catalog.MayChange(ctx, q, p, d); err != nil {
				return err
			}
			ids[i] = d.ID
		}
		if err := q.SetDataSourceFramework(ctx, fw, ids); err != nil {
			return err
		}
		for _, id := range ids {
			if err := q.AppendChange(ctx, catalog.ChangeUpdated, catalog.ModelDataSource, fmt.Sprint(id)); err != nil {
				return err
			}
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddTemplateApply", Success: true, TargetType: "sddTemplate",
			TargetID: name, Details: map[string]any{"sources": sources}})
	})
}

// namedSources loads the data sources p may see by name, reporting unknown
// names as 422s on field[i].
func (s *Service) namedSources(ctx context.Context, q *store.Queries, p *auth.Principal, names []string, field string) ([]*store.DataSource, error) {
	var l errs.List
	out := make([]*store.DataSource, 0, len(names))
	for i, n := range names {
		if strings.IndexByte(n, 0) >= 0 { // no name holds one; PostgreSQL refuses to look
			l.Add(fmt.Sprintf("%s[%d]", field, i), errs.CodeNotFound, "data source %q does not exist", n)
			continue
		}
		d, err := q.GetDataSourceByName(ctx, n)
		if err == nil {
			_, err = s.catalog.Visible(ctx, q, p, d.ID)
		}
		if errors.Is(err, store.ErrNotFound) || errs.Is(err, errs.NotFound) {
			l.Add(fmt.Sprintf("%s[%d]", field, i), errs.CodeNotFound, "data source %q does not exist", n)
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, l.Err()
}

// frameworkFor returns the framework discovery uses on a data source: the
// one named (dry runs), else the one applied to it, else the global one.
func (s *Service) frameworkFor(ctx context.Context, q *store.Queries, d *store.DataSource, name string) (*store.SDDFramework, error) {
	switch {
	case name != "":
		return getFramework(ctx, q, name)
	case d.SDDFrameworkID != nil:
		x, err := q.GetSDDFrameworkByID(ctx, *d.SDDFrameworkID)
		if !errors.Is(err, store.ErrNotFound) {
			return x, err
		}
	}
	x, err := q.GlobalSDDFramework(ctx)
	if errors.Is(err, store.ErrNotFound) {
		f := sdd.DefaultFramework()
		cl, _ := store.ToJSON(f.Classifiers)
		return &store.SDDFramework{Name: f.Name, DisplayName: f.DisplayName, Description: f.Description, Classifiers: cl}, nil
	}
	return x, err
}

// compile prepares a framework for scoring.
func (s *Service) compile(ctx context.Context, q *store.Queries, x *store.SDDFramework) (*sdd.Scorer, error) {
	def, err := decodeFramework(x)
	if err != nil {
		return nil, err
	}
	all, err := q.SDDIdentifiers(ctx)
	if err != nil {
		return nil, err
	}
	return sdd.Compile(def, func(name string) (sdd.Identifier, bool) {
		rec := all[name]
		if rec == nil {
			return sdd.Identifier{}, false
		}
		id, err := decodeIdentifier(rec)
		return id, err == nil
	})
}
