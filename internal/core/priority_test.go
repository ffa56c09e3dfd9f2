package core_test

import (
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

func TestPriorityForMatrix(t *testing.T) {
	// The matrix of the doc comment of priority.go, cell by cell:
	//
	//	             urgency 1  2  3  4
	//	impact 1           P1 P1 P2 P3
	//	impact 2           P1 P2 P2 P3
	//	impact 3           P2 P2 P3 P4
	//	impact 4           P3 P3 P4 P4
	tests := []struct {
		impact, urgency int
		want            core.Priority
	}{
		{1, 1, core.P1}, {1, 2, core.P1}, {1, 3, core.P2}, {1, 4, core.P3},
		{2, 1, core.P1}, {2, 2, core.P2}, {2, 3, core.P2}, {2, 4, core.P3},
		{3, 1, core.P2}, {3, 2, core.P2}, {3, 3, core.P3}, {3, 4, core.P4},
		{4, 1, core.P3}, {4, 2, core.P3}, {4, 3, core.P4}, {4, 4, core.P4},
	}
	if len(tests) != 16 {
		t.Fatalf("the table must have all 16 cells, has %d", len(tests))
	}
	for _, tt := range tests {
		got, err := core.PriorityFor(tt.impact, tt.urgency)
		if err != nil {
			t.Errorf("PriorityFor(%d, %d): %v", tt.impact, tt.urgency, err)
			continue
		}
		if got != tt.want {
			t.Errorf("PriorityFor(%d, %d) = %s, want %s", tt.impact, tt.urgency, got, tt.want)
		}
	}
}

func TestPriorityForOutOfRange(t *testing.T) {
	tests := []struct {
		impact, urgency int
		field           string
	}{
		{0, 1, "impact"},
		{5, 1, "impact"},
		{-1, 2, "impact"},
		{1 << 40, 2, "impact"},
		{1, 0, "urgency"},
		{1, 5, "urgency"},
		{4, -3, "urgency"},
		{2, 1 << 40, "urgency"},
		// Both wrong: impact is named first.
		{0, 0, "impact"},
		{9, 9, "impact"},
	}
	for _, tt := range tests {
		got, err := core.PriorityFor(tt.impact, tt.urgency)
		if got != "" {
			t.Errorf("PriorityFor(%d, %d) = %q with an error, want empty", tt.impact, tt.urgency, got)
		}
		wantFieldError(t, err, tt.field)
	}
}
