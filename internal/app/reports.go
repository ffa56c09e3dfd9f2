package app

import (
	"context"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/report"
)

// ReportRequest chooses a report draft.
type ReportRequest struct {
	Kind     string // ppc | gdpr | post-incident
	Format   string // md | html
	Lang     string // ja | en
	TZ       *time.Location
	PPCStage string // preliminary | final
}

// Report draws up a report draft from the incident's record: the PPC leak
// report, the GDPR Art. 33 notification or the post-incident report for
// management. Those who may read the response record may draw them up.
func (app *App) Report(ctx context.Context, a Actor, key string, req ReportRequest) ([]byte, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	actions, err := app.store.ListActions(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	comments, err := app.store.ListComments(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	var timeline []core.Event
	for after := int64(0); ; {
		page, err := app.store.Timeline(ctx, inc.ID, after, MaxTimelinePage)
		if err != nil {
			return nil, err
		}
		timeline = append(timeline, page...)
		if len(page) < MaxTimelinePage {
			break
		}
		after = page[len(page)-1].ID
	}
	recs, err := app.store.ClockRecords(ctx, []int64{inc.ID})
	if err != nil {
		return nil, err
	}
	now := app.now()
	var clocks []report.Clock
	for _, c := range app.clockViews(inc, recs, now) {
		clocks = append(clocks, report.Clock{RuleID: c.RuleID, TitleJA: c.TitleJA, TitleEN: c.TitleEN, Due: c.Due,
			State: c.State, At: c.At, Reference: c.Reference})
	}
	return report.Render(req.Kind, req.Format, report.Input{Incident: inc, Actions: actions, Comments: comments,
		Timeline: timeline, Clocks: clocks, Lang: req.Lang, TZ: req.TZ, Now: now, PPCStage: req.PPCStage})
}
