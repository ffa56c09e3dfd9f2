package ingest_test

import (
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/ingest"
)

func TestFingerprints(t *testing.T) {
	// same: edits that make a resend or a repeat of the same alert (new
	// time, new event id, new ephemeral port); differ: edits that make a
	// different alert (another host, source, rule).
	tests := []struct {
		format, file string
		same, differ [][2]string
	}{
		{"wazuh", "wazuh_ssh_bruteforce.json",
			[][2]string{{"2026-05-14T08:21:43.512+0000", "2026-05-14T08:25:00.001+0000"}, {"1778746903.2281734", "1778747100.2290001"}, {`"srcport": "51234"`, `"srcport": "60001"`}, {`"name": "web-01"`, `"name": "WEB-01"`}},
			[][2]string{{`"name": "web-01"`, `"name": "web-02"`}, {`"srcip": "203.0.113.45"`, `"srcip": "203.0.113.46"`}, {`"id": "5763"`, `"id": "5712"`}}},
		{"suricata", "suricata_eve.ndjson",
			[][2]string{{"2026-05-14T08:30:12.345678+0000", "2026-05-14T09:00:00.000001+0000"}, {"1839281928374651", "1839281928379999"}, {`"src_port":49822`, `"src_port":50000`}},
			[][2]string{{`"src_ip":"10.0.2.34"`, `"src_ip":"10.0.2.35"`}, {`"dest_port":80,"proto":"TCP","community_id"`, `"dest_port":8080,"proto":"TCP","community_id"`}, {`"signature_id":2030171`, `"signature_id":2030172`}}},
		{"elastic", "elastic_detection.json",
			[][2]string{{"2026-05-14T09:01:58.000Z", "2026-05-14T10:00:00.000Z"}, {"8c0f8a5b1e3f44d6", "9d1e8a5b1e3f44d6"}, {`"destination.port": 443`, `"destination.port": 8443`}},
			[][2]string{{`"name": "WS-0142"`, `"name": "WS-0143"`}, {`"user": {"name": "jdoe"`, `"user": {"name": "asmith"`}, {"c6f2b1a0-7f3e", "d7f2b1a0-7f3e"}}},
		{"splunk", "splunk_webhook.json",
			[][2]string{{"1778749800_4242", "1778750100_4243"}, {`"_time": "1778749800"`, `"_time": "1778750100"`}, {`"count": "27"`, `"count": "31"`}},
			[][2]string{{`"dest": "DC01"`, `"dest": "DC02"`}, {`"src": "198.51.100.77"`, `"src": "198.51.100.78"`}, {`"search_name": "Excessive Failed Logins"`, `"search_name": "Password Spray"`}}},
		{"defender", "defender_alert.json",
			[][2]string{{`"id": "da638512345678901234_-1234567890"`, `"id": "da638512399999999999_-1"`}, {"2026-05-14T09:08:40.6Z", "2026-05-14T11:00:00Z"}, {`"ipAddress": "203.0.113.99"`, `"ipAddress": "203.0.113.100"`}},
			[][2]string{{`"deviceDnsName": "FIN-LT-023.corp.example"`, `"deviceDnsName": "FIN-LT-024.corp.example"`}, {`"userPrincipalName": "akato@corp.example"`, `"userPrincipalName": "hsato@corp.example"`}, {`"detectorId": "e0da400f`, `"detectorId": "f1da400f`}}},
		{"crowdstrike", "crowdstrike_detection.json",
			[][2]string{{`"ProcessStartTime": 1778750275`, `"ProcessStartTime": 1778753000`}, {`"DetectId": "ldt:73e7e2de709dff64ef64b1d0c30e67fa:301281947281"`, `"DetectId": "ldt:73e7e2de709dff64ef64b1d0c30e67fa:301281999999"`}, {`"UserName": "akato"`, `"UserName": "Akato"`}},
			[][2]string{{`"ComputerName": "FIN-LT-023"`, `"ComputerName": "FIN-LT-024"`}, {`"SHA256String": "92804f`, `"SHA256String": "12804f`}, {`"PatternId": 10134`, `"PatternId": 10135`}}},
		{"cef", "cef_events.log",
			[][2]string{{"rt=May 14 2026 09:20:01 GMT", "rt=May 14 2026 10:00:00 GMT"}, {"externalId=7321992", "externalId=7322000"}, {"spt=49822", "spt=50001"}, {"<134>May 14 09:20:01 fw01 ", ""}},
			[][2]string{{"shost=ws-0142", "shost=ws-0143"}, {"dst=198.51.100.23", "dst=198.51.100.24"}, {"dpt=443", "dpt=8443"}, {"|threat|", "|virus|"}}},
		{"native", "native_alerts.json",
			[][2]string{{"2026-05-14T10:00:00+09:00", "2026-05-14T11:00:00+09:00"}, {"mailgw-88121", "mailgw-88122"}, {`"severity": "s2"`, `"severity": "s1"`}},
			[][2]string{{`"host": "mail-gw-01"`, `"host": "mail-gw-02"`}, {`"src_ip": "198.51.100.7"`, `"src_ip": "198.51.100.8"`}, {`"rule_id": "phish-report"`, `"rule_id": "phish-auto"`}}},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			body := string(readSample(t, tt.file))
			base := mustParse(t, tt.format, []byte(body))[0]
			if again := mustParse(t, tt.format, []byte(body))[0]; again.Fingerprint != base.Fingerprint {
				t.Fatalf("fingerprint not stable")
			}
			if other, ok := seen[base.Fingerprint]; ok {
				t.Errorf("same fingerprint as %s", other)
			}
			seen[base.Fingerprint] = tt.format
			edit := func(e [2]string) ingest.Alert {
				t.Helper()
				if !strings.Contains(body, e[0]) {
					t.Fatalf("sample has no %q", e[0])
				}
				return mustParse(t, tt.format, []byte(strings.Replace(body, e[0], e[1], 1)))[0]
			}
			for _, e := range tt.same {
				if a := edit(e); a.Fingerprint != base.Fingerprint {
					t.Errorf("%q → %q changed the fingerprint", e[0], e[1])
				}
			}
			for _, e := range tt.differ {
				if a := edit(e); a.Fingerprint == base.Fingerprint {
					t.Errorf("%q → %q kept the fingerprint", e[0], e[1])
				}
			}
		})
	}
}

func TestFingerprintFallback(t *testing.T) {
	// Alerts without any key field are not all merged into one.
	a := mustParse(t, "splunk", []byte(`{"sid":"a1"}`+"\n"+`{"sid":"a2"}`))
	if a[0].Fingerprint == a[1].Fingerprint {
		t.Errorf("alerts with no key fields share a fingerprint")
	}
	b := mustParse(t, "splunk", []byte(`{"sid":"a1"}`))
	if a[0].Fingerprint != b[0].Fingerprint {
		t.Errorf("a resend with no key fields got a new fingerprint")
	}
	// The sender's own native key is used, and namespaced.
	n := mustParse(t, "native", []byte(`{"title":"x","host":"h1","fingerprint":"k"}`+"\n"+`{"title":"y","host":"h2","fingerprint":"k"}`))
	if n[0].Fingerprint != n[1].Fingerprint || n[0].Fingerprint == ingest.Fingerprint("native", "k") {
		t.Errorf("native sender fingerprint not honoured or not namespaced")
	}
	// Field boundaries matter.
	if ingest.Fingerprint("cef", "ab", "c") == ingest.Fingerprint("cef", "a", "bc") {
		t.Errorf("fingerprint is ambiguous across field boundaries")
	}
	if ingest.Fingerprint("wazuh", "1") == ingest.Fingerprint("cef", "1") {
		t.Errorf("fingerprint ignores the format")
	}
}
