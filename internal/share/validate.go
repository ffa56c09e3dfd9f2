package share

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// ValidationError lists every way a bundle breaks STIX 2.1, each as
// "objects[3].id: ...".
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "not valid STIX 2.1: " + strings.Join(e.Problems, "; ")
}

// Unwrap makes errors.Is(err, core.ErrInvalid) hold.
func (e *ValidationError) Unwrap() error { return core.ErrInvalid }

// Object kinds, by type, as the specification groups them.
var (
	sdoTypes = map[string]bool{"attack-pattern": true, "campaign": true, "course-of-action": true, "grouping": true,
		"identity": true, "incident": true, "indicator": true, "infrastructure": true, "intrusion-set": true,
		"location": true, "malware": true, "malware-analysis": true, "note": true, "observed-data": true,
		"opinion": true, "report": true, "threat-actor": true, "tool": true, "vulnerability": true}
	sroTypes = map[string]bool{"relationship": true, "sighting": true}
	scoTypes = map[string]bool{"artifact": true, "autonomous-system": true, "directory": true, "domain-name": true,
		"email-addr": true, "email-message": true, "file": true, "ipv4-addr": true, "ipv6-addr": true,
		"mac-addr": true, "mutex": true, "network-traffic": true, "process": true, "software": true, "url": true,
		"user-account": true, "windows-registry-key": true, "x509-certificate": true}
)

// requiredProps are the properties each type must have beyond the
// common ones (section 3.2 and the type's own section).
var requiredProps = map[string][]string{
	"identity":           {"name"},
	"incident":           {"name"},
	"indicator":          {"pattern", "pattern_type", "valid_from"},
	"observed-data":      {"first_observed", "last_observed", "number_observed"},
	"relationship":       {"relationship_type", "source_ref", "target_ref"},
	"sighting":           {"sighting_of_ref"},
	"attack-pattern":     {"name"},
	"campaign":           {"name"},
	"course-of-action":   {"name"},
	"grouping":           {"context", "object_refs"},
	"infrastructure":     {"name"},
	"intrusion-set":      {"name"},
	"malware":            {"is_family"},
	"note":               {"content", "object_refs"},
	"opinion":            {"opinion", "object_refs"},
	"report":             {"name", "published", "object_refs"},
	"threat-actor":       {"name"},
	"tool":               {"name"},
	"vulnerability":      {"name"},
	"ipv4-addr":          {"value"},
	"ipv6-addr":          {"value"},
	"domain-name":        {"value"},
	"url":                {"value"},
	"email-addr":         {"value"},
	"mac-addr":           {"value"},
	"mutex":              {"name"},
	"autonomous-system":  {"number"},
	"directory":          {"path"},
	"software":           {"name"},
	"marking-definition": {"created"},
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// timestampRe is an RFC 3339 timestamp in UTC, as STIX requires ("Z",
// optional fraction).
var timestampRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

type validator struct {
	problems []string
	ids      map[string]bool
	refs     []pendingRef
}

type pendingRef struct {
	path, ref string
}

func (v *validator) add(path, format string, args ...any) {
	if len(v.problems) < 200 {
		v.problems = append(v.problems, path+": "+fmt.Sprintf(format, args...))
	}
}

// ValidateBundle checks a STIX 2.1 bundle against the rules of the
// specification that can be checked without the rest of the world:
// required common and per-type properties, identifiers of the form
// type--UUID (version 4 for domain, relationship and meta objects,
// version 5 for cyber-observables), RFC 3339 UTC timestamps with
// modified not before created, spec_version 2.1, references that
// resolve within the bundle or to the well-known TLP markings, and the
// syntax of STIX patterns (the subset ParsePattern reads). It returns
// a *ValidationError listing every problem, or nil.
func ValidateBundle(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return &ValidationError{Problems: []string{"$: malformed JSON: " + err.Error()}}
	}
	v := &validator{ids: map[string]bool{}}
	b, ok := root.(map[string]any)
	if !ok {
		v.add("$", "a bundle is a JSON object")
		return v.result()
	}
	if b["type"] != "bundle" {
		v.add("type", `must be "bundle"`)
	}
	v.id("id", b["id"], "bundle", 4)
	objs, ok := b["objects"].([]any)
	if b["objects"] != nil && !ok {
		v.add("objects", "must be a list")
	}
	versions := map[string]bool{}
	for i, o := range objs {
		path := fmt.Sprintf("objects[%d]", i)
		obj, ok := o.(map[string]any)
		if !ok {
			v.add(path, "must be an object")
			continue
		}
		v.object(path, obj)
		if id, ok := obj["id"].(string); ok {
			mod, _ := obj["modified"].(string)
			key := id + "|" + mod
			if versions[key] {
				v.add(path+".id", "%s appears twice with the same modified time", id)
			}
			versions[key] = true
			v.ids[id] = true
		}
	}
	for _, r := range v.refs {
		if v.ids[r.ref] {
			continue
		}
		if _, ok := knownTLP(r.ref); ok {
			continue
		}
		v.add(r.path, "%s is not in the bundle", r.ref)
	}
	return v.result()
}

func (v *validator) result() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// id checks "type--UUID" with the UUID version wanted (0: any).
func (v *validator) id(path string, val any, typ string, version byte) {
	s, ok := val.(string)
	if !ok {
		v.add(path, "is required (a string)")
		return
	}
	prefix, u, found := strings.Cut(s, "--")
	if !found || prefix != typ {
		v.add(path, "%q must be %s--<UUID>", s, typ)
		return
	}
	m := uuidRe.FindStringSubmatch(u)
	if m == nil {
		v.add(path, "%q does not end in an RFC 4122 UUID (lower-case)", s)
		return
	}
	if version != 0 && m[1][0] != '0'+version {
		v.add(path, "%q must be a version %d UUID", s, version)
	}
}

func (v *validator) timestamp(path string, val any) (time.Time, bool) {
	s, ok := val.(string)
	if !ok || !timestampRe.MatchString(s) {
		v.add(path, "must be an RFC 3339 timestamp in UTC (2026-11-23T09:00:00.000Z)")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v.add(path, "%q is not a valid time", s)
		return time.Time{}, false
	}
	return t, true
}

func (v *validator) ref(path string, val any, types ...string) {
	s, ok := val.(string)
	if !ok {
		v.add(path, "must be an identifier")
		return
	}
	typ, _, _ := strings.Cut(s, "--")
	if len(types) > 0 && !containsString(types, typ) {
		v.add(path, "%q must refer to a %s", s, strings.Join(types, " or "))
		return
	}
	v.id(path, s, typ, 0)
	v.refs = append(v.refs, pendingRef{path: path, ref: s})
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func (v *validator) object(path string, obj map[string]any) {
	typ, ok := obj["type"].(string)
	if !ok || !validTypeName(typ) {
		v.add(path+".type", "is required: 3–250 lower-case letters, digits and hyphens")
		return
	}
	isSCO := scoTypes[typ]
	isSDO := sdoTypes[typ] || sroTypes[typ] || (strings.HasPrefix(typ, "x-") && !isSCO)
	switch {
	case isSCO:
		v.id(path+".id", obj["id"], typ, 5)
		if sv, present := obj["spec_version"]; present && sv != "2.1" {
			v.add(path+".spec_version", `must be "2.1"`)
		}
	default:
		v.id(path+".id", obj["id"], typ, 4)
		if obj["spec_version"] != "2.1" {
			v.add(path+".spec_version", `is required and must be "2.1"`)
		}
	}
	for _, p := range requiredProps[typ] {
		if _, ok := obj[p]; !ok {
			v.add(path+"."+p, "is required for %s", typ)
		}
	}
	if isSDO {
		c, okc := v.timestamp(path+".created", obj["created"])
		m, okm := v.timestamp(path+".modified", obj["modified"])
		if okc && okm && m.Before(c) {
			v.add(path+".modified", "is before created")
		}
	} else if typ == "marking-definition" {
		v.timestamp(path+".created", obj["created"])
		_, hasDef := obj["definition"]
		_, hasType := obj["definition_type"]
		_, hasExt := obj["extensions"]
		if !hasExt && (!hasDef || !hasType) {
			v.add(path, "a marking definition needs definition_type and definition, or extensions")
		}
	}
	if cb, ok := obj["created_by_ref"]; ok {
		v.ref(path+".created_by_ref", cb, "identity")
	}
	if mr, ok := obj["object_marking_refs"]; ok {
		list, ok := mr.([]any)
		if !ok || len(list) == 0 {
			v.add(path+".object_marking_refs", "must be a non-empty list")
		}
		for i, r := range list {
			v.ref(fmt.Sprintf("%s.object_marking_refs[%d]", path, i), r, "marking-definition")
		}
	}
	if er, ok := obj["external_references"]; ok {
		list, ok := er.([]any)
		if !ok {
			v.add(path+".external_references", "must be a list")
		}
		for i, e := range list {
			m, ok := e.(map[string]any)
			if _, has := m["source_name"].(string); !ok || !has {
				v.add(fmt.Sprintf("%s.external_references[%d].source_name", path, i), "is required")
			}
		}
	}
	if c, ok := obj["confidence"]; ok {
		n, ok := c.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < 0 || i > 100 {
			v.add(path+".confidence", "must be a whole number from 0 to 100")
		}
	}
	switch typ {
	case "indicator":
		v.indicator(path, obj)
	case "observed-data":
		v.observedData(path, obj)
	case "relationship":
		if s, ok := obj["relationship_type"].(string); ok && !validTypeName(s) {
			v.add(path+".relationship_type", "must be lower-case letters, digits and hyphens")
		}
		if _, ok := obj["source_ref"]; ok {
			v.ref(path+".source_ref", obj["source_ref"])
		}
		if _, ok := obj["target_ref"]; ok {
			v.ref(path+".target_ref", obj["target_ref"])
		}
	case "sighting":
		if _, ok := obj["sighting_of_ref"]; ok {
			v.ref(path+".sighting_of_ref", obj["sighting_of_ref"])
		}
	case "identity", "incident":
		if s, ok := obj["name"].(string); obj["name"] != nil && (!ok || s == "") {
			v.add(path+".name", "must be a non-empty string")
		}
	case "ipv4-addr", "ipv6-addr":
		v.address(path, typ, obj["value"])
	case "domain-name", "url", "email-addr":
		if s, ok := obj["value"].(string); obj["value"] != nil && (!ok || s == "") {
			v.add(path+".value", "must be a non-empty string")
		}
	case "file":
		_, h := obj["hashes"]
		_, n := obj["name"]
		if !h && !n {
			v.add(path, "a file needs hashes or name")
		}
		if hs, ok := obj["hashes"]; ok {
			m, ok := hs.(map[string]any)
			if !ok || len(m) == 0 {
				v.add(path+".hashes", "must be a non-empty dictionary")
			}
			for k, val := range m {
				if s, ok := val.(string); !ok || s == "" {
					v.add(path+".hashes."+k, "must be a non-empty string")
				}
			}
		}
	}
}

func (v *validator) address(path, typ string, val any) {
	s, ok := val.(string)
	if !ok {
		return // already reported as missing, or not a string below
	}
	addr := s
	if p, err := netip.ParsePrefix(s); err == nil {
		addr = p.Addr().String()
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || (typ == "ipv4-addr") != a.Is4() {
		v.add(path+".value", "%q is not an %s value", s, typ)
	}
}

func (v *validator) indicator(path string, obj map[string]any) {
	from, okFrom := v.timestamp(path+".valid_from", obj["valid_from"])
	if vu, ok := obj["valid_until"]; ok {
		until, okUntil := v.timestamp(path+".valid_until", vu)
		if okFrom && okUntil && !until.After(from) {
			v.add(path+".valid_until", "must be after valid_from")
		}
	}
	pt, _ := obj["pattern_type"].(string)
	if obj["pattern_type"] != nil && pt == "" {
		v.add(path+".pattern_type", "must be a string")
	}
	pat, ok := obj["pattern"].(string)
	if obj["pattern"] != nil && !ok {
		v.add(path+".pattern", "must be a string")
		return
	}
	if pt == "stix" && ok {
		p, err := ParsePattern(pat)
		if err != nil {
			v.add(path+".pattern", "%v", err)
			return
		}
		for _, o := range p.Observations {
			for _, c := range o.Comparisons {
				if !scoTypes[c.ObjectType] && !strings.HasPrefix(c.ObjectType, "x-") {
					v.add(path+".pattern", "%q is not a cyber-observable type", c.ObjectType)
				}
			}
		}
	}
}

func (v *validator) observedData(path string, obj map[string]any) {
	first, ok1 := v.timestamp(path+".first_observed", obj["first_observed"])
	last, ok2 := v.timestamp(path+".last_observed", obj["last_observed"])
	if ok1 && ok2 && last.Before(first) {
		v.add(path+".last_observed", "is before first_observed")
	}
	if n, ok := obj["number_observed"]; ok {
		num, ok := n.(json.Number)
		i, err := num.Int64()
		if !ok || err != nil || i < 1 || i > 999_999_999 {
			v.add(path+".number_observed", "must be a whole number from 1 to 999999999")
		}
	}
	refs, hasRefs := obj["object_refs"]
	_, hasObjects := obj["objects"]
	if hasRefs == hasObjects {
		v.add(path, "observed-data needs object_refs (or the deprecated objects), not both")
	}
	if hasRefs {
		list, ok := refs.([]any)
		if !ok || len(list) == 0 {
			v.add(path+".object_refs", "must be a non-empty list")
		}
		for i, r := range list {
			v.ref(fmt.Sprintf("%s.object_refs[%d]", path, i), r)
		}
	}
}
