package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustParse(tb testing.TB, format string, body []byte) []ingest.Alert {
	tb.Helper()
	alerts, err := ingest.Parse(format, body)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", format, err)
	}
	return alerts
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// fields is an alert without the parts checked separately.
func fields(a ingest.Alert) ingest.Alert {
	a.Raw, a.Observables, a.Fingerprint = nil, nil, ""
	return a
}

func TestSamples(t *testing.T) {
	tests := []struct {
		file, format string
		count        int // alerts in the file
		index        int // the one checked
		want         ingest.Alert
		observables  []ingest.Observable // must be among the alert's
	}{
		{
			file: "wazuh_ssh_bruteforce.json", format: "wazuh", count: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T08:21:43.512Z"), Source: "wazuh", SourceEventID: "1778746903.2281734",
				NativeSeverity: "10", Severity: core.S2, RuleID: "5763",
				RuleName: "sshd: brute force trying to get access to the system. Authentication failed.",
				Title:    "sshd: brute force trying to get access to the system. Authentication failed.",
				Host:     "web-01", User: "root", SrcIP: "203.0.113.45", SrcPort: 51234,
			},
			observables: []ingest.Observable{{"host", "web-01"}, {"user", "root"}, {"ip", "203.0.113.45"}, {"ip", "10.0.1.15"}},
		},
		{
			file: "wazuh_syscheck.json", format: "wazuh", count: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:02:11.004Z"), Source: "wazuh", SourceEventID: "1778749331.3310876",
				NativeSeverity: "7", Severity: core.S3, RuleID: "550", RuleName: "Integrity checksum changed.",
				Title: "Integrity checksum changed.", Host: "db-02", User: "root",
				FileHash: "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
			},
			observables: []ingest.Observable{
				{"hash", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
				{"hash", "de9f2c7fd25e1b3afad3e85a0bd17d9b100db4b3"},
				{"hash", "9e107d9d372bb6826bd81d3542a419d6"},
				{"filename", "/usr/bin/passwd"},
			},
		},
		{
			file: "suricata_eve.ndjson", format: "suricata", count: 2, index: 0,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T08:30:12.345678Z"), Source: "suricata",
				SourceEventID: "1839281928374651:1:2030171:0", NativeSeverity: "1", Severity: core.S2,
				RuleID: "2030171", RuleName: "ET MALWARE Win32/Emotet CnC Activity (POST) M4",
				Title: "ET MALWARE Win32/Emotet CnC Activity (POST) M4",
				SrcIP: "10.0.2.34", SrcPort: 49822, DstIP: "198.51.100.23", DstPort: 80,
				URL: "http://update.bad-cdn.example/wp-content/x/nSm4/", Domain: "update.bad-cdn.example",
			},
			observables: []ingest.Observable{{"ip", "10.0.2.34"}, {"ip", "198.51.100.23"}, {"domain", "update.bad-cdn.example"}, {"url", "http://update.bad-cdn.example/wp-content/x/nSm4/"}},
		},
		{
			file: "suricata_eve.ndjson", format: "suricata", count: 2, index: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T08:33:41.907012Z"), Source: "suricata",
				SourceEventID: "1620012736612021:1:2001219", NativeSeverity: "2", Severity: core.S3,
				RuleID: "2001219", RuleName: "ET SCAN Potential SSH Scan", Title: "ET SCAN Potential SSH Scan",
				SrcIP: "2001:db8::bad", SrcPort: 44321, DstIP: "2001:db8::10", DstPort: 22,
			},
		},
		{
			file: "elastic_detection.json", format: "elastic", count: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:01:58Z"), Source: "elastic",
				SourceEventID:  "8c0f8a5b1e3f44d6a1bc7d9e3a20f6b7c5e41a2d9f0b3c8e7d6a5b4c3d2e1f00",
				NativeSeverity: "high", Severity: core.S2, RuleID: "7a5a6e4b-1d1f-4ad8-9c4e-2d8f3b1e0a11",
				RuleName: "Suspicious PowerShell Encoded Command", Title: "Suspicious PowerShell Encoded Command",
				Host: "WS-0142", User: "jdoe", SrcIP: "10.0.3.21", DstIP: "192.0.2.200", DstPort: 443,
				Process:  "powershell.exe",
				FileHash: "de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c",
				URL:      "https://stage2.evil.example/payload.ps1",
			},
			observables: []ingest.Observable{{"host", "ws-0142"}, {"domain", "stage2.evil.example"}, {"filename", "powershell.exe"}, {"hash", "7353f60b1739074eb17c5f4dddefe239"}, {"ip", "fe80::c1a4:8f2e:9b7a:1d3"}},
		},
		{
			file: "splunk_webhook.json", format: "splunk", count: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:10:00Z"), Source: "splunk",
				SourceEventID:  "scheduler__admin__search__RMD5c0ffee1234567890_at_1778749800_4242",
				NativeSeverity: "high", Severity: core.S2, RuleID: "Excessive Failed Logins",
				RuleName: "Excessive Failed Logins", Title: "Excessive Failed Logins",
				Host: "DC01", User: "svc_backup", SrcIP: "198.51.100.77",
			},
			observables: []ingest.Observable{{"host", "dc01"}, {"user", "svc_backup"}, {"ip", "198.51.100.77"}},
		},
		{
			file: "defender_alert.json", format: "defender", count: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:08:40.6Z"), Source: "defender",
				SourceEventID: "da638512345678901234_-1234567890", NativeSeverity: "high", Severity: core.S1,
				RuleID:   "e0da400f-affd-43ef-b1d5-afc2eb6f2756",
				RuleName: "'Mimikatz' credential theft tool was detected", Title: "'Mimikatz' credential theft tool was detected",
				Host: "FIN-LT-023.corp.example", User: "akato@corp.example",
				FileHash: "92804faaab2175dc501d73e814663558472aa7ad7a0e2a7d5a5a8c3c8b8d2e11",
			},
			observables: []ingest.Observable{
				{"host", "fin-lt-023.corp.example"}, {"user", "akato@corp.example"}, {"email", "akato@corp.example"},
				{"ip", "203.0.113.99"}, {"ip", "10.0.4.17"}, {"ip", "fe80::8d2a:1c3b:7e4f:901"}, {"filename", "mimi.exe"},
				{"hash", "e3b2c1a0f9e8d7c6b5a4938271605f4e3d2c1b0a"},
			},
		},
		{
			file: "crowdstrike_detection.json", format: "crowdstrike", count: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:17:55Z"), Source: "crowdstrike",
				SourceEventID:  "ldt:73e7e2de709dff64ef64b1d0c30e67fa:301281947281",
				NativeSeverity: "5 Critical", Severity: core.S1, RuleID: "10134",
				RuleName: "Credential Access via OS Credential Dumping", Title: "Credential Dumping",
				Host: "FIN-LT-023", User: "akato", Process: "mimi.exe",
				FileHash: "92804faaab2175dc501d73e814663558472aa7ad7a0e2a7d5a5a8c3c8b8d2e11",
			},
			observables: []ingest.Observable{{"hash", "bb8bdb3e8c92e97e2f63626bc3b254c4"}, {"ip", "10.0.4.17"}, {"filename", "mimi.exe"}, {"host", "fin-lt-023"}},
		},
		{
			file: "cef_events.log", format: "cef", count: 3, index: 0,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:20:01Z"), Source: "cef", SourceEventID: "7321992",
				NativeSeverity: "8", Severity: core.S2, RuleID: "threat", RuleName: "Command and Control Traffic",
				Title: "Command and Control Traffic", Host: "ws-0142", User: `corp\jdoe`,
				SrcIP: "10.0.2.34", SrcPort: 49822, DstIP: "198.51.100.23", DstPort: 443,
				URL: "https://evil.example/gate.php?id=42",
			},
			observables: []ingest.Observable{{"domain", "evil.example"}, {"url", "https://evil.example/gate.php?id=42"}},
		},
		{
			file: "cef_events.log", format: "cef", count: 3, index: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T09:20:01Z"), Source: "cef", NativeSeverity: "Very-High", Severity: core.S1,
				RuleID: "1000608", RuleName: "Generic SQL Injection Prevention", Title: "Generic SQL Injection Prevention",
				Host: "shop.corp.example", SrcIP: "203.0.113.80", SrcPort: 51515, DstIP: "10.0.5.10", DstPort: 443,
				URL: "https://shop.corp.example/search?q=1%27%20OR%201=1",
			},
		},
		{
			file: "cef_events.log", format: "cef", count: 3, index: 2,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:25:00.123Z"), Source: "cef", NativeSeverity: "High", Severity: core.S2,
				RuleID: "sig-100", RuleName: "Malware | dropper found", Title: "Malware | dropper found",
				Host: "FILESRV01", User: "akato@corp.example", DstIP: "10.0.6.7", Process: "explorer.exe",
				FileHash: "44d88612fea8a8f36de82e1278abb02f",
			},
			observables: []ingest.Observable{{"filename", "invoice.pdf.exe"}, {"email", "akato@corp.example"}, {"hash", "44d88612fea8a8f36de82e1278abb02f"}},
		},
		{
			file: "native_alerts.json", format: "native", count: 2, index: 0,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T01:00:00Z"), Source: "native", SourceEventID: "mailgw-88121",
				NativeSeverity: "P2", Severity: core.S2, RuleID: "phish-report", RuleName: "User-reported phishing",
				Title: "Phishing mail reported by employee", Host: "mail-gw-01", User: "hsato", SrcIP: "198.51.100.7",
				URL: "http://login-micros0ft.example/owa", Email: "billing@invoice-portal.example",
			},
			observables: []ingest.Observable{
				{"domain", "login-micros0ft.example"},
				{"hash", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
				{"registry_key", `HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run`},
			},
		},
		{
			file: "native_alerts.json", format: "native", count: 2, index: 1,
			want: ingest.Alert{
				Source: "native", Severity: core.S3, Title: "Backup job wrote to unexpected share",
				Host: "bk-01", DstIP: "10.0.9.9", DstPort: 445,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+string(rune('0'+tt.index)), func(t *testing.T) {
			alerts := mustParse(t, tt.format, readSample(t, tt.file))
			if len(alerts) != tt.count {
				t.Fatalf("got %d alerts, want %d", len(alerts), tt.count)
			}
			a := alerts[tt.index]
			if !a.EventTime.Equal(tt.want.EventTime) {
				t.Errorf("EventTime = %v, want %v", a.EventTime, tt.want.EventTime)
			}
			got, want := fields(a), fields(tt.want)
			got.EventTime, want.EventTime = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("fields differ\n got: %s\nwant: %s", gj, wj)
			}
			for _, o := range tt.observables {
				if !slices.Contains(a.Observables, o) {
					t.Errorf("observable %v missing from %v", o, a.Observables)
				}
			}
			seen := map[ingest.Observable]bool{}
			for _, o := range a.Observables {
				if seen[o] {
					t.Errorf("observable %v twice", o)
				}
				seen[o] = true
			}
			if len(a.Fingerprint) != 64 {
				t.Errorf("fingerprint %q", a.Fingerprint)
			}
			if !json.Valid(a.Raw) {
				t.Errorf("Raw is not JSON: %s", a.Raw)
			}
		})
	}
}

func TestRawIsVerbatim(t *testing.T) {
	body := readSample(t, "wazuh_ssh_bruteforce.json")
	a := mustParse(t, "wazuh", body)[0]
	if !bytes.Equal(a.Raw, bytes.TrimSpace(body)) {
		t.Errorf("Raw is not the payload verbatim")
	}
	lines := strings.Split(strings.TrimSpace(string(readSample(t, "cef_events.log"))), "\n")
	for i, a := range mustParse(t, "cef", readSample(t, "cef_events.log")) {
		var line string
		if err := json.Unmarshal(a.Raw, &line); err != nil || line != lines[i] {
			t.Errorf("CEF Raw %d = %s, want the line %q", i, a.Raw, lines[i])
		}
	}
	// Unknown fields stay in Raw.
	n := mustParse(t, "native", readSample(t, "native_alerts.json"))[0]
	if !bytes.Contains(n.Raw, []byte(`"ticket": "HD-4411"`)) {
		t.Errorf("unknown field lost from Raw: %s", n.Raw)
	}
}

// compact re-encodes a sample file's single object on one line.
func compact(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestBatchForms(t *testing.T) {
	samples := map[string]string{
		"wazuh": "wazuh_ssh_bruteforce.json", "elastic": "elastic_detection.json", "splunk": "splunk_webhook.json",
		"defender": "defender_alert.json", "crowdstrike": "crowdstrike_detection.json",
	}
	for format, file := range samples {
		t.Run(format, func(t *testing.T) {
			one := compact(t, readSample(t, file))
			single := mustParse(t, format, readSample(t, file))
			if len(single) != 1 {
				t.Fatalf("%d alerts from one object", len(single))
			}
			pretty := readSample(t, file)
			forms := map[string][]byte{
				"array":              []byte("[" + string(one) + ",\n " + string(one) + "]"),
				"ndjson":             []byte(string(one) + "\n" + string(one) + "\n"),
				"ndjson-crlf":        []byte(string(one) + "\r\n" + string(one) + "\r\n"),
				"concatenated":       append(append(append([]byte{}, pretty...), '\n'), pretty...),
				"array-pretty-items": []byte("[\n" + string(pretty) + ",\n" + string(pretty) + "\n]"),
			}
			for name, body := range forms {
				alerts, err := ingest.Parse(format, body)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(alerts) != 2 {
					t.Fatalf("%s: %d alerts, want 2", name, len(alerts))
				}
				for _, a := range alerts {
					if !reflect.DeepEqual(fields(a), fields(single[0])) || a.Fingerprint != single[0].Fingerprint ||
						!reflect.DeepEqual(a.Observables, single[0].Observables) {
						t.Errorf("%s: alert differs from the single-object one", name)
					}
					if !json.Valid(a.Raw) || a.Raw[0] != '{' {
						t.Errorf("%s: Raw %q", name, a.Raw)
					}
				}
			}
		})
	}
	// Defender also takes a Graph list response.
	one := compact(t, readSample(t, "defender_alert.json"))
	list := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2","value":[` + string(one) + "," + string(one) + "]}"
	if alerts := mustParse(t, "defender", []byte(list)); len(alerts) != 2 {
		t.Errorf("Graph list: %d alerts, want 2", len(alerts))
	}
}

func TestSkippedRecords(t *testing.T) {
	eve := `{"timestamp":"2026-05-14T08:31:00.000000+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2"}
{"timestamp":"2026-05-14T08:31:00.000000+0000","event_type":"dns","dns":{"type":"query","rrname":"example.com"}}
{"event_type":"stats","stats":{"uptime":1}}`
	alerts, err := ingest.ParseSuricata([]byte(eve))
	if err != nil || len(alerts) != 0 {
		t.Errorf("non-alert EVE records: %d alerts, err %v; want none, no error", len(alerts), err)
	}
	cs := `{"metadata":{"eventType":"AuthActivityAuditEvent","eventCreationTime":1778750281000},"event":{"UserId":"admin@corp.example","OperationName":"userAuthenticate","Success":true}}
{"metadata":{"eventType":"UserActivityAuditEvent"},"event":{"OperationName":"detection_update"}}`
	alerts, err = ingest.ParseCrowdStrike([]byte(cs))
	if err != nil || len(alerts) != 0 {
		t.Errorf("non-detection Falcon events: %d alerts, err %v; want none, no error", len(alerts), err)
	}
	if alerts, err := ingest.Parse("wazuh", []byte("[ ]")); err != nil || len(alerts) != 0 {
		t.Errorf("empty array: %d alerts, err %v; want none, no error", len(alerts), err)
	}
	cef := "\n" + strings.TrimSpace(string(readSample(t, "cef_events.log"))) + "\n\n   \n"
	if alerts := mustParse(t, "cef", []byte(cef)); len(alerts) != 3 {
		t.Errorf("blank CEF lines: %d alerts, want 3", len(alerts))
	}
}

func TestMalformed(t *testing.T) {
	many := strings.Repeat(`{"rule":{"id":"1"}}`+"\n", ingest.MaxItems+1)
	manyCEF := strings.Repeat("CEF:0|v|p|1|sig|name|3|src=10.0.0.1\n", ingest.MaxItems+1)
	tests := []struct {
		name, format, body string
		index              int
		field              string
	}{
		{"unknown format", "snort", `{}`, -1, "format"},
		{"empty body", "wazuh", " \n ", -1, ""},
		{"empty CEF body", "cef", "\n\n", -1, ""},
		{"wazuh: second item has no rule", "wazuh", `[{"rule":{"id":"1","level":3}},{"agent":{"name":"x"}}]`, 1, "rule"},
		{"wazuh: rule without id or description", "wazuh", `{"rule":{"level":3}}`, 0, "rule.id"},
		{"wazuh: broken NDJSON line", "wazuh", "{\"rule\":{\"id\":\"1\"}}\n{\"rule\": {\"id\": \n", 1, ""},
		{"wazuh: array item not an object", "wazuh", `[{"rule":{"id":"1"}}, 42]`, 1, ""},
		{"wazuh: scalar body", "wazuh", `"hello"`, 0, ""},
		{"wazuh: data after the array", "wazuh", `[{"rule":{"id":"1"}}] {"x":1}`, -1, ""},
		{"wazuh: too many items", "wazuh", many, ingest.MaxItems, ""},
		{"suricata: no event_type", "suricata", `{"event_type":"alert","alert":{"signature_id":1}}` + "\n" + `{"src_ip":"10.0.0.1"}`, 1, "event_type"},
		{"suricata: alert without alert object", "suricata", `{"event_type":"alert","src_ip":"10.0.0.1"}`, 0, "alert"},
		{"suricata: alert without signature", "suricata", `{"event_type":"alert","alert":{"severity":1}}`, 0, "alert.signature_id"},
		{"elastic: not an alert", "elastic", `{"@timestamp":"2026-05-14T09:00:00Z","host":{"name":"x"}}`, 0, "kibana.alert.rule.name"},
		{"splunk: no search_name or sid", "splunk", `{"result":{"src":"10.0.0.1"}}`, 0, "search_name"},
		{"splunk: result not an object", "splunk", `{"search_name":"x","result":"oops"}`, 0, "result"},
		{"defender: no title or id", "defender", `{"severity":"high","evidence":[]}`, 0, "title"},
		{"defender: evidence not an array", "defender", `{"id":"1","title":"t","evidence":{"x":1}}`, 0, "evidence"},
		{"crowdstrike: event not an object", "crowdstrike", `{"metadata":{"eventType":"DetectionSummaryEvent"},"event":"x"}`, 0, "event"},
		{"crowdstrike: detection without id or name", "crowdstrike", `{"metadata":{"eventType":"DetectionSummaryEvent"},"event":{"Severity":3}}`, 0, "event.DetectId"},
		{"cef: not CEF", "cef", "CEF:0|v|p|1|s|n|3|src=10.0.0.1\nhello world\n", 1, "header"},
		{"cef: short header", "cef", "<13>May 14 09:00:00 h CEF:0|vendor|product|1.0", 0, "header"},
		{"cef: bad version", "cef", "CEF:x|v|p|1|s|n|3|", 0, "version"},
		{"cef: no signature or name", "cef", "CEF:0|v|p|1|||3|src=10.0.0.1", 0, "name"},
		{"cef: too many lines", "cef", manyCEF, ingest.MaxItems, ""},
		{"native: no title", "native", `[{"title":"ok"},{"severity":"S1"}]`, 1, "title"},
		{"native: bad severity", "native", `{"title":"t","severity":"S5"}`, 0, "severity"},
		{"native: bad IP", "native", `{"title":"t","src_ip":"10.0.0.300"}`, 0, "src_ip"},
		{"native: bad hash", "native", `{"title":"t","file_hash":"xyz"}`, 0, "file_hash"},
		{"native: port out of range", "native", `{"title":"t","dst_port":70000}`, 0, "dst_port"},
		{"native: port as text", "native", `{"title":"t","dst_port":"443"}`, 0, "dst_port"},
		{"native: bad observable", "native", `{"title":"t","observables":[{"type":"ip","value":"1.2.3.4"},{"type":"domain","value":"not a domain"}]}`, 0, "observables[1].value"},
		{"native: unknown observable type", "native", `{"title":"t","observables":[{"type":"mutex","value":"x"}]}`, 0, "observables[0].type"},
		{"native: bad time", "native", `{"title":"t","event_time":"yesterday"}`, 0, "event_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := ingest.Parse(tt.format, []byte(tt.body))
			if err == nil {
				t.Fatalf("no error; got %d alerts", len(alerts))
			}
			if alerts != nil {
				t.Errorf("alerts returned with an error")
			}
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("error %v does not wrap core.ErrInvalid", err)
			}
			var pe *ingest.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Index != tt.index || pe.Field != tt.field {
				t.Errorf("error %q: index %d field %q, want index %d field %q", err, pe.Index, pe.Field, tt.index, tt.field)
			}
		})
	}
}

func TestLenient(t *testing.T) {
	// Real tools vary: odd types, missing optional fields and unknown
	// fields are no error.
	tests := []struct {
		format, body string
		check        func(t *testing.T, a ingest.Alert)
	}{
		{"wazuh", `{"rule":{"id":5710,"level":"5"},"agent":{"name":"h"},"data":{"srcip":"not-an-ip","srcport":"99999"},"timestamp":"garbage","extra":{"x":[1,2]}}`,
			func(t *testing.T, a ingest.Alert) {
				if a.RuleID != "5710" || a.Severity != core.S3 || a.SrcIP != "" || a.SrcPort != 0 || !a.EventTime.IsZero() || a.Title != "wazuh alert" {
					t.Errorf("%+v", fields(a))
				}
			}},
		{"wazuh", `{"rule":{"description":"no level"}}`, func(t *testing.T, a ingest.Alert) {
			if a.Severity != core.S3 || a.NativeSeverity != "" || a.Title != "no level" {
				t.Errorf("%+v", fields(a))
			}
		}},
		{"elastic", `{"kibana":{"alert":{"rule":{"name":"Nested","uuid":"u-1"},"risk_score":80}},"host":{"name":"h1"},"source":{"ip":"::ffff:10.1.2.3"}}`,
			func(t *testing.T, a ingest.Alert) {
				if a.RuleName != "Nested" || a.RuleID != "u-1" || a.Severity != core.S1 || a.NativeSeverity != "risk_score 80" || a.Host != "h1" || a.SrcIP != "10.1.2.3" {
					t.Errorf("%+v", fields(a))
				}
			}},
		{"elastic", `{"kibana.alert": {"rule.name": ["Mixed"], "severity": "critical"}, "host.name": ["h2"]}`,
			func(t *testing.T, a ingest.Alert) {
				if a.RuleName != "Mixed" || a.Severity != core.S1 || a.Host != "h2" {
					t.Errorf("%+v", fields(a))
				}
			}},
		{"elastic", `{"_id":"abc","_index":".internal.alerts-security.alerts-default-000001","_source":{"kibana.alert.rule.name":"From hit","kibana.alert.severity":"low"}}`,
			func(t *testing.T, a ingest.Alert) {
				if a.RuleName != "From hit" || a.SourceEventID != "abc" || a.Severity != core.S4 {
					t.Errorf("%+v", fields(a))
				}
			}},
		{"splunk", `{"sid":"1715.42","search_name":"ES Notable","result":{"urgency":"critical","src_ip":"203.0.113.5","dest":"10.0.0.9","url":"hxxp://bad[.]example/x"}}`,
			func(t *testing.T, a ingest.Alert) {
				if a.Severity != core.S1 || a.DstIP != "10.0.0.9" || a.Host != "" || a.URL != "http://bad.example/x" {
					t.Errorf("%+v", fields(a))
				}
			}},
		{"splunk", `{"sid":"only-sid"}`, func(t *testing.T, a ingest.Alert) {
			if a.SourceEventID != "only-sid" || a.Severity != core.S3 || a.Title != "splunk alert" {
				t.Errorf("%+v", fields(a))
			}
		}},
		{"defender", `{"id":"x1","title":"Odd","severity":"unknownFutureValue","evidence":[{"@odata.type":"#microsoft.graph.security.registryKeyEvidence","registryHive":"HKEY_LOCAL_MACHINE","registryKey":"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run"},{"@odata.type":"#microsoft.graph.security.somethingNew","x":1},"junk"]}`,
			func(t *testing.T, a ingest.Alert) {
				if a.Severity != core.S3 || !slices.Contains(a.Observables, ingest.Observable{Type: "registry_key", Value: `HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`}) {
					t.Errorf("%+v %v", fields(a), a.Observables)
				}
			}},
		{"crowdstrike", `{"DetectId":"ldt:1:2","DetectName":"Bare","SeverityName":"High","ComputerName":"h"}`,
			func(t *testing.T, a ingest.Alert) {
				if a.SourceEventID != "ldt:1:2" || a.Severity != core.S2 || a.Host != "h" {
					t.Errorf("%+v", fields(a))
				}
			}},
		{"cef", `CEF:0|v|p|1|s|name with = sign|Unknown|src=10.0.0.1 msg=a=b c\=d request=http://x.example/?a=1&b=2 cs1=trailing\`,
			func(t *testing.T, a ingest.Alert) {
				if a.Severity != core.S3 || a.SrcIP != "10.0.0.1" || a.URL != "http://x.example/?a=1&b=2" || a.Title != "name with = sign" {
					t.Errorf("%+v", fields(a))
				}
			}},
	}
	for i, tt := range tests {
		alerts, err := ingest.Parse(tt.format, []byte(tt.body))
		if err != nil || len(alerts) != 1 {
			t.Errorf("%d %s: %d alerts, %v", i, tt.format, len(alerts), err)
			continue
		}
		tt.check(t, alerts[0])
	}
}

func TestCEFExtension(t *testing.T) {
	line := `Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \\ msg=Detected a threat.\nNo action needed\=really suser=C:\Windows dhost=Host-1`
	a := mustParse(t, "cef", []byte(line))[0]
	if a.Title != `detected a | in message` || a.Severity != core.S1 || a.User != `C:\Windows` || a.Host != "Host-1" {
		t.Errorf("%+v", fields(a))
	}
	var raw string
	if err := json.Unmarshal(a.Raw, &raw); err != nil || raw != line {
		t.Errorf("Raw = %s", a.Raw)
	}
}

func TestSeverityMapping(t *testing.T) {
	tests := []struct {
		format, body string
		want         core.Severity
	}{
		{"wazuh", `{"rule":{"id":"1","level":0}}`, core.S4},
		{"wazuh", `{"rule":{"id":"1","level":3}}`, core.S4},
		{"wazuh", `{"rule":{"id":"1","level":4}}`, core.S3},
		{"wazuh", `{"rule":{"id":"1","level":7}}`, core.S3},
		{"wazuh", `{"rule":{"id":"1","level":8}}`, core.S2},
		{"wazuh", `{"rule":{"id":"1","level":11}}`, core.S2},
		{"wazuh", `{"rule":{"id":"1","level":12}}`, core.S1},
		{"wazuh", `{"rule":{"id":"1","level":15}}`, core.S1},
		{"suricata", `{"event_type":"alert","alert":{"signature_id":1,"severity":1}}`, core.S2},
		{"suricata", `{"event_type":"alert","alert":{"signature_id":1,"severity":2}}`, core.S3},
		{"suricata", `{"event_type":"alert","alert":{"signature_id":1,"severity":3}}`, core.S4},
		{"suricata", `{"event_type":"alert","alert":{"signature_id":1,"severity":4}}`, core.S4},
		{"suricata", `{"event_type":"alert","alert":{"signature_id":1}}`, core.S3},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.severity":"critical"}`, core.S1},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.severity":"high"}`, core.S2},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.severity":"medium"}`, core.S3},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.severity":"low"}`, core.S4},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.risk_score":21}`, core.S4},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.risk_score":47}`, core.S3},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.risk_score":73}`, core.S2},
		{"elastic", `{"kibana.alert.rule.name":"r","kibana.alert.risk_score":74}`, core.S1},
		{"splunk", `{"search_name":"s","result":{"severity":"informational"}}`, core.S4},
		{"splunk", `{"search_name":"s","result":{"urgency":"medium"}}`, core.S3},
		{"splunk", `{"search_name":"s","result":{"priority":"6"}}`, core.S1},
		{"splunk", `{"search_name":"s","result":{"severity":"whatever"}}`, core.S3},
		{"defender", `{"title":"t","severity":"high"}`, core.S1},
		{"defender", `{"title":"t","severity":"medium"}`, core.S2},
		{"defender", `{"title":"t","severity":"low"}`, core.S3},
		{"defender", `{"title":"t","severity":"informational"}`, core.S4},
		{"crowdstrike", `{"event":{"DetectId":"d","Severity":5}}`, core.S1},
		{"crowdstrike", `{"event":{"DetectId":"d","Severity":4}}`, core.S2},
		{"crowdstrike", `{"event":{"DetectId":"d","Severity":3}}`, core.S3},
		{"crowdstrike", `{"event":{"DetectId":"d","Severity":2}}`, core.S4},
		{"crowdstrike", `{"event":{"DetectId":"d","Severity":1}}`, core.S4},
		{"crowdstrike", `{"event":{"DetectId":"d","SeverityName":"Medium"}}`, core.S3},
		{"cef", "CEF:0|v|p|1|s|n|0|", core.S4},
		{"cef", "CEF:0|v|p|1|s|n|3|", core.S4},
		{"cef", "CEF:0|v|p|1|s|n|4|", core.S3},
		{"cef", "CEF:0|v|p|1|s|n|6|", core.S3},
		{"cef", "CEF:0|v|p|1|s|n|7|", core.S2},
		{"cef", "CEF:0|v|p|1|s|n|8|", core.S2},
		{"cef", "CEF:0|v|p|1|s|n|9|", core.S1},
		{"cef", "CEF:0|v|p|1|s|n|10|", core.S1},
		{"cef", "CEF:0|v|p|1|s|n|Low|", core.S4},
		{"cef", "CEF:0|v|p|1|s|n|Medium|", core.S3},
		{"cef", "CEF:0|v|p|1|s|n|High|", core.S2},
		{"cef", "CEF:0|v|p|1|s|n|Very-High|", core.S1},
		{"cef", "CEF:0|v|p|1|s|n|Unknown|", core.S3},
		{"cef", "CEF:0|v|p|1|s|n|11|", core.S3},
		{"native", `{"title":"t","severity":"s4"}`, core.S4},
		{"native", `{"title":"t"}`, core.S3},
	}
	for _, tt := range tests {
		a := mustParse(t, tt.format, []byte(tt.body))[0]
		if a.Severity != tt.want {
			t.Errorf("%s %s: severity %s, want %s", tt.format, tt.body, a.Severity, tt.want)
		}
	}
}

func TestNativeRoundTrip(t *testing.T) {
	// An Alert's own JSON is valid native input and means the same.
	for _, file := range []string{"elastic_detection.json", "defender_alert.json"} {
		format := strings.Split(file, "_")[0]
		a := mustParse(t, format, readSample(t, file))[0]
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		n := mustParse(t, "native", b)[0]
		a.Source, n.Source = "", ""
		if !reflect.DeepEqual(fields(n), fields(a)) {
			t.Errorf("%s: native round trip differs\n%+v\n%+v", file, fields(n), fields(a))
		}
		for _, o := range a.Observables {
			if !slices.Contains(n.Observables, o) {
				t.Errorf("%s: observable %v lost", file, o)
			}
		}
	}
}

func TestFormats(t *testing.T) {
	for _, f := range ingest.Formats() {
		_, err := ingest.Parse(f, []byte("  "))
		var pe *ingest.ParseError
		if !errors.As(err, &pe) || pe.Field == "format" {
			t.Errorf("%s: Parse does not know the format it lists (%v)", f, err)
		}
	}
	if _, err := ingest.Parse(" Wazuh ", readSample(t, "wazuh_ssh_bruteforce.json")); err != nil {
		t.Errorf("format names are case-insensitive: %v", err)
	}
}

func TestTruncation(t *testing.T) {
	long := strings.Repeat("あ", 5000)
	body := `{"rule":{"id":"` + strings.Repeat("9", 1000) + `","description":"` + long + "\\u0000\\u0007" + `"},"agent":{"name":"` + long + `"}}`
	a := mustParse(t, "wazuh", []byte(body))[0]
	if n := len([]rune(a.Title)); n != 1024 {
		t.Errorf("title %d characters", n)
	}
	if len(a.RuleID) != 256 || len([]rune(a.Host)) != 512 {
		t.Errorf("rule id %d, host %d", len(a.RuleID), len([]rune(a.Host)))
	}
	if strings.ContainsAny(a.RuleName, "\x00\x07") {
		t.Errorf("control characters kept")
	}
	// Invalid UTF-8 is replaced, in fields and in Raw.
	a = mustParse(t, "wazuh", []byte("{\"rule\":{\"id\":\"1\",\"description\":\"bad \xff byte\"}}"))[0]
	if a.Title != "bad \uFFFD byte" || !bytes.Contains(a.Raw, []byte("\uFFFD")) || !json.Valid(a.Raw) {
		t.Errorf("title %q raw %q", a.Title, a.Raw)
	}
}

// TestCEFTimeZones: CEF receipt times carry a zone abbreviation. One that
// means a single offset anywhere is applied whatever this machine's own
// zone; one that is unknown (or ambiguous, like CST, unless it is this
// machine's own) leaves the event time unknown, so the received time
// stands, instead of taking it as UTC.
func TestCEFTimeZones(t *testing.T) {
	for _, tc := range []struct {
		rt   string
		want time.Time
	}{
		{"Nov 24 2026 18:20:01 JST", utc("2026-11-24T09:20:01Z")},
		{"Nov 24 2026 09:20:01 UTC", utc("2026-11-24T09:20:01Z")},
		{"Nov 24 2026 09:20:01 GMT", utc("2026-11-24T09:20:01Z")},
		{"Nov 24 2026 04:20:01 EST", utc("2026-11-24T09:20:01Z")},
		{"Jul 14 2026 11:20:01 CEST", utc("2026-07-14T09:20:01Z")},
		{"Nov 24 2026 18:20:01 +0900", utc("2026-11-24T09:20:01Z")},
		{"Nov 24 2026 09:20:01", utc("2026-11-24T09:20:01Z")},
		{"Nov 24 2026 09:20:01 XYZT", time.Time{}},
	} {
		line := "CEF:0|Vendor|Product|1.0|100|Port scan|5|src=203.0.113.9 rt=" + tc.rt
		got := mustParse(t, "cef", []byte(line))
		if len(got) != 1 {
			t.Fatalf("%s: %d alerts", tc.rt, len(got))
		}
		if !got[0].EventTime.Equal(tc.want) {
			t.Errorf("rt=%s: event time %v, want %v", tc.rt, got[0].EventTime, tc.want)
		}
	}
}
