package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Group is a group of users in an identity manager.
type Group struct {
	ID          int64
	IAMID       string
	Name        string
	GID         *string
	Email       *string
	Description *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const groupColumns = `id, iamid, name, gid, email, description, created_at, updated_at`

func scanGroup(row interface{ Scan(...any) error }) (*Group, error) {
	var g Group
	err := row.Scan(&g.ID, &g.IAMID, &g.Name, &g.GID, &g.Email, &g.Description, &g.CreatedAt, &g.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &g, err
}

// CreateGroup inserts g and sets its ID.
func (q *Queries) CreateGroup(ctx context.Context, g *Group) error {
	return q.QueryRow(ctx, `INSERT INTO groups (iamid, name, gid, email, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		g.IAMID, g.Name, g.GID, g.Email, g.Description, g.CreatedAt, g.UpdatedAt).Scan(&g.ID)
}

// UpdateGroup writes g's name, email and description.
func (q *Queries) UpdateGroup(ctx context.Context, g *Group) error {
	res, err := q.Exec(ctx, `UPDATE groups SET name = $2, email = $3, description = $4, updated_at = $5 WHERE id = $1`,
		g.ID, g.Name, g.Email, g.Description, g.UpdatedAt)
	return affectedOne(res, err)
}

// DeleteGroup removes a group, its memberships and attributes.
func (q *Queries) DeleteGroup(ctx context.Context, id int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM attributes WHERE model_type = 'group' AND model_id = $1`, id); err != nil {
		return err
	}
	res, err := q.Exec(ctx, `DELETE FROM groups WHERE id = $1`, id)
	return affectedOne(res, err)
}

// GetGroup returns the group with the given id.
func (q *Queries) GetGroup(ctx context.Context, id int64) (*Group, error) {
	return scanGroup(q.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1`, id))
}

// GetGroupByName returns the group with the given IAM and name.
func (q *Queries) GetGroupByName(ctx context.Context, iamid, name string) (*Group, error) {
	return scanGroup(q.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups WHERE iamid = $1 AND name = $2`, iamid, name))
}

// GroupFilter narrows a group search.
type GroupFilter struct {
	Name         string // partial, case-insensitive
	IDs          []int64
	MemberUserID int64 // groups this user belongs to
	IAMIDs       []string
	SortField    string // name, createdAt, iamid
	Descending   bool
	Offset, Size int
}

// SearchGroups returns one page of groups matching f and the total count.
func (q *Queries) SearchGroups(ctx context.Context, f GroupFilter) ([]*Group, int, error) {
	var a Args
	var conds []string
	if f.Name != "" {
		conds = append(conds, `LOWER(name) LIKE `+a.Add(LikePattern(f.Name))+` ESCAPE '\'`)
	}
	if len(f.IDs) > 0 {
		conds = append(conds, `id IN `+List(&a, f.IDs))
	}
	if f.MemberUserID != 0 {
		conds = append(conds, `id IN (SELECT group_id FROM group_members WHERE user_id = `+a.Add(f.MemberUserID)+`)`)
	}
	if len(f.IAMIDs) > 0 {
		conds = append(conds, `iamid IN `+List(&a, f.IAMIDs))
	}
	where := Where(conds)
	var total int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM groups`+where, a...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := map[string]string{"name": "LOWER(name)", "createdAt": "created_at", "iamid": "iamid"}[f.SortField]
	if order == "" {
		order = "LOWER(name)"
	}
	dir := "ASC"
	if f.Descending {
		dir = "DESC"
	}
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT %s FROM groups%s ORDER BY %s %s, id %s LIMIT %s OFFSET %s`,
		groupColumns, where, order, dir, dir, a.Add(f.Size), a.Add(f.Offset)), a...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, g)
	}
	return out, total, rows.Err()
}

// Membership is a user's membership in a group.
type Membership struct {
	ID        int64
	GroupID   int64
	UserID    int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AddMember adds a user to a group; adding an existing member returns the
// existing membership.
func (q *Queries) AddMember(ctx context.Context, m *Membership) error {
	err := q.QueryRow(ctx, `INSERT INTO group_members (group_id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_id, user_id) DO NOTHING RETURNING id`, m.GroupID, m.UserID, m.CreatedAt, m.UpdatedAt).Scan(&m.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return q.QueryRow(ctx, `SELECT id, created_at, updated_at FROM group_members WHERE group_id = $1 AND user_id = $2`,
			m.GroupID, m.UserID).Scan(&m.ID, &m.CreatedAt, &m.UpdatedAt)
	}
	return err
}

// GetMembership returns a membership by id.
func (q *Queries) GetMembership(ctx context.Context, id int64) (*Membership, error) {
	var m Membership
	err := q.QueryRow(ctx, `SELECT id, group_id, user_id, created_at, updated_at FROM group_members WHERE id = $1`, id).
		Scan(&m.ID, &m.GroupID, &m.UserID, &m.CreatedAt, &m.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &m, err
}

// RemoveMember deletes a membership by id.
func (q *Queries) RemoveMember(ctx context.Context, id int64) error {
	res, err := q.Exec(ctx, `DELETE FROM group_members WHERE id = $1`, id)
	return affectedOne(res, err)
}

// Member is a membership joined with its user.
type Member struct {
	Membership
	User *User
}

// GroupMembers returns one page of a group's members (ordered by user name) and the total.
func (q *Queries) GroupMembers(ctx context.Context, groupID int64, descending bool, offset, size int) ([]Member, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = $1`, groupID).Scan(&total); err != nil {
		return nil, 0, err
	}
	dir := "ASC"
	if descending {
		dir = "DESC"
	}
	rows, err := q.Query(ctx, `SELECT m.id, m.group_id, m.user_id, m.created_at, m.updated_at, u.id FROM group_members m
		JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY LOWER(u.name) `+dir+`, u.id `+dir+` LIMIT $2 OFFSET $3`,
		groupID, size, offset)
	if err != nil {
		return nil, 0, err
	}
	var out []Member
	var ids []int64
	for rows.Next() {
		var m Member
		var uid int64
		if err := rows.Scan(&m.ID, &m.GroupID, &m.UserID, &m.CreatedAt, &m.UpdatedAt, &uid); err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, m)
		ids = append(ids, uid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	users, err := q.UsersByID(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for i := range out {
		out[i].User = users[out[i].UserID]
	}
	return out, total, nil
}

// UsersByID loads the given users.
func (q *Queries) UsersByID(ctx context.Context, ids []int64) (map[int64]*User, error) {
	out := make(map[int64]*User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id IN `+List(&a, ids), a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out[u.ID] = u
	}
	return out, rows.Err()
}

// UserGroup is a group a user belongs to, with the membership id.
type UserGroup struct {
	Group        *Group
	MembershipID int64
}

// GroupsOfUsers returns the groups each of the given users belongs to, ordered by name.
func (q *Queries) GroupsOfUsers(ctx context.Context, userIDs ...int64) (map[int64][]UserGroup, error) {
	out := make(map[int64][]UserGroup, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	var a Args
	rows, err := q.Query(ctx, `SELECT m.user_id, m.id, g.id, g.iamid, g.name, g.gid, g.email, g.description, g.created_at,
		g.updated_at FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id IN `+List(&a, userIDs)+
		` ORDER BY g.name, g.id`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var uid, mid int64
		var g Group
		if err := rows.Scan(&uid, &mid, &g.ID, &g.IAMID, &g.Name, &g.GID, &g.Email, &g.Description, &g.CreatedAt, &g.UpdatedAt); err != nil {
			return nil, err
		}
		out[uid] = append(out[uid], UserGroup{Group: &g, MembershipID: mid})
	}
	return out, rows.Err()
}
