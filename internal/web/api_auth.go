package web

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// TOTP is the current authenticator code, or a recovery code, of a
	// user with two-step sign-in.
	TOTP string `json:"totp"`
}

type meResponse struct {
	User      core.User `json:"user"`
	CSRFToken string    `json:"csrf_token,omitempty"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	// A cross-site form could otherwise sign a victim in as the attacker.
	if err := s.origin.Check(r); err != nil {
		return &httpError{status: http.StatusForbidden, detail: "cross-origin sign-in refused"}
	}
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	secret, sess, u, err := s.app.LoginWithCode(r.Context(), req.Name, req.Password, req.TOTP, client)
	if errors.Is(err, app.ErrTooManyAttempts) {
		w.Header().Set("Retry-After", "900")
		return &httpError{status: http.StatusTooManyRequests, detail: err.Error()}
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	return writeJSON(w, http.StatusOK, meResponse{User: u, CSRFToken: sess.CSRFToken})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.app.Logout(r.Context(), actorFrom(r), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	resp := meResponse{User: actorFrom(r).User}
	if sess, ok := r.Context().Value(ctxSession).(store.Session); ok {
		resp.CSRFToken = sess.CSRFToken
	}
	return writeJSON(w, http.StatusOK, resp)
}

// changePassword ends every session of the user, this one included: the
// client signs in again with the new password.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	err := s.app.ChangePassword(r.Context(), actorFrom(r), req.Current, req.New, client)
	if errors.Is(err, app.ErrTooManyAttempts) {
		w.Header().Set("Retry-After", "900")
		return &httpError{status: http.StatusTooManyRequests, detail: err.Error()}
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.app.ListUsers(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(users)})
}

type createUserRequest struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email"`
	Role        core.Role `json:"role"`
	Password    string    `json:"password"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, pw, err := s.app.CreateUser(r.Context(), actorFrom(r), app.NewUser{
		Name: req.Name, DisplayName: req.DisplayName, Email: req.Email, Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	resp := map[string]any{"user": u}
	if req.Password == "" {
		resp["password"] = pw
	}
	return writeJSON(w, http.StatusCreated, resp)
}

// setDisabled answers POST /users/{name}/disable and /enable.
func (s *Server) setDisabled(disabled bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.app.SetUserDisabled(r.Context(), actorFrom(r), r.PathValue("name"), disabled); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	tokens, err := s.app.ListTokens(r.Context(), actorFrom(r), r.URL.Query().Get("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(tokens)})
}

type createTokenRequest struct {
	Name string `json:"name"`
	User string `json:"user"`
	TTL  string `json:"ttl"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req createTokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a := actorFrom(r)
	if req.User == "" {
		req.User = a.User.Name
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return core.Invalid("ttl", "not a duration such as 720h")
		}
		ttl = d
	}
	t, secret, err := s.app.CreateToken(r.Context(), a, req.User, req.Name, ttl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return &httpError{status: http.StatusNotFound, detail: "no such token"}
	}
	if err := s.app.RevokeToken(r.Context(), actorFrom(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
