// Package ui is irdesk's browser interface: server-rendered HTML pages in
// Japanese and English over the same use cases as the JSON API. Package
// web mounts its routes and maps the errors its handlers return.
package ui

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/i18n"
)

//go:embed templates static
var embedded embed.FS

// Options wire the UI to the server that mounts it.
type Options struct {
	App *app.App
	Log *slog.Logger
	// SessionCookie is the name of the API's session cookie; the UI signs
	// in with the same session.
	SessionCookie string
	// SecureCookies marks cookies Secure (always on behind TLS).
	SecureCookies bool
	// Origin is the server's cross-origin check, shared with the API.
	Origin *http.CrossOriginProtection
	// OIDC says OpenID Connect sign-in is configured: the sign-in page
	// offers it above the local form.
	OIDC bool
}

// UI is the set of pages. It is built once at start and read-only after.
type UI struct {
	app    *app.App
	log    *slog.Logger
	opts   Options
	i18n   *i18n.Bundle
	pages  map[string]*template.Template
	assets *assets
	// zones caches loaded time zones by name: LoadLocation reads the zone
	// file on every call, and every page needs its user's zone. Only
	// names that loaded once (checked when saved) are ever stored.
	zones sync.Map
}

// Route is one page or form endpoint, for the server's mux.
type Route struct {
	Method, Path string
	Handler      func(w http.ResponseWriter, r *http.Request) error
}

// pageNames are the page templates; each is parsed with layout.html and
// partials.html (pieces several pages share) into its own set, so two
// pages can never overwrite each other's blocks.
var pageNames = []string{"login", "report", "myreports", "incidents", "incident", "settings", "error",
	"incident_edit", "incident_print", "report_draft", "alerts", "alert", "dashboard", "contacts", "contact",
	"notifications", "escalation", "login_code", "totp_setup", "totp_codes", "admin_users", "admin_tokens",
	"watchlist", "action_runs",
	"knowledge", "article", "article_edit"}

// New loads the catalogues, templates and static files. A missing or
// broken template fails here, at start, not on the first request.
func New(opts Options) (*UI, error) {
	bundle, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		return nil, err
	}
	as, err := loadAssets(static)
	if err != nil {
		return nil, err
	}
	tmpl, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	pages, err := parsePages(tmpl, as)
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Origin == nil {
		opts.Origin = http.NewCrossOriginProtection()
	}
	return &UI{app: opts.App, log: opts.Log, opts: opts, i18n: bundle, pages: pages, assets: as}, nil
}

// parsePages parses layout.html with each page into one set per page.
func parsePages(fsys fs.FS, as *assets) (map[string]*template.Template, error) {
	funcs := template.FuncMap{"asset": as.url}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, "layout.html", "partials.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui template %s: %w", name, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return nil, fmt.Errorf("ui template %s: needs the blocks layout and content", name)
		}
		pages[name] = t
	}
	return pages, nil
}

// Routes lists the UI's endpoints. None needs the API's authentication:
// each page resolves the session itself and sends a browser that has
// none to the sign-in page.
func (u *UI) Routes() []Route {
	return []Route{
		{"GET", "/{$}", u.home},
		{"GET", "/login", u.loginPage},
		{"POST", "/login", u.loginSubmit},
		{"GET", "/login/code", u.loginCodePage},
		{"POST", "/login/code", u.loginCodeSubmit},
		{"POST", "/logout", u.authed(u.logout)},
		{"POST", "/lang", u.switchLang},
		{"GET", "/settings", u.authed(u.settingsPage)},
		{"POST", "/settings", u.authed(u.settingsSubmit)},
		{"POST", "/settings/password", u.authed(u.passwordSubmit)},
		{"POST", "/settings/totp/begin", u.authed(u.totpBegin)},
		{"GET", "/settings/totp", u.authed(u.totpSetupPage)},
		{"POST", "/settings/totp/confirm", u.authed(u.totpConfirm)},
		{"POST", "/settings/totp/disable", u.authed(u.totpDisable)},
		{"GET", "/admin", u.authed(u.adminUsersPage)},
		{"POST", "/admin/users", u.authed(u.adminCreateUser)},
		{"POST", "/admin/users/{name}/disable", u.authed(u.adminUserAction("disable"))},
		{"POST", "/admin/users/{name}/enable", u.authed(u.adminUserAction("enable"))},
		{"POST", "/admin/users/{name}/role", u.authed(u.adminUserAction("role"))},
		{"POST", "/admin/users/{name}/totp-reset", u.authed(u.adminUserAction("totp"))},
		{"GET", "/admin/tokens", u.authed(u.adminTokensPage)},
		{"POST", "/admin/tokens", u.authed(u.adminCreateToken)},
		{"POST", "/admin/tokens/{id}/revoke", u.authed(u.adminRevokeToken)},
		{"GET", "/report", u.authed(u.reportPage)},
		{"POST", "/report", u.authed(u.reportSubmit)},
		{"GET", "/my/reports", u.authed(u.myReports)},
		{"GET", "/incidents", u.authed(u.incidentsPage)},
		{"GET", "/incidents/{key}", u.authed(u.incidentPage)},
		{"POST", "/incidents/{key}/comments", u.authed(u.addComment)},
		{"POST", "/incidents/{key}/actions", u.authed(u.recordAction)},
		{"GET", "/incidents/{key}/edit", u.authed(u.editIncidentPage)},
		{"POST", "/incidents/{key}/edit", u.authed(u.editIncidentSubmit)},
		{"POST", "/incidents/{key}/phase", u.authed(u.movePhase)},
		{"POST", "/incidents/{key}/assign", u.authed(u.assign)},
		{"POST", "/incidents/{key}/tasks/{task}/complete", u.authed(u.completeTask)},
		{"POST", "/incidents/{key}/tasks/{task}/skip", u.authed(u.skipTask)},
		{"POST", "/incidents/{key}/members", u.authed(u.addMember)},
		{"POST", "/incidents/{key}/members/{user}/remove", u.authed(u.removeMember)},
		{"GET", "/incidents/{key}/print", u.authed(u.printIncident)},
		{"GET", "/incidents/{key}/reports/{kind}", u.authed(u.reportDraftPage)},
		{"POST", "/incidents/{key}/reports/{kind}", u.authed(u.reportDraftSubmit)},
		{"GET", "/alerts", u.authed(u.alertsPage)},
		{"POST", "/alerts/bulk", u.authed(u.bulkAlerts)},
		{"GET", "/alerts/{id}", u.authed(u.alertPage)},
		{"POST", "/alerts/{id}/acknowledge", u.authed(u.acknowledgeAlert)},
		{"POST", "/alerts/{id}/close", u.authed(u.closeAlert)},
		{"POST", "/alerts/{id}/promote", u.authed(u.promoteAlert)},
		{"POST", "/alerts/{id}/attach", u.authed(u.attachAlert)},
		{"GET", "/dashboard", u.authed(u.dashboardPage)},
		{"GET", "/contacts", u.authed(u.contactsPage)},
		{"GET", "/contacts/new", u.authed(u.contactPage)},
		{"POST", "/contacts/new", u.authed(u.contactSubmit)},
		{"GET", "/contacts/{id}", u.authed(u.contactPage)},
		{"POST", "/contacts/{id}", u.authed(u.contactSubmit)},
		{"POST", "/contacts/{id}/delete", u.authed(u.contactDelete)},
		{"GET", "/notifications", u.authed(u.notificationsPage)},
		{"POST", "/notifications/{id}/retry", u.authed(u.retryNotification)},
		{"GET", "/settings/escalation", u.authed(u.escalationPage)},
		{"POST", "/incidents/{key}/response-actions", u.authed(u.responseActionSubmit)},
		{"POST", "/incidents/{key}/response-actions/{id}/approve", u.authed(u.decideIncidentRun("approve"))},
		{"POST", "/incidents/{key}/response-actions/{id}/reject", u.authed(u.decideIncidentRun("reject"))},
		{"POST", "/incidents/{key}/response-actions/{id}/cancel", u.authed(u.decideIncidentRun("cancel"))},
		{"GET", "/action-runs", u.authed(u.actionRunsPage)},
		{"POST", "/action-runs/{id}/approve", u.authed(u.decideListedRun("approve"))},
		{"POST", "/action-runs/{id}/reject", u.authed(u.decideListedRun("reject"))},
		{"POST", "/action-runs/{id}/cancel", u.authed(u.decideListedRun("cancel"))},
		{"GET", "/watchlist", u.authed(u.watchlistPage)},
		{"POST", "/watchlist/import", u.authedUpload(u.watchlistImport)},
		{"POST", "/watchlist/{id}/delete", u.authed(u.watchlistDelete)},
		{"POST", "/watchlist/recheck", u.authed(u.watchlistRecheck)},
		{"GET", "/knowledge", u.authed(u.knowledgePage)},
		{"GET", "/knowledge/new", u.authed(u.newArticlePage)},
		{"POST", "/knowledge/new", u.authed(u.articleSubmit)},
		{"GET", "/knowledge/{id}", u.authed(u.articlePage)},
		{"GET", "/knowledge/{id}/edit", u.authed(u.editArticlePage)},
		{"POST", "/knowledge/{id}/edit", u.authed(u.articleSubmit)},
		{"POST", "/incidents/{key}/costs", u.authed(u.addCostSubmit)},
		{"GET", "/static/{file}", u.static},
	}
}

// request is what a signed-in page knows of who is asking.
type request struct {
	actor app.Actor
	csrf  string
	tr    *i18n.Translator
	loc   *time.Location
}

type pageHandler func(w http.ResponseWriter, r *http.Request, rq *request) error

// authed resolves the session cookie. A browser without a session that
// asks for a page is sent to sign in; a form post without one fails. Every
// post must come from this origin and carry the session's CSRF token.
func (u *UI) authed(h pageHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		rq, err := u.session(r)
		if errors.Is(err, core.ErrUnauthenticated) && safeMethod(r.Method) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		if !safeMethod(r.Method) {
			if err := u.checkForm(w, r, rq.csrf); err != nil {
				return err
			}
		}
		return h(w, r, rq)
	}
}

// session resolves the cookie to the user and their settings.
func (u *UI) session(r *http.Request) (*request, error) {
	c, err := r.Cookie(u.opts.SessionCookie)
	if err != nil || c.Value == "" {
		return nil, fmt.Errorf("%w: not signed in", core.ErrUnauthenticated)
	}
	actor, sess, err := u.app.AuthenticateSession(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	prefs, err := u.app.PrefsFor(r.Context(), actor)
	if err != nil {
		return nil, err
	}
	lang, ok := i18n.Parse(prefs.Language)
	if !ok {
		lang = u.browserLang(r)
	}
	return &request{actor: actor, csrf: sess.CSRFToken, tr: u.i18n.For(lang), loc: u.location(prefs)}, nil
}

func (u *UI) location(p app.Prefs) *time.Location {
	if loc, ok := u.zones.Load(p.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc := p.Location()
	u.zones.Store(p.TimeZone, loc)
	return loc
}

// langCookie keeps the language chosen before signing in.
const langCookie = "irdesk_lang"

// browserLang is the language of a request without a saved choice: the
// cookie set by the switch, else the Accept-Language header.
func (u *UI) browserLang(r *http.Request) i18n.Lang {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.Negotiate(r.Header.Get("Accept-Language"))
}

// MaxFormBytes bounds a form: the report form is a few texts.
const MaxFormBytes = 1 << 20

// checkForm parses a posted form and checks it came from a page of ours:
// the same cross-origin check the API makes, and the CSRF token in the
// form (or, for htmx, in the X-CSRF-Token header) equal to want.
func (u *UI) checkForm(w http.ResponseWriter, r *http.Request, want string) error {
	if err := u.opts.Origin.Check(r); err != nil {
		return fmt.Errorf("%w: cross-origin form refused", core.ErrForbidden)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return core.Invalid("form", "is larger than %d bytes", MaxFormBytes)
		}
		return core.Invalid("form", "could not be read")
	}
	got := r.PostForm.Get("csrf_token")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("%w: missing or wrong CSRF token; reload the page and try again", core.ErrForbidden)
	}
	return nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// contentSecurityPolicy allows only our own scripts and styles: no inline
// script, no inline style, no eval (htmx is configured without it).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// Incident keys are in our URLs; no other site learns them.
	h.Set("Referrer-Policy", "no-referrer")
	// Pages hold incident details: never kept by a shared cache or the
	// browser's disk cache.
	h.Set("Cache-Control", "no-store")
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (u *UI) render(w http.ResponseWriter, status int, page string, view any) error {
	t, ok := u.pages[page]
	if !ok {
		return fmt.Errorf("no page template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", view); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	pageHeaders(w.Header())
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// base is what every page's view carries: the translator travels here,
// per request, never in the shared templates.
type base struct {
	Tr    *i18n.Translator
	Lang  i18n.Lang
	User  *core.User
	CSRF  string
	Path  string
	Nav   string
	Title string
	Loc   *time.Location
	Langs []i18n.Lang
	// Print drops the navigation and the language switch: the page is
	// meant for paper.
	Print bool
	// SSO: the sign-in page offers the organisation's identity provider.
	SSO bool
}

func (u *UI) base(r *http.Request, rq *request, nav, title string) base {
	b := base{Tr: rq.tr, Lang: rq.tr.Lang(), CSRF: rq.csrf, Path: r.URL.RequestURI(), Nav: nav, Loc: rq.loc, Langs: i18n.Langs}
	if rq.actor.User.ID != 0 {
		usr := rq.actor.User
		b.User = &usr
	}
	b.Title = title
	b.SSO = u.opts.OIDC
	return b
}

// Staff reports whether the user works incidents or watches them, as
// opposed to a reporter who sees only their own reports.
func (b base) Staff() bool { return b.User != nil && b.User.Role != core.RoleReporter }

// CanReport reports whether the user may file a report.
func (b base) CanReport() bool { return b.User != nil && b.User.Role != core.RoleViewer }

// CanWork reports whether the user works incidents and alerts (analyst,
// lead, admin). It only decides which buttons are shown: every action is
// authorised again in package app.
func (b base) CanWork() bool { return b.User != nil && b.User.Role.AtLeastAnalyst() }

// CanLead reports whether the user commands incidents and keeps the
// desk's settings (lead, admin): members, closing, the admin pages.
func (b base) CanLead() bool { return b.User != nil && b.User.Role.AtLeastLead() }

// Time formats t in the user's zone.
func (b base) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(b.Loc).Format("2006-01-02 15:04 MST")
}

// TimeP formats an optional time; "—" when unset.
func (b base) TimeP(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return b.Time(*t)
}

// ISO is t for a <time datetime> attribute.
func (b base) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Dur formats a duration in the page's language, to the minute.
func (b base) Dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	mins := int64(d / time.Minute)
	days, hours, minutes := mins/(24*60), (mins/60)%24, mins%60
	switch {
	case days > 0:
		return b.Tr.T("dur.days_hours", days, hours)
	case hours > 0:
		return b.Tr.T("dur.hours_minutes", hours, minutes)
	default:
		return b.Tr.T("dur.minutes", minutes)
	}
}

// Label translations of the enumerations; their keys are built, so a test
// checks every value of each has one (TestEnumKeys).
func (b base) Phase(p core.Phase) string           { return b.Tr.T(phaseKey(p)) }
func (b base) Severity(s core.Severity) string     { return b.Tr.T(severityKey(s)) }
func (b base) Category(c core.Category) string     { return b.Tr.T(categoryKey(c)) }
func (b base) Role(r core.Role) string             { return b.Tr.T(roleKey(r)) }
func (b base) TaskStatus(s core.TaskStatus) string { return b.Tr.T(taskStatusKey(s)) }
func (b base) ClockState(s string) string          { return b.Tr.T(clockStateKey(s)) }

func phaseKey(p core.Phase) string           { return "phase." + string(p) }
func severityKey(s core.Severity) string     { return "severity." + string(s) }
func categoryKey(c core.Category) string     { return "category." + string(c) }
func roleKey(r core.Role) string             { return "role." + string(r) }
func taskStatusKey(s core.TaskStatus) string { return "task_status." + string(s) }
func clockStateKey(s string) string          { return "clock_state." + s }
func eventKey(typ string) string             { return "event." + typ }

// Pick chooses the Japanese or English text of a bilingual record (a
// playbook task, a legal clock).
func (b base) Pick(ja, en string) string {
	if b.Lang == i18n.English && en != "" || ja == "" {
		return en
	}
	return ja
}

// home sends a browser to where its user starts: reporters to the report
// form, everyone else to the incident list.
func (u *UI) home(w http.ResponseWriter, r *http.Request) error {
	rq, err := u.session(r)
	if errors.Is(err, core.ErrUnauthenticated) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, startPage(rq.actor.User), http.StatusSeeOther)
	return nil
}

func startPage(usr core.User) string {
	if usr.Role == core.RoleReporter {
		return "/report"
	}
	return "/incidents"
}

// localPath accepts only a path on this site as a place to return to, so
// ?next= cannot send a user to another site.
func localPath(next string) (string, bool) {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "", false
	}
	p, err := url.Parse(next)
	if err != nil || p.Scheme != "" || p.Host != "" || p.User != nil {
		return "", false
	}
	if strings.ContainsAny(next, "\r\n\t\\") {
		return "", false
	}
	return next, true
}

// ErrorPage is what the server's error mapping decided to answer.
type ErrorPage struct {
	Status    int
	Detail    string
	RequestID string
}

type errorView struct {
	base
	Status    int
	Message   string
	Detail    string
	RequestID string
	SignIn    bool
}

// RenderError writes the HTML error page. The status and detail come from
// package web's one error mapping; this only gives them a page. It never
// fails: a page that cannot be rendered falls back to plain text.
func (u *UI) RenderError(w http.ResponseWriter, r *http.Request, p ErrorPage) {
	rq, err := u.session(r)
	if err != nil {
		rq = &request{tr: u.i18n.For(u.browserLang(r)), loc: app.Prefs{}.Location()}
	}
	v := errorView{base: u.base(r, rq, "", rq.tr.T("error.title")), Status: p.Status, RequestID: p.RequestID, SignIn: p.Status == http.StatusUnauthorized}
	key := fmt.Sprintf("error.%d", p.Status)
	if !rq.tr.Has(key) {
		key = "error.other"
	}
	v.Message = rq.tr.T(key)
	// The detail names what was wrong (a field, a rule); a 500's detail is
	// already generic, so nothing internal is shown.
	v.Detail = p.Detail
	var buf bytes.Buffer
	if err := u.pages["error"].ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.Error("render error page", "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(p.Status)
		fmt.Fprintf(w, "%d %s\n", p.Status, http.StatusText(p.Status))
		return
	}
	pageHeaders(w.Header())
	w.WriteHeader(p.Status)
	_, _ = w.Write(buf.Bytes())
}

// WantsHTML reports whether a client asked for a page rather than JSON:
// browsers list text/html in Accept; API clients and fetch() do not.
func WantsHTML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
			return true
		}
	}
	return false
}

// listLimit is the page size of the UI's lists.
const listLimit = 50

// PhaseStep is the phase's place in the six-step flow, 1 to 6 (closed
// counts as 6, done).
func (b base) PhaseStep(p core.Phase) int {
	for i, ph := range core.Phases {
		if ph == p {
			return min(i+1, 6)
		}
	}
	return 0
}

// Lower is a CSS class fragment of an enumeration value (S1 -> s1).
func (b base) Lower(s string) string { return strings.ToLower(s) }
