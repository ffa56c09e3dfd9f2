package deadline

import "time"

// JST is Japan Standard Time, UTC+9 all year (Japan has no daylight saving
// time). It is a fixed zone on purpose: the clocks must not depend on a tzdata
// file being installed, and the offset has not changed since 1951.
var JST = time.FixedZone("JST", 9*60*60)

// endOfDayGranularity is how far before the next midnight a day-based deadline
// is placed: 23:59:59.999. The store keeps times to the millisecond or
// better, and a deadline "at the end of day N" must sort and display as day N,
// not as 00:00 of day N+1.
const endOfDayGranularity = time.Millisecond

// startOfDayJST returns 00:00 JST of the calendar day that is days after the
// JST calendar day of t.
func startOfDayJST(t time.Time, days int) time.Time {
	y, m, d := t.In(JST).Date()
	return time.Date(y, m, d+days, 0, 0, 0, 0, JST)
}

// endOfDayJST returns 23:59:59.999 JST of the calendar day that is days after
// the JST calendar day of t.
func endOfDayJST(t time.Time, days int) time.Time {
	return startOfDayJST(t, days+1).Add(-endOfDayGranularity)
}

// dueAfterDays is the Japanese way of counting "within N days from the day
// one became aware" (民法 第140条・第141条, 初日不算入): the day of awareness is
// not counted, day 1 is the next calendar day in JST, and the period ends at
// the end of day N. Awareness at 2026-01-31 23:30 JST with N = 5 gives
// 2026-02-05 23:59:59.999 JST.
//
// When dayOne is true the day of awareness itself is day 1, so the deadline is
// one day earlier (the stricter reading; see Config.AwarenessDayIsDayOne).
func dueAfterDays(start time.Time, n int, dayOne bool) time.Time {
	if dayOne {
		n--
	}
	return endOfDayJST(start, n)
}

// lastDays returns a warn-from rule for a day-based deadline: the clock is
// "due soon" from 00:00 JST of the n-th day before the end, counting the due
// day itself as one. lastDays(3) on a deadline at the end of day 5 warns from
// the start of day 3.
func lastDays(n int) func(start, due time.Time) time.Time {
	return func(_, due time.Time) time.Time { return startOfDayJST(due, 1-n) }
}

// beforeDue returns a warn-from rule that warns d before the deadline.
func beforeDue(d time.Duration) func(start, due time.Time) time.Time {
	return func(_, due time.Time) time.Time { return due.Add(-d) }
}

// addMonthClamped returns the same wall-clock time on the same day of the
// next month in JST; when that month is shorter, the month's last day
// (2026-01-31 → 2026-02-28, 2028-01-31 → 2028-02-29, 2026-03-31 → 2026-04-30).
// Go's AddDate would instead normalise 2026-02-31 to 2026-03-03, which is
// later than the law allows.
func addMonthClamped(t time.Time) time.Time {
	j := t.In(JST)
	y, m, d := j.Date()
	hh, mm, ss := j.Clock()
	ny, nm := y, m+1
	if nm > time.December {
		ny, nm = y+1, time.January
	}
	// Day 0 of the month after nm is the last day of nm.
	if last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, JST).Day(); d > last {
		d = last
	}
	return time.Date(ny, nm, d, hh, mm, ss, j.Nanosecond(), JST)
}
