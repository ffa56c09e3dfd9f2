package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/actions"
	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/notify"
	"github.com/irdesk/irdesk/internal/store"
)

// Secrets of the action tests: none may ever show in an answer, an event
// or a log line.
var actionSecrets = map[string]string{
	"IRDESK_SECRET_DEFENDER_CLIENT_SECRET": "def-client-secret-7731",
	"IRDESK_SECRET_FALCON_CLIENT_SECRET":   "falcon-client-secret-5521",
	"IRDESK_SECRET_GRAPH_CLIENT_SECRET":    "graph-client-secret-9982",
	"IRDESK_SECRET_WEBHOOK_SECRET":         "webhook-hmac-secret-4410",
}

// seen is one request a fake vendor received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// vendor is a local stand-in for Defender, Falcon, Graph and the token
// endpoints, recording what it receives.
type vendor struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seen
	// fail answers the next n API requests (not token requests) with 503.
	fail int
	// tokens counts token grants.
	tokens int
}

func newVendor(t *testing.T) *vendor {
	v := &vendor{}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v.mu.Lock()
		defer v.mu.Unlock()
		v.seen = append(v.seen, seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		if strings.HasSuffix(r.URL.Path, "/token") {
			form, _ := url.ParseQuery(string(body))
			want := map[string]string{"/tenant-1/oauth2/v2.0/token": "def-client-secret-7731", "/oauth2/token": "falcon-client-secret-5521",
				"/tenant-2/oauth2/v2.0/token": "graph-client-secret-9982"}[r.URL.Path]
			if r.Method != "POST" || form.Get("grant_type") != "client_credentials" || form.Get("client_id") != "app-id" || form.Get("client_secret") != want ||
				r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client"}`)
				return
			}
			v.tokens++
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"access-%s-%d"}`, strings.Trim(strings.ReplaceAll(form.Get("scope"), "/", ""), "."), v.tokens)
			return
		}
		if v.fail > 0 {
			v.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		// Echo the credentials back, as a careless service might: they
		// must be masked before anything is stored.
		status := map[bool]int{true: http.StatusCreated}[strings.HasSuffix(r.URL.Path, "/isolate")]
		switch {
		case strings.HasPrefix(r.URL.Path, "/bad/"):
			status = http.StatusBadRequest
		case strings.Contains(r.URL.Path, "devices-actions"):
			status = http.StatusAccepted
		case status == 0:
			status = http.StatusOK
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"echo":%q,"ok":true}`, r.Header.Get("Authorization"))
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *vendor) requests() []seen {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]seen(nil), v.seen...)
}

func (v *vendor) apiRequests() []seen {
	var out []seen
	for _, s := range v.requests() {
		if !strings.HasSuffix(s.Path, "/token") {
			out = append(out, s)
		}
	}
	return out
}

// actionEnv is testEnv with response actions pointed at a vendor, and the
// server's log kept.
type actionEnv struct {
	*testEnv
	vendor *vendor
	log    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newActionEnv(t *testing.T) *actionEnv {
	t.Helper()
	v := newVendor(t)
	base := v.srv.URL
	set, err := actions.Load(actions.Builtin(), "test-actions.yaml", []byte(fmt.Sprintf(`
actions:
  - name: defender-isolate-machine
    base_url: %[1]s
    vars: {tenant_id: tenant-1, client_id: app-id}
    auth: {token_url: '%[1]s/{{var "tenant_id"}}/oauth2/v2.0/token'}
  - name: falcon-contain-host
    base_url: %[1]s
    vars: {client_id: app-id}
    auth: {token_url: '%[1]s/oauth2/token'}
  - name: entra-revoke-sessions
    base_url: %[1]s
    vars: {tenant_id: tenant-2, client_id: app-id}
    auth: {token_url: '%[1]s/{{var "tenant_id"}}/oauth2/v2.0/token'}
  - name: webhook-signed
    base_url: %[1]s/hooks/irdesk
  - name: always-400
    label: {ja: 常に失敗, en: Always fails}
    observable: ip
    base_url: %[1]s
    request: {method: POST, url: '/bad/{{.Value}}'}
    expect_status: [201]
`, base)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lookup := func(k string) (string, bool) { v, ok := actionSecrets[k]; return v, ok }
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32},
		Actions: app.ActionsConfig{Set: set, Backoff: time.Millisecond, LookupEnv: lookup}})
	srv := httptest.NewServer(New(a, log, metrics.NewRegistry(), Config{}))
	t.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	env := &testEnv{t: t, url: srv.URL, app: a, store: st, tokens: map[string]string{}, client: srv.Client()}
	for _, u := range append(testUsers, struct {
		name string
		role core.Role
	}{"lead2", core.RoleLead}) {
		if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: u.name, Role: u.role, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.CreateToken(ctx, app.SystemActor, u.name, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		env.tokens[u.name] = secret
	}
	return &actionEnv{testEnv: env, vendor: v, log: logs}
}

// drain runs the worker until no run is due, as the background worker
// would, but in step with the test.
func (e *actionEnv) drain() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := e.app.RunDueActions(context.Background(), 8)
		if err != nil {
			e.t.Fatal(err)
		}
		var pending struct{ Items []store.ActionRun }
		e.call("admin", "GET", "/api/v1/action-runs?status=pending", nil).json(e.t, &pending)
		if n == 0 && len(pending.Items) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatal("runs still pending after 10 s")
}

func (e *actionEnv) run(as, key, action, value string) store.ActionRun {
	e.t.Helper()
	r := e.call(as, "POST", "/api/v1/incidents/"+key+"/actions/run", map[string]string{"action": action, "value": value, "comment": "lateral movement"})
	if r.status != http.StatusAccepted {
		e.t.Fatalf("run %s as %s: %d %s", action, as, r.status, r.body)
	}
	var run store.ActionRun
	r.json(e.t, &run)
	return run
}

func (e *actionEnv) getRun(key string, id int64) store.ActionRun {
	e.t.Helper()
	var run store.ActionRun
	r := e.call("admin", "GET", fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d", key, id), nil)
	if r.status != 200 {
		e.t.Fatalf("get run: %d %s", r.status, r.body)
	}
	r.json(e.t, &run)
	return run
}

func jsonEqual(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: body is not JSON: %q", what, got)
	}
	json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: body\n got %s\nwant %s", what, got, want)
	}
}

// TestBuiltinActionsSendVendorRequests: each built-in template sends the
// request its vendor documents, with a bearer token from the token
// endpoint, and the outcome becomes an action record and an event.
func TestBuiltinActionsSendVendorRequests(t *testing.T) {
	e := newActionEnv(t)
	key := e.mustCreate("analyst", map[string]any{"title": "横展開の疑い", "category": "malware"})

	// Defender: destructive, so a lead approves first.
	run := e.run("analyst", key, "defender-isolate-machine", "7d4a0c5b3e2f1a0987654321fedcba0123456789")
	if run.Status != store.ActionAwaitingApproval {
		t.Fatalf("defender run: %+v", run)
	}
	if r := e.call("lead", "POST", fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d/approve", key, run.ID), nil); r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	e.drain()
	// Falcon: destructive too.
	run2 := e.run("analyst", key, "falcon-contain-host", "0123456789abcdef0123456789abcdef")
	e.call("lead", "POST", fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d/approve", key, run2.ID), nil)
	e.drain()
	// Entra ID and the webhook are not destructive: they go at once.
	run3 := e.run("analyst", key, "entra-revoke-sessions", "taro.yamada@example.co.jp")
	run4 := e.run("analyst", key, "webhook-signed", "fs01.corp.example")
	e.drain()

	api := e.vendor.apiRequests()
	if len(api) != 4 {
		t.Fatalf("%d API requests, want 4: %+v", len(api), api)
	}
	// The worker sends runs in parallel: find each by its path.
	find := func(prefix string) seen {
		for _, s := range api {
			if strings.HasPrefix(s.Path, prefix) {
				return s
			}
		}
		t.Fatalf("no request to %s", prefix)
		return seen{}
	}
	def, fal, gra, hook := find("/api/machines/"), find("/devices/"), find("/v1.0/users/"), find("/hooks/")
	if def.Method != "POST" || def.Path != "/api/machines/7d4a0c5b3e2f1a0987654321fedcba0123456789/isolate" ||
		def.Header.Get("Authorization") != "Bearer access-https:api.securitycenter.microsoft.com.default-1" ||
		def.Header.Get("Content-Type") != "application/json" {
		t.Errorf("defender request: %s %s %v", def.Method, def.Path, def.Header)
	}
	jsonEqual(t, "defender", def.Body, `{"Comment":"irdesk `+key+`: isolated by analyst. lateral movement","IsolationType":"Full"}`)
	if fal.Method != "POST" || fal.Path != "/devices/entities/devices-actions/v2" || fal.RawQuery != "action_name=contain" ||
		!strings.HasPrefix(fal.Header.Get("Authorization"), "Bearer access-") || fal.Header.Get("Content-Type") != "application/json" {
		t.Errorf("falcon request: %s %s?%s %v", fal.Method, fal.Path, fal.RawQuery, fal.Header)
	}
	jsonEqual(t, "falcon", fal.Body, `{"ids":["0123456789abcdef0123456789abcdef"]}`)
	if gra.Method != "POST" || gra.Path != "/v1.0/users/taro.yamada@example.co.jp/revokeSignInSessions" ||
		gra.Header.Get("Authorization") != "Bearer access-https:graph.microsoft.com.default-3" || len(gra.Body) != 0 {
		t.Errorf("graph request: %s %s %v %q", gra.Method, gra.Path, gra.Header, gra.Body)
	}
	if hook.Method != "POST" || hook.Path != "/hooks/irdesk" {
		t.Errorf("webhook request: %s %s", hook.Method, hook.Path)
	}
	if err := notify.VerifySignature([]byte(actionSecrets["IRDESK_SECRET_WEBHOOK_SECRET"]), hook.Header.Get("X-Irdesk-Timestamp"),
		hook.Header.Get("X-Irdesk-Signature"), hook.Body, time.Now(), time.Minute); err != nil {
		t.Errorf("webhook signature: %v (%v)", err, hook.Header)
	}
	jsonEqual(t, "webhook", hook.Body, fmt.Sprintf(`{"action":"webhook-signed","run_id":"%d","incident":"%s","observable":"fs01.corp.example","requested_by":"analyst","comment":"lateral movement"}`, run4.ID, key))
	// The token requests: Microsoft's v2 endpoint per tenant with the scope, Falcon's without.
	var tokenPaths []string
	for _, s := range e.vendor.requests() {
		if strings.HasSuffix(s.Path, "/token") {
			form, _ := url.ParseQuery(string(s.Body))
			tokenPaths = append(tokenPaths, s.Path+" "+form.Get("scope"))
		}
	}
	sort.Strings(tokenPaths)
	if strings.Join(tokenPaths, ",") != "/oauth2/token ,/tenant-1/oauth2/v2.0/token https://api.securitycenter.microsoft.com/.default,/tenant-2/oauth2/v2.0/token https://graph.microsoft.com/.default" {
		t.Errorf("token requests: %v", tokenPaths)
	}

	for _, id := range []int64{run.ID, run2.ID, run3.ID, run4.ID} {
		got := e.getRun(key, id)
		if got.Status != store.ActionSucceeded || got.Attempts != 1 || got.ResponseStatus == 0 || got.FinishedAt == nil {
			t.Errorf("run %d: %+v", id, got)
		}
	}
	var recs struct {
		Items []struct {
			Description string `json:"description"`
			Tool        string `json:"tool"`
			PerformedBy string `json:"performed_by"`
		}
	}
	e.call("analyst", "GET", "/api/v1/incidents/"+key+"/actions", nil).json(t, &recs)
	if len(recs.Items) != 4 || !strings.Contains(recs.Items[0].Description, "succeeded (HTTP 201)") || recs.Items[0].PerformedBy != "analyst" ||
		recs.Items[0].Tool != "irdesk response action defender-isolate-machine" {
		t.Errorf("action records: %+v", recs.Items)
	}
	tl := string(e.call("admin", "GET", "/api/v1/incidents/"+key+"/timeline", nil).body)
	for _, typ := range []string{"action.requested", "action.approved", "action.succeeded"} {
		if !strings.Contains(tl, typ) {
			t.Errorf("timeline has no %s", typ)
		}
	}
	e.eventCount()
	assertNoSecrets(t, e, key)
}

// assertNoSecrets: no secret, no access token and no signature appears
// in any answer, event or log line.
func assertNoSecrets(t *testing.T, e *actionEnv, key string) {
	t.Helper()
	var shown []string
	for _, p := range []string{"/api/v1/action-runs", "/api/v1/incidents/" + key + "/action-runs", "/api/v1/incidents/" + key + "/timeline",
		"/api/v1/incidents/" + key + "/actions", "/api/v1/response-actions"} {
		shown = append(shown, string(e.call("admin", "GET", p, nil).body))
	}
	shown = append(shown, e.log.String())
	all := strings.Join(shown, "\n")
	for _, s := range actionSecrets {
		if strings.Contains(all, s) {
			t.Errorf("secret %q is shown", s)
		}
	}
	for _, s := range e.vendor.requests() {
		if a := s.Header.Get("Authorization"); a != "" && strings.Contains(all, strings.TrimPrefix(a, "Bearer ")) {
			t.Errorf("access token %q is shown", a)
		}
		if sig := s.Header.Get("X-Irdesk-Signature"); sig != "" && strings.Contains(all, sig) {
			t.Errorf("signature is shown")
		}
	}
	if !strings.Contains(all, actions.Mask) {
		t.Error("nothing masked is shown: the test looked at nothing")
	}
}

// TestActionDryRunSendsNothing: a dry run shows the request with secrets
// masked, and sends and stores nothing.
func TestActionDryRunSendsNothing(t *testing.T) {
	e := newActionEnv(t)
	key := e.mustCreate("analyst", map[string]any{"title": "dry run", "category": "malware"})
	r := e.call("analyst", "POST", "/api/v1/incidents/"+key+"/actions/run?dry_run=true", map[string]string{"action": "defender-isolate-machine", "value": "ABCDEF0123"})
	if r.status != 200 {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	var p app.ActionPreview
	r.json(t, &p)
	if p.Request.URL != e.vendor.srv.URL+"/api/machines/abcdef0123/isolate" || p.Request.Headers["Authorization"] != "Bearer "+actions.Mask ||
		p.TokenRequest["client_secret"] != actions.Mask || !p.NeedsApproval || len(p.MissingSecrets) != 0 {
		t.Errorf("preview: %s", r.body)
	}
	if strings.Contains(string(r.body), actionSecrets["IRDESK_SECRET_DEFENDER_CLIENT_SECRET"]) {
		t.Error("the dry run shows the secret")
	}
	e.app.RunDueActions(context.Background(), 8)
	if n := len(e.vendor.requests()); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	var list struct{ Items []store.ActionRun }
	e.call("admin", "GET", "/api/v1/incidents/"+key+"/action-runs", nil).json(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("a dry run stored runs: %+v", list.Items)
	}
	for _, tt := range []struct {
		as, body string
		status   int
		field    string
	}{
		{"analyst", `{"action":"no-such","value":"x"}`, 422, "action"},
		{"analyst", `{"action":"entra-revoke-sessions","value":"-"}`, 422, "value"},
		{"viewer", `{"action":"entra-revoke-sessions","value":"taro"}`, 403, ""},
		{"reporter", `{"action":"entra-revoke-sessions","value":"taro"}`, 404, ""},
	} {
		r := e.call(tt.as, "POST", "/api/v1/incidents/"+key+"/actions/run", tt.body)
		if r.status != tt.status || !strings.Contains(string(r.body), tt.field) {
			t.Errorf("%s %s: %d %s", tt.as, tt.body, r.status, r.body)
		}
	}
}

// TestDestructiveActionWaitsForAnotherLead: a destructive action is not
// sent until a lead or admin other than the requester approves it.
func TestDestructiveActionWaitsForAnotherLead(t *testing.T) {
	e := newActionEnv(t)
	key := e.mustCreate("lead", map[string]any{"title": "承認テスト", "category": "malware"})
	run := e.run("lead", key, "falcon-contain-host", "0123456789abcdef0123456789abcdef")
	approve := func(as string) response {
		return e.call(as, "POST", fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d/approve", key, run.ID), nil)
	}
	e.drain()
	if n := len(e.vendor.requests()); n != 0 || e.getRun(key, run.ID).Status != store.ActionAwaitingApproval {
		t.Fatalf("sent before approval: %d requests", n)
	}
	if r := approve("lead"); r.status != 403 || !strings.Contains(string(r.body), "requester") {
		t.Errorf("the requester approved their own action: %d %s", r.status, r.body)
	}
	if r := approve("analyst"); r.status != 403 {
		t.Errorf("an analyst approved: %d %s", r.status, r.body)
	}
	if r := e.call("lead2", "POST", fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d/approve", "INC-2000-0001", run.ID), nil); r.status != 404 {
		t.Errorf("approve under another incident: %d", r.status)
	}
	if r := approve("lead2"); r.status != 200 {
		t.Fatalf("another lead approves: %d %s", r.status, r.body)
	}
	if r := approve("admin"); r.status != 409 {
		t.Errorf("approved twice: %d %s", r.status, r.body)
	}
	e.drain()
	got := e.getRun(key, run.ID)
	if got.Status != store.ActionSucceeded || got.ApprovedBy != "lead2" || got.RequestedBy != "lead" || len(e.vendor.apiRequests()) != 1 {
		t.Fatalf("after approval: %+v", got)
	}
}

// TestActionRetriesThenSucceedsAndFailuresStayVisible: 503s are retried
// with backoff until the service answers; a 400 fails at once and is
// listed among the failed runs.
func TestActionRetriesThenSucceedsAndFailuresStayVisible(t *testing.T) {
	e := newActionEnv(t)
	key := e.mustCreate("analyst", map[string]any{"title": "retry", "category": "malware"})
	e.vendor.mu.Lock()
	e.vendor.fail = 2
	e.vendor.mu.Unlock()
	run := e.run("analyst", key, "entra-revoke-sessions", "hanako@example.jp")
	e.drain()
	got := e.getRun(key, run.ID)
	if got.Status != store.ActionSucceeded || got.Attempts != 3 || got.ResponseStatus != 200 {
		t.Fatalf("after retries: %+v", got)
	}
	if !strings.Contains(got.ResponseBody, actions.Mask) || strings.Contains(got.ResponseBody, "access-") {
		t.Errorf("the echoed token is not masked: %q", got.ResponseBody)
	}
	if e.vendor.tokens != 1 {
		t.Errorf("%d tokens fetched; the cached one should serve all attempts", e.vendor.tokens)
	}
	bad := e.run("analyst", key, "always-400", "203.0.113.7")
	e.drain()
	var failed struct{ Items []store.ActionRun }
	e.call("analyst", "GET", "/api/v1/action-runs?status=failed", nil).json(t, &failed)
	if len(failed.Items) != 1 || failed.Items[0].ID != bad.ID || failed.Items[0].Attempts != 1 || !strings.Contains(failed.Items[0].LastError, "400 Bad Request") {
		t.Fatalf("failed runs: %+v", failed.Items)
	}
	tl := string(e.call("admin", "GET", "/api/v1/incidents/"+key+"/timeline", nil).body)
	if !strings.Contains(tl, "action.failed") {
		t.Error("no action.failed event")
	}
	if r := e.call("analyst", "GET", "/api/v1/action-runs?status=bogus", nil); r.status != 422 {
		t.Errorf("bad status filter: %d", r.status)
	}
	assertNoSecrets(t, e, key)
}

// TestRejectAndCancelActionRuns: a lead refuses a run awaiting approval
// with a reason; the requester or a lead withdraws a run not yet started;
// both are final, audited, and never sent.
func TestRejectAndCancelActionRuns(t *testing.T) {
	e := newActionEnv(t)
	key := e.mustCreate("analyst", map[string]any{"title": "却下と取消", "category": "malware"})
	hiddenKey := e.mustCreate("admin", map[string]any{"title": "Need to know", "category": "malware", "restricted": true})
	waiting := e.run("analyst", key, "falcon-contain-host", "0123456789abcdef0123456789abcdef")
	leads := e.run("lead", key, "falcon-contain-host", "fedcba9876543210fedcba9876543210")
	hidden := e.run("admin", hiddenKey, "falcon-contain-host", "00112233445566778899aabbccddeeff")
	url := func(k string, id int64, verb string) string {
		return fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d/%s", k, id, verb)
	}
	for _, tt := range []struct {
		as, verb, key string
		id            int64
		body          any
		status        int
		must          string
	}{
		{"viewer", "reject", key, waiting.ID, `{"reason":"no"}`, 403, ""},
		{"reporter", "reject", key, waiting.ID, `{"reason":"no"}`, 403, ""},
		{"analyst", "reject", key, waiting.ID, `{"reason":"no"}`, 403, "leads"},
		{"analyst2", "reject", key, waiting.ID, `{"reason":"no"}`, 403, ""},
		{"lead", "reject", key, leads.ID, `{"reason":"no"}`, 403, "cancel it instead"},
		{"lead", "reject", hiddenKey, hidden.ID, `{"reason":"no"}`, 404, ""},
		{"lead", "reject", "INC-2000-0001", waiting.ID, `{"reason":"no"}`, 404, ""},
		{"lead", "reject", key, 999999, `{"reason":"no"}`, 404, ""},
		{"lead", "reject", key, waiting.ID, `{}`, 422, `"field":"reason"`},
		{"lead", "reject", key, waiting.ID, nil, 422, `"field":"reason"`},
		{"lead", "reject", key, waiting.ID, `{"reason":"   "}`, 422, `"field":"reason"`},
		{"lead", "reject", key, waiting.ID, map[string]string{"reason": strings.Repeat("x", 501)}, 422, `"field":"reason"`},
		{"lead", "reject", key, waiting.ID, `{"reason":"no","extra":1}`, 400, "extra"},
		{"lead", "reject", key, waiting.ID, `{"reason":`, 400, ""},
		{"viewer", "cancel", key, waiting.ID, nil, 403, ""},
		{"reporter", "cancel", key, waiting.ID, nil, 403, ""},
		{"analyst2", "cancel", key, waiting.ID, nil, 403, "requester"},
		{"analyst", "cancel", key, leads.ID, nil, 403, "requester"},
		{"lead", "cancel", hiddenKey, hidden.ID, nil, 404, ""},
		{"analyst", "cancel", key, waiting.ID, map[string]string{"reason": strings.Repeat("取", 501)}, 422, `"field":"reason"`},
		{"analyst", "cancel", key, waiting.ID, `{"reason":5}`, 400, ""},
	} {
		r := e.call(tt.as, "POST", url(tt.key, tt.id, tt.verb), tt.body)
		if r.status != tt.status || !strings.Contains(string(r.body), tt.must) {
			t.Errorf("%s %s %s %v: %d %s", tt.as, tt.verb, tt.key, tt.body, r.status, r.body)
		}
	}
	if got := e.getRun(key, waiting.ID); got.Status != store.ActionAwaitingApproval {
		t.Fatalf("a refused request changed the run: %+v", got)
	}

	// A lead rejects the analyst's run; then nothing more can happen to it.
	r := e.call("lead", "POST", url(key, waiting.ID, "reject"), map[string]string{"reason": "誤った端末 ID"})
	if r.status != 200 {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	var got store.ActionRun
	r.json(t, &got)
	if got.Status != store.ActionRejected || got.RejectedBy != "lead" || got.Reason != "誤った端末 ID" || got.RejectedAt == nil || got.FinishedAt == nil {
		t.Errorf("rejected run %s", r.body)
	}
	for _, tt := range []struct {
		as, verb string
		body     any
	}{{"admin", "approve", nil}, {"admin", "reject", `{"reason":"again"}`}, {"analyst", "cancel", nil}} {
		if r := e.call(tt.as, "POST", url(key, waiting.ID, tt.verb), tt.body); r.status != 409 || !strings.Contains(string(r.body), "rejected") {
			t.Errorf("%s a rejected run: %d %s", tt.verb, r.status, r.body)
		}
	}

	// The lead withdraws their own request (no body needed); an admin
	// cancels a queued run before the worker takes it.
	if r := e.call("lead", "POST", url(key, leads.ID, "cancel"), nil); r.status != 200 || !strings.Contains(string(r.body), `"status":"cancelled"`) {
		t.Fatalf("cancel own run: %d %s", r.status, r.body)
	}
	queued := e.run("analyst", key, "entra-revoke-sessions", "taro.yamada@example.co.jp")
	r = e.call("admin", "POST", url(key, queued.ID, "cancel"), map[string]string{"reason": "already revoked by hand"})
	if r.status != 200 {
		t.Fatalf("cancel queued run: %d %s", r.status, r.body)
	}
	r.json(t, &got)
	if got.Status != store.ActionCancelled || got.CancelledBy != "admin" || got.Reason != "already revoked by hand" || got.CancelledAt == nil {
		t.Errorf("cancelled run %s", r.body)
	}
	for _, verb := range []string{"approve", "cancel"} {
		if r := e.call("admin", "POST", url(key, queued.ID, verb), nil); r.status != 409 {
			t.Errorf("%s a cancelled run: %d %s", verb, r.status, r.body)
		}
	}
	e.drain()
	if n := len(e.vendor.apiRequests()); n != 0 {
		t.Errorf("%d requests sent for rejected or cancelled runs", n)
	}
	// A run that was sent cannot be cancelled afterwards either.
	sent := e.run("analyst", key, "webhook-signed", "fs01.corp.example")
	e.drain()
	if r := e.call("analyst", "POST", url(key, sent.ID, "cancel"), nil); r.status != 409 || !strings.Contains(string(r.body), "succeeded") {
		t.Errorf("cancel a finished run: %d %s", r.status, r.body)
	}

	var list struct{ Items []store.ActionRun }
	e.call("analyst", "GET", "/api/v1/incidents/"+key+"/action-runs?status=cancelled", nil).json(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("cancelled runs: %+v", list.Items)
	}
	e.call("analyst", "GET", "/api/v1/action-runs?status=rejected", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != waiting.ID {
		t.Errorf("rejected runs: %+v", list.Items)
	}
	tl := string(e.call("admin", "GET", "/api/v1/incidents/"+key+"/timeline", nil).body)
	for _, want := range []string{`"action.rejected"`, `"action.cancelled"`, "誤った端末 ID", "already revoked by hand"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline has no %s", want)
		}
	}
	e.eventCount()
}
