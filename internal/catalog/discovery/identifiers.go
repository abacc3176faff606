package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/sdd"
	"github.com/custosdata/custos/internal/store"
)

// Identifier is a stored identifier with its decoded definition and creator.
type Identifier struct {
	Record    *store.SDDIdentifier
	Def       sdd.Identifier
	CreatedBy *store.User // nil for the identifiers custos ships
}

func decodeIdentifier(x *store.SDDIdentifier) (sdd.Identifier, error) {
	id := sdd.Identifier{Name: x.Name, DisplayName: x.DisplayName, Description: x.Description, Type: sdd.Type(x.Type)}
	if err := json.Unmarshal(x.Config, &id.Config); err != nil {
		return id, fmt.Errorf("identifier %s: stored config: %w", x.Name, err)
	}
	return id, nil
}

func (s *Service) identifierViews(ctx context.Context, q *store.Queries, list []*store.SDDIdentifier) ([]*Identifier, error) {
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
	out := make([]*Identifier, len(list))
	for i, x := range list {
		def, err := decodeIdentifier(x)
		if err != nil {
			return nil, err
		}
		out[i] = &Identifier{Record: x, Def: def}
		if x.CreatedBy != nil {
			out[i].CreatedBy = users[*x.CreatedBy]
		}
	}
	return out, nil
}

// requireAuthor allows governors and data source creators to define
// identifiers and frameworks.
func requireAuthor(p *auth.Principal) error {
	return p.Require(auth.Governance, auth.CreateDataSource)
}

// requireOwnerOf allows a governor, or the creator of a user-defined entry.
func requireOwnerOf(p *auth.Principal, createdBy *int64, what string) error {
	if p.Has(auth.Governance) || (createdBy != nil && p.Is(*createdBy)) {
		return nil
	}
	return errs.Forbiddenf("changing %s requires having created it or the %s permission", what, auth.Governance)
}

func getIdentifier(ctx context.Context, q *store.Queries, name string) (*store.SDDIdentifier, error) {
	if strings.IndexByte(name, 0) >= 0 { // no name holds one; PostgreSQL refuses to look
		return nil, errs.NotFoundf("identifier %q does not exist", name)
	}
	x, err := q.GetSDDIdentifier(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("identifier %q does not exist", name)
	}
	return x, err
}

// validateNew checks an identifier payload as one people may define.
func validateNew(def sdd.Identifier) error {
	if def.Type == sdd.TypeBuiltIn {
		return errs.Field("type", errs.CodeEnum, "builtIn identifiers are the ones custos ships; define a regex, dictionary or columnNameRegex identifier")
	}
	return def.Validate()
}

// uniqueness turns a unique violation on an identifier or framework into a 422.
func uniqueness(err error, name, display string) error {
	if store.IsUniqueViolation(err) {
		return errs.Fields(errs.FieldError{Field: "name", Code: errs.CodeUnique,
			Message: fmt.Sprintf("name %q or displayName %q is already used", name, display)})
	}
	return err
}

// CreateIdentifier stores a new identifier.
func (s *Service) CreateIdentifier(ctx context.Context, p *auth.Principal, def sdd.Identifier) (*Identifier, error) {
	if err := requireAuthor(p); err != nil {
		return nil, err
	}
	if err := validateNew(def); err != nil {
		return nil, err
	}
	cfg, err := store.ToJSON(def.Config)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	x := &store.SDDIdentifier{Name: def.Name, DisplayName: def.DisplayName, Description: def.Description, Type: string(def.Type),
		Config: cfg, CreatedBy: &p.UserID, CreatedAt: now, UpdatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := uniqueness(tx.CreateSDDIdentifier(ctx, x), def.Name, def.DisplayName); err != nil {
			return err
		}
		return audit.Write(ctx, &tx.Queries, audit.Event{Type: "sddClassifierCreate", Success: true, TargetType: "sddClassifier",
			TargetID: def.Name})
	})
	if err != nil {
		return nil, err
	}
	views, err := s.identifierViews(ctx, &s.db.Queries, []*store.SDDIdentifier{x})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

// GetIdentifier returns an identifier by name.
func (s *Service) GetIdentifier(ctx context.Context, p *auth.Principal, name string) (*Identifier, error) {
	x, err := getIdentifier(ctx, &s.db.Queries, name)
	if err != nil {
		return nil, err
	}
	views, err := s.identifierViews(ctx, &s.db.Queries, []*store.SDDIdentifier{x})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

// UpdateIdentifier replaces an identifier's definition (no partial updates);
// renaming it renames it in the frameworks that use it.
func (s *Service) UpdateIdentifier(ctx context.Context, p *auth.Principal, name string, def sdd.Identifier) (*Identifier, error) {
	if err := validateNew(def); err != nil {
		return nil, err
	}
	cfg, err := store.ToJSON(def.Config)
	if err != nil {
		return nil, err
	}
	var x *store.SDDIdentifier
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		var err error
		if x, err = getIdentifier(ctx, q, name); err != nil {
			return err
		}
		if x.BuiltIn {
			return errs.Forbiddenf("identifier %s is built in and cannot be changed; define your own under another name", name)
		}
		if err := requireOwnerOf(p, x.CreatedBy, "identifier "+name); err != nil {
			return err
		}
		x.Name, x.DisplayName, x.Description, x.Type, x.Config, x.UpdatedAt = def.Name, def.DisplayName, def.Description,
			string(def.Type), cfg, store.Now()
		if err := uniqueness(q.UpdateSDDIdentifier(ctx, x), def.Name, def.DisplayName); err != nil {
			return err
		}
		if def.Name != name {
			if err := renameInFrameworks(ctx, q, name, def.Name); err != nil {
				return err
			}
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddClassifierUpdate", Success: true, TargetType: "sddClassifier",
			TargetID: def.Name, Details: map[string]any{"previousName": name}})
	})
	if err != nil {
		return nil, err
	}
	views, err := s.identifierViews(ctx, &s.db.Queries, []*store.SDDIdentifier{x})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

func renameInFrameworks(ctx context.Context, q *store.Queries, from, to string) error {
	using, err := q.SDDFrameworksUsing(ctx, from)
	if err != nil {
		return err
	}
	for _, f := range using {
		var cl []sdd.FrameworkIdentifier
		if err := json.Unmarshal(f.Classifiers, &cl); err != nil {
			return err
		}
		for i := range cl {
			if cl[i].Name == from {
				cl[i].Name = to
			}
		}
		if f.Classifiers, err = store.ToJSON(cl); err != nil {
			return err
		}
		f.UpdatedAt = store.Now()
		if err := q.UpdateSDDFramework(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// DeleteIdentifier deletes an identifier no framework uses, returning it.
func (s *Service) DeleteIdentifier(ctx context.Context, p *auth.Principal, name string) (*Identifier, error) {
	var view *Identifier
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		x, err := getIdentifier(ctx, q, name)
		if err != nil {
			return err
		}
		if x.BuiltIn {
			return errs.Forbiddenf("identifier %s is built in and cannot be deleted", name)
		}
		if err := requireOwnerOf(p, x.CreatedBy, "identifier "+name); err != nil {
			return err
		}
		using, err := q.SDDFrameworksUsing(ctx, name)
		if err != nil {
			return err
		}
		if len(using) > 0 {
			names := make([]string, len(using))
			for i, f := range using {
				names[i] = f.Name
			}
			return errs.Conflictf("identifier %s is used by the frameworks %s; remove it from them first", name, strings.Join(names, ", "))
		}
		views, err := s.identifierViews(ctx, q, []*store.SDDIdentifier{x})
		if err != nil {
			return err
		}
		view = views[0]
		if err := q.DeleteSDDIdentifier(ctx, x.ID); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddClassifierDelete", Success: true, TargetType: "sddClassifier", TargetID: name})
	})
	return view, err
}

// SearchIdentifiers returns one page of identifiers and the total.
func (s *Service) SearchIdentifiers(ctx context.Context, p *auth.Principal, f store.SDDSearch) ([]*Identifier, int, error) {
	for _, t := range f.Types {
		if !validType(t) {
			return nil, 0, errs.BadRequestf("query parameter type must be regex, dictionary, columnNameRegex or builtIn, not %q", t)
		}
	}
	list, total, err := s.db.SearchSDDIdentifiers(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	views, err := s.identifierViews(ctx, &s.db.Queries, list)
	return views, total, err
}

func validType(t string) bool {
	for _, x := range sdd.Types {
		if string(x) == t {
			return true
		}
	}
	return false
}
