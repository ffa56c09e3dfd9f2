package ui

import (
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"

	"rsc.io/qr"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// Two-step sign-in on the settings page: enrol with a QR code, confirm
// with a first code, keep the recovery codes shown once, switch off with
// a code.

type totpSetupView struct {
	base
	// Secret is the base32 secret in groups of four, for typing into an
	// app that cannot scan.
	Secret string
	QR     template.HTML
	Error  string
}

type totpCodesView struct {
	base
	Codes []string
}

func (u *UI) totpBegin(w http.ResponseWriter, r *http.Request, rq *request) error {
	if _, err := u.app.BeginTOTP(r.Context(), rq.actor); err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/totp", http.StatusSeeOther)
	return nil
}

func (u *UI) totpSetupPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.renderTOTPSetup(w, r, rq, http.StatusOK, "")
}

func (u *UI) renderTOTPSetup(w http.ResponseWriter, r *http.Request, rq *request, status int, msg string) error {
	enr, err := u.app.PendingTOTP(r.Context(), rq.actor)
	if errors.Is(err, core.ErrNotFound) {
		// Nothing pending (never started, or on already): the settings
		// page says which.
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	svg, err := qrSVG(enr.URI, rq.tr.T("totp.qr_label"))
	if err != nil {
		return err
	}
	v := totpSetupView{base: u.base(r, rq, "settings", rq.tr.T("totp.setup_title")), Secret: groupsOf4(enr.Secret), QR: svg, Error: msg}
	return u.render(w, status, "totp_setup", v)
}

func (u *UI) totpConfirm(w http.ResponseWriter, r *http.Request, rq *request) error {
	codes, err := u.app.ConfirmTOTP(r.Context(), rq.actor, r.PostForm.Get("code"))
	var fe *core.FieldError
	if errors.As(err, &fe) {
		return u.renderTOTPSetup(w, r, rq, http.StatusUnprocessableEntity, rq.tr.T("totp.wrong_code"))
	}
	if err != nil {
		return err
	}
	// Shown in this answer only: they are stored hashed.
	return u.render(w, http.StatusOK, "totp_codes", totpCodesView{base: u.base(r, rq, "settings", rq.tr.T("totp.codes_title")), Codes: codes})
}

func (u *UI) totpDisable(w http.ResponseWriter, r *http.Request, rq *request) error {
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	err := u.app.DisableTOTP(r.Context(), rq.actor, r.PostForm.Get("code"), client)
	var fe *core.FieldError
	switch {
	case errors.As(err, &fe):
		return u.renderSettings(w, r, rq, http.StatusUnprocessableEntity, settingsView{TOTPError: rq.tr.T("totp.wrong_code")})
	case errors.Is(err, app.ErrTooManyAttempts):
		w.Header().Set("Retry-After", "900")
		return u.renderSettings(w, r, rq, http.StatusTooManyRequests, settingsView{TOTPError: rq.tr.T("login.too_many")})
	case err != nil:
		return err
	}
	http.Redirect(w, r, "/settings?totp=off", http.StatusSeeOther)
	return nil
}

// groupsOf4 spaces a secret as apps show it: "ABCD EFGH ...".
func groupsOf4(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// qrSVG draws text as a QR code in SVG, inline in the page: no image
// request, nothing the CSP has to allow. rsc.io/qr does the encoding;
// each row's runs of dark modules become one path, with the quiet zone
// of four modules the standard asks for around it. The markup is built
// from integers and the escaped label only, so it is safe to mark as HTML.
func qrSVG(text, label string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("QR code: %w", err)
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var path strings.Builder
	for y := range code.Size {
		for x := 0; x < code.Size; {
			if !code.Black(x, y) {
				x++
				continue
			}
			run := 0
			for x+run < code.Size && code.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+quiet, y+quiet, run, run)
			x += run
		}
	}
	return template.HTML(fmt.Sprintf(`<svg class="qr" id="totp-qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="%s">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`, n, n, template.HTMLEscapeString(label), n, n, path.String())), nil
}
