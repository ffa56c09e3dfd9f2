package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/auth"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/evidence"
	"github.com/irdesk/irdesk/internal/evidence/evidencetest"
	"github.com/irdesk/irdesk/internal/store"
)

func evidenceActor(tb testing.TB, a *App, name string, role core.Role) Actor {
	tb.Helper()
	u, _, err := a.CreateUser(context.Background(), SystemActor, NewUser{Name: name, Role: role, Password: "a long enough password"})
	if err != nil {
		tb.Fatal(err)
	}
	return Actor{User: u}
}

func blobPath(a *App, sha string) string {
	p, _ := a.evidenceStore().Path(sha)
	return p
}

func mustUpload(tb testing.TB, a *App, as Actor, key, content, name string) *store.Evidence {
	tb.Helper()
	e, err := a.UploadEvidence(context.Background(), as, key, NewEvidence{FileName: name}, strings.NewReader(content))
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func custodyOf(tb testing.TB, a *App, key string, id int64) []string {
	tb.Helper()
	evs, err := a.CustodyLog(context.Background(), SystemActor, key, id, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// TestEvidenceConcurrentSameContent: uploads of one file at once, which the
// group commit may run more than once, give one record each, one file and
// an intact audit chain.
func TestEvidenceConcurrentSameContent(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	ana := evidenceActor(t, a, "ana", core.RoleAnalyst)
	inc, err := a.CreateIncident(ctx, ana, NewIncident{Title: "worm on the LAN", Category: core.CatMalware})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.UploadEvidence(ctx, ana, inc.Key, NewEvidence{FileName: fmt.Sprintf("sample-%d.bin", i)}, strings.NewReader(strings.Repeat("MZ", 50_000)))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	items, _, err := a.ListEvidence(ctx, ana, inc.Key, 0, 100)
	if err != nil || len(items) != n {
		t.Fatalf("%d items, %v", len(items), err)
	}
	blobs, _, _ := a.evidenceStore().Stored(ctx)
	if len(blobs) != 1 {
		t.Errorf("%d files for one content", len(blobs))
	}
	for _, it := range items {
		if types := custodyOf(t, a, inc.Key, it.ID); strings.Join(types, ",") != core.EvEvidenceAdded {
			t.Errorf("item %d custody %v", it.ID, types)
		}
	}
	if _, err := a.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLocker(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	ana := evidenceActor(t, a, "ana", core.RoleAnalyst)
	one, _ := a.CreateIncident(ctx, ana, NewIncident{Title: "one", Category: core.CatMalware})
	two, _ := a.CreateIncident(ctx, ana, NewIncident{Title: "two", Category: core.CatMalware})
	intact := mustUpload(t, a, ana, one.Key, "intact file", "a.log")
	shared1 := mustUpload(t, a, ana, one.Key, "shared and then altered", "b.log")
	shared2 := mustUpload(t, a, ana, two.Key, "shared and then altered", "b-copy.log")
	gone := mustUpload(t, a, ana, two.Key, "to be lost", "c.log")

	if _, err := a.VerifyLocker(ctx, ana, nil); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("an analyst verified the whole locker: %v", err)
	}
	rep, err := a.VerifyLocker(ctx, SystemActor, nil)
	if err != nil || rep.Failed() || len(rep.Items) != 4 || rep.Files != 3 || len(rep.Unreferenced) != 0 {
		t.Fatalf("intact locker: %+v %v", rep, err)
	}

	p := blobPath(a, shared1.SHA256)
	os.Chmod(p, 0o640)
	if err := os.WriteFile(p, []byte("shared and then ALTERED"), 0o440); err != nil {
		t.Fatal(err)
	}
	os.Remove(blobPath(a, gone.SHA256))
	orphan, err := a.evidenceStore().Write(ctx, strings.NewReader("never recorded"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int64
	rep, err = a.VerifyLocker(ctx, SystemActor, func(c EvidenceCheck) { seen = append(seen, c.EvidenceID) })
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() || len(seen) != 4 {
		t.Fatalf("report %+v, seen %v", rep, seen)
	}
	byID := map[int64]EvidenceCheck{}
	for _, c := range rep.Items {
		byID[c.EvidenceID] = c
	}
	if !byID[intact.ID].OK || byID[shared1.ID].Problem != evidence.ProblemMismatch || byID[shared2.ID].Problem != evidence.ProblemMismatch ||
		byID[gone.ID].Problem != evidence.ProblemMissing || byID[shared2.ID].IncidentKey != two.Key {
		t.Errorf("checks %+v", byID)
	}
	if len(rep.Unreferenced) != 1 || rep.Unreferenced[0].SHA256 != orphan.SHA256 {
		t.Errorf("unreferenced %+v", rep.Unreferenced)
	}
	// Every check is in the item's custody log, ok or not.
	if types := custodyOf(t, a, two.Key, gone.ID); strings.Join(types, ",") != "evidence.added,evidence.verified,evidence.verified" {
		t.Errorf("custody %v", types)
	}
	if _, err := a.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPurgeEvidence(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC))
	ana := evidenceActor(t, a, "ana", core.RoleAnalyst)
	lead := evidenceActor(t, a, "lead", core.RoleLead)
	old, _ := a.CreateIncident(ctx, ana, NewIncident{Title: "last year's phishing", Category: core.CatPhishing})
	other, _ := a.CreateIncident(ctx, ana, NewIncident{Title: "another", Category: core.CatPhishing})
	own := mustUpload(t, a, ana, old.Key, "only in the old incident", "own.eml")
	shared := mustUpload(t, a, ana, old.Key, "also kept elsewhere", "shared.eml")
	kept := mustUpload(t, a, ana, other.Key, "also kept elsewhere", "shared-copy.eml")
	c.advance(60 * 24 * time.Hour)
	young := mustUpload(t, a, ana, old.Key, "collected later", "young.eml")
	cutoff := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

	if _, err := a.PurgeEvidence(ctx, lead, old.Key, cutoff); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("a lead purged through the app: %v", err)
	}
	res, err := a.PurgeEvidence(ctx, SystemActor, old.Key, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || res.Items[0].ID != own.ID || res.Items[1].ID != shared.ID || len(res.FilesRemoved) != 1 || res.FilesRemoved[0] != own.SHA256 {
		t.Fatalf("purge %+v", res)
	}
	if _, err := os.Stat(blobPath(a, own.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the purged file is still there: %v", err)
	}
	for _, e := range []*store.Evidence{kept, young} {
		if _, err := os.Stat(blobPath(a, e.SHA256)); err != nil {
			t.Errorf("%s was removed: %v", e.FileName, err)
		}
	}
	// The record stays, marked; its file cannot be had.
	got, err := a.GetEvidence(ctx, ana, old.Key, own.ID)
	if err != nil || got.PurgedAt == nil || got.PurgedBy != "system" || got.SHA256 != own.SHA256 || got.Custodian != "" {
		t.Errorf("purged record %+v %v", got, err)
	}
	if _, _, err := a.DownloadEvidence(ctx, ana, old.Key, own.ID, DownloadRequest{}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("download of a purged item: %v", err)
	}
	if _, err := a.HandOverEvidence(ctx, ana, old.Key, shared.ID, HandOver{To: "x", Reason: "y"}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("hand-over of a purged item: %v", err)
	}
	if types := custodyOf(t, a, old.Key, own.ID); strings.Join(types, ",") != "evidence.added,evidence.purged" {
		t.Errorf("custody %v", types)
	}
	// The shared file is still served for the other incident.
	_, f, err := a.DownloadEvidence(ctx, ana, other.Key, kept.ID, DownloadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Again: nothing more to do.
	res, err = a.PurgeEvidence(ctx, SystemActor, old.Key, cutoff)
	if err != nil || len(res.Items) != 0 || len(res.FilesRemoved) != 0 {
		t.Errorf("second purge %+v %v", res, err)
	}
	// An interrupted purge (records marked, file left) is finished by the next run.
	orphan := mustUpload(t, a, ana, other.Key, "interrupted", "i.eml")
	if err := a.store.InTx(ctx, func(tx *store.Tx) error { return tx.MarkEvidencePurged(ctx, orphan.ID, "system") }); err != nil {
		t.Fatal(err)
	}
	res, err = a.PurgeEvidence(ctx, SystemActor, other.Key, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(res.Items) != 0 || len(res.FilesRemoved) != 1 || res.FilesRemoved[0] != orphan.SHA256 {
		t.Errorf("finishing an interrupted purge: %+v %v", res, err)
	}
	if _, err := a.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := a.VerifyLocker(ctx, SystemActor, nil)
	if err != nil || rep.Failed() {
		t.Errorf("locker after purge: %+v %v", rep, err)
	}
}

func TestEvidenceMetadataRules(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	ana := evidenceActor(t, a, "ana", core.RoleAnalyst)
	viewer := evidenceActor(t, a, "vic", core.RoleViewer)
	rep := evidenceActor(t, a, "rep", core.RoleReporter)
	inc, _ := a.CreateIncident(ctx, rep, NewIncident{Title: "lost laptop", Category: core.CatLostDevice})
	future := c.now().Add(time.Hour)
	for _, tt := range []struct {
		in    NewEvidence
		field string
	}{
		{NewEvidence{MediaType: "nonsense"}, "media_type"},
		{NewEvidence{SourceHost: "a\nb"}, "source_host"},
		{NewEvidence{CollectedBy: strings.Repeat("x", core.MaxShortLen+1)}, "collected_by"},
		{NewEvidence{CollectedAt: &future}, "collected_at"},
		{NewEvidence{Description: "bad \xff utf-8"}, "description"},
	} {
		_, err := a.UploadEvidence(ctx, ana, inc.Key, tt.in, strings.NewReader("x"))
		var fe *core.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: %v, want a %s error", tt.in, err, tt.field)
		}
	}
	// Refused before reading: the body is never touched.
	for _, as := range []Actor{viewer, rep} {
		if _, err := a.UploadEvidence(ctx, as, inc.Key, NewEvidence{}, failReader{t}); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s uploaded: %v", as.User.Role, err)
		}
	}
	e := mustUpload(t, a, ana, inc.Key, "x", "")
	if e.FileName != evidence.FallbackFileName || e.MediaType != "application/octet-stream" || e.CollectedBy != "ana" {
		t.Errorf("defaults %+v", e)
	}
	if _, _, err := a.ListEvidence(ctx, rep, inc.Key, 0, 0); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("the reporter listed evidence: %v", err)
	}
	if blobs, _, _ := a.evidenceStore().Stored(ctx); len(blobs) != 1 {
		t.Errorf("refused uploads stored files: %v", blobs)
	}
	if _, err := os.Stat(filepath.Join(EvidenceDir(filepath.Dir(a.store.Path())), "sha256")); err != nil {
		t.Error(err)
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("the body of a refused upload was read")
	return 0, errors.New("read")
}

// serverAndCLI opens one data directory twice, as the running server and
// the irdesk evidence purge command do: two stores on one SQLite file, two
// evidence.Store values on one locker, sharing only what is on disk.
func serverAndCLI(t *testing.T, c *clock) (server, cli *App) {
	t.Helper()
	dir := t.TempDir()
	open := func() *App {
		st, err := store.OpenSQLite(context.Background(), dir, store.Options{Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), c.now,
			Config{DataDir: dir, SessionTTL: time.Hour, PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	}
	return open(), open()
}

// lockerIntact fails the test unless every item that is not purged has
// its file, intact (what irdesk evidence verify checks), and every file
// on disk is named by one.
func lockerIntact(t *testing.T, a *App) {
	t.Helper()
	rep, err := a.VerifyLocker(context.Background(), SystemActor, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Items {
		if !c.OK {
			t.Errorf("evidence %d of %s: %s: %s", c.EvidenceID, c.IncidentKey, c.Problem, c.Detail)
		}
	}
	if len(rep.Unreferenced) != 0 {
		t.Errorf("unreferenced files: %+v", rep.Unreferenced)
	}
}

// TestEvidenceUploadDuringPurge forces the interleaving that used to lose
// a file: the retention command (another process) has found a blob that
// no remaining item names and is about to delete it, when uploads of the
// same bytes arrive at the server. Before the lock they found the blob
// "stored before", committed their rows, and then the purge deleted the
// file under them. Now they wait for the purge and store the file afresh.
func TestEvidenceUploadDuringPurge(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)}
	server, cli := serverAndCLI(t, c)
	ana := evidenceActor(t, server, "ana", core.RoleAnalyst)
	old, _ := server.CreateIncident(ctx, ana, NewIncident{Title: "last year's phishing", Category: core.CatPhishing})
	now, _ := server.CreateIncident(ctx, ana, NewIncident{Title: "the same mail again", Category: core.CatPhishing})
	const content = "Received: from mail.example\r\nSubject: invoice\r\n\r\npay here"
	purged := mustUpload(t, server, ana, old.Key, content, "old.eml")
	c.advance(60 * 24 * time.Hour)

	const uploads = 3
	var wg sync.WaitGroup
	allDone := make(chan struct{})
	items := make([]*store.Evidence, uploads)
	hooked := false
	testHookPurgeUnused = func(sha string) {
		if sha != purged.SHA256 || hooked {
			return
		}
		hooked = true
		for i := range uploads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := server.UploadEvidence(ctx, ana, now.Key, NewEvidence{FileName: fmt.Sprintf("again-%d.eml", i)}, strings.NewReader(content))
				if err != nil {
					t.Error(err)
				}
				items[i] = e
			}()
		}
		go func() { wg.Wait(); close(allDone) }()
		if !evidencetest.WaitBlocked(t, uploads, allDone) {
			t.Error("uploads of the blob went through between the purge's in-use check and its deletion")
		}
	}
	t.Cleanup(func() { testHookPurgeUnused = nil })

	res, err := cli.PurgeEvidence(ctx, SystemActor, old.Key, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	<-allDone
	if !hooked || len(res.Items) != 1 || len(res.FilesRemoved) != 1 {
		t.Fatalf("purge %+v (hook ran: %v)", res, hooked)
	}
	for _, e := range items {
		if e == nil {
			continue // reported above
		}
		if _, f, err := server.DownloadEvidence(ctx, ana, now.Key, e.ID, DownloadRequest{}); err != nil {
			t.Errorf("evidence %d uploaded during the purge: %v", e.ID, err)
		} else {
			f.Close()
		}
	}
	lockerIntact(t, server)
	lockerIntact(t, cli)
}

// TestEvidencePurgeDuringUpload forces the other interleaving: an upload
// has found its blob stored already and is about to commit its row when
// the retention command purges the item that stored it. Before the lock
// the purge saw no row naming the blob and deleted it; now it waits for
// the commit and keeps the file.
func TestEvidencePurgeDuringUpload(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)}
	server, cli := serverAndCLI(t, c)
	ana := evidenceActor(t, server, "ana", core.RoleAnalyst)
	old, _ := server.CreateIncident(ctx, ana, NewIncident{Title: "last year's malware", Category: core.CatMalware})
	now, _ := server.CreateIncident(ctx, ana, NewIncident{Title: "the sample is back", Category: core.CatMalware})
	const content = "MZ\x90\x00 a sample seen before"
	first := mustUpload(t, server, ana, old.Key, content, "sample.bin")
	c.advance(60 * 24 * time.Hour)

	purgeDone := make(chan struct{})
	var res PurgeResult
	var purgeErr error
	testHookUploadStored = func(b evidence.Blob) {
		if !b.Existed || b.SHA256 != first.SHA256 {
			t.Errorf("the upload did not find the stored blob: %+v", b)
		}
		go func() {
			defer close(purgeDone)
			res, purgeErr = cli.PurgeEvidence(ctx, SystemActor, old.Key, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
		}()
		if !evidencetest.WaitBlocked(t, 1, purgeDone) {
			t.Error("the purge ran to its end while an upload held the blob uncommitted")
		}
	}
	t.Cleanup(func() { testHookUploadStored = nil })
	again := mustUpload(t, server, ana, now.Key, content, "sample-again.bin")
	testHookUploadStored = nil
	<-purgeDone
	if purgeErr != nil {
		t.Fatal(purgeErr)
	}
	if len(res.Items) != 1 || res.Items[0].ID != first.ID || len(res.FilesRemoved) != 0 {
		t.Errorf("purge %+v: the file named by the new item must stay", res)
	}
	_, f, err := server.DownloadEvidence(ctx, ana, now.Key, again.ID, DownloadRequest{})
	if err != nil {
		t.Fatalf("the item committed during the purge: %v", err)
	}
	f.Close()
	lockerIntact(t, server)
}
