package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

var userNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// NewUser is what it takes to add a user.
type NewUser struct {
	Name        string
	DisplayName string
	Email       string
	Role        core.Role
	Password    string // empty: a random one is made and returned
}

// CreateUser adds a user (admins only) and returns it with the password
// that was set, which is shown once.
func (app *App) CreateUser(ctx context.Context, a Actor, in NewUser) (core.User, string, error) {
	if !a.System && a.User.Role != core.RoleAdmin {
		return core.User{}, "", forbidden("only admins add users")
	}
	in.Name = strings.ToLower(strings.TrimSpace(in.Name))
	if !userNameRe.MatchString(in.Name) {
		return core.User{}, "", core.Invalid("name", "use 1 to 64 lower-case letters, digits, '.', '_', '-' or '@', starting with a letter or digit")
	}
	if !in.Role.Valid() {
		return core.User{}, "", core.Invalid("role", "unknown role %q (admin, lead, analyst, reporter, viewer)", in.Role)
	}
	if utf8.RuneCountInString(in.DisplayName) > core.MaxShortLen {
		return core.User{}, "", core.Invalid("display_name", "is longer than %d characters", core.MaxShortLen)
	}
	if utf8.RuneCountInString(in.Email) > core.MaxShortLen {
		return core.User{}, "", core.Invalid("email", "is longer than %d characters", core.MaxShortLen)
	}
	password := in.Password
	if password == "" {
		var err error
		if password, err = auth.NewPassword(); err != nil {
			return core.User{}, "", err
		}
	} else if len([]rune(password)) < auth.MinPasswordLen {
		return core.User{}, "", core.Invalid("password", "must have at least %d characters", auth.MinPasswordLen)
	}
	var hash string
	var hashErr error
	if err := app.hashing(ctx, func() { hash, hashErr = auth.HashPassword(password, app.cfg.PasswordParams) }); err != nil {
		return core.User{}, "", err
	}
	if hashErr != nil {
		return core.User{}, "", hashErr
	}
	u := core.User{Name: in.Name, DisplayName: in.DisplayName, Email: in.Email, Role: in.Role}
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		u.CreatedAt = tx.Now()
		if err := tx.CreateUser(ctx, &u, hash); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvUserCreated, 0, map[string]any{"user": u.Name, "role": u.Role})
	})
	if err != nil {
		return core.User{}, "", err
	}
	return u, password, nil
}

// EnsureAdmin creates the user admin with a random password when there are
// no users at all, so a fresh install can be signed into. It returns the
// password, or "" when users already existed.
func (app *App) EnsureAdmin(ctx context.Context) (string, error) {
	n, err := app.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	_, pw, err := app.CreateUser(ctx, SystemActor, NewUser{Name: "admin", DisplayName: "Administrator", Role: core.RoleAdmin})
	if errors.Is(err, core.ErrConflict) {
		return "", nil // another process won the race
	}
	return pw, err
}

// ListUsers returns every user. Anyone who works incidents may see who
// can be assigned; reporters and viewers may not list the staff.
func (app *App) ListUsers(ctx context.Context, a Actor) ([]core.User, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not list users")
	}
	return app.store.ListUsers(ctx)
}

// SetUserDisabled disables (or re-enables) a user; their sessions end at once.
func (app *App) SetUserDisabled(ctx context.Context, a Actor, name string, disabled bool) error {
	if !a.System && a.User.Role != core.RoleAdmin {
		return forbidden("only admins disable users")
	}
	u, err := app.store.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if !a.System && u.ID == a.User.ID {
		return core.Conflict("you cannot disable yourself")
	}
	defer app.tokens.reset()
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetUserDisabled(ctx, u.ID, disabled); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvUserDisabled, 0, map[string]any{"user": u.Name, "disabled": disabled})
	})
}

// CreateToken issues an API token for a user and returns its secret, which
// is never stored and cannot be shown again. Users may create their own;
// admins (and the CLI) for anyone.
func (app *App) CreateToken(ctx context.Context, a Actor, userName, tokenName string, ttl time.Duration) (core.Token, string, error) {
	// Permission first, by name: the answer must not tell whether a user exists.
	if !a.System && a.User.Role != core.RoleAdmin && userName != a.User.Name {
		return core.Token{}, "", forbidden("you may only create tokens for yourself")
	}
	u, err := app.store.UserByName(ctx, userName)
	if err != nil {
		return core.Token{}, "", err
	}
	if u.Disabled {
		return core.Token{}, "", core.Conflict("user %q is disabled", u.Name)
	}
	tokenName = strings.TrimSpace(tokenName)
	if tokenName == "" {
		tokenName = "api"
	}
	if len(tokenName) > 100 {
		return core.Token{}, "", core.Invalid("name", "is longer than 100 characters")
	}
	if ttl < 0 {
		return core.Token{}, "", core.Invalid("ttl", "must not be negative")
	}
	secret, err := auth.NewSecret(auth.TokenPrefix)
	if err != nil {
		return core.Token{}, "", err
	}
	t := core.Token{UserID: u.ID, User: u.Name, Name: tokenName}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		t.CreatedAt = tx.Now()
		if ttl > 0 {
			exp := tx.Now().Add(ttl)
			t.ExpiresAt = &exp
		}
		if err := tx.CreateToken(ctx, &t, auth.HashSecret(secret)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTokenCreated, 0, map[string]any{"token_id": t.ID, "user": u.Name, "name": t.Name})
	})
	if err != nil {
		return core.Token{}, "", err
	}
	return t, secret, nil
}

// RevokeToken ends a token at once.
func (app *App) RevokeToken(ctx context.Context, a Actor, tokenID int64) error {
	if !a.System && a.User.Role != core.RoleAdmin {
		tokens, err := app.store.ListTokens(ctx, a.User.ID)
		if err != nil {
			return err
		}
		owns := false
		for _, t := range tokens {
			owns = owns || t.ID == tokenID
		}
		if !owns {
			return fmt.Errorf("token %d: %w", tokenID, core.ErrNotFound)
		}
	}
	defer app.tokens.reset()
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeToken(ctx, tokenID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTokenRevoked, 0, map[string]any{"token_id": tokenID})
	})
}

// ListTokens lists a user's tokens (all tokens for admins and the CLI when
// userName is empty). Secrets are never included.
func (app *App) ListTokens(ctx context.Context, a Actor, userName string) ([]core.Token, error) {
	if !a.System && a.User.Role != core.RoleAdmin {
		if userName != "" && userName != a.User.Name {
			return nil, forbidden("you may only list your own tokens")
		}
		return app.store.ListTokens(ctx, a.User.ID)
	}
	var userID int64
	if userName != "" {
		u, err := app.store.UserByName(ctx, userName)
		if err != nil {
			return nil, err
		}
		userID = u.ID
	}
	return app.store.ListTokens(ctx, userID)
}

// AuthenticateToken resolves an API token secret to its user.
func (app *App) AuthenticateToken(ctx context.Context, secret string) (Actor, error) {
	hash := auth.HashSecret(secret)
	now := app.now()
	if a, ok := app.tokens.get(hash, now); ok {
		return a, nil
	}
	gen := app.tokens.generation()
	t, u, err := app.store.TokenUserByHash(ctx, hash)
	if errors.Is(err, core.ErrNotFound) {
		return Actor{}, fmt.Errorf("%w: unknown token", core.ErrUnauthenticated)
	}
	if err != nil {
		return Actor{}, err
	}
	if t.RevokedAt != nil || t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return Actor{}, fmt.Errorf("%w: token revoked or expired", core.ErrUnauthenticated)
	}
	if u.Disabled {
		return Actor{}, fmt.Errorf("%w: user disabled", core.ErrUnauthenticated)
	}
	app.touchToken(ctx, t.ID, now)
	a := Actor{User: u, TokenID: t.ID}
	app.tokens.put(gen, hash, a, now, t.ExpiresAt)
	return a, nil
}

func (app *App) touchToken(ctx context.Context, tokenID int64, now time.Time) {
	app.tokenUseMu.Lock()
	last, seen := app.tokenUse[tokenID]
	due := !seen || now.Sub(last) >= touchEvery
	if due {
		app.tokenUse[tokenID] = now
	}
	app.tokenUseMu.Unlock()
	if !due {
		return
	}
	if err := app.store.InTx(ctx, func(tx *store.Tx) error { return tx.TouchToken(ctx, tokenID) }); err != nil {
		app.log.Warn("record token use", "token_id", tokenID, "err", err)
	}
}

// ErrTooManyAttempts refuses a sign-in after too many failures.
var ErrTooManyAttempts = errors.New("too many failed sign-ins; wait and try again")

// Login checks a password and opens a session. It returns the session
// secret (for the cookie) and its CSRF token. Failures say only that the
// name or password is wrong, and are audited. A user with two-step
// sign-in gets ErrTOTPRequired: see LoginWithCode and BeginLogin.
func (app *App) Login(ctx context.Context, name, password, client string) (secret string, sess store.Session, u core.User, err error) {
	return app.LoginWithCode(ctx, name, password, "", client)
}

// checkPassword is the first step of every password sign-in: the
// throttle, the hash and the audit of a failure. It does not clear the
// throttle on success; openSession does, once every step has passed, so a
// known password cannot be used to reset the count of wrong codes.
func (app *App) checkPassword(ctx context.Context, name, password, client string) (core.User, error) {
	fail := fmt.Errorf("%w: wrong user name or password", core.ErrUnauthenticated)
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) > 200 || len(password) > 1024 {
		return core.User{}, fail
	}
	throttle := throttleKey(name, client)
	if app.logins.blocked(throttle, app.now()) {
		return core.User{}, ErrTooManyAttempts
	}
	u, err := app.store.UserByName(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return core.User{}, err
	}
	hash := ""
	if known {
		if hash, err = app.store.PasswordHash(ctx, u.ID); err != nil {
			return core.User{}, err
		}
	}
	// Every attempt costs one hash and one audit write, whether the user
	// exists, is disabled or has no password, so timing tells nothing.
	usable := known && !u.Disabled && hash != ""
	if !usable {
		hash = app.dummyHash
	}
	var checkErr error
	if err := app.hashing(ctx, func() { checkErr = auth.CheckPassword(password, hash) }); err != nil {
		return core.User{}, err
	}
	if !usable || checkErr != nil {
		app.logins.fail(throttle, app.now())
		_ = app.store.InTx(ctx, func(tx *store.Tx) error {
			return appendEvent(ctx, tx, SystemActor, core.EvLoginFailed, 0, map[string]any{"user": name, "known": known})
		})
		return core.User{}, fail
	}
	return u, nil
}

// openSession signs a user in whose every step has passed, and clears
// their throttle.
func (app *App) openSession(ctx context.Context, u core.User, client string, method string) (secret string, sess store.Session, _ core.User, err error) {
	app.logins.succeed(throttleKey(u.Name, client))
	secret, err = auth.NewSecret(auth.SessionPrefix)
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	csrf, err := auth.NewSecret("")
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	sess = store.Session{UserID: u.ID, CSRFToken: csrf}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		sess.ExpiresAt = tx.Now().Add(app.cfg.SessionTTL)
		if _, err := tx.DeleteExpiredSessions(ctx); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &sess, auth.HashSecret(secret)); err != nil {
			return err
		}
		payload := map[string]any{"session_id": sess.ID}
		if method != "" {
			payload["second_factor"] = method
		}
		return appendEvent(ctx, tx, Actor{User: u}, core.EvLogin, 0, payload)
	})
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	return secret, sess, u, nil
}

// AuthenticateSession resolves a session cookie to its user.
func (app *App) AuthenticateSession(ctx context.Context, secret string) (Actor, store.Session, error) {
	sess, err := app.store.SessionByHash(ctx, auth.HashSecret(secret), app.now())
	if errors.Is(err, core.ErrNotFound) {
		return Actor{}, store.Session{}, fmt.Errorf("%w: session expired", core.ErrUnauthenticated)
	}
	if err != nil {
		return Actor{}, store.Session{}, err
	}
	u, err := app.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return Actor{}, store.Session{}, err
	}
	if u.Disabled {
		return Actor{}, store.Session{}, fmt.Errorf("%w: user disabled", core.ErrUnauthenticated)
	}
	return Actor{User: u}, sess, nil
}

// Logout ends a session.
func (app *App) Logout(ctx context.Context, a Actor, secret string) error {
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, auth.HashSecret(secret)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvLogout, 0, map[string]any{})
	})
}
