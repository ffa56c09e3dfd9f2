package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// TestKnowledgePages: an article is written through the form (CSRF
// checked), found by a Japanese word inside a sentence with the match
// marked by the template, shown with its Markdown as escaped blocks, and
// edited; in both languages; user text never becomes markup.
func TestKnowledgePages(t *testing.T) {
	e := newEnv(t)
	b := e.browser("ja")
	b.login("analyst")
	p := b.mustGet("/knowledge", 200)
	mustContain(t, "ja knowledge", p.body, "ナレッジベース", "最近の記事", "期限切れの再発防止策", `id="nav-knowledge"`)
	b.mustGet("/knowledge/new", 200)
	if p := b.do("POST", "/knowledge/new", url.Values{"title": {"x"}, "body": {"y"}}); p.status != http.StatusForbidden {
		t.Errorf("article without CSRF token: %d", p.status)
	}
	body := "# 初動\n顧客情報の漏洩が発覚したら、まず範囲を確認する。\n\n- 端末を隔離\n- ログを保全\n\n```\nnetstat -an " + xss[0] + "\n```\n" + xss[1]
	p = b.post("/knowledge/new", url.Values{"title": {"漏洩時の初動 " + xss[2]}, "body": {body}, "tags": {"runbook, 漏洩"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/knowledge/") {
		t.Fatalf("create article: %d %s", p.status, p.body)
	}
	art := p.header.Get("Location")
	p = b.mustGet(art, 200)
	mustContain(t, "article", p.body, "<h2>初動</h2>", "<li>端末を隔離</li>", "<pre><code>netstat -an &lt;script&gt;", "&lt;img src=x", "&#34;&gt;&lt;svg onload")
	mustNotContain(t, "article", p.body, "<script>alert", "<img src=x", "<svg onload")

	// Search: a word inside a sentence, the match marked by the template.
	p = b.mustGet("/knowledge?q="+url.QueryEscape("漏洩"), 200)
	mustContain(t, "search", p.body, "<mark>漏洩</mark>が発覚したら", "「漏洩」の検索結果", `href="`+art+`"`)
	mustNotContain(t, "search", p.body, "<svg onload")
	p = b.mustGet("/knowledge?q="+url.QueryEscape(xss[0]), 200)
	mustNotContain(t, "xss search", p.body, "<script>alert")
	mustContain(t, "xss search", p.body, "&lt;script&gt;alert(1)&lt;/script&gt;")

	// Edit with the version; a stale version comes back as a conflict.
	edit := art + "/edit"
	p = b.mustGet(edit, 200)
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(p.body)
	if version == nil {
		t.Fatalf("no version in the edit form")
	}
	p = b.post(edit, url.Values{"title": {"漏洩時の初動"}, "body": {"1. 隔離\n2. 保全"}, "version": {version[1]}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	p = b.mustGet(art, 200)
	mustContain(t, "edited", p.body, "<ol><li>隔離</li><li>保全</li></ol>")
	b.get(edit)
	if p := b.post(edit, url.Values{"title": {"x"}, "body": {"y"}, "version": {version[1]}}); p.status != http.StatusConflict {
		t.Errorf("stale edit: %d", p.status)
	}
	if p := b.post("/knowledge/new", url.Values{"title": {""}, "body": {"y"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="article-error"`) {
		t.Errorf("article without title: %d", p.status)
	}

	// English.
	en := e.browser("en")
	en.login("viewer")
	p = en.mustGet("/knowledge?q="+url.QueryEscape("隔離"), 200)
	mustContain(t, "en search", p.body, "Knowledge base", "Results for", "<mark>隔離</mark>", "Recent articles", "Overdue prevention measures")
	mustNotContain(t, "en search", p.body, `id="kb-new"`)
	// Reporters have no knowledge base.
	r := e.browser("en")
	r.login("reporter")
	if p := r.get("/knowledge"); p.status != http.StatusForbidden {
		t.Errorf("reporter: %d", p.status)
	}
}

// TestIncidentCostsAndSimilar: the incident page lists similar incidents
// with the reason and the costs with their exact total; the add-cost form
// needs the CSRF token; an exercise is marked and its costs stay out of
// the dashboard's total.
func TestIncidentCostsAndSimilar(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lead := app.Actor{User: e.users["lead"]}
	first := e.create("lead", app.NewIncident{Title: "VPN機器の脆弱性を突いた侵入", Category: core.CatUnauthorized, AffectedSystems: []string{"vpn-gw1"}})
	second := e.create("lead", app.NewIncident{Title: "VPN経由の不審な通信 " + xss[0], Category: core.CatUnauthorized, AffectedSystems: []string{"vpn-gw1"}})
	drill, err := e.app.CreateIncident(ctx, lead, app.NewIncident{Title: "訓練: ランサムウェア", Category: core.CatRansomware, Exercise: true})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser("ja")
	b.login("lead")
	path := "/incidents/" + first.Key
	p := b.mustGet(path, 200)
	mustContain(t, "similar", p.body, `id="similar"`, `href="/incidents/`+second.Key+`"`, "共通の影響システム: vpn-gw1", `id="cost-form"`)
	mustNotContain(t, "similar", p.body, "<script>alert")
	if p := b.do("POST", path+"/costs", url.Values{"category": {"consulting"}, "amount": {"100"}, "status": {"actual"}}); p.status != http.StatusForbidden {
		t.Errorf("cost without token: %d", p.status)
	}
	for _, amt := range []string{"1,234,567", "1"} {
		p := b.post(path+"/costs", url.Values{"category": {"consulting"}, "amount": {amt}, "currency": {"JPY"}, "status": {"actual"},
			"date": {"2026-05-01"}, "note": {xss[1]}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("add cost %s: %d %s", amt, p.status, p.body)
		}
	}
	if p := b.post(path+"/costs", url.Values{"category": {"consulting"}, "amount": {"1.5"}, "status": {"actual"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("fractional amount: %d", p.status)
	}
	p = b.mustGet(path, 200)
	mustContain(t, "costs", p.body, `id="cost-total-JPY">1,234,568 JPY`, "コンサルティング", "&lt;img src=x")
	mustNotContain(t, "costs", p.body, "<img src=x")
	// The exercise: a badge on its page and in the list, costs out of totals.
	drillPath := "/incidents/" + drill.Key
	p = b.get(drillPath)
	b.post(drillPath+"/costs", url.Values{"category": {"ransom"}, "amount": {"999"}, "currency": {"JPY"}, "status": {"actual"}, "date": {"2026-05-01"}})
	p = b.mustGet(drillPath, 200)
	mustContain(t, "exercise page", p.body, `<span class="badge tag">訓練</span>`, "訓練: これらの費用は合計・統計に含めません。")
	p = b.mustGet("/incidents", 200)
	mustContain(t, "list", p.body, drill.Key+`</a> <span class="tag">訓練</span>`)
	p = b.mustGet("/dashboard", 200)
	mustContain(t, "dashboard", p.body, `id="cost-by-category"`, `id="cost-monthly"`, "合計: 1,234,568 JPY", "<svg")
	en := e.browser("en")
	en.login("viewer")
	p = en.mustGet("/dashboard", 200)
	mustContain(t, "en dashboard", p.body, "Cost by category", "Cost over the last 12 months", "Consulting: 1,234,568 JPY")
	p = en.mustGet(path, 200)
	mustContain(t, "en incident", p.body, "Similar incidents", "Shared affected systems: vpn-gw1", "Cost of damage")
	mustNotContain(t, "en incident (viewer)", p.body, `id="cost-form"`)
}
