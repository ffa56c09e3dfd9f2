package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
)

var (
	secretRe   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
	recoveryRe = regexp.MustCompile(`<li>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</li>`)
)

// totpCode is the code an authenticator app shows at t for the secret
// as the enrolment page prints it (in groups of four).
func totpCode(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := auth.TOTPCode(strings.ReplaceAll(secret, " ", ""), auth.TOTPStep(t))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// enrolTOTP switches on two-step sign-in through the settings pages and
// returns the secret read off the page and the recovery codes shown.
func (b *browser) enrolTOTP() (string, []string) {
	t := b.e.t
	t.Helper()
	p := b.get("/settings")
	mustContain(t, "settings", p.body, `id="totp-begin"`)
	if p := b.post("/settings/totp/begin", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings/totp" {
		t.Fatalf("begin: %d %s", p.status, p.header.Get("Location"))
	}
	p = b.mustGet("/settings/totp", 200)
	mustContain(t, "enrolment page", p.body, `<svg class="qr" id="totp-qr"`, `<path fill="#000" d="M`)
	m := secretRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no secret on the enrolment page")
	}
	secret := m[1]
	if p := b.post("/settings/totp/confirm", url.Values{"code": {"000000"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("confirm with a wrong code: %d", p.status)
	}
	p = b.post("/settings/totp/confirm", url.Values{"code": {totpCode(t, secret, time.Now())}})
	if p.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	var codes []string
	for _, m := range recoveryRe.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	// Never again: the enrolment page now sends back to the settings.
	if p := b.get("/settings/totp"); p.status != http.StatusSeeOther || strings.Contains(p.body, secret) {
		t.Fatalf("secret shown again: %d", p.status)
	}
	return secret, codes
}

// loginWithCode signs in through both steps and reports the final answer.
func (b *browser) loginWithCode(name, code string) page {
	t := b.e.t
	t.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"name": {name}, "password": {password}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login/code" {
		t.Fatalf("password step of %s: %d %s", name, p.status, p.header.Get("Location"))
	}
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "irdesk_login_pending=") && (!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict")) {
			t.Errorf("pending cookie %s", c)
		}
	}
	// Not a session: pages still send to sign in.
	if p := b.get("/incidents"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Fatalf("a pending sign-in opened a page: %d", p.status)
	}
	b.mustGet("/login/code", 200)
	return b.post("/login/code", url.Values{"code": {code}})
}

func TestTOTPEnrolAndLoginThroughTheUI(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	b.login("analyst")
	secret, codes := b.enrolTOTP()
	p := b.mustGet("/settings", 200)
	mustContain(t, "settings", p.body, `id="totp-state"><span class="badge on">On</span>`, "Unused recovery codes: 10.")

	// The code of the next step: the confirming one used this step.
	next := totpCode(t, secret, time.Now().Add(auth.TOTPPeriod))
	b2 := e.browser("en")
	if p := b2.loginWithCode("analyst", next); p.status != http.StatusSeeOther || p.header.Get("Location") != "/incidents" {
		t.Fatalf("code step: %d %s", p.status, p.body)
	}
	b2.mustGet("/incidents", 200)

	// The same code again is a replay.
	b3 := e.browser("ja")
	p = b3.loginWithCode("analyst", next)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", p.status)
	}
	mustContain(t, "replay", p.body, "コードが正しくないか、すでに使われています")
	// A recovery code works once.
	if p := b3.loginWithCode("analyst", strings.ToUpper(codes[0])); p.status != http.StatusSeeOther {
		t.Fatalf("recovery code: %d %s", p.status, p.body)
	}
	b4 := e.browser("en")
	if p := b4.loginWithCode("analyst", codes[0]); p.status != http.StatusUnauthorized {
		t.Fatalf("recovery code twice: %d", p.status)
	}
	// Without the pending cookie the code page starts over.
	anon := e.browser("en")
	if p := anon.get("/login/code"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("code page without a pending sign-in: %d %s", p.status, p.header.Get("Location"))
	}

	// Switching it off takes a code.
	if p := b.post("/settings/totp/disable", url.Values{"code": {"123456"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("disable with a wrong code: %d", p.status)
	}
	if p := b.post("/settings/totp/disable", url.Values{"code": {codes[1]}}); p.status != http.StatusSeeOther {
		t.Fatalf("disable with a recovery code: %d %s", p.status, p.body)
	}
	mustContain(t, "settings", b.mustGet("/settings?totp=off", 200).body, "Two-step sign-in is off.", `id="totp-begin"`)
	e.browser("en").login("analyst")
}

func TestTOTPWrongCodesThrottledInTheUI(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	b.login("lead")
	b.enrolTOTP()
	attacker := e.browser("en")
	for i := range 10 {
		if p := attacker.loginWithCode("lead", "999999"); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i, p.status)
		}
	}
	attacker.get("/login")
	p := attacker.post("/login", url.Values{"name": {"lead"}, "password": {password}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("after ten wrong codes: %d", p.status)
	}
}

// apiLogin posts to the JSON API's sign-in.
func (e *env) apiLogin(body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/api/v1/auth/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestTOTPThroughTheJSONAPI(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	b.login("analyst")
	secret, codes := b.enrolTOTP()
	status, out := e.apiLogin(`{"name": "analyst", "password": "` + password + `"}`)
	if status != http.StatusUnauthorized || !strings.Contains(out["detail"].(string), "totp") {
		t.Fatalf("password alone: %d %v", status, out)
	}
	next := totpCode(t, secret, time.Now().Add(auth.TOTPPeriod))
	status, out = e.apiLogin(`{"name": "analyst", "password": "` + password + `", "totp": "` + next + `"}`)
	if status != http.StatusOK || out["csrf_token"] == "" {
		t.Fatalf("with the code: %d %v", status, out)
	}
	if status, _ := e.apiLogin(`{"name": "analyst", "password": "` + password + `", "totp": "` + next + `"}`); status != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", status)
	}
	if status, _ := e.apiLogin(`{"name": "analyst", "password": "` + password + `", "totp": "` + codes[5] + `"}`); status != http.StatusOK {
		t.Fatalf("recovery code: %d", status)
	}
	if status, _ := e.apiLogin(`{"name": "analyst", "password": "` + password + `", "totp": "` + codes[5] + `"}`); status != http.StatusUnauthorized {
		t.Fatalf("recovery code twice: %d", status)
	}
	// Users without TOTP ignore the field.
	if status, _ := e.apiLogin(`{"name": "lead", "password": "` + password + `", "totp": "123456"}`); status != http.StatusOK {
		t.Fatalf("lead without TOTP: %d", status)
	}
}

func TestAdminPagesForAdminsOnly(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"lead", "analyst", "reporter", "viewer"} {
		b := e.browser("en")
		b.login(name)
		for _, path := range []string{"/admin", "/admin/tokens"} {
			p := b.get(path)
			if p.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d", name, path, p.status)
			}
			mustContain(t, name+" "+path, p.body, "You may not do this.")
		}
		mustNotContain(t, name+" nav", b.get("/settings").body, `id="nav-admin"`)
		if p := b.post("/admin/users/viewer/disable", nil); p.status != http.StatusForbidden {
			t.Errorf("%s disables a user: %d %s", name, p.status, p.header.Get("Location"))
		}
		if p := b.post("/admin/tokens", url.Values{"user": {name}, "name": {"x"}}); p.status != http.StatusForbidden {
			t.Errorf("%s makes a token on the admin page: %d", name, p.status)
		}
	}
	u, err := e.app.AdminUsers(context.Background(), app.SystemActor)
	if err != nil {
		t.Fatal(err)
	}
	for _, usr := range u {
		if usr.Disabled {
			t.Errorf("%s was disabled by a non-admin", usr.Name)
		}
	}
}

func TestAdminUsersAndTokens(t *testing.T) {
	e := newEnv(t)
	// The lead has two-step sign-in, for the reset.
	lb := e.browser("en")
	lb.login("lead")
	lb.enrolTOTP()

	b := e.browser("ja")
	b.login("admin")
	p := b.mustGet("/admin", 200)
	mustContain(t, "admin", p.body, "ユーザーとロール", `id="nav-admin"`, `data-user="lead"`, "user-totp-reset")

	// A new user whose display name is an XSS payload: shown inert.
	p = b.post("/admin/users", url.Values{"name": {"Suzuki"}, "display_name": {`<img src=x onerror=alert(1)>` + xssPayload},
		"email": {"suzuki@example.jp"}, "role": {"analyst"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create user: %d %s", p.status, p.body)
	}
	mustContain(t, "created", p.body, "ユーザー suzuki を アナリスト として追加しました。", `id="new-password"`,
		`&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;`)
	mustNotContain(t, "created", p.body, `<img src=x`, `<script>alert(1)`)
	pw := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(p.body)
	if pw == nil {
		t.Fatal("no password shown")
	}
	// That password signs the new user in.
	if _, _, _, err := e.app.Login(context.Background(), "suzuki", pw[1], "192.0.2.5"); err != nil {
		t.Fatalf("new user's password: %v", err)
	}
	if p := b.post("/admin/users", url.Values{"name": {"suzuki"}, "role": {"analyst"}}); p.status != http.StatusConflict {
		t.Errorf("duplicate user: %d", p.status)
	}
	if p := b.post("/admin/users", url.Values{"name": {"bad name!"}, "role": {"analyst"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("bad name: %d", p.status)
	}

	for _, step := range []struct{ path, done string }{
		{"/admin/users/suzuki/role", "role"},
		{"/admin/users/suzuki/disable", "disabled"},
		{"/admin/users/suzuki/enable", "enabled"},
		{"/admin/users/lead/totp-reset", "totp"},
	} {
		p := b.post(step.path, url.Values{"role": {"lead"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin?done="+step.done {
			t.Fatalf("%s: %d %s", step.path, p.status, p.body)
		}
		b.get(p.header.Get("Location"))
	}
	users, _ := e.app.AdminUsers(context.Background(), app.SystemActor)
	for _, usr := range users {
		if usr.Name == "suzuki" && (usr.Role != core.RoleLead || usr.Disabled) || usr.Name == "lead" && usr.TOTP {
			t.Errorf("after the admin's changes: %+v", usr)
		}
	}
	// The lead signs in with the password alone again.
	e.browser("en").login("lead")
	// An admin cannot demote or disable themselves.
	if p := b.post("/admin/users/admin/disable", nil); p.status != http.StatusConflict {
		t.Errorf("admin disables themselves: %d", p.status)
	}

	// Tokens: made with the secret shown once, listed, revoked.
	b.mustGet("/admin/tokens", 200)
	p = b.post("/admin/tokens", url.Values{"user": {"analyst"}, "name": {`wazuh <b>prod</b>`}, "ttl": {"90"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", p.status, p.body)
	}
	m := regexp.MustCompile(`id="token-secret">(irdt_[A-Za-z0-9_-]+)<`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no token secret shown")
	}
	mustContain(t, "tokens", p.body, "wazuh &lt;b&gt;prod&lt;/b&gt;")
	actor, err := e.app.AuthenticateToken(context.Background(), m[1])
	if err != nil || actor.User.Name != "analyst" {
		t.Fatalf("the token shown: %+v %v", actor, err)
	}
	p = b.mustGet("/admin/tokens", 200)
	mustNotContain(t, "token list", p.body, m[1])
	id := regexp.MustCompile(`data-token="(\d+)"`).FindStringSubmatch(p.body)
	if id == nil {
		t.Fatal("token not listed")
	}
	if p := b.post("/admin/tokens/"+id[1]+"/revoke", nil); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	if _, err := e.app.AuthenticateToken(context.Background(), m[1]); err == nil {
		t.Error("revoked token still works")
	}
	if p := b.post("/admin/tokens", url.Values{"user": {"analyst"}, "ttl": {"7"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown ttl: %d", p.status)
	}
}

// TestSlice3FormsNeedCSRFToken posts to every new form without its token.
func TestSlice3FormsNeedCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	b.login("admin")
	for _, path := range []string{"/settings/totp/begin", "/settings/totp/confirm", "/settings/totp/disable",
		"/admin/users", "/admin/users/viewer/disable", "/admin/users/viewer/enable", "/admin/users/viewer/role",
		"/admin/users/viewer/totp-reset", "/admin/tokens", "/admin/tokens/1/revoke"} {
		for _, token := range []string{"", "forged"} {
			if p := b.do("POST", path, url.Values{"csrf_token": {token}, "role": {"admin"}, "name": {"x"}, "user": {"viewer"}}); p.status != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d", path, token, p.status)
			}
		}
	}
	if users, _ := e.app.AdminUsers(context.Background(), app.SystemActor); len(users) != len(roles) {
		t.Errorf("users after forged posts: %d", len(users))
	}
	anon := e.browser("en")
	if p := anon.do("POST", "/login/code", url.Values{"code": {"123456"}}); p.status != http.StatusForbidden {
		t.Errorf("code step without token: %d", p.status)
	}
}

func TestDashboardByCategory(t *testing.T) {
	e := newEnv(t)
	e.create("lead", app.NewIncident{Title: "phish 1", Category: core.CatPhishing})
	e.create("lead", app.NewIncident{Title: "phish 2", Category: core.CatPhishing})
	e.create("lead", app.NewIncident{Title: "lost laptop", Category: core.CatLostDevice})
	e.create("lead", app.NewIncident{Title: "secret ransomware", Category: core.CatRansomware, Restricted: true})
	e.create("lead", app.NewIncident{Title: "drill", Category: core.CatMalware, Exercise: true})
	b := e.browser("en")
	b.login("viewer")
	p := b.mustGet("/dashboard", 200)
	mustContain(t, "dashboard", p.body, "Incidents by category", `id="category-table"`,
		"<tr><td>Phishing</td><td>2</td><td>2</td></tr>", "<title>Phishing: 2 open</title>")
	// The viewer is no member of the restricted one; the drill is nowhere.
	mustNotContain(t, "dashboard", p.body, "<td>Ransomware</td>", "<td>Malware</td>")
	b = e.browser("ja")
	b.login("admin")
	p = b.mustGet("/dashboard", 200)
	mustContain(t, "admin's dashboard", p.body, "カテゴリ別インシデント", "直近 90 日間")
	if !regexp.MustCompile(`<tr><td>[^<]+</td><td>1</td><td>1</td></tr>`).MatchString(p.body) {
		t.Error("the admin's dashboard lacks the restricted ransomware row")
	}
}
