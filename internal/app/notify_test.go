package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/escalation"
	"github.com/irdesk/irdesk/internal/notify"
	"github.com/irdesk/irdesk/internal/store"
)

func newNotifyApp(tb testing.TB, start time.Time, nc NotifyConfig) (*App, *clock) {
	tb.Helper()
	c := &clock{t: start}
	st, err := store.OpenSQLite(context.Background(), tb.TempDir(), store.Options{Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if nc.BaseURL == "" {
		nc.BaseURL = "https://irdesk.example.jp"
	}
	a := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now,
		Config{SessionTTL: time.Hour, PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}, Notify: nc})
	return a, c
}

func order(n int) *int { return &n }

func addContact(tb testing.TB, a *App, c core.Contact) *core.Contact {
	tb.Helper()
	c.Active = true
	out, err := a.SaveContact(context.Background(), SystemActor, &c)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func email(addr string) []core.Channel { return []core.Channel{{Type: "email", Address: addr}} }

// outbox returns every notification, oldest first.
func outbox(tb testing.TB, a *App) []*store.Outbox {
	tb.Helper()
	rows, _, err := a.store.FindNotifications(context.Background(), store.NotificationFilter{Scope: store.Scope{All: true}, Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Reverse(rows)
	return rows
}

func recipients(rows []*store.Outbox) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Recipient)
	}
	return out
}

func escalatedEvents(tb testing.TB, a *App, key string) []map[string]any {
	tb.Helper()
	evs, err := a.Timeline(context.Background(), SystemActor, key, 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []map[string]any
	for _, e := range evs {
		if e.Type != core.EvEscalated {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			tb.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func standardTree(tb testing.TB, a *App) {
	addContact(tb, a, core.Contact{Name: "On-call A", Roles: []string{"technical"}, OnCallOrder: order(1), Channels: email("a@example.jp")})
	addContact(tb, a, core.Contact{Name: "On-call B", Roles: []string{"technical"}, OnCallOrder: order(2), Channels: email("b@example.jp"), Language: "en"})
	addContact(tb, a, core.Contact{Name: "On-call C", Roles: []string{"technical"}, OnCallOrder: order(3), Channels: email("c@example.jp")})
	addContact(tb, a, core.Contact{Name: "Lead", Roles: []string{"lead"}, Channels: email("lead@example.jp")})
	addContact(tb, a, core.Contact{Name: "CISO", Roles: []string{"management"}, Channels: []core.Channel{{Type: "webhook", Address: "https://hooks.example.jp/ciso"}}})
	addContact(tb, a, core.Contact{Name: "Legal", Roles: []string{"legal"}, Channels: []core.Channel{{Type: "slack", Address: "https://hooks.slack.com/services/T0/B0/secret"}}})
	addContact(tb, a, core.Contact{Name: "PR", Kind: "internal", Roles: []string{"pr"}, Channels: []core.Channel{{Type: "teams", Address: "https://prod.westus.logic.azure.com/workflows/x"}, {Type: "phone", Address: "03-1234-5678"}}})
}

func TestEscalationOnChangeFiresOnceEach(t *testing.T) {
	ctx := context.Background()
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	standardTree(t, a)

	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "ファイルサーバが暗号化された", Category: core.CatRansomware, Severity: core.S1})
	if err != nil {
		t.Fatal(err)
	}
	got := recipients(outbox(t, a))
	// Rule by rule; within a rule, in the order of the contact tree.
	want := []string{"On-call A", "CISO", "Lead"}
	if !slices.Equal(got, want) {
		t.Fatalf("told %v, want %v", got, want)
	}
	evs := escalatedEvents(t, a, inc.Key)
	if len(evs) != 2 || evs[0]["rule"] != "default-first-on-call" || evs[1]["rule"] != "default-severe" {
		t.Fatalf("escalation events %v", evs)
	}

	// A change that matches nothing new tells nobody again.
	if _, err := a.UpdateIncident(ctx, SystemActor, inc.Key, core.IncidentPatch{Title: core.Opt[string]{Set: true, Value: "ファイルサーバ暗号化（拡大中）"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(outbox(t, a)); n != 3 {
		t.Fatalf("%d notifications after an unrelated change, want 3", n)
	}

	// Personal data: legal and PR, once; PR's phone is not dialled.
	patch := core.IncidentPatch{Flags: core.FlagsPatch{PersonalData: core.Opt[bool]{Set: true, Value: true}}}
	if _, err := a.UpdateIncident(ctx, SystemActor, inc.Key, patch); err != nil {
		t.Fatal(err)
	}
	patch = core.IncidentPatch{Flags: core.FlagsPatch{PeopleAffected: core.Opt[int64]{Set: true, Value: 2000}}}
	if _, err := a.UpdateIncident(ctx, SystemActor, inc.Key, patch); err != nil {
		t.Fatal(err)
	}
	rows := outbox(t, a)
	got = recipients(rows)
	want = []string{"On-call A", "CISO", "Lead", "Legal", "PR"}
	if !slices.Equal(got, want) {
		t.Fatalf("told %v, want %v", got, want)
	}
	if rows[4].Channel != "teams" {
		t.Errorf("PR reached over %s, want teams only", rows[4].Channel)
	}
	keys := map[string]bool{}
	for _, r := range rows {
		if keys[r.IdempotencyKey] {
			t.Errorf("idempotency key %s repeated", r.IdempotencyKey)
		}
		keys[r.IdempotencyKey] = true
		if r.Link != "https://irdesk.example.jp/incidents/"+inc.Key {
			t.Errorf("link %q", r.Link)
		}
	}
	if !strings.Contains(rows[0].Subject, inc.Key) || !strings.Contains(rows[0].Body, "ランサムウェア") {
		t.Errorf("Japanese message: %q / %q", rows[0].Subject, rows[0].Body)
	}

	// Downgrading and upgrading again does not repeat the S1/S2 message.
	for _, sev := range []core.Severity{core.S3, core.S2} {
		if _, err := a.UpdateIncident(ctx, SystemActor, inc.Key, core.IncidentPatch{Severity: core.Opt[core.Severity]{Set: true, Value: sev}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(outbox(t, a)); n != 5 {
		t.Fatalf("%d notifications after severity changes, want 5", n)
	}
	// Everything was audited, and the chain holds.
	if _, err := a.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyContactTreeKeepsFiringOpen(t *testing.T) {
	ctx := context.Background()
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "early", Severity: core.S2})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(outbox(t, a)); n != 0 {
		t.Fatalf("%d notifications with no contacts", n)
	}
	if evs := escalatedEvents(t, a, inc.Key); len(evs) != 0 {
		t.Fatalf("escalation events with no contacts: %v", evs)
	}
	// The lead is entered; the next change to the incident tells them.
	addContact(t, a, core.Contact{Name: "Lead", Roles: []string{"lead"}, Channels: email("lead@example.jp")})
	if _, err := a.UpdateIncident(ctx, SystemActor, inc.Key, core.IncidentPatch{Description: core.Opt[string]{Set: true, Value: "more"}}); err != nil {
		t.Fatal(err)
	}
	if got := recipients(outbox(t, a)); !slices.Equal(got, []string{"Lead"}) {
		t.Fatalf("told %v", got)
	}
}

func TestUnacknowledgedWalksTheOnCallOrder(t *testing.T) {
	ctx := context.Background()
	a, c := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	standardTree(t, a)
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "sato", Role: core.RoleAnalyst}); err != nil {
		t.Fatal(err)
	}
	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "不審な通信", Severity: core.S3})
	if err != nil {
		t.Fatal(err)
	}
	sweep := func(want int) {
		t.Helper()
		n, err := a.RunEscalations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("sweep fired %d, want %d", n, want)
		}
	}
	sweep(0)
	c.advance(29 * time.Minute)
	sweep(0)
	c.advance(time.Minute + time.Second)
	sweep(1)
	sweep(0)
	if got := recipients(outbox(t, a)); !slices.Equal(got, []string{"On-call A", "On-call B"}) {
		t.Fatalf("told %v", got)
	}
	rows := outbox(t, a)
	if !strings.Contains(rows[1].Body, "number 2 in the on-call order") {
		t.Errorf("B's English message: %q", rows[1].Body)
	}
	c.advance(30 * time.Minute)
	sweep(1)
	// The order has three people: a fourth period tells nobody new, and
	// the firing is recorded as unreachable rather than repeated.
	c.advance(30 * time.Minute)
	sweep(1)
	sweep(0)
	if got := recipients(outbox(t, a)); !slices.Equal(got, []string{"On-call A", "On-call B", "On-call C"}) {
		t.Fatalf("told %v", got)
	}
	// Taking the incident on stops the escalation.
	if _, err := a.Assign(ctx, SystemActor, inc.Key, "sato", ""); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * time.Hour)
	sweep(0)
}

func TestTaskOverdueAndLegalClockEscalations(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	a, c := newNotifyApp(t, start, NotifyConfig{})
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "sato", Role: core.RoleAnalyst}); err != nil {
		t.Fatal(err)
	}
	addContact(t, a, core.Contact{Name: "佐藤", User: "sato", Roles: []string{"technical"}, Channels: email("sato@example.jp")})
	addContact(t, a, core.Contact{Name: "Legal", Roles: []string{"legal"}, Channels: email("legal@example.jp"), Language: "en"})
	addContact(t, a, core.Contact{Name: "Board", Roles: []string{"management"}, Channels: email("board@example.jp")})

	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "顧客名簿の漏えい", Category: core.CatDataLeak, Severity: core.S3,
		Flags: core.Flags{PersonalData: true, SensitivePersonalData: true}})
	if err != nil {
		t.Fatal(err)
	}
	due := start.Add(time.Hour)
	if _, err := a.CreateTask(ctx, SystemActor, inc.Key, NewTask{Title: "ログを保全する", Assignee: "sato", DueAt: &due}); err != nil {
		t.Fatal(err)
	}
	before := len(outbox(t, a))

	c.advance(2 * time.Hour)
	if _, err := a.RunEscalations(ctx); err != nil {
		t.Fatal(err)
	}
	rows := outbox(t, a)[before:]
	var taskMsgs []*store.Outbox
	for _, r := range rows {
		if r.RuleID == "default-task-overdue" {
			taskMsgs = append(taskMsgs, r)
		}
	}
	if len(taskMsgs) != 1 || taskMsgs[0].Recipient != "佐藤" || !strings.Contains(taskMsgs[0].Body, "ログを保全する") {
		t.Fatalf("task overdue messages: %+v", taskMsgs)
	}
	before = len(outbox(t, a))
	if _, err := a.RunEscalations(ctx); err != nil {
		t.Fatal(err)
	}
	if len(outbox(t, a)) != before {
		t.Fatal("second sweep repeated messages")
	}

	// Day 3 after awareness: the PPC preliminary report is due soon.
	c.advance(3 * 24 * time.Hour)
	if _, err := a.RunEscalations(ctx); err != nil {
		t.Fatal(err)
	}
	var soon []*store.Outbox
	for _, r := range outbox(t, a)[before:] {
		if r.RuleID == "default-clock-due-soon" && strings.Contains(r.Subject, "deadline approaching") {
			soon = append(soon, r)
		}
	}
	if len(soon) == 0 {
		t.Fatalf("no clock due-soon message to legal (English): %v", recipients(outbox(t, a)[before:]))
	}
	if !strings.Contains(soon[0].Body, "PPC") {
		t.Errorf("English clock message does not name the PPC report: %q", soon[0].Body)
	}
	n := len(outbox(t, a))
	if _, err := a.RunEscalations(ctx); err != nil {
		t.Fatal(err)
	}
	if len(outbox(t, a)) != n {
		t.Fatal("due-soon messages repeated")
	}
	// Past the deadline: legal and management, once.
	c.advance(10 * 24 * time.Hour)
	if _, err := a.RunEscalations(ctx); err != nil {
		t.Fatal(err)
	}
	var late []string
	for _, r := range outbox(t, a)[n:] {
		if r.RuleID == "default-clock-overdue" {
			late = append(late, r.Recipient)
		}
	}
	if !slices.Contains(late, "Board") || !slices.Contains(late, "Legal") {
		t.Fatalf("overdue clock told %v", late)
	}
}

func TestRestrictedIncidentMessagesHideTheTitle(t *testing.T) {
	ctx := context.Background()
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	addContact(t, a, core.Contact{Name: "Lead", Roles: []string{"lead"}, Channels: []core.Channel{{Type: "slack", Address: "https://hooks.slack.com/services/x"}}})
	if _, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "役員Xによる内部不正", Category: core.CatInsider, Severity: core.S2, Restricted: true}); err != nil {
		t.Fatal(err)
	}
	rows := outbox(t, a)
	if len(rows) != 1 {
		t.Fatalf("%d messages", len(rows))
	}
	if strings.Contains(rows[0].Subject+rows[0].Body, "役員X") || strings.Contains(rows[0].Body, "内部不正") {
		t.Errorf("restricted incident leaked into the message: %q %q", rows[0].Subject, rows[0].Body)
	}
}

// receiver is a webhook endpoint that checks signatures and fails the
// first n requests.
type receiver struct {
	mu       sync.Mutex
	secret   []byte
	failN    int
	status   int
	keys     []string
	badSigs  int
	payloads []notify.WebhookPayload
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := notify.VerifySignature(rc.secret, r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		rc.badSigs++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.keys = append(rc.keys, r.Header.Get("Idempotency-Key"))
	if rc.failN > 0 {
		rc.failN--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if rc.status != 0 {
		http.Error(w, "no", rc.status)
		return
	}
	var p notify.WebhookPayload
	_ = json.Unmarshal(body, &p)
	rc.payloads = append(rc.payloads, p)
}

func TestOutboxRetriesWithTheSameKeyUntilDelivered(t *testing.T) {
	ctx := context.Background()
	secret := []byte("s3cret-for-hmac")
	rc := &receiver{secret: secret, failN: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	a, c := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{Backoff: 30 * time.Second, MaxAttempts: 5})
	addContact(t, a, core.Contact{Name: "SOAR", Kind: "group", OnCallOrder: order(1), Channels: []core.Channel{{Type: "webhook", Address: srv.URL + "/hook"}}})
	inc, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "webhook test", Severity: core.S3})
	if err != nil {
		t.Fatal(err)
	}
	w := &notify.Worker{Queue: a.Outbox(), Senders: map[string]notify.Sender{"webhook": notify.Webhook{Client: notify.HTTPClient(), Secret: secret}}}
	run := func(want int) {
		t.Helper()
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("claimed %d, want %d", n, want)
		}
	}
	run(1) // fails
	run(0) // backing off
	c.advance(40 * time.Second)
	run(1) // fails again
	c.advance(30 * time.Second)
	run(0) // the second wait is twice as long
	c.advance(60 * time.Second)
	run(1) // delivered
	c.advance(time.Hour)
	run(0)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.badSigs != 0 || len(rc.keys) != 3 || rc.keys[0] != rc.keys[1] || rc.keys[1] != rc.keys[2] || rc.keys[0] == "" {
		t.Fatalf("keys %v, bad signatures %d", rc.keys, rc.badSigs)
	}
	if len(rc.payloads) != 1 || rc.payloads[0].Incident != inc.Key || rc.payloads[0].IdempotencyKey != rc.keys[0] || rc.payloads[0].Attempt != 3 {
		t.Fatalf("payloads %+v", rc.payloads)
	}
	ns, _, err := a.Notifications(ctx, SystemActor, NotificationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Status != core.NotifyDelivered || ns[0].Attempts != 3 || ns[0].DeliveredAt == nil {
		t.Fatalf("notification %+v", ns)
	}
}

func TestOutboxPermanentFailureStaysVisibleAndCanBeRetried(t *testing.T) {
	ctx := context.Background()
	secret := []byte("k")
	rc := &receiver{secret: secret, status: http.StatusNotFound}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	addContact(t, a, core.Contact{Name: "Hook", Kind: "group", OnCallOrder: order(1), Channels: []core.Channel{{Type: "webhook", Address: srv.URL}}})
	if _, _, err := a.CreateUser(ctx, SystemActor, NewUser{Name: "viewer", Role: core.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "x", Severity: core.S4}); err != nil {
		t.Fatal(err)
	}
	w := &notify.Worker{Queue: a.Outbox(), Senders: map[string]notify.Sender{"webhook": notify.Webhook{Client: notify.HTTPClient(), Secret: secret}}}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	failed, _, err := a.Notifications(ctx, SystemActor, NotificationFilter{Status: core.NotifyFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Attempts != 1 || !strings.Contains(failed[0].LastError, "404") {
		t.Fatalf("failed: %+v", failed)
	}
	analyst := Actor{User: core.User{ID: 99, Name: "ana", Role: core.RoleAnalyst}}
	if ns, _, err := a.Notifications(ctx, analyst, NotificationFilter{}); err != nil || !strings.HasSuffix(ns[0].Address, "/…") {
		t.Fatalf("analyst sees address %q (%v)", ns[0].Address, err)
	}
	viewer := Actor{User: core.User{ID: 98, Name: "viewer", Role: core.RoleViewer}}
	if _, err := a.RetryNotification(ctx, viewer, failed[0].ID); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("viewer retry: %v", err)
	}
	rc.mu.Lock()
	rc.status = 0
	rc.mu.Unlock()
	if _, err := a.RetryNotification(ctx, SystemActor, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RetryNotification(ctx, SystemActor, failed[0].ID); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("retrying a pending notification: %v", err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ns, _, _ := a.Notifications(ctx, SystemActor, NotificationFilter{})
	if ns[0].Status != core.NotifyDelivered {
		t.Fatalf("after retry: %+v", ns[0])
	}
}

func TestEscalationRulesAPI(t *testing.T) {
	ctx := context.Background()
	fileRules, err := escalation.ParseFile("esc.yaml", []byte(`rules:
  - id: ransomware-exec
    name: Ransomware → executives
    when: {category: [ransomware]}
    notify: {roles: [executive]}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{Rules: fileRules})
	lead := Actor{User: core.User{ID: 50, Name: "lead", Role: core.RoleLead}}
	analyst := Actor{User: core.User{ID: 51, Name: "ana", Role: core.RoleAnalyst}}

	off := &escalation.Rule{ID: "default-first-on-call", Name: "off", Disabled: true, Notify: escalation.Notify{OnCall: "first"}}
	if _, err := a.SaveEscalationRule(ctx, analyst, off); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("analyst saving a rule: %v", err)
	}
	if _, err := a.SaveEscalationRule(ctx, lead, off); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SaveEscalationRule(ctx, lead, &escalation.Rule{ID: "ransomware-exec", Name: "x", Notify: escalation.Notify{Roles: []string{"lead"}}}); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("changing a file rule: %v", err)
	}
	if _, err := a.SaveEscalationRule(ctx, lead, &escalation.Rule{ID: "bad", Name: "x", Notify: escalation.Notify{Roles: []string{"janitor"}}}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("unknown role: %v", err)
	}
	rules, err := a.EscalationRules(ctx, analyst)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID+"/"+r.Source)
		if r.ID == "default-first-on-call" && !r.Disabled {
			t.Error("the API override did not disable the default")
		}
	}
	if !slices.Contains(ids, "ransomware-exec/file") || !slices.Contains(ids, "default-first-on-call/api") || !slices.Contains(ids, "default-severe/builtin") {
		t.Fatalf("rules %v", ids)
	}

	addContact(t, a, core.Contact{Name: "A", OnCallOrder: order(1), Channels: email("a@example.jp")})
	addContact(t, a, core.Contact{Name: "CEO", Roles: []string{"executive"}, Channels: email("ceo@example.jp")})
	if _, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "r", Category: core.CatRansomware, Severity: core.S3}); err != nil {
		t.Fatal(err)
	}
	if got := recipients(outbox(t, a)); !slices.Equal(got, []string{"CEO"}) {
		t.Fatalf("told %v (first on call is disabled, the file rule tells the CEO)", got)
	}
	if err := a.DeleteEscalationRule(ctx, lead, "default-first-on-call"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteEscalationRule(ctx, lead, "default-first-on-call"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestContactValidationAndAuthz(t *testing.T) {
	ctx := context.Background()
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{})
	analyst := Actor{User: core.User{ID: 51, Name: "ana", Role: core.RoleAnalyst}}
	reporter := Actor{User: core.User{ID: 52, Name: "rep", Role: core.RoleReporter}}
	if _, err := a.SaveContact(ctx, analyst, &core.Contact{Name: "x"}); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("analyst adding a contact: %v", err)
	}
	if _, err := a.ListContacts(ctx, reporter); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("reporter reading contacts: %v", err)
	}
	bad := []core.Contact{
		{Name: ""},
		{Name: "x", Roles: []string{"boss"}},
		{Name: "x", Channels: []core.Channel{{Type: "email", Address: "not an address"}}},
		{Name: "x", Channels: []core.Channel{{Type: "slack", Address: "ftp://x"}}},
		{Name: "x", Channels: []core.Channel{{Type: "webhook", Address: "https://user:pw@example.jp/"}}},
		{Name: "x", Channels: []core.Channel{{Type: "pager", Address: "1"}}},
		{Name: "x", OnCallOrder: order(0)},
		{Name: "x", Language: "fr"},
		{Name: "x", User: "nobody"},
	}
	for _, c := range bad {
		if _, err := a.SaveContact(ctx, SystemActor, &c); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v, want invalid", c, err)
		}
	}
	c := addContact(t, a, core.Contact{Name: "JPCERT/CC", Kind: "external", Party: "jpcert", Channels: email("info@jpcert.or.jp")})
	if _, err := a.SaveContact(ctx, SystemActor, &core.Contact{Name: "JPCERT/CC"}); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	stale := *c
	c.Notes = "平日 10:00-17:00"
	if _, err := a.SaveContact(ctx, SystemActor, c); err != nil {
		t.Fatal(err)
	}
	stale.Notes = "old"
	if _, err := a.SaveContact(ctx, SystemActor, &stale); !errors.Is(err, core.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	if err := a.DeleteContact(ctx, SystemActor, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetContact(ctx, SystemActor, c.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("deleted contact: %v", err)
	}
}

// TestWebhookToRefusedDestinationFailsPermanently: a lead points a webhook
// at a name that resolves to loopback; the guarded delivery client refuses
// it without calling the receiver, and the notification is failed at once
// with the address and --webhook-allow named but not the URL. Once the
// operator allows loopback, a retry delivers it.
func TestWebhookToRefusedDestinationFailsPermanently(t *testing.T) {
	ctx := context.Background()
	secret := []byte("k")
	rc := &receiver{secret: secret}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	dflt, err := notify.ParseDestinations("")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{Destinations: dflt})
	lead := Actor{User: core.User{ID: 50, Name: "lead", Role: core.RoleLead}}
	hook := "http://localhost" + port + "/hooks/s3cr3t-path"
	if _, err := a.SaveContact(ctx, lead, &core.Contact{Name: "SOAR", Kind: "group", Active: true, OnCallOrder: order(1),
		Channels: []core.Channel{{Type: "webhook", Address: hook}}}); err != nil {
		t.Fatal(err) // a host name is only resolved, and judged, at delivery
	}
	if _, err := a.CreateIncident(ctx, SystemActor, NewIncident{Title: "SSRF", Severity: core.S3}); err != nil {
		t.Fatal(err)
	}
	w := &notify.Worker{Queue: a.Outbox(), Senders: map[string]notify.Sender{"webhook": notify.Webhook{Client: notify.GuardedClient(dflt), Secret: secret}}}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	failed, _, err := a.Notifications(ctx, SystemActor, NotificationFilter{Status: core.NotifyFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Attempts != 1 {
		t.Fatalf("failed: %+v", failed)
	}
	msg := failed[0].LastError
	if !strings.Contains(msg, "--webhook-allow") || !strings.Contains(msg, "loopback") ||
		!(strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "::1")) {
		t.Errorf("last error %q does not name the address and the flag", msg)
	}
	if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, port) {
		t.Errorf("last error %q shows the URL", msg)
	}
	rc.mu.Lock()
	called := len(rc.keys) + rc.badSigs
	rc.mu.Unlock()
	if called != 0 {
		t.Fatalf("the refused receiver was called %d times", called)
	}

	allow, err := notify.ParseDestinations("127.0.0.1/32,::1")
	if err != nil {
		t.Fatal(err)
	}
	w.Senders["webhook"] = notify.Webhook{Client: notify.GuardedClient(allow), Secret: secret}
	if _, err := a.RetryNotification(ctx, SystemActor, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ns, _, err := a.Notifications(ctx, SystemActor, NotificationFilter{})
	if err != nil || len(ns) != 1 || ns[0].Status != core.NotifyDelivered {
		t.Fatalf("after allowing loopback: %+v %v", ns, err)
	}
}

// TestSavingWebhookToRefusedAddressIsInvalid: a contact or rule channel
// whose URL host is a refused IP literal is turned away on save, naming
// the field; allowed and public addresses and host names are kept.
func TestSavingWebhookToRefusedAddressIsInvalid(t *testing.T) {
	ctx := context.Background()
	dest, err := notify.ParseDestinations("10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := newNotifyApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), NotifyConfig{Destinations: dest})
	lead := Actor{User: core.User{ID: 50, Name: "lead", Role: core.RoleLead}}
	for i, tc := range []struct {
		addr  string
		field string // "" is accepted
	}{
		{"http://169.254.169.254/latest/meta-data/", "channels[1].address"},
		{"http://127.0.0.1:8080/api/v1/users", "channels[1].address"},
		{"https://[::ffff:127.0.0.1]/x", "channels[1].address"},
		{"https://[fd00::1]/x", "channels[1].address"},
		{"http://100.64.0.9/x", "channels[1].address"},
		{"http://10.1.2.3:8065/hooks/abc", ""},
		{"https://203.0.113.10/hooks/abc", ""},
		{"https://hooks.slack.com/services/T/B/x", ""},
	} {
		c := &core.Contact{Name: "c " + tc.addr, Kind: "group", Active: true,
			Channels: []core.Channel{{Type: "email", Address: "soc@example.jp"}, {Type: "slack", Address: tc.addr}}}
		_, err := a.SaveContact(ctx, lead, c)
		checkField(t, "contact "+tc.addr, err, tc.field)
		r := &escalation.Rule{ID: fmt.Sprintf("r-%d", i), Name: "x",
			Notify: escalation.Notify{Channels: []core.Channel{{Type: "webhook", Address: tc.addr}}}}
		_, err = a.SaveEscalationRule(ctx, lead, r)
		checkField(t, "rule "+tc.addr, err, strings.Replace(tc.field, "channels[1]", "notify.channels[0]", 1))
	}
}

func checkField(t *testing.T, what string, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return
	}
	var fe *core.FieldError
	if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Message, "--webhook-allow") {
		t.Errorf("%s: %v, want a field error on %s naming --webhook-allow", what, err, field)
	}
}
