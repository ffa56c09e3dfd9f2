package triage

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/yamlfile"

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
type Error = yamlfile.Error

// idPattern is what rule ids look like: short, lower case, safe in URLs.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidID reports whether id can name a rule.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// LoadFile reads a rules file: a mapping with one key, "rules", holding a
// list of rules. It reports every problem at once, joined with
// errors.Join, each an *Error naming file, line and field; on any problem
// it returns no rules. The rules come back with Source SourceFile.
func LoadFile(file string, data []byte) ([]*Rule, error) {
	ps := &parser{yamlfile.Checker{File: file}}
	root := ps.Document(data, MaxFileSize)
	var rules []*Rule
	if root != nil {
		if m, ok := ps.Mapping(root, ""); ok {
			f := ps.Fields(m, "", "rules")
			rules = ps.ruleList(m, f["rules"])
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return rules, nil
}

// ParseRule reads one rule, as YAML or JSON (JSON is YAML), for the API
// and the database. name stands in for the file name in errors. The rule
// comes back with Source SourceAPI.
func ParseRule(name string, data []byte) (*Rule, error) {
	ps := &parser{yamlfile.Checker{File: name}}
	root := ps.Document(data, MaxFileSize)
	var r *Rule
	if root != nil {
		r = ps.rule(root, "", 0)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	r.Source = SourceAPI
	return r, nil
}

// parser checks a document, collecting every error rather than stopping
// at the first. It walks yaml.v3's node tree instead of decoding into
// structs so each message can carry the line and the path of the field.
type parser struct {
	yamlfile.Checker
}

func (ps *parser) ruleList(parent, n *yaml.Node) []*Rule {
	if n == nil {
		ps.Errorf(parent.Line, "rules", "missing")
		return nil
	}
	n = yamlfile.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		ps.Errorf(n.Line, "rules", "must be a list of rules")
		return nil
	}
	if len(n.Content) > MaxRules {
		ps.Errorf(n.Line, "rules", "more than %d rules", MaxRules)
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
				ps.Errorf(yamlfile.Resolve(item).Line, yamlfile.Path(path, "id"), "duplicate rule id %q, also on line %d", r.ID, prev)
			} else {
				ids[r.ID] = yamlfile.Resolve(item).Line
			}
		}
		out = append(out, r)
	}
	return out
}

// rule reads one rule; nil when it is not even a mapping.
func (ps *parser) rule(n *yaml.Node, path string, pos int) *Rule {
	m, ok := ps.Mapping(n, path)
	if !ok {
		return nil
	}
	f := ps.Fields(m, path, "id", "name", "description", "enabled", "order", "continue", "conditions", "actions")
	r := &Rule{Enabled: true, pos: pos}
	id, idNode := ps.Str(m, f, path, "id", true)
	if idNode != nil && id != "" && !idPattern.MatchString(id) {
		ps.Errorf(idNode.Line, yamlfile.Path(path, "id"), "invalid id %q: use 1–64 lower-case letters, digits, '.', '_' or '-'", id)
	}
	r.ID = id
	r.Name, _ = ps.Str(m, f, path, "name", true)
	if len(r.Name) > 200 {
		ps.Errorf(f["name"].Line, yamlfile.Path(path, "name"), "longer than 200 bytes")
	}
	r.Description, _ = ps.Str(m, f, path, "description", false)
	if len(r.Description) > 4000 {
		ps.Errorf(f["description"].Line, yamlfile.Path(path, "description"), "longer than 4000 bytes")
	}
	if v, ok := ps.Bool(f, path, "enabled"); ok {
		r.Enabled = v
	}
	if v, ok := ps.Bool(f, path, "continue"); ok {
		r.Continue = v
	}
	if n := yamlfile.Resolve(f["order"]); n != nil {
		v, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || err != nil || v < -1000000 || v > 1000000 {
			ps.Errorf(n.Line, yamlfile.Path(path, "order"), "must be a whole number from -1000000 to 1000000")
		} else {
			r.Order = v
		}
	}
	if n := f["conditions"]; n != nil {
		r.Conditions = ps.conditions(n, yamlfile.Path(path, "conditions"))
	}
	r.Actions = ps.actions(m, f["actions"], yamlfile.Path(path, "actions"))
	return r
}

func (ps *parser) conditions(n *yaml.Node, path string) Conditions {
	var c Conditions
	if yamlfile.Resolve(n).ShortTag() == "!!null" {
		return c // "conditions:" with nothing: match everything
	}
	m, ok := ps.Mapping(n, path)
	if !ok {
		return c
	}
	f := ps.Fields(m, path, "format", "rule_id", "rule_name", "title", "severity", "host", "user", "observable_in_incident", "observable_in_watchlist", "count")
	if n := f["format"]; n != nil {
		for _, v := range ps.StrList(n, yamlfile.Path(path, "format")) {
			if !slices.Contains(ingest.Formats(), strings.ToLower(v.S)) {
				ps.Errorf(v.Line, yamlfile.Path(path, "format"), "unknown format %q (one of %s)", v.S, strings.Join(ingest.Formats(), ", "))
				continue
			}
			c.Format = append(c.Format, strings.ToLower(v.S))
		}
	}
	c.RuleID = ps.patterns(f["rule_id"], yamlfile.Path(path, "rule_id"))
	c.RuleName = ps.patterns(f["rule_name"], yamlfile.Path(path, "rule_name"))
	c.Title = ps.patterns(f["title"], yamlfile.Path(path, "title"))
	c.Host = ps.patterns(f["host"], yamlfile.Path(path, "host"))
	c.User = ps.patterns(f["user"], yamlfile.Path(path, "user"))
	if n := f["severity"]; n != nil {
		c.Severity = ps.severity(n, yamlfile.Path(path, "severity"))
	}
	if n := f["observable_in_incident"]; n != nil {
		c.ObservableInIncident = ps.observableCond(n, yamlfile.Path(path, "observable_in_incident"))
	}
	if n := f["observable_in_watchlist"]; n != nil {
		c.ObservableInWatchlist = ps.observableCond(n, yamlfile.Path(path, "observable_in_watchlist"))
	}
	if n := f["count"]; n != nil {
		c.Count = ps.count(n, yamlfile.Path(path, "count"))
	}
	return c
}

// severityExpr is a comparison: "more severe" is greater, so ">= S2" is
// S1 and S2.
var severityExpr = regexp.MustCompile(`^(>=|<=|>|<|=)?\s*(S[0-9]+)$`)

func (ps *parser) severity(n *yaml.Node, path string) []core.Severity {
	n = yamlfile.Resolve(n)
	if n.Kind == yaml.SequenceNode {
		var out []core.Severity
		for _, v := range ps.StrList(n, path) {
			s := core.Severity(strings.ToUpper(v.S))
			if !s.Valid() {
				ps.Errorf(v.Line, path, "unknown severity %q (S1 to S4)", v.S)
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
		ps.Errorf(n.Line, path, `must be a list of severities or a comparison such as ">= S2"`)
		return nil
	}
	m := severityExpr.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(n.Value)))
	if m == nil || !core.Severity(m[2]).Valid() {
		ps.Errorf(n.Line, path, `%q is not a severity or a comparison such as ">= S2" (S1 is the most severe)`, n.Value)
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
		ps.Errorf(n.Line, path, "%q matches no severity", n.Value)
	}
	return out
}

func (ps *parser) observableCond(n *yaml.Node, path string) *ObservableCond {
	n = yamlfile.Resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err != nil || !b {
			ps.Errorf(n.Line, path, "must be true or a list of observable types (leave it out for false)")
			return nil
		}
		return &ObservableCond{}
	}
	if n.Kind != yaml.SequenceNode {
		ps.Errorf(n.Line, path, "must be true or a list of observable types")
		return nil
	}
	return &ObservableCond{Types: ps.obsTypes(n, path)}
}

func (ps *parser) obsTypes(n *yaml.Node, path string) []string {
	var out []string
	for _, v := range ps.StrList(n, path) {
		t := strings.ToLower(v.S)
		if !slices.Contains(ingest.ObservableTypes, t) {
			ps.Errorf(v.Line, path, "unknown observable type %q (one of %s)", v.S, strings.Join(ingest.ObservableTypes, ", "))
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
	m, ok := ps.Mapping(n, path)
	if !ok {
		return nil
	}
	f := ps.Fields(m, path, "at_least", "within", "of")
	c := &CountCond{Of: CountFingerprint}
	if v := yamlfile.Resolve(f["at_least"]); v == nil {
		ps.Errorf(m.Line, yamlfile.Path(path, "at_least"), "missing")
	} else if i, err := strconv.ParseInt(v.Value, 10, 64); v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || err != nil || i < 1 || i > 1e9 {
		ps.Errorf(v.Line, yamlfile.Path(path, "at_least"), "must be a whole number from 1 to 1000000000")
	} else {
		c.AtLeast = i
	}
	if s, sn := ps.Str(m, f, path, "within", true); sn != nil && s != "" {
		if d, err := parseDuration(s); err != nil {
			ps.Errorf(sn.Line, yamlfile.Path(path, "within"), "%v", err)
		} else {
			c.Within = d
		}
	}
	if s, sn := ps.Str(m, f, path, "of", false); sn != nil {
		if s != CountFingerprint && s != CountRuleHost {
			ps.Errorf(sn.Line, yamlfile.Path(path, "of"), "must be %q or %q", CountFingerprint, CountRuleHost)
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
		ps.Errorf(parent.Line, path, "missing: a rule needs at least one action")
		return nil
	}
	n = yamlfile.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		ps.Errorf(n.Line, path, "must be a list of actions")
		return nil
	}
	if len(n.Content) == 0 {
		ps.Errorf(n.Line, path, "a rule needs at least one action")
		return nil
	}
	if len(n.Content) > 16 {
		ps.Errorf(n.Line, path, "more than 16 actions")
		return nil
	}
	var out []Action
	kinds := map[string]int{}
	terminal := ""
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		m, ok := ps.Mapping(item, ipath)
		if !ok {
			continue
		}
		if len(m.Content) != 2 {
			ps.Errorf(m.Line, ipath, "an action is one of %s, each in its own list item", strings.Join(ActionKinds, ", "))
			continue
		}
		k, v := yamlfile.Resolve(m.Content[0]), m.Content[1]
		if k.Kind != yaml.ScalarNode || !slices.Contains(ActionKinds, k.Value) {
			ps.Errorf(k.Line, ipath, "unknown action %q (one of %s)", k.Value, strings.Join(ActionKinds, ", "))
			continue
		}
		kpath := yamlfile.Path(ipath, k.Value)
		if prev, dup := kinds[k.Value]; dup {
			ps.Errorf(k.Line, kpath, "given twice in one rule (also on line %d)", prev)
			continue
		}
		kinds[k.Value] = k.Line
		a := Action{Kind: k.Value}
		switch k.Value {
		case ActSetSeverity:
			s, sn := ps.Scalar(v, kpath)
			if sn != nil && !core.Severity(strings.ToUpper(s)).Valid() {
				ps.Errorf(sn.Line, kpath, "unknown severity %q (S1 to S4)", s)
			}
			a.Severity = core.Severity(strings.ToUpper(s))
		case ActAssign:
			s, sn := ps.Scalar(v, kpath)
			if sn != nil && (s == "" || len(s) > 64) {
				ps.Errorf(sn.Line, kpath, "must name a user")
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
				ps.Errorf(k.Line, kpath, "a rule may only %s, promote or attach once: it already does %s", ActSuppress, terminal)
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
	m, ok := ps.Mapping(v, path)
	if !ok {
		return
	}
	f := ps.Fields(m, path, "reason", "for", "until")
	a.Reason, _ = ps.Str(m, f, path, "reason", true)
	if len(a.Reason) > 1000 {
		ps.Errorf(f["reason"].Line, yamlfile.Path(path, "reason"), "longer than 1000 bytes")
	}
	forS, forN := ps.Str(m, f, path, "for", false)
	if forN != nil {
		if d, err := parseDuration(forS); err != nil {
			ps.Errorf(forN.Line, yamlfile.Path(path, "for"), "%v", err)
		} else {
			a.For = d
		}
	}
	if un := yamlfile.Resolve(f["until"]); un != nil {
		t, err := parseTime(un)
		switch {
		case err != nil:
			ps.Errorf(un.Line, yamlfile.Path(path, "until"), "%v", err)
		case forN != nil:
			ps.Errorf(un.Line, yamlfile.Path(path, "until"), "give for or until, not both")
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
	if r := yamlfile.Resolve(v); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null" {
		return // "promote:" alone: all defaults
	}
	m, ok := ps.Mapping(v, path)
	if !ok {
		return
	}
	f := ps.Fields(m, path, "category", "severity")
	if s, sn := ps.Str(m, f, path, "category", false); sn != nil {
		if !core.Category(s).Valid() {
			ps.Errorf(sn.Line, yamlfile.Path(path, "category"), "unknown category %q", s)
		}
		a.Category = core.Category(s)
	}
	if s, sn := ps.Str(m, f, path, "severity", false); sn != nil {
		if !core.Severity(strings.ToUpper(s)).Valid() {
			ps.Errorf(sn.Line, yamlfile.Path(path, "severity"), "unknown severity %q (S1 to S4)", s)
		}
		a.Severity = core.Severity(strings.ToUpper(s))
	}
}

func (ps *parser) attach(v *yaml.Node, path string, a *Action) {
	if r := yamlfile.Resolve(v); r.Kind == yaml.ScalarNode && (r.ShortTag() == "!!null" || (r.ShortTag() == "!!bool" && r.Value == "true")) {
		return // "attach: true": by observable or host, any type
	}
	m, ok := ps.Mapping(v, path)
	if !ok {
		return
	}
	f := ps.Fields(m, path, "by", "observable_types")
	if n := f["by"]; n != nil {
		for _, s := range ps.StrList(n, yamlfile.Path(path, "by")) {
			if s.S != AttachByObservable && s.S != AttachByHost {
				ps.Errorf(s.Line, yamlfile.Path(path, "by"), "must be %q or %q", AttachByObservable, AttachByHost)
				continue
			}
			if !slices.Contains(a.By, s.S) {
				a.By = append(a.By, s.S)
			}
		}
	}
	if n := f["observable_types"]; n != nil {
		a.ObservableTypes = ps.obsTypes(n, yamlfile.Path(path, "observable_types"))
	}
}

func (ps *parser) patterns(n *yaml.Node, path string) Patterns {
	if n == nil {
		return Patterns{}
	}
	var p Patterns
	for _, v := range ps.StrList(n, path) {
		re, err := compilePattern(v.S)
		if err != nil {
			ps.Errorf(v.Line, path, "%v", err)
			continue
		}
		p.src = append(p.src, v.S)
		p.res = append(p.res, re)
	}
	return p
}
