package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

// nativeAlert is irdesk's own alert schema: Alert's JSON field names. Since
// it is ours, it is checked strictly: a value of the wrong type, an
// unknown severity, an invalid address, hash or observable is an error.
// received_at, source and raw are ignored if sent (they are set here).
type nativeAlert struct {
	EventTime      string       `json:"event_time"`
	SourceEventID  string       `json:"source_event_id"`
	NativeSeverity string       `json:"native_severity"`
	Severity       string       `json:"severity"`
	RuleID         string       `json:"rule_id"`
	RuleName       string       `json:"rule_name"`
	Title          string       `json:"title"`
	Host           string       `json:"host"`
	User           string       `json:"user"`
	SrcIP          string       `json:"src_ip"`
	SrcPort        *int         `json:"src_port"`
	DstIP          string       `json:"dst_ip"`
	DstPort        *int         `json:"dst_port"`
	Process        string       `json:"process"`
	FileHash       string       `json:"file_hash"`
	URL            string       `json:"url"`
	Domain         string       `json:"domain"`
	Email          string       `json:"email"`
	Observables    []Observable `json:"observables"`
	Fingerprint    string       `json:"fingerprint"`
}

// ParseNative reads irdesk's own alert schema (one object, an array, or
// NDJSON), for scripts and tools without a dedicated format:
//
//	{"title": "…",                 required
//	 "severity": "S1".."S4",       default S3
//	 "event_time": RFC 3339, "source_event_id", "native_severity",
//	 "rule_id", "rule_name", "host", "user", "src_ip", "src_port",
//	 "dst_ip", "dst_port", "process", "file_hash", "url", "domain",
//	 "email",
//	 "observables": [{"type": "ip", "value": "203.0.113[.]7"}, …],
//	 "fingerprint": "…"}           optional grouping key of the sender's own
//
// Unknown fields are kept in Raw.
func ParseNative(body []byte) ([]Alert, error) {
	return parseJSONItems(body, nativeItem)
}

func nativeItem(i int, _ map[string]any, raw json.RawMessage) (*Alert, error) {
	var n nativeAlert
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&n); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, itemErr(i, te.Field, "must be a JSON %s", jsonKind(te.Type.Kind().String()))
		}
		return nil, itemErr(i, "", "%v", jsonMsg(err))
	}
	if strings.TrimSpace(n.Title) == "" {
		return nil, itemErr(i, "title", "is required")
	}
	a := &Alert{
		SourceEventID:  n.SourceEventID,
		NativeSeverity: n.NativeSeverity,
		RuleID:         n.RuleID,
		RuleName:       n.RuleName,
		Title:          n.Title,
		Host:           n.Host,
		User:           n.User,
		Process:        n.Process,
		URL:            n.URL,
	}
	if n.EventTime != "" {
		a.EventTime = parseTime(n.EventTime)
		if a.EventTime.IsZero() {
			return nil, itemErr(i, "event_time", "is not a time (use RFC 3339, e.g. 2026-05-14T09:00:00Z)")
		}
	}
	switch s := core.Severity(strings.ToUpper(strings.TrimSpace(n.Severity))); {
	case s == "":
		a.Severity = core.S3
	case s.Valid():
		a.Severity = s
	default:
		return nil, itemErr(i, "severity", "is %q; must be S1, S2, S3 or S4", clean(n.Severity, 32))
	}
	for _, f := range []struct {
		name, typ string
		dst       *string
		value     string
	}{
		{"src_ip", ObsIP, &a.SrcIP, n.SrcIP},
		{"dst_ip", ObsIP, &a.DstIP, n.DstIP},
		{"file_hash", ObsHash, &a.FileHash, n.FileHash},
		{"url", ObsURL, &a.URL, n.URL},
		{"domain", ObsDomain, &a.Domain, n.Domain},
		{"email", ObsEmail, &a.Email, n.Email},
	} {
		if strings.TrimSpace(f.value) == "" {
			continue
		}
		v, err := NormalizeObservable(f.typ, f.value)
		if err != nil {
			return nil, itemErr(i, f.name, "%s", fieldMsg(err))
		}
		*f.dst = v
	}
	for _, p := range []struct {
		name string
		dst  *int
		v    *int
	}{{"src_port", &a.SrcPort, n.SrcPort}, {"dst_port", &a.DstPort, n.DstPort}} {
		if p.v == nil {
			continue
		}
		if *p.v < 0 || *p.v > 65535 {
			return nil, itemErr(i, p.name, "must be 0 to 65535")
		}
		*p.dst = *p.v
	}
	if len(n.Observables) > MaxObservables {
		return nil, itemErr(i, "observables", "at most %d", MaxObservables)
	}
	for j, o := range n.Observables {
		if _, err := NormalizeObservable(o.Type, o.Value); err != nil {
			var fe *core.FieldError
			field := fmt.Sprintf("observables[%d]", j)
			if errors.As(err, &fe) {
				field += "." + fe.Field
			}
			return nil, itemErr(i, field, "%s", fieldMsg(err))
		}
		n.Observables[j].Type = strings.ToLower(strings.TrimSpace(o.Type))
	}
	a.finish("native", raw, n.Observables)
	if fp := strings.TrimSpace(n.Fingerprint); fp != "" {
		// The sender's key, namespaced so it cannot collide with a tool's.
		a.Fingerprint = Fingerprint("native", "\x00sender", clean(fp, maxIDLen))
	} else {
		rule := a.RuleID
		if rule == "" {
			rule = a.RuleName
		}
		if rule == "" {
			rule = a.Title
		}
		a.setFingerprint(rule, a.Host, a.User, a.SrcIP, a.DstIP)
	}
	return a, nil
}

func fieldMsg(err error) string {
	var fe *core.FieldError
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "int", "int64", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct":
		return "object"
	}
	return k
}
