package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/irdesk/irdesk/internal/app"
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

// TestBrowserRejectAndCancelRun: a lead types a reason next to Reject and
// refuses an analyst's destructive run; the analyst cancels their other
// run; the rows and the timeline say so, and nothing is sent.
func TestBrowserRejectAndCancelRun(t *testing.T) {
	e, rc := newActionsEnv(t)
	inc := e.incidentWithObservables()
	ctx := context.Background()
	refused, err := e.app.RunAction(ctx, e.actor("analyst"), inc.Key, app.RunActionInput{Action: "disable-user", Value: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	withdrawn, err := e.app.RunAction(ctx, e.actor("analyst"), inc.Key, app.RunActionInput{Action: "disable-user", Value: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	row := func(id int64) string { return fmt.Sprintf(`#run-list tr[data-run="%d"]`, id) }

	tb := newTab(t, e.url)
	tb.login("lead")
	tb.do("incident page", chromedp.Navigate(e.url+"/incidents/"+inc.Key), chromedp.WaitVisible(css("#run-list")))
	tb.shot("waiting")
	tb.do("reject",
		chromedp.SendKeys(css(row(refused.ID)+` input[name="reason"][required]`), "wrong account: carol is on leave"),
		chromedp.Click(css(row(refused.ID)+" .run-reject")),
		chromedp.WaitVisible(css(row(refused.ID)+` [data-run-status="rejected"]`)),
	)
	tb.shot("rejected")
	if got := tb.text(row(refused.ID)); !strings.Contains(got, "Rejected") || !strings.Contains(got, "rejected by lead") ||
		!strings.Contains(got, "wrong account: carol is on leave") {
		t.Fatalf("rejected row: %q", got)
	}
	tb.logout()
	tb.login("analyst")
	tb.do("incident page", chromedp.Navigate(e.url+"/incidents/"+inc.Key), chromedp.WaitVisible(css("#run-list")))
	tb.do("cancel",
		chromedp.Click(css(row(withdrawn.ID)+" .run-cancel")),
		chromedp.WaitVisible(css(row(withdrawn.ID)+` [data-run-status="cancelled"]`)),
	)
	tb.shot("cancelled")
	if got := tb.text("#timeline"); !strings.Contains(got, "Response action rejected") || !strings.Contains(got, "Response action cancelled") {
		t.Fatalf("timeline: %q", got)
	}
	e.drainActions()
	if got := rc.requests(); len(got) != 0 {
		t.Fatalf("sent %v", got)
	}
	tb.noProblems()
}
