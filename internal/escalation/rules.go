package escalation

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/yamlfile"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Defaults are the rules every desk starts with (the brief):
// the first on call hears of every incident; S1/S2 reach the lead and
// management at once; personal data reaches legal and PR; an incident
// nobody takes on within 30 minutes goes down the on-call order; legal
// clocks and overdue tasks reach the people who must act.
func Defaults() []*Rule {
	return []*Rule{
		{ID: "default-first-on-call", Name: "Every new incident → first on call",
			Notify: Notify{OnCall: OnCallFirst}},
		{ID: "default-severe", Name: "S1/S2 → lead and management at once",
			When: When{Severity: []core.Severity{core.S1, core.S2}}, Notify: Notify{Roles: []string{"lead", "management"}}},
		{ID: "default-personal-data", Name: "Personal data involved → legal and PR",
			When: When{Flags: []string{"personal_data"}}, Notify: Notify{Roles: []string{"legal", "pr"}}},
		{ID: "default-unacknowledged", Name: "Not acknowledged within 30 minutes → next on call",
			When: When{NotAcknowledgedFor: Duration(30 * time.Minute)}, Notify: Notify{OnCall: OnCallNext}},
		{ID: "default-clock-due-soon", Name: "Legal reporting clock due soon → legal and the assignee",
			When: When{ClockDueSoon: true}, Notify: Notify{Roles: []string{"legal"}, Assignee: true}},
		{ID: "default-clock-overdue", Name: "Legal reporting clock overdue → legal, management and the assignee",
			When: When{ClockOverdue: true}, Notify: Notify{Roles: []string{"legal", "management"}, Assignee: true}},
		{ID: "default-task-overdue", Name: "Task overdue → its assignee",
			When: When{TaskOverdue: true}, Notify: Notify{Assignee: true}},
	}
}

// Merge lays rule lists over each other: a later rule with the same id
// replaces an earlier one in place, new ones are appended. Built-in
// defaults, then the file, then the API.
func Merge(layers ...[]*Rule) []*Rule {
	var out []*Rule
	at := map[string]int{}
	for _, layer := range layers {
		for _, r := range layer {
			if i, ok := at[r.ID]; ok {
				out[i] = r
				continue
			}
			at[r.ID] = len(out)
			out = append(out, r)
		}
	}
	return out
}

// Validate checks a rule and normalises its lists (lower case, sorted
// out duplicates). Errors are core.FieldErrors named from the rule root,
// e.g. "when.severity[1]".
func (r *Rule) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, core.Invalid(field, format, args...)) }
	r.ID = strings.TrimSpace(r.ID)
	if !idPattern.MatchString(r.ID) {
		bad("id", "invalid id %q: use 1–64 lower-case letters, digits, '_' or '-'", r.ID)
	}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		bad("name", "required")
	} else if len(r.Name) > 200 {
		bad("name", "at most 200 bytes")
	}
	for i, s := range r.When.Severity {
		if !s.Valid() {
			bad(fmt.Sprintf("when.severity[%d]", i), "unknown severity %q (S1–S4)", s)
		}
	}
	for i, c := range r.When.Category {
		if !c.Valid() {
			bad(fmt.Sprintf("when.category[%d]", i), "unknown category %q", c)
		}
	}
	for i, f := range r.When.Flags {
		if !slices.Contains(Flags, f) {
			bad(fmt.Sprintf("when.flags[%d]", i), "unknown flag %q (one of %s)", f, strings.Join(Flags, ", "))
		}
	}
	for i, p := range r.When.Phase {
		if !slices.Contains(core.Phases, p) {
			bad(fmt.Sprintf("when.phase[%d]", i), "unknown phase %q", p)
		}
	}
	if r.When.NotAcknowledgedFor < 0 || (r.When.NotAcknowledgedFor > 0 && time.Duration(r.When.NotAcknowledgedFor) < time.Minute) {
		bad("when.not_acknowledged_for", "must be at least 1m")
	}
	n := r.Notify
	for i, role := range n.Roles {
		if !slices.Contains(core.ContactRoles, role) {
			bad(fmt.Sprintf("notify.roles[%d]", i), "unknown role %q (one of %s)", role, strings.Join(core.ContactRoles, ", "))
		}
	}
	for i, c := range n.Contacts {
		if strings.TrimSpace(c) == "" {
			bad(fmt.Sprintf("notify.contacts[%d]", i), "empty contact name")
		}
	}
	switch n.OnCall {
	case "", OnCallFirst:
	case OnCallNext:
		if r.When.NotAcknowledgedFor == 0 {
			bad("notify.on_call", "%q needs when.not_acknowledged_for: the order is walked one step per period", OnCallNext)
		}
	default:
		bad("notify.on_call", "must be %q or %q", OnCallFirst, OnCallNext)
	}
	for i, v := range n.Via {
		if !slices.Contains(core.ChannelTypes, v) || v == "phone" {
			bad(fmt.Sprintf("notify.via[%d]", i), "unknown channel type %q (email, slack, teams, webhook)", v)
		}
	}
	for i := range n.Channels {
		if err := n.Channels[i].Validate(); err != nil {
			var fe *core.FieldError
			if errors.As(err, &fe) {
				bad(fmt.Sprintf("notify.channels[%d].%s", i, fe.Field), "%s", fe.Message)
			}
		}
	}
	if len(n.Roles) == 0 && len(n.Contacts) == 0 && n.OnCall == "" && !n.Assignee && len(n.Channels) == 0 {
		bad("notify", "names nobody: give roles, contacts, on_call, assignee or channels")
	}
	if r.When.TaskOverdue && (r.When.ClockDueSoon || r.When.ClockOverdue || r.When.NotAcknowledgedFor > 0) ||
		r.When.NotAcknowledgedFor > 0 && (r.When.ClockDueSoon || r.When.ClockOverdue) {
		bad("when", "combine at most one of not_acknowledged_for, task_overdue and clock_due_soon/clock_overdue per rule")
	}
	return errors.Join(errs...)
}

// FileError is a problem in a rules file, as "rules.yaml:12: rules[1].when.severity[0]: ...".
type FileError = yamlfile.Error

// maxFileSize bounds a rules file; real ones are a few KiB.
const maxFileSize = 1 << 20

// ParseFile reads a rules file of the form
//
//	rules:
//	  - id: ...
//
// and validates every rule, reporting every problem at once with the line
// of the field at fault.
func ParseFile(name string, data []byte) ([]*Rule, error) {
	var doc struct {
		Rules []*Rule `yaml:"rules"`
	}
	root, err := yamlfile.Decode(name, data, maxFileSize, &doc)
	if err != nil || root == nil {
		return nil, err
	}
	var errs []*FileError
	seen := map[string]int{}
	for i, r := range doc.Rules {
		prefix := fmt.Sprintf("rules[%d]", i)
		if r == nil {
			errs = append(errs, &FileError{File: name, Line: yamlfile.LineOf(root, prefix), Field: prefix, Message: "empty rule"})
			continue
		}
		r.Source = "file"
		if err := r.Validate(); err != nil {
			for _, e := range flatten(err) {
				var fe *core.FieldError
				if errors.As(e, &fe) {
					path := prefix + "." + fe.Field
					errs = append(errs, &FileError{File: name, Line: yamlfile.LineOf(root, path), Field: path, Message: fe.Message})
				}
			}
		}
		if prev, dup := seen[r.ID]; dup && r.ID != "" {
			errs = append(errs, &FileError{File: name, Line: yamlfile.LineOf(root, prefix+".id"), Field: prefix + ".id",
				Message: fmt.Sprintf("duplicate id %q, also rules[%d]", r.ID, prev)})
		}
		seen[r.ID] = i
	}
	if err := yamlfile.Join(errs); err != nil {
		return nil, err
	}
	return doc.Rules, nil
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
