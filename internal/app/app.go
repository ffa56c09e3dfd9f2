// Package app holds irdesk's use cases. Each checks who may do it, runs in
// one store transaction and writes its audit event in that transaction.
// Everything the web and the CLI do goes through here.
package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
	"github.com/irdesk/irdesk/internal/playbook"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/triage"
)

// Config tunes the use cases.
type Config struct {
	// SessionTTL is how long a browser stays signed in.
	SessionTTL time.Duration
	// PasswordParams are the argon2id costs for new password hashes.
	PasswordParams auth.Params
	// Clocks configures the legal reporting clocks.
	Clocks deadline.Config
	// Playbooks are the response procedures; nil means the built-in ones.
	Playbooks *playbook.Set
	// AlertDedupWindow is how long after an alert was last seen a new
	// event with the same fingerprint still counts as a repeat of it
	// (default 24h).
	AlertDedupWindow time.Duration
	// TriageRules are the rules of the --rules file: applied at intake
	// with those made through the API, and read-only through it.
	TriageRules []*triage.Rule
	// Notify configures escalation and notification delivery.
	Notify NotifyConfig
	// EvidenceMaxSize bounds one evidence file (0: evidence.DefaultMaxSize).
	EvidenceMaxSize int64
	// DataDir holds the evidence files. Empty means the directory of the
	// SQLite database; on PostgreSQL it must be set (shared storage when
	// several nodes serve).
	DataDir string
	// Actions configures response actions.
	Actions ActionsConfig
	// OIDC configures sign-in through an OpenID Connect provider.
	OIDC OIDCConfig
	// ShareOrg names this organisation in STIX and MISP exports
	// (share.DefaultOrg if empty).
	ShareOrg string
}

// App is the set of use cases over one store.
type App struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	cfg   Config

	// tokenUse throttles the last-used write of API tokens to one per
	// token per touchEvery: a write per request would halve the ingest rate.
	tokenUseMu sync.Mutex
	tokenUse   map[int64]time.Time
	tokens     tokenCache
	logins     loginThrottle

	// hashSlots bounds the password hashes running at once: each takes
	// PasswordParams.Memory, and logins are open to anyone on the network.
	hashSlots chan struct{}
	playbooks *playbook.Set
	triage    triageState
	notifyCfg NotifyConfig
	escCache  escalationCache
	// pruneCursor is where occurrence pruning got to.
	pruneCursor occurrencePruneCursor
	// actions holds the response-action worker's wake-up and token cache.
	actions actionState
	// watchlist caches whether the watchlist has entries, so intake
	// skips the lookups while it is empty.
	watchlist watchlistCache
	// dummyHash is checked against when there is no real hash, so a login
	// for an unknown or disabled user costs what a real one does.
	dummyHash string
}

const touchEvery = 5 * time.Minute

// New builds the use cases. now may be nil for the wall clock.
func New(st *store.Store, log *slog.Logger, now func() time.Time, cfg Config) *App {
	if now == nil {
		now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.AlertDedupWindow <= 0 {
		cfg.AlertDedupWindow = 24 * time.Hour
	}
	if cfg.PasswordParams.Time == 0 {
		cfg.PasswordParams = auth.DefaultParams
	}
	dummy, err := auth.HashPassword("no user has this password", cfg.PasswordParams)
	if err != nil {
		panic(fmt.Sprintf("argon2id: %v", err)) // only fails if the OS has no randomness
	}
	pbs := cfg.Playbooks
	if pbs == nil {
		pbs = playbook.Builtin()
	}
	return &App{store: st, log: log, now: now, cfg: cfg, tokenUse: map[int64]time.Time{},
		hashSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))), dummyHash: dummy, playbooks: pbs,
		notifyCfg: cfg.Notify.withDefaults()}
}

// hashing runs fn, a password hash, when a slot is free. It waits for
// one as long as ctx allows.
func (app *App) hashing(ctx context.Context, fn func()) error {
	select {
	case app.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-app.hashSlots }()
	fn()
	return nil
}

// Actor is who is acting: a signed-in user, a token's user, or the system
// (the CLI on the server itself, which has the data directory and so
// every right anyway).
type Actor struct {
	User    core.User
	TokenID int64
	System  bool
}

// SystemActor is the CLI acting on the data directory.
var SystemActor = Actor{System: true, User: core.User{Name: "system", Role: core.RoleAdmin}}

func (a Actor) name() string { return a.User.Name }

// scope is what the actor may see.
func (a Actor) scope() store.Scope {
	switch {
	case a.System || a.User.Role == core.RoleAdmin:
		return store.Scope{All: true, UserID: a.User.ID}
	case a.User.Role == core.RoleReporter:
		return store.Scope{UserID: a.User.ID, OwnReportsOnly: true}
	default:
		return store.Scope{UserID: a.User.ID}
	}
}

func forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", core.ErrForbidden, fmt.Sprintf(format, args...))
}

// event builds an audit event of the actor.
func event(a Actor, typ string, incidentID int64, payload any) (*core.Event, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", typ, err)
	}
	actor := a.name()
	if a.System {
		actor = "system"
	}
	return &core.Event{ActorID: a.User.ID, Actor: actor, IncidentID: incidentID, Type: typ, Payload: b}, nil
}

func appendEvent(ctx context.Context, tx *store.Tx, a Actor, typ string, incidentID int64, payload any) error {
	ev, err := event(a, typ, incidentID, payload)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, ev)
}

// Ping reports whether the database answers.
func (app *App) Ping(ctx context.Context) error { return app.store.Ping(ctx) }

// WriteStats reports the store's group-commit counters, for /metrics.
func (app *App) WriteStats() store.WriteStats { return app.store.WriteStats() }
