package deadline

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Flag names a CustomRule may require; they are the JSON names of core.Flags.
const (
	FlagPersonalData          = "personal_data"
	FlagSensitivePersonalData = "sensitive_personal_data"
	FlagMaliciousIntent       = "malicious_intent"
	FlagFinancialDamageRisk   = "financial_damage_risk"
	FlagEUResidents           = "eu_residents"
)

// FlagNames lists every flag a CustomRule may require.
var FlagNames = []string{FlagPersonalData, FlagSensitivePersonalData, FlagMaliciousIntent, FlagFinancialDamageRisk, FlagEUResidents}

func flagSet(fl core.Flags, name string) bool {
	switch name {
	case FlagPersonalData:
		return fl.PersonalData
	case FlagSensitivePersonalData:
		return fl.SensitivePersonalData
	case FlagMaliciousIntent:
		return fl.MaliciousIntent
	case FlagFinancialDamageRisk:
		return fl.FinancialDamageRisk
	case FlagEUResidents:
		return fl.EUResidents
	}
	return false
}

// Limits on a custom rule's text fields.
const (
	maxCustomIDLen   = 64
	maxCustomTextLen = 200
)

// CustomRule is a reporting clock from the organisation's configuration: a
// contract with a customer ("tell us within 48 hours"), a sector regulator,
// the group's head office. Its trigger is data: every condition set must
// hold, and a rule with no conditions applies to every incident.
//
// The due time is either DueAfter (exact time from awareness) or DueDays
// (calendar days counted like the APPI deadlines: from the day after
// awareness, ending 23:59:59.999 JST), never both.
type CustomRule struct {
	ID        string // lower-case letters, digits and '-'; must not clash with Rules
	TitleJA   string
	TitleEN   string
	Recipient string
	Source    string // optional: contract clause, regulation

	Categories        []core.Category // the incident's category is one of these; empty = any
	RequiredFlags     []string        // every one of these flags is set (FlagNames)
	MinPeopleAffected int64           // PeopleAffected >= this; 0 = no condition

	DueAfter time.Duration // exact deadline after awareness
	DueDays  int           // or: end of the N-th day (JST) after the day of awareness
	// WarnBefore (with DueAfter) is how long before the deadline the clock is
	// due soon; 0 means a third of DueAfter.
	WarnBefore time.Duration
	// WarnDays (with DueDays) makes the clock due soon during the last N days
	// (the due day counts as one); 0 means a third of DueDays, rounded up.
	WarnDays int
}

// Applies reports whether the incident described by f starts this clock.
func (r CustomRule) Applies(f Facts) bool {
	if len(r.Categories) > 0 && !slices.Contains(r.Categories, f.Category) {
		return false
	}
	for _, name := range r.RequiredFlags {
		if !flagSet(f.Flags, name) {
			return false
		}
	}
	return f.Flags.PeopleAffected >= r.MinPeopleAffected
}

// due computes the deadline and the warn-from time of a valid rule.
func (r CustomRule) due(start time.Time, cfg Config) (due, warn time.Time) {
	if r.DueDays > 0 {
		due = dueAfterDays(start, r.DueDays, cfg.AwarenessDayIsDayOne)
		n := r.WarnDays
		if n == 0 {
			n = (r.DueDays + 2) / 3
		}
		return due, lastDays(n)(start, due)
	}
	due = start.Add(r.DueAfter)
	w := r.WarnBefore
	if w == 0 {
		w = r.DueAfter / 3
	}
	return due, due.Add(-w)
}

// Validate checks one custom rule. The error is a *core.FieldError naming the
// field at fault (e.g. "due_days") and wraps core.ErrInvalid.
func (r CustomRule) Validate() error {
	if r.ID == "" {
		return core.Invalid("id", "is required")
	}
	if len(r.ID) > maxCustomIDLen {
		return core.Invalid("id", "is longer than %d characters", maxCustomIDLen)
	}
	for _, c := range r.ID {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return core.Invalid("id", "may only hold lower-case letters, digits and '-': %q", r.ID)
		}
	}
	if isBuiltin(r.ID) {
		return core.Invalid("id", "%q is a built-in rule", r.ID)
	}
	for _, t := range []struct{ field, value string }{
		{"title_ja", r.TitleJA}, {"title_en", r.TitleEN}, {"recipient", r.Recipient}, {"source", r.Source},
	} {
		if t.value == "" && t.field != "source" {
			return core.Invalid(t.field, "is required")
		}
		if len([]rune(t.value)) > maxCustomTextLen {
			return core.Invalid(t.field, "is longer than %d characters", maxCustomTextLen)
		}
	}
	for i, c := range r.Categories {
		if !c.Valid() {
			return core.Invalid(fmt.Sprintf("categories[%d]", i), "unknown category %q", c)
		}
		if slices.Contains(r.Categories[:i], c) {
			return core.Invalid(fmt.Sprintf("categories[%d]", i), "category %q listed twice", c)
		}
	}
	for i, name := range r.RequiredFlags {
		if !slices.Contains(FlagNames, name) {
			return core.Invalid(fmt.Sprintf("required_flags[%d]", i), "unknown flag %q (one of %v)", name, FlagNames)
		}
		if slices.Contains(r.RequiredFlags[:i], name) {
			return core.Invalid(fmt.Sprintf("required_flags[%d]", i), "flag %q listed twice", name)
		}
	}
	if r.MinPeopleAffected < 0 || r.MinPeopleAffected > core.MaxPeopleAffected {
		return core.Invalid("min_people_affected", "must be between 0 and %d", int64(core.MaxPeopleAffected))
	}
	const maxAfter = MaxTargetDays * 24 * time.Hour
	switch {
	case r.DueAfter != 0 && r.DueDays != 0:
		return core.Invalid("due_after", "set either due_after or due_days, not both")
	case r.DueAfter == 0 && r.DueDays == 0:
		return core.Invalid("due_after", "a deadline is required: due_after or due_days")
	case r.DueAfter < 0 || r.DueAfter > maxAfter:
		return core.Invalid("due_after", "must be between 1ns and %d days", MaxTargetDays)
	case r.DueDays < 0 || r.DueDays > MaxTargetDays:
		return core.Invalid("due_days", "must be between 1 and %d", MaxTargetDays)
	}
	if r.DueDays > 0 {
		if r.WarnBefore != 0 {
			return core.Invalid("warn_before", "only applies with due_after; use warn_days")
		}
		if r.WarnDays < 0 || r.WarnDays > r.DueDays {
			return core.Invalid("warn_days", "must be between 0 and due_days (%d)", r.DueDays)
		}
	} else {
		if r.WarnDays != 0 {
			return core.Invalid("warn_days", "only applies with due_days; use warn_before")
		}
		if r.WarnBefore < 0 || r.WarnBefore > r.DueAfter {
			return core.Invalid("warn_before", "must be between 0 and due_after (%s)", r.DueAfter)
		}
	}
	return nil
}

// validateCustom checks every custom rule and that their IDs are unique; a
// field error is reported as custom[i].field.
func validateCustom(rules []CustomRule) error {
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			var fe *core.FieldError
			if errors.As(err, &fe) {
				return core.Invalid(fmt.Sprintf("custom[%d].%s", i, fe.Field), "%s", fe.Message)
			}
			return err
		}
		for j := range i {
			if rules[j].ID == r.ID {
				return core.Invalid(fmt.Sprintf("custom[%d].id", i), "%q is already used by custom[%d]", r.ID, j)
			}
		}
	}
	return nil
}
