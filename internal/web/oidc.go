package web

import (
	"net/http"
)

// oidcCookie holds the state, nonce and PKCE verifier of a sign-in in
// progress, signed; it lives only for the round trip to the provider.
const oidcCookie = "irdesk_oidc"

// oidcLogin sends the browser to the provider.
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) error {
	if !s.app.OIDCEnabled() {
		return &httpError{status: http.StatusNotFound, detail: "OpenID Connect sign-in is not configured on this server"}
	}
	authURL, cookie, err := s.app.BeginOIDC()
	if err != nil {
		return err
	}
	// Lax: the provider's redirect back is a top-level GET from another
	// site, which Lax lets through and Strict would not.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: cookie, Path: "/auth/oidc/", MaxAge: 600,
		HttpOnly: true, Secure: s.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

// oidcCallback is where the provider sends the browser back: it opens a
// session as the password sign-in does and goes to the desk.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	if !s.app.OIDCEnabled() {
		return &httpError{status: http.StatusNotFound, detail: "OpenID Connect sign-in is not configured on this server"}
	}
	// The flow cookie is spent whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		// The provider's own words are not echoed: they are the provider's
		// to show, and a crafted link could put anything there.
		return &httpError{status: http.StatusUnauthorized, detail: "the identity provider did not sign you in"}
	}
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return &httpError{status: http.StatusUnauthorized, detail: "no sign-in in progress in this browser; start again"}
	}
	secret, sess, _, err := s.app.FinishOIDC(r.Context(), c.Value, q.Get("state"), q.Get("code"))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
