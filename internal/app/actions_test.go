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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/actions"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// actionApp is an App whose response actions go to a local service that
// answers 503 while fail is set and can hold a request until released.
type actionApp struct {
	*App
	sent    atomic.Int32
	fail    atomic.Bool
	arrived chan struct{}
	release chan struct{}
	users   map[string]Actor
	key     string
}

func newActionApp(t *testing.T) *actionApp {
	t.Helper()
	aa := &actionApp{arrived: make(chan struct{}, 8), release: make(chan struct{}), users: map[string]Actor{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		aa.sent.Add(1)
		if strings.HasPrefix(r.URL.Path, "/slow/") {
			aa.arrived <- struct{}{}
			<-aa.release
		}
		if aa.fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	set, err := actions.Load(actions.Builtin(), "app-test-actions.yaml", []byte(fmt.Sprintf(`
actions:
  - name: disable-user
    label: {ja: アカウントを無効化, en: Disable the account}
    observable: user
    destructive: true
    base_url: %[1]s
    request: {method: POST, url: '/users/{{.Value}}/disable'}
    expect_status: [200]
  - name: slow-block
    label: {ja: 遅い遮断, en: Slow block}
    observable: ip
    base_url: %[1]s
    request: {method: POST, url: '/slow/{{.Value}}'}
    expect_status: [200]
  - name: block-ip
    label: {ja: IP 遮断, en: Block the address}
    observable: ip
    base_url: %[1]s
    request: {method: POST, url: '/block/{{.Value}}'}
    expect_status: [200]
`, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	aa.App = New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, Config{SessionTTL: time.Hour,
		PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32},
		Actions:        ActionsConfig{Set: set, Backoff: time.Hour}})
	ctx := context.Background()
	for _, u := range []struct {
		name string
		role core.Role
	}{{"viewer", core.RoleViewer}, {"analyst", core.RoleAnalyst}, {"analyst2", core.RoleAnalyst}, {"lead", core.RoleLead},
		{"lead2", core.RoleLead}, {"admin", core.RoleAdmin}} {
		user, _, err := aa.CreateUser(ctx, SystemActor, NewUser{Name: u.name, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		aa.users[u.name] = Actor{User: user}
	}
	inc, err := aa.CreateIncident(ctx, aa.users["analyst"], NewIncident{Title: "ランサムウェア感染の疑い"})
	if err != nil {
		t.Fatal(err)
	}
	aa.key = inc.Key
	return aa
}

func (aa *actionApp) run(t *testing.T, as, action, value string) *store.ActionRun {
	t.Helper()
	r, err := aa.RunAction(context.Background(), aa.users[as], aa.key, RunActionInput{Action: action, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (aa *actionApp) events(t *testing.T, typ string) []map[string]any {
	t.Helper()
	evs, err := aa.Timeline(context.Background(), aa.users["admin"], aa.key, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		if ev.Type == typ {
			p := map[string]any{"actor": ev.Actor}
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// TestRejectAndCancelActionRunRules: who may reject and cancel, what
// either needs, and that each is final and audited.
func TestRejectAndCancelActionRunRules(t *testing.T) {
	ctx := context.Background()
	aa := newActionApp(t)
	waiting := aa.run(t, "analyst", "disable-user", "taro")
	own := aa.run(t, "lead", "disable-user", "jiro")

	for _, tt := range []struct {
		as, reason string
		id         int64
		want       error
		field      string
	}{
		{"viewer", "no", waiting.ID, core.ErrForbidden, ""},
		{"analyst", "no", waiting.ID, core.ErrForbidden, ""},
		{"analyst2", "no", waiting.ID, core.ErrForbidden, ""},
		{"lead", "no", own.ID, core.ErrForbidden, ""}, // the requester cancels instead
		{"lead2", "  ", waiting.ID, core.ErrInvalid, "reason"},
		{"lead2", strings.Repeat("長", core.MaxShortLen+1), waiting.ID, core.ErrInvalid, "reason"},
		{"lead2", "no", 999999, core.ErrNotFound, ""},
	} {
		_, err := aa.RejectActionRun(ctx, aa.users[tt.as], tt.id, tt.reason)
		var fe *core.FieldError
		if !errors.Is(err, tt.want) || tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
			t.Errorf("reject as %s (%q): %v, want %v", tt.as, tt.reason, err, tt.want)
		}
	}
	if _, err := aa.RejectActionRun(ctx, SystemActor, waiting.ID, "no"); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("the system rejected: %v", err)
	}
	got, err := aa.RejectActionRun(ctx, aa.users["lead"], waiting.ID, "  wrong host: taro is the CEO's test account ")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.ActionRejected || got.RejectedBy != "lead" || got.Reason != "wrong host: taro is the CEO's test account" || got.RejectedAt == nil {
		t.Errorf("rejected run %+v", got)
	}
	if _, err := aa.ApproveActionRun(ctx, aa.users["lead2"], waiting.ID); !errors.Is(err, core.ErrConflict) {
		t.Errorf("approving a rejected run: %v", err)
	}
	if _, err := aa.CancelActionRun(ctx, aa.users["analyst"], waiting.ID, ""); !errors.Is(err, core.ErrConflict) {
		t.Errorf("cancelling a rejected run: %v", err)
	}

	// Cancel: the requester or a lead, never another analyst or a viewer.
	for _, as := range []string{"viewer", "analyst"} {
		if _, err := aa.CancelActionRun(ctx, aa.users[as], own.ID, ""); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s cancels the lead's run: %v", as, err)
		}
	}
	mine := aa.run(t, "analyst", "disable-user", "saburo")
	if _, err := aa.CancelActionRun(ctx, aa.users["analyst2"], mine.ID, ""); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("another analyst cancels: %v", err)
	}
	if got, err := aa.CancelActionRun(ctx, aa.users["analyst"], mine.ID, ""); err != nil || got.Status != store.ActionCancelled || got.CancelledBy != "analyst" {
		t.Fatalf("the requester cancels: %+v %v", got, err)
	}
	if got, err := aa.CancelActionRun(ctx, aa.users["admin"], own.ID, "duplicate request"); err != nil || got.CancelledBy != "admin" || got.Reason != "duplicate request" {
		t.Fatalf("an admin cancels: %+v %v", got, err)
	}
	if _, err := aa.CancelActionRun(ctx, aa.users["admin"], own.ID, ""); !errors.Is(err, core.ErrConflict) {
		t.Errorf("cancelling twice: %v", err)
	}
	if n, err := aa.RunDueActions(ctx, 8); err != nil || n != 0 || aa.sent.Load() != 0 {
		t.Errorf("rejected or cancelled runs were sent: %d %v %d", n, err, aa.sent.Load())
	}

	rej := aa.events(t, core.EvActionRejected)
	if len(rej) != 1 || rej[0]["actor"] != "lead" || rej[0]["reason"] != "wrong host: taro is the CEO's test account" || rej[0]["requested_by"] != "analyst" {
		t.Errorf("rejection events %v", rej)
	}
	can := aa.events(t, core.EvActionCancelled)
	if len(can) != 2 || can[0]["actor"] != "analyst" || can[1]["actor"] != "admin" || can[1]["reason"] != "duplicate request" ||
		can[1]["status"] != store.ActionAwaitingApproval {
		t.Errorf("cancellation events %v", can)
	}
	if n, err := aa.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("audit chain: %d %v", n, err)
	}
}

// TestCancelRacesTheWorker: a run the worker is sending cannot be
// cancelled; one waiting for its next retry can, and is never sent again.
func TestCancelRacesTheWorker(t *testing.T) {
	ctx := context.Background()
	aa := newActionApp(t)
	slow := aa.run(t, "analyst", "slow-block", "203.0.113.9")
	done := make(chan error, 1)
	go func() { _, err := aa.RunDueActions(ctx, 8); done <- err }()
	select {
	case <-aa.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not send the run")
	}
	_, err := aa.CancelActionRun(ctx, aa.users["analyst"], slow.ID, "too late")
	if !errors.Is(err, core.ErrConflict) || !strings.Contains(err.Error(), "being sent") {
		t.Errorf("cancel while sending: %v", err)
	}
	close(aa.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := aa.GetActionRun(ctx, SystemActor, slow.ID); got.Status != store.ActionSucceeded {
		t.Errorf("the run being sent did not finish: %+v", got)
	}

	aa.fail.Store(true)
	retry := aa.run(t, "analyst", "block-ip", "198.51.100.4")
	if n, err := aa.RunDueActions(ctx, 8); err != nil || n != 1 {
		t.Fatalf("first attempt: %d %v", n, err)
	}
	got, _ := aa.GetActionRun(ctx, SystemActor, retry.ID)
	if got.Status != store.ActionPending || got.Attempts != 1 || got.ClaimedUntil != nil || got.NextAttemptAt == nil {
		t.Fatalf("waiting for a retry: %+v", got)
	}
	got, err = aa.CancelActionRun(ctx, aa.users["lead"], retry.ID, "blocked on the firewall by hand")
	if err != nil || got.Status != store.ActionCancelled || got.Attempts != 1 {
		t.Fatalf("cancel a run waiting to retry: %+v %v", got, err)
	}
	before := aa.sent.Load()
	aa.fail.Store(false)
	if n, err := aa.RunDueActions(ctx, 8); err != nil || n != 0 || aa.sent.Load() != before {
		t.Errorf("a cancelled run was sent again: %d %v", n, err)
	}
	if evs := aa.events(t, core.EvActionCancelled); len(evs) != 1 || evs[0]["status"] != store.ActionPending {
		t.Errorf("cancellation events %v", evs)
	}
}
