package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Action run statuses.
const (
	ActionAwaitingApproval = "awaiting_approval"
	ActionPending          = "pending"
	ActionSucceeded        = "succeeded"
	ActionFailed           = "failed"
	// ActionRejected is final: a lead refused the run before it was sent.
	ActionRejected = "rejected"
	// ActionCancelled is final: the run was withdrawn before it was sent.
	ActionCancelled = "cancelled"
)

// ActionRunStatuses are all statuses, in the order of a run's life.
var ActionRunStatuses = []string{ActionAwaitingApproval, ActionPending, ActionSucceeded, ActionFailed, ActionRejected, ActionCancelled}

// ActionRun is one run of a response action on one observable of an
// incident. Request is the request as shown to people: secrets masked.
type ActionRun struct {
	ID              int64           `json:"id"`
	IncidentID      int64           `json:"-"`
	IncidentKey     string          `json:"incident"`
	Action          string          `json:"action"`
	ObservableType  string          `json:"observable_type"`
	ObservableValue string          `json:"observable_value"`
	Comment         string          `json:"comment,omitempty"`
	Destructive     bool            `json:"destructive"`
	Status          string          `json:"status"`
	RequestedByID   int64           `json:"-"`
	RequestedBy     string          `json:"requested_by"`
	ApprovedByID    int64           `json:"-"`
	ApprovedBy      string          `json:"approved_by,omitempty"`
	ApprovedAt      *time.Time      `json:"approved_at,omitempty"`
	Request         json.RawMessage `json:"request,omitempty"`
	ResponseStatus  int             `json:"response_status,omitempty"`
	ResponseBody    string          `json:"response_body,omitempty"`
	LastError       string          `json:"last_error,omitempty"`
	Attempts        int             `json:"attempts"`
	MaxAttempts     int             `json:"max_attempts"`
	NextAttemptAt   *time.Time      `json:"next_attempt_at,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	FinishedAt      *time.Time      `json:"finished_at,omitempty"`
	RejectedByID    int64           `json:"-"`
	RejectedBy      string          `json:"rejected_by,omitempty"`
	RejectedAt      *time.Time      `json:"rejected_at,omitempty"`
	CancelledByID   int64           `json:"-"`
	CancelledBy     string          `json:"cancelled_by,omitempty"`
	CancelledAt     *time.Time      `json:"cancelled_at,omitempty"`
	// Reason is why the run was rejected or cancelled.
	Reason string `json:"reason,omitempty"`
	// ClaimedUntil is set while a worker holds a pending run (it is being
	// sent): until then it cannot be cancelled.
	ClaimedUntil *time.Time `json:"claimed_until,omitempty"`
}

const actionRunCols = `r.id, r.incident_id, i.key, r.action, r.observable_type, r.observable_value, r.comment, r.destructive, r.status,
	r.requested_by, ru.name, COALESCE(r.approved_by, 0), COALESCE(au.name, ''), r.approved_at, r.request, r.response_status,
	r.response_body, r.last_error, r.attempts, r.max_attempts, r.next_attempt_at, r.created_at, r.finished_at,
	COALESCE(r.rejected_by, 0), COALESCE(xu.name, ''), r.rejected_at, COALESCE(r.cancelled_by, 0), COALESCE(cu.name, ''), r.cancelled_at,
	r.decision_reason, r.claimed_until`

const actionRunJoins = ` FROM action_runs r JOIN incidents i ON i.id = r.incident_id JOIN users ru ON ru.id = r.requested_by
	LEFT JOIN users au ON au.id = r.approved_by LEFT JOIN users xu ON xu.id = r.rejected_by LEFT JOIN users cu ON cu.id = r.cancelled_by`

func scanActionRun(sc scanner) (*ActionRun, error) {
	var a ActionRun
	var destructive int
	var request string
	var approved, next, finished, rejected, cancelled, claimed sql.NullInt64
	var created int64
	if err := sc.Scan(&a.ID, &a.IncidentID, &a.IncidentKey, &a.Action, &a.ObservableType, &a.ObservableValue, &a.Comment, &destructive,
		&a.Status, &a.RequestedByID, &a.RequestedBy, &a.ApprovedByID, &a.ApprovedBy, &approved, &request, &a.ResponseStatus,
		&a.ResponseBody, &a.LastError, &a.Attempts, &a.MaxAttempts, &next, &created, &finished,
		&a.RejectedByID, &a.RejectedBy, &rejected, &a.CancelledByID, &a.CancelledBy, &cancelled, &a.Reason, &claimed); err != nil {
		return nil, err
	}
	a.RejectedAt, a.CancelledAt = timePtr(rejected), timePtr(cancelled)
	a.Destructive = destructive == 1
	if request != "" {
		a.Request = json.RawMessage(request)
	}
	a.ApprovedAt, a.FinishedAt, a.CreatedAt = timePtr(approved), timePtr(finished), fromMicros(created)
	if a.Status == ActionPending {
		a.NextAttemptAt, a.ClaimedUntil = timePtr(next), timePtr(claimed)
	}
	return &a, nil
}

// CreateActionRun stores a new run (Status awaiting_approval or pending,
// due now) and sets its ID and CreatedAt.
func (tx *Tx) CreateActionRun(ctx context.Context, a *ActionRun) error {
	now := micros(tx.now)
	next := sql.NullInt64{Int64: now, Valid: a.Status == ActionPending}
	row, err := tx.queryRow(ctx, `INSERT INTO action_runs (incident_id, action, observable_type, observable_value, comment, destructive,
		status, requested_by, request, max_attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.IncidentID, a.Action, a.ObservableType, a.ObservableValue, a.Comment, boolInt(a.Destructive), a.Status, a.RequestedByID,
		string(a.Request), a.MaxAttempts, next, now)
	if err != nil {
		return err
	}
	if err := row.Scan(&a.ID); err != nil {
		return fmt.Errorf("create action run: %w", err)
	}
	a.CreatedAt = tx.now
	return nil
}

// GetActionRun returns one run or core.ErrNotFound; the scope hides runs
// on incidents the viewer may not see.
func (r reader) GetActionRun(ctx context.Context, id int64, scope Scope) (*ActionRun, error) {
	cond, args := scope.where()
	row, err := r.queryRow(ctx, `SELECT `+actionRunCols+actionRunJoins+` WHERE r.id = ? AND `+cond, append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	}
	a, err := scanActionRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("action run %d: %w", id, core.ErrNotFound)
	}
	return a, err
}

// ActionRunFilter selects runs for a list, newest first.
type ActionRunFilter struct {
	Scope      Scope
	IncidentID int64
	Status     string
	Before     int64
	Limit      int
}

// FindActionRuns lists runs.
func (r reader) FindActionRuns(ctx context.Context, f ActionRunFilter) ([]*ActionRun, bool, error) {
	cond, args := f.Scope.where()
	q := `SELECT ` + actionRunCols + actionRunJoins + ` WHERE ` + cond
	if f.IncidentID != 0 {
		q += ` AND r.incident_id = ?`
		args = append(args, f.IncidentID)
	}
	if f.Status != "" {
		q += ` AND r.status = ?`
		args = append(args, f.Status)
	}
	if f.Before > 0 {
		q += ` AND r.id < ?`
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += ` ORDER BY r.id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find action runs: %w", err)
	}
	return page(rows, limit, scanActionRun)
}

// ActionRunsDue reports whether a pending run is due at now.
func (r reader) ActionRunsDue(ctx context.Context, now time.Time) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM action_runs WHERE status = 'pending' AND next_attempt_at <= ?)`, micros(now))
	if err != nil {
		return false, err
	}
	var due bool
	if err := row.Scan(&due); err != nil {
		return false, fmt.Errorf("action runs due: %w", err)
	}
	return due, nil
}

// ClaimActionRuns takes up to limit due pending runs, counts the attempt
// and pushes the next attempt past the lease, so a worker that dies in the
// middle hands its runs back when the lease runs out.
func (tx *Tx) ClaimActionRuns(ctx context.Context, limit int, lease time.Duration) ([]*ActionRun, error) {
	now := micros(tx.now)
	until := now + lease.Microseconds()
	rows, err := tx.query(ctx, `UPDATE action_runs SET attempts = attempts + 1, next_attempt_at = ?, claimed_until = ?
		WHERE id IN (SELECT id FROM action_runs WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`+tx.d.skipLocked+`)
		RETURNING id`, until, until, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim action runs: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*ActionRun, 0, len(ids))
	for _, id := range ids {
		a, err := tx.GetActionRun(ctx, id, Scope{All: true})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ApproveActionRun moves a run awaiting approval to pending, due now, or
// says core.ErrConflict if it is not awaiting approval.
func (tx *Tx) ApproveActionRun(ctx context.Context, id, approverID int64) error {
	now := micros(tx.now)
	res, err := tx.exec(ctx, `UPDATE action_runs SET status = 'pending', approved_by = ?, approved_at = ?, next_attempt_at = ?
		WHERE id = ? AND status = 'awaiting_approval'`, approverID, now, now, id)
	if err != nil {
		return fmt.Errorf("approve action run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return tx.runStateConflict(ctx, id, "cannot be approved: only a run awaiting approval can")
	}
	return nil
}

// RejectActionRun ends a run awaiting approval as rejected, recording who,
// when and why, or says core.ErrConflict if it is not awaiting approval.
func (tx *Tx) RejectActionRun(ctx context.Context, id, byID int64, reason string) error {
	now := micros(tx.now)
	res, err := tx.exec(ctx, `UPDATE action_runs SET status = 'rejected', rejected_by = ?, rejected_at = ?, decision_reason = ?,
		finished_at = ?, next_attempt_at = NULL WHERE id = ? AND status = 'awaiting_approval'`, byID, now, reason, now, id)
	if err != nil {
		return fmt.Errorf("reject action run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return tx.runStateConflict(ctx, id, "cannot be rejected: only a run awaiting approval can")
	}
	return nil
}

// CancelActionRun ends a run that has not started as cancelled: one
// awaiting approval, or a pending one no worker holds (never claimed,
// waiting for its next retry, or whose worker's lease ran out). A run a
// worker holds right now says core.ErrConflict, as does an ended one.
//
// The state check is in the UPDATE itself, so it races correctly with
// ClaimActionRuns: on PostgreSQL a claim holding the row makes this wait
// and then re-check the claimed row (no match), and a claim that comes
// second skips or re-checks the cancelled row; on SQLite writers are
// serial. Either the claim or the cancel wins, never both.
func (tx *Tx) CancelActionRun(ctx context.Context, id, byID int64, reason string) error {
	now := micros(tx.now)
	res, err := tx.exec(ctx, `UPDATE action_runs SET status = 'cancelled', cancelled_by = ?, cancelled_at = ?, decision_reason = ?,
		finished_at = ?, next_attempt_at = NULL, claimed_until = NULL
		WHERE id = ? AND (status = 'awaiting_approval' OR (status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?)))`,
		byID, now, reason, now, id, now)
	if err != nil {
		return fmt.Errorf("cancel action run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return tx.runStateConflict(ctx, id, "cannot be cancelled: only a run that has not started can")
	}
	return nil
}

// runStateConflict explains why a run's state did not allow a change.
func (tx *Tx) runStateConflict(ctx context.Context, id int64, refusal string) error {
	a, err := tx.GetActionRun(ctx, id, Scope{All: true})
	if err != nil {
		return err
	}
	if a.Status == ActionPending && a.ClaimedUntil != nil && a.ClaimedUntil.After(tx.now) {
		return core.Conflict("action run %d is being sent right now and %s", id, refusal)
	}
	return core.Conflict("action run %d is %s and %s", id, a.Status, refusal)
}

// ActionAttempt is the outcome of one attempt at a run.
type ActionAttempt struct {
	Request        json.RawMessage
	ResponseStatus int
	ResponseBody   string
	Error          string
}

// RecordActionAttempt stores an attempt's request and answer. With next
// set the run stays pending until then; otherwise it ends with status
// (succeeded or failed). Only a pending run is changed: false means it was
// not (it ended meanwhile).
func (tx *Tx) RecordActionAttempt(ctx context.Context, id int64, at ActionAttempt, status string, next *time.Time) (bool, error) {
	var res sql.Result
	var err error
	if next != nil {
		res, err = tx.exec(ctx, `UPDATE action_runs SET request = ?, response_status = ?, response_body = ?, last_error = ?, next_attempt_at = ?,
			claimed_until = NULL WHERE id = ? AND status = 'pending'`, string(at.Request), at.ResponseStatus, at.ResponseBody, at.Error, micros(*next), id)
	} else {
		res, err = tx.exec(ctx, `UPDATE action_runs SET request = ?, response_status = ?, response_body = ?, last_error = ?, status = ?,
			finished_at = ?, next_attempt_at = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending'`,
			string(at.Request), at.ResponseStatus, at.ResponseBody, at.Error, status, micros(tx.now), id)
	}
	if err != nil {
		return false, fmt.Errorf("record action attempt: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ---- OpenID Connect identities of users ----

// UserByOIDC returns the user linked to an issuer's subject, or
// core.ErrNotFound.
func (r reader) UserByOIDC(ctx context.Context, issuer, subject string) (core.User, error) {
	row, err := r.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.oidc_issuer = ? AND u.oidc_subject = ?`, issuer, subject)
	if err != nil {
		return core.User{}, err
	}
	u, err := scanUser(row)
	if err != nil {
		return core.User{}, notFound(err, "user of this OpenID Connect subject")
	}
	return u, nil
}

// LinkOIDC ties a user to an issuer's subject; core.ErrConflict if another
// user has it.
func (tx *Tx) LinkOIDC(ctx context.Context, userID int64, issuer, subject string) error {
	_, err := tx.exec(ctx, `UPDATE users SET oidc_issuer = ?, oidc_subject = ?, updated_at = ? WHERE id = ?`, issuer, subject, micros(tx.now), userID)
	if err != nil {
		if isUniqueViolation(err) {
			return core.Conflict("another user is linked to this OpenID Connect subject")
		}
		return fmt.Errorf("link OpenID Connect subject: %w", err)
	}
	return nil
}

// OIDCLinked reports whether the user is tied to any OpenID Connect subject.
func (r reader) OIDCLinked(ctx context.Context, userID int64) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT oidc_subject IS NOT NULL FROM users WHERE id = ?`, userID)
	if err != nil {
		return false, err
	}
	var linked bool
	if err := row.Scan(&linked); err != nil {
		return false, notFound(err, "user")
	}
	return linked, nil
}

// SetUserRole changes a user's role (the OpenID Connect sign-in sets it
// from the group claim).
func (tx *Tx) SetUserRole(ctx context.Context, userID int64, role core.Role) error {
	if _, err := tx.exec(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, string(role), micros(tx.now), userID); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// SetActionRunRequest stores the request a run will send, as shown.
func (tx *Tx) SetActionRunRequest(ctx context.Context, id int64, request json.RawMessage) error {
	if _, err := tx.exec(ctx, `UPDATE action_runs SET request = ? WHERE id = ?`, string(request), id); err != nil {
		return fmt.Errorf("store action request: %w", err)
	}
	return nil
}
