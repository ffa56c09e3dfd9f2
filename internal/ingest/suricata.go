package ingest

import (
	"encoding/json"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseSuricata reads Suricata EVE JSON. Only event_type "alert" records
// are alerts; flow, dns, http, stats and other records are skipped without
// error, so a sensor may forward its whole EVE stream.
func ParseSuricata(body []byte) ([]Alert, error) {
	return parseJSONItems(body, suricataItem)
}

func suricataItem(i int, m map[string]any, raw json.RawMessage) (*Alert, error) {
	et := str(m, "event_type")
	if et == "" {
		return nil, itemErr(i, "event_type", "missing: not an EVE record")
	}
	if et != "alert" {
		return nil, nil
	}
	al := obj(m, "alert")
	if al == nil {
		return nil, itemErr(i, "alert", "missing: an alert record needs its alert object")
	}
	sid := str(al, "signature_id")
	sig := str(al, "signature")
	if sid == "" && sig == "" {
		return nil, itemErr(i, "alert.signature_id", "missing: the alert has neither signature_id nor signature")
	}
	a := &Alert{
		EventTime:      parseTime(str(m, "timestamp")),
		NativeSeverity: str(al, "severity"),
		RuleID:         sid,
		RuleName:       sig,
		Title:          sig,
		SrcIP:          str(m, "src_ip"),
		SrcPort:        port(str(m, "src_port")),
		DstIP:          str(m, "dest_ip"),
		DstPort:        port(str(m, "dest_port")),
		Domain:         str(m, "http.hostname", "tls.sni", "dns.rrname", "dns.query.rrname"),
	}
	// No event id in EVE: a flow, a signature and a transaction name one
	// alert, which is what a resent record repeats.
	if flow := str(m, "flow_id"); flow != "" {
		a.SourceEventID = flow + ":" + str(al, "gid") + ":" + sid
		if tx := str(m, "tx_id"); tx != "" {
			a.SourceEventID += ":" + tx
		}
	}
	a.URL = suricataURL(str(m, "http.hostname"), str(m, "http.url"), port(str(m, "http.http_port")))
	a.Severity = core.S3
	if f, ok := toNum(a.NativeSeverity); ok {
		a.Severity = suricataSeverity(f)
	}
	extra := []Observable{{ObsFilename, str(m, "fileinfo.filename")}, {ObsHash, str(m, "fileinfo.sha256", "fileinfo.md5")}}
	a.finish("suricata", raw, extra)
	a.setFingerprint(a.RuleID, a.SrcIP, a.DstIP, portText(a.DstPort))
	return a, nil
}

// suricataURL joins EVE's http.hostname and http.url (a path, or a full URL
// for proxy requests).
func suricataURL(host, path string, p int) string {
	if strings.Contains(path, "://") {
		return path
	}
	if host == "" {
		return path // kept as text; not a URL observable
	}
	if p != 0 && p != 80 {
		host += ":" + portText(p)
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return "http://" + host + path
}

// suricataSeverity maps alert.severity, where 1 is the most severe (the
// classification priority: 1 for trojan-activity, but also for
// policy-violation), 2 middle, 3 and up low. A network signature alone is
// not a confirmed compromise, so the top level is S2, not S1.
func suricataSeverity(f float64) core.Severity {
	switch {
	case f < 1:
		return core.S3 // not a Suricata value: unknown
	case f < 2:
		return core.S2
	case f < 3:
		return core.S3
	}
	return core.S4
}
