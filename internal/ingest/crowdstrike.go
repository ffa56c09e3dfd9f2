package ingest

import (
	"encoding/json"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseCrowdStrike reads CrowdStrike Falcon streaming API detection events:
// {"metadata":{"eventType":"DetectionSummaryEvent",…},"event":{DetectId,
// Severity, SeverityName, Tactic, Technique, ComputerName, UserName,
// FileName, SHA256String, MD5String, CommandLine, ProcessStartTime,…}}.
// Other stream event types (AuthActivityAuditEvent, …) are skipped without
// error. A bare event object (no metadata wrapper) with a DetectId is read
// too.
func ParseCrowdStrike(body []byte) ([]Alert, error) {
	return parseJSONItems(body, crowdstrikeItem)
}

func crowdstrikeItem(i int, m map[string]any, raw json.RawMessage) (*Alert, error) {
	md := obj(m, "metadata")
	switch et := str(md, "eventType"); et {
	case "DetectionSummaryEvent", "EppDetectionSummaryEvent", "":
	default:
		return nil, nil
	}
	ev := obj(m, "event")
	if ev == nil {
		if _, ok := m["event"]; ok || md != nil {
			return nil, itemErr(i, "event", "missing or not an object")
		}
		ev = m // a bare event
	}
	a := &Alert{
		SourceEventID: str(ev, "DetectId", "CompositeId"),
		RuleID:        str(ev, "PatternId"),
		Host:          str(ev, "ComputerName", "Hostname"),
		User:          str(ev, "UserName"),
		Process:       str(ev, "FileName"),
		FileHash:      str(ev, "SHA256String", "SHA1String", "MD5String"),
	}
	tactic, technique := str(ev, "Tactic"), str(ev, "Technique")
	a.RuleName = technique
	if tactic != "" && technique != "" {
		a.RuleName = tactic + " via " + technique
	}
	a.Title = str(ev, "DetectName", "Name", "DetectDescription", "Description")
	if a.Title == "" {
		a.Title = a.RuleName
	}
	if a.SourceEventID == "" && a.Title == "" {
		return nil, itemErr(i, "event.DetectId", "missing: not a Falcon detection (no DetectId or DetectName)")
	}
	a.EventTime = parseTime(str(ev, "ProcessStartTime"))
	if a.EventTime.IsZero() {
		a.EventTime = parseTime(str(md, "eventCreationTime"))
	}
	a.Severity = core.S3
	if f, ok := num(ev, "Severity"); ok && f >= 1 && f <= 5 {
		a.NativeSeverity = str(ev, "Severity")
		if n := str(ev, "SeverityName"); n != "" {
			a.NativeSeverity += " " + n
		}
		a.Severity = crowdstrikeSeverity(f)
	} else if n := str(ev, "SeverityName"); n != "" {
		a.NativeSeverity = n
		if s, ok := sevByWord(n); ok {
			a.Severity = s
		}
	} else {
		a.NativeSeverity = str(ev, "Severity")
	}
	extra := []Observable{
		{ObsHash, str(ev, "MD5String")},
		{ObsHash, str(ev, "SHA1String")},
		{ObsIP, str(ev, "LocalIP")},
	}
	if t, v := str(ev, "IOCType"), str(ev, "IOCValue"); v != "" {
		switch {
		case strings.HasPrefix(t, "hash"):
			extra = append(extra, Observable{ObsHash, v})
		case t == "domain":
			extra = append(extra, Observable{ObsDomain, v})
		case t == "ipv4" || t == "ipv6":
			extra = append(extra, Observable{ObsIP, v})
		case t == "filename":
			extra = append(extra, Observable{ObsFilename, v})
		}
	}
	a.finish("crowdstrike", raw, extra)
	rule := a.RuleID
	if rule == "" {
		rule = a.Title + "\x00" + technique
	}
	a.setFingerprint(rule, a.Host, a.FileHash)
	return a, nil
}

// crowdstrikeSeverity maps Falcon's 1–5 (informational, low, medium, high,
// critical).
func crowdstrikeSeverity(f float64) core.Severity {
	switch {
	case f >= 5:
		return core.S1
	case f >= 4:
		return core.S2
	case f >= 3:
		return core.S3
	}
	return core.S4
}
