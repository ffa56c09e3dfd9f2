package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
)

// kbText is the dialect's full-text SQL for the knowledge and similarity
// queries: the condition that the index aliased f matches a query (one
// placeholder), the score of a row (higher is better; one placeholder on
// PostgreSQL, none on SQLite), and how terms join in an any-of query.
type kbText struct {
	match, score string
	scoreArgs    int
	or           string
}

func (r reader) knowledgeText(table string) kbText {
	if r.d.name == "postgres" {
		return kbText{match: `f.tsv @@ CAST(? AS tsquery)`, score: `ts_rank(f.tsv, CAST(? AS tsquery))`, scoreArgs: 1, or: " | "}
	}
	// bm25 is lower for a better match; the title column weighs four
	// times the rest (knowledge_fts only: incident_fts has one column).
	score := `-bm25(` + table + `)`
	if table == "knowledge_fts" {
		score = `-bm25(knowledge_fts, 4.0, 1.0)`
	}
	return kbText{match: table + ` MATCH ?`, score: score, or: " OR "}
}

// anyOf builds a text query matching any of the terms.
func (r reader) anyOf(terms []search.Term) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = r.d.textQuery([]search.Term{t})
	}
	return strings.Join(parts, r.knowledgeText("").or)
}

// knowledgeScope is the condition for entries the scope may see, over
// knowledge aliased k left-joined to incidents aliased i: articles, and
// entries of incidents the scope may see.
func knowledgeScope(s Scope) (string, []any) {
	cond, args := s.where()
	if s.All {
		return cond, args
	}
	return "(k.incident_id IS NULL OR (" + cond + "))", args
}

const knowledgeCols = `k.id, k.kind, COALESCE(k.incident_id, 0), COALESCE(i.key, ''), COALESCE(i.restricted, 0), COALESCE(i.exercise, 0),
	k.title, k.summary, k.body, k.category, k.cause_class, k.root_cause, k.lessons_learned, k.prevention_measures,
	k.review, k.tags, k.language, COALESCE(k.author_id, 0), COALESCE(au.name, ''), k.created_at, k.updated_at, k.version`

const knowledgeJoins = ` LEFT JOIN incidents i ON i.id = k.incident_id LEFT JOIN users au ON au.id = k.author_id`

func scanKnowledge(sc scanner, extra ...any) (*core.Knowledge, error) {
	var k core.Knowledge
	var restricted, exercise int
	var review, tags string
	var created, updated int64
	dest := []any{&k.ID, &k.Kind, &k.IncidentID, &k.IncidentKey, &restricted, &exercise,
		&k.Title, &k.Summary, &k.Body, &k.Category, &k.CauseClass, &k.RootCause, &k.LessonsLearned, &k.PreventionMeasures,
		&review, &tags, &k.Language, &k.AuthorID, &k.Author, &created, &updated, &k.Version}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	k.Restricted, k.Exercise = restricted == 1, exercise == 1
	k.CreatedAt, k.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(tags), &k.Tags); err != nil {
		return nil, fmt.Errorf("knowledge %d tags: %w", k.ID, err)
	}
	if k.Tags == nil {
		k.Tags = []string{}
	}
	if k.Kind == core.KnowledgeIncident {
		k.Review = &core.KnowledgeReview{}
		if err := json.Unmarshal([]byte(review), k.Review); err != nil {
			return nil, fmt.Errorf("knowledge %d review: %w", k.ID, err)
		}
	}
	return &k, nil
}

func knowledgeArgs(k *core.Knowledge) ([]any, error) {
	review := []byte("{}")
	if k.Review != nil {
		var err error
		if review, err = json.Marshal(k.Review); err != nil {
			return nil, err
		}
	}
	tags := k.Tags
	if tags == nil {
		tags = []string{}
	}
	tagJSON, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	return []any{k.Title, k.Summary, k.Body, string(k.Category), string(k.CauseClass), k.RootCause, k.LessonsLearned,
		k.PreventionMeasures, string(review), string(tagJSON), k.Language}, nil
}

// CreateKnowledge inserts an entry (an article, or the review of k.IncidentID)
// and indexes it; it sets k.ID and k.Version. Returns core.ErrConflict if
// the incident has an entry already.
func (tx *Tx) CreateKnowledge(ctx context.Context, k *core.Knowledge) error {
	args, err := knowledgeArgs(k)
	if err != nil {
		return err
	}
	nullID := func(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }
	args = append([]any{string(k.Kind), nullID(k.IncidentID)}, args...)
	args = append(args, nullID(k.AuthorID), micros(k.CreatedAt), micros(k.UpdatedAt))
	row, err := tx.queryRow(ctx, `INSERT INTO knowledge (kind, incident_id, title, summary, body, category, cause_class,
		root_cause, lessons_learned, prevention_measures, review, tags, language, author_id, created_at, updated_at, version)
		VALUES (`+placeholders(16)+`, 1) RETURNING id`, args...)
	if err != nil {
		return err
	}
	if err := row.Scan(&k.ID); err != nil {
		if isUniqueViolation(err) {
			return core.Conflict("incident %s has a knowledge entry already", k.IncidentKey)
		}
		return fmt.Errorf("create knowledge entry: %w", err)
	}
	k.Version = 1
	return tx.indexKnowledge(ctx, k, false)
}

// indexKnowledge writes the entry's terms. Unlike incidents (Tx.index),
// the write goes straight into the transaction: entries change a few
// times a day, not thousands of times a second.
func (tx *Tx) indexKnowledge(ctx context.Context, k *core.Knowledge, replace bool) error {
	if replace {
		if _, err := tx.exec(ctx, `DELETE FROM knowledge_fts WHERE rowid = ?`, k.ID); err != nil {
			return fmt.Errorf("index knowledge entry: %w", err)
		}
	}
	title, rest := k.SearchParts()
	if _, err := tx.exec(ctx, `INSERT INTO knowledge_fts (rowid, title, terms) VALUES (?, ?, ?)`,
		k.ID, search.Document(title), search.Document(rest...)); err != nil {
		return fmt.Errorf("index knowledge entry: %w", err)
	}
	return nil
}

// UpdateKnowledge writes every mutable field of k if the stored version is
// still k.Version, keeps prev (the content being replaced) in the history
// under that version, bumps the version and re-indexes. Returns
// core.ErrConflict if someone changed the entry in between.
func (tx *Tx) UpdateKnowledge(ctx context.Context, k *core.Knowledge, prev core.KnowledgeContent, by string) error {
	content, err := json.Marshal(prev)
	if err != nil {
		return err
	}
	args, err := knowledgeArgs(k)
	if err != nil {
		return err
	}
	args = append(args, micros(k.UpdatedAt), k.ID, k.Version)
	res, err := tx.exec(ctx, `UPDATE knowledge SET title = ?, summary = ?, body = ?, category = ?, cause_class = ?,
		root_cause = ?, lessons_learned = ?, prevention_measures = ?, review = ?, tags = ?, language = ?, updated_at = ?,
		version = version + 1 WHERE id = ? AND version = ?`, args...)
	if err != nil {
		return fmt.Errorf("update knowledge entry: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("knowledge entry %d was changed by someone else (version %d is not current); reload and retry", k.ID, k.Version)
	}
	if _, err := tx.exec(ctx, `INSERT INTO knowledge_versions (knowledge_id, version, content, replaced_by, replaced_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Version, string(content), by, micros(tx.now)); err != nil {
		return fmt.Errorf("keep knowledge version: %w", err)
	}
	k.Version++
	return tx.indexKnowledge(ctx, k, true)
}

// GetKnowledge returns an entry, with its measures, if the scope may see
// it; core.ErrNotFound otherwise.
func (r reader) GetKnowledge(ctx context.Context, id int64, scope Scope) (*core.Knowledge, error) {
	cond, args := knowledgeScope(scope)
	row, err := r.queryRow(ctx, `SELECT `+knowledgeCols+` FROM knowledge k`+knowledgeJoins+` WHERE k.id = ? AND `+cond,
		append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	}
	k, err := scanKnowledge(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("knowledge entry %d: %w", id, core.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get knowledge entry %d: %w", id, err)
	}
	if k.Measures, err = r.ListMeasures(ctx, k.ID); err != nil {
		return nil, err
	}
	return k, nil
}

// KnowledgeIDForIncident returns the id of an incident's review entry, 0
// if it has none. It does not check scope: callers have.
func (r reader) KnowledgeIDForIncident(ctx context.Context, incidentID int64) (int64, error) {
	row, err := r.queryRow(ctx, `SELECT id FROM knowledge WHERE incident_id = ?`, incidentID)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := row.Scan(&id); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("knowledge of incident: %w", err)
	}
	return id, nil
}

// KnowledgeFilter selects entries for a list or a search.
type KnowledgeFilter struct {
	Scope Scope
	// Query is searched for in the full text; empty lists every entry,
	// newest first.
	Query string
	Kind  core.KnowledgeKind
	// Offset pages through a ranked search; Before (an id) through a list.
	Offset int
	Before int64
	Limit  int
}

// KnowledgeRow is an entry found, with its score (higher is better; 0
// without a query).
type KnowledgeRow struct {
	*core.Knowledge
	Score float64
}

// MaxSearchOffset bounds how deep a ranked search pages: past it, the
// query should be narrowed instead.
const MaxSearchOffset = 10_000

// FindKnowledge lists or searches the entries the scope may see: with a
// query, every term must match and the best matches come first (bm25 on
// SQLite, ts_rank on PostgreSQL, title hits weighing more); without one,
// newest first. It returns at most f.Limit rows and whether more follow.
func (r reader) FindKnowledge(ctx context.Context, f KnowledgeFilter) ([]KnowledgeRow, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = 20
	}
	cond, args := knowledgeScope(f.Scope)
	where := []string{cond}
	if f.Kind != "" {
		where = append(where, "k.kind = ?")
		args = append(args, string(f.Kind))
	}
	var q string
	terms := search.Query(f.Query)
	switch {
	case len(terms) > 0:
		if f.Offset < 0 || f.Offset > MaxSearchOffset {
			return nil, false, core.Invalid("cursor", "pages end at %d results; narrow the search", MaxSearchOffset)
		}
		t := r.knowledgeText("knowledge_fts")
		tq := r.d.textQuery(terms)
		var pre []any
		for range t.scoreArgs {
			pre = append(pre, tq)
		}
		pre = append(pre, tq)
		args = append(pre, args...)
		q = `SELECT ` + knowledgeCols + `, ` + t.score + ` AS score FROM knowledge_fts f JOIN knowledge k ON k.id = f.rowid` + knowledgeJoins +
			` WHERE ` + t.match + ` AND ` + strings.Join(where, " AND ") + ` ORDER BY score DESC, k.id DESC LIMIT ? OFFSET ?`
		args = append(args, limit+1, f.Offset)
	case strings.TrimSpace(f.Query) != "":
		return nil, false, nil
	default:
		if f.Before > 0 {
			where = append(where, "k.id < ?")
			args = append(args, f.Before)
		}
		q = `SELECT ` + knowledgeCols + `, 0.0 AS score FROM knowledge k` + knowledgeJoins +
			` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY k.id DESC LIMIT ?`
		args = append(args, limit+1)
	}
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("find knowledge: %w", err)
	}
	out, more, err := page(rows, limit, func(sc scanner) (KnowledgeRow, error) {
		var score float64
		k, err := scanKnowledge(sc, &score)
		return KnowledgeRow{Knowledge: k, Score: score}, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("find knowledge: %w", err)
	}
	return out, more, nil
}

// KnowledgeHistory returns the replaced versions of an entry, newest first.
func (r reader) KnowledgeHistory(ctx context.Context, id int64) ([]core.KnowledgeVersion, error) {
	rows, err := r.query(ctx, `SELECT version, content, replaced_by, replaced_at FROM knowledge_versions
		WHERE knowledge_id = ? ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("knowledge history: %w", err)
	}
	defer rows.Close()
	var out []core.KnowledgeVersion
	for rows.Next() {
		var v core.KnowledgeVersion
		var content string
		var at int64
		if err := rows.Scan(&v.Version, &content, &v.ReplacedBy, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(content), &v.Content); err != nil {
			return nil, fmt.Errorf("knowledge version %d: %w", v.Version, err)
		}
		v.ReplacedAt = fromMicros(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

const measureCols = `m.knowledge_id, m.n, m.text, COALESCE(m.owner_id, 0), COALESCE(ou.name, ''), m.due_on, m.status,
	m.done_at, m.updated_at, m.version`

func scanMeasure(sc scanner, extra ...any) (core.Measure, error) {
	var m core.Measure
	var done sql.NullInt64
	var updated int64
	err := sc.Scan(append([]any{&m.KnowledgeID, &m.N, &m.Text, &m.OwnerID, &m.Owner, &m.Due, &m.Status, &done, &updated, &m.Version}, extra...)...)
	m.DoneAt, m.UpdatedAt = timePtr(done), fromMicros(updated)
	return m, err
}

// ListMeasures returns an entry's prevention measures in order.
func (r reader) ListMeasures(ctx context.Context, knowledgeID int64) ([]core.Measure, error) {
	rows, err := r.query(ctx, `SELECT `+measureCols+` FROM knowledge_measures m LEFT JOIN users ou ON ou.id = m.owner_id
		WHERE m.knowledge_id = ? ORDER BY m.n`, knowledgeID)
	if err != nil {
		return nil, fmt.Errorf("list measures: %w", err)
	}
	out, _, err := page(rows, core.MaxMeasures+1, func(sc scanner) (core.Measure, error) { return scanMeasure(sc) })
	return out, err
}

// AddMeasure appends a measure to an entry and sets m.N.
func (tx *Tx) AddMeasure(ctx context.Context, m *core.Measure) error {
	row, err := tx.queryRow(ctx, `SELECT COALESCE(MAX(n), 0), COUNT(*) FROM knowledge_measures WHERE knowledge_id = ?`, m.KnowledgeID)
	if err != nil {
		return err
	}
	var last, count int
	if err := row.Scan(&last, &count); err != nil {
		return fmt.Errorf("add measure: %w", err)
	}
	if count >= core.MaxMeasures {
		return core.Invalid("measures", "an entry has at most %d measures", core.MaxMeasures)
	}
	m.N, m.Version, m.UpdatedAt = last+1, 1, tx.now
	if m.Status == "" {
		m.Status = core.MeasureOpen
	}
	if _, err := tx.exec(ctx, `INSERT INTO knowledge_measures (knowledge_id, n, text, owner_id, due_on, status, done_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`, m.KnowledgeID, m.N, m.Text, sql.NullInt64{Int64: m.OwnerID, Valid: m.OwnerID != 0},
		m.Due, string(m.Status), nullMicros(m.DoneAt), micros(m.UpdatedAt)); err != nil {
		return fmt.Errorf("add measure: %w", err)
	}
	return nil
}

// UpdateMeasure writes a measure's text, owner, due date and status if
// its stored version is still m.Version, and bumps the version. Returns
// core.ErrNotFound or core.ErrConflict.
func (tx *Tx) UpdateMeasure(ctx context.Context, m *core.Measure) error {
	res, err := tx.exec(ctx, `UPDATE knowledge_measures SET text = ?, owner_id = ?, due_on = ?, status = ?, done_at = ?,
		updated_at = ?, version = version + 1 WHERE knowledge_id = ? AND n = ? AND version = ?`,
		m.Text, sql.NullInt64{Int64: m.OwnerID, Valid: m.OwnerID != 0}, m.Due, string(m.Status), nullMicros(m.DoneAt),
		micros(tx.now), m.KnowledgeID, m.N, m.Version)
	if err != nil {
		return fmt.Errorf("update measure: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("measure %d was changed by someone else (version %d is not current); reload and retry", m.N, m.Version)
	}
	m.Version++
	m.UpdatedAt = tx.now
	return nil
}

// MeasureFilter selects prevention measures across entries.
type MeasureFilter struct {
	Scope  Scope
	Status core.MeasureStatus
	// DueBefore keeps measures due before this date (YYYY-MM-DD): with
	// Status open and today's date, the overdue ones.
	DueBefore string
	OwnerID   int64
	Limit     int
}

// FindMeasures lists measures of entries the scope may see, those due
// soonest first (measures without a due date last).
func (r reader) FindMeasures(ctx context.Context, f MeasureFilter) ([]core.Measure, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	cond, args := knowledgeScope(f.Scope)
	where := []string{cond}
	if f.Status != "" {
		where = append(where, "m.status = ?")
		args = append(args, string(f.Status))
	}
	if f.DueBefore != "" {
		where = append(where, "m.due_on <> '' AND m.due_on < ?")
		args = append(args, f.DueBefore)
	}
	if f.OwnerID != 0 {
		where = append(where, "m.owner_id = ?")
		args = append(args, f.OwnerID)
	}
	args = append(args, limit)
	rows, err := r.query(ctx, `SELECT `+measureCols+`, COALESCE(i.key, ''), k.title FROM knowledge_measures m
		JOIN knowledge k ON k.id = m.knowledge_id LEFT JOIN incidents i ON i.id = k.incident_id LEFT JOIN users ou ON ou.id = m.owner_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY CASE WHEN m.due_on = '' THEN 1 ELSE 0 END, m.due_on, m.knowledge_id, m.n LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find measures: %w", err)
	}
	out, _, err := page(rows, limit, func(sc scanner) (core.Measure, error) {
		var key, title string
		m, err := scanMeasure(sc, &key, &title)
		m.IncidentKey, m.Title = key, title
		return m, err
	})
	return out, err
}

// SimilarCandidate is an incident that shares something with another,
// as found in the database; app weighs the evidence.
type SimilarCandidate struct {
	ID          int64
	Key         string
	Title       string
	Description string
	Category    core.Category
	CauseClass  core.CauseClass
	Severity    core.Severity
	Phase       core.Phase
	Exercise    bool
	ClosedAt    *time.Time
	KnowledgeID int64
	// Observables are the shared observables as "type:value".
	Observables []string
	// Systems are the shared affected systems and alert hosts, lower case.
	Systems []string
	// TextScore is the full-text score of the candidate against the
	// source's terms; 0 if it was not found by text.
	TextScore float64
}

// similarFanout bounds each kind of evidence the similarity query reads:
// an observable every incident shares (the company's mail gateway) must
// not make one request read them all.
const similarFanout = 500

// A term found in more than similarCommon incidents says little about
// likeness and costs much to rank (every match is scored): the text query
// keeps the similarTextTerms rarest of the others.
const (
	similarCommon    = 2000
	similarTextTerms = 8
)

// rareTerms keeps the terms of an indexed incident that some other
// incident has too, but not more than similarCommon, rarest first. Counting stops at the cap, so a
// common term costs no more than a rare one.
func (r reader) rareTerms(ctx context.Context, terms []search.Term) ([]search.Term, error) {
	t := r.knowledgeText("incident_fts")
	type counted struct {
		term search.Term
		n    int
	}
	var keep []counted
	for _, term := range terms {
		row, err := r.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM incident_fts f WHERE `+t.match+` LIMIT ?) x`,
			r.d.textQuery([]search.Term{term}), similarCommon+1)
		if err != nil {
			return nil, err
		}
		var n int
		if err := row.Scan(&n); err != nil {
			return nil, fmt.Errorf("similar incidents (term frequency): %w", err)
		}
		// The incident itself has every one of its terms: a term only it
		// has finds nothing.
		if n > 1 && n <= similarCommon {
			keep = append(keep, counted{term, n})
		}
	}
	slices.SortStableFunc(keep, func(a, b counted) int { return a.n - b.n })
	out := make([]search.Term, 0, similarTextTerms)
	for _, c := range keep {
		if len(out) == similarTextTerms {
			break
		}
		out = append(out, c.term)
	}
	return out, nil
}

// similarTextPool is how many best text matches are considered before the
// scope is applied.
const similarTextPool = 200

// SimilarCandidates gathers incidents the scope may see that share with
// inc an observable, an affected system or alert host, the category, or
// text (terms, any of which may match). The newest of each kind are kept
// when there are many.
func (r reader) SimilarCandidates(ctx context.Context, inc *core.Incident, scope Scope, terms []search.Term) ([]*SimilarCandidate, error) {
	cond, sargs := scope.where()
	byID := map[int64]*SimilarCandidate{}
	var order []int64
	cand := func(id int64) *SimilarCandidate {
		c := byID[id]
		if c == nil {
			c = &SimilarCandidate{ID: id}
			byID[id] = c
			order = append(order, id)
		}
		return c
	}
	collect := func(what, q string, args []any, add func(c *SimilarCandidate, v string, score float64)) error {
		rows, err := r.query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("similar incidents (%s): %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var v string
			var score float64
			if err := rows.Scan(&id, &v, &score); err != nil {
				return fmt.Errorf("similar incidents (%s): %w", what, err)
			}
			add(cand(id), v, score)
		}
		return rows.Err()
	}
	with := func(first []any) []any { return append(append(first, sargs...), similarFanout) }
	err := collect("observables", `SELECT io2.incident_id, o.type || ':' || o.value, 0.0 FROM incident_observables io1
		JOIN incident_observables io2 ON io2.observable_id = io1.observable_id AND io2.incident_id <> io1.incident_id
		JOIN observables o ON o.id = io1.observable_id JOIN incidents i ON i.id = io2.incident_id
		WHERE io1.incident_id = ? AND `+cond+` ORDER BY io2.incident_id DESC LIMIT ?`, with([]any{inc.ID}),
		func(c *SimilarCandidate, v string, _ float64) { c.Observables = append(c.Observables, v) })
	if err != nil {
		return nil, err
	}
	addSystem := func(c *SimilarCandidate, v string, _ float64) {
		for _, s := range c.Systems {
			if s == v {
				return
			}
		}
		c.Systems = append(c.Systems, v)
	}
	err = collect("systems", `SELECT s2.incident_id, s2.name, 0.0 FROM incident_systems s1
		JOIN incident_systems s2 ON s2.name = s1.name AND s2.incident_id <> s1.incident_id JOIN incidents i ON i.id = s2.incident_id
		WHERE s1.incident_id = ? AND `+cond+` ORDER BY s2.incident_id DESC LIMIT ?`, with([]any{inc.ID}), addSystem)
	if err != nil {
		return nil, err
	}
	err = collect("hosts", `SELECT DISTINCT a2.incident_id, LOWER(a2.host), 0.0 FROM alerts a1
		JOIN alerts a2 ON a2.host = a1.host AND a2.incident_id <> a1.incident_id JOIN incidents i ON i.id = a2.incident_id
		WHERE a1.incident_id = ? AND a1.host <> '' AND `+cond+` ORDER BY a2.incident_id DESC LIMIT ?`, with([]any{inc.ID}), addSystem)
	if err != nil {
		return nil, err
	}
	if inc.Category != "" {
		err = collect("category", `SELECT i.id, '', 0.0 FROM incidents i WHERE i.category = ? AND i.id <> ? AND `+cond+`
			ORDER BY i.id DESC LIMIT ?`, append(append([]any{string(inc.Category), inc.ID}, sargs...), 50),
			func(*SimilarCandidate, string, float64) {})
		if err != nil {
			return nil, err
		}
	}
	terms, err = r.rareTerms(ctx, terms)
	if err != nil {
		return nil, err
	}
	if len(terms) > 0 {
		t := r.knowledgeText("incident_fts")
		tq := r.anyOf(terms)
		var args []any
		for range t.scoreArgs {
			args = append(args, tq)
		}
		args = append(append(append(args, tq, similarTextPool, inc.ID), sargs...), 50)
		// The best matches are picked from the index alone, then joined:
		// words every incident has ("メール") match most of the table, and
		// joining each match before ranking took hundreds of milliseconds
		// over 100,000 incidents. Hidden ones among the pool are dropped.
		err = collect("text", `SELECT t.id, '', t.score FROM (SELECT f.rowid AS id, `+t.score+` AS score FROM incident_fts f
			WHERE `+t.match+` ORDER BY score DESC LIMIT ?) t JOIN incidents i ON i.id = t.id
			WHERE i.id <> ? AND `+cond+` ORDER BY t.score DESC LIMIT ?`, args,
			func(c *SimilarCandidate, _ string, score float64) { c.TextScore = score })
		if err != nil {
			return nil, err
		}
	}
	if len(order) == 0 {
		return nil, nil
	}
	// Read what the answer shows of each candidate, in the scope again:
	// the candidates were found in it, and this keeps it so if a query
	// above is ever changed.
	args := make([]any, 0, len(order)+len(sargs))
	for _, id := range order {
		args = append(args, id)
	}
	args = append(args, sargs...)
	rows, err := r.query(ctx, `SELECT i.id, i.key, i.title, i.description, i.category, i.cause_class, i.severity, i.phase,
		i.exercise, i.closed_at, COALESCE(k.id, 0) FROM incidents i LEFT JOIN knowledge k ON k.incident_id = i.id
		WHERE i.id IN (`+placeholders(len(order))+`) AND `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("similar incidents: %w", err)
	}
	defer rows.Close()
	var out []*SimilarCandidate
	for rows.Next() {
		var id int64
		var exercise int
		var closed sql.NullInt64
		var c SimilarCandidate
		if err := rows.Scan(&id, &c.Key, &c.Title, &c.Description, &c.Category, &c.CauseClass, &c.Severity, &c.Phase,
			&exercise, &closed, &c.KnowledgeID); err != nil {
			return nil, fmt.Errorf("similar incidents: %w", err)
		}
		found := byID[id]
		found.Key, found.Title, found.Description, found.Category, found.CauseClass = c.Key, c.Title, c.Description, c.Category, c.CauseClass
		found.Severity, found.Phase, found.Exercise, found.KnowledgeID = c.Severity, c.Phase, exercise == 1, c.KnowledgeID
		if closed.Valid {
			found.ClosedAt = timePtr(closed)
		}
		out = append(out, found)
	}
	return out, rows.Err()
}
