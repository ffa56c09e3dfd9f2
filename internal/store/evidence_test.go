package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// evidenceFixture is a store with a user and an incident to hang evidence on.
type evidenceFixture struct {
	st   *store.Store
	dir  string
	user core.User
	inc  *core.Incident
	now  *time.Time
}

func newEvidenceFixture(t *testing.T) *evidenceFixture {
	t.Helper()
	dir := t.TempDir()
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	f := &evidenceFixture{dir: dir, now: &now}
	st, err := store.OpenSQLite(context.Background(), dir, store.Options{Now: func() time.Time { return *f.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	f.user = core.User{Name: "tanaka", Role: core.RoleAnalyst}
	inc := &core.Incident{Title: "ransomware on file server", Category: core.CatRansomware, Phase: core.PhaseDetect}
	if err := inc.Normalize(); err != nil {
		t.Fatal(err)
	}
	f.inTx(t, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateUser(ctx, &f.user, ""); err != nil {
			return err
		}
		key, err := tx.NextIncidentKey(ctx, 2026)
		if err != nil {
			return err
		}
		inc.Key = key
		inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = tx.Now(), tx.Now(), tx.Now()
		return tx.CreateIncident(ctx, inc)
	})
	f.inc = inc
	return f
}

func (f *evidenceFixture) inTx(t *testing.T, fn func(context.Context, *store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := f.st.InTx(ctx, func(tx *store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

// add stores an item with its first custody event, as app does.
func (f *evidenceFixture) add(t *testing.T, sha string, name string) *store.Evidence {
	t.Helper()
	e := &store.Evidence{IncidentID: f.inc.ID, SHA256: sha, SHA1: strings.Repeat("1", 40), MD5: strings.Repeat("5", 32), Size: 42,
		FileName: name, MediaType: "application/octet-stream", CollectedBy: "vendor engineer", SourceHost: "fs01", CreatedByID: f.user.ID}
	f.inTx(t, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateEvidence(ctx, e); err != nil {
			return err
		}
		return f.custody(ctx, tx, e.ID, core.EvEvidenceAdded, f.user.Name)
	})
	return e
}

func (f *evidenceFixture) custody(ctx context.Context, tx *store.Tx, id int64, typ, custodian string) error {
	ev := &core.Event{ActorID: f.user.ID, Actor: f.user.Name, IncidentID: f.inc.ID, Type: typ, Payload: []byte(`{"evidence_id":1}`)}
	if err := tx.AppendEvent(ctx, ev); err != nil {
		return err
	}
	return tx.AddCustody(ctx, id, ev.ID, custodian)
}

func sha(c byte) string { return strings.Repeat(string(c), 64) }

func TestEvidenceRoundTripAndCustody(t *testing.T) {
	f := newEvidenceFixture(t)
	ctx := context.Background()
	collected := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)
	e := &store.Evidence{IncidentID: f.inc.ID, SHA256: sha('a'), SHA1: strings.Repeat("b", 40), MD5: strings.Repeat("c", 32), Size: 1 << 40,
		FileName: "メール.eml", MediaType: "message/rfc822", CollectedBy: "佐藤 (vendor)", CollectedAt: &collected,
		SourceHost: "mail01", SourcePath: "/var/mail/x", Description: "phishing mail", CreatedByID: f.user.ID}
	f.inTx(t, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateEvidence(ctx, e); err != nil {
			return err
		}
		return f.custody(ctx, tx, e.ID, core.EvEvidenceAdded, "tanaka")
	})
	got, err := f.st.GetEvidence(ctx, f.inc.ID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FileName != e.FileName || got.Size != e.Size || got.CollectedAt == nil || !got.CollectedAt.Equal(collected) ||
		got.Custodian != "tanaka" || got.CreatedBy != "tanaka" || got.IncidentKey != f.inc.Key || got.PurgedAt != nil || got.SourcePath != "/var/mail/x" {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := f.st.GetEvidence(ctx, f.inc.ID+1, e.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another incident's id: %v", err)
	}
	f.inTx(t, func(ctx context.Context, tx *store.Tx) error {
		if err := f.custody(ctx, tx, e.ID, core.EvEvidenceHandedOver, "police"); err != nil {
			return err
		}
		return f.custody(ctx, tx, e.ID, core.EvEvidenceVerified, "police")
	})
	got, _ = f.st.GetEvidence(ctx, f.inc.ID, e.ID)
	if got.Custodian != "police" {
		t.Errorf("custodian %q after the hand-over", got.Custodian)
	}
	log, err := f.st.CustodyLog(ctx, e.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, ev := range log {
		types = append(types, ev.Type)
		if i > 0 && ev.ID <= log[i-1].ID {
			t.Errorf("custody log out of order: %d after %d", ev.ID, log[i-1].ID)
		}
	}
	if strings.Join(types, ",") != "evidence.added,evidence.handed_over,evidence.verified" {
		t.Errorf("custody log %v", types)
	}
	if page, _ := f.st.CustodyLog(ctx, e.ID, log[0].ID, 1); len(page) != 1 || page[0].ID != log[1].ID {
		t.Errorf("custody log page after %d: %+v", log[0].ID, page)
	}
}

func TestEvidenceListPages(t *testing.T) {
	f := newEvidenceFixture(t)
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		ids = append(ids, f.add(t, sha("abcde"[i]), "f").ID)
	}
	first, more, err := f.st.ListEvidence(ctx, f.inc.ID, 0, 3)
	if err != nil || !more || len(first) != 3 || first[0].ID != ids[4] {
		t.Fatalf("first page: %d items, more %v, %v", len(first), more, err)
	}
	rest, more, err := f.st.ListEvidence(ctx, f.inc.ID, first[2].ID, 3)
	if err != nil || more || len(rest) != 2 || rest[1].ID != ids[0] {
		t.Fatalf("second page: %d items, more %v, %v", len(rest), more, err)
	}
}

// TestEvidenceImmutable: rows are never changed or deleted, except that the
// purge marks one purged, once; custody records are append-only.
func TestEvidenceImmutable(t *testing.T) {
	f := newEvidenceFixture(t)
	ctx := context.Background()
	e := f.add(t, sha('a'), "disk.img")
	db := rawDB(t, f.dir)
	for _, q := range []string{
		`UPDATE evidence SET description = 'nothing to see'`,
		`UPDATE evidence SET sha256 = '` + sha('b') + `'`,
		`UPDATE evidence SET purged_at = 1, purged_by = 'x', file_name = 'other'`,
		`UPDATE evidence SET purged_at = 1`, // no one named
		`DELETE FROM evidence`,
		`UPDATE evidence_custody SET custodian = 'mallory'`,
		`DELETE FROM evidence_custody`,
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: allowed", q)
		} else if !strings.Contains(err.Error(), "never") && !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
	f.inTx(t, func(ctx context.Context, tx *store.Tx) error { return tx.MarkEvidencePurged(ctx, e.ID, "system") })
	err := f.st.InTx(ctx, func(tx *store.Tx) error { return tx.MarkEvidencePurged(ctx, e.ID, "system") })
	if !errors.Is(err, core.ErrConflict) {
		t.Errorf("purging twice: %v", err)
	}
	if _, err := db.Exec(`UPDATE evidence SET purged_at = NULL, purged_by = ''`); err == nil {
		t.Error("a purge was undone")
	}
	got, _ := f.st.GetEvidence(ctx, f.inc.ID, e.ID)
	if got.PurgedAt == nil || got.PurgedBy != "system" || got.FileName != "disk.img" || got.SHA256 != sha('a') {
		t.Errorf("after purge: %+v", got)
	}
}

func TestEvidencePurgeQueries(t *testing.T) {
	f := newEvidenceFixture(t)
	ctx := context.Background()
	old := f.add(t, sha('a'), "old.log")
	shared := f.add(t, sha('b'), "shared.log")
	*f.now = f.now.Add(48 * time.Hour)
	f.add(t, sha('b'), "shared-again.log")
	young := f.add(t, sha('c'), "young.log")

	cands, err := f.st.PurgeCandidates(ctx, f.inc.ID, f.now.Add(-time.Hour))
	if err != nil || len(cands) != 2 || cands[0].ID != old.ID || cands[1].ID != shared.ID {
		t.Fatalf("candidates %+v %v", cands, err)
	}
	f.inTx(t, func(ctx context.Context, tx *store.Tx) error {
		for _, c := range cands {
			if err := tx.MarkEvidencePurged(ctx, c.ID, "system"); err != nil {
				return err
			}
		}
		return nil
	})
	for s, want := range map[string]bool{sha('a'): false, sha('b'): true, sha('c'): true} {
		if got, err := f.st.BlobInUse(ctx, s); err != nil || got != want {
			t.Errorf("BlobInUse(%c…) = %v %v", s[0], got, err)
		}
	}
	purged, err := f.st.PurgedBlobs(ctx, f.inc.ID)
	if err != nil || strings.Join(purged, ",") != sha('a')+","+sha('b') {
		t.Errorf("purged blobs %v %v", purged, err)
	}
	blobs, err := f.st.EvidenceBlobs(ctx)
	if err != nil || len(blobs) != 2 || blobs[0].SHA256 != sha('b') || blobs[1].EvidenceID != young.ID || blobs[1].IncidentKey != f.inc.Key {
		t.Errorf("blobs %+v %v", blobs, err)
	}
}
