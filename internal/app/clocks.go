package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
	"github.com/irdesk/irdesk/internal/store"
)

// ClockView is one legal reporting clock of an incident, as shown: the
// computed due times and what people recorded about it.
type ClockView struct {
	Incident  string     `json:"incident"`
	RuleID    string     `json:"rule_id"`
	TitleJA   string     `json:"title_ja"`
	TitleEN   string     `json:"title_en"`
	Recipient string     `json:"recipient"`
	Source    string     `json:"source"`
	Start     time.Time  `json:"start"`
	Due       time.Time  `json:"due"`
	WarnFrom  time.Time  `json:"warn_from"`
	State     string     `json:"state"`
	At        *time.Time `json:"at,omitempty"` // when submitted or decided
	Reference string     `json:"reference,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	By        string     `json:"by,omitempty"`
	// Exercise marks the clock of an exercise: computed as for a real
	// incident, so the drill practises the reports, but in state
	// "exercise" until recorded, so it never falls due or escalates.
	Exercise bool `json:"exercise,omitempty"`
}

// clockViews computes an incident's clocks and overlays the records.
func (app *App) clockViews(inc *core.Incident, recs []store.ClockRecord, now time.Time) []ClockView {
	var out []ClockView
	for _, c := range deadline.Compute(deadline.FromIncident(inc), app.cfg.Clocks) {
		v := ClockView{Incident: inc.Key, RuleID: c.RuleID, TitleJA: c.TitleJA, TitleEN: c.TitleEN, Recipient: c.Recipient,
			Source: c.Source, Start: c.Start, Due: c.Due, WarnFrom: c.WarnFrom, State: deadline.State(c, now, false)}
		if inc.Exercise {
			// Safer than starting no clock: an incident flagged an exercise
			// by mistake still shows its deadlines, marked, on its page.
			v.Exercise, v.State = true, deadline.StateExercise
		}
		for _, r := range recs {
			if r.IncidentID == inc.ID && r.RuleID == c.RuleID {
				at := r.At
				v.State, v.At, v.Reference, v.Reason, v.By = r.State, &at, r.Reference, r.Reason, r.By
			}
		}
		out = append(out, v)
	}
	return out
}

// Clocks returns an incident's legal reporting clocks. They are computed
// from its facts on every read, so a changed flag or awareness time moves
// them at once.
func (app *App) Clocks(ctx context.Context, a Actor, key string) ([]ClockView, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	recs, err := app.store.ClockRecords(ctx, []int64{inc.ID})
	if err != nil {
		return nil, err
	}
	return app.clockViews(inc, recs, app.now()), nil
}

// ClockDecision is what a person records about a clock.
type ClockDecision struct {
	State     string     `json:"state"` // submitted | not_required
	At        *time.Time `json:"at"`    // when submitted; default now
	Reference string     `json:"reference"`
	Reason    string     `json:"reason"`
}

// RecordClock marks a clock submitted (with the regulator's reference) or
// not required (with the reason). Analysts and up record; it is audited.
func (app *App) RecordClock(ctx context.Context, a Actor, key, ruleID string, d ClockDecision) ([]ClockView, error) {
	d.Reference, d.Reason = strings.TrimSpace(d.Reference), strings.TrimSpace(d.Reason)
	switch d.State {
	case deadline.StateSubmitted:
	case deadline.StateNotRequired:
		if d.Reason == "" {
			return nil, core.Invalid("reason", "say why this report is not required")
		}
	default:
		return nil, core.Invalid("state", "must be submitted or not_required, not %q", d.State)
	}
	if len([]rune(d.Reference)) > core.MaxShortLen {
		return nil, core.Invalid("reference", "is longer than %d characters", core.MaxShortLen)
	}
	if len([]rune(d.Reason)) > core.MaxTextLen {
		return nil, core.Invalid("reason", "is too long")
	}
	var views []ClockView
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		clocks := deadline.Compute(deadline.FromIncident(inc), app.cfg.Clocks)
		if !slices.ContainsFunc(clocks, func(c deadline.Clock) bool { return c.RuleID == ruleID }) {
			return fmt.Errorf("clock %q of %s: %w", ruleID, inc.Key, core.ErrNotFound)
		}
		at := tx.Now()
		if d.At != nil {
			at = d.At.UTC().Truncate(time.Microsecond)
			if at.After(tx.Now()) {
				return core.Invalid("at", "is in the future")
			}
		}
		rec := store.ClockRecord{IncidentID: inc.ID, RuleID: ruleID, State: d.State, At: at, Reference: d.Reference, Reason: d.Reason, By: a.name()}
		if err := tx.SetClockRecord(ctx, rec, a.User.ID); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvClockRecorded, inc.ID, map[string]any{
			"rule_id": ruleID, "state": d.State, "at": at, "reference": d.Reference, "reason": d.Reason}); err != nil {
			return err
		}
		recs, err := tx.ClockRecords(ctx, []int64{inc.ID})
		if err != nil {
			return err
		}
		views = app.clockViews(inc, recs, tx.Now())
		return nil
	})
	return views, err
}

// maxClockScan bounds how many open incidents one cross-incident clock
// query looks at.
const maxClockScan = 5000

// DueClocks lists the open clocks (not submitted, not declared not
// required) of the open incidents the actor may see that fall due within
// the given time, or are already overdue, soonest first.
func (app *App) DueClocks(ctx context.Context, a Actor, within time.Duration) ([]ClockView, error) {
	if a.User.Role == core.RoleReporter && !a.System {
		return nil, forbidden("reporters see the status of their reports, not the response record")
	}
	if within < 0 {
		return nil, core.Invalid("due_within", "must not be negative")
	}
	now := app.now()
	open := true
	f := store.IncidentFilter{Scope: a.scope(), Open: &open, LegalFlags: !app.nis2(), Limit: store.MaxListLimit}
	var out []ClockView
	for scanned := 0; scanned < maxClockScan; {
		incs, more, err := app.store.FindIncidents(ctx, f)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(incs))
		for i, inc := range incs {
			ids[i] = inc.ID
		}
		recs, err := app.store.ClockRecords(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, inc := range incs {
			for _, v := range app.clockViews(inc, recs, now) {
				if v.At == nil && !v.Exercise && !v.Due.After(now.Add(within)) {
					out = append(out, v)
				}
			}
		}
		scanned += len(incs)
		if !more {
			break
		}
		f.Before = incs[len(incs)-1].ID
	}
	slices.SortStableFunc(out, func(x, y ClockView) int { return x.Due.Compare(y.Due) })
	return out, nil
}

// nis2 reports whether NIS2 clocks run for every incident.
func (app *App) nis2() bool {
	return app.cfg.Clocks.NIS2 != deadline.NIS2None
}
