package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// User is a user of an identity manager with their profile. ID is also the
// profile id.
type User struct {
	ID               int64
	IAMID            string
	UserID           string
	PasswordHash     *string
	Disabled         bool
	SystemGenerated  bool
	Name             string
	Email            string
	Phone            *string
	About            *string
	Location         *string
	Organization     *string
	Position         *string
	SQLUser          *string
	ExternalUserIDs  JSON
	Preferences      JSON
	SCIM             JSON
	CurrentProjectID *int64
	LastLogin        *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

const userColumns = `id, iamid, userid, password_hash, disabled, system_generated, name, email, phone, about,
	location, organization, position, sql_user, external_user_ids, preferences, scim, current_project_id,
	last_login, created_at, updated_at`

// dest lists where each of userColumns is scanned.
func (u *User) dest() []any {
	return []any{&u.ID, &u.IAMID, &u.UserID, &u.PasswordHash, &u.Disabled, &u.SystemGenerated, &u.Name,
		&u.Email, &u.Phone, &u.About, &u.Location, &u.Organization, &u.Position, &u.SQLUser,
		&u.ExternalUserIDs, &u.Preferences, &u.SCIM, &u.CurrentProjectID, &u.LastLogin, &u.CreatedAt, &u.UpdatedAt}
}

func scanUser(row interface{ Scan(...any) error }, extra ...any) (*User, error) {
	var u User
	err := row.Scan(append(u.dest(), extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &u, err
}

// CreateUser inserts u and sets its ID.
func (q *Queries) CreateUser(ctx context.Context, u *User) error {
	return q.QueryRow(ctx, `INSERT INTO users (iamid, userid, password_hash, disabled, system_generated, name, email,
		phone, about, location, organization, position, sql_user, external_user_ids, preferences, scim,
		current_project_id, last_login, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id`,
		u.IAMID, u.UserID, u.PasswordHash, u.Disabled, u.SystemGenerated, u.Name, u.Email, u.Phone, u.About,
		u.Location, u.Organization, u.Position, u.SQLUser, u.ExternalUserIDs, u.Preferences, u.SCIM,
		u.CurrentProjectID, u.LastLogin, u.CreatedAt, u.UpdatedAt).Scan(&u.ID)
}

// UpdateUser writes u's profile, password, disabled flag and update time.
// The current project and the last login have writers of their own (the
// projects service, SetLastLogin), so that a u read earlier cannot undo them.
func (q *Queries) UpdateUser(ctx context.Context, u *User) error {
	res, err := q.Exec(ctx, `UPDATE users SET password_hash = $2, disabled = $3, name = $4, email = $5, phone = $6,
		about = $7, location = $8, organization = $9, position = $10, sql_user = $11, external_user_ids = $12,
		preferences = $13, scim = $14, updated_at = $15 WHERE id = $1`,
		u.ID, u.PasswordHash, u.Disabled, u.Name, u.Email, u.Phone, u.About, u.Location, u.Organization,
		u.Position, u.SQLUser, u.ExternalUserIDs, u.Preferences, u.SCIM, u.UpdatedAt)
	return affectedOne(res, err)
}

// SetLastLogin records a user's login.
func (q *Queries) SetLastLogin(ctx context.Context, id int64, at time.Time) error {
	res, err := q.Exec(ctx, `UPDATE users SET last_login = $2 WHERE id = $1`, id, at)
	return affectedOne(res, err)
}

// DeleteUser removes a user with their memberships, keys, tokens and attributes.
func (q *Queries) DeleteUser(ctx context.Context, id int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM attributes WHERE model_type = 'user' AND model_id = $1`, id); err != nil {
		return err
	}
	res, err := q.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	return affectedOne(res, err)
}

// GetUser returns the user with the given id.
func (q *Queries) GetUser(ctx context.Context, id int64) (*User, error) {
	return scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// LockUser reads a user for a change that depends on what it reads: on
// PostgreSQL the row stays locked until the transaction ends, so that two
// changes to one user cannot both start from the same state (SQLite
// transactions already hold the database's write lock).
func (q *Queries) LockUser(ctx context.Context, id int64) (*User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	if q.backend == Postgres {
		query += ` FOR UPDATE`
	}
	return scanUser(q.QueryRow(ctx, query, id))
}

// GetUserByName returns the user with the given IAM and user id.
func (q *Queries) GetUserByName(ctx context.Context, iamid, userid string) (*User, error) {
	return scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE iamid = $1 AND userid = $2`, iamid, userid))
}

// CountUsers counts all users.
func (q *Queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// UserFilter narrows a user search. Empty fields do not filter.
type UserFilter struct {
	Name                    string // partial, case-insensitive
	UserID                  string // partial
	Email                   string // partial
	IAMIDs                  []string
	ProfileIDs              []int64
	Permission              string
	ExcludeSystemGenerated  bool
	ExcludeBIM              bool
	ExcludeAdminAndGovernor bool // users holding ADMIN or GOVERNANCE
	IncludeDisabled         bool
	SortField               string // name, createdAt, iamid, email
	Descending              bool
	Offset, Size            int
}

// SearchUsers returns one page of users matching f and the total count.
func (q *Queries) SearchUsers(ctx context.Context, f UserFilter) ([]*User, int, error) {
	var a Args
	var conds []string
	if f.Name != "" {
		conds = append(conds, `LOWER(name) LIKE `+a.Add(LikePattern(f.Name))+` ESCAPE '\'`)
	}
	if f.UserID != "" {
		conds = append(conds, `LOWER(userid) LIKE `+a.Add(LikePattern(f.UserID))+` ESCAPE '\'`)
	}
	if f.Email != "" {
		conds = append(conds, `LOWER(email) LIKE `+a.Add(LikePattern(f.Email))+` ESCAPE '\'`)
	}
	if len(f.IAMIDs) > 0 {
		conds = append(conds, `iamid IN `+List(&a, f.IAMIDs))
	}
	if len(f.ProfileIDs) > 0 {
		conds = append(conds, `id IN `+List(&a, f.ProfileIDs))
	}
	if f.Permission != "" {
		conds = append(conds, `id IN (SELECT user_id FROM user_permissions WHERE permission = `+a.Add(f.Permission)+`)`)
	}
	if f.ExcludeSystemGenerated {
		conds = append(conds, `system_generated = FALSE`)
	}
	if f.ExcludeBIM {
		conds = append(conds, `iamid <> 'bim'`)
	}
	if f.ExcludeAdminAndGovernor {
		conds = append(conds, `id NOT IN (SELECT user_id FROM user_permissions WHERE permission IN ('ADMIN', 'GOVERNANCE'))`)
	}
	if !f.IncludeDisabled {
		conds = append(conds, `disabled = FALSE`)
	}
	where := Where(conds)
	order := map[string]string{"name": "LOWER(name)", "createdAt": "created_at", "iamid": "iamid", "email": "LOWER(email)"}[f.SortField]
	if order == "" {
		order = "LOWER(name)"
	}
	dir := "ASC"
	if f.Descending {
		dir = "DESC"
	}
	var users []*User
	total, err := q.page(ctx, "users", userColumns, where, order+" "+dir+", id "+dir, a, f.Offset, f.Size,
		func(rows *sql.Rows, total *int) error {
			u, err := scanUser(rows, total)
			users = append(users, u)
			return err
		})
	return users, total, err
}

// UserPermissions returns the permissions of each of the given users.
func (q *Queries) UserPermissions(ctx context.Context, ids ...int64) (map[int64][]string, error) {
	out := make(map[int64][]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT user_id, permission FROM user_permissions WHERE user_id IN `+List(&a, ids)+
		` ORDER BY user_id, permission`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, err
		}
		out[id] = append(out[id], p)
	}
	return out, rows.Err()
}

// SetUserPermissions replaces a user's permissions.
func (q *Queries) SetUserPermissions(ctx context.Context, id int64, perms []string) error {
	if _, err := q.Exec(ctx, `DELETE FROM user_permissions WHERE user_id = $1`, id); err != nil {
		return err
	}
	for _, p := range perms {
		if _, err := q.Exec(ctx, `INSERT INTO user_permissions (user_id, permission) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, id, p); err != nil {
			return err
		}
	}
	return nil
}

// CountUsersWithPermission counts enabled users holding permission.
func (q *Queries) CountUsersWithPermission(ctx context.Context, permission string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM user_permissions p JOIN users u ON u.id = p.user_id
		WHERE p.permission = $1 AND u.disabled = FALSE`, permission).Scan(&n)
	return n, err
}

func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// withPermissions reads rows holding before's columns, then the user's
// columns, then one nullable permission, as the LEFT JOIN queries below
// return them: one row per permission, or one row with NULL.
func withPermissions(rows *sql.Rows, before ...any) (*User, []string, error) {
	defer rows.Close()
	var u *User
	perms := []string{}
	for rows.Next() {
		var row User
		var perm *string
		if err := rows.Scan(append(append(before, row.dest()...), &perm)...); err != nil {
			return nil, nil, err
		}
		if u == nil {
			u = &row
		}
		if perm != nil {
			perms = append(perms, *perm)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if u == nil {
		return nil, nil, ErrNotFound
	}
	return u, perms, nil
}

// UserWithPermissions returns a user and their permissions in one query:
// authentication runs it on every request.
func (q *Queries) UserWithPermissions(ctx context.Context, id int64) (*User, []string, error) {
	rows, err := q.Query(ctx, `SELECT `+prefixed("u.", userColumns)+`, p.permission FROM users u
		LEFT JOIN user_permissions p ON p.user_id = u.id WHERE u.id = $1 ORDER BY p.permission`, id)
	if err != nil {
		return nil, nil, err
	}
	return withPermissions(rows)
}

// APIKeyUser returns the API key with the given hash, its user and the
// user's permissions in one query: authentication runs it on every request
// made with an API key.
func (q *Queries) APIKeyUser(ctx context.Context, hash string) (*APIKey, *User, []string, error) {
	rows, err := q.Query(ctx, `SELECT k.id, k.project_id, `+prefixed("u.", userColumns)+`, p.permission
		FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN user_permissions p ON p.user_id = u.id
		WHERE k.key_hash = $1 ORDER BY p.permission`, hash)
	if err != nil {
		return nil, nil, nil, err
	}
	k := &APIKey{KeyHash: hash}
	u, perms, err := withPermissions(rows, &k.ID, &k.ProjectID)
	if err != nil {
		return nil, nil, nil, err
	}
	k.UserID = u.ID
	return k, u, perms, nil
}
