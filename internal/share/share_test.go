package share

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

var (
	t0 = time.Date(2026, 11, 2, 1, 30, 0, 0, time.UTC)
	t1 = time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
)

func fixture() (*core.Incident, []core.IncidentObservable) {
	occurred := t0.Add(-2 * time.Hour)
	inc := &core.Incident{ID: 7, Key: "INC-2026-0042", Title: "Emotet on the sales floor", Description: "Macro document → C2 on PC-SALES-07, opened by tanaka; file server fs-01 next.",
		AffectedSystems: []string{"fs-01"},
		Category:        core.CatMalware, Severity: core.S2, Phase: core.PhaseContain, CreatedAt: t0, UpdatedAt: t1,
		Facts: core.Facts{OccurredAt: &occurred}}
	ob := func(typ, value string, ioc bool, tlp string) core.IncidentObservable {
		return core.IncidentObservable{Observable: core.Observable{Type: typ, Value: value}, IOC: ioc, TLP: tlp, Tags: []string{}}
	}
	return inc, []core.IncidentObservable{
		ob("ip", "198.51.100.3", true, ""),
		ob("ip", "2001:db8::7", true, ""),
		ob("domain", "evil.example", true, "red"),
		ob("url", "http://evil.example/a?x=1&y='2'", true, ""),
		ob("hash", "d41d8cd98f00b204e9800998ecf8427e", true, ""),
		ob("hash", strings.Repeat("ab", 32), false, ""),
		ob("email", "boss@evil.example", true, "green"),
		ob("filename", "invoice.doc", false, ""),
		ob("registry_key", `HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\upd`, true, ""),
		ob("host", "pc-sales-07", false, ""),
		ob("user", "tanaka", false, ""),
		ob("ip", "10.1.2.3", true, ""),
	}
}

func exportJSON(t *testing.T, opt ExportOptions) (*Bundle, []byte) {
	t.Helper()
	inc, obs := fixture()
	b, err := STIXBundle(inc, obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateBundle(data); err != nil {
		t.Fatalf("exported bundle does not validate: %v\n%s", err, data)
	}
	// Every export must also read back as shared intelligence.
	if res, err := ParseSTIX(data, ImportOptions{Source: "self", Now: t1}); err != nil || len(res.Entries) == 0 {
		t.Fatalf("exported bundle does not parse: %v %+v", err, res)
	}
	return b, data
}

func byType(b *Bundle, typ string) []map[string]any {
	var out []map[string]any
	for _, o := range b.Objects {
		if o["type"] == typ {
			out = append(out, o)
		}
	}
	return out
}

func TestSCOIdentifiersFollowTheSpec(t *testing.T) {
	// Expected values computed independently with Python's uuid.uuid5
	// over the canonical JSON of the ID-contributing properties.
	cases := []struct {
		typ     string
		contrib map[string]any
		want    string
	}{
		{"ipv4-addr", map[string]any{"value": "198.51.100.3"}, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
		{"domain-name", map[string]any{"value": "example.com"}, "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
		{"file", map[string]any{"hashes": map[string]any{"MD5": "d41d8cd98f00b204e9800998ecf8427e"}}, "file--02fff920-f614-527c-81d1-6353633a6d21"},
	}
	for _, c := range cases {
		if got := scoID(c.typ, c.contrib); got != c.want {
			t.Errorf("scoID(%s %v) = %s, want %s", c.typ, c.contrib, got, c.want)
		}
	}
	if got := canonicalJSON(map[string]any{"b": "x\"\\\n\u0001é<", "a": map[string]any{"d": "1", "c": "2"}}); got != `{"a":{"c":"2","d":"1"},"b":"x\"\\\n\u0001é<"}` {
		t.Errorf("canonicalJSON = %s", got)
	}
}

func TestSTIXBundleOfFixture(t *testing.T) {
	b, data := exportJSON(t, ExportOptions{TLP: "amber", PAP: "green"})
	_, again := exportJSON(t, ExportOptions{TLP: "TLP:AMBER", PAP: "PAP:GREEN"})
	if !bytes.Equal(data, again) {
		t.Error("two exports of the same incident differ")
	}
	counts := map[string]int{}
	for _, o := range b.Objects {
		counts[o["type"].(string)]++
	}
	want := map[string]int{"identity": 1, "marking-definition": 3 /* amber, red, PAP */, "incident": 1,
		"ipv4-addr": 1, "ipv6-addr": 1, "domain-name": 1, "url": 1, "file": 3, "email-addr": 1, "windows-registry-key": 1,
		"observed-data": 1, "indicator": 7, "relationship": 8}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %s objects, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
	if counts["user-account"] != 0 || strings.Contains(string(data), "tanaka") || strings.Contains(string(data), "pc-sales-07") || strings.Contains(string(data), "10.1.2.3") {
		t.Error("internal hosts and users left without include_internal")
	}
	inc := byType(b, "incident")[0]
	if inc["description"] != "Macro document → C2 on [internal], opened by [internal]; file server [internal] next." {
		t.Errorf("description not scrubbed: %q", inc["description"])
	}
	if inc["name"] != "Emotet on the sales floor" || inc["created"] != "2026-11-02T01:30:00.000Z" || inc["modified"] != "2026-11-03T08:00:00.000Z" {
		t.Errorf("incident = %v", inc)
	}
	refs := inc["external_references"].([]map[string]any)
	if refs[0]["source_name"] != "irdesk" || refs[0]["external_id"] != "INC-2026-0042" {
		t.Errorf("external_references = %v", refs)
	}
	patterns := map[string]map[string]any{}
	for _, ind := range byType(b, "indicator") {
		patterns[ind["pattern"].(string)] = ind
		if ind["pattern_type"] != "stix" || ind["valid_from"] != "2026-11-02T01:30:00.000Z" {
			t.Errorf("indicator = %v", ind)
		}
	}
	for _, p := range []string{
		"[ipv4-addr:value = '198.51.100.3']",
		"[ipv6-addr:value = '2001:db8::7']",
		"[url:value = 'http://evil.example/a?x=1&y=\\'2\\'']",
		"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
		`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd']`,
	} {
		if patterns[p] == nil {
			t.Errorf("no indicator with pattern %s; have %v", p, slices.Collect(func(yield func(string) bool) {
				for k := range patterns {
					if !yield(k) {
						return
					}
				}
			}))
		}
	}
	amber, red := tlpMarkingIDs["amber"], tlpMarkingIDs["red"]
	if m := patterns["[domain-name:value = 'evil.example']"]["object_marking_refs"].([]string); m[0] != red {
		t.Errorf("red observable's indicator marked %v, want its own red marking", m)
	}
	if m := patterns["[email-addr:value = 'boss@evil.example']"]["object_marking_refs"].([]string); m[0] != amber {
		t.Errorf("green observable in an amber export marked %v, want amber", m)
	}
	for _, sco := range byType(b, "ipv4-addr") {
		if sco["id"] != "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4" {
			t.Errorf("ipv4 id = %v", sco["id"])
		}
	}
	od := byType(b, "observed-data")[0]
	if n := len(od["object_refs"].([]string)); n != 9 {
		t.Errorf("observed-data refers to %d objects, want 9", n)
	}
}

func TestSTIXIncludeInternal(t *testing.T) {
	b, data := exportJSON(t, ExportOptions{TLP: "red", IncludeInternal: true})
	if len(byType(b, "user-account")) != 1 || !strings.Contains(string(data), "pc-sales-07") || !strings.Contains(string(data), "PC-SALES-07, opened by tanaka") {
		t.Error("include_internal left out hosts or users")
	}
	_, other := exportJSON(t, ExportOptions{TLP: "red"})
	if bytes.Equal(data, other) {
		t.Error("include_internal changed nothing")
	}
	if _, err := STIXBundle(&core.Incident{Key: "INC-2026-0001"}, nil, ExportOptions{TLP: "purple"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown TLP: %v", err)
	}
	if _, err := STIXBundle(&core.Incident{Key: "INC-2026-0001"}, nil, ExportOptions{TLP: "red", PAP: "blue"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown PAP: %v", err)
	}
}

// mutate exports the fixture, changes it, and returns the validation error.
func mutate(t *testing.T, fn func(objs []map[string]any)) error {
	t.Helper()
	_, data := exportJSON(t, ExportOptions{TLP: "green"})
	var b struct {
		Type    string           `json:"type"`
		ID      string           `json:"id"`
		Objects []map[string]any `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	fn(b.Objects)
	broken, _ := json.Marshal(b)
	return ValidateBundle(broken)
}

func find(objs []map[string]any, typ string) map[string]any {
	for _, o := range objs {
		if o["type"] == typ {
			return o
		}
	}
	return nil
}

func TestValidatorCatchesBrokenBundles(t *testing.T) {
	cases := []struct {
		name string
		fn   func([]map[string]any)
		want string
	}{
		{"missing name", func(o []map[string]any) { delete(find(o, "incident"), "name") }, ".name: is required for incident"},
		{"missing pattern", func(o []map[string]any) { delete(find(o, "indicator"), "pattern") }, ".pattern: is required"},
		{"missing spec_version", func(o []map[string]any) { delete(find(o, "indicator"), "spec_version") }, ".spec_version: is required"},
		{"bad id", func(o []map[string]any) { find(o, "incident")["id"] = "incident--42" }, "does not end in an RFC 4122 UUID"},
		{"wrong id type", func(o []map[string]any) { find(o, "incident")["id"] = "indicator--" + uuid4From("x") }, "must be incident--<UUID>"},
		{"v4 id on SCO", func(o []map[string]any) { find(o, "url")["id"] = "url--" + uuid4From("x") }, "must be a version 5 UUID"},
		{"v5 id on SDO", func(o []map[string]any) { find(o, "indicator")["id"] = "indicator--" + uuid5(scoNamespace, "x") }, "must be a version 4 UUID"},
		{"dangling ref", func(o []map[string]any) {
			find(o, "relationship")["target_ref"] = "incident--" + uuid4From("elsewhere")
		}, "is not in the bundle"},
		{"dangling marking", func(o []map[string]any) {
			find(o, "incident")["object_marking_refs"] = []string{"marking-definition--" + uuid4From("nope")}
		}, "is not in the bundle"},
		{"local time", func(o []map[string]any) { find(o, "incident")["created"] = "2026-11-02T10:30:00+09:00" }, "RFC 3339 timestamp in UTC"},
		{"modified before created", func(o []map[string]any) { find(o, "incident")["modified"] = "2020-01-01T00:00:00.000Z" }, "is before created"},
		{"bad pattern", func(o []map[string]any) { find(o, "indicator")["pattern"] = "[ipv4-addr:value = '1.2.3.4'" }, ".pattern:"},
		{"spec 2.0", func(o []map[string]any) { find(o, "identity")["spec_version"] = "2.0" }, "must be \"2.1\""},
		{"ipv4 not an address", func(o []map[string]any) { find(o, "ipv4-addr")["value"] = "2001:db8::1" }, "is not an ipv4-addr value"},
		{"file without hashes or name", func(o []map[string]any) {
			f := find(o, "file")
			delete(f, "hashes")
			delete(f, "name")
		}, "a file needs hashes or name"},
		{"number_observed zero", func(o []map[string]any) { find(o, "observed-data")["number_observed"] = 0 }, "number_observed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mutate(t, c.fn)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error = %v, want a ValidationError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want it to say %q", err, c.want)
			}
		})
	}
	if err := ValidateBundle([]byte(`{"type":"bundle"`)); err == nil {
		t.Error("malformed JSON validated")
	}
}

// iocSet is the (type, value) set of the fixture's IOCs that leave.
func iocSet(includeInternal bool) map[core.Observable]bool {
	_, obs := fixture()
	out := map[core.Observable]bool{}
	for _, o := range obs {
		if o.IOC && (includeInternal || !InternalObservable(o.Observable)) {
			out[o.Observable] = true
		}
	}
	return out
}

func entrySet(es []Entry) map[core.Observable]bool {
	out := map[core.Observable]bool{}
	for _, e := range es {
		out[core.Observable{Type: e.Type, Value: e.Value}] = true
	}
	return out
}

func TestSTIXRoundTrip(t *testing.T) {
	b, data := exportJSON(t, ExportOptions{TLP: "amber"})
	now := t1.Add(time.Hour)
	res, err := ParseSTIX(data, ImportOptions{Source: "partner", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// Indicators give the IOCs; observed-data adds the non-IOC observables.
	got := entrySet(res.Entries)
	for o := range iocSet(false) {
		if !got[o] {
			t.Errorf("IOC %v lost in the round trip", o)
		}
	}
	if !got[core.Observable{Type: "filename", Value: "invoice.doc"}] {
		t.Error("observed-data file name not imported")
	}
	for _, e := range res.Entries {
		if e.Source != "partner" || e.ExpiresAt == nil || !e.ExpiresAt.Equal(now.Add(DefaultTTL)) {
			t.Errorf("entry %+v", e)
		}
		want := "amber"
		if e.Value == "evil.example" {
			want = "red"
		}
		if e.TLP != want {
			t.Errorf("%s TLP %q, want %q", e.Value, e.TLP, want)
		}
	}
	if len(b.Objects) == 0 {
		t.Fatal("empty bundle")
	}
}

func TestParseSTIXPatternsAndErrors(t *testing.T) {
	now := t0
	bundle := func(objs ...string) []byte {
		return []byte(`{"type":"bundle","id":"bundle--` + uuid4From("t") + `","objects":[` + strings.Join(objs, ",") + `]}`)
	}
	ind := func(pattern, extra string) string {
		p, _ := json.Marshal(pattern)
		return `{"type":"indicator","id":"indicator--` + uuid4From(pattern) + `","pattern_type":"stix","pattern":` + string(p) + extra + `}`
	}
	res, err := ParseSTIX(bundle(
		ind("[ipv4-addr:value = '203.0.113.7'] OR [domain-name:value = 'Bad.Example.']", `,"confidence":80,"valid_until":"2027-01-01T00:00:00Z","object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]`),
		ind("[file:hashes.'SHA-256' = '"+strings.Repeat("AB", 32)+"' OR file:hashes.MD5 = '"+strings.Repeat("cd", 16)+"']", ""),
		ind("[ipv4-addr:value = '192.0.2.1' AND domain-name:value = 'x.example']", ""),
		ind("[url:value = 'http://a.example/'] FOLLOWEDBY [url:value = 'http://b.example/']", ""),
		ind("[ipv4-addr:value = '10.0.0.0/8']", ""),
		`{"type":"malware","id":"malware--`+uuid4From("m")+`","name":"x"}`,
		`{"type":"indicator","id":"indicator--`+uuid4From("s")+`","pattern_type":"sigma","pattern":"title: x"}`,
	), ImportOptions{Source: "isac", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := entrySet(res.Entries)
	for _, o := range []core.Observable{{Type: "ip", Value: "203.0.113.7"}, {Type: "domain", Value: "bad.example"},
		{Type: "hash", Value: strings.Repeat("ab", 32)}, {Type: "hash", Value: strings.Repeat("cd", 16)}} {
		if !got[o] {
			t.Errorf("%v not imported; got %v", o, res.Entries)
		}
	}
	if len(res.Entries) != 4 || res.Skipped != 4 {
		t.Errorf("%d entries, %d skipped; want 4 and 4: %+v", len(res.Entries), res.Skipped, res.Entries)
	}
	for _, e := range res.Entries {
		if e.Type == "ip" && (e.Confidence != 80 || e.TLP != "amber" || !e.ExpiresAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))) {
			t.Errorf("ip entry %+v", e)
		}
	}
	for _, c := range []struct{ body, field string }{
		{`{"type":"bundle","objects":[`, "body"},
		{`[]`, "body"},
		{`{"type":"report"}`, "type"},
		{`{"type":"bundle","objects":{}}`, "objects"},
		{`{"type":"bundle","objects":[1]}`, "objects[0]"},
		{`{"type":"bundle","objects":[{"type":"indicator","pattern":7}]}`, "objects[0].pattern"},
		{`{"type":"bundle","objects":[{"type":"indicator","pattern":"[url:value = 'x']","confidence":"high"}]}`, "objects[0].confidence"},
		{`{"type":"bundle","objects":[{"type":"observed-data","object_refs":"x"}]}`, "objects[0].object_refs"},
	} {
		_, err := ParseSTIX([]byte(c.body), ImportOptions{Source: "x", Now: now})
		var fe *core.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: error %v, want one naming %s", c.body, err, c.field)
		}
	}
}

func TestMISPExport(t *testing.T) {
	inc, obs := fixture()
	doc, err := MISPEventOf(inc, obs, ExportOptions{TLP: "amber", PAP: "red", IncludeInternal: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := doc.Event
	if ev.ThreatLevelID != "1" || ev.Analysis != "1" || ev.Distribution != "1" || ev.Date != "2026-11-02" || ev.Info != inc.Title {
		t.Errorf("event header %+v", ev)
	}
	if !slices.Equal(ev.Tag, []MISPTag{{"tlp:amber"}, {"PAP:RED"}}) {
		t.Errorf("tags %v", ev.Tag)
	}
	types := map[string]MISPAttribute{}
	for _, a := range ev.Attribute {
		types[a.Value] = a
	}
	want := map[string][3]string{ // value: type, category, to_ids
		"198.51.100.3":                     {"ip-dst", "Network activity", "true"},
		"evil.example":                     {"domain", "Network activity", "true"},
		"http://evil.example/a?x=1&y='2'":  {"url", "Network activity", "true"},
		"d41d8cd98f00b204e9800998ecf8427e": {"md5", "Payload delivery", "true"},
		strings.Repeat("ab", 32):           {"sha256", "Payload delivery", "false"},
		"boss@evil.example":                {"email-src", "Payload delivery", "true"},
		"invoice.doc":                      {"filename", "Payload delivery", "false"},
		"pc-sales-07":                      {"target-machine", "Targeting data", "false"},
		"tanaka":                           {"target-user", "Targeting data", "false"},
		`HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\upd`: {"regkey", "Persistence mechanism", "true"},
	}
	for v, w := range want {
		a, ok := types[v]
		if !ok || a.Type != w[0] || a.Category != w[1] || (a.ToIDS != (w[2] == "true")) {
			t.Errorf("%s: %+v, want %v", v, a, w)
		}
	}
	if a := types["evil.example"]; !slices.Equal(a.Tag, []MISPTag{{"tlp:red"}}) || a.Distribution != "0" {
		t.Errorf("red attribute %+v", a)
	}
	if a := types["198.51.100.3"]; a.Tag != nil || a.Distribution != "5" {
		t.Errorf("plain attribute %+v", a)
	}
	for sev, lvl := range map[core.Severity]string{core.S1: "1", core.S3: "2", core.S4: "3"} {
		inc.Severity = sev
		d, _ := MISPEventOf(inc, nil, ExportOptions{TLP: "green"})
		if d.Event.ThreatLevelID != lvl || d.Event.Distribution != "2" {
			t.Errorf("%s: threat level %s, distribution %s", sev, d.Event.ThreatLevelID, d.Event.Distribution)
		}
	}
	inc.Phase = core.PhaseClosed
	if d, _ := MISPEventOf(inc, nil, ExportOptions{TLP: "clear"}); d.Event.Analysis != "2" || d.Event.Distribution != "3" {
		t.Errorf("closed: %+v", d.Event)
	}
}

func TestMISPRoundTrip(t *testing.T) {
	inc, obs := fixture()
	doc, err := MISPEventOf(inc, obs, ExportOptions{TLP: "green"})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := doc.JSON()
	res, err := ParseMISP(data, ImportOptions{Source: "misp", Now: t1})
	if err != nil {
		t.Fatal(err)
	}
	got := entrySet(res.Entries)
	want := iocSet(false)
	// ip-dst carries no IPv6/IPv4 difference, so every IOC comes back.
	if len(got) != len(want) {
		t.Errorf("round trip gave %v, want %v", got, want)
	}
	for o := range want {
		if !got[o] {
			t.Errorf("IOC %v lost", o)
		}
	}
	for _, e := range res.Entries {
		want := "green"
		if e.Value == "evil.example" {
			want = "red"
		}
		if e.TLP != want || e.Confidence != 90 {
			t.Errorf("entry %+v", e)
		}
	}
	// Wrapped forms and objects.
	wrapped := `{"response":[{"Event":{"threat_level_id":3,"Tag":[{"name":"tlp:white"}],"Object":[{"Attribute":[
		{"type":"filename|sha1","value":"a.exe|` + strings.Repeat("1f", 20) + `","to_ids":"1"},
		{"type":"ip-dst|port","value":"192.0.2.9|443","to_ids":true},
		{"type":"comment","value":"x","to_ids":true},
		{"type":"domain","value":"not a domain","to_ids":true},
		{"type":"domain","value":"quiet.example","to_ids":false}]}]}}]}`
	res, err = ParseMISP([]byte(wrapped), ImportOptions{Source: "feed", Now: t1})
	if err != nil {
		t.Fatal(err)
	}
	got = entrySet(res.Entries)
	for _, o := range []core.Observable{{Type: "filename", Value: "a.exe"}, {Type: "hash", Value: strings.Repeat("1f", 20)}, {Type: "ip", Value: "192.0.2.9"}} {
		if !got[o] {
			t.Errorf("%v not imported: %+v", o, res.Entries)
		}
	}
	if len(res.Entries) != 3 || res.Skipped != 3 || res.Entries[0].TLP != "clear" || res.Entries[0].Confidence != 30 {
		t.Errorf("entries %+v skipped %d", res.Entries, res.Skipped)
	}
	for _, c := range []struct{ body, field string }{
		{`{"Event":`, "body"},
		{`{"Event":[]}`, "Event"},
		{`{"Event":{"Attribute":{}}}`, "Event.Attribute"},
		{`{"Event":{"Attribute":[{"type":"ip-dst","value":5}]}}`, "Event.Attribute[0].value"},
		{`{"Event":{"Tag":[{"name":1}]}}`, "Event.Tag[0].name"},
		{`{"5cf3d2b2-0b44-4c5e-9b8c-4f1a0a0a0a0a":{"info":"x","Orgc":{}}}`, "body"},
		{`{"nothing":1}`, "Event"},
	} {
		_, err := ParseMISP([]byte(c.body), ImportOptions{Source: "x", Now: t1})
		var fe *core.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: error %v, want one naming %s", c.body, err, c.field)
		}
	}
}

func TestCSVGuardAndBOM(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]string{{"=HYPERLINK(\"http://x\")", "+1"}, {"-2", "@SUM(A1)"}, {"日本語, \"quoted\"", "line\nbreak"}, {"\tTAB", "plain"}}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\xef\xbb\xbfa,b\r\n") {
		t.Fatalf("no BOM or CRLF header: %q", out[:10])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b"}, {"'=HYPERLINK(\"http://x\")", "'+1"}, {"'-2", "'@SUM(A1)"}, {"日本語, \"quoted\"", "line\nbreak"}, {"'\tTAB", "plain"}}
	if len(recs) != len(want) {
		t.Fatalf("records %q", recs)
	}
	for i := range want {
		if !slices.Equal(recs[i], want[i]) {
			t.Errorf("row %d = %q, want %q", i, recs[i], want[i])
		}
	}
}

func TestNDJSONAndRows(t *testing.T) {
	inc, obs := fixture()
	red := Redactor{Red: map[core.Observable]bool{{Type: "ip", Value: "198.51.100.3"}: true}}
	kept := red.Keep(obs)
	for _, o := range kept {
		if o.TLP == "red" || o.Value == "198.51.100.3" {
			t.Errorf("red observable %v kept", o)
		}
	}
	if len(kept) != len(obs)-2 {
		t.Errorf("kept %d of %d", len(kept), len(obs))
	}
	var buf bytes.Buffer
	w := NewNDJSONWriter(&buf)
	for i := 0; i < 3; i++ {
		if err := w.Write(IncidentRecord{Incident: inc, Observables: kept}); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["key"] != "INC-2026-0042" || len(m["observables"].([]any)) != len(kept) {
			t.Errorf("line %s: %v", l, err)
		}
	}
	row := IncidentRow(IncidentRecord{Incident: inc, Observables: kept})
	if len(row) != len(IncidentHeader) || row[0] != "INC-2026-0042" || strings.Contains(row[len(row)-1], "domain:evil.example") {
		t.Errorf("row %q", row)
	}
	al := &core.Alert{ID: 3, Title: "=cmd", SrcIP: "198.51.100.3", DstIP: "192.0.2.1", Host: "198.51.100.3", Raw: json.RawMessage(`{"src":"198.51.100.3"}`),
		Observables: []core.Observable{{Type: "ip", Value: "198.51.100.3"}, {Type: "ip", Value: "192.0.2.1"}}}
	r := red.Alert(al)
	if r.SrcIP != "" || r.Host != "" || r.DstIP != "192.0.2.1" || r.Raw != nil || len(r.Observables) != 1 || al.SrcIP == "" {
		t.Errorf("redacted alert %+v (original %+v)", r, al)
	}
	if row := AlertRow(AlertRecord{Alert: r, Watchlist: []string{"ip:192.0.2.1"}}); len(row) != len(AlertHeader) || row[len(row)-1] != "ip:192.0.2.1" {
		t.Errorf("alert row %q", row)
	}
}

func TestParsePattern(t *testing.T) {
	good := []string{
		"[ipv4-addr:value = '1.2.3.4']",
		"[file:hashes.'SHA-256' = 'ab'] OR [url:value != 'x']",
		"[network-traffic:dst_ref.value = '1.2.3.4' AND network-traffic:dst_port = 443]",
		"[email-message:to_refs[0].value LIKE '%@x.example']",
		"[file:created > t'2020-01-01T00:00:00Z']",
		"[x-custom:a_b = true]",
	}
	for _, s := range good {
		if _, err := ParsePattern(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{"", "[", "ipv4-addr:value = '1'", "[ipv4-addr:value = '1'", "[ipv4-addr:value '1']", "[ipv4-addr value = '1']",
		"[ipv4-addr:value = '1' AND ipv4-addr:value = '2' OR ipv4-addr:value = '3']", "[a:b = 'x\\n']", "[IPV4:value = '1']",
		"[ipv4-addr:value = '1'] WITHIN 5 SECONDS", "[ipv4-addr:value = 'unterminated]"}
	for _, s := range bad {
		if _, err := ParsePattern(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
