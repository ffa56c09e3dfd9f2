package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/actions"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/notify"
	"github.com/irdesk/irdesk/internal/store"
)

// ActionsConfig configures response actions.
type ActionsConfig struct {
	// Set is the actions offered; nil means the built-in ones.
	Set *actions.Set
	// Client sends the requests (nil: a client with sane timeouts).
	Client *http.Client
	// Backoff is the wait after the first failed attempt (default 30s),
	// doubling up to an hour.
	Backoff time.Duration
	// LookupEnv reads the environment (nil: os.LookupEnv); tests inject one.
	LookupEnv func(string) (string, bool)
	// Interval is how often the worker looks for due runs (default 1s).
	Interval time.Duration
}

// actionState is the response-action machinery of an App.
type actionState struct {
	once   sync.Once
	kick   chan struct{}
	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

const (
	maxActionBackoff  = time.Hour
	actionLease       = 5 * time.Minute
	maxResponseStored = 4 << 10
	maxResponseRead   = 1 << 20
)

func (app *App) actionSet() *actions.Set {
	if app.cfg.Actions.Set != nil {
		return app.cfg.Actions.Set
	}
	return actions.Builtin()
}

func (app *App) actionsInit() {
	app.actions.once.Do(func() {
		app.actions.kick = make(chan struct{}, 1)
		app.actions.tokens = map[string]cachedToken{}
	})
}

func (app *App) kickActions() {
	app.actionsInit()
	select {
	case app.actions.kick <- struct{}{}:
	default:
	}
}

// ResponseActions lists the actions a responder can run.
func (app *App) ResponseActions(ctx context.Context, a Actor) ([]*actions.Definition, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not run response actions")
	}
	return app.actionSet().List(), nil
}

// RunActionInput is a request to run an action on an observable.
type RunActionInput struct {
	Action  string `json:"action"`
	Value   string `json:"value"`
	Comment string `json:"comment"`
}

// ActionPreview is what a dry run shows: the request as it would be sent,
// secrets masked, and whether it could be sent now.
type ActionPreview struct {
	Action         string            `json:"action"`
	Destructive    bool              `json:"destructive"`
	NeedsApproval  bool              `json:"needs_approval"`
	Request        actions.Rendered  `json:"request"`
	TokenRequest   map[string]string `json:"token_request,omitempty"`
	MissingSecrets []string          `json:"missing_secrets,omitempty"`
}

// secretLookup resolves the definition's secrets from the environment or
// files. A secret is read when a request is made, never stored.
func (app *App) secretLookup(d *actions.Definition) actions.Secrets {
	lookup := app.cfg.Actions.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return func(name string) (string, error) {
		src, ok := d.Secrets[name]
		if !ok {
			env := "IRDESK_SECRET_" + strings.ToUpper(name)
			if v, ok := lookup(env); ok && v != "" {
				return v, nil
			}
			if f, ok := lookup(env + "_FILE"); ok && f != "" {
				src.File = f
			} else {
				return "", fmt.Errorf("secret %q is not set (%s or %s_FILE)", name, env, env)
			}
		}
		if src.Env != "" {
			if v, ok := lookup(src.Env); ok && v != "" {
				return v, nil
			}
			return "", fmt.Errorf("secret %q is not set (%s)", name, src.Env)
		}
		b, err := os.ReadFile(src.File)
		if err != nil {
			return "", fmt.Errorf("secret %q: cannot read its file", name)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret %q: its file is empty", name)
		}
		return v, nil
	}
}

func (app *App) prepareRun(a Actor, in *RunActionInput) (*actions.Definition, error) {
	d, ok := app.actionSet().Get(strings.TrimSpace(in.Action))
	if !ok {
		return nil, core.Invalid("action", "no response action %q (GET /api/v1/response-actions lists them)", in.Action)
	}
	v, err := ingest.NormalizeObservable(d.Observable, in.Value)
	if err != nil {
		return nil, core.Invalid("value", "not a valid %s: %v", d.Observable, err)
	}
	in.Value = v
	in.Comment = strings.TrimSpace(in.Comment)
	if utf8.RuneCountInString(in.Comment) > core.MaxShortLen {
		return nil, core.Invalid("comment", "is longer than %d characters", core.MaxShortLen)
	}
	return d, nil
}

func renderedJSON(r actions.Rendered) json.RawMessage {
	b, _ := json.Marshal(r)
	return b
}

// PreviewAction renders the request an action would send, secrets masked,
// without sending or storing anything.
func (app *App) PreviewAction(ctx context.Context, a Actor, key string, in RunActionInput) (ActionPreview, error) {
	inc, err := app.GetIncident(ctx, a, key)
	if err != nil {
		return ActionPreview{}, err
	}
	if err := needAnalyst(a)(inc); err != nil {
		return ActionPreview{}, err
	}
	d, err := app.prepareRun(a, &in)
	if err != nil {
		return ActionPreview{}, err
	}
	r, err := d.Render(actions.Input{Value: in.Value, Incident: inc.Key, Actor: a.name(), Comment: in.Comment}, actions.MaskedSecrets)
	if err != nil {
		return ActionPreview{}, core.Invalid("value", "cannot be put in the request: %v", err)
	}
	p := ActionPreview{Action: d.Name, Destructive: d.Destructive, NeedsApproval: d.Destructive, Request: r}
	if d.Auth != nil {
		r.Headers = withHeader(r.Headers, "Authorization", "Bearer "+actions.Mask)
		p.Request = r
		if t, err := d.RenderToken(actions.MaskedSecrets); err == nil {
			p.TokenRequest = map[string]string{"url": t.URL, "client_id": t.ClientID, "client_secret": t.ClientSecret, "scope": t.Scope}
		}
	}
	if d.Sign != nil {
		p.Request.Headers = withHeader(p.Request.Headers, d.Sign.Header, actions.Mask)
		p.Request.Headers = withHeader(p.Request.Headers, d.Sign.TimestampHeader, "<unix time>")
	}
	secrets := app.secretLookup(d)
	for _, name := range d.SecretNames() {
		if _, err := secrets(name); err != nil {
			p.MissingSecrets = append(p.MissingSecrets, name)
		}
	}
	return p, nil
}

func withHeader(h map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(h)+1)
	for kk, vv := range h {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// RunAction starts an action on an observable of the incident: analysts
// and up. A destructive action waits for a lead's approval; any other is
// queued for the worker at once. The run, with the request as it will be
// sent (secrets masked), and its audit event are written together.
func (app *App) RunAction(ctx context.Context, a Actor, key string, in RunActionInput) (*store.ActionRun, error) {
	if a.System || a.User.ID == 0 {
		return nil, forbidden("a response action is run by a person, who is recorded as its requester")
	}
	d, err := app.prepareRun(a, &in)
	if err != nil {
		return nil, err
	}
	var run *store.ActionRun
	_, err = app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		status := store.ActionPending
		if d.Destructive {
			status = store.ActionAwaitingApproval
		}
		r := &store.ActionRun{IncidentID: inc.ID, IncidentKey: inc.Key, Action: d.Name, ObservableType: d.Observable,
			ObservableValue: in.Value, Comment: in.Comment, Destructive: d.Destructive, Status: status,
			RequestedByID: a.User.ID, RequestedBy: a.name(), MaxAttempts: d.MaxAttempts}
		if err := tx.CreateActionRun(ctx, r); err != nil {
			return err
		}
		preview, err := d.Render(actions.Input{Value: in.Value, Incident: inc.Key, Actor: a.name(), Comment: in.Comment, RunID: r.ID}, actions.MaskedSecrets)
		if err != nil {
			return core.Invalid("value", "cannot be put in the request: %v", err)
		}
		r.Request = renderedJSON(preview)
		if err := tx.SetActionRunRequest(ctx, r.ID, r.Request); err != nil {
			return err
		}
		run = r
		return appendEvent(ctx, tx, a, core.EvActionRequested, inc.ID, map[string]any{"run": r.ID, "action": d.Name,
			"observable_type": d.Observable, "value": in.Value, "comment": in.Comment, "destructive": d.Destructive,
			"status": status, "request": preview})
	})
	if err != nil {
		return nil, err
	}
	if run.Status == store.ActionPending {
		app.kickActions()
	}
	return app.store.GetActionRun(ctx, run.ID, a.scope())
}

// ApproveActionRun lets a destructive run go: a lead or admin other than
// the one who asked for it (four eyes).
func (app *App) ApproveActionRun(ctx context.Context, a Actor, id int64) (*store.ActionRun, error) {
	if !a.System && !a.User.Role.AtLeastLead() {
		return nil, forbidden("only leads and admins approve response actions")
	}
	pre, err := app.store.GetActionRun(ctx, id, a.scope())
	if err != nil {
		return nil, err
	}
	if pre.RequestedByID == a.User.ID {
		return nil, forbidden("the requester of an action cannot approve it; another lead must")
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.GetActionRun(ctx, id, a.scope())
		if err != nil {
			return err
		}
		if r.RequestedByID == a.User.ID {
			return forbidden("the requester of an action cannot approve it; another lead must")
		}
		if err := tx.ApproveActionRun(ctx, id, a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvActionApproved, r.IncidentID, map[string]any{"run": id, "action": r.Action,
			"value": r.ObservableValue, "requested_by": r.RequestedBy})
	})
	if err != nil {
		return nil, err
	}
	app.kickActions()
	return app.store.GetActionRun(ctx, id, a.scope())
}

// checkRunReason trims a rejection or cancellation reason and checks it.
func checkRunReason(reason string, required bool) (string, error) {
	reason = strings.TrimSpace(reason)
	if required && reason == "" {
		return "", core.Invalid("reason", "is required: say why the action is refused")
	}
	if utf8.RuneCountInString(reason) > core.MaxShortLen {
		return "", core.Invalid("reason", "is longer than %d characters", core.MaxShortLen)
	}
	return reason, nil
}

// RejectActionRun refuses a run awaiting approval, for good: a lead or
// admin other than the requester, with a reason. A requester who changed
// their mind cancels instead, so a rejection is always a second person's
// decision, as an approval is.
func (app *App) RejectActionRun(ctx context.Context, a Actor, id int64, reason string) (*store.ActionRun, error) {
	if a.System || a.User.ID == 0 {
		return nil, forbidden("a response action is rejected by a person, who is recorded")
	}
	if !a.User.Role.AtLeastLead() {
		return nil, forbidden("only leads and admins reject response actions")
	}
	pre, err := app.store.GetActionRun(ctx, id, a.scope())
	if err != nil {
		return nil, err
	}
	if pre.RequestedByID == a.User.ID {
		return nil, forbidden("the requester of an action cannot reject it; cancel it instead")
	}
	reason, err = checkRunReason(reason, true)
	if err != nil {
		return nil, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.GetActionRun(ctx, id, a.scope())
		if err != nil {
			return err
		}
		if r.RequestedByID == a.User.ID {
			return forbidden("the requester of an action cannot reject it; cancel it instead")
		}
		if err := tx.RejectActionRun(ctx, id, a.User.ID, reason); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvActionRejected, r.IncidentID, map[string]any{"run": id, "action": r.Action,
			"value": r.ObservableValue, "requested_by": r.RequestedBy, "reason": reason})
	})
	if err != nil {
		return nil, err
	}
	return app.store.GetActionRun(ctx, id, a.scope())
}

// CancelActionRun withdraws a run that has not started, for good: its
// requester, or a lead or admin. A run awaiting approval can be
// cancelled, and a pending one no worker holds (queued, or waiting for
// its next retry); one being sent right now is a conflict, since its
// request may already be on its way. The reason is optional.
func (app *App) CancelActionRun(ctx context.Context, a Actor, id int64, reason string) (*store.ActionRun, error) {
	if a.System || a.User.ID == 0 {
		return nil, forbidden("a response action is cancelled by a person, who is recorded")
	}
	if !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not cancel response actions")
	}
	pre, err := app.store.GetActionRun(ctx, id, a.scope())
	if err != nil {
		return nil, err
	}
	mayCancel := func(r *store.ActionRun) error {
		if r.RequestedByID != a.User.ID && !a.User.Role.AtLeastLead() {
			return forbidden("only the requester, a lead or an admin may cancel this action")
		}
		return nil
	}
	if err := mayCancel(pre); err != nil {
		return nil, err
	}
	if reason, err = checkRunReason(reason, false); err != nil {
		return nil, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.GetActionRun(ctx, id, a.scope())
		if err != nil {
			return err
		}
		if err := mayCancel(r); err != nil {
			return err
		}
		if err := tx.CancelActionRun(ctx, id, a.User.ID, reason); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvActionCancelled, r.IncidentID, map[string]any{"run": id, "action": r.Action,
			"value": r.ObservableValue, "requested_by": r.RequestedBy, "status": r.Status, "reason": reason})
	})
	if err != nil {
		return nil, err
	}
	return app.store.GetActionRun(ctx, id, a.scope())
}

// ActionRunFilter selects runs for ActionRuns.
type ActionRunFilter struct {
	IncidentKey string
	Status      string
	Before      int64
	Limit       int
}

// ActionRuns lists runs the actor may see: analysts and up.
func (app *App) ActionRuns(ctx context.Context, a Actor, f ActionRunFilter) ([]*store.ActionRun, bool, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, false, forbidden("your role may not read response actions")
	}
	if f.Status != "" && !slices.Contains(store.ActionRunStatuses, f.Status) {
		return nil, false, core.Invalid("status", "one of %s", strings.Join(store.ActionRunStatuses, ", "))
	}
	sf := store.ActionRunFilter{Scope: a.scope(), Status: f.Status, Before: f.Before, Limit: f.Limit}
	if f.IncidentKey != "" {
		inc, err := app.readIncident(ctx, a, f.IncidentKey)
		if err != nil {
			return nil, false, err
		}
		sf.IncidentID = inc.ID
	}
	return app.store.FindActionRuns(ctx, sf)
}

// GetActionRun returns one run the actor may see.
func (app *App) GetActionRun(ctx context.Context, a Actor, id int64) (*store.ActionRun, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not read response actions")
	}
	return app.store.GetActionRun(ctx, id, a.scope())
}

// ---- the worker ----

// RunActionWorker sends due runs until ctx ends: every Interval, and at
// once when a run is queued or approved on this node.
func (app *App) RunActionWorker(ctx context.Context) {
	app.actionsInit()
	every := app.cfg.Actions.Interval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := app.RunDueActions(ctx, 4)
			if err != nil {
				if ctx.Err() == nil {
					app.log.Warn("response actions", "err", err)
				}
				break
			}
			if n < 4 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-app.actions.kick:
		}
	}
}

// RunDueActions claims up to limit due runs, sends them and records each
// outcome; it returns how many it claimed.
func (app *App) RunDueActions(ctx context.Context, limit int) (int, error) {
	if due, err := app.store.ActionRunsDue(ctx, app.now().Add(time.Second)); err != nil || !due {
		return 0, err
	}
	var runs []*store.ActionRun
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		runs, err = tx.ClaimActionRuns(ctx, limit, actionLease)
		return err
	})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			app.attemptAction(ctx, r)
		}()
	}
	wg.Wait()
	return len(runs), nil
}

// attemptResult is one attempt's outcome before it is stored.
type attemptResult struct {
	request   actions.Rendered // masked
	status    int
	body      string
	err       error
	permanent bool
}

func (app *App) attemptAction(ctx context.Context, r *store.ActionRun) {
	res := app.sendAction(ctx, r)
	if ctx.Err() != nil && res.err != nil {
		return // shutting down: the lease hands the run back after a restart
	}
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := app.recordAttempt(rec, r, res); err != nil {
		app.log.Warn("record response action", "run", r.ID, "err", err)
	}
}

func (app *App) sendAction(ctx context.Context, r *store.ActionRun) (res attemptResult) {
	d, ok := app.actionSet().Get(r.Action)
	if !ok {
		return attemptResult{err: fmt.Errorf("action %q is no longer configured on this server", r.Action), permanent: true}
	}
	in := actions.Input{Value: r.ObservableValue, Incident: r.IncidentKey, Actor: r.RequestedBy, Comment: r.Comment, RunID: r.ID}
	masked, err := d.Render(in, actions.MaskedSecrets)
	if err != nil {
		return attemptResult{err: err, permanent: true}
	}
	res.request = masked
	lookup := app.secretLookup(d)
	var used []string // every secret value, to scrub from what is stored
	secrets := func(name string) (string, error) {
		v, err := lookup(name)
		if err == nil {
			used = append(used, v)
		}
		return v, err
	}
	defer func() {
		res.body = scrub(res.body, used)
		if res.err != nil {
			res.err = errors.New(scrub(res.err.Error(), used))
		}
	}()
	real, err := d.Render(in, secrets)
	if err != nil {
		res.err, res.permanent = err, true
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.Timeout))
	defer cancel()
	var body io.Reader
	if real.Body != nil {
		body = bytes.NewReader(real.Body)
	}
	req, err := http.NewRequestWithContext(ctx, real.Method, real.URL, body)
	if err != nil {
		res.err, res.permanent = err, true
		return res
	}
	for k, v := range real.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "irdesk response action")
	if d.Auth != nil {
		tok, err := app.actionToken(ctx, d, secrets)
		if err != nil {
			res.err = err
			res.permanent = errors.Is(err, errPermanent)
			return res
		}
		used = append(used, tok)
		req.Header.Set("Authorization", "Bearer "+tok)
		res.request.Headers = withHeader(res.request.Headers, "Authorization", "Bearer "+actions.Mask)
	}
	if d.Sign != nil {
		key, err := secrets(d.Sign.Secret)
		if err != nil {
			res.err, res.permanent = err, true
			return res
		}
		ts := strconv.FormatInt(app.now().Unix(), 10)
		req.Header.Set(d.Sign.TimestampHeader, ts)
		req.Header.Set(d.Sign.Header, notify.Sign([]byte(key), ts, real.Body))
		res.request.Headers = withHeader(res.request.Headers, d.Sign.TimestampHeader, ts)
		res.request.Headers = withHeader(res.request.Headers, d.Sign.Header, actions.Mask)
	}
	resp, err := app.actionClient().Do(req)
	if err != nil {
		res.err = fmt.Errorf("send: %w", unwrapURLError(err))
		return res
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	res.status, res.body = resp.StatusCode, string(b)
	for _, s := range d.ExpectStatus {
		if s == resp.StatusCode {
			return res
		}
	}
	res.err = fmt.Errorf("the service answered %s, expected %v", resp.Status, d.ExpectStatus)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		// The token may have been revoked early: fetch a new one next time.
		app.dropToken(d, secrets)
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
	default:
		res.permanent = resp.StatusCode >= 400
	}
	return res
}

var errPermanent = errors.New("permanent")

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (app *App) actionClient() *http.Client {
	if app.cfg.Actions.Client != nil {
		return app.cfg.Actions.Client
	}
	// Each run has its definition's own timeout on its context; a client
	// timeout would cut a slow vendor call that succeeded and send it
	// again. Redirects are still not followed.
	c := notify.HTTPClient()
	c.Timeout = 0
	return c
}

// scrub replaces every secret value in s with the mask, in case a service
// echoes a credential back.
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, actions.Mask)
		}
	}
	return s
}

func tokenKey(t actions.RenderedToken) string { return t.URL + "\x00" + t.ClientID + "\x00" + t.Scope }

func (app *App) dropToken(d *actions.Definition, secrets actions.Secrets) {
	if d.Auth == nil {
		return
	}
	app.actionsInit()
	t, err := d.RenderToken(secrets)
	if err != nil {
		return
	}
	app.actions.mu.Lock()
	delete(app.actions.tokens, tokenKey(t))
	app.actions.mu.Unlock()
}

// actionToken returns a bearer token from the client-credentials grant,
// cached until a minute before it expires.
func (app *App) actionToken(ctx context.Context, d *actions.Definition, secrets actions.Secrets) (string, error) {
	app.actionsInit()
	t, err := d.RenderToken(secrets)
	if err != nil {
		return "", fmt.Errorf("%w: token request: %v", errPermanent, err)
	}
	key := tokenKey(t)
	app.actions.mu.Lock()
	c, ok := app.actions.tokens[key]
	app.actions.mu.Unlock()
	if ok && app.now().Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {t.ClientID}, "client_secret": {t.ClientSecret}}
	if t.Scope != "" {
		form.Set("scope", t.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%w: token request: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := app.actionClient().Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		err := fmt.Errorf("token request: the token endpoint answered %s: %s", resp.Status, truncateUTF8(string(b), 300))
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			// Wrong credentials are fixed by a person, not by retrying.
			return "", fmt.Errorf("%w: %v", errPermanent, err)
		}
		return "", err
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" {
		return "", errors.New("token request: the answer holds no access_token")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", fmt.Errorf("%w: token request: token type %q, want bearer", errPermanent, tr.TokenType)
	}
	// Microsoft's v1 endpoint sends expires_in as a string.
	secs, _ := strconv.Atoi(strings.Trim(string(tr.ExpiresIn), `"`))
	if secs <= 0 {
		secs = 300
	}
	app.actions.mu.Lock()
	app.actions.tokens[key] = cachedToken{token: tr.AccessToken, expires: app.now().Add(time.Duration(secs)*time.Second - time.Minute)}
	app.actions.mu.Unlock()
	return tr.AccessToken, nil
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// recordAttempt stores the attempt; a final outcome also becomes an action
// record on the incident and an audit event.
func (app *App) recordAttempt(ctx context.Context, r *store.ActionRun, res attemptResult) error {
	at := store.ActionAttempt{Request: renderedJSON(res.request), ResponseStatus: res.status, ResponseBody: truncateUTF8(res.body, maxResponseStored)}
	if res.err != nil {
		at.Error = truncateUTF8(res.err.Error(), 500)
	}
	d, _ := app.actionSet().Get(r.Action)
	label := r.Action
	if d != nil {
		label = d.Label["en"]
	}
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.GetActionRun(ctx, r.ID, store.Scope{All: true})
		if err != nil {
			return err
		}
		status := store.ActionSucceeded
		var next *time.Time
		if res.err != nil {
			status = store.ActionFailed
			if !res.permanent && cur.Attempts < cur.MaxAttempts {
				t := tx.Now().Add(notify.Backoff(cur.Attempts, app.actionBackoff(), maxActionBackoff))
				next = &t
			}
		}
		changed, err := tx.RecordActionAttempt(ctx, r.ID, at, status, next)
		if err != nil || !changed || next != nil {
			return err
		}
		inc, err := tx.GetIncident(ctx, r.IncidentKey, store.Scope{All: true})
		if err != nil {
			return err
		}
		outcome := "succeeded"
		if status == store.ActionFailed {
			outcome = "failed: " + at.Error
		}
		if res.status != 0 {
			outcome += fmt.Sprintf(" (HTTP %d)", res.status)
		}
		rec := core.ActionRecord{IncidentID: inc.ID, Phase: inc.Phase, PerformedAt: tx.Now(), CreatedAt: tx.Now(),
			Description: fmt.Sprintf("%s: %s %s — %s", label, r.ObservableType, r.ObservableValue, outcome),
			PerformedBy: r.RequestedBy, Tool: "irdesk response action " + r.Action, RecordedBy: r.RequestedBy}
		if err := tx.CreateAction(ctx, &rec, r.RequestedByID); err != nil {
			return err
		}
		typ := core.EvActionSucceeded
		if status == store.ActionFailed {
			typ = core.EvActionFailed
		}
		return appendEvent(ctx, tx, SystemActor, typ, inc.ID, map[string]any{"run": r.ID, "action": r.Action,
			"value": r.ObservableValue, "requested_by": r.RequestedBy, "approved_by": cur.ApprovedBy, "attempts": cur.Attempts,
			"request": res.request, "response_status": res.status, "response_body": truncateUTF8(at.ResponseBody, 1000),
			"error": at.Error, "action_record": rec.ID})
	})
}

func (app *App) actionBackoff() time.Duration {
	if app.cfg.Actions.Backoff > 0 {
		return app.cfg.Actions.Backoff
	}
	return 30 * time.Second
}
