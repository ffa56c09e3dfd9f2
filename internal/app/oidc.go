package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// OIDCConfig configures sign-in through an OpenID Connect provider.
type OIDCConfig struct {
	// Client is the provider; nil leaves OpenID Connect off.
	Client *auth.OIDC
	// RoleMap gives the role of each group; a user in several groups gets
	// the highest of their roles, one in none is refused.
	RoleMap []OIDCRole
}

// OIDCRole maps a group of the provider to an irdesk role.
type OIDCRole struct {
	Group string
	Role  core.Role
}

// ParseOIDCRoleMap reads "soc-leads=lead,soc=analyst,all-staff=reporter".
func ParseOIDCRoleMap(s string) ([]OIDCRole, error) {
	var out []OIDCRole
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		g, r, ok := strings.Cut(pair, "=")
		g, r = strings.TrimSpace(g), strings.TrimSpace(r)
		role := core.Role(r)
		if !ok || g == "" || !role.Valid() {
			return nil, fmt.Errorf("%q: want group=role with a role of admin, lead, analyst, reporter or viewer", pair)
		}
		out = append(out, OIDCRole{Group: g, Role: role})
	}
	if len(out) == 0 {
		return nil, errors.New("no group=role pairs: nobody could sign in")
	}
	return out, nil
}

// roleRank orders roles by what they may do.
var roleRank = map[core.Role]int{core.RoleViewer: 1, core.RoleReporter: 2, core.RoleAnalyst: 3, core.RoleLead: 4, core.RoleAdmin: 5}

func (app *App) oidcRole(groups []string) (core.Role, bool) {
	var best core.Role
	for _, m := range app.cfg.OIDC.RoleMap {
		for _, g := range groups {
			if g == m.Group && roleRank[m.Role] > roleRank[best] {
				best = m.Role
			}
		}
	}
	return best, best != ""
}

// OIDCEnabled reports whether OpenID Connect sign-in is configured.
func (app *App) OIDCEnabled() bool { return app.cfg.OIDC.Client != nil }

// BeginOIDC starts a sign-in; see auth.OIDC.Begin.
func (app *App) BeginOIDC() (authURL, cookie string, err error) {
	if app.cfg.OIDC.Client == nil {
		return "", "", fmt.Errorf("OpenID Connect sign-in: %w", core.ErrNotFound)
	}
	return app.cfg.OIDC.Client.Begin()
}

// ErrOIDCRefused is a sign-in through the provider that irdesk refuses:
// a disabled user, or one whose groups give no role.
var ErrOIDCRefused = errors.New("sign-in refused")

// FinishOIDC completes a sign-in through the provider and opens a session
// as the password sign-in does. The user is found by the issuer and
// subject of the ID token, or created at the first sign-in; the role comes
// from the group claim at every sign-in, so a change in the directory
// takes effect at the next one. A user disabled in irdesk is refused,
// whatever the provider says. Refusals are audited.
func (app *App) FinishOIDC(ctx context.Context, cookie, state, code string) (secret string, sess store.Session, u core.User, err error) {
	if app.cfg.OIDC.Client == nil {
		return "", store.Session{}, core.User{}, fmt.Errorf("OpenID Connect sign-in: %w", core.ErrNotFound)
	}
	id, err := app.cfg.OIDC.Client.Finish(ctx, cookie, state, code)
	if err != nil {
		app.log.Info("OpenID Connect sign-in refused", "reason", err.Error())
		return "", store.Session{}, core.User{}, fmt.Errorf("%w: %v", core.ErrUnauthenticated, err)
	}
	refuse := func(reason string, user string) error {
		_ = app.store.InTx(ctx, func(tx *store.Tx) error {
			return appendEvent(ctx, tx, SystemActor, core.EvLoginOIDCRefused, 0, map[string]any{"issuer": id.Issuer, "subject": id.Subject,
				"user": user, "reason": reason})
		})
		return fmt.Errorf("%w: %w: %s", core.ErrForbidden, ErrOIDCRefused, reason)
	}
	role, ok := app.oidcRole(id.Groups)
	existing, err := app.store.UserByOIDC(ctx, id.Issuer, id.Subject)
	found := err == nil
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return "", store.Session{}, core.User{}, err
	}
	if found && existing.Disabled {
		return "", store.Session{}, core.User{}, refuse("the user is disabled in irdesk", existing.Name)
	}
	if !ok {
		return "", store.Session{}, core.User{}, refuse("none of the user's groups is given a role (--oidc-role-map)", existing.Name)
	}
	secret, err = auth.NewSecret(auth.SessionPrefix)
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	csrf, err := auth.NewSecret("")
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	names := oidcNames(id)
	var disabled bool
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		disabled = false
		u, err = tx.UserByOIDC(ctx, id.Issuer, id.Subject)
		created := false
		switch {
		case errors.Is(err, core.ErrNotFound):
			u = core.User{DisplayName: id.Name, Email: id.Email, Role: role, CreatedAt: tx.Now()}
			if err := app.createOIDCUser(ctx, tx, &u, names); err != nil {
				return err
			}
			if err := tx.LinkOIDC(ctx, u.ID, id.Issuer, id.Subject); err != nil {
				return err
			}
			created = true
			if err := appendEvent(ctx, tx, SystemActor, core.EvUserCreated, 0, map[string]any{"user": u.Name, "role": u.Role,
				"via": "oidc", "issuer": id.Issuer, "subject": id.Subject}); err != nil {
				return err
			}
		case err != nil:
			return err
		case u.Disabled:
			disabled = true
			return nil
		}
		before := u.Role
		if u.Role != role {
			if err := tx.SetUserRole(ctx, u.ID, role); err != nil {
				return err
			}
			u.Role = role
		}
		sess = store.Session{UserID: u.ID, CSRFToken: csrf, ExpiresAt: tx.Now().Add(app.cfg.SessionTTL)}
		if _, err := tx.DeleteExpiredSessions(ctx); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &sess, auth.HashSecret(secret)); err != nil {
			return err
		}
		payload := map[string]any{"session_id": sess.ID, "issuer": id.Issuer, "subject": id.Subject, "role": role, "created": created}
		if before != role && !created {
			payload["role_before"] = before
		}
		return appendEvent(ctx, tx, Actor{User: u}, core.EvLoginOIDC, 0, payload)
	})
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	if disabled {
		return "", store.Session{}, core.User{}, refuse("the user is disabled in irdesk", u.Name)
	}
	return secret, sess, u, nil
}

var nameChars = regexp.MustCompile(`[^a-z0-9._@-]+`)

// oidcNames are the user names to try for a new user, best first: the
// provider's preferred user name, the e-mail address, then one from the
// subject, which is unique.
func oidcNames(id auth.Identity) []string {
	var out []string
	for _, c := range []string{id.PreferredUsername, id.Email} {
		n := strings.Trim(nameChars.ReplaceAllString(strings.ToLower(strings.TrimSpace(c)), "-"), "-._@")
		if len(n) > 64 {
			n = n[:64]
		}
		if userNameRe.MatchString(n) {
			out = append(out, n)
		}
	}
	sub := strings.Trim(nameChars.ReplaceAllString(strings.ToLower(id.Subject), "-"), "-._@")
	if len(sub) > 54 {
		sub = sub[:54]
	}
	return append(out, "oidc-"+sub)
}

// createOIDCUser creates the user under the first free name. A local
// account that has a wanted name is never taken over: the new user gets
// another name.
func (app *App) createOIDCUser(ctx context.Context, tx *store.Tx, u *core.User, names []string) error {
	for _, n := range names {
		for i := 0; i < 5; i++ {
			name := n
			if i > 0 {
				name = fmt.Sprintf("%s-%d", n, i+1)
			}
			if !userNameRe.MatchString(name) {
				continue
			}
			if _, err := tx.UserByName(ctx, name); err == nil {
				continue
			} else if !errors.Is(err, core.ErrNotFound) {
				return err
			}
			u.Name = name
			return tx.CreateUser(ctx, u, "")
		}
	}
	return core.Conflict("no free user name for this OpenID Connect user")
}
