package ui_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
)

// TestBrowserAlertToIncidentWork walks an analyst through the queue and
// the incident page: acknowledge and promote an alert, raise the
// incident's severity, complete a task and move the incident to triage,
// all under the strict CSP and without JavaScript of our own.
func TestBrowserAlertToIncidentWork(t *testing.T) {
	e := newEnv(t)
	ids := e.ingest("analyst", `[{"title": "Suspicious PowerShell `+xssPayload+`", "severity": "S3", "host": "pc-12"},
		{"title": "Port scan", "severity": "S4", "host": "fw-1"}]`)
	id := strconv.FormatInt(ids[0], 10)
	row := `tr[data-alert="` + id + `"]`
	tb := newTab(t, e.url)
	tb.login("analyst")

	tb.do("alert queue", chromedp.Click(css("#nav-alerts")), chromedp.WaitVisible(css("#alert-list")))
	tb.shot("alerts-en")
	if got := tb.text(row); !strings.Contains(got, "Suspicious PowerShell </script><script>alert(1)</script>") || !strings.Contains(got, "New") {
		t.Fatalf("queue row: %q", got)
	}
	tb.do("acknowledge",
		chromedp.Click(css(`button.alert-ack[data-alert="`+id+`"]`)),
		chromedp.WaitVisible(css(row+` .status-acknowledged`)),
	)
	tb.do("promote",
		chromedp.Click(css(`summary.alert-more[data-alert="`+id+`"]`)),
		chromedp.WaitVisible(css(row+` .promote-form`)),
		chromedp.SetValue(css(row+` .promote-category`), "malware"),
		chromedp.SetValue(css(row+` .promote-severity`), "S2"),
		chromedp.Click(css(`button.alert-promote[data-alert="`+id+`"]`)),
		chromedp.WaitVisible(css("#incident-title")),
	)
	if got := tb.text("#linked-alerts"); !strings.Contains(got, "#"+id) {
		t.Fatalf("linked alerts: %q", got)
	}
	if got := tb.text(".badges"); !strings.Contains(got, "S2") || !strings.Contains(got, "Malware") {
		t.Fatalf("promoted incident badges: %q", got)
	}
	tb.shot("promoted-en")

	tb.do("edit severity",
		chromedp.Click(css("#edit-link")),
		chromedp.WaitVisible(css("#edit-form")),
		chromedp.SetValue(css("#severity"), "S1"),
		chromedp.Click(css("#edit-submit")),
		chromedp.WaitVisible(css(".badges .sev-s1")),
	)
	tb.do("complete the blocking task",
		chromedp.Click(css(`button.task-done[data-task="malware:record-alert"]`)),
		chromedp.WaitVisible(css(`#tasks li.task.done`)),
	)
	tb.do("move to triage",
		chromedp.Click(css("#phase-open")),
		chromedp.WaitVisible(css("#phase-form")),
		chromedp.SetValue(css("#phase-to"), "triage"),
		chromedp.Click(css("#phase-submit")),
		chromedp.WaitVisible(css("#incident-phase.phase-triage")),
	)
	if got := tb.text("#timeline"); !strings.Contains(got, "Phase changed") || !strings.Contains(got, "Detect & report → First response") {
		t.Fatalf("timeline: %q", got)
	}
	tb.switchLang("ja")
	if got := tb.text("#incident-phase"); got != "初動対応" {
		t.Fatalf("phase in ja: %q", got)
	}
	tb.shot("triage-ja")
	tb.noProblems()
}

// TestBrowserRetryNotification has a lead find a failed delivery in the
// outbox and queue it again.
func TestBrowserRetryNotification(t *testing.T) {
	e := newNotifyEnv(t)
	n := e.failedNotification(t)
	tb := newTab(t, e.url)
	tb.login("lead")
	tb.do("outbox", chromedp.Click(css("#nav-notifications")), chromedp.WaitVisible(css("#failed-list")))
	tb.shot("outbox-en")
	if got := tb.text("#failed-list"); !strings.Contains(got, "SOC hook") || !strings.Contains(got, "1/1") {
		t.Fatalf("failed list: %q", got)
	}
	tb.do("retry",
		chromedp.Click(css(`button.retry[data-notification="`+strconv.FormatInt(n.ID, 10)+`"]`)),
		chromedp.WaitVisible(css("#retried")),
		chromedp.WaitVisible(css("#no-failed")),
	)
	tb.shot("outbox-retried")
	tb.noProblems()
}

// TestBrowserTOTPEnrolAndSignIn sets up two-step sign-in in the browser:
// the QR code is drawn, the secret is read from the page's text form (as
// someone whose phone cannot scan would type it), the code computed from
// it confirms the enrolment, and the next sign-in asks for a code.
func TestBrowserTOTPEnrolAndSignIn(t *testing.T) {
	e := newEnv(t)
	tb := newTab(t, e.url)
	tb.login("analyst")
	tb.do("settings", chromedp.Navigate(tb.base+"/settings"), chromedp.WaitVisible(css("#totp-begin")))
	tb.do("begin enrolment", chromedp.Click(css("#totp-begin")), chromedp.WaitVisible(css("#totp-qr")))
	tb.shot("totp-setup-en")
	secret := tb.text("#totp-secret")
	if len(strings.ReplaceAll(secret, " ", "")) != 32 {
		t.Fatalf("secret on the page: %q", secret)
	}
	tb.do("confirm",
		chromedp.SendKeys(css("#totp-code"), totpCode(t, secret, time.Now())),
		chromedp.Click(css("#totp-confirm")),
		chromedp.WaitVisible(css("#recovery-codes")),
	)
	if codes := strings.Fields(tb.text("#recovery-codes")); len(codes) != 10 {
		t.Fatalf("recovery codes: %q", codes)
	}
	tb.shot("totp-codes-en")
	tb.do("done", chromedp.Click(css("#totp-done")), chromedp.WaitVisible(css("#totp-disable-form")))
	tb.logout()
	tb.do("password step",
		chromedp.SendKeys(css("#name"), "analyst"),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#login-code-form")),
	)
	tb.shot("totp-login-en")
	tb.do("code step",
		chromedp.SendKeys(css("#code"), totpCode(t, secret, time.Now().Add(auth.TOTPPeriod))),
		chromedp.Click(css("#login-code-submit")),
		chromedp.WaitVisible(css("#logout")),
	)
	if got := tb.text(".who"); got != "analyst" {
		t.Fatalf("signed in as %q", got)
	}
	// The dashboard's category chart, drawn under the same CSP.
	e.create("lead", app.NewIncident{Title: "phish", Category: core.CatPhishing})
	e.create("lead", app.NewIncident{Title: "lost laptop", Category: core.CatLostDevice, Severity: core.S2})
	tb.do("dashboard", chromedp.Click(css("#nav-dashboard")), chromedp.WaitVisible(css("#by-category svg")))
	if got := tb.text("#category-table"); !strings.Contains(got, "Phishing") || !strings.Contains(got, "Lost or stolen device") {
		t.Fatalf("category table: %q", got)
	}
	tb.shot("dashboard-categories-en")
	tb.noProblems()
}
