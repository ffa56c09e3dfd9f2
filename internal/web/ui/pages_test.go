package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// langCase is what each page must show in one language.
type langCase struct {
	accept string
	lang   string
	want   map[string][]string // path -> strings that must appear
}

func TestPagesInBothLanguages(t *testing.T) {
	e := newEnv(t)
	inc := e.create("reporter", app.NewIncident{Title: "顧客リストを誤送信", Category: core.CatMisdelivery,
		Facts: core.Facts{What: "取引先Aに送るべき添付をBに送った", Location: "営業部"}})
	detail := "/incidents/" + inc.Key
	cases := []langCase{
		{accept: "ja-JP,ja;q=0.9", lang: "ja", want: map[string][]string{
			"/report":     {"何が起きましたか？", "メールを誤送信した", "PC・スマホを紛失した（盗まれた）", "不審なメールの添付を開いた", "画面に身代金要求が出た", "わからない", "報告する"},
			"/my/reports": {"自分の報告"},
			"/incidents":  {"インシデント一覧", inc.Key, "顧客リストを誤送信", "誤送信", "検知・報告", "深刻度順"},
			detail:        {"検知・報告", "初動対応", "調査", "封じ込め・根絶", "復旧", "事後対応", "概要（5W1H）", "取引先Aに送るべき添付をBに送った", "タイムライン", "報告・起票", "対応手順（プレイブック）", "コメント"},
			"/settings":   {"タイムゾーン", "Asia/Tokyo"},
		}},
		{accept: "en-US,en;q=0.9", lang: "en", want: map[string][]string{
			"/report":     {"What happened?", "I sent an e-mail to the wrong person", "I lost a PC or phone", "I opened a suspicious attachment", "A ransom demand appeared on screen", "Not sure", "Send report"},
			"/my/reports": {"My reports"},
			"/incidents":  {"Incidents", inc.Key, "顧客リストを誤送信", "Mis-sent e-mail", "Detect &amp; report", "Most severe first"},
			detail:        {"Detect &amp; report", "First response", "Investigate", "Contain &amp; eradicate", "Recover", "Post-incident", "Facts (5W1H)", "Timeline", "Reported", "Response steps (playbook)", "Comments"},
			"/settings":   {"Time zone", "Asia/Tokyo"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.lang, func(t *testing.T) {
			anon := e.browser(tc.accept)
			p := anon.mustGet("/login", 200)
			mustContain(t, "login", p.body, `<html lang="`+tc.lang+`">`)
			if tc.lang == "ja" {
				mustContain(t, "login", p.body, "irdesk にログイン", "パスワード")
			} else {
				mustContain(t, "login", p.body, "Sign in to irdesk", "Password")
			}
			b := e.browser(tc.accept)
			b.login("analyst")
			for path, wants := range tc.want {
				p := b.mustGet(path, 200)
				mustContain(t, path, p.body, `<html lang="`+tc.lang+`">`)
				mustContain(t, path, p.body, wants...)
				checkPageHeaders(t, path, p)
			}
		})
	}
}

func checkPageHeaders(t *testing.T, path string, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %s", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows inline or eval: %q", path, csp)
	}
	if p.header.Get("X-Content-Type-Options") != "nosniff" || p.header.Get("Referrer-Policy") == "" ||
		p.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: headers %v", path, p.header)
	}
	// No inline script or style anywhere: the CSP would block it.
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|\sstyle="|\son[a-z]+="`).MatchString(p.body) {
		t.Errorf("%s: inline script, style or handler in the page", path)
	}
}

func TestReportFormCreatesIncident(t *testing.T) {
	e := newEnv(t)
	b := e.browser("ja")
	b.login("reporter")
	p := b.mustGet("/report", 200)
	mustContain(t, "report", p.body, `name="situation"`, `type="datetime-local"`)
	p = b.post("/report", url.Values{
		"situation": {"ransom_screen"}, "what": {"画面に「ファイルを暗号化した」と表示された\n2行目"},
		"occurred_at": {"2026-11-24T10:30"}, "location": {"経理部 PC-12"}, "how_found": {"出社して電源を入れたら"},
		"actions_taken": {"LANケーブルを抜いた"}, "contact": {"内線 1234"},
	})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/my/reports?filed=INC-") {
		t.Fatalf("post report: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	key := strings.TrimPrefix(p.header.Get("Location"), "/my/reports?filed=")
	p = b.mustGet(p.header.Get("Location"), 200)
	mustContain(t, "my reports", p.body, key+" として受け付けました", "画面に身代金要求が出た: 画面に「ファイルを暗号化した」と表示された", "検知・報告")

	inc, err := e.app.GetIncident(context.Background(), app.Actor{User: e.users["admin"]}, key)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Category != core.CatRansomware || inc.Reporter != "reporter" || inc.Facts.Location != "経理部 PC-12" ||
		inc.Facts.ActionsTaken != "LANケーブルを抜いた" || !strings.Contains(inc.Description, "内線 1234") {
		t.Errorf("incident as filed: %+v", inc)
	}
	// 10:30 in Tokyo, the reporter's default zone.
	if want := time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC); inc.Facts.OccurredAt == nil || !inc.Facts.OccurredAt.Equal(want) {
		t.Errorf("occurred at %v, want %v", inc.Facts.OccurredAt, want)
	}
	// The reporter sees its status, not the response record.
	p = b.mustGet("/incidents/"+key, 200)
	mustContain(t, "reporter's view", p.body, "検知・報告", "情報を追加")
	mustNotContain(t, "reporter's view", p.body, "タイムライン", "対応手順（プレイブック）")
	// An analyst sees it in the list.
	a := e.browser("en")
	a.login("analyst")
	mustContain(t, "analyst list", a.mustGet("/incidents", 200).body, key, "Ransomware")

	// Missing situation and a bad date: the form comes back with the input.
	p = b.post("/report", url.Values{"what": {"何かおかしい"}, "occurred_at": {"yesterday"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid report: %d", p.status)
	}
	mustContain(t, "invalid report", p.body, "何かおかしい", "いちばん近いものを1つ選んでください", "日時の形式が正しくありません")
}

func TestViewerCannotReport(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	b.login("viewer")
	p := b.get("/report")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "You may not do this.") {
		t.Fatalf("viewer /report: %d %s", p.status, p.body)
	}
}

func TestReporterSeesOnlyOwnReports(t *testing.T) {
	e := newEnv(t)
	mine := e.create("reporter", app.NewIncident{Title: "my own report"})
	theirs := e.create("reporter2", app.NewIncident{Title: "someone else's report"})
	staff := e.create("analyst", app.NewIncident{Title: "an analyst's incident"})
	b := e.browser("en")
	b.login("reporter")
	for _, path := range []string{"/my/reports", "/incidents"} {
		p := b.mustGet(path, 200)
		mustContain(t, path, p.body, mine.Key)
		mustNotContain(t, path, p.body, theirs.Key, staff.Key, "someone else", "an analyst")
	}
	b.mustGet("/incidents/"+mine.Key, 200)
	for _, key := range []string{theirs.Key, staff.Key} {
		p := b.get("/incidents/" + key)
		if p.status != http.StatusNotFound {
			t.Errorf("reporter opened %s: %d", key, p.status)
		}
		mustNotContain(t, key, p.body, "someone else", "an analyst")
	}
	// Nor can it comment on them.
	p := b.post("/incidents/"+theirs.Key+"/comments", url.Values{"body": {"hello"}})
	if p.status != http.StatusNotFound {
		t.Errorf("reporter commented on another's report: %d", p.status)
	}
}

// xss are payloads that must stay text wherever they are shown.
var xss = []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(2)>`, `"><svg onload=alert(3)>`, `javascript:alert(4)`}

func TestUserContentIsEscaped(t *testing.T) {
	e := newEnv(t)
	inc := e.create("analyst", app.NewIncident{Title: xss[0], Description: xss[1], AffectedSystems: []string{xss[2]},
		Facts: core.Facts{What: xss[1], Location: xss[2], HowFound: xss[3], ActionsTaken: xss[0], DiscoveredBy: xss[1]}})
	if _, err := e.app.AddComment(context.Background(), app.Actor{User: e.users["analyst"]}, inc.Key, xss[1]+xss[0]); err != nil {
		t.Fatal(err)
	}
	b := e.browser("ja")
	b.login("analyst")
	for _, path := range []string{"/incidents", "/incidents/" + inc.Key, "/incidents?q=" + url.QueryEscape(xss[0]), "/incidents?assignee=" + url.QueryEscape(xss[1])} {
		p := b.mustGet(path, 200)
		mustNotContain(t, path, p.body, "<script>alert", "<img src=x", "<svg onload", `href="javascript:`)
		checkPageHeaders(t, path, p)
	}
	p := b.mustGet("/incidents/"+inc.Key, 200)
	mustContain(t, "detail", p.body, "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "javascript:alert(4)")
	// A reporter's own report form comes back escaped too.
	r := e.browser("en")
	r.login("reporter")
	p = r.post("/report", url.Values{"what": {xss[0]}, "location": {xss[2]}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("report without situation: %d", p.status)
	}
	mustNotContain(t, "report form", p.body, "<script>alert", "<svg onload")
	mustContain(t, "report form", p.body, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

func TestFormsNeedCSRFToken(t *testing.T) {
	e := newEnv(t)
	inc := e.create("analyst", app.NewIncident{Title: "csrf target"})
	b := e.browser("en")
	b.login("analyst")
	comment := "/incidents/" + inc.Key + "/comments"
	for _, tc := range []struct {
		name   string
		token  string
		origin string
		want   int
	}{
		{"no token", "", "", http.StatusForbidden},
		{"wrong token", "forged", "", http.StatusForbidden},
		{"cross origin", "<session>", "http://evil.example", http.StatusForbidden},
		{"good", "<session>", "", http.StatusSeeOther},
	} {
		token := tc.token
		if token == "<session>" {
			token = b.csrf
		}
		b.origin = tc.origin
		p := b.do("POST", comment, url.Values{"csrf_token": {token}, "body": {"note " + tc.name}})
		if p.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, p.status, tc.want)
		}
	}
	b.origin = ""
	cs, err := e.app.Comments(context.Background(), app.Actor{User: e.users["analyst"]}, inc.Key)
	if err != nil || len(cs) != 1 || cs[0].Body != "note good" {
		t.Fatalf("comments after the attempts: %+v %v", cs, err)
	}
	// Every other form refuses a post without the token.
	for _, path := range []string{"/report", "/logout", "/settings", "/lang"} {
		if p := b.do("POST", path, url.Values{"lang": {"ja"}, "situation": {"not_sure"}}); p.status != http.StatusForbidden {
			t.Errorf("POST %s without token: %d", path, p.status)
		}
	}
	// The sign-in form needs the pre-session token as well.
	anon := e.browser("en")
	if p := anon.do("POST", "/login", url.Values{"name": {"analyst"}, "password": {password}}); p.status != http.StatusForbidden {
		t.Errorf("login without token: %d", p.status)
	}
	anon.get("/login")
	anon.origin = "http://evil.example"
	if p := anon.post("/login", url.Values{"name": {"analyst"}, "password": {password}}); p.status != http.StatusForbidden {
		t.Errorf("cross-origin login: %d", p.status)
	}
}

func TestLoginLogoutAndLanguage(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en-US")
	// Not signed in: a page sends to the login form and back.
	p := b.get("/incidents?state=open")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next="+url.QueryEscape("/incidents?state=open") {
		t.Fatalf("anonymous /incidents: %d %s", p.status, p.header.Get("Location"))
	}
	b.get("/login")
	p = b.post("/login", url.Values{"name": {"analyst"}, "password": {"wrong password!"}})
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong user name or password.") {
		t.Fatalf("wrong password: %d", p.status)
	}
	// Switching language before signing in keeps it in a cookie...
	if p := b.post("/lang", url.Values{"lang": {"ja"}, "next": {"/login"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("switch language: %d %s", p.status, p.header.Get("Location"))
	}
	mustContain(t, "login after switch", b.mustGet("/login", 200).body, `<html lang="ja">`)
	p = b.post("/login", url.Values{"name": {"analyst"}, "password": {password}, "next": {"/incidents?state=open"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/incidents?state=open" {
		t.Fatalf("login: %d %s", p.status, p.header.Get("Location"))
	}
	// ...which becomes the user's setting at sign-in.
	prefs, err := e.app.PrefsFor(context.Background(), app.Actor{User: e.users["analyst"]})
	if err != nil || prefs.Language != "ja" {
		t.Fatalf("prefs after sign-in: %+v %v", prefs, err)
	}
	mustContain(t, "list", b.mustGet("/incidents", 200).body, `<html lang="ja">`)
	// Switch to English while signed in: saved per user, so another
	// browser with a Japanese Accept-Language also gets English.
	if p := b.post("/lang", url.Values{"lang": {"en"}, "next": {"https://evil.example/"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("switch to en: %d %q", p.status, p.header.Get("Location"))
	}
	other := e.browser("ja")
	other.login("analyst")
	mustContain(t, "second browser", other.mustGet("/incidents", 200).body, `<html lang="en">`, "Incidents")

	// Time zone: times follow the user's zone.
	inc := e.create("analyst", app.NewIncident{Title: "zone check"})
	mustContain(t, "tokyo", b.mustGet("/incidents", 200).body, inc.CreatedAt.In(mustZone(t, "Asia/Tokyo")).Format("2006-01-02 15:04")+" JST")
	b.get("/settings")
	if p := b.post("/settings", url.Values{"language": {"en"}, "time_zone": {"Mars/Base"}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "Unknown time zone") {
		t.Fatalf("bad zone: %d", p.status)
	}
	if p := b.post("/settings", url.Values{"language": {"en"}, "time_zone": {"Europe/Berlin"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", p.status, p.body)
	}
	mustContain(t, "berlin", b.mustGet("/incidents", 200).body, inc.CreatedAt.In(mustZone(t, "Europe/Berlin")).Format("2006-01-02 15:04"))

	// Logout ends the session on the server, not only in this browser.
	session := cookie(t, b, "irdesk_session")
	b.get("/incidents")
	if p := b.post("/logout", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d", p.status)
	}
	req, _ := http.NewRequest("GET", e.url+"/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "irdesk_session", Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old session after logout: %d", resp.StatusCode)
	}
	if p := b.get("/incidents"); p.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", p.status)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func cookie(t *testing.T, b *browser, name string) string {
	t.Helper()
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no cookie %s", name)
	return ""
}

func TestErrorPages(t *testing.T) {
	e := newEnv(t)
	b := e.browser("ja")
	b.login("analyst")
	p := b.get("/incidents/INC-2026-9999")
	if p.status != http.StatusNotFound || !strings.Contains(p.body, "ページが見つかりません") || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("missing incident: %d %s", p.status, p.header.Get("Content-Type"))
	}
	checkPageHeaders(t, "404", p)
	p = b.get("/no/such/page")
	if p.status != http.StatusNotFound || !strings.Contains(p.body, "問い合わせ番号") {
		t.Fatalf("unknown path: %d", p.status)
	}
	p = b.get("/incidents?severity=S9")
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "入力内容を確認してください") {
		t.Fatalf("bad filter: %d", p.status)
	}
	// The API keeps answering problem+json to API clients.
	req, _ := http.NewRequest("GET", e.url+"/api/v1/incidents/INC-2026-9999", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var prob map[string]any
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" || json.NewDecoder(resp.Body).Decode(&prob) != nil {
		t.Fatalf("API error: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

var assetRe = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

func TestStaticFiles(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	p := b.mustGet("/login", 200)
	urls := assetRe.FindAllStringSubmatch(p.body, -1)
	if len(urls) != 4 {
		t.Fatalf("asset links: %v", urls)
	}
	for _, m := range urls {
		if !regexp.MustCompile(`^/static/(app|htmx\.min|live|favicon)\.[0-9a-f]{12}\.(css|js|svg)$`).MatchString(m[1]) {
			t.Errorf("asset URL without a content hash: %s", m[1])
		}
		p := b.mustGet(m[1], 200)
		if !strings.Contains(p.header.Get("Cache-Control"), "immutable") || len(p.body) < 50 {
			t.Errorf("%s: %v, %d bytes", m[1], p.header, len(p.body))
		}
	}
	if p := b.get("/static/app.000000000000.css"); p.status != http.StatusNotFound {
		t.Errorf("stale asset URL: %d", p.status)
	}
	if p := b.get("/static/htmx.NOTICE.txt"); p.status != http.StatusNotFound {
		t.Errorf("licence note served: %d", p.status)
	}
}

func TestIncidentListFiltersSortAndPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lead := app.Actor{User: e.users["lead"]}
	sevs := []core.Severity{core.S4, core.S1, core.S3, core.S2}
	var all []*core.Incident
	for i := range 65 {
		in := app.NewIncident{Title: fmt.Sprintf("incident %02d", i), Severity: sevs[i%4], Category: core.CatMalware}
		if i == 7 {
			in.Title, in.Category = "標的型メールによる感染", core.CatTargetedAttack
		}
		inc, err := e.app.CreateIncident(ctx, lead, in)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, inc)
	}
	if _, err := e.app.Assign(ctx, lead, all[3].Key, "analyst", ""); err != nil {
		t.Fatal(err)
	}
	b := e.browser("en")
	b.login("lead")
	list := func(path string) (got []string, next string) {
		p := b.mustGet(path, 200)
		for _, m := range regexp.MustCompile(`<a href="/incidents/(INC-\d{4}-\d{4})">`).FindAllStringSubmatch(p.body, -1) {
			got = append(got, m[1])
		}
		if m := regexp.MustCompile(`href="(/incidents\?[^"]*cursor=[^"]*)"`).FindStringSubmatch(p.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		return got, next
	}
	sevOf := map[string]core.Severity{}
	for _, inc := range all {
		sevOf[inc.Key] = inc.Severity
	}
	for _, sort := range []string{"", "severity"} {
		var seen []string
		path := "/incidents?sort=" + sort
		for pages := 0; path != ""; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			got, next := list(path)
			seen = append(seen, got...)
			path = next
		}
		if len(seen) != len(all) {
			t.Fatalf("sort %q: %d rows over all pages, want %d", sort, len(seen), len(all))
		}
		dup := map[string]bool{}
		for i, k := range seen {
			if dup[k] {
				t.Fatalf("sort %q: %s twice", sort, k)
			}
			dup[k] = true
			if i > 0 && sort == "severity" && sevOf[seen[i-1]] > sevOf[k] {
				t.Fatalf("sort by severity: %s (%s) after %s (%s)", k, sevOf[k], seen[i-1], sevOf[seen[i-1]])
			}
			if i > 0 && sort == "" && seen[i-1] < k {
				t.Fatalf("newest first: %s after %s", k, seen[i-1])
			}
		}
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=" + url.QueryEscape("標的型"), []string{all[7].Key}},
		{"q=" + url.QueryEscape("感染"), []string{all[7].Key}},
		{"category=targeted_attack", []string{all[7].Key}},
		{"assignee=analyst", []string{all[3].Key}},
		{"severity=S1&q=incident+01", []string{all[1].Key}},
		{"state=closed", nil},
		{"assignee=nobody-by-that-name", nil},
	} {
		got, _ := list("/incidents?" + tc.query)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	got, _ := list("/incidents?assignee=none&severity=S2")
	if len(got) != 15 { // 16 of S2, one of them assigned
		t.Errorf("unassigned S2: %d rows", len(got))
	}
	if p := b.get("/incidents?cursor=bogus"); p.status != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor: %d", p.status)
	}
}

func TestIncidentPageProgressAndComments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lead := app.Actor{User: e.users["lead"]}
	inc := e.create("lead", app.NewIncident{Title: "phases", Category: core.CatOther,
		Flags: core.Flags{PersonalData: true, PeopleAffected: 5000}})
	tasks, err := e.app.Tasks(ctx, lead, inc.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if task.Phase == core.PhaseDetect && task.Blocking {
			done := core.TaskPatch{Status: core.Opt[core.TaskStatus]{Set: true, Value: core.TaskDone}}
			if _, err := e.app.UpdateTask(ctx, lead, inc.Key, task.ID, done); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.app.MovePhase(ctx, lead, inc.Key, core.PhaseInvestigate, "skip triage for the test"); err != nil {
		t.Fatal(err)
	}
	b := e.browser("en")
	b.login("analyst")
	p := b.mustGet("/incidents/"+inc.Key, 200)
	steps := regexp.MustCompile(`<li class="step (done|skipped|current|todo)"`).FindAllStringSubmatch(p.body, -1)
	var states []string
	for _, s := range steps {
		states = append(states, s[1])
	}
	if strings.Join(states, ",") != "done,skipped,current,todo,todo,todo" {
		t.Errorf("progress states %v", states)
	}
	mustContain(t, "detail", p.body, "Phase changed", "Detect &amp; report → Investigate (skip triage for the test)", "Legal reporting deadlines")
	// The legal clocks of a 5,000-person personal data leak are listed.
	if !strings.Contains(p.body, "clock-") {
		t.Errorf("no legal clocks shown")
	}
	// Adding a comment through the form.
	c := b.post("/incidents/"+inc.Key+"/comments", url.Values{"body": {"called the vendor"}})
	if c.status != http.StatusSeeOther {
		t.Fatalf("comment: %d", c.status)
	}
	mustContain(t, "after comment", b.mustGet("/incidents/"+inc.Key, 200).body, "called the vendor")
	if c := b.post("/incidents/"+inc.Key+"/comments", url.Values{"body": {"   "}}); c.status != http.StatusUnprocessableEntity {
		t.Errorf("empty comment: %d", c.status)
	}
	// A viewer sees the record but may not comment.
	v := e.browser("en")
	v.login("viewer")
	p = v.mustGet("/incidents/"+inc.Key, 200)
	mustNotContain(t, "viewer", p.body, `id="comment-form"`)
	if c := v.post("/incidents/"+inc.Key+"/comments", url.Values{"body": {"x"}}); c.status != http.StatusForbidden {
		t.Errorf("viewer comment: %d", c.status)
	}
}
