package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// WatchlistEntry is one shared indicator on watch.
type WatchlistEntry struct {
	ID         int64      `json:"id"`
	Type       string     `json:"type"`
	Value      string     `json:"value"`
	Source     string     `json:"source"`
	Confidence int        `json:"confidence"`
	TLP        string     `json:"tlp"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// WatchlistMark says an alert matched a watchlist entry. EntryID is 0
// once the entry was deleted; the copied type, value and source remain.
type WatchlistMark struct {
	AlertID   int64     `json:"alert_id"`
	Type      string    `json:"type"`
	Value     string    `json:"value"`
	Source    string    `json:"source"`
	EntryID   int64     `json:"entry_id,omitempty"`
	MatchedAt time.Time `json:"matched_at"`
}

const watchlistCols = `w.id, w.type, w.value, w.source, w.confidence, w.tlp, w.expires_at,
	COALESCE((SELECT u.name FROM users u WHERE u.id = w.created_by), ''), w.created_at, w.updated_at`

func scanWatchlist(sc scanner) (WatchlistEntry, error) {
	var e WatchlistEntry
	var expires sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&e.ID, &e.Type, &e.Value, &e.Source, &e.Confidence, &e.TLP, &expires, &e.CreatedBy, &created, &updated); err != nil {
		return e, err
	}
	e.ExpiresAt = timePtr(expires)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, nil
}

// UpsertWatchlistEntry adds an entry, or refreshes the confidence, TLP
// and expiry of the one with the same type, value and source. It reports
// whether the entry is new and sets e.ID.
func (tx *Tx) UpsertWatchlistEntry(ctx context.Context, e *WatchlistEntry, byUserID int64) (added bool, err error) {
	now := micros(tx.now)
	row, err := tx.queryRow(ctx, `INSERT INTO watchlist (type, value, source, confidence, tlp, expires_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (type, value, source) DO UPDATE SET confidence = excluded.confidence, tlp = excluded.tlp,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at
		RETURNING id, created_at`,
		e.Type, e.Value, e.Source, e.Confidence, e.TLP, nullMicros(e.ExpiresAt), sql.NullInt64{Int64: byUserID, Valid: byUserID != 0}, now, now)
	if err != nil {
		return false, err
	}
	var created int64
	if err := row.Scan(&e.ID, &created); err != nil {
		return false, fmt.Errorf("upsert watchlist entry: %w", err)
	}
	// An entry made by this transaction has its time; one refreshed keeps
	// its older creation time.
	return created == now, nil
}

// WatchlistFilter selects watchlist entries; empty fields do not filter.
// Lists are newest first; Before is the id the previous page ended at.
type WatchlistFilter struct {
	Type   string
	Value  string
	Source string
	// ActiveAt, if set, keeps the entries not expired at that time.
	ActiveAt *time.Time
	Before   int64
	Limit    int
}

// FindWatchlist lists entries matching f and says whether more follow.
func (r reader) FindWatchlist(ctx context.Context, f WatchlistFilter) ([]WatchlistEntry, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = 50
	}
	where := []string{"1 = 1"}
	var args []any
	for _, c := range []struct{ col, v string }{{"w.type", f.Type}, {"w.value", f.Value}, {"w.source", f.Source}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if f.ActiveAt != nil {
		where = append(where, "(w.expires_at IS NULL OR w.expires_at > ?)")
		args = append(args, micros(*f.ActiveAt))
	}
	if f.Before > 0 {
		where = append(where, "w.id < ?")
		args = append(args, f.Before)
	}
	args = append(args, limit+1)
	rows, err := r.query(ctx, `SELECT `+watchlistCols+` FROM watchlist w WHERE `+strings.Join(where, " AND ")+` ORDER BY w.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find watchlist: %w", err)
	}
	return page(rows, limit, scanWatchlist)
}

// DeleteWatchlistEntry removes an entry; the marks it left on alerts
// stay. Returns the entry, or core.ErrNotFound.
func (tx *Tx) DeleteWatchlistEntry(ctx context.Context, id int64) (WatchlistEntry, error) {
	row, err := tx.queryRow(ctx, `SELECT `+watchlistCols+` FROM watchlist w WHERE w.id = ?`, id)
	if err != nil {
		return WatchlistEntry{}, err
	}
	e, err := scanWatchlist(row)
	if err != nil {
		return e, notFound(err, fmt.Sprintf("watchlist entry %d", id))
	}
	// Explicit, not only ON DELETE SET NULL: the mark must lose the id on
	// every database whatever its foreign-key settings.
	if _, err := tx.exec(ctx, `UPDATE alert_watchlist SET entry_id = NULL WHERE entry_id = ?`, id); err != nil {
		return e, fmt.Errorf("unlink watchlist entry: %w", err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM watchlist WHERE id = ?`, id); err != nil {
		return e, fmt.Errorf("delete watchlist entry: %w", err)
	}
	return e, nil
}

// CountActiveWatchlist counts the entries not expired at now.
func (r reader) CountActiveWatchlist(ctx context.Context, now time.Time) (int64, error) {
	row, err := r.queryRow(ctx, `SELECT COUNT(*) FROM watchlist WHERE expires_at IS NULL OR expires_at > ?`, micros(now))
	if err != nil {
		return 0, err
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("count watchlist: %w", err)
	}
	return n, nil
}

// WatchlistMatches returns the entries for the observable that are not
// expired at now, one per source.
func (r reader) WatchlistMatches(ctx context.Context, typ, value string, now time.Time) ([]WatchlistEntry, error) {
	rows, err := r.query(ctx, `SELECT `+watchlistCols+` FROM watchlist w
		WHERE w.type = ? AND w.value = ? AND (w.expires_at IS NULL OR w.expires_at > ?) ORDER BY w.id`, typ, value, micros(now))
	if err != nil {
		return nil, fmt.Errorf("watchlist matches: %w", err)
	}
	out, _, err := page(rows, 1<<30, scanWatchlist)
	return out, err
}

// InWatchlist reports whether an entry for the observable is active at now.
func (r reader) InWatchlist(ctx context.Context, typ, value string, now time.Time) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT 1 FROM watchlist WHERE type = ? AND value = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1`,
		typ, value, micros(now))
	if err != nil {
		return false, err
	}
	var one int
	switch err := row.Scan(&one); {
	case err == nil:
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	default:
		return false, fmt.Errorf("in watchlist: %w", err)
	}
}

// MarkAlertWatchlist records that an alert matched an entry; it reports
// whether the mark is new (an alert is marked once per entry).
func (tx *Tx) MarkAlertWatchlist(ctx context.Context, alertID int64, e WatchlistEntry) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO alert_watchlist (alert_id, type, value, source, entry_id, matched_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (alert_id, type, value, source) DO NOTHING`,
		alertID, e.Type, e.Value, e.Source, sql.NullInt64{Int64: e.ID, Valid: e.ID != 0}, micros(tx.now))
	if err != nil {
		return false, fmt.Errorf("mark alert: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func scanMark(sc scanner) (WatchlistMark, error) {
	var m WatchlistMark
	var entry sql.NullInt64
	var at int64
	if err := sc.Scan(&m.AlertID, &m.Type, &m.Value, &m.Source, &entry, &at); err != nil {
		return m, err
	}
	m.EntryID, m.MatchedAt = entry.Int64, fromMicros(at)
	return m, nil
}

// AlertWatchlistMarks lists the marks of the given alerts, by alert.
func (r reader) AlertWatchlistMarks(ctx context.Context, alertIDs ...int64) (map[int64][]WatchlistMark, error) {
	out := map[int64][]WatchlistMark{}
	for len(alertIDs) > 0 {
		n := min(len(alertIDs), 500)
		args := make([]any, n)
		for i, id := range alertIDs[:n] {
			args[i] = id
		}
		alertIDs = alertIDs[n:]
		rows, err := r.query(ctx, `SELECT alert_id, type, value, source, entry_id, matched_at FROM alert_watchlist
			WHERE alert_id IN (`+placeholders(n)+`) ORDER BY alert_id, matched_at, type, value, source`, args...)
		if err != nil {
			return nil, fmt.Errorf("alert watchlist marks: %w", err)
		}
		marks, _, err := page(rows, 1<<30, scanMark)
		if err != nil {
			return nil, err
		}
		for _, m := range marks {
			out[m.AlertID] = append(out[m.AlertID], m)
		}
	}
	return out, nil
}

// UnmarkedWatchlistMatches finds alerts last seen at or after since whose
// observables match an entry active at now and which do not carry that
// mark yet: what a re-check after an import marks. It returns at most
// limit matches, oldest alert first.
func (r reader) UnmarkedWatchlistMatches(ctx context.Context, since, now time.Time, limit int) ([]WatchlistMark, []WatchlistEntry, error) {
	rows, err := r.query(ctx, `SELECT a.id, `+watchlistCols+`
		FROM alerts a JOIN alert_observables ao ON ao.alert_id = a.id JOIN observables o ON o.id = ao.observable_id
		JOIN watchlist w ON w.type = o.type AND w.value = o.value
		WHERE a.last_seen >= ? AND (w.expires_at IS NULL OR w.expires_at > ?)
		AND NOT EXISTS (SELECT 1 FROM alert_watchlist m WHERE m.alert_id = a.id AND m.type = w.type AND m.value = w.value AND m.source = w.source)
		ORDER BY a.id, w.id LIMIT ?`, micros(since), micros(now), limit)
	if err != nil {
		return nil, nil, fmt.Errorf("watchlist recheck: %w", err)
	}
	defer rows.Close()
	var marks []WatchlistMark
	var entries []WatchlistEntry
	for rows.Next() {
		var alertID int64
		var e WatchlistEntry
		var expires sql.NullInt64
		var created, updated int64
		if err := rows.Scan(&alertID, &e.ID, &e.Type, &e.Value, &e.Source, &e.Confidence, &e.TLP, &expires, &e.CreatedBy, &created, &updated); err != nil {
			return nil, nil, err
		}
		e.ExpiresAt = timePtr(expires)
		e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
		marks = append(marks, WatchlistMark{AlertID: alertID, Type: e.Type, Value: e.Value, Source: e.Source, EntryID: e.ID})
		entries = append(entries, e)
	}
	return marks, entries, rows.Err()
}

// MaxRedObservables bounds RedObservables: a desk marks few observables
// TLP:RED, and a bulk export must not load an unbounded set.
const MaxRedObservables = 100_000

// RedObservables returns every observable marked TLP:RED on some
// incident, which bulk exports withhold. Past MaxRedObservables it fails
// rather than export what it could not check.
func (r reader) RedObservables(ctx context.Context) (map[core.Observable]bool, error) {
	rows, err := r.query(ctx, `SELECT DISTINCT o.type, o.value FROM incident_observables io JOIN observables o ON o.id = io.observable_id
		WHERE io.tlp = 'red' LIMIT ?`, MaxRedObservables+1)
	if err != nil {
		return nil, fmt.Errorf("red observables: %w", err)
	}
	defer rows.Close()
	out := map[core.Observable]bool{}
	for rows.Next() {
		var o core.Observable
		if err := rows.Scan(&o.Type, &o.Value); err != nil {
			return nil, err
		}
		out[o] = true
	}
	if len(out) > MaxRedObservables {
		return nil, fmt.Errorf("more than %d TLP:RED observables; refusing a bulk export that could not withhold them all", MaxRedObservables)
	}
	return out, rows.Err()
}
