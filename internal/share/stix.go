package share

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// DefaultOrg names the exporting organisation when none is configured.
const DefaultOrg = "irdesk"

// ExportOptions say how an incident leaves the desk.
type ExportOptions struct {
	// Org is the exporting organisation's name (DefaultOrg if empty).
	Org string
	// TLP is the marking of the whole export (required: clear, green,
	// amber, amber+strict or red). An observable marked stricter keeps
	// its own marking.
	TLP string
	// PAP, if set, adds a Permissible Actions Protocol statement.
	PAP string
	// IncludeInternal keeps host and user observables and private
	// addresses. They name our own machines, networks and people — the
	// victim's data, not the attacker's — so they stay out unless asked for.
	IncludeInternal bool
}

// Normalize checks the options and fills the defaults; errors name the
// query parameter at fault.
func (o *ExportOptions) Normalize() error {
	if strings.TrimSpace(o.Org) == "" {
		o.Org = DefaultOrg
	}
	tlp, ok := ParseTLP(o.TLP)
	if !ok {
		return core.Invalid("tlp", "give the TLP of the export: clear, green, amber, amber+strict or red")
	}
	o.TLP = tlp
	if o.PAP != "" {
		pap, ok := ParsePAP(o.PAP)
		if !ok {
			return core.Invalid("pap", "unknown PAP %q (clear, green, amber or red)", o.PAP)
		}
		o.PAP = pap
	}
	return nil
}

// Internal reports whether an observable type names our own side (hosts,
// user names) rather than the attacker's.
func Internal(typ string) bool { return typ == ingest.ObsHost || typ == ingest.ObsUser }

// InternalObservable reports whether an observable is our own side's:
// a host or user name, or an address of a private, loopback or
// link-local network (ours, and meaningless to anyone else).
func InternalObservable(o core.Observable) bool {
	if Internal(o.Type) {
		return true
	}
	if o.Type == ingest.ObsIP {
		if a, err := netip.ParseAddr(o.Value); err == nil {
			return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified()
		}
	}
	return false
}

// Bundle is a STIX 2.1 bundle. Objects are maps so that each carries
// exactly the properties the specification names, in a stable order.
type Bundle struct {
	Type    string           `json:"type"`
	ID      string           `json:"id"`
	Objects []map[string]any `json:"objects"`
}

// JSON encodes the bundle without HTML escaping (a URL keeps its "&").
func (b *Bundle) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stixTime is the STIX timestamp form: UTC, millisecond precision.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// identityCreated is the fixed creation time of the exporting identity,
// so every export names the same version of it.
const identityCreated = "2020-01-01T00:00:00.000Z"

// sco is one observable as a STIX cyber-observable object, with the
// pattern an indicator of it carries.
type sco struct {
	obj     map[string]any
	pattern string
}

// patternString quotes a value as a STIX pattern string literal.
func patternString(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// stixHashKeys names hash algorithms as the STIX hash-algorithm
// vocabulary does, by irdesk's length-based names.
var stixHashKeys = map[string]string{"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}

// toSCO maps an observable to its cyber-observable object; ok is false
// for values STIX has no object for.
func toSCO(o core.Observable) (sco, bool) {
	simple := func(typ, prop string) (sco, bool) {
		contrib := map[string]any{prop: o.Value}
		return sco{
			obj:     map[string]any{"type": typ, "spec_version": "2.1", "id": scoID(typ, contrib), prop: o.Value},
			pattern: "[" + typ + ":" + prop + " = " + patternString(o.Value) + "]",
		}, true
	}
	switch o.Type {
	case ingest.ObsIP:
		a, err := netip.ParseAddr(o.Value)
		if err != nil {
			return sco{}, false
		}
		if a.Is4() {
			return simple("ipv4-addr", "value")
		}
		return simple("ipv6-addr", "value")
	case ingest.ObsHost:
		if a, err := netip.ParseAddr(o.Value); err == nil {
			if a.Is4() {
				return simple("ipv4-addr", "value")
			}
			return simple("ipv6-addr", "value")
		}
		return simple("domain-name", "value")
	case ingest.ObsDomain:
		return simple("domain-name", "value")
	case ingest.ObsURL:
		return simple("url", "value")
	case ingest.ObsEmail:
		return simple("email-addr", "value")
	case ingest.ObsFilename:
		return simple("file", "name")
	case ingest.ObsRegistryKey:
		return simple("windows-registry-key", "key")
	case ingest.ObsUser:
		return simple("user-account", "user_id")
	case ingest.ObsHash:
		alg := stixHashKeys[ingest.HashType(o.Value)]
		if alg == "" {
			return sco{}, false
		}
		hashes := map[string]any{alg: o.Value}
		prop := alg
		if strings.Contains(alg, "-") {
			prop = "'" + alg + "'"
		}
		return sco{
			obj:     map[string]any{"type": "file", "spec_version": "2.1", "id": scoID("file", map[string]any{"hashes": hashes}), "hashes": hashes},
			pattern: "[file:hashes." + prop + " = " + patternString(o.Value) + "]",
		}, true
	}
	return sco{}, false
}

func tlpMarking(level string) map[string]any {
	return map[string]any{
		"type": "marking-definition", "spec_version": "2.1", "id": tlpMarkingIDs[level],
		"created": tlpCreated, "name": "TLP:" + strings.ToUpper(level),
		"extensions": map[string]any{
			tlpExtensionID: map[string]any{"extension_type": "property-extension", "tlp_2_0": level},
		},
	}
}

func papMarking(level, identity string) map[string]any {
	name := "PAP:" + strings.ToUpper(level)
	return map[string]any{
		"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--" + uuid4From("pap", level),
		"created": identityCreated, "created_by_ref": identity, "name": name,
		"definition_type": "statement", "definition": map[string]any{"statement": name},
	}
}

// STIXBundle builds the STIX 2.1 bundle of one incident: who exports it,
// the incident, each observable as a cyber-observable object grouped in
// one observed-data, an indicator for each observable marked IOC, and
// the relationships tying them to the incident. Identifiers are
// deterministic, so exporting the same incident twice gives the same
// objects. See ExportOptions for markings and what is left out.
func STIXBundle(inc *core.Incident, obs []core.IncidentObservable, opt ExportOptions) (*Bundle, error) {
	if err := opt.Normalize(); err != nil {
		return nil, err
	}
	created, modified := stixTime(inc.CreatedAt), stixTime(inc.UpdatedAt)
	if inc.UpdatedAt.Before(inc.CreatedAt) {
		modified = created
	}
	identity := "identity--" + uuid4From("identity", opt.Org)
	markingsFor := func(tlp string) []string {
		refs := []string{tlpMarkingIDs[Stricter(opt.TLP, tlp)]}
		if opt.PAP != "" {
			refs = append(refs, "marking-definition--"+uuid4From("pap", opt.PAP))
		}
		return refs
	}
	used := map[string]bool{opt.TLP: true}
	text := scrubber{}
	if !opt.IncludeInternal {
		text = newScrubber(inc, obs)
	}

	var objects []map[string]any
	incidentID := "incident--" + uuid4From("incident", opt.Org, inc.Key)
	incident := map[string]any{
		"type": "incident", "spec_version": "2.1", "id": incidentID, "created": created, "modified": modified,
		"created_by_ref": identity, "name": text.clean(inc.Title),
		"external_references": []map[string]any{{"source_name": "irdesk", "external_id": inc.Key}},
		"object_marking_refs": markingsFor(""),
	}
	if inc.Description != "" {
		incident["description"] = text.clean(inc.Description)
	}
	var scos, indicators, rels []map[string]any
	var scoIDs []string
	seen := map[string]bool{}
	validFrom := created
	for _, o := range obs {
		if InternalObservable(o.Observable) && !opt.IncludeInternal {
			continue
		}
		s, ok := toSCO(o.Observable)
		if !ok {
			continue
		}
		tlp := Stricter(opt.TLP, o.TLP)
		used[tlp] = true
		id := s.obj["id"].(string)
		if !seen[id] {
			seen[id] = true
			s.obj["object_marking_refs"] = markingsFor(tlp)
			scos = append(scos, s.obj)
			scoIDs = append(scoIDs, id)
		}
		if !o.IOC {
			continue
		}
		indID := "indicator--" + uuid4From("indicator", opt.Org, inc.Key, o.Type, o.Value)
		indicators = append(indicators, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": indID, "created": created, "modified": modified,
			"created_by_ref": identity, "name": o.Type + " " + o.Value,
			"indicator_types": []string{"malicious-activity"},
			"pattern":         s.pattern, "pattern_type": "stix", "pattern_version": "2.1", "valid_from": validFrom,
			"object_marking_refs": markingsFor(tlp),
		})
		rels = append(rels, map[string]any{
			"type": "relationship", "spec_version": "2.1", "id": "relationship--" + uuid4From("indicates", indID, incidentID),
			"created": created, "modified": modified, "created_by_ref": identity,
			"relationship_type": "indicates", "source_ref": indID, "target_ref": incidentID,
			"object_marking_refs": markingsFor(tlp),
		})
	}
	var observed map[string]any
	if len(scoIDs) > 0 {
		first := inc.CreatedAt
		if t := inc.Facts.OccurredAt; t != nil && t.Before(first) {
			first = *t
		}
		if t := inc.Timestamps.DetectedAt; t != nil && t.Before(first) {
			first = *t
		}
		last := inc.UpdatedAt
		if last.Before(first) {
			last = first
		}
		odID := "observed-data--" + uuid4From("observed-data", opt.Org, inc.Key)
		observed = map[string]any{
			"type": "observed-data", "spec_version": "2.1", "id": odID, "created": created, "modified": modified,
			"created_by_ref": identity, "first_observed": stixTime(first), "last_observed": stixTime(last),
			"number_observed": 1, "object_refs": scoIDs, "object_marking_refs": markingsFor(""),
		}
		rels = append(rels, map[string]any{
			"type": "relationship", "spec_version": "2.1", "id": "relationship--" + uuid4From("related-to", odID, incidentID),
			"created": created, "modified": modified, "created_by_ref": identity,
			"relationship_type": "related-to", "source_ref": odID, "target_ref": incidentID,
			"object_marking_refs": markingsFor(""),
		})
	}

	objects = append(objects, map[string]any{
		"type": "identity", "spec_version": "2.1", "id": identity, "created": identityCreated, "modified": identityCreated,
		"name": opt.Org, "identity_class": "organization",
	})
	for _, level := range core.TLPs {
		if used[level] {
			objects = append(objects, tlpMarking(level))
		}
	}
	if opt.PAP != "" {
		objects = append(objects, papMarking(opt.PAP, identity))
	}
	objects = append(objects, incident)
	objects = append(objects, scos...)
	if observed != nil {
		objects = append(objects, observed)
	}
	objects = append(objects, indicators...)
	objects = append(objects, rels...)
	b := &Bundle{Type: "bundle", Objects: objects,
		ID: "bundle--" + uuid4From("bundle", opt.Org, inc.Key, modified, opt.TLP, opt.PAP, boolString(opt.IncludeInternal))}
	return b, nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// scrubber blanks our own host and user names (the host and user
// observables, the affected systems) out of free text that leaves with
// an export, since include_internal=false must mean they do not leave in
// a title or a description either. Names shorter than three characters
// are left alone: they would blank parts of ordinary words.
type scrubber struct{ re *regexp.Regexp }

func newScrubber(inc *core.Incident, obs []core.IncidentObservable) scrubber {
	var names []string
	add := func(s string) {
		if s = strings.TrimSpace(s); utf8.RuneCountInString(s) >= 3 && !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	for _, o := range obs {
		if Internal(o.Type) {
			add(o.Value)
		}
	}
	for _, s := range inc.AffectedSystems {
		add(s)
	}
	if len(names) == 0 {
		return scrubber{}
	}
	// Longest first, so a name is not half-blanked by a shorter one inside it.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return scrubber{re: regexp.MustCompile(`(?i)` + strings.Join(quoted, "|"))}
}

func (s scrubber) clean(text string) string {
	if s.re == nil {
		return text
	}
	return s.re.ReplaceAllLiteralString(text, "[internal]")
}
