package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/escalation"
	"github.com/irdesk/irdesk/internal/notify"
	"github.com/irdesk/irdesk/internal/store"
)

// Escalation and outbox defaults.
const (
	defaultNotifyAttempts = 8
	defaultNotifyBackoff  = 30 * time.Second
	maxNotifyBackoff      = time.Hour
)

// NotifyConfig tunes escalation and delivery.
type NotifyConfig struct {
	// Rules are the escalation rules from the --escalation file, laid over
	// the built-in defaults; API rules are laid over both.
	Rules []*escalation.Rule
	// BaseURL is where people open irdesk; messages link to
	// BaseURL/incidents/KEY.
	BaseURL string
	// MaxAttempts bounds delivery attempts of one message (default 8).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles per
	// attempt up to an hour (default 30s).
	Backoff time.Duration
	// Location is the time zone of times in messages (default Asia/Tokyo).
	Location *time.Location
	// Kick, if set, is called after a transaction queued messages, so the
	// delivery worker need not wait for its next tick.
	Kick func()
	// Destinations, if set, is the --webhook-allow policy: a contact or
	// rule channel whose URL names a refused IP address is turned away
	// when saved. The delivery client enforces it in any case (names are
	// only resolved there); this check tells the lead at once.
	Destinations *notify.Destinations
}

func (c NotifyConfig) withDefaults() NotifyConfig {
	if c.Kick == nil {
		c.Kick = func() {}
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = defaultNotifyAttempts
	}
	if c.Backoff <= 0 {
		c.Backoff = defaultNotifyBackoff
	}
	if c.Location == nil {
		c.Location = jst
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return c
}

// ---- contacts ----

// ListContacts returns the contact tree. Analysts and up read it; only
// leads and admins see webhook addresses whole, since Slack and Teams put
// their credential in the URL.
func (app *App) ListContacts(ctx context.Context, a Actor) ([]*core.Contact, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not read the contact tree")
	}
	cs, err := app.store.ListContacts(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		maskContact(a, c)
	}
	return cs, nil
}

// GetContact returns one contact.
func (app *App) GetContact(ctx context.Context, a Actor, id int64) (*core.Contact, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not read the contact tree")
	}
	c, err := app.store.GetContact(ctx, id)
	if err != nil {
		return nil, err
	}
	maskContact(a, c)
	return c, nil
}

func maskContact(a Actor, c *core.Contact) {
	if a.System || a.User.Role.AtLeastLead() {
		return
	}
	for i := range c.Channels {
		c.Channels[i] = c.Channels[i].Masked()
	}
}

func needContactEditor(a Actor) error {
	if a.System || a.User.Role.AtLeastLead() {
		return nil
	}
	return forbidden("only leads and admins may change the contact tree")
}

// SaveContact creates (ID 0) or replaces a contact. Version must be the
// stored one when replacing.
func (app *App) SaveContact(ctx context.Context, a Actor, c *core.Contact) (*core.Contact, error) {
	if err := needContactEditor(a); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := app.checkDestinations("channels", c.Channels); err != nil {
		return nil, err
	}
	userName := c.User
	if userName != "" {
		id, err := app.UserID(ctx, userName)
		if err != nil {
			if errors.Is(err, core.ErrNotFound) {
				return nil, core.Invalid("user", "no user named %q", userName)
			}
			return nil, err
		}
		c.UserID = id
	} else {
		c.UserID = 0
	}
	created := c.ID == 0
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		saved := *c
		if err := tx.SaveContact(ctx, &saved); err != nil {
			return err
		}
		typ := core.EvContactUpdated
		if created {
			typ = core.EvContactCreated
		}
		// The event keeps the contact without its channel addresses: the
		// audit trail is read more widely than the contact tree.
		logged := saved
		logged.Channels = nil
		for _, ch := range saved.Channels {
			logged.Channels = append(logged.Channels, ch.Masked())
		}
		if err := appendEvent(ctx, tx, a, typ, 0, map[string]any{"contact": logged}); err != nil {
			return err
		}
		*c = saved
		return nil
	})
	app.escCache.reset()
	if err != nil {
		return nil, err
	}
	c.User = userName
	return c, nil
}

// checkDestinations refuses webhook channels whose URL host is an IP
// address the delivery client would refuse; field is the channels'
// field name in the request (channels, notify.channels).
func (app *App) checkDestinations(field string, chs []core.Channel) error {
	if app.notifyCfg.Destinations == nil {
		return nil
	}
	for i, ch := range chs {
		switch ch.Type {
		case "slack", "teams", "webhook":
		default:
			continue
		}
		u, err := url.Parse(ch.Address)
		if err != nil {
			continue // Validate reported it
		}
		ip, err := netip.ParseAddr(u.Hostname())
		if err != nil {
			continue
		}
		if err := app.notifyCfg.Destinations.Check(u.Hostname(), ip); err != nil {
			return core.Invalid(fmt.Sprintf("%s[%d].address", field, i), "%v", err)
		}
	}
	return nil
}

// DeleteContact removes a contact from the tree.
func (app *App) DeleteContact(ctx context.Context, a Actor, id int64) error {
	if err := needContactEditor(a); err != nil {
		return err
	}
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.GetContact(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteContact(ctx, id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvContactDeleted, 0, map[string]any{"id": id, "name": c.Name})
	})
	app.escCache.reset()
	return err
}

// ---- escalation rules ----

// EscalationRules returns the rules in force: built-in defaults, then the
// file's, then the API's, each replacing the one before with the same id.
func (app *App) EscalationRules(ctx context.Context, a Actor) ([]*escalation.Rule, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not read escalation rules")
	}
	rules, err := app.escalationRules(ctx, app.store)
	if err != nil || a.System || a.User.Role.AtLeastLead() {
		return rules, err
	}
	// Slack and Teams put their credential in the URL: analysts see where
	// a rule sends, not the secret.
	out := make([]*escalation.Rule, len(rules))
	for i, r := range rules {
		out[i] = maskedRule(r)
	}
	return out, nil
}

// maskedRule is a copy of r with its channel addresses masked.
func maskedRule(r *escalation.Rule) *escalation.Rule {
	c := *r
	c.Notify.Channels = make([]core.Channel, len(r.Notify.Channels))
	for i, ch := range r.Notify.Channels {
		c.Notify.Channels[i] = ch.Masked()
	}
	return &c
}

type ruleReader interface {
	ListEscalationRules(ctx context.Context) ([]store.StoredRule, error)
}

// escalationCacheTTL bounds how long a rule or contact change made on
// another node goes unseen here; changes made through this process clear
// the cache at once.
const escalationCacheTTL = 2 * time.Second

// escalationCache keeps the rules in force and whether the contact tree
// has anyone in it: both are read by every change of every incident,
// and both change rarely.
type escalationCache struct {
	mu          sync.Mutex
	rules       []*escalation.Rule
	hasContacts bool
	expires     time.Time
	gen         uint64
}

func (c *escalationCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.rules, c.expires = nil, time.Time{}
}

// escalationState returns the rules in force and whether any contact
// exists, from the cache when fresh.
func (app *App) escalationState(ctx context.Context) ([]*escalation.Rule, bool, error) {
	c := &app.escCache
	now := app.now()
	c.mu.Lock()
	if c.rules != nil && now.Before(c.expires) {
		rules, has := c.rules, c.hasContacts
		c.mu.Unlock()
		return rules, has, nil
	}
	gen := c.gen
	c.mu.Unlock()
	rules, err := app.escalationRules(ctx, app.store)
	if err != nil {
		return nil, false, err
	}
	has, err := app.store.HasContacts(ctx)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	if gen == c.gen {
		c.rules, c.hasContacts, c.expires = rules, has, now.Add(escalationCacheTTL)
	}
	c.mu.Unlock()
	return rules, has, nil
}

func (app *App) escalationRules(ctx context.Context, r ruleReader) ([]*escalation.Rule, error) {
	stored, err := r.ListEscalationRules(ctx)
	if err != nil {
		return nil, err
	}
	api := make([]*escalation.Rule, 0, len(stored))
	for _, s := range stored {
		var rule escalation.Rule
		if err := json.Unmarshal([]byte(s.Definition), &rule); err != nil {
			return nil, fmt.Errorf("escalation rule %q: %w", s.ID, err)
		}
		rule.Source = "api"
		api = append(api, &rule)
	}
	builtin := escalation.Defaults()
	for _, r := range builtin {
		r.Source = "builtin"
	}
	return escalation.Merge(builtin, app.notifyCfg.Rules, api), nil
}

// SaveEscalationRule creates or replaces an API rule. A rule from the
// file cannot be changed here (it would come back at the next start);
// a built-in rule can be overridden, typically to disable it.
func (app *App) SaveEscalationRule(ctx context.Context, a Actor, r *escalation.Rule) (*escalation.Rule, error) {
	if !a.System && !a.User.Role.AtLeastLead() {
		return nil, forbidden("only leads and admins may change escalation rules")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := app.checkDestinations("notify.channels", r.Notify.Channels); err != nil {
		return nil, err
	}
	for _, f := range app.notifyCfg.Rules {
		if f.ID == r.ID {
			return nil, core.Conflict("rule %q comes from the escalation file; change it there", r.ID)
		}
	}
	r.Source = "api"
	def, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SaveEscalationRule(ctx, r.ID, string(def)); err != nil {
			return err
		}
		// The audit trail is read more widely than the rules: no secrets.
		return appendEvent(ctx, tx, a, core.EvEscalationRuleSaved, 0, map[string]any{"rule": maskedRule(r)})
	})
	app.escCache.reset()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteEscalationRule removes an API rule (a built-in one it overrode
// comes back).
func (app *App) DeleteEscalationRule(ctx context.Context, a Actor, id string) error {
	if !a.System && !a.User.Role.AtLeastLead() {
		return forbidden("only leads and admins may change escalation rules")
	}
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteEscalationRule(ctx, id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvEscalationRuleDeleted, 0, map[string]any{"id": id})
	})
	app.escCache.reset()
	return err
}

// ---- escalation ----

// escalateOnChange fires the rules that look at the incident as it now
// stands, in the transaction that changed it: the notification is written
// with the change or not at all. It reports whether anything fired, so
// the caller can kick the delivery worker once the transaction committed.
func (app *App) escalateOnChange(ctx context.Context, tx *store.Tx, inc *core.Incident) (bool, error) {
	rules, hasContacts, err := app.escalationState(ctx)
	if err != nil {
		return false, err
	}
	firings := escalation.Evaluate(rules, escalation.Situation{Incident: inc, Now: tx.Now()}, false)
	if !hasContacts {
		// Nobody to tell unless a rule names a channel itself: skip the
		// look-ups (a fresh install files incidents at full speed).
		firings = slices.DeleteFunc(firings, func(f escalation.Firing) bool { return len(f.Rule.Notify.Channels) == 0 })
	}
	n, err := app.fire(ctx, tx, inc, firings)
	return n > 0, err
}

// fire acts on the firings not acted on before: records each, queues a
// message per reachable channel of each recipient and writes one audit
// event per firing naming the rule and who was told.
func (app *App) fire(ctx context.Context, tx *store.Tx, inc *core.Incident, firings []escalation.Firing) (int, error) {
	if len(firings) == 0 {
		return 0, nil
	}
	fired, err := tx.EscalationsFired(ctx, []int64{inc.ID})
	if err != nil {
		return 0, err
	}
	firings = slices.DeleteFunc(firings, func(f escalation.Firing) bool {
		return fired[store.FiredKey{RuleID: f.Rule.ID, IncidentID: inc.ID, Subject: f.Subject}]
	})
	if len(firings) == 0 {
		return 0, nil
	}
	contacts, err := tx.ListContacts(ctx)
	if err != nil {
		return 0, err
	}
	acted := 0
	for _, f := range firings {
		if len(contacts) == 0 && len(f.Rule.Notify.Channels) == 0 {
			// An empty contact tree (a fresh install) tells nobody; the
			// firing stays open so the next change after the tree is
			// filled in still tells the people it names.
			continue
		}
		isNew, err := tx.MarkEscalationFired(ctx, store.FiredKey{RuleID: f.Rule.ID, IncidentID: inc.ID, Subject: f.Subject})
		if err != nil {
			return acted, err
		}
		if !isNew {
			continue
		}
		acted++
		recipients := app.recipients(f, inc, contacts)
		var told, unreachable []string
		for _, rc := range recipients {
			if len(rc.channels) == 0 {
				unreachable = append(unreachable, rc.name)
				continue
			}
			told = append(told, rc.name)
			for _, ch := range rc.channels {
				if err := app.enqueue(ctx, tx, inc, f, rc, ch); err != nil {
					return acted, err
				}
			}
		}
		payload := map[string]any{"rule": f.Rule.ID, "rule_name": f.Rule.Name, "reason": f.Reason, "told": nonNil(told)}
		if f.Subject != "" {
			payload["subject"] = f.Subject
		}
		if len(unreachable) > 0 {
			payload["unreachable"] = unreachable
		}
		if err := appendEvent(ctx, tx, SystemActor, core.EvEscalated, inc.ID, payload); err != nil {
			return acted, err
		}
	}
	return acted, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type recipient struct {
	name      string
	contactID int64
	language  string
	channels  []core.Channel
}

// recipients resolves a firing's notify clause against the contact tree.
// A contact named twice (by role and by name) is told once.
func (app *App) recipients(f escalation.Firing, inc *core.Incident, contacts []*core.Contact) []recipient {
	n := f.Rule.Notify
	var picked []*core.Contact
	seen := map[int64]bool{}
	add := func(c *core.Contact) {
		if c != nil && c.Active && !seen[c.ID] {
			seen[c.ID] = true
			picked = append(picked, c)
		}
	}
	for _, c := range contacts {
		for _, r := range n.Roles {
			if slices.Contains(c.Roles, r) {
				add(c)
			}
		}
		if slices.Contains(n.Contacts, c.Name) {
			add(c)
		}
	}
	if f.OnCallPosition > 0 {
		var order []*core.Contact
		for _, c := range contacts {
			if c.Active && c.OnCallOrder != nil {
				order = append(order, c)
			}
		}
		// ListContacts sorts by on-call order already; positions count
		// the active ones only, so a disabled person is skipped.
		if f.OnCallPosition <= len(order) {
			add(order[f.OnCallPosition-1])
		}
	}
	if n.Assignee {
		user := inc.AssigneeID
		if f.Task != nil && f.Task.Assignee != "" {
			user = 0
			for _, c := range contacts {
				if c.User == f.Task.Assignee {
					add(c)
				}
			}
		}
		if user != 0 {
			for _, c := range contacts {
				if c.UserID == user {
					add(c)
				}
			}
		}
	}
	out := make([]recipient, 0, len(picked)+len(n.Channels))
	for _, c := range picked {
		rc := recipient{name: c.Name, contactID: c.ID, language: c.Language}
		for _, ch := range c.Channels {
			if ch.Automatic() && (len(n.Via) == 0 || slices.Contains(n.Via, ch.Type)) {
				rc.channels = append(rc.channels, ch)
			}
		}
		out = append(out, rc)
	}
	for _, ch := range n.Channels {
		name := ch.Label
		if name == "" {
			name = ch.Type + " channel"
		}
		out = append(out, recipient{name: name, language: "ja", channels: []core.Channel{ch}})
	}
	return out
}

// enqueue writes one message to the outbox. Its idempotency key is derived
// from what it is about, so a transaction that runs twice, or a firing
// replayed by another node, queues it once.
func (app *App) enqueue(ctx context.Context, tx *store.Tx, inc *core.Incident, f escalation.Firing, rc recipient, ch core.Channel) error {
	content := notify.Content{IncidentKey: inc.Key, Title: inc.Title, Severity: string(inc.Severity), Priority: string(inc.Priority),
		Category: string(inc.Category), Phase: string(inc.Phase), Assignee: inc.Assignee, Restricted: inc.Restricted,
		Exercise: inc.Exercise, Reason: f.Reason, RuleName: f.Rule.Name, OnCallPosition: f.OnCallPosition, Location: app.notifyCfg.Location}
	if f.Task != nil {
		content.TaskTitle, content.Due = f.Task.Title, f.Task.Due
	}
	if f.Clock != nil {
		content.ClockTitle, content.Due = f.Clock.Title, f.Clock.Due
		if rc.language == "en" && f.Clock.TitleEN != "" {
			content.ClockTitle = f.Clock.TitleEN
		}
	}
	subject, body := notify.Render(rc.language, content)
	link := ""
	if app.notifyCfg.BaseURL != "" {
		link = app.notifyCfg.BaseURL + "/incidents/" + inc.Key
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{f.Rule.ID, strconv.FormatInt(inc.ID, 10), f.Subject,
		strconv.FormatInt(rc.contactID, 10), ch.Type, ch.Address}, "\x00")))
	return tx.EnqueueNotification(ctx, &store.Outbox{
		Notification: core.Notification{IdempotencyKey: "irdesk-" + hex.EncodeToString(sum[:16]), IncidentID: inc.ID,
			IncidentKey: inc.Key, RuleID: f.Rule.ID, Recipient: rc.name, Channel: ch.Type, Address: ch.Address,
			Language: rc.language, Subject: subject, MaxAttempts: app.notifyCfg.MaxAttempts},
		ContactID: rc.contactID, Body: body, Link: link, Severity: string(inc.Severity),
	})
}

// RunEscalations is the periodic sweep: for every open incident it fires
// the rules that wait for time to pass (not acknowledged within D, task
// overdue, legal clock due soon or overdue). It returns how many firings
// it acted on. Time comes from the app's clock, so tests fast-forward.
func (app *App) RunEscalations(ctx context.Context) (int, error) {
	rules, err := app.escalationRules(ctx, app.store)
	if err != nil {
		return 0, err
	}
	var needTasks, needClocks, any bool
	for _, r := range rules {
		if r.Disabled || !r.Timed() {
			continue
		}
		any = true
		needTasks = needTasks || r.When.TaskOverdue
		needClocks = needClocks || r.When.ClockDueSoon || r.When.ClockOverdue
	}
	if !any {
		return 0, nil
	}
	now := app.now()
	open := true
	f := store.IncidentFilter{Scope: store.Scope{All: true}, Open: &open, Limit: store.MaxListLimit}
	total := 0
	for {
		incs, more, err := app.store.FindIncidents(ctx, f)
		if err != nil {
			return total, err
		}
		n, err := app.sweepPage(ctx, rules, incs, now, needTasks, needClocks)
		total += n
		if err != nil {
			return total, err
		}
		if !more || len(incs) == 0 {
			return total, nil
		}
		f.Before = incs[len(incs)-1].ID
	}
}

func (app *App) sweepPage(ctx context.Context, rules []*escalation.Rule, incs []*core.Incident, now time.Time, needTasks, needClocks bool) (int, error) {
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	fired, err := app.store.EscalationsFired(ctx, ids)
	if err != nil {
		return 0, err
	}
	var recs []store.ClockRecord
	if needClocks {
		if recs, err = app.store.ClockRecords(ctx, ids); err != nil {
			return 0, err
		}
	}
	total := 0
	for _, inc := range incs {
		sit := escalation.Situation{Incident: inc, Now: now}
		if needClocks {
			for _, v := range app.clockViews(inc, recs, now) {
				if v.State == "due_soon" || v.State == "overdue" {
					sit.Clocks = append(sit.Clocks, escalation.ClockRef{RuleID: v.RuleID, Title: v.TitleJA, TitleEN: v.TitleEN, State: v.State, Due: v.Due})
				}
			}
		}
		if needTasks {
			stored, err := app.store.ListTasks(ctx, inc.ID)
			if err != nil {
				return total, err
			}
			for _, t := range app.taskList(inc, stored) {
				if t.DueAt != nil && t.DueAt.Before(now) && (t.Status == core.TaskTodo || t.Status == core.TaskDoing) {
					sit.Overdue = append(sit.Overdue, escalation.TaskRef{ID: t.ID, Title: t.TitleJA, Assignee: t.Assignee, Due: *t.DueAt})
				}
			}
		}
		firings := escalation.Evaluate(rules, sit, true)
		firings = slices.DeleteFunc(firings, func(f escalation.Firing) bool {
			return fired[store.FiredKey{RuleID: f.Rule.ID, IncidentID: inc.ID, Subject: f.Subject}]
		})
		if len(firings) == 0 {
			continue
		}
		acted := 0
		err := app.store.InTx(ctx, func(tx *store.Tx) error {
			// Re-read in the transaction: the incident may have been
			// acknowledged or closed since the page was read.
			cur, err := tx.GetIncident(ctx, inc.Key, store.Scope{All: true})
			if err != nil {
				return err
			}
			if cur.Phase == core.PhaseClosed {
				return nil
			}
			sit.Incident = cur
			again := escalation.Evaluate(rules, sit, true)
			n, err := app.fire(ctx, tx, cur, again)
			acted = n
			return err
		})
		if err != nil {
			return total, fmt.Errorf("escalate %s: %w", inc.Key, err)
		}
		total += acted
		if acted > 0 {
			app.notifyCfg.Kick()
		}
	}
	return total, nil
}

// ---- the outbox, as the delivery worker sees it ----

// Outbox is the app's side of notify.Queue.
type Outbox struct{ app *App }

// Outbox returns the queue the delivery worker drains.
func (app *App) Outbox() *Outbox { return &Outbox{app: app} }

// ClaimNotifications implements notify.Queue.
func (o *Outbox) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]notify.Message, error) {
	// Looking on the read pool first keeps an idle worker out of the
	// single writer. The look is a little generous (the writer's clock can
	// run a hair ahead of ours); the claim itself decides exactly.
	if due, err := o.app.store.NotificationsDue(ctx, o.app.now().Add(time.Second)); err != nil || !due {
		return nil, err
	}
	var msgs []notify.Message
	err := o.app.store.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.ClaimNotifications(ctx, limit, lease)
		if err != nil {
			return err
		}
		msgs = msgs[:0]
		for _, r := range rows {
			msgs = append(msgs, notify.Message{ID: r.ID, IdempotencyKey: r.IdempotencyKey, Channel: r.Channel, Address: r.Address,
				Recipient: r.Recipient, Language: r.Language, Subject: r.Subject, Body: r.Body, Link: r.Link,
				IncidentKey: r.IncidentKey, Severity: r.Severity, RuleID: r.RuleID, Attempt: r.Attempts})
		}
		return nil
	})
	return msgs, err
}

// NotificationDelivered implements notify.Queue.
func (o *Outbox) NotificationDelivered(ctx context.Context, id int64) error {
	return o.app.store.InTx(ctx, func(tx *store.Tx) error { return tx.NotificationDelivered(ctx, id) })
}

// NotificationFailed implements notify.Queue: the next attempt follows
// the backoff, unless the failure is permanent or the attempts are spent.
func (o *Outbox) NotificationFailed(ctx context.Context, id int64, reason string, permanent bool) error {
	return o.app.store.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.GetNotification(ctx, id)
		if err != nil {
			return err
		}
		var next *time.Time
		if !permanent && n.Attempts < n.MaxAttempts {
			t := tx.Now().Add(notify.Backoff(n.Attempts, o.app.notifyCfg.Backoff, maxNotifyBackoff))
			next = &t
		}
		return tx.NotificationFailed(ctx, id, reason, next)
	})
}

// NotificationFilter selects notifications for Notifications.
type NotificationFilter struct {
	Status      string
	IncidentKey string
	Before      int64
	Limit       int
}

// Notifications lists the outbox for analysts and up; messages about
// incidents the actor may not see are left out. Addresses of webhooks
// are masked for all but leads and admins.
func (app *App) Notifications(ctx context.Context, a Actor, f NotificationFilter) ([]core.Notification, bool, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, false, forbidden("your role may not read notifications")
	}
	switch f.Status {
	case "", core.NotifyPending, core.NotifyDelivered, core.NotifyFailed:
	default:
		return nil, false, core.Invalid("status", "one of pending, delivered, failed")
	}
	sf := store.NotificationFilter{Status: f.Status, Scope: a.scope(), Before: f.Before, Limit: f.Limit}
	if f.IncidentKey != "" {
		inc, err := app.readIncident(ctx, a, f.IncidentKey)
		if err != nil {
			return nil, false, err
		}
		sf.IncidentID = inc.ID
	}
	rows, more, err := app.store.FindNotifications(ctx, sf)
	if err != nil {
		return nil, false, err
	}
	out := make([]core.Notification, len(rows))
	for i, r := range rows {
		out[i] = r.Notification
		if !a.System && !a.User.Role.AtLeastLead() {
			out[i].Address = core.Channel{Type: r.Channel, Address: r.Address}.Masked().Address
		}
	}
	return out, more, nil
}

// RetryNotification puts a failed notification back in the queue.
func (app *App) RetryNotification(ctx context.Context, a Actor, id int64) (core.Notification, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return core.Notification{}, forbidden("your role may not retry notifications")
	}
	var out core.Notification
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.GetNotification(ctx, id)
		if err != nil {
			return err
		}
		if n.IncidentID != 0 {
			if _, err := tx.GetIncident(ctx, n.IncidentKey, a.scope()); err != nil {
				if errors.Is(err, core.ErrNotFound) {
					return fmt.Errorf("notification %d: %w", id, core.ErrNotFound)
				}
				return err
			}
		}
		if err := tx.RetryNotification(ctx, id); err != nil {
			return err
		}
		defer app.notifyCfg.Kick()
		if err := appendEvent(ctx, tx, a, core.EvNotificationRetried, n.IncidentID, map[string]any{"notification": id, "recipient": n.Recipient, "channel": n.Channel}); err != nil {
			return err
		}
		n2, err := tx.GetNotification(ctx, id)
		if err != nil {
			return err
		}
		out = n2.Notification
		return nil
	})
	return out, err
}
