package ingest

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseCEF reads ArcSight Common Event Format, one event per line:
//
//	CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//
// In the header, \| and \\ are escapes; in extension values, \= \\ \n \r
// are (other backslashes are kept as written, as Windows paths often are).
// Anything before "CEF:" on a line (a syslog header) is ignored. Blank
// lines are skipped; every other line is an item. Raw is the whole
// original line as a JSON string.
func ParseCEF(body []byte) ([]Alert, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	var alerts []Alert
	n := 0
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if n >= MaxItems {
			return nil, itemErr(n, "", "too many items (at most %d per body)", MaxItems)
		}
		a, err := cefLine(n, string(line))
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, *a)
		n++
	}
	if n == 0 {
		return nil, &ParseError{Index: -1, Message: "empty body"}
	}
	return alerts, nil
}

func cefLine(i int, line string) (*Alert, error) { return cefEvent(i, line, line, cefCarrier{}) }

// cefCarrier is what the transport of a CEF event (a syslog header) says
// about it; each is used only where the CEF event itself is silent.
type cefCarrier struct {
	host string    // the device that sent the event: a fallback for dvchost
	time time.Time // when the carrier says the event happened
}

// cefEvent reads the CEF event in line; raw is what Raw keeps (the whole
// original line, which may be more than text).
func cefEvent(i int, raw, line string, c cefCarrier) (*Alert, error) {
	if !utf8.ValidString(line) {
		line = strings.ToValidUTF8(line, "\uFFFD")
	}
	start := strings.Index(line, "CEF:")
	if start < 0 {
		return nil, itemErr(i, "header", "no \"CEF:\" in the line")
	}
	hdr, ext, ok := cefHeader(line[start+len("CEF:"):])
	if !ok {
		return nil, itemErr(i, "header", "needs 7 '|'-separated fields after CEF: (Version|Vendor|Product|Version|Signature ID|Name|Severity|)")
	}
	if v := strings.TrimSpace(hdr[0]); v == "" || strings.Trim(v, "0123456789.") != "" {
		return nil, itemErr(i, "version", "is %q, not a CEF version number", clean(v, 32))
	}
	vendor, product, sigID, name, sev := hdr[1], hdr[2], hdr[4], hdr[5], strings.TrimSpace(hdr[6])
	if strings.TrimSpace(sigID) == "" && strings.TrimSpace(name) == "" {
		return nil, itemErr(i, "name", "missing: neither Signature ID nor Name is set")
	}
	kv := cefExtension(ext)
	get := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(kv[k]); v != "" {
				return v
			}
		}
		return ""
	}
	a := &Alert{
		EventTime:      parseTime(get("rt", "end", "start")),
		SourceEventID:  get("externalId", "eventId"),
		NativeSeverity: sev,
		RuleID:         sigID,
		RuleName:       name,
		Title:          name,
		Host:           get("dhost", "shost", "dvchost"),
		User:           get("duser", "suser"),
		SrcIP:          get("src", "c6a2"),
		SrcPort:        port(get("spt")),
		DstIP:          get("dst", "c6a3"),
		DstPort:        port(get("dpt")),
		Process:        get("dproc", "sproc"),
		FileHash:       get("fileHash", "oldFileHash"),
		URL:            get("request"),
	}
	if strings.TrimSpace(a.Title) == "" {
		a.Title = get("msg")
	}
	if a.Host == "" {
		a.Host = c.host
	}
	if a.EventTime.IsZero() {
		a.EventTime = c.time
	}
	a.Severity = core.S3
	if s, ok := cefSeverity(sev); ok {
		a.Severity = s
	}
	extra := []Observable{
		{ObsFilename, get("fname")},
		{ObsHost, get("shost")}, {ObsHost, get("dvchost")},
		{ObsUser, get("suser")},
		{ObsIP, get("dvc")},
		{ObsDomain, get("destinationDnsDomain")},
		{ObsHost, c.host},
	}
	if !utf8.ValidString(raw) {
		raw = strings.ToValidUTF8(raw, "\uFFFD")
	}
	a.finish("cef", lineRaw(raw), extra)
	a.setFingerprint(vendor, product, a.RuleID, a.Host, a.SrcIP, a.DstIP, portText(a.DstPort))
	return a, nil
}

// cefHeader splits the seven header fields off s (the text after "CEF:"),
// unescaping \| and \\, and returns the rest as the extension.
func cefHeader(s string) (hdr [7]string, ext string, ok bool) {
	var b strings.Builder
	n := 0
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '\\' && j+1 < len(s) && (s[j+1] == '|' || s[j+1] == '\\'):
			b.WriteByte(s[j+1])
			j++
		case c == '|':
			hdr[n] = b.String()
			b.Reset()
			n++
			if n == 7 {
				return hdr, s[j+1:], true
			}
		default:
			b.WriteByte(c)
		}
	}
	return hdr, "", false
}

// cefExtension parses "key=value key2=value two" where values may hold
// spaces and escaped \=. An unescaped '=' counts as a separator only when
// the word before it is a plausible key, so stray '=' in values (URLs with
// a query) stay in the value.
func cefExtension(s string) map[string]string {
	kv := map[string]string{}
	type mark struct{ keyStart, eq int }
	var marks []mark
	ks := 0 // where the word being scanned began
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
			continue
		case ' ':
			ks = j + 1
			continue
		case '=':
		default:
			continue
		}
		if ks == j || !cefKey(s[ks:j]) {
			continue
		}
		if len(marks) > 0 && ks <= marks[len(marks)-1].eq {
			continue // inside the previous key's own text
		}
		marks = append(marks, mark{ks, j})
	}
	for n, m := range marks {
		end := len(s)
		if n+1 < len(marks) {
			end = marks[n+1].keyStart
		}
		key := s[m.keyStart:m.eq]
		if _, dup := kv[key]; !dup {
			kv[key] = cefUnescape(strings.TrimRight(s[m.eq+1:end], " "))
		}
	}
	return kv
}

func cefKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func cefUnescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for j := 0; j < len(v); j++ {
		if v[j] == '\\' && j+1 < len(v) {
			switch v[j+1] {
			case '=', '\\', '|':
				b.WriteByte(v[j+1])
				j++
				continue
			case 'n':
				b.WriteByte('\n')
				j++
				continue
			case 'r':
				b.WriteByte('\r')
				j++
				continue
			}
		}
		b.WriteByte(v[j])
	}
	return b.String()
}

// cefSeverity maps the CEF severity: 0–10 in ArcSight's own bands (0–3
// Low, 4–6 Medium, 7–8 High, 9–10 Very-High), or those words. Unknown
// gives false.
func cefSeverity(s string) (core.Severity, bool) {
	if f, ok := toNum(s); ok {
		switch {
		case f < 0 || f > 10:
			return "", false
		case f >= 9:
			return core.S1, true
		case f >= 7:
			return core.S2, true
		case f >= 4:
			return core.S3, true
		}
		return core.S4, true
	}
	switch strings.ToLower(s) {
	case "very-high", "very high", "veryhigh":
		return core.S1, true
	case "high":
		return core.S2, true
	case "medium":
		return core.S3, true
	case "low":
		return core.S4, true
	}
	return "", false
}
