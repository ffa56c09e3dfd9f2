// Package storetest is the contract every store backend must meet. The
// SQLite tests run it always; the PostgreSQL tests run it, unchanged, when
// a database is at hand. It uses only the exported store API.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// Run runs the contract suite. open must return a new, empty, migrated
// store on every call and close it when the test that asked ends; closing
// a store twice must be harmless.
func Run(t *testing.T, open func(tb testing.TB) *store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, *store.Store)
	}{
		{"Users", testUsers},
		{"UserConflict", testUserConflict},
		{"IncidentKeys", testIncidentKeys},
		{"IncidentKeysGapFreeAfterRollback", testIncidentKeysGapFree},
		{"IncidentDuplicateKey", testIncidentDuplicateKey},
		{"IncidentRoundTrip", testIncidentRoundTrip},
		{"IncidentRoundTripMinimal", testIncidentRoundTripMinimal},
		{"IncidentNotFound", testIncidentNotFound},
		{"UpdateIncident", testUpdateIncident},
		{"PhaseHistory", testPhaseHistory},
		{"FindNewestFirstAndLimit", testFindNewestFirst},
		{"FindPaging", testFindPaging},
		{"FindFilters", testFindFilters},
		{"FindText", testFindText},
		{"FindTextPaging", testFindTextPaging},
		{"FindTextHugeDocument", testFindTextHugeDocument},
		{"FindTextFollowsUpdates", testFindTextFollowsUpdates},
		{"ScopeRestricted", testScopeRestricted},
		{"ScopeOwnReports", testScopeOwnReports},
		{"CountByPhase", testCountByPhase},
		{"Events", testEvents},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ConcurrentWritesWithFailures", testConcurrentFailures},
		{"FailedTxLeavesNothing", testFailedTx},
		{"PanicInTx", testPanicInTx},
		{"Comments", testComments},
		{"Actions", testActions},
		{"Members", testMembers},
		{"PhaseAssignees", testPhaseAssignees},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"Close", testClose},
		{"AlertIngestAndDedup", testAlertIngest},
		{"AlertFind", testAlertFind},
		{"AlertStatusAndLink", testAlertStatusAndLink},
		{"AlertOccurrencesAndRetention", testAlertOccurrencesAndRetention},
		{"ObservableIDsAfterRollback", testObservableIDsAfterRollback},
		{"Contacts", testContacts},
		{"EscalationBookkeeping", testEscalationBookkeeping},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Knowledge", testKnowledge},
		{"SimilarCandidates", testSimilarCandidates},
		{"Costs", testCosts},
		{"Watchlist", testWatchlist},
		{"ActionRuns", testActionRuns},
		{"ActionRunDecisions", testActionRunDecisions},
		{"OIDCUsers", testOIDCUsers},
		{"DashboardAggregates", testDashboardAggregates}, {"StatsAndSearch", testStatsAndSearch}, {"TOTP", testTOTP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// year is the year every key in the suite is numbered in.
const year = 2026

// base is a fixed, microsecond-precise UTC time for fields the caller sets.
var base = time.Date(2026, 4, 1, 9, 0, 0, 123456000, time.UTC)

// inTx runs fn in a write transaction and fails the test if it fails.
func inTx(tb testing.TB, st *store.Store, fn func(context.Context, *store.Tx) error) {
	tb.Helper()
	ctx := context.Background()
	if err := st.InTx(ctx, func(tx *store.Tx) error { return fn(ctx, tx) }); err != nil {
		tb.Fatalf("InTx: %v", err)
	}
}

// newUser creates a user.
func newUser(tb testing.TB, st *store.Store, name string, role core.Role) core.User {
	tb.Helper()
	u := core.User{Name: name, DisplayName: strings.ToUpper(name), Email: name + "@example.com", Role: role, CreatedAt: base}
	inTx(tb, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateUser(ctx, &u, "hash-of-"+name) })
	if u.ID == 0 {
		tb.Fatalf("CreateUser(%s) did not set the id", name)
	}
	return u
}

// create files inc the way app does: next key, the row, the first phase
// period and the created event. Unset times take the transaction's time.
func create(ctx context.Context, tx *store.Tx, inc *core.Incident) error {
	key, err := tx.NextIncidentKey(ctx, year)
	if err != nil {
		return err
	}
	inc.Key = key
	now := tx.Now()
	if inc.CreatedAt.IsZero() {
		inc.CreatedAt = now
	}
	if inc.UpdatedAt.IsZero() {
		inc.UpdatedAt = inc.CreatedAt
	}
	if inc.Timestamps.ReportedAt.IsZero() {
		inc.Timestamps.ReportedAt = inc.CreatedAt
	}
	if inc.Phase == "" {
		inc.Phase = core.PhaseDetect
	}
	if err := tx.CreateIncident(ctx, inc); err != nil {
		return err
	}
	if err := tx.EnterPhase(ctx, inc.ID, inc.Phase, "tester", ""); err != nil {
		return err
	}
	payload, err := json.Marshal(map[string]string{"key": inc.Key, "title": inc.Title})
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &core.Event{ActorID: inc.ReporterID, Actor: "tester", IncidentID: inc.ID,
		Type: core.EvIncidentCreated, Payload: payload})
}

// newIncident normalises and creates an incident with the given title
// after applying edits.
func newIncident(tb testing.TB, st *store.Store, title string, edits ...func(*core.Incident)) *core.Incident {
	tb.Helper()
	inc := &core.Incident{Title: title}
	for _, e := range edits {
		e(inc)
	}
	if err := inc.Normalize(); err != nil {
		tb.Fatalf("incident %q: %v", title, err)
	}
	inTx(tb, st, func(ctx context.Context, tx *store.Tx) error { return create(ctx, tx, inc) })
	return inc
}

func get(tb testing.TB, st *store.Store, key string, scope store.Scope) *core.Incident {
	tb.Helper()
	inc, err := st.GetIncident(context.Background(), key, scope)
	if err != nil {
		tb.Fatalf("GetIncident(%s): %v", key, err)
	}
	return inc
}

func wantNotFound(tb testing.TB, err error, what string) {
	tb.Helper()
	if !errors.Is(err, core.ErrNotFound) {
		tb.Fatalf("%s: error = %v, want core.ErrNotFound", what, err)
	}
}

func wantConflict(tb testing.TB, err error, what string) {
	tb.Helper()
	if !errors.Is(err, core.ErrConflict) {
		tb.Fatalf("%s: error = %v, want core.ErrConflict", what, err)
	}
}

// find returns the keys FindIncidents lists, in order, and the more flag.
func find(tb testing.TB, st *store.Store, f store.IncidentFilter) ([]string, bool) {
	tb.Helper()
	incs, more, err := st.FindIncidents(context.Background(), f)
	if err != nil {
		tb.Fatalf("FindIncidents(%+v): %v", f, err)
	}
	return keys(incs), more
}

func keys(incs []*core.Incident) []string {
	out := []string{}
	for _, inc := range incs {
		out = append(out, inc.Key)
	}
	return out
}

// key is the key of the n-th incident of the suite's year.
func key(n int) string { return core.IncidentKey(year, int64(n)) }

// keyRange is key(from) ... key(to), in that order (descending if from > to).
func keyRange(from, to int) []string {
	out := []string{}
	step := 1
	if from > to {
		step = -1
	}
	for n := from; ; n += step {
		out = append(out, key(n))
		if n == to {
			return out
		}
	}
}

// verifyChain checks the whole audit trail against the recorded head and
// returns the number of events.
func verifyChain(tb testing.TB, st *store.Store) int64 {
	tb.Helper()
	v := audit.NewVerifier()
	headID, headHash, err := st.ScanEvents(context.Background(), v.Next)
	if err != nil {
		tb.Fatalf("audit chain: %v", err)
	}
	if err := v.Finish(headID, headHash); err != nil {
		tb.Fatalf("audit chain head: %v", err)
	}
	return v.Count()
}

func ptr[T any](v T) *T { return &v }

func diff(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	tb.Fatalf("%s differs\n got %+v\nwant %+v\n got JSON %s\nwant JSON %s", what, got, want, g, w)
}

func testUsers(t *testing.T, st *store.Store) {
	ctx := context.Background()
	if n, err := st.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on a new store = %d, %v", n, err)
	}
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	alice := newUser(t, st, "alice", core.RoleAdmin)
	if alice.ID == bob.ID {
		t.Fatal("two users share an id")
	}
	got, err := st.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "UserByName", got, alice)
	got, err = st.UserByID(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "UserByID", got, bob)
	_, err = st.UserByName(ctx, "carol")
	wantNotFound(t, err, "UserByName(carol)")
	_, err = st.UserByName(ctx, "Alice")
	wantNotFound(t, err, "UserByName(Alice)")
	_, err = st.UserByID(ctx, 999999)
	wantNotFound(t, err, "UserByID(999999)")
	users, err := st.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListUsers", users, []core.User{alice, bob})
	if n, err := st.CountUsers(ctx); err != nil || n != 2 {
		t.Fatalf("CountUsers = %d, %v; want 2", n, err)
	}
	if h, err := st.PasswordHash(ctx, alice.ID); err != nil || h != "hash-of-alice" {
		t.Fatalf("PasswordHash = %q, %v", h, err)
	}
	_, err = st.PasswordHash(ctx, 999999)
	wantNotFound(t, err, "PasswordHash(999999)")

	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SetPassword(ctx, alice.ID, "new-hash") })
	if h, err := st.PasswordHash(ctx, alice.ID); err != nil || h != "new-hash" {
		t.Fatalf("PasswordHash after SetPassword = %q, %v", h, err)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SetUserDisabled(ctx, bob.ID, true) })
	if u, err := st.UserByID(ctx, bob.ID); err != nil || !u.Disabled {
		t.Fatalf("after disabling: %+v, %v", u, err)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SetUserDisabled(ctx, bob.ID, false) })
	if u, err := st.UserByID(ctx, bob.ID); err != nil || u.Disabled {
		t.Fatalf("after enabling: %+v, %v", u, err)
	}
}

func testUserConflict(t *testing.T, st *store.Store) {
	newUser(t, st, "alice", core.RoleAdmin)
	ctx := context.Background()
	dup := core.User{Name: "alice", Role: core.RoleViewer, CreatedAt: base}
	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, &dup, "") })
	wantConflict(t, err, "duplicate user")
	if errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrNotFound) {
		t.Fatalf("duplicate user error %v is more than a conflict", err)
	}
	// The failed insert left nothing behind and the store still takes users.
	if n, err := st.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1", n, err)
	}
	newUser(t, st, "alice2", core.RoleViewer)
}

func testIncidentKeys(t *testing.T, st *store.Store) {
	var got []string
	for range 3 {
		got = append(got, newIncident(t, st, "x").Key)
	}
	diff(t, "keys", got, keyRange(1, 3))
	// Every year has its own sequence.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, want := range []string{"INC-2027-0001", "INC-2027-0002"} {
			k, err := tx.NextIncidentKey(ctx, 2027)
			if err != nil {
				return err
			}
			if k != want {
				return fmt.Errorf("NextIncidentKey(2027) = %s, want %s", k, want)
			}
		}
		k, err := tx.NextIncidentKey(ctx, year)
		if err != nil {
			return err
		}
		if k != key(4) {
			return fmt.Errorf("NextIncidentKey(%d) = %s, want %s", year, k, key(4))
		}
		return nil
	})
}

func testIncidentKeysGapFree(t *testing.T, st *store.Store) {
	ctx := context.Background()
	newIncident(t, st, "first")
	boom := errors.New("boom")
	var taken string
	err := st.InTx(ctx, func(tx *store.Tx) error {
		inc := &core.Incident{Title: "rolled back"}
		if err := inc.Normalize(); err != nil {
			return err
		}
		if err := create(ctx, tx, inc); err != nil {
			return err
		}
		taken = inc.Key
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	if taken != key(2) {
		t.Fatalf("rolled-back transaction took %s, want %s", taken, key(2))
	}
	_, err = st.GetIncident(ctx, key(2), store.Scope{All: true})
	wantNotFound(t, err, "rolled-back incident")
	if second := newIncident(t, st, "second"); second.Key != key(2) {
		t.Fatalf("key after a rollback = %s, want %s (no gaps)", second.Key, key(2))
	}
	if third := newIncident(t, st, "third"); third.Key != key(3) {
		t.Fatalf("next key = %s, want %s", third.Key, key(3))
	}
	if n := verifyChain(t, st); n != 3 {
		t.Fatalf("%d events, want 3", n)
	}
}

func testIncidentDuplicateKey(t *testing.T, st *store.Store) {
	first := newIncident(t, st, "first")
	ctx := context.Background()
	dup := &core.Incident{Title: "dup", Key: first.Key}
	if err := dup.Normalize(); err != nil {
		t.Fatal(err)
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		dup.CreatedAt, dup.UpdatedAt, dup.Timestamps.ReportedAt, dup.Phase = tx.Now(), tx.Now(), tx.Now(), core.PhaseDetect
		return tx.CreateIncident(ctx, dup)
	})
	wantConflict(t, err, "duplicate key")
	if got := get(t, st, first.Key, store.Scope{All: true}); got.Title != "first" {
		t.Fatalf("the first incident became %q", got.Title)
	}
}

// fullIncident has every field set to something other than its zero value.
func fullIncident(reporter, assignee core.User) *core.Incident {
	at := func(h int) *time.Time {
		return ptr(base.Add(time.Duration(h)*time.Hour + time.Duration(h)*time.Microsecond))
	}
	return &core.Incident{
		Title:           "顧客名簿の誤送信 / misdelivered customer list",
		Description:     "Line one\nline two with 'quotes' and \"double\" and `ticks`; DROP TABLE incidents; --",
		Category:        core.CatDataLeak,
		InfoType:        core.InfoPersonal,
		CauseClass:      core.CauseHumanError,
		Severity:        core.S1,
		Impact:          1,
		Urgency:         3,
		Phase:           core.PhaseDetect,
		AffectedSystems: []string{"mail01", "顧客DB", "crm.example.com"},
		ReporterID:      reporter.ID,
		AssigneeID:      assignee.ID,
		Facts: core.Facts{
			OccurredAt: at(-48), Location: "大阪オフィス", DiscoveredBy: "customer call",
			What: "list mailed to the wrong customer", Why: "autocomplete", HowFound: "phone", ActionsTaken: "asked for deletion",
		},
		Flags: core.Flags{PersonalData: true, PeopleAffected: 1_234_567, SensitivePersonalData: true,
			MaliciousIntent: true, FinancialDamageRisk: true, EUResidents: true},
		Restricted:         true,
		Exercise:           true,
		RootCause:          "no recipient check",
		LessonsLearned:     "check recipients",
		PreventionMeasures: "delay sending by five minutes",
		Timestamps: core.Timestamps{
			DetectedAt: at(-24), ReportedAt: *at(-23), AcknowledgedAt: at(-22), ContainedAt: at(-21),
			EradicatedAt: at(-20), RecoveredAt: at(-19), ClosedAt: at(-18),
		},
		CreatedAt: *at(-23),
		UpdatedAt: *at(-17),
	}
}

func testIncidentRoundTrip(t *testing.T, st *store.Store) {
	alice := newUser(t, st, "alice", core.RoleReporter)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	inc := fullIncident(alice, bob)
	if err := inc.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := *inc
	var entered time.Time
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		entered = tx.Now()
		return create(ctx, tx, inc)
	})
	if inc.ID == 0 || inc.Version != 1 || inc.Key != key(1) {
		t.Fatalf("after create: id %d, version %d, key %s", inc.ID, inc.Version, inc.Key)
	}
	want.ID, want.Key, want.Version = inc.ID, inc.Key, 1
	want.Reporter, want.Assignee = "alice", "bob"
	want.Priority = core.P2
	want.Phases = []core.PhasePeriod{{Phase: core.PhaseDetect, EnteredAt: entered, EnteredBy: "tester"}}
	got := get(t, st, inc.Key, store.Scope{All: true})
	diff(t, "incident", got, &want)

	// The same incident as a list shows it, without phase history.
	incs, _, err := st.FindIncidents(context.Background(), store.IncidentFilter{Scope: store.Scope{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 {
		t.Fatalf("FindIncidents found %d incidents, want 1", len(incs))
	}
	want.Phases, want.PhaseAssignees = nil, nil
	incs[0].Phases, incs[0].PhaseAssignees = nil, nil
	diff(t, "listed incident", incs[0], &want)
}

func testIncidentRoundTripMinimal(t *testing.T, st *store.Store) {
	inc := newIncident(t, st, "minimal")
	got := get(t, st, inc.Key, store.Scope{All: true})
	if got.ReporterID != 0 || got.Reporter != "" || got.AssigneeID != 0 || got.Assignee != "" {
		t.Errorf("no reporter or assignee, got %d %q %d %q", got.ReporterID, got.Reporter, got.AssigneeID, got.Assignee)
	}
	if got.AffectedSystems == nil || len(got.AffectedSystems) != 0 {
		t.Errorf("affected systems = %#v, want an empty non-nil slice", got.AffectedSystems)
	}
	ts := got.Timestamps
	if got.Facts.OccurredAt != nil || ts.DetectedAt != nil || ts.AcknowledgedAt != nil || ts.ContainedAt != nil ||
		ts.EradicatedAt != nil || ts.RecoveredAt != nil || ts.ClosedAt != nil {
		t.Errorf("unset times came back set: %+v %+v", got.Facts, ts)
	}
	inc.Phases = got.Phases
	diff(t, "minimal incident", got, inc)
}

func testIncidentNotFound(t *testing.T, st *store.Store) {
	ctx := context.Background()
	newIncident(t, st, "exists")
	for _, k := range []string{key(2), "INC-2025-0001", "", "not a key", "inc-2026-0001"} {
		inc, err := st.GetIncident(ctx, k, store.Scope{All: true})
		wantNotFound(t, err, "GetIncident("+k+")")
		if inc != nil {
			t.Errorf("GetIncident(%q) returned an incident with its error", k)
		}
	}
}

func testUpdateIncident(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	inc := newIncident(t, st, "before", func(i *core.Incident) { i.ReporterID = alice.ID })
	stale := get(t, st, inc.Key, store.Scope{All: true})

	changed := fullIncident(bob, alice)
	changed.ID, changed.Key, changed.Version, changed.Phase = inc.ID, inc.Key, 1, core.PhaseContain
	if err := changed.Normalize(); err != nil {
		t.Fatal(err)
	}
	var now time.Time
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		now = tx.Now()
		changed.UpdatedAt = now
		return tx.UpdateIncident(ctx, changed)
	})
	if changed.Version != 2 {
		t.Fatalf("version after update = %d, want 2", changed.Version)
	}
	got := get(t, st, inc.Key, store.Scope{All: true})
	want := *changed
	want.Reporter, want.Assignee = "bob", "alice"
	want.Phases = got.Phases
	// The creation time is not a mutable field.
	want.CreatedAt = inc.CreatedAt
	diff(t, "updated incident", got, &want)

	// A writer holding version 1 lost the race.
	stale.Title = "lost update"
	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateIncident(ctx, stale) })
	wantConflict(t, err, "stale update")
	if stale.Version != 1 {
		t.Errorf("a refused update changed the version to %d", stale.Version)
	}
	if got := get(t, st, inc.Key, store.Scope{All: true}); got.Title != changed.Title || got.Version != 2 {
		t.Fatalf("after a stale update: title %q version %d", got.Title, got.Version)
	}

	// The current version goes through, and bumps again.
	current := get(t, st, inc.Key, store.Scope{All: true})
	current.Title = "third"
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateIncident(ctx, current) })
	if got := get(t, st, inc.Key, store.Scope{All: true}); got.Title != "third" || got.Version != 3 || current.Version != 3 {
		t.Fatalf("after the second update: title %q version %d (in memory %d)", got.Title, got.Version, current.Version)
	}

	missing := *current
	missing.ID, missing.Key = 999999, "INC-2026-9999"
	err = st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateIncident(ctx, &missing) })
	wantNotFound(t, err, "update of a missing incident")
}

func testPhaseHistory(t *testing.T, st *store.Store) {
	inc := newIncident(t, st, "moves")
	first := get(t, st, inc.Key, store.Scope{All: true})
	if len(first.Phases) != 1 {
		t.Fatalf("phases after create = %+v", first.Phases)
	}
	t0 := first.Phases[0].EnteredAt
	move := func(to core.Phase, by, reason string) time.Time {
		t.Helper()
		var now time.Time
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
			now = tx.Now()
			cur, err := tx.GetIncident(ctx, inc.Key, store.Scope{All: true})
			if err != nil {
				return err
			}
			cur.Phase, cur.UpdatedAt = to, now
			if err := tx.UpdateIncident(ctx, cur); err != nil {
				return err
			}
			if err := tx.LeavePhase(ctx, inc.ID); err != nil {
				return err
			}
			return tx.EnterPhase(ctx, inc.ID, to, by, reason)
		})
		return now
	}
	t1 := move(core.PhaseTriage, "alice", "")
	t2 := move(core.PhaseDetect, "bob", "misjudged")
	t3 := move(core.PhaseClosed, "carol", "false positive")
	if !(t0.Before(t1) && t1.Before(t2) && t2.Before(t3)) {
		t.Fatalf("transaction times not increasing: %v %v %v %v", t0, t1, t2, t3)
	}
	got := get(t, st, inc.Key, store.Scope{All: true})
	want := []core.PhasePeriod{
		{Phase: core.PhaseDetect, EnteredAt: t0, LeftAt: &t1, EnteredBy: "tester"},
		{Phase: core.PhaseTriage, EnteredAt: t1, LeftAt: &t2, EnteredBy: "alice"},
		{Phase: core.PhaseDetect, EnteredAt: t2, LeftAt: &t3, EnteredBy: "bob", Reason: "misjudged"},
	}
	diff(t, "phase history", got.Phases, want)
	if got.Phase != core.PhaseClosed || got.Version != 4 {
		t.Fatalf("phase %s version %d, want closed 4", got.Phase, got.Version)
	}
}

func testFindNewestFirst(t *testing.T, st *store.Store) {
	for range 5 {
		newIncident(t, st, "x")
	}
	all := store.Scope{All: true}
	tests := []struct {
		limit int
		want  []string
		more  bool
	}{
		{0, keyRange(5, 1), false},
		{1, keyRange(5, 5), true},
		{2, keyRange(5, 4), true},
		{4, keyRange(5, 2), true},
		{5, keyRange(5, 1), false},
		{6, keyRange(5, 1), false},
		{-1, keyRange(5, 1), false},
		{store.MaxListLimit + 1, keyRange(5, 1), false},
	}
	for _, tt := range tests {
		got, more := find(t, st, store.IncidentFilter{Scope: all, Limit: tt.limit})
		if !slices.Equal(got, tt.want) || more != tt.more {
			t.Errorf("Limit %d: %v more=%v, want %v more=%v", tt.limit, got, more, tt.want, tt.more)
		}
	}
}

func testFindPaging(t *testing.T, st *store.Store) {
	const n = 23
	byKey := map[string]int64{}
	for range n {
		inc := newIncident(t, st, "x")
		byKey[inc.Key] = inc.ID
	}
	ctx := context.Background()
	for _, limit := range []int{1, 3, 5, 22, 23} {
		var got []string
		var before int64
		for page := 0; ; page++ {
			if page > n {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			incs, more, err := st.FindIncidents(ctx, store.IncidentFilter{Scope: store.Scope{All: true}, Limit: limit, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			if len(incs) > limit || more && len(incs) != limit {
				t.Fatalf("limit %d page %d: %d incidents, more=%v", limit, page, len(incs), more)
			}
			got = append(got, keys(incs)...)
			if !more {
				break
			}
			before = incs[len(incs)-1].ID
			if before != byKey[incs[len(incs)-1].Key] {
				t.Fatalf("listed id %d does not match created id", before)
			}
		}
		if !slices.Equal(got, keyRange(n, 1)) {
			t.Errorf("limit %d: pages gave %v, want every incident once, newest first", limit, got)
		}
	}
}

func testFindFilters(t *testing.T, st *store.Store) {
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	day := func(month time.Month) time.Time { return time.Date(2026, month, 10, 0, 0, 0, 0, time.UTC) }
	ids := map[int]int64{}
	mk := func(phase core.Phase, sev core.Severity, cat core.Category, assignee, reporter int64, created time.Time) {
		t.Helper()
		inc := newIncident(t, st, "x", func(i *core.Incident) {
			i.Phase, i.Severity, i.Category, i.AssigneeID, i.ReporterID, i.CreatedAt = phase, sev, cat, assignee, reporter, created
		})
		ids[len(ids)+1] = inc.ID
	}
	mk(core.PhaseDetect, core.S1, core.CatMalware, 0, alice.ID, day(1))           // 1
	mk(core.PhaseContain, core.S2, core.CatPhishing, alice.ID, bob.ID, day(2))    // 2
	mk(core.PhaseClosed, core.S3, core.CatMalware, bob.ID, alice.ID, day(3))      // 3
	mk(core.PhaseTriage, core.S4, core.CatDataLeak, 0, bob.ID, day(4))            // 4
	mk(core.PhaseDetect, core.S1, core.CatRansomware, alice.ID, alice.ID, day(5)) // 5

	all := store.Scope{All: true}
	ks := func(ns ...int) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, key(n))
		}
		return out
	}
	tests := []struct {
		name string
		f    store.IncidentFilter
		want []string
	}{
		{"no filter", store.IncidentFilter{}, ks(5, 4, 3, 2, 1)},
		{"empty lists do not filter", store.IncidentFilter{Phases: []core.Phase{}, Severities: []core.Severity{}, Categories: []core.Category{}}, ks(5, 4, 3, 2, 1)},
		{"phase", store.IncidentFilter{Phases: []core.Phase{core.PhaseDetect}}, ks(5, 1)},
		{"phases", store.IncidentFilter{Phases: []core.Phase{core.PhaseDetect, core.PhaseTriage}}, ks(5, 4, 1)},
		{"phase nobody is in", store.IncidentFilter{Phases: []core.Phase{core.PhaseRecover}}, ks()},
		{"severity", store.IncidentFilter{Severities: []core.Severity{core.S1}}, ks(5, 1)},
		{"severities", store.IncidentFilter{Severities: []core.Severity{core.S2, core.S3}}, ks(3, 2)},
		{"category", store.IncidentFilter{Categories: []core.Category{core.CatMalware}}, ks(3, 1)},
		{"categories", store.IncidentFilter{Categories: []core.Category{core.CatDataLeak, core.CatPhishing}}, ks(4, 2)},
		{"unassigned", store.IncidentFilter{AssigneeID: ptr(int64(0))}, ks(4, 1)},
		{"assigned to alice", store.IncidentFilter{AssigneeID: ptr(alice.ID)}, ks(5, 2)},
		{"assigned to bob", store.IncidentFilter{AssigneeID: ptr(bob.ID)}, ks(3)},
		{"assigned to nobody known", store.IncidentFilter{AssigneeID: ptr(int64(999999))}, ks()},
		{"reported by bob", store.IncidentFilter{ReporterID: ptr(bob.ID)}, ks(4, 2)},
		{"open", store.IncidentFilter{Open: ptr(true)}, ks(5, 4, 2, 1)},
		{"closed", store.IncidentFilter{Open: ptr(false)}, ks(3)},
		{"created from (inclusive)", store.IncidentFilter{CreatedAfter: ptr(day(2))}, ks(5, 4, 3, 2)},
		{"created before (exclusive)", store.IncidentFilter{CreatedBefore: ptr(day(3))}, ks(2, 1)},
		{"created range", store.IncidentFilter{CreatedAfter: ptr(day(2).Add(time.Microsecond)), CreatedBefore: ptr(day(4).Add(time.Microsecond))}, ks(4, 3)},
		{"created range in another zone", store.IncidentFilter{CreatedAfter: ptr(day(3).In(time.FixedZone("JST", 9*3600)))}, ks(5, 4, 3)},
		{"empty created range", store.IncidentFilter{CreatedAfter: ptr(day(4)), CreatedBefore: ptr(day(4))}, ks()},
		{"combined", store.IncidentFilter{Phases: []core.Phase{core.PhaseDetect}, Severities: []core.Severity{core.S1}, Categories: []core.Category{core.CatRansomware}}, ks(5)},
		{"combined, no hit", store.IncidentFilter{Open: ptr(false), Severities: []core.Severity{core.S1}}, ks()},
		{"filter and cursor", store.IncidentFilter{Severities: []core.Severity{core.S1}, Before: ids[5]}, ks(1)},
		{"cursor", store.IncidentFilter{Before: ids[3]}, ks(2, 1)},
		{"cursor at the oldest", store.IncidentFilter{Before: ids[1]}, ks()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Scope = all
			got, more := find(t, st, tt.f)
			if !slices.Equal(got, tt.want) || more {
				t.Errorf("got %v more=%v, want %v", got, more, tt.want)
			}
		})
	}
	// A filter with a limit still says whether more match.
	got, more := find(t, st, store.IncidentFilter{Scope: all, Open: ptr(true), Limit: 3})
	if !slices.Equal(got, ks(5, 4, 2)) || !more {
		t.Errorf("open, limit 3: %v more=%v", got, more)
	}
}

// textIncidents creates the documents the text search tests look in.
func textIncidents(tb testing.TB, st *store.Store) {
	tb.Helper()
	newIncident(tb, st, "Ransomware on file server FS01", func(i *core.Incident) {
		i.Description = "Files encrypted, a ransom note was found."
	}) // 1
	newIncident(tb, st, "ノートPCを紛失", func(i *core.Incident) { i.Description = "電車内で置き忘れた" })                             // 2
	newIncident(tb, st, "ランサムウェア感染の疑い")                                                                                 // 3
	newIncident(tb, st, "Phishing mail to 経理部", func(i *core.Incident) { i.Facts.What = "Credential harvesting page" }) // 4
	newIncident(tb, st, "Router misconfiguration", func(i *core.Incident) { i.AffectedSystems = []string{"rt-01"} })    // 5
}

func testFindText(t *testing.T, st *store.Store) {
	textIncidents(t, st)
	ks := func(ns ...int) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, key(n))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"ransom", ks(1)},            // prefix of ransomware
		{"RANSOMWARE", ks(1)},        // case folded
		{"ｒａｎｓｏｍ", ks(1)},            // full width folded
		{"ransomware fs01", ks(1)},   // every word must match
		{"ransomware payroll", ks()}, // one word missing
		{"fs0", ks(1)},               // three letters match as a prefix
		{"ra", ks()},                 // two letters must match whole
		{"harvest", ks(4)},           // facts are indexed
		{"encrypted", ks(1)},         // description is indexed
		{"rt-01", ks(5)},             // affected systems are indexed
		{"紛失", ks(2)},                // two-character word
		{"ランサムウェア", ks(3)},           // longer word
		{"サムウェ", ks(3)},              // inside a word
		{"ウェア感染", ks(3)},             //
		{"紛", ks(2)},                 // single character starting a word
		{"失", ks(2)},                 // single character ending a run
		{"感", ks(3)},                 // single character inside a run
		{"置き忘れ", ks(2)},              //
		{"経理", ks(4)},                // CJK inside Latin text
		{"紛争", ks()},                 // shares a character only
		{"ランサム ransomware", ks()},    // both must match the same incident
		{key(2), ks(2)},              // the key is indexed
		{"!!!", ks()},                // only punctuation: nothing
		{"「」、。・", ks()},              //
		{"\"*'()^:-", ks()},          // FTS syntax characters are not syntax
		{"ransom*", ks(1)},           //
		{"\"ransom\" OR fs01", ks()}, // OR is a word, not an operator
		{"NEAR(ransom fs01)", ks()},  //
		{"   ", ks(5, 4, 3, 2, 1)},   // blank: no text filter
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, more := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: tt.query})
			if !slices.Equal(got, tt.want) || more {
				t.Errorf("Query %q: %v more=%v, want %v", tt.query, got, more, tt.want)
			}
		})
	}
	// Text and filters combine.
	got, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "ransom", Severities: []core.Severity{core.S1}})
	if len(got) != 0 {
		t.Errorf("ransom in S1: %v, want none", got)
	}
	got, _ = find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "ransom", Severities: []core.Severity{core.S3}})
	if !slices.Equal(got, ks(1)) {
		t.Errorf("ransom in S3: %v, want %v", got, ks(1))
	}
}

// testFindTextHugeDocument: an incident whose texts are full of pasted
// logs (every field at its limit, tens of thousands of distinct tokens)
// saves on both databases — PostgreSQL refuses a tsvector of a megabyte —
// and is still found by its opening words.
func testFindTextHugeDocument(t *testing.T, st *store.Store) {
	logs := func(seed int) string {
		var b strings.Builder
		for i := 0; b.Len() < core.MaxTextLen-64; i++ {
			fmt.Fprintf(&b, "%08x ", uint32((seed*1_000_003+i)*2654435761))
		}
		return b.String()
	}
	inc := newIncident(t, st, "Exfiltration via tunnelling", func(inc *core.Incident) {
		inc.Description = "pasted firewall log follows\n" + logs(1)
		inc.Facts.What, inc.Facts.Why, inc.Facts.HowFound, inc.Facts.ActionsTaken = logs(2), logs(3), logs(4), logs(5)
		inc.RootCause, inc.LessonsLearned, inc.PreventionMeasures = logs(6), logs(7), logs(8)
	})
	got, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "tunnelling firewall"})
	if !slices.Equal(got, []string{inc.Key}) {
		t.Fatalf("search for the opening words: %v, want %s", got, inc.Key)
	}
	// And it can still change.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		inc.Title = "Exfiltration via DNS tunnelling"
		return tx.UpdateIncident(ctx, inc)
	})
	got, _ = find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "dns tunnelling"})
	if !slices.Equal(got, []string{inc.Key}) {
		t.Fatalf("search after the update: %v, want %s", got, inc.Key)
	}
}

func testFindTextPaging(t *testing.T, st *store.Store) {
	for i := range 7 {
		title := "unrelated"
		if i%2 == 0 {
			title = fmt.Sprintf("ransomware wave %d", i)
		}
		newIncident(t, st, title)
	}
	// Matches: incidents 1, 3, 5, 7.
	ctx := context.Background()
	var got []string
	var before int64
	for page := 0; page < 10; page++ {
		incs, more, err := st.FindIncidents(ctx, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "ransom", Limit: 3, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keys(incs)...)
		if !more {
			break
		}
		before = incs[len(incs)-1].ID
	}
	if want := []string{key(7), key(5), key(3), key(1)}; !slices.Equal(got, want) {
		t.Fatalf("search pages: %v, want %v", got, want)
	}
}

func testFindTextFollowsUpdates(t *testing.T, st *store.Store) {
	inc := newIncident(t, st, "phishing campaign")
	search := func(q string) []string {
		t.Helper()
		got, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: q})
		return got
	}
	if got := search("phishing"); !slices.Equal(got, []string{inc.Key}) {
		t.Fatalf("before update: %v", got)
	}
	cur := get(t, st, inc.Key, store.Scope{All: true})
	cur.Title = "標的型攻撃メール"
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateIncident(ctx, cur) })
	if got := search("phishing"); len(got) != 0 {
		t.Errorf("old title still found: %v", got)
	}
	if got := search("標的型"); !slices.Equal(got, []string{inc.Key}) {
		t.Errorf("new title not found: %v", got)
	}

	// Created and changed in one transaction: only the final text is found.
	var second *core.Incident
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		second = &core.Incident{Title: "draft wording"}
		if err := second.Normalize(); err != nil {
			return err
		}
		if err := create(ctx, tx, second); err != nil {
			return err
		}
		second.Title = "final wording"
		return tx.UpdateIncident(ctx, second)
	})
	if got := search("draft"); len(got) != 0 {
		t.Errorf("draft title found: %v", got)
	}
	if got := search("final wording"); !slices.Equal(got, []string{second.Key}) {
		t.Errorf("final title: %v, want %s", got, second.Key)
	}
	// Changed twice in one transaction.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		c, err := tx.GetIncident(ctx, second.Key, store.Scope{All: true})
		if err != nil {
			return err
		}
		c.Title = "interim"
		if err := tx.UpdateIncident(ctx, c); err != nil {
			return err
		}
		c.Title = "settled"
		return tx.UpdateIncident(ctx, c)
	})
	if got := search("interim"); len(got) != 0 {
		t.Errorf("interim title found: %v", got)
	}
	if got := search("settled"); !slices.Equal(got, []string{second.Key}) {
		t.Errorf("settled: %v", got)
	}
	if got := search("wording"); len(got) != 0 {
		t.Errorf("replaced title found: %v", got)
	}
}

// scopeFixture has a restricted incident that only alice is a member of.
type scopeFixture struct {
	alice, bob, carol core.User
	secret, public    *core.Incident // restricted; open to all
	carols            *core.Incident // public, reported by carol
}

func newScopeFixture(tb testing.TB, st *store.Store) scopeFixture {
	tb.Helper()
	var f scopeFixture
	f.alice = newUser(tb, st, "alice", core.RoleAnalyst)
	f.bob = newUser(tb, st, "bob", core.RoleAnalyst)
	f.carol = newUser(tb, st, "carol", core.RoleReporter)
	f.public = newIncident(tb, st, "public zebra incident", func(i *core.Incident) { i.ReporterID = f.bob.ID })
	f.secret = newIncident(tb, st, "secret zebra investigation of an insider", func(i *core.Incident) {
		i.Restricted, i.Phase, i.ReporterID = true, core.PhaseInvestigate, f.carol.ID
	})
	f.carols = newIncident(tb, st, "carol's zebra report", func(i *core.Incident) { i.ReporterID = f.carol.ID })
	inTx(tb, st, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.AddMember(ctx, f.secret.ID, f.alice.ID)
		return err
	})
	return f
}

func testScopeRestricted(t *testing.T, st *store.Store) {
	f := newScopeFixture(t, st)
	ctx := context.Background()
	allKeys := []string{f.carols.Key, f.secret.Key, f.public.Key}
	openKeys := []string{f.carols.Key, f.public.Key}
	tests := []struct {
		name  string
		scope store.Scope
		sees  bool
	}{
		{"member", store.Scope{UserID: f.alice.ID}, true},
		{"all", store.Scope{All: true}, true},
		{"all wins over user", store.Scope{All: true, UserID: f.bob.ID}, true},
		{"non-member", store.Scope{UserID: f.bob.ID}, false},
		{"reporter who is not a member", store.Scope{UserID: f.carol.ID}, false},
		{"nobody", store.Scope{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.GetIncident(ctx, f.secret.Key, tt.scope)
			if tt.sees {
				if err != nil || got.Key != f.secret.Key {
					t.Fatalf("GetIncident = %v, %v; want the incident", got, err)
				}
			} else {
				wantNotFound(t, err, "GetIncident of a hidden incident")
			}
			// Public incidents are visible either way.
			get(t, st, f.public.Key, tt.scope)

			want := openKeys
			if tt.sees {
				want = allKeys
			}
			if got, more := find(t, st, store.IncidentFilter{Scope: tt.scope}); !slices.Equal(got, want) || more {
				t.Errorf("FindIncidents: %v, want %v", got, want)
			}
			if got, _ := find(t, st, store.IncidentFilter{Scope: tt.scope, Query: "zebra"}); !slices.Equal(got, want) {
				t.Errorf("search zebra: %v, want %v", got, want)
			}
			wantSecret := []string{}
			if tt.sees {
				wantSecret = []string{f.secret.Key}
			}
			if got, _ := find(t, st, store.IncidentFilter{Scope: tt.scope, Query: "insider"}); !slices.Equal(got, wantSecret) {
				t.Errorf("search insider: %v, want %v", got, wantSecret)
			}
			if got, _ := find(t, st, store.IncidentFilter{Scope: tt.scope, Phases: []core.Phase{core.PhaseInvestigate}}); !slices.Equal(got, wantSecret) {
				t.Errorf("filter investigate: %v, want %v", got, wantSecret)
			}
			counts, err := st.CountIncidentsByPhase(ctx, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			wantCounts := map[core.Phase]int64{core.PhaseDetect: 2}
			if tt.sees {
				wantCounts[core.PhaseInvestigate] = 1
			}
			diff(t, "counts", counts, wantCounts)
		})
	}

	// Losing membership hides it again; regaining it shows it.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		removed, err := tx.RemoveMember(ctx, f.secret.ID, f.alice.ID)
		if err == nil && !removed {
			err = errors.New("RemoveMember: alice was not a member")
		}
		return err
	})
	_, err := st.GetIncident(ctx, f.secret.Key, store.Scope{UserID: f.alice.ID})
	wantNotFound(t, err, "after removal")

	// Unrestricting makes it visible to everyone.
	cur := get(t, st, f.secret.Key, store.Scope{All: true})
	cur.Restricted = false
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateIncident(ctx, cur) })
	get(t, st, f.secret.Key, store.Scope{UserID: f.bob.ID})
}

func testScopeOwnReports(t *testing.T, st *store.Store) {
	f := newScopeFixture(t, st)
	ctx := context.Background()
	carol := store.Scope{UserID: f.carol.ID, OwnReportsOnly: true}
	if got, more := find(t, st, store.IncidentFilter{Scope: carol}); !slices.Equal(got, []string{f.carols.Key}) || more {
		t.Errorf("carol's own reports: %v", got)
	}
	if got, _ := find(t, st, store.IncidentFilter{Scope: carol, Query: "zebra"}); !slices.Equal(got, []string{f.carols.Key}) {
		t.Errorf("carol's search: %v", got)
	}
	_, err := st.GetIncident(ctx, f.public.Key, carol)
	wantNotFound(t, err, "someone else's report")
	get(t, st, f.carols.Key, carol)
	counts, err := st.CountIncidentsByPhase(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "carol's counts", counts, map[core.Phase]int64{core.PhaseDetect: 1})
	// Own reports of a user who reported nothing: nothing.
	alice := store.Scope{UserID: f.alice.ID, OwnReportsOnly: true}
	if got, _ := find(t, st, store.IncidentFilter{Scope: alice}); len(got) != 0 {
		t.Errorf("alice reported nothing, sees %v", got)
	}
}

func testCountByPhase(t *testing.T, st *store.Store) {
	ctx := context.Background()
	counts, err := st.CountIncidentsByPhase(ctx, store.Scope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Fatalf("counts on an empty store: %v", counts)
	}
	for _, p := range []core.Phase{core.PhaseDetect, core.PhaseDetect, core.PhaseTriage, core.PhaseClosed, core.PhaseClosed, core.PhaseClosed} {
		newIncident(t, st, "x", func(i *core.Incident) { i.Phase = p })
	}
	counts, err = st.CountIncidentsByPhase(ctx, store.Scope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "counts", counts, map[core.Phase]int64{core.PhaseDetect: 2, core.PhaseTriage: 1, core.PhaseClosed: 3})
}

func testEvents(t *testing.T, st *store.Store) {
	ctx := context.Background()
	headID, headHash, err := st.ScanEvents(ctx, func(*core.Event) error { return errors.New("no events expected") })
	if err != nil || headID != 0 || headHash != audit.Genesis {
		t.Fatalf("ScanEvents on an empty store = %d, %q, %v", headID, headHash, err)
	}
	if n := verifyChain(t, st); n != 0 {
		t.Fatalf("%d events on an empty store", n)
	}
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	a := newIncident(t, st, "a")
	b := newIncident(t, st, "b")
	var appended []core.Event
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for i, inc := range []*core.Incident{a, b, a, nil} {
			ev := core.Event{ActorID: alice.ID, Actor: "alice", Type: core.EvCommentAdded, Payload: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))}
			if inc != nil {
				ev.IncidentID = inc.ID
			} else {
				ev.Type, ev.Payload = core.EvLogin, nil
			}
			if err := tx.AppendEvent(ctx, &ev); err != nil {
				return err
			}
			if !ev.Time.Equal(tx.Now()) || ev.Hash == "" || ev.PrevHash == "" {
				return fmt.Errorf("appended event not sealed: %+v", ev)
			}
			if inc != nil {
				ev.IncidentKey = inc.Key
			}
			appended = append(appended, ev)
		}
		return nil
	})
	// Two created events, then the four above.
	if n := verifyChain(t, st); n != 6 {
		t.Fatalf("%d events, want 6", n)
	}
	if appended[0].ID != 3 || appended[3].ID != 6 || appended[1].PrevHash != appended[0].Hash {
		t.Fatalf("ids or links wrong: %+v", appended)
	}
	if string(appended[3].Payload) != "{}" {
		t.Errorf("empty payload stored as %q, want {}", appended[3].Payload)
	}
	timeline, err := st.Timeline(ctx, a.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(timeline) != 3 || timeline[0].Type != core.EvIncidentCreated || timeline[0].IncidentKey != a.Key {
		t.Fatalf("timeline of a: %+v", timeline)
	}
	diff(t, "timeline events", timeline[1:], []core.Event{appended[0], appended[2]})
	page, err := st.Timeline(ctx, a.ID, timeline[0].ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "timeline page", page, []core.Event{appended[0]})
	if rest, err := st.Timeline(ctx, a.ID, appended[2].ID, 100); err != nil || len(rest) != 0 {
		t.Fatalf("timeline after the last event: %v, %v", rest, err)
	}
	var all []core.Event
	if _, _, err := st.ScanEvents(ctx, func(ev *core.Event) error { all = append(all, *ev); return nil }); err != nil {
		t.Fatal(err)
	}
	diff(t, "scanned events", all[2:], appended)
	// A scan stops at the callback's error and returns it.
	stop := errors.New("stop")
	calls := 0
	if _, _, err := st.ScanEvents(ctx, func(*core.Event) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ScanEvents with a failing callback: %v after %d calls", err, calls)
	}
}

func testConcurrentWrites(t *testing.T, st *store.Store) {
	const n = 50
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{}) // released at once, so writes share batches
	for i := range n {
		wg.Go(func() {
			<-start
			inc := &core.Incident{Title: fmt.Sprintf("concurrent %d", i)}
			if errs[i] = inc.Normalize(); errs[i] != nil {
				return
			}
			errs[i] = st.InTx(ctx, func(tx *store.Tx) error { return create(ctx, tx, inc) })
			got[i] = inc.Key
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, keyRange(1, n)) {
		t.Fatalf("keys %v, want %s to %s once each", got, key(1), key(n))
	}
	if c := verifyChain(t, st); c != n {
		t.Fatalf("%d events, want %d", c, n)
	}
	listed, more := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Limit: store.MaxListLimit})
	if len(listed) != n || more {
		t.Fatalf("listed %d incidents, want %d", len(listed), n)
	}
	// Every incident got the event its own transaction wrote.
	for _, k := range listed[:5] {
		inc := get(t, st, k, store.Scope{All: true})
		tl, err := st.Timeline(ctx, inc.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != 1 || !strings.Contains(string(tl[0].Payload), inc.Title) || !tl[0].Time.Equal(inc.CreatedAt) {
			t.Errorf("timeline of %s (%q): %+v", k, inc.Title, tl)
		}
	}
}

func testConcurrentFailures(t *testing.T, st *store.Store) {
	const n = 50
	ctx := context.Background()
	boom := errors.New("boom")
	fails := func(i int) bool { return i%5 == 0 }
	panics := func(i int) bool { return i%7 == 3 && !fails(i) }
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			inc := &core.Incident{Title: fmt.Sprintf("ok %d", i)}
			if fails(i) || panics(i) {
				inc.Title = fmt.Sprintf("doomed %d", i)
			}
			if errs[i] = inc.Normalize(); errs[i] != nil {
				return
			}
			errs[i] = st.InTx(ctx, func(tx *store.Tx) error {
				if err := create(ctx, tx, inc); err != nil {
					return err
				}
				switch {
				case fails(i):
					return fmt.Errorf("writer %d: %w", i, boom)
				case panics(i):
					panic(fmt.Sprintf("writer %d panics", i))
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case fails(i):
			if !errors.Is(err, boom) {
				t.Errorf("failing writer %d: %v, want its own error", i, err)
			}
		case panics(i):
			if err == nil || errors.Is(err, boom) {
				t.Errorf("panicking writer %d: %v, want an error of its own", i, err)
			}
		default:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
			ok++
		}
	}
	listed, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Limit: store.MaxListLimit})
	// The survivors' keys have no gaps: failed transactions gave theirs back.
	slices.Sort(listed)
	if !slices.Equal(listed, keyRange(1, ok)) {
		t.Fatalf("keys %v, want %s to %s", listed, key(1), key(ok))
	}
	incs, _, err := st.FindIncidents(ctx, store.IncidentFilter{Scope: store.Scope{All: true}, Limit: store.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range incs {
		if !strings.HasPrefix(inc.Title, "ok ") {
			t.Errorf("a failed transaction's incident survived: %s %q", inc.Key, inc.Title)
		}
	}
	if got, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "doomed"}); len(got) != 0 {
		t.Errorf("failed transactions left search hits: %v", got)
	}
	if got, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "ok"}); len(got) != ok {
		t.Errorf("search finds %d of the %d survivors", len(got), ok)
	}
	if c := verifyChain(t, st); c != int64(ok) {
		t.Fatalf("%d events, want %d", c, ok)
	}
	counts, err := st.CountIncidentsByPhase(ctx, store.Scope{All: true})
	if err != nil || counts[core.PhaseDetect] != int64(ok) {
		t.Fatalf("counts %v, %v; want %d in detect", counts, err, ok)
	}
}

func testFailedTx(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	inc := newIncident(t, st, "kept")
	boom := errors.New("boom")
	err := st.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.GetIncident(ctx, inc.Key, store.Scope{All: true})
		if err != nil {
			return err
		}
		cur.Title = "changed then rolled back"
		if err := tx.UpdateIncident(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.AddMember(ctx, inc.ID, alice.ID); err != nil {
			return err
		}
		if err := tx.CreateComment(ctx, &core.Comment{IncidentID: inc.ID, Phase: core.PhaseDetect, Body: "gone", CreatedAt: tx.Now()}, alice.ID); err != nil {
			return err
		}
		u := core.User{Name: "ghost", Role: core.RoleViewer, CreatedAt: tx.Now()}
		if err := tx.CreateUser(ctx, &u, ""); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if got, err := tx.GetIncident(ctx, inc.Key, store.Scope{All: true}); err != nil || got.Title != cur.Title {
			return fmt.Errorf("own write not visible: %v, %v", got, err)
		}
		if err := tx.AppendEvent(ctx, &core.Event{Actor: "alice", IncidentID: inc.ID, Type: core.EvIncidentUpdated}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	got := get(t, st, inc.Key, store.Scope{All: true})
	if got.Title != "kept" || got.Version != 1 {
		t.Errorf("incident after rollback: %q version %d", got.Title, got.Version)
	}
	if m, err := st.IsMember(ctx, inc.ID, alice.ID); err != nil || m {
		t.Errorf("member after rollback: %v, %v", m, err)
	}
	if cs, err := st.ListComments(ctx, inc.ID); err != nil || len(cs) != 0 {
		t.Errorf("comments after rollback: %v, %v", cs, err)
	}
	_, err = st.UserByName(ctx, "ghost")
	wantNotFound(t, err, "user after rollback")
	if hits, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "rolled"}); len(hits) != 0 {
		t.Errorf("search hits after rollback: %v", hits)
	}
	if hits, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}, Query: "kept"}); !slices.Equal(hits, []string{inc.Key}) {
		t.Errorf("search for the kept title: %v", hits)
	}
	if n := verifyChain(t, st); n != 1 {
		t.Fatalf("%d events after rollback, want 1", n)
	}
	// The next event continues the chain where the committed one ended.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		ev := core.Event{Actor: "alice", IncidentID: inc.ID, Type: core.EvIncidentUpdated}
		if err := tx.AppendEvent(ctx, &ev); err != nil {
			return err
		}
		if ev.ID != 2 {
			return fmt.Errorf("event id %d after a rollback, want 2", ev.ID)
		}
		return nil
	})
	if n := verifyChain(t, st); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func testPanicInTx(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for range 2 {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			inc := &core.Incident{Title: "panics"}
			if err := inc.Normalize(); err != nil {
				return err
			}
			if err := create(ctx, tx, inc); err != nil {
				return err
			}
			var m map[string]int
			m["nil map"]++ // a real runtime panic
			return nil
		})
		if err == nil {
			t.Fatal("a panicking transaction reported success")
		}
	}
	inc := newIncident(t, st, "after the panic")
	if inc.Key != key(1) {
		t.Fatalf("key after panics = %s, want %s", inc.Key, key(1))
	}
	if got, _ := find(t, st, store.IncidentFilter{Scope: store.Scope{All: true}}); !slices.Equal(got, []string{key(1)}) {
		t.Fatalf("incidents: %v", got)
	}
	if n := verifyChain(t, st); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping after a panic: %v", err)
	}
}

func testComments(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	a := newIncident(t, st, "a")
	b := newIncident(t, st, "b")
	if cs, err := st.ListComments(ctx, a.ID); err != nil || len(cs) != 0 {
		t.Fatalf("no comments yet: %v, %v", cs, err)
	}
	want := []core.Comment{
		{IncidentID: a.ID, Phase: core.PhaseDetect, Author: "alice", Body: "first\n<b>not html</b>", CreatedAt: base},
		{IncidentID: a.ID, Phase: core.PhaseTriage, Author: "bob", Body: "二つ目のコメント", CreatedAt: base.Add(time.Minute)},
	}
	authors := []int64{alice.ID, bob.ID}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for i := range want {
			c := want[i]
			if err := tx.CreateComment(ctx, &c, authors[i]); err != nil {
				return err
			}
			if c.ID == 0 {
				return errors.New("CreateComment did not set the id")
			}
			want[i].ID = c.ID
		}
		return tx.CreateComment(ctx, &core.Comment{IncidentID: b.ID, Phase: core.PhaseDetect, Body: "on b", CreatedAt: base}, alice.ID)
	})
	got, err := st.ListComments(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "comments", got, want)
}

func testActions(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	a := newIncident(t, st, "a")
	b := newIncident(t, st, "b")
	want := []core.ActionRecord{
		{IncidentID: a.ID, Phase: core.PhaseContain, Description: "isolated host", PerformedBy: "vendor engineer",
			PerformedAt: base, Tool: "EDR", RecordedBy: "alice", CreatedAt: base.Add(time.Hour)},
		{IncidentID: a.ID, Phase: core.PhaseRecover, Description: "restored from backup", PerformedBy: "alice",
			PerformedAt: base.Add(2 * time.Hour), RecordedBy: "alice", CreatedAt: base.Add(3 * time.Hour)},
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for i := range want {
			a := want[i]
			if err := tx.CreateAction(ctx, &a, alice.ID); err != nil {
				return err
			}
			want[i].ID = a.ID
		}
		return tx.CreateAction(ctx, &core.ActionRecord{IncidentID: b.ID, Phase: core.PhaseDetect, Description: "x",
			PerformedBy: "y", PerformedAt: base, CreatedAt: base}, alice.ID)
	})
	got, err := st.ListActions(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "actions", got, want)
	if want[0].ID == 0 || want[0].ID == want[1].ID {
		t.Fatalf("action ids %d %d", want[0].ID, want[1].ID)
	}
}

func testMembers(t *testing.T, st *store.Store) {
	ctx := context.Background()
	carol := newUser(t, st, "carol", core.RoleAnalyst)
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	inc := newIncident(t, st, "a", func(i *core.Incident) { i.Restricted = true })
	other := newIncident(t, st, "b")
	add := func(incID, userID int64) bool {
		t.Helper()
		var added bool
		inTx(t, st, func(ctx context.Context, tx *store.Tx) (err error) {
			added, err = tx.AddMember(ctx, incID, userID)
			return err
		})
		return added
	}
	remove := func(incID, userID int64) bool {
		t.Helper()
		var removed bool
		inTx(t, st, func(ctx context.Context, tx *store.Tx) (err error) {
			removed, err = tx.RemoveMember(ctx, incID, userID)
			return err
		})
		return removed
	}
	if !add(inc.ID, carol.ID) || !add(inc.ID, alice.ID) || !add(other.ID, bob.ID) {
		t.Fatal("AddMember of a new member reported false")
	}
	if add(inc.ID, alice.ID) {
		t.Fatal("AddMember twice reported true")
	}
	members, err := st.ListMembers(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "members", members, []core.User{alice, carol})
	for _, tt := range []struct {
		user core.User
		want bool
	}{{alice, true}, {carol, true}, {bob, false}} {
		if m, err := st.IsMember(ctx, inc.ID, tt.user.ID); err != nil || m != tt.want {
			t.Errorf("IsMember(%s) = %v, %v; want %v", tt.user.Name, m, err, tt.want)
		}
	}
	if !remove(inc.ID, alice.ID) {
		t.Fatal("RemoveMember of a member reported false")
	}
	if remove(inc.ID, alice.ID) || remove(inc.ID, bob.ID) {
		t.Fatal("RemoveMember of a non-member reported true")
	}
	members, err = st.ListMembers(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "members after removal", members, []core.User{carol})
}

func testPhaseAssignees(t *testing.T, st *store.Store) {
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	inc := newIncident(t, st, "a")
	set := func(p core.Phase, id int64) {
		t.Helper()
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SetPhaseAssignee(ctx, inc.ID, p, id) })
	}
	set(core.PhaseRecover, alice.ID)
	set(core.PhaseDetect, bob.ID)
	set(core.PhaseContain, bob.ID)
	set(core.PhaseContain, alice.ID) // replaces bob
	got := get(t, st, inc.Key, store.Scope{All: true})
	diff(t, "phase assignees", got.PhaseAssignees, []core.PhaseAssignee{
		{Phase: core.PhaseDetect, Assignee: "bob"}, {Phase: core.PhaseContain, Assignee: "alice"}, {Phase: core.PhaseRecover, Assignee: "alice"},
	})
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		for _, tt := range []struct {
			p    core.Phase
			want int64
		}{{core.PhaseDetect, bob.ID}, {core.PhaseContain, alice.ID}, {core.PhaseTriage, 0}} {
			id, err := tx.PhaseAssigneeID(ctx, inc.ID, tt.p)
			if err != nil {
				return err
			}
			if id != tt.want {
				return fmt.Errorf("PhaseAssigneeID(%s) = %d, want %d", tt.p, id, tt.want)
			}
		}
		return nil
	})
	set(core.PhaseDetect, 0)
	set(core.PhaseTriage, 0) // removing nobody is fine
	got = get(t, st, inc.Key, store.Scope{All: true})
	diff(t, "phase assignees after removal", got.PhaseAssignees, []core.PhaseAssignee{
		{Phase: core.PhaseContain, Assignee: "alice"}, {Phase: core.PhaseRecover, Assignee: "alice"},
	})
}

func testTokens(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	expires := base.Add(90 * 24 * time.Hour)
	tok := core.Token{UserID: alice.ID, User: "alice", Name: "siem", CreatedAt: base, ExpiresAt: &expires}
	forever := core.Token{UserID: bob.ID, User: "bob", Name: "ci", CreatedAt: base.Add(time.Second)}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateToken(ctx, &tok, "hash-1"); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &forever, "hash-2")
	})
	if tok.ID == 0 || tok.ID == forever.ID {
		t.Fatalf("token ids %d %d", tok.ID, forever.ID)
	}
	got, _, err := st.TokenUserByHash(ctx, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "token", got, tok)
	gotTok, gotUser, err := st.TokenUserByHash(ctx, "hash-2")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "token with user", gotTok, forever)
	diff(t, "token's user", gotUser, bob)
	_, _, err = st.TokenUserByHash(ctx, "hash-3")
	wantNotFound(t, err, "unknown token with user")

	list, err := st.ListTokens(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "alice's tokens", list, []core.Token{tok})
	list, err = st.ListTokens(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "all tokens", list, []core.Token{tok, forever})

	var used, revoked time.Time
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { used = tx.Now(); return tx.TouchToken(ctx, tok.ID) })
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { revoked = tx.Now(); return tx.RevokeToken(ctx, tok.ID) })
	got, _, err = st.TokenUserByHash(ctx, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	tok.LastUsedAt, tok.RevokedAt = &used, &revoked
	diff(t, "used and revoked token", got, tok)
	for _, id := range []int64{tok.ID, 999999} {
		err = st.InTx(ctx, func(tx *store.Tx) error { return tx.RevokeToken(ctx, id) })
		wantNotFound(t, err, fmt.Sprintf("RevokeToken(%d)", id))
	}
	// The second, refused revocation kept the first time.
	if got, _, err := st.TokenUserByHash(ctx, "hash-1"); err != nil || !got.RevokedAt.Equal(revoked) {
		t.Fatalf("revoked at %v, %v; want %v", got.RevokedAt, err, revoked)
	}
}

func testSessions(t *testing.T, st *store.Store) {
	ctx := context.Background()
	alice := newUser(t, st, "alice", core.RoleAnalyst)
	bob := newUser(t, st, "bob", core.RoleAnalyst)
	var now time.Time
	s := store.Session{UserID: alice.ID, CSRFToken: "csrf-1"}
	old := store.Session{UserID: bob.ID, CSRFToken: "csrf-2"}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		now = tx.Now()
		s.ExpiresAt = now.Add(time.Hour)
		old.ExpiresAt = now.Add(-time.Second)
		if err := tx.CreateSession(ctx, &s, "sess-1"); err != nil {
			return err
		}
		return tx.CreateSession(ctx, &old, "sess-2")
	})
	if s.ID == 0 || s.ID == old.ID {
		t.Fatalf("session ids %d %d", s.ID, old.ID)
	}
	tests := []struct {
		hash  string
		at    time.Time
		found bool
	}{
		{"sess-1", now, true},
		{"sess-1", s.ExpiresAt.Add(-time.Microsecond), true},
		{"sess-1", s.ExpiresAt, false},
		{"sess-1", s.ExpiresAt.Add(time.Minute), false},
		{"sess-2", now, false},
		{"sess-2", now.Add(-time.Minute), true},
		{"sess-3", now, false},
	}
	for _, tt := range tests {
		got, err := st.SessionByHash(ctx, tt.hash, tt.at)
		if !tt.found {
			wantNotFound(t, err, fmt.Sprintf("SessionByHash(%s, %v)", tt.hash, tt.at))
			continue
		}
		if err != nil {
			t.Fatalf("SessionByHash(%s, %v): %v", tt.hash, tt.at, err)
		}
		want := s
		if tt.hash == "sess-2" {
			want = old
		}
		diff(t, "session", got, want)
	}
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error {
		n, err := tx.DeleteExpiredSessions(ctx)
		if err == nil && n != 1 {
			err = fmt.Errorf("DeleteExpiredSessions removed %d, want 1", n)
		}
		return err
	})
	_, err := st.SessionByHash(ctx, "sess-2", now.Add(-time.Minute))
	wantNotFound(t, err, "expired session after cleanup")
	lookup := func() error { _, err := st.SessionByHash(ctx, "sess-1", now); return err }
	if err := lookup(); err != nil {
		t.Fatalf("live session removed by cleanup: %v", err)
	}
	// Changing the password ends the user's sessions.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SetPassword(ctx, alice.ID, "h") })
	wantNotFound(t, lookup(), "session after a password change")
	// So does disabling the user.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateSession(ctx, &s, "sess-4") })
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.SetUserDisabled(ctx, alice.ID, true) })
	_, err = st.SessionByHash(ctx, "sess-4", now)
	wantNotFound(t, err, "session of a disabled user")
	// Logging out; ending a session twice is not an error.
	inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.CreateSession(ctx, &old, "sess-5") })
	for range 2 {
		inTx(t, st, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteSession(ctx, "sess-5") })
	}
	_, err = st.SessionByHash(ctx, "sess-5", now.Add(-time.Minute))
	wantNotFound(t, err, "deleted session")
}

func testClose(t *testing.T, st *store.Store) {
	ctx := context.Background()
	newIncident(t, st, "before close")
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	called := false
	err := st.InTx(ctx, func(*store.Tx) error { called = true; return nil })
	if !errors.Is(err, store.ErrClosed) {
		t.Fatalf("InTx after Close = %v, want store.ErrClosed", err)
	}
	if called {
		t.Fatal("InTx ran the function after Close")
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
