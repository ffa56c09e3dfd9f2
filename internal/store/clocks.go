package store

import (
	"context"
	"fmt"
	"time"
)

// ClockRecord is what a person recorded about one reporting clock.
type ClockRecord struct {
	IncidentID int64
	RuleID     string
	State      string
	At         time.Time
	Reference  string
	Reason     string
	By         string
}

// SetClockRecord records (or replaces) the decision on a clock.
func (tx *Tx) SetClockRecord(ctx context.Context, rec ClockRecord, byUserID int64) error {
	_, err := tx.exec(ctx, `INSERT INTO incident_clocks (incident_id, rule_id, state, at, reference, reason, by_user)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, rule_id) DO UPDATE SET state = excluded.state, at = excluded.at,
			reference = excluded.reference, reason = excluded.reason, by_user = excluded.by_user`,
		rec.IncidentID, rec.RuleID, rec.State, micros(rec.At), rec.Reference, rec.Reason, byUserID)
	if err != nil {
		return fmt.Errorf("record clock: %w", err)
	}
	return nil
}

// ClockRecords returns the decisions recorded for the given incidents.
func (r reader) ClockRecords(ctx context.Context, incidentIDs []int64) ([]ClockRecord, error) {
	if len(incidentIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(incidentIDs))
	for i, id := range incidentIDs {
		args[i] = id
	}
	rows, err := r.query(ctx, `SELECT c.incident_id, c.rule_id, c.state, c.at, c.reference, c.reason, u.name
		FROM incident_clocks c JOIN users u ON u.id = c.by_user
		WHERE c.incident_id IN (`+placeholders(len(incidentIDs))+`) ORDER BY c.incident_id, c.rule_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("clock records: %w", err)
	}
	defer rows.Close()
	var out []ClockRecord
	for rows.Next() {
		var c ClockRecord
		var at int64
		if err := rows.Scan(&c.IncidentID, &c.RuleID, &c.State, &at, &c.Reference, &c.Reason, &c.By); err != nil {
			return nil, err
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
