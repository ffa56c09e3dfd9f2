package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// StoredTriageRule is a triage rule kept in the database, as the JSON the
// triage package reads; the store does not look inside.
type StoredTriageRule struct {
	ID        string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TriageRules lists the rules managed through the API, by id.
func (r reader) TriageRules(ctx context.Context) ([]StoredTriageRule, error) {
	rows, err := r.query(ctx, `SELECT id, body, created_at, updated_at FROM triage_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("triage rules: %w", err)
	}
	defer rows.Close()
	var out []StoredTriageRule
	for rows.Next() {
		var s StoredTriageRule
		var created, updated int64
		if err := rows.Scan(&s.ID, &s.Body, &created, &updated); err != nil {
			return nil, err
		}
		s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreateTriageRule stores a new rule. Returns core.ErrConflict if the id
// is taken.
func (tx *Tx) CreateTriageRule(ctx context.Context, id, body string, byUserID int64) error {
	now := micros(tx.now)
	_, err := tx.exec(ctx, `INSERT INTO triage_rules (id, body, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		id, body, sql.NullInt64{Int64: byUserID, Valid: byUserID != 0}, now, now)
	if isUniqueViolation(err) {
		return core.Conflict("a triage rule with id %q exists", id)
	}
	if err != nil {
		return fmt.Errorf("create triage rule: %w", err)
	}
	return nil
}

// UpdateTriageRule replaces a rule's body. Returns core.ErrNotFound if
// there is no such rule.
func (tx *Tx) UpdateTriageRule(ctx context.Context, id, body string) error {
	res, err := tx.exec(ctx, `UPDATE triage_rules SET body = ?, updated_at = ? WHERE id = ?`, body, micros(tx.now), id)
	if err != nil {
		return fmt.Errorf("update triage rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("triage rule %q: %w", id, core.ErrNotFound)
	}
	return nil
}

// DeleteTriageRule removes a rule. Returns core.ErrNotFound if there is
// no such rule.
func (tx *Tx) DeleteTriageRule(ctx context.Context, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM triage_rules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete triage rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("triage rule %q: %w", id, core.ErrNotFound)
	}
	return nil
}

// ObservableInIncident reports whether the observable is on any incident.
func (r reader) ObservableInIncident(ctx context.Context, typ, value string) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT 1 FROM observables o JOIN incident_observables io ON io.observable_id = o.id
		WHERE o.type = ? AND o.value = ? LIMIT 1`, typ, value)
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
		return false, fmt.Errorf("observable in incident: %w", err)
	}
}

// CountFingerprintSince counts the occurrences received at or after since
// of alerts with the fingerprint, suppressed ones included.
func (r reader) CountFingerprintSince(ctx context.Context, fingerprint string, since time.Time) (int64, error) {
	// An alert last seen before since has no occurrence after it: the
	// fingerprint index narrows the alerts, the occurrence index the rest.
	return r.count(ctx, `SELECT COUNT(*) FROM alerts a JOIN alert_occurrences o ON o.alert_id = a.id
		WHERE a.fingerprint = ? AND a.last_seen >= ? AND o.received_at >= ?`, fingerprint, micros(since), micros(since))
}

// CountRuleHostSince counts the occurrences received at or after since of
// alerts from the source with the tool rule id on the host. An empty rule
// id counts nothing.
func (r reader) CountRuleHostSince(ctx context.Context, source, ruleID, host string, since time.Time) (int64, error) {
	if ruleID == "" {
		return 0, nil
	}
	// The literal "<> ''" lets SQLite use the partial index.
	return r.count(ctx, `SELECT COUNT(*) FROM alerts a JOIN alert_occurrences o ON o.alert_id = a.id
		WHERE a.source = ? AND a.rule_id = ? AND a.host = ? AND a.rule_id <> '' AND a.last_seen >= ? AND o.received_at >= ?`,
		source, ruleID, host, micros(since), micros(since))
}

func (r reader) count(ctx context.Context, query string, args ...any) (int64, error) {
	row, err := r.queryRow(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("count occurrences: %w", err)
	}
	return n, nil
}

// OpenIncidentFor finds the newest open (not closed), non-exercise
// incident that shares an observable with the alert (byObservable; only
// of the given types if any) or has an alert from the same host attached
// (byHost). Returns core.ErrNotFound if there is none.
func (r reader) OpenIncidentFor(ctx context.Context, alertID int64, host string, byObservable, byHost bool, types []string) (id int64, key string, err error) {
	try := func(query string, args ...any) (bool, error) {
		row, err := r.queryRow(ctx, query, args...)
		if err != nil {
			return false, err
		}
		switch err := row.Scan(&id, &key); {
		case err == nil:
			return true, nil
		case errors.Is(err, sql.ErrNoRows):
			return false, nil
		default:
			return false, fmt.Errorf("find incident to attach to: %w", err)
		}
	}
	if byObservable {
		// Types are filtered in Go, not in SQL: a statement per list length
		// would fill the statement cache.
		rows, err := r.query(ctx, `SELECT i.id, i.key, o.type FROM alert_observables ao
			JOIN observables o ON o.id = ao.observable_id
			JOIN incident_observables io ON io.observable_id = ao.observable_id
			JOIN incidents i ON i.id = io.incident_id
			WHERE ao.alert_id = ? AND i.phase <> ? AND i.exercise = 0 ORDER BY i.id DESC LIMIT 1000`, alertID, string(core.PhaseClosed))
		if err != nil {
			return 0, "", fmt.Errorf("find incident to attach to: %w", err)
		}
		found := false
		for rows.Next() && !found {
			var typ string
			if err := rows.Scan(&id, &key, &typ); err != nil {
				rows.Close()
				return 0, "", err
			}
			found = len(types) == 0 || contains(types, typ)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, "", err
		}
		if found {
			return id, key, nil
		}
	}
	if byHost && host != "" {
		ok, err := try(`SELECT i.id, i.key FROM alerts a JOIN incidents i ON i.id = a.incident_id
			WHERE a.host = ? AND a.id <> ? AND i.phase <> ? AND i.exercise = 0 ORDER BY i.id DESC LIMIT 1`,
			host, alertID, string(core.PhaseClosed))
		if err != nil || ok {
			return id, key, err
		}
	}
	return 0, "", fmt.Errorf("open incident for alert %d: %w", alertID, core.ErrNotFound)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// AlertState is the part of an alert that triage decides on.
type AlertState struct {
	Status          core.AlertStatus
	Severity        core.Severity
	SuppressedUntil *time.Time
	AssigneeID      int64
}

// AlertState reads an alert's status, severity, suppression expiry and
// assignee. Returns core.ErrNotFound if there is no such alert.
func (r reader) AlertState(ctx context.Context, id int64) (AlertState, error) {
	row, err := r.queryRow(ctx, `SELECT status, severity, suppressed_until, COALESCE(assignee_id, 0) FROM alerts WHERE id = ?`, id)
	if err != nil {
		return AlertState{}, err
	}
	var s AlertState
	var until sql.NullInt64
	if err := row.Scan(&s.Status, &s.Severity, &until, &s.AssigneeID); err != nil {
		return AlertState{}, notFound(err, fmt.Sprintf("alert %d", id))
	}
	s.SuppressedUntil = timePtr(until)
	return s, nil
}

// SuppressAlert marks an alert suppressed for a reason, until a time
// (nil: no expiry). Returns core.ErrNotFound if there is no such alert.
func (tx *Tx) SuppressAlert(ctx context.Context, id int64, reason string, until *time.Time) error {
	res, err := tx.exec(ctx, `UPDATE alerts SET status = ?, close_reason = '', suppress_reason = ?, suppressed_until = ?, updated_at = ? WHERE id = ?`,
		string(core.AlertSuppressed), reason, nullMicros(until), micros(tx.now), id)
	if err != nil {
		return fmt.Errorf("suppress alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// ReopenExpired turns a suppressed alert whose suppression ended at or
// before the transaction's time back into a new alert, and reports
// whether it did.
func (tx *Tx) ReopenExpired(ctx context.Context, id int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE alerts SET status = ?, suppress_reason = '', suppressed_until = NULL, updated_at = ?
		WHERE id = ? AND status = ? AND suppressed_until IS NOT NULL AND suppressed_until <= ?`,
		string(core.AlertNew), micros(tx.now), id, string(core.AlertSuppressed), micros(tx.now))
	if err != nil {
		return false, fmt.Errorf("reopen alert: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AnyExpiringSuppression reports whether some suppressed alert has an
// expiry: only then must intake look at a repeat's suppression.
func (r reader) AnyExpiringSuppression(ctx context.Context) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT 1 FROM alerts WHERE status = ? AND suppressed_until IS NOT NULL LIMIT 1`, string(core.AlertSuppressed))
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
		return false, fmt.Errorf("expiring suppressions: %w", err)
	}
}

// SetAlertSeverity changes an alert's severity. Returns core.ErrNotFound
// if there is no such alert.
func (tx *Tx) SetAlertSeverity(ctx context.Context, id int64, sev core.Severity) error {
	return tx.updateAlert(ctx, id, `severity = ?`, string(sev))
}

// AssignAlert sets who should look at an alert (0: nobody). Returns
// core.ErrNotFound if there is no such alert.
func (tx *Tx) AssignAlert(ctx context.Context, id, userID int64) error {
	return tx.updateAlert(ctx, id, `assignee_id = ?`, sql.NullInt64{Int64: userID, Valid: userID != 0})
}

func (tx *Tx) updateAlert(ctx context.Context, id int64, set string, arg any) error {
	res, err := tx.exec(ctx, `UPDATE alerts SET `+set+`, updated_at = ? WHERE id = ?`, arg, micros(tx.now), id)
	if err != nil {
		return fmt.Errorf("update alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// AlertIDs lists the ids of the alerts matching f (its Limit and Before
// ignored), newest first, at most max+1 of them so the caller can tell
// that more than max match.
func (r reader) AlertIDs(ctx context.Context, f AlertFilter, max int) ([]int64, error) {
	var out []int64
	f.Before = 0
	f.Limit = MaxListLimit
	for len(out) <= max {
		page, more, err := r.FindAlerts(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, al := range page {
			out = append(out, al.ID)
		}
		if !more || len(page) == 0 {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	if len(out) > max+1 {
		out = out[:max+1]
	}
	return out, nil
}
