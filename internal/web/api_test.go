package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// TestBadInputWritesNothing: every malformed request answers 4xx with a
// problem body naming what is wrong, and leaves the database as it was.
func TestBadInputWritesNothing(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "existing", "category": "malware"})
	huge := `{"title":"` + strings.Repeat("あ", MaxBodyBytes/3+10) + `"}`
	tests := []struct {
		name      string
		as        string // default analyst
		method    string
		path      string
		body      any
		status    int
		field     string
		detailHas string
	}{
		{"unknown category", "", "POST", "/api/v1/incidents", `{"title":"x","category":"alien"}`, 422, "category", "alien"},
		{"missing title", "", "POST", "/api/v1/incidents", `{"category":"malware"}`, 422, "title", "required"},
		{"blank title", "", "POST", "/api/v1/incidents", `{"title":"   "}`, 422, "title", "required"},
		{"body over 1 MiB", "", "POST", "/api/v1/incidents", huge, 413, "", "larger"},
		{"malformed JSON", "", "POST", "/api/v1/incidents", `{"title": "x",`, 400, "", "malformed"},
		{"not an object", "", "POST", "/api/v1/incidents", `[1,2]`, 400, "", ""},
		{"wrong type", "", "POST", "/api/v1/incidents", `{"title": 42}`, 400, "title", "string"},
		{"unknown field", "", "POST", "/api/v1/incidents", `{"title":"x","severty":"S1"}`, 400, "severty", "unknown field"},
		{"two values", "", "POST", "/api/v1/incidents", `{"title":"x"} {"title":"y"}`, 400, "", "after"},
		{"trailing brace", "", "POST", "/api/v1/incidents", `{"title":"x"}}`, 400, "", "after"},
		{"patch null version", "", "PATCH", "/api/v1/incidents/{key}", `{"title":"y","version":null}`, 422, "version", ""},
		{"empty body", "", "POST", "/api/v1/incidents", ``, 400, "", "empty"},
		{"bad severity", "", "POST", "/api/v1/incidents", `{"title":"x","severity":"S9"}`, 422, "severity", ""},
		{"impact out of range", "", "POST", "/api/v1/incidents", `{"title":"x","impact":7}`, 422, "impact", ""},
		{"info type without leak", "", "POST", "/api/v1/incidents", `{"title":"x","category":"dos","info_type":"personal"}`, 422, "info_type", ""},
		{"bad time", "", "POST", "/api/v1/incidents", `{"title":"x","facts":{"occurred_at":"yesterday"}}`, 400, "", "RFC 3339"},
		{"negative people", "", "POST", "/api/v1/incidents", `{"title":"x","flags":{"people_affected":-1}}`, 422, "flags.people_affected", ""},
		{"bad cursor", "", "GET", "/api/v1/incidents?cursor=garbage", nil, 400, "cursor", ""},
		{"forged cursor", "", "GET", "/api/v1/incidents?cursor=djE6LTU", nil, 400, "cursor", ""},
		{"bad limit", "", "GET", "/api/v1/incidents?limit=100000", nil, 400, "limit", ""},
		{"unknown filter value", "", "GET", "/api/v1/incidents?phase=lunch", nil, 400, "phase", "lunch"},
		{"unknown query parameter", "", "GET", "/api/v1/incidents?sevrity=S1", nil, 400, "sevrity", ""},
		{"bad date", "", "GET", "/api/v1/incidents?created_after=tomorrow", nil, 400, "created_after", ""},
		{"unknown key", "", "GET", "/api/v1/incidents/INC-2026-9999", nil, 404, "", ""},
		{"malformed key", "", "GET", "/api/v1/incidents/DROP%20TABLE", nil, 404, "", ""},
		{"patch unknown key", "", "PATCH", "/api/v1/incidents/INC-2026-9999", `{"title":"x"}`, 404, "", ""},
		{"patch null title", "", "PATCH", "/api/v1/incidents/" + key, `{"title":null}`, 422, "title", ""},
		{"patch stale version", "", "PATCH", "/api/v1/incidents/" + key, `{"title":"y","version":99}`, 409, "", "version"},
		{"unknown phase", "", "POST", "/api/v1/incidents/" + key + "/phase", `{"to":"party"}`, 422, "to", ""},
		{"skip without reason", "", "POST", "/api/v1/incidents/" + key + "/phase", `{"to":"recover"}`, 422, "reason", ""},
		{"close without review", "lead", "POST", "/api/v1/incidents/" + key + "/phase", `{"to":"closed","reason":"done"}`, 422, "root_cause", ""},
		{"same phase", "", "POST", "/api/v1/incidents/" + key + "/phase", `{"to":"detect"}`, 409, "", "already"},
		{"assign unknown user", "lead", "POST", "/api/v1/incidents/" + key + "/assign", `{"user":"nobody"}`, 422, "user", ""},
		{"assign a viewer", "lead", "POST", "/api/v1/incidents/" + key + "/assign", `{"user":"viewer"}`, 422, "user", ""},
		{"empty comment", "", "POST", "/api/v1/incidents/" + key + "/comments", `{"body":"  "}`, 422, "body", ""},
		{"action without description", "", "POST", "/api/v1/incidents/" + key + "/actions", `{"tool":"EDR"}`, 422, "description", ""},
		{"bad timeline cursor", "", "GET", "/api/v1/incidents/" + key + "/timeline?after=x", nil, 400, "after", ""},
		{"wrong content type", "", "POST", "/api/v1/incidents", "title=x", 415, "", ""},
		{"unknown route", "", "GET", "/api/v1/nothing", nil, 404, "", ""},
		{"wrong method", "", "DELETE", "/api/v1/incidents/" + key, nil, 405, "", ""},
	}
	incidentsBefore := countIncidents(t, env)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := env.eventCount()
			tt.path = strings.ReplaceAll(tt.path, "{key}", key)
			var r response
			if tt.name == "wrong content type" {
				r = env.callWithType("analyst", tt.method, tt.path, tt.body.(string), "application/x-www-form-urlencoded")
			} else {
				as := tt.as
				if as == "" {
					as = "analyst"
				}
				r = env.call(as, tt.method, tt.path, tt.body)
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q, want application/problem+json (%s)", ct, r.body)
			}
			var p Problem
			r.json(t, &p)
			if p.Status != tt.status || p.Title == "" || !strings.HasPrefix(p.Type, problemBase) || p.RequestID == "" {
				t.Errorf("incomplete problem %+v", p)
			}
			if p.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tt.field, p.Detail)
			}
			if !strings.Contains(p.Detail, tt.detailHas) {
				t.Errorf("detail %q does not mention %q", p.Detail, tt.detailHas)
			}
			if after := env.eventCount(); after != before {
				t.Errorf("a refused request wrote %d events", after-before)
			}
		})
	}
	if after := countIncidents(t, env); after != incidentsBefore {
		t.Errorf("incidents went from %d to %d", incidentsBefore, after)
	}
	var inc core.Incident
	env.call("analyst", "GET", "/api/v1/incidents/"+key, nil).json(t, &inc)
	if inc.Title != "existing" || inc.Version != 1 || inc.Phase != core.PhaseDetect {
		t.Errorf("the incident changed: %+v", inc)
	}
}

func (e *testEnv) callWithType(as, method, path, body, contentType string) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+e.tokens[as])
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func countIncidents(t *testing.T, env *testEnv) int {
	t.Helper()
	var list struct{ Items []json.RawMessage }
	env.call("admin", "GET", "/api/v1/incidents?limit=200", nil).json(t, &list)
	return len(list.Items)
}

func TestUnauthenticated(t *testing.T) {
	env := newTestEnv(t)
	for _, tc := range []struct{ auth string }{{""}, {"Bearer irdt_nope"}, {"Basic YWRtaW46eA=="}, {"Bearer "}} {
		req, _ := http.NewRequest("GET", env.url+"/api/v1/incidents", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := env.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("auth %q: status %d, want 401 with WWW-Authenticate", tc.auth, resp.StatusCode)
		}
	}
	// A revoked token stops working at once; so does a disabled user's.
	var toks struct{ Items []core.Token }
	env.call("viewer", "GET", "/api/v1/tokens", nil).json(t, &toks)
	if len(toks.Items) != 1 {
		t.Fatalf("viewer tokens: %+v", toks)
	}
	if r := env.call("viewer", "DELETE", "/api/v1/tokens/"+itoa(toks.Items[0].ID), nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke own token: %d %s", r.status, r.body)
	}
	if r := env.call("viewer", "GET", "/api/v1/incidents", nil); r.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", r.status)
	}
	if r := env.call("admin", "POST", "/api/v1/users/analyst2/disable", nil); r.status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if r := env.call("analyst2", "GET", "/api/v1/incidents", nil); r.status != http.StatusUnauthorized {
		t.Errorf("disabled user's token: %d", r.status)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestSessionAndCSRF: a browser session works for reads, and a write needs
// the session's CSRF token and a same-origin request.
func TestSessionAndCSRF(t *testing.T) {
	env := newTestEnv(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, body string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", env.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/api/v1/auth/login", `{"name":"analyst","password":"wrong password here"}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp = post("/api/v1/auth/login", `{"name":"analyst","password":"`+testPassword+`"}`, nil)
	var me meResponse
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || me.CSRFToken == "" || me.User.Name != "analyst" {
		t.Fatalf("login: %d %+v", resp.StatusCode, me)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && (!ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode) {
			t.Errorf("session cookie not HttpOnly/SameSite=Lax: %+v", ck)
		}
	}
	r, _ := c.Get(env.url + "/api/v1/incidents")
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("read with session: %d", r.StatusCode)
	}
	body := `{"title":"from the browser"}`
	if resp := post("/api/v1/incidents", body, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("write without CSRF token: %d", resp.StatusCode)
	}
	if resp := post("/api/v1/incidents", body, map[string]string{"X-CSRF-Token": me.CSRFToken, "Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site write: %d", resp.StatusCode)
	}
	if resp := post("/api/v1/incidents", body, map[string]string{"X-CSRF-Token": me.CSRFToken}); resp.StatusCode != http.StatusCreated {
		t.Errorf("write with CSRF token: %d", resp.StatusCode)
	}
	if resp := post("/api/v1/auth/logout", "", map[string]string{"X-CSRF-Token": me.CSRFToken}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	r, _ = c.Get(env.url + "/api/v1/incidents")
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("read after logout: %d", r.StatusCode)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := newTestEnv(t)
	env.mustCreate("analyst", map[string]any{"title": "metrics"})
	for path, want := range map[string]string{
		"/healthz": `"ok"`, "/readyz": `"ready"`,
		"/metrics": "irdesk_http_requests_total{route=\"POST /api/v1/incidents\",code=\"201\"} 1",
	} {
		r := env.call("", "GET", path, nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), want) {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	r := env.call("", "GET", "/metrics", nil)
	for _, want := range []string{"irdesk_store_commits_total ", "irdesk_store_write_requests_total ", "go_goroutines "} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(r.body), env.tokens["analyst"]) {
		t.Error("a token appears in /metrics")
	}
}

// A node whose database is gone answers /readyz 503, so a load balancer
// stops sending it traffic; /healthz still says the process lives.
func TestReadyzWithoutDatabase(t *testing.T) {
	env := newTestEnv(t)
	if err := env.store.Close(); err != nil {
		t.Fatal(err)
	}
	if r := env.call("", "GET", "/readyz", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
	if r := env.call("", "GET", "/healthz", nil); r.status != http.StatusOK {
		t.Errorf("/healthz: %d", r.status)
	}
	if r := env.call("analyst", "POST", "/api/v1/incidents", `{"title":"x"}`); r.status < 500 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("write without database: %d %s", r.status, r.body)
	}
}

// A full write queue is a 429 with Retry-After, so tools back off and resend.
func TestOverloadIs429(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("POST", "/api/v1/alerts", nil), fmt.Errorf("ingest: %w", store.ErrOverloaded))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}
