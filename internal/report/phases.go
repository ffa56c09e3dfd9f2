package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// stay is one period in a phase with the time spent in it.
type stay struct {
	core.PhasePeriod
	Spent   time.Duration
	Ongoing bool // not left yet: Spent runs to now
}

// phaseTotal is the time an incident spent in one phase over all its stays.
type phaseTotal struct {
	Phase   core.Phase
	Stays   int
	Spent   time.Duration
	Ongoing bool
}

// phaseTimes computes the time spent in each stay and in each phase. A
// phase entered twice (re-infection sends an incident back) adds up both
// stays. The stay not left yet runs to now. Closed is the end state, not a
// step: its stay has no time spent and no total. A period whose end is
// before its start (a corrupt or hand-edited row) counts as zero rather
// than as negative time.
func phaseTimes(periods []core.PhasePeriod, now time.Time) ([]stay, []phaseTotal) {
	ps := slices.Clone(periods)
	slices.SortStableFunc(ps, func(a, b core.PhasePeriod) int { return a.EnteredAt.Compare(b.EnteredAt) })
	stays := make([]stay, 0, len(ps))
	totals := map[core.Phase]*phaseTotal{}
	for _, p := range ps {
		s := stay{PhasePeriod: p}
		if p.Phase != core.PhaseClosed {
			end := now
			if p.LeftAt != nil {
				end = *p.LeftAt
			} else {
				s.Ongoing = true
			}
			s.Spent = max(end.Sub(p.EnteredAt), 0)
			t := totals[p.Phase]
			if t == nil {
				t = &phaseTotal{Phase: p.Phase}
				totals[p.Phase] = t
			}
			t.Stays++
			t.Spent += s.Spent
			t.Ongoing = t.Ongoing || s.Ongoing
		}
		stays = append(stays, s)
	}
	var out []phaseTotal
	for _, ph := range core.Phases {
		if t := totals[ph]; t != nil {
			out = append(out, *t)
			delete(totals, ph)
		}
	}
	// Unknown phases (from a newer binary) last, in a stable order.
	var rest []phaseTotal
	for _, t := range totals {
		rest = append(rest, *t)
	}
	slices.SortFunc(rest, func(a, b phaseTotal) int { return cmp.Compare(a.Phase, b.Phase) })
	return stays, append(out, rest...)
}

// milestone is one of MTTD, MTTA, MTTC, MTTR for a single incident.
type milestone struct {
	Name    string
	From    *time.Time
	To      *time.Time
	Spent   time.Duration
	Defined bool // both ends recorded
}

// milestones computes the incident's MTTD (detected − occurred), MTTA
// (acknowledged − reported), MTTC (contained − detected) and MTTR
// (recovered − detected), as core.Timestamps documents them.
func milestones(inc *core.Incident) []milestone {
	ts := inc.Timestamps
	reported := &ts.ReportedAt
	if ts.ReportedAt.IsZero() {
		reported = nil
	}
	mk := func(name string, from, to *time.Time) milestone {
		m := milestone{Name: name, From: from, To: to}
		if from != nil && to != nil && !from.IsZero() && !to.IsZero() {
			m.Defined, m.Spent = true, to.Sub(*from)
		}
		return m
	}
	return []milestone{
		mk("MTTD", inc.Facts.OccurredAt, ts.DetectedAt),
		mk("MTTA", reported, ts.AcknowledgedAt),
		mk("MTTC", ts.DetectedAt, ts.ContainedAt),
		mk("MTTR", ts.DetectedAt, ts.RecoveredAt),
	}
}

// sortedActions orders actions by when they were performed.
func sortedActions(acts []core.ActionRecord) []core.ActionRecord {
	out := slices.Clone(acts)
	slices.SortStableFunc(out, func(a, b core.ActionRecord) int { return a.PerformedAt.Compare(b.PerformedAt) })
	return out
}
