package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

// TestObservablesAndSightings: analysts add observables by hand (one, or
// pasted in bulk, defanged), and "where else have we seen this?" finds
// alerts and incidents, minus incidents the asker may not see.
func TestObservablesAndSightings(t *testing.T) {
	env := newTestEnv(t)
	open := env.mustCreate("analyst", map[string]any{"title": "C2 beaconing"})
	hidden := env.mustCreate("admin", map[string]any{"title": "insider exfiltration", "restricted": true})
	env.ingestOK("analyst", "/api/v1/alerts", `{"title":"beacon","source_event_id":"s1","src_ip":"198.51.100.23","url":"http://evil.example/a/b"}`)

	for _, tc := range []struct {
		as, key, body string
		status        int
		field         string
	}{
		{"analyst", open, `{"items":[{"type":"ip","value":"198.51.100[.]23","tags":["c2"],"ioc":true,"tlp":"TLP:AMBER"}]}`, 200, ""},
		{"analyst", open, `{"bulk":{"type":"url","text":"hxxp://evil[.]example/a/b\nhxxps://other[.]example/x","ioc":true}}`, 200, ""},
		{"admin", hidden, `{"items":[{"type":"ip","value":"198.51.100.23"}]}`, 200, ""},
		{"analyst", open, `{"items":[{"type":"ip","value":"999.1.1.1"}]}`, 422, "items[0]"},
		{"analyst", open, `{"bulk":{"type":"domain","text":"good.example, bad domain!"}}`, 422, "bulk.text[1]"},
		{"analyst", open, `{"items":[{"type":"ip","value":"192.0.2.1","tlp":"purple"}]}`, 422, "items[0].tlp"},
		{"analyst", open, `{}`, 422, "items"},
		{"viewer", open, `{"items":[{"type":"ip","value":"192.0.2.1"}]}`, 403, ""},
		{"analyst", hidden, `{"items":[{"type":"ip","value":"192.0.2.1"}]}`, 404, ""},
	} {
		before := env.eventCount()
		r := env.call(tc.as, "POST", "/api/v1/incidents/"+tc.key+"/observables", tc.body)
		if r.status != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.as, tc.body, r.status, tc.status, r.body)
			continue
		}
		if tc.field != "" {
			var p Problem
			r.json(t, &p)
			if p.Field != tc.field {
				t.Errorf("%s: field %q, want %q", tc.body, p.Field, tc.field)
			}
		}
		if wrote := env.eventCount() - before; (r.status == 200) != (wrote == 1) {
			t.Errorf("%s: %d events for status %d", tc.body, wrote, r.status)
		}
	}
	var list struct{ Items []core.IncidentObservable }
	env.call("viewer", "GET", "/api/v1/incidents/"+open+"/observables", nil).json(t, &list)
	if len(list.Items) != 3 {
		t.Fatalf("observables %+v", list.Items)
	}
	if o := list.Items[0]; o.Value != "198.51.100.23" || !o.IOC || o.TLP != "amber" || len(o.Tags) != 1 {
		t.Errorf("first observable %+v", o)
	}
	type sightings struct {
		Alerts    []struct{ ID int64 }
		Incidents []struct{ Key string }
	}
	look := func(as, typ, value string) sightings {
		t.Helper()
		var s sightings
		r := env.call(as, "GET", "/api/v1/observables/"+typ+"/"+url.PathEscape(value), nil)
		if r.status != 200 {
			t.Fatalf("sightings %s %s: %d %s", typ, value, r.status, r.body)
		}
		r.json(t, &s)
		return s
	}
	s := look("admin", "ip", "198.51.100[.]23")
	if len(s.Alerts) != 1 || len(s.Incidents) != 2 {
		t.Errorf("admin sightings %+v", s)
	}
	s = look("viewer", "ip", "198.51.100.23")
	if len(s.Alerts) != 1 || len(s.Incidents) != 1 || s.Incidents[0].Key != open {
		t.Errorf("viewer sightings %+v (the restricted incident must not show)", s)
	}
	if s := look("analyst", "url", "hxxp://evil[.]example/a/b"); len(s.Alerts) != 1 || len(s.Incidents) != 1 {
		t.Errorf("url sightings %+v", s)
	}
	if r := env.call("reporter", "GET", "/api/v1/observables/ip/198.51.100.23", nil); r.status != 403 {
		t.Errorf("reporter: %d", r.status)
	}
	if r := env.call("analyst", "GET", "/api/v1/observables/ip/not-an-ip", nil); r.status != 422 || !strings.Contains(string(r.body), "value") {
		t.Errorf("bad value: %d %s", r.status, r.body)
	}
}
