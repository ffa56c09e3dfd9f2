package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// /admin: users and API tokens, for admins. Every action is authorised
// and audited again in package app; the pages only offer them.

// IsAdmin reports whether the user administers the desk (users, tokens).
func (b base) IsAdmin() bool { return b.User != nil && b.User.Role == core.RoleAdmin }

type adminUsersView struct {
	base
	Users []app.AdminUser
	Roles []core.Role
	// Created and Password are the user just added and the password made
	// for them, shown this once.
	Created  *core.User
	Password string
	Notice   string
	Error    string
	// Form keeps what was typed when adding failed.
	Form url.Values
}

func (u *UI) adminUsersPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	v := adminUsersView{}
	if msg := r.URL.Query().Get("done"); msg != "" && adminNotices[msg] != "" {
		v.Notice = rq.tr.T(adminNotices[msg])
	}
	return u.renderAdminUsers(w, r, rq, http.StatusOK, v)
}

// adminNotices are the confirmations after a redirect, by ?done=.
var adminNotices = map[string]string{
	"disabled": "admin.notice_disabled", "enabled": "admin.notice_enabled",
	"role": "admin.notice_role", "totp": "admin.notice_totp", "revoked": "admin.notice_revoked",
}

func (u *UI) renderAdminUsers(w http.ResponseWriter, r *http.Request, rq *request, status int, v adminUsersView) error {
	users, err := u.app.AdminUsers(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	v.base = u.base(r, rq, "admin", rq.tr.T("admin.users_title"))
	v.Users, v.Roles = users, core.Roles
	if v.Form == nil {
		v.Form = url.Values{"role": {string(core.RoleReporter)}}
	}
	return u.render(w, status, "admin_users", v)
}

func (u *UI) adminCreateUser(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := r.PostForm
	in := app.NewUser{Name: f.Get("name"), DisplayName: strings.TrimSpace(f.Get("display_name")), Email: strings.TrimSpace(f.Get("email")),
		Role: core.Role(f.Get("role")), Password: f.Get("password")}
	usr, pw, err := u.app.CreateUser(r.Context(), rq.actor, in)
	var fe *core.FieldError
	switch {
	case errors.As(err, &fe):
		return u.renderAdminUsers(w, r, rq, http.StatusUnprocessableEntity, adminUsersView{Error: rq.tr.T("admin.invalid_field", fe.Field, fe.Message), Form: f})
	case errors.Is(err, core.ErrConflict):
		return u.renderAdminUsers(w, r, rq, http.StatusConflict, adminUsersView{Error: rq.tr.T("admin.user_exists", in.Name), Form: f})
	case err != nil:
		return err
	}
	v := adminUsersView{Created: &usr}
	if in.Password == "" {
		v.Password = pw
	}
	return u.renderAdminUsers(w, r, rq, http.StatusCreated, v)
}

// adminUserAction answers the per-user buttons: disable, enable, role,
// reset of two-step sign-in.
func (u *UI) adminUserAction(action string) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		name := r.PathValue("name")
		var err error
		done := action
		switch action {
		case "disable":
			err, done = u.app.SetUserDisabled(r.Context(), rq.actor, name, true), "disabled"
		case "enable":
			err, done = u.app.SetUserDisabled(r.Context(), rq.actor, name, false), "enabled"
		case "role":
			err = u.app.ChangeUserRole(r.Context(), rq.actor, name, core.Role(r.PostForm.Get("role")))
		case "totp":
			err = u.app.ResetTOTP(r.Context(), rq.actor, name)
		default:
			return fmt.Errorf("unknown user action %q", action)
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/admin?done="+done, http.StatusSeeOther)
		return nil
	}
}

type adminTokensView struct {
	base
	Tokens []core.Token
	Users  []app.AdminUser
	// Created and Secret are the token just issued, its secret shown
	// this once.
	Created *core.Token
	Secret  string
	Notice  string
	Error   string
	Form    url.Values
	Now     time.Time
}

// Expired reports whether a token's time has run out.
func (v adminTokensView) Expired(t core.Token) bool {
	return t.ExpiresAt != nil && !v.Now.Before(*t.ExpiresAt)
}

func (u *UI) adminTokensPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	v := adminTokensView{}
	if r.URL.Query().Get("done") == "revoked" {
		v.Notice = rq.tr.T("admin.notice_revoked")
	}
	return u.renderAdminTokens(w, r, rq, http.StatusOK, v)
}

func (u *UI) renderAdminTokens(w http.ResponseWriter, r *http.Request, rq *request, status int, v adminTokensView) error {
	users, err := u.app.AdminUsers(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	tokens, err := u.app.ListTokens(r.Context(), rq.actor, "")
	if err != nil {
		return err
	}
	// Newest first: the one just made, or just revoked, is at the top.
	for i, j := 0, len(tokens)-1; i < j; i, j = i+1, j-1 {
		tokens[i], tokens[j] = tokens[j], tokens[i]
	}
	v.base = u.base(r, rq, "admin", rq.tr.T("admin.tokens_title"))
	v.Tokens, v.Users, v.Now = tokens, users, time.Now()
	if v.Form == nil {
		v.Form = url.Values{"user": {rq.actor.User.Name}}
	}
	return u.render(w, status, "admin_tokens", v)
}

// tokenTTLs are the lifetimes offered, in days; 0 is no expiry.
var tokenTTLs = map[string]time.Duration{"": 0, "0": 0, "30": 30 * 24 * time.Hour, "90": 90 * 24 * time.Hour, "365": 365 * 24 * time.Hour}

func (u *UI) adminCreateToken(w http.ResponseWriter, r *http.Request, rq *request) error {
	// Only admins come here: the page is theirs, though any user may make
	// tokens of their own through the API.
	if rq.actor.User.Role != core.RoleAdmin {
		return forbiddenf("only admins manage tokens here")
	}
	f := r.PostForm
	ttl, ok := tokenTTLs[f.Get("ttl")]
	if !ok {
		return u.renderAdminTokens(w, r, rq, http.StatusUnprocessableEntity, adminTokensView{Error: rq.tr.T("admin.invalid_field", "ttl", ""), Form: f})
	}
	t, secret, err := u.app.CreateToken(r.Context(), rq.actor, f.Get("user"), f.Get("name"), ttl)
	var fe *core.FieldError
	switch {
	case errors.As(err, &fe):
		return u.renderAdminTokens(w, r, rq, http.StatusUnprocessableEntity, adminTokensView{Error: rq.tr.T("admin.invalid_field", fe.Field, fe.Message), Form: f})
	case err != nil:
		return err
	}
	return u.renderAdminTokens(w, r, rq, http.StatusCreated, adminTokensView{Created: &t, Secret: secret})
}

func (u *UI) adminRevokeToken(w http.ResponseWriter, r *http.Request, rq *request) error {
	if rq.actor.User.Role != core.RoleAdmin {
		return forbiddenf("only admins manage tokens here")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return core.ErrNotFound
	}
	if err := u.app.RevokeToken(r.Context(), rq.actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/tokens?done=revoked", http.StatusSeeOther)
	return nil
}
