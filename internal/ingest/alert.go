package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
)

// Limits. A body with more items is refused whole; longer field values are
// cut (at a character boundary), never refused.
const (
	MaxItems       = 10000 // items per body
	MaxObservables = 200   // observables per alert
	maxIDLen       = 256   // SourceEventID, RuleID, NativeSeverity
	maxNameLen     = 512   // RuleName, Host, User, Process
	maxTitleLen    = 1024  // Title
	maxURLLen      = 4096  // URL
)

// Alert is one tool alert in irdesk's normalised form. Typed fields (IPs,
// ports, FileHash, Domain, Email) hold only valid, normalised values or
// nothing; URL is normalised when it is a valid URL and kept as text
// otherwise; free-text fields hold the tool's text, cleaned of control
// characters and cut to a sane length. Anything else the tool said stays
// in Raw.
type Alert struct {
	// ReceivedAt is when irdesk received the alert; the caller sets it.
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// EventTime is when the tool says the event happened (UTC); zero if
	// the tool gave no usable time.
	EventTime time.Time `json:"event_time,omitzero"`
	// Source is the format name ("wazuh", "cef", ...).
	Source string `json:"source"`
	// SourceEventID is the tool's own id of the event: the same id twice
	// means the tool resent the same event.
	SourceEventID string `json:"source_event_id,omitempty"`
	// NativeSeverity is the severity as the tool said it ("10", "high").
	NativeSeverity string        `json:"native_severity,omitempty"`
	Severity       core.Severity `json:"severity"`
	RuleID         string        `json:"rule_id,omitempty"`
	RuleName       string        `json:"rule_name,omitempty"`
	Title          string        `json:"title"`
	Host           string        `json:"host,omitempty"`
	User           string        `json:"user,omitempty"`
	SrcIP          string        `json:"src_ip,omitempty"`
	SrcPort        int           `json:"src_port,omitempty"`
	DstIP          string        `json:"dst_ip,omitempty"`
	DstPort        int           `json:"dst_port,omitempty"`
	Process        string        `json:"process,omitempty"`
	FileHash       string        `json:"file_hash,omitempty"`
	URL            string        `json:"url,omitempty"`
	Domain         string        `json:"domain,omitempty"`
	Email          string        `json:"email,omitempty"`
	Observables    []Observable  `json:"observables,omitempty"`
	// Raw is the original item verbatim (for CEF, the original line as a
	// JSON string). Only invalid UTF-8 is replaced by U+FFFD, since no
	// text column can hold it.
	Raw json.RawMessage `json:"raw"`
	// Fingerprint groups repeats of the same alert: see the package doc.
	Fingerprint string `json:"fingerprint"`
}

// ParseError says which item of a body could not be read as an alert and
// why. It wraps core.ErrInvalid.
type ParseError struct {
	Index   int    // item of the batch, from 0; -1 when about the body as a whole
	Field   string // the field at fault, in the tool's own naming; may be empty
	Message string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Index >= 0 {
		fmt.Fprintf(&b, "item %d: ", e.Index)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap makes errors.Is(err, core.ErrInvalid) true for every ParseError.
func (e *ParseError) Unwrap() error { return core.ErrInvalid }

func itemErr(i int, field, format string, args ...any) *ParseError {
	return &ParseError{Index: i, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Formats lists the format names Parse accepts.
func Formats() []string {
	return []string{"cef", "crowdstrike", "defender", "elastic", "native", "splunk", "suricata", "syslog", "wazuh"}
}

// Parse reads body in the named format (see Formats). Either every item
// becomes an alert (items a format deliberately skips aside) or nothing
// does and the error is a *ParseError naming the first bad item.
func Parse(format string, body []byte) ([]Alert, error) {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "cef":
		return ParseCEF(body)
	case "crowdstrike":
		return ParseCrowdStrike(body)
	case "defender":
		return ParseDefender(body)
	case "elastic":
		return ParseElastic(body)
	case "native":
		return ParseNative(body)
	case "splunk":
		return ParseSplunk(body)
	case "suricata":
		return ParseSuricata(body)
	case "syslog":
		return ParseSyslog(body)
	case "wazuh":
		return ParseWazuh(body)
	}
	return nil, &ParseError{Index: -1, Field: "format", Message: fmt.Sprintf("unknown alert format %q (known: %s)", clean(format, 64), strings.Join(Formats(), ", "))}
}

// splitJSON cuts a body into its items: one object, a JSON array of
// objects, or objects one after another (NDJSON, or pretty-printed objects
// concatenated). Each item is returned verbatim.
func splitJSON(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &ParseError{Index: -1, Message: "empty body"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var items []json.RawMessage
	next := func() (json.RawMessage, error) {
		if len(items) >= MaxItems {
			return nil, itemErr(len(items), "", "too many items (at most %d per body)", MaxItems)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF {
				return nil, err
			}
			return nil, itemErr(len(items), "", "malformed JSON: %v", jsonMsg(err))
		}
		if raw[0] != '{' {
			return nil, itemErr(len(items), "", "not a JSON object")
		}
		return raw, nil
	}
	if body[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return nil, itemErr(0, "", "malformed JSON: %v", jsonMsg(err))
		}
		for dec.More() {
			raw, err := next()
			if err != nil {
				if err == io.EOF {
					err = itemErr(len(items), "", "malformed JSON: unexpected end")
				}
				return nil, err
			}
			items = append(items, raw)
		}
		if _, err := dec.Token(); err != nil {
			return nil, itemErr(len(items), "", "malformed JSON: %v", jsonMsg(err))
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, &ParseError{Index: -1, Message: "unexpected data after the JSON array"}
		}
		return items, nil
	}
	for {
		raw, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		items = append(items, raw)
	}
	return items, nil
}

func jsonMsg(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if err == io.ErrUnexpectedEOF {
		return "unexpected end"
	}
	return err.Error()
}

// decodeObject decodes one item, keeping numbers exact.
func decodeObject(i int, raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, itemErr(i, "", "not a JSON object")
	}
	return m, nil
}

// verbatim returns raw as the Raw of an alert: unchanged unless it holds
// invalid UTF-8 (which can only sit inside JSON strings, so replacing it
// keeps the JSON valid).
func verbatim(raw []byte) json.RawMessage {
	if utf8.Valid(raw) {
		return append(json.RawMessage(nil), raw...)
	}
	return json.RawMessage(bytes.ToValidUTF8(raw, []byte("\uFFFD")))
}

// lookup finds path in m, where path is dotted ("kibana.alert.rule.name")
// and m may hold it as a flat dotted key, as nested objects, or any mix of
// the two, as Elasticsearch documents do.
func lookup(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// scalar renders a JSON scalar as text; for an array it takes the first
// element (Elasticsearch "fields" give every value as an array).
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		if len(x) > 0 {
			return scalar(x[0])
		}
	}
	return ""
}

// str returns the first non-empty text among paths.
func str(m map[string]any, paths ...string) string {
	for _, p := range paths {
		if v, ok := lookup(m, p); ok {
			if s := scalar(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// num reads a number given as a JSON number or as text.
func num(m map[string]any, path string) (float64, bool) {
	v, ok := lookup(m, path)
	if !ok {
		return 0, false
	}
	return toNum(scalar(v))
}

func toNum(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1e300 || f < -1e300 {
		return 0, false
	}
	return f, true
}

func obj(m map[string]any, path string) map[string]any {
	v, _ := lookup(m, path)
	o, _ := v.(map[string]any)
	return o
}

func arr(m map[string]any, path string) []any {
	v, _ := lookup(m, path)
	a, _ := v.([]any)
	return a
}

// port reads a TCP/UDP port; out of range or absent gives 0.
func port(s string) int {
	f, ok := toNum(s)
	if !ok || f < 0 || f > 65535 || f != float64(int(f)) {
		return 0
	}
	return int(f)
}

// clean makes free text safe to store and show: valid UTF-8, no NUL, other
// control characters as spaces, trimmed, cut to max characters.
func clean(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return -1
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		n := 0
		for i := range s {
			if n == max {
				s = strings.TrimSpace(s[:i])
				break
			}
			n++
		}
	}
	return s
}

// timeLayouts are the time shapes the supported tools send. Go accepts a
// fractional second after the seconds even when a layout omits it.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05-0700",    // Wazuh, Suricata
	"2006-01-02T15:04:05Z0700",    // compact zone
	"2006-01-02 15:04:05Z07:00",   // space instead of T
	"2006-01-02 15:04:05-0700",    //
	"2006-01-02T15:04:05",         // no zone: UTC
	"2006-01-02 15:04:05",         // no zone: UTC
	"Jan _2 2006 15:04:05 MST",    // CEF rt
	"Jan _2 2006 15:04:05 -0700",  // CEF rt
	"Jan _2 2006 15:04:05 -07:00", // CEF rt
	"Jan _2 2006 15:04:05",        // CEF rt, no zone: UTC
	time.RFC1123Z,
	time.RFC1123,
}

// zoneOffsets are the zone abbreviations tools write after CEF times
// (rt=May 14 2026 18:20:01 JST) that mean one offset wherever they are
// read. Go's parser knows an abbreviation only when it is this machine's
// own zone and takes any other as UTC, which put a Japanese appliance's
// events nine hours late. Ambiguous ones (CST is China, Cuba and US
// Central; IST is India, Ireland and Israel) are not here.
var zoneOffsets = map[string]int{
	"UTC": 0, "GMT": 0, "Z": 0,
	"JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600, "AWST": 8 * 3600,
	"ICT": 7 * 3600, "WIB": 7 * 3600, "PHT": 8 * 3600,
	"AEST": 10 * 3600, "AEDT": 11 * 3600, "ACST": 9*3600 + 1800, "NZST": 12 * 3600, "NZDT": 13 * 3600,
	"CET": 1 * 3600, "CEST": 2 * 3600, "EET": 2 * 3600, "EEST": 3 * 3600, "WET": 0, "WEST": 1 * 3600, "BST": 1 * 3600,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CDT": -5 * 3600, "MST": -7 * 3600, "MDT": -6 * 3600,
	"PST": -8 * 3600, "PDT": -7 * 3600, "AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
}

// zoneByAbbreviation fixes the offset of a time parsed with a zone
// abbreviation Go did not know (it parses those as offset zero): the
// known ones get their offset; an unknown one makes the time unknown
// rather than hours wrong.
func zoneByAbbreviation(t time.Time) time.Time {
	name, offset := t.Zone()
	if offset != 0 || name == "" || name == "UTC" {
		return t
	}
	known, ok := zoneOffsets[name]
	if !ok {
		return time.Time{}
	}
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), time.FixedZone(name, known))
}

// parseTime reads a timestamp in any of the shapes above, or Unix epoch
// seconds or milliseconds. It returns UTC, or zero when the text is not a
// plausible time (tools' times are a convenience; ReceivedAt always exists).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	var t time.Time
	if f, ok := toNum(s); ok {
		switch {
		case f < 1e8: // before 1973: a count or a year, not an epoch time
			return time.Time{}
		case f >= 1e14: // microseconds
			t = time.UnixMicro(int64(f))
		case f >= 1e11: // milliseconds
			t = time.UnixMilli(int64(f))
		default:
			sec := int64(f)
			t = time.Unix(sec, int64((f-float64(sec))*1e9))
		}
	} else {
		for _, l := range timeLayouts {
			if p, err := time.Parse(l, s); err == nil {
				t = zoneByAbbreviation(p)
				break
			}
		}
	}
	if t.IsZero() || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}
	}
	return t.UTC()
}

// finish normalises the fields a parser filled in, adds the observables
// and sets Raw. extra are observables the format gives beyond the fields.
func (a *Alert) finish(format string, raw json.RawMessage, extra []Observable) {
	a.Source = format
	a.Raw = raw
	a.SourceEventID = clean(a.SourceEventID, maxIDLen)
	a.NativeSeverity = clean(a.NativeSeverity, maxIDLen)
	a.RuleID = clean(a.RuleID, maxIDLen)
	a.RuleName = clean(a.RuleName, maxNameLen)
	a.Title = clean(a.Title, maxTitleLen)
	if a.Title == "" {
		a.Title = a.RuleName
	}
	if a.Title == "" {
		a.Title = format + " alert"
	}
	a.Host = clean(a.Host, maxNameLen)
	a.User = clean(a.User, maxNameLen)
	a.Process = clean(a.Process, maxNameLen)
	a.SrcIP = normOr(ObsIP, a.SrcIP, "")
	a.DstIP = normOr(ObsIP, a.DstIP, "")
	a.FileHash = normOr(ObsHash, a.FileHash, "")
	a.Domain = normOr(ObsDomain, a.Domain, "")
	a.Email = normOr(ObsEmail, a.Email, "")
	a.URL = normOr(ObsURL, a.URL, clean(a.URL, maxURLLen))
	if a.SrcPort < 0 || a.SrcPort > 65535 {
		a.SrcPort = 0
	}
	if a.DstPort < 0 || a.DstPort > 65535 {
		a.DstPort = 0
	}
	if !a.Severity.Valid() {
		a.Severity = core.S3
	}
	a.Observables = collectObservables(a, extra)
}

func normOr(typ, value, fallback string) string {
	if value == "" {
		return ""
	}
	if v, err := NormalizeObservable(typ, value); err == nil {
		return v
	}
	return fallback
}

// Fingerprint hashes a format name and its key fields into the grouping
// key of an alert: SHA-256, hex. Fields are compared case-insensitively
// and length-prefixed, so no two different field lists share a hash.
func Fingerprint(format string, keys ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "irdesk-fingerprint-v1\x00%d:%s", len(format), format)
	for _, k := range keys {
		k = strings.ToLower(strings.TrimSpace(k))
		fmt.Fprintf(h, "\x00%d:%s", len(k), k)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// setFingerprint fills in a.Fingerprint from the format's key fields. When
// the tool gave none of them the alert can only be grouped with exact
// resends: by its event id, or failing that its raw payload.
func (a *Alert) setFingerprint(keys ...string) {
	for _, k := range keys {
		if strings.TrimSpace(k) != "" {
			a.Fingerprint = Fingerprint(a.Source, keys...)
			return
		}
	}
	if a.SourceEventID != "" {
		a.Fingerprint = Fingerprint(a.Source, "\x00event-id", a.SourceEventID)
		return
	}
	sum := sha256.Sum256(a.Raw)
	a.Fingerprint = Fingerprint(a.Source, "\x00raw", hex.EncodeToString(sum[:]))
}

// portText renders a port for a fingerprint: empty when unknown.
func portText(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

// sevByWord maps the common word scales to S1–S4.
func sevByWord(s string) (core.Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "very-high", "very high", "veryhigh", "fatal":
		return core.S1, true
	case "high":
		return core.S2, true
	case "medium", "moderate":
		return core.S3, true
	case "low", "informational", "info", "information", "informative":
		return core.S4, true
	}
	return "", false
}
