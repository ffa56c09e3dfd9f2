package ui_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// TestBrowserWalkToClosed takes one reported incident through every phase
// to closed in the browser, as a lead: in each phase the phase's blocking
// playbook tasks are completed on the page, then the phase move dialog
// moves it on; closing fills in cause, lessons and prevention.
func TestBrowserWalkToClosed(t *testing.T) {
	e := newEnv(t)
	inc := e.create("reporter", app.NewIncident{Title: "顧客宛のメールを誤送信した", Category: core.CatMisdelivery,
		Facts: core.Facts{What: "見積書を別の顧客に送付"}})
	tb := newTab(t, e.url)
	tb.login("lead")
	tb.do("open the incident", chromedp.Navigate(e.url+"/incidents/"+inc.Key), chromedp.WaitVisible(css("#incident-title")))
	lead := app.Actor{User: e.users["lead"]}
	phases := []core.Phase{core.PhaseTriage, core.PhaseInvestigate, core.PhaseContain, core.PhaseRecover, core.PhaseReview, core.PhaseClosed}
	from := core.PhaseDetect
	for _, to := range phases {
		tasks, err := e.app.Tasks(context.Background(), lead, inc.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if task.Phase != from || !task.Blocking || task.Status.Finished() {
				continue
			}
			button := `button.task-done[data-task="` + task.ID + `"]`
			tb.do("complete "+task.ID, chromedp.Click(css(button)), chromedp.WaitNotPresent(css(button)))
		}
		actions := []chromedp.Action[chromedp.Void]{
			chromedp.Click(css("#phase-open")),
			chromedp.WaitVisible(css("#phase-form")),
			chromedp.SetValue(css("#phase-to"), string(to)),
		}
		if to == core.PhaseClosed {
			actions = append(actions,
				chromedp.SendKeys(css("#root_cause"), "宛先のオートコンプリートで別顧客を選択"),
				chromedp.SendKeys(css("#lessons_learned"), "送信前の宛先確認が形骸化していた"),
				chromedp.SendKeys(css("#prevention_measures"), "社外宛メールの送信保留（5分）を導入"),
			)
		}
		actions = append(actions, chromedp.Click(css("#phase-submit")),
			chromedp.WaitVisible(css("#incident-phase.phase-"+string(to))))
		tb.do("move to "+string(to), actions...)
		from = to
	}
	got, err := e.app.GetIncident(context.Background(), lead, inc.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != core.PhaseClosed || got.Timestamps.ClosedAt == nil || !strings.Contains(got.PreventionMeasures, "送信保留") {
		t.Fatalf("after the walk: phase %s, closed %v, prevention %q", got.Phase, got.Timestamps.ClosedAt, got.PreventionMeasures)
	}
	var walked []core.Phase
	for _, p := range got.Phases {
		walked = append(walked, p.Phase)
	}
	if want := core.Phases[:len(core.Phases)-1]; !slices.Equal(walked, want) && !slices.Equal(walked, core.Phases) {
		t.Errorf("phase history %v, want the six steps in order", walked)
	}
	tb.shot("walked-to-closed")
	tb.noProblems()
}
