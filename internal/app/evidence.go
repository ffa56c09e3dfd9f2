package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/evidence"
	"github.com/irdesk/irdesk/internal/store"
)

// Who may do what with evidence (admins see every incident; everyone else
// only what their scope shows, so a restricted incident's evidence is for
// its members):
//
//	                     admin lead analyst viewer reporter
//	list, metadata,
//	custody log, download  yes  yes   yes    yes     no
//	upload, hand over,
//	verify                 yes  yes   yes    no      no
//
// Viewers (management, legal) read the record and may need the proof
// itself; every download is a custody event, so reading is accountable.
// Reporters see the status of their reports, not the response record.
// Verifying re-reads a file of up to the maximum size, so it is for the
// responders. Nobody changes or deletes evidence through the API; only the
// retention command (irdesk evidence purge) disposes of it.

// EvidenceDir is where the evidence files of a data directory live.
func EvidenceDir(dataDir string) string { return filepath.Join(dataDir, "evidence") }

func (app *App) evidenceStore() *evidence.Store {
	dir := app.cfg.DataDir
	if dir == "" {
		// On SQLite the database file sits in the data directory.
		dir = filepath.Dir(app.store.Path())
	}
	return evidence.New(EvidenceDir(dir), app.cfg.EvidenceMaxSize)
}

// EvidenceMaxSize is the largest evidence file accepted.
func (app *App) EvidenceMaxSize() int64 { return app.evidenceStore().MaxSize() }

// NewEvidence is what is known of a file when it goes into the locker.
type NewEvidence struct {
	FileName    string     `json:"file_name"`
	MediaType   string     `json:"media_type"`
	CollectedBy string     `json:"collected_by"`
	CollectedAt *time.Time `json:"collected_at"`
	SourceHost  string     `json:"source_host"`
	SourcePath  string     `json:"source_path"`
	Description string     `json:"description"`
}

// maxClaimedName bounds the name as sent that the audit event keeps when
// it had to be sanitised.
const maxClaimedName = 1024

// normalize checks the metadata and returns the name as sent when the
// sanitised name differs from it (for the audit record).
func (in *NewEvidence) normalize(a Actor, now time.Time) (sentName string, err error) {
	clean := evidence.SanitizeFilename(in.FileName)
	if clean != in.FileName && in.FileName != "" {
		sentName = strings.ToValidUTF8(in.FileName, "\uFFFD")
		if len(sentName) > maxClaimedName {
			sentName = sentName[:maxClaimedName]
			for !utf8.ValidString(sentName) {
				sentName = sentName[:len(sentName)-1]
			}
		}
	}
	in.FileName = clean
	if in.MediaType, err = evidence.NormalizeMediaType(in.MediaType); err != nil {
		return "", core.Invalid("media_type", "%v", err)
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"collected_by", &in.CollectedBy, core.MaxShortLen},
		{"source_host", &in.SourceHost, core.MaxShortLen},
		{"source_path", &in.SourcePath, 4096},
		{"description", &in.Description, core.MaxTextLen},
	} {
		*f.v = strings.TrimSpace(*f.v)
		if !utf8.ValidString(*f.v) {
			return "", core.Invalid(f.name, "is not valid UTF-8")
		}
		if utf8.RuneCountInString(*f.v) > f.max {
			return "", core.Invalid(f.name, "is longer than %d characters", f.max)
		}
		if f.name != "description" && strings.ContainsAny(*f.v, "\r\n\x00") {
			return "", core.Invalid(f.name, "must be one line")
		}
	}
	if in.CollectedBy == "" {
		in.CollectedBy = a.name()
	}
	if in.CollectedAt != nil {
		t := in.CollectedAt.UTC().Truncate(time.Microsecond)
		// A little slack for the collecting machine's clock.
		if t.After(now.Add(10 * time.Minute)) {
			return "", core.Invalid("collected_at", "is in the future")
		}
		in.CollectedAt = &t
	}
	return sentName, nil
}

func needEvidenceReader(a Actor) func(*core.Incident) error {
	return func(*core.Incident) error {
		if a.System || a.User.Role != core.RoleReporter {
			return nil
		}
		return forbidden("reporters see the status of their reports, not the evidence")
	}
}

// allowedOn runs a permission check on an incident the actor may see,
// outside any transaction: so that a refused upload is refused before its
// first byte is read.
func (app *App) allowedOn(ctx context.Context, a Actor, key string, allowed func(*core.Incident) error) (*core.Incident, error) {
	inc, err := app.GetIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	return inc, allowed(inc)
}

// CheckEvidenceUpload tells whether the actor may put evidence on the
// incident, so that the web layer can refuse before reading a large body.
func (app *App) CheckEvidenceUpload(ctx context.Context, a Actor, key string) error {
	_, err := app.allowedOn(ctx, a, key, needAnalyst(a))
	return err
}

// custody appends a custody event for an item and files it in the item's
// custody log with who holds the item afterwards. It builds the payload
// afresh, so it may run again when the transaction is retried.
func custody(ctx context.Context, tx *store.Tx, a Actor, typ string, e *store.Evidence, custodian string, extra map[string]any) error {
	payload := map[string]any{"evidence_id": e.ID, "sha256": e.SHA256, "file_name": e.FileName}
	for k, v := range extra {
		payload[k] = v
	}
	ev, err := event(a, typ, e.IncidentID, payload)
	if err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, ev); err != nil {
		return err
	}
	return tx.AddCustody(ctx, e.ID, ev.ID, custodian)
}

// UploadEvidence streams body into the locker and records it on the
// incident with its first custody event; the uploader holds it first.
// The file is hashed while it is written and never held in memory. More
// than EvidenceMaxSize bytes fail with an *evidence.TooLargeError and
// leave nothing behind.
//
// If the record cannot be committed, the file stays stored unreferenced
// (irdesk evidence verify lists it): deleting it could race with another
// upload of the same content, and evidence is never lost by keeping it.
func (app *App) UploadEvidence(ctx context.Context, a Actor, key string, in NewEvidence, body io.Reader) (*store.Evidence, error) {
	sentName, err := in.normalize(a, app.now())
	if err != nil {
		return nil, err
	}
	if _, err := app.allowedOn(ctx, a, key, needAnalyst(a)); err != nil {
		return nil, err
	}
	var out *store.Evidence
	// The row is committed inside Write, under the locker's shared lock:
	// a purge (irdesk evidence purge, another process) cannot delete the
	// file between the moment it is in place or found there and the
	// moment this row names it.
	_, err = app.evidenceStore().Write(ctx, body, func(blob evidence.Blob) error {
		if testHookUploadStored != nil {
			testHookUploadStored(blob)
		}
		_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
			e := &store.Evidence{IncidentID: inc.ID, IncidentKey: inc.Key, SHA256: blob.SHA256, SHA1: blob.SHA1, MD5: blob.MD5, Size: blob.Size,
				FileName: in.FileName, MediaType: in.MediaType, CollectedBy: in.CollectedBy, CollectedAt: in.CollectedAt,
				SourceHost: in.SourceHost, SourcePath: in.SourcePath, Description: in.Description,
				CreatedByID: a.User.ID, CreatedBy: a.name(), Custodian: a.name()}
			if err := tx.CreateEvidence(ctx, e); err != nil {
				return err
			}
			extra := map[string]any{"sha1": e.SHA1, "md5": e.MD5, "size": e.Size, "media_type": e.MediaType,
				"collected_by": e.CollectedBy, "collected_at": e.CollectedAt, "source_host": e.SourceHost, "source_path": e.SourcePath,
				"description": e.Description, "custodian": e.Custodian, "stored_before": blob.Existed}
			if sentName != "" {
				extra["file_name_as_sent"] = sentName
			}
			if err := custody(ctx, tx, a, core.EvEvidenceAdded, e, e.Custodian, extra); err != nil {
				return err
			}
			out = e
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Test hooks: an upload whose blob is in place but whose row is not yet
// committed, and a purge that found a blob unused but has not deleted it.
// Set only by tests, before the calls they watch.
var (
	testHookUploadStored func(evidence.Blob)
	testHookPurgeUnused  func(sha string)
)

// ListEvidence lists an incident's evidence, newest first, purged items
// included (their record stays). before is the cursor.
func (app *App) ListEvidence(ctx context.Context, a Actor, key string, before int64, limit int) ([]*store.Evidence, bool, error) {
	inc, err := app.allowedOn(ctx, a, key, needEvidenceReader(a))
	if err != nil {
		return nil, false, err
	}
	return app.store.ListEvidence(ctx, inc.ID, before, limit)
}

// GetEvidence returns one item's record.
func (app *App) GetEvidence(ctx context.Context, a Actor, key string, id int64) (*store.Evidence, error) {
	inc, err := app.allowedOn(ctx, a, key, needEvidenceReader(a))
	if err != nil {
		return nil, err
	}
	return app.store.GetEvidence(ctx, inc.ID, id)
}

func purgedError(e *store.Evidence) error {
	return core.Conflict("evidence %d was purged on %s under the retention policy; its record stays, its file is gone",
		e.ID, e.PurgedAt.Format(time.DateOnly))
}

// DownloadRequest says what a download asked for, for the custody record.
type DownloadRequest struct {
	// Range is the byte range asked for, if any.
	Range string
	// Client is the address the request came from.
	Client string
	// HeadOnly is a request for the headers alone: nothing leaves the
	// locker, so no custody event is written.
	HeadOnly bool
}

// DownloadEvidence opens an item's file for reading after recording the
// download as a custody event (who, when, which, from where). The event is
// committed before the first byte is sent, so no copy leaves unrecorded.
// The caller closes the file.
func (app *App) DownloadEvidence(ctx context.Context, a Actor, key string, id int64, req DownloadRequest) (*store.Evidence, *os.File, error) {
	inc, err := app.allowedOn(ctx, a, key, needEvidenceReader(a))
	if err != nil {
		return nil, nil, err
	}
	e, err := app.store.GetEvidence(ctx, inc.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if e.PurgedAt != nil {
		return nil, nil, purgedError(e)
	}
	f, err := app.openBlob(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	if req.HeadOnly {
		return e, f, nil
	}
	_, err = app.mutate(ctx, a, key, needEvidenceReader(a), func(tx *store.Tx, inc *core.Incident) error {
		cur, err := tx.GetEvidence(ctx, inc.ID, id)
		if err != nil {
			return err
		}
		if cur.PurgedAt != nil {
			return purgedError(cur)
		}
		extra := map[string]any{"size": cur.Size}
		if req.Range != "" {
			extra["range"] = truncateRunes(req.Range, 200)
		}
		if req.Client != "" {
			extra["client"] = truncateRunes(req.Client, 100)
		}
		return custody(ctx, tx, a, core.EvEvidenceDownloaded, cur, cur.Custodian, extra)
	})
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return e, f, nil
}

// openBlob opens an item's file, refusing one that is missing or whose
// size is not the recorded one: a damaged file must not be handed out as
// evidence. (A full re-hash is what verify is for; it would read 10 GiB
// before the first byte of a download.)
//
// No lock is needed: a file once open stays readable to the end even if
// a purge unlinks it, and a file that a purge deleted after e was read
// belongs to an item that is purged by now (the row is marked before the
// file goes), which is what the caller is told then, not "missing".
func (app *App) openBlob(ctx context.Context, e *store.Evidence) (*os.File, error) {
	f, err := app.evidenceStore().Open(e.SHA256)
	if errors.Is(err, evidence.ErrMissing) {
		if cur, cerr := app.store.GetEvidence(ctx, e.IncidentID, e.ID); cerr == nil && cur.PurgedAt != nil {
			return nil, purgedError(cur)
		}
		app.log.Error("evidence file missing", "evidence_id", e.ID, "incident", e.IncidentKey, "sha256", e.SHA256)
		return nil, core.Conflict("the stored file of evidence %d is missing; an administrator should run irdesk evidence verify", e.ID)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if info.Size() != e.Size {
		f.Close()
		app.log.Error("evidence file altered", "evidence_id", e.ID, "incident", e.IncidentKey, "sha256", e.SHA256, "size", info.Size(), "recorded", e.Size)
		return nil, core.Conflict("the stored file of evidence %d does not match its record; an administrator should run irdesk evidence verify", e.ID)
	}
	return f, nil
}

// HandOver is a transfer of custody.
type HandOver struct {
	// From is who hands it over; empty means the current custodian. If
	// given, it must be the current custodian.
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// HandOverEvidence records that an item passed from one custodian to
// another (a forensic lab, the police, counsel) and why.
func (app *App) HandOverEvidence(ctx context.Context, a Actor, key string, id int64, in HandOver) (*store.Evidence, error) {
	in.From, in.To, in.Reason = strings.TrimSpace(in.From), strings.TrimSpace(in.To), strings.TrimSpace(in.Reason)
	switch {
	case in.To == "":
		return nil, core.Invalid("to", "is required: who receives the item")
	case utf8.RuneCountInString(in.To) > core.MaxShortLen || strings.ContainsAny(in.To, "\r\n\x00"):
		return nil, core.Invalid("to", "must be one line of at most %d characters", core.MaxShortLen)
	case utf8.RuneCountInString(in.From) > core.MaxShortLen || strings.ContainsAny(in.From, "\r\n\x00"):
		return nil, core.Invalid("from", "must be one line of at most %d characters", core.MaxShortLen)
	case in.Reason == "":
		return nil, core.Invalid("reason", "is required: why the item changes hands")
	case utf8.RuneCountInString(in.Reason) > core.MaxTextLen:
		return nil, core.Invalid("reason", "is longer than %d characters", core.MaxTextLen)
	}
	var out *store.Evidence
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		e, err := tx.GetEvidence(ctx, inc.ID, id)
		if err != nil {
			return err
		}
		if e.PurgedAt != nil {
			return purgedError(e)
		}
		from := in.From
		if from == "" {
			from = e.Custodian
		}
		if from != e.Custodian {
			return core.Conflict("evidence %d is held by %q, not %q", id, e.Custodian, from)
		}
		if in.To == e.Custodian {
			return core.Invalid("to", "%q holds the item already", in.To)
		}
		if err := custody(ctx, tx, a, core.EvEvidenceHandedOver, e, in.To, map[string]any{"from": from, "to": in.To, "reason": in.Reason}); err != nil {
			return err
		}
		e.Custodian = in.To
		out = e
		return nil
	})
	return out, err
}

// EvidenceCheck is the outcome of re-hashing one item.
type EvidenceCheck struct {
	EvidenceID  int64     `json:"evidence_id"`
	IncidentKey string    `json:"incident"`
	OK          bool      `json:"ok"`
	Problem     string    `json:"problem,omitempty"` // mismatch | missing
	Detail      string    `json:"detail,omitempty"`
	SHA256      string    `json:"sha256"` // what the file hashes to now ("" if missing)
	SHA1        string    `json:"sha1"`
	MD5         string    `json:"md5"`
	Size        int64     `json:"size"`
	CheckedAt   time.Time `json:"checked_at"`
}

func checkOf(e *store.Evidence, got evidence.Blob, p *evidence.Problem) EvidenceCheck {
	c := EvidenceCheck{EvidenceID: e.ID, IncidentKey: e.IncidentKey, OK: p == nil, SHA256: got.SHA256, SHA1: got.SHA1, MD5: got.MD5, Size: got.Size}
	if p == nil && (got.SHA1 != e.SHA1 || got.MD5 != e.MD5) {
		// The SHA-256 matches, so the file is intact and the record's
		// other hashes were changed.
		p = &evidence.Problem{Kind: evidence.ProblemMismatch, SHA256: e.SHA256, Detail: "the record's SHA-1 or MD5 differs from the file's"}
		c.OK = false
	}
	if p != nil {
		c.Problem, c.Detail = p.Kind, p.Detail
	}
	return c
}

func recordCheck(ctx context.Context, tx *store.Tx, a Actor, e *store.Evidence, c *EvidenceCheck) error {
	c.CheckedAt = tx.Now()
	extra := map[string]any{"ok": c.OK, "computed_sha256": c.SHA256, "computed_sha1": c.SHA1, "computed_md5": c.MD5, "computed_size": c.Size}
	if !c.OK {
		extra["problem"], extra["detail"] = c.Problem, c.Detail
	}
	return custody(ctx, tx, a, core.EvEvidenceVerified, e, e.Custodian, extra)
}

// VerifyEvidence re-hashes an item's file, compares it with the record and
// records the result as a custody event, whatever it is.
func (app *App) VerifyEvidence(ctx context.Context, a Actor, key string, id int64) (EvidenceCheck, error) {
	inc, err := app.allowedOn(ctx, a, key, needAnalyst(a))
	if err != nil {
		return EvidenceCheck{}, err
	}
	e, err := app.store.GetEvidence(ctx, inc.ID, id)
	if err != nil {
		return EvidenceCheck{}, err
	}
	if e.PurgedAt != nil {
		return EvidenceCheck{}, purgedError(e)
	}
	got, p, err := app.evidenceStore().Check(ctx, evidence.Want{SHA256: e.SHA256, Size: e.Size})
	if err != nil {
		return EvidenceCheck{}, err
	}
	var c EvidenceCheck
	_, err = app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		cur, err := tx.GetEvidence(ctx, inc.ID, id)
		if err != nil {
			return err
		}
		if cur.PurgedAt != nil {
			// Purged while it was being re-hashed: there is nothing
			// left to verify, and "missing" would be a false alarm.
			return purgedError(cur)
		}
		c = checkOf(cur, got, p)
		return recordCheck(ctx, tx, a, cur, &c)
	})
	if !c.OK && err == nil {
		app.log.Error("evidence verification failed", "evidence_id", e.ID, "incident", e.IncidentKey, "sha256", e.SHA256, "problem", c.Problem)
	}
	return c, err
}

// MaxCustodyPage bounds one page of a custody log.
const MaxCustodyPage = 500

// CustodyLog returns an item's chain of custody, oldest first, after an
// event id.
func (app *App) CustodyLog(ctx context.Context, a Actor, key string, id, after int64, limit int) ([]core.Event, error) {
	inc, err := app.allowedOn(ctx, a, key, needEvidenceReader(a))
	if err != nil {
		return nil, err
	}
	if _, err := app.store.GetEvidence(ctx, inc.ID, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxCustodyPage {
		limit = MaxCustodyPage
	}
	return app.store.CustodyLog(ctx, id, after, limit)
}

// LockerReport is the outcome of verifying the whole locker.
type LockerReport struct {
	// Items are the checks of every item that is not purged, including
	// the intact ones.
	Items []EvidenceCheck
	// Files is how many distinct files were re-hashed, Bytes their size.
	Files int
	Bytes int64
	// Unreferenced are files on disk no record names (or strays in the
	// tree): listed, not failed.
	Unreferenced []evidence.Problem
	// StaleTemp is how many leftovers of interrupted uploads were removed.
	StaleTemp int
}

// Failed reports whether any item is missing or altered.
func (r LockerReport) Failed() bool {
	for _, c := range r.Items {
		if !c.OK {
			return true
		}
	}
	return false
}

// VerifyLocker re-hashes every stored file once and checks it against
// every item that names it, records a custody event per item with the
// result, and lists files no record names. onItem, if not nil, sees each
// check as it is made. Only the system (the CLI on the data directory)
// runs it.
func (app *App) VerifyLocker(ctx context.Context, a Actor, onItem func(EvidenceCheck)) (LockerReport, error) {
	var rep LockerReport
	if !a.System {
		return rep, forbidden("only irdesk evidence verify checks the whole locker")
	}
	es := app.evidenceStore()
	if n, err := es.CleanTemp(24*time.Hour, app.now()); err == nil {
		rep.StaleTemp = n
	}
	rows, err := app.store.EvidenceBlobs(ctx)
	if err != nil {
		return rep, err
	}
	bySHA := map[string][]store.EvidenceBlob{}
	var want []evidence.Want
	for _, r := range rows {
		if _, ok := bySHA[r.SHA256]; !ok {
			want = append(want, evidence.Want{SHA256: r.SHA256, Size: r.Size})
		}
		bySHA[r.SHA256] = append(bySHA[r.SHA256], r)
	}
	vr, err := es.Verify(ctx, want, func(w evidence.Want, got evidence.Blob, p *evidence.Problem) error {
		for _, r := range bySHA[w.SHA256] {
			var c EvidenceCheck
			purged := false
			err := app.store.InTx(ctx, func(tx *store.Tx) error {
				e, err := tx.GetEvidence(ctx, r.IncidentID, r.EvidenceID)
				if err != nil {
					return err
				}
				// Purged since the list was read: nothing to verify.
				if purged = e.PurgedAt != nil; purged {
					return nil
				}
				// Each item is held to its own recorded size, even when
				// it shares the file with others.
				pp := p
				if pp == nil && got.Size != e.Size {
					pp = &evidence.Problem{Kind: evidence.ProblemMismatch, SHA256: e.SHA256, Detail: fmt.Sprintf("the file has %d bytes, the record says %d", got.Size, e.Size)}
				}
				c = checkOf(e, got, pp)
				return recordCheck(ctx, tx, a, e, &c)
			})
			if err != nil {
				return err
			}
			if purged {
				continue
			}
			rep.Items = append(rep.Items, c)
			if onItem != nil {
				onItem(c)
			}
		}
		return nil
	})
	rep.Files, rep.Bytes = vr.Checked, vr.Bytes
	for _, p := range vr.Problems {
		if p.Kind == evidence.ProblemUnreferenced {
			rep.Unreferenced = append(rep.Unreferenced, p)
		}
	}
	return rep, err
}

// PurgeCandidates lists what PurgeEvidence would mark purged, for a dry
// run. Only the system asks.
func (app *App) PurgeCandidates(ctx context.Context, a Actor, key string, before time.Time) ([]*store.Evidence, error) {
	if !a.System {
		return nil, forbidden("evidence is disposed of only by the retention command, irdesk evidence purge")
	}
	inc, err := app.GetIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	return app.store.PurgeCandidates(ctx, inc.ID, before)
}

// PurgeResult is what a retention purge disposed of.
type PurgeResult struct {
	Items []*store.Evidence
	// FilesRemoved are the files deleted: those no item that is not
	// purged names any more.
	FilesRemoved []string
}

// PurgeEvidence is the retention command: it marks every item of the
// incident put in the locker before the time purged, with an audit event
// each, and then deletes the files no remaining item names. Files shared
// with items that stay are kept. Running it again finishes a purge that
// was interrupted between the records and the files. Only the system (the
// CLI on the data directory) purges.
func (app *App) PurgeEvidence(ctx context.Context, a Actor, key string, before time.Time) (PurgeResult, error) {
	var res PurgeResult
	if !a.System {
		return res, forbidden("evidence is disposed of only by the retention command, irdesk evidence purge")
	}
	inc, err := app.GetIncident(ctx, a, key)
	if err != nil {
		return res, err
	}
	cands, err := app.store.PurgeCandidates(ctx, inc.ID, before)
	if err != nil {
		return res, err
	}
	for _, c := range cands {
		var done *store.Evidence
		err := app.store.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.MarkEvidencePurged(ctx, c.ID, a.name()); err != nil {
				return err
			}
			e, err := tx.GetEvidence(ctx, inc.ID, c.ID)
			if err != nil {
				return err
			}
			extra := map[string]any{"size": e.Size, "sha1": e.SHA1, "md5": e.MD5, "before": before.UTC(), "reason": "retention"}
			done = e
			return custody(ctx, tx, a, core.EvEvidencePurged, e, "", extra)
		})
		if errors.Is(err, core.ErrConflict) {
			continue // purged meanwhile by another run
		}
		if err != nil {
			return res, err
		}
		res.Items = append(res.Items, done)
	}
	shas, err := app.store.PurgedBlobs(ctx, inc.ID)
	if err != nil {
		return res, err
	}
	es := app.evidenceStore()
	for _, sha := range shas {
		// Asked and deleted under the locker's exclusive lock, so that no
		// upload of the same content commits a row to the file in between.
		removed, err := es.Purge(ctx, sha, func(ctx context.Context) (bool, error) {
			inUse, err := app.store.BlobInUse(ctx, sha)
			if err == nil && !inUse && testHookPurgeUnused != nil {
				testHookPurgeUnused(sha)
			}
			return inUse, err
		})
		if err != nil {
			return res, err
		}
		if removed {
			res.FilesRemoved = append(res.FilesRemoved, sha)
		}
	}
	return res, nil
}
