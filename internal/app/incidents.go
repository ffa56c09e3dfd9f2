package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// NewIncident is a report or an incident opened by a responder.
type NewIncident struct {
	Title           string          `json:"title"`
	Description     string          `json:"description"`
	Category        core.Category   `json:"category"`
	InfoType        core.InfoType   `json:"info_type"`
	CauseClass      core.CauseClass `json:"cause_class"`
	Severity        core.Severity   `json:"severity"`
	Impact          int             `json:"impact"`
	Urgency         int             `json:"urgency"`
	AffectedSystems []string        `json:"affected_systems"`
	Facts           core.Facts      `json:"facts"`
	Flags           core.Flags      `json:"flags"`
	Restricted      bool            `json:"restricted"`
	Exercise        bool            `json:"exercise"`
	DetectedAt      *time.Time      `json:"detected_at"`
}

// responderOnly names the fields a reporter may not set: judging severity,
// priority and need-to-know is the responders' job.
func (n *NewIncident) responderOnly() string {
	switch {
	case n.Severity != "":
		return "severity"
	case n.Impact != 0:
		return "impact"
	case n.Urgency != 0:
		return "urgency"
	case n.CauseClass != "":
		return "cause_class"
	case n.Restricted:
		return "restricted"
	case n.Exercise:
		return "exercise"
	}
	return ""
}

// CreateIncident files a new incident in phase detect. Reporters file
// reports; analysts and up open incidents with every field; viewers cannot.
func (app *App) CreateIncident(ctx context.Context, a Actor, in NewIncident) (*core.Incident, error) {
	switch {
	case a.System || a.User.Role.AtLeastLead():
	case a.User.Role == core.RoleAnalyst:
		// The same rule as for changing them later: who may see an
		// incident, and whether it counts, is for leads to decide.
		if in.Restricted || in.Exercise {
			return nil, forbidden("only leads and admins open restricted or exercise incidents")
		}
	case a.User.Role == core.RoleReporter:
		if f := in.responderOnly(); f != "" {
			return nil, fmt.Errorf("%w: %s is set by the response team, not in a report", core.ErrForbidden, f)
		}
	default:
		return nil, forbidden("your role may not create incidents")
	}
	inc := &core.Incident{
		Title: in.Title, Description: in.Description, Category: in.Category, InfoType: in.InfoType,
		CauseClass: in.CauseClass, Severity: in.Severity, Impact: in.Impact, Urgency: in.Urgency,
		AffectedSystems: in.AffectedSystems, Facts: in.Facts, Flags: in.Flags,
		Restricted: in.Restricted, Exercise: in.Exercise, Phase: core.PhaseDetect,
		ReporterID: a.User.ID, Reporter: a.User.Name,
	}
	if inc.Facts.OccurredAt != nil {
		t := inc.Facts.OccurredAt.UTC().Truncate(time.Microsecond)
		inc.Facts.OccurredAt = &t
	}
	if err := inc.Normalize(); err != nil {
		return nil, err
	}
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		return app.createIncident(ctx, tx, a, inc, in.DetectedAt)
	})
	if err != nil {
		return nil, err
	}
	app.notifyCfg.Kick()
	return inc, nil
}

// createIncident files a normalised incident inside tx: the next key, the
// row, its first phase, the created event, and membership for whoever
// restricts it. CreateIncident and alert promotion share it, so an
// incident opened from an alert is recorded exactly like any other.
// It only assigns to inc's fields, so it may run again with the same inc.
func (app *App) createIncident(ctx context.Context, tx *store.Tx, a Actor, inc *core.Incident, detectedAt *time.Time) error {
	now := tx.Now()
	key, err := tx.NextIncidentKey(ctx, now.In(jst).Year())
	if err != nil {
		return err
	}
	inc.Key = key
	inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = now, now, now
	detected := now
	if detectedAt != nil {
		detected = detectedAt.UTC().Truncate(time.Microsecond)
	}
	inc.Timestamps.DetectedAt = &detected
	if err := tx.CreateIncident(ctx, inc); err != nil {
		return err
	}
	if err := tx.EnterPhase(ctx, inc.ID, core.PhaseDetect, a.name(), ""); err != nil {
		return err
	}
	inc.Phases = []core.PhasePeriod{{Phase: core.PhaseDetect, EnteredAt: now, EnteredBy: a.name()}}
	if err := appendEvent(ctx, tx, a, core.EvIncidentCreated, inc.ID, map[string]any{"incident": inc}); err != nil {
		return err
	}
	if inc.Restricted && !a.System {
		// Whoever restricts an incident keeps seeing it.
		if err := addMember(ctx, tx, a, inc, a.User); err != nil {
			return err
		}
	}
	// Escalation is part of filing: the first messages are written with
	// the incident, whichever way it was filed (form, API, alert, rule).
	_, err = app.escalateOnChange(ctx, tx, inc)
	return err
}

// jst is where incident keys take their year: a Japanese desk numbers
// INC-2027-0001 from midnight of 1 January in Tokyo, not in London.
var jst = time.FixedZone("Asia/Tokyo", 9*60*60)

// GetIncident returns an incident the actor may see.
func (app *App) GetIncident(ctx context.Context, a Actor, key string) (*core.Incident, error) {
	if _, _, err := core.ParseIncidentKey(key); err != nil {
		return nil, fmt.Errorf("incident %q: %w", key, core.ErrNotFound)
	}
	return app.store.GetIncident(ctx, key, a.scope())
}

// ListIncidents lists the incidents the actor may see, newest first.
func (app *App) ListIncidents(ctx context.Context, a Actor, f store.IncidentFilter) ([]*core.Incident, bool, error) {
	f.Scope = a.scope()
	return app.store.FindIncidents(ctx, f)
}

// UserID resolves a user name, for filters.
func (app *App) UserID(ctx context.Context, name string) (int64, error) {
	u, err := app.store.UserByName(ctx, name)
	if err != nil {
		return 0, err
	}
	return u.ID, nil
}

// mutate loads an incident the actor may see inside a write transaction,
// checks the actor may change it, and runs fn. The incident is re-read in
// the transaction so the checks and the change see the same state.
func (app *App) mutate(ctx context.Context, a Actor, key string, allowed func(*core.Incident) error, fn func(*store.Tx, *core.Incident) error) (*core.Incident, error) {
	if _, _, err := core.ParseIncidentKey(key); err != nil {
		return nil, fmt.Errorf("incident %q: %w", key, core.ErrNotFound)
	}
	// Check first on the read pool: a refused request then never enters
	// the single writer, where a failure makes its whole batch run again.
	// The check is repeated in the transaction, which is what counts.
	pre, err := app.store.GetIncident(ctx, key, a.scope())
	if err != nil {
		return nil, err
	}
	if err := allowed(pre); err != nil {
		return nil, err
	}
	var out *core.Incident
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		inc, err := tx.GetIncident(ctx, key, a.scope())
		if err != nil {
			return err
		}
		if err := allowed(inc); err != nil {
			return err
		}
		if err := fn(tx, inc); err != nil {
			return err
		}
		out = inc
		return nil
	})
	return out, err
}

func needAnalyst(a Actor) func(*core.Incident) error {
	return func(*core.Incident) error {
		if a.System || a.User.Role.AtLeastAnalyst() {
			return nil
		}
		return forbidden("your role may not change incidents")
	}
}

func needLead(a Actor, what string) func(*core.Incident) error {
	return func(*core.Incident) error {
		if a.System || a.User.Role.AtLeastLead() {
			return nil
		}
		return forbidden("only leads and admins may %s", what)
	}
}

// UpdateIncident applies a partial update. Analysts and up may edit;
// changing who may see the incident (restricted) or whether it is an
// exercise is for leads. If patch.Version is set and is not current, the
// update is refused with core.ErrConflict.
func (app *App) UpdateIncident(ctx context.Context, a Actor, key string, patch core.IncidentPatch) (*core.Incident, error) {
	var told bool
	inc, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		if (patch.Restricted.Set || patch.Exercise.Set) && !a.System && !a.User.Role.AtLeastLead() {
			return forbidden("only leads and admins may change restricted or exercise")
		}
		if patch.Version.Set && patch.Version.Null {
			return core.Invalid("version", "must be a number, not null")
		}
		if patch.Version.Set && patch.Version.Value != inc.Version {
			return core.Conflict("incident %s is at version %d, not %d; reload and retry", inc.Key, inc.Version, patch.Version.Value)
		}
		wasRestricted := inc.Restricted
		oldPlaybook, _ := app.playbookFor(inc)
		changes, err := patch.Apply(inc)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		inc.UpdatedAt = tx.Now()
		if err := tx.UpdateIncident(ctx, inc); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvIncidentUpdated, inc.ID, map[string]any{"changes": changes}); err != nil {
			return err
		}

		if told, err = app.escalateOnChange(ctx, tx, inc); err != nil {
			return err
		}
		if newPlaybook, _ := app.playbookFor(inc); newPlaybook != oldPlaybook {
			if err := app.retirePlaybookTasks(ctx, tx, a, inc); err != nil {
				return err
			}
		}
		if inc.Restricted && !wasRestricted && !a.System && a.User.Role != core.RoleAdmin {
			return addMember(ctx, tx, a, inc, a.User)
		}
		return nil
	})
	if err == nil && told {
		app.notifyCfg.Kick()
	}
	return inc, err
}

// MovePhase moves an incident to another phase under the lifecycle rules
// (core.CheckPhaseMove). Analysts and up move phases; closing and
// reopening a closed incident are for leads.
func (app *App) MovePhase(ctx context.Context, a Actor, key string, to core.Phase, reason string) (*core.Incident, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > core.MaxTextLen {
		return nil, core.Invalid("reason", "is too long")
	}
	var told bool
	inc, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		if (to == core.PhaseClosed || inc.Phase == core.PhaseClosed) && !a.System && !a.User.Role.AtLeastLead() {
			return forbidden("only leads and admins may close or reopen an incident")
		}
		from := inc.Phase
		if err := core.CheckPhaseMove(from, to, reason, core.ClosingFacts{
			RootCause: inc.RootCause, LessonsLearned: inc.LessonsLearned, PreventionMeasures: inc.PreventionMeasures,
		}); err != nil {
			return err
		}
		forward := core.ClassifyMove(from, to) != core.MoveBack
		if forward && from != core.PhaseClosed {
			open, err := app.openBlockingTasks(ctx, tx, inc, from)
			if err != nil {
				return err
			}
			if len(open) > 0 {
				ids := make([]string, len(open))
				for i, t := range open {
					ids[i] = t.ID
				}
				return core.Conflict("%d blocking task(s) of phase %s are not done or skipped: %s", len(open), from, strings.Join(ids, ", "))
			}
		}
		now := tx.Now()
		inc.Phase = to
		inc.UpdatedAt = now
		ts := &inc.Timestamps
		setOnce := func(p **time.Time) {
			if *p == nil {
				*p = &now
			}
		}
		if from == core.PhaseDetect {
			setOnce(&ts.AcknowledgedAt)
		}
		if forward {
			// Leaving a phase forward means its goal was reached, also
			// when skipping over it.
			fi, ti := phaseIndex(from), phaseIndex(to)
			passed := func(p core.Phase) bool { return fi <= phaseIndex(p) && phaseIndex(p) < ti }
			if passed(core.PhaseContain) {
				setOnce(&ts.ContainedAt)
				setOnce(&ts.EradicatedAt)
			}
			if passed(core.PhaseRecover) {
				setOnce(&ts.RecoveredAt)
			}
		}
		if to == core.PhaseClosed {
			ts.ClosedAt = &now
		} else {
			ts.ClosedAt = nil
		}
		// The new phase's owner: who was assigned to it before, or else
		// whoever owned the phase being left, until someone reassigns it.
		owner, err := tx.PhaseAssigneeID(ctx, inc.ID, to)
		if err != nil {
			return err
		}
		if owner == 0 && inc.AssigneeID != 0 && to != core.PhaseClosed {
			owner = inc.AssigneeID
			if err := tx.SetPhaseAssignee(ctx, inc.ID, to, owner); err != nil {
				return err
			}
		}
		if to != core.PhaseClosed {
			inc.AssigneeID = owner
		}
		if err := tx.UpdateIncident(ctx, inc); err != nil {
			return err
		}
		if err := tx.LeavePhase(ctx, inc.ID); err != nil {
			return err
		}
		if err := tx.EnterPhase(ctx, inc.ID, to, a.name(), reason); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvPhaseChanged, inc.ID, map[string]any{"from": from, "to": to, "reason": reason}); err != nil {
			return err
		}
		if err := reload(ctx, tx, inc); err != nil {
			return err
		}
		if to == core.PhaseClosed {
			// The review becomes knowledge in the closing transaction.
			if err := app.recordKnowledge(ctx, tx, a, inc); err != nil {
				return err
			}
		}

		told, err = app.escalateOnChange(ctx, tx, inc)
		return err
	})
	if err == nil && told {
		app.notifyCfg.Kick()
	}
	return inc, err
}

func phaseIndex(p core.Phase) int {
	for i, q := range core.Phases {
		if q == p {
			return i
		}
	}
	return -1
}

// reload refreshes inc (names, phases) after a change inside tx.
func reload(ctx context.Context, tx *store.Tx, inc *core.Incident) error {
	fresh, err := tx.GetIncident(ctx, inc.Key, store.Scope{All: true})
	if err != nil {
		return err
	}
	*inc = *fresh
	return nil
}

// Assign makes a user the owner of a phase (the current one by default);
// an empty user name removes the owner. Leads assign anyone who works
// incidents; analysts may take a phase themselves. Assigning someone to a
// restricted incident makes them a member.
func (app *App) Assign(ctx context.Context, a Actor, key, userName string, phase core.Phase) (*core.Incident, error) {
	allowed := func(inc *core.Incident) error {
		if a.System || a.User.Role.AtLeastLead() {
			return nil
		}
		if a.User.Role == core.RoleAnalyst && userName == a.User.Name {
			return nil
		}
		return forbidden("only leads and admins assign others")
	}
	return app.mutate(ctx, a, key, allowed, func(tx *store.Tx, inc *core.Incident) error {
		phase := phase // fn may run again: never change what it captured
		var assignee core.User
		if userName != "" {
			u, err := tx.UserByName(ctx, userName)
			if errors.Is(err, core.ErrNotFound) {
				return core.Invalid("user", "no user %q", userName)
			}
			if err != nil {
				return err
			}
			if u.Disabled || !u.Role.AtLeastAnalyst() {
				return core.Invalid("user", "%q cannot be assigned (disabled, or not an analyst, lead or admin)", userName)
			}
			assignee = u
		}
		if phase == "" {
			phase = inc.Phase
		}
		if !phase.Valid() || phase == core.PhaseClosed {
			return core.Invalid("phase", "cannot assign phase %q", phase)
		}
		prev, err := tx.PhaseAssigneeID(ctx, inc.ID, phase)
		if err != nil {
			return err
		}
		if prev == assignee.ID {
			return nil
		}
		if err := tx.SetPhaseAssignee(ctx, inc.ID, phase, assignee.ID); err != nil {
			return err
		}
		prevName := ""
		if prev != 0 {
			if u, err := tx.UserByID(ctx, prev); err == nil {
				prevName = u.Name
			}
		}
		if phase == inc.Phase {
			inc.AssigneeID = assignee.ID
		}
		now := tx.Now()
		if inc.Timestamps.AcknowledgedAt == nil && assignee.ID != 0 {
			inc.Timestamps.AcknowledgedAt = &now
		}
		inc.UpdatedAt = now
		if err := tx.UpdateIncident(ctx, inc); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvAssigned, inc.ID, map[string]any{"phase": phase, "from": prevName, "to": assignee.Name}); err != nil {
			return err
		}
		if inc.Restricted && assignee.ID != 0 && assignee.Role != core.RoleAdmin {
			if err := addMember(ctx, tx, a, inc, assignee); err != nil {
				return err
			}
		}
		return reload(ctx, tx, inc)
	})
}
