package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Evidence is an item in an incident's evidence locker: the identity of a
// stored file (its hashes and size) and what is known of where it came
// from. The file itself is a blob in package evidence.
type Evidence struct {
	ID          int64  `json:"id"`
	IncidentID  int64  `json:"-"`
	IncidentKey string `json:"incident"`
	SHA256      string `json:"sha256"`
	SHA1        string `json:"sha1"`
	MD5         string `json:"md5"`
	Size        int64  `json:"size"`
	FileName    string `json:"file_name"`
	MediaType   string `json:"media_type"`
	// CollectedBy is who collected it: often a responder, sometimes a
	// vendor's engineer or the police, so a name rather than a user.
	CollectedBy string     `json:"collected_by"`
	CollectedAt *time.Time `json:"collected_at,omitempty"`
	SourceHost  string     `json:"source_host"`
	SourcePath  string     `json:"source_path"`
	Description string     `json:"description"`
	// Custodian is who holds the item now: the uploader, then whoever it
	// was last handed over to.
	Custodian   string     `json:"custodian"`
	CreatedByID int64      `json:"-"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	PurgedAt    *time.Time `json:"purged_at,omitempty"`
	PurgedBy    string     `json:"purged_by,omitempty"`
}

const evidenceCols = `v.id, v.incident_id, i.key, v.sha256, v.sha1, v.md5, v.size, v.file_name, v.media_type,
	v.collected_by, v.collected_at, v.source_host, v.source_path, v.description,
	COALESCE((SELECT c.custodian FROM evidence_custody c WHERE c.evidence_id = v.id ORDER BY c.event_id DESC LIMIT 1), ''),
	v.created_by, u.name, v.created_at, v.purged_at, v.purged_by`

const evidenceJoins = ` JOIN incidents i ON i.id = v.incident_id JOIN users u ON u.id = v.created_by`

func scanEvidence(sc scanner) (*Evidence, error) {
	var e Evidence
	var collected, purged sql.NullInt64
	var created int64
	if err := sc.Scan(&e.ID, &e.IncidentID, &e.IncidentKey, &e.SHA256, &e.SHA1, &e.MD5, &e.Size, &e.FileName, &e.MediaType,
		&e.CollectedBy, &collected, &e.SourceHost, &e.SourcePath, &e.Description, &e.Custodian,
		&e.CreatedByID, &e.CreatedBy, &created, &purged, &e.PurgedBy); err != nil {
		return nil, err
	}
	e.CollectedAt, e.PurgedAt, e.CreatedAt = timePtr(collected), timePtr(purged), fromMicros(created)
	return &e, nil
}

// CreateEvidence stores an evidence row and sets its ID and CreatedAt.
// The caller records its custody (AddCustody) in the same transaction.
func (tx *Tx) CreateEvidence(ctx context.Context, e *Evidence) error {
	e.CreatedAt = tx.now
	row, err := tx.queryRow(ctx, `INSERT INTO evidence (incident_id, sha256, sha1, md5, size, file_name, media_type,
		collected_by, collected_at, source_host, source_path, description, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.IncidentID, e.SHA256, e.SHA1, e.MD5, e.Size, e.FileName, e.MediaType,
		e.CollectedBy, nullMicros(e.CollectedAt), e.SourceHost, e.SourcePath, e.Description, e.CreatedByID, micros(tx.now))
	if err != nil {
		return err
	}
	if err := row.Scan(&e.ID); err != nil {
		return fmt.Errorf("create evidence: %w", err)
	}
	return nil
}

// AddCustody files an audit event (already appended, by its id) in an
// item's custody log, with who holds the item after it.
func (tx *Tx) AddCustody(ctx context.Context, evidenceID, eventID int64, custodian string) error {
	if _, err := tx.exec(ctx, `INSERT INTO evidence_custody (event_id, evidence_id, custodian) VALUES (?, ?, ?)`,
		eventID, evidenceID, custodian); err != nil {
		return fmt.Errorf("add custody record: %w", err)
	}
	return nil
}

// ListEvidence lists an incident's evidence, newest first, purged items
// included; before is the cursor (an id; 0 for the newest). It returns at
// most limit items and whether more follow.
func (r reader) ListEvidence(ctx context.Context, incidentID, before int64, limit int) ([]*Evidence, bool, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = 50
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := r.query(ctx, `SELECT `+evidenceCols+` FROM evidence v`+evidenceJoins+`
		WHERE v.incident_id = ? AND v.id < ? ORDER BY v.id DESC LIMIT ?`, incidentID, before, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list evidence: %w", err)
	}
	out, more, err := page(rows, limit, scanEvidence)
	if err != nil {
		return nil, false, fmt.Errorf("list evidence: %w", err)
	}
	return out, more, nil
}

// GetEvidence returns an item of an incident. Returns core.ErrNotFound if
// the incident has no item with this id.
func (r reader) GetEvidence(ctx context.Context, incidentID, id int64) (*Evidence, error) {
	row, err := r.queryRow(ctx, `SELECT `+evidenceCols+` FROM evidence v`+evidenceJoins+` WHERE v.id = ? AND v.incident_id = ?`, id, incidentID)
	if err != nil {
		return nil, err
	}
	e, err := scanEvidence(row)
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("evidence %d", id))
	}
	return e, nil
}

// CustodyLog returns an item's custody events, oldest first, from after
// (an event id; 0 for the start), at most limit.
func (r reader) CustodyLog(ctx context.Context, evidenceID, after int64, limit int) ([]core.Event, error) {
	rows, err := r.query(ctx, `SELECT `+eventCols+` FROM evidence_custody c JOIN events e ON e.id = c.event_id
		LEFT JOIN incidents i ON i.id = e.incident_id
		WHERE c.evidence_id = ? AND c.event_id > ? ORDER BY c.event_id LIMIT ?`, evidenceID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	defer rows.Close()
	var out []core.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// EvidenceBlob is a stored item's file, for verification.
type EvidenceBlob struct {
	EvidenceID  int64
	IncidentID  int64
	IncidentKey string
	SHA256      string
	Size        int64
}

// EvidenceBlobs lists every item that is not purged, by SHA-256 then id,
// so that items sharing a file are next to each other.
func (r reader) EvidenceBlobs(ctx context.Context) ([]EvidenceBlob, error) {
	rows, err := r.query(ctx, `SELECT v.id, v.incident_id, i.key, v.sha256, v.size FROM evidence v JOIN incidents i ON i.id = v.incident_id
		WHERE v.purged_at IS NULL ORDER BY v.sha256, v.id`)
	if err != nil {
		return nil, fmt.Errorf("list evidence files: %w", err)
	}
	defer rows.Close()
	var out []EvidenceBlob
	for rows.Next() {
		var b EvidenceBlob
		if err := rows.Scan(&b.EvidenceID, &b.IncidentID, &b.IncidentKey, &b.SHA256, &b.Size); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// PurgeCandidates lists an incident's items that are not purged and were
// put in the locker before the time, oldest first.
func (r reader) PurgeCandidates(ctx context.Context, incidentID int64, before time.Time) ([]*Evidence, error) {
	rows, err := r.query(ctx, `SELECT `+evidenceCols+` FROM evidence v`+evidenceJoins+`
		WHERE v.incident_id = ? AND v.purged_at IS NULL AND v.created_at < ? ORDER BY v.id`, incidentID, micros(before))
	if err != nil {
		return nil, fmt.Errorf("purge candidates: %w", err)
	}
	out, _, err := page(rows, 1<<62, scanEvidence)
	return out, err
}

// MarkEvidencePurged marks an item purged: the only change an evidence row
// ever takes. Returns core.ErrConflict if it was purged already.
func (tx *Tx) MarkEvidencePurged(ctx context.Context, id int64, by string) error {
	res, err := tx.exec(ctx, `UPDATE evidence SET purged_at = ?, purged_by = ? WHERE id = ? AND purged_at IS NULL`, micros(tx.now), by, id)
	if err != nil {
		return fmt.Errorf("mark evidence purged: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("evidence %d is purged already", id)
	}
	return nil
}

// BlobInUse reports whether any item that is not purged, in any incident,
// has the file with this SHA-256.
func (r reader) BlobInUse(ctx context.Context, sha256 string) (bool, error) {
	row, err := r.queryRow(ctx, `SELECT COUNT(*) FROM evidence WHERE sha256 = ? AND purged_at IS NULL`, sha256)
	if err != nil {
		return false, err
	}
	var n int
	err = row.Scan(&n)
	return n > 0, err
}

// PurgedBlobs lists the files of an incident's purged items.
func (r reader) PurgedBlobs(ctx context.Context, incidentID int64) ([]string, error) {
	rows, err := r.query(ctx, `SELECT DISTINCT sha256 FROM evidence WHERE incident_id = ? AND purged_at IS NOT NULL ORDER BY sha256`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("purged evidence files: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
