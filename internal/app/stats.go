package app

import (
	"context"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// StatsQuery selects the incidents statistics cover: filed from From to
// To, both days inclusive in Japan time (YYYY-MM-DD; empty for no bound).
type StatsQuery struct {
	From, To string
}

// StatCount is one bar of a breakdown.
type StatCount struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// ResponseTime is the distribution of one response-time measure over the
// incidents that have both of its milestones.
type ResponseTime struct {
	Measure    string `json:"measure"` // mttd, mtta, mttc, mttr
	Definition string `json:"definition"`
	Incidents  int64  `json:"incidents"`
	// Seconds; absent when no incident has the milestones.
	MedianSeconds *int64 `json:"median_seconds,omitempty"`
	P90Seconds    *int64 `json:"p90_seconds,omitempty"`
}

// Stats are the statistics of the incidents an actor may see, exercises
// left out.
type Stats struct {
	From          string         `json:"from,omitempty"`
	To            string         `json:"to,omitempty"`
	Total         int64          `json:"total"`
	ByCategory    []StatCount    `json:"by_category"`
	BySeverity    []StatCount    `json:"by_severity"`
	ByPhase       []StatCount    `json:"by_phase"`
	ByCauseClass  []StatCount    `json:"by_cause_class"`
	ResponseTimes []ResponseTime `json:"response_times"`
}

// The measures as the post-incident report and core.Timestamps define
// them.
var responseDefinitions = map[string]string{
	"mttd": "detected_at − facts.occurred_at",
	"mtta": "acknowledged_at − reported_at",
	"mttc": "contained_at − detected_at",
	"mttr": "recovered_at − detected_at",
}

// dayRange turns inclusive Japan-time dates into a half-open time range.
func dayRange(from, to string) (f, t *time.Time, err error) {
	for _, d := range []struct {
		name, v string
		out     **time.Time
		next    bool
	}{{"from", from, &f, false}, {"to", to, &t, true}} {
		if d.v == "" {
			continue
		}
		day, perr := time.ParseInLocation(time.DateOnly, d.v, jst)
		if perr != nil {
			return nil, nil, core.Invalid(d.name, "must be a date (YYYY-MM-DD)")
		}
		if d.next {
			day = day.AddDate(0, 0, 1)
		}
		*d.out = &day
	}
	if f != nil && t != nil && !t.After(*f) {
		return nil, nil, core.Invalid("to", "is before from")
	}
	return f, t, nil
}

// Stats counts the incidents the actor may see by category, severity,
// phase and cause class, and gives the median and 90th percentile of
// MTTD, MTTA, MTTC and MTTR, all computed in SQL. Exercises are left
// out. Viewers and up; reporters have no access to the response record.
func (app *App) Stats(ctx context.Context, a Actor, q StatsQuery) (Stats, error) {
	if err := kbRead(a); err != nil {
		return Stats{}, forbidden("reporters have no access to statistics")
	}
	from, to, err := dayRange(q.From, q.To)
	if err != nil {
		return Stats{}, err
	}
	f := store.StatsFilter{Scope: a.scope(), From: from, To: to}
	counts, err := app.store.CountIncidentStats(ctx, f)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{From: q.From, To: q.To}
	cat, sev, ph, cause := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	var spans [4]int64
	for _, c := range counts {
		for i, n := range c.Spans {
			spans[i] += n
		}
		out.Total += c.N
		cat[string(c.Category)] += c.N
		sev[string(c.Severity)] += c.N
		ph[string(c.Phase)] += c.N
		cause[string(c.CauseClass)] += c.N
	}
	out.ByCategory = breakdown(cat, core.Categories)
	out.BySeverity = breakdown(sev, core.Severities)
	out.ByPhase = breakdown(ph, core.Phases)
	out.ByCauseClass = breakdown(cause, core.CauseClasses)
	durations, err := app.store.DurationStats(ctx, f, spans)
	if err != nil {
		return Stats{}, err
	}
	for _, d := range durations {
		rt := ResponseTime{Measure: d.Measure, Definition: responseDefinitions[d.Measure], Incidents: d.N}
		if d.N > 0 {
			med, p90 := int64(d.Median.Round(time.Second)/time.Second), int64(d.P90.Round(time.Second)/time.Second)
			rt.MedianSeconds, rt.P90Seconds = &med, &p90
		}
		out.ResponseTimes = append(out.ResponseTimes, rt)
	}
	return out, nil
}

// breakdown lists every known value in its canonical order (zeros too, so
// that charts keep their axes), then any other value met ("" for an
// incident without, say, a cause class yet) as "unset".
func breakdown[T ~string](n map[string]int64, known []T) []StatCount {
	out := make([]StatCount, 0, len(known)+1)
	for _, k := range known {
		out = append(out, StatCount{Key: string(k), Count: n[string(k)]})
		delete(n, string(k))
	}
	var other int64
	for _, c := range n {
		other += c
	}
	if other > 0 {
		out = append(out, StatCount{Key: "unset", Count: other})
	}
	return out
}
