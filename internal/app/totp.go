package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// Two-step sign-in: a password, then a TOTP code from an authenticator
// app (or one of ten one-time recovery codes). Between the two steps the
// browser holds a short-lived signed token, not a session: it opens
// nothing, and only the code turns it into a session.

// ErrTOTPRequired answers a correct password of a user with two-step
// sign-in when no code came with it.
var ErrTOTPRequired = fmt.Errorf("%w: this user signs in with a one-time code too; send it as totp", core.ErrUnauthenticated)

// PendingLoginTTL is how long the step between password and code lasts.
const PendingLoginTTL = 5 * time.Minute

// TOTPIssuer names irdesk in authenticator apps.
const TOTPIssuer = "irdesk"

// LoginStart is the outcome of the password step: a session when the user
// has no second factor, else a pending token for the code step.
type LoginStart struct {
	Secret  string
	Session store.Session
	User    core.User
	// Pending is set instead of a session: the signed token to hand back
	// with the code, valid until PendingExpires.
	Pending        string
	PendingExpires time.Time
}

// BeginLogin checks a password. A user without two-step sign-in is signed
// in at once; one with it gets a pending token for FinishLogin.
func (app *App) BeginLogin(ctx context.Context, name, password, client string) (LoginStart, error) {
	u, err := app.checkPassword(ctx, name, password, client)
	if err != nil {
		return LoginStart{}, err
	}
	on, err := app.totpOn(ctx, u.ID)
	if err != nil {
		return LoginStart{}, err
	}
	if !on {
		secret, sess, u, err := app.openSession(ctx, u, client, "")
		return LoginStart{Secret: secret, Session: sess, User: u}, err
	}
	exp := app.now().Add(PendingLoginTTL)
	token, err := app.signPending(ctx, u.ID, exp)
	if err != nil {
		return LoginStart{}, err
	}
	return LoginStart{User: u, Pending: token, PendingExpires: exp}, nil
}

// FinishLogin takes the pending token of BeginLogin and a TOTP or recovery
// code, and opens the session. A wrong code counts in the sign-in
// throttle like a wrong password.
func (app *App) FinishLogin(ctx context.Context, pending, code, client string) (secret string, sess store.Session, u core.User, err error) {
	userID, err := app.verifyPending(ctx, pending)
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	u, err = app.store.UserByID(ctx, userID)
	if errors.Is(err, core.ErrNotFound) || err == nil && u.Disabled {
		return "", store.Session{}, core.User{}, fmt.Errorf("%w: sign in again", core.ErrUnauthenticated)
	}
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	if app.logins.blocked(throttleKey(u.Name, client), app.now()) {
		return "", store.Session{}, core.User{}, ErrTooManyAttempts
	}
	method, err := app.checkSecondFactor(ctx, u, code, client)
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	return app.openSession(ctx, u, client, method)
}

// LoginWithCode is the one-request sign-in of the JSON API: the password
// and, for a user with two-step sign-in, the TOTP or recovery code.
func (app *App) LoginWithCode(ctx context.Context, name, password, code, client string) (secret string, sess store.Session, u core.User, err error) {
	u, err = app.checkPassword(ctx, name, password, client)
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	on, err := app.totpOn(ctx, u.ID)
	if err != nil {
		return "", store.Session{}, core.User{}, err
	}
	method := ""
	if on {
		if strings.TrimSpace(code) == "" {
			return "", store.Session{}, core.User{}, ErrTOTPRequired
		}
		if method, err = app.checkSecondFactor(ctx, u, code, client); err != nil {
			return "", store.Session{}, core.User{}, err
		}
	}
	return app.openSession(ctx, u, client, method)
}

func (app *App) totpOn(ctx context.Context, userID int64) (bool, error) {
	t, err := app.store.TOTPFor(ctx, userID)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil && t.Enabled, err
}

// looksLikeRecoveryCode tells a recovery code (16 letters and digits)
// from a TOTP code (6 digits).
func looksLikeRecoveryCode(code string) bool {
	return len(auth.NormalizeRecoveryCode(code)) == 16
}

func recoveryHash(userID int64, code string) string {
	// The user's id in the hash: a code is only ever one user's.
	return auth.HashSecret(fmt.Sprintf("%d:%s", userID, auth.NormalizeRecoveryCode(code)))
}

// checkSecondFactor accepts a current TOTP code not used before, or an
// unspent recovery code, and returns which it was. A failure is counted
// in the throttle and audited; the code itself is never recorded.
func (app *App) checkSecondFactor(ctx context.Context, u core.User, code, client string) (string, error) {
	fail := fmt.Errorf("%w: wrong or already used one-time code", core.ErrUnauthenticated)
	if len(code) > 64 {
		code = ""
	}
	method, ok := "", false
	if looksLikeRecoveryCode(code) {
		method = "recovery_code"
		hash := recoveryHash(u.ID, code)
		err := app.store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if ok, err = tx.UseRecoveryCode(ctx, u.ID, hash); err != nil || !ok {
				return err
			}
			left, err := tx.RecoveryCodesLeft(ctx, u.ID)
			if err != nil {
				return err
			}
			return appendEvent(ctx, tx, Actor{User: u}, core.EvRecoveryCodeUsed, 0, map[string]any{"left": left})
		})
		if err != nil {
			return "", err
		}
	} else {
		method = "totp"
		t, err := app.store.TOTPFor(ctx, u.ID)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return "", err
		}
		if err == nil && t.Enabled {
			if step, match := auth.CheckTOTP(t.Secret, code, app.now(), t.LastStep); match {
				// The store accepts each step once, across nodes too.
				err := app.store.InTx(ctx, func(tx *store.Tx) error {
					var err error
					ok, err = tx.UseTOTPStep(ctx, u.ID, step)
					return err
				})
				if err != nil {
					return "", err
				}
			}
		}
	}
	if !ok {
		app.logins.fail(throttleKey(u.Name, client), app.now())
		_ = app.store.InTx(ctx, func(tx *store.Tx) error {
			return appendEvent(ctx, tx, SystemActor, core.EvLoginFailed, 0, map[string]any{"user": u.Name, "known": true, "second_factor": method})
		})
		return "", fail
	}
	return method, nil
}

// Pending tokens: "v1.<user id>.<expiry unix>.<mac>", the MAC an
// HMAC-SHA-256 under the server's login key, which every node reads from
// the database.
const pendingKeyName = "login-pending"

func (app *App) loginKey(ctx context.Context) ([]byte, error) {
	k, err := app.store.ServerKey(ctx, pendingKeyName)
	if errors.Is(err, core.ErrNotFound) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, err
		}
		err = app.store.InTx(ctx, func(tx *store.Tx) error {
			k, err = tx.ServerKey(ctx, pendingKeyName, base64.RawURLEncoding.EncodeToString(fresh))
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(k)
}

func pendingMAC(key []byte, userID, exp int64) string {
	m := hmac.New(sha256.New, key)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(userID))
	binary.BigEndian.PutUint64(b[8:], uint64(exp))
	m.Write([]byte("irdesk login pending v1\x00"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (app *App) signPending(ctx context.Context, userID int64, exp time.Time) (string, error) {
	key, err := app.loginKey(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("v1.%d.%d.%s", userID, exp.Unix(), pendingMAC(key, userID, exp.Unix())), nil
}

func (app *App) verifyPending(ctx context.Context, token string) (int64, error) {
	expired := fmt.Errorf("%w: the sign-in step expired; enter your password again", core.ErrUnauthenticated)
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return 0, expired
	}
	// Only the canonical form the server writes: one token, one spelling.
	userID, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || strconv.FormatInt(userID, 10) != parts[1] || strconv.FormatInt(exp, 10) != parts[2] {
		return 0, expired
	}
	key, err := app.loginKey(ctx)
	if err != nil {
		return 0, err
	}
	if !hmac.Equal([]byte(parts[3]), []byte(pendingMAC(key, userID, exp))) || !app.now().Before(time.Unix(exp, 0)) {
		return 0, expired
	}
	return userID, nil
}

// TOTPState is what a user's settings page shows of their second factor.
type TOTPState struct {
	Enabled      bool
	Pending      bool
	EnabledAt    *time.Time
	RecoveryLeft int
}

// TOTPStatus tells the actor's own two-step sign-in state.
func (app *App) TOTPStatus(ctx context.Context, a Actor) (TOTPState, error) {
	if a.User.ID == 0 {
		return TOTPState{}, forbidden("only a signed-in user has a second factor")
	}
	t, err := app.store.TOTPFor(ctx, a.User.ID)
	if errors.Is(err, core.ErrNotFound) {
		return TOTPState{}, nil
	}
	if err != nil {
		return TOTPState{}, err
	}
	st := TOTPState{Enabled: t.Enabled, Pending: !t.Enabled, EnabledAt: t.EnabledAt}
	if t.Enabled {
		if st.RecoveryLeft, err = app.store.RecoveryCodesLeft(ctx, a.User.ID); err != nil {
			return TOTPState{}, err
		}
	}
	return st, nil
}

// TOTPEnrolment is an enrolment waiting for its first code: the secret
// (for typing in) and the otpauth:// URI (for the QR code).
type TOTPEnrolment struct {
	Secret string
	URI    string
}

// BeginTOTP starts enrolment with a fresh secret, replacing an earlier
// unconfirmed one. core.ErrConflict if two-step sign-in is on already.
func (app *App) BeginTOTP(ctx context.Context, a Actor) (TOTPEnrolment, error) {
	if a.User.ID == 0 || a.TokenID != 0 {
		return TOTPEnrolment{}, forbidden("two-step sign-in is set up in a signed-in browser")
	}
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		return TOTPEnrolment{}, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutTOTPEnrolment(ctx, a.User.ID, secret); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTOTPEnrolStarted, 0, map[string]any{})
	})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: secret, URI: auth.TOTPURI(TOTPIssuer, a.User.Name, secret)}, nil
}

// PendingTOTP returns the actor's unconfirmed enrolment, to show its QR
// code again. Once confirmed the secret is never shown: core.ErrNotFound.
func (app *App) PendingTOTP(ctx context.Context, a Actor) (TOTPEnrolment, error) {
	if a.User.ID == 0 {
		return TOTPEnrolment{}, forbidden("only a signed-in user has a second factor")
	}
	t, err := app.store.TOTPFor(ctx, a.User.ID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if t.Enabled {
		return TOTPEnrolment{}, fmt.Errorf("pending enrolment: %w", core.ErrNotFound)
	}
	return TOTPEnrolment{Secret: t.Secret, URI: auth.TOTPURI(TOTPIssuer, a.User.Name, t.Secret)}, nil
}

// ConfirmTOTP switches two-step sign-in on with a first correct code and
// returns the ten recovery codes, which are stored hashed and so can be
// shown this once only.
func (app *App) ConfirmTOTP(ctx context.Context, a Actor, code string) ([]string, error) {
	if a.User.ID == 0 || a.TokenID != 0 {
		return nil, forbidden("two-step sign-in is set up in a signed-in browser")
	}
	t, err := app.store.TOTPFor(ctx, a.User.ID)
	if errors.Is(err, core.ErrNotFound) || err == nil && t.Enabled {
		return nil, core.Conflict("no two-step enrolment to confirm; start again")
	}
	if err != nil {
		return nil, err
	}
	step, ok := auth.CheckTOTP(t.Secret, code, app.now(), t.LastStep)
	if !ok {
		return nil, core.Invalid("code", "is not the current code of the authenticator app; check the phone's clock and try again")
	}
	codes := make([]string, auth.RecoveryCodeCount)
	hashes := make([]string, len(codes))
	for i := range codes {
		if codes[i], err = auth.NewRecoveryCode(); err != nil {
			return nil, err
		}
		hashes[i] = recoveryHash(a.User.ID, codes[i])
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.EnableTOTP(ctx, a.User.ID, step); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(ctx, a.User.ID, hashes); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTOTPEnabled, 0, map[string]any{"recovery_codes": len(codes)})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP switches the actor's own two-step sign-in off; it takes a
// current code or a recovery code, so a browser left signed in is not
// enough to remove the second factor.
func (app *App) DisableTOTP(ctx context.Context, a Actor, code, client string) error {
	if a.User.ID == 0 || a.TokenID != 0 {
		return forbidden("two-step sign-in is changed in a signed-in browser")
	}
	on, err := app.totpOn(ctx, a.User.ID)
	if err != nil {
		return err
	}
	if !on {
		// An unconfirmed enrolment is simply dropped.
		return app.store.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.DeleteTOTP(ctx, a.User.ID)
			return err
		})
	}
	if app.logins.blocked(throttleKey(a.User.Name, client), app.now()) {
		return ErrTooManyAttempts
	}
	if _, err := app.checkSecondFactor(ctx, a.User, code, client); err != nil {
		return core.Invalid("code", "is not a current code or an unused recovery code")
	}
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.DeleteTOTP(ctx, a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTOTPDisabled, 0, map[string]any{})
	})
}

// ResetTOTP switches a user's two-step sign-in off for them (admins only),
// for one who lost their phone and their recovery codes. They sign in
// with the password alone and may enrol again.
func (app *App) ResetTOTP(ctx context.Context, a Actor, userName string) error {
	if !a.System && a.User.Role != core.RoleAdmin {
		return forbidden("only admins reset two-step sign-in")
	}
	u, err := app.store.UserByName(ctx, userName)
	if err != nil {
		return err
	}
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		had, err := tx.DeleteTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		if !had {
			return core.Conflict("%s has no two-step sign-in", u.Name)
		}
		return appendEvent(ctx, tx, a, core.EvTOTPReset, 0, map[string]any{"user": u.Name})
	})
}
