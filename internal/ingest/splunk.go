package ingest

import (
	"encoding/json"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseSplunk reads the payload of Splunk's webhook alert action: sid,
// search_name, app, owner, results_link and result (the first result row,
// whose fields are whatever the search returned). Result fields are read
// by their CIM names (src, dest, user, ...), with common variants.
func ParseSplunk(body []byte) ([]Alert, error) {
	return parseJSONItems(body, splunkItem)
}

func splunkItem(i int, m map[string]any, raw json.RawMessage) (*Alert, error) {
	name := str(m, "search_name")
	sid := str(m, "sid")
	if name == "" && sid == "" {
		return nil, itemErr(i, "search_name", "missing: not a Splunk webhook payload (no search_name or sid)")
	}
	res := map[string]any{}
	if v, ok := m["result"]; ok && v != nil {
		r, ok := v.(map[string]any)
		if !ok {
			return nil, itemErr(i, "result", "must be an object")
		}
		res = r
	}
	a := &Alert{
		EventTime:     parseTime(str(res, "_time")),
		SourceEventID: sid,
		RuleID:        name, // a saved search is known by its name
		RuleName:      name,
		Title:         name,
		User:          str(res, "user", "dest_user", "src_user", "user_name"),
		SrcIP:         str(res, "src_ip", "src"),
		SrcPort:       port(str(res, "src_port")),
		DstIP:         str(res, "dest_ip", "dest"),
		DstPort:       port(str(res, "dest_port")),
		Process:       str(res, "process_name", "process"),
		FileHash:      str(res, "file_hash", "sha256", "hash", "sha1", "md5"),
		URL:           str(res, "url"),
		Domain:        str(res, "domain", "query", "url_domain"),
		Email:         str(res, "recipient", "email", "sender"),
	}
	// dest is a host name or an address; host is the machine the event
	// came from.
	a.Host = str(res, "dest_host", "dest_nt_host")
	if a.Host == "" {
		if d := str(res, "dest"); d != "" {
			if _, err := normIP(d); err != nil {
				a.Host = d
			}
		}
	}
	if a.Host == "" {
		a.Host = str(res, "host", "dvc")
	}
	a.NativeSeverity = str(res, "severity", "urgency", "priority")
	a.Severity = core.S3
	if s, ok := splunkSeverity(a.NativeSeverity); ok {
		a.Severity = s
	}
	extra := []Observable{{ObsHost, str(res, "src_host", "src_nt_host")}, {ObsFilename, str(res, "file_name")}}
	a.finish("splunk", raw, extra)
	// Not sid: every run of a scheduled search has a new one, and the
	// point is to group the runs that keep finding the same thing.
	a.setFingerprint(name, a.Host, a.User, a.SrcIP, a.DstIP)
	return a, nil
}

// splunkSeverity reads a severity word (Enterprise Security urgency:
// critical, high, medium, low, informational) or Splunk's numeric alert
// severity (1 debug, 2 info, 3 warn, 4 error, 5 severe, 6 fatal).
func splunkSeverity(s string) (core.Severity, bool) {
	if sev, ok := sevByWord(s); ok {
		return sev, true
	}
	switch s {
	case "6":
		return core.S1, true
	case "5":
		return core.S2, true
	case "4":
		return core.S3, true
	case "1", "2", "3":
		return core.S4, true
	}
	return "", false
}
