// Package triage decides what happens to an incoming alert: rules match
// on its fields, on what the desk has seen before and on how often it
// repeats, and answer with actions (set a severity, suppress, assign,
// promote to an incident, attach to an open one). It is pure: the caller
// supplies the lookups through Env and carries out the decisions.
package triage

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// Where a rule comes from. File rules are read-only through the API.
const (
	SourceFile = "file"
	SourceAPI  = "api"
)

// Rule is one triage rule: when every condition holds, its actions apply.
type Rule struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
	// Order sorts the rules, lowest first; equal orders keep file rules
	// first, in file order, then API rules by id.
	Order int `json:"order"`
	// Continue lets the next matching rule apply too; without it the first
	// match ends the evaluation.
	Continue   bool       `json:"continue,omitempty"`
	Conditions Conditions `json:"conditions"`
	Actions    []Action   `json:"actions"`
	// Source is SourceFile or SourceAPI; set by whoever loaded the rule.
	Source string `json:"source,omitempty"`

	pos int // position in its file, for a stable order
}

// Conditions all have to hold for a rule to match; a list holds when any
// of its items does. Absent conditions do not filter.
type Conditions struct {
	Format   []string `json:"format,omitempty"`
	RuleID   Patterns `json:"rule_id,omitempty"`
	RuleName Patterns `json:"rule_name,omitempty"`
	Title    Patterns `json:"title,omitempty"`
	// Severity is the set of severities that match; the file may say it as
	// a list or as a comparison such as ">= S2" (S2 or more severe).
	Severity []core.Severity `json:"severity,omitempty"`
	Host     Patterns        `json:"host,omitempty"`
	User     Patterns        `json:"user,omitempty"`
	// ObservableInIncident holds when one of the alert's observables (of
	// the given types, or of any) is already on some incident.
	ObservableInIncident *ObservableCond `json:"observable_in_incident,omitempty"`
	// ObservableInWatchlist holds when one of the alert's observables (of
	// the given types, or of any) is on the watchlist of shared indicators.
	ObservableInWatchlist *ObservableCond `json:"observable_in_watchlist,omitempty"`
	Count                 *CountCond      `json:"count,omitempty"`
}

// ObservableCond restricts "observable already seen in an incident" to
// some observable types; no types means any.
type ObservableCond struct {
	Types []string
}

// What a count condition counts.
const (
	// CountFingerprint counts occurrences of alerts with the same fingerprint.
	CountFingerprint = "fingerprint"
	// CountRuleHost counts occurrences of the same tool rule on the same host.
	CountRuleHost = "rule_host"
)

// CountCond holds when at least AtLeast occurrences (this one included)
// arrived within the last Within.
type CountCond struct {
	AtLeast int64         `json:"at_least"`
	Within  time.Duration `json:"-"`
	Of      string        `json:"of"`
}

// Action kinds.
const (
	ActSetSeverity = "set_severity"
	ActSuppress    = "suppress"
	ActAssign      = "assign"
	ActPromote     = "promote"
	ActAttach      = "attach"
)

// ActionKinds lists every action kind.
var ActionKinds = []string{ActSetSeverity, ActSuppress, ActAssign, ActPromote, ActAttach}

// Attach matching.
const (
	AttachByObservable = "observable"
	AttachByHost       = "host"
)

// Action is one thing a rule does. Which fields apply depends on Kind.
type Action struct {
	Kind string
	// Severity: set_severity (required), promote (optional: the alert's).
	Severity core.Severity
	// Suppress: Reason, and For (from now) or Until (a fixed time) or
	// neither (no expiry).
	Reason string
	For    time.Duration
	Until  *time.Time
	// Assign: the user's name.
	User string
	// Promote: the new incident's category (other if empty).
	Category core.Category
	// Attach: how to find the open incident (observable, host; both if
	// empty) and which observable types count (any if empty).
	By              []string
	ObservableTypes []string
}

// Terminal reports whether the action takes the alert out of the queue
// (suppressed, promoted or attached), after which no other rule applies.
func (a Action) Terminal() bool {
	return a.Kind == ActSuppress || a.Kind == ActPromote || a.Kind == ActAttach
}

// Patterns match text: each is a glob ("*" any run, "?" one character,
// case-insensitive) or, prefixed "re:", a Go regular expression matched
// as written (add (?i) for case-insensitive). Text matches when any
// pattern does.
type Patterns struct {
	src []string
	res []*regexp.Regexp
}

// maxPatternLen bounds one pattern; RE2 is linear in the text, but the
// compiled program grows with the pattern.
const maxPatternLen = 1024

// CompilePatterns compiles patterns; the error names the first bad one.
func CompilePatterns(src []string) (Patterns, error) {
	p := Patterns{src: append([]string(nil), src...)}
	for _, s := range src {
		re, err := compilePattern(s)
		if err != nil {
			return Patterns{}, err
		}
		p.res = append(p.res, re)
	}
	return p, nil
}

func compilePattern(s string) (*regexp.Regexp, error) {
	if len(s) > maxPatternLen {
		return nil, fmt.Errorf("pattern is longer than %d bytes", maxPatternLen)
	}
	if s == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	if expr, ok := strings.CutPrefix(s, "re:"); ok {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %v", expr, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		return re, nil
	}
	var b strings.Builder
	b.WriteString(`(?is)^`)
	for _, r := range s {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}

// Empty reports whether there are no patterns (the condition is absent).
func (p Patterns) Empty() bool { return len(p.src) == 0 }

// Strings returns the patterns as written.
func (p Patterns) Strings() []string { return append([]string(nil), p.src...) }

// Match reports whether any pattern matches s.
func (p Patterns) Match(s string) bool {
	for _, re := range p.res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// Env answers the questions a rule asks of the desk's history. The
// caller implements it over its database; its errors end the evaluation.
type Env interface {
	// ObservableInIncident reports whether the observable is on any incident.
	ObservableInIncident(o ingest.Observable) (bool, error)
	// CountOccurrences counts occurrences received at or after since:
	// of alerts with the alert's fingerprint (CountFingerprint), or of the
	// alert's source, rule id and host (CountRuleHost).
	CountOccurrences(of string, al *ingest.Alert, since time.Time) (int64, error)
}

// WatchlistEnv is an Env that also knows the watchlist. An Env without
// it answers "observable in watchlist" with no.
type WatchlistEnv interface {
	// ObservableInWatchlist reports whether an entry for the observable
	// is active at now.
	ObservableInWatchlist(o ingest.Observable, now time.Time) (bool, error)
}

// Decision is one action a rule decided on.
type Decision struct {
	RuleID   string `json:"rule"`
	RuleName string `json:"rule_name"`
	Action   Action `json:"action"`
}

// Result is what a rule set decided for an alert.
type Result struct {
	// Matched lists the ids of the rules that matched, in order.
	Matched   []string   `json:"matched"`
	Decisions []Decision `json:"decisions"`
}

// Set is an ordered, validated rule set. The zero value and nil are empty.
type Set struct {
	rules     []*Rule
	anyCount  bool
	anyActive bool
}

// NewSet orders rules (see Rule.Order) and checks their ids are unique
// (a conflict is core.ErrConflict).
func NewSet(rules ...*Rule) (*Set, error) {
	s := &Set{rules: append([]*Rule(nil), rules...)}
	seen := map[string]string{}
	for _, r := range s.rules {
		if prev, dup := seen[r.ID]; dup {
			return nil, core.Conflict("rule id %q is used twice (%s and %s)", r.ID, prev, r.Source)
		}
		seen[r.ID] = r.Source
		if r.Enabled {
			s.anyActive = true
			if r.Conditions.Count != nil {
				s.anyCount = true
			}
		}
	}
	slices.SortStableFunc(s.rules, func(a, b *Rule) int {
		if c := cmp.Compare(a.Order, b.Order); c != 0 {
			return c
		}
		if a.Source != b.Source {
			if a.Source == SourceFile {
				return -1
			}
			if b.Source == SourceFile {
				return 1
			}
		}
		if a.Source == SourceFile {
			return cmp.Compare(a.pos, b.pos)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return s, nil
}

// Rules returns the rules in evaluation order.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return append([]*Rule(nil), s.rules...)
}

// Rule returns the rule with the id, or nil.
func (s *Set) Rule(id string) *Rule {
	if s == nil {
		return nil
	}
	for _, r := range s.rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Active reports whether any rule is enabled: with none, intake skips
// triage entirely.
func (s *Set) Active() bool { return s != nil && s.anyActive }

// HasCountRules reports whether an enabled rule has a count condition,
// the only kind a repeat of a known alert is evaluated against.
func (s *Set) HasCountRules() bool { return s != nil && s.anyCount }

// Evaluate runs the enabled rules over an alert in order and returns what
// they decide. The first matching rule ends the evaluation unless it says
// continue; a terminal action (suppress, promote, attach) always ends it,
// since the alert has left the queue. A repeat (an occurrence folded into
// a known alert) is matched only against rules with a count condition:
// the others already had their say when the alert was new. Conditions
// that need Env are checked last, only when the others hold.
func (s *Set) Evaluate(al *ingest.Alert, env Env, now time.Time, repeat bool) (Result, error) {
	res := Result{Matched: []string{}, Decisions: []Decision{}}
	if s == nil {
		return res, nil
	}
	for _, r := range s.rules {
		if !r.Enabled || (repeat && r.Conditions.Count == nil) {
			continue
		}
		ok, err := r.Match(al, env, now)
		if err != nil {
			return res, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		if !ok {
			continue
		}
		res.Matched = append(res.Matched, r.ID)
		terminal := false
		for _, a := range r.Actions {
			if a.Kind == ActSuppress && a.Until != nil && !a.Until.After(now) {
				continue // the suppression window is over
			}
			res.Decisions = append(res.Decisions, Decision{RuleID: r.ID, RuleName: r.Name, Action: a})
			terminal = terminal || a.Terminal()
		}
		if terminal || !r.Continue {
			break
		}
	}
	return res, nil
}

// Match reports whether every condition of the rule holds for al.
func (r *Rule) Match(al *ingest.Alert, env Env, now time.Time) (bool, error) {
	c := &r.Conditions
	if len(c.Format) > 0 && !slices.Contains(c.Format, strings.ToLower(al.Source)) {
		return false, nil
	}
	if len(c.Severity) > 0 && !slices.Contains(c.Severity, al.Severity) {
		return false, nil
	}
	for _, p := range []struct {
		pats Patterns
		text string
	}{{c.RuleID, al.RuleID}, {c.RuleName, al.RuleName}, {c.Title, al.Title}, {c.Host, al.Host}, {c.User, al.User}} {
		if !p.pats.Empty() && !p.pats.Match(p.text) {
			return false, nil
		}
	}
	if c.ObservableInIncident != nil {
		seen := false
		for _, o := range al.Observables {
			if len(c.ObservableInIncident.Types) > 0 && !slices.Contains(c.ObservableInIncident.Types, o.Type) {
				continue
			}
			in, err := env.ObservableInIncident(o)
			if err != nil {
				return false, err
			}
			if in {
				seen = true
				break
			}
		}
		if !seen {
			return false, nil
		}
	}
	if wc := c.ObservableInWatchlist; wc != nil {
		wenv, ok := env.(WatchlistEnv)
		if !ok {
			return false, nil
		}
		seen := false
		for _, o := range al.Observables {
			if len(wc.Types) > 0 && !slices.Contains(wc.Types, o.Type) {
				continue
			}
			in, err := wenv.ObservableInWatchlist(o, now)
			if err != nil {
				return false, err
			}
			if in {
				seen = true
				break
			}
		}
		if !seen {
			return false, nil
		}
	}
	if cc := c.Count; cc != nil {
		if cc.Of == CountRuleHost && al.RuleID == "" {
			return false, nil // no rule to count by
		}
		n, err := env.CountOccurrences(cc.Of, al, now.Add(-cc.Within))
		if err != nil {
			return false, err
		}
		if n < cc.AtLeast {
			return false, nil
		}
	}
	return true, nil
}

// severityRank orders severities, most severe (S1) lowest.
func severityRank(s core.Severity) int { return slices.Index(core.Severities, s) }
