package app

import (
	"context"
	"strings"
	"time"
	// The zone database inside the binary: a CGO_ENABLED=0 build in a
	// minimal container has no /usr/share/zoneinfo, and a user's zone must
	// still load.
	_ "time/tzdata"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// DefaultTimeZone is where a user's times are shown until they choose.
const DefaultTimeZone = "Asia/Tokyo"

// Prefs are a user's own UI settings.
type Prefs struct {
	// Language is "ja", "en", or "" to follow the browser.
	Language string `json:"language"`
	// TimeZone is an IANA zone name.
	TimeZone string `json:"time_zone"`
}

// Location is the loaded time zone, the default one if the stored name
// no longer loads.
func (p Prefs) Location() *time.Location {
	if loc, err := time.LoadLocation(p.TimeZone); err == nil && p.TimeZone != "" {
		return loc
	}
	loc, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}

// Languages the UI speaks.
var Languages = []string{"ja", "en"}

// PrefsFor returns the actor's settings. Tokens and the system have no UI
// settings of their own beyond their user's.
func (app *App) PrefsFor(ctx context.Context, a Actor) (Prefs, error) {
	if a.User.ID == 0 {
		return Prefs{TimeZone: DefaultTimeZone}, nil
	}
	p, err := app.store.UserPrefs(ctx, a.User.ID)
	if err != nil {
		return Prefs{}, err
	}
	return Prefs{Language: p.Language, TimeZone: p.TimeZone}, nil
}

// PrefsChange changes some of the actor's settings; nil fields stay.
type PrefsChange struct {
	Language *string
	TimeZone *string
}

// SetPrefs changes the actor's own settings. Everyone who can sign in may
// change their own; nobody changes another's. It is audited like every
// other change.
func (app *App) SetPrefs(ctx context.Context, a Actor, ch PrefsChange) (Prefs, error) {
	if a.User.ID == 0 {
		return Prefs{}, forbidden("only a signed-in user has settings")
	}
	if ch.Language != nil {
		l := strings.TrimSpace(*ch.Language)
		if l != "" && l != "ja" && l != "en" {
			return Prefs{}, core.Invalid("language", "must be ja or en")
		}
		ch.Language = &l
	}
	if ch.TimeZone != nil {
		z := strings.TrimSpace(*ch.TimeZone)
		// "Local" would mean the server's zone, which no user chose.
		if _, err := time.LoadLocation(z); err != nil || z == "" || z == "Local" || len(z) > 64 {
			return Prefs{}, core.Invalid("time_zone", "unknown time zone %q (for example Asia/Tokyo)", z)
		}
		ch.TimeZone = &z
	}
	var out Prefs
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.UserPrefs(ctx, a.User.ID)
		if err != nil {
			return err
		}
		next := cur
		if ch.Language != nil {
			next.Language = *ch.Language
		}
		if ch.TimeZone != nil {
			next.TimeZone = *ch.TimeZone
		}
		out = Prefs{Language: next.Language, TimeZone: next.TimeZone}
		if next == cur {
			return nil
		}
		if err := tx.SetUserPrefs(ctx, a.User.ID, next); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvUserPrefsChanged, 0, map[string]any{"language": next.Language, "time_zone": next.TimeZone})
	})
	if err != nil {
		return Prefs{}, err
	}
	return out, nil
}
