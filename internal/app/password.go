package app

import (
	"context"
	"errors"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// ChangePassword replaces the signed-in user's own password once the
// current one is given, through the same throttle and hash slots as a
// sign-in. Every session of the user ends, the one in use included, so a
// session stolen before the change is worth nothing after it; API tokens
// are separate credentials and are revoked on their own.
func (app *App) ChangePassword(ctx context.Context, a Actor, current, next, client string) error {
	if a.System || a.User.ID == 0 {
		return forbidden("only a signed-in user changes their own password")
	}
	if a.TokenID != 0 {
		return forbidden("change your password while signed in, not with an API token")
	}
	if len([]rune(next)) < auth.MinPasswordLen {
		return core.Invalid("new_password", "must have at least %d characters", auth.MinPasswordLen)
	}
	if len(next) > 1024 {
		return core.Invalid("new_password", "must have at most 1024 bytes")
	}
	if next == current {
		return core.Invalid("new_password", "must differ from the current password")
	}
	u, err := app.checkPassword(ctx, a.User.Name, current, client)
	if errors.Is(err, core.ErrUnauthenticated) {
		return core.Invalid("current_password", "is not your current password")
	}
	if err != nil {
		return err
	}
	var hash string
	var hashErr error
	if err := app.hashing(ctx, func() { hash, hashErr = auth.HashPassword(next, app.cfg.PasswordParams) }); err != nil {
		return err
	}
	if hashErr != nil {
		return hashErr
	}
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvPasswordChanged, 0, map[string]any{"user": u.Name})
	})
}

// ResetPassword sets a new password for a user who cannot change their own
// (forgotten, or an account handed over): admins, or the CLI on the
// database, which is how a desk whose only admin forgot theirs gets back
// in. An empty password makes a random one, which is returned to be shown
// once. Every session of the user ends.
func (app *App) ResetPassword(ctx context.Context, a Actor, userName, password string) (string, error) {
	if !a.System && a.User.Role != core.RoleAdmin {
		return "", forbidden("only admins reset passwords")
	}
	if password == "" {
		var err error
		if password, err = auth.NewPassword(); err != nil {
			return "", err
		}
	} else if len([]rune(password)) < auth.MinPasswordLen {
		return "", core.Invalid("password", "must have at least %d characters", auth.MinPasswordLen)
	} else if len(password) > 1024 {
		return "", core.Invalid("password", "must have at most 1024 bytes")
	}
	u, err := app.store.UserByName(ctx, userName)
	if err != nil {
		return "", err
	}
	var hash string
	var hashErr error
	if err := app.hashing(ctx, func() { hash, hashErr = auth.HashPassword(password, app.cfg.PasswordParams) }); err != nil {
		return "", err
	}
	if hashErr != nil {
		return "", hashErr
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvPasswordReset, 0, map[string]any{"user": u.Name})
	})
	if err != nil {
		return "", err
	}
	return password, nil
}
