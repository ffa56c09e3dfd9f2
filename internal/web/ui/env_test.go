package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/web"
)

// env is the whole server (API and UI) on loopback over a real SQLite file.
type env struct {
	t     testing.TB
	url   string
	app   *app.App
	users map[string]core.User
}

const password = "correct horse battery staple"

var roles = []struct {
	name string
	role core.Role
}{
	{"admin", core.RoleAdmin}, {"lead", core.RoleLead}, {"analyst", core.RoleAnalyst},
	{"reporter", core.RoleReporter}, {"reporter2", core.RoleReporter}, {"viewer", core.RoleViewer},
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvConfig(tb, app.Config{})
}

// newEnvConfig is newEnv with use-case settings (notification delivery).
func newEnvConfig(tb testing.TB, cfg app.Config) *env {
	tb.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.PasswordParams = auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}
	a := app.New(st, log, nil, cfg)
	srv := httptest.NewServer(web.New(a, log, metrics.NewRegistry(), web.Config{}))
	tb.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	e := &env{t: tb, url: srv.URL, app: a, users: map[string]core.User{}}
	for _, r := range roles {
		u, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: r.name, Role: r.role, Password: password})
		if err != nil {
			tb.Fatal(err)
		}
		e.users[r.name] = u
	}
	return e
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each answer, and that sends what a browser sends.
type browser struct {
	e      *env
	c      *http.Client
	lang   string // Accept-Language
	csrf   string // the token of the last form seen
	origin string // Origin header for posts; "" = same origin
}

func (e *env) browser(lang string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{e: e, c: c, lang: lang}
}

type page struct {
	status int
	header http.Header
	body   string
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

func (b *browser) do(method, path string, form url.Values) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		origin := b.origin
		if origin == "" {
			origin = b.e.url
		}
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	p := page{status: resp.StatusCode, header: resp.Header, body: string(data)}
	if m := csrfRe.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page { b.e.t.Helper(); return b.do("GET", path, nil) }

// post sends a form with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	return b.do("POST", path, form)
}

// login signs in through the login form.
func (b *browser) login(name string) {
	b.e.t.Helper()
	if p := b.get("/login"); p.status != 200 {
		b.e.t.Fatalf("GET /login: %d", p.status)
	}
	p := b.post("/login", url.Values{"name": {name}, "password": {password}})
	if p.status != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: %d %s", name, p.status, p.body)
	}
	b.get(p.header.Get("Location")) // picks up the session's CSRF token
}

func (b *browser) mustGet(path string, status int) page {
	b.e.t.Helper()
	p := b.get(path)
	if p.status != status {
		b.e.t.Fatalf("GET %s: %d, want %d\n%s", path, p.status, status, p.body)
	}
	return p
}

// create files an incident directly through the use case.
func (e *env) create(as string, in app.NewIncident) *core.Incident {
	e.t.Helper()
	inc, err := e.app.CreateIncident(context.Background(), app.Actor{User: e.users[as]}, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func mustContain(tb testing.TB, what, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("%s does not contain %q", what, w)
		}
	}
}

func mustNotContain(tb testing.TB, what, body string, bad ...string) {
	tb.Helper()
	for _, w := range bad {
		if strings.Contains(body, w) {
			tb.Errorf("%s contains %q", what, w)
		}
	}
}

func incidentTitled(title string) app.NewIncident { return app.NewIncident{Title: title} }
