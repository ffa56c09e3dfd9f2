package store

import (
	"context"
	"database/sql"
	"fmt"
)

// UserPrefs are a user's settings for the web UI.
type UserPrefs struct {
	// Language is "ja", "en", or "" for "follow the browser".
	Language string
	// TimeZone is an IANA zone name such as Asia/Tokyo.
	TimeZone string
}

// UserPrefs returns a user's settings; core.ErrNotFound if there is no
// such user.
func (r reader) UserPrefs(ctx context.Context, userID int64) (UserPrefs, error) {
	row, err := r.queryRow(ctx, `SELECT language, time_zone FROM users WHERE id = ?`, userID)
	if err != nil {
		return UserPrefs{}, err
	}
	var p UserPrefs
	if err := row.Scan(&p.Language, &p.TimeZone); err != nil {
		return UserPrefs{}, notFound(err, "user")
	}
	return p, nil
}

// SetUserPrefs replaces a user's settings; core.ErrNotFound if there is no
// such user. The values are checked by app.
func (tx *Tx) SetUserPrefs(ctx context.Context, userID int64, p UserPrefs) error {
	res, err := tx.exec(ctx, `UPDATE users SET language = ?, time_zone = ?, updated_at = ? WHERE id = ?`,
		p.Language, p.TimeZone, micros(tx.now), userID)
	if err != nil {
		return fmt.Errorf("set user prefs: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "user")
	}
	return nil
}
