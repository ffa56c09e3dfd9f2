package share

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// MISPDocument is a MISP event as MISP exports and imports it.
type MISPDocument struct {
	Event MISPEvent `json:"Event"`
}

// MISPEvent is the part of a MISP event irdesk writes.
type MISPEvent struct {
	UUID          string          `json:"uuid"`
	Info          string          `json:"info"`
	Date          string          `json:"date"`
	ThreatLevelID string          `json:"threat_level_id"`
	Analysis      string          `json:"analysis"`
	Distribution  string          `json:"distribution"`
	Published     bool            `json:"published"`
	Timestamp     string          `json:"timestamp"`
	Orgc          MISPOrg         `json:"Orgc"`
	Tag           []MISPTag       `json:"Tag"`
	Attribute     []MISPAttribute `json:"Attribute"`
}

// MISPOrg names the creating organisation.
type MISPOrg struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

// MISPTag is a tag such as "tlp:amber".
type MISPTag struct {
	Name string `json:"name"`
}

// MISPAttribute is one indicator or observation of an event.
type MISPAttribute struct {
	UUID         string    `json:"uuid"`
	Type         string    `json:"type"`
	Category     string    `json:"category"`
	Value        string    `json:"value"`
	ToIDS        bool      `json:"to_ids"`
	Distribution string    `json:"distribution"`
	Timestamp    string    `json:"timestamp"`
	Comment      string    `json:"comment,omitempty"`
	Tag          []MISPTag `json:"Tag,omitempty"`
}

// JSON encodes the document without HTML escaping.
func (d *MISPDocument) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// mispDistribution maps a TLP level to MISP's distribution: red stays in
// our organisation, amber in this community, green reaches connected
// communities, clear all of them.
func mispDistribution(tlp string) string {
	switch tlp {
	case "clear":
		return "3"
	case "green":
		return "2"
	case "amber", "amber+strict":
		return "1"
	}
	return "0"
}

// mispInherit is the attribute distribution "as the event".
const mispInherit = "5"

// mispType gives the MISP attribute type and category of an observable;
// ok is false for values MISP has no type for.
func mispType(o core.Observable) (typ, category string, ok bool) {
	switch o.Type {
	case ingest.ObsIP:
		return "ip-dst", "Network activity", true
	case ingest.ObsDomain:
		return "domain", "Network activity", true
	case ingest.ObsURL:
		return "url", "Network activity", true
	case ingest.ObsHash:
		if t := ingest.HashType(o.Value); t != "" {
			return t, "Payload delivery", true
		}
	case ingest.ObsEmail:
		return "email-src", "Payload delivery", true
	case ingest.ObsFilename:
		return "filename", "Payload delivery", true
	case ingest.ObsRegistryKey:
		return "regkey", "Persistence mechanism", true
	case ingest.ObsUser:
		return "target-user", "Targeting data", true
	case ingest.ObsHost:
		return "target-machine", "Targeting data", true
	}
	return "", "", false
}

func tlpTag(level string) MISPTag { return MISPTag{Name: "tlp:" + level} }

// MISPEventOf builds the MISP event of one incident: the incident's
// title, date, threat level (S1/S2 high, S3 medium, S4 low) and analysis
// state (closed: completed, else ongoing), TLP and PAP tags, and one
// attribute per observable, to_ids for those marked IOC. An attribute
// marked stricter than the export carries its own tag and distribution.
// Host and user observables and private addresses are left out unless
// IncludeInternal.
func MISPEventOf(inc *core.Incident, obs []core.IncidentObservable, opt ExportOptions) (*MISPDocument, error) {
	if err := opt.Normalize(); err != nil {
		return nil, err
	}
	text := scrubber{}
	if !opt.IncludeInternal {
		text = newScrubber(inc, obs)
	}
	ts := strconv.FormatInt(inc.UpdatedAt.Unix(), 10)
	ev := MISPEvent{
		UUID:          uuid5(irdeskNamespace, "misp-event|"+opt.Org+"|"+inc.Key),
		Info:          text.clean(inc.Title),
		Date:          inc.CreatedAt.UTC().Format("2006-01-02"),
		ThreatLevelID: "3",
		Analysis:      "1",
		Distribution:  mispDistribution(opt.TLP),
		Timestamp:     ts,
		Orgc:          MISPOrg{Name: opt.Org, UUID: uuid5(irdeskNamespace, "org|"+opt.Org)},
		Tag:           []MISPTag{tlpTag(opt.TLP)},
		Attribute:     []MISPAttribute{},
	}
	switch inc.Severity {
	case core.S1, core.S2:
		ev.ThreatLevelID = "1"
	case core.S3:
		ev.ThreatLevelID = "2"
	}
	if inc.Phase == core.PhaseClosed {
		ev.Analysis = "2"
	}
	if opt.PAP != "" {
		ev.Tag = append(ev.Tag, MISPTag{Name: "PAP:" + strings.ToUpper(opt.PAP)})
	}
	seen := map[string]bool{}
	for _, o := range obs {
		if InternalObservable(o.Observable) && !opt.IncludeInternal {
			continue
		}
		typ, cat, ok := mispType(o.Observable)
		if !ok {
			continue
		}
		key := typ + "|" + o.Value
		if seen[key] {
			continue
		}
		seen[key] = true
		a := MISPAttribute{
			UUID: uuid5(irdeskNamespace, "misp-attribute|"+opt.Org+"|"+inc.Key+"|"+key),
			Type: typ, Category: cat, Value: o.Value, ToIDS: o.IOC, Distribution: mispInherit, Timestamp: ts,
		}
		if tlp := Stricter(opt.TLP, o.TLP); tlp != opt.TLP {
			a.Tag = []MISPTag{tlpTag(tlp)}
			a.Distribution = mispDistribution(tlp)
		}
		ev.Attribute = append(ev.Attribute, a)
	}
	return &MISPDocument{Event: ev}, nil
}
