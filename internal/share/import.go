package share

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// Entry is one indicator shared by others, as the watchlist keeps it.
type Entry struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Source names the feed or partner it came from.
	Source string `json:"source"`
	// Confidence is 0–100 (0: not given).
	Confidence int `json:"confidence"`
	// TLP is the marking it came with ("" if none).
	TLP       string     `json:"tlp"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// ImportOptions say where shared intelligence comes from and how long
// its indicators stay on watch when it does not say.
type ImportOptions struct {
	Source string
	Now    time.Time
	// DefaultTTL is the life of an indicator without an end of its own
	// (DefaultTTL if zero).
	DefaultTTL time.Duration
}

// DefaultTTL is how long an indicator without a valid_until is watched:
// addresses and domains change hands; a month is the usual shelf life.
const DefaultTTL = 30 * 24 * time.Hour

// MaxImportBytes bounds a file to import.
const MaxImportBytes = 20 << 20

// MaxEntries bounds the entries of one import.
const MaxEntries = 100_000

// ImportResult is what an import file yields.
type ImportResult struct {
	Entries []Entry `json:"entries"`
	// Skipped counts indicators left out: patterns irdesk cannot watch
	// for, values that are not valid observables, revoked or expired
	// indicators, MISP attributes not meant for detection.
	Skipped int `json:"skipped"`
}

// collector gathers entries, one per (type, value), keeping the highest
// confidence, the strictest TLP and the latest expiry of the duplicates.
type collector struct {
	opt   ImportOptions
	index map[core.Observable]int
	res   ImportResult
}

func newCollector(opt ImportOptions) *collector {
	if opt.DefaultTTL <= 0 {
		opt.DefaultTTL = DefaultTTL
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	return &collector{opt: opt, index: map[core.Observable]int{}, res: ImportResult{Entries: []Entry{}}}
}

func (c *collector) add(typ, value string, confidence int, tlp string, expires *time.Time) {
	v, err := ingest.NormalizeObservable(typ, value)
	if err != nil {
		c.res.Skipped++
		return
	}
	if expires == nil {
		t := c.opt.Now.Add(c.opt.DefaultTTL).UTC()
		expires = &t
	} else if !expires.After(c.opt.Now) {
		c.res.Skipped++
		return
	}
	c.keep(Entry{Type: typ, Value: v, Source: c.opt.Source, Confidence: confidence, TLP: tlp, ExpiresAt: expires})
}

// keep adds a normalised entry, merging it into one of the same value.
func (c *collector) keep(n Entry) {
	key := core.Observable{Type: n.Type, Value: n.Value}
	confidence, tlp, expires := n.Confidence, n.TLP, n.ExpiresAt
	if i, ok := c.index[key]; ok {
		e := &c.res.Entries[i]
		e.Confidence = max(e.Confidence, confidence)
		e.TLP = Stricter(e.TLP, tlp)
		if e.ExpiresAt.Before(*expires) {
			e.ExpiresAt = expires
		}
		return
	}
	if len(c.res.Entries) >= MaxEntries {
		c.res.Skipped++
		return
	}
	c.index[key] = len(c.res.Entries)
	c.res.Entries = append(c.res.Entries, n)
}

// decodeJSON reads exactly one JSON value; a syntax error names the byte.
func decodeJSON(data []byte) (any, error) {
	if len(data) > MaxImportBytes {
		return nil, core.Invalid("body", "larger than %d bytes", MaxImportBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, core.Invalid("body", "malformed JSON at byte %d: %v", se.Offset, err)
		}
		if errors.Is(err, io.EOF) {
			return nil, core.Invalid("body", "is empty")
		}
		return nil, core.Invalid("body", "malformed JSON: %v", err)
	}
	if dec.More() {
		return nil, core.Invalid("body", "has data after the JSON value")
	}
	return v, nil
}

func asObject(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, core.Invalid(path, "must be a JSON object")
	}
	return m, nil
}

func asList(v any, path string) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, core.Invalid(path, "must be a list")
	}
	return l, nil
}

func optString(m map[string]any, key, path string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", core.Invalid(path+"."+key, "must be a string")
	}
	return s, nil
}

// --- STIX ---

// stixTypes maps a cyber-observable property to the observable type it
// holds.
func stixProperty(objType string, path []string) (string, bool) {
	p := strings.Join(path, ".")
	switch objType + ":" + p {
	case "ipv4-addr:value", "ipv6-addr:value":
		return ingest.ObsIP, true
	case "domain-name:value":
		return ingest.ObsDomain, true
	case "url:value":
		return ingest.ObsURL, true
	case "email-addr:value", "email-message:from_ref.value", "email-message:sender_ref.value":
		return ingest.ObsEmail, true
	case "file:name":
		return ingest.ObsFilename, true
	case "windows-registry-key:key":
		return ingest.ObsRegistryKey, true
	case "user-account:user_id", "user-account:account_login":
		return ingest.ObsUser, true
	}
	if objType == "file" && len(path) == 2 && path[0] == "hashes" {
		switch strings.ToUpper(strings.ReplaceAll(path[1], "-", "")) {
		case "MD5", "SHA1", "SHA256":
			return ingest.ObsHash, true
		}
	}
	return "", false
}

// ParseSTIX reads a STIX 2.1 bundle into watchlist entries: indicators
// with STIX patterns of "=" comparisons (alone or joined by OR), and the
// cyber-observables that observed-data objects refer to (or, in the
// deprecated form, carry). Confidence is the object's; TLP the strictest
// of its TLP markings (TLP 2.0 or 1.0, well-known or defined in the
// bundle); expiry the indicator's valid_until or opt.DefaultTTL from now.
// Object types irdesk does not read are skipped; a body that is not a
// bundle is core.ErrInvalid naming the path at fault.
func ParseSTIX(data []byte, opt ImportOptions) (ImportResult, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return ImportResult{}, err
	}
	b, err := asObject(root, "body")
	if err != nil {
		return ImportResult{}, err
	}
	if b["type"] != "bundle" {
		return ImportResult{}, core.Invalid("type", `must be "bundle" (a STIX 2.1 bundle)`)
	}
	list, err := asList(b["objects"], "objects")
	if err != nil {
		return ImportResult{}, err
	}
	objs := make([]map[string]any, len(list))
	byID := map[string]map[string]any{}
	markings := map[string]string{}
	for i, o := range list {
		path := fmt.Sprintf("objects[%d]", i)
		m, err := asObject(o, path)
		if err != nil {
			return ImportResult{}, err
		}
		for _, k := range []string{"type", "id"} {
			if _, err := optString(m, k, path); err != nil {
				return ImportResult{}, err
			}
		}
		objs[i] = m
		if id, _ := m["id"].(string); id != "" {
			byID[id] = m
		}
		// A marking without an id cannot be referred to, so it marks
		// nothing (and must not stop the import).
		if id, _ := m["id"].(string); id != "" && m["type"] == "marking-definition" {
			if level := markingTLP(m); level != "" {
				markings[id] = level
			}
		}
	}
	c := newCollector(opt)
	for i, m := range objs {
		path := fmt.Sprintf("objects[%d]", i)
		if revoked, _ := m["revoked"].(bool); revoked {
			continue
		}
		tlp, err := objectTLP(m, markings, path)
		if err != nil {
			return ImportResult{}, err
		}
		conf, err := confidence(m, path)
		if err != nil {
			return ImportResult{}, err
		}
		switch m["type"] {
		case "indicator":
			if err := stixIndicator(c, m, path, conf, tlp); err != nil {
				return ImportResult{}, err
			}
		case "observed-data":
			refs, err := asList(m["object_refs"], path+".object_refs")
			if err != nil {
				return ImportResult{}, err
			}
			for j, r := range refs {
				id, ok := r.(string)
				if !ok {
					return ImportResult{}, core.Invalid(fmt.Sprintf("%s.object_refs[%d]", path, j), "must be an identifier")
				}
				if sco, ok := byID[id]; ok {
					if err := stixSCO(c, sco, fmt.Sprintf("%s.object_refs[%d]", path, j), conf, tlp, markings); err != nil {
						return ImportResult{}, err
					}
				}
			}
			if embedded, ok := m["objects"]; ok {
				em, err := asObject(embedded, path+".objects")
				if err != nil {
					return ImportResult{}, err
				}
				for k, sco := range em {
					so, err := asObject(sco, path+".objects."+k)
					if err != nil {
						return ImportResult{}, err
					}
					if err := stixSCO(c, so, path+".objects."+k, conf, tlp, markings); err != nil {
						return ImportResult{}, err
					}
				}
			}
		}
	}
	return c.res, nil
}

// markingTLP reads the TLP level a marking definition in a bundle
// defines: by the TLP 2.0 extension, or the TLP 1.0 definition.
func markingTLP(m map[string]any) string {
	if id, _ := m["id"].(string); id != "" {
		if level, ok := knownTLP(id); ok {
			return level
		}
	}
	if ext, ok := m["extensions"].(map[string]any); ok {
		if t, ok := ext[tlpExtensionID].(map[string]any); ok {
			if s, ok := t["tlp_2_0"].(string); ok {
				if level, ok := ParseTLP(s); ok {
					return level
				}
			}
		}
	}
	if m["definition_type"] == "tlp" {
		if d, ok := m["definition"].(map[string]any); ok {
			if s, ok := d["tlp"].(string); ok {
				if level, ok := ParseTLP(s); ok {
					return level
				}
			}
		}
	}
	return ""
}

func objectTLP(m map[string]any, markings map[string]string, path string) (string, error) {
	refs, err := asList(m["object_marking_refs"], path+".object_marking_refs")
	if err != nil {
		return "", err
	}
	tlp := ""
	for _, r := range refs {
		id, _ := r.(string)
		level, ok := markings[id]
		if !ok {
			level, _ = knownTLP(id)
		}
		tlp = Stricter(tlp, level)
	}
	return tlp, nil
}

func confidence(m map[string]any, path string) (int, error) {
	v, ok := m["confidence"]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, core.Invalid(path+".confidence", "must be a number")
	}
	i, err := n.Int64()
	if err != nil || i < 0 || i > 100 {
		return 0, core.Invalid(path+".confidence", "must be a whole number from 0 to 100")
	}
	return int(i), nil
}

func stixIndicator(c *collector, m map[string]any, path string, conf int, tlp string) error {
	pt, err := optString(m, "pattern_type", path)
	if err != nil {
		return err
	}
	pat, err := optString(m, "pattern", path)
	if err != nil {
		return err
	}
	if (pt != "" && pt != "stix") || pat == "" {
		c.res.Skipped++
		return nil
	}
	var expires *time.Time
	vu, err := optString(m, "valid_until", path)
	if err != nil {
		return err
	}
	if vu != "" {
		t, err := time.Parse(time.RFC3339Nano, vu)
		if err != nil {
			return core.Invalid(path+".valid_until", "must be an RFC 3339 time")
		}
		expires = &t
	}
	p, err := ParsePattern(pat)
	if err != nil {
		c.res.Skipped++
		return nil
	}
	comps := p.Indicators()
	if len(comps) == 0 {
		c.res.Skipped++
	}
	for _, cmp := range comps {
		typ, ok := stixProperty(cmp.ObjectType, cmp.Path)
		if !ok {
			c.res.Skipped++
			continue
		}
		c.add(typ, cmp.Value, conf, tlp, expires)
	}
	return nil
}

// stixSCO takes the watchable values of one cyber-observable.
func stixSCO(c *collector, m map[string]any, path string, conf int, tlp string, markings map[string]string) error {
	own, err := objectTLP(m, markings, path)
	if err != nil {
		return err
	}
	tlp = Stricter(tlp, own)
	typ, _ := m["type"].(string)
	str := func(key string) (string, error) { return optString(m, key, path) }
	addProp := func(key, obsType string) error {
		s, err := str(key)
		if err == nil && s != "" {
			c.add(obsType, s, conf, tlp, nil)
		}
		return err
	}
	switch typ {
	case "ipv4-addr", "ipv6-addr":
		return addProp("value", ingest.ObsIP)
	case "domain-name":
		return addProp("value", ingest.ObsDomain)
	case "url":
		return addProp("value", ingest.ObsURL)
	case "email-addr":
		return addProp("value", ingest.ObsEmail)
	case "windows-registry-key":
		return addProp("key", ingest.ObsRegistryKey)
	case "user-account":
		return addProp("user_id", ingest.ObsUser)
	case "file":
		if err := addProp("name", ingest.ObsFilename); err != nil {
			return err
		}
		if h, ok := m["hashes"]; ok {
			hashes, err := asObject(h, path+".hashes")
			if err != nil {
				return err
			}
			for alg, v := range hashes {
				s, ok := v.(string)
				if !ok {
					return core.Invalid(path+".hashes."+alg, "must be a string")
				}
				if _, ok := stixProperty("file", []string{"hashes", alg}); ok {
					c.add(ingest.ObsHash, s, conf, tlp, nil)
				}
			}
		}
	}
	return nil
}

// --- MISP ---

// mispTypes maps MISP attribute types to observable types; a composite
// type ("domain|ip") maps each of its parts, "" for a part not kept.
var mispTypes = map[string][]string{
	"ip-src": {ingest.ObsIP}, "ip-dst": {ingest.ObsIP},
	"ip-src|port": {ingest.ObsIP, ""}, "ip-dst|port": {ingest.ObsIP, ""},
	"domain": {ingest.ObsDomain}, "hostname": {ingest.ObsDomain},
	"domain|ip": {ingest.ObsDomain, ingest.ObsIP}, "hostname|port": {ingest.ObsDomain, ""},
	"url": {ingest.ObsURL},
	"md5": {ingest.ObsHash}, "sha1": {ingest.ObsHash}, "sha256": {ingest.ObsHash},
	"filename|md5": {ingest.ObsFilename, ingest.ObsHash}, "filename|sha1": {ingest.ObsFilename, ingest.ObsHash},
	"filename|sha256": {ingest.ObsFilename, ingest.ObsHash},
	"filename":        {ingest.ObsFilename},
	"email":           {ingest.ObsEmail}, "email-src": {ingest.ObsEmail}, "email-dst": {ingest.ObsEmail},
	"email-reply-to": {ingest.ObsEmail},
	"regkey":         {ingest.ObsRegistryKey}, "regkey|value": {ingest.ObsRegistryKey, ""},
	"target-user": {ingest.ObsUser}, "target-machine": {ingest.ObsHost},
}

// mispConfidence reads a MISP threat level as a confidence: high 90,
// medium 60, low 30, undefined 0.
func mispConfidence(level string) int {
	switch level {
	case "1":
		return 90
	case "2":
		return 60
	case "3":
		return 30
	}
	return 0
}

// ParseMISP reads a MISP event ({"Event": …}, as a feed's event files
// and MISP's JSON export hold it), a bare event, or a list of them
// ({"response": […]}) into watchlist entries: attributes (also those in
// objects) meant for detection (to_ids) and not deleted, of the types
// mispTypes lists. Confidence comes from the event's threat level; TLP
// from the attribute's tlp tag, else the event's. A feed manifest (which
// lists events but holds no attributes) is refused with a message
// saying so.
func ParseMISP(data []byte, opt ImportOptions) (ImportResult, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return ImportResult{}, err
	}
	top, err := asObject(root, "body")
	if err != nil {
		return ImportResult{}, err
	}
	c := newCollector(opt)
	switch {
	case top["Event"] != nil:
		ev, err := asObject(top["Event"], "Event")
		if err != nil {
			return ImportResult{}, err
		}
		return c.res, mispEvent(c, ev, "Event")
	case top["response"] != nil:
		list, err := asList(top["response"], "response")
		if err != nil {
			return ImportResult{}, err
		}
		for i, item := range list {
			path := fmt.Sprintf("response[%d]", i)
			m, err := asObject(item, path)
			if err != nil {
				return ImportResult{}, err
			}
			ev, err := asObject(m["Event"], path+".Event")
			if err != nil {
				return ImportResult{}, err
			}
			if err := mispEvent(c, ev, path+".Event"); err != nil {
				return ImportResult{}, err
			}
		}
		return c.res, nil
	case top["Attribute"] != nil || top["info"] != nil && top["Object"] != nil:
		return c.res, mispEvent(c, top, "body")
	case isManifest(top):
		return ImportResult{}, core.Invalid("body", "this is a MISP feed manifest: it lists events but holds no attributes; import the event files it names (<uuid>.json)")
	}
	return ImportResult{}, core.Invalid("Event", "is required (a MISP event: {\"Event\": {...}})")
}

func isManifest(top map[string]any) bool {
	if len(top) == 0 {
		return false
	}
	for k, v := range top {
		m, ok := v.(map[string]any)
		if !ok || len(k) != 36 {
			return false
		}
		if _, ok := m["info"]; !ok {
			return false
		}
	}
	return true
}

func mispTags(m map[string]any, path string) ([]string, error) {
	var out []string
	tags, err := asList(m["Tag"], path+".Tag")
	if err != nil {
		return nil, err
	}
	if et, err := asList(m["EventTag"], path+".EventTag"); err != nil {
		return nil, err
	} else {
		for _, e := range et {
			if em, ok := e.(map[string]any); ok && em["Tag"] != nil {
				tags = append(tags, em["Tag"])
			}
		}
	}
	for i, t := range tags {
		tm, err := asObject(t, fmt.Sprintf("%s.Tag[%d]", path, i))
		if err != nil {
			return nil, err
		}
		name, err := optString(tm, "name", fmt.Sprintf("%s.Tag[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

func tagsTLP(tags []string) string {
	tlp := ""
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t), "tlp:") {
			if level, ok := ParseTLP(t); ok {
				tlp = Stricter(tlp, level)
			}
		}
	}
	return tlp
}

// mispScalar reads a field MISP writes as a string or a number.
func mispScalar(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func mispTrue(m map[string]any, key string) bool {
	switch strings.ToLower(mispScalar(m, key)) {
	case "true", "1":
		return true
	}
	return false
}

func mispEvent(c *collector, ev map[string]any, path string) error {
	tags, err := mispTags(ev, path)
	if err != nil {
		return err
	}
	tlp := tagsTLP(tags)
	conf := mispConfidence(mispScalar(ev, "threat_level_id"))
	attrs, err := asList(ev["Attribute"], path+".Attribute")
	if err != nil {
		return err
	}
	if err := mispAttributes(c, attrs, path+".Attribute", conf, tlp); err != nil {
		return err
	}
	objs, err := asList(ev["Object"], path+".Object")
	if err != nil {
		return err
	}
	for i, o := range objs {
		op := fmt.Sprintf("%s.Object[%d]", path, i)
		om, err := asObject(o, op)
		if err != nil {
			return err
		}
		if mispTrue(om, "deleted") {
			continue
		}
		attrs, err := asList(om["Attribute"], op+".Attribute")
		if err != nil {
			return err
		}
		if err := mispAttributes(c, attrs, op+".Attribute", conf, tlp); err != nil {
			return err
		}
	}
	return nil
}

func mispAttributes(c *collector, attrs []any, path string, conf int, eventTLP string) error {
	for i, a := range attrs {
		ap := fmt.Sprintf("%s[%d]", path, i)
		am, err := asObject(a, ap)
		if err != nil {
			return err
		}
		typ, err := optString(am, "type", ap)
		if err != nil {
			return err
		}
		value, err := optString(am, "value", ap)
		if err != nil {
			return err
		}
		tags, err := mispTags(am, ap)
		if err != nil {
			return err
		}
		if mispTrue(am, "deleted") || !mispTrue(am, "to_ids") {
			c.res.Skipped++
			continue
		}
		kinds, ok := mispTypes[typ]
		if !ok {
			c.res.Skipped++
			continue
		}
		tlp := eventTLP
		if own := tagsTLP(tags); own != "" {
			tlp = own
		}
		parts := []string{value}
		if len(kinds) > 1 {
			parts = strings.SplitN(value, "|", len(kinds))
			if len(parts) != len(kinds) {
				c.res.Skipped++
				continue
			}
		}
		for j, k := range kinds {
			if k != "" {
				c.add(k, parts[j], conf, tlp, nil)
			}
		}
	}
	return nil
}

// MaxFeedEvents bounds the events one pull of a MISP feed fetches.
const MaxFeedEvents = 1000

// ParseMISPManifest reads a MISP feed's manifest.json and returns the
// uuids of the events it lists, newest first by their timestamp, at most
// MaxFeedEvents of them.
func ParseMISPManifest(data []byte) ([]string, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	top, err := asObject(root, "body")
	if err != nil {
		return nil, err
	}
	type ev struct {
		uuid string
		ts   int64
	}
	var evs []ev
	for k, v := range top {
		m, err := asObject(v, k)
		if err != nil {
			return nil, err
		}
		if !uuidRe.MatchString(strings.ToLower(k)) {
			return nil, core.Invalid(k, "is not an event uuid")
		}
		ts, _ := strconv.ParseInt(mispScalar(m, "timestamp"), 10, 64)
		evs = append(evs, ev{strings.ToLower(k), ts})
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if a.ts != b.ts {
			return cmp.Compare(b.ts, a.ts)
		}
		return cmp.Compare(a.uuid, b.uuid)
	})
	out := make([]string, 0, min(len(evs), MaxFeedEvents))
	for _, e := range evs[:min(len(evs), MaxFeedEvents)] {
		out = append(out, e.uuid)
	}
	return out, nil
}

// Merge adds the entries of other to r, as one import of both would.
func (r *ImportResult) Merge(other ImportResult, opt ImportOptions) {
	c := newCollector(opt)
	for _, e := range r.Entries {
		c.keep(e)
	}
	for _, e := range other.Entries {
		c.keep(e)
	}
	c.res.Skipped += r.Skipped + other.Skipped
	*r = c.res
}
