package ui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
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
	start, err := u.app.BeginLogin(r.Context(), name, password, client)
	if err != nil {
		return u.loginFailed(w, r, rq, "login", loginView{Next: next, Name: name}, err)
	}
	if start.Pending != "" {
		// The password was right; the code comes next. The cookie opens
		// nothing by itself: only the code page reads it.
		http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: start.Pending, Path: "/login", Expires: start.PendingExpires,
			HttpOnly: true, Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteStrictMode})
		to := "/login/code"
		if ok {
			to += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	return u.signedIn(w, r, start.Secret, start.Session.ExpiresAt, start.User, next, ok)
}

// loginFailed shows a sign-in form again with what went wrong.
func (u *UI) loginFailed(w http.ResponseWriter, r *http.Request, rq *request, page string, v loginView, err error) error {
	v.base = u.base(r, rq, "login", rq.tr.T("login.title"))
	status := http.StatusUnauthorized
	switch {
	case errors.Is(err, app.ErrTooManyAttempts):
		w.Header().Set("Retry-After", "900")
		status, v.Error = http.StatusTooManyRequests, rq.tr.T("login.too_many")
	case errors.Is(err, core.ErrUnauthenticated) && page == "login_code":
		v.Error = rq.tr.T("login.code_failed")
	case errors.Is(err, core.ErrUnauthenticated):
		v.Error = rq.tr.T("login.failed")
	default:
		return err
	}
	return u.render(w, status, page, v)
}

// signedIn sets the session cookie and sends the browser on.
func (u *UI) signedIn(w http.ResponseWriter, r *http.Request, secret string, expires time.Time, usr core.User, next string, ok bool) error {
	http.SetCookie(w, &http.Cookie{
		Name: u.opts.SessionCookie, Value: secret, Path: "/", Expires: expires,
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

// pendingCookie holds the signed token between the password and the
// code of a two-step sign-in.
const pendingCookie = "irdesk_login_pending"

func (u *UI) clearPending(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true,
		Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// loginCodePage asks for the authenticator code; without a pending
// sign-in it starts over at the password.
func (u *UI) loginCodePage(w http.ResponseWriter, r *http.Request) error {
	next, _ := localPath(r.URL.Query().Get("next"))
	if c, err := r.Cookie(pendingCookie); err != nil || c.Value == "" {
		to := "/login"
		if next != "" {
			to += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	rq := u.anonymous(w, r)
	return u.render(w, http.StatusOK, "login_code", loginView{base: u.base(r, rq, "login", rq.tr.T("login.title")), Next: next})
}

func (u *UI) loginCodeSubmit(w http.ResponseWriter, r *http.Request) error {
	rq := u.anonymous(nil, r)
	if err := u.checkForm(w, r, rq.csrf); err != nil {
		return err
	}
	next, ok := localPath(r.PostForm.Get("next"))
	pending := ""
	if c, err := r.Cookie(pendingCookie); err == nil {
		pending = c.Value
	}
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	secret, sess, usr, err := u.app.FinishLogin(r.Context(), pending, r.PostForm.Get("code"), client)
	if err != nil {
		return u.loginFailed(w, r, rq, "login_code", loginView{Next: next}, err)
	}
	u.clearPending(w, r)
	return u.signedIn(w, r, secret, sess.ExpiresAt, usr, next, ok)
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
	// TOTP is the user's two-step sign-in; TOTPOff says it was just
	// switched off, TOTPError why switching it off failed.
	TOTP      app.TOTPState
	TOTPOff   bool
	TOTPError string
	// PasswordError says why a password change was refused.
	PasswordError string
}

// commonZones are offered in the picker; any IANA name may be typed.
var commonZones = []string{"Asia/Tokyo", "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata",
	"Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Los_Angeles",
	"Australia/Sydney"}

func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	return u.renderSettings(w, r, rq, http.StatusOK, settingsView{Saved: q.Get("saved") == "1", TOTPOff: q.Get("totp") == "off"})
}

// renderSettings shows the settings page with the saved preferences and
// the two-step sign-in state; v carries the notices.
func (u *UI) renderSettings(w http.ResponseWriter, r *http.Request, rq *request, status int, v settingsView) error {
	p, err := u.app.PrefsFor(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	if v.TOTP, err = u.app.TOTPStatus(r.Context(), rq.actor); err != nil {
		return err
	}
	v.base = u.base(r, rq, "settings", rq.tr.T("settings.title"))
	v.Language, v.TimeZone, v.Zones, v.LangNames = p.Language, p.TimeZone, zonesWith(p.TimeZone), i18n.Langs
	return u.render(w, status, "settings", v)
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
		if v.TOTP, err = u.app.TOTPStatus(r.Context(), rq.actor); err != nil {
			return err
		}
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

// passwordSubmit changes the user's password. Every session of the user
// ends with it, this one included, so the browser goes to sign in again.
func (u *UI) passwordSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	err := u.app.ChangePassword(r.Context(), rq.actor, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), client)
	var fe *core.FieldError
	switch {
	case errors.As(err, &fe):
		msg := rq.tr.T("password.wrong_current")
		if fe.Field == "new_password" {
			msg = rq.tr.T("password.weak", auth.MinPasswordLen)
		}
		return u.renderSettings(w, r, rq, http.StatusUnprocessableEntity, settingsView{PasswordError: msg})
	case errors.Is(err, app.ErrTooManyAttempts):
		return u.renderSettings(w, r, rq, http.StatusTooManyRequests, settingsView{PasswordError: rq.tr.T("password.throttled")})
	case err != nil:
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: u.opts.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: u.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
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
