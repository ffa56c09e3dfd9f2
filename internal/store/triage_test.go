package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

func TestTriageQueries(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	t0 := time.Now().UTC()
	ingestAt := func(a ingest.Alert, at time.Time) int64 {
		t.Helper()
		var id int64
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			a.ReceivedAt = at
			var err error
			id, _, err = tx.IngestAlert(ctx, &a, 24*time.Hour)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	base := ingest.Alert{Source: "wazuh", Severity: core.S3, Title: "x", RuleID: "5710", Host: "web-1", Raw: []byte("{}"), Fingerprint: "fp-a",
		Observables: []ingest.Observable{{Type: "ip", Value: "192.0.2.1"}}}
	other := base
	other.Fingerprint = "fp-b" // same rule and host, another counterpart
	id := ingestAt(base, t0.Add(-2*time.Hour))
	ingestAt(base, t0.Add(-30*time.Minute))
	ingestAt(other, t0.Add(-10*time.Minute))
	for _, tc := range []struct {
		name string
		got  func() (int64, error)
		want int64
	}{
		{"fingerprint 1h", func() (int64, error) { return st.CountFingerprintSince(ctx, "fp-a", t0.Add(-time.Hour)) }, 1},
		{"fingerprint 3h", func() (int64, error) { return st.CountFingerprintSince(ctx, "fp-a", t0.Add(-3*time.Hour)) }, 2},
		{"rule and host 1h", func() (int64, error) { return st.CountRuleHostSince(ctx, "wazuh", "5710", "web-1", t0.Add(-time.Hour)) }, 2},
		{"rule on another host", func() (int64, error) { return st.CountRuleHostSince(ctx, "wazuh", "5710", "web-2", t0.Add(-time.Hour)) }, 0},
		{"no rule id", func() (int64, error) { return st.CountRuleHostSince(ctx, "wazuh", "", "web-1", t0.Add(-time.Hour)) }, 0},
	} {
		n, err := tc.got()
		if err != nil || n != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, n, err, tc.want)
		}
	}
	if in, err := st.ObservableInIncident(ctx, "ip", "192.0.2.1"); err != nil || in {
		t.Errorf("observable in incident before any: %v %v", in, err)
	}
	if _, _, err := st.OpenIncidentFor(ctx, id, "web-1", true, true, nil); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("open incident with none: %v", err)
	}
	// Suppress with an expiry; reopening happens only once it has passed.
	until := t0.Add(time.Hour)
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SuppressAlert(ctx, id, "noise", &until) }); err != nil {
		t.Fatal(err)
	}
	if exp, err := st.AnyExpiringSuppression(ctx); err != nil || !exp {
		t.Errorf("expiring suppression: %v %v", exp, err)
	}
	var reopened bool
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		reopened, err = tx.ReopenExpired(ctx, id)
		return err
	}); err != nil || reopened {
		t.Errorf("reopened before expiry: %v %v", reopened, err)
	}
	s, err := st.AlertState(ctx, id)
	if err != nil || s.Status != core.AlertSuppressed || s.SuppressedUntil == nil || !s.SuppressedUntil.Equal(until.Truncate(time.Microsecond)) {
		t.Errorf("state %+v %v", s, err)
	}
	if _, err := st.AlertState(ctx, 9999); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("missing alert state: %v", err)
	}
	// Rules: create, conflict, update, delete.
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateTriageRule(ctx, "r1", `{"id":"r1"}`, 0) })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateTriageRule(ctx, "r1", `{}`, 0) }); !errors.Is(err, core.ErrConflict) {
		t.Errorf("duplicate rule: %v", err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateTriageRule(ctx, "r2", `{}`) }); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("update missing rule: %v", err)
	}
	rules, err := st.TriageRules(ctx)
	if err != nil || len(rules) != 1 || rules[0].Body != `{"id":"r1"}` {
		t.Errorf("rules %+v %v", rules, err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteTriageRule(ctx, "r1") }); err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteTriageRule(ctx, "r1") }); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}
