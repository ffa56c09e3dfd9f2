// Package escalation decides who is told about an incident, and when:
// rules on severity, category, flags, phase, "not acknowledged within D",
// "task overdue" and "legal clock due soon/overdue", each naming contact
// roles, contacts, the on-call order or channels. It is pure: the caller
// supplies the incident's situation and records which firings it has
// already acted on, so each condition fires once and only once.
package escalation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/core"
)

// Flags are the incident facts a rule can require.
var Flags = []string{"personal_data", "sensitive_personal_data", "malicious_intent", "financial_damage_risk", "eu_residents", "restricted", "exercise"}

// OnCall values for Notify.OnCall.
const (
	OnCallFirst = "first" // the first person in the on-call order
	OnCallNext  = "next"  // one further down the order per elapsed period
)

// Duration is a time.Duration written as "30m" or "2h" in YAML and JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as Go's duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "30m"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30m\"")
	}
	return d.parse(s)
}

// UnmarshalYAML reads "30m"-style strings, naming the line on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.parse(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("invalid duration %q: use e.g. 30m, 2h", s)
	}
	*d = Duration(v)
	return nil
}

// Rule is one escalation rule. Every condition given must hold; an empty
// condition list matches everything.
type Rule struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Disabled turns a rule off, typically to switch off a default one by
	// defining a rule with its id.
	Disabled bool   `json:"disabled,omitempty" yaml:"disabled"`
	When     When   `json:"when" yaml:"when"`
	Notify   Notify `json:"notify" yaml:"notify"`
	// Source says where the rule came from: builtin, file or api. Only
	// API rules can be changed through the API.
	Source string `json:"source" yaml:"-"`
}

// When holds a rule's conditions.
type When struct {
	Severity []core.Severity `json:"severity,omitempty" yaml:"severity"`
	Category []core.Category `json:"category,omitempty" yaml:"category"`
	// Flags must all be set on the incident.
	Flags []string     `json:"flags,omitempty" yaml:"flags"`
	Phase []core.Phase `json:"phase,omitempty" yaml:"phase"`
	// NotAcknowledgedFor fires when nobody has taken the incident on
	// (assigned it or moved it to triage) this long after it was reported.
	NotAcknowledgedFor Duration `json:"not_acknowledged_for,omitempty" yaml:"not_acknowledged_for"`
	// TaskOverdue fires once per task that is past its due time.
	TaskOverdue bool `json:"task_overdue,omitempty" yaml:"task_overdue"`
	// ClockDueSoon fires once per legal clock entering its warning period;
	// ClockOverdue once per clock past its due time.
	ClockDueSoon bool `json:"clock_due_soon,omitempty" yaml:"clock_due_soon"`
	ClockOverdue bool `json:"clock_overdue,omitempty" yaml:"clock_overdue"`
}

// Notify says who is told.
type Notify struct {
	Roles    []string `json:"roles,omitempty" yaml:"roles"`
	Contacts []string `json:"contacts,omitempty" yaml:"contacts"`
	// OnCall is "first" or "next" (see the constants).
	OnCall string `json:"on_call,omitempty" yaml:"on_call"`
	// Assignee tells the incident's assignee, or for an overdue task the
	// task's assignee, through the contact linked to that user.
	Assignee bool `json:"assignee,omitempty" yaml:"assignee"`
	// Via limits delivery to these channel types of each contact.
	Via []string `json:"via,omitempty" yaml:"via"`
	// Channels are endpoints that belong to no contact (a team's Slack
	// channel, a SOAR webhook).
	Channels []core.Channel `json:"channels,omitempty" yaml:"channels"`
}

// timed reports whether the rule waits for time to pass, so it is only
// checked by the periodic sweep and not on every change.
// Timed reports whether the rule is checked by the sweep.
func (r *Rule) Timed() bool { return r.When.timed() }

func (w When) timed() bool {
	return w.NotAcknowledgedFor > 0 || w.TaskOverdue || w.ClockDueSoon || w.ClockOverdue
}

// Situation is what the caller knows about an incident right now.
type Situation struct {
	Incident *core.Incident
	Now      time.Time
	// Overdue are the incident's unfinished tasks past their due time.
	Overdue []TaskRef
	// Clocks are its legal clocks that are due soon or overdue and not yet
	// submitted or ruled out.
	Clocks []ClockRef
}

// TaskRef is an overdue task.
type TaskRef struct {
	ID       string
	Title    string
	Assignee string
	Due      time.Time
}

// ClockRef is a legal clock that needs attention.
type ClockRef struct {
	RuleID  string
	Title   string // Japanese
	TitleEN string
	// State is "due_soon" or "overdue".
	State string
	Due   time.Time
}

// Reason kinds of a Firing, for the message text.
const (
	ReasonMatch      = "match"
	ReasonUnacked    = "not_acknowledged"
	ReasonTask       = "task_overdue"
	ReasonClockSoon  = "clock_due_soon"
	ReasonClockLate  = "clock_overdue"
	subjectNone      = ""
	subjectUnacked   = "unacknowledged"
	subjectOnCallFmt = "on_call:%d"
)

// Firing is one rule whose conditions hold for one subject of an
// incident. (Rule, incident, Subject) is the once-only key.
type Firing struct {
	Rule    *Rule
	Subject string
	Reason  string
	// OnCallPosition is the 1-based position in the on-call order to tell
	// (0: none).
	OnCallPosition int
	Task           *TaskRef
	Clock          *ClockRef
}

// Evaluate returns every firing of rules for the situation, in rule
// order. sweep selects the rules that wait for time to pass (checked by
// the periodic sweep); otherwise it is those that look at the incident as
// it stands (checked when it changes), so adding a contact later does not
// replay every open incident's old news. The caller drops firings it has
// already acted on.
func Evaluate(rules []*Rule, sit Situation, sweep bool) []Firing {
	inc := sit.Incident
	var out []Firing
	for _, r := range rules {
		if r.Disabled || !r.When.matchesIncident(inc) {
			continue
		}
		w := r.When
		if w.timed() != sweep {
			continue
		}
		if !sweep {
			f := Firing{Rule: r, Subject: subjectNone, Reason: ReasonMatch}
			if r.Notify.OnCall == OnCallFirst {
				f.OnCallPosition = 1
			}
			out = append(out, f)
			continue
		}
		if w.NotAcknowledgedFor > 0 {
			out = append(out, unacked(r, inc, sit.Now)...)
		}
		if w.TaskOverdue {
			for i := range sit.Overdue {
				t := sit.Overdue[i]
				out = append(out, Firing{Rule: r, Subject: "task:" + t.ID, Reason: ReasonTask, Task: &t})
			}
		}
		for i := range sit.Clocks {
			c := sit.Clocks[i]
			switch {
			case w.ClockDueSoon && c.State == "due_soon":
				out = append(out, Firing{Rule: r, Subject: "clock:" + c.RuleID + ":due_soon", Reason: ReasonClockSoon, Clock: &c})
			case w.ClockOverdue && c.State == "overdue":
				out = append(out, Firing{Rule: r, Subject: "clock:" + c.RuleID + ":overdue", Reason: ReasonClockLate, Clock: &c})
			}
		}
	}
	return out
}

// unacked fires once when the period has passed, or for on_call: next
// once per elapsed period, each step telling the next person down.
func unacked(r *Rule, inc *core.Incident, now time.Time) []Firing {
	if inc.Timestamps.AcknowledgedAt != nil || inc.Phase == core.PhaseClosed {
		return nil
	}
	period := time.Duration(r.When.NotAcknowledgedFor)
	elapsed := now.Sub(inc.Timestamps.ReportedAt)
	if elapsed < period {
		return nil
	}
	if r.Notify.OnCall != OnCallNext {
		f := Firing{Rule: r, Subject: subjectUnacked, Reason: ReasonUnacked}
		if r.Notify.OnCall == OnCallFirst {
			f.OnCallPosition = 1
		}
		return []Firing{f}
	}
	steps := int(elapsed / period)
	// Beyond a day of silence the sweep stops walking down the list: the
	// order has long been exhausted and the loop must stay bounded.
	steps = min(steps, 48)
	out := make([]Firing, 0, steps)
	for k := 1; k <= steps; k++ {
		out = append(out, Firing{Rule: r, Subject: fmt.Sprintf(subjectOnCallFmt, k+1), Reason: ReasonUnacked, OnCallPosition: k + 1})
	}
	return out
}

func (w When) matchesIncident(inc *core.Incident) bool {
	if len(w.Severity) > 0 && !slices.Contains(w.Severity, inc.Severity) {
		return false
	}
	if len(w.Category) > 0 && !slices.Contains(w.Category, inc.Category) {
		return false
	}
	if len(w.Phase) > 0 && !slices.Contains(w.Phase, inc.Phase) {
		return false
	}
	for _, f := range w.Flags {
		if !flagSet(inc, f) {
			return false
		}
	}
	return true
}

func flagSet(inc *core.Incident, name string) bool {
	fl := inc.Flags
	switch name {
	case "personal_data":
		return fl.PersonalData
	case "sensitive_personal_data":
		return fl.SensitivePersonalData
	case "malicious_intent":
		return fl.MaliciousIntent
	case "financial_damage_risk":
		return fl.FinancialDamageRisk
	case "eu_residents":
		return fl.EUResidents
	case "restricted":
		return inc.Restricted
	case "exercise":
		return inc.Exercise
	}
	return false
}
