package ui

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/i18n"
)

// TestEnumKeys checks the keys the UI builds at run time, which the
// catalogue scan in package i18n cannot see: every value of every
// enumeration shown has a label in both languages.
func TestEnumKeys(t *testing.T) {
	b, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range core.Phases {
		keys = append(keys, phaseKey(p))
	}
	for _, s := range core.Severities {
		keys = append(keys, severityKey(s))
	}
	for _, c := range core.Categories {
		keys = append(keys, categoryKey(c))
	}
	for _, r := range core.Roles {
		keys = append(keys, roleKey(r))
	}
	for _, s := range core.TaskStatuses {
		keys = append(keys, taskStatusKey(s))
	}
	for _, s := range []string{"pending", "due_soon", "overdue", "submitted", "not_required"} {
		keys = append(keys, clockStateKey(s))
	}
	for _, typ := range []string{core.EvIncidentCreated, core.EvIncidentUpdated, core.EvPhaseChanged, core.EvAssigned,
		core.EvCommentAdded, core.EvActionRecorded, core.EvMemberAdded, core.EvMemberRemoved, core.EvClockRecorded,
		core.EvTaskCreated, core.EvTaskUpdated, core.EvObservablesAdded, core.EvAlertPromoted, core.EvAlertAttached} {
		keys = append(keys, eventKey(typ))
	}
	for _, s := range situations {
		keys = append(keys, situationKey(s.ID), situationHint(s.ID))
		if !s.Category.Valid() {
			t.Errorf("situation %s maps to unknown category %s", s.ID, s.Category)
		}
	}
	for _, l := range i18n.Langs {
		keys = append(keys, "lang."+string(l))
	}
	for _, status := range []int{400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503} {
		keys = append(keys, fmt.Sprintf("error.%d", status))
	}
	keys = append(keys, "error.other", "error.title")
	for _, s := range core.AlertStatuses {
		keys = append(keys, alertStatusKey(s))
	}
	for _, r := range core.CloseReasons {
		keys = append(keys, closeReasonKey(r))
	}
	for _, t := range core.InfoTypes {
		keys = append(keys, infoTypeKey(t))
	}
	for _, s := range core.ContactRoles {
		keys = append(keys, contactRoleKey(s))
	}
	for _, s := range core.ContactKinds {
		keys = append(keys, contactKindKey(s))
	}
	for _, s := range core.ContactParties {
		keys = append(keys, contactPartyKey(s))
	}
	for _, s := range []string{core.NotifyPending, core.NotifyDelivered, core.NotifyFailed} {
		keys = append(keys, notifyStatusKey(s))
	}
	for _, s := range []string{"done", "skipped", "current", "todo"} {
		keys = append(keys, stepStateKey(s))
	}
	for _, s := range []string{"builtin", "file", "api"} {
		keys = append(keys, ruleSourceKey(s))
	}
	for _, k := range reportKinds {
		keys = append(keys, draftKindKey(k.kind, k.stage))
	}
	for _, l := range i18n.Langs {
		for _, k := range keys {
			if !b.For(l).Has(k) {
				t.Errorf("%s: no key %q", l, k)
			}
		}
	}
}

func TestMissingTemplateFailsStart(t *testing.T) {
	as, err := loadAssets(fstest.MapFS{"app.css": {Data: []byte("body{}")}, "htmx.min.js": {Data: []byte("//")}})
	if err != nil {
		t.Fatal(err)
	}
	full := fstest.MapFS{}
	tmpl, err := fs.Sub(embedded, "templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"layout", "partials"}, pageNames...) {
		data, err := fs.ReadFile(tmpl, name+".html")
		if err != nil {
			t.Fatal(err)
		}
		full[name+".html"] = &fstest.MapFile{Data: data}
	}
	if _, err := parsePages(full, as); err != nil {
		t.Fatalf("the full set: %v", err)
	}
	for _, name := range append([]string{"layout", "partials"}, pageNames...) {
		partial := fstest.MapFS{}
		for k, v := range full {
			if k != name+".html" {
				partial[k] = v
			}
		}
		if _, err := parsePages(partial, as); err == nil {
			t.Errorf("start without %s.html succeeded", name)
		}
	}
	// A page that names a static file that does not exist fails to render.
	broken := fstest.MapFS{"layout.html": {Data: []byte(`{{define "layout"}}{{asset "nope.css"}}{{template "content" .}}{{end}}`)},
		"partials.html": {Data: []byte(`{{define "unused"}}{{end}}`)}}
	for _, name := range pageNames {
		broken[name+".html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}x{{end}}`)}
	}
	pages, err := parsePages(broken, as)
	if err != nil {
		t.Fatal(err)
	}
	if err := pages["login"].ExecuteTemplate(new(strings.Builder), "layout", nil); err == nil {
		t.Error("an unknown static file rendered")
	}
}

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"/incidents?state=open", true},
		{"/incidents/INC-2026-0001#comments", true},
		{"", false},
		{"incidents", false},
		{"//evil.example/", false},
		{"/\\evil.example", false},
		{"https://evil.example/", false},
		{"/a\r\nSet-Cookie: x=y", false},
		{"javascript:alert(1)", false},
	} {
		if _, ok := localPath(tc.in); ok != tc.ok {
			t.Errorf("localPath(%q) ok = %v", tc.in, ok)
		}
	}
}

func TestReportTitle(t *testing.T) {
	if got := reportTitle("メールを誤送信した", "  宛先を間違えた\n詳細"); got != "メールを誤送信した: 宛先を間違えた" {
		t.Errorf("title %q", got)
	}
	if got := reportTitle("わからない", ""); got != "わからない" {
		t.Errorf("title %q", got)
	}
	long := strings.Repeat("あ", 200)
	if got := reportTitle("x", long); len([]rune(got)) != 3+maxTitleWhat+1 {
		t.Errorf("long title has %d runes", len([]rune(got)))
	}
}

func TestDurations(t *testing.T) {
	b, _ := i18n.Load()
	ja, en := base{Tr: b.For(i18n.Japanese)}, base{Tr: b.For(i18n.English)}
	for _, tc := range []struct {
		d      time.Duration
		ja, en string
	}{
		{26*time.Hour + 5*time.Minute, "1日2時間", "1d 2h"},
		{90 * time.Minute, "1時間30分", "1h 30m"},
		{59 * time.Second, "0分", "0m"},
		{-time.Hour, "0分", "0m"},
	} {
		if got := ja.Dur(tc.d); got != tc.ja {
			t.Errorf("ja %v = %q", tc.d, got)
		}
		if got := en.Dur(tc.d); got != tc.en {
			t.Errorf("en %v = %q", tc.d, got)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	for _, c := range []cursor{{id: 1}, {sev: core.S2, id: 99}} {
		f.Add(encodeCursor(c))
	}
	f.Add("bogus")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil || s == "" {
			return
		}
		if c.id < 1 || (c.sev != "" && !c.sev.Valid()) {
			t.Fatalf("parseCursor(%q) = %+v", s, c)
		}
		if back, err := parseCursor(encodeCursor(c)); err != nil || back != c {
			t.Fatalf("round trip of %+v: %+v %v", c, back, err)
		}
	})
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/incidents?x=1", "//x", "/\\x", "http://x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := localPath(s)
		if !ok {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\r\n\\") {
			t.Fatalf("localPath accepted %q", s)
		}
	})
}

func FuzzParseLocalTime(f *testing.F) {
	f.Add("2026-11-24T10:30")
	f.Add("2026-11-24T10:30:59")
	f.Add("yesterday")
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseLocalTime(s, loc)
		if err == nil && s != "" && tm == nil {
			t.Fatalf("parseLocalTime(%q) = nil, nil", s)
		}
	})
}

func FuzzParseAlertFilter(f *testing.F) {
	f.Add("new", "native", "S1", "pc-1", "malware", "2026-11-24T10:30", "")
	f.Add("bogus", "x", "S9", "", "", "yesterday", "2026-11-24T10:30:59")
	b, err := i18n.Load()
	if err != nil {
		f.Fatal(err)
	}
	rq := &request{tr: b.For(i18n.English), loc: time.UTC}
	f.Fuzz(func(t *testing.T, status, source, sev, host, q, after, before string) {
		vals := map[string][]string{"status": {status}, "source": {source}, "severity": {sev}, "host": {host}, "q": {q},
			"seen_after": {after}, "seen_before": {before}}
		_, sf, err := parseAlertFilter(vals, rq)
		if err != nil {
			return
		}
		for _, s := range sf.Statuses {
			if !s.Valid() {
				t.Fatalf("accepted status %q", s)
			}
		}
		for _, s := range sf.Severities {
			if !s.Valid() {
				t.Fatalf("accepted severity %q", s)
			}
		}
		if (after != "") != (sf.SeenAfter != nil) || (before != "") != (sf.SeenBefore != nil) {
			t.Fatalf("time range %q..%q read as %v..%v", after, before, sf.SeenAfter, sf.SeenBefore)
		}
	})
}

func FuzzPrettyJSON(f *testing.F) {
	f.Add([]byte(`{"a": "</script><script>alert(1)</script>", "b": [1, 2]}`))
	f.Add([]byte(`"CEF:0|x"`))
	f.Add([]byte(`{broken`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := prettyJSON(raw)
		if len(raw) > 0 && out == "" {
			t.Fatalf("prettyJSON(%q) lost the payload", raw)
		}
	})
}

func TestEditFormPatch(t *testing.T) {
	loc := time.FixedZone("JST", 9*3600)
	occurred := time.Date(2026, 11, 1, 0, 0, 30, 0, time.UTC) // seconds the form cannot show
	inc := &core.Incident{Facts: core.Facts{OccurredAt: &occurred}}
	f := formOf(inc, loc)
	f.Impact, f.Urgency, f.Title, f.Severity, f.Category = "2", "3", "t", "S2", "malware"
	f.InfoType = "personal" // not a data leak: dropped
	p, err := f.patch(inc, loc, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Facts.OccurredAt.Set || p.InfoType.Value != "" || p.Restricted.Set || p.Exercise.Set || p.Impact.Value != 2 {
		t.Errorf("patch: %+v", p)
	}
	f.OccurredAt = ""
	if p, err = f.patch(inc, loc, true); err != nil || !p.Facts.OccurredAt.Set || !p.Facts.OccurredAt.Null || !p.Restricted.Set {
		t.Errorf("cleared time, lead: %+v %v", p, err)
	}
	for _, bad := range []func(*editForm){
		func(f *editForm) { f.Impact = "0" },
		func(f *editForm) { f.Urgency = "x" },
		func(f *editForm) { f.PeopleAffected = "many" },
		func(f *editForm) { f.OccurredAt = "soon" },
	} {
		g := f
		bad(&g)
		if _, err := g.patch(inc, loc, false); err == nil {
			t.Errorf("accepted %+v", g)
		}
	}
}
