package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// AlertOccurrences lists the times a tool sent an alert, oldest first,
// each with its own payload; after is the cursor (an occurrence id).
func (app *App) AlertOccurrences(ctx context.Context, a Actor, alertID, after int64, limit int) ([]store.Occurrence, bool, error) {
	if _, err := app.GetAlert(ctx, a, alertID); err != nil {
		return nil, false, err
	}
	return app.store.AlertOccurrences(ctx, alertID, after, limit)
}

// pruneBatch is how many occurrences one pruning transaction looks at:
// small enough that intake waits only milliseconds behind it.
const pruneBatch = 5000

// occurrencePruneCursor remembers where pruning got to: below it only
// first occurrences, which are kept, remain. Ids only grow, so it never
// skips a row that becomes prunable later.
type occurrencePruneCursor struct{ after atomic.Int64 }

// PruneOccurrences deletes the occurrences of alerts received more than
// retention ago, but never an alert's first one, and writes one audit
// event saying how many went. Counts on alerts are not changed. It
// returns how many it deleted.
func (app *App) PruneOccurrences(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, nil
	}
	cutoff := app.now().Add(-retention)
	before, err := app.store.OccurrencesBefore(ctx, cutoff)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		after := app.pruneCursor.after.Load()
		if after+1 >= before {
			break
		}
		var deleted, last int64
		err := app.store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			deleted, last, err = tx.PruneOccurrences(ctx, after, before, pruneBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune occurrences: %w", err)
		}
		total += deleted
		if last <= after {
			break
		}
		app.pruneCursor.after.Store(last)
	}
	if total > 0 {
		err := app.store.InTx(ctx, func(tx *store.Tx) error {
			return appendEvent(ctx, tx, SystemActor, core.EvOccurrencesPruned, 0, map[string]any{
				"received_before": cutoff, "deleted": total, "retention": retention.String()})
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
