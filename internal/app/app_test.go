package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// clock is a fake time that tests move forward instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newApp(tb testing.TB, start time.Time) (*App, *clock) {
	tb.Helper()
	c := &clock{t: start}
	st, err := store.OpenSQLite(context.Background(), tb.TempDir(), store.Options{Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	a := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now,
		Config{SessionTTL: time.Hour, PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	return a, c
}

// Keys take their year in Japan: 2026-12-31 15:00 UTC is already 2027 there.
func TestIncidentKeyYearIsJapanTime(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 12, 31, 14, 59, 0, 0, time.UTC))
	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "before midnight JST"})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Key != "INC-2026-0001" {
		t.Errorf("key %s, want INC-2026-0001", inc.Key)
	}
	c.advance(2 * time.Minute)
	for _, want := range []string{"INC-2027-0001", "INC-2027-0002"} {
		inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "after midnight JST"})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Key != want {
			t.Errorf("key %s, want %s", inc.Key, want)
		}
	}
}

func TestTokenExpiryAndCache(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "tool", Role: core.RoleAnalyst}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := a.CreateToken(ctx, SystemActor, "tool", "edr", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if act, err := a.AuthenticateToken(ctx, secret); err != nil || act.User.Name != "tool" {
		t.Fatalf("fresh token: %v %+v", err, act)
	}
	c.advance(59*time.Minute + 59*time.Second)
	if _, err := a.AuthenticateToken(ctx, secret); err != nil {
		t.Fatalf("token a second before expiry: %v", err)
	}
	// The store keeps event times strictly increasing, so the token was
	// created a few microseconds after the start; half a second later it
	// has expired while a plain two-second cache entry would still hold.
	c.advance(1500 * time.Millisecond)
	if _, err := a.AuthenticateToken(ctx, secret); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := a.AuthenticateToken(ctx, "irdt_made_up"); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestSessionExpiryAndLoginAudit(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "hanako", Role: core.RoleReporter, Password: "a very good password"}); err != nil {
		t.Fatal(err)
	}
	before, _ := a.VerifyAudit(ctx)
	if _, _, _, err := a.Login(ctx, "hanako", "wrong password!!", "192.0.2.1"); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, _, err := a.Login(ctx, "nobody", "a very good password", "192.0.2.1"); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("unknown user: %v", err)
	}
	secret, _, _, err := a.Login(ctx, "HANAKO", "a very good password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := a.VerifyAudit(ctx)
	if after-before != 3 { // two failed logins (a real and an unknown user), one login
		t.Errorf("%d audit events for the logins, want 3", after-before)
	}
	if _, _, err := a.AuthenticateSession(ctx, secret); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	c.advance(time.Hour + time.Second)
	if _, _, err := a.AuthenticateSession(ctx, secret); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("session after its TTL: %v", err)
	}
}

func TestEnsureAdminOnlyOnce(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	pw, err := a.EnsureAdmin(ctx)
	if err != nil || len(pw) < 20 {
		t.Fatalf("first: %q %v", pw, err)
	}
	if _, _, _, err := a.Login(ctx, "admin", pw, "192.0.2.1"); err != nil {
		t.Fatalf("the printed password does not sign in: %v", err)
	}
	if pw2, err := a.EnsureAdmin(ctx); err != nil || pw2 != "" {
		t.Fatalf("second: %q %v", pw2, err)
	}
}

// TestReporterCannotJudge: a report cannot set what the response team decides.
func TestReporterCannotJudge(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	u, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "hanako", Role: core.RoleReporter})
	if err != nil {
		t.Fatal(err)
	}
	me := Actor{User: u}
	for _, in := range []NewIncident{
		{Title: "x", Severity: core.S1}, {Title: "x", Impact: 1}, {Title: "x", Urgency: 1},
		{Title: "x", Restricted: true}, {Title: "x", Exercise: true}, {Title: "x", CauseClass: core.CauseHumanError},
	} {
		if _, err := a.CreateIncident(ctx, me, in); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%+v: %v, want ErrForbidden", in, err)
		}
	}
	inc, err := a.CreateIncident(ctx, me, NewIncident{Title: "メールを誤送信した", Category: core.CatMisdelivery,
		Flags: core.Flags{PersonalData: true, PeopleAffected: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Reporter != "hanako" || inc.Severity != core.S3 || inc.Priority != core.P3 || inc.Phase != core.PhaseDetect {
		t.Errorf("report: %+v", inc)
	}
}

// A token revoked through the app is refused from the moment RevokeToken
// returns, even while other requests are authenticating with it.
func TestRevokeBeatsTokenCache(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "tool", Role: core.RoleAnalyst}); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		tok, secret, err := a.CreateToken(ctx, SystemActor, "tool", "edr", 0)
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						_, _ = a.AuthenticateToken(ctx, secret)
					}
				}
			}()
		}
		if err := a.RevokeToken(ctx, SystemActor, tok.ID); err != nil {
			t.Fatal(err)
		}
		for range 50 {
			if _, err := a.AuthenticateToken(ctx, secret); err == nil {
				t.Fatalf("round %d: a revoked token was accepted after RevokeToken returned", round)
			}
		}
		close(stop)
		wg.Wait()
	}
}

// After ten failures from one address for one name, that pair must wait,
// even with the right password; another address is not locked out.
func TestLoginThrottle(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "lead", Role: core.RoleLead, Password: "the right password"}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, _, _, err := a.Login(ctx, "lead", "a wrong guess!", "198.51.100.7"); !errors.Is(err, core.ErrUnauthenticated) {
			t.Fatalf("guess: %v", err)
		}
	}
	if _, _, _, err := a.Login(ctx, "lead", "the right password", "198.51.100.7"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after ten failures: %v, want ErrTooManyAttempts", err)
	}
	if _, _, _, err := a.Login(ctx, "lead", "the right password", "203.0.113.9"); err != nil {
		t.Fatalf("the real lead from elsewhere: %v", err)
	}
	c.advance(15 * time.Minute)
	if _, _, _, err := a.Login(ctx, "lead", "the right password", "198.51.100.7"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestResetPassword: an admin (or the CLI) sets a new password for a user
// who lost theirs; the old one stops working, every session of the user
// ends, the reset is in the audit trail, and nobody else may do it.
func TestResetPassword(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	hanako, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "hanako", Role: core.RoleLead, Password: "the old good password"})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _, err := a.Login(ctx, "hanako", "the old good password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	lead := Actor{User: hanako}
	if _, err := a.ResetPassword(ctx, lead, "hanako", "a lead may not do this"); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("a lead resetting a password: %v, want forbidden", err)
	}
	if _, err := a.ResetPassword(ctx, SystemActor, "hanako", "short"); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("a short password: %v, want invalid", err)
	}
	before, _ := a.VerifyAudit(ctx)
	pw, err := a.ResetPassword(ctx, SystemActor, "hanako", "")
	if err != nil || len(pw) < 20 {
		t.Fatalf("reset: %q %v", pw, err)
	}
	if after, _ := a.VerifyAudit(ctx); after != before+1 {
		t.Errorf("%d audit events for the reset, want 1", after-before)
	}
	if _, _, err := a.AuthenticateSession(ctx, secret); !errors.Is(err, core.ErrUnauthenticated) {
		t.Errorf("a session from before the reset: %v, want it ended", err)
	}
	if _, _, _, err := a.Login(ctx, "hanako", "the old good password", "192.0.2.1"); !errors.Is(err, core.ErrUnauthenticated) {
		t.Errorf("the old password after the reset: %v", err)
	}
	if _, _, _, err := a.Login(ctx, "hanako", pw, "192.0.2.1"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if _, err := a.ResetPassword(ctx, SystemActor, "nobody", ""); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("an unknown user: %v", err)
	}
}
