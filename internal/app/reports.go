package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/report"
	"github.com/irdesk/irdesk/internal/store"
)

// ReportRequest chooses a report draft.
type ReportRequest struct {
	Kind     string // ppc | gdpr | post-incident
	Format   string // md | html | pdf
	Lang     string // ja | en
	TZ       *time.Location
	PPCStage string // preliminary | final
}

// Report draws up a report draft from the incident's record: the PPC leak
// report, the GDPR Art. 33 notification or the post-incident report for
// management. Those who may read the response record may draw them up.
func (app *App) Report(ctx context.Context, a Actor, key string, req ReportRequest) ([]byte, error) {
	in, err := app.reportInput(ctx, a, key, req)
	if err != nil {
		return nil, err
	}
	stored, err := app.store.GetReportEdits(ctx, draftKey(in.Incident.ID, req))
	switch {
	case err == nil:
		var e report.Edits
		if err := json.Unmarshal([]byte(stored.Edits), &e); err != nil {
			return nil, fmt.Errorf("report edits of %s: %w", key, err)
		}
		in.Edits = &e
	case !errors.Is(err, core.ErrNotFound):
		return nil, err
	}
	return report.Render(req.Kind, req.Format, in)
}

// reportInput gathers what a report of the incident is drawn from.
func (app *App) reportInput(ctx context.Context, a Actor, key string, req ReportRequest) (report.Input, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return report.Input{}, err
	}
	actions, err := app.store.ListActions(ctx, inc.ID)
	if err != nil {
		return report.Input{}, err
	}
	comments, err := app.store.ListComments(ctx, inc.ID)
	if err != nil {
		return report.Input{}, err
	}
	var timeline []core.Event
	for after := int64(0); ; {
		page, err := app.store.Timeline(ctx, inc.ID, after, MaxTimelinePage)
		if err != nil {
			return report.Input{}, err
		}
		timeline = append(timeline, page...)
		if len(page) < MaxTimelinePage {
			break
		}
		after = page[len(page)-1].ID
	}
	recs, err := app.store.ClockRecords(ctx, []int64{inc.ID})
	if err != nil {
		return report.Input{}, err
	}
	now := app.now()
	var clocks []report.Clock
	for _, c := range app.clockViews(inc, recs, now) {
		clocks = append(clocks, report.Clock{RuleID: c.RuleID, TitleJA: c.TitleJA, TitleEN: c.TitleEN, Due: c.Due,
			State: c.State, At: c.At, Reference: c.Reference})
	}
	costs, err := app.store.ListCosts(ctx, inc.ID)
	if err != nil {
		return report.Input{}, err
	}
	return report.Input{Incident: inc, Actions: actions, Comments: comments, Costs: costs,
		Timeline: timeline, Clocks: clocks, Lang: req.Lang, TZ: req.TZ, Now: now, PPCStage: req.PPCStage}, nil
}

// draftKey names the stored edits of a draft; the defaults are spelled
// out so "lang omitted" and "lang=ja" are the same draft.
func draftKey(incidentID int64, req ReportRequest) store.ReportDraftKey {
	k := store.ReportDraftKey{IncidentID: incidentID, Kind: req.Kind, Lang: req.Lang}
	if k.Lang == "" {
		k.Lang = report.LangJA
	}
	if req.Kind == report.KindPPC {
		k.Stage = req.PPCStage
		if k.Stage == "" {
			k.Stage = report.StagePreliminary
		}
	}
	return k
}

// ReportDraft is a draft's editable outline and its current edits.
type ReportDraft struct {
	Outline   report.Outline `json:"outline"`
	Edits     report.Edits   `json:"edits"`
	Version   int64          `json:"version"`
	UpdatedBy string         `json:"updated_by,omitempty"`
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
}

// ReportDraftEdits returns what a draft can be edited by and the edits
// made so far. Readable by whoever may draw the report up.
func (app *App) ReportDraftEdits(ctx context.Context, a Actor, key string, req ReportRequest) (ReportDraft, error) {
	in, err := app.reportInput(ctx, a, key, req)
	if err != nil {
		return ReportDraft{}, err
	}
	out := ReportDraft{Edits: report.Edits{Sections: map[string]string{}, Fields: map[string]string{}}}
	if out.Outline, err = report.OutlineOf(req.Kind, in); err != nil {
		return ReportDraft{}, err
	}
	stored, err := app.store.GetReportEdits(ctx, draftKey(in.Incident.ID, req))
	switch {
	case errors.Is(err, core.ErrNotFound):
		return out, nil
	case err != nil:
		return ReportDraft{}, err
	}
	if err := json.Unmarshal([]byte(stored.Edits), &out.Edits); err != nil {
		return ReportDraft{}, fmt.Errorf("report edits of %s: %w", key, err)
	}
	at := stored.UpdatedAt
	out.Version, out.UpdatedBy, out.UpdatedAt = stored.Version, stored.UpdatedBy, &at
	return out, nil
}

// SaveReportDraftEdits stores a person's edits of a draft (analysts and
// up). version is the one read (0 for a draft never edited). Every save is
// an audit event with the full text, since what goes to a regulator must
// be traceable to who wrote it.
func (app *App) SaveReportDraftEdits(ctx context.Context, a Actor, key string, req ReportRequest, e report.Edits, version int64) (ReportDraft, error) {
	in, err := app.reportInput(ctx, a, key, req)
	if err != nil {
		return ReportDraft{}, err
	}
	outline, err := report.OutlineOf(req.Kind, in)
	if err != nil {
		return ReportDraft{}, err
	}
	if e.Sections == nil {
		e.Sections = map[string]string{}
	}
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if err := e.Check(outline); err != nil {
		return ReportDraft{}, err
	}
	if version < 0 {
		return ReportDraft{}, core.Invalid("version", "must not be negative")
	}
	data, err := json.Marshal(e)
	if err != nil {
		return ReportDraft{}, err
	}
	k := draftKey(in.Incident.ID, req)
	_, err = app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		if _, err := tx.SaveReportEdits(ctx, k, string(data), version, a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvReportEdited, inc.ID, map[string]any{
			"kind": k.Kind, "stage": k.Stage, "lang": k.Lang, "edits": e})
	})
	if err != nil {
		return ReportDraft{}, err
	}
	return app.ReportDraftEdits(ctx, a, key, req)
}

// DiscardReportDraftEdits drops a draft's edits: the next export is the
// generated text again.
func (app *App) DiscardReportDraftEdits(ctx context.Context, a Actor, key string, req ReportRequest) error {
	if err := report.CheckKind(req.Kind); err != nil {
		return err
	}
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		k := draftKey(inc.ID, req)
		if err := tx.DeleteReportEdits(ctx, k); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvReportEditsDiscarded, inc.ID, map[string]any{"kind": k.Kind, "stage": k.Stage, "lang": k.Lang})
	})
	return err
}
