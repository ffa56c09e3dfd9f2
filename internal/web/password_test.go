package web

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// TestChangePasswordEndsSessions: the new password works, the old one no
// longer does, and every session of the user ends, the one in use and
// one on another browser included.
func TestChangePasswordEndsSessions(t *testing.T) {
	env := newTestEnv(t)
	type browser struct {
		c    *http.Client
		csrf string
	}
	do := func(b *browser, method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, env.url+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if b.csrf != "" {
			req.Header.Set("X-CSRF-Token", b.csrf)
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	login := func(password string) (*browser, int) {
		jar, _ := cookiejar.New(nil)
		b := &browser{c: &http.Client{Jar: jar}}
		resp := do(b, "POST", "/api/v1/auth/login", `{"name":"analyst","password":"`+password+`"}`)
		defer resp.Body.Close()
		var me meResponse
		_ = json.NewDecoder(resp.Body).Decode(&me)
		b.csrf = me.CSRFToken
		return b, resp.StatusCode
	}
	status := func(resp *http.Response) int { resp.Body.Close(); return resp.StatusCode }

	first, code := login(testPassword)
	second, code2 := login(testPassword)
	if code != 200 || code2 != 200 {
		t.Fatalf("login: %d %d", code, code2)
	}
	newPassword := "a much longer new passphrase"
	before := env.eventCount()
	for body, want := range map[string]int{
		`{"current_password":"not it at all","new_password":"` + newPassword + `"}`:         422,
		`{"current_password":"` + testPassword + `","new_password":"short"}`:                422,
		`{"current_password":"` + testPassword + `","new_password":"` + testPassword + `"}`: 422,
	} {
		if got := status(do(first, "POST", "/api/v1/me/password", body)); got != want {
			t.Errorf("%s: %d, want %d", body, got, want)
		}
	}
	// The wrong current password was a failed sign-in, audited as one.
	if env.eventCount() != before+1 {
		t.Errorf("refused changes wrote %d events, want the one failed sign-in", env.eventCount()-before)
	}
	if r := env.call("analyst", "POST", "/api/v1/me/password", `{"current_password":"`+testPassword+`","new_password":"`+newPassword+`"}`); r.status != http.StatusForbidden {
		t.Errorf("with an API token: %d %s", r.status, r.body)
	}
	if got := status(do(first, "POST", "/api/v1/me/password", `{"current_password":"`+testPassword+`","new_password":"`+newPassword+`"}`)); got != http.StatusNoContent {
		t.Fatalf("change: %d", got)
	}
	for name, b := range map[string]*browser{"this browser": first, "another browser": second} {
		if got := status(do(b, "GET", "/api/v1/me", "")); got != http.StatusUnauthorized {
			t.Errorf("%s still signed in: %d", name, got)
		}
	}
	if _, code := login(testPassword); code != http.StatusUnauthorized {
		t.Errorf("old password: %d", code)
	}
	if _, code := login(newPassword); code != http.StatusOK {
		t.Errorf("new password: %d", code)
	}
	// API tokens are separate credentials and keep working.
	if r := env.call("analyst", "GET", "/api/v1/me", nil); r.status != 200 {
		t.Errorf("token after the change: %d", r.status)
	}
}
