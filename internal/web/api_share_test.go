package web

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

// shareFixture files an open incident (reported by "reporter") and a
// restricted one (by admin, "analyst" its only member), each with
// observables, one of them TLP:RED.
func shareFixture(t *testing.T, e *testEnv) (open, restricted string) {
	t.Helper()
	open = e.mustCreate("reporter", map[string]any{"title": "Phishing wave", "description": "Mails to sales."})
	restricted = e.mustCreate("admin", map[string]any{"title": "Board member account takeover", "restricted": true})
	if r := e.call("admin", "PUT", "/api/v1/incidents/"+restricted+"/members/analyst", nil); r.status/100 != 2 {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	items := []map[string]any{
		{"type": "ip", "value": "203.0.113.7", "ioc": true},
		{"type": "domain", "value": "phish[.]example", "ioc": true},
		{"type": "url", "value": "hxxp://phish.example/login?a=1&b=2", "ioc": true, "tlp": "green"},
		{"type": "hash", "value": strings.Repeat("a1", 32), "ioc": true},
		{"type": "email", "value": "ceo@phish.example", "ioc": true},
		{"type": "ip", "value": "198.51.100.99", "ioc": true, "tlp": "red"},
		{"type": "host", "value": "pc-sales-07"},
		{"type": "user", "value": "tanaka"},
	}
	for _, key := range []string{open, restricted} {
		if r := e.call("admin", "POST", "/api/v1/incidents/"+key+"/observables", map[string]any{"items": items}); r.status/100 != 2 {
			t.Fatalf("observables: %d %s", r.status, r.body)
		}
	}
	return open, restricted
}

func TestExportAuthorization(t *testing.T) {
	e := newTestEnv(t)
	open, restricted := shareFixture(t, e)
	cases := []struct {
		as, key string
		want    int
	}{
		{"admin", restricted, 200}, {"analyst", restricted, 200}, {"analyst2", restricted, 404}, {"lead", restricted, 404},
		{"viewer", restricted, 404}, {"reporter", restricted, 404}, {"", restricted, 401},
		{"analyst2", open, 200}, {"viewer", open, 200}, {"reporter", open, 403}, {"reporter2", open, 404},
	}
	for _, c := range cases {
		for _, kind := range []string{"stix", "misp"} {
			r := e.call(c.as, "GET", "/api/v1/incidents/"+c.key+"/export/"+kind, nil)
			if r.status != c.want {
				t.Errorf("%s %s %s: %d %s, want %d", c.as, kind, c.key, r.status, r.body, c.want)
			}
			if r.status != 200 && bytes.Contains(r.body, []byte("takeover")) {
				t.Errorf("%s %s: refusal leaks the title", c.as, kind)
			}
		}
	}
	for _, q := range []string{"?tlp=purple", "?pap=blue", "?include_internal=maybe", "?colour=red"} {
		r := e.call("admin", "GET", "/api/v1/incidents/"+open+"/export/stix"+q, nil)
		if r.status/100 != 4 {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	if r := e.call("admin", "GET", "/api/v1/incidents/INC-2026-9999/export/stix", nil); r.status != 404 {
		t.Errorf("missing incident: %d", r.status)
	}
	// Exports are on the incident's timeline, refusals are not.
	var tl struct{ Items []core.Event }
	e.call("admin", "GET", "/api/v1/incidents/"+open+"/timeline", nil).json(t, &tl)
	n := 0
	for _, ev := range tl.Items {
		if ev.Type == core.EvIncidentExported {
			n++
		}
	}
	if n != 4 { // analyst2 and viewer, stix and misp
		t.Errorf("%d export events on the timeline, want 4", n)
	}
}

func TestSTIXExportValidatesAndRoundTrips(t *testing.T) {
	e := newTestEnv(t)
	open, _ := shareFixture(t, e)
	r := e.call("analyst", "GET", "/api/v1/incidents/"+open+"/export/stix?tlp=amber&pap=green", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/stix+json") {
		t.Fatalf("export: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if err := share.ValidateBundle(r.body); err != nil {
		t.Fatalf("bundle does not validate: %v", err)
	}
	if bytes.Contains(r.body, []byte("tanaka")) || bytes.Contains(r.body, []byte("pc-sales-07")) {
		t.Error("internal observables exported without include_internal")
	}
	if r2 := e.call("analyst", "GET", "/api/v1/incidents/"+open+"/export/stix?tlp=amber&pap=green&include_internal=true", nil); !bytes.Contains(r2.body, []byte("tanaka")) {
		t.Error("include_internal=true left users out")
	}
	// Import the export as a partner would: the same IOC set comes back.
	imp := e.call("lead", "POST", "/api/v1/watchlist/import?source=partner-stix", r.body)
	if imp.status != 200 {
		t.Fatalf("import: %d %s", imp.status, imp.body)
	}
	got := watchlistSet(t, e, "partner-stix")
	want := []string{"domain:phish.example", "email:ceo@phish.example", "hash:" + strings.Repeat("a1", 32),
		"ip:198.51.100.99", "ip:203.0.113.7", "url:http://phish.example/login?a=1&b=2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("round trip gave %v, want %v", got, want)
	}
}

func TestMISPExportRoundTrips(t *testing.T) {
	e := newTestEnv(t)
	open, _ := shareFixture(t, e)
	r := e.call("analyst", "GET", "/api/v1/incidents/"+open+"/export/misp?tlp=green", nil)
	if r.status != 200 {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	var doc share.MISPDocument
	r.json(t, &doc)
	if doc.Event.Tag[0].Name != "tlp:green" || len(doc.Event.Attribute) != 6 {
		t.Errorf("event %+v", doc.Event)
	}
	if imp := e.call("lead", "POST", "/api/v1/watchlist/import?source=partner-misp&format=misp&expires_in=7d", r.body); imp.status != 200 {
		t.Fatalf("import: %d %s", imp.status, imp.body)
	}
	got := watchlistSet(t, e, "partner-misp")
	if len(got) != 6 {
		t.Errorf("round trip gave %v", got)
	}
}

// watchlistSet lists a source's entries as sorted "type:value".
func watchlistSet(t *testing.T, e *testEnv, source string) []string {
	t.Helper()
	var list struct {
		Items []store.WatchlistEntry
	}
	r := e.call("analyst", "GET", "/api/v1/watchlist?limit=200&source="+source, nil)
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	r.json(t, &list)
	var out []string
	for _, it := range list.Items {
		out = append(out, it.Type+":"+it.Value)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestBulkExports(t *testing.T) {
	e := newTestEnv(t)
	open, restricted := shareFixture(t, e)
	// An alert whose title would run as a formula, carrying the red address.
	if r := e.call("analyst", "POST", "/api/v1/alerts", `{"title":"=HYPERLINK(\"http://x\")","severity":"S2","src_ip":"198.51.100.99","dst_ip":"203.0.113.7"}`); r.status != 202 {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}

	r := e.call("admin", "GET", "/api/v1/incidents/export?format=csv", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(r.header.Get("Content-Disposition"), "incidents.csv") {
		t.Fatalf("csv: %d %v", r.status, r.header)
	}
	if !bytes.HasPrefix(r.body, []byte("\xef\xbb\xbfkey,title,")) {
		t.Fatalf("no BOM/header: %q", r.body[:20])
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("records %d %v", len(recs), err)
	}
	if bytes.Contains(r.body, []byte("198.51.100.99")) {
		t.Error("TLP:RED observable in a bulk export")
	}
	if !bytes.Contains(r.body, []byte("203.0.113.7")) {
		t.Error("observables missing from the export")
	}

	// The list scope applies: analyst2 does not get the restricted incident.
	r = e.call("analyst2", "GET", "/api/v1/incidents/export?format=ndjson", nil)
	lines := ndjsonLines(t, r.body)
	if r.status != 200 || len(lines) != 1 || lines[0]["key"] != open {
		t.Errorf("analyst2 export: %d %v", r.status, lines)
	}
	r = e.call("analyst", "GET", "/api/v1/incidents/export?format=ndjson&restricted=true", nil)
	if r.status != 400 {
		t.Errorf("unknown filter: %d", r.status)
	}
	r = e.call("analyst", "GET", "/api/v1/incidents/export?format=ndjson&q=takeover", nil)
	if lines := ndjsonLines(t, r.body); len(lines) != 1 || lines[0]["key"] != restricted {
		t.Errorf("filtered member export: %v", lines)
	}
	for _, c := range []struct {
		as, path string
		want     int
	}{
		{"reporter", "/api/v1/incidents/export?format=csv", 403},
		{"reporter", "/api/v1/alerts/export?format=csv", 403},
		{"admin", "/api/v1/incidents/export", 400},
		{"admin", "/api/v1/incidents/export?format=xlsx", 400},
		{"admin", "/api/v1/alerts/export?format=csv&status=bogus", 400},
		{"", "/api/v1/alerts/export?format=csv", 401},
	} {
		if r := e.call(c.as, "GET", c.path, nil); r.status != c.want {
			t.Errorf("%s %s: %d, want %d", c.as, c.path, r.status, c.want)
		}
	}

	r = e.call("viewer", "GET", "/api/v1/alerts/export?format=csv", nil)
	if r.status != 200 {
		t.Fatalf("alerts csv: %d %s", r.status, r.body)
	}
	recs, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("alert records %v %v", recs, err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	if row["title"] != `'=HYPERLINK("http://x")` || row["src_ip"] != "" || row["dst_ip"] != "203.0.113.7" {
		t.Errorf("alert row %v", row)
	}
	r = e.call("viewer", "GET", "/api/v1/alerts/export?format=ndjson&severity=S2", nil)
	lines = ndjsonLines(t, r.body)
	if len(lines) != 1 || bytes.Contains(r.body, []byte("198.51.100.99")) {
		t.Errorf("alert ndjson %s", r.body)
	}
}

func ndjsonLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestWatchlistAPI(t *testing.T) {
	e := newTestEnv(t)
	bundle := `{"type":"bundle","id":"bundle--6f7a4c1e-2a9b-4c1d-8e0f-0a1b2c3d4e5f","objects":[
	 {"type":"indicator","spec_version":"2.1","id":"indicator--0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5","pattern_type":"stix",
	  "pattern":"[ipv4-addr:value = '198.51.100.66']","valid_from":"2026-11-20T00:00:00Z"}]}`
	// An alert before the import, for the re-check.
	var ing struct{ Items []struct{ ID int64 } }
	e.call("analyst", "POST", "/api/v1/alerts", `{"title":"Beacon","dst_ip":"198.51.100.66"}`).json(t, &ing)
	before := e.eventCount()
	for _, c := range []struct {
		as, query, body string
		want            int
	}{
		{"analyst", "?source=isac", bundle, 403},
		{"viewer", "?source=isac", bundle, 403},
		{"lead", "", bundle, 422},
		{"lead", "?source=isac&format=yaml", bundle, 400},
		{"lead", "?source=isac&expires_in=soon", bundle, 422},
		{"lead", "?source=isac&bogus=1", bundle, 400},
		{"lead", "?source=isac", `{"type":"bundle","objects":[{"type":"indicator","pattern":["x"]}]}`, 422},
		{"lead", "?source=isac", `{"type":"bundle"`, 422},
		{"lead", "?source=isac&format=misp", `{"Event":{"Attribute":{}}}`, 422},
	} {
		r := e.call(c.as, "POST", "/api/v1/watchlist/import"+c.query, c.body)
		if r.status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.as, c.query, r.status, r.body, c.want)
		}
	}
	if r := e.call("lead", "POST", "/api/v1/watchlist/import?source=isac", `{"type":"bundle","objects":[{"type":"indicator","pattern":1}]}`); !bytes.Contains(r.body, []byte(`"field":"objects[0].pattern"`)) {
		t.Errorf("problem does not name the path: %s", r.body)
	}
	if after := e.eventCount(); after != before {
		t.Errorf("refused imports wrote %d events", after-before)
	}
	if got := watchlistSet(t, e, "isac"); len(got) != 0 {
		t.Errorf("refused imports wrote %v", got)
	}

	r := e.call("lead", "POST", "/api/v1/watchlist/import?source=isac&expires_in=720h", bundle)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"added":1`)) {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	// Re-check marks the earlier alert; the mark shows on the alert.
	r = e.call("analyst", "POST", "/api/v1/watchlist/recheck", nil)
	if r.status != 403 {
		t.Errorf("analyst recheck: %d", r.status)
	}
	r = e.call("lead", "POST", "/api/v1/watchlist/recheck?since=2020-01-01", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"marks":1`)) {
		t.Fatalf("recheck: %d %s", r.status, r.body)
	}
	r = e.call("viewer", "GET", "/api/v1/alerts/"+itoa(ing.Items[0].ID)+"/watchlist", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"source":"isac"`)) {
		t.Errorf("alert marks: %d %s", r.status, r.body)
	}
	// A new alert is marked at intake.
	var ing2 struct{ Items []struct{ ID int64 } }
	e.call("analyst", "POST", "/api/v1/alerts", `{"title":"Beacon 2","src_ip":"198.51.100.66","host":"pc-9"}`).json(t, &ing2)
	if r := e.call("analyst", "GET", "/api/v1/alerts/"+itoa(ing2.Items[0].ID)+"/watchlist", nil); !bytes.Contains(r.body, []byte("198.51.100.66")) {
		t.Errorf("new alert not marked: %s", r.body)
	}

	var list struct {
		Items []store.WatchlistEntry
	}
	e.call("analyst", "GET", "/api/v1/watchlist?type=ip&value=198.51.100[.]66&active=true", nil).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].CreatedBy != "lead" {
		t.Fatalf("list %+v", list)
	}
	for _, q := range []string{"?type=ipv9", "?value=1.2.3.4", "?type=ip&value=nope", "?active=perhaps", "?limit=0", "?cursor=zzz"} {
		if r := e.call("analyst", "GET", "/api/v1/watchlist"+q, nil); r.status != 400 {
			t.Errorf("list %s: %d", q, r.status)
		}
	}
	if r := e.call("reporter", "GET", "/api/v1/watchlist", nil); r.status != 403 {
		t.Errorf("reporter list: %d", r.status)
	}
	id := itoa(list.Items[0].ID)
	if r := e.call("analyst", "DELETE", "/api/v1/watchlist/"+id, nil); r.status != 403 {
		t.Errorf("analyst delete: %d", r.status)
	}
	if r := e.call("lead", "DELETE", "/api/v1/watchlist/"+id, nil); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := e.call("lead", "DELETE", "/api/v1/watchlist/"+id, nil); r.status != 404 {
		t.Errorf("second delete: %d", r.status)
	}
	if r := e.call("lead", "DELETE", "/api/v1/watchlist/abc", nil); r.status != 404 {
		t.Errorf("bad id: %d", r.status)
	}
	// The mark outlives its entry.
	if r := e.call("analyst", "GET", "/api/v1/alerts/"+itoa(ing2.Items[0].ID)+"/watchlist", nil); !bytes.Contains(r.body, []byte(`"source":"isac"`)) {
		t.Errorf("mark lost with its entry: %s", r.body)
	}
	if r := e.call("analyst", "GET", "/api/v1/alerts/export?format=ndjson", nil); !bytes.Contains(r.body, []byte(`"watchlist":["ip:198.51.100.66 (isac)"]`)) {
		t.Errorf("alert export lacks the watchlist mark: %s", r.body)
	}
	if r := e.call("analyst", "GET", "/api/v1/alerts/999999/watchlist", nil); r.status != http.StatusNotFound {
		t.Errorf("missing alert: %d", r.status)
	}
}
