package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

type ingestReply struct {
	Items []struct {
		ID        int64 `json:"id"`
		Duplicate bool  `json:"duplicate"`
	} `json:"items"`
}

// ingestOK sends alerts and expects them accepted.
func (e *testEnv) ingestOK(as, path string, body any) ingestReply {
	e.t.Helper()
	r := e.call(as, "POST", path, body)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("POST %s as %s: %d %s", path, as, r.status, r.body)
	}
	var rep ingestReply
	r.json(e.t, &rep)
	return rep
}

// alertCount counts stored alerts through the API.
func (e *testEnv) alertCount() int {
	e.t.Helper()
	n := 0
	for cursor := ""; ; {
		r := e.call("admin", "GET", "/api/v1/alerts?limit=200&cursor="+url.QueryEscape(cursor), nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("list alerts: %d %s", r.status, r.body)
		}
		var list struct {
			Items      []core.Alert
			NextCursor string `json:"next_cursor"`
		}
		r.json(e.t, &list)
		n += len(list.Items)
		if list.NextCursor == "" {
			return n
		}
		cursor = list.NextCursor
	}
}

func (e *testEnv) getAlert(id int64) core.Alert {
	e.t.Helper()
	r := e.call("analyst", "GET", fmt.Sprint("/api/v1/alerts/", id), nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("get alert %d: %d %s", id, r.status, r.body)
	}
	var al core.Alert
	r.json(e.t, &al)
	return al
}

// TestAlertIntakeSamples sends every format's sample through the API:
// accepted with an id per alert, stored with the payload verbatim, and
// sent again recognised as duplicates, counting repeats but not resends.
func TestAlertIntakeSamples(t *testing.T) {
	samples := []struct{ format, file, path string }{
		{"wazuh", "wazuh_ssh_bruteforce.json", "/api/v1/alerts/wazuh"},
		{"wazuh", "wazuh_syscheck.json", "/api/v1/alerts/wazuh"},
		{"suricata", "suricata_eve.ndjson", "/api/v1/alerts/suricata"},
		{"elastic", "elastic_detection.json", "/api/v1/alerts/elastic"},
		{"splunk", "splunk_webhook.json", "/api/v1/alerts/splunk"},
		{"defender", "defender_alert.json", "/api/v1/alerts/defender"},
		{"crowdstrike", "crowdstrike_detection.json", "/api/v1/alerts/crowdstrike"},
		{"cef", "cef_events.log", "/api/v1/alerts/cef"},
		{"native", "native_alerts.json", "/api/v1/alerts"},
		{"native", "native_alerts.json", "/api/v1/alerts/native"},
	}
	for _, tc := range samples {
		t.Run(tc.file+" "+tc.path, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ingest.Parse(tc.format, body)
			if err != nil || len(parsed) == 0 {
				t.Fatalf("sample does not parse to alerts: %v", err)
			}
			env := newTestEnv(t)
			events := env.eventCount()

			first := env.ingestOK("analyst", tc.path, body)
			if len(first.Items) != len(parsed) {
				t.Fatalf("%d results for %d alerts", len(first.Items), len(parsed))
			}
			if got := env.eventCount(); got != events+1 {
				t.Errorf("events %d -> %d, want one alert.ingested per request", events, got)
			}
			distinct := map[int64]bool{}
			for i, it := range first.Items {
				if it.ID < 1 {
					t.Fatalf("item %d: id %d", i, it.ID)
				}
				// Within a body, a later alert may repeat an earlier one.
				if it.Duplicate != distinct[it.ID] {
					t.Errorf("item %d: duplicate = %v, but id %d seen before = %v", i, it.Duplicate, it.ID, distinct[it.ID])
				}
				distinct[it.ID] = true
			}
			if n := env.alertCount(); n != len(distinct) {
				t.Errorf("%d alerts stored, want %d", n, len(distinct))
			}
			before := map[int64]int64{}
			for id := range distinct {
				al := env.getAlert(id)
				before[id] = al.Count
				if al.Source != tc.format || !al.Severity.Valid() || al.Title == "" {
					t.Errorf("alert %d: source %q severity %q title %q", id, al.Source, al.Severity, al.Title)
				}
				if !json.Valid(al.Raw) || len(al.Raw) == 0 {
					t.Errorf("alert %d: raw is not JSON: %q", id, al.Raw)
				}
			}
			// The first alert's raw payload is its item (the store keeps
			// it verbatim; the JSON answer re-encodes it compactly).
			if al := env.getAlert(first.Items[0].ID); !sameJSON(t, al.Raw, parsed[0].Raw) {
				t.Errorf("raw = %s\nwant %s", al.Raw, parsed[0].Raw)
			}

			// The same body again: every alert is a duplicate of the same id;
			// an alert with a source event id is a resend and counts nothing,
			// one without is a repeat and counts once more.
			again := env.ingestOK("analyst", tc.path, body)
			want := maps(before)
			for i, it := range again.Items {
				if !it.Duplicate || it.ID != first.Items[i].ID {
					t.Errorf("resent item %d = %+v, want duplicate of %d", i, it, first.Items[i].ID)
				}
				if parsed[i].SourceEventID == "" {
					want[it.ID]++
				}
			}
			for id, n := range want {
				if got := env.getAlert(id).Count; got != n {
					t.Errorf("alert %d: count %d after resending, want %d", id, got, n)
				}
			}
			if n := env.alertCount(); n != len(distinct) {
				t.Errorf("%d alerts after resending, want still %d", n, len(distinct))
			}
			if got := env.eventCount(); got != events+2 {
				t.Errorf("events %d -> %d after two requests", events, got)
			}
		})
	}
}

func sameJSON(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		tb.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		tb.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func maps(m map[int64]int64) map[int64]int64 {
	out := make(map[int64]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestAlertDedup checks resends and repeats one by one.
func TestAlertDedup(t *testing.T) {
	env := newTestEnv(t)
	steps := []struct {
		name    string
		body    string
		wantDup bool
		wantID  int // index of the step whose alert it is; -1 for a new one
		count   int64
	}{
		{"first", `{"title":"SSH brute force","rule_id":"5763","host":"web-01","source_event_id":"a1"}`, false, -1, 1},
		{"resend of the same event id", `{"title":"SSH brute force","rule_id":"5763","host":"web-01","source_event_id":"a1"}`, true, 0, 1},
		{"new event, same fingerprint", `{"title":"SSH brute force","rule_id":"5763","host":"web-01","source_event_id":"a2"}`, true, 0, 2},
		{"no event id, same fingerprint", `{"title":"SSH brute force","rule_id":"5763","host":"WEB-01"}`, true, 0, 3},
		{"other host", `{"title":"SSH brute force","rule_id":"5763","host":"web-02","source_event_id":"a3"}`, false, -1, 1},
		{"sender's own fingerprint", `{"title":"x","fingerprint":"case-42","source_event_id":"b1"}`, false, -1, 1},
		{"same sender fingerprint", `{"title":"y","fingerprint":"case-42","source_event_id":"b2"}`, true, 5, 2},
	}
	ids := make([]int64, len(steps))
	for i, st := range steps {
		rep := env.ingestOK("analyst", "/api/v1/alerts", st.body)
		if len(rep.Items) != 1 {
			t.Fatalf("%s: %d items", st.name, len(rep.Items))
		}
		it := rep.Items[0]
		ids[i] = it.ID
		if it.Duplicate != st.wantDup {
			t.Errorf("%s: duplicate = %v, want %v", st.name, it.Duplicate, st.wantDup)
		}
		if st.wantID >= 0 && it.ID != ids[st.wantID] {
			t.Errorf("%s: id %d, want %d", st.name, it.ID, ids[st.wantID])
		}
		if st.wantID < 0 && slices.Contains(ids[:i], it.ID) {
			t.Errorf("%s: id %d is not new", st.name, it.ID)
		}
		if got := env.getAlert(it.ID).Count; got != st.count {
			t.Errorf("%s: count %d, want %d", st.name, got, st.count)
		}
	}
	// A closed alert is not bumped: the next repeat is a new alert.
	if r := env.call("analyst", "POST", fmt.Sprint("/api/v1/alerts/", ids[0], "/close"), map[string]string{"reason": "benign"}); r.status != 200 {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	rep := env.ingestOK("analyst", "/api/v1/alerts", `{"title":"SSH brute force","rule_id":"5763","host":"web-01","source_event_id":"a9"}`)
	if rep.Items[0].Duplicate || rep.Items[0].ID == ids[0] {
		t.Errorf("repeat of a closed alert = %+v, want a new alert", rep.Items[0])
	}
}

// TestAlertIntakeRefused checks that refused bodies and callers get a
// problem and write nothing at all.
func TestAlertIntakeRefused(t *testing.T) {
	env := newTestEnv(t)
	env.ingestOK("analyst", "/api/v1/alerts", `{"title":"already there"}`)
	huge := bytes.Repeat([]byte(" "), MaxIntakeBytes+1)
	copy(huge, `{"title":"big"}`)
	tests := []struct {
		name, as, path string
		body           any
		status         int
		detail         string
	}{
		{"malformed JSON", "analyst", "/api/v1/alerts", `{"title":`, 422, "item 0"},
		{"wrong type", "analyst", "/api/v1/alerts", `{"title": 5}`, 422, "title"},
		{"not an object", "analyst", "/api/v1/alerts", `[1, 2]`, 422, "not a JSON object"},
		{"empty body", "analyst", "/api/v1/alerts", ``, 422, "empty"},
		{"bad severity", "analyst", "/api/v1/alerts", `{"title":"a","severity":"S9"}`, 422, "severity"},
		{"one bad item refuses the batch", "analyst", "/api/v1/alerts", `[{"title":"good"},{"title":"bad","src_port":"x"}]`, 422, "item 1"},
		{"bad wazuh item", "analyst", "/api/v1/alerts/wazuh", `{"rule":{"level":3}} {"rule":`, 422, "item 1"},
		{"oversized", "analyst", "/api/v1/alerts", huge, 413, "larger than"},
		{"unknown format", "analyst", "/api/v1/alerts/nosuchtool", `{"title":"a"}`, 404, "nosuchtool"},
		{"reporter", "reporter", "/api/v1/alerts", `{"title":"a"}`, 403, ""},
		{"viewer", "viewer", "/api/v1/alerts/wazuh", `{"title":"a"}`, 403, ""},
		{"anonymous", "", "/api/v1/alerts", `{"title":"a"}`, 401, ""},
	}
	alerts, events := env.alertCount(), env.eventCount()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.call(tt.as, "POST", tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p Problem
			r.json(t, &p)
			if p.Status != tt.status || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("problem = %+v, want detail containing %q", p, tt.detail)
			}
			if n, ev := env.alertCount(), env.eventCount(); n != alerts || ev != events {
				t.Errorf("alerts %d -> %d, events %d -> %d: a refused request wrote something", alerts, n, events, ev)
			}
		})
	}
}

// TestAlertList covers who may read, the filters and the cursor.
func TestAlertList(t *testing.T) {
	env := newTestEnv(t)
	env.ingestOK("lead", "/api/v1/alerts", `[
		{"title":"Mimikatz on ws-1","severity":"S1","host":"ws-1","rule_id":"1"},
		{"title":"Port scan","severity":"S4","host":"fw-1","rule_id":"2"},
		{"title":"Phishing click","severity":"S2","host":"ws-1","rule_id":"3","rule_name":"Proxy: known bad URL"},
		{"title":"Port scan again","severity":"S4","host":"fw-2","rule_id":"4"},
		{"title":"Odd 100% CPU","severity":"S3","host":"ws-2","rule_id":"5"}]`)
	env.ingestOK("admin", "/api/v1/alerts/cef", "CEF:0|Acme|IDS|1|42|Beacon|8|src=10.0.0.1 dst=198.51.100.1 shost=ws-9\n")
	titles := func(r response) []string {
		t.Helper()
		var list struct{ Items []core.Alert }
		r.json(t, &list)
		var out []string
		for _, a := range list.Items {
			out = append(out, a.Title)
		}
		return out
	}
	tests := []struct {
		name, as, query string
		status          int
		want            []string
	}{
		{"analyst sees all, newest first", "analyst", "", 200, []string{"Beacon", "Odd 100% CPU", "Port scan again", "Phishing click", "Port scan", "Mimikatz on ws-1"}},
		{"viewer may read", "viewer", "?severity=S4", 200, []string{"Port scan again", "Port scan"}},
		{"reporter may not", "reporter", "", 403, nil},
		{"severity list", "analyst", "?severity=S1,S2", 200, []string{"Beacon", "Phishing click", "Mimikatz on ws-1"}},
		{"host", "analyst", "?host=ws-1", 200, []string{"Phishing click", "Mimikatz on ws-1"}},
		{"source", "analyst", "?source=cef", 200, []string{"Beacon"}},
		{"status", "analyst", "?status=new", 200, []string{"Beacon", "Odd 100% CPU", "Port scan again", "Phishing click", "Port scan", "Mimikatz on ws-1"}},
		{"status none", "analyst", "?status=closed", 200, nil},
		{"q on title", "analyst", "?q=port+SCAN", 200, []string{"Port scan again", "Port scan"}},
		{"q on rule name", "analyst", "?q=known+bad", 200, []string{"Phishing click"}},
		{"q percent is literal", "analyst", "?q=100%25", 200, []string{"Odd 100% CPU"}},
		{"unknown parameter", "analyst", "?phase=detect", 400, nil},
		{"unknown status", "analyst", "?status=open", 400, nil},
		{"unknown source", "analyst", "?source=nessus", 400, nil},
		{"bad cursor", "analyst", "?cursor=zzz", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.call(tt.as, "GET", "/api/v1/alerts"+tt.query, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 200 {
				if got := titles(r); !slices.Equal(got, tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				if bytes.Contains(r.body, []byte(`"raw"`)) {
					t.Error("a list carries raw payloads")
				}
			}
		})
	}
	// Paging two at a time walks all six once, newest first.
	var all []string
	path := "/api/v1/alerts?limit=2"
	for pages := 0; ; pages++ {
		r := env.call("analyst", "GET", path, nil)
		var list struct {
			Items      []core.Alert
			NextCursor string `json:"next_cursor"`
		}
		r.json(t, &list)
		for _, a := range list.Items {
			all = append(all, a.Title)
		}
		if list.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		path = "/api/v1/alerts?limit=2&cursor=" + url.QueryEscape(list.NextCursor)
	}
	if len(all) != 6 || all[0] != "Beacon" || all[5] != "Mimikatz on ws-1" {
		t.Errorf("paged = %q", all)
	}
	// A single read has the observables and the raw payload as JSON.
	var list struct{ Items []core.Alert }
	env.call("viewer", "GET", "/api/v1/alerts?source=cef", nil).json(t, &list)
	al := env.getAlert(list.Items[0].ID)
	var raw string
	if err := json.Unmarshal(al.Raw, &raw); err != nil || !strings.HasPrefix(raw, "CEF:0|Acme") {
		t.Errorf("CEF raw = %s (%v), want the line as a JSON string", al.Raw, err)
	}
	if !slices.Contains(al.Observables, core.Observable{Type: "ip", Value: "198.51.100.1"}) {
		t.Errorf("observables = %v", al.Observables)
	}
	for _, p := range []string{"/api/v1/alerts/999999", "/api/v1/alerts/x", "/api/v1/alerts/0"} {
		if r := env.call("viewer", "GET", p, nil); r.status != 404 {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	if r := env.call("reporter", "GET", fmt.Sprint("/api/v1/alerts/", al.ID), nil); r.status != 403 {
		t.Errorf("reporter GET alert: %d", r.status)
	}
}

// TestAlertTriage walks acknowledge, close, promote and attach as rows:
// who, what, the status and events expected.
func TestAlertTriage(t *testing.T) {
	env := newTestEnv(t)
	rep := env.ingestOK("analyst", "/api/v1/alerts", `[
		{"title":"A: to acknowledge and close","source_event_id":"t1","rule_id":"1"},
		{"title":"B: to promote","source_event_id":"t2","rule_id":"2","severity":"S1","host":"db-01",
		 "event_time":"2026-05-14T10:00:00+09:00","src_ip":"203.0.113.9"},
		{"title":"C: to attach","source_event_id":"t3","rule_id":"3","file_hash":"44d88612fea8a8f36de82e1201f6a8a5"},
		{"title":"D: attach refused","source_event_id":"t4","rule_id":"4"}]`)
	a, b, c, d := rep.Items[0].ID, rep.Items[1].ID, rep.Items[2].ID, rep.Items[3].ID
	restricted := env.mustCreate("lead", map[string]any{"title": "Need to know", "restricted": true})
	alertPath := func(id int64, action string) string { return fmt.Sprint("/api/v1/alerts/", id, "/", action) }

	var promotedKey string
	steps := []struct {
		name, as, path string
		body           any
		status         int
		wantStatus     core.AlertStatus // of the alert afterwards, if set
		events         int64
	}{
		{"viewer may not acknowledge", "viewer", alertPath(a, "acknowledge"), nil, 403, core.AlertNew, 0},
		{"reporter may not acknowledge", "reporter", alertPath(a, "acknowledge"), nil, 403, core.AlertNew, 0},
		{"acknowledge", "analyst", alertPath(a, "acknowledge"), nil, 200, core.AlertAcknowledged, 1},
		{"acknowledge again changes nothing", "analyst2", alertPath(a, "acknowledge"), nil, 200, core.AlertAcknowledged, 0},
		{"close needs a reason", "analyst", alertPath(a, "close"), map[string]any{}, 422, core.AlertAcknowledged, 0},
		{"close with an unknown reason", "analyst", alertPath(a, "close"), map[string]any{"reason": "boring"}, 422, core.AlertAcknowledged, 0},
		{"close with an unknown field", "analyst", alertPath(a, "close"), map[string]any{"reason": "benign", "why": 1}, 400, core.AlertAcknowledged, 0},
		{"viewer may not close", "viewer", alertPath(a, "close"), map[string]any{"reason": "benign"}, 403, core.AlertAcknowledged, 0},
		{"close", "analyst", alertPath(a, "close"), map[string]any{"reason": "false_positive"}, 200, core.AlertClosed, 1},
		{"close twice", "analyst", alertPath(a, "close"), map[string]any{"reason": "benign"}, 409, core.AlertClosed, 0},
		{"acknowledge a closed alert", "analyst", alertPath(a, "acknowledge"), nil, 409, core.AlertClosed, 0},
		{"promote a closed alert", "analyst", alertPath(a, "promote"), nil, 409, core.AlertClosed, 0},
		{"viewer may not promote", "viewer", alertPath(b, "promote"), nil, 403, core.AlertNew, 0},
		{"promote with a bad category", "analyst", alertPath(b, "promote"), map[string]any{"category": "aliens"}, 422, core.AlertNew, 0},
		{"promote", "analyst", alertPath(b, "promote"), map[string]any{"category": "malware"}, 201, core.AlertPromoted, 2},
		{"promote twice", "analyst", alertPath(b, "promote"), nil, 409, core.AlertPromoted, 0},
		{"attach to a missing incident", "analyst", alertPath(c, "attach"), map[string]any{"incident": "INC-2026-9999"}, 404, core.AlertNew, 0},
		{"attach to a hidden incident", "analyst", alertPath(c, "attach"), map[string]any{"incident": restricted}, 404, core.AlertNew, 0},
		{"attach to a malformed key", "analyst", alertPath(c, "attach"), map[string]any{"incident": "nope"}, 422, core.AlertNew, 0},
		{"viewer may not attach", "viewer", alertPath(c, "attach"), map[string]any{"incident": "PROMOTED"}, 403, core.AlertNew, 0},
		{"attach", "analyst2", alertPath(c, "attach"), map[string]any{"incident": "PROMOTED"}, 200, core.AlertPromoted, 1},
		{"attach a promoted alert", "analyst", alertPath(b, "attach"), map[string]any{"incident": restricted}, 409, core.AlertPromoted, 0},
		{"lead attaches to a restricted incident", "lead", alertPath(d, "attach"), map[string]any{"incident": restricted}, 200, core.AlertPromoted, 1},
		{"missing alert", "analyst", alertPath(999999, "acknowledge"), nil, 404, "", 0},
	}
	for _, st := range steps {
		events := env.eventCount()
		body := st.body
		if m, ok := body.(map[string]any); ok && m["incident"] == "PROMOTED" {
			body = map[string]any{"incident": promotedKey}
		}
		r := env.call(st.as, "POST", st.path, body)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if got := env.eventCount(); got != events+st.events {
			t.Errorf("%s: %d events, want %d", st.name, got-events, st.events)
		}
		if st.wantStatus != "" {
			var id int64
			fmt.Sscanf(strings.TrimPrefix(st.path, "/api/v1/alerts/"), "%d", &id)
			if al := env.getAlert(id); al.Status != st.wantStatus {
				t.Errorf("%s: alert status %s, want %s", st.name, al.Status, st.wantStatus)
			}
		}
		if st.name == "promote" {
			var out struct {
				Alert    core.Alert
				Incident core.Incident
			}
			r.json(t, &out)
			promotedKey = out.Incident.Key
			inc := out.Incident
			if inc.Title != "B: to promote" || inc.Category != core.CatMalware || inc.Severity != core.S1 ||
				inc.Phase != core.PhaseDetect || inc.Reporter != "analyst" || out.Alert.IncidentKey != inc.Key ||
				inc.Facts.OccurredAt == nil || !slices.Equal(inc.AffectedSystems, []string{"db-01"}) {
				t.Errorf("promoted: alert %+v incident %+v", out.Alert, inc)
			}
			if loc := r.header.Get("Location"); loc != "/api/v1/incidents/"+inc.Key {
				t.Errorf("Location %q", loc)
			}
		}
	}
	// The promoted incident is an ordinary incident with the alert on its timeline.
	var list struct{ Items []core.Incident }
	env.call("viewer", "GET", "/api/v1/incidents?q=promote", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Key != promotedKey {
		t.Errorf("incidents = %+v, want %s", list.Items, promotedKey)
	}
	var tl struct{ Items []core.Event }
	env.call("analyst", "GET", "/api/v1/incidents/"+promotedKey+"/timeline", nil).json(t, &tl)
	var types []string
	for _, ev := range tl.Items {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{core.EvIncidentCreated, core.EvAlertPromoted, core.EvAlertAttached}) {
		t.Errorf("timeline = %v", types)
	}
	if al := env.getAlert(c); al.IncidentKey != promotedKey {
		t.Errorf("attached alert's incident = %q, want %s", al.IncidentKey, promotedKey)
	}
	// Alert d is attached to a restricted incident: those who may not see
	// the incident do not learn its key from the alert, in lists or reads.
	for _, tc := range []struct {
		as   string
		want string
	}{{"lead", restricted}, {"admin", restricted}, {"viewer", ""}, {"analyst2", ""}} {
		var one core.Alert
		env.call(tc.as, "GET", fmt.Sprint("/api/v1/alerts/", d), nil).json(t, &one)
		var all struct{ Items []core.Alert }
		env.call(tc.as, "GET", "/api/v1/alerts?limit=200", nil).json(t, &all)
		listed := ""
		for _, al := range all.Items {
			if al.ID == d {
				listed = al.IncidentKey
			}
		}
		if one.IncidentKey != tc.want || listed != tc.want {
			t.Errorf("%s sees the restricted incident key %q / %q, want %q", tc.as, one.IncidentKey, listed, tc.want)
		}
	}
	// A promote without any body takes every default.
	e := env.ingestOK("analyst", "/api/v1/alerts", `{"title":"E","severity":"S2"}`).Items[0].ID
	r := env.call("analyst", "POST", alertPath(e, "promote"), nil)
	var out struct{ Incident core.Incident }
	r.json(t, &out)
	if r.status != 201 || out.Incident.Category != core.CatOther || out.Incident.Severity != core.S2 || out.Incident.Title != "E" {
		t.Errorf("default promote: %d %s", r.status, r.body)
	}
}
