package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitText waits until sel's text contains want, without reloading.
func waitText(t *testing.T, tb *tab, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`(document.querySelector(`+"`"+sel+"`"+`) || {}).textContent || ""`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; it shows %q", sel, want, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mark sets a value on the page's window: it survives only as long as the
// page is not reloaded.
func mark(t *testing.T, tb *tab) {
	t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`window.__notReloaded = 7`)); err != nil {
		t.Fatal(err)
	}
}

func notReloaded(t *testing.T, tb *tab) {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`window.__notReloaded || 0`))
	if err != nil {
		t.Fatal(err)
	}
	if v != 7 {
		t.Fatal("the page was reloaded; the change should have come in live")
	}
}

// TestBrowserLiveUpdate: two people in two browsers. A comment one adds
// appears on the other's open incident page, timeline included, and a
// new incident appears in the other's open list, without a reload.
func TestBrowserLiveUpdate(t *testing.T) {
	e := newEnv(t)
	inc := e.create("lead", incidentTitled("Shared drive encrypted"))
	writer, watcher := newTab(t, e.url), newTab(t, e.url)
	writer.login("analyst")
	watcher.login("lead")
	page := e.url + "/incidents/" + inc.Key
	watcher.do("open the incident", chromedp.Navigate(page), chromedp.WaitVisible(css("#timeline")))
	mark(t, watcher)
	// The stream must be open before the comment: wait until the page's
	// EventSource has connected (the server answers at once).
	time.Sleep(500 * time.Millisecond)

	writer.do("add a comment",
		chromedp.Navigate(page),
		chromedp.WaitVisible(css("#comment-form")),
		chromedp.SendKeys(css("#comment-body"), "共有ドライブを切り離しました / drive unplugged"),
		chromedp.Click(css("#comment-submit")),
		chromedp.WaitVisible(css("#comment-list")),
	)
	waitText(t, watcher, "#comment-list", "共有ドライブを切り離しました / drive unplugged")
	waitText(t, watcher, "#timeline", "analyst")
	notReloaded(t, watcher)
	watcher.shot("live-comment")

	watcher.do("open the list", chromedp.Navigate(e.url+"/incidents"), chromedp.WaitVisible(css("#incident-list")))
	mark(t, watcher)
	time.Sleep(500 * time.Millisecond)
	e.create("analyst", incidentTitled("USB stick found in the lobby"))
	waitText(t, watcher, "#incident-list", "USB stick found in the lobby")
	notReloaded(t, watcher)
	watcher.shot("live-list")
	writer.noProblems()
	watcher.noProblems()
}
