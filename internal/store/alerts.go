package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// IngestAlert records one parsed alert and reports which stored alert it
// became and whether that alert existed already:
//   - a resend (same source and SourceEventID as an earlier occurrence)
//     returns the earlier alert and changes nothing;
//   - a repeat (same fingerprint, last seen within window, not closed)
//     bumps that alert's count and last_seen and adds an occurrence;
//   - anything else is a new alert with its first occurrence and its
//     observables.
//
// a.ReceivedAt is when it arrived (the transaction's time if zero).
func (tx *Tx) IngestAlert(ctx context.Context, a *ingest.Alert, window time.Duration) (id int64, duplicate bool, err error) {
	received := a.ReceivedAt
	if received.IsZero() {
		received = tx.now
	}
	var eventTime *time.Time
	if !a.EventTime.IsZero() {
		eventTime = &a.EventTime
	}
	// One statement answers both questions: was this very event sent
	// before (same source and event id), and is there an open alert with
	// its fingerprint inside the window? The literal "<> ''" lets SQLite
	// use the partial unique index; with only the bound value it cannot
	// prove the row is in the index and scans every occurrence.
	row, err := tx.queryRow(ctx, `SELECT
		(SELECT alert_id FROM alert_occurrences WHERE source = ? AND source_event_id = ? AND source_event_id <> ''),
		(SELECT id FROM alerts WHERE fingerprint = ? AND last_seen >= ? AND status <> 'closed' ORDER BY last_seen DESC LIMIT 1)`,
		a.Source, a.SourceEventID, a.Fingerprint, micros(received.Add(-window)))
	if err != nil {
		return 0, false, err
	}
	var resent, open sql.NullInt64
	if err := row.Scan(&resent, &open); err != nil {
		return 0, false, fmt.Errorf("look up alert: %w", err)
	}
	if a.SourceEventID != "" && resent.Valid {
		return resent.Int64, true, nil
	}
	err = sql.ErrNoRows
	if open.Valid {
		id, err = open.Int64, nil
	}
	switch {
	case err == nil:
		// Occurrences may arrive out of order; last_seen never goes back.
		// CASE, not MAX or GREATEST: the two databases spell those differently.
		if _, err := tx.exec(ctx, `UPDATE alerts SET count = count + 1,
			last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END, updated_at = ? WHERE id = ?`,
			micros(received), micros(received), micros(tx.now), id); err != nil {
			return 0, false, fmt.Errorf("bump alert: %w", err)
		}
		duplicate = true
	case errors.Is(err, sql.ErrNoRows):
		now := micros(tx.now)
		row, err := tx.queryRow(ctx, `INSERT INTO alerts (source, source_event_id, fingerprint, status, close_reason, severity, native_severity,
			rule_id, rule_name, title, host, user_name, src_ip, src_port, dst_ip, dst_port, process, file_hash, url, domain, email,
			event_time, first_seen, last_seen, count, raw, created_at, updated_at)
			VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
			a.Source, a.SourceEventID, a.Fingerprint, string(core.AlertNew), string(a.Severity), a.NativeSeverity,
			a.RuleID, a.RuleName, a.Title, a.Host, a.User, a.SrcIP, a.SrcPort, a.DstIP, a.DstPort, a.Process, a.FileHash, a.URL, a.Domain, a.Email,
			nullMicros(eventTime), micros(received), micros(received), string(a.Raw), now, now)
		if err != nil {
			return 0, false, err
		}
		if err := row.Scan(&id); err != nil {
			return 0, false, fmt.Errorf("create alert: %w", err)
		}
	}
	// A repeat keeps its own payload (a later event may differ in fields
	// the fingerprint ignores); the first occurrence's is the alert's raw.
	var raw sql.NullString
	if duplicate {
		raw = sql.NullString{String: string(a.Raw), Valid: true}
	}
	if _, err := tx.exec(ctx, `INSERT INTO alert_occurrences (alert_id, source, source_event_id, received_at, event_time, raw) VALUES (?, ?, ?, ?, ?, ?)`,
		id, a.Source, a.SourceEventID, micros(received), nullMicros(eventTime), raw); err != nil {
		return 0, false, fmt.Errorf("record alert occurrence: %w", err)
	}
	// A repeat links its observables too: the key fields are the same, but
	// a repeat may name another file or URL, and it should be findable.
	if len(a.Observables) == 0 {
		return id, duplicate, nil
	}
	links := make([]any, 0, 2*len(a.Observables))
	for _, o := range a.Observables {
		oid, err := tx.observableID(ctx, o.Type, o.Value)
		if err != nil {
			return 0, false, err
		}
		links = append(links, id, oid)
	}
	// All links in one statement: per alert, statements are what intake
	// pays for. The text depends only on the count, so few are prepared.
	if _, err := tx.exec(ctx, `INSERT INTO alert_observables (alert_id, observable_id) VALUES `+valueRows(len(a.Observables), 2)+`
		ON CONFLICT (alert_id, observable_id) DO NOTHING`, links...); err != nil {
		return 0, false, fmt.Errorf("link observable: %w", err)
	}
	return id, duplicate, nil
}

// valueRows is the VALUES list for n rows of cols placeholders each.
func valueRows(n, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(row+", ", n-1) + row
}

// learnedObservable is an observable's id found by a request, for the
// writer's cache once the request is committed.
type learnedObservable struct {
	key string
	id  int64
}

// observableCache maps type and value to the ids of committed
// observables, on SQLite only. Only the writer's goroutine uses it, and
// only this process writes observables to its database (restore needs an
// empty data directory; copy --force replaces a PostgreSQL database). On
// PostgreSQL, `irdesk copy --force` may replace every row under running
// nodes, and a cached id would then link alerts to another indicator, so
// there every look-up goes to the database.
//
// It is bounded by the bytes of its keys, since senders choose the values:
// when full it starts over, which costs a look-up per observable until it
// has filled again, and long values (URLs, paths) are not kept at all.
type observableCache struct {
	ids   map[string]int64
	bytes int
}

const (
	observableCacheBytes  = 8 << 20
	observableCacheMaxKey = 256
)

func observableKey(typ, value string) string { return typ + "\x00" + value }

func (c *observableCache) get(key string) (int64, bool) {
	id, ok := c.ids[key]
	return id, ok
}

func (c *observableCache) put(key string, id int64) {
	if len(key) > observableCacheMaxKey {
		return
	}
	if c.ids == nil || c.bytes+len(key) > observableCacheBytes {
		c.ids, c.bytes = make(map[string]int64, 1024), 0
	}
	if _, ok := c.ids[key]; !ok {
		c.bytes += len(key)
	}
	c.ids[key] = id
}

func (c *observableCache) clear() { c.ids, c.bytes = nil, 0 }

// observableID returns the row of an observable, adding it if new.
func (tx *Tx) observableID(ctx context.Context, typ, value string) (int64, error) {
	cached := tx.d.name == sqliteDialect.name
	key := observableKey(typ, value)
	if cached {
		if id, ok := tx.w.observables.get(key); ok {
			return id, nil
		}
	}
	id, err := tx.lookUpObservable(ctx, typ, value)
	if err != nil {
		return 0, err
	}
	if cached {
		tx.learned = append(tx.learned, learnedObservable{key: key, id: id})
	}
	return id, nil
}

func (tx *Tx) lookUpObservable(ctx context.Context, typ, value string) (int64, error) {
	// Not in the cache is most often new: try to add it first, which is
	// one statement, and look it up only when it was there already. DO
	// NOTHING rather than a no-op update, so a known one writes nothing;
	// on PostgreSQL a concurrent insert by another node is waited for
	// and then found by the look-up.
	row, err := tx.queryRow(ctx, `INSERT INTO observables (type, value, first_seen) VALUES (?, ?, ?)
		ON CONFLICT (type, value) DO NOTHING RETURNING id`, typ, value, micros(tx.now))
	if err != nil {
		return 0, err
	}
	var id int64
	switch err := row.Scan(&id); {
	case err == nil:
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("add observable: %w", err)
	}
	row, err = tx.queryRow(ctx, `SELECT id FROM observables WHERE type = ? AND value = ?`, typ, value)
	if err != nil {
		return 0, err
	}
	if err := row.Scan(&id); err != nil {
		return 0, fmt.Errorf("read observable: %w", err)
	}
	return id, nil
}

// AlertFilter selects alerts for a list. Empty fields do not filter.
// Lists are newest first; Before is the id the previous page ended at.
type AlertFilter struct {
	Statuses   []core.AlertStatus
	Sources    []string
	Severities []core.Severity
	Host       string // exact
	// SeenAfter and SeenBefore keep alerts active in a time range: last
	// seen at or after SeenAfter, first seen before SeenBefore.
	SeenAfter  *time.Time
	SeenBefore *time.Time
	// Query matches title or rule name as a substring, case-insensitively
	// (ASCII). A scan, not an index: good enough until alerts get full text.
	Query  string
	Before int64
	Limit  int
	// Scope decides whether an alert's incident key is shown: a viewer
	// who may not see a restricted incident does not learn its key.
	Scope Scope
}

// alertColsTmpl is the column list scanAlert reads (raw is read by
// GetAlert only); %s is the incident key, shown only within the scope.
const alertColsTmpl = `a.id, a.source, a.source_event_id, a.fingerprint, a.status, a.close_reason, a.severity, a.native_severity,
	a.rule_id, a.rule_name, a.title, a.host, a.user_name, a.src_ip, a.src_port, a.dst_ip, a.dst_port, a.process, a.file_hash,
	a.url, a.domain, a.email, a.event_time, a.first_seen, a.last_seen, a.count, COALESCE(a.incident_id, 0), %s,
	a.created_at, a.updated_at, a.suppress_reason, a.suppressed_until,
	COALESCE((SELECT u.name FROM users u WHERE u.id = a.assignee_id), '')`

const alertJoins = ` LEFT JOIN incidents i ON i.id = a.incident_id`

// alertCols returns the column list for a viewer and the arguments its
// scope condition takes, which come first in the query.
func alertCols(scope Scope) (string, []any) {
	cond, args := scope.where()
	return fmt.Sprintf(alertColsTmpl, "CASE WHEN i.id IS NOT NULL AND "+cond+" THEN i.key ELSE '' END"), args
}

func scanAlert(sc scanner, extra ...any) (*core.Alert, error) {
	var al core.Alert
	var eventTime sql.NullInt64
	var first, last, created, updated int64
	var suppressedUntil sql.NullInt64
	dest := []any{&al.ID, &al.Source, &al.SourceEventID, &al.Fingerprint, &al.Status, &al.CloseReason, &al.Severity, &al.NativeSeverity,
		&al.RuleID, &al.RuleName, &al.Title, &al.Host, &al.User, &al.SrcIP, &al.SrcPort, &al.DstIP, &al.DstPort, &al.Process, &al.FileHash,
		&al.URL, &al.Domain, &al.Email, &eventTime, &first, &last, &al.Count, &al.IncidentID, &al.IncidentKey, &created, &updated,
		&al.SuppressReason, &suppressedUntil, &al.Assignee}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	al.EventTime = timePtr(eventTime)
	al.SuppressedUntil = timePtr(suppressedUntil)
	al.FirstSeen, al.LastSeen = fromMicros(first), fromMicros(last)
	al.CreatedAt, al.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &al, nil
}

// likeEscape makes s match literally inside a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FindAlerts lists alerts matching f, newest first, without raw payloads
// or observables. It returns at most f.Limit alerts and whether more follow.
func (r reader) FindAlerts(ctx context.Context, f AlertFilter) ([]*core.Alert, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = 50
	}
	cols, args := alertCols(f.Scope)
	where := []string{"1 = 1"}
	inList("a.status", f.Statuses, &where, &args)
	inList("a.source", f.Sources, &where, &args)
	inList("a.severity", f.Severities, &where, &args)
	if f.Host != "" {
		where = append(where, "a.host = ?")
		args = append(args, f.Host)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, `(LOWER(a.title) LIKE ? ESCAPE '\' OR LOWER(a.rule_name) LIKE ? ESCAPE '\')`)
		p := "%" + likeEscape(strings.ToLower(q)) + "%"
		args = append(args, p, p)
	}
	if f.SeenAfter != nil {
		where = append(where, "a.last_seen >= ?")
		args = append(args, micros(*f.SeenAfter))
	}
	if f.SeenBefore != nil {
		where = append(where, "a.first_seen < ?")
		args = append(args, micros(*f.SeenBefore))
	}
	if f.Before > 0 {
		where = append(where, "a.id < ?")
		args = append(args, f.Before)
	}
	args = append(args, limit+1)
	rows, err := r.query(ctx, `SELECT `+cols+` FROM alerts a`+alertJoins+` WHERE `+strings.Join(where, " AND ")+` ORDER BY a.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find alerts: %w", err)
	}
	out, more, err := page(rows, limit, func(sc scanner) (*core.Alert, error) { return scanAlert(sc) })
	if err != nil {
		return nil, false, fmt.Errorf("find alerts: %w", err)
	}
	return out, more, nil
}

// GetAlert returns an alert with its raw payload and observables.
// Returns core.ErrNotFound if there is none.
func (r reader) GetAlert(ctx context.Context, id int64, scope Scope) (*core.Alert, error) {
	cols, args := alertCols(scope)
	row, err := r.queryRow(ctx, `SELECT `+cols+`, a.raw FROM alerts a`+alertJoins+` WHERE a.id = ?`, append(args, id)...)
	if err != nil {
		return nil, err
	}
	var raw string
	al, err := scanAlert(row, &raw)
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("alert %d", id))
	}
	al.Raw = []byte(raw)
	rows, err := r.query(ctx, `SELECT o.type, o.value FROM alert_observables ao JOIN observables o ON o.id = ao.observable_id
		WHERE ao.alert_id = ? ORDER BY o.id`, id)
	if err != nil {
		return nil, fmt.Errorf("alert observables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o core.Observable
		if err := rows.Scan(&o.Type, &o.Value); err != nil {
			return nil, err
		}
		al.Observables = append(al.Observables, o)
	}
	return al, rows.Err()
}

// SetAlertStatus sets an alert's status and close reason (empty unless
// closed). Returns core.ErrNotFound if there is no such alert.
func (tx *Tx) SetAlertStatus(ctx context.Context, id int64, status core.AlertStatus, reason core.CloseReason) error {
	res, err := tx.exec(ctx, `UPDATE alerts SET status = ?, close_reason = ?, updated_at = ? WHERE id = ?`,
		string(status), string(reason), micros(tx.now), id)
	if err != nil {
		return fmt.Errorf("set alert status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// LinkAlertIncident ties an alert to an incident and gives the incident
// the alert's observables (recorded as added by byUserID, 0 for the
// system). Returns core.ErrNotFound if there is no such alert.
func (tx *Tx) LinkAlertIncident(ctx context.Context, alertID, incidentID, byUserID int64) error {
	res, err := tx.exec(ctx, `UPDATE alerts SET incident_id = ?, updated_at = ? WHERE id = ?`, incidentID, micros(tx.now), alertID)
	if err != nil {
		return fmt.Errorf("link alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alert %d: %w", alertID, core.ErrNotFound)
	}
	if _, err := tx.exec(ctx, `INSERT INTO incident_observables (incident_id, observable_id, added_by, added_at)
		SELECT ?, observable_id, ?, ? FROM alert_observables WHERE alert_id = ?
		ON CONFLICT (incident_id, observable_id) DO NOTHING`,
		incidentID, sql.NullInt64{Int64: byUserID, Valid: byUserID != 0}, micros(tx.now), alertID); err != nil {
		return fmt.Errorf("copy observables to incident: %w", err)
	}
	return nil
}

// IncidentObservables lists the observables an incident carries.
func (r reader) IncidentObservables(ctx context.Context, incidentID int64) ([]core.Observable, error) {
	details, err := r.IncidentObservableDetails(ctx, incidentID)
	out := make([]core.Observable, len(details))
	for i, d := range details {
		out[i] = d.Observable
	}
	return out, err
}

// IncidentObservableDetails lists an incident's observables with their
// tags, IOC flag and TLP.
func (r reader) IncidentObservableDetails(ctx context.Context, incidentID int64) ([]core.IncidentObservable, error) {
	rows, err := r.query(ctx, `SELECT o.type, o.value, io.tags, io.ioc, io.tlp FROM incident_observables io JOIN observables o ON o.id = io.observable_id
		WHERE io.incident_id = ? ORDER BY o.id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident observables: %w", err)
	}
	defer rows.Close()
	var out []core.IncidentObservable
	for rows.Next() {
		var o core.IncidentObservable
		var tags string
		var ioc int
		if err := rows.Scan(&o.Type, &o.Value, &tags, &ioc, &o.TLP); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(tags), &o.Tags); err != nil {
			return nil, fmt.Errorf("observable tags: %w", err)
		}
		o.IOC = ioc == 1
		out = append(out, o)
	}
	return out, rows.Err()
}

// AddIncidentObservable records an observable on an incident, or updates
// its tags, IOC flag and TLP if it is there already.
func (tx *Tx) AddIncidentObservable(ctx context.Context, incidentID int64, o core.IncidentObservable, byUserID int64) error {
	oid, err := tx.observableID(ctx, o.Type, o.Value)
	if err != nil {
		return err
	}
	tags, err := json.Marshal(o.Tags)
	if err != nil || o.Tags == nil {
		tags = []byte("[]")
	}
	_, err = tx.exec(ctx, `INSERT INTO incident_observables (incident_id, observable_id, added_by, added_at, tags, ioc, tlp)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, observable_id) DO UPDATE SET tags = excluded.tags, ioc = excluded.ioc, tlp = excluded.tlp`,
		incidentID, oid, sql.NullInt64{Int64: byUserID, Valid: byUserID != 0}, micros(tx.now), string(tags), boolInt(o.IOC), o.TLP)
	if err != nil {
		return fmt.Errorf("add incident observable: %w", err)
	}
	return nil
}

// Sightings is everywhere one observable was seen.
type Sightings struct {
	Alerts    []AlertSighting    `json:"alerts"`
	Incidents []IncidentSighting `json:"incidents"`
}

// AlertSighting is an alert that carried the observable.
type AlertSighting struct {
	ID       int64     `json:"id"`
	Source   string    `json:"source"`
	Title    string    `json:"title"`
	Status   string    `json:"status"`
	Count    int64     `json:"count"`
	LastSeen time.Time `json:"last_seen"`
}

// IncidentSighting is an incident that carries the observable.
type IncidentSighting struct {
	Key   string     `json:"key"`
	Title string     `json:"title"`
	Phase core.Phase `json:"phase"`
}

// MaxSightings bounds each list of a sightings answer, newest first.
const MaxSightings = 200

// FindSightings answers "where else have we seen this?": the alerts and
// the incidents (within the scope) that carry the observable.
func (r reader) FindSightings(ctx context.Context, typ, value string, scope Scope) (Sightings, error) {
	out := Sightings{Alerts: []AlertSighting{}, Incidents: []IncidentSighting{}}
	rows, err := r.query(ctx, `SELECT a.id, a.source, a.title, a.status, a.count, a.last_seen
		FROM observables o JOIN alert_observables ao ON ao.observable_id = o.id JOIN alerts a ON a.id = ao.alert_id
		WHERE o.type = ? AND o.value = ? ORDER BY a.id DESC LIMIT ?`, typ, value, MaxSightings)
	if err != nil {
		return out, fmt.Errorf("alert sightings: %w", err)
	}
	for rows.Next() {
		var s AlertSighting
		var last int64
		if err := rows.Scan(&s.ID, &s.Source, &s.Title, &s.Status, &s.Count, &last); err != nil {
			rows.Close()
			return out, err
		}
		s.LastSeen = fromMicros(last)
		out.Alerts = append(out.Alerts, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	cond, args := scope.where()
	rows, err = r.query(ctx, `SELECT i.key, i.title, i.phase
		FROM observables o JOIN incident_observables io ON io.observable_id = o.id JOIN incidents i ON i.id = io.incident_id
		WHERE o.type = ? AND o.value = ? AND `+cond+` ORDER BY i.id DESC LIMIT ?`, append(append([]any{typ, value}, args...), MaxSightings)...)
	if err != nil {
		return out, fmt.Errorf("incident sightings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s IncidentSighting
		if err := rows.Scan(&s.Key, &s.Title, &s.Phase); err != nil {
			return out, err
		}
		out.Incidents = append(out.Incidents, s)
	}
	return out, rows.Err()
}

// Occurrence is one time a tool sent an alert.
type Occurrence struct {
	ID            int64           `json:"id"`
	SourceEventID string          `json:"source_event_id,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
	EventTime     *time.Time      `json:"event_time,omitempty"`
	Raw           json.RawMessage `json:"raw,omitempty"`
}

// AlertOccurrences lists an alert's occurrences, oldest first, after the
// occurrence id after. The first occurrence's payload is the alert's raw;
// later ones carry their own (a text payload such as CEF is returned as
// a JSON string).
func (r reader) AlertOccurrences(ctx context.Context, alertID, after int64, limit int) ([]Occurrence, bool, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = 50
	}
	rows, err := r.query(ctx, `SELECT o.id, o.source_event_id, o.received_at, o.event_time,
		CASE WHEN o.raw IS NULL AND o.id = (SELECT MIN(f.id) FROM alert_occurrences f WHERE f.alert_id = o.alert_id) THEN a.raw ELSE o.raw END
		FROM alert_occurrences o JOIN alerts a ON a.id = o.alert_id
		WHERE o.alert_id = ? AND o.id > ? ORDER BY o.id LIMIT ?`, alertID, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("alert occurrences: %w", err)
	}
	return page(rows, limit, func(sc scanner) (Occurrence, error) {
		var o Occurrence
		var received int64
		var eventTime sql.NullInt64
		var raw sql.NullString
		if err := sc.Scan(&o.ID, &o.SourceEventID, &received, &eventTime, &raw); err != nil {
			return o, err
		}
		o.ReceivedAt, o.EventTime = fromMicros(received), timePtr(eventTime)
		if raw.Valid {
			o.Raw = rawJSON(raw.String)
		}
		return o, nil
	})
}

// rawJSON returns a stored payload as JSON: itself if it is JSON, else
// as a JSON string.
func rawJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// OccurrencesBefore returns the id below which every occurrence was
// received before cutoff. Occurrence ids grow with their received time
// (the writer's clock only moves forward), so a binary search over the
// primary key finds it without an index on the time, which would cost
// every insert.
func (r reader) OccurrencesBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	row, err := r.queryRow(ctx, `SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM alert_occurrences`)
	if err != nil {
		return 0, err
	}
	var lo, hi int64
	if err := row.Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("occurrence ids: %w", err)
	}
	if hi == 0 {
		return 0, nil
	}
	c := micros(cutoff)
	// Find the first id whose occurrence was received at or after cutoff.
	hi++
	for lo < hi {
		mid := lo + (hi-lo)/2
		row, err := r.queryRow(ctx, `SELECT received_at FROM alert_occurrences WHERE id >= ? ORDER BY id LIMIT 1`, mid)
		if err != nil {
			return 0, err
		}
		var at int64
		switch err := row.Scan(&at); {
		case errors.Is(err, sql.ErrNoRows):
			hi = mid
			continue
		case err != nil:
			return 0, fmt.Errorf("occurrence time: %w", err)
		}
		if at < c {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// PruneOccurrences deletes up to limit occurrences with ids in (after,
// before), except each alert's first (it holds the source event id and
// the time the alert began). Alert counts stay as they are: they count
// what was received, not what is kept. It returns how many it deleted and
// the last id it looked at, where the next call goes on.
func (tx *Tx) PruneOccurrences(ctx context.Context, after, before int64, limit int) (deleted, last int64, err error) {
	row, err := tx.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM (SELECT id FROM alert_occurrences WHERE id > ? AND id < ? ORDER BY id LIMIT ?) w`,
		after, before, limit)
	if err != nil {
		return 0, after, err
	}
	if err := row.Scan(&last); err != nil {
		return 0, after, fmt.Errorf("prune occurrences: %w", err)
	}
	if last == 0 {
		return 0, after, nil
	}
	res, err := tx.exec(ctx, `DELETE FROM alert_occurrences WHERE id > ? AND id <= ?
		AND id <> (SELECT MIN(f.id) FROM alert_occurrences f WHERE f.alert_id = alert_occurrences.alert_id)`, after, last)
	if err != nil {
		return 0, after, fmt.Errorf("prune occurrences: %w", err)
	}
	deleted, err = res.RowsAffected()
	return deleted, last, err
}
