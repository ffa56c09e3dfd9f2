package triage

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// MaxFileSize bounds a rules file or one rule sent to the API.
const MaxFileSize = 1 << 20

// MaxRules bounds the rules of one file: every alert is matched against
// each, so thousands would be a mistake rather than a need.
const MaxRules = 1000

// Error is one problem in a rules file, as
// "rules.yaml:12: rules[2].conditions.severity: unknown severity "S9"".
// Line is 0 when there is none (the file cannot be read).
type Error struct {
	File    string
	Line    int
	Field   string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap makes errors.Is(err, core.ErrInvalid) true for every Error.
func (e *Error) Unwrap() error { return core.ErrInvalid }

// idPattern is what rule ids look like: short, lower case, safe in URLs.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidID reports whether id can name a rule.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// LoadFile reads a rules file: a mapping with one key, "rules", holding a
// list of rules. It reports every problem at once, joined with
// errors.Join, each an *Error naming file, line and field; on any problem
// it returns no rules. The rules come back with Source SourceFile.
func LoadFile(file string, data []byte) ([]*Rule, error) {
	ps := &parser{file: file}
	root := ps.document(data)
	var rules []*Rule
	if root != nil {
		if m, ok := ps.mapping(root, ""); ok {
			f := ps.fields(m, "", "rules")
			rules = ps.ruleList(m, f["rules"])
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return rules, nil
}

// ParseRule reads one rule, as YAML or JSON (JSON is YAML), for the API
// and the database. name stands in for the file name in errors. The rule
// comes back with Source SourceAPI.
func ParseRule(name string, data []byte) (*Rule, error) {
	ps := &parser{file: name}
	root := ps.document(data)
	var r *Rule
	if root != nil {
		r = ps.rule(root, "", 0)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	r.Source = SourceAPI
	return r, nil
}

// parser checks a document, collecting every error rather than stopping
// at the first. It walks yaml.v3's node tree instead of decoding into
// structs so each message can carry the line and the path of the field.
type parser struct {
	file string
	errs []*Error
}

func (ps *parser) errorf(line int, field, format string, args ...any) {
	ps.errs = append(ps.errs, &Error{File: ps.file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems top to bottom, as an editor would show them.
func (ps *parser) err() error {
	if len(ps.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(ps.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(ps.errs))
	for i, e := range ps.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// yamlLine pulls the line out of yaml.v3's "yaml: line 3: ..." messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (ps *parser) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		ps.errorf(line, "", "invalid YAML: %s", m[2])
		return
	}
	ps.errorf(0, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// document decodes exactly one YAML document and returns its root.
func (ps *parser) document(data []byte) *yaml.Node {
	if len(data) > MaxFileSize {
		ps.errorf(0, "", "larger than %d bytes", MaxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.errorf(0, "", "empty document")
		} else {
			ps.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		ps.errorf(extra.Line, "", "more than one YAML document")
	case !errors.Is(err, io.EOF):
		ps.syntaxError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			ps.errorf(0, "", "empty document")
			return nil
		}
		root = root.Content[0]
	}
	return root
}

func (ps *parser) ruleList(parent, n *yaml.Node) []*Rule {
	if n == nil {
		ps.errorf(parent.Line, "rules", "missing")
		return nil
	}
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n.Line, "rules", "must be a list of rules")
		return nil
	}
	if len(n.Content) > MaxRules {
		ps.errorf(n.Line, "rules", "more than %d rules", MaxRules)
		return nil
	}
	var out []*Rule
	ids := map[string]int{}
	for i, item := range n.Content {
		path := fmt.Sprintf("rules[%d]", i)
		r := ps.rule(item, path, i)
		if r == nil {
			continue
		}
		r.Source = SourceFile
		if r.ID != "" {
			if prev, dup := ids[r.ID]; dup {
				ps.errorf(resolve(item).Line, join(path, "id"), "duplicate rule id %q, also on line %d", r.ID, prev)
			} else {
				ids[r.ID] = resolve(item).Line
			}
		}
		out = append(out, r)
	}
	return out
}

// rule reads one rule; nil when it is not even a mapping.
func (ps *parser) rule(n *yaml.Node, path string, pos int) *Rule {
	m, ok := ps.mapping(n, path)
	if !ok {
		return nil
	}
	f := ps.fields(m, path, "id", "name", "description", "enabled", "order", "continue", "conditions", "actions")
	r := &Rule{Enabled: true, pos: pos}
	id, idNode := ps.str(m, f, path, "id", true)
	if idNode != nil && id != "" && !idPattern.MatchString(id) {
		ps.errorf(idNode.Line, join(path, "id"), "invalid id %q: use 1–64 lower-case letters, digits, '.', '_' or '-'", id)
	}
	r.ID = id
	r.Name, _ = ps.str(m, f, path, "name", true)
	if len(r.Name) > 200 {
		ps.errorf(f["name"].Line, join(path, "name"), "longer than 200 bytes")
	}
	r.Description, _ = ps.str(m, f, path, "description", false)
	if len(r.Description) > 4000 {
		ps.errorf(f["description"].Line, join(path, "description"), "longer than 4000 bytes")
	}
	if v, ok := ps.boolean(f, path, "enabled"); ok {
		r.Enabled = v
	}
	if v, ok := ps.boolean(f, path, "continue"); ok {
		r.Continue = v
	}
	if n := resolve(f["order"]); n != nil {
		v, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil || v < -1000000 || v > 1000000 {
			ps.errorf(n.Line, join(path, "order"), "must be a whole number from -1000000 to 1000000")
		} else {
			r.Order = v
		}
	}
	if n := f["conditions"]; n != nil {
		r.Conditions = ps.conditions(n, join(path, "conditions"))
	}
	r.Actions = ps.actions(m, f["actions"], join(path, "actions"))
	return r
}

func (ps *parser) conditions(n *yaml.Node, path string) Conditions {
	var c Conditions
	if resolve(n).ShortTag() == "!!null" {
		return c // "conditions:" with nothing: match everything
	}
	m, ok := ps.mapping(n, path)
	if !ok {
		return c
	}
	f := ps.fields(m, path, "format", "rule_id", "rule_name", "title", "severity", "host", "user", "observable_in_incident", "observable_in_watchlist", "count")
	if n := f["format"]; n != nil {
		for _, v := range ps.strList(n, join(path, "format")) {
			if !slices.Contains(ingest.Formats(), strings.ToLower(v.s)) {
				ps.errorf(v.line, join(path, "format"), "unknown format %q (one of %s)", v.s, strings.Join(ingest.Formats(), ", "))
				continue
			}
			c.Format = append(c.Format, strings.ToLower(v.s))
		}
	}
	c.RuleID = ps.patterns(f["rule_id"], join(path, "rule_id"))
	c.RuleName = ps.patterns(f["rule_name"], join(path, "rule_name"))
	c.Title = ps.patterns(f["title"], join(path, "title"))
	c.Host = ps.patterns(f["host"], join(path, "host"))
	c.User = ps.patterns(f["user"], join(path, "user"))
	if n := f["severity"]; n != nil {
		c.Severity = ps.severity(n, join(path, "severity"))
	}
	if n := f["observable_in_incident"]; n != nil {
		c.ObservableInIncident = ps.observableCond(n, join(path, "observable_in_incident"))
	}
	if n := f["observable_in_watchlist"]; n != nil {
		c.ObservableInWatchlist = ps.observableCond(n, join(path, "observable_in_watchlist"))
	}
	if n := f["count"]; n != nil {
		c.Count = ps.count(n, join(path, "count"))
	}
	return c
}

// severityExpr is a comparison: "more severe" is greater, so ">= S2" is
// S1 and S2.
var severityExpr = regexp.MustCompile(`^(>=|<=|>|<|=)?\s*(S[0-9]+)$`)

func (ps *parser) severity(n *yaml.Node, path string) []core.Severity {
	n = resolve(n)
	if n.Kind == yaml.SequenceNode {
		var out []core.Severity
		for _, v := range ps.strList(n, path) {
			s := core.Severity(strings.ToUpper(v.s))
			if !s.Valid() {
				ps.errorf(v.line, path, "unknown severity %q (S1 to S4)", v.s)
				continue
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		ps.errorf(n.Line, path, `must be a list of severities or a comparison such as ">= S2"`)
		return nil
	}
	m := severityExpr.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(n.Value)))
	if m == nil || !core.Severity(m[2]).Valid() {
		ps.errorf(n.Line, path, `%q is not a severity or a comparison such as ">= S2" (S1 is the most severe)`, n.Value)
		return nil
	}
	ref := severityRank(core.Severity(m[2]))
	var out []core.Severity
	for _, s := range core.Severities {
		r := severityRank(s)
		var ok bool
		switch m[1] {
		case ">=":
			ok = r <= ref
		case ">":
			ok = r < ref
		case "<=":
			ok = r >= ref
		case "<":
			ok = r > ref
		default:
			ok = r == ref
		}
		if ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		ps.errorf(n.Line, path, "%q matches no severity", n.Value)
	}
	return out
}

func (ps *parser) observableCond(n *yaml.Node, path string) *ObservableCond {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err != nil || !b {
			ps.errorf(n.Line, path, "must be true or a list of observable types (leave it out for false)")
			return nil
		}
		return &ObservableCond{}
	}
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n.Line, path, "must be true or a list of observable types")
		return nil
	}
	return &ObservableCond{Types: ps.obsTypes(n, path)}
}

func (ps *parser) obsTypes(n *yaml.Node, path string) []string {
	var out []string
	for _, v := range ps.strList(n, path) {
		t := strings.ToLower(v.s)
		if !slices.Contains(ingest.ObservableTypes, t) {
			ps.errorf(v.line, path, "unknown observable type %q (one of %s)", v.s, strings.Join(ingest.ObservableTypes, ", "))
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// maxWindow bounds count windows and suppression durations: a year is
// longer than any sensible one, and keeps time arithmetic far from overflow.
const maxWindow = 366 * 24 * time.Hour

func (ps *parser) count(n *yaml.Node, path string) *CountCond {
	m, ok := ps.mapping(n, path)
	if !ok {
		return nil
	}
	f := ps.fields(m, path, "at_least", "within", "of")
	c := &CountCond{Of: CountFingerprint}
	if v := resolve(f["at_least"]); v == nil {
		ps.errorf(m.Line, join(path, "at_least"), "missing")
	} else if i, err := strconv.ParseInt(v.Value, 10, 64); v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || err != nil || i < 1 || i > 1e9 {
		ps.errorf(v.Line, join(path, "at_least"), "must be a whole number from 1 to 1000000000")
	} else {
		c.AtLeast = i
	}
	if s, sn := ps.str(m, f, path, "within", true); sn != nil && s != "" {
		if d, err := parseDuration(s); err != nil {
			ps.errorf(sn.Line, join(path, "within"), "%v", err)
		} else {
			c.Within = d
		}
	}
	if s, sn := ps.str(m, f, path, "of", false); sn != nil {
		if s != CountFingerprint && s != CountRuleHost {
			ps.errorf(sn.Line, join(path, "of"), "must be %q or %q", CountFingerprint, CountRuleHost)
		} else {
			c.Of = s
		}
	}
	return c
}

// parseDuration reads a Go duration ("90m", "24h") or a number of days
// ("7d"), positive and at most a year.
func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && !strings.ContainsAny(days, "hmsuµn.") {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (e.g. \"30m\", \"24h\", \"7d\")", s)
		}
		if n < 1 || n > 366 {
			return 0, fmt.Errorf("duration %q must be from 1s to 366d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (e.g. \"30m\", \"24h\", \"7d\")", s)
		}
	}
	if d < time.Second || d > maxWindow {
		return 0, fmt.Errorf("duration %q must be from 1s to 366d", s)
	}
	return d, nil
}

func (ps *parser) actions(parent, n *yaml.Node, path string) []Action {
	if n == nil {
		ps.errorf(parent.Line, path, "missing: a rule needs at least one action")
		return nil
	}
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n.Line, path, "must be a list of actions")
		return nil
	}
	if len(n.Content) == 0 {
		ps.errorf(n.Line, path, "a rule needs at least one action")
		return nil
	}
	if len(n.Content) > 16 {
		ps.errorf(n.Line, path, "more than 16 actions")
		return nil
	}
	var out []Action
	kinds := map[string]int{}
	terminal := ""
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		m, ok := ps.mapping(item, ipath)
		if !ok {
			continue
		}
		if len(m.Content) != 2 {
			ps.errorf(m.Line, ipath, "an action is one of %s, each in its own list item", strings.Join(ActionKinds, ", "))
			continue
		}
		k, v := resolve(m.Content[0]), m.Content[1]
		if k.Kind != yaml.ScalarNode || !slices.Contains(ActionKinds, k.Value) {
			ps.errorf(k.Line, ipath, "unknown action %q (one of %s)", k.Value, strings.Join(ActionKinds, ", "))
			continue
		}
		kpath := join(ipath, k.Value)
		if prev, dup := kinds[k.Value]; dup {
			ps.errorf(k.Line, kpath, "given twice in one rule (also on line %d)", prev)
			continue
		}
		kinds[k.Value] = k.Line
		a := Action{Kind: k.Value}
		switch k.Value {
		case ActSetSeverity:
			s, sn := ps.scalar(v, kpath)
			if sn != nil && !core.Severity(strings.ToUpper(s)).Valid() {
				ps.errorf(sn.Line, kpath, "unknown severity %q (S1 to S4)", s)
			}
			a.Severity = core.Severity(strings.ToUpper(s))
		case ActAssign:
			s, sn := ps.scalar(v, kpath)
			if sn != nil && (s == "" || len(s) > 64) {
				ps.errorf(sn.Line, kpath, "must name a user")
			}
			a.User = s
		case ActSuppress:
			ps.suppress(v, kpath, &a)
		case ActPromote:
			ps.promote(v, kpath, &a)
		case ActAttach:
			ps.attach(v, kpath, &a)
		}
		if a.Terminal() {
			if terminal != "" {
				ps.errorf(k.Line, kpath, "a rule may only %s, promote or attach once: it already does %s", ActSuppress, terminal)
				continue
			}
			terminal = a.Kind
		}
		out = append(out, a)
	}
	// The terminal action goes last, so what it does (a new incident's
	// severity, say) sees the other actions' changes.
	slices.SortStableFunc(out, func(a, b Action) int {
		switch {
		case a.Terminal() == b.Terminal():
			return 0
		case a.Terminal():
			return 1
		}
		return -1
	})
	return out
}

func (ps *parser) suppress(v *yaml.Node, path string, a *Action) {
	m, ok := ps.mapping(v, path)
	if !ok {
		return
	}
	f := ps.fields(m, path, "reason", "for", "until")
	a.Reason, _ = ps.str(m, f, path, "reason", true)
	if len(a.Reason) > 1000 {
		ps.errorf(f["reason"].Line, join(path, "reason"), "longer than 1000 bytes")
	}
	forS, forN := ps.str(m, f, path, "for", false)
	if forN != nil {
		if d, err := parseDuration(forS); err != nil {
			ps.errorf(forN.Line, join(path, "for"), "%v", err)
		} else {
			a.For = d
		}
	}
	if un := resolve(f["until"]); un != nil {
		t, err := parseTime(un)
		switch {
		case err != nil:
			ps.errorf(un.Line, join(path, "until"), "%v", err)
		case forN != nil:
			ps.errorf(un.Line, join(path, "until"), "give for or until, not both")
		default:
			a.Until = &t
		}
	}
}

// parseTime reads an RFC 3339 time or a date (midnight UTC).
func parseTime(n *yaml.Node) (time.Time, error) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		return time.Time{}, fmt.Errorf("must be a time such as 2026-12-31T15:00:00Z")
	}
	s := strings.TrimSpace(n.Value)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 2000 && t.Year() <= 9999 {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2026-12-31T15:00:00Z", s)
}

func (ps *parser) promote(v *yaml.Node, path string, a *Action) {
	if r := resolve(v); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null" {
		return // "promote:" alone: all defaults
	}
	m, ok := ps.mapping(v, path)
	if !ok {
		return
	}
	f := ps.fields(m, path, "category", "severity")
	if s, sn := ps.str(m, f, path, "category", false); sn != nil {
		if !core.Category(s).Valid() {
			ps.errorf(sn.Line, join(path, "category"), "unknown category %q", s)
		}
		a.Category = core.Category(s)
	}
	if s, sn := ps.str(m, f, path, "severity", false); sn != nil {
		if !core.Severity(strings.ToUpper(s)).Valid() {
			ps.errorf(sn.Line, join(path, "severity"), "unknown severity %q (S1 to S4)", s)
		}
		a.Severity = core.Severity(strings.ToUpper(s))
	}
}

func (ps *parser) attach(v *yaml.Node, path string, a *Action) {
	if r := resolve(v); r.Kind == yaml.ScalarNode && (r.ShortTag() == "!!null" || (r.ShortTag() == "!!bool" && r.Value == "true")) {
		return // "attach: true": by observable or host, any type
	}
	m, ok := ps.mapping(v, path)
	if !ok {
		return
	}
	f := ps.fields(m, path, "by", "observable_types")
	if n := f["by"]; n != nil {
		for _, s := range ps.strList(n, join(path, "by")) {
			if s.s != AttachByObservable && s.s != AttachByHost {
				ps.errorf(s.line, join(path, "by"), "must be %q or %q", AttachByObservable, AttachByHost)
				continue
			}
			if !slices.Contains(a.By, s.s) {
				a.By = append(a.By, s.s)
			}
		}
	}
	if n := f["observable_types"]; n != nil {
		a.ObservableTypes = ps.obsTypes(n, join(path, "observable_types"))
	}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func (ps *parser) mapping(n *yaml.Node, path string) (*yaml.Node, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		line := 0
		if n != nil {
			line = n.Line
		}
		ps.errorf(line, path, "must be a mapping of fields")
		return nil, false
	}
	return n, true
}

// fields returns the values of a mapping by key, refusing keys not in
// known and keys given twice.
func (ps *parser) fields(m *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.errorf(k.Line, path, "field names must be plain strings")
			continue
		}
		name := join(path, k.Value)
		switch {
		case !slices.Contains(known, k.Value):
			ps.errorf(k.Line, name, "unknown field (known: %s)", strings.Join(known, ", "))
		case out[k.Value] != nil:
			ps.errorf(k.Line, name, "given more than once")
		default:
			out[k.Value] = v
		}
	}
	return out
}

// str reads a scalar field. It returns the value node when the field is
// present (even if invalid) so callers can report on its line.
func (ps *parser) str(m *yaml.Node, f map[string]*yaml.Node, path, key string, required bool) (string, *yaml.Node) {
	name := join(path, key)
	n := resolve(f[key])
	if n == nil {
		if required {
			ps.errorf(m.Line, name, "missing")
		}
		return "", nil
	}
	s, sn := ps.scalar(n, name)
	if sn != nil && s == "" && required {
		ps.errorf(n.Line, name, "must not be empty")
	}
	return s, sn
}

// scalar reads a string value.
func (ps *parser) scalar(n *yaml.Node, path string) (string, *yaml.Node) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.ShortTag() == "!!binary" {
		ps.errorf(n.Line, path, "must be a string")
		return "", nil
	}
	return strings.TrimSpace(n.Value), n
}

func (ps *parser) boolean(f map[string]*yaml.Node, path, key string) (bool, bool) {
	n := resolve(f[key])
	if n == nil {
		return false, false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		ps.errorf(n.Line, join(path, key), "must be true or false")
		return false, false
	}
	return b, true
}

type lineStr struct {
	s    string
	line int
}

// strList reads a string or a list of strings.
func (ps *parser) strList(n *yaml.Node, path string) []lineStr {
	n = resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			ps.errorf(n.Line, path, "an empty list matches nothing; leave the field out instead")
		}
		if len(items) > 1000 {
			ps.errorf(n.Line, path, "more than 1000 items")
			return nil
		}
	}
	var out []lineStr
	for _, it := range items {
		s, sn := ps.scalar(it, path)
		if sn == nil {
			continue
		}
		if s == "" {
			ps.errorf(sn.Line, path, "must not be empty")
			continue
		}
		out = append(out, lineStr{s, sn.Line})
	}
	return out
}

func (ps *parser) patterns(n *yaml.Node, path string) Patterns {
	if n == nil {
		return Patterns{}
	}
	var p Patterns
	for _, v := range ps.strList(n, path) {
		re, err := compilePattern(v.s)
		if err != nil {
			ps.errorf(v.line, path, "%v", err)
			continue
		}
		p.src = append(p.src, v.s)
		p.res = append(p.res, re)
	}
	return p
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
