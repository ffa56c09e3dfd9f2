package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// alertFixture is a parsed alert as ingest would give it.
func alertFixture(eventID, fingerprint string, edits ...func(*ingest.Alert)) *ingest.Alert {
	a := &ingest.Alert{
		ReceivedAt: base, EventTime: base.Add(-time.Minute), Source: "native", SourceEventID: eventID,
		Severity: core.S2, NativeSeverity: "high", RuleID: "r-1", RuleName: "SSH brute force", Title: "Brute force on web-01",
		Host: "web-01", User: "alice", SrcIP: "203.0.113.7", SrcPort: 40000, DstIP: "10.0.0.5", DstPort: 22,
		Observables: []ingest.Observable{{Type: "ip", Value: "203.0.113.7"}, {Type: "host", Value: "web-01"}},
		Raw:         json.RawMessage(`{"id":"` + eventID + `","weird":[1,2,{"x":null}]}`),
		Fingerprint: fingerprint,
	}
	for _, e := range edits {
		e(a)
	}
	return a
}

type ingested struct {
	id  int64
	dup bool
}

func ingestOne(tb testing.TB, st *store.Store, a *ingest.Alert, window time.Duration) ingested {
	tb.Helper()
	var out ingested
	inTx(tb, st, func(ctx context.Context, tx *store.Tx) error {
		id, dup, err := tx.IngestAlert(ctx, a, window)
		out = ingested{id, dup}
		return err
	})
	return out
}

func getAlert(tb testing.TB, st *store.Store, id int64) *core.Alert {
	tb.Helper()
	al, err := st.GetAlert(context.Background(), id, store.Scope{All: true})
	if err != nil {
		tb.Fatalf("GetAlert(%d): %v", id, err)
	}
	return al
}

func testAlertIngest(t *testing.T, st *store.Store) {
	const window = time.Hour
	first := ingestOne(t, st, alertFixture("e1", "fp-a"), window)
	if first.dup || first.id == 0 {
		t.Fatalf("first ingest = %+v, want a new alert", first)
	}
	al := getAlert(t, st, first.id)
	if al.Count != 1 || al.Status != core.AlertNew || al.Source != "native" || al.SourceEventID != "e1" ||
		al.Severity != core.S2 || al.Title != "Brute force on web-01" || al.User != "alice" || al.DstPort != 22 ||
		!al.FirstSeen.Equal(base) || !al.LastSeen.Equal(base) || al.EventTime == nil || !al.EventTime.Equal(base.Add(-time.Minute)) {
		t.Errorf("stored alert = %+v", al)
	}
	if string(al.Raw) != `{"id":"e1","weird":[1,2,{"x":null}]}` {
		t.Errorf("raw = %s, want the payload verbatim", al.Raw)
	}
	wantObs := []core.Observable{{Type: "ip", Value: "203.0.113.7"}, {Type: "host", Value: "web-01"}}
	if !slices.Equal(al.Observables, wantObs) {
		t.Errorf("observables = %v, want %v", al.Observables, wantObs)
	}

	// A resend of the same event changes nothing.
	again := ingestOne(t, st, alertFixture("e1", "fp-a", func(a *ingest.Alert) { a.ReceivedAt = base.Add(time.Minute) }), window)
	if again != (ingested{first.id, true}) {
		t.Fatalf("resend = %+v, want {%d true}", again, first.id)
	}
	if al := getAlert(t, st, first.id); al.Count != 1 || !al.LastSeen.Equal(base) {
		t.Errorf("after a resend count = %d last_seen = %v, want 1 and unchanged", al.Count, al.LastSeen)
	}

	// A new event with the same fingerprint inside the window is a repeat.
	later := base.Add(30 * time.Minute)
	rep := ingestOne(t, st, alertFixture("e2", "fp-a", func(a *ingest.Alert) {
		a.ReceivedAt = later
		a.Observables = append(a.Observables, ingest.Observable{Type: "filename", Value: "x.exe"})
	}), window)
	if rep != (ingested{first.id, true}) {
		t.Fatalf("repeat = %+v, want {%d true}", rep, first.id)
	}
	al = getAlert(t, st, first.id)
	if al.Count != 2 || !al.LastSeen.Equal(later) || !al.FirstSeen.Equal(base) || al.SourceEventID != "e1" {
		t.Errorf("after a repeat = count %d first %v last %v event %q", al.Count, al.FirstSeen, al.LastSeen, al.SourceEventID)
	}
	if len(al.Observables) != 3 {
		t.Errorf("a repeat's new observable is not linked: %v", al.Observables)
	}
	// The repeat's id is recorded: resending it is recognised as well.
	if r := ingestOne(t, st, alertFixture("e2", "fp-a", func(a *ingest.Alert) { a.ReceivedAt = later.Add(time.Second) }), window); r != (ingested{first.id, true}) {
		t.Errorf("resend of the repeat = %+v", r)
	}
	// Events without ids are repeats by fingerprint only.
	for range 2 {
		r := ingestOne(t, st, alertFixture("", "fp-a", func(a *ingest.Alert) { a.ReceivedAt = later }), window)
		if r != (ingested{first.id, true}) {
			t.Errorf("id-less repeat = %+v", r)
		}
	}
	if al := getAlert(t, st, first.id); al.Count != 4 {
		t.Errorf("count = %d, want 4", al.Count)
	}
	// An out-of-order occurrence does not move last_seen back.
	ingestOne(t, st, alertFixture("e-old", "fp-a", func(a *ingest.Alert) { a.ReceivedAt = base.Add(time.Minute) }), window)
	if al := getAlert(t, st, first.id); !al.LastSeen.Equal(later) || al.Count != 5 {
		t.Errorf("after an older occurrence last_seen = %v count = %d", al.LastSeen, al.Count)
	}

	// Past the window, the same fingerprint is a new alert.
	past := ingestOne(t, st, alertFixture("e3", "fp-a", func(a *ingest.Alert) { a.ReceivedAt = later.Add(window + time.Second) }), window)
	if past.dup || past.id == first.id {
		t.Errorf("after the window = %+v, want a new alert", past)
	}
	// The same event id from another source is another event.
	other := ingestOne(t, st, alertFixture("e1", "fp-b", func(a *ingest.Alert) { a.Source = "wazuh" }), window)
	if other.dup {
		t.Errorf("same event id from another source = %+v, want new", other)
	}
	// A closed alert is not bumped: its repeat starts a new alert.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		return tx.SetAlertStatus(ctx, past.id, core.AlertClosed, core.CloseBenign)
	})
	after := ingestOne(t, st, alertFixture("e4", "fp-a", func(a *ingest.Alert) { a.ReceivedAt = later.Add(window + time.Minute) }), window)
	if after.dup || after.id == past.id {
		t.Errorf("repeat of a closed alert = %+v, want a new alert", after)
	}
	// Observables are stored once however many alerts carry them.
	if a, b := getAlert(t, st, first.id), getAlert(t, st, after.id); a.Observables[0] != b.Observables[0] {
		t.Errorf("observables differ: %v %v", a.Observables, b.Observables)
	}

	if _, err := st.GetAlert(context.Background(), 999999, store.Scope{All: true}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("GetAlert(missing) = %v, want ErrNotFound", err)
	}
}

func testAlertFind(t *testing.T, st *store.Store) {
	var ids []int64
	for i := range 7 {
		sev := core.S3
		if i%2 == 0 {
			sev = core.S1
		}
		src := "wazuh"
		if i >= 5 {
			src = "cef"
		}
		r := ingestOne(t, st, alertFixture(fmt.Sprint("f", i), fmt.Sprint("fp-", i), func(a *ingest.Alert) {
			a.Severity, a.Source = sev, src
			a.Host = fmt.Sprint("host-", i%3)
			a.Title = fmt.Sprintf("Alert %d_%%x", i)
			if i == 3 {
				a.RuleName = "Mimikatz Detected"
			}
		}), time.Hour)
		ids = append(ids, r.id)
	}
	ctx := context.Background()
	find := func(f store.AlertFilter) ([]int64, bool) {
		t.Helper()
		items, more, err := st.FindAlerts(ctx, f)
		if err != nil {
			t.Fatalf("FindAlerts(%+v): %v", f, err)
		}
		var out []int64
		for _, a := range items {
			if len(a.Raw) != 0 {
				t.Errorf("list item %d carries its raw payload", a.ID)
			}
			out = append(out, a.ID)
		}
		return out, more
	}
	rev := func(idx ...int) []int64 {
		var out []int64
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}
	tests := []struct {
		name string
		f    store.AlertFilter
		want []int64
	}{
		{"all newest first", store.AlertFilter{}, rev(6, 5, 4, 3, 2, 1, 0)},
		{"severity", store.AlertFilter{Severities: []core.Severity{core.S1}}, rev(6, 4, 2, 0)},
		{"source", store.AlertFilter{Sources: []string{"cef"}}, rev(6, 5)},
		{"host", store.AlertFilter{Host: "host-1"}, rev(4, 1)},
		{"status", store.AlertFilter{Statuses: []core.AlertStatus{core.AlertClosed}}, nil},
		{"query title", store.AlertFilter{Query: "alert 2"}, rev(2)},
		{"query rule name, any case", store.AlertFilter{Query: "MIMIKATZ"}, rev(3)},
		{"query wildcards are literal", store.AlertFilter{Query: "_%"}, rev(6, 5, 4, 3, 2, 1, 0)},
		{"query wildcards do not match anything", store.AlertFilter{Query: "1%%"}, nil},
		{"combined", store.AlertFilter{Severities: []core.Severity{core.S1}, Sources: []string{"wazuh"}, Host: "host-0"}, rev(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := find(tt.f)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Paging with the cursor walks every alert once.
	var all []int64
	before := int64(0)
	for {
		page, more := find(store.AlertFilter{Limit: 3, Before: before})
		all = append(all, page...)
		if !more {
			break
		}
		before = page[len(page)-1]
	}
	if !slices.Equal(all, rev(6, 5, 4, 3, 2, 1, 0)) {
		t.Errorf("paged = %v", all)
	}
}

func testAlertStatusAndLink(t *testing.T, st *store.Store) {
	u := newUser(t, st, "ann", core.RoleAnalyst)
	r := ingestOne(t, st, alertFixture("s1", "fp-s"), time.Hour)
	inc := newIncident(t, st, "From an alert")
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.SetAlertStatus(ctx, r.id, core.AlertPromoted, ""); err != nil {
			return err
		}
		return tx.LinkAlertIncident(ctx, r.id, inc.ID, u.ID)
	})
	al := getAlert(t, st, r.id)
	if al.Status != core.AlertPromoted || al.IncidentID != inc.ID || al.IncidentKey != inc.Key {
		t.Errorf("linked alert = status %s incident %d %q", al.Status, al.IncidentID, al.IncidentKey)
	}
	obs, err := st.IncidentObservables(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(obs, al.Observables) {
		t.Errorf("incident observables = %v, want the alert's %v", obs, al.Observables)
	}
	// Linking again (another alert with the same observables) adds no copies.
	r2 := ingestOne(t, st, alertFixture("s2", "fp-s2"), time.Hour)
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.LinkAlertIncident(ctx, r2.id, inc.ID, 0) })
	if obs, _ := st.IncidentObservables(context.Background(), inc.ID); len(obs) != 2 {
		t.Errorf("incident observables after a second link = %v", obs)
	}
	ctx := context.Background()
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.SetAlertStatus(ctx, 999999, core.AlertClosed, core.CloseBenign) })
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("SetAlertStatus(missing) = %v, want ErrNotFound", err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.LinkAlertIncident(ctx, 999999, inc.ID, 0) })
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("LinkAlertIncident(missing) = %v, want ErrNotFound", err)
	}
}

func testAlertOccurrencesAndRetention(t *testing.T, st *store.Store) {
	ctx := context.Background()
	const window = 24 * time.Hour
	at := func(d time.Duration, id string) func(*ingest.Alert) {
		return func(a *ingest.Alert) {
			a.ReceivedAt = base.Add(d)
			a.Raw = json.RawMessage(`{"id":"` + id + `"}`)
		}
	}
	x := ingestOne(t, st, alertFixture("o1", "fp-x", at(0, "o1")), window)
	ingestOne(t, st, alertFixture("o2", "fp-x", at(time.Hour, "o2")), window)
	ingestOne(t, st, alertFixture("o3", "fp-x", at(2*time.Hour, "o3"), func(a *ingest.Alert) { a.Raw = json.RawMessage("CEF:0|v|p|1|sig|name|5|") }), window)
	y := ingestOne(t, st, alertFixture("o4", "fp-y", at(3*time.Hour, "o4")), window)

	occ, more, err := st.AlertOccurrences(ctx, x.id, 0, 50)
	if err != nil || more || len(occ) != 3 {
		t.Fatalf("occurrences %+v more %v: %v", occ, more, err)
	}
	if string(occ[0].Raw) != `{"id":"o1"}` || string(occ[1].Raw) != `{"id":"o2"}` || string(occ[2].Raw) != `"CEF:0|v|p|1|sig|name|5|"` {
		t.Errorf("payloads %s | %s | %s", occ[0].Raw, occ[1].Raw, occ[2].Raw)
	}
	if occ[1].SourceEventID != "o2" || !occ[1].ReceivedAt.Equal(base.Add(time.Hour)) {
		t.Errorf("second occurrence %+v", occ[1])
	}
	page1, more, err := st.AlertOccurrences(ctx, x.id, 0, 2)
	if err != nil || !more || len(page1) != 2 {
		t.Fatalf("first page: %d %v %v", len(page1), more, err)
	}
	page2, more, err := st.AlertOccurrences(ctx, x.id, page1[1].ID, 2)
	if err != nil || more || len(page2) != 1 || page2[0].ID != occ[2].ID {
		t.Fatalf("second page: %+v %v %v", page2, more, err)
	}

	// Time range: active in the window.
	after := base.Add(150 * time.Minute)
	found, _, err := st.FindAlerts(ctx, store.AlertFilter{SeenAfter: &after, Scope: store.Scope{All: true}})
	if err != nil || len(found) != 1 || found[0].ID != y.id {
		t.Errorf("seen after: %v %v", found, err)
	}
	before := base.Add(30 * time.Minute)
	found, _, err = st.FindAlerts(ctx, store.AlertFilter{SeenBefore: &before, Scope: store.Scope{All: true}})
	if err != nil || len(found) != 1 || found[0].ID != x.id {
		t.Errorf("seen before: %v %v", found, err)
	}

	// Retention: everything received before 90 minutes in goes, except
	// each alert's first occurrence; the count stays.
	cut, err := st.OccurrencesBefore(ctx, base.Add(90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if cut != occ[2].ID {
		t.Fatalf("cut at %d, want %d (the first occurrence received after the cutoff)", cut, occ[2].ID)
	}
	var deleted, last int64
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		deleted, last, err = tx.PruneOccurrences(ctx, 0, cut, 1000)
		return err
	})
	if deleted != 1 || last != occ[1].ID {
		t.Fatalf("deleted %d, last %d", deleted, last)
	}
	left, _, err := st.AlertOccurrences(ctx, x.id, 0, 50)
	if err != nil || len(left) != 2 || left[0].ID != occ[0].ID || left[1].ID != occ[2].ID {
		t.Fatalf("left %+v %v", left, err)
	}
	if al := getAlert(t, st, x.id); al.Count != 3 {
		t.Errorf("count %d after pruning, want 3", al.Count)
	}
	// Nothing more to do below the cut.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		var err error
		deleted, _, err = tx.PruneOccurrences(ctx, last, cut, 1000)
		return err
	})
	if deleted != 0 {
		t.Errorf("second prune deleted %d", deleted)
	}
	if cut, err := st.OccurrencesBefore(ctx, base.Add(-time.Hour)); err != nil || cut != occ[0].ID {
		t.Errorf("cutoff before everything: %d %v", cut, err)
	}
}

// testObservableIDsAfterRollback: the writer remembers observable ids
// only once their transaction committed. A request that added an
// observable and then failed must not leave a dangling id behind for the
// requests after it, whether it failed alone or beside others in one
// group-committed batch.
func testObservableIDsAfterRollback(t *testing.T, st *store.Store) {
	ctx := context.Background()
	withDomain := func(domain string) func(*ingest.Alert) {
		return func(a *ingest.Alert) {
			a.Observables = append(a.Observables, ingest.Observable{Type: "domain", Value: domain})
		}
	}
	boom := errors.New("boom")
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.IngestAlert(ctx, alertFixture("rb-1", "fp-rb-1", withDomain("rolled-back.example")), time.Hour); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing request: %v, want boom", err)
	}
	kept := ingestOne(t, st, alertFixture("rb-2", "fp-rb-2", withDomain("rolled-back.example")), time.Hour)
	s, err := st.FindSightings(ctx, "domain", "rolled-back.example", store.Scope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Alerts) != 1 || s.Alerts[0].ID != kept.id {
		t.Fatalf("sightings after a rolled-back first sighting = %+v, want only alert %d", s.Alerts, kept.id)
	}

	// Concurrent requests share batches; every other one fails after
	// adding the same new observable.
	const n = 16
	errs := make([]error, n)
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = st.InTx(ctx, func(tx *store.Tx) error {
				id, _, err := tx.IngestAlert(ctx, alertFixture(fmt.Sprintf("rbc-%d", i), fmt.Sprintf("fp-rbc-%d", i), withDomain("shared-new.example")), time.Hour)
				if err != nil {
					return err
				}
				ids[i] = id
				if i%2 == 1 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	var want []int64
	for i := range n {
		switch {
		case i%2 == 1 && !errors.Is(errs[i], boom):
			t.Fatalf("request %d: %v, want boom", i, errs[i])
		case i%2 == 0 && errs[i] != nil:
			t.Fatalf("request %d: %v", i, errs[i])
		case i%2 == 0:
			want = append(want, ids[i])
		}
	}
	s, err = st.FindSightings(ctx, "domain", "shared-new.example", store.Scope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, a := range s.Alerts {
		got = append(got, a.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("sightings = %v, want the committed alerts %v", got, want)
	}
	// And the ids stay good for later alerts.
	later := ingestOne(t, st, alertFixture("rbc-later", "fp-rbc-later", withDomain("shared-new.example")), time.Hour)
	if later.id == 0 {
		t.Fatal("a later alert naming the observable was not stored")
	}
}
