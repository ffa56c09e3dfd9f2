package ingest_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// seed adds every testdata sample of the format, each line of it, and a
// few malformed bodies to the corpus.
func seed(f *testing.F, format string, extra ...string) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", format+"_*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		for _, line := range strings.Split(string(b), "\n") {
			f.Add([]byte(line))
		}
	}
	for _, s := range append(extra, "", "{}", "[]", "[{}]", "null", "[null]", `{"a":`, "\xff", "{}{}", `[{}] x`) {
		f.Add([]byte(s))
	}
}

// checkParse is what every parser promises for any input: no panic; an
// error is a *ParseError wrapping core.ErrInvalid; every alert is complete
// and safe to store.
func checkParse(t *testing.T, format string, parse func([]byte) ([]ingest.Alert, error), body []byte) {
	alerts, err := parse(body)
	if err != nil {
		var pe *ingest.ParseError
		if !errors.As(err, &pe) || !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("error %T %v is not a *ParseError wrapping ErrInvalid", err, err)
		}
		if pe.Index < -1 || pe.Index > ingest.MaxItems {
			t.Fatalf("error index %d", pe.Index)
		}
		if alerts != nil {
			t.Fatalf("alerts returned with an error")
		}
		return
	}
	for i, a := range alerts {
		// Syslog hands the CEF events it carries to the CEF parser.
		if a.Source != format && (format != "syslog" || a.Source != "cef") {
			t.Fatalf("alert %d: source %q", i, a.Source)
		}
		if !a.Severity.Valid() {
			t.Fatalf("alert %d: severity %q", i, a.Severity)
		}
		if len(a.Fingerprint) != 64 || strings.Trim(a.Fingerprint, "0123456789abcdef") != "" {
			t.Fatalf("alert %d: fingerprint %q", i, a.Fingerprint)
		}
		if !json.Valid(a.Raw) || !utf8.Valid(a.Raw) {
			t.Fatalf("alert %d: Raw %q is not valid UTF-8 JSON", i, a.Raw)
		}
		if a.Title == "" {
			t.Fatalf("alert %d: no title", i)
		}
		for name, v := range map[string]string{
			"SourceEventID": a.SourceEventID, "NativeSeverity": a.NativeSeverity, "RuleID": a.RuleID,
			"RuleName": a.RuleName, "Title": a.Title, "Host": a.Host, "User": a.User, "SrcIP": a.SrcIP,
			"DstIP": a.DstIP, "Process": a.Process, "FileHash": a.FileHash, "URL": a.URL,
			"Domain": a.Domain, "Email": a.Email,
		} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || utf8.RuneCountInString(v) > 4096 {
				t.Fatalf("alert %d: %s = %q", i, name, v)
			}
		}
		if a.SrcPort < 0 || a.SrcPort > 65535 || a.DstPort < 0 || a.DstPort > 65535 {
			t.Fatalf("alert %d: ports %d %d", i, a.SrcPort, a.DstPort)
		}
		if len(a.Observables) > ingest.MaxObservables {
			t.Fatalf("alert %d: %d observables", i, len(a.Observables))
		}
		for _, o := range a.Observables {
			if v, err := ingest.NormalizeObservable(o.Type, o.Value); err != nil || v != o.Value {
				t.Fatalf("alert %d: observable %v is not normalised (%q, %v)", i, o, v, err)
			}
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("alert %d: cannot be marshalled: %v", i, err)
		}
	}
}

func FuzzWazuh(f *testing.F) {
	seed(f, "wazuh", `{"rule":{"id":"1","level":"NaN"},"timestamp":"99999999999999"}`, `{"rule":{"id":1e400}}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "wazuh", ingest.ParseWazuh, b) })
}

func FuzzSuricata(f *testing.F) {
	seed(f, "suricata", `{"event_type":"alert","alert":{"signature_id":1,"severity":-1},"src_port":-5,"http":{"hostname":"a b","url":"x"}}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "suricata", ingest.ParseSuricata, b) })
}

func FuzzElastic(f *testing.F) {
	seed(f, "elastic", `{"kibana":{"alert.rule":{"name":[["x"]]}},"host.name":[]}`, `{"_source":{"kibana.alert.rule.name":"r"},"_id":1}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "elastic", ingest.ParseElastic, b) })
}

func FuzzSplunk(f *testing.F) {
	seed(f, "splunk", `{"sid":"1","result":{"_time":"-1","dest":"::1"}}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "splunk", ingest.ParseSplunk, b) })
}

func FuzzDefender(f *testing.F) {
	seed(f, "defender", `{"value":[{"title":"t","evidence":[{"@odata.type":"."}]}]}`, `{"value":"x"}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "defender", ingest.ParseDefender, b) })
}

func FuzzCrowdStrike(f *testing.F) {
	seed(f, "crowdstrike", `{"metadata":{"eventType":"DetectionSummaryEvent"},"event":{"DetectId":"x","Severity":"5"}}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "crowdstrike", ingest.ParseCrowdStrike, b) })
}

func FuzzCEF(f *testing.F) {
	seed(f, "cef", `CEF:0|a\|b|c\\|d|e|f|g|k=v\=w k2=\n\\ =x a==b`, "CEF:0|||||||", "x CEF:1|v|p|1|s|n|10|rt=99999999999999999999")
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "cef", ingest.ParseCEF, b) })
}

func FuzzParseSyslog(f *testing.F) {
	seed(f, "syslog", "<13>", "<191>1 - - - - - -", `<14>1 - h a - - [x@1 k="\"\\\]"][y] m`, "<13>Feb 29 00:00:00 h t[: x",
		"<0>Dec 31 23:59:59 2025 h CEF:0|a|b|c|d|e|f|", "<1>2026-05-14T00:00:00Z h t: CEF:0|v|p|1|s|n|3|src=1.2.3.4", "<999>x", "<1>\xef\xbb\xbfx")
	ref := time.Date(2026, 5, 14, 12, 0, 0, 0, time.FixedZone("JST", 9*3600))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParse(t, "syslog", func(b []byte) ([]ingest.Alert, error) { return ingest.ParseSyslogAt(b, ref) }, b)
		// One framed message: the same promises, as a batch of one.
		checkParse(t, "syslog", func(b []byte) ([]ingest.Alert, error) {
			a, err := ingest.ParseSyslogMessage(b, ref)
			if err != nil {
				return nil, err
			}
			return []ingest.Alert{a}, nil
		}, b)
	})
}

func FuzzNative(f *testing.F) {
	seed(f, "native", `{"title":"t","observables":[{"type":"url","value":"hxxp://a[.]b"}],"src_port":1.5}`)
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, "native", ingest.ParseNative, b) })
}

// TestHostileInputIsCheap guards against inputs that would make a parser
// quadratic: each of these must be read in well under a second.
func TestHostileInputIsCheap(t *testing.T) {
	big := 1 << 20
	nested := strings.Repeat("[", 4000) + "(.)" + strings.Repeat("]", 4000)
	bodies := []struct{ format, body string }{
		{"cef", "CEF:0|v|p|1|s|n|3|" + strings.Repeat("a=", big/2)},
		{"cef", "CEF:0|v|p|1|s|n|3|" + strings.Repeat("k=v ", big/4)},
		{"cef", "CEF:0|v|p|1|s|n|3|request=http://" + strings.Repeat("[(.)]", big/5)},
		{"wazuh", `{"rule":{"id":"1"},"data":{"url":"http://` + strings.Repeat("[[(.)]]", big/7) + `","srcip":"` + strings.Repeat("1", big) + `"}}`},
		{"native", `{"title":"t","observables":[{"type":"domain","value":"` + nested + `"}]}`},
	}
	for _, b := range bodies {
		start := time.Now()
		_, _ = ingest.Parse(b.format, []byte(b.body))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s body of %d bytes took %v", b.format, len(b.body), d)
		}
	}
	start := time.Now()
	if _, err := ingest.NormalizeObservable("url", "http://a.example/"+nested[:4000]); err != nil {
		t.Log(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("nested defang took %v", d)
	}
}
