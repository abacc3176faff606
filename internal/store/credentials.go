package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// APIKey is a long-lived credential; only its hash is stored.
type APIKey struct {
	ID        int64
	UserID    int64
	Name      *string
	KeyHash   string
	ProjectID *int64
	CreatedAt time.Time
	LastUsed  *time.Time
}

const apiKeyColumns = `id, user_id, name, key_hash, project_id, created_at, last_used`

func scanAPIKey(row interface{ Scan(...any) error }) (*APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.KeyHash, &k.ProjectID, &k.CreatedAt, &k.LastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &k, err
}

// CreateAPIKey inserts k and sets its ID.
func (q *Queries) CreateAPIKey(ctx context.Context, k *APIKey) error {
	return q.QueryRow(ctx, `INSERT INTO api_keys (user_id, name, key_hash, project_id, created_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING id`, k.UserID, k.Name, k.KeyHash, k.ProjectID, k.CreatedAt).Scan(&k.ID)
}

// GetAPIKey returns a key by id.
func (q *Queries) GetAPIKey(ctx context.Context, id int64) (*APIKey, error) {
	return scanAPIKey(q.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
}

// GetAPIKeyByHash returns the key with the given hash.
func (q *Queries) GetAPIKeyByHash(ctx context.Context, hash string) (*APIKey, error) {
	return scanAPIKey(q.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1`, hash))
}

// APIKeysOfUser lists a user's keys, newest first.
func (q *Queries) APIKeysOfUser(ctx context.Context, userID int64) ([]*APIKey, error) {
	rows, err := q.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = $1 ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAPIKey removes a key and every token issued from it, returning how
// many tokens were revoked.
func (q *Queries) DeleteAPIKey(ctx context.Context, id int64) (int64, error) {
	res, err := q.Exec(ctx, `DELETE FROM tokens WHERE api_key_id = $1`, id)
	if err != nil {
		return 0, err
	}
	revoked, _ := res.RowsAffected()
	res, err = q.Exec(ctx, `DELETE FROM api_keys WHERE id = $1`, id)
	return revoked, affectedOne(res, err)
}

// TouchAPIKey records that a key was used.
func (q *Queries) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE api_keys SET last_used = $2 WHERE id = $1`, id, at)
	return err
}

// Token is a short-lived bearer credential; only its hash is stored.
type Token struct {
	ID           int64
	TokenHash    string
	UserID       int64  // owner of the credential
	ActingUserID *int64 // impersonated user, if any
	APIKeyID     *int64
	ProjectID    *int64
	Scopes       string // space-separated, e.g. "impersonation"
	CreatedAt    time.Time
	LastUsed     *time.Time
	ExpiresAt    time.Time
}

const tokenColumns = `id, token_hash, user_id, acting_user_id, api_key_id, project_id, scopes, created_at, last_used, expires_at`

// CreateToken inserts t and sets its ID.
func (q *Queries) CreateToken(ctx context.Context, t *Token) error {
	return q.QueryRow(ctx, `INSERT INTO tokens (token_hash, user_id, acting_user_id, api_key_id, project_id, scopes,
		created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		t.TokenHash, t.UserID, t.ActingUserID, t.APIKeyID, t.ProjectID, t.Scopes, t.CreatedAt, t.ExpiresAt).Scan(&t.ID)
}

// GetTokenByHash returns the token with the given hash.
func (q *Queries) GetTokenByHash(ctx context.Context, hash string) (*Token, error) {
	var t Token
	err := q.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE token_hash = $1`, hash).Scan(&t.ID, &t.TokenHash,
		&t.UserID, &t.ActingUserID, &t.APIKeyID, &t.ProjectID, &t.Scopes, &t.CreatedAt, &t.LastUsed, &t.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &t, err
}

// TouchToken records that a token was used.
func (q *Queries) TouchToken(ctx context.Context, id int64, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE tokens SET last_used = $2 WHERE id = $1`, id, at)
	return err
}

// DeleteExpiredTokens removes tokens that expired before now.
func (q *Queries) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.Exec(ctx, `DELETE FROM tokens WHERE expires_at < $1`, now)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteTokensOfUser revokes every token a user holds or acts under.
func (q *Queries) DeleteTokensOfUser(ctx context.Context, userID int64) error {
	_, err := q.Exec(ctx, `DELETE FROM tokens WHERE user_id = $1 OR acting_user_id = $1`, userID)
	return err
}

// DeletePasswordTokensOfUser revokes the tokens a user obtained with their
// password (not those exchanged for an API key), except keep when given.
func (q *Queries) DeletePasswordTokensOfUser(ctx context.Context, userID int64, keep *int64) (int64, error) {
	var keepID int64 // ids start at 1
	if keep != nil {
		keepID = *keep
	}
	res, err := q.Exec(ctx, `DELETE FROM tokens WHERE user_id = $1 AND api_key_id IS NULL AND acting_user_id IS NULL
		AND id <> $2`, userID, keepID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CountAdminsWhoCanLogIn counts the enabled users holding ADMIN who still
// hold a credential: a password or an API key.
func (q *Queries) CountAdminsWhoCanLogIn(ctx context.Context) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM users u JOIN user_permissions p ON p.user_id = u.id
		WHERE p.permission = 'ADMIN' AND u.disabled = FALSE
		AND (u.password_hash IS NOT NULL OR EXISTS (SELECT 1 FROM api_keys k WHERE k.user_id = u.id))`).Scan(&n)
	return n, err
}

// EnabledAdmins lists the enabled users holding ADMIN, oldest first.
func (q *Queries) EnabledAdmins(ctx context.Context) ([]*User, error) {
	rows, err := q.Query(ctx, `SELECT `+prefixed("u.", userColumns)+` FROM users u JOIN user_permissions p
		ON p.user_id = u.id WHERE p.permission = 'ADMIN' AND u.disabled = FALSE ORDER BY u.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
