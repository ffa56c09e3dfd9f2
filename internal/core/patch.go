package core

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Opt is a field of a partial update: absent (leave alone), null (clear)
// or a value. A plain pointer cannot tell absent from null.
type Opt[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON is only called when the key is present, which is what Set records.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		var zero T
		o.Value = zero
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// FactsPatch changes some of the 5W1H facts.
type FactsPatch struct {
	OccurredAt   Opt[time.Time] `json:"occurred_at"`
	Location     Opt[string]    `json:"location"`
	DiscoveredBy Opt[string]    `json:"discovered_by"`
	What         Opt[string]    `json:"what"`
	Why          Opt[string]    `json:"why"`
	HowFound     Opt[string]    `json:"how_found"`
	ActionsTaken Opt[string]    `json:"actions_taken"`
}

// FlagsPatch changes some of the legal-clock flags.
type FlagsPatch struct {
	PersonalData          Opt[bool]  `json:"personal_data"`
	PeopleAffected        Opt[int64] `json:"people_affected"`
	SensitivePersonalData Opt[bool]  `json:"sensitive_personal_data"`
	MaliciousIntent       Opt[bool]  `json:"malicious_intent"`
	FinancialDamageRisk   Opt[bool]  `json:"financial_damage_risk"`
	EUResidents           Opt[bool]  `json:"eu_residents"`
}

// TimestampsPatch sets milestones by hand, e.g. containment achieved during
// triage. Reported and closed follow from the workflow and cannot be set.
type TimestampsPatch struct {
	DetectedAt     Opt[time.Time] `json:"detected_at"`
	AcknowledgedAt Opt[time.Time] `json:"acknowledged_at"`
	ContainedAt    Opt[time.Time] `json:"contained_at"`
	EradicatedAt   Opt[time.Time] `json:"eradicated_at"`
	RecoveredAt    Opt[time.Time] `json:"recovered_at"`
}

// IncidentPatch is a partial update of an incident's editable fields.
// Phase, assignee and members have their own operations because each has
// rules of its own.
type IncidentPatch struct {
	Version            Opt[int64]      `json:"version"`
	Title              Opt[string]     `json:"title"`
	Description        Opt[string]     `json:"description"`
	Category           Opt[Category]   `json:"category"`
	InfoType           Opt[InfoType]   `json:"info_type"`
	CauseClass         Opt[CauseClass] `json:"cause_class"`
	Severity           Opt[Severity]   `json:"severity"`
	Impact             Opt[int]        `json:"impact"`
	Urgency            Opt[int]        `json:"urgency"`
	AffectedSystems    Opt[[]string]   `json:"affected_systems"`
	Facts              FactsPatch      `json:"facts"`
	Flags              FlagsPatch      `json:"flags"`
	Timestamps         TimestampsPatch `json:"timestamps"`
	Restricted         Opt[bool]       `json:"restricted"`
	Exercise           Opt[bool]       `json:"exercise"`
	RootCause          Opt[string]     `json:"root_cause"`
	LessonsLearned     Opt[string]     `json:"lessons_learned"`
	PreventionMeasures Opt[string]     `json:"prevention_measures"`
}

// Change is one field's old and new value, as the audit event records it.
type Change struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Apply changes inc by the patch, validates the result and returns what
// changed. On error inc may be partly changed; callers work on a copy.
func (p *IncidentPatch) Apply(inc *Incident) ([]Change, error) {
	var changes []Change
	str := func(field string, dst *string, o Opt[string]) {
		if o.Set && *dst != o.Value {
			changes = append(changes, Change{field, *dst, o.Value})
			*dst = o.Value
		}
	}
	tm := func(field string, dst **time.Time, o Opt[time.Time]) {
		if !o.Set {
			return
		}
		var next *time.Time
		if !o.Null {
			v := o.Value.UTC().Truncate(time.Microsecond)
			next = &v
		}
		if !reflect.DeepEqual(*dst, next) {
			changes = append(changes, Change{field, *dst, next})
			*dst = next
		}
	}
	boolean := func(field string, dst *bool, o Opt[bool]) {
		if o.Set && *dst != o.Value {
			changes = append(changes, Change{field, *dst, o.Value})
			*dst = o.Value
		}
	}
	integer := func(field string, dst *int, o Opt[int]) {
		if o.Set && *dst != o.Value {
			changes = append(changes, Change{field, *dst, o.Value})
			*dst = o.Value
		}
	}
	if p.Title.Set && p.Title.Null {
		return nil, Invalid("title", "is required")
	}
	// Compare what Normalize will store, so the audit never records a
	// change that is only surrounding blanks.
	p.Title.Value = strings.TrimSpace(p.Title.Value)
	str("title", &inc.Title, p.Title)
	str("description", &inc.Description, p.Description)
	if p.Category.Set {
		if p.Category.Null {
			return nil, Invalid("category", "cannot be null")
		}
		if inc.Category != p.Category.Value {
			changes = append(changes, Change{"category", inc.Category, p.Category.Value})
			inc.Category = p.Category.Value
			if inc.Category != CatDataLeak && !p.InfoType.Set && inc.InfoType != "" {
				changes = append(changes, Change{"info_type", inc.InfoType, ""})
				inc.InfoType = ""
			}
		}
	}
	if p.InfoType.Set && inc.InfoType != p.InfoType.Value {
		changes = append(changes, Change{"info_type", inc.InfoType, p.InfoType.Value})
		inc.InfoType = p.InfoType.Value
	}
	if p.CauseClass.Set && inc.CauseClass != p.CauseClass.Value {
		changes = append(changes, Change{"cause_class", inc.CauseClass, p.CauseClass.Value})
		inc.CauseClass = p.CauseClass.Value
	}
	if p.Severity.Set {
		if p.Severity.Null {
			return nil, Invalid("severity", "cannot be null")
		}
		if inc.Severity != p.Severity.Value {
			changes = append(changes, Change{"severity", inc.Severity, p.Severity.Value})
			inc.Severity = p.Severity.Value
		}
	}
	if p.Impact.Set && p.Impact.Null {
		return nil, Invalid("impact", "cannot be null")
	}
	if p.Urgency.Set && p.Urgency.Null {
		return nil, Invalid("urgency", "cannot be null")
	}
	// Normalize reads 0 as "not given" and substitutes 3; in a patch 0 is
	// given, so it must be refused rather than recorded as 0 and stored as 3.
	if p.Impact.Set && p.Impact.Value == 0 {
		return nil, Invalid("impact", "must be 1 to 4, got 0")
	}
	if p.Urgency.Set && p.Urgency.Value == 0 {
		return nil, Invalid("urgency", "must be 1 to 4, got 0")
	}
	integer("impact", &inc.Impact, p.Impact)
	integer("urgency", &inc.Urgency, p.Urgency)
	if p.AffectedSystems.Set {
		next := make([]string, len(p.AffectedSystems.Value))
		for i, v := range p.AffectedSystems.Value {
			next[i] = strings.TrimSpace(v)
		}
		if !reflect.DeepEqual(inc.AffectedSystems, next) {
			changes = append(changes, Change{"affected_systems", inc.AffectedSystems, next})
			inc.AffectedSystems = next
		}
	}
	tm("facts.occurred_at", &inc.Facts.OccurredAt, p.Facts.OccurredAt)
	str("facts.location", &inc.Facts.Location, p.Facts.Location)
	str("facts.discovered_by", &inc.Facts.DiscoveredBy, p.Facts.DiscoveredBy)
	str("facts.what", &inc.Facts.What, p.Facts.What)
	str("facts.why", &inc.Facts.Why, p.Facts.Why)
	str("facts.how_found", &inc.Facts.HowFound, p.Facts.HowFound)
	str("facts.actions_taken", &inc.Facts.ActionsTaken, p.Facts.ActionsTaken)
	boolean("flags.personal_data", &inc.Flags.PersonalData, p.Flags.PersonalData)
	if p.Flags.PeopleAffected.Set && inc.Flags.PeopleAffected != p.Flags.PeopleAffected.Value {
		changes = append(changes, Change{"flags.people_affected", inc.Flags.PeopleAffected, p.Flags.PeopleAffected.Value})
		inc.Flags.PeopleAffected = p.Flags.PeopleAffected.Value
	}
	boolean("flags.sensitive_personal_data", &inc.Flags.SensitivePersonalData, p.Flags.SensitivePersonalData)
	boolean("flags.malicious_intent", &inc.Flags.MaliciousIntent, p.Flags.MaliciousIntent)
	boolean("flags.financial_damage_risk", &inc.Flags.FinancialDamageRisk, p.Flags.FinancialDamageRisk)
	boolean("flags.eu_residents", &inc.Flags.EUResidents, p.Flags.EUResidents)
	tm("timestamps.detected_at", &inc.Timestamps.DetectedAt, p.Timestamps.DetectedAt)
	tm("timestamps.acknowledged_at", &inc.Timestamps.AcknowledgedAt, p.Timestamps.AcknowledgedAt)
	tm("timestamps.contained_at", &inc.Timestamps.ContainedAt, p.Timestamps.ContainedAt)
	tm("timestamps.eradicated_at", &inc.Timestamps.EradicatedAt, p.Timestamps.EradicatedAt)
	tm("timestamps.recovered_at", &inc.Timestamps.RecoveredAt, p.Timestamps.RecoveredAt)
	boolean("restricted", &inc.Restricted, p.Restricted)
	boolean("exercise", &inc.Exercise, p.Exercise)
	str("root_cause", &inc.RootCause, p.RootCause)
	str("lessons_learned", &inc.LessonsLearned, p.LessonsLearned)
	str("prevention_measures", &inc.PreventionMeasures, p.PreventionMeasures)
	personal := inc.Flags.PersonalData
	if err := inc.Normalize(); err != nil {
		return nil, err
	}
	if inc.Flags.PersonalData != personal {
		// Normalize sets personal_data when sensitive data is flagged; the
		// audit trail must show that legal-clock flag changing too.
		changes = append(changes, Change{"flags.personal_data", personal, inc.Flags.PersonalData})
	}
	return changes, nil
}
