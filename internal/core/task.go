package core

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// TaskStatus is where a task stands.
type TaskStatus string

const (
	TaskTodo    TaskStatus = "todo"
	TaskDoing   TaskStatus = "doing"
	TaskDone    TaskStatus = "done"
	TaskSkipped TaskStatus = "skipped"
)

// TaskStatuses lists every status.
var TaskStatuses = []TaskStatus{TaskTodo, TaskDoing, TaskDone, TaskSkipped}

// Valid reports whether s is a known status.
func (s TaskStatus) Valid() bool { return slices.Contains(TaskStatuses, s) }

// Finished reports whether the task no longer holds its phase back.
func (s TaskStatus) Finished() bool { return s == TaskDone || s == TaskSkipped }

// ChecklistItem is one line of a task's checklist.
type ChecklistItem struct {
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// MaxChecklistItems bounds a task's checklist.
const MaxChecklistItems = 100

// Task is a step of an incident's response: from its playbook, or added by
// hand. Playbook tasks nobody has touched yet are not stored; they are
// shown from the playbook (see app), so an incident costs nothing until
// someone works a task.
type Task struct {
	// ID is "<playbook>:<task>" for playbook tasks and "t<n>" for tasks
	// added by hand.
	ID          string          `json:"id"`
	RowID       int64           `json:"-"`
	IncidentID  int64           `json:"-"`
	PlaybookID  string          `json:"playbook_id,omitempty"`
	TemplateID  string          `json:"template_id,omitempty"`
	Phase       Phase           `json:"phase"`
	TitleJA     string          `json:"title_ja"`
	TitleEN     string          `json:"title_en"`
	GuidanceJA  string          `json:"guidance_ja,omitempty"`
	GuidanceEN  string          `json:"guidance_en,omitempty"`
	Role        string          `json:"role,omitempty"`
	Blocking    bool            `json:"blocking"`
	DueAfter    time.Duration   `json:"-"`
	AssigneeID  int64           `json:"-"`
	Assignee    string          `json:"assignee,omitempty"`
	DueAt       *time.Time      `json:"due_at,omitempty"`
	Status      TaskStatus      `json:"status"`
	SkipReason  string          `json:"skip_reason,omitempty"`
	Checklist   []ChecklistItem `json:"checklist"`
	CreatedAt   *time.Time      `json:"created_at,omitempty"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
	CompletedAt *time.Time      `json:"completed_at,omitempty"`
}

// TaskPatch changes a task. Assignee is a user name ("" to unassign).
type TaskPatch struct {
	Status     Opt[TaskStatus]      `json:"status"`
	SkipReason Opt[string]          `json:"skip_reason"`
	Assignee   Opt[string]          `json:"assignee"`
	DueAt      Opt[time.Time]       `json:"due_at"`
	Checklist  Opt[[]ChecklistItem] `json:"checklist"`
}

// ApplyTo changes t (except the assignee, which app resolves) and
// returns what changed. Skipping needs a reason; finishing records when.
func (p *TaskPatch) ApplyTo(t *Task, now time.Time) ([]Change, error) {
	var changes []Change
	if p.Status.Set {
		if p.Status.Null || !p.Status.Value.Valid() {
			return nil, Invalid("status", "must be todo, doing, done or skipped")
		}
		if p.Status.Value != t.Status {
			changes = append(changes, Change{"status", t.Status, p.Status.Value})
			t.Status = p.Status.Value
		}
	}
	if p.SkipReason.Set {
		r := strings.TrimSpace(p.SkipReason.Value)
		if utf8.RuneCountInString(r) > MaxTextLen {
			return nil, Invalid("skip_reason", "is too long")
		}
		if r != t.SkipReason {
			changes = append(changes, Change{"skip_reason", t.SkipReason, r})
			t.SkipReason = r
		}
	}
	if t.Status == TaskSkipped && t.SkipReason == "" {
		return nil, Invalid("skip_reason", "skipping a task needs a reason")
	}
	if t.Status != TaskSkipped && t.SkipReason != "" && p.Status.Set {
		changes = append(changes, Change{"skip_reason", t.SkipReason, ""})
		t.SkipReason = ""
	}
	if p.DueAt.Set {
		var next *time.Time
		if !p.DueAt.Null {
			v := p.DueAt.Value.UTC().Truncate(time.Microsecond)
			next = &v
		}
		if (next == nil) != (t.DueAt == nil) || next != nil && !next.Equal(*t.DueAt) {
			changes = append(changes, Change{"due_at", t.DueAt, next})
			t.DueAt = next
		}
	}
	if p.Checklist.Set {
		items := p.Checklist.Value
		if len(items) > MaxChecklistItems {
			return nil, Invalid("checklist", "at most %d items", MaxChecklistItems)
		}
		for i := range items {
			items[i].Text = strings.TrimSpace(items[i].Text)
			if items[i].Text == "" || utf8.RuneCountInString(items[i].Text) > MaxShortLen {
				return nil, Invalid("checklist", "item %d must have 1 to %d characters", i, MaxShortLen)
			}
		}
		if items == nil {
			items = []ChecklistItem{}
		}
		if !slices.Equal(items, t.Checklist) {
			changes = append(changes, Change{"checklist", t.Checklist, items})
			t.Checklist = items
		}
	}
	switch {
	case t.Status.Finished() && t.CompletedAt == nil:
		t.CompletedAt = &now
	case !t.Status.Finished():
		t.CompletedAt = nil
	}
	return changes, nil
}
