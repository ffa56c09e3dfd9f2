package ingest

import (
	"encoding/json"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseDefender reads Microsoft Graph security alerts (v2,
// microsoft.graph.security.alert) as Defender XDR / Graph return them:
// id, title, severity, detectorId, detectionSource, createdDateTime,
// firstActivityDateTime, evidence[]. A Graph list response
// ({"@odata.context":…, "value":[…]}) is read as a batch of its values.
//
// Host, User, URL, FileHash and Process come from the first device, user,
// url, file and process evidence; every evidence item adds observables.
func ParseDefender(body []byte) ([]Alert, error) {
	items, err := splitJSON(body)
	if err != nil {
		return nil, err
	}
	if len(items) == 1 {
		var list struct {
			Value json.RawMessage `json:"value"`
			Title json.RawMessage `json:"title"`
		}
		if json.Unmarshal(items[0], &list) == nil && list.Title == nil &&
			len(list.Value) > 0 && list.Value[0] == '[' {
			body = list.Value
		}
	}
	return parseJSONItems(body, defenderItem)
}

func defenderItem(i int, m map[string]any, raw json.RawMessage) (*Alert, error) {
	a := &Alert{
		EventTime:      parseTime(str(m, "firstActivityDateTime", "createdDateTime")),
		SourceEventID:  str(m, "id"),
		NativeSeverity: str(m, "severity"),
		RuleID:         str(m, "detectorId"),
		RuleName:       str(m, "title"),
		Title:          str(m, "title"),
	}
	if a.Title == "" && a.SourceEventID == "" {
		return nil, itemErr(i, "title", "missing: not a Graph security alert (no title or id)")
	}
	a.Severity = core.S3
	if s, ok := defenderSeverity(a.NativeSeverity); ok {
		a.Severity = s
	}
	ev, ok := m["evidence"]
	if !ok || ev == nil {
		ev = []any{}
	}
	list, ok := ev.([]any)
	if !ok {
		return nil, itemErr(i, "evidence", "must be an array")
	}
	var extra []Observable
	add := func(typ, v string) {
		if v != "" {
			extra = append(extra, Observable{typ, v})
		}
	}
	first := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	for _, e := range list {
		e, ok := e.(map[string]any)
		if !ok {
			continue
		}
		t := str(e, "@odata.type")
		t = strings.TrimPrefix(t[strings.LastIndex(t, ".")+1:], "#")
		switch t {
		case "deviceEvidence":
			h := str(e, "deviceDnsName", "hostName")
			first(&a.Host, h)
			add(ObsHost, h)
			for _, ip := range arr(e, "ipInterfaces") {
				add(ObsIP, scalar(ip))
			}
		case "userEvidence":
			u := defenderUser(obj(e, "userAccount"))
			first(&a.User, u)
			add(ObsUser, u)
		case "ipEvidence":
			add(ObsIP, str(e, "ipAddress"))
		case "urlEvidence":
			first(&a.URL, str(e, "url"))
			add(ObsURL, str(e, "url"))
		case "fileEvidence", "fileHashEvidence":
			first(&a.FileHash, str(e, "fileDetails.sha256", "fileDetails.sha1", "value"))
			add(ObsFilename, str(e, "fileDetails.fileName"))
			add(ObsHash, str(e, "fileDetails.sha256"))
			add(ObsHash, str(e, "fileDetails.sha1"))
			add(ObsHash, str(e, "value"))
		case "processEvidence":
			first(&a.Process, str(e, "imageFile.fileName"))
			add(ObsHash, str(e, "imageFile.sha256"))
			add(ObsUser, defenderUser(obj(e, "userAccount")))
		case "registryKeyEvidence", "registryValueEvidence":
			k := str(e, "registryKey")
			if h := str(e, "registryHive"); h != "" && k != "" && !strings.HasPrefix(strings.ToUpper(k), "HK") {
				k = h + `\` + k
			}
			add(ObsRegistryKey, k)
		case "mailboxEvidence":
			add(ObsEmail, str(e, "primaryAddress"))
		case "analyzedMessageEvidence":
			add(ObsEmail, str(e, "recipientEmailAddress"))
			add(ObsEmail, str(e, "p1Sender.emailAddress"))
			add(ObsIP, str(e, "senderIp"))
		case "cloudApplicationEvidence", "oauthApplicationEvidence":
			// names of applications, not indicators: kept in Raw
		}
	}
	a.finish("defender", raw, extra)
	a.setFingerprint(a.RuleID, a.Title, a.Host, a.User)
	return a, nil
}

// defenderUser names an account: the UPN, else DOMAIN\name, else the name.
func defenderUser(acc map[string]any) string {
	if acc == nil {
		return ""
	}
	if upn := str(acc, "userPrincipalName"); upn != "" {
		return upn
	}
	name := str(acc, "accountName")
	if d := str(acc, "domainName"); d != "" && name != "" {
		return d + `\` + name
	}
	return name
}

// defenderSeverity maps Defender's four levels one to one onto S1–S4:
// Defender has no "critical", and it keeps "high" for what it believes is
// an active, damaging attack.
func defenderSeverity(s string) (core.Severity, bool) {
	switch strings.ToLower(s) {
	case "high":
		return core.S1, true
	case "medium":
		return core.S2, true
	case "low":
		return core.S3, true
	case "informational":
		return core.S4, true
	}
	return "", false
}
