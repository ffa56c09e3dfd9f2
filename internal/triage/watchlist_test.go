package triage

import (
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/ingest"
)

// watchHistory is a history that also has a watchlist, active until a time.
type watchHistory struct {
	history
	watched map[ingest.Observable]time.Time
}

func (w *watchHistory) ObservableInWatchlist(o ingest.Observable, at time.Time) (bool, error) {
	until, ok := w.watched[o]
	return ok && until.After(at), nil
}

func TestObservableInWatchlist(t *testing.T) {
	env := &watchHistory{watched: map[ingest.Observable]time.Time{{Type: "ip", Value: "203.0.113.9"}: now.Add(time.Hour)}}
	tests := []struct {
		name string
		cond string
		env  Env
		at   time.Time
		want bool
	}{
		{"any type", `observable_in_watchlist: true`, env, now, true},
		{"of type", `observable_in_watchlist: [ip, hash]`, env, now, true},
		{"other type", `observable_in_watchlist: [domain]`, env, now, false},
		{"expired", `observable_in_watchlist: true`, env, now.Add(2 * time.Hour), false},
		{"env without a watchlist", `observable_in_watchlist: true`, &history{}, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSet(t, "rules:\n  - id: r\n    name: R\n    conditions:\n"+indent(tc.cond, 6)+"    actions: [{set_severity: S1}]\n")
			got, err := s.Rules()[0].Match(sample(), tc.env, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
	// The condition survives the JSON the API and the database keep.
	r, err := ParseRule("r", []byte(`{id: w, name: W, conditions: {observable_in_watchlist: [ip]}, actions: [{set_severity: S1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := r.Stored()
	if err != nil || !strings.Contains(string(stored), `"observable_in_watchlist":["ip"]`) {
		t.Fatalf("stored %s %v", stored, err)
	}
	back, err := ParseRule("r", stored)
	if err != nil || back.Conditions.ObservableInWatchlist == nil || back.Conditions.ObservableInWatchlist.Types[0] != "ip" {
		t.Errorf("round trip %+v %v", back, err)
	}
	if _, err := ParseRule("r", []byte(`{id: w, name: W, conditions: {observable_in_watchlist: [ipv9]}, actions: [{set_severity: S1}]}`)); err == nil ||
		!strings.Contains(err.Error(), "observable_in_watchlist: unknown observable type") {
		t.Errorf("bad type: %v", err)
	}
}
