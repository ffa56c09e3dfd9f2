package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// AddComment adds a note in the incident's current phase. Responders
// comment on what they may see; a reporter on their own reports (to add
// what they remembered later).
func (app *App) AddComment(ctx context.Context, a Actor, key, body string) (core.Comment, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return core.Comment{}, core.Invalid("body", "is required")
	}
	if len([]rune(body)) > core.MaxTextLen {
		return core.Comment{}, core.Invalid("body", "is longer than %d characters", core.MaxTextLen)
	}
	allowed := func(*core.Incident) error {
		if a.System || a.User.Role.AtLeastAnalyst() || a.User.Role == core.RoleReporter {
			return nil
		}
		return forbidden("your role may not comment")
	}
	var c core.Comment
	_, err := app.mutate(ctx, a, key, allowed, func(tx *store.Tx, inc *core.Incident) error {
		c = core.Comment{IncidentID: inc.ID, Phase: inc.Phase, Author: a.name(), Body: body, CreatedAt: tx.Now()}
		if err := tx.CreateComment(ctx, &c, a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvCommentAdded, inc.ID, map[string]any{"comment_id": c.ID, "phase": c.Phase, "body": c.Body})
	})
	return c, err
}

// NewAction is an action record as submitted.
type NewAction struct {
	Description string     `json:"description"`
	PerformedBy string     `json:"performed_by"`
	PerformedAt *time.Time `json:"performed_at"`
	Tool        string     `json:"tool"`
	Phase       core.Phase `json:"phase"`
}

// RecordAction records what was done. It defaults to the actor, now and the
// current phase; analysts and up record actions.
func (app *App) RecordAction(ctx context.Context, a Actor, key string, in NewAction) (core.ActionRecord, error) {
	in.Description = strings.TrimSpace(in.Description)
	if in.Description == "" {
		return core.ActionRecord{}, core.Invalid("description", "is required")
	}
	if len([]rune(in.Description)) > core.MaxTextLen {
		return core.ActionRecord{}, core.Invalid("description", "is longer than %d characters", core.MaxTextLen)
	}
	if len([]rune(in.PerformedBy)) > core.MaxShortLen {
		return core.ActionRecord{}, core.Invalid("performed_by", "is longer than %d characters", core.MaxShortLen)
	}
	if len([]rune(in.Tool)) > core.MaxShortLen {
		return core.ActionRecord{}, core.Invalid("tool", "is longer than %d characters", core.MaxShortLen)
	}
	if in.Phase != "" && (!in.Phase.Valid() || in.Phase == core.PhaseClosed) {
		return core.ActionRecord{}, core.Invalid("phase", "unknown phase %q", in.Phase)
	}
	var rec core.ActionRecord
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		now := tx.Now()
		rec = core.ActionRecord{IncidentID: inc.ID, Phase: in.Phase, Description: in.Description,
			PerformedBy: strings.TrimSpace(in.PerformedBy), PerformedAt: now, Tool: strings.TrimSpace(in.Tool),
			RecordedBy: a.name(), CreatedAt: now}
		if rec.Phase == "" {
			rec.Phase = inc.Phase
		}
		if rec.PerformedBy == "" {
			rec.PerformedBy = a.name()
		}
		if in.PerformedAt != nil {
			rec.PerformedAt = in.PerformedAt.UTC().Truncate(time.Microsecond)
		}
		if err := tx.CreateAction(ctx, &rec, a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvActionRecorded, inc.ID, map[string]any{"action": rec})
	})
	return rec, err
}

// readIncident returns an incident the actor may see and whose working
// record (timeline, comments, actions, members) their role may read:
// reporters see the status of their reports, not the responders' work.
func (app *App) readIncident(ctx context.Context, a Actor, key string) (*core.Incident, error) {
	inc, err := app.GetIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	if a.User.Role == core.RoleReporter && !a.System {
		return nil, forbidden("reporters see the status of their reports, not the response record")
	}
	return inc, nil
}

// MaxTimelinePage bounds one timeline page.
const MaxTimelinePage = 500

// Timeline returns the incident's events, oldest first, after an event id.
func (app *App) Timeline(ctx context.Context, a Actor, key string, after int64, limit int) ([]core.Event, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxTimelinePage {
		limit = MaxTimelinePage
	}
	return app.store.Timeline(ctx, inc.ID, after, limit)
}

// Comments lists an incident's comments.
func (app *App) Comments(ctx context.Context, a Actor, key string) ([]core.Comment, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	return app.store.ListComments(ctx, inc.ID)
}

// Actions lists an incident's action records.
func (app *App) Actions(ctx context.Context, a Actor, key string) ([]core.ActionRecord, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	return app.store.ListActions(ctx, inc.ID)
}

// Members lists who may see a restricted incident (besides admins).
func (app *App) Members(ctx context.Context, a Actor, key string) ([]core.User, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	return app.store.ListMembers(ctx, inc.ID)
}

func addMember(ctx context.Context, tx *store.Tx, a Actor, inc *core.Incident, u core.User) error {
	added, err := tx.AddMember(ctx, inc.ID, u.ID)
	if err != nil || !added {
		return err
	}
	return appendEvent(ctx, tx, a, core.EvMemberAdded, inc.ID, map[string]any{"user": u.Name})
}

// memberUser resolves a user to add or remove, inside the transaction and
// after the permission check, so that someone who may not manage members
// cannot learn which user names exist.
func memberUser(ctx context.Context, tx *store.Tx, name string) (core.User, error) {
	u, err := tx.UserByName(ctx, name)
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, core.Invalid("user", "no user %q", name)
	}
	return u, err
}

// AddMember gives a user need-to-know access. Admins and leads who can see
// the incident manage its members.
func (app *App) AddMember(ctx context.Context, a Actor, key, userName string) error {
	_, err := app.mutate(ctx, a, key, needLead(a, "manage members"), func(tx *store.Tx, inc *core.Incident) error {
		u, err := memberUser(ctx, tx, userName)
		if err != nil {
			return err
		}
		if u.Disabled {
			return core.Invalid("user", "%q is disabled", userName)
		}
		return addMember(ctx, tx, a, inc, u)
	})
	return err
}

// RemoveMember takes a user's need-to-know access away. A lead cannot
// remove themselves: they would lose the incident they command.
func (app *App) RemoveMember(ctx context.Context, a Actor, key, userName string) error {
	_, err := app.mutate(ctx, a, key, needLead(a, "manage members"), func(tx *store.Tx, inc *core.Incident) error {
		u, err := memberUser(ctx, tx, userName)
		if err != nil {
			return err
		}
		if !a.System && a.User.Role != core.RoleAdmin && u.ID == a.User.ID && inc.Restricted {
			return core.Conflict("you cannot remove yourself from a restricted incident; ask an admin")
		}
		removed, err := tx.RemoveMember(ctx, inc.ID, u.ID)
		if err != nil {
			return err
		}
		if !removed {
			return fmt.Errorf("member %q: %w", userName, core.ErrNotFound)
		}
		return appendEvent(ctx, tx, a, core.EvMemberRemoved, inc.ID, map[string]any{"user": u.Name})
	})
	return err
}
