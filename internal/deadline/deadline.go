// Package deadline computes the regulatory reporting clocks an incident
// starts — to the PPC under APPI, to a supervisory authority under GDPR, to
// the CSIRT under NIS2, and the organisation's own configured ones — so the
// desk can show who must be told what by when. It is pure: no I/O, no clock
// of its own, no time-zone database.
//
// The rules are data (Rules, CustomRule); Compute applies them to an
// incident's Facts, State says where one clock stands at a given moment.
// Whether a report turned out not to be required is a decision people make
// and record (StateNotRequired); this package never decides it.
package deadline

import (
	"slices"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Facts are what the rules read from an incident.
type Facts struct {
	Category   core.Category
	Flags      core.Flags
	DetectedAt *time.Time // when the organisation became aware, if recorded
	ReportedAt time.Time  // when the incident was filed in irdesk
}

// FromIncident takes the Facts the rules read from an incident. A nil
// incident gives zero Facts, for which Compute returns no clocks.
func FromIncident(inc *core.Incident) Facts {
	if inc == nil {
		return Facts{}
	}
	f := Facts{Category: inc.Category, Flags: inc.Flags, ReportedAt: inc.Timestamps.ReportedAt}
	if inc.Timestamps.DetectedAt != nil {
		d := *inc.Timestamps.DetectedAt
		f.DetectedAt = &d
	}
	return f
}

// Start is when the organisation became aware of the incident, the moment
// every legal clock runs from (APPI: 知った時点; GDPR Art. 33: "after having
// become aware"; NIS2 Art. 23: "of becoming aware"). It is the detection time,
// or the time the incident was filed when detection was not recorded. ok is
// false when there is no usable time: neither is set, or the time is outside
// years 1–9999, which only a corrupt value can be.
func (f Facts) Start() (start time.Time, ok bool) {
	start = f.ReportedAt
	if f.DetectedAt != nil && !f.DetectedAt.IsZero() {
		start = *f.DetectedAt
	}
	if start.IsZero() {
		return time.Time{}, false
	}
	if y := start.UTC().Year(); y < 1 || y > 9999 {
		return time.Time{}, false
	}
	return start.UTC(), true
}

// NIS2Entity is how an organisation classifies itself under NIS2 Art. 3.
type NIS2Entity string

const (
	NIS2None      NIS2Entity = ""          // not in scope of NIS2: no NIS2 clocks
	NIS2Essential NIS2Entity = "essential" // essential entity
	NIS2Important NIS2Entity = "important" // important entity
)

// Valid reports whether e is a known classification.
func (e NIS2Entity) Valid() bool { return e == NIS2None || e == NIS2Essential || e == NIS2Important }

// Defaults for the configurable targets of the "without delay" duties.
const (
	DefaultAPPIIndividualsDays   = 7              // APPI 本人通知: 速やかに
	DefaultGDPRIndividualsTarget = 72 * time.Hour // GDPR Art. 34: without undue delay
	// MaxTargetDays bounds every configurable period: a target longer than a
	// year is a typing error, not a policy.
	MaxTargetDays = 366
)

// Config is the organisation's part of the rules. The zero value is valid:
// default targets, not a NIS2 entity, no custom clocks.
type Config struct {
	// APPIIndividualsDays is the internal target for notifying individuals
	// under APPI 第26条第2項 ("速やかに", no fixed period), counted like the
	// PPC deadlines. 0 means DefaultAPPIIndividualsDays.
	APPIIndividualsDays int
	// GDPRIndividualsTarget is the internal target for GDPR Art. 34
	// ("without undue delay"), in exact time from awareness. 0 means
	// DefaultGDPRIndividualsTarget.
	GDPRIndividualsTarget time.Duration
	// NIS2 is set when the organisation is an essential or important entity
	// under NIS2; only then are NIS2 clocks started.
	NIS2 NIS2Entity
	// AwarenessDayIsDayOne counts the day of awareness as day 1 of every
	// day-based period, one day stricter than the default 初日不算入 counting
	// (see dueAfterDays). Off by default; an organisation whose counsel reads
	// the PPC guidelines that way turns it on.
	AwarenessDayIsDayOne bool
	// Custom are the organisation's own clocks (contracts, sector rules).
	Custom []CustomRule
}

// Validate checks the configuration; the error names the field at fault and
// wraps core.ErrInvalid. Call it when configuration is loaded: Compute does
// not fail, it falls back to defaults for out-of-range targets and skips
// invalid custom rules.
func (c Config) Validate() error {
	if c.APPIIndividualsDays < 0 || c.APPIIndividualsDays > MaxTargetDays {
		return core.Invalid("appi_individuals_days", "must be between 1 and %d (0 for the default of %d)", MaxTargetDays, DefaultAPPIIndividualsDays)
	}
	if c.GDPRIndividualsTarget < 0 || c.GDPRIndividualsTarget > MaxTargetDays*24*time.Hour {
		return core.Invalid("gdpr_individuals_target", "must be between 0 and %d days (0 for the default of %s)", MaxTargetDays, DefaultGDPRIndividualsTarget)
	}
	if !c.NIS2.Valid() {
		return core.Invalid("nis2", "unknown NIS2 classification %q (essential, important or empty)", c.NIS2)
	}
	return validateCustom(c.Custom)
}

func (c Config) appiIndividualsDays() int {
	if c.APPIIndividualsDays <= 0 || c.APPIIndividualsDays > MaxTargetDays {
		return DefaultAPPIIndividualsDays
	}
	return c.APPIIndividualsDays
}

func (c Config) gdprIndividualsTarget() time.Duration {
	if c.GDPRIndividualsTarget <= 0 || c.GDPRIndividualsTarget > MaxTargetDays*24*time.Hour {
		return DefaultGDPRIndividualsTarget
	}
	return c.GDPRIndividualsTarget
}

// Clock is one reporting duty an incident has started: to whom, on what
// legal basis, from when, due when, and from when it counts as due soon.
// Times are in UTC; show them in the viewer's zone.
type Clock struct {
	RuleID    string
	TitleJA   string
	TitleEN   string
	Recipient string
	Source    string
	Custom    bool // from the organisation's configuration, not a law in Rules
	Start     time.Time
	Due       time.Time // inclusive: the duty is met by a submission at Due
	WarnFrom  time.Time // Start <= WarnFrom <= Due
}

// Title returns the title in lang ("ja" or anything else for English).
func (c Clock) Title(lang string) string {
	if lang == "ja" {
		return c.TitleJA
	}
	return c.TitleEN
}

// The states of a clock. StateNotRequired is never returned by State: that a
// report was not needed after all is recorded by a person in the app layer.
const (
	StatePending     = "pending"
	StateDueSoon     = "due_soon"
	StateOverdue     = "overdue"
	StateSubmitted   = "submitted"
	StateNotRequired = "not_required"
	// StateExercise is the state of every clock of an exercise (訓練) not
	// yet recorded, whatever the time, set in the app layer: a drill shows
	// its clocks so that the reporting is practised, but never falls due,
	// so it escalates to no one and is listed with no real deadline.
	StateExercise = "exercise"
)

// State says where clock c stands at now: submitted once submitted, whatever
// the time; overdue strictly after Due; due soon from WarnFrom up to and
// including Due; pending before WarnFrom.
func State(c Clock, now time.Time, submitted bool) string {
	switch {
	case submitted:
		return StateSubmitted
	case now.After(c.Due):
		return StateOverdue
	case !now.Before(c.WarnFrom):
		return StateDueSoon
	default:
		return StatePending
	}
}

// Compute returns the clocks the incident described by f starts under cfg,
// sorted by due time (ties keep the order of Rules, then of cfg.Custom). It
// returns nil when f has no usable awareness time (see Facts.Start).
func Compute(f Facts, cfg Config) []Clock {
	start, ok := f.Start()
	if !ok {
		return nil
	}
	var clocks []Clock
	add := func(c Clock, warnFrom time.Time) {
		c.Start = start
		c.Due = c.Due.UTC()
		if c.Due.Before(start) { // cannot happen with valid rules; keep the invariant anyway
			c.Due = start
		}
		switch {
		case warnFrom.Before(start):
			warnFrom = start
		case warnFrom.After(c.Due):
			warnFrom = c.Due
		}
		c.WarnFrom = warnFrom.UTC()
		clocks = append(clocks, c)
	}
	for _, r := range Rules {
		if !r.Applies(f, cfg) {
			continue
		}
		due := r.Due(start, f, cfg)
		add(Clock{RuleID: r.ID, TitleJA: r.TitleJA, TitleEN: r.TitleEN, Recipient: r.Recipient, Source: r.Source, Due: due},
			r.WarnFrom(start, due))
	}
	seen := map[string]bool{}
	for _, cr := range cfg.Custom {
		// Invalid rules and repeated IDs are skipped; Config.Validate reports them.
		if seen[cr.ID] || cr.Validate() != nil {
			continue
		}
		seen[cr.ID] = true
		if !cr.Applies(f) {
			continue
		}
		due, warn := cr.due(start, cfg)
		add(Clock{RuleID: cr.ID, TitleJA: cr.TitleJA, TitleEN: cr.TitleEN, Recipient: cr.Recipient, Source: cr.Source, Custom: true, Due: due}, warn)
	}
	slices.SortStableFunc(clocks, func(a, b Clock) int { return a.Due.Compare(b.Due) })
	return clocks
}
