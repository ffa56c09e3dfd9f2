package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestReportDraftEdits(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "顧客DBからの漏えい", "category": "data_leak", "info_type": "personal", "severity": "S2",
		"flags": map[string]any{"personal_data": true, "people_affected": 5000}})
	base := "/api/v1/incidents/" + key + "/reports/ppc/edits?stage=final"
	r := env.call("analyst", "GET", base, nil)
	if r.status != 200 {
		t.Fatalf("get edits: %d %s", r.status, r.body)
	}
	var draft struct {
		Outline struct{ Sections, Fields []string }
		Version int64
	}
	r.json(t, &draft)
	cause := "4. 原因"
	found := false
	for _, s := range draft.Outline.Sections {
		found = found || s == cause
	}
	if !found || draft.Version != 0 {
		t.Fatalf("outline %v version %d", draft.Outline.Sections, draft.Version)
	}
	edit := func(as string, body any) response {
		return env.call(as, "PUT", base, body)
	}
	text := "委託先の設定不備により、顧客DBが外部から閲覧可能になっていた。<script>x</script>"
	before := env.eventCount()
	for as, want := range map[string]int{"viewer": 403, "reporter": 404, "reporter2": 404} {
		if r := edit(as, map[string]any{"sections": map[string]string{cause: "x"}, "version": 0}); r.status != want {
			t.Errorf("%s editing: %d, want %d (%s)", as, r.status, want, r.body)
		}
	}
	r = edit("analyst", map[string]any{"sections": map[string]string{"99. 存在しない": "x"}, "version": 0})
	if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "存在しない") {
		t.Errorf("unknown heading: %d %s", r.status, r.body)
	}
	if env.eventCount() != before {
		t.Fatal("refused edits wrote events")
	}
	r = edit("analyst", map[string]any{"sections": map[string]string{cause: text}, "version": 0})
	if r.status != 200 {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	r.json(t, &draft)
	if draft.Version != 1 {
		t.Fatalf("version %d", draft.Version)
	}
	if r := edit("lead", map[string]any{"sections": map[string]string{cause: "別の原因"}, "version": 0}); r.status != http.StatusConflict {
		t.Errorf("stale version: %d %s", r.status, r.body)
	}
	md := env.call("analyst", "GET", "/api/v1/incidents/"+key+"/reports/ppc?stage=final", nil)
	if md.status != 200 || !strings.Contains(string(md.body), "委託先の設定不備") || !strings.Contains(string(md.body), `\<script>`) {
		t.Errorf("export with edits: %d\n%s", md.status, md.body)
	}
	// Other drafts (the preliminary one, English) are not affected.
	other := env.call("analyst", "GET", "/api/v1/incidents/"+key+"/reports/ppc?stage=preliminary", nil)
	if strings.Contains(string(other.body), "委託先の設定不備") {
		t.Error("the preliminary draft picked up the final draft's edits")
	}
	// The edit is in the timeline with its text.
	var tl struct {
		Items []struct {
			Type    string
			Payload json.RawMessage
		}
	}
	env.call("analyst", "GET", "/api/v1/incidents/"+key+"/timeline", nil).json(t, &tl)
	seen := false
	for _, e := range tl.Items {
		if e.Type == "incident.report_edited" && strings.Contains(string(e.Payload), "委託先") {
			seen = true
		}
	}
	if !seen {
		t.Error("no incident.report_edited event with the text")
	}
	if r := env.call("analyst", "GET", base+"&"+url.Values{"format": {"md"}}.Encode(), nil); r.status != http.StatusBadRequest {
		t.Errorf("unknown query parameter: %d", r.status)
	}
	if r := env.call("viewer", "DELETE", base, nil); r.status != 403 {
		t.Errorf("viewer discarding: %d", r.status)
	}
	if r := env.call("analyst", "DELETE", base, nil); r.status != 204 {
		t.Fatalf("discard: %d %s", r.status, r.body)
	}
	if r := env.call("analyst", "DELETE", base, nil); r.status != 404 {
		t.Errorf("discard twice: %d", r.status)
	}
	md = env.call("analyst", "GET", "/api/v1/incidents/"+key+"/reports/ppc?stage=final", nil)
	if strings.Contains(string(md.body), "委託先の設定不備") {
		t.Error("edits survived the discard")
	}
}
