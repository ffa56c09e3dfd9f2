package ingest

import (
	"encoding/json"
	"strconv"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseElastic reads Elastic Security detection alerts: documents of the
// .alerts-security.alerts-* indices (kibana.alert.*, ECS fields), as a
// connector or a search sends them. Keys may be dotted ("host.name"),
// nested ({"host":{"name":…}}) or a mix; a search hit ({"_id",
// "_source":{…}}) is read through its _source. Pre-8.0 signal.* fields
// are read when kibana.alert.* is absent.
func ParseElastic(body []byte) ([]Alert, error) {
	return parseJSONItems(body, elasticItem)
}

func elasticItem(i int, m map[string]any, raw json.RawMessage) (*Alert, error) {
	if src := obj(m, "_source"); src != nil {
		if _, ok := lookup(m, "kibana.alert.rule.name"); !ok {
			id := str(m, "_id")
			m = src
			if str(m, "kibana.alert.uuid") == "" && id != "" {
				m["kibana.alert.uuid"] = id
			}
		}
	}
	a := &Alert{
		EventTime:     parseTime(str(m, "kibana.alert.original_time", "signal.original_time", "@timestamp")),
		SourceEventID: str(m, "kibana.alert.uuid", "_id"),
		RuleID:        str(m, "kibana.alert.rule.rule_id", "kibana.alert.rule.uuid", "signal.rule.rule_id", "signal.rule.id"),
		RuleName:      str(m, "kibana.alert.rule.name", "signal.rule.name"),
		Host:          str(m, "host.name", "host.hostname"),
		User:          str(m, "user.name", "user.target.name"),
		SrcIP:         str(m, "source.ip", "client.ip"),
		SrcPort:       port(str(m, "source.port", "client.port")),
		DstIP:         str(m, "destination.ip", "server.ip"),
		DstPort:       port(str(m, "destination.port", "server.port")),
		Process:       str(m, "process.name"),
		FileHash:      str(m, "file.hash.sha256", "process.hash.sha256", "file.hash.sha1", "file.hash.md5", "process.hash.md5"),
		URL:           str(m, "url.full", "url.original"),
		Domain:        str(m, "url.domain", "destination.domain", "dns.question.name"),
		Email:         str(m, "user.email", "email.from.address"),
	}
	a.Title = a.RuleName
	if a.RuleName == "" && a.RuleID == "" {
		return nil, itemErr(i, "kibana.alert.rule.name", "missing: not an Elastic Security alert (no rule name or id)")
	}
	a.NativeSeverity = str(m, "kibana.alert.severity", "kibana.alert.rule.severity", "signal.rule.severity")
	a.Severity = core.S3
	if s, ok := sevByWord(a.NativeSeverity); ok {
		a.Severity = s
	} else if r, ok := num(m, "kibana.alert.risk_score"); ok {
		a.NativeSeverity = "risk_score " + strconv.FormatFloat(r, 'f', -1, 64)
		a.Severity = elasticRiskSeverity(r)
	} else if r, ok := num(m, "signal.rule.risk_score"); ok {
		a.NativeSeverity = "risk_score " + strconv.FormatFloat(r, 'f', -1, 64)
		a.Severity = elasticRiskSeverity(r)
	}
	extra := []Observable{
		{ObsFilename, str(m, "file.name")},
		{ObsHash, str(m, "process.hash.sha256")},
		{ObsHash, str(m, "file.hash.md5")},
		{ObsHash, str(m, "process.hash.md5")},
		{ObsRegistryKey, str(m, "registry.path")},
	}
	for _, v := range arr(m, "host.ip") {
		extra = append(extra, Observable{ObsIP, scalar(v)})
	}
	a.finish("elastic", raw, extra)
	rule := str(m, "kibana.alert.rule.uuid", "signal.rule.id")
	if rule == "" {
		rule = a.RuleID
	}
	a.setFingerprint(rule, a.Host, a.User, a.SrcIP)
	return a, nil
}

// elasticRiskSeverity uses the risk score bands Elastic itself ties to its
// severities (0–21 low, 22–47 medium, 48–73 high, 74–100 critical).
func elasticRiskSeverity(r float64) core.Severity {
	switch {
	case r >= 74:
		return core.S1
	case r >= 48:
		return core.S2
	case r >= 22:
		return core.S3
	}
	return core.S4
}
