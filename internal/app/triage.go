package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/triage"
)

// triageState is the rule set intake applies, loaded on first use and
// dropped when a rule changes through this process's API. Rules are read
// from the database at most once per change, not per alert, and at least
// every triageCacheTTL, so a change made on another node sharing the
// database applies here too.
type triageState struct {
	mu  sync.Mutex
	set atomic.Pointer[triage.Set] // nil: not loaded
	// loadedAt is when set was read (Unix nanoseconds of the app's clock).
	loadedAt atomic.Int64
	// expiring says some suppressed alert may have an expiry, so a repeat
	// must check whether its alert's suppression ended. It only ever turns
	// on (a stale true costs one cheap update per repeat, a stale false
	// would keep alerts suppressed), and is read from the database when
	// the rules are loaded.
	expiring atomic.Bool
}

// triageReader is what loading the rules reads: the store, or a write
// transaction during intake.
type triageReader interface {
	TriageRules(ctx context.Context) ([]store.StoredTriageRule, error)
	AnyExpiringSuppression(ctx context.Context) (bool, error)
}

// triageCacheTTL bounds how long a rule change made on another node goes
// unseen here, as escalationCacheTTL does for escalation rules.
const triageCacheTTL = 2 * time.Second

// triageRules returns the rule set, loading it through r if needed.
func (app *App) triageRules(ctx context.Context, r triageReader) (*triage.Set, error) {
	fresh := func() *triage.Set {
		s := app.triage.set.Load()
		if s == nil || app.now().UnixNano()-app.triage.loadedAt.Load() >= int64(triageCacheTTL) {
			return nil
		}
		return s
	}
	if s := fresh(); s != nil {
		return s, nil
	}
	app.triage.mu.Lock()
	defer app.triage.mu.Unlock()
	if s := fresh(); s != nil {
		return s, nil
	}
	stored, err := r.TriageRules(ctx)
	if err != nil {
		return nil, err
	}
	expiring, err := r.AnyExpiringSuppression(ctx)
	if err != nil {
		return nil, err
	}
	rules := append([]*triage.Rule(nil), app.cfg.TriageRules...)
	fileIDs := map[string]bool{}
	for _, r := range rules {
		fileIDs[r.ID] = true
	}
	for _, sr := range stored {
		rule, err := triage.ParseRule("rule "+sr.ID, []byte(sr.Body))
		switch {
		case err != nil:
			// A rule stored by another version: skipping it beats refusing
			// every alert.
			app.log.Error("triage rule in the database is invalid; skipped", "rule", sr.ID, "err", err)
			continue
		case fileIDs[rule.ID]:
			app.log.Warn("triage rule in the database has the id of a rule in the rules file; the file's applies", "rule", rule.ID)
			continue
		}
		rules = append(rules, rule)
	}
	set, err := triage.NewSet(rules...)
	if err != nil {
		return nil, err
	}
	if expiring {
		app.triage.expiring.Store(true)
	}
	app.triage.loadedAt.Store(app.now().UnixNano())
	app.triage.set.Store(set)
	return set, nil
}

// invalidateTriage drops the loaded rules after a change committed. It
// takes the loader's lock, so a load that read the old rules before the
// commit cannot store them after this.
func (app *App) invalidateTriage() {
	app.triage.mu.Lock()
	defer app.triage.mu.Unlock()
	app.triage.set.Store(nil)
}

// triageEnv answers the rules' questions from the database. extra is
// added to counts: a dry run of an alert that is not stored counts it.
type triageEnv struct {
	ctx   context.Context
	r     triageLookups
	extra int64
}

type triageLookups interface {
	ObservableInIncident(ctx context.Context, typ, value string) (bool, error)
	CountFingerprintSince(ctx context.Context, fingerprint string, since time.Time) (int64, error)
	CountRuleHostSince(ctx context.Context, source, ruleID, host string, since time.Time) (int64, error)
}

func (e triageEnv) ObservableInIncident(o ingest.Observable) (bool, error) {
	return e.r.ObservableInIncident(e.ctx, o.Type, o.Value)
}

func (e triageEnv) CountOccurrences(of string, al *ingest.Alert, since time.Time) (int64, error) {
	var n int64
	var err error
	switch of {
	case triage.CountRuleHost:
		n, err = e.r.CountRuleHostSince(e.ctx, al.Source, al.RuleID, al.Host, since)
	default:
		n, err = e.r.CountFingerprintSince(e.ctx, al.Fingerprint, since)
	}
	return n + e.extra, err
}

// triageIngested applies the rules to an alert intake just recorded as
// alert id, inside the intake transaction. With no rules and no expiring
// suppression it returns at once, without a query. A repeat reopens its
// alert if the alert's suppression has ended, and is then matched against
// the count rules only (see triage.Set.Evaluate).
func (app *App) triageIngested(ctx context.Context, tx *store.Tx, al *ingest.Alert, id int64, repeat bool) error {
	set, err := app.triageRules(ctx, tx)
	if err != nil {
		return err
	}
	expiring := repeat && app.triage.expiring.Load()
	if !expiring && (!set.Active() || (repeat && !set.HasCountRules())) {
		return nil
	}
	state := store.AlertState{Status: core.AlertNew, Severity: al.Severity}
	if repeat {
		if state, err = tx.AlertState(ctx, id); err != nil {
			return err
		}
		if expiring && state.Status == core.AlertSuppressed && state.SuppressedUntil != nil && !state.SuppressedUntil.After(tx.Now()) {
			reopened, err := tx.ReopenExpired(ctx, id)
			if err != nil {
				return err
			}
			if reopened {
				if err := appendEvent(ctx, tx, SystemActor, core.EvAlertUnsuppressed, 0, map[string]any{
					"alert": id, "reason": "suppression expired", "until": state.SuppressedUntil}); err != nil {
					return err
				}
				state.Status = core.AlertNew
			}
		}
		if !set.HasCountRules() || (state.Status != core.AlertNew && state.Status != core.AlertAcknowledged && state.Status != core.AlertSuppressed) {
			return nil
		}
	}
	res, err := set.Evaluate(al, triageEnv{ctx: ctx, r: tx}, tx.Now(), repeat)
	if err != nil {
		return err
	}
	return app.applyDecisions(ctx, tx, al, id, state, res.Decisions)
}

// ruleActor is who the audit trail shows for what a rule did.
func ruleActor(d triage.Decision) Actor {
	return Actor{User: core.User{Name: "triage:" + d.RuleID, Role: core.RoleAdmin}}
}

// applyDecisions carries out a rule set's decisions on a stored alert,
// each as an audit event naming its rule. An action that would change
// nothing (the severity it has, a suppressed alert suppressed again, a
// promoted one promoted) writes nothing, so a count rule firing on every
// repeat past its threshold acts once. A rule's assignee who does not
// exist (file rules may name users not yet created) is skipped with a
// warning rather than failing the intake.
func (app *App) applyDecisions(ctx context.Context, tx *store.Tx, al *ingest.Alert, id int64, state store.AlertState, ds []triage.Decision) error {
	for _, d := range ds {
		actor := ruleActor(d)
		payload := func(kv ...any) map[string]any {
			m := map[string]any{"alert": id, "rule": d.RuleID, "rule_name": d.RuleName}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		movable := state.Status.Open() || state.Status == core.AlertSuppressed
		switch a := d.Action; a.Kind {
		case triage.ActSetSeverity:
			if state.Severity == a.Severity {
				continue
			}
			if err := tx.SetAlertSeverity(ctx, id, a.Severity); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, actor, core.EvAlertSeverityChanged, 0, payload("from", state.Severity, "to", a.Severity)); err != nil {
				return err
			}
			state.Severity = a.Severity
		case triage.ActAssign:
			u, err := tx.UserByName(ctx, a.User)
			if errors.Is(err, core.ErrNotFound) || (err == nil && u.Disabled) {
				app.log.Warn("triage rule assigns alerts to a user who does not exist or is disabled; skipped", "rule", d.RuleID, "user", a.User)
				continue
			}
			if err != nil {
				return err
			}
			if state.AssigneeID == u.ID {
				continue
			}
			if err := tx.AssignAlert(ctx, id, u.ID); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, actor, core.EvAlertAssigned, 0, payload("user", u.Name)); err != nil {
				return err
			}
			state.AssigneeID = u.ID
		case triage.ActSuppress:
			if !state.Status.Open() {
				continue
			}
			until := suppressUntil(a, tx.Now())
			if err := tx.SuppressAlert(ctx, id, a.Reason, until); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, actor, core.EvAlertSuppressed, 0, payload("from", state.Status, "reason", a.Reason, "until", until)); err != nil {
				return err
			}
			if until != nil {
				app.triage.expiring.Store(true)
			}
			state.Status = core.AlertSuppressed
		case triage.ActPromote:
			if !movable {
				continue
			}
			full, err := tx.GetAlert(ctx, id, SystemActor.scope())
			if err != nil {
				return err
			}
			inc, err := incidentFromAlerts(actor, []*core.Alert{full}, PromoteInput{Category: a.Category, Severity: a.Severity})
			if err != nil {
				return err
			}
			if err := app.createIncident(ctx, tx, actor, inc, &full.FirstSeen); err != nil {
				return err
			}
			if err := linkToIncident(ctx, tx, id, inc.ID); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, actor, core.EvAlertPromoted, inc.ID, payload("from", state.Status)); err != nil {
				return err
			}
			state.Status = core.AlertPromoted
		case triage.ActAttach:
			if !movable {
				continue
			}
			byObs, byHost := len(a.By) == 0, len(a.By) == 0
			for _, b := range a.By {
				byObs = byObs || b == triage.AttachByObservable
				byHost = byHost || b == triage.AttachByHost
			}
			incID, key, err := tx.OpenIncidentFor(ctx, id, al.Host, byObs, byHost, a.ObservableTypes)
			if errors.Is(err, core.ErrNotFound) {
				continue // nothing to attach to: the alert stays in the queue
			}
			if err != nil {
				return err
			}
			if err := linkToIncident(ctx, tx, id, incID); err != nil {
				return err
			}
			if err := appendEvent(ctx, tx, actor, core.EvAlertAttached, incID, payload("from", state.Status, "incident", key)); err != nil {
				return err
			}
			state.Status = core.AlertPromoted
		}
	}
	return nil
}

func suppressUntil(a triage.Action, now time.Time) *time.Time {
	switch {
	case a.For > 0:
		t := now.Add(a.For)
		return &t
	case a.Until != nil:
		t := *a.Until
		return &t
	}
	return nil
}

// linkToIncident makes an alert belong to an incident, as promotion and
// attaching do.
func linkToIncident(ctx context.Context, tx *store.Tx, alertID, incidentID int64) error {
	if err := tx.SetAlertStatus(ctx, alertID, core.AlertPromoted, ""); err != nil {
		return err
	}
	return tx.LinkAlertIncident(ctx, alertID, incidentID, 0)
}

// incidentFromAlerts builds the incident that promoting alerts opens, as
// PromoteAlert does for one: the first alert gives title, time and
// description; the severity, unless given, is the most severe of them.
func incidentFromAlerts(a Actor, als []*core.Alert, in PromoteInput) (*core.Incident, error) {
	first := als[0]
	n := &core.Incident{
		Title: in.Title, Category: in.Category, Severity: in.Severity, Phase: core.PhaseDetect,
		Description: promotedDescription(first), ReporterID: a.User.ID, Reporter: a.User.Name,
		Facts: core.Facts{OccurredAt: first.EventTime},
	}
	if len(als) > 1 {
		n.Description += fmt.Sprintf(" Promoted together with %d other alert(s).", len(als)-1)
	}
	if n.Title == "" {
		n.Title = truncateRunes(first.Title, core.MaxTitleLen)
	}
	var hosts []string
	for _, al := range als {
		if n.Severity == "" || (in.Severity == "" && al.Severity < n.Severity) {
			n.Severity = al.Severity // "S1" < "S2": most severe first
		}
		if al.Host != "" && len([]rune(al.Host)) <= core.MaxShortLen && len(hosts) < 50 && !containsStr(hosts, al.Host) {
			hosts = append(hosts, al.Host)
		}
	}
	n.AffectedSystems = hosts
	if err := n.Normalize(); err != nil {
		return nil, err
	}
	return n, nil
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// --- Rules through the API ---

// TriageRuleView is a rule as the API shows it.
type TriageRuleView struct {
	*triage.Rule
	// ReadOnly rules come from the rules file and change only there.
	ReadOnly bool `json:"read_only"`
}

func needRuleReader(a Actor) error {
	if a.System || a.User.Role.AtLeastAnalyst() {
		return nil
	}
	return forbidden("your role may not see triage rules")
}

func needRuleEditor(a Actor) error {
	if a.System || a.User.Role.AtLeastLead() {
		return nil
	}
	return forbidden("only leads and admins may change triage rules")
}

// ListTriageRules lists every rule in evaluation order.
func (app *App) ListTriageRules(ctx context.Context, a Actor) ([]TriageRuleView, error) {
	if err := needRuleReader(a); err != nil {
		return nil, err
	}
	set, err := app.triageRules(ctx, app.store)
	if err != nil {
		return nil, err
	}
	out := []TriageRuleView{}
	for _, r := range set.Rules() {
		out = append(out, TriageRuleView{Rule: r, ReadOnly: r.Source == triage.SourceFile})
	}
	return out, nil
}

// invalidRule turns the rule parser's errors into one FieldError naming
// the first field at fault and listing every problem.
func invalidRule(err error) error {
	var te *triage.Error
	if errors.As(err, &te) {
		return &core.FieldError{Field: te.Field, Message: err.Error()}
	}
	return err
}

// parseAPIRule reads a rule sent to the API and checks what the parser
// cannot: that the users it assigns to exist.
func (app *App) parseAPIRule(ctx context.Context, body []byte) (*triage.Rule, error) {
	r, err := triage.ParseRule("rule", body)
	if err != nil {
		return nil, invalidRule(err)
	}
	for i, act := range r.Actions {
		if act.Kind != triage.ActAssign {
			continue
		}
		if _, err := app.store.UserByName(ctx, act.User); errors.Is(err, core.ErrNotFound) {
			return nil, core.Invalid(fmt.Sprintf("actions[%d].assign", i), "no user %q", act.User)
		} else if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (app *App) fileRule(id string) bool {
	for _, r := range app.cfg.TriageRules {
		if r.ID == id {
			return true
		}
	}
	return false
}

// CreateTriageRule stores a rule sent as JSON (or YAML). Its id must be
// new, also among the file's rules.
func (app *App) CreateTriageRule(ctx context.Context, a Actor, body []byte) (*TriageRuleView, error) {
	if err := needRuleEditor(a); err != nil {
		return nil, err
	}
	r, err := app.parseAPIRule(ctx, body)
	if err != nil {
		return nil, err
	}
	if app.fileRule(r.ID) {
		return nil, core.Conflict("rule %q is defined in the rules file", r.ID)
	}
	stored, err := r.Stored()
	if err != nil {
		return nil, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateTriageRule(ctx, r.ID, string(stored), a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTriageRuleCreated, 0, map[string]any{"rule": r.ID, "definition": json.RawMessage(stored)})
	})
	if err != nil {
		return nil, err
	}
	app.invalidateTriage()
	return &TriageRuleView{Rule: r}, nil
}

// UpdateTriageRule replaces a rule made through the API; file rules are
// core.ErrConflict. The body's id, if any, must be the rule's.
func (app *App) UpdateTriageRule(ctx context.Context, a Actor, id string, body []byte) (*TriageRuleView, error) {
	if err := needRuleEditor(a); err != nil {
		return nil, err
	}
	if app.fileRule(id) {
		return nil, core.Conflict("rule %q is defined in the rules file and changes only there", id)
	}
	r, err := app.parseAPIRule(ctx, body)
	if err != nil {
		return nil, err
	}
	if r.ID != id {
		return nil, core.Invalid("id", "the body names rule %q but the URL %q", r.ID, id)
	}
	stored, err := r.Stored()
	if err != nil {
		return nil, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateTriageRule(ctx, id, string(stored)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTriageRuleUpdated, 0, map[string]any{"rule": id, "definition": json.RawMessage(stored)})
	})
	if err != nil {
		return nil, err
	}
	app.invalidateTriage()
	return &TriageRuleView{Rule: r}, nil
}

// DeleteTriageRule removes a rule made through the API; file rules are
// core.ErrConflict.
func (app *App) DeleteTriageRule(ctx context.Context, a Actor, id string) error {
	if err := needRuleEditor(a); err != nil {
		return err
	}
	if app.fileRule(id) {
		return core.Conflict("rule %q is defined in the rules file and changes only there", id)
	}
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteTriageRule(ctx, id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvTriageRuleDeleted, 0, map[string]any{"rule": id})
	})
	if err != nil {
		return err
	}
	app.invalidateTriage()
	return nil
}

// TriageTest is a dry run: a rule (given whole, or by id; neither means
// the whole rule set) against an alert (in a format's payload, or a
// stored one by id).
type TriageTest struct {
	Rule    json.RawMessage `json:"rule,omitempty"`
	RuleID  string          `json:"rule_id,omitempty"`
	Format  string          `json:"format,omitempty"`
	Alert   json.RawMessage `json:"alert,omitempty"`
	AlertID int64           `json:"alert_id,omitempty"`
}

// TestTriageRule evaluates without writing anything and returns what
// would be decided. A posted alert is counted as one more occurrence, as
// if it had arrived; a stored alert is evaluated as when it was new.
func (app *App) TestTriageRule(ctx context.Context, a Actor, in TriageTest) (triage.Result, error) {
	if err := needRuleReader(a); err != nil {
		return triage.Result{}, err
	}
	var set *triage.Set
	switch {
	case len(in.Rule) > 0 && in.RuleID != "":
		return triage.Result{}, core.Invalid("rule", "give rule or rule_id, not both")
	case len(in.Rule) > 0:
		r, err := triage.ParseRule("rule", in.Rule)
		if err != nil {
			return triage.Result{}, invalidRule(err)
		}
		r.Enabled = true // a dry run of a disabled rule shows what it would do
		if set, err = triage.NewSet(r); err != nil {
			return triage.Result{}, err
		}
	default:
		all, err := app.triageRules(ctx, app.store)
		if err != nil {
			return triage.Result{}, err
		}
		set = all
		if in.RuleID != "" {
			r := all.Rule(in.RuleID)
			if r == nil {
				return triage.Result{}, fmt.Errorf("triage rule %q: %w", in.RuleID, core.ErrNotFound)
			}
			c := *r
			c.Enabled = true
			if set, err = triage.NewSet(&c); err != nil {
				return triage.Result{}, err
			}
		}
	}
	var al ingest.Alert
	env := triageEnv{ctx: ctx, r: app.store}
	switch {
	case len(in.Alert) > 0 && in.AlertID != 0:
		return triage.Result{}, core.Invalid("alert", "give alert or alert_id, not both")
	case len(in.Alert) > 0:
		format := in.Format
		if format == "" {
			format = "native"
		}
		als, err := ingest.Parse(format, in.Alert)
		if err != nil {
			return triage.Result{}, core.Invalid("alert", "%v", err)
		}
		if len(als) != 1 {
			return triage.Result{}, core.Invalid("alert", "send exactly one alert (got %d)", len(als))
		}
		al = als[0]
		env.extra = 1
	case in.AlertID != 0:
		if err := needAlertReader(a); err != nil {
			return triage.Result{}, err
		}
		stored, err := app.store.GetAlert(ctx, in.AlertID, a.scope())
		if err != nil {
			return triage.Result{}, err
		}
		al = toIngest(stored)
	default:
		return triage.Result{}, core.Invalid("alert", "give alert or alert_id")
	}
	return set.Evaluate(&al, env, app.now().UTC(), false)
}

// toIngest gives a stored alert the shape rules match on.
func toIngest(s *core.Alert) ingest.Alert {
	al := ingest.Alert{
		Source: s.Source, SourceEventID: s.SourceEventID, NativeSeverity: s.NativeSeverity, Severity: s.Severity,
		RuleID: s.RuleID, RuleName: s.RuleName, Title: s.Title, Host: s.Host, User: s.User,
		SrcIP: s.SrcIP, SrcPort: s.SrcPort, DstIP: s.DstIP, DstPort: s.DstPort, Process: s.Process,
		FileHash: s.FileHash, URL: s.URL, Domain: s.Domain, Email: s.Email, Raw: s.Raw, Fingerprint: s.Fingerprint,
		ReceivedAt: s.FirstSeen,
	}
	if s.EventTime != nil {
		al.EventTime = *s.EventTime
	}
	for _, o := range s.Observables {
		al.Observables = append(al.Observables, ingest.Observable{Type: o.Type, Value: o.Value})
	}
	return al
}

// --- Bulk alert actions ---

// MaxBulk bounds the alerts one bulk request may change.
const MaxBulk = 10000

// Bulk actions.
const (
	BulkAcknowledge = "acknowledge"
	BulkClose       = "close"
	BulkPromote     = "promote"
	BulkAttach      = "attach"
	BulkSuppress    = "suppress"
)

// BulkActions lists every bulk action.
var BulkActions = []string{BulkAcknowledge, BulkClose, BulkPromote, BulkAttach, BulkSuppress}

// BulkInput is one bulk request: an action on the alerts named by IDs or
// matching Filter (exactly one of them), with the action's arguments.
type BulkInput struct {
	Action string
	IDs    []int64
	Filter *store.AlertFilter
	// Close: why.
	CloseReason core.CloseReason
	// Suppress: why, and for how long (or until when; neither: no expiry).
	SuppressReason string
	For            time.Duration
	Until          *time.Time
	// Attach: the incident's key.
	Incident string
	// Promote: the new incident (empty fields as for PromoteAlert).
	Promote PromoteInput
}

// Bulk outcomes of one alert.
const (
	BulkChanged   = "changed"
	BulkUnchanged = "unchanged"
	BulkConflict  = "conflict"
	BulkNotFound  = "not_found"
)

// BulkItem is what became of one alert.
type BulkItem struct {
	ID      int64            `json:"id"`
	Outcome string           `json:"outcome"`
	Status  core.AlertStatus `json:"status,omitempty"`
	Detail  string           `json:"detail,omitempty"`
}

// BulkResult answers a bulk request.
type BulkResult struct {
	Action   string         `json:"action"`
	Changed  int            `json:"changed"`
	Incident *core.Incident `json:"incident,omitempty"`
	Items    []BulkItem     `json:"items"`
}

func (in *BulkInput) validate() error {
	switch in.Action {
	case BulkAcknowledge, BulkPromote:
	case BulkClose:
		if in.CloseReason == "" {
			return core.Invalid("reason", "is required (false_positive, benign or duplicate)")
		}
		if !in.CloseReason.Valid() {
			return core.Invalid("reason", "unknown reason %q (false_positive, benign or duplicate)", in.CloseReason)
		}
	case BulkAttach:
		if _, _, err := core.ParseIncidentKey(in.Incident); err != nil {
			return core.Invalid("incident", "%q is not an incident key", in.Incident)
		}
	case BulkSuppress:
		if in.SuppressReason == "" {
			return core.Invalid("reason", "is required: say why these alerts are noise")
		}
		if len(in.SuppressReason) > 1000 {
			return core.Invalid("reason", "is longer than 1000 bytes")
		}
		if in.For < 0 || in.For > 366*24*time.Hour {
			return core.Invalid("for", "must be from 1s to 366 days")
		}
		if in.For > 0 && in.Until != nil {
			return core.Invalid("until", "give for or until, not both")
		}
	case "":
		return core.Invalid("action", "is required (one of acknowledge, close, promote, attach, suppress)")
	default:
		return core.Invalid("action", "unknown action %q (one of acknowledge, close, promote, attach, suppress)", in.Action)
	}
	if in.Action != BulkPromote && (in.Promote != PromoteInput{}) {
		return core.Invalid("category", "category, severity and title go with promote only")
	}
	if in.Promote.Category != "" && !in.Promote.Category.Valid() {
		return core.Invalid("category", "unknown category %q", in.Promote.Category)
	}
	if in.Promote.Severity != "" && !in.Promote.Severity.Valid() {
		return core.Invalid("severity", "unknown severity %q (S1 to S4)", in.Promote.Severity)
	}
	switch {
	case len(in.IDs) > 0 && in.Filter != nil:
		return core.Invalid("ids", "give ids or filter, not both")
	case len(in.IDs) == 0 && in.Filter == nil:
		return core.Invalid("ids", "give the alerts' ids or a filter")
	case len(in.IDs) > MaxBulk:
		return core.Invalid("ids", "at most %d alerts per request (got %d)", MaxBulk, len(in.IDs))
	}
	for _, id := range in.IDs {
		if id < 1 {
			return core.Invalid("ids", "%d is not an alert id", id)
		}
	}
	return nil
}

// BulkAlerts applies one action to many alerts in one transaction and
// answers what became of each. Alerts whose state does not allow the
// action are reported as conflicts and left alone; the others change,
// each with its own audit event (the same type as for one alert, marked
// "bulk"), so an alert's history reads the same whichever way it was
// worked. Promoting opens one incident for all of them. Bad input,
// an incident that cannot be attached to, or a filter matching more than
// MaxBulk alerts changes nothing.
func (app *App) BulkAlerts(ctx context.Context, a Actor, in BulkInput) (*BulkResult, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not work alerts")
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *BulkResult
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		res := &BulkResult{Action: in.Action, Items: []BulkItem{}}
		ids := in.IDs
		if in.Filter != nil {
			f := *in.Filter
			f.Scope = a.scope()
			var err error
			if ids, err = tx.AlertIDs(ctx, f, MaxBulk); err != nil {
				return err
			}
			if len(ids) > MaxBulk {
				return core.Invalid("filter", "matches more than %d alerts; narrow it", MaxBulk)
			}
		}
		var inc *core.Incident
		if in.Action == BulkAttach {
			var err error
			if inc, err = tx.GetIncident(ctx, in.Incident, a.scope()); err != nil {
				return err
			}
			if err := needAnalyst(a)(inc); err != nil {
				return err
			}
		}
		var until *time.Time
		if in.Action == BulkSuppress {
			until = suppressUntil(triage.Action{For: in.For, Until: in.Until}, tx.Now())
		}
		seen := map[int64]bool{}
		var toPromote []*core.Alert
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			st, err := tx.AlertState(ctx, id)
			if errors.Is(err, core.ErrNotFound) {
				res.Items = append(res.Items, BulkItem{ID: id, Outcome: BulkNotFound})
				continue
			}
			if err != nil {
				return err
			}
			item := BulkItem{ID: id, Outcome: BulkChanged, Status: st.Status}
			conflict := func(what string) {
				item.Outcome = BulkConflict
				item.Detail = fmt.Sprintf("alert is %s; only %s alerts can be %s", st.Status, what, map[string]string{
					BulkAcknowledge: "acknowledged", BulkClose: "closed", BulkPromote: "promoted", BulkAttach: "attached", BulkSuppress: "suppressed"}[in.Action])
			}
			payload := map[string]any{"alert": id, "from": st.Status, "bulk": true}
			switch in.Action {
			case BulkAcknowledge:
				switch st.Status {
				case core.AlertAcknowledged:
					item.Outcome = BulkUnchanged
				case core.AlertNew:
					if err := tx.SetAlertStatus(ctx, id, core.AlertAcknowledged, ""); err != nil {
						return err
					}
					delete(payload, "from")
					if err := appendEvent(ctx, tx, a, core.EvAlertAcknowledged, 0, payload); err != nil {
						return err
					}
					item.Status = core.AlertAcknowledged
				default:
					conflict("new")
				}
			case BulkClose:
				if !st.Status.Open() && st.Status != core.AlertSuppressed {
					conflict("new, acknowledged or suppressed")
					break
				}
				if err := tx.SetAlertStatus(ctx, id, core.AlertClosed, in.CloseReason); err != nil {
					return err
				}
				payload["reason"] = in.CloseReason
				if err := appendEvent(ctx, tx, a, core.EvAlertClosed, 0, payload); err != nil {
					return err
				}
				item.Status = core.AlertClosed
			case BulkSuppress:
				if !st.Status.Open() {
					conflict("new or acknowledged")
					break
				}
				if err := tx.SuppressAlert(ctx, id, in.SuppressReason, until); err != nil {
					return err
				}
				payload["reason"], payload["until"] = in.SuppressReason, until
				if err := appendEvent(ctx, tx, a, core.EvAlertSuppressed, 0, payload); err != nil {
					return err
				}
				if until != nil {
					app.triage.expiring.Store(true)
				}
				item.Status = core.AlertSuppressed
			case BulkAttach:
				if !st.Status.Open() {
					conflict("new or acknowledged")
					break
				}
				if err := tx.SetAlertStatus(ctx, id, core.AlertPromoted, ""); err != nil {
					return err
				}
				if err := tx.LinkAlertIncident(ctx, id, inc.ID, a.User.ID); err != nil {
					return err
				}
				if err := appendEvent(ctx, tx, a, core.EvAlertAttached, inc.ID, payload); err != nil {
					return err
				}
				item.Status = core.AlertPromoted
			case BulkPromote:
				if !st.Status.Open() {
					conflict("new or acknowledged")
					break
				}
				full, err := tx.GetAlert(ctx, id, a.scope())
				if err != nil {
					return err
				}
				toPromote = append(toPromote, full)
				item.Status = core.AlertPromoted
			}
			if item.Outcome == BulkChanged {
				res.Changed++
			}
			res.Items = append(res.Items, item)
		}
		if len(toPromote) > 0 {
			n, err := incidentFromAlerts(a, toPromote, in.Promote)
			if err != nil {
				return err
			}
			if err := app.createIncident(ctx, tx, a, n, &toPromote[0].FirstSeen); err != nil {
				return err
			}
			for _, al := range toPromote {
				if err := tx.SetAlertStatus(ctx, al.ID, core.AlertPromoted, ""); err != nil {
					return err
				}
				if err := tx.LinkAlertIncident(ctx, al.ID, n.ID, a.User.ID); err != nil {
					return err
				}
				if err := appendEvent(ctx, tx, a, core.EvAlertPromoted, n.ID, map[string]any{"alert": al.ID, "from": al.Status, "bulk": true}); err != nil {
					return err
				}
			}
			res.Incident = n
		}
		out = res
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
