package projects

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/custosdata/custos/internal/store"
)

// Project is a project's own row.
type Project struct {
	ID               int64
	Key              string
	Name             string
	Status           string // open or closed
	Description      *string
	Documentation    *string
	AllowMaskedJoins bool
	// Policy says who may join; nil is manual.
	Policy *SubscriptionPolicy
	// Equalized projects limit their members to Equalization.
	Equalized    bool
	Equalization *Entitlements
	EqualizedAt  *time.Time
	// Deleted marks a disabled project, kept until deleted for good.
	Deleted   bool
	CreatedBy *int64
	UpdatedBy *int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Entitlements are groups and attribute values: what an equalized
// project's members are limited to.
type Entitlements struct {
	Groups     []string            `json:"groups"`
	Attributes map[string][]string `json:"attributes"`
}

const projectColumns = `id, project_key, name, status, description, documentation, allow_masked_joins,
	subscription_policy, equalized, equalization, equalized_at, deleted, created_by, updated_by, created_at, updated_at`

func scanProject(row interface{ Scan(...any) error }) (*Project, error) {
	var p Project
	var pol, eq store.JSON
	err := row.Scan(&p.ID, &p.Key, &p.Name, &p.Status, &p.Description, &p.Documentation, &p.AllowMaskedJoins, &pol,
		&p.Equalized, &eq, &p.EqualizedAt, &p.Deleted, &p.CreatedBy, &p.UpdatedBy, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	if len(pol) > 0 {
		if err := json.Unmarshal(pol, &p.Policy); err != nil {
			return nil, fmt.Errorf("project %d: subscription policy: %w", p.ID, err)
		}
	}
	if len(eq) > 0 {
		if err := json.Unmarshal(eq, &p.Equalization); err != nil {
			return nil, fmt.Errorf("project %d: equalization: %w", p.ID, err)
		}
	}
	return &p, nil
}

func scanProjects(rows *sql.Rows, err error) ([]*Project, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func getProject(ctx context.Context, q *store.Queries, id int64) (*Project, error) {
	return scanProject(q.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
}

func getProjectByKey(ctx context.Context, q *store.Queries, key string) (*Project, error) {
	return scanProject(q.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE project_key = $1`, key))
}

func allProjects(ctx context.Context, q *store.Queries) ([]*Project, error) {
	return scanProjects(q.Query(ctx, `SELECT `+projectColumns+` FROM projects ORDER BY id`))
}

func projectsByID(ctx context.Context, q *store.Queries, ids []int64) (map[int64]*Project, error) {
	out := map[int64]*Project{}
	if len(ids) == 0 {
		return out, nil
	}
	var a store.Args
	list, err := scanProjects(q.Query(ctx, `SELECT `+projectColumns+` FROM projects WHERE id IN `+store.List(&a, ids), a...))
	for _, p := range list {
		out[p.ID] = p
	}
	return out, err
}

func jsonOrNil(v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// saveProject inserts p (ID 0) or updates it.
func saveProject(ctx context.Context, q *store.Queries, p *Project) error {
	pol, err := jsonOrNil(p.Policy, p.Policy == nil)
	if err != nil {
		return err
	}
	eq, err := jsonOrNil(p.Equalization, p.Equalization == nil)
	if err != nil {
		return err
	}
	if p.ID == 0 {
		return q.QueryRow(ctx, `INSERT INTO projects (project_key, name, status, description, documentation,
			allow_masked_joins, subscription_policy, equalized, equalization, equalized_at, deleted, created_by, updated_by,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			p.Key, p.Name, p.Status, p.Description, p.Documentation, p.AllowMaskedJoins, pol, p.Equalized, eq, p.EqualizedAt,
			p.Deleted, p.CreatedBy, p.UpdatedBy, p.CreatedAt, p.UpdatedAt).Scan(&p.ID)
	}
	_, err = q.Exec(ctx, `UPDATE projects SET project_key = $2, name = $3, status = $4, description = $5, documentation = $6,
		allow_masked_joins = $7, subscription_policy = $8, equalized = $9, equalization = $10, equalized_at = $11,
		deleted = $12, updated_by = $13, updated_at = $14 WHERE id = $1`,
		p.ID, p.Key, p.Name, p.Status, p.Description, p.Documentation, p.AllowMaskedJoins, pol, p.Equalized, eq,
		p.EqualizedAt, p.Deleted, p.UpdatedBy, p.UpdatedAt)
	return err
}

// Purpose is a purpose a project works under, with what its members must
// acknowledge.
type Purpose struct {
	ID                     int64
	Name                   string
	Acknowledgement        *string // the purpose's own statement; nil inherits
	Description            *string
	DisplayAcknowledgement bool
	Deleted                bool
	SystemGenerated        bool
	PolicyMetadata         json.RawMessage
	AddedBy                *int64
	CreatedAt              time.Time
	UpdatedAt              time.Time
	Version                int64 // acknowledgement_version
	RequiredVersion        int64 // required_acknowledgement_version
	Staged                 bool  // staged in this project: waiting, gives nothing
}

// live reports whether the purpose counts for the project's members.
func (p *Purpose) live() bool { return !p.Deleted && !p.Staged }

// needsAcknowledgement reports whether members acknowledge the purpose.
func (p *Purpose) needsAcknowledgement() bool { return p.live() && p.DisplayAcknowledgement }

// purposesOf returns the purposes of the given projects, by project, by name.
func purposesOf(ctx context.Context, q *store.Queries, projectIDs []int64) (map[int64][]*Purpose, error) {
	out := map[int64][]*Purpose{}
	if len(projectIDs) == 0 {
		return out, nil
	}
	var a store.Args
	rows, err := q.Query(ctx, `SELECT pp.project_id, p.id, p.name, p.acknowledgement, p.description, p.display_acknowledgement,
		p.deleted, p.system_generated, p.policy_metadata, p.added_by, p.created_at, p.updated_at, p.acknowledgement_version,
		p.required_acknowledgement_version, pp.staged FROM project_purposes pp JOIN purposes p ON p.id = pp.purpose_id
		WHERE pp.project_id IN `+store.List(&a, projectIDs)+` ORDER BY pp.project_id, p.name`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var x Purpose
		var meta store.JSON
		if err := rows.Scan(&pid, &x.ID, &x.Name, &x.Acknowledgement, &x.Description, &x.DisplayAcknowledgement, &x.Deleted,
			&x.SystemGenerated, &meta, &x.AddedBy, &x.CreatedAt, &x.UpdatedAt, &x.Version, &x.RequiredVersion, &x.Staged); err != nil {
			return nil, err
		}
		x.PolicyMetadata = json.RawMessage(meta)
		out[pid] = append(out[pid], &x)
	}
	return out, rows.Err()
}

// purposeIDsByName resolves live purpose names.
func purposeIDsByName(ctx context.Context, q *store.Queries, names []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(names) == 0 {
		return out, nil
	}
	var a store.Args
	rows, err := q.Query(ctx, `SELECT id, name FROM purposes WHERE deleted = FALSE AND name IN `+store.List(&a, names), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[n] = id
	}
	return out, rows.Err()
}

// livePurposeIDs keeps the ids of live purposes.
func livePurposeIDs(ctx context.Context, q *store.Queries, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var a store.Args
	got, err := store.Int64s(q.Query(ctx, `SELECT id FROM purposes WHERE deleted = FALSE AND id IN `+store.List(&a, ids), a...))
	for _, id := range got {
		out[id] = true
	}
	return out, err
}

// Member is a row of project_members: a member, or a request to join.
type Member struct {
	ID         int64
	ProjectID  int64
	ModelType  string // user or group
	ModelID    int64
	State      string // owner, expert, subscribed, pending, denied
	Expiration *time.Time
	Reason     *string
	ApprovedBy *int64
	Approvals  json.RawMessage
	Metadata   json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
	announced  bool // its expiration was handled
}

// active reports whether the row makes its user or group a member at t.
func (m *Member) active(t time.Time) bool {
	switch m.State {
	case stateOwner, stateExpert, stateSubscribed:
		return m.Expiration == nil || t.Before(*m.Expiration)
	}
	return false
}

// Member states.
const (
	stateOwner         = "owner"
	stateExpert        = "expert"
	stateSubscribed    = "subscribed"
	statePending       = "pending"
	stateDenied        = "denied"
	stateNotSubscribed = "not_subscribed"
)

const memberColumns = `id, project_id, model_type, model_id, state, expiration, reason, approved_by, approvals, metadata,
	created_at, updated_at, expiry_announced`

func scanMember(row interface{ Scan(...any) error }) (*Member, error) {
	var m Member
	var approvals, meta store.JSON
	err := row.Scan(&m.ID, &m.ProjectID, &m.ModelType, &m.ModelID, &m.State, &m.Expiration, &m.Reason, &m.ApprovedBy,
		&approvals, &meta, &m.CreatedAt, &m.UpdatedAt, &m.announced)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	m.Approvals, m.Metadata = json.RawMessage(approvals), json.RawMessage(meta)
	return &m, err
}

func scanMembers(rows *sql.Rows, err error) ([]*Member, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func getMember(ctx context.Context, q *store.Queries, id int64) (*Member, error) {
	return scanMember(q.QueryRow(ctx, `SELECT `+memberColumns+` FROM project_members WHERE id = $1`, id))
}

func membersOf(ctx context.Context, q *store.Queries, projectID int64) ([]*Member, error) {
	return scanMembers(q.Query(ctx, `SELECT `+memberColumns+` FROM project_members WHERE project_id = $1 ORDER BY id`, projectID))
}

func memberRow(ctx context.Context, q *store.Queries, projectID int64, modelType string, modelID int64) (*Member, error) {
	return scanMember(q.QueryRow(ctx, `SELECT `+memberColumns+` FROM project_members WHERE project_id = $1
		AND model_type = $2 AND model_id = $3`, projectID, modelType, modelID))
}

// membershipsOf returns the rows naming the user directly or through their
// groups, in the given projects (every project when ids is nil).
func membershipsOf(ctx context.Context, q *store.Queries, userID int64, projectIDs []int64) ([]*Member, error) {
	var a store.Args
	u := a.Add(userID)
	where := `((model_type = 'user' AND model_id = ` + u + `) OR (model_type = 'group' AND model_id IN
		(SELECT group_id FROM group_members WHERE user_id = ` + u + `)))`
	if projectIDs != nil {
		if len(projectIDs) == 0 {
			return nil, nil
		}
		where += ` AND project_id IN ` + store.List(&a, projectIDs)
	}
	return scanMembers(q.Query(ctx, `SELECT `+memberColumns+` FROM project_members WHERE `+where+` ORDER BY id`, a...))
}

// putMember inserts m (ID 0) or updates it.
func putMember(ctx context.Context, q *store.Queries, m *Member) error {
	var approvals, meta any
	if len(m.Approvals) > 0 && string(m.Approvals) != "null" {
		approvals = string(m.Approvals)
	}
	if len(m.Metadata) > 0 && string(m.Metadata) != "null" {
		meta = string(m.Metadata)
	}
	if m.ID == 0 {
		return q.QueryRow(ctx, `INSERT INTO project_members (project_id, model_type, model_id, state, expiration,
			expiry_announced, reason, approved_by, approvals, metadata, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9, $10, $11) RETURNING id`,
			m.ProjectID, m.ModelType, m.ModelID, m.State, m.Expiration, m.Reason, m.ApprovedBy, approvals, meta,
			m.CreatedAt, m.UpdatedAt).Scan(&m.ID)
	}
	_, err := q.Exec(ctx, `UPDATE project_members SET state = $2, expiration = $3, expiry_announced = FALSE, reason = $4,
		approved_by = $5, approvals = $6, metadata = $7, updated_at = $8 WHERE id = $1`,
		m.ID, m.State, m.Expiration, m.Reason, m.ApprovedBy, approvals, meta, m.UpdatedAt)
	return err
}

// acknowledgements returns the versions a user acknowledged of a project's
// purposes, by purpose id.
func acknowledgements(ctx context.Context, q *store.Queries, projectID, userID int64) (map[int64]int64, error) {
	rows, err := q.Query(ctx, `SELECT purpose_id, version FROM project_acknowledgements WHERE project_id = $1 AND user_id = $2`,
		projectID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var pid, v int64
		if err := rows.Scan(&pid, &v); err != nil {
			return nil, err
		}
		out[pid] = v
	}
	return out, rows.Err()
}

// acknowledged reports whether a user with these acknowledgements has
// acknowledged every purpose that needs it at its required version.
func acknowledged(purposes []*Purpose, acks map[int64]int64) bool {
	for _, p := range purposes {
		if p.needsAcknowledgement() && acks[p.ID] < p.RequiredVersion {
			return false
		}
	}
	return true
}

// DataSource is a data source of a project.
type DataSource struct {
	ProjectID    int64
	DataSourceID int64
	AddedBy      *int64
	Reason       *string
	CreatedAt    time.Time
}

func dataSourcesOf(ctx context.Context, q *store.Queries, projectIDs []int64) (map[int64][]*DataSource, error) {
	out := map[int64][]*DataSource{}
	if len(projectIDs) == 0 {
		return out, nil
	}
	var a store.Args
	rows, err := q.Query(ctx, `SELECT project_id, data_source_id, added_by, reason, created_at FROM project_data_sources
		WHERE project_id IN `+store.List(&a, projectIDs)+` ORDER BY project_id, data_source_id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d DataSource
		if err := rows.Scan(&d.ProjectID, &d.DataSourceID, &d.AddedBy, &d.Reason, &d.CreatedAt); err != nil {
			return nil, err
		}
		out[d.ProjectID] = append(out[d.ProjectID], &d)
	}
	return out, rows.Err()
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
