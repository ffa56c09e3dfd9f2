package ui_test

import (
	"net/http"
	"net/url"
	"testing"
)

func TestChangePasswordFromSettings(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	other := e.browser("ja")
	b.login("analyst")
	other.login("analyst")
	b.mustGet("/settings", 200)
	p := b.post("/settings/password", url.Values{"current_password": {"not the password"}, "new_password": {"a new long passphrase"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current password: %d", p.status)
	}
	mustContain(t, "refusal", p.body, `id="password-error"`, "The current password is wrong")
	p = b.post("/settings/password", url.Values{"current_password": {password}, "new_password": {"short"}})
	mustContain(t, "weak password", p.body, "at least 12 characters")
	b.mustGet("/settings", 200)
	p = b.post("/settings/password", url.Values{"current_password": {password}, "new_password": {"a new long passphrase"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("change: %d %s", p.status, p.header.Get("Location"))
	}
	// Both browsers are signed out.
	for name, br := range map[string]interface{ get(string) page }{"this": b, "other": other} {
		if p := br.get("/incidents"); p.status != http.StatusSeeOther {
			t.Errorf("%s browser still signed in: %d", name, p.status)
		}
	}
	// The form needs the CSRF token like every other.
	b2 := e.browser("en")
	b2.login("viewer")
	b2.mustGet("/settings", 200)
	if p := b2.post("/settings/password", url.Values{"csrf_token": {"forged"}, "current_password": {password}, "new_password": {"another long passphrase"}}); p.status != http.StatusForbidden {
		t.Errorf("forged token: %d", p.status)
	}
}
