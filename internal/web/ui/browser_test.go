package ui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium. Without it the browser tests skip
// on a developer's machine and fail in CI, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" && os.Getenv("CI") != "false" {
		t.Fatal("chromium is not installed, and CI is set: the browser tests must run in CI (.ci/run installs it with apt-get install -y chromium)")
	}
	t.Skip("browser tests skipped: chromium is not installed (apt-get install -y chromium); they never skip when CI=true")
	return ""
}

// tab is one headless Chromium page with what it reported: console
// errors and CSP violations fail the test at the end.
type tab struct {
	t       *testing.T
	ctx     context.Context
	base    string
	mu      sync.Mutex
	console []string
	shots   string
	n       int
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844), // a phone: the report form must work there
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The whole scenario has a bound, so a hung browser fails the test
	// instead of the test binary's timeout.
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	tb := &tab{t: t, ctx: ctx, base: base, shots: os.Getenv("IRDESK_SCREENSHOTS")}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			tb.mu.Lock()
			tb.console = append(tb.console, fmt.Sprintf("%s %s: %s", m.Type, m.Source, m.Text))
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		<-done
	})
	return tb
}

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		html, _ := chromedp.Run(tb.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		tb.t.Fatalf("%s: %v\npage: %.3000s", what, err, html)
	}
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// shot saves a PNG of the page when IRDESK_SCREENSHOTS names a directory.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	if tb.shots == "" {
		return
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	tb.n++
	file := filepath.Join(tb.shots, fmt.Sprintf("%s-%02d-%s.png", tb.t.Name(), tb.n, name))
	if err := os.MkdirAll(tb.shots, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(css(sel), chromedp.NodeVisible))
	if err != nil {
		tb.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func (tb *tab) login(name string) {
	tb.t.Helper()
	tb.do("sign in as "+name,
		chromedp.Navigate(tb.base+"/login"),
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#name"), name),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#logout")),
	)
}

func (tb *tab) logout() {
	tb.t.Helper()
	tb.do("sign out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-form")))
}

// switchLang presses the language button and waits for the page in it.
func (tb *tab) switchLang(lang string) {
	tb.t.Helper()
	tb.do("switch to "+lang,
		chromedp.Click(css("#lang-"+lang)),
		chromedp.WaitVisible(css(`html[lang="`+lang+`"] #main`)),
	)
}

// noProblems fails on console errors: a CSP violation (an inline script
// or style someone added) shows up there.
func (tb *tab) noProblems() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, c := range tb.console {
		tb.t.Errorf("browser console: %s", c)
	}
}

// The payload sets a global if it ever runs.
const browserXSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`

func TestBrowserReportToIncident(t *testing.T) {
	e := newEnv(t)
	tb := newTab(t, e.url)

	// A reporter on a phone files a report, in Japanese.
	tb.login("reporter")
	tb.do("report form", chromedp.WaitVisible(css("#report-form")))
	tb.switchLang("ja")
	if got := tb.text("h1"); got != "何が起きましたか？" {
		t.Fatalf("report heading in ja: %q", got)
	}
	tb.shot("report-ja")
	tb.do("fill the report",
		chromedp.Click(css(`label[for="sit-ransom_screen"]`)),
		chromedp.SendKeys(css("#what"), "経理のPCに身代金要求 "+browserXSS),
		chromedp.SendKeys(css("#location"), "本社3階 "+browserXSS),
		chromedp.SendKeys(css("#actions_taken"), "LANケーブルを抜いた"),
		chromedp.SendKeys(css("#contact"), "内線 1234"),
		chromedp.Click(css("#report-submit")),
		chromedp.WaitVisible(css("#filed")),
	)
	filed := tb.text("#filed")
	key := regexp.MustCompile(`INC-\d{4}-\d{4}`).FindString(filed)
	if key == "" || !strings.Contains(filed, "として受け付けました") {
		t.Fatalf("confirmation: %q", filed)
	}
	tb.shot("my-reports-ja")
	if got := tb.text("#my-reports"); !strings.Contains(got, key) || !strings.Contains(got, "検知・報告") {
		t.Fatalf("my reports: %q", got)
	}

	// Its detail page: the payload is text, never markup.
	tb.do("open the report", chromedp.Click(css(`#my-reports a.key`)), chromedp.WaitVisible(css("#incident-title")))
	checkInert(t, tb, "#incident-title")
	if got := tb.text("#progress"); !strings.Contains(got, "検知・報告") || !strings.Contains(got, "事後対応") {
		t.Fatalf("progress in ja: %q", got)
	}
	tb.switchLang("en")
	if got := tb.text("#progress"); !strings.Contains(got, "Detect & report") || !strings.Contains(got, "Post-incident") {
		t.Fatalf("progress in en: %q", got)
	}
	tb.shot("report-detail-en")
	tb.logout()

	// An analyst finds it in the list, in both languages.
	tb.login("analyst")
	tb.do("incident list", chromedp.Navigate(e.url+"/incidents"), chromedp.WaitVisible(css("#incident-list")))
	// The analyst has no language saved: the browser's English applies.
	if got := tb.text("h1"); got != "Incidents" {
		t.Fatalf("list heading: %q", got)
	}
	if got := tb.text("#incident-list"); !strings.Contains(got, key) || !strings.Contains(got, "Ransomware") {
		t.Fatalf("list in en: %q", got)
	}
	tb.shot("list-en")
	tb.switchLang("ja")
	if got := tb.text("#incident-list"); !strings.Contains(got, key) || !strings.Contains(got, "ランサムウェア") {
		t.Fatalf("list in ja: %q", got)
	}
	checkInert(t, tb, "#incident-list")
	tb.shot("list-ja")

	// htmx filters as one types, under the strict CSP.
	e.create("analyst", incidentTitled("無関係のインシデント"))
	tb.do("filter", chromedp.Navigate(e.url+"/incidents"), chromedp.WaitVisible(css("#incident-list")))
	waitRows(t, tb, 2)
	tb.do("type a search", chromedp.SendKeys(css("#q"), "身代金"))
	waitRows(t, tb, 1)
	if got := tb.text("#incident-list"); !strings.Contains(got, key) {
		t.Fatalf("filtered list: %q", got)
	}
	tb.do("filter to nothing", chromedp.SendKeys(css("#q"), "存在しない語"), chromedp.WaitVisible(css("#no-incidents")))

	tb.do("open from the list", chromedp.Navigate(e.url+"/incidents/"+key), chromedp.WaitVisible(css("#timeline")))
	checkInert(t, tb, "#incident-title")
	tb.do("comment",
		chromedp.SendKeys(css("#comment-body"), "初動対応を開始 "+browserXSS),
		chromedp.Click(css("#comment-submit")),
		chromedp.WaitVisible(css("#comment-list")),
	)
	checkInert(t, tb, "#comment-list")
	tb.shot("detail-ja")
	tb.switchLang("en")
	if got := tb.text("#timeline"); !strings.Contains(got, "Reported") || !strings.Contains(got, "Comment") {
		t.Fatalf("timeline in en: %q", got)
	}
	tb.shot("detail-en")
	tb.noProblems()
}

// checkInert checks the payload is shown as text under sel and never ran.
func checkInert(t *testing.T, tb *tab, sel string) {
	t.Helper()
	ran, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.__xss !== undefined`))
	if err != nil {
		t.Fatal(err)
	}
	injected, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#main img, #main script, #main svg').length`))
	if err != nil {
		t.Fatal(err)
	}
	if ran || injected != 0 {
		t.Fatalf("payload ran (%v) or made elements (%d)", ran, injected)
	}
	if got := tb.text(sel); !strings.Contains(got, `<img src=x onerror="window.__xss=1">`) {
		t.Fatalf("%s does not show the payload as text: %q", sel, got)
	}
}

// waitRows waits for the list to show n rows (htmx swaps it in).
func waitRows(t *testing.T, tb *tab, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#incident-list tbody tr').length`))
		if err != nil {
			t.Fatal(err)
		}
		if rows == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("list has %d rows, want %d", rows, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
