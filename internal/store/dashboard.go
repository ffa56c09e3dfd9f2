package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// The dashboard's aggregates. Each is one query that counts in SQL rather
// than reading incidents one by one, applies the viewer's Scope as
// FindIncidents does, and leaves exercises (訓練) out: a drill must never
// show up in the figures management reads.

// OpenCount is the number of open incidents of one phase, severity and
// category.
type OpenCount struct {
	Phase    core.Phase
	Severity core.Severity
	Category core.Category
	N        int
}

// CountOpenIncidents counts the open incidents the scope may see, grouped
// by phase, severity and category (one row per combination that occurs).
func (r reader) CountOpenIncidents(ctx context.Context, scope Scope) ([]OpenCount, error) {
	cond, args := scope.where()
	// The phase list rather than "<> 'closed'" lets the index on phase
	// drive the scan.
	var open []core.Phase
	for _, p := range core.Phases {
		if p != core.PhaseClosed {
			open = append(open, p)
		}
	}
	where := []string{cond, "i.exercise = 0"}
	inList("i.phase", open, &where, &args)
	rows, err := r.query(ctx, `SELECT i.phase, i.severity, i.category, COUNT(*) FROM incidents i
		WHERE `+strings.Join(where, " AND ")+` GROUP BY i.phase, i.severity, i.category`, args...)
	if err != nil {
		return nil, fmt.Errorf("count open incidents: %w", err)
	}
	defer rows.Close()
	var out []OpenCount
	for rows.Next() {
		var c OpenCount
		if err := rows.Scan(&c.Phase, &c.Severity, &c.Category, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreatedCount is the number of incidents of one category filed in one
// interval of a CountCreatedIncidents call, split by whether they are
// closed now.
type CreatedCount struct {
	Bucket   int // index of the interval's start in bounds
	Category core.Category
	Closed   bool
	N        int
}

// MaxCreatedBuckets bounds the intervals of one CountCreatedIncidents.
const MaxCreatedBuckets = 64

// CountCreatedIncidents counts the incidents the scope may see that were
// filed in each interval [bounds[i], bounds[i+1]) (the last one open
// ended), by category. bounds must be ascending; the caller picks them
// (week starts in the viewer's zone, say), so no date arithmetic that
// differs between the databases is needed.
func (r reader) CountCreatedIncidents(ctx context.Context, scope Scope, bounds []time.Time) ([]CreatedCount, error) {
	if len(bounds) == 0 {
		return nil, nil
	}
	if len(bounds) > MaxCreatedBuckets {
		return nil, fmt.Errorf("count created incidents: %d intervals, at most %d: %w", len(bounds), MaxCreatedBuckets, core.ErrInvalid)
	}
	for i := 1; i < len(bounds); i++ {
		if bounds[i].Before(bounds[i-1]) {
			return nil, fmt.Errorf("count created incidents: bounds not ascending: %w", core.ErrInvalid)
		}
	}
	// CASE picks the latest interval the row's time reaches.
	var bucket strings.Builder
	var args []any
	bucket.WriteString("CASE")
	for i := len(bounds) - 1; i >= 1; i-- {
		bucket.WriteString(" WHEN i.created_at >= ? THEN " + strconv.Itoa(i))
		args = append(args, micros(bounds[i]))
	}
	bucket.WriteString(" ELSE 0 END")
	cond, scopeArgs := scope.where()
	args = append(args, scopeArgs...)
	args = append(args, micros(bounds[0]))
	// GROUP BY by position: PostgreSQL would not see that a CASE with its
	// own placeholders is the selected one.
	rows, err := r.query(ctx, `SELECT `+bucket.String()+`, i.category, CASE WHEN i.phase = 'closed' THEN 1 ELSE 0 END, COUNT(*) FROM incidents i
		WHERE `+cond+` AND i.exercise = 0 AND i.created_at >= ?
		GROUP BY 1, 2, 3`, args...)
	if err != nil {
		return nil, fmt.Errorf("count created incidents: %w", err)
	}
	defer rows.Close()
	var out []CreatedCount
	for rows.Next() {
		var c CreatedCount
		var closed int
		if err := rows.Scan(&c.Bucket, &c.Category, &closed, &c.N); err != nil {
			return nil, err
		}
		c.Closed = closed == 1
		out = append(out, c)
	}
	return out, rows.Err()
}

// Milestones are the times the response-time medians are computed from,
// of one closed incident.
type Milestones struct {
	CreatedAt  time.Time
	OccurredAt *time.Time
	ReportedAt time.Time
	DetectedAt *time.Time
	AckedAt    *time.Time
	Contained  *time.Time
	Recovered  *time.Time
	ClosedAt   time.Time
}

// ClosedMilestones returns the milestone times of the incidents the scope
// may see that were closed at or after since, most recently closed first,
// at most limit of them; more says there were others.
func (r reader) ClosedMilestones(ctx context.Context, scope Scope, since time.Time, limit int) ([]Milestones, bool, error) {
	if limit <= 0 {
		limit = 1000
	}
	cond, args := scope.where()
	args = append(args, micros(since), limit+1)
	// "phase || ''" keeps SQLite, which has no statistics to go by, from
	// driving the query from the index on phase (every closed incident
	// ever) instead of the covering index on closed_at (the window's).
	rows, err := r.query(ctx, `SELECT i.created_at, i.occurred_at, i.reported_at, i.detected_at, i.acknowledged_at,
		i.contained_at, i.recovered_at, i.closed_at FROM incidents i
		WHERE `+cond+` AND i.exercise = 0 AND i.phase || '' = 'closed' AND i.closed_at IS NOT NULL AND i.closed_at >= ?
		ORDER BY i.closed_at DESC LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("closed milestones: %w", err)
	}
	out, more, err := page(rows, limit, func(sc scanner) (Milestones, error) {
		var m Milestones
		var created, reported, closed int64
		var occurred, detected, acked, contained, recovered sql.NullInt64
		err := sc.Scan(&created, &occurred, &reported, &detected, &acked, &contained, &recovered, &closed)
		m.CreatedAt, m.ReportedAt, m.ClosedAt = fromMicros(created), fromMicros(reported), fromMicros(closed)
		m.OccurredAt, m.DetectedAt, m.AckedAt = timePtr(occurred), timePtr(detected), timePtr(acked)
		m.Contained, m.Recovered = timePtr(contained), timePtr(recovered)
		return m, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("closed milestones: %w", err)
	}
	return out, more, nil
}
