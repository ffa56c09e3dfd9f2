package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/irdesk/irdesk/internal/app"
)

// TestBrowserKnowledgeSearchJapanese: a viewer switches to Japanese, opens
// the knowledge base from the navigation, searches for a word that sits
// inside a sentence of an article, and sees the article with the word
// marked; the article's hostile title stays text under the strict CSP.
func TestBrowserKnowledgeSearchJapanese(t *testing.T) {
	e := newEnv(t)
	if _, err := e.app.CreateArticle(context.Background(), app.Actor{User: e.users["analyst"]}, app.NewArticle{
		Title: "情報漏洩の初動 " + browserXSS, Body: "顧客情報の漏洩が発覚した場合、まず影響範囲を確認する。"}); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t, e.url)
	tb.login("viewer")
	tb.switchLang("ja")
	tb.do("open the knowledge base", chromedp.Click(css("#nav-knowledge")), chromedp.WaitVisible(css("#kb-search")))
	tb.do("search in Japanese",
		chromedp.SendKeys(css("#kb-q"), "漏洩"),
		chromedp.Click(css("#kb-search-button")),
		chromedp.WaitVisible(css("#kb-results")),
	)
	tb.shot("knowledge-search-ja")
	if got := tb.text("#kb-results"); !strings.Contains(got, "顧客情報の漏洩が発覚した") || !strings.Contains(got, "記事") {
		t.Fatalf("results: %q", got)
	}
	marks, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('#kb-results mark')).map(m => m.textContent).join('|')`))
	if err != nil || !strings.Contains(marks, "漏洩") {
		t.Fatalf("marked: %q %v", marks, err)
	}
	checkInert(t, tb, "#kb-results .hit-title")
	tb.do("open the article", chromedp.Click(css("#kb-results .hit-title")), chromedp.WaitVisible(css("#article-body")))
	if got := tb.text("#article-body"); !strings.Contains(got, "影響範囲を確認する") {
		t.Fatalf("article: %q", got)
	}
	tb.noProblems()
}
