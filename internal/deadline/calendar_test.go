package deadline

import (
	"testing"
	"time"
)

func TestAddMonthClamped(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 13, 45, 7, 42, JST) }
	tests := []struct{ in, want time.Time }{
		{d(2026, 1, 15), d(2026, 2, 15)},
		{d(2026, 1, 28), d(2026, 2, 28)},
		{d(2026, 1, 29), d(2026, 2, 28)},
		{d(2026, 1, 31), d(2026, 2, 28)},
		{d(2028, 1, 31), d(2028, 2, 29)},
		{d(2028, 2, 29), d(2028, 3, 29)},
		{d(2026, 3, 31), d(2026, 4, 30)},
		{d(2026, 5, 31), d(2026, 6, 30)},
		{d(2026, 7, 31), d(2026, 8, 31)},
		{d(2026, 11, 30), d(2026, 12, 30)},
		{d(2026, 12, 31), d(2027, 1, 31)},
		{d(2100, 1, 31), d(2100, 2, 28)}, // 2100 is not a leap year
		{d(2000, 1, 31), d(2000, 2, 29)}, // 2000 is
	}
	for _, tt := range tests {
		if got := addMonthClamped(tt.in); !got.Equal(tt.want) {
			t.Errorf("addMonthClamped(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDayCounting(t *testing.T) {
	aware := time.Date(2026, 1, 31, 23, 30, 0, 0, JST)
	tests := []struct {
		n      int
		dayOne bool
		want   time.Time
	}{
		{0, false, time.Date(2026, 1, 31, 23, 59, 59, 999_000_000, JST)},
		{1, false, time.Date(2026, 2, 1, 23, 59, 59, 999_000_000, JST)},
		{5, false, time.Date(2026, 2, 5, 23, 59, 59, 999_000_000, JST)},
		{30, false, time.Date(2026, 3, 2, 23, 59, 59, 999_000_000, JST)},
		{1, true, time.Date(2026, 1, 31, 23, 59, 59, 999_000_000, JST)},
		{5, true, time.Date(2026, 2, 4, 23, 59, 59, 999_000_000, JST)},
	}
	for _, tt := range tests {
		if got := dueAfterDays(aware, tt.n, tt.dayOne); !got.Equal(tt.want) {
			t.Errorf("dueAfterDays(%d, dayOne=%v) = %v, want %v", tt.n, tt.dayOne, got, tt.want)
		}
	}
	if got, want := lastDays(3)(aware, time.Date(2026, 2, 5, 23, 59, 59, 999_000_000, JST)), time.Date(2026, 2, 3, 0, 0, 0, 0, JST); !got.Equal(want) {
		t.Errorf("lastDays(3) = %v, want %v", got, want)
	}
}
