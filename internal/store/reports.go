package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// ReportDraftKey names one editable report draft of an incident.
type ReportDraftKey struct {
	IncidentID int64
	Kind       string
	Stage      string // PPC only; "" for other kinds
	Lang       string
}

// ReportEdits is the stored hand edits of a draft (JSON of report.Edits).
type ReportEdits struct {
	Edits     string
	Version   int64
	UpdatedBy string
	UpdatedAt time.Time
}

// GetReportEdits returns a draft's edits or core.ErrNotFound.
func (r reader) GetReportEdits(ctx context.Context, k ReportDraftKey) (ReportEdits, error) {
	row, err := r.queryRow(ctx, `SELECT e.edits, e.version, u.name, e.updated_at FROM report_edits e JOIN users u ON u.id = e.updated_by
		WHERE e.incident_id = ? AND e.kind = ? AND e.stage = ? AND e.lang = ?`, k.IncidentID, k.Kind, k.Stage, k.Lang)
	if err != nil {
		return ReportEdits{}, err
	}
	var e ReportEdits
	var at int64
	if err := row.Scan(&e.Edits, &e.Version, &e.UpdatedBy, &at); err != nil {
		if err == sql.ErrNoRows {
			return ReportEdits{}, fmt.Errorf("report edits: %w", core.ErrNotFound)
		}
		return ReportEdits{}, fmt.Errorf("report edits: %w", err)
	}
	e.UpdatedAt = fromMicros(at)
	return e, nil
}

// SaveReportEdits stores a draft's edits. version is the one the editor
// read (0 when there were none); a different stored version is
// core.ErrConflict, so two people editing one draft do not overwrite each
// other unseen. It returns the new version.
func (tx *Tx) SaveReportEdits(ctx context.Context, k ReportDraftKey, edits string, version, byUserID int64) (int64, error) {
	now := micros(tx.now)
	var res sql.Result
	var err error
	if version == 0 {
		res, err = tx.exec(ctx, `INSERT INTO report_edits (incident_id, kind, stage, lang, edits, version, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`, k.IncidentID, k.Kind, k.Stage, k.Lang, edits, byUserID, now)
	} else {
		res, err = tx.exec(ctx, `UPDATE report_edits SET edits = ?, version = version + 1, updated_by = ?, updated_at = ?
			WHERE incident_id = ? AND kind = ? AND stage = ? AND lang = ? AND version = ?`,
			edits, byUserID, now, k.IncidentID, k.Kind, k.Stage, k.Lang, version)
	}
	if err != nil {
		return 0, fmt.Errorf("save report edits: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, core.Conflict("the draft was edited by someone else meanwhile; reload it and apply your changes again")
	}
	return version + 1, nil
}

// DeleteReportEdits drops a draft's edits (back to the generated text) or
// says core.ErrNotFound.
func (tx *Tx) DeleteReportEdits(ctx context.Context, k ReportDraftKey) error {
	res, err := tx.exec(ctx, `DELETE FROM report_edits WHERE incident_id = ? AND kind = ? AND stage = ? AND lang = ?`,
		k.IncidentID, k.Kind, k.Stage, k.Lang)
	if err != nil {
		return fmt.Errorf("delete report edits: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("report edits: %w", core.ErrNotFound)
	}
	return nil
}
