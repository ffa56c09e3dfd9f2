package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/playbook"
	"github.com/irdesk/irdesk/internal/store"
)

// Playbooks returns every playbook in use (built-in merged with custom).
func (app *App) Playbooks() []*playbook.Playbook { return app.playbooks.All() }

// playbookFor is the incident's current playbook, if any.
func (app *App) playbookFor(inc *core.Incident) (*playbook.Playbook, bool) {
	return app.playbooks.For(inc.Category, inc.InfoType)
}

// templateTask turns a playbook step into an incident task nobody has
// touched yet.
func templateTask(inc *core.Incident, pb *playbook.Playbook, t playbook.Task) core.Task {
	return core.Task{
		ID: pb.ID + ":" + t.ID, IncidentID: inc.ID, PlaybookID: pb.ID, TemplateID: t.ID, Phase: t.Phase,
		TitleJA: t.Title.Ja, TitleEN: t.Title.En, GuidanceJA: t.Guidance.Ja, GuidanceEN: t.Guidance.En,
		Role: string(t.Role), Blocking: t.Blocking, DueAfter: t.DueAfter, Status: core.TaskTodo, Checklist: []core.ChecklistItem{},
	}
}

// taskList merges the incident's playbook with its stored tasks: the
// playbook's steps in playbook order (stored state where someone worked
// them), then tasks added by hand and finished tasks of an earlier
// playbook, by phase. A task's due time, unless set by hand, is its
// phase's first start plus the playbook's offset.
func (app *App) taskList(inc *core.Incident, stored []core.Task) []core.Task {
	var out []core.Task
	used := make([]bool, len(stored))
	if pb, ok := app.playbookFor(inc); ok {
		for _, tpl := range pb.Tasks {
			t := templateTask(inc, pb, tpl)
			for i, s := range stored {
				if s.PlaybookID == pb.ID && s.TemplateID == tpl.ID {
					t, used[i] = s, true
					t.ID = pb.ID + ":" + tpl.ID
				}
			}
			out = append(out, t)
		}
	}
	var rest []core.Task
	for i, s := range stored {
		if used[i] {
			continue
		}
		if s.TemplateID != "" {
			s.ID = s.PlaybookID + ":" + s.TemplateID
		} else {
			s.ID = "t" + strconv.FormatInt(s.RowID, 10)
		}
		rest = append(rest, s)
	}
	slices.SortStableFunc(rest, func(a, b core.Task) int { return phaseIndex(a.Phase) - phaseIndex(b.Phase) })
	out = append(out, rest...)
	for i := range out {
		t := &out[i]
		if t.DueAt == nil && t.DueAfter > 0 {
			for _, p := range inc.Phases {
				if p.Phase == t.Phase {
					due := p.EnteredAt.Add(t.DueAfter)
					t.DueAt = &due
					break
				}
			}
		}
		if t.Checklist == nil {
			t.Checklist = []core.ChecklistItem{}
		}
	}
	return out
}

// Tasks lists an incident's tasks.
func (app *App) Tasks(ctx context.Context, a Actor, key string) ([]core.Task, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	stored, err := app.store.ListTasks(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	return app.taskList(inc, stored), nil
}

// openBlockingTasks are the blocking tasks of a phase not yet done or skipped.
func (app *App) openBlockingTasks(ctx context.Context, tx *store.Tx, inc *core.Incident, phase core.Phase) ([]core.Task, error) {
	stored, err := tx.ListTasks(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	var open []core.Task
	for _, t := range app.taskList(inc, stored) {
		if t.Phase == phase && t.Blocking && !t.Status.Finished() {
			open = append(open, t)
		}
	}
	return open, nil
}

// NewTask is a task added by hand.
type NewTask struct {
	Title     string     `json:"title"`
	Guidance  string     `json:"guidance"`
	Phase     core.Phase `json:"phase"`
	Assignee  string     `json:"assignee"`
	DueAt     *time.Time `json:"due_at"`
	Blocking  bool       `json:"blocking"`
	Checklist []string   `json:"checklist"`
}

// CreateTask adds a task by hand (analysts and up), in the current phase
// unless told otherwise.
func (app *App) CreateTask(ctx context.Context, a Actor, key string, in NewTask) (core.Task, error) {
	in.Title, in.Guidance = strings.TrimSpace(in.Title), strings.TrimSpace(in.Guidance)
	if in.Title == "" {
		return core.Task{}, core.Invalid("title", "is required")
	}
	if utf8.RuneCountInString(in.Title) > core.MaxTitleLen {
		return core.Task{}, core.Invalid("title", "is longer than %d characters", core.MaxTitleLen)
	}
	if utf8.RuneCountInString(in.Guidance) > core.MaxTextLen {
		return core.Task{}, core.Invalid("guidance", "is too long")
	}
	if in.Phase != "" && (!in.Phase.Valid() || in.Phase == core.PhaseClosed) {
		return core.Task{}, core.Invalid("phase", "unknown phase %q", in.Phase)
	}
	var task core.Task
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		t := core.Task{IncidentID: inc.ID, Phase: in.Phase, TitleJA: in.Title, TitleEN: in.Title, GuidanceJA: in.Guidance,
			GuidanceEN: in.Guidance, Blocking: in.Blocking, Status: core.TaskTodo}
		if t.Phase == "" {
			t.Phase = inc.Phase
			if t.Phase == core.PhaseClosed {
				t.Phase = core.PhaseReview
			}
		}
		items := make([]core.ChecklistItem, len(in.Checklist))
		for i, s := range in.Checklist {
			items[i] = core.ChecklistItem{Text: s}
		}
		patch := core.TaskPatch{Checklist: core.Opt[[]core.ChecklistItem]{Set: true, Value: items}}
		if in.DueAt != nil {
			patch.DueAt = core.Opt[time.Time]{Set: true, Value: *in.DueAt}
		}
		if _, err := patch.ApplyTo(&t, tx.Now()); err != nil {
			return err
		}
		if err := app.assignTask(ctx, tx, a, inc, &t, in.Assignee); err != nil {
			return err
		}
		if err := tx.SaveTask(ctx, &t); err != nil {
			return err
		}
		t.ID = "t" + strconv.FormatInt(t.RowID, 10)
		task = t
		return appendEvent(ctx, tx, a, core.EvTaskCreated, inc.ID, map[string]any{"task": t.ID, "title": t.TitleJA, "phase": t.Phase})
	})
	return task, err
}

// assignTask resolves and checks a task's assignee; someone assigned to a
// task of a restricted incident becomes a member.
func (app *App) assignTask(ctx context.Context, tx *store.Tx, a Actor, inc *core.Incident, t *core.Task, name string) error {
	if name == "" {
		t.AssigneeID, t.Assignee = 0, ""
		return nil
	}
	u, err := tx.UserByName(ctx, name)
	if errors.Is(err, core.ErrNotFound) {
		return core.Invalid("assignee", "no user %q", name)
	}
	if err != nil {
		return err
	}
	if u.Disabled || !u.Role.AtLeastAnalyst() {
		return core.Invalid("assignee", "%q cannot be assigned (disabled, or not an analyst, lead or admin)", name)
	}
	t.AssigneeID, t.Assignee = u.ID, u.Name
	if inc.Restricted && u.Role != core.RoleAdmin {
		return addMember(ctx, tx, a, inc, u)
	}
	return nil
}

// UpdateTask changes a task's status, assignee, due time or checklist
// (analysts and up). A playbook task is stored on its first change.
func (app *App) UpdateTask(ctx context.Context, a Actor, key, taskID string, patch core.TaskPatch) (core.Task, error) {
	var task core.Task
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		stored, err := tx.ListTasks(ctx, inc.ID)
		if err != nil {
			return err
		}
		list := app.taskList(inc, stored)
		i := slices.IndexFunc(list, func(t core.Task) bool { return t.ID == taskID })
		if i < 0 {
			return fmt.Errorf("task %q of %s: %w", taskID, inc.Key, core.ErrNotFound)
		}
		t := list[i]
		if t.RowID == 0 {
			// The derived due time is shown, not stored: it follows the phase.
			t.DueAt = nil
		}
		changes, err := patch.ApplyTo(&t, tx.Now())
		if err != nil {
			return err
		}
		if patch.Assignee.Set && patch.Assignee.Value != t.Assignee {
			prev := t.Assignee
			if err := app.assignTask(ctx, tx, a, inc, &t, patch.Assignee.Value); err != nil {
				return err
			}
			changes = append(changes, core.Change{Field: "assignee", Old: prev, New: t.Assignee})
		}
		if len(changes) > 0 {
			if err := tx.SaveTask(ctx, &t); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, a, core.EvTaskUpdated, inc.ID, map[string]any{"task": t.ID, "changes": changes}); err != nil {
				return err
			}
		}
		stored, err = tx.ListTasks(ctx, inc.ID)
		if err != nil {
			return err
		}
		for _, s := range app.taskList(inc, stored) {
			if s.ID == t.ID {
				task = s
			}
		}
		return nil
	})
	return task, err
}

// retirePlaybookTasks skips the unfinished stored tasks of playbooks other
// than the incident's current one, after its category changed. Finished
// ones are kept as they are: they are part of what was done.
func (app *App) retirePlaybookTasks(ctx context.Context, tx *store.Tx, a Actor, inc *core.Incident) error {
	current := ""
	if pb, ok := app.playbookFor(inc); ok {
		current = pb.ID
	}
	stored, err := tx.ListTasks(ctx, inc.ID)
	if err != nil {
		return err
	}
	for _, t := range stored {
		if t.PlaybookID == "" || t.PlaybookID == current || t.Status.Finished() {
			continue
		}
		prev := t.Status
		t.Status, t.SkipReason = core.TaskSkipped, fmt.Sprintf("category changed to %s", inc.Category)
		now := tx.Now()
		t.CompletedAt = &now
		if err := tx.SaveTask(ctx, &t); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvTaskUpdated, inc.ID, map[string]any{"task": t.PlaybookID + ":" + t.TemplateID,
			"changes": []core.Change{{Field: "status", Old: prev, New: core.TaskSkipped}}, "reason": t.SkipReason}); err != nil {
			return err
		}
	}
	return nil
}
