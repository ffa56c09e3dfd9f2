package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/actions"
	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// hostileUser is an observable value (a user name keeps any character but
// controls) that would be markup if a page did not escape it.
const hostileUser = `<img src=x onerror="window.__xss=1">@corp`

// hookSecret signs the generic webhook; it must never show on a page.
const hookSecret = "hook-secret-7f3a91c2"

// receiver is a local stand-in for an EDR or a SOAR webhook, recording
// what it receives. Its answers carry markup, which pages must escape.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path"
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.seen = append(rc.seen, r.Method+" "+r.URL.EscapedPath())
		rc.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/bad/") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"<b>no such device</b>"}`)
			return
		}
		fmt.Fprint(w, `{"ok":true,"note":"<script>window.__xss=3</script>"}`)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.seen...)
}

// newActionsEnv is the server with response actions pointed at a local
// receiver: the generic webhook, a destructive action on user names and
// one the receiver always refuses. The worker is driven by the tests
// (drainActions), as internal/web's action tests do.
func newActionsEnv(t testing.TB) (*env, *receiver) {
	t.Helper()
	rc := newReceiver(t)
	set, err := actions.Load(actions.Builtin(), "ui-test-actions.yaml", []byte(fmt.Sprintf(`
actions:
  - name: webhook-signed
    base_url: %[1]s/hooks/irdesk
  - name: disable-user
    label: {ja: アカウントを無効化, en: Disable the account}
    observable: user
    destructive: true
    base_url: %[1]s
    request: {method: POST, url: '/users/{{.Value}}/disable', body: {by: '{{.Actor}}'}}
    expect_status: [200]
  - name: always-400
    label: {ja: 常に失敗, en: Always fails}
    observable: ip
    base_url: %[1]s
    request: {method: POST, url: '/bad/{{.Value}}'}
    expect_status: [201]
`, rc.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) {
		if k == "IRDESK_SECRET_WEBHOOK_SECRET" {
			return hookSecret, true
		}
		return "", false
	}
	e := newEnvConfig(t, app.Config{Actions: app.ActionsConfig{Set: set, Backoff: time.Millisecond, LookupEnv: lookup}})
	return e, rc
}

// drainActions sends every due run, as the background worker would.
func (e *env) drainActions() {
	e.t.Helper()
	for range 20 {
		n, err := e.app.RunDueActions(context.Background(), 8)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// incidentWithObservables files an incident with a hostile user name and
// a host among its observables.
func (e *env) incidentWithObservables() *core.Incident {
	e.t.Helper()
	inc := e.create("analyst", incidentTitled("Account takeover"))
	_, err := e.app.AddObservables(context.Background(), e.actor("analyst"), inc.Key, app.NewObservables{Items: []app.NewObservable{
		{Type: "user", Value: hostileUser}, {Type: "host", Value: "web-01.corp.example"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func lastRun(tb testing.TB, e *env, key string) *store.ActionRun {
	tb.Helper()
	runs, _, err := e.app.ActionRuns(context.Background(), app.SystemActor, app.ActionRunFilter{IncidentKey: key, Limit: 1})
	if err != nil || len(runs) == 0 {
		tb.Fatalf("no run on %s: %v", key, err)
	}
	return runs[0]
}

func TestIncidentResponseActions(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			tr := map[string]map[string]string{
				"ja": {"heading": "対応アクション", "webhook": "署名付き Webhook を送信", "waiting": "承認待ち", "ok": "成功", "dry": "ドライラン", "export": "STIX 2.1 をダウンロード"},
				"en": {"heading": "Response actions", "webhook": "Send a signed webhook", "waiting": "Waiting for approval", "ok": "Succeeded", "dry": "Dry run", "export": "Download STIX 2.1"},
			}[lang]
			e, rc := newActionsEnv(t)
			inc := e.incidentWithObservables()
			path := "/incidents/" + inc.Key

			an := e.browser(lang)
			an.login("analyst")
			p := an.mustGet(path, 200)
			mustContain(t, "analyst's incident page", p.body, `id="response-actions"`, tr["heading"], tr["webhook"], `id="response-form"`,
				`id="export"`, tr["export"], `name="include_internal"`, `/api/v1/incidents/`+inc.Key+`/export/misp`,
				`&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;@corp`)
			mustNotContain(t, "analyst's incident page", p.body, hostileUser, "run-approve")
			// The export form's downloads work with the page's session.
			for _, f := range []string{"stix", "misp"} {
				ex := an.get("/api/v1/incidents/" + inc.Key + "/export/" + f + "?tlp=green&pap=&include_internal=true")
				if ex.status != 200 || !strings.Contains(ex.header.Get("Content-Disposition"), "attachment") || !strings.Contains(ex.body, "web-01.corp.example") {
					t.Fatalf("%s export: %d %s", f, ex.status, ex.header.Get("Content-Disposition"))
				}
			}

			// A dry run shows the request, signature masked, and sends nothing.
			p = an.post(path+"/response-actions", url.Values{"action": {"webhook-signed"}, "value": {"web-01.corp.example"}, "op": {"dry_run"}})
			if p.status != 200 {
				t.Fatalf("dry run: %d %s", p.status, p.body)
			}
			mustContain(t, "dry run", p.body, `id="response-preview"`, "POST "+rc.srv.URL+"/hooks/irdesk", "X-Irdesk-Signature: "+actions.Mask,
				`&#34;observable&#34;: &#34;web-01.corp.example&#34;`)
			mustNotContain(t, "dry run", p.body, hookSecret)
			p = an.post(path+"/response-actions", url.Values{"action": {"disable-user"}, "value": {hostileUser}, "op": {"dry_run"}})
			mustContain(t, "dry run of a destructive action", p.body, `id="preview-approval"`, "/users/"+url.PathEscape(hostileUser)+"/disable")
			mustNotContain(t, "dry run of a destructive action", p.body, hostileUser)
			if got := rc.requests(); len(got) != 0 {
				t.Fatalf("a dry run sent %v", got)
			}
			// A value of the wrong type is the user's to fix.
			p = an.post(path+"/response-actions", url.Values{"action": {"webhook-signed"}, "value": {"not a host!"}, "op": {"run"}})
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="response-error"`) {
				t.Fatalf("bad value: %d", p.status)
			}

			// A destructive run waits; the analyst cannot approve it.
			if p := an.post(path+"/response-actions", url.Values{"action": {"disable-user"}, "value": {hostileUser}, "op": {"run"}}); p.status != http.StatusSeeOther {
				t.Fatalf("run: %d %s", p.status, p.body)
			}
			mine := lastRun(t, e, inc.Key)
			e.drainActions()
			p = an.mustGet(path, 200)
			mustContain(t, "waiting run", p.body, tr["waiting"], `data-run-status="awaiting_approval"`)
			mustNotContain(t, "waiting run", p.body, "run-approve", hostileUser)
			if p := an.post(fmt.Sprintf("%s/response-actions/%d/approve", path, mine.ID), nil); p.status != http.StatusForbidden {
				t.Fatalf("analyst approves: %d", p.status)
			}

			// A lead's own run: no Approve for it, and approving is refused.
			ld := e.browser(lang)
			ld.login("lead")
			ld.get(path)
			if p := ld.post(path+"/response-actions", url.Values{"action": {"disable-user"}, "value": {"bob"}, "op": {"run"}}); p.status != http.StatusSeeOther {
				t.Fatalf("lead's run: %d", p.status)
			}
			own := lastRun(t, e, inc.Key)
			p = ld.mustGet(path, 200)
			mustContain(t, "lead's page", p.body, fmt.Sprintf(`/response-actions/%d/approve`, mine.ID))
			mustNotContain(t, "lead's page", p.body, fmt.Sprintf(`/response-actions/%d/approve`, own.ID))
			if p := ld.post(fmt.Sprintf("%s/response-actions/%d/approve", path, own.ID), nil); p.status != http.StatusForbidden {
				t.Fatalf("requester approves own run: %d", p.status)
			}
			// CSRF: a post without the session's token is refused.
			if p := ld.post(fmt.Sprintf("%s/response-actions/%d/approve", path, mine.ID), url.Values{"csrf_token": {"forged"}}); p.status != http.StatusForbidden {
				t.Fatalf("approve without CSRF token: %d", p.status)
			}
			if p := an.post(path+"/response-actions", url.Values{"csrf_token": {"forged"}, "action": {"webhook-signed"}, "value": {"h1"}, "op": {"run"}}); p.status != http.StatusForbidden {
				t.Fatalf("run without CSRF token: %d", p.status)
			}
			if got := rc.requests(); len(got) != 0 {
				t.Fatalf("sent before approval: %v", got)
			}

			// The lead approves the analyst's run; it is sent and succeeds,
			// and the service's answer is shown as text.
			if p := ld.post(fmt.Sprintf("%s/response-actions/%d/approve", path, mine.ID), nil); p.status != http.StatusSeeOther {
				t.Fatalf("approve: %d %s", p.status, p.body)
			}
			e.drainActions()
			if got := rc.requests(); len(got) != 1 || got[0] != "POST /users/"+url.PathEscape(hostileUser)+"/disable" {
				t.Fatalf("receiver saw %v", got)
			}
			p = an.mustGet(path, 200)
			mustContain(t, "succeeded run", p.body, tr["ok"], "HTTP 200", `&lt;script&gt;window.__xss=3&lt;/script&gt;`)
			mustNotContain(t, "succeeded run", p.body, `<script>window.__xss=3`)

			// Reporters and viewers get no action buttons.
			// A reporter sees their own report, without the sections.
			filed := e.create("reporter", incidentTitled("My laptop is slow"))
			rep := e.browser(lang)
			rep.login("reporter")
			p = rep.mustGet("/incidents/"+filed.Key, 200)
			mustNotContain(t, "reporter's page", p.body, `id="response-actions"`, `id="response-form"`, "run-approve", `id="export"`)
			if p := rep.post("/incidents/"+filed.Key+"/response-actions", url.Values{"action": {"webhook-signed"}, "value": {"h1"}, "op": {"run"}}); p.status != http.StatusForbidden {
				t.Fatalf("reporter runs: %d", p.status)
			}
			vw := e.browser(lang)
			vw.login("viewer")
			p = vw.mustGet(path, 200)
			mustNotContain(t, "viewer's page", p.body, `id="response-actions"`, `id="response-form"`, "run-approve", tr["dry"])
			if p := vw.post(path+"/response-actions", url.Values{"action": {"webhook-signed"}, "value": {"h1"}, "op": {"dry_run"}}); p.status != http.StatusForbidden {
				t.Fatalf("viewer dry-runs: %d", p.status)
			}
		})
	}
}

func TestActionRunsPage(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			e, _ := newActionsEnv(t)
			inc := e.incidentWithObservables()
			ctx := context.Background()
			waiting, err := e.app.RunAction(ctx, e.actor("lead"), inc.Key, app.RunActionInput{Action: "disable-user", Value: hostileUser})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.app.RunAction(ctx, e.actor("analyst"), inc.Key, app.RunActionInput{Action: "always-400", Value: "198.51.100.9"}); err != nil {
				t.Fatal(err)
			}
			e.drainActions()

			an := e.browser(lang)
			an.login("analyst")
			if p := an.get("/action-runs"); p.status != http.StatusForbidden {
				t.Fatalf("analyst: %d", p.status)
			}
			p := an.mustGet("/incidents", 200)
			mustNotContain(t, "analyst's nav", p.body, `id="nav-action-runs"`)

			ld := e.browser(lang)
			ld.login("lead")
			p = ld.mustGet("/action-runs", 200)
			heading := map[string]string{"ja": "確認が必要な対応アクション", "en": "Response actions to look at"}[lang]
			mustContain(t, "runs page", p.body, heading, `id="nav-action-runs"`, `id="waiting-runs"`, `id="failed-runs"`,
				"the service answered 400 Bad Request", "198.51.100.9", `&lt;img src=x`)
			mustNotContain(t, "runs page", p.body, hostileUser, fmt.Sprintf(`/action-runs/%d/approve`, waiting.ID))
			if p := ld.post(fmt.Sprintf("/action-runs/%d/approve", waiting.ID), nil); p.status != http.StatusForbidden {
				t.Fatalf("requester approves own run: %d", p.status)
			}

			ad := e.browser(lang)
			ad.login("admin")
			p = ad.mustGet("/action-runs", 200)
			mustContain(t, "admin's runs page", p.body, fmt.Sprintf(`/action-runs/%d/approve`, waiting.ID))
			if p := ad.post(fmt.Sprintf("/action-runs/%d/approve", waiting.ID), url.Values{"csrf_token": {"forged"}}); p.status != http.StatusForbidden {
				t.Fatalf("approve without CSRF token: %d", p.status)
			}
			if p := ad.post(fmt.Sprintf("/action-runs/%d/approve", waiting.ID), nil); p.status != http.StatusSeeOther {
				t.Fatalf("approve: %d %s", p.status, p.body)
			}
			run, err := e.app.GetActionRun(ctx, app.SystemActor, waiting.ID)
			if err != nil || run.ApprovedBy != "admin" {
				t.Fatalf("approved run: %+v %v", run, err)
			}
			p = ad.mustGet("/action-runs", 200)
			mustContain(t, "runs page after approval", p.body, `id="waiting-runs-none"`)
		})
	}
}

// upload posts a multipart form as the import form does, with the CSRF
// token of the last page seen unless fields sets one.
func (b *browser) upload(path string, fields map[string]string, file []byte) page {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, ok := fields["csrf_token"]; !ok {
		_ = mw.WriteField("csrf_token", b.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "intel.json")
		if err != nil {
			b.e.t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.e.url+path, &buf)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", b.lang)
	req.Header.Set("Origin", b.e.url)
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// mispEvent shares an address and a hostile file name.
const mispEvent = `{"Event":{"info":"campaign","Tag":[{"name":"tlp:amber"}],"Attribute":[
 {"type":"ip-src","value":"203.0.113.7","to_ids":true},
 {"type":"filename","value":"<script>window.__xss=4</script>.exe","to_ids":true}]}}`

func TestWatchlistPages(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			tr := map[string]map[string]string{
				"ja": {"heading": "ウォッチリスト", "imported": "取り込みました：追加 2 件", "rechecked": "再照合しました：アラート 1 件", "badge": "ウォッチリスト一致"},
				"en": {"heading": "Watchlist", "imported": "Imported: 2 added", "rechecked": "Re-checked: 1 mark(s) on 1 alert(s).", "badge": "Watchlist"},
			}[lang]
			e := newEnv(t)
			// An alert seen before the import: only a re-check marks it.
			ids := e.ingest("analyst", `{"title": "Outbound beacon", "severity": "S2", "host": "pc-07", "src_ip": "203.0.113.7"}`)

			ld := e.browser(lang)
			ld.login("lead")
			p := ld.mustGet("/watchlist", 200)
			mustContain(t, "empty watchlist", p.body, tr["heading"], `id="watchlist-empty"`, `id="watchlist-import"`, `enctype="multipart/form-data"`, `id="nav-watchlist"`)
			// CSRF: the upload, the re-check and a deletion need the token.
			if p := ld.upload("/watchlist/import", map[string]string{"csrf_token": "forged", "source": "ISAC"}, []byte(mispEvent)); p.status != http.StatusForbidden {
				t.Fatalf("upload without CSRF token: %d", p.status)
			}
			if p := ld.post("/watchlist/recheck", url.Values{"csrf_token": {"forged"}}); p.status != http.StatusForbidden {
				t.Fatalf("recheck without CSRF token: %d", p.status)
			}
			// A file that is neither format is refused on the page.
			p = ld.upload("/watchlist/import", map[string]string{"source": "ISAC"}, []byte(`{"hello":1}`))
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="watchlist-error"`) || !strings.Contains(p.body, `value="ISAC"`) {
				t.Fatalf("bad file: %d", p.status)
			}
			p = ld.upload("/watchlist/import", map[string]string{"source": "ISAC <b>", "expires_in": "30d"}, []byte(mispEvent))
			if p.status != http.StatusSeeOther {
				t.Fatalf("import: %d %s", p.status, p.body)
			}
			p = ld.mustGet(p.header.Get("Location"), 200)
			mustContain(t, "watchlist after import", p.body, tr["imported"], "203.0.113.7", "ISAC &lt;b&gt;", "TLP:amber",
				`&lt;script&gt;window.__xss=4&lt;/script&gt;.exe`)
			mustNotContain(t, "watchlist after import", p.body, `<script>window.__xss`, "ISAC <b>")

			// The old alert is not marked until a re-check.
			p = ld.mustGet("/alerts", 200)
			mustNotContain(t, "queue before re-check", p.body, `class="badge watch"`)
			p = ld.post("/watchlist/recheck", url.Values{"since": {""}})
			if p.status != http.StatusSeeOther {
				t.Fatalf("recheck: %d %s", p.status, p.body)
			}
			p = ld.mustGet(p.header.Get("Location"), 200)
			mustContain(t, "after re-check", p.body, tr["rechecked"])
			p = ld.mustGet("/alerts", 200)
			mustContain(t, "queue after re-check", p.body, `class="badge watch"`, tr["badge"], "ISAC &lt;b&gt;: ip 203.0.113.7")
			p = ld.mustGet("/alerts/"+strconv.FormatInt(ids[0], 10), 200)
			mustContain(t, "alert page", p.body, `id="alert-watch"`, `id="watch-marks"`, "203.0.113.7", "ISAC &lt;b&gt;")
			// A new alert with the address is marked at intake.
			fresh := e.ingest("analyst", `{"title": "Another beacon", "severity": "S3", "host": "pc-08", "src_ip": "203.0.113.7"}`)
			p = ld.mustGet("/alerts/"+strconv.FormatInt(fresh[0], 10), 200)
			mustContain(t, "new alert", p.body, `id="alert-watch"`)

			// Analysts read the watchlist; they cannot change it.
			an := e.browser(lang)
			an.login("analyst")
			p = an.mustGet("/watchlist", 200)
			mustContain(t, "analyst's watchlist", p.body, "203.0.113.7")
			mustNotContain(t, "analyst's watchlist", p.body, `id="watchlist-import"`, `id="watchlist-recheck"`, "wl-delete")
			if p := an.upload("/watchlist/import", map[string]string{"source": "mine"}, []byte(mispEvent)); p.status != http.StatusForbidden {
				t.Fatalf("analyst imports: %d", p.status)
			}
			if p := an.post("/watchlist/recheck", nil); p.status != http.StatusForbidden {
				t.Fatalf("analyst re-checks: %d", p.status)
			}
			entry := regexp.MustCompile(`data-entry="(\d+)"`).FindStringSubmatch(p.body)
			if entry == nil {
				t.Fatal("no entry row")
			}
			if p := an.post("/watchlist/"+entry[1]+"/delete", nil); p.status != http.StatusForbidden {
				t.Fatalf("analyst deletes: %d", p.status)
			}
			// Viewers and reporters do not see it at all.
			for _, who := range []string{"viewer", "reporter"} {
				b := e.browser(lang)
				b.login(who)
				if p := b.get("/watchlist"); p.status != http.StatusForbidden {
					t.Fatalf("%s: %d", who, p.status)
				}
			}

			// The lead deletes an entry.
			ld.get("/watchlist")
			if p := ld.post("/watchlist/"+entry[1]+"/delete", url.Values{"csrf_token": {"forged"}}); p.status != http.StatusForbidden {
				t.Fatalf("delete without CSRF token: %d", p.status)
			}
			if p := ld.post("/watchlist/"+entry[1]+"/delete", nil); p.status != http.StatusSeeOther {
				t.Fatalf("delete: %d", p.status)
			}
			p = ld.mustGet("/watchlist", 200)
			mustNotContain(t, "after delete", p.body, `data-entry="`+entry[1]+`"`)
		})
	}
}

// discovery serves just enough of an OpenID Connect provider for the
// client to be configured: its discovery document.
func discovery(t testing.TB) string {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks",
			"response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}`, srv.URL)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestLoginOIDCButton(t *testing.T) {
	issuer := discovery(t)
	client, err := auth.NewOIDC(context.Background(), auth.OIDCConfig{Issuer: issuer, ClientID: "irdesk", ClientSecret: "s3cret-client",
		RedirectURL: "http://127.0.0.1/auth/oidc/callback"})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := app.ParseOIDCRoleMap("soc=analyst")
	if err != nil {
		t.Fatal(err)
	}
	withSSO := newEnvConfig(t, app.Config{OIDC: app.OIDCConfig{Client: client, RoleMap: roles}})
	without := newEnv(t)
	for _, lang := range []string{"ja", "en"} {
		button := map[string]string{"ja": "組織のアカウントでサインイン", "en": "Sign in with your organisation&#39;s account"}[lang]
		b := withSSO.browser(lang)
		p := b.mustGet("/login", 200)
		mustContain(t, "login with OIDC", p.body, `href="/auth/oidc/login"`, button, `id="login-form"`)
		if i, j := strings.Index(p.body, `id="oidc-login"`), strings.Index(p.body, `id="login-form"`); i < 0 || j < i {
			t.Errorf("the SSO button is not above the local form")
		}
		if p := b.get("/auth/oidc/login"); p.status != http.StatusFound || !strings.HasPrefix(p.header.Get("Location"), issuer+"/authorize?") {
			t.Fatalf("SSO start: %d %s", p.status, p.header.Get("Location"))
		}
		// The local sign-in still works beside it (break-glass).
		b.login("admin")

		p = without.browser(lang).mustGet("/login", 200)
		mustContain(t, "login without OIDC", p.body, `id="login-form"`)
		mustNotContain(t, "login without OIDC", p.body, "/auth/oidc/login", `id="oidc-login"`)
	}
}

// TestRejectAndCancelRunPages: a lead rejects a waiting run with a reason
// typed next to Approve; the requester cancels their own run; the runs
// page offers the same; the page and its timeline show who, what and why
// (escaped) in both languages, and the forms need the CSRF token.
func TestRejectAndCancelRunPages(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			tr := map[string]map[string]string{
				"ja": {"reject": "却下", "cancel": "実行を取り消す", "rejected": "却下：lead", "cancelled": "取消：analyst",
					"ev_rejected": "対応アクションを却下", "ev_cancelled": "対応アクションを取消", "invalid": "入力を確認してください（理由）"},
				"en": {"reject": "Reject", "cancel": "Cancel the run", "rejected": "rejected by lead", "cancelled": "cancelled by analyst",
					"ev_rejected": "Response action rejected", "ev_cancelled": "Response action cancelled", "invalid": "Please check the input (Reason)"},
			}[lang]
			e, rc := newActionsEnv(t)
			inc := e.incidentWithObservables()
			path := "/incidents/" + inc.Key
			an := e.browser(lang)
			an.login("analyst")
			an.get(path)
			if p := an.post(path+"/response-actions", url.Values{"action": {"disable-user"}, "value": {"carol"}, "op": {"run"}}); p.status != http.StatusSeeOther {
				t.Fatalf("run: %d %s", p.status, p.body)
			}
			first := lastRun(t, e, inc.Key)
			if p := an.post(path+"/response-actions", url.Values{"action": {"disable-user"}, "value": {"dave"}, "op": {"run"}}); p.status != http.StatusSeeOther {
				t.Fatalf("run: %d %s", p.status, p.body)
			}
			second := lastRun(t, e, inc.Key)
			ctx := context.Background()
			leads, err := e.app.RunAction(ctx, e.actor("lead"), inc.Key, app.RunActionInput{Action: "disable-user", Value: "erin"})
			if err != nil {
				t.Fatal(err)
			}

			// The requester may cancel their runs, not reject them, and not
			// cancel the lead's.
			p := an.mustGet(path, 200)
			mustContain(t, "analyst's page", p.body, fmt.Sprintf(`/response-actions/%d/cancel`, first.ID), tr["cancel"])
			mustNotContain(t, "analyst's page", p.body, "run-reject", fmt.Sprintf(`/response-actions/%d/cancel`, leads.ID))
			if p := an.post(fmt.Sprintf("%s/response-actions/%d/cancel", path, leads.ID), nil); p.status != http.StatusForbidden {
				t.Fatalf("analyst cancels the lead's run: %d", p.status)
			}
			if p := an.post(fmt.Sprintf("%s/response-actions/%d/reject", path, first.ID), url.Values{"reason": {"no"}}); p.status != http.StatusForbidden {
				t.Fatalf("analyst rejects: %d", p.status)
			}

			ld := e.browser(lang)
			ld.login("lead")
			p = ld.mustGet(path, 200)
			mustContain(t, "lead's page", p.body, fmt.Sprintf(`/response-actions/%d/reject`, first.ID), `name="reason" required`, tr["reject"],
				fmt.Sprintf(`/response-actions/%d/cancel`, leads.ID))
			mustNotContain(t, "lead's page", p.body, fmt.Sprintf(`/response-actions/%d/reject`, leads.ID))
			if p := ld.post(fmt.Sprintf("%s/response-actions/%d/reject", path, first.ID), url.Values{"csrf_token": {"forged"}, "reason": {"no"}}); p.status != http.StatusForbidden {
				t.Fatalf("reject without CSRF token: %d", p.status)
			}
			p = ld.post(fmt.Sprintf("%s/response-actions/%d/reject", path, first.ID), url.Values{"reason": {"  "}})
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="response-error"`) || !strings.Contains(p.body, tr["invalid"]) {
				t.Fatalf("reject without a reason: %d", p.status)
			}
			if p := ld.post(fmt.Sprintf("%s/response-actions/%d/reject", path, first.ID), url.Values{"reason": {`<script>window.__xss=7</script> wrong user`}}); p.status != http.StatusSeeOther {
				t.Fatalf("reject: %d %s", p.status, p.body)
			}
			if p := an.post(fmt.Sprintf("%s/response-actions/%d/cancel", path, second.ID), url.Values{"reason": {"typo in the name"}}); p.status != http.StatusSeeOther {
				t.Fatalf("cancel: %d %s", p.status, p.body)
			}
			// Cancelling again is a conflict shown on the page.
			p = an.post(fmt.Sprintf("%s/response-actions/%d/cancel", path, second.ID), nil)
			if p.status != http.StatusConflict || !strings.Contains(p.body, `id="response-error"`) {
				t.Fatalf("cancel twice: %d", p.status)
			}
			e.drainActions()
			if got := rc.requests(); len(got) != 0 {
				t.Fatalf("rejected or cancelled runs were sent: %v", got)
			}
			p = an.mustGet(path, 200)
			mustContain(t, "page after the decisions", p.body, `data-run-status="rejected"`, `data-run-status="cancelled"`, tr["rejected"], tr["cancelled"],
				"typo in the name", `&lt;script&gt;window.__xss=7&lt;/script&gt; wrong user`, tr["ev_rejected"], tr["ev_cancelled"])
			mustNotContain(t, "page after the decisions", p.body, `<script>window.__xss=7`, fmt.Sprintf(`/response-actions/%d/cancel`, first.ID),
				fmt.Sprintf(`/response-actions/%d/cancel`, second.ID))

			// The runs page: an admin rejects the lead's run there.
			ad := e.browser(lang)
			ad.login("admin")
			p = ad.mustGet("/action-runs", 200)
			mustContain(t, "runs page", p.body, fmt.Sprintf(`/action-runs/%d/reject`, leads.ID))
			mustNotContain(t, "runs page", p.body, fmt.Sprintf(`/action-runs/%d/cancel`, leads.ID))
			mustContain(t, "lead's runs page", ld.mustGet("/action-runs", 200).body, fmt.Sprintf(`/action-runs/%d/cancel`, leads.ID))
			if p := ad.post(fmt.Sprintf("/action-runs/%d/reject", leads.ID), url.Values{"reason": {""}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="runs-error"`) {
				t.Fatalf("reject without a reason on the runs page: %d", p.status)
			}
			if p := ad.post(fmt.Sprintf("/action-runs/%d/reject", leads.ID), url.Values{"reason": {"not needed"}}); p.status != http.StatusSeeOther {
				t.Fatalf("reject on the runs page: %d %s", p.status, p.body)
			}
			if run, err := e.app.GetActionRun(ctx, app.SystemActor, leads.ID); err != nil || run.Status != store.ActionRejected || run.RejectedBy != "admin" {
				t.Fatalf("rejected from the runs page: %+v %v", run, err)
			}
			p = ad.mustGet("/action-runs", 200)
			mustContain(t, "runs page after rejecting", p.body, `id="waiting-runs-none"`)
		})
	}
}
