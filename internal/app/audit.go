package app

import (
	"context"

	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/core"
)

// VerifyAudit recomputes the whole hash chain. It returns the number of
// events verified and, if the chain is broken, an *audit.Break naming the
// first event at fault.
func (app *App) VerifyAudit(ctx context.Context) (int64, error) {
	v := audit.NewVerifier()
	headID, headHash, err := app.store.ScanEvents(ctx, func(ev *core.Event) error { return v.Next(ev) })
	if err != nil {
		return v.Count(), err
	}
	if err := v.Finish(headID, headHash); err != nil {
		return v.Count(), err
	}
	return v.Count(), nil
}
