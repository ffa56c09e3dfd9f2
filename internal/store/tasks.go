package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

const taskCols = `t.id, t.incident_id, t.playbook_id, t.template_id, t.phase, t.title_ja, t.title_en, t.guidance_ja, t.guidance_en,
	t.role, t.blocking, t.due_after, COALESCE(t.assignee_id, 0), COALESCE(u.name, ''), t.due_at, t.status, t.skip_reason,
	t.checklist, t.created_at, t.updated_at, t.completed_at`

// ListTasks returns the stored tasks of an incident in the order they
// were stored.
func (r reader) ListTasks(ctx context.Context, incidentID int64) ([]core.Task, error) {
	rows, err := r.query(ctx, `SELECT `+taskCols+` FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id
		WHERE t.incident_id = ? ORDER BY t.id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	var out []core.Task
	for rows.Next() {
		var t core.Task
		var blocking int
		var dueAfter, created, updated int64
		var due, completed sql.NullInt64
		var checklist string
		if err := rows.Scan(&t.RowID, &t.IncidentID, &t.PlaybookID, &t.TemplateID, &t.Phase, &t.TitleJA, &t.TitleEN, &t.GuidanceJA, &t.GuidanceEN,
			&t.Role, &blocking, &dueAfter, &t.AssigneeID, &t.Assignee, &due, &t.Status, &t.SkipReason,
			&checklist, &created, &updated, &completed); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(checklist), &t.Checklist); err != nil {
			return nil, fmt.Errorf("task %d checklist: %w", t.RowID, err)
		}
		t.Blocking, t.DueAfter = blocking == 1, time.Duration(dueAfter)*time.Second
		c, u := fromMicros(created), fromMicros(updated)
		t.DueAt, t.CreatedAt, t.UpdatedAt, t.CompletedAt = timePtr(due), &c, &u, timePtr(completed)
		out = append(out, t)
	}
	return out, rows.Err()
}

// SaveTask inserts a task (RowID 0, which it sets) or updates every
// changeable field of a stored one.
func (tx *Tx) SaveTask(ctx context.Context, t *core.Task) error {
	checklist, err := json.Marshal(t.Checklist)
	if err != nil {
		return err
	}
	if t.Checklist == nil {
		checklist = []byte("[]")
	}
	assignee := sql.NullInt64{Int64: t.AssigneeID, Valid: t.AssigneeID != 0}
	now := micros(tx.now)
	if t.RowID == 0 {
		row, err := tx.queryRow(ctx, `INSERT INTO tasks (incident_id, playbook_id, template_id, phase, title_ja, title_en, guidance_ja, guidance_en,
			role, blocking, due_after, assignee_id, due_at, status, skip_reason, checklist, created_at, updated_at, completed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			t.IncidentID, t.PlaybookID, t.TemplateID, string(t.Phase), t.TitleJA, t.TitleEN, t.GuidanceJA, t.GuidanceEN,
			t.Role, boolInt(t.Blocking), int64(t.DueAfter/time.Second), assignee, nullMicros(t.DueAt), string(t.Status), t.SkipReason,
			string(checklist), now, now, nullMicros(t.CompletedAt))
		if err != nil {
			return err
		}
		if err := row.Scan(&t.RowID); err != nil {
			if isUniqueViolation(err) {
				return core.Conflict("task %s exists already", t.ID)
			}
			return fmt.Errorf("create task: %w", err)
		}
		return nil
	}
	_, err = tx.exec(ctx, `UPDATE tasks SET assignee_id = ?, due_at = ?, status = ?, skip_reason = ?, checklist = ?, updated_at = ?, completed_at = ?
		WHERE id = ? AND incident_id = ?`,
		assignee, nullMicros(t.DueAt), string(t.Status), t.SkipReason, string(checklist), now, nullMicros(t.CompletedAt), t.RowID, t.IncidentID)
	if err != nil {
		return fmt.Errorf("update task: %w", err)
	}
	return nil
}
