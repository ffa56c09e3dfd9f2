package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserResponseAction: an analyst dry-runs the generic signed
// webhook from the incident page, sees the request with the signature
// masked, runs it, and sees it succeed once the background worker sent it
// to the receiver — under the strict CSP, with the incident's hostile
// observable inert.
func TestBrowserResponseAction(t *testing.T) {
	e, rc := newActionsEnv(t)
	inc := e.incidentWithObservables()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.app.RunActionWorker(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	tb := newTab(t, e.url)
	tb.login("analyst")
	tb.do("incident page", chromedp.Navigate(e.url+"/incidents/"+inc.Key), chromedp.WaitVisible(css("#response-form")))
	tb.do("dry run",
		chromedp.SetValue(css("#response-action"), "webhook-signed"),
		chromedp.SendKeys(css("#response-value"), "web-01.corp.example"),
		chromedp.Click(css("#response-dry-run")),
		chromedp.WaitVisible(css("#response-preview")),
	)
	tb.shot("dry-run")
	req := tb.text("#preview-request")
	if !strings.Contains(req, "POST "+rc.srv.URL+"/hooks/irdesk") || !strings.Contains(req, "X-Irdesk-Signature: ********") ||
		!strings.Contains(req, `"observable": "web-01.corp.example"`) || strings.Contains(req, hookSecret) {
		t.Fatalf("dry run request: %q", req)
	}
	if got := rc.requests(); len(got) != 0 {
		t.Fatalf("the dry run sent %v", got)
	}
	// The form keeps what was typed: running it is one click.
	tb.do("run", chromedp.Click(css("#response-run")), chromedp.WaitVisible(css("#run-list")))
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-run-status="succeeded"]').length`))
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not succeed: %q", tb.text("#run-list"))
		}
		time.Sleep(300 * time.Millisecond)
		tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(css("#run-list")))
	}
	tb.shot("succeeded")
	if got := tb.text("#run-list"); !strings.Contains(got, "Succeeded") || !strings.Contains(got, "HTTP 200") || !strings.Contains(got, "web-01.corp.example") {
		t.Fatalf("run row: %q", got)
	}
	if got := rc.requests(); len(got) != 1 || got[0] != "POST /hooks/irdesk" {
		t.Fatalf("receiver saw %v", got)
	}
	ran, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.__xss !== undefined`))
	if err != nil {
		t.Fatal(err)
	}
	injected, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#main img, #main script').length`))
	if err != nil {
		t.Fatal(err)
	}
	if ran || injected != 0 {
		t.Fatalf("payload ran (%v) or made elements (%d)", ran, injected)
	}
	tb.noProblems()
}
