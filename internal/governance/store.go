package governance

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/custosdata/custos/internal/store"
)

// Persistence of the governance tables (migration 0200): global policies,
// owner applications, policy handlers and purposes, plus the set-based
// reads that load the engine.

// storedPolicy is a row of policies.
type storedPolicy struct {
	ID                  int64
	PolicyKey           string
	Name                string
	Type                string
	Document            store.JSON
	Staged              bool
	Template            bool
	OwnerApplied        bool
	SystemGenerated     bool
	ClonedFrom          *int64
	RecertifyRequiredAt *time.Time
	CreatedBy           *int64
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

const policyColumns = `id, policy_key, name, type, document, staged, template, owner_applied, system_generated,
	cloned_from, recertify_required_at, created_by, created_at, updated_at`

func scanPolicy(row interface{ Scan(...any) error }) (*storedPolicy, error) {
	var p storedPolicy
	err := row.Scan(&p.ID, &p.PolicyKey, &p.Name, &p.Type, &p.Document, &p.Staged, &p.Template, &p.OwnerApplied,
		&p.SystemGenerated, &p.ClonedFrom, &p.RecertifyRequiredAt, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return &p, err
}

func scanPolicies(rows *sql.Rows, err error) ([]*storedPolicy, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*storedPolicy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func insertPolicy(ctx context.Context, q *store.Queries, p *storedPolicy) error {
	return q.QueryRow(ctx, `INSERT INTO policies (policy_key, name, type, document, staged, template, owner_applied,
		system_generated, cloned_from, recertify_required_at, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		p.PolicyKey, p.Name, p.Type, p.Document, p.Staged, p.Template, p.OwnerApplied, p.SystemGenerated, p.ClonedFrom,
		p.RecertifyRequiredAt, p.CreatedBy, p.CreatedAt, p.UpdatedAt).Scan(&p.ID)
}

func updatePolicy(ctx context.Context, q *store.Queries, p *storedPolicy) error {
	_, err := q.Exec(ctx, `UPDATE policies SET policy_key = $2, name = $3, type = $4, document = $5, staged = $6,
		template = $7, owner_applied = $8, recertify_required_at = $9, updated_at = $10 WHERE id = $1`,
		p.ID, p.PolicyKey, p.Name, p.Type, p.Document, p.Staged, p.Template, p.OwnerApplied, p.RecertifyRequiredAt,
		p.UpdatedAt)
	return err
}

func deletePolicy(ctx context.Context, q *store.Queries, id int64) error {
	_, err := q.Exec(ctx, `DELETE FROM policies WHERE id = $1`, id)
	return err
}

func getPolicy(ctx context.Context, q *store.Queries, id int64) (*storedPolicy, error) {
	return scanPolicy(q.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies WHERE id = $1`, id))
}

func getPolicyByKey(ctx context.Context, q *store.Queries, key string) (*storedPolicy, error) {
	return scanPolicy(q.QueryRow(ctx, `SELECT `+policyColumns+` FROM policies WHERE policy_key = $1`, key))
}

func allPolicies(ctx context.Context, q *store.Queries) ([]*storedPolicy, error) {
	return scanPolicies(q.Query(ctx, `SELECT `+policyColumns+` FROM policies ORDER BY id`))
}

// userNames maps user ids to display names, for createdByName.
func userNames(ctx context.Context, q *store.Queries, ids []int64) (map[int64]string, error) {
	users, err := q.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(users))
	for id, u := range users {
		out[id] = u.Name
	}
	return out, nil
}

// handler is a version of a data source's policy handler.
type handler struct {
	ID           int64
	DataSourceID int64
	JSONPolicies store.JSON
	CreatedBy    *int64
	CreatedAt    time.Time
}

func insertHandler(ctx context.Context, q *store.Queries, h *handler) error {
	return q.QueryRow(ctx, `INSERT INTO policy_handlers (data_source_id, json_policies, created_by, created_at)
		VALUES ($1, $2, $3, $4) RETURNING id`, h.DataSourceID, h.JSONPolicies, h.CreatedBy, h.CreatedAt).Scan(&h.ID)
}

func scanHandler(row interface{ Scan(...any) error }) (*handler, error) {
	var h handler
	err := row.Scan(&h.ID, &h.DataSourceID, &h.JSONPolicies, &h.CreatedBy, &h.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return &h, err
}

// handlers returns the versions of a data source's handler, newest first.
func handlers(ctx context.Context, q *store.Queries, dataSourceID int64) ([]*handler, error) {
	rows, err := q.Query(ctx, `SELECT id, data_source_id, json_policies, created_by, created_at FROM policy_handlers
		WHERE data_source_id = $1 ORDER BY id DESC`, dataSourceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*handler
	for rows.Next() {
		h, err := scanHandler(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// application is a policy applied by a data source's owners.
type application struct {
	PolicyID     int64
	DataSourceID int64
	Merged       bool
}

// inIDs returns " AND <column> IN (...)" for ids, or "" when ids is nil
// (meaning every row).
func inIDs(a *store.Args, column string, ids []int64) string {
	if ids == nil {
		return ""
	}
	return ` AND ` + column + ` IN ` + store.List(a, ids)
}

// dataSourceRow is what the engine needs from a data_sources row.
type dataSourceRow struct {
	ID              int64
	Name            string
	Status          string
	CreatedAt       time.Time
	EventTimeColumn *string
	Server          *string
}

// loadSources reads everything the engine needs about the given data
// sources (every data source when ids is nil) in a few set-based queries.
func loadSources(ctx context.Context, q *store.Queries, ids []int64) (map[int64]*loadedSource, error) {
	if ids != nil && len(ids) == 0 {
		return map[int64]*loadedSource{}, nil
	}
	out := map[int64]*loadedSource{}
	var a store.Args
	rows, err := q.Query(ctx, `SELECT d.id, d.name, d.status, d.created_at, d.event_time_column, c.connection_string
		FROM data_sources d LEFT JOIN connections c ON c.id = d.connection_id WHERE 1 = 1`+inIDs(&a, "d.id", ids), a...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r dataSourceRow
		if err := rows.Scan(&r.ID, &r.Name, &r.Status, &r.CreatedAt, &r.EventTimeColumn, &r.Server); err != nil {
			rows.Close()
			return nil, err
		}
		out[r.ID] = &loadedSource{row: r}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	a = nil
	rows, err = q.Query(ctx, `SELECT data_source_id, name, data_type FROM data_source_columns WHERE 1 = 1`+
		inIDs(&a, "data_source_id", ids)+` ORDER BY data_source_id, position, name`, a...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var name, typ string
		if err := rows.Scan(&id, &name, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		if s := out[id]; s != nil {
			s.columns = append(s.columns, column{name: name, typ: typ})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := loadSourceTags(ctx, q, ids, out); err != nil {
		return nil, err
	}
	if err := loadOwners(ctx, q, ids, out); err != nil {
		return nil, err
	}
	a = nil
	rows, err = q.Query(ctx, `SELECT h.data_source_id, h.id, h.json_policies FROM policy_handlers h WHERE h.id IN
		(SELECT MAX(id) FROM policy_handlers WHERE 1 = 1`+inIDs(&a, "data_source_id", ids)+` GROUP BY data_source_id)`, a...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, hid int64
		var doc store.JSON
		if err := rows.Scan(&id, &hid, &doc); err != nil {
			rows.Close()
			return nil, err
		}
		if s := out[id]; s != nil {
			s.handlerID, s.local = hid, doc
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	a = nil
	rows, err = q.Query(ctx, `SELECT data_source_id, policy_id FROM policy_applications WHERE 1 = 1`+
		inIDs(&a, "data_source_id", ids)+` ORDER BY data_source_id, policy_id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, pid int64
		if err := rows.Scan(&id, &pid); err != nil {
			return nil, err
		}
		if s := out[id]; s != nil {
			s.applied = append(s.applied, pid)
		}
	}
	return out, rows.Err()
}

type column struct {
	name, typ string
	tags      []string
}

// loadedSource is a data source as read from the store, before it becomes
// a policy.DataSource.
type loadedSource struct {
	row         dataSourceRow
	columns     []column
	tags        []string
	ownerUsers  []ownerUser
	ownerGroups []string
	handlerID   int64
	local       store.JSON
	applied     []int64
}

type ownerUser struct{ iamid, userid string }

// loadSourceTags reads the tags of the data sources and of their columns.
func loadSourceTags(ctx context.Context, q *store.Queries, ids []int64, out map[int64]*loadedSource) error {
	var a store.Args
	cond := `m.model_type IN ('datasource', 'column')`
	if ids != nil {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = strconv.FormatInt(id, 10)
		}
		cond = `((m.model_type = 'datasource' AND m.model_id IN ` + store.List(&a, keys) + `) OR (m.model_type = 'column'
			AND m.model_id IN (SELECT CAST(data_source_id AS TEXT) || '_' || name FROM data_source_columns
			WHERE data_source_id IN ` + store.List(&a, ids) + `)))`
	}
	rows, err := q.Query(ctx, `SELECT m.model_type, m.model_id, t.name FROM model_tags m JOIN tags t ON t.id = m.tag_id
		WHERE t.deleted = FALSE AND `+cond+` ORDER BY m.model_type, m.model_id, t.name`, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var typ, id, tag string
		if err := rows.Scan(&typ, &id, &tag); err != nil {
			return err
		}
		if typ == "datasource" {
			n, err := strconv.ParseInt(id, 10, 64)
			if s := out[n]; err == nil && s != nil {
				s.tags = append(s.tags, tag)
			}
			continue
		}
		ds, col, ok := store.ParseColumnModelID(id)
		if s := out[ds]; ok && s != nil {
			for i := range s.columns {
				if s.columns[i].name == col {
					s.columns[i].tags = append(s.columns[i].tags, tag)
					break
				}
			}
		}
	}
	return rows.Err()
}

// loadOwners reads the owners of the data sources (users by identity, groups
// by name) whose owner rows have not expired.
func loadOwners(ctx context.Context, q *store.Queries, ids []int64, out map[int64]*loadedSource) error {
	var a store.Args
	now := a.Add(store.Now())
	rows, err := q.Query(ctx, `SELECT a.data_source_id, a.model_type, u.iamid, u.userid, g.name FROM data_source_access a
		LEFT JOIN users u ON a.model_type = 'user' AND u.id = a.model_id
		LEFT JOIN groups g ON a.model_type = 'group' AND g.id = a.model_id
		WHERE a.state = 'owner' AND (a.expiration IS NULL OR a.expiration > `+now+`)`+
		inIDs(&a, "a.data_source_id", ids)+` ORDER BY a.data_source_id, a.id`, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var typ string
		var iamid, userid, group *string
		if err := rows.Scan(&id, &typ, &iamid, &userid, &group); err != nil {
			return err
		}
		s := out[id]
		switch {
		case s == nil:
		case typ == "user" && userid != nil:
			s.ownerUsers = append(s.ownerUsers, ownerUser{iamid: *iamid, userid: *userid})
		case typ == "group" && group != nil:
			s.ownerGroups = append(s.ownerGroups, *group)
		}
	}
	return rows.Err()
}

// sourcesTagged lists the data sources carrying, on themselves or a
// column, a tag named name or below it.
func sourcesTagged(ctx context.Context, q *store.Queries, name string) ([]int64, error) {
	prefix := name + "."
	rows, err := q.Query(ctx, `SELECT DISTINCT m.model_type, m.model_id FROM model_tags m JOIN tags t ON t.id = m.tag_id
		WHERE m.model_type IN ('datasource', 'column') AND (t.name = $1 OR SUBSTR(t.name, 1, $2) = $3)`,
		name, store.TextLen(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[int64]bool{}
	var out []int64
	for rows.Next() {
		var typ, id string
		if err := rows.Scan(&typ, &id); err != nil {
			return nil, err
		}
		var ds int64
		if typ == "datasource" {
			ds, _ = strconv.ParseInt(id, 10, 64)
		} else {
			ds, _, _ = store.ParseColumnModelID(id)
		}
		if ds != 0 && !seen[ds] {
			seen[ds] = true
			out = append(out, ds)
		}
	}
	return out, rows.Err()
}

// sourcesOfConnection lists the data sources registered on a connection.
func sourcesOfConnection(ctx context.Context, q *store.Queries, connectionID int64) ([]int64, error) {
	return store.Int64s(q.Query(ctx, `SELECT id FROM data_sources WHERE connection_id = $1 ORDER BY id`, connectionID))
}
