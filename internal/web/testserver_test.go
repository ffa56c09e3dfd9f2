package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
)

// testEnv is a real server on loopback over a real SQLite file.
type testEnv struct {
	t      testing.TB
	url    string
	app    *app.App
	store  *store.Store
	tokens map[string]string // user name -> API token
	client *http.Client
}

// testUsers are one per role; "analyst2" is a second analyst who is never
// a member of anything, "reporter2" a second reporter.
var testUsers = []struct {
	name string
	role core.Role
}{
	{"admin", core.RoleAdmin}, {"lead", core.RoleLead}, {"analyst", core.RoleAnalyst},
	{"analyst2", core.RoleAnalyst}, {"reporter", core.RoleReporter}, {"reporter2", core.RoleReporter},
	{"viewer", core.RoleViewer},
}

const testPassword = "correct horse battery staple"

func newTestEnv(tb testing.TB) *testEnv {
	tb.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	srv := httptest.NewServer(New(a, log, metrics.NewRegistry(), Config{}))
	tb.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	env := &testEnv{t: tb, url: srv.URL, app: a, store: st, tokens: map[string]string{}, client: srv.Client()}
	for _, u := range testUsers {
		if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: u.name, Role: u.role, Password: testPassword}); err != nil {
			tb.Fatal(err)
		}
		_, secret, err := a.CreateToken(ctx, app.SystemActor, u.name, "test", 0)
		if err != nil {
			tb.Fatal(err)
		}
		env.tokens[u.name] = secret
	}
	return env
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

// call makes an API request as a user ("" for anonymous). body may be a
// string (sent as is) or a value (sent as JSON).
func (e *testEnv) call(as, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[as])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// mustCreate files an incident and returns its key.
func (e *testEnv) mustCreate(as string, body map[string]any) string {
	e.t.Helper()
	r := e.call(as, "POST", "/api/v1/incidents", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create as %s: %d %s", as, r.status, r.body)
	}
	var inc core.Incident
	r.json(e.t, &inc)
	return inc.Key
}

// eventCount is the length of the verified audit chain.
func (e *testEnv) eventCount() int64 {
	e.t.Helper()
	n, err := e.app.VerifyAudit(context.Background())
	if err != nil {
		e.t.Fatalf("audit chain: %v", err)
	}
	return n
}

// finishBlocking completes, as admin, the blocking tasks of a phase, so
// that a test can move the incident on.
func (e *testEnv) finishBlocking(key string, phase core.Phase) {
	e.t.Helper()
	var list struct{ Items []core.Task }
	e.call("admin", "GET", "/api/v1/incidents/"+key+"/tasks", nil).json(e.t, &list)
	for _, t := range list.Items {
		if t.Phase == phase && t.Blocking && !t.Status.Finished() {
			if r := e.call("admin", "POST", "/api/v1/incidents/"+key+"/tasks/"+t.ID+"/complete", nil); r.status != 200 {
				e.t.Fatalf("complete %s: %d %s", t.ID, r.status, r.body)
			}
		}
	}
}
