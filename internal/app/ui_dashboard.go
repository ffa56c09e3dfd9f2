package app

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// Dashboard is the management view of the desk: how many incidents are
// open and where, how many came in each week, how fast the team responds,
// and which legal clocks are about to run out. Exercises (訓練) are left
// out of every figure, so a drill never shows up as a real incident.
type Dashboard struct {
	Now         time.Time
	OpenBySev   map[core.Severity]int
	OpenByPhase map[core.Phase]int
	Open        int
	// OpenByCategory counts the open incidents by category;
	// RecentByCategory those filed in the last DashboardMTTWindow.
	OpenByCategory, RecentByCategory map[core.Category]int
	// Weeks are the last DashboardWeeks weeks, oldest first; each starts
	// on a Monday in the zone the dashboard was computed for.
	Weeks []WeekCount
	// Medians of the incidents closed in the last DashboardMTTWindow.
	MTTD, MTTA, MTTC, MTTR Median
	Closed                 int
	// Clocks are the open legal clocks overdue or due within
	// DashboardClockWindow, soonest first.
	Clocks []ClockView
	// Scanned is how many distinct incidents the figures are about (open,
	// filed in the chart's weeks, or closed in the medians' window);
	// Truncated says more than MaxDashboardScan were closed in the window,
	// so the medians are of the most recently closed ones only.
	Scanned   int
	Truncated bool
}

// WeekCount is the number of incidents filed in one week.
type WeekCount struct {
	Start time.Time
	Count int
}

// Median is a median duration over N incidents; N == 0 means there is
// nothing to show.
type Median struct {
	D time.Duration
	N int
}

// Dashboard windows.
const (
	DashboardWeeks       = 12
	DashboardMTTWindow   = 90 * 24 * time.Hour
	DashboardClockWindow = 7 * 24 * time.Hour
	// MaxDashboardScan bounds the closed incidents one dashboard reads
	// for the medians, so a busy desk still answers in bounded time.
	MaxDashboardScan = 20000
)

// Dashboard computes the management dashboard over the incidents the
// actor may see. Reporters see their own reports only, not statistics.
// loc decides where weeks start (the viewer's zone). The figures are
// counted by the database (store's aggregate queries, scoped in SQL), so
// the cost does not grow with every incident ever filed; only the
// closed incidents of the medians' window are read, at most
// MaxDashboardScan of them.
func (app *App) Dashboard(ctx context.Context, a Actor, loc *time.Location) (*Dashboard, error) {
	if !a.System && a.User.Role == core.RoleReporter {
		return nil, forbidden("reporters see the status of their reports, not statistics")
	}
	if loc == nil {
		loc = jst
	}
	now := app.now()
	scope := a.scope()
	d := newDashboard(now, loc)
	// The histogram's bounds: the week starts and the 90-day window's
	// start, in order (one histogram serves the weekly chart and the
	// 90-day categories).
	since := now.Add(-DashboardMTTWindow)
	bounds := make([]time.Time, 0, len(d.Weeks)+1)
	sinceAt := -1
	for _, w := range d.Weeks {
		if sinceAt < 0 && since.Before(w.Start) {
			sinceAt = len(bounds)
			bounds = append(bounds, since)
		}
		bounds = append(bounds, w.Start)
	}
	if sinceAt < 0 {
		sinceAt = len(bounds)
		bounds = append(bounds, since)
	}
	// The four reads are independent and each takes milliseconds over a
	// large desk: they run at once on the read pool.
	var (
		open    []store.OpenCount
		created []store.CreatedCount
		closed  []store.Milestones
		more    bool
		clocks  []ClockView
		errs    [4]error
		wg      sync.WaitGroup
	)
	wg.Add(4)
	go func() { defer wg.Done(); open, errs[0] = app.store.CountOpenIncidents(ctx, scope) }()
	go func() { defer wg.Done(); created, errs[1] = app.store.CountCreatedIncidents(ctx, scope, bounds) }()
	go func() {
		defer wg.Done()
		closed, more, errs[2] = app.store.ClosedMilestones(ctx, scope, since, MaxDashboardScan)
	}()
	go func() { defer wg.Done(); clocks, errs[3] = app.DueClocks(ctx, a, DashboardClockWindow) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	for _, c := range open {
		d.Open += c.N
		d.OpenBySev[c.Severity] += c.N
		d.OpenByPhase[c.Phase] += c.N
		d.OpenByCategory[c.Category] += c.N
	}
	// Where each interval of the histogram belongs.
	weekOf := make([]int, len(bounds))
	for i, b := range bounds {
		weekOf[i] = -1
		for w := range d.Weeks {
			if !b.Before(d.Weeks[w].Start) {
				weekOf[i] = w
			}
		}
	}
	counted := d.Open
	for _, c := range created {
		if c.Bucket >= sinceAt {
			d.RecentByCategory[c.Category] += c.N
		}
		if w := weekOf[c.Bucket]; w >= 0 {
			d.Weeks[w].Count += c.N
			if c.Closed {
				counted += c.N // the open ones are counted already
			}
		}
	}
	first := d.Weeks[0].Start
	var mttd, mtta, mttc, mttr []time.Duration
	for _, m := range closed {
		d.Closed++
		if m.CreatedAt.Before(first) {
			counted++ // not among the weeks' incidents
		}
		reported := m.ReportedAt
		addSpan(&mttd, m.OccurredAt, m.DetectedAt)
		addSpan(&mtta, &reported, m.AckedAt)
		addSpan(&mttc, m.DetectedAt, m.Contained)
		addSpan(&mttr, m.DetectedAt, m.Recovered)
	}
	d.MTTD, d.MTTA, d.MTTC, d.MTTR = median(mttd), median(mtta), median(mttc), median(mttr)
	d.Scanned, d.Truncated = counted, more
	d.Clocks = clocks
	return d, nil
}

// newDashboard is an empty dashboard with its weeks laid out.
func newDashboard(now time.Time, loc *time.Location) *Dashboard {
	d := &Dashboard{Now: now, OpenBySev: map[core.Severity]int{}, OpenByPhase: map[core.Phase]int{},
		OpenByCategory: map[core.Category]int{}, RecentByCategory: map[core.Category]int{}}
	first := startOfWeek(now, loc).AddDate(0, 0, -7*(DashboardWeeks-1))
	for i := range DashboardWeeks {
		d.Weeks = append(d.Weeks, WeekCount{Start: first.AddDate(0, 0, 7*i)})
	}
	return d
}

// addSpan adds to out the time from one milestone to a later one, when
// both are known.
func addSpan(out *[]time.Duration, from, to *time.Time) {
	if from != nil && to != nil && !to.Before(*from) {
		*out = append(*out, to.Sub(*from))
	}
}

// startOfWeek is midnight of the Monday of t's week in loc.
func startOfWeek(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	back := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, loc)
}

// SummarizeIncidents computes the dashboard's figures from incidents; it
// does no I/O. Exercises are skipped.
func SummarizeIncidents(incs []*core.Incident, now time.Time, loc *time.Location) *Dashboard {
	d := newDashboard(now, loc)
	first := d.Weeks[0].Start
	var mttd, mtta, mttc, mttr []time.Duration
	since := now.Add(-DashboardMTTWindow)
	for _, inc := range incs {
		if inc.Exercise {
			continue
		}
		if inc.Phase != core.PhaseClosed {
			d.Open++
			d.OpenBySev[inc.Severity]++
			d.OpenByPhase[inc.Phase]++
			d.OpenByCategory[inc.Category]++
		}
		if !inc.CreatedAt.Before(since) {
			d.RecentByCategory[inc.Category]++
		}
		if created := inc.CreatedAt; !created.Before(first) {
			// Weeks are whole calendar weeks in loc, so count by date, not
			// by adding 7×24h (a zone with summer time has 167-hour weeks).
			for i := len(d.Weeks) - 1; i >= 0; i-- {
				if !created.Before(d.Weeks[i].Start) {
					d.Weeks[i].Count++
					break
				}
			}
		}
		ts := inc.Timestamps
		if inc.Phase == core.PhaseClosed && ts.ClosedAt != nil && !ts.ClosedAt.Before(since) {
			d.Closed++
			reported := ts.ReportedAt
			addSpan(&mttd, inc.Facts.OccurredAt, ts.DetectedAt)
			addSpan(&mtta, &reported, ts.AcknowledgedAt)
			addSpan(&mttc, ts.DetectedAt, ts.ContainedAt)
			addSpan(&mttr, ts.DetectedAt, ts.RecoveredAt)
		}
	}
	d.MTTD, d.MTTA, d.MTTC, d.MTTR = median(mttd), median(mtta), median(mttc), median(mttr)
	return d
}

// median is the middle value (the mean of the two middle ones for an even
// count): one incident that took months does not move it as it would move
// a mean.
func median(ds []time.Duration) Median {
	if len(ds) == 0 {
		return Median{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return Median{D: s[n/2], N: n}
	}
	return Median{D: (s[n/2-1] + s[n/2]) / 2, N: n}
}
