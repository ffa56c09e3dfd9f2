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
	"github.com/irdesk/irdesk/internal/search"
)

// Scope is what a viewer may see, decided by app and applied here in SQL so
// that a restricted incident never reaches a list, count or search of
// someone who may not see it.
type Scope struct {
	// All sees every incident (admins).
	All bool
	// UserID is the viewer. Restricted incidents are visible to their members.
	UserID int64
	// OwnReportsOnly limits the viewer to incidents they reported (reporters).
	OwnReportsOnly bool
}

// where returns the SQL condition for the scope over incidents aliased i.
func (s Scope) where() (string, []any) {
	if s.All {
		return "1 = 1", nil
	}
	cond := "(i.restricted = 0 OR EXISTS (SELECT 1 FROM incident_members m WHERE m.incident_id = i.id AND m.user_id = ?))"
	args := []any{s.UserID}
	if s.OwnReportsOnly {
		cond = "i.reporter_id = ? AND " + cond
		args = append([]any{s.UserID}, args...)
	}
	return cond, args
}

// IncidentFilter selects incidents for a list. Nil and empty fields do not
// filter. Lists are newest first; After is the id the previous page ended
// at (the cursor).
type IncidentFilter struct {
	Scope      Scope
	Phases     []core.Phase
	Severities []core.Severity
	Categories []core.Category
	AssigneeID *int64 // 0 means unassigned
	ReporterID *int64
	Open       *bool // true: not closed; false: closed
	// LegalFlags keeps incidents whose flags can start a legal clock
	// (personal data, sensitive personal data, EU residents).
	LegalFlags    bool
	Query         string
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	Before        int64 // only ids below this (cursor); 0 = from the newest
	Limit         int
}

// incidentCols is the column list scanIncident reads, in order.
const incidentCols = `i.id, i.key, i.title, i.description, i.category, i.info_type, i.cause_class,
	i.severity, i.impact, i.urgency, i.priority, i.phase, i.affected_systems,
	COALESCE(i.reporter_id, 0), COALESCE(ru.name, ''), COALESCE(i.assignee_id, 0), COALESCE(au.name, ''),
	i.occurred_at, i.location, i.discovered_by, i.what, i.why, i.how_found, i.actions_taken,
	i.personal_data, i.people_affected, i.sensitive_personal_data, i.malicious_intent,
	i.financial_damage_risk, i.eu_residents, i.restricted, i.exercise,
	i.root_cause, i.lessons_learned, i.prevention_measures,
	i.detected_at, i.reported_at, i.acknowledged_at, i.contained_at, i.eradicated_at, i.recovered_at, i.closed_at,
	i.created_at, i.updated_at, i.version`

const incidentJoins = ` LEFT JOIN users ru ON ru.id = i.reporter_id LEFT JOIN users au ON au.id = i.assignee_id`

type scanner interface{ Scan(...any) error }

func scanIncident(sc scanner) (*core.Incident, error) {
	var inc core.Incident
	var affected string
	var occurred, detected, acked, contained, eradicated, recovered, closed sql.NullInt64
	var reported, created, updated int64
	var pd, spd, mi, fdr, eu, restricted, exercise int
	err := sc.Scan(&inc.ID, &inc.Key, &inc.Title, &inc.Description, &inc.Category, &inc.InfoType, &inc.CauseClass,
		&inc.Severity, &inc.Impact, &inc.Urgency, &inc.Priority, &inc.Phase, &affected,
		&inc.ReporterID, &inc.Reporter, &inc.AssigneeID, &inc.Assignee,
		&occurred, &inc.Facts.Location, &inc.Facts.DiscoveredBy, &inc.Facts.What, &inc.Facts.Why, &inc.Facts.HowFound, &inc.Facts.ActionsTaken,
		&pd, &inc.Flags.PeopleAffected, &spd, &mi, &fdr, &eu, &restricted, &exercise,
		&inc.RootCause, &inc.LessonsLearned, &inc.PreventionMeasures,
		&detected, &reported, &acked, &contained, &eradicated, &recovered, &closed,
		&created, &updated, &inc.Version)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(affected), &inc.AffectedSystems); err != nil {
		return nil, fmt.Errorf("incident %d affected_systems: %w", inc.ID, err)
	}
	inc.Facts.OccurredAt = timePtr(occurred)
	inc.Flags.PersonalData, inc.Flags.SensitivePersonalData = pd == 1, spd == 1
	inc.Flags.MaliciousIntent, inc.Flags.FinancialDamageRisk, inc.Flags.EUResidents = mi == 1, fdr == 1, eu == 1
	inc.Restricted, inc.Exercise = restricted == 1, exercise == 1
	inc.Timestamps = core.Timestamps{
		DetectedAt: timePtr(detected), ReportedAt: fromMicros(reported), AcknowledgedAt: timePtr(acked),
		ContainedAt: timePtr(contained), EradicatedAt: timePtr(eradicated), RecoveredAt: timePtr(recovered),
		ClosedAt: timePtr(closed),
	}
	inc.CreatedAt, inc.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &inc, nil
}

// reader holds the queries both the read pool and a write transaction run.
type reader struct {
	q *stmtCache
	d dialect
	// detached statements ignore cancellation: inside a write batch, a
	// client that hangs up must not interrupt the shared connection while
	// other requests' statements run on it.
	detached bool
}

func (r reader) ctx(ctx context.Context) context.Context {
	if r.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (r reader) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.q.prepare(ctx, r.d.rebind(query))
	if err != nil {
		return nil, err
	}
	return st.QueryContext(r.ctx(ctx), args...)
}

func (r reader) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := r.q.prepare(ctx, r.d.rebind(query))
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(r.ctx(ctx), args...), nil
}

// GetIncident returns the incident with the key, with its phase history,
// if the scope may see it. Returns core.ErrNotFound otherwise: a viewer
// cannot tell a hidden incident from a missing one.
func (r reader) GetIncident(ctx context.Context, key string, scope Scope) (*core.Incident, error) {
	cond, args := scope.where()
	row, err := r.queryRow(ctx, `SELECT `+incidentCols+` FROM incidents i`+incidentJoins+` WHERE i.key = ? AND `+cond, append([]any{key}, args...)...)
	if err != nil {
		return nil, err
	}
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("incident %s: %w", key, core.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get incident %s: %w", key, err)
	}
	if err := r.loadPhases(ctx, inc); err != nil {
		return nil, err
	}
	return inc, nil
}

func (r reader) loadPhases(ctx context.Context, inc *core.Incident) error {
	rows, err := r.query(ctx, `SELECT phase, entered_at, left_at, entered_by, reason FROM incident_phases WHERE incident_id = ? ORDER BY id`, inc.ID)
	if err != nil {
		return fmt.Errorf("load phases: %w", err)
	}
	defer rows.Close()
	inc.Phases = inc.Phases[:0]
	for rows.Next() {
		var p core.PhasePeriod
		var entered int64
		var left sql.NullInt64
		if err := rows.Scan(&p.Phase, &entered, &left, &p.EnteredBy, &p.Reason); err != nil {
			return err
		}
		p.EnteredAt, p.LeftAt = fromMicros(entered), timePtr(left)
		inc.Phases = append(inc.Phases, p)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows2, err := r.query(ctx, `SELECT a.phase, u.name FROM incident_phase_assignees a JOIN users u ON u.id = a.user_id WHERE a.incident_id = ?`, inc.ID)
	if err != nil {
		return fmt.Errorf("load phase assignees: %w", err)
	}
	defer rows2.Close()
	byPhase := map[core.Phase]string{}
	for rows2.Next() {
		var ph core.Phase
		var name string
		if err := rows2.Scan(&ph, &name); err != nil {
			return err
		}
		byPhase[ph] = name
	}
	inc.PhaseAssignees = nil
	for _, ph := range core.Phases {
		if name, ok := byPhase[ph]; ok {
			inc.PhaseAssignees = append(inc.PhaseAssignees, core.PhaseAssignee{Phase: ph, Assignee: name})
		}
	}
	return rows2.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func inList[T ~string](col string, vals []T, where *[]string, args *[]any) {
	if len(vals) == 0 {
		return
	}
	*where = append(*where, col+" IN ("+placeholders(len(vals))+")")
	for _, v := range vals {
		*args = append(*args, string(v))
	}
}

// MaxListLimit bounds one page.
const MaxListLimit = 200

// FindIncidents lists incidents matching f, newest first, without phase
// history. It returns at most f.Limit incidents and whether more follow.
func (r reader) FindIncidents(ctx context.Context, f IncidentFilter) ([]*core.Incident, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = 50
	}
	cond, args := f.Scope.where()
	where := []string{cond}
	inList("i.phase", f.Phases, &where, &args)
	inList("i.severity", f.Severities, &where, &args)
	inList("i.category", f.Categories, &where, &args)
	if f.AssigneeID != nil {
		if *f.AssigneeID == 0 {
			where = append(where, "i.assignee_id IS NULL")
		} else {
			where = append(where, "i.assignee_id = ?")
			args = append(args, *f.AssigneeID)
		}
	}
	if f.ReporterID != nil {
		where = append(where, "i.reporter_id = ?")
		args = append(args, *f.ReporterID)
	}
	if f.Open != nil {
		if *f.Open {
			where = append(where, "i.phase <> 'closed'")
		} else {
			where = append(where, "i.phase = 'closed'")
		}
	}
	if f.LegalFlags {
		where = append(where, "(i.personal_data = 1 OR i.sensitive_personal_data = 1 OR i.eu_residents = 1)")
	}
	if f.CreatedAfter != nil {
		where = append(where, "i.created_at >= ?")
		args = append(args, micros(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		where = append(where, "i.created_at < ?")
		args = append(args, micros(*f.CreatedBefore))
	}
	if f.Before > 0 {
		where = append(where, "i.id < ?")
		args = append(args, f.Before)
	}
	var q string
	if terms := search.Query(f.Query); len(terms) > 0 {
		// Drive the query from the full-text index: it yields ids newest
		// first, and the LIMIT stops it as soon as a page is full.
		q = `SELECT ` + incidentCols + ` FROM incident_fts f JOIN incidents i ON i.id = f.rowid` + incidentJoins +
			` WHERE ` + r.d.textMatch + ` AND ` + strings.Join(where, " AND ") + ` ORDER BY f.rowid DESC LIMIT ?`
		args = append([]any{r.d.textQuery(terms)}, args...)
	} else if strings.TrimSpace(f.Query) != "" {
		// Only punctuation: nothing can match.
		return nil, false, nil
	} else {
		q = `SELECT ` + incidentCols + ` FROM incidents i` + incidentJoins +
			` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY i.id DESC LIMIT ?`
	}
	args = append(args, limit+1)
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find incidents: %w", err)
	}
	out, more, err := page(rows, limit, scanIncident)
	if err != nil {
		return nil, false, fmt.Errorf("find incidents: %w", err)
	}
	return out, more, nil
}

// page reads a list query that asked for limit+1 rows: it returns at most
// limit items and whether more follow. It closes rows.
func page[T any](rows *sql.Rows, limit int, scan func(scanner) (T, error)) ([]T, bool, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, item)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// ftsMatch builds an FTS5 query in which every term must match. Terms hold
// only letters and digits (package search), and are quoted all the same.
func ftsMatch(terms []search.Term) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(t.Text, `"`, `""`))
		b.WriteByte('"')
		if t.Prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// CountIncidentsByPhase counts what the scope may see, by phase.
func (r reader) CountIncidentsByPhase(ctx context.Context, scope Scope) (map[core.Phase]int64, error) {
	cond, args := scope.where()
	rows, err := r.query(ctx, `SELECT i.phase, COUNT(*) FROM incidents i WHERE `+cond+` GROUP BY i.phase`, args...)
	if err != nil {
		return nil, fmt.Errorf("count incidents: %w", err)
	}
	defer rows.Close()
	out := map[core.Phase]int64{}
	for rows.Next() {
		var p core.Phase
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

// NextIncidentKey takes the next key of the year. A transaction that rolls
// back gives its number back, so the sequence has no gaps.
func (tx *Tx) NextIncidentKey(ctx context.Context, year int) (string, error) {
	seq, err := tx.w.nextKeySeq(ctx, year)
	if err != nil {
		return "", err
	}
	return core.IncidentKey(year, seq), nil
}

func incidentArgs(inc *core.Incident) ([]any, error) {
	affected, err := json.Marshal(inc.AffectedSystems)
	if err != nil {
		return nil, err
	}
	nullID := func(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
	return []any{inc.Title, inc.Description, string(inc.Category), string(inc.InfoType), string(inc.CauseClass),
		string(inc.Severity), inc.Impact, inc.Urgency, string(inc.Priority), string(inc.Phase), string(affected),
		nullID(inc.ReporterID), nullID(inc.AssigneeID),
		nullMicros(inc.Facts.OccurredAt), inc.Facts.Location, inc.Facts.DiscoveredBy, inc.Facts.What, inc.Facts.Why, inc.Facts.HowFound, inc.Facts.ActionsTaken,
		boolInt(inc.Flags.PersonalData), inc.Flags.PeopleAffected, boolInt(inc.Flags.SensitivePersonalData), boolInt(inc.Flags.MaliciousIntent),
		boolInt(inc.Flags.FinancialDamageRisk), boolInt(inc.Flags.EUResidents), boolInt(inc.Restricted), boolInt(inc.Exercise),
		inc.RootCause, inc.LessonsLearned, inc.PreventionMeasures,
		nullMicros(inc.Timestamps.DetectedAt), micros(inc.Timestamps.ReportedAt), nullMicros(inc.Timestamps.AcknowledgedAt),
		nullMicros(inc.Timestamps.ContainedAt), nullMicros(inc.Timestamps.EradicatedAt), nullMicros(inc.Timestamps.RecoveredAt),
		nullMicros(inc.Timestamps.ClosedAt), micros(inc.UpdatedAt)}, nil
}

const incidentWriteCols = `title, description, category, info_type, cause_class, severity, impact, urgency, priority, phase,
	affected_systems, reporter_id, assignee_id, occurred_at, location, discovered_by, what, why, how_found, actions_taken,
	personal_data, people_affected, sensitive_personal_data, malicious_intent, financial_damage_risk, eu_residents,
	restricted, exercise, root_cause, lessons_learned, prevention_measures,
	detected_at, reported_at, acknowledged_at, contained_at, eradicated_at, recovered_at, closed_at, updated_at`

// CreateIncident inserts a new incident (Key set, ID unset) and indexes it
// for search; it sets inc.ID and inc.Version. Returns core.ErrConflict if
// the key exists.
func (tx *Tx) CreateIncident(ctx context.Context, inc *core.Incident) error {
	args, err := incidentArgs(inc)
	if err != nil {
		return err
	}
	args = append([]any{inc.Key}, args...)
	args = append(args, micros(inc.CreatedAt))
	row, err := tx.queryRow(ctx, `INSERT INTO incidents (key, `+incidentWriteCols+`, created_at, version)
		VALUES (?, `+placeholders(39)+`, ?, 1) RETURNING id`, args...)
	if err != nil {
		return err
	}
	if err := row.Scan(&inc.ID); err != nil {
		if isUniqueViolation(err) {
			return core.Conflict("incident %s already exists", inc.Key)
		}
		return fmt.Errorf("create incident: %w", err)
	}
	inc.Version = 1
	tx.index(inc.ID, search.Document(inc.SearchText()), false)
	return nil
}

// UpdateIncident writes every mutable field of inc if the stored version is
// still inc.Version, then bumps the version. Returns core.ErrConflict if
// someone else changed the incident in between, core.ErrNotFound if it
// does not exist.
func (tx *Tx) UpdateIncident(ctx context.Context, inc *core.Incident) error {
	args, err := incidentArgs(inc)
	if err != nil {
		return err
	}
	sets := strings.Split(incidentWriteCols, ",")
	for i := range sets {
		sets[i] = strings.TrimSpace(sets[i]) + " = ?"
	}
	args = append(args, inc.ID, inc.Version)
	res, err := tx.exec(ctx, `UPDATE incidents SET `+strings.Join(sets, ", ")+`, version = version + 1 WHERE id = ? AND version = ?`, args...)
	if err != nil {
		return fmt.Errorf("update incident: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		row, err := tx.queryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ?`, inc.ID)
		if err == nil {
			err = row.Scan(&exists)
		}
		if err != nil {
			return err
		}
		if exists == 0 {
			return fmt.Errorf("incident %s: %w", inc.Key, core.ErrNotFound)
		}
		return core.Conflict("incident %s was changed by someone else (version %d is not current); reload and retry", inc.Key, inc.Version)
	}
	inc.Version++
	tx.index(inc.ID, search.Document(inc.SearchText()), true)
	return nil
}

// LeavePhase closes the open phase period, if any.
func (tx *Tx) LeavePhase(ctx context.Context, incidentID int64) error {
	if _, err := tx.exec(ctx, `UPDATE incident_phases SET left_at = ? WHERE incident_id = ? AND left_at IS NULL`, micros(tx.now), incidentID); err != nil {
		return fmt.Errorf("leave phase: %w", err)
	}
	return nil
}

// EnterPhase opens a period in phase; closed has no period. Call
// LeavePhase first unless the incident is new.
func (tx *Tx) EnterPhase(ctx context.Context, incidentID int64, phase core.Phase, by, reason string) error {
	if phase == core.PhaseClosed {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO incident_phases (incident_id, phase, entered_at, entered_by, reason) VALUES (?, ?, ?, ?, ?)`,
		incidentID, string(phase), micros(tx.now), by, reason); err != nil {
		return fmt.Errorf("enter phase: %w", err)
	}
	return nil
}

// PhaseAssigneeID returns who owns a phase of an incident, 0 if nobody.
func (tx *Tx) PhaseAssigneeID(ctx context.Context, incidentID int64, phase core.Phase) (int64, error) {
	row, err := tx.queryRow(ctx, `SELECT user_id FROM incident_phase_assignees WHERE incident_id = ? AND phase = ?`, incidentID, string(phase))
	if err != nil {
		return 0, err
	}
	var id int64
	if err := row.Scan(&id); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return id, nil
}

// SetPhaseAssignee makes userID the owner of a phase (0 removes the owner).
func (tx *Tx) SetPhaseAssignee(ctx context.Context, incidentID int64, phase core.Phase, userID int64) error {
	var err error
	if userID == 0 {
		_, err = tx.exec(ctx, `DELETE FROM incident_phase_assignees WHERE incident_id = ? AND phase = ?`, incidentID, string(phase))
	} else {
		_, err = tx.exec(ctx, `INSERT INTO incident_phase_assignees (incident_id, phase, user_id) VALUES (?, ?, ?)
			ON CONFLICT (incident_id, phase) DO UPDATE SET user_id = excluded.user_id`, incidentID, string(phase), userID)
	}
	if err != nil {
		return fmt.Errorf("set phase assignee: %w", err)
	}
	return nil
}
