package ingest_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

var jst = time.FixedZone("JST", 9*3600)

// syslogRef is when the samples are read: BSD timestamps take its year
// and its zone (the senders are in Japan).
var syslogRef = time.Date(2026, 5, 14, 12, 0, 0, 0, jst)

func parseSyslogSample(tb testing.TB, file string) []ingest.Alert {
	tb.Helper()
	alerts, err := ingest.ParseSyslogAt(readSample(tb, file), syslogRef)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return alerts
}

func TestSyslogSamples(t *testing.T) {
	tests := []struct {
		file        string
		count       int
		index       int
		want        ingest.Alert
		observables []ingest.Observable
	}{
		{
			file: "syslog_sshd_rsyslog.log", count: 5, index: 0,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:20:01Z"), Source: "syslog", NativeSeverity: "info", Severity: core.S4,
				RuleName: "sshd", Title: "sshd: Failed password for invalid user admin from 203.0.113.45 port 51234 ssh2",
				Host: "web-01", User: "admin", SrcIP: "203.0.113.45", SrcPort: 51234,
			},
			observables: []ingest.Observable{{"host", "web-01"}, {"user", "admin"}, {"ip", "203.0.113.45"}},
		},
		{
			// pam_unix says who and from where in key=value words.
			file: "syslog_sshd_rsyslog.log", count: 5, index: 2,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:20:04Z"), Source: "syslog", NativeSeverity: "info", Severity: core.S4,
				RuleName: "sshd", Title: "sshd: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.45  user=root",
				Host: "web-01", User: "root", SrcIP: "203.0.113.45",
			},
			observables: []ingest.Observable{{"user", "root"}, {"ip", "203.0.113.45"}},
		},
		{
			// A space-padded day, an IPv6 client.
			file: "syslog_sshd_rsyslog.log", count: 5, index: 3,
			want: ingest.Alert{
				EventTime: utc("2026-05-04T14:59:59Z"), Source: "syslog", NativeSeverity: "info", Severity: core.S4,
				RuleName: "sshd", Title: "sshd: Accepted publickey for deploy from 2001:db8::17 port 40022 ssh2: ED25519 SHA256:Yq3bH9cM3Dqk7TFWbWzTwQ0aVfR2Gq8cT9h1lL0mQxE",
				Host: "web-01", User: "deploy", SrcIP: "2001:db8::17", SrcPort: 40022,
			},
			observables: []ingest.Observable{{"ip", "2001:db8::17"}, {"user", "deploy"}},
		},
		{
			file: "syslog_sshd_rsyslog.log", count: 5, index: 4,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:21:00Z"), Source: "syslog", NativeSeverity: "notice", Severity: core.S4,
				RuleName: "sudo", Title: "sudo: deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
				Host: "web-01", User: "root",
			},
		},
		{
			// RFC 5424 with two structured-data elements and a BOM before the message.
			file: "syslog_rfc5424.log", count: 2, index: 0,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:14:15.003Z"), Source: "syslog", NativeSeverity: "notice", Severity: core.S4,
				RuleID: "ID47", RuleName: "evntslog", Title: "evntslog: An application event log entry...",
				Host: "mymachine.example.com",
			},
			observables: []ingest.Observable{{"host", "mymachine.example.com"}, {"ip", "192.0.2.1"}},
		},
		{
			// Windows events through NXLog: the fields are in structured data.
			file: "syslog_rfc5424.log", count: 2, index: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:30:00Z"), Source: "syslog", NativeSeverity: "warning", Severity: core.S3,
				RuleID: "4625", RuleName: "Microsoft-Windows-Security-Auditing",
				Title: "Microsoft-Windows-Security-Auditing: An account failed to log on.",
				Host:  "dc01.corp.example", User: "akato", SrcIP: "198.51.100.9", SrcPort: 50112,
			},
			observables: []ingest.Observable{{"host", "dc01.corp.example"}, {"user", "akato"}, {"ip", "198.51.100.9"}},
		},
		{
			// CEF in a BSD message: CEF's fields, the syslog host and time
			// where CEF has none.
			file: "syslog_cef_firewall.log", count: 2, index: 0,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:20:01Z"), Source: "cef", SourceEventID: "7321992",
				NativeSeverity: "9", Severity: core.S1, RuleID: "0419016384",
				RuleName: "ips: Backdoor.Cobalt.Strike.Beacon", Title: "ips: Backdoor.Cobalt.Strike.Beacon",
				Host: "fw-edge-01", User: "jdoe", SrcIP: "10.0.2.34", SrcPort: 49822, DstIP: "198.51.100.23", DstPort: 443,
			},
			observables: []ingest.Observable{{"host", "fw-edge-01"}, {"ip", "10.0.2.34"}, {"ip", "198.51.100.23"}, {"user", "jdoe"}},
		},
		{
			// CEF as the MSG of an RFC 5424 message.
			file: "syslog_cef_firewall.log", count: 2, index: 1,
			want: ingest.Alert{
				EventTime: utc("2026-05-14T00:21:30.412Z"), Source: "cef", NativeSeverity: "6", Severity: core.S3,
				RuleID: "url", RuleName: "URL Filtering malware", Title: "URL Filtering malware",
				Host: "pa-3220", User: `corp\akato`, SrcIP: "10.0.3.15", DstIP: "203.0.113.77",
				URL: "http://malware.example/payload.bin",
			},
			observables: []ingest.Observable{{"host", "pa-3220"}, {"url", "http://malware.example/payload.bin"}, {"domain", "malware.example"}},
		},
		{
			// FortiGate's own key=value format: no BSD header at all.
			file: "syslog_fortigate_kv.log", count: 1, index: 0,
			want: ingest.Alert{
				Source: "syslog", NativeSeverity: "notice", Severity: core.S4,
				Title: "Denied by forward policy check (policy 7)",
				Host:  "FG100F-HQ", User: "jdoe", SrcIP: "10.0.2.34", SrcPort: 49822, DstIP: "198.51.100.23", DstPort: 443,
			},
			observables: []ingest.Observable{{"host", "fg100f-hq"}, {"ip", "10.0.2.34"}, {"ip", "198.51.100.23"}, {"user", "jdoe"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+string(rune('0'+tc.index)), func(t *testing.T) {
			alerts := parseSyslogSample(t, tc.file)
			if len(alerts) != tc.count {
				t.Fatalf("%d alerts, want %d", len(alerts), tc.count)
			}
			a := alerts[tc.index]
			if got := fields(a); !reflect.DeepEqual(got, tc.want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(tc.want, "", " ")
				t.Errorf("got\n%s\nwant\n%s", gj, wj)
			}
			for _, o := range tc.observables {
				if !slices.Contains(a.Observables, o) {
					t.Errorf("observable %v missing from %v", o, a.Observables)
				}
			}
			line := strings.Split(string(readSample(t, tc.file)), "\n")[tc.index]
			var raw string
			if err := json.Unmarshal(a.Raw, &raw); err != nil || raw != line {
				t.Errorf("Raw is not the line verbatim: %s", a.Raw)
			}
		})
	}
}

// The same sshd failure from other ports and addresses groups into one
// alert; another user, host or program does not.
func TestSyslogFingerprint(t *testing.T) {
	fp := func(line string) string {
		t.Helper()
		a, err := ingest.ParseSyslogMessage([]byte(line), syslogRef)
		if err != nil {
			t.Fatal(err)
		}
		return a.Fingerprint
	}
	base := fp("<38>May 14 09:20:01 web-01 sshd[23811]: Failed password for root from 203.0.113.45 port 51234 ssh2")
	same := []string{
		"<38>May 14 09:20:09 web-01 sshd[23999]: Failed password for root from 198.51.100.7 port 40000 ssh2",
		"<37>May 14 10:00:00 WEB-01 sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2",
		"<38>1 2026-05-14T00:20:01Z web-01 sshd 23811 - - Failed password for root from 203.0.113.45 port 51234 ssh2",
	}
	for _, l := range same {
		if fp(l) != base {
			t.Errorf("not grouped with the first: %s", l)
		}
	}
	other := []string{
		"<38>May 14 09:20:01 web-02 sshd[23811]: Failed password for root from 203.0.113.45 port 51234 ssh2",
		"<38>May 14 09:20:01 web-01 sshd[23811]: Failed password for admin from 203.0.113.45 port 51234 ssh2",
		"<38>May 14 09:20:01 web-01 dropbear[23811]: Failed password for root from 203.0.113.45 port 51234 ssh2",
		"<38>1 2026-05-14T00:20:01Z web-01 sshd 23811 AUTH - Failed password for root from 203.0.113.45 port 51234 ssh2",
	}
	for _, l := range other {
		if fp(l) == base {
			t.Errorf("grouped with the first: %s", l)
		}
	}
}

func TestSyslogSeverity(t *testing.T) {
	want := []core.Severity{core.S1, core.S1, core.S2, core.S2, core.S3, core.S4, core.S4, core.S4}
	names := []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	for sev := range 8 {
		for _, facility := range []int{0, 4, 23} {
			pri := facility*8 + sev
			a, err := ingest.ParseSyslogMessage([]byte("<"+itoa(pri)+">May 14 09:20:01 h app: m"), syslogRef)
			if err != nil {
				t.Fatal(err)
			}
			if a.Severity != want[sev] || a.NativeSeverity != names[sev] {
				t.Errorf("pri %d: %s %q, want %s %q", pri, a.Severity, a.NativeSeverity, want[sev], names[sev])
			}
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// BSD timestamps have no year and no zone: both come from the reference
// time, the year being the one nearest to it.
func TestSyslogBSDTime(t *testing.T) {
	tests := []struct {
		name, line string
		ref        time.Time
		want       time.Time
		host, app  string
		title      string
	}{
		{"same year", "<13>May 14 09:20:01 h app: m", syslogRef, time.Date(2026, 5, 14, 0, 20, 1, 0, time.UTC), "h", "app", "app: m"},
		{"zero-padded day, fraction", "<13>May 04 09:20:01.250 h app: m", syslogRef, time.Date(2026, 5, 4, 0, 20, 1, 250e6, time.UTC), "h", "app", "app: m"},
		{"December read in January", "<13>Dec 31 23:59:59 h app: m", time.Date(2027, 1, 1, 0, 0, 5, 0, jst), time.Date(2026, 12, 31, 14, 59, 59, 0, time.UTC), "h", "app", "app: m"},
		{"sender clock ahead over new year", "<13>Jan  1 00:00:01 h app: m", time.Date(2026, 12, 31, 23, 59, 58, 0, jst), time.Date(2026, 12, 31, 15, 0, 1, 0, time.UTC), "h", "app", "app: m"},
		{"29 February", "<13>Feb 29 12:00:00 h app: m", time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC), "h", "app", "app: m"},
		{"zone of the reference", "<13>May 14 09:20:01 h app: m", time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 14, 9, 20, 1, 0, time.UTC), "h", "app", "app: m"},
		{"year after the day (Cisco ASA)", "<166>Nov 23 2025 08:00:00 asa01 %ASA-6-302013: Built outbound TCP connection", syslogRef, time.Date(2025, 11, 22, 23, 0, 0, 0, time.UTC), "asa01", "%ASA-6-302013", "%ASA-6-302013: Built outbound TCP connection"},
		{"RFC 3339 (rsyslog forward format)", "<13>2026-05-14T09:20:01.5+09:00 h app[7]: m", syslogRef, time.Date(2026, 5, 14, 0, 20, 1, 500e6, time.UTC), "h", "app", "app: m"},
		{"no hostname", "<13>May 14 09:20:01 sshd[77]: m", syslogRef, time.Date(2026, 5, 14, 0, 20, 1, 0, time.UTC), "", "sshd", "sshd: m"},
		{"no tag", "<13>May 14 09:20:01 h just some text", syslogRef, time.Date(2026, 5, 14, 0, 20, 1, 0, time.UTC), "h", "", "just some text"},
		{"no timestamp: all is content", "<189>123: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console", syslogRef, time.Time{}, "", "", "123: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console"},
		{"not a date", "<13>Feb 30 10:00:00 h app: m", syslogRef, time.Time{}, "", "", "Feb 30 10:00:00 h app: m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ingest.ParseSyslogMessage([]byte(tc.line), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if !a.EventTime.Equal(tc.want) || a.Host != tc.host || a.RuleName != tc.app || a.Title != tc.title {
				t.Errorf("got %v host %q app %q title %q; want %v %q %q %q", a.EventTime, a.Host, a.RuleName, a.Title, tc.want, tc.host, tc.app, tc.title)
			}
		})
	}
}

func TestSyslog5424(t *testing.T) {
	// Escapes in structured data: \" \\ \] are escapes, other backslashes stay.
	a, err := ingest.ParseSyslogMessage([]byte(`<14>1 2026-05-14T00:00:00Z h app - - [x@1 user="a\"b\\c\]d\e" src="10.1.2.3"] hello`), syslogRef)
	if err != nil {
		t.Fatal(err)
	}
	if a.User != `a"b\c]d\e` || a.SrcIP != "10.1.2.3" || a.Title != "app: hello" {
		t.Errorf("user %q src %q title %q", a.User, a.SrcIP, a.Title)
	}
	// Only structured data, every header field NILVALUE: still something said.
	a, err = ingest.ParseSyslogMessage([]byte(`<11>1 - - - - - [x@1 src="192.0.2.8"]`), syslogRef)
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "syslog" || a.Severity != core.S2 || a.Title != "syslog alert" || a.SrcIP != "192.0.2.8" || !a.EventTime.IsZero() {
		t.Errorf("SD-only message: %+v", a)
	}
	// A message may hold line breaks when it was octet-counted.
	a, err = ingest.ParseSyslogMessage([]byte("<14>1 2026-05-14T00:00:00Z h app - - - first line\nsecond line\n"), syslogRef)
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "app: first line second line" {
		t.Errorf("title %q", a.Title)
	}
	// A timestamp that is not RFC 3339 costs only the time.
	a, err = ingest.ParseSyslogMessage([]byte("<14>1 yesterday h app - - - m"), syslogRef)
	if err != nil || !a.EventTime.IsZero() || a.Host != "h" {
		t.Errorf("bad timestamp: %v %+v", err, a)
	}
	// "CEF:" that is no CEF event keeps the message as syslog.
	a, err = ingest.ParseSyslogMessage([]byte("<14>1 - h app - - - the CEF: header looked odd"), syslogRef)
	if err != nil || a.Source != "syslog" || a.Title != "app: the CEF: header looked odd" {
		t.Errorf("not-CEF: %v %+v", err, a)
	}
}

func TestSyslogRefused(t *testing.T) {
	tests := []struct{ name, line, field string }{
		{"empty", "", ""},
		{"blank", "   \r\n", ""},
		{"no PRI", "May 14 09:20:01 h app: m", "pri"},
		{"PRI not closed", "<13 May", "pri"},
		{"PRI empty", "<>x", "pri"},
		{"PRI too big", "<192>May 14 09:20:01 h app: m", "pri"},
		{"PRI not a number", "<1a>x", "pri"},
		{"PRI signed", "<+1>x", "pri"},
		{"5424 cut after timestamp", "<34>1 2026-05-14T00:00:00Z", "hostname"},
		{"5424 cut after msgid", "<34>1 - h app 1 ID", "structured-data"},
		{"5424 double space", "<34>1 -  h app - - - m", "hostname"},
		{"SD neither - nor [", "<34>1 - h app - - x m", "structured-data"},
		{"SD not closed", "<34>1 - h app - - [x a=\"1\" m", "structured-data"},
		{"SD value not quoted", "<34>1 - h app - - [x a=1] m", "structured-data"},
		{"SD value not closed", `<34>1 - h app - - [x a="1\"]`, "structured-data"},
		{"SD without ID", "<34>1 - h app - - [ a=\"1\"] m", "structured-data"},
		{"SD glued to message", "<34>1 - h app - - -m", "structured-data"},
		{"5424 saying nothing", "<11>1 - - - - - -", "msg"},
		{"5424 saying nothing but a BOM", "<11>1 2026-05-14T00:00:00Z - - - - - \ufeff ", "msg"},
		{"PRI alone", "<13>", "msg"},
		{"PRI and a timestamp", "<13>May 14 09:20:01 ", "msg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ingest.ParseSyslogMessage([]byte(tc.line), syslogRef)
			var pe *ingest.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if pe.Field != tc.field || pe.Index != -1 {
				t.Errorf("field %q index %d, want %q -1 (%v)", pe.Field, pe.Index, tc.field, err)
			}
		})
	}
}

// The text body of POST /api/v1/alerts/syslog: one message per line, CRLF
// or LF, blank lines skipped; a bad line refuses the body, naming it.
func TestSyslogBody(t *testing.T) {
	body := "\ufeff<13>May 14 09:20:01 h a: one\r\n\r\n<13>May 14 09:20:02 h a: two\n  \n<14>1 - h b - - - three"
	alerts, err := ingest.Parse("syslog", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range alerts {
		titles = append(titles, a.Title)
	}
	if !slices.Equal(titles, []string{"a: one", "a: two", "b: three"}) {
		t.Errorf("titles %q", titles)
	}
	_, err = ingest.Parse("syslog", []byte("<13>May 14 09:20:01 h a: one\nno pri here\n"))
	var pe *ingest.ParseError
	if !errors.As(err, &pe) || pe.Index != 1 || pe.Field != "pri" {
		t.Errorf("bad second line: %v", err)
	}
	if _, err := ingest.Parse("syslog", []byte("\n\n")); !errors.As(err, &pe) || pe.Index != -1 {
		t.Errorf("empty body: %v", err)
	}
	many := strings.Repeat("<13>x\n", ingest.MaxItems+1)
	if _, err := ingest.Parse("syslog", []byte(many)); !errors.As(err, &pe) || pe.Index != ingest.MaxItems {
		t.Errorf("too many lines: %v", err)
	}
}

// A megabyte of adversarial structure is read in linear time.
func TestSyslogHostileInputIsCheap(t *testing.T) {
	big := 1 << 20
	lines := []string{
		"<14>1 - h a - - " + strings.Repeat(`[x k="v" j="\]\"\\"]`, big/20) + " m",
		"<14>1 - h a - - [x" + strings.Repeat(` k="v"`, big/6) + "] m",
		"<14>1 - h a - - [x k=\"" + strings.Repeat(`\\`, big/2),
		"<13>May 14 09:20:01 h sshd[1]: " + strings.Repeat("k=v ", big/4),
		"<13>May 14 09:20:01 h sshd[1]: " + strings.Repeat("for a from 1.2.3.4 ", big/19),
		"<13>May 14 09:20:01 h app: " + strings.Repeat("a=\"", big/3),
		"<13>May 14 09:20:01 h app: " + strings.Repeat("CEF:", big/4),
		"<13>May 14 09:20:01 h app: " + strings.Repeat("1.2.3.4 http://x.example/ ", big/26),
		"<13>" + strings.Repeat("a", big),
	}
	for i, l := range lines {
		start := time.Now()
		_, _ = ingest.ParseSyslogMessage([]byte(l), syslogRef)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("line %d of %d bytes took %v", i, len(l), d)
		}
	}
}
