package ui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/i18n"
)

// preCSRFCookie carries the CSRF token of forms shown before signing in
// (sign-in, language): there is no session yet to hold one, so the form
// must echo this cookie (double submit) on top of the origin check.
const preCSRFCookie = "irdesk_csrf"

// anonymous is the request of a browser that has not signed in. It sets
// the pre-session CSRF cookie when the browser has none.
func (u *UI) anonymous(w http.ResponseWriter, r *http.Request) *request {
	token := ""
	if c, err := r.Cookie(preCSRFCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		token = c.Value
	} else if w != nil {
		token = rand.Text()
		http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: token, Path: "/", HttpOnly: true,
			Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteStrictMode})
	}
	return &request{csrf: token, tr: u.i18n.For(u.browserLang(r)), loc: app.Prefs{}.Location()}
}

type loginView struct {
	base
	Next  string
	Name  string
	Error string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) error {
	next, _ := localPath(r.URL.Query().Get("next"))
	if rq, err := u.session(r); err == nil {
		if next == "" {
			next = startPage(rq.actor.User)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	rq := u.anonymous(w, r)
	return u.render(w, http.StatusOK, "login", loginView{base: u.base(r, rq, "login", rq.tr.T("login.title")), Next: next})
}

func (u *UI) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	rq := u.anonymous(nil, r)
	if err := u.checkForm(w, r, rq.csrf); err != nil {
		return err
	}
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	next, ok := localPath(r.PostForm.Get("next"))
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	secret, sess, usr, err := u.app.Login(r.Context(), name, password, client)
	if err != nil {
		v := loginView{base: u.base(r, rq, "login", rq.tr.T("login.title")), Next: next, Name: name}
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, app.ErrTooManyAttempts):
			w.Header().Set("Retry-After", "900")
			status, v.Error = http.StatusTooManyRequests, rq.tr.T("login.too_many")
		case errors.Is(err, core.ErrUnauthenticated):
			v.Error = rq.tr.T("login.failed")
		default:
			return err
		}
		return u.render(w, status, "login", v)
	}
	http.SetCookie(w, &http.Cookie{
		Name: u.opts.SessionCookie, Value: secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	// A language picked before signing in becomes the setting of a user
	// who has not chosen one yet.
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			actor := app.Actor{User: usr}
			if p, err := u.app.PrefsFor(r.Context(), actor); err == nil && p.Language == "" {
				if err := u.saveLang(r, actor, l); err != nil {
					u.log.Warn("save language at sign-in", "err", err)
				}
			}
		}
	}
	if !ok {
		next = startPage(usr)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (u *UI) saveLang(r *http.Request, a app.Actor, l i18n.Lang) error {
	s := string(l)
	_, err := u.app.SetPrefs(r.Context(), a, app.PrefsChange{Language: &s})
	return err
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if c, err := r.Cookie(u.opts.SessionCookie); err == nil {
		if err := u.app.Logout(r.Context(), rq.actor, c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: u.opts.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// switchLang sets the language: saved for a signed-in user, in a cookie
// before signing in. It returns to the page it was posted from.
func (u *UI) switchLang(w http.ResponseWriter, r *http.Request) error {
	rq, err := u.session(r)
	signedIn := err == nil
	if !signedIn {
		if !errors.Is(err, core.ErrUnauthenticated) {
			return err
		}
		rq = u.anonymous(nil, r)
	}
	if err := u.checkForm(w, r, rq.csrf); err != nil {
		return err
	}
	l, ok := i18n.Parse(r.PostForm.Get("lang"))
	if !ok {
		return core.Invalid("lang", "must be ja or en")
	}
	if signedIn {
		if err := u.saveLang(r, rq.actor, l); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	next, ok := localPath(r.PostForm.Get("next"))
	if !ok {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

type settingsView struct {
	base
	Language  string
	TimeZone  string
	Zones     []string
	Saved     bool
	Error     string
	ErrorFld  string
	LangNames []i18n.Lang
}

// commonZones are offered in the picker; any IANA name may be typed.
var commonZones = []string{"Asia/Tokyo", "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata",
	"Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Los_Angeles",
	"Australia/Sydney"}

func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	p, err := u.app.PrefsFor(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	v := settingsView{base: u.base(r, rq, "settings", rq.tr.T("settings.title")), Language: p.Language, TimeZone: p.TimeZone,
		Zones: zonesWith(p.TimeZone), Saved: r.URL.Query().Get("saved") == "1", LangNames: i18n.Langs}
	return u.render(w, http.StatusOK, "settings", v)
}

func zonesWith(z string) []string {
	if z == "" || slices.Contains(commonZones, z) {
		return commonZones
	}
	return append([]string{z}, commonZones...)
}

func (u *UI) settingsSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	lang, zone := r.PostForm.Get("language"), r.PostForm.Get("time_zone")
	_, err := u.app.SetPrefs(r.Context(), rq.actor, app.PrefsChange{Language: &lang, TimeZone: &zone})
	var fe *core.FieldError
	if errors.As(err, &fe) {
		v := settingsView{base: u.base(r, rq, "settings", rq.tr.T("settings.title")), Language: lang, TimeZone: zone,
			Zones: commonZones, LangNames: i18n.Langs, ErrorFld: fe.Field, Error: rq.tr.T("settings.invalid_language")}
		if fe.Field == "time_zone" {
			v.Error = rq.tr.T("settings.invalid_time_zone")
		}
		return u.render(w, http.StatusUnprocessableEntity, "settings", v)
	}
	if err != nil {
		return err
	}
	// The browser's cookie follows the saved choice, so "follow the
	// browser" really does.
	c := &http.Cookie{Name: langCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode}
	if l, ok := i18n.Parse(lang); ok {
		c.Value, c.MaxAge = string(l), 365*24*3600
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, "/settings?saved=1", http.StatusSeeOther)
	return nil
}

// parseLocalTime reads a datetime-local field in the user's zone.
func parseLocalTime(v string, loc *time.Location) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return &t, nil
		}
	}
	return nil, fmt.Errorf("not a date and time: %q", v)
}
