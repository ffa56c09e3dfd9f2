package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// TOTP is a user's second factor. Enabled is false between enrolment and
// the first correct code.
type TOTP struct {
	Secret    string
	Enabled   bool
	LastStep  int64
	CreatedAt time.Time
	EnabledAt *time.Time
}

// PutTOTPEnrolment starts (or restarts) an enrolment with a new secret.
// Returns core.ErrConflict if the user already has TOTP switched on: that
// one must be switched off first, with a code.
func (tx *Tx) PutTOTPEnrolment(ctx context.Context, userID int64, secret string) error {
	res, err := tx.exec(ctx, `INSERT INTO user_totp (user_id, secret, enabled, last_step, created_at) VALUES (?, ?, 0, 0, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0, created_at = excluded.created_at, enabled_at = NULL
		WHERE user_totp.enabled = 0`, userID, secret, micros(tx.now))
	if err != nil {
		return fmt.Errorf("put totp: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("two-step sign-in is already on")
	}
	return nil
}

// TOTPFor returns a user's TOTP row; core.ErrNotFound if they have none.
func (r reader) TOTPFor(ctx context.Context, userID int64) (TOTP, error) {
	row, err := r.queryRow(ctx, `SELECT secret, enabled, last_step, created_at, enabled_at FROM user_totp WHERE user_id = ?`, userID)
	if err != nil {
		return TOTP{}, err
	}
	var t TOTP
	var enabled int
	var created int64
	var enabledAt sql.NullInt64
	if err := row.Scan(&t.Secret, &enabled, &t.LastStep, &created, &enabledAt); err != nil {
		return TOTP{}, notFound(err, "totp")
	}
	t.Enabled, t.CreatedAt, t.EnabledAt = enabled == 1, fromMicros(created), timePtr(enabledAt)
	return t, nil
}

// EnableTOTP switches on a pending enrolment, recording the step of the
// code that confirmed it as used. core.ErrConflict if there is no pending
// enrolment (already on, or never started).
func (tx *Tx) EnableTOTP(ctx context.Context, userID, step int64) error {
	res, err := tx.exec(ctx, `UPDATE user_totp SET enabled = 1, enabled_at = ?, last_step = ? WHERE user_id = ? AND enabled = 0`,
		micros(tx.now), step, userID)
	if err != nil {
		return fmt.Errorf("enable totp: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("no two-step enrolment to confirm")
	}
	return nil
}

// UseTOTPStep records that a code of step was accepted. It reports false
// when that step (or a later one) was used already: the check and the
// write are one statement, so two nodes cannot both accept one code.
func (tx *Tx) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE user_totp SET last_step = ? WHERE user_id = ? AND enabled = 1 AND last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteTOTP switches TOTP off (or drops an enrolment) and deletes the
// recovery codes. It reports whether there was anything to delete.
func (tx *Tx) DeleteTOTP(ctx context.Context, userID int64) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM user_totp WHERE user_id = ?`, userID)
	if err != nil {
		return false, fmt.Errorf("delete totp: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM user_recovery_codes WHERE user_id = ?`, userID); err != nil {
		return false, fmt.Errorf("delete recovery codes: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ReplaceRecoveryCodes stores a fresh set of recovery code hashes in place
// of any earlier set.
func (tx *Tx) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes []string) error {
	if _, err := tx.exec(ctx, `DELETE FROM user_recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO user_recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
			return fmt.Errorf("store recovery code: %w", err)
		}
	}
	return nil
}

// UseRecoveryCode spends a recovery code; false if it is not one of the
// user's or was spent already.
func (tx *Tx) UseRecoveryCode(ctx context.Context, userID int64, hash string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE user_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
		micros(tx.now), userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft counts a user's unspent recovery codes.
func (r reader) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	row, err := r.queryRow(ctx, `SELECT COUNT(*) FROM user_recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID)
	if err != nil {
		return 0, err
	}
	var n int
	return n, row.Scan(&n)
}

// TOTPUsers returns the ids of the users with TOTP switched on.
func (r reader) TOTPUsers(ctx context.Context) (map[int64]bool, error) {
	rows, err := r.query(ctx, `SELECT user_id FROM user_totp WHERE enabled = 1`)
	if err != nil {
		return nil, fmt.Errorf("totp users: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// ServerKey returns the server's key of that name, storing fresh as the
// key if there is none yet. Every node reads the same key, so a cookie
// one node signed is accepted by another.
func (tx *Tx) ServerKey(ctx context.Context, name, fresh string) (string, error) {
	if _, err := tx.exec(ctx, `INSERT INTO server_keys (name, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, fresh, micros(tx.now)); err != nil {
		return "", fmt.Errorf("server key: %w", err)
	}
	return tx.reader.ServerKey(ctx, name)
}

// ServerKey returns the key of that name; core.ErrNotFound if none was made.
func (r reader) ServerKey(ctx context.Context, name string) (string, error) {
	row, err := r.queryRow(ctx, `SELECT secret FROM server_keys WHERE name = ?`, name)
	if err != nil {
		return "", err
	}
	var s string
	if err := row.Scan(&s); err != nil {
		return "", notFound(err, "server key "+name)
	}
	return s, nil
}

// ChangeUserRole changes a user's role for the admin pages. (Named apart
// from the OpenID Connect sign-in's SetUserRole, which another change adds,
// so the two can land in either order.) core.ErrNotFound if no such user.
func (tx *Tx) ChangeUserRole(ctx context.Context, userID int64, role core.Role) error {
	res, err := tx.exec(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, string(role), micros(tx.now), userID)
	if err != nil {
		return fmt.Errorf("change role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %d: %w", userID, core.ErrNotFound)
	}
	return nil
}
