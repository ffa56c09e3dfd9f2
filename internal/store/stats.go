package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// The statistics API's aggregates: like the dashboard's (dashboard.go),
// each is one query over the incidents the scope may see, exercises left
// out, counted in SQL.

// StatsFilter selects the incidents statistics cover: those filed
// (created_at) in [From, To); a nil bound does not limit.
type StatsFilter struct {
	Scope    Scope
	From, To *time.Time
}

// where is the filter's condition. "+ 0" keeps the planner off the index
// on created_at alone: reading each row of a window through it costs more
// than scanning the stats indexes, which hold created_at too, whole.
func (f StatsFilter) where() (string, []any) {
	cond, args := f.Scope.where()
	where := []string{cond, "i.exercise = 0"}
	if f.From != nil {
		where = append(where, "i.created_at + 0 >= ?")
		args = append(args, micros(*f.From))
	}
	if f.To != nil {
		where = append(where, "i.created_at + 0 < ?")
		args = append(args, micros(*f.To))
	}
	return strings.Join(where, " AND "), args
}

// StatCount is the number of incidents of one category, severity, phase
// and cause class, and how many of them have the two milestones of each
// response-time measure (in ResponseMeasureNames order).
type StatCount struct {
	Category   core.Category
	Severity   core.Severity
	Phase      core.Phase
	CauseClass core.CauseClass
	N          int64
	Spans      [4]int64
}

// The response-time measures, each the span between two milestones
// (core.Timestamps; the post-incident report defines them the same way).
// The expressions and conditions are those of the partial indexes of
// migration 0016, word for word, so that the planner uses them.
var responseMeasures = []struct{ name, from, to string }{
	{"mttd", "occurred_at", "detected_at"},
	{"mtta", "reported_at", "acknowledged_at"},
	{"mttc", "detected_at", "contained_at"},
	{"mttr", "detected_at", "recovered_at"},
}

// spanCond is the condition that an incident has a measure: both
// milestones, in order (a negative span, a typing error, is left out).
func spanCond(from, to string) string {
	return `i.exercise = 0 AND i.` + from + ` IS NOT NULL AND i.` + to + ` IS NOT NULL AND i.` + to + ` >= i.` + from
}

// ResponseMeasureNames are the measures, in the order of StatCount.Spans
// and of DurationStats.
var ResponseMeasureNames = []string{"mttd", "mtta", "mttc", "mttr"}

// CountIncidentStats counts the selected incidents by category, severity,
// phase and cause class together, with how many have each response time:
// one row per combination that occurs, so that one pass over the covering
// index incidents_stats, in its order, serves every breakdown.
func (r reader) CountIncidentStats(ctx context.Context, f StatsFilter) ([]StatCount, error) {
	cond, args := f.where()
	var spans []string
	for _, m := range responseMeasures {
		// A missing milestone makes the comparison NULL, which COUNT skips:
		// the short form of spanCond (exercises are out already), and a
		// third cheaper per row than the long one.
		spans = append(spans, `COUNT(CASE WHEN i.`+m.to+` >= i.`+m.from+` THEN 1 END)`)
	}
	rows, err := r.query(ctx, `SELECT i.category, i.severity, i.phase, i.cause_class, COUNT(*), `+strings.Join(spans, ", ")+`
		FROM incidents i WHERE `+cond+` GROUP BY i.category, i.severity, i.phase, i.cause_class`, args...)
	if err != nil {
		return nil, fmt.Errorf("count incident stats: %w", err)
	}
	defer rows.Close()
	var out []StatCount
	for rows.Next() {
		var c StatCount
		if err := rows.Scan(&c.Category, &c.Severity, &c.Phase, &c.CauseClass, &c.N, &c.Spans[0], &c.Spans[1], &c.Spans[2], &c.Spans[3]); err != nil {
			return nil, fmt.Errorf("count incident stats: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DurationStat is the distribution of one response-time measure: how
// many incidents have both milestones, and the nearest-rank median and
// 90th percentile.
type DurationStat struct {
	Measure     string
	N           int64
	Median, P90 time.Duration
}

// DurationStats gives the median and 90th percentile of MTTD, MTTA, MTTC
// and MTTR over the selected incidents, given how many of them have each
// measure (the sums of CountIncidentStats' Spans). The percentiles are
// nearest-rank — the value at rank ceil(p·n) — read by walking the
// measure's index to that rank (from the far end for the 90th), which
// both databases do without sorting; percentile_cont, which SQLite
// lacks, or window functions, which sort every span, were both slower or
// unavailable. A write between the count and the walk can move a rank by
// one, and a rank past the end leaves that percentile 0: statistics, not
// accounts.
func (r reader) DurationStats(ctx context.Context, f StatsFilter, n [4]int64) ([]DurationStat, error) {
	cond, condArgs := f.where()
	out := make([]DurationStat, 0, len(responseMeasures))
	for i, m := range responseMeasures {
		d := DurationStat{Measure: m.name, N: n[i]}
		if d.N > 0 {
			span := `i.` + m.to + ` - i.` + m.from
			at := func(rank int64) (time.Duration, error) {
				// Walk the shorter way: from the top for ranks past the middle.
				order, offset := "ASC", rank-1
				if rank > d.N/2 {
					order, offset = "DESC", d.N-rank
				}
				row, err := r.queryRow(ctx, `SELECT `+span+` FROM incidents i WHERE `+spanCond(m.from, m.to)+` AND `+cond+
					` ORDER BY `+span+` `+order+` LIMIT 1 OFFSET ?`, append(append([]any{}, condArgs...), offset)...)
				if err != nil {
					return 0, err
				}
				var v int64
				if err := row.Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return 0, err
				}
				return time.Duration(v) * time.Microsecond, nil
			}
			var err error
			// ceil(p·n) in integers: (p100·n + 99) / 100.
			if d.Median, err = at((d.N*50 + 99) / 100); err != nil {
				return nil, fmt.Errorf("duration stats: %w", err)
			}
			if d.P90, err = at((d.N*90 + 99) / 100); err != nil {
				return nil, fmt.Errorf("duration stats: %w", err)
			}
		}
		out = append(out, d)
	}
	return out, nil
}
