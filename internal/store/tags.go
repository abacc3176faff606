package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Tag is an entry of the tag vocabulary.
type Tag struct {
	ID            int64
	Name          string
	Source        string
	Description   *string
	Color         *string
	Deleted       bool
	SystemCreated bool
	Protected     bool
	CreatedBy     *int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const tagColumns = `id, name, source, description, color, deleted, system_created, protected, created_by, created_at, updated_at`

func scanTag(row interface{ Scan(...any) error }) (*Tag, error) {
	var t Tag
	err := row.Scan(&t.ID, &t.Name, &t.Source, &t.Description, &t.Color, &t.Deleted, &t.SystemCreated, &t.Protected,
		&t.CreatedBy, &t.CreatedAt, &t.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &t, err
}

func scanTags(rows *sql.Rows, err error) ([]*Tag, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Tag
	for rows.Next() {
		t, err := scanTag(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateTag inserts t and sets its ID.
func (q *Queries) CreateTag(ctx context.Context, t *Tag) error {
	return q.QueryRow(ctx, `INSERT INTO tags (name, source, description, color, deleted, system_created, protected,
		created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		t.Name, t.Source, t.Description, t.Color, t.Deleted, t.SystemCreated, t.Protected, t.CreatedBy,
		t.CreatedAt, t.UpdatedAt).Scan(&t.ID)
}

// CreateTagOrGet inserts t and sets its ID or, when a tag of that name
// exists (created meanwhile by a concurrent transaction), reads that tag
// into t instead.
func (q *Queries) CreateTagOrGet(ctx context.Context, t *Tag) error {
	err := q.QueryRow(ctx, `INSERT INTO tags (name, source, description, color, deleted, system_created, protected,
		created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (name) DO NOTHING RETURNING id`,
		t.Name, t.Source, t.Description, t.Color, t.Deleted, t.SystemCreated, t.Protected, t.CreatedBy,
		t.CreatedAt, t.UpdatedAt).Scan(&t.ID)
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	existing, err := q.GetTagByName(ctx, t.Name)
	if err != nil {
		return err
	}
	*t = *existing
	return nil
}

// UpdateTag writes t's name, deleted flag and update time.
func (q *Queries) UpdateTag(ctx context.Context, t *Tag) error {
	res, err := q.Exec(ctx, `UPDATE tags SET name = $2, deleted = $3, updated_at = $4 WHERE id = $1`,
		t.ID, t.Name, t.Deleted, t.UpdatedAt)
	return affectedOne(res, err)
}

// GetTag returns a tag by id.
func (q *Queries) GetTag(ctx context.Context, id int64) (*Tag, error) {
	return scanTag(q.QueryRow(ctx, `SELECT `+tagColumns+` FROM tags WHERE id = $1`, id))
}

// GetTagByName returns a tag by its full name, deleted or not.
func (q *Queries) GetTagByName(ctx context.Context, name string) (*Tag, error) {
	return scanTag(q.QueryRow(ctx, `SELECT `+tagColumns+` FROM tags WHERE name = $1`, name))
}

// TagsByName loads the named tags (deleted or not), keyed by name.
func (q *Queries) TagsByName(ctx context.Context, names []string) (map[string]*Tag, error) {
	out := make(map[string]*Tag, len(names))
	if len(names) == 0 {
		return out, nil
	}
	var a Args
	tags, err := scanTags(q.Query(ctx, `SELECT `+tagColumns+` FROM tags WHERE name IN `+List(&a, names), a...))
	for _, t := range tags {
		out[t.Name] = t
	}
	return out, err
}

// TagDescendants returns the live tags strictly below name in the hierarchy.
func (q *Queries) TagDescendants(ctx context.Context, name string) ([]*Tag, error) {
	return scanTags(q.Query(ctx, `SELECT `+tagColumns+` FROM tags WHERE deleted = FALSE AND SUBSTR(name, 1, $1) = $2
		ORDER BY name`, TextLen(name)+1, name+"."))
}

// DeletedTagsAt returns the deleted tags named name or below it.
func (q *Queries) DeletedTagsAt(ctx context.Context, name string) ([]*Tag, error) {
	return scanTags(q.Query(ctx, `SELECT `+tagColumns+` FROM tags WHERE deleted = TRUE AND (name = $1
		OR SUBSTR(name, 1, $2) = $3) ORDER BY name`, name, TextLen(name)+1, name+"."))
}

// TagFilter narrows a tag search.
type TagFilter struct {
	SearchText          string // substring, case-insensitive
	Source              string
	ExcludedSource      string
	IncludeSystem       bool     // include system-created tags
	IncludeDeleted      bool     // include deleted tags
	ExcludedHierarchies []string // tag names whose hierarchies are left out
	Limit               int
}

// SearchTags returns tags matching f ordered by name.
func (q *Queries) SearchTags(ctx context.Context, f TagFilter) ([]*Tag, error) {
	var a Args
	var conds []string
	if f.SearchText != "" {
		conds = append(conds, `LOWER(name) LIKE `+a.Add(LikePattern(f.SearchText))+` ESCAPE '\'`)
	}
	if f.Source != "" {
		conds = append(conds, `source = `+a.Add(f.Source))
	}
	if f.ExcludedSource != "" {
		conds = append(conds, `source <> `+a.Add(f.ExcludedSource))
	}
	if !f.IncludeSystem {
		conds = append(conds, `system_created = FALSE`)
	}
	if !f.IncludeDeleted {
		conds = append(conds, `deleted = FALSE`)
	}
	for _, h := range f.ExcludedHierarchies {
		conds = append(conds, `name <> `+a.Add(h)+` AND SUBSTR(name, 1, `+a.Add(TextLen(h)+1)+`) <> `+a.Add(h+"."))
	}
	query := `SELECT ` + tagColumns + ` FROM tags` + Where(conds) + ` ORDER BY name`
	if f.Limit > 0 {
		query += ` LIMIT ` + a.Add(f.Limit)
	}
	return scanTags(q.Query(ctx, query, a...))
}

// ModelTag is a tag attached to a model.
type ModelTag struct {
	ID        int64
	ModelType string
	ModelID   string
	Tag       *Tag
	Source    string
	Context   string
	AddedBy   *int64
	CreatedAt time.Time
}

// AttachTag attaches a tag to a model; attaching it again changes nothing.
// It reports whether the tag was newly attached.
func (q *Queries) AttachTag(ctx context.Context, m *ModelTag) (bool, error) {
	res, err := q.Exec(ctx, `INSERT INTO model_tags (model_type, model_id, tag_id, source, context, added_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (model_type, model_id, tag_id) DO NOTHING`,
		m.ModelType, m.ModelID, m.Tag.ID, m.Source, m.Context, m.AddedBy, m.CreatedAt)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DetachTag removes a tag from a model, reporting whether it was attached.
func (q *Queries) DetachTag(ctx context.Context, modelType, modelID string, tagID int64) (bool, error) {
	res, err := q.Exec(ctx, `DELETE FROM model_tags WHERE model_type = $1 AND model_id = $2 AND tag_id = $3`,
		modelType, modelID, tagID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DetachTagEverywhere removes the tags from every model, returning the
// affected models as "type/id".
func (q *Queries) DetachTagEverywhere(ctx context.Context, tagIDs []int64) ([]string, error) {
	if len(tagIDs) == 0 {
		return nil, nil
	}
	var a Args
	list := List(&a, tagIDs)
	rows, err := q.Query(ctx, `SELECT DISTINCT model_type, model_id FROM model_tags WHERE tag_id IN `+list, a...)
	if err != nil {
		return nil, err
	}
	var models []string
	for rows.Next() {
		var t, id string
		if err := rows.Scan(&t, &id); err != nil {
			rows.Close()
			return nil, err
		}
		models = append(models, t+"/"+id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_, err = q.Exec(ctx, `DELETE FROM model_tags WHERE tag_id IN `+list, a...)
	return models, err
}

// TagsOfModels returns the tags attached to each of the given models of one
// type, ordered by tag name.
func (q *Queries) TagsOfModels(ctx context.Context, modelType string, modelIDs []string) (map[string][]*ModelTag, error) {
	out := make(map[string][]*ModelTag, len(modelIDs))
	if len(modelIDs) == 0 {
		return out, nil
	}
	var a Args
	typ := a.Add(modelType)
	rows, err := q.Query(ctx, `SELECT m.id, m.model_type, m.model_id, m.source, m.context, m.added_by, m.created_at, `+
		prefixed("t.", tagColumns)+` FROM model_tags m JOIN tags t ON t.id = m.tag_id WHERE m.model_type = `+typ+
		` AND m.model_id IN `+List(&a, modelIDs)+` ORDER BY t.name`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m ModelTag
		var t Tag
		if err := rows.Scan(&m.ID, &m.ModelType, &m.ModelID, &m.Source, &m.Context, &m.AddedBy, &m.CreatedAt,
			&t.ID, &t.Name, &t.Source, &t.Description, &t.Color, &t.Deleted, &t.SystemCreated, &t.Protected,
			&t.CreatedBy, &t.CreatedAt, &t.UpdatedAt); err != nil {
			return nil, err
		}
		m.Tag = &t
		out[m.ModelID] = append(out[m.ModelID], &m)
	}
	return out, rows.Err()
}

// prefixed qualifies each column of a comma-separated list.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// TagsWithChildren returns which of names have a live tag below them.
func (q *Queries) TagsWithChildren(ctx context.Context, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		var found bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tags WHERE deleted = FALSE AND SUBSTR(name, 1, $1) = $2)`,
			TextLen(n)+1, n+".").Scan(&found)
		if err != nil {
			return nil, err
		}
		if found {
			out[n] = true
		}
	}
	return out, nil
}
