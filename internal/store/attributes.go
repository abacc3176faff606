package store

import (
	"context"
)

// Attribute model types.
const (
	ModelUser  = "user"
	ModelGroup = "group"
)

// Attributes maps an attribute name to its values.
type Attributes map[string][]string

// AddAttribute gives a user or group the value for the attribute name; adding
// an existing value changes nothing.
func (q *Queries) AddAttribute(ctx context.Context, modelType string, modelID int64, name, value string) error {
	_, err := q.Exec(ctx, `INSERT INTO attributes (model_type, model_id, name, value) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, modelType, modelID, name, value)
	return err
}

// RemoveAttribute removes one value of an attribute, or every value when value
// is empty. It reports whether anything was removed.
func (q *Queries) RemoveAttribute(ctx context.Context, modelType string, modelID int64, name, value string) (bool, error) {
	query := `DELETE FROM attributes WHERE model_type = $1 AND model_id = $2 AND name = $3`
	args := []any{modelType, modelID, name}
	if value != "" {
		query += ` AND value = $4`
		args = append(args, value)
	}
	res, err := q.Exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AttributesOf returns the attributes of each of the given models.
func (q *Queries) AttributesOf(ctx context.Context, modelType string, ids ...int64) (map[int64]Attributes, error) {
	out := make(map[int64]Attributes, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	typ := a.Add(modelType)
	rows, err := q.Query(ctx, `SELECT model_id, name, value FROM attributes WHERE model_type = `+typ+
		` AND model_id IN `+List(&a, ids)+` ORDER BY model_id, name, value`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, value string
		if err := rows.Scan(&id, &name, &value); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = Attributes{}
		}
		out[id][name] = append(out[id][name], value)
	}
	return out, rows.Err()
}

// AttributesOfUsers returns, in one query, each user's own attributes and
// those they hold through their groups.
func (q *Queries) AttributesOfUsers(ctx context.Context, ids ...int64) (own, viaGroups map[int64]Attributes, err error) {
	own, viaGroups = make(map[int64]Attributes, len(ids)), make(map[int64]Attributes, len(ids))
	if len(ids) == 0 {
		return own, viaGroups, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT 'user', model_id, name, value FROM attributes
		WHERE model_type = 'user' AND model_id IN `+List(&a, ids)+`
		UNION ALL SELECT 'group', m.user_id, x.name, x.value FROM attributes x
		JOIN group_members m ON x.model_type = 'group' AND x.model_id = m.group_id
		WHERE m.user_id IN `+List(&a, ids)+` ORDER BY 2, 3, 4`, a...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name, value string
		var id int64
		if err := rows.Scan(&kind, &id, &name, &value); err != nil {
			return nil, nil, err
		}
		dst := own
		if kind == "group" {
			dst = viaGroups
		}
		if dst[id] == nil {
			dst[id] = Attributes{}
		}
		dst[id][name] = append(dst[id][name], value)
	}
	return own, viaGroups, rows.Err()
}
