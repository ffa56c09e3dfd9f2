package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
)

// enrolled makes a user, switches TOTP on for them and returns the
// secret and the recovery codes. The clock is moved one step on, so the
// confirming code's step is behind.
func enrolled(t *testing.T, a *App, c *clock, name string, role core.Role) (core.User, string, []string) {
	t.Helper()
	ctx := context.Background()
	u, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: name, Role: role, Password: "the right password"})
	if err != nil {
		t.Fatal(err)
	}
	actor := Actor{User: u}
	enr, err := a.BeginTOTP(ctx, actor)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enr.URI, "otpauth://totp/irdesk:"+name+"?") || !strings.Contains(enr.URI, "secret="+enr.Secret) {
		t.Errorf("enrolment URI %s", enr.URI)
	}
	if st, err := a.TOTPStatus(ctx, actor); err != nil || !st.Pending || st.Enabled {
		t.Errorf("status while pending: %+v %v", st, err)
	}
	// A pending enrolment does not guard the sign-in yet.
	if _, _, _, err := a.Login(ctx, name, "the right password", "192.0.2.1"); err != nil {
		t.Fatalf("login while enrolment is pending: %v", err)
	}
	if _, err := a.ConfirmTOTP(ctx, actor, "000000"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("confirm with a wrong code: %v", err)
	}
	codes, err := a.ConfirmTOTP(ctx, actor, code(t, enr.Secret, c.now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	if _, err := a.PendingTOTP(ctx, actor); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the secret is shown after confirmation: %v", err)
	}
	c.advance(auth.TOTPPeriod)
	return u, enr.Secret, codes
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := auth.TOTPCode(secret, auth.TOTPStep(at))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTPLoginReplayAndRecovery(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 10, 0, time.UTC))
	hanako, secret, codes := enrolled(t, a, c, "hanako", core.RoleAnalyst)
	const client = "192.0.2.1"

	if _, _, _, err := a.Login(ctx, "hanako", "the right password", client); !errors.Is(err, ErrTOTPRequired) || !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("password alone: %v", err)
	}
	now := code(t, secret, c.now())
	before, _ := a.VerifyAudit(ctx)
	sess, _, _, err := a.LoginWithCode(ctx, "hanako", "the right password", now, client)
	if err != nil {
		t.Fatalf("password and code: %v", err)
	}
	if _, _, err := a.AuthenticateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	// The same code again, within its step: refused, and audited.
	if _, _, _, err := a.LoginWithCode(ctx, "hanako", "the right password", now, client); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("replayed code: %v", err)
	}
	if after, _ := a.VerifyAudit(ctx); after-before != 2 {
		t.Errorf("%d events for a login and a replay, want 2", after-before)
	}
	// The previous step's code is within the window but older than the
	// step used: refused too.
	if _, _, _, err := a.LoginWithCode(ctx, "hanako", "the right password", code(t, secret, c.now().Add(-auth.TOTPPeriod)), client); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("older step's code: %v", err)
	}
	c.advance(auth.TOTPPeriod)
	if _, _, _, err := a.LoginWithCode(ctx, "hanako", "the right password", code(t, secret, c.now()), client); err != nil {
		t.Fatalf("the next step's code: %v", err)
	}

	// A recovery code works once, in any case and spacing.
	rc := strings.ToUpper(codes[3])
	if _, _, _, err := a.LoginWithCode(ctx, "hanako", "the right password", rc, client); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if _, _, _, err := a.LoginWithCode(ctx, "hanako", "the right password", codes[3], client); !errors.Is(err, core.ErrUnauthenticated) {
		t.Fatalf("recovery code twice: %v", err)
	}
	if st, err := a.TOTPStatus(ctx, Actor{User: hanako}); err != nil || st.RecoveryLeft != 9 || !st.Enabled {
		t.Errorf("status: %+v %v", st, err)
	}
	// The wrong password with the right code is still the wrong password.
	c.advance(auth.TOTPPeriod)
	if _, _, _, err := a.LoginWithCode(ctx, "hanako", "a wrong password", code(t, secret, c.now()), client); !errors.Is(err, core.ErrUnauthenticated) || errors.Is(err, ErrTOTPRequired) {
		t.Fatalf("wrong password, right code: %v", err)
	}
}

// Wrong codes count in the sign-in throttle, and the right password in
// between does not reset the count: only a full sign-in does.
func TestTOTPWrongCodesThrottled(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 10, 0, time.UTC))
	_, secret, _ := enrolled(t, a, c, "taro", core.RoleLead)
	const client = "198.51.100.7"
	for i := range loginMaxFailures {
		start, err := a.BeginLogin(ctx, "taro", "the right password", client)
		if err != nil || start.Pending == "" || start.Secret != "" {
			t.Fatalf("attempt %d, password step: %+v %v", i, start, err)
		}
		if _, _, _, err := a.FinishLogin(ctx, start.Pending, "123456", client); !errors.Is(err, core.ErrUnauthenticated) {
			t.Fatalf("attempt %d, wrong code: %v", i, err)
		}
	}
	if _, err := a.BeginLogin(ctx, "taro", "the right password", client); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after %d wrong codes: %v", loginMaxFailures, err)
	}
	if _, _, _, err := a.LoginWithCode(ctx, "taro", "the right password", code(t, secret, c.now()), client); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("right code while throttled: %v", err)
	}
	c.advance(loginWindow)
	start, err := a.BeginLogin(ctx, "taro", "the right password", client)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.FinishLogin(ctx, start.Pending, code(t, secret, c.now()), client); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestPendingLoginToken(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 10, 0, time.UTC))
	u, secret, _ := enrolled(t, a, c, "jiro", core.RoleAnalyst)
	start, err := a.BeginLogin(ctx, "jiro", "the right password", "192.0.2.9")
	if err != nil || start.Pending == "" {
		t.Fatal(start, err)
	}
	parts := strings.Split(start.Pending, ".")
	// Another user's id under the same MAC, a changed expiry, a made-up
	// MAC: none is accepted.
	forged := []string{
		strings.Join([]string{parts[0], "999", parts[2], parts[3]}, "."),
		strings.Join([]string{parts[0], parts[1], "99999999999", parts[3]}, "."),
		strings.Join([]string{parts[0], parts[1], parts[2], "AAAA"}, "."),
		"", "v1", "not.a.token.at-all",
	}
	for _, f := range forged {
		if _, _, _, err := a.FinishLogin(ctx, f, code(t, secret, c.now()), "192.0.2.9"); !errors.Is(err, core.ErrUnauthenticated) {
			t.Errorf("forged %q: %v", f, err)
		}
	}
	c.advance(PendingLoginTTL + time.Second)
	if _, _, _, err := a.FinishLogin(ctx, start.Pending, code(t, secret, c.now()), "192.0.2.9"); !errors.Is(err, core.ErrUnauthenticated) {
		t.Errorf("expired pending sign-in: %v", err)
	}
	// A disabled user's pending sign-in ends too.
	start, err = a.BeginLogin(ctx, "jiro", "the right password", "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetUserDisabled(ctx, SystemActor, u.Name, true); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.FinishLogin(ctx, start.Pending, code(t, secret, c.now()), "192.0.2.9"); !errors.Is(err, core.ErrUnauthenticated) {
		t.Errorf("disabled user: %v", err)
	}
}

func TestDisableAndResetTOTP(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 10, 0, time.UTC))
	u, _, codes := enrolled(t, a, c, "saburo", core.RoleAnalyst)
	self := Actor{User: u}
	if err := a.DisableTOTP(ctx, self, "000000", "192.0.2.1"); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("disable with a wrong code: %v", err)
	}
	if err := a.DisableTOTP(ctx, self, codes[0], "192.0.2.1"); err != nil {
		t.Fatalf("disable with a recovery code: %v", err)
	}
	if _, _, _, err := a.Login(ctx, "saburo", "the right password", "192.0.2.1"); err != nil {
		t.Fatalf("login after disabling: %v", err)
	}

	admin, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "root", Role: core.RoleAdmin, Password: "the right password"})
	if err != nil {
		t.Fatal(err)
	}
	lead, _, _ := enrolled(t, a, c, "lead", core.RoleLead)
	if err := a.ResetTOTP(ctx, Actor{User: lead}, "lead"); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("a lead resets TOTP: %v", err)
	}
	before, _ := a.VerifyAudit(ctx)
	if err := a.ResetTOTP(ctx, Actor{User: admin}, "lead"); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.VerifyAudit(ctx); after-before != 1 {
		t.Errorf("reset wrote %d events, want 1", after-before)
	}
	if err := a.ResetTOTP(ctx, Actor{User: admin}, "lead"); !errors.Is(err, core.ErrConflict) {
		t.Errorf("reset of a user without TOTP: %v", err)
	}
	if _, _, _, err := a.Login(ctx, "lead", "the right password", "192.0.2.1"); err != nil {
		t.Fatalf("login after reset: %v", err)
	}
	if _, err := a.BeginTOTP(ctx, Actor{User: lead, TokenID: 5}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("enrolment through an API token: %v", err)
	}
}

func TestAdminUserUseCases(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 10, 0, time.UTC))
	admin, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "root", Role: core.RoleAdmin, Password: "the right password"})
	if err != nil {
		t.Fatal(err)
	}
	lead, _, _ := enrolled(t, a, c, "lead", core.RoleLead)
	users, err := a.AdminUsers(ctx, Actor{User: admin})
	if err != nil || len(users) != 2 || users[0].Name != "lead" || !users[0].TOTP || users[1].TOTP {
		t.Fatalf("AdminUsers: %+v %v", users, err)
	}
	if _, err := a.AdminUsers(ctx, Actor{User: lead}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("a lead lists users for admin: %v", err)
	}
	if err := a.ChangeUserRole(ctx, Actor{User: lead}, "lead", core.RoleAdmin); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("a lead makes themselves admin: %v", err)
	}
	if err := a.ChangeUserRole(ctx, Actor{User: admin}, "root", core.RoleViewer); !errors.Is(err, core.ErrConflict) {
		t.Errorf("an admin demotes themselves: %v", err)
	}
	if err := a.ChangeUserRole(ctx, Actor{User: admin}, "lead", "chief"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
	before, _ := a.VerifyAudit(ctx)
	if err := a.ChangeUserRole(ctx, Actor{User: admin}, "lead", core.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	if after, _ := a.VerifyAudit(ctx); after-before != 1 {
		t.Errorf("role change wrote %d events", after-before)
	}
	users, _ = a.AdminUsers(ctx, Actor{User: admin})
	if users[0].Role != core.RoleAnalyst {
		t.Errorf("role after change: %s", users[0].Role)
	}
}

// FuzzPendingToken feeds the pending sign-in token's parser: nothing but
// a token the server signed is ever accepted.
func FuzzPendingToken(f *testing.F) {
	a, _ := newApp(f, time.Date(2026, 11, 23, 0, 0, 10, 0, time.UTC))
	ctx := context.Background()
	valid, err := a.signPending(ctx, 1, time.Date(2026, 11, 23, 0, 5, 0, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	if id, err := a.verifyPending(ctx, valid); err != nil || id != 1 {
		f.Fatalf("the server's own token: %d %v", id, err)
	}
	f.Add(valid)
	f.Add("v1.1.1795000000.")
	f.Add("v1.-1.9223372036854775807.AAAA")
	f.Add("....")
	f.Fuzz(func(t *testing.T, s string) {
		if s == valid {
			return
		}
		if id, err := a.verifyPending(ctx, s); err == nil {
			t.Fatalf("forged token %q accepted for user %d", s, id)
		}
	})
}
