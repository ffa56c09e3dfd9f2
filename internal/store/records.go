package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/core"
)

// AddMember makes a user a member of an incident; adding a member twice is
// not an error. It reports whether the user was newly added.
func (tx *Tx) AddMember(ctx context.Context, incidentID, userID int64) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO incident_members (incident_id, user_id, added_at) VALUES (?, ?, ?)
		ON CONFLICT (incident_id, user_id) DO NOTHING`, incidentID, userID, micros(tx.now))
	if err != nil {
		return false, fmt.Errorf("add member: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveMember reports whether the user was a member.
func (tx *Tx) RemoveMember(ctx context.Context, incidentID, userID int64) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM incident_members WHERE incident_id = ? AND user_id = ?`, incidentID, userID)
	if err != nil {
		return false, fmt.Errorf("remove member: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// IsMember reports whether the user is a member of the incident.
func (r reader) IsMember(ctx context.Context, incidentID, userID int64) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT COUNT(*) FROM incident_members WHERE incident_id = ? AND user_id = ?`, incidentID, userID)
	if err != nil {
		return false, err
	}
	var n int
	err = row.Scan(&n)
	return n > 0, err
}

// ListMembers returns the members of an incident by name.
func (r reader) ListMembers(ctx context.Context, incidentID int64) ([]core.User, error) {
	rows, err := r.query(ctx, `SELECT `+userCols+` FROM incident_members m JOIN users u ON u.id = m.user_id
		WHERE m.incident_id = ? ORDER BY u.name`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return collectUsers(rows)
}

// CreateComment stores a comment and sets its ID.
func (tx *Tx) CreateComment(ctx context.Context, c *core.Comment, authorID int64) error {
	row, err := tx.queryRow(ctx, `INSERT INTO comments (incident_id, phase, author_id, body, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		c.IncidentID, string(c.Phase), authorID, c.Body, micros(c.CreatedAt))
	if err != nil {
		return err
	}
	if err := row.Scan(&c.ID); err != nil {
		return fmt.Errorf("create comment: %w", err)
	}
	return nil
}

// ListComments returns an incident's comments, oldest first.
func (r reader) ListComments(ctx context.Context, incidentID int64) ([]core.Comment, error) {
	rows, err := r.query(ctx, `SELECT c.id, c.incident_id, c.phase, u.name, c.body, c.created_at FROM comments c
		JOIN users u ON u.id = c.author_id WHERE c.incident_id = ? ORDER BY c.id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	defer rows.Close()
	var out []core.Comment
	for rows.Next() {
		var c core.Comment
		var created int64
		if err := rows.Scan(&c.ID, &c.IncidentID, &c.Phase, &c.Author, &c.Body, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMicros(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateAction stores an action record and sets its ID.
func (tx *Tx) CreateAction(ctx context.Context, a *core.ActionRecord, recordedByID int64) error {
	row, err := tx.queryRow(ctx, `INSERT INTO action_records (incident_id, phase, description, performed_by, performed_at, tool, recorded_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.IncidentID, string(a.Phase), a.Description, a.PerformedBy, micros(a.PerformedAt), a.Tool, recordedByID, micros(a.CreatedAt))
	if err != nil {
		return err
	}
	if err := row.Scan(&a.ID); err != nil {
		return fmt.Errorf("create action record: %w", err)
	}
	return nil
}

// ListActions returns an incident's action records in the order they were recorded.
func (r reader) ListActions(ctx context.Context, incidentID int64) ([]core.ActionRecord, error) {
	rows, err := r.query(ctx, `SELECT a.id, a.incident_id, a.phase, a.description, a.performed_by, a.performed_at, a.tool, u.name, a.created_at
		FROM action_records a JOIN users u ON u.id = a.recorded_by WHERE a.incident_id = ? ORDER BY a.id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list action records: %w", err)
	}
	defer rows.Close()
	var out []core.ActionRecord
	for rows.Next() {
		var a core.ActionRecord
		var performed, created int64
		if err := rows.Scan(&a.ID, &a.IncidentID, &a.Phase, &a.Description, &a.PerformedBy, &performed, &a.Tool, &a.RecordedBy, &created); err != nil {
			return nil, err
		}
		a.PerformedAt, a.CreatedAt = fromMicros(performed), fromMicros(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AppendEvent seals ev onto the audit chain and stores it. ev.Time is the
// transaction's time; ID, PrevHash and Hash are set here.
func (tx *Tx) AppendEvent(ctx context.Context, ev *core.Event) error {
	ev.ID = tx.w.head.id + 1
	ev.Time = tx.now
	if len(ev.Payload) == 0 {
		ev.Payload = []byte("{}")
	}
	if err := audit.Seal(tx.w.head.hash, ev); err != nil {
		return err
	}
	nullID := func(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
	if _, err := tx.exec(ctx, `INSERT INTO events (id, time, actor_id, actor, incident_id, type, payload, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, micros(ev.Time), nullID(ev.ActorID), ev.Actor, nullID(ev.IncidentID), ev.Type, string(ev.Payload), ev.PrevHash, ev.Hash); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	tx.w.head = chainHead{id: ev.ID, hash: ev.Hash}
	tx.changes = append(tx.changes, changeOf(ev))
	return nil
}

const eventCols = `e.id, e.time, COALESCE(e.actor_id, 0), e.actor, COALESCE(e.incident_id, 0), COALESCE(i.key, ''), e.type, e.payload, e.prev_hash, e.hash`

func scanEvent(sc scanner) (core.Event, error) {
	var ev core.Event
	var t int64
	var payload string
	err := sc.Scan(&ev.ID, &t, &ev.ActorID, &ev.Actor, &ev.IncidentID, &ev.IncidentKey, &ev.Type, &payload, &ev.PrevHash, &ev.Hash)
	ev.Time = fromMicros(t)
	ev.Payload = []byte(payload)
	return ev, err
}

// Timeline returns an incident's events, oldest first, from after (an
// event id; 0 for the start), at most limit.
func (r reader) Timeline(ctx context.Context, incidentID, after int64, limit int) ([]core.Event, error) {
	rows, err := r.query(ctx, `SELECT `+eventCols+` FROM events e LEFT JOIN incidents i ON i.id = e.incident_id
		WHERE e.incident_id = ? AND e.id > ? ORDER BY e.id LIMIT ?`, incidentID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	var out []core.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// ScanEvents calls fn with every event in id order, streaming, so the
// whole audit trail is verified in constant memory. It also returns the
// recorded chain head.
func (s *Store) ScanEvents(ctx context.Context, fn func(*core.Event) error) (headID int64, headHash string, err error) {
	// One read transaction, so the head and the rows are one snapshot.
	tx, err := s.readDB.BeginTx(ctx, s.d.snapshot)
	if err != nil {
		return 0, "", err
	}
	defer tx.Rollback()
	head, err := loadHead(ctx, tx, headSelect)
	if err != nil {
		return 0, "", fmt.Errorf("read audit head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+eventCols+` FROM events e LEFT JOIN incidents i ON i.id = e.incident_id ORDER BY e.id`)
	if err != nil {
		return 0, "", fmt.Errorf("scan events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return 0, "", err
		}
		if err := fn(&ev); err != nil {
			return 0, "", err
		}
	}
	return head.id, head.hash, rows.Err()
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, core.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
