package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
)

// IncidentHit is an incident found by a ranked search, with its score
// (higher is better).
type IncidentHit struct {
	*core.Incident
	Score float64
}

// SearchIncidents searches the incidents the scope may see by relevance:
// every term must match, the best matches first (bm25 on SQLite, ts_rank
// on PostgreSQL), newer first among equals. Unlike FindIncidents, which
// lists matches newest first, it ranks: it answers "which incident is
// about this", not "what happened lately"; among the newest
// MaxSearchOffset matches (older ones are in FindIncidents' list).
// Restricted incidents of which
// the viewer is no member are excluded in SQL. offset pages; it returns at
// most limit hits and whether more follow.
func (r reader) SearchIncidents(ctx context.Context, scope Scope, query string, offset, limit int) ([]IncidentHit, bool, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = 20
	}
	if offset < 0 || offset > MaxSearchOffset {
		return nil, false, core.Invalid("cursor", "pages end at %d results; narrow the search", MaxSearchOffset)
	}
	terms := search.Query(query)
	if len(terms) == 0 {
		return nil, false, nil
	}
	t := r.knowledgeText("incident_fts")
	tq := r.d.textQuery(terms)
	var args []any
	for range t.scoreArgs {
		args = append(args, tq)
	}
	// The incident index's own match condition (to_tsquery on
	// PostgreSQL), as FindIncidents uses it.
	args = append(args, tq)
	// Rank on the index alone and read only the page's incident rows: a
	// common word matches thousands, and joining each to its row just to
	// check the scope cost more than ranking. The few restricted
	// incidents the viewer may not see are excluded by id instead (the
	// partial index on restricted), in SQL as everywhere.
	var scopeCond string
	switch {
	case scope.All:
		scopeCond = "1 = 1"
	case scope.OwnReportsOnly:
		scopeCond = `f.rowid IN (SELECT r.id FROM incidents r WHERE r.reporter_id = ? AND (r.restricted = 0 OR EXISTS
			(SELECT 1 FROM incident_members m WHERE m.incident_id = r.id AND m.user_id = ?)))`
		args = append(args, scope.UserID, scope.UserID)
	default:
		scopeCond = `f.rowid NOT IN (SELECT r.id FROM incidents r WHERE r.restricted = 1 AND NOT EXISTS
			(SELECT 1 FROM incident_members m WHERE m.incident_id = r.id AND m.user_id = ?))`
		args = append(args, scope.UserID)
	}
	// Only the newest MaxSearchOffset matches are ranked: scoring every
	// incident a common word matches (all 100,000 for a word of every
	// description) took over 100 ms, and pages end there anyway. The
	// floor is the id of the match that many down the index, newest first
	// (rowids are incident ids); the subquery's alias g, not f, matches.
	floor := `f.rowid >= COALESCE((SELECT g.rowid FROM incident_fts g WHERE ` + strings.ReplaceAll(r.d.textMatch, "f.", "g.") +
		` ORDER BY g.rowid DESC LIMIT 1 OFFSET ?), 0)`
	args = append(args, tq, MaxSearchOffset-1, limit+1, offset)
	q := `SELECT ` + incidentCols + `, h.score FROM (SELECT f.rowid AS id, ` + t.score + ` AS score FROM incident_fts f
		WHERE ` + r.d.textMatch + ` AND ` + scopeCond + ` AND ` + floor + ` ORDER BY score DESC, f.rowid DESC LIMIT ? OFFSET ?) h
		JOIN incidents i ON i.id = h.id` + incidentJoins + ` ORDER BY h.score DESC, i.id DESC`
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("search incidents: %w", err)
	}
	out, more, err := page(rows, limit, func(sc scanner) (IncidentHit, error) {
		var h IncidentHit
		inc, err := scanIncident(scoreScanner{sc, &h.Score})
		h.Incident = inc
		return h, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("search incidents: %w", err)
	}
	return out, more, nil
}

// scoreScanner appends one destination (the score) to a scan made by a
// function that knows only the incident columns.
type scoreScanner struct {
	sc    scanner
	score *float64
}

func (s scoreScanner) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.score)...) }
