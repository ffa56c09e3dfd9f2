package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

const contactCols = `c.id, c.name, c.kind, c.party, c.organisation, c.roles, COALESCE(c.user_id, 0), COALESCE(u.name, ''),
	c.language, c.on_call_order, c.channels, c.notes, c.active, c.created_at, c.updated_at, c.version`

func scanContact(sc scanner) (*core.Contact, error) {
	var c core.Contact
	var roles, channels string
	var order sql.NullInt64
	var active int
	var created, updated int64
	if err := sc.Scan(&c.ID, &c.Name, &c.Kind, &c.Party, &c.Organisation, &roles, &c.UserID, &c.User,
		&c.Language, &order, &channels, &c.Notes, &active, &created, &updated, &c.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &c.Roles); err != nil {
		return nil, fmt.Errorf("contact %d roles: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(channels), &c.Channels); err != nil {
		return nil, fmt.Errorf("contact %d channels: %w", c.ID, err)
	}
	if order.Valid {
		n := int(order.Int64)
		c.OnCallOrder = &n
	}
	c.Active = active == 1
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// ListContacts returns the whole contact tree: the on-call order first,
// then by name. It is small (tens to hundreds of rows), so it has no pages.
func (r reader) ListContacts(ctx context.Context) ([]*core.Contact, error) {
	rows, err := r.query(ctx, `SELECT `+contactCols+` FROM contacts c LEFT JOIN users u ON u.id = c.user_id
		ORDER BY c.on_call_order IS NULL, c.on_call_order, c.name`)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	out, _, err := page(rows, 1<<30, scanContact)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return out, nil
}

// HasContacts reports whether the contact tree has any active contact.
func (r reader) HasContacts(ctx context.Context) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE active = 1)`)
	if err != nil {
		return false, err
	}
	var has bool
	if err := row.Scan(&has); err != nil {
		return false, fmt.Errorf("contacts: %w", err)
	}
	return has, nil
}

// GetContact returns one contact or core.ErrNotFound.
func (r reader) GetContact(ctx context.Context, id int64) (*core.Contact, error) {
	row, err := r.queryRow(ctx, `SELECT `+contactCols+` FROM contacts c LEFT JOIN users u ON u.id = c.user_id WHERE c.id = ?`, id)
	if err != nil {
		return nil, err
	}
	c, err := scanContact(row)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("contact %d: %w", id, core.ErrNotFound)
	}
	return c, err
}

// SaveContact inserts a contact (ID 0, which it sets) or replaces a
// stored one whose Version matches (core.ErrConflict otherwise). A name
// already taken is core.ErrConflict.
func (tx *Tx) SaveContact(ctx context.Context, c *core.Contact) error {
	roles, _ := json.Marshal(c.Roles)
	channels, _ := json.Marshal(c.Channels)
	var order sql.NullInt64
	if c.OnCallOrder != nil {
		order = sql.NullInt64{Int64: int64(*c.OnCallOrder), Valid: true}
	}
	user := sql.NullInt64{Int64: c.UserID, Valid: c.UserID != 0}
	now := micros(tx.now)
	if c.ID == 0 {
		row, err := tx.queryRow(ctx, `INSERT INTO contacts (name, kind, party, organisation, roles, user_id, language, on_call_order,
			channels, notes, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.Name, c.Kind, c.Party, c.Organisation, string(roles), user, c.Language, order, string(channels), c.Notes, boolInt(c.Active), now, now)
		if err != nil {
			return err
		}
		if err := row.Scan(&c.ID); err != nil {
			if isUniqueViolation(err) {
				return core.Conflict("a contact named %q exists already", c.Name)
			}
			return fmt.Errorf("create contact: %w", err)
		}
		c.Version, c.CreatedAt, c.UpdatedAt = 1, tx.now, tx.now
		return nil
	}
	res, err := tx.exec(ctx, `UPDATE contacts SET name = ?, kind = ?, party = ?, organisation = ?, roles = ?, user_id = ?, language = ?,
		on_call_order = ?, channels = ?, notes = ?, active = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
		c.Name, c.Kind, c.Party, c.Organisation, string(roles), user, c.Language, order, string(channels), c.Notes, boolInt(c.Active), now,
		c.ID, c.Version)
	if err != nil {
		if isUniqueViolation(err) {
			return core.Conflict("a contact named %q exists already", c.Name)
		}
		return fmt.Errorf("update contact: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("contact %d was changed by someone else (or removed); reload it", c.ID)
	}
	c.Version++
	c.UpdatedAt = tx.now
	return nil
}

// DeleteContact removes a contact. Its past notifications stay, with the
// recipient's name, but lose the link.
func (tx *Tx) DeleteContact(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `UPDATE notifications SET contact_id = NULL WHERE contact_id = ?`, id); err != nil {
		return fmt.Errorf("unlink notifications: %w", err)
	}
	res, err := tx.exec(ctx, `DELETE FROM contacts WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("contact %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// StoredRule is an escalation rule kept in the database as its JSON.
type StoredRule struct {
	ID         string
	Definition string
}

// ListEscalationRules returns the API-managed rules in id order.
func (r reader) ListEscalationRules(ctx context.Context) ([]StoredRule, error) {
	rows, err := r.query(ctx, `SELECT id, definition FROM escalation_rules ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list escalation rules: %w", err)
	}
	out, _, err := page(rows, 1<<30, func(sc scanner) (StoredRule, error) {
		var s StoredRule
		return s, sc.Scan(&s.ID, &s.Definition)
	})
	return out, err
}

// SaveEscalationRule inserts or replaces an API-managed rule.
func (tx *Tx) SaveEscalationRule(ctx context.Context, id, definition string) error {
	now := micros(tx.now)
	_, err := tx.exec(ctx, `INSERT INTO escalation_rules (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`, id, definition, now, now)
	if err != nil {
		return fmt.Errorf("save escalation rule: %w", err)
	}
	return nil
}

// DeleteEscalationRule removes an API-managed rule or says core.ErrNotFound.
func (tx *Tx) DeleteEscalationRule(ctx context.Context, id string) error {
	res, err := tx.exec(ctx, `DELETE FROM escalation_rules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete escalation rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("escalation rule %q: %w", id, core.ErrNotFound)
	}
	return nil
}

// FiredKey identifies one firing of an escalation rule.
type FiredKey struct {
	RuleID     string
	IncidentID int64
	Subject    string
}

// EscalationsFired returns which escalations have fired for the incidents.
func (r reader) EscalationsFired(ctx context.Context, incidentIDs []int64) (map[FiredKey]bool, error) {
	out := map[FiredKey]bool{}
	if len(incidentIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(incidentIDs))
	for i, id := range incidentIDs {
		args[i] = id
	}
	rows, err := r.query(ctx, `SELECT rule_id, incident_id, subject FROM escalations_fired
		WHERE incident_id IN (`+placeholders(len(incidentIDs))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("escalations fired: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k FiredKey
		if err := rows.Scan(&k.RuleID, &k.IncidentID, &k.Subject); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// MarkEscalationFired records a firing and reports whether it is new; a
// firing already recorded (by this node or another) is not acted on twice.
func (tx *Tx) MarkEscalationFired(ctx context.Context, k FiredKey) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO escalations_fired (rule_id, incident_id, subject, fired_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, k.RuleID, k.IncidentID, k.Subject, micros(tx.now))
	if err != nil {
		return false, fmt.Errorf("mark escalation: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Outbox is a notification as stored, with everything needed to send it.
type Outbox struct {
	core.Notification
	ContactID int64
	Body      string
	Link      string
	Severity  string
}

// EnqueueNotification writes a pending notification due now. A repeated
// idempotency key is ignored (the message is queued already), which makes
// enqueueing safe to repeat.
func (tx *Tx) EnqueueNotification(ctx context.Context, n *Outbox) error {
	contact := sql.NullInt64{Int64: n.ContactID, Valid: n.ContactID != 0}
	incident := sql.NullInt64{Int64: n.IncidentID, Valid: n.IncidentID != 0}
	now := micros(tx.now)
	_, err := tx.exec(ctx, `INSERT INTO notifications (idempotency_key, incident_id, rule_id, contact_id, recipient, channel, address,
		language, subject, body, link, incident_key, severity, status, attempts, max_attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT DO NOTHING`,
		n.IdempotencyKey, incident, n.RuleID, contact, n.Recipient, n.Channel, n.Address, n.Language, n.Subject, n.Body, n.Link,
		n.IncidentKey, n.Severity, n.MaxAttempts, now, now)
	if err != nil {
		return fmt.Errorf("enqueue notification: %w", err)
	}
	return nil
}

const outboxCols = `n.id, n.idempotency_key, COALESCE(n.incident_id, 0), n.incident_key, n.rule_id, COALESCE(n.contact_id, 0), n.recipient,
	n.channel, n.address, n.language, n.subject, n.body, n.link, n.severity, n.status, n.attempts, n.max_attempts, n.next_attempt_at,
	n.last_error, n.created_at, n.delivered_at`

func scanOutbox(sc scanner) (*Outbox, error) {
	var o Outbox
	var next, created int64
	var delivered sql.NullInt64
	if err := sc.Scan(&o.ID, &o.IdempotencyKey, &o.IncidentID, &o.IncidentKey, &o.RuleID, &o.ContactID, &o.Recipient,
		&o.Channel, &o.Address, &o.Language, &o.Subject, &o.Body, &o.Link, &o.Severity, &o.Status, &o.Attempts, &o.MaxAttempts, &next,
		&o.LastError, &created, &delivered); err != nil {
		return nil, err
	}
	if o.Status == core.NotifyPending {
		t := fromMicros(next)
		o.NextAttemptAt = &t
	}
	o.CreatedAt, o.DeliveredAt = fromMicros(created), timePtr(delivered)
	return &o, nil
}

// NotificationFilter selects notifications for a list, newest first.
type NotificationFilter struct {
	Status     string
	IncidentID int64
	// Scope hides notifications about incidents the viewer may not see.
	Scope  Scope
	Before int64
	Limit  int
}

// FindNotifications lists notifications.
func (r reader) FindNotifications(ctx context.Context, f NotificationFilter) ([]*Outbox, bool, error) {
	scope, args := f.Scope.where()
	q := `SELECT ` + outboxCols + ` FROM notifications n LEFT JOIN incidents i ON i.id = n.incident_id
		WHERE (n.incident_id IS NULL OR ` + scope + `)`
	if f.Status != "" {
		q += ` AND n.status = ?`
		args = append(args, f.Status)
	}
	if f.IncidentID != 0 {
		q += ` AND n.incident_id = ?`
		args = append(args, f.IncidentID)
	}
	if f.Before > 0 {
		q += ` AND n.id < ?`
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += ` ORDER BY n.id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find notifications: %w", err)
	}
	return page(rows, limit, scanOutbox)
}

// GetNotification returns one notification or core.ErrNotFound.
func (r reader) GetNotification(ctx context.Context, id int64) (*Outbox, error) {
	row, err := r.queryRow(ctx, `SELECT `+outboxCols+` FROM notifications n WHERE n.id = ?`, id)
	if err != nil {
		return nil, err
	}
	o, err := scanOutbox(row)
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("notification %d: %w", id, core.ErrNotFound)
	}
	return o, err
}

// NotificationsDue reports whether any pending notification is due at now.
func (r reader) NotificationsDue(ctx context.Context, now time.Time) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?)`, micros(now))
	if err != nil {
		return false, err
	}
	var due bool
	if err := row.Scan(&due); err != nil {
		return false, fmt.Errorf("notifications due: %w", err)
	}
	return due, nil
}

// ClaimNotifications takes up to limit pending notifications that are
// due, counts the attempt and pushes their next attempt lease into the
// future: a worker that dies mid-delivery hands them back when the lease
// runs out.
func (tx *Tx) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]*Outbox, error) {
	now := micros(tx.now)
	rows, err := tx.query(ctx, `UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?
		WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`+tx.d.skipLocked+`)
		RETURNING `+outboxColsBare, now+lease.Microseconds(), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	out, _, err := page(rows, limit, scanOutbox)
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return out, nil
}

// outboxColsBare is outboxCols without the table alias, for RETURNING.
const outboxColsBare = `id, idempotency_key, COALESCE(incident_id, 0), incident_key, rule_id, COALESCE(contact_id, 0), recipient,
	channel, address, language, subject, body, link, severity, status, attempts, max_attempts, next_attempt_at,
	last_error, created_at, delivered_at`

// NotificationDelivered marks a notification delivered.
func (tx *Tx) NotificationDelivered(ctx context.Context, id int64) error {
	_, err := tx.exec(ctx, `UPDATE notifications SET status = 'delivered', delivered_at = ?, last_error = '' WHERE id = ?`, micros(tx.now), id)
	return err
}

// NotificationFailed records a failed attempt: the next attempt at next,
// or, when next is nil, the notification has failed for good.
func (tx *Tx) NotificationFailed(ctx context.Context, id int64, reason string, next *time.Time) error {
	if next == nil {
		_, err := tx.exec(ctx, `UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ? AND status = 'pending'`, reason, id)
		return err
	}
	_, err := tx.exec(ctx, `UPDATE notifications SET next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'`,
		micros(*next), reason, id)
	return err
}

// RetryNotification puts a failed notification back in the queue with a
// fresh set of attempts, or says core.ErrConflict if it has not failed.
func (tx *Tx) RetryNotification(ctx context.Context, id int64) error {
	res, err := tx.exec(ctx, `UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ? AND status = 'failed'`,
		micros(tx.now), id)
	if err != nil {
		return fmt.Errorf("retry notification: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("notification %d has not failed; only failed notifications are retried", id)
	}
	return nil
}
