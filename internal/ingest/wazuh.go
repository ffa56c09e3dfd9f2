package ingest

import (
	"encoding/json"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseWazuh reads Wazuh manager alerts as written to alerts.json (or sent
// by an integration): rule.id, rule.level, rule.description, agent.name,
// data.srcip, data.dstuser, syscheck.*_after hashes, timestamp, id.
func ParseWazuh(body []byte) ([]Alert, error) {
	return parseJSONItems(body, wazuhItem)
}

func wazuhItem(i int, m map[string]any, raw json.RawMessage) (*Alert, error) {
	rule := obj(m, "rule")
	if rule == nil {
		return nil, itemErr(i, "rule", "missing: a Wazuh alert always has a rule object")
	}
	a := &Alert{
		EventTime:     parseTime(str(m, "timestamp", "@timestamp")),
		SourceEventID: str(m, "id"),
		RuleID:        str(rule, "id"),
		RuleName:      str(rule, "description"),
		Title:         str(rule, "description"),
		Host:          str(m, "agent.name", "predecoder.hostname", "hostname"),
		User:          str(m, "data.dstuser", "data.srcuser", "syscheck.uname_after", "data.win.eventdata.targetUserName"),
		SrcIP:         str(m, "data.srcip", "data.src_ip"),
		SrcPort:       port(str(m, "data.srcport", "data.src_port")),
		DstIP:         str(m, "data.dstip", "data.dest_ip"),
		DstPort:       port(str(m, "data.dstport", "data.dest_port")),
		Process:       str(m, "data.win.eventdata.image"),
		FileHash:      str(m, "syscheck.sha256_after", "syscheck.sha1_after", "syscheck.md5_after"),
		URL:           str(m, "data.url"),
	}
	if a.RuleID == "" && a.RuleName == "" {
		return nil, itemErr(i, "rule.id", "missing: the rule has neither id nor description")
	}
	a.NativeSeverity = str(rule, "level")
	a.Severity = core.S3
	if lvl, ok := num(rule, "level"); ok {
		a.Severity = wazuhSeverity(lvl)
	}
	extra := []Observable{
		{ObsHash, str(m, "syscheck.sha1_after")},
		{ObsHash, str(m, "syscheck.md5_after")},
		{ObsIP, str(m, "agent.ip")},
	}
	if p := str(m, "syscheck.path"); p != "" {
		if _, err := normRegistryKey(p); err == nil { // Windows registry monitoring
			extra = append(extra, Observable{ObsRegistryKey, p})
		} else {
			extra = append(extra, Observable{ObsFilename, p})
		}
	}
	a.finish("wazuh", raw, extra)
	a.setFingerprint(a.RuleID, a.Host, a.SrcIP)
	return a, nil
}

// wazuhSeverity maps a rule level (0–15; Wazuh calls 12 and up "high
// importance") to S1–S4.
func wazuhSeverity(lvl float64) core.Severity {
	switch {
	case lvl >= 12:
		return core.S1
	case lvl >= 8:
		return core.S2
	case lvl >= 4:
		return core.S3
	}
	return core.S4
}
