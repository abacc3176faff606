package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// SDDIdentifier is a stored identifier of sensitive data discovery (the
// API's classifier).
type SDDIdentifier struct {
	ID          int64
	Name        string
	DisplayName string
	Description string
	Type        string
	Config      JSON
	BuiltIn     bool
	CreatedBy   *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const sddIdentifierColumns = `id, name, display_name, description, type, config, built_in, created_by, created_at, updated_at`

func scanSDDIdentifier(row interface{ Scan(...any) error }, extra ...any) (*SDDIdentifier, error) {
	var x SDDIdentifier
	err := row.Scan(append([]any{&x.ID, &x.Name, &x.DisplayName, &x.Description, &x.Type, &x.Config, &x.BuiltIn,
		&x.CreatedBy, &x.CreatedAt, &x.UpdatedAt}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &x, err
}

// CreateSDDIdentifier inserts x and sets its ID.
func (q *Queries) CreateSDDIdentifier(ctx context.Context, x *SDDIdentifier) error {
	return q.QueryRow(ctx, `INSERT INTO sdd_identifiers (name, display_name, description, type, config, built_in,
		created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		x.Name, x.DisplayName, x.Description, x.Type, x.Config, x.BuiltIn, x.CreatedBy, x.CreatedAt, x.UpdatedAt).Scan(&x.ID)
}

// UpdateSDDIdentifier writes x's definition.
func (q *Queries) UpdateSDDIdentifier(ctx context.Context, x *SDDIdentifier) error {
	res, err := q.Exec(ctx, `UPDATE sdd_identifiers SET name = $2, display_name = $3, description = $4, type = $5,
		config = $6, updated_at = $7 WHERE id = $1`, x.ID, x.Name, x.DisplayName, x.Description, x.Type, x.Config, x.UpdatedAt)
	return affectedOne(res, err)
}

// DeleteSDDIdentifier removes an identifier.
func (q *Queries) DeleteSDDIdentifier(ctx context.Context, id int64) error {
	res, err := q.Exec(ctx, `DELETE FROM sdd_identifiers WHERE id = $1`, id)
	return affectedOne(res, err)
}

// GetSDDIdentifier returns an identifier by name.
func (q *Queries) GetSDDIdentifier(ctx context.Context, name string) (*SDDIdentifier, error) {
	return scanSDDIdentifier(q.QueryRow(ctx, `SELECT `+sddIdentifierColumns+` FROM sdd_identifiers WHERE name = $1`, name))
}

// SDDIdentifiers returns every identifier, keyed by name.
func (q *Queries) SDDIdentifiers(ctx context.Context) (map[string]*SDDIdentifier, error) {
	rows, err := q.Query(ctx, `SELECT `+sddIdentifierColumns+` FROM sdd_identifiers`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*SDDIdentifier{}
	for rows.Next() {
		x, err := scanSDDIdentifier(rows)
		if err != nil {
			return nil, err
		}
		out[x.Name] = x
	}
	return out, rows.Err()
}

// SyncBuiltInIdentifier inserts or refreshes an identifier custos ships.
func (q *Queries) SyncBuiltInIdentifier(ctx context.Context, x *SDDIdentifier) error {
	_, err := q.Exec(ctx, `INSERT INTO sdd_identifiers (name, display_name, description, type, config, built_in,
		created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, NULL, $6, $6)
		ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, description = EXCLUDED.description,
		type = EXCLUDED.type, config = EXCLUDED.config, updated_at = EXCLUDED.updated_at
		WHERE sdd_identifiers.built_in = TRUE AND (sdd_identifiers.config <> EXCLUDED.config
		OR sdd_identifiers.description <> EXCLUDED.description OR sdd_identifiers.display_name <> EXCLUDED.display_name)`,
		x.Name, x.DisplayName, x.Description, x.Type, x.Config, x.CreatedAt)
	return err
}

// SDDSearch narrows identifier and framework searches.
type SDDSearch struct {
	SearchText  string   // substring of the name, case-insensitive
	Types       []string // identifiers only
	Identifiers []string // frameworks only: those containing every one of these identifiers
	Sort        string   // id, name, displayName, type, createdAt, updatedAt
	Descending  bool
	Offset      int
	Limit       int
}

func (f SDDSearch) order(hasType bool) string {
	col := map[string]string{"id": "id", "displayName": "display_name", "createdAt": "created_at",
		"updatedAt": "updated_at"}[f.Sort]
	if f.Sort == "type" && hasType {
		col = "type"
	}
	if col == "" {
		col = "name"
	}
	dir := " ASC"
	if f.Descending {
		dir = " DESC"
	}
	return col + dir + ", id" + dir
}

// SearchSDDIdentifiers returns one page of identifiers and the total.
func (q *Queries) SearchSDDIdentifiers(ctx context.Context, f SDDSearch) ([]*SDDIdentifier, int, error) {
	var a Args
	var conds []string
	if f.SearchText != "" {
		conds = append(conds, `LOWER(name) LIKE `+a.Add(LikePattern(f.SearchText))+` ESCAPE '\'`)
	}
	if len(f.Types) > 0 {
		conds = append(conds, `type IN `+List(&a, f.Types))
	}
	var out []*SDDIdentifier
	total, err := q.page(ctx, "sdd_identifiers", sddIdentifierColumns, Where(conds), f.order(true), a, f.Offset, f.Limit,
		func(rows *sql.Rows, total *int) error {
			x, err := scanSDDIdentifier(rows, total)
			out = append(out, x)
			return err
		})
	return out, total, err
}

// SDDFramework is a stored identification framework (the API's template).
type SDDFramework struct {
	ID          int64
	Name        string
	DisplayName string
	Description string
	Classifiers JSON // [{name, overrides}]
	BuiltIn     bool
	Global      bool
	CreatedBy   *int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const sddFrameworkColumns = `id, name, display_name, description, classifiers, built_in, is_global, created_by, created_at,
	updated_at`

func scanSDDFramework(row interface{ Scan(...any) error }, extra ...any) (*SDDFramework, error) {
	var x SDDFramework
	err := row.Scan(append([]any{&x.ID, &x.Name, &x.DisplayName, &x.Description, &x.Classifiers, &x.BuiltIn, &x.Global,
		&x.CreatedBy, &x.CreatedAt, &x.UpdatedAt}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &x, err
}

func scanSDDFrameworks(rows *sql.Rows, err error) ([]*SDDFramework, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*SDDFramework
	for rows.Next() {
		x, err := scanSDDFramework(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// CreateSDDFramework inserts x and sets its ID.
func (q *Queries) CreateSDDFramework(ctx context.Context, x *SDDFramework) error {
	return q.QueryRow(ctx, `INSERT INTO sdd_frameworks (name, display_name, description, classifiers, built_in,
		is_global, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		x.Name, x.DisplayName, x.Description, x.Classifiers, x.BuiltIn, x.Global, x.CreatedBy, x.CreatedAt,
		x.UpdatedAt).Scan(&x.ID)
}

// UpdateSDDFramework writes x's definition.
func (q *Queries) UpdateSDDFramework(ctx context.Context, x *SDDFramework) error {
	res, err := q.Exec(ctx, `UPDATE sdd_frameworks SET name = $2, display_name = $3, description = $4, classifiers = $5,
		updated_at = $6 WHERE id = $1`, x.ID, x.Name, x.DisplayName, x.Description, x.Classifiers, x.UpdatedAt)
	return affectedOne(res, err)
}

// DeleteSDDFramework removes a framework; data sources that had it applied
// fall back to the global framework.
func (q *Queries) DeleteSDDFramework(ctx context.Context, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE data_sources SET sdd_framework_id = NULL WHERE sdd_framework_id = $1`, id); err != nil {
		return err
	}
	res, err := q.Exec(ctx, `DELETE FROM sdd_frameworks WHERE id = $1`, id)
	return affectedOne(res, err)
}

// GetSDDFramework returns a framework by name.
func (q *Queries) GetSDDFramework(ctx context.Context, name string) (*SDDFramework, error) {
	return scanSDDFramework(q.QueryRow(ctx, `SELECT `+sddFrameworkColumns+` FROM sdd_frameworks WHERE name = $1`, name))
}

// GetSDDFrameworkByID returns a framework by id.
func (q *Queries) GetSDDFrameworkByID(ctx context.Context, id int64) (*SDDFramework, error) {
	return scanSDDFramework(q.QueryRow(ctx, `SELECT `+sddFrameworkColumns+` FROM sdd_frameworks WHERE id = $1`, id))
}

// GlobalSDDFramework returns the global framework.
func (q *Queries) GlobalSDDFramework(ctx context.Context) (*SDDFramework, error) {
	return scanSDDFramework(q.QueryRow(ctx, `SELECT `+sddFrameworkColumns+` FROM sdd_frameworks WHERE is_global = TRUE
		ORDER BY id LIMIT 1`))
}

// SetGlobalSDDFramework makes the framework with this id the global one.
func (q *Queries) SetGlobalSDDFramework(ctx context.Context, id int64) error {
	if _, err := q.Exec(ctx, `UPDATE sdd_frameworks SET is_global = FALSE WHERE is_global = TRUE AND id <> $1`, id); err != nil {
		return err
	}
	res, err := q.Exec(ctx, `UPDATE sdd_frameworks SET is_global = TRUE WHERE id = $1`, id)
	return affectedOne(res, err)
}

// SyncBuiltInFramework inserts or refreshes a framework custos ships; global
// makes it the global framework when it is created and none is global.
func (q *Queries) SyncBuiltInFramework(ctx context.Context, x *SDDFramework) error {
	_, err := q.Exec(ctx, `INSERT INTO sdd_frameworks (name, display_name, description, classifiers, built_in, is_global,
		created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, FALSE, NULL, $5, $5)
		ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, description = EXCLUDED.description,
		classifiers = EXCLUDED.classifiers, updated_at = EXCLUDED.updated_at
		WHERE sdd_frameworks.built_in = TRUE AND (sdd_frameworks.classifiers <> EXCLUDED.classifiers
		OR sdd_frameworks.description <> EXCLUDED.description OR sdd_frameworks.display_name <> EXCLUDED.display_name)`,
		x.Name, x.DisplayName, x.Description, x.Classifiers, x.CreatedAt)
	if err != nil || !x.Global {
		return err
	}
	_, err = q.Exec(ctx, `UPDATE sdd_frameworks SET is_global = TRUE WHERE name = $1
		AND NOT EXISTS (SELECT 1 FROM sdd_frameworks WHERE is_global = TRUE)`, x.Name)
	return err
}

// SDDFrameworksByID loads the given frameworks, keyed by id.
func (q *Queries) SDDFrameworksByID(ctx context.Context, ids []int64) (map[int64]*SDDFramework, error) {
	out := make(map[int64]*SDDFramework, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	list, err := scanSDDFrameworks(q.Query(ctx, `SELECT `+sddFrameworkColumns+` FROM sdd_frameworks WHERE id IN `+
		List(&a, ids), a...))
	for _, x := range list {
		out[x.ID] = x
	}
	return out, err
}

// SDDFrameworksUsing lists the frameworks whose classifiers name identifier.
func (q *Queries) SDDFrameworksUsing(ctx context.Context, identifier string) ([]*SDDFramework, error) {
	all, err := scanSDDFrameworks(q.Query(ctx, `SELECT `+sddFrameworkColumns+` FROM sdd_frameworks ORDER BY name`))
	if err != nil {
		return nil, err
	}
	var out []*SDDFramework
	for _, f := range all {
		if jsonNamesContain(f.Classifiers, identifier) {
			out = append(out, f)
		}
	}
	return out, nil
}

// SearchSDDFrameworks returns one page of frameworks and the total. Filtering
// by identifiers reads the classifier lists, which are small.
func (q *Queries) SearchSDDFrameworks(ctx context.Context, f SDDSearch) ([]*SDDFramework, int, error) {
	var a Args
	var conds []string
	if f.SearchText != "" {
		conds = append(conds, `LOWER(name) LIKE `+a.Add(LikePattern(f.SearchText))+` ESCAPE '\'`)
	}
	all, err := scanSDDFrameworks(q.Query(ctx, `SELECT `+sddFrameworkColumns+` FROM sdd_frameworks`+Where(conds)+
		` ORDER BY `+f.order(false), a...))
	if err != nil {
		return nil, 0, err
	}
	var kept []*SDDFramework
	for _, x := range all {
		ok := true
		for _, id := range f.Identifiers {
			ok = ok && jsonNamesContain(x.Classifiers, id)
		}
		if ok {
			kept = append(kept, x)
		}
	}
	total := len(kept)
	if f.Offset >= total {
		return nil, total, nil
	}
	kept = kept[f.Offset:]
	if f.Limit > 0 && len(kept) > f.Limit {
		kept = kept[:f.Limit]
	}
	return kept, total, nil
}

// SetDataSourceFramework applies a framework (nil: the global one) to data sources.
func (q *Queries) SetDataSourceFramework(ctx context.Context, frameworkID *int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var a Args
	fw := a.Add(frameworkID)
	_, err := q.Exec(ctx, `UPDATE data_sources SET sdd_framework_id = `+fw+` WHERE id IN `+List(&a, ids), a...)
	return err
}

// jsonNamesContain reports whether a JSON array of objects has one whose
// "name" is name.
func jsonNamesContain(list JSON, name string) bool {
	var items []struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(list, &items) != nil {
		return false
	}
	for _, it := range items {
		if it.Name == name {
			return true
		}
	}
	return false
}
