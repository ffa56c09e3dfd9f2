package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/app"
)

// TestRecordActionFromIncidentPage: responders write down what was done,
// by whom, when and with which tool, on the incident page.
func TestRecordActionFromIncidentPage(t *testing.T) {
	e := newEnv(t)
	inc := e.create("analyst", app.NewIncident{Title: "不審なログイン"})
	path := "/incidents/" + inc.Key
	b := e.browser("ja")
	b.login("analyst")
	b.mustGet(path, 200)
	p := b.post(path+"/actions", url.Values{"description": {"<b>EDRで端末を隔離</b>"}, "performed_by": {"ベンダー山田"},
		"performed_at": {"2026-11-24T09:30"}, "tool": {"Defender"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("record: %d %s", p.status, p.body)
	}
	page := b.mustGet(path, 200)
	mustContain(t, "recorded action", page.body, "&lt;b&gt;EDRで端末を隔離&lt;/b&gt;", "ベンダー山田", "Defender", "2026-11-24 09:30")
	mustNotContain(t, "escaping", page.body, "<b>EDR")
	p = b.post(path+"/actions", url.Values{"description": {"   "}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="record-error"`) {
		t.Errorf("empty description: %d", p.status)
	}
	p = b.post(path+"/actions", url.Values{"description": {"x"}, "performed_at": {"yesterday"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("bad time: %d", p.status)
	}
	b.mustGet(path, 200)
	if p := b.post(path+"/actions", url.Values{"csrf_token": {"forged"}, "description": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", p.status)
	}
	v := e.browser("en")
	v.login("viewer")
	page = v.mustGet(path, 200)
	mustNotContain(t, "viewer's page", page.body, `id="record-form"`)
	if p := v.post(path+"/actions", url.Values{"description": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("viewer recording: %d", p.status)
	}
}
