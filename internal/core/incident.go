package core

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on free text. They keep one incident's row (and the full-text
// index built from it) to a size a list page can afford.
const (
	MaxTitleLen       = 300
	MaxTextLen        = 100_000 // description, 5W1H texts, closing texts
	MaxShortLen       = 500     // location, discovered by, a system name
	MaxAffectedItems  = 500
	MaxPeopleAffected = 10_000_000_000
)

// Facts are the 5W1H of the first report: when, where, who found it, what
// happened, why (as far as known) and how it was found, plus what was
// already done, which the first responder needs to know before acting.
type Facts struct {
	OccurredAt   *time.Time `json:"occurred_at,omitempty"`
	Location     string     `json:"location,omitempty"`
	DiscoveredBy string     `json:"discovered_by,omitempty"`
	What         string     `json:"what,omitempty"`
	Why          string     `json:"why,omitempty"`
	HowFound     string     `json:"how_found,omitempty"`
	ActionsTaken string     `json:"actions_taken,omitempty"`
}

// Flags drive the legal reporting clocks (APPI, GDPR, ...).
type Flags struct {
	PersonalData          bool  `json:"personal_data"`
	PeopleAffected        int64 `json:"people_affected"`
	SensitivePersonalData bool  `json:"sensitive_personal_data"`
	MaliciousIntent       bool  `json:"malicious_intent"`
	FinancialDamageRisk   bool  `json:"financial_damage_risk"`
	EUResidents           bool  `json:"eu_residents"`
}

// Timestamps are the milestones MTTD, MTTA, MTTC and MTTR are computed from:
//
//	MTTD = detected − occurred (facts.occurred_at)
//	MTTA = acknowledged − reported
//	MTTC = contained − detected     MTTR = recovered − detected
//
// Reported is when the incident was filed in irdesk. Acknowledged is set by
// the first assignment or the first move out of detect; contained,
// eradicated and recovered are set when the incident first leaves the
// matching phase forward, unless someone set them earlier by hand
// (containment often happens during triage).
type Timestamps struct {
	DetectedAt     *time.Time `json:"detected_at,omitempty"`
	ReportedAt     time.Time  `json:"reported_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ContainedAt    *time.Time `json:"contained_at,omitempty"`
	EradicatedAt   *time.Time `json:"eradicated_at,omitempty"`
	RecoveredAt    *time.Time `json:"recovered_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
}

// PhasePeriod is one stay of an incident in a phase. A phase entered twice
// (re-infection sends it back) has two periods.
type PhasePeriod struct {
	Phase     Phase      `json:"phase"`
	EnteredAt time.Time  `json:"entered_at"`
	LeftAt    *time.Time `json:"left_at,omitempty"`
	EnteredBy string     `json:"entered_by"`
	Reason    string     `json:"reason,omitempty"`
}

// PhaseAssignee is who owns one phase of an incident.
type PhaseAssignee struct {
	Phase    Phase  `json:"phase"`
	Assignee string `json:"assignee"`
}

// Incident is one security incident and everything the desk knows of it.
type Incident struct {
	ID                 int64           `json:"id"`
	Key                string          `json:"key"`
	Title              string          `json:"title"`
	Description        string          `json:"description"`
	Category           Category        `json:"category"`
	InfoType           InfoType        `json:"info_type,omitempty"`
	CauseClass         CauseClass      `json:"cause_class,omitempty"`
	Severity           Severity        `json:"severity"`
	Impact             int             `json:"impact"`
	Urgency            int             `json:"urgency"`
	Priority           Priority        `json:"priority"`
	Phase              Phase           `json:"phase"`
	AffectedSystems    []string        `json:"affected_systems"`
	ReporterID         int64           `json:"-"`
	Reporter           string          `json:"reporter"`
	AssigneeID         int64           `json:"-"`
	Assignee           string          `json:"assignee,omitempty"`
	Facts              Facts           `json:"facts"`
	Flags              Flags           `json:"flags"`
	Restricted         bool            `json:"restricted"`
	Exercise           bool            `json:"exercise"`
	RootCause          string          `json:"root_cause,omitempty"`
	LessonsLearned     string          `json:"lessons_learned,omitempty"`
	PreventionMeasures string          `json:"prevention_measures,omitempty"`
	Timestamps         Timestamps      `json:"timestamps"`
	Phases             []PhasePeriod   `json:"phases,omitempty"`
	PhaseAssignees     []PhaseAssignee `json:"phase_assignees,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	Version            int64           `json:"version"`
}

// IncidentKey formats the human key, e.g. INC-2026-0042.
func IncidentKey(year int, seq int64) string { return fmt.Sprintf("INC-%d-%04d", year, seq) }

// ParseIncidentKey checks the shape of a key. It does not say the incident
// exists.
func ParseIncidentKey(key string) (year int, seq int64, err error) {
	var rest string
	// year >= 1000 with %4d means exactly four digits: no sign, no "INC-0-0001".
	if n, _ := fmt.Sscanf(key, "INC-%4d-%s", &year, &rest); n != 2 || year < 1000 || len(rest) < 4 {
		return 0, 0, Invalid("key", "not an incident key (INC-YYYY-NNNN): %q", key)
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, 0, Invalid("key", "not an incident key (INC-YYYY-NNNN): %q", key)
		}
	}
	if _, err := fmt.Sscanf(rest, "%d", &seq); err != nil || seq < 1 || IncidentKey(year, seq) != key {
		return 0, 0, Invalid("key", "not an incident key (INC-YYYY-NNNN): %q", key)
	}
	return year, seq, nil
}

// Normalize fills defaults and checks every field of a new or changed
// incident. It is the one place the rules for a valid incident live.
func (inc *Incident) Normalize() error {
	inc.Title = strings.TrimSpace(inc.Title)
	if inc.Title == "" {
		return Invalid("title", "is required")
	}
	if err := checkText("title", inc.Title, MaxTitleLen); err != nil {
		return err
	}
	if inc.Category == "" {
		inc.Category = CatOther
	}
	if !inc.Category.Valid() {
		return Invalid("category", "unknown category %q", inc.Category)
	}
	if inc.InfoType != "" {
		if inc.Category != CatDataLeak {
			return Invalid("info_type", "only applies to category data_leak")
		}
		if !inc.InfoType.Valid() {
			return Invalid("info_type", "unknown information type %q", inc.InfoType)
		}
	}
	if inc.CauseClass != "" && !inc.CauseClass.Valid() {
		return Invalid("cause_class", "unknown cause class %q", inc.CauseClass)
	}
	if inc.Severity == "" {
		inc.Severity = S3
	}
	if !inc.Severity.Valid() {
		return Invalid("severity", "unknown severity %q (S1 to S4)", inc.Severity)
	}
	if inc.Impact == 0 {
		inc.Impact = 3
	}
	if inc.Urgency == 0 {
		inc.Urgency = 3
	}
	p, err := PriorityFor(inc.Impact, inc.Urgency)
	if err != nil {
		return err
	}
	inc.Priority = p
	if inc.AffectedSystems == nil {
		inc.AffectedSystems = []string{}
	}
	if len(inc.AffectedSystems) > MaxAffectedItems {
		return Invalid("affected_systems", "at most %d entries", MaxAffectedItems)
	}
	for i, s := range inc.AffectedSystems {
		s = strings.TrimSpace(s)
		if s == "" {
			return Invalid(fmt.Sprintf("affected_systems[%d]", i), "is empty")
		}
		if err := checkText(fmt.Sprintf("affected_systems[%d]", i), s, MaxShortLen); err != nil {
			return err
		}
		inc.AffectedSystems[i] = s
	}
	texts := []struct {
		field string
		value string
		max   int
	}{
		{"description", inc.Description, MaxTextLen},
		{"facts.location", inc.Facts.Location, MaxShortLen},
		{"facts.discovered_by", inc.Facts.DiscoveredBy, MaxShortLen},
		{"facts.what", inc.Facts.What, MaxTextLen},
		{"facts.why", inc.Facts.Why, MaxTextLen},
		{"facts.how_found", inc.Facts.HowFound, MaxTextLen},
		{"facts.actions_taken", inc.Facts.ActionsTaken, MaxTextLen},
		{"root_cause", inc.RootCause, MaxTextLen},
		{"lessons_learned", inc.LessonsLearned, MaxTextLen},
		{"prevention_measures", inc.PreventionMeasures, MaxTextLen},
	}
	for _, t := range texts {
		if err := checkText(t.field, t.value, t.max); err != nil {
			return err
		}
	}
	if inc.Flags.PeopleAffected < 0 || inc.Flags.PeopleAffected > MaxPeopleAffected {
		return Invalid("flags.people_affected", "must be between 0 and %d", int64(MaxPeopleAffected))
	}
	if inc.Flags.SensitivePersonalData && !inc.Flags.PersonalData {
		// Sensitive personal data is personal data; keeping the two flags
		// consistent keeps the legal clocks from missing a case.
		inc.Flags.PersonalData = true
	}
	return nil
}

func checkText(field, value string, max int) error {
	if !utf8.ValidString(value) {
		return Invalid(field, "is not valid UTF-8")
	}
	if utf8.RuneCountInString(value) > max {
		return Invalid(field, "is longer than %d characters", max)
	}
	if strings.ContainsRune(value, 0) {
		return Invalid(field, "contains a NUL character")
	}
	return nil
}

// SearchText is what the full-text index holds for an incident.
func (inc *Incident) SearchText() string {
	parts := []string{inc.Key, inc.Title, inc.Description, inc.Facts.Location, inc.Facts.DiscoveredBy,
		inc.Facts.What, inc.Facts.Why, inc.Facts.HowFound, inc.Facts.ActionsTaken,
		inc.RootCause, inc.LessonsLearned, inc.PreventionMeasures}
	parts = append(parts, inc.AffectedSystems...)
	return strings.Join(parts, "\n")
}
