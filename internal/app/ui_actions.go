package app

import (
	"context"

	"github.com/irdesk/irdesk/internal/store"
)

// AlertsWatchlistMarks returns the watchlist marks of several alerts at
// once, by alert id, for a list that shows a badge on each marked one:
// one query instead of one per row. Alerts are visible to every alert
// reader, so the role check is the whole authorisation, as for
// AlertWatchlist.
func (app *App) AlertsWatchlistMarks(ctx context.Context, a Actor, ids []int64) (map[int64][]store.WatchlistMark, error) {
	if err := needAlertReader(a); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return map[int64][]store.WatchlistMark{}, nil
	}
	return app.store.AlertWatchlistMarks(ctx, ids...)
}
