package ui_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/notify"
)

// xssPayload is what an attacker would put in a tool's alert to break out
// of a <script> block or an attribute.
const xssPayload = `</script><script>alert(1)</script>`

// ingest stores alerts in irdesk's own format and returns their ids.
func (e *env) ingest(as string, body string) []int64 {
	e.t.Helper()
	res, err := e.app.IngestAlerts(context.Background(), app.Actor{User: e.users[as]}, "native", []byte(body))
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []int64
	for _, r := range res {
		ids = append(ids, r.ID)
	}
	return ids
}

func (e *env) actor(name string) app.Actor { return app.Actor{User: e.users[name]} }

// closedPortURL is a webhook address nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/hook"
}

// failedNotification makes one failed delivery the real way: a webhook
// contact on call at a closed port, an incident that notifies it, and one
// run of the delivery worker (the env allows one attempt).
func (e *env) failedNotification(t *testing.T) core.Notification {
	t.Helper()
	ctx := context.Background()
	order := 1
	if _, err := e.app.SaveContact(ctx, app.SystemActor, &core.Contact{Name: "SOC hook", Kind: "group", Active: true,
		OnCallOrder: &order, Channels: []core.Channel{{Type: "webhook", Address: closedPortURL(t)}}}); err != nil {
		t.Fatal(err)
	}
	e.create("lead", app.NewIncident{Title: "triggers a notification", Severity: core.S2})
	w := &notify.Worker{Queue: e.app.Outbox(), Senders: map[string]notify.Sender{"webhook": notify.Webhook{Client: notify.HTTPClient(), Secret: []byte("k")}}}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	failed, _, err := e.app.Notifications(ctx, app.SystemActor, app.NotificationFilter{Status: core.NotifyFailed})
	if err != nil || len(failed) != 1 {
		t.Fatalf("failed notifications: %+v %v", failed, err)
	}
	return failed[0]
}

func newNotifyEnv(t *testing.T) *env {
	return newEnvConfig(t, app.Config{Notify: app.NotifyConfig{MaxAttempts: 1, BaseURL: "https://irdesk.example.jp"}})
}

func TestSlice2PagesInBothLanguages(t *testing.T) {
	e := newNotifyEnv(t)
	e.failedNotification(t)
	inc := e.create("lead", app.NewIncident{Title: "顧客DBへの不正アクセス", Category: core.CatDataLeak, Severity: core.S1,
		Flags: core.Flags{PersonalData: true, PeopleAffected: 1200}, Restricted: true})
	ids := e.ingest("analyst", `{"title": "Suspicious login", "severity": "S2", "host": "web-01", "src_ip": "203.0.113.7"}`)
	ctx := context.Background()
	if _, err := e.app.AttachAlert(ctx, e.actor("lead"), ids[0], inc.Key); err != nil {
		t.Fatal(err)
	}
	e.ingest("analyst", `{"title": "Port scan", "severity": "S4", "host": "fw-01"}`)
	alert := "/alerts/" + strconv.FormatInt(ids[0], 10)
	key := inc.Key
	cases := []langCase{
		{accept: "ja", lang: "ja", want: map[string][]string{
			"/incidents/" + key:                          {"フェーズを移動", "フェーズごとの担当者", "閲覧できるメンバー", "関連アラート", "Suspicious login", "報告書の下書き", "個人情報保護委員会への報告（速報）", "法的報告に関わる事項", "1200 人"},
			"/incidents/" + key + "/edit":                {key + " を編集", "影響度", "緊急度", "要配慮個人情報を含む", "閲覧制限（メンバーのみ）"},
			"/incidents/" + key + "/print":               {key, "顧客DBへの不正アクセス", "出力日時"},
			"/incidents/" + key + "/reports/ppc?lang=ja": {"個人情報保護委員会への報告（速報）", "下書きを保存"},
			"/alerts":              {"アラートキュー", "Suspicious login", "Port scan", "一括実行", "インシデント化", "新規"},
			alert:                  {"元のペイロード", "検知履歴", "観測値（IOC 候補）", "203.0.113.7"},
			"/dashboard":           {"対応状況の見える化", "深刻度別（対応中）", "週ごとの新規インシデント（12週間）", "MTTD", "集計対象: 2 件のインシデント。", "<svg"},
			"/contacts":            {"連絡網", "SOC hook", "グループ"},
			"/contacts/new":        {"連絡先を追加", "当番順"},
			"/notifications":       {"送信に失敗した通知", "再送", "SOC hook"},
			"/settings/escalation": {"適用中のエスカレーションルール", "組み込み"},
		}},
		{accept: "en", lang: "en", want: map[string][]string{
			"/incidents/" + key:                          {"Move phase", "Owner of each phase", "Members", "Linked alerts", "Suspicious login", "Report drafts", "PPC report (preliminary)", "1200 people"},
			"/incidents/" + key + "/edit":                {"Edit " + key, "Impact", "Urgency", "Sensitive personal data involved", "Restricted (members only)"},
			"/incidents/" + key + "/print":               {key, "Printed"},
			"/incidents/" + key + "/reports/ppc?lang=en": {"PPC report (preliminary)", "Save draft"},
			"/alerts":              {"Alert queue", "Suspicious login", "Apply to checked", "Promoted", "New"},
			alert:                  {"Original payload", "Occurrences", "Observables", "203.0.113.7"},
			"/dashboard":           {"Where we stand", "Open by severity", "New incidents per week (12 weeks)", "MTTR", "Computed over 2 incidents."},
			"/contacts":            {"Contact tree", "SOC hook", "Group"},
			"/contacts/new":        {"Add contact", "On-call order"},
			"/notifications":       {"Failed deliveries", "Retry", "SOC hook"},
			"/settings/escalation": {"Escalation rules in force", "Built-in"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.lang, func(t *testing.T) {
			b := e.browser(tc.accept)
			b.login("lead")
			for path, wants := range tc.want {
				p := b.mustGet(path, 200)
				mustContain(t, path, p.body, `<html lang="`+tc.lang+`">`)
				mustContain(t, path, p.body, wants...)
				checkPageHeaders(t, path, p)
			}
		})
	}
}

func TestSlice2ContentIsEscaped(t *testing.T) {
	e := newEnv(t)
	inc := e.create("lead", app.NewIncident{Title: xss[0] + xss[1], Description: xss[2], AffectedSystems: []string{xss[1]},
		Facts: core.Facts{What: xss[0], Location: xss[3]}, Flags: core.Flags{PersonalData: true, PeopleAffected: 10}})
	// The payload sits in the tool's raw JSON, in a field irdesk does not
	// know (kept verbatim) and in the title.
	ids := e.ingest("analyst", `{"title": "`+strings.ReplaceAll(xssPayload, `"`, `\"`)+`", "severity": "S1", "host": "h<b>1", "note": "`+xssPayload+`", "rule_name": "javascript:alert(5)"}`)
	if _, err := e.app.AttachAlert(context.Background(), e.actor("lead"), ids[0], inc.Key); err != nil {
		t.Fatal(err)
	}
	b := e.browser("en")
	b.login("lead")
	alert := "/alerts/" + strconv.FormatInt(ids[0], 10)
	for _, path := range []string{"/alerts", alert, "/alerts?q=" + url.QueryEscape(xssPayload), "/incidents/" + inc.Key, "/incidents/" + inc.Key + "/edit",
		"/incidents/" + inc.Key + "/print", "/dashboard", "/incidents/" + inc.Key + "/reports/post-incident?lang=en"} {
		p := b.mustGet(path, 200)
		mustNotContain(t, path, p.body, "<script>alert", "</script><script>", "<img src=x", "<svg onload", `href="javascript:`, "h<b>1")
		checkPageHeaders(t, path, p)
	}
	p := b.mustGet(alert, 200)
	mustContain(t, "alert page", p.body, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "h&lt;b&gt;1")
	// The payload is shown pretty-printed, one key a line.
	if !regexp.MustCompile(`\n  &#34;note&#34;: &#34;&lt;/script&gt;`).MatchString(p.body) {
		t.Errorf("payload not pretty-printed and escaped:\n%s", p.body)
	}
	mustContain(t, "incident page", b.mustGet("/incidents/"+inc.Key, 200).body, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;")
}

func TestSlice2FormsNeedCSRFToken(t *testing.T) {
	e := newNotifyEnv(t)
	n := e.failedNotification(t)
	inc := e.create("lead", app.NewIncident{Title: "csrf", Restricted: true})
	ids := e.ingest("analyst", `{"title": "a"}`)
	contacts, err := e.app.ListContacts(context.Background(), app.SystemActor)
	if err != nil || len(contacts) == 0 {
		t.Fatal(err)
	}
	b := e.browser("en")
	b.login("lead")
	k := "/incidents/" + inc.Key
	al := "/alerts/" + strconv.FormatInt(ids[0], 10)
	c := "/contacts/" + strconv.FormatInt(contacts[0].ID, 10)
	form := url.Values{"title": {"changed"}, "version": {"1"}, "to": {"triage"}, "self": {"1"}, "user": {"analyst"}, "reason": {"benign"},
		"ids": {strconv.FormatInt(ids[0], 10)}, "action": {"acknowledge"}, "name": {"x"}, "incident": {inc.Key}, "s0": {"x"}}
	for _, path := range []string{k + "/edit", k + "/phase", k + "/assign", k + "/tasks/other:record/complete", k + "/tasks/other:record/skip",
		k + "/members", k + "/members/lead/remove", k + "/reports/post-incident?lang=en", "/alerts/bulk", al + "/acknowledge", al + "/close",
		al + "/promote", al + "/attach", "/contacts/new", c, c + "/delete", "/notifications/" + strconv.FormatInt(n.ID, 10) + "/retry"} {
		for _, token := range []string{"", "forged"} {
			f := url.Values{}
			for key, v := range form {
				f[key] = v
			}
			f.Set("csrf_token", token)
			if p := b.do("POST", path, f); p.status != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d", path, token, p.status)
			}
		}
	}
	// Nothing changed.
	ctx := context.Background()
	got, err := e.app.GetIncident(ctx, app.SystemActor, inc.Key)
	if err != nil || got.Title != "csrf" || got.Phase != core.PhaseDetect || got.Assignee != "" {
		t.Errorf("incident after refused posts: %+v %v", got, err)
	}
	a, err := e.app.GetAlert(ctx, app.SystemActor, ids[0])
	if err != nil || a.Status != core.AlertNew {
		t.Errorf("alert after refused posts: %+v %v", a, err)
	}
	if cs, _ := e.app.ListContacts(ctx, app.SystemActor); len(cs) != len(contacts) {
		t.Errorf("contacts after refused posts: %d", len(cs))
	}
}

func TestSlice2RoleVisibility(t *testing.T) {
	e := newEnv(t)
	inc := e.create("analyst", app.NewIncident{Title: "visible"})
	e.ingest("analyst", `{"title": "an alert"}`)
	admin := []string{`id="nav-contacts"`, `id="nav-notifications"`, `id="nav-escalation"`}

	r := e.browser("en")
	r.login("reporter")
	p := r.mustGet("/report", 200)
	mustNotContain(t, "reporter nav", p.body, append(admin, `id="nav-alerts"`, `id="nav-dashboard"`)...)
	for _, path := range []string{"/alerts", "/dashboard", "/contacts", "/notifications", "/settings/escalation", "/alerts/1"} {
		p := r.get(path)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "You may not do this.") {
			t.Errorf("reporter %s: %d", path, p.status)
		}
	}

	v := e.browser("en")
	v.login("viewer")
	p = v.mustGet("/incidents", 200)
	mustContain(t, "viewer nav", p.body, `id="nav-alerts"`, `id="nav-dashboard"`)
	mustNotContain(t, "viewer nav", p.body, admin...)
	p = v.mustGet("/alerts", 200)
	mustContain(t, "viewer alerts", p.body, "an alert")
	mustNotContain(t, "viewer alerts", p.body, `id="bulk-form"`, "alert-ack", "alert-promote", `name="ids"`)
	p = v.mustGet("/alerts/1", 200)
	mustContain(t, "viewer alert", p.body, "Original payload")
	mustNotContain(t, "viewer alert", p.body, "alert-ack", "alert-promote", "alert-close", "<form method=\"post\" action=\"/alerts")
	p = v.mustGet("/incidents/"+inc.Key, 200)
	mustNotContain(t, "viewer incident", p.body, `id="edit-link"`, `id="phase-form"`, "task-done", `id="assign-me"`, "draft-edit")
	mustContain(t, "viewer incident", p.body, `id="print-link"`, "Markdown")
	v.mustGet("/dashboard", 200)
	if p := v.get("/incidents/" + inc.Key + "/edit"); p.status != http.StatusForbidden {
		t.Errorf("viewer edit page: %d", p.status)
	}
	// The app refuses what the page does not offer.
	if p := v.post("/alerts/1/acknowledge", nil); p.status != http.StatusForbidden {
		t.Errorf("viewer acknowledge: %d", p.status)
	}
	if p := v.post("/incidents/"+inc.Key+"/phase", url.Values{"to": {"triage"}}); p.status != http.StatusForbidden {
		t.Errorf("viewer phase move: %d", p.status)
	}
	if p := v.get("/contacts"); p.status != http.StatusForbidden {
		t.Errorf("viewer contacts: %d", p.status)
	}

	a := e.browser("en")
	a.login("analyst")
	p = a.mustGet("/alerts", 200)
	mustContain(t, "analyst alerts", p.body, `id="bulk-form"`, "alert-ack")
	mustNotContain(t, "analyst nav", p.body, admin...)
	p = a.mustGet("/incidents/"+inc.Key, 200)
	mustContain(t, "analyst incident", p.body, `id="edit-link"`, `id="phase-form"`, `id="assign-me"`)
	mustNotContain(t, "analyst incident", p.body, `id="assign-form"`, `id="root_cause"`)
	if p := a.post("/contacts/new", url.Values{"name": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("analyst creates a contact: %d", p.status)
	}

	l := e.browser("en")
	l.login("lead")
	mustContain(t, "lead nav", l.mustGet("/incidents", 200).body, admin...)
}

func TestSlice2EditIncident(t *testing.T) {
	e := newEnv(t)
	inc := e.create("analyst", app.NewIncident{Title: "before", Severity: core.S3})
	b := e.browser("en")
	b.login("analyst")
	p := b.mustGet("/incidents/"+inc.Key+"/edit", 200)
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(p.body)[1]
	form := url.Values{"version": {version}, "title": {"after"}, "description": {"desc"}, "severity": {"S1"}, "impact": {"1"}, "urgency": {"2"},
		"category": {"malware"}, "occurred_at": {"2026-11-20T09:15"}, "location": {"3F"}, "what": {"beacon"}, "personal_data": {"1"},
		"people_affected": {"42"}, "affected_systems": {"pc-01\n\n  pc-02  \n"}, "restricted": {"1"}}
	if p := b.post("/incidents/"+inc.Key+"/edit", form); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	got, err := e.app.GetIncident(context.Background(), app.SystemActor, inc.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 20, 0, 15, 0, 0, time.UTC)
	if got.Title != "after" || got.Severity != core.S1 || got.Priority != "P1" || got.Category != core.CatMalware || got.Facts.What != "beacon" ||
		!got.Flags.PersonalData || got.Flags.PeopleAffected != 42 || strings.Join(got.AffectedSystems, ",") != "pc-01,pc-02" ||
		got.Facts.OccurredAt == nil || !got.Facts.OccurredAt.Equal(want) || got.Restricted {
		t.Errorf("after edit: %+v", got)
	}
	// Sending the same form again (a stale version) is a conflict, shown
	// as such, with the user's input kept.
	form.Set("title", "my stale change")
	p = b.post("/incidents/"+inc.Key+"/edit", form)
	if p.status != http.StatusConflict {
		t.Fatalf("stale edit: %d", p.status)
	}
	mustContain(t, "conflict", p.body, "Someone else changed this incident while you were editing it", `id="edit-reload"`, "my stale change")
	b.lang = "ja"
	if err := func() error {
		s := "ja"
		_, err := e.app.SetPrefs(context.Background(), e.actor("analyst"), app.PrefsChange{Language: &s})
		return err
	}(); err != nil {
		t.Fatal(err)
	}
	p = b.post("/incidents/"+inc.Key+"/edit", form)
	mustContain(t, "conflict ja", p.body, "他の人が変更しました")
	// Invalid input comes back with the app's reason.
	form.Set("version", strconv.FormatInt(got.Version, 10))
	form.Set("title", "   ")
	p = b.post("/incidents/"+inc.Key+"/edit", form)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("empty title: %d", p.status)
	}
	mustContain(t, "invalid", p.body, "件名", "is required")
	form.Set("title", "ok")
	form.Set("impact", "9")
	if p := b.post("/incidents/"+inc.Key+"/edit", form); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "影響度") {
		t.Errorf("bad impact: %d", p.status)
	}
}

func TestSlice2PhaseTasksAssignMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	inc := e.create("lead", app.NewIncident{Title: "walk", Category: core.CatMalware, Restricted: true})
	b := e.browser("en")
	b.login("lead")
	k := "/incidents/" + inc.Key
	b.mustGet(k, 200)
	// A blocking task holds the phase: the app's reason is shown.
	p := b.post(k+"/phase", url.Values{"to": {"triage"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "blocking task(s)") || !strings.Contains(p.body, `id="action-error"`) {
		t.Fatalf("move with open blocking task: %d", p.status)
	}
	// Skipping a task needs a reason.
	if p := b.post(k+"/tasks/malware:record-alert/skip", url.Values{"reason": {" "}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.body, "Reason for skipping") {
		t.Fatalf("skip without reason: %d", p.status)
	}
	if p := b.post(k+"/tasks/malware:confirm/skip", url.Values{"reason": {"EDR verdict is certain"}}); p.status != http.StatusSeeOther {
		t.Fatalf("skip: %d %s", p.status, p.body)
	}
	if p := b.post(k+"/tasks/malware:record-alert/complete", nil); p.status != http.StatusSeeOther {
		t.Fatalf("complete: %d %s", p.status, p.body)
	}
	tasks, _ := e.app.Tasks(ctx, e.actor("lead"), inc.Key)
	for _, task := range tasks {
		if task.ID == "malware:record-alert" && task.Status != core.TaskDone || task.ID == "malware:confirm" && (task.Status != core.TaskSkipped || task.SkipReason == "") {
			t.Errorf("task %s: %s %q", task.ID, task.Status, task.SkipReason)
		}
	}
	// Skipping phases needs a reason; with one, it moves.
	if p := b.post(k+"/phase", url.Values{"to": {"contain"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "needs a reason") {
		t.Fatalf("skip without reason: %d", p.status)
	}
	if p := b.post(k+"/phase", url.Values{"to": {"triage"}}); p.status != http.StatusSeeOther {
		t.Fatalf("move to triage: %d %s", p.status, p.body)
	}
	// Closing needs the root cause and the rest.
	p = b.post(k+"/phase", url.Values{"to": {"closed"}, "reason": {"false alarm after all"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "closing needs the root cause") || !strings.Contains(p.body, "Root cause") {
		t.Fatalf("close without root cause: %d", p.status)
	}
	// Assignments: the lead takes the phase, then gives investigate to the analyst.
	if p := b.post(k+"/assign", url.Values{"self": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("take: %d", p.status)
	}
	if p := b.post(k+"/assign", url.Values{"phase": {"investigate"}, "user": {"analyst"}}); p.status != http.StatusSeeOther {
		t.Fatalf("assign: %d", p.status)
	}
	if p := b.post(k+"/assign", url.Values{"phase": {"investigate"}, "user": {"reporter"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("assign a reporter: %d", p.status)
	}
	// Members of the restricted incident.
	if p := b.post(k+"/members", url.Values{"user": {"viewer"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add member: %d", p.status)
	}
	p = b.mustGet(k, 200)
	mustContain(t, "page", p.body, "viewer", "analyst", "EDR verdict is certain")
	if p := b.post(k+"/members/viewer/remove", nil); p.status != http.StatusSeeOther {
		t.Fatalf("remove member: %d", p.status)
	}
	members, _ := e.app.Members(ctx, e.actor("lead"), inc.Key)
	var names []string
	for _, m := range members {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "analyst,lead" {
		t.Errorf("members %v", names)
	}
	// An analyst may take a phase but not assign others.
	a := e.browser("en")
	a.login("analyst")
	a.mustGet(k, 200)
	if p := a.post(k+"/assign", url.Values{"phase": {"triage"}, "user": {"lead"}}); p.status != http.StatusForbidden {
		t.Errorf("analyst assigns another: %d", p.status)
	}
	// Close properly: the dialog's closing facts are saved, then it moves.
	got, _ := e.app.GetIncident(ctx, app.SystemActor, inc.Key)
	tasks, _ = e.app.Tasks(ctx, e.actor("lead"), inc.Key)
	for _, task := range tasks {
		if task.Phase == core.PhaseTriage && task.Blocking {
			b.post(k+"/tasks/"+task.ID+"/complete", nil)
		}
	}
	b.mustGet(k, 200)
	p = b.post(k+"/phase", url.Values{"to": {"closed"}, "reason": {"false alarm"}, "version": {strconv.FormatInt(got.Version, 10)},
		"root_cause": {"test file"}, "lessons_learned": {"tune EDR"}, "prevention_measures": {"allow-list"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("close: %d %s", p.status, p.body)
	}
	got, _ = e.app.GetIncident(ctx, app.SystemActor, inc.Key)
	if got.Phase != core.PhaseClosed || got.RootCause != "test file" {
		t.Errorf("after close: %s %q", got.Phase, got.RootCause)
	}
}

func TestSlice2AlertQueue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.ingest("analyst", `[{"title": "Malware found", "severity": "S2", "host": "pc-7", "fingerprint": "m1"},
		{"title": "Port scan", "severity": "S4", "host": "fw-1"},
		{"title": "Brute force", "severity": "S3", "host": "vpn"},
		{"title": "Beacon", "severity": "S1", "host": "pc-9"},
		{"title": "DNS tunnel", "severity": "S2", "host": "dns"}]`)
	e.ingest("analyst", `{"title": "Malware found", "severity": "S2", "host": "pc-7", "fingerprint": "m1"}`) // a repeat
	target := e.create("analyst", app.NewIncident{Title: "target"})
	b := e.browser("en")
	b.login("analyst")
	p := b.mustGet("/alerts", 200)
	// Newest first, the repeat counted.
	order := regexp.MustCompile(`<tr class="[^"]*" data-alert="(\d+)">`).FindAllStringSubmatch(p.body, -1)
	if len(order) != 5 || order[0][1] != strconv.FormatInt(ids[4], 10) {
		t.Fatalf("queue order %v", order)
	}
	mustContain(t, "queue", p.body, "×2")
	for _, tc := range []struct {
		q    string
		want []string
		not  []string
	}{
		{"severity=S1", []string{"Beacon"}, []string{"Port scan"}},
		{"host=fw-1", []string{"Port scan"}, []string{"Beacon"}},
		{"q=brute", []string{"Brute force"}, []string{"Beacon"}},
		{"source=native&status=new", []string{"Beacon", "Port scan"}, nil},
		{"seen_after=2000-01-01T00:00", []string{"Beacon"}, nil},
		{"seen_before=2000-01-01T00:00", nil, []string{"Beacon", "Port scan"}},
	} {
		p := b.mustGet("/alerts?"+tc.q, 200)
		mustContain(t, tc.q, p.body, tc.want...)
		mustNotContain(t, tc.q, p.body, tc.not...)
	}
	if p := b.get("/alerts?status=bogus"); p.status != http.StatusUnprocessableEntity {
		t.Errorf("bad status filter: %d", p.status)
	}
	id := func(i int) string { return strconv.FormatInt(ids[i], 10) }
	if p := b.post("/alerts/"+id(0)+"/acknowledge", url.Values{"next": {"/alerts?severity=S2"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/alerts?severity=S2" {
		t.Fatalf("acknowledge: %d %s", p.status, p.header.Get("Location"))
	}
	if p := b.post("/alerts/"+id(1)+"/close", url.Values{"reason": {"false_positive"}, "next": {"https://evil.example/"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/alerts/"+id(1) {
		t.Fatalf("close: %d %s", p.status, p.header.Get("Location"))
	}
	// Closing again: the app's reason on the alert's page.
	p = b.post("/alerts/"+id(1)+"/close", url.Values{"reason": {"benign"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "only new or acknowledged alerts") {
		t.Fatalf("close a closed alert: %d", p.status)
	}
	if p := b.post("/alerts/"+id(2)+"/close", url.Values{"reason": {""}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("close without reason: %d", p.status)
	}
	p = b.post("/alerts/"+id(0)+"/promote", url.Values{"category": {"malware"}, "severity": {"S1"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/incidents/INC-") {
		t.Fatalf("promote: %d %s", p.status, p.header.Get("Location"))
	}
	promoted := strings.TrimPrefix(p.header.Get("Location"), "/incidents/")
	inc, err := e.app.GetIncident(ctx, app.SystemActor, promoted)
	if err != nil || inc.Category != core.CatMalware || inc.Severity != core.S1 {
		t.Fatalf("promoted incident: %+v %v", inc, err)
	}
	mustContain(t, "promoted incident page", b.mustGet("/incidents/"+promoted, 200).body, "Linked alerts", "/alerts/"+id(0), "Malware found")
	if p := b.post("/alerts/"+id(2)+"/attach", url.Values{"incident": {target.Key}}); p.status != http.StatusSeeOther {
		t.Fatalf("attach: %d %s", p.status, p.body)
	}
	mustContain(t, "target page", b.mustGet("/incidents/"+target.Key, 200).body, "Brute force")
	// Bulk: nothing checked is refused with the reason; two checked change.
	b.mustGet("/alerts", 200)
	p = b.post("/alerts/bulk", url.Values{"action": {"acknowledge"}, "next": {"/alerts?status=new"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="alerts-error"`) {
		t.Fatalf("bulk without ids: %d", p.status)
	}
	p = b.post("/alerts/bulk", url.Values{"action": {"close"}, "reason": {"benign"}, "ids": {id(3), id(4)}, "next": {"/alerts?status=new"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/alerts?done=2&status=new" {
		t.Fatalf("bulk close: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	mustContain(t, "after bulk", b.mustGet(p.header.Get("Location"), 200).body, "2 alert(s) changed.")
	for _, i := range []int{3, 4} {
		if al, _ := e.app.GetAlert(ctx, app.SystemActor, ids[i]); al.Status != core.AlertClosed || al.CloseReason != core.CloseBenign {
			t.Errorf("alert %d after bulk close: %s %s", ids[i], al.Status, al.CloseReason)
		}
	}
	// Bulk promote opens one incident and goes to it.
	more := e.ingest("analyst", `[{"title": "x1"}, {"title": "x2"}]`)
	p = b.post("/alerts/bulk", url.Values{"action": {"promote"}, "category": {"phishing"}, "ids": {strconv.FormatInt(more[0], 10), strconv.FormatInt(more[1], 10)}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/incidents/INC-") {
		t.Fatalf("bulk promote: %d %s", p.status, p.header.Get("Location"))
	}
	// The alert page lists its occurrences; an unknown id is a 404.
	p = b.mustGet("/alerts/"+id(0), 200)
	if n := strings.Count(p.body, `<details><summary>Original payload</summary>`); n != 2 {
		t.Errorf("occurrences with payloads: %d", n)
	}
	for _, bad := range []string{"/alerts/999999", "/alerts/abc", "/alerts/0"} {
		if p := b.get(bad); p.status != http.StatusNotFound {
			t.Errorf("%s: %d", bad, p.status)
		}
	}
}

func TestSlice2Dashboard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lead := e.actor("lead")
	e.create("lead", app.NewIncident{Title: "open S1", Severity: core.S1})
	leak := e.create("lead", app.NewIncident{Title: "open S3 personal", Severity: core.S3, Flags: core.Flags{PersonalData: true, PeopleAffected: 2000}})
	e.create("lead", app.NewIncident{Title: "drill", Severity: core.S1, Exercise: true})
	closed := e.create("lead", app.NewIncident{Title: "closed one", Severity: core.S2, Category: core.CatOther})
	tasks, _ := e.app.Tasks(ctx, lead, closed.Key)
	for _, task := range tasks {
		if task.Phase == core.PhaseDetect && task.Blocking {
			done := core.TaskPatch{Status: core.Opt[core.TaskStatus]{Set: true, Value: core.TaskDone}}
			if _, err := e.app.UpdateTask(ctx, lead, closed.Key, task.ID, done); err != nil {
				t.Fatal(err)
			}
		}
	}
	patch := core.IncidentPatch{RootCause: core.Opt[string]{Set: true, Value: "r"}, LessonsLearned: core.Opt[string]{Set: true, Value: "l"},
		PreventionMeasures: core.Opt[string]{Set: true, Value: "p"}}
	if _, err := e.app.UpdateIncident(ctx, lead, closed.Key, patch); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.MovePhase(ctx, lead, closed.Key, core.PhaseClosed, "resolved at once"); err != nil {
		t.Fatal(err)
	}
	b := e.browser("en")
	b.login("viewer")
	p := b.mustGet("/dashboard", 200)
	// Two open (the drill does not count), one closed: three incidents
	// counted, the drill left out of every figure (counted in SQL, it is
	// not even read).
	mustContain(t, "dashboard", p.body, `id="kpi-open"><span class="num">2</span>`, `id="kpi-closed"><span class="num">1</span>`,
		"Computed over 3 incidents.", "Exercises are excluded.", "Over the 1 incidents closed")
	for _, want := range []string{`S1 · [^:<]+: 1<`, `S3 · [^:<]+: 1<`, `S2 · [^:<]+: 0<`} {
		if !regexp.MustCompile(want).MatchString(p.body) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	// This week's bar holds the three real incidents.
	if !regexp.MustCompile(`<text x="\d+" y="\d+" class="value">3</text>`).MatchString(p.body) {
		t.Errorf("weekly chart lacks this week's 3")
	}
	// MTTA of the closed incident: it was acknowledged when it left detect.
	if !regexp.MustCompile(`id="mtt-mtta"><td><strong>MTTA</strong> <span class="muted">[^<]+</span></td><td>0m</td><td>1</td>`).MatchString(p.body) {
		t.Errorf("MTTA row missing or wrong")
	}
	// The personal data leak of 2,000 people has a PPC clock due within days.
	clocks := p.body[strings.Index(p.body, `id="dash-clocks"`):]
	mustContain(t, "clocks", clocks, `href="/incidents/`+leak.Key+`"`)
	if !strings.Contains(p.body, "<svg") || strings.Contains(p.body, "<script>") {
		t.Errorf("charts are not server-side SVG")
	}
}

func TestSlice2NotificationRetry(t *testing.T) {
	e := newNotifyEnv(t)
	n := e.failedNotification(t)
	b := e.browser("en")
	b.login("lead")
	p := b.mustGet("/notifications", 200)
	mustContain(t, "outbox", p.body, `id="failed-list"`, "SOC hook", "1/1", `data-notification="`+strconv.FormatInt(n.ID, 10)+`"`)
	if !strings.Contains(p.body, "connection refused") && !strings.Contains(p.body, "connect") {
		t.Errorf("last error not shown")
	}
	// The webhook address of a lead's page is whole; an analyst's is masked.
	a := e.browser("en")
	a.login("analyst")
	if p := a.mustGet("/notifications", 200); !strings.Contains(p.body, "/…") || strings.Contains(p.body, "/hook") {
		t.Errorf("analyst sees the address unmasked")
	}
	p = b.post(fmt.Sprintf("/notifications/%d/retry", n.ID), nil)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/notifications?retried=1" {
		t.Fatalf("retry: %d %s", p.status, p.body)
	}
	p = b.mustGet("/notifications?retried=1", 200)
	mustContain(t, "after retry", p.body, "Queued for another attempt.", `id="no-failed"`)
	// Retrying what is not failed is a conflict.
	if p := b.post(fmt.Sprintf("/notifications/%d/retry", n.ID), nil); p.status != http.StatusConflict {
		t.Errorf("retry a pending one: %d", p.status)
	}
}

func TestSlice2Contacts(t *testing.T) {
	e := newEnv(t)
	b := e.browser("en")
	b.login("lead")
	b.mustGet("/contacts/new", 200)
	form := url.Values{"name": {"Hana Sato"}, "kind": {"internal"}, "language": {"ja"}, "on_call_order": {"2"}, "roles": {"technical", "lead"},
		"user": {"analyst"}, "active": {"1"}, "channel_type": {"email", "phone", "email"}, "channel_address": {"hana@example.jp", "090-0000-0000", ""},
		"channel_label": {"work", "", ""}}
	p := b.post("/contacts/new", form)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.header.Get("Location"), "?saved=1") {
		t.Fatalf("create contact: %d %s", p.status, p.body)
	}
	path := strings.TrimSuffix(p.header.Get("Location"), "?saved=1")
	p = b.mustGet(path+"?saved=1", 200)
	mustContain(t, "contact", p.body, "Contact saved.", "hana@example.jp", "090-0000-0000", `value="technical" checked`)
	cs, _ := e.app.ListContacts(context.Background(), app.SystemActor)
	if len(cs) != 1 || len(cs[0].Channels) != 2 || *cs[0].OnCallOrder != 2 || cs[0].User != "analyst" || strings.Join(cs[0].Roles, ",") != "lead,technical" {
		t.Fatalf("saved contact: %+v", cs)
	}
	// A bad address: the form comes back with the app's reason.
	form.Set("version", "1")
	form["channel_address"] = []string{"not-an-address", "", ""}
	p = b.post(path, form)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "not a plain e-mail address") {
		t.Fatalf("bad address: %d", p.status)
	}
	// A stale version is a conflict.
	form["channel_address"] = []string{"hana@example.jp", "", ""}
	form.Set("version", "0")
	if p := b.post(path, form); p.status != http.StatusConflict || !strings.Contains(p.body, "Someone else changed this contact") {
		t.Fatalf("stale contact: %d", p.status)
	}
	mustContain(t, "list", b.mustGet("/contacts", 200).body, "Hana Sato", "Technical", "email: hana@example.jp")
	if p := b.post(path+"/delete", nil); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if cs, _ := e.app.ListContacts(context.Background(), app.SystemActor); len(cs) != 0 {
		t.Errorf("contacts after delete: %d", len(cs))
	}
}

func TestSlice2ReportDraftAndPrint(t *testing.T) {
	e := newEnv(t)
	inc := e.create("analyst", app.NewIncident{Title: "draft me", Flags: core.Flags{PersonalData: true, PeopleAffected: 3}})
	b := e.browser("en")
	b.login("analyst")
	path := "/incidents/" + inc.Key + "/reports/post-incident?lang=en"
	p := b.mustGet(path, 200)
	m := regexp.MustCompile(`<label for="(s\d+)">([^<]+)</label>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no section in the draft form:\n%s", p.body)
	}
	p = b.post(path, url.Values{"version": {"0"}, m[1]: {"Our own summary."}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save draft: %d %s", p.status, p.body)
	}
	p = b.mustGet(p.header.Get("Location"), 200)
	mustContain(t, "draft", p.body, "Draft saved.", "Our own summary.", "Last edited by analyst")
	// Saving again from the stale page is refused with the reason.
	p = b.post(path, url.Values{"version": {"0"}, m[1]: {"Another."}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Someone else edited this draft") {
		t.Fatalf("stale draft: %d", p.status)
	}
	// The export has the edit.
	md, err := e.app.Report(context.Background(), e.actor("analyst"), inc.Key, app.ReportRequest{Kind: "post-incident", Format: "md", Lang: "en"})
	if err != nil || !strings.Contains(string(md), "Our own summary.") {
		t.Fatalf("export: %v", err)
	}
	if p := b.get("/incidents/" + inc.Key + "/reports/nope"); p.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown kind: %d", p.status)
	}
	// The incident page links the exports through the API, which answers
	// to the same session.
	p = b.mustGet("/incidents/"+inc.Key, 200)
	link := regexp.MustCompile(`href="(/api/v1/incidents/[^"]+format=md[^"]*)"`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatal("no export link")
	}
	exp := b.get(strings.ReplaceAll(link[1], "&amp;", "&"))
	if exp.status != 200 || !strings.Contains(exp.header.Get("Content-Type"), "markdown") {
		t.Errorf("export link: %d %s", exp.status, exp.header.Get("Content-Type"))
	}
	// The print view has no navigation and no forms.
	p = b.mustGet("/incidents/"+inc.Key+"/print", 200)
	mustContain(t, "print", p.body, `class="print"`, "draft me", "Timeline")
	mustNotContain(t, "print", p.body, `class="nav"`, "<form", `id="logout"`)
}
