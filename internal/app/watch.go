package app

import (
	"context"
	"errors"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// Watched is one committed change that a watcher may see.
type Watched struct {
	EventID     int64
	IncidentKey string
	Type        string
	// Resync means changes may have been missed: re-read what is shown.
	Resync bool
	// Gone means the watcher may no longer see the incident (removed from
	// a restricted incident's members): it is the last value sent.
	Gone bool
}

// Recheck re-resolves a watcher's credentials (its session or token) and
// returns who they are now: a stream outlives the request that opened it,
// and a logout, a password change, a disabled account or a lost role must
// end what it shows.
type Recheck func(context.Context) (Actor, error)

// current re-resolves the actor when a recheck is given.
func current(ctx context.Context, a Actor, recheck Recheck) (Actor, bool) {
	if recheck == nil {
		return a, true
	}
	fresh, err := recheck(ctx)
	if err != nil {
		return Actor{}, false
	}
	return fresh, true
}

// Watch streams the changes of one incident while ctx lasts. The actor
// must be allowed to read the incident's record now, and is checked again
// at every change, since membership of a restricted incident can be
// revoked while the page is open. The channel closes when ctx ends, the
// store closes, or after a Gone.
func (app *App) Watch(ctx context.Context, a Actor, key string, recheck Recheck) (<-chan Watched, error) {
	// Subscribe before the check, so nothing committed between the check
	// and the subscription is missed.
	changes, cancel := app.store.Subscribe()
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		cancel()
		return nil, err
	}
	out := make(chan Watched)
	go func() {
		defer close(out)
		defer cancel()
		for {
			var c store.Change
			var ok bool
			select {
			case c, ok = <-changes:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
			if c.Resync || c.IncidentID == inc.ID {
				var ok bool
				if a, ok = current(ctx, a, recheck); !ok {
					select {
					case out <- Watched{IncidentKey: inc.Key, Gone: true}:
					case <-ctx.Done():
					}
					return
				}
			}
			var w Watched
			switch {
			case c.Resync:
				// A resync may hide a revocation: check before saying it.
				if _, err := app.store.VisibleIncidentKey(ctx, inc.ID, a.scope()); errors.Is(err, core.ErrNotFound) {
					w = Watched{IncidentKey: inc.Key, Gone: true}
				} else {
					w = Watched{IncidentKey: inc.Key, Resync: true}
				}
			case c.IncidentID != inc.ID:
				continue
			default:
				_, err := app.store.VisibleIncidentKey(ctx, inc.ID, a.scope())
				switch {
				case errors.Is(err, core.ErrNotFound):
					w = Watched{EventID: c.EventID, IncidentKey: inc.Key, Gone: true}
				case err != nil:
					// The database is away for a moment: the viewer learns
					// of the change once it can be checked, by a resync.
					w = Watched{IncidentKey: inc.Key, Resync: true}
				default:
					w = Watched{EventID: c.EventID, IncidentKey: inc.Key, Type: c.Type}
				}
			}
			select {
			case out <- w:
			case <-ctx.Done():
				return
			}
			if w.Gone {
				return
			}
		}
	}()
	return out, nil
}

// WatchList streams the changes of every incident the actor may see, for
// list pages, while ctx lasts. Changes of no incident (alert intake,
// users) are left out; visibility is checked at each change.
func (app *App) WatchList(ctx context.Context, a Actor, recheck Recheck) (<-chan Watched, error) {
	if a.User.ID == 0 && !a.System {
		return nil, forbidden("sign in to watch incidents")
	}
	if a.User.Role == core.RoleReporter && !a.System {
		// A reporter follows the status of their own reports on their
		// page, not the response record's every event.
		return nil, forbidden("reporters see the status of their reports, not the response record")
	}
	changes, cancel := app.store.Subscribe()
	out := make(chan Watched)
	go func() {
		defer close(out)
		defer cancel()
		for {
			var c store.Change
			var ok bool
			select {
			case c, ok = <-changes:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
			if c.IncidentID == 0 && !c.Resync {
				continue
			}
			if a, ok = current(ctx, a, recheck); !ok || a.User.Role == core.RoleReporter && !a.System {
				select {
				case out <- Watched{Gone: true}:
				case <-ctx.Done():
				}
				return
			}
			var w Watched
			switch {
			case c.Resync:
				w = Watched{Resync: true}
			default:
				key, err := app.store.VisibleIncidentKey(ctx, c.IncidentID, a.scope())
				switch {
				case errors.Is(err, core.ErrNotFound):
					continue
				case err != nil:
					w = Watched{Resync: true}
				default:
					w = Watched{EventID: c.EventID, IncidentKey: key, Type: c.Type}
				}
			}
			select {
			case out <- w:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
