package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func TestUserPrefs(t *testing.T) {
	a, _ := newApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	ctx := context.Background()
	u, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "hana", Role: core.RoleReporter, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	actor := Actor{User: u}
	p, err := a.PrefsFor(ctx, actor)
	if err != nil {
		t.Fatal(err)
	}
	if p.Language != "" || p.TimeZone != DefaultTimeZone {
		t.Fatalf("new user's prefs = %+v, want browser language and %s", p, DefaultTimeZone)
	}
	before, err := a.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	en, zone := "en", "Europe/Berlin"
	p, err = a.SetPrefs(ctx, actor, PrefsChange{Language: &en, TimeZone: &zone})
	if err != nil {
		t.Fatal(err)
	}
	if p.Language != "en" || p.TimeZone != zone || p.Location().String() != zone {
		t.Fatalf("after change: %+v", p)
	}
	if got, _ := a.PrefsFor(ctx, actor); got != p {
		t.Fatalf("stored %+v, returned %+v", got, p)
	}
	after, err := a.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before+1 {
		t.Fatalf("audit events %d -> %d, want one more", before, after)
	}
	// The same values again change nothing and write no event.
	if _, err := a.SetPrefs(ctx, actor, PrefsChange{Language: &en}); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.VerifyAudit(ctx); n != after {
		t.Fatalf("an unchanged setting wrote an event: %d -> %d", after, n)
	}

	for _, tc := range []struct {
		name string
		ch   PrefsChange
		fld  string
	}{
		{"language", PrefsChange{Language: ptr("fr")}, "language"},
		{"zone", PrefsChange{TimeZone: ptr("Mars/Olympus")}, "time_zone"},
		{"local", PrefsChange{TimeZone: ptr("Local")}, "time_zone"},
		{"empty zone", PrefsChange{TimeZone: ptr("")}, "time_zone"},
	} {
		_, err := a.SetPrefs(ctx, actor, tc.ch)
		var fe *core.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.fld {
			t.Errorf("%s: err = %v, want a field error on %s", tc.name, err, tc.fld)
		}
	}
	if _, err := a.SetPrefs(ctx, SystemActor, PrefsChange{Language: &en}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("system actor set prefs: %v", err)
	}
	// Back to "follow the browser".
	empty := ""
	if p, err := a.SetPrefs(ctx, actor, PrefsChange{Language: &empty}); err != nil || p.Language != "" {
		t.Fatalf("reset language: %+v %v", p, err)
	}
}

func ptr[T any](v T) *T { return &v }
