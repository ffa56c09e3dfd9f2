package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

const userCols = `u.id, u.name, u.display_name, u.email, u.role, u.disabled, u.created_at`

func scanUser(sc scanner) (core.User, error) {
	var u core.User
	var disabled int
	var created int64
	err := sc.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &disabled, &created)
	u.Disabled, u.CreatedAt = disabled == 1, fromMicros(created)
	return u, err
}

func collectUsers(rows *sql.Rows) ([]core.User, error) {
	defer rows.Close()
	var out []core.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateUser stores a user with a password hash (empty: cannot log in with
// a password) and sets u.ID. Returns core.ErrConflict if the name is taken.
func (tx *Tx) CreateUser(ctx context.Context, u *core.User, passwordHash string) error {
	row, err := tx.queryRow(ctx, `INSERT INTO users (name, display_name, email, role, password_hash, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`, u.Name, u.DisplayName, u.Email, string(u.Role), passwordHash, micros(u.CreatedAt), micros(u.CreatedAt))
	if err != nil {
		return err
	}
	if err := row.Scan(&u.ID); err != nil {
		if isUniqueViolation(err) {
			return core.Conflict("user %q already exists", u.Name)
		}
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// SetUserDisabled disables or enables a user. A disabled user's sessions
// are deleted at once so a lock-out takes effect immediately.
func (tx *Tx) SetUserDisabled(ctx context.Context, userID int64, disabled bool) error {
	if _, err := tx.exec(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, boolInt(disabled), micros(tx.now), userID); err != nil {
		return fmt.Errorf("disable user: %w", err)
	}
	if disabled {
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
	}
	return nil
}

// SetPassword replaces a user's password hash and ends their sessions.
func (tx *Tx) SetPassword(ctx context.Context, userID int64, hash string) error {
	if _, err := tx.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, micros(tx.now), userID); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// UserByName returns a user, core.ErrNotFound if none.
func (r reader) UserByName(ctx context.Context, name string) (core.User, error) {
	row, err := r.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.name = ?`, name)
	if err != nil {
		return core.User{}, err
	}
	u, err := scanUser(row)
	if err != nil {
		return core.User{}, notFound(err, fmt.Sprintf("user %q", name))
	}
	return u, nil
}

// PasswordHash returns a user's stored password hash.
func (r reader) PasswordHash(ctx context.Context, userID int64) (string, error) {
	row, err := r.queryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID)
	if err != nil {
		return "", err
	}
	var h string
	if err := row.Scan(&h); err != nil {
		return "", notFound(err, "user")
	}
	return h, nil
}

// ListUsers returns every user by name.
func (r reader) ListUsers(ctx context.Context) ([]core.User, error) {
	rows, err := r.query(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return collectUsers(rows)
}

// CountUsers counts users, disabled ones included.
func (r reader) CountUsers(ctx context.Context) (int64, error) {
	row, err := r.queryRow(ctx, `SELECT COUNT(*) FROM users`)
	if err != nil {
		return 0, err
	}
	var n int64
	return n, row.Scan(&n)
}

// CreateToken stores an API token by the hash of its secret and sets t.ID.
func (tx *Tx) CreateToken(ctx context.Context, t *core.Token, hash string) error {
	row, err := tx.queryRow(ctx, `INSERT INTO api_tokens (user_id, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Name, hash, micros(t.CreatedAt), nullMicros(t.ExpiresAt))
	if err != nil {
		return err
	}
	if err := row.Scan(&t.ID); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// RevokeToken marks a token revoked; core.ErrNotFound if it does not exist
// or was already revoked.
func (tx *Tx) RevokeToken(ctx context.Context, tokenID int64) error {
	res, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(tx.now), tokenID)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %d: %w", tokenID, core.ErrNotFound)
	}
	return nil
}

// TouchToken records that a token was used.
func (tx *Tx) TouchToken(ctx context.Context, tokenID int64) error {
	_, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(tx.now), tokenID)
	return err
}

const tokenCols = `t.id, t.user_id, u.name, t.name, t.created_at, t.expires_at, t.revoked_at, t.last_used_at`

func scanToken(sc scanner) (core.Token, error) {
	var t core.Token
	var created int64
	var expires, revoked, used sql.NullInt64
	err := sc.Scan(&t.ID, &t.UserID, &t.User, &t.Name, &created, &expires, &revoked, &used)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMicros(created), timePtr(expires), timePtr(revoked), timePtr(used)
	return t, err
}

// TokenUserByHash finds a token by the hash of its secret together with
// its user, in one query: it runs on every API request.
func (r reader) TokenUserByHash(ctx context.Context, hash string) (core.Token, core.User, error) {
	row, err := r.queryRow(ctx, `SELECT `+tokenCols+`, `+userCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash)
	if err != nil {
		return core.Token{}, core.User{}, err
	}
	var t core.Token
	var u core.User
	var created, ucreated int64
	var expires, revoked, used sql.NullInt64
	var disabled int
	err = row.Scan(&t.ID, &t.UserID, &t.User, &t.Name, &created, &expires, &revoked, &used,
		&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &disabled, &ucreated)
	if err != nil {
		return core.Token{}, core.User{}, notFound(err, "token")
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromMicros(created), timePtr(expires), timePtr(revoked), timePtr(used)
	u.Disabled, u.CreatedAt = disabled == 1, fromMicros(ucreated)
	return t, u, nil
}

// ListTokens returns a user's tokens (all users' when userID is 0).
func (r reader) ListTokens(ctx context.Context, userID int64) ([]core.Token, error) {
	rows, err := r.query(ctx, `SELECT `+tokenCols+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE (? = 0 OR t.user_id = ?) ORDER BY t.id`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []core.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Session is a signed-in browser.
type Session struct {
	ID        int64
	UserID    int64
	CSRFToken string
	ExpiresAt time.Time
}

// CreateSession stores a session by the hash of its cookie value.
func (tx *Tx) CreateSession(ctx context.Context, s *Session, hash string) error {
	row, err := tx.queryRow(ctx, `INSERT INTO sessions (user_id, hash, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		s.UserID, hash, s.CSRFToken, micros(tx.now), micros(s.ExpiresAt))
	if err != nil {
		return err
	}
	if err := row.Scan(&s.ID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// DeleteSession ends a session; ending one that does not exist is not an error.
func (tx *Tx) DeleteSession(ctx context.Context, hash string) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

// DeleteExpiredSessions removes sessions past their expiry.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE expires_at < ?`, micros(tx.now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SessionByHash finds an unexpired session.
func (r reader) SessionByHash(ctx context.Context, hash string, now time.Time) (Session, error) {
	row, err := r.queryRow(ctx, `SELECT id, user_id, csrf_token, expires_at FROM sessions WHERE hash = ? AND expires_at > ?`, hash, micros(now))
	if err != nil {
		return Session{}, err
	}
	var s Session
	var exp int64
	if err := row.Scan(&s.ID, &s.UserID, &s.CSRFToken, &exp); err != nil {
		return Session{}, notFound(err, "session")
	}
	s.ExpiresAt = fromMicros(exp)
	return s, nil
}

// UserByID returns a user, core.ErrNotFound if none.
func (r reader) UserByID(ctx context.Context, id int64) (core.User, error) {
	row, err := r.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id)
	if err != nil {
		return core.User{}, err
	}
	u, err := scanUser(row)
	if err != nil {
		return core.User{}, notFound(err, "user")
	}
	return u, nil
}
