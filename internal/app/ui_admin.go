package app

import (
	"context"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// The few use cases the admin pages need beyond those of the API: the
// user list with each user's second factor, and changing a role.

// AdminUser is a user as the admin page lists them.
type AdminUser struct {
	core.User
	TOTP bool
}

// AdminUsers lists every user with whether they use two-step sign-in
// (admins only).
func (app *App) AdminUsers(ctx context.Context, a Actor) ([]AdminUser, error) {
	if !a.System && a.User.Role != core.RoleAdmin {
		return nil, forbidden("only admins manage users")
	}
	users, err := app.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	totp, err := app.store.TOTPUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AdminUser, len(users))
	for i, u := range users {
		out[i] = AdminUser{User: u, TOTP: totp[u.ID]}
	}
	return out, nil
}

// ChangeUserRole gives a user another role (admins only). An admin cannot
// change their own, so the desk is never left without one by mistake.
func (app *App) ChangeUserRole(ctx context.Context, a Actor, userName string, role core.Role) error {
	if !a.System && a.User.Role != core.RoleAdmin {
		return forbidden("only admins change roles")
	}
	if !role.Valid() {
		return core.Invalid("role", "unknown role %q (admin, lead, analyst, reporter, viewer)", role)
	}
	u, err := app.store.UserByName(ctx, userName)
	if err != nil {
		return err
	}
	if !a.System && u.ID == a.User.ID {
		return core.Conflict("you cannot change your own role")
	}
	if u.Role == role {
		return nil
	}
	// Cached token actors carry the old role.
	defer app.tokens.reset()
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ChangeUserRole(ctx, u.ID, role); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvUserRoleChanged, 0, map[string]any{"user": u.Name, "from": u.Role, "to": role})
	})
}
