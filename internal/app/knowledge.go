package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
	"github.com/irdesk/irdesk/internal/store"
)

// The knowledge base: every closed incident leaves its review as an
// entry, and responders write articles (how-tos, runbooks). Viewers and up
// read it; analysts and up write it; reporters have no access, as to the
// rest of the response record. An incident's entry is seen by whoever may
// see the incident.

func kbRead(a Actor) error {
	if a.System || (a.User.Role != core.RoleReporter && a.User.Role.Valid()) {
		return nil
	}
	return forbidden("reporters have no access to the knowledge base")
}

func kbWrite(a Actor) error {
	if a.System || a.User.Role.AtLeastAnalyst() {
		return nil
	}
	return forbidden("only analysts, leads and admins write the knowledge base")
}

// recordKnowledge turns the review of an incident being closed into its
// knowledge entry, inside the closing transaction: written the first
// time, rewritten (the previous text kept in the history) when the
// incident is closed again. inc must be reloaded (phases, names).
// Measures are taken from the prevention text, one per line; those there
// already keep their owner, due date and status.
func (app *App) recordKnowledge(ctx context.Context, tx *store.Tx, a Actor, inc *core.Incident) error {
	actions, err := tx.ListActions(ctx, inc.ID)
	if err != nil {
		return err
	}
	k := &core.Knowledge{Kind: core.KnowledgeIncident, IncidentID: inc.ID, IncidentKey: inc.Key,
		Restricted: inc.Restricted, Exercise: inc.Exercise, AuthorID: a.User.ID, Author: a.name(), Tags: []string{}}
	fillReview(k, inc, actions)
	id, err := tx.KnowledgeIDForIncident(ctx, inc.ID)
	if err != nil {
		return err
	}
	now := tx.Now()
	var prevMeasures []core.Measure
	if id == 0 {
		k.CreatedAt, k.UpdatedAt = now, now
		if err := tx.CreateKnowledge(ctx, k); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvKnowledgeCreated, inc.ID, map[string]any{"knowledge_id": k.ID,
			"kind": k.Kind, "content": k.Content(), "review": k.Review}); err != nil {
			return err
		}
	} else {
		old, err := tx.GetKnowledge(ctx, id, store.Scope{All: true})
		if err != nil {
			return err
		}
		prev := old.Content()
		k.ID, k.Version, k.CreatedAt, k.UpdatedAt = old.ID, old.Version, old.CreatedAt, now
		k.AuthorID, k.Author = old.AuthorID, old.Author
		// Tags and language were set on the entry, not the incident.
		k.Tags, k.Language = old.Tags, old.Language
		if err := tx.UpdateKnowledge(ctx, k, prev, a.name()); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvKnowledgeUpdated, inc.ID, map[string]any{"knowledge_id": k.ID,
			"version": k.Version, "reason": "incident closed again", "before": prev, "after": k.Content(), "review": k.Review}); err != nil {
			return err
		}
		prevMeasures = old.Measures
	}
	for _, text := range measureLines(inc.PreventionMeasures) {
		if slices.ContainsFunc(prevMeasures, func(m core.Measure) bool { return m.Text == text }) {
			continue
		}
		if len(prevMeasures) >= core.MaxMeasures {
			break
		}
		m := core.Measure{KnowledgeID: k.ID, Text: text, Status: core.MeasureOpen}
		if err := tx.AddMeasure(ctx, &m); err != nil {
			return err
		}
		prevMeasures = append(prevMeasures, m)
		if err := appendEvent(ctx, tx, a, core.EvMeasureAdded, inc.ID, map[string]any{"knowledge_id": k.ID, "measure": m}); err != nil {
			return err
		}
	}
	return nil
}

// fillReview copies an incident's review into its entry.
func fillReview(k *core.Knowledge, inc *core.Incident, actions []core.ActionRecord) {
	k.Title = inc.Title
	k.Summary = inc.Description
	if strings.TrimSpace(k.Summary) == "" {
		k.Summary = inc.Facts.What
	}
	k.Category, k.CauseClass = inc.Category, inc.CauseClass
	k.RootCause, k.LessonsLearned, k.PreventionMeasures = inc.RootCause, inc.LessonsLearned, inc.PreventionMeasures
	r := &core.KnowledgeReview{
		Scope: core.KnowledgeScope{AffectedSystems: slices.Clone(inc.AffectedSystems), PeopleAffected: inc.Flags.PeopleAffected,
			PersonalData: inc.Flags.PersonalData},
		Actions: []core.KnowledgeAction{}, Tools: []string{},
		DetectedAt: inc.Timestamps.DetectedAt, ClosedAt: inc.Timestamps.ClosedAt,
	}
	if r.Scope.AffectedSystems == nil {
		r.Scope.AffectedSystems = []string{}
	}
	for _, ac := range actions {
		r.Actions = append(r.Actions, core.KnowledgeAction{Phase: ac.Phase, Description: ac.Description,
			PerformedBy: ac.PerformedBy, PerformedAt: ac.PerformedAt, Tool: ac.Tool})
		if ac.Tool != "" && !slices.Contains(r.Tools, ac.Tool) {
			r.Tools = append(r.Tools, ac.Tool)
		}
	}
	r.PhaseTimes = phaseTimes(inc.Phases)
	start := inc.Timestamps.ReportedAt
	if inc.Timestamps.DetectedAt != nil {
		start = *inc.Timestamps.DetectedAt
	}
	if inc.Timestamps.ClosedAt != nil {
		r.TotalSeconds = max(int64(inc.Timestamps.ClosedAt.Sub(start).Round(time.Second)/time.Second), 0)
	}
	k.Review = r
}

// phaseTimes adds up the stays in each phase; a phase entered twice (sent
// back after re-infection) counts both. Phases never entered are left out.
func phaseTimes(periods []core.PhasePeriod) []core.PhaseTime {
	totals := map[core.Phase]*core.PhaseTime{}
	for _, p := range periods {
		if p.Phase == core.PhaseClosed || p.LeftAt == nil {
			continue
		}
		t := totals[p.Phase]
		if t == nil {
			t = &core.PhaseTime{Phase: p.Phase}
			totals[p.Phase] = t
		}
		t.Stays++
		t.Seconds += max(int64(p.LeftAt.Sub(p.EnteredAt).Round(time.Second)/time.Second), 0)
	}
	out := []core.PhaseTime{}
	for _, ph := range core.Phases {
		if t := totals[ph]; t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// bullet is a list marker at the start of a line of measures.
var bullet = regexp.MustCompile(`^(?:[-*•・●○◦]+|\(?[0-9０-９]{1,3}[.)．）、]|[（(][0-9０-９]{1,3}[)）])\s*`)

// measureLines splits a prevention text into measures, one per non-empty
// line, list markers removed.
func measureLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(bullet.ReplaceAllString(strings.TrimSpace(line), ""))
		if line == "" || slices.Contains(out, line) {
			continue
		}
		if utf8.RuneCountInString(line) > maxMeasureLen {
			line = string([]rune(line)[:maxMeasureLen])
		}
		out = append(out, line)
		if len(out) == core.MaxMeasures {
			break
		}
	}
	return out
}

const maxMeasureLen = 2000

// NewArticle is a free-standing article as submitted.
type NewArticle struct {
	Title    string   `json:"title"`
	Summary  string   `json:"summary"`
	Body     string   `json:"body"`
	Tags     []string `json:"tags"`
	Language string   `json:"language"`
}

var langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// checkContent normalises and checks the editable fields of an entry.
func checkContent(c *core.KnowledgeContent, article bool) error {
	c.Title = strings.TrimSpace(c.Title)
	if c.Title == "" {
		return core.Invalid("title", "is required")
	}
	if utf8.RuneCountInString(c.Title) > core.MaxTitleLen {
		return core.Invalid("title", "is longer than %d characters", core.MaxTitleLen)
	}
	if article && strings.TrimSpace(c.Body) == "" {
		return core.Invalid("body", "is required")
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"summary", c.Summary}, {"body", c.Body}, {"root_cause", c.RootCause}, {"lessons_learned", c.LessonsLearned},
		{"prevention_measures", c.PreventionMeasures}} {
		if utf8.RuneCountInString(f.v) > core.MaxTextLen {
			return core.Invalid(f.name, "is longer than %d characters", core.MaxTextLen)
		}
		if !utf8.ValidString(f.v) {
			return core.Invalid(f.name, "is not valid UTF-8")
		}
	}
	if len(c.Tags) > core.MaxTags {
		return core.Invalid("tags", "at most %d tags", core.MaxTags)
	}
	tags := []string{}
	for _, t := range c.Tags {
		t = strings.TrimSpace(t)
		if t == "" {
			return core.Invalid("tags", "a tag is empty")
		}
		if utf8.RuneCountInString(t) > core.MaxTagLen {
			return core.Invalid("tags", "a tag is longer than %d characters", core.MaxTagLen)
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	c.Tags = tags
	c.Language = strings.TrimSpace(c.Language)
	if c.Language == "" {
		c.Language = guessLanguage(c.Title + " " + c.Body + " " + c.Summary)
	}
	if !langPattern.MatchString(c.Language) {
		return core.Invalid("language", "must be a language code such as ja or en")
	}
	return nil
}

// guessLanguage says ja for text with kana or kanji, en otherwise: what
// the two languages of the desk need, not a general detector.
func guessLanguage(text string) string {
	for _, r := range text {
		if isCJK(r) {
			return "ja"
		}
	}
	return "en"
}

func applyContent(k *core.Knowledge, c core.KnowledgeContent) {
	k.Title, k.Summary, k.Body = c.Title, c.Summary, c.Body
	k.RootCause, k.LessonsLearned, k.PreventionMeasures = c.RootCause, c.LessonsLearned, c.PreventionMeasures
	k.Tags, k.Language = c.Tags, c.Language
}

// CreateArticle writes a free-standing article. Analysts and up.
func (app *App) CreateArticle(ctx context.Context, a Actor, in NewArticle) (*core.Knowledge, error) {
	if err := kbWrite(a); err != nil {
		return nil, err
	}
	c := core.KnowledgeContent{Title: in.Title, Summary: in.Summary, Body: in.Body, Tags: in.Tags, Language: in.Language}
	if err := checkContent(&c, true); err != nil {
		return nil, err
	}
	var out *core.Knowledge
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		k := &core.Knowledge{Kind: core.KnowledgeArticle, AuthorID: a.User.ID, Author: a.name(),
			CreatedAt: tx.Now(), UpdatedAt: tx.Now()}
		applyContent(k, c)
		if err := tx.CreateKnowledge(ctx, k); err != nil {
			return err
		}
		out = k
		return appendEvent(ctx, tx, a, core.EvKnowledgeCreated, 0, map[string]any{"knowledge_id": k.ID, "kind": k.Kind, "content": c})
	})
	if err != nil {
		return nil, err
	}
	out.Measures = []core.Measure{}
	return out, nil
}

// GetKnowledge returns an entry the actor may see.
func (app *App) GetKnowledge(ctx context.Context, a Actor, id int64) (*core.Knowledge, error) {
	if err := kbRead(a); err != nil {
		return nil, err
	}
	return app.store.GetKnowledge(ctx, id, a.scope())
}

// KnowledgeEdit changes an entry's editable fields; nil fields stay.
// Version must be the version read.
type KnowledgeEdit struct {
	Title              *string   `json:"title"`
	Summary            *string   `json:"summary"`
	Body               *string   `json:"body"`
	RootCause          *string   `json:"root_cause"`
	LessonsLearned     *string   `json:"lessons_learned"`
	PreventionMeasures *string   `json:"prevention_measures"`
	Tags               *[]string `json:"tags"`
	Language           *string   `json:"language"`
	Version            *int64    `json:"version"`
}

// UpdateKnowledge edits an article or the editable texts of an incident's
// entry; the text replaced is kept in the history. Analysts and up who
// may see the entry.
func (app *App) UpdateKnowledge(ctx context.Context, a Actor, id int64, e KnowledgeEdit) (*core.Knowledge, error) {
	if err := kbWrite(a); err != nil {
		return nil, err
	}
	if e.Version == nil {
		return nil, core.Invalid("version", "is required: send the version you read")
	}
	if _, err := app.store.GetKnowledge(ctx, id, a.scope()); err != nil {
		return nil, err
	}
	var out *core.Knowledge
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		k, err := tx.GetKnowledge(ctx, id, a.scope())
		if err != nil {
			return err
		}
		if k.Version != *e.Version {
			return core.Conflict("knowledge entry %d is at version %d, not %d; reload and retry", k.ID, k.Version, *e.Version)
		}
		article := k.Kind == core.KnowledgeArticle
		if !article && e.Body != nil {
			return core.Invalid("body", "an incident's entry has no body; edit its summary, root cause, lessons or measures")
		}
		if article && (e.RootCause != nil || e.LessonsLearned != nil || e.PreventionMeasures != nil) {
			return core.Invalid("root_cause", "an article has only a title, summary, body, tags and language")
		}
		prev := k.Content()
		c := k.Content()
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&c.Title, e.Title)
		set(&c.Summary, e.Summary)
		set(&c.Body, e.Body)
		set(&c.RootCause, e.RootCause)
		set(&c.LessonsLearned, e.LessonsLearned)
		set(&c.PreventionMeasures, e.PreventionMeasures)
		set(&c.Language, e.Language)
		if e.Tags != nil {
			c.Tags = *e.Tags
		}
		if err := checkContent(&c, article); err != nil {
			return err
		}
		if contentEqual(prev, c) {
			out = k
			return nil
		}
		applyContent(k, c)
		k.UpdatedAt = tx.Now()
		if err := tx.UpdateKnowledge(ctx, k, prev, a.name()); err != nil {
			return err
		}
		out = k
		return appendEvent(ctx, tx, a, core.EvKnowledgeUpdated, k.IncidentID, map[string]any{"knowledge_id": k.ID,
			"version": k.Version, "before": prev, "after": c})
	})
	return out, err
}

func contentEqual(x, y core.KnowledgeContent) bool {
	return x.Title == y.Title && x.Summary == y.Summary && x.Body == y.Body && x.RootCause == y.RootCause &&
		x.LessonsLearned == y.LessonsLearned && x.PreventionMeasures == y.PreventionMeasures &&
		slices.Equal(x.Tags, y.Tags) && x.Language == y.Language
}

// KnowledgeHistory lists the replaced versions of an entry, newest first.
func (app *App) KnowledgeHistory(ctx context.Context, a Actor, id int64) ([]core.KnowledgeVersion, error) {
	if _, err := app.GetKnowledge(ctx, a, id); err != nil {
		return nil, err
	}
	return app.store.KnowledgeHistory(ctx, id)
}

// KnowledgeQuery is a search or list of the knowledge base.
type KnowledgeQuery struct {
	Q      string
	Kind   core.KnowledgeKind
	Limit  int
	Offset int   // next page of a search
	Before int64 // next page of a list
}

// KnowledgePage is one page of results. NextOffset (search) or NextBefore
// (list) continue it when More.
type KnowledgePage struct {
	Hits       []core.KnowledgeHit
	More       bool
	NextOffset int
	NextBefore int64
}

// SearchKnowledge searches entries and articles the actor may see (every
// word must match; best first, with snippets), or lists them newest first
// when the query is empty.
func (app *App) SearchKnowledge(ctx context.Context, a Actor, q KnowledgeQuery) (KnowledgePage, error) {
	if err := kbRead(a); err != nil {
		return KnowledgePage{}, err
	}
	if q.Kind != "" && q.Kind != core.KnowledgeArticle && q.Kind != core.KnowledgeIncident {
		return KnowledgePage{}, core.Invalid("kind", "must be incident or article")
	}
	if utf8.RuneCountInString(q.Q) > 1000 {
		return KnowledgePage{}, core.Invalid("q", "is longer than 1000 characters")
	}
	rows, more, err := app.store.FindKnowledge(ctx, store.KnowledgeFilter{Scope: a.scope(), Query: q.Q, Kind: q.Kind,
		Offset: q.Offset, Before: q.Before, Limit: q.Limit})
	if err != nil {
		return KnowledgePage{}, err
	}
	terms := search.Query(q.Q)
	p := KnowledgePage{Hits: make([]core.KnowledgeHit, 0, len(rows)), More: more}
	for _, r := range rows {
		p.Hits = append(p.Hits, core.KnowledgeHit{Knowledge: r.Knowledge, Rank: r.Score,
			Snippet: snippet(snippetSources(r.Knowledge), terms), TitleMarks: highlight(r.Title, terms)})
	}
	if more && len(rows) > 0 {
		p.NextOffset = q.Offset + len(rows)
		p.NextBefore = rows[len(rows)-1].ID
	}
	return p, nil
}

// snippetSources are the texts a snippet may come from, most telling first.
func snippetSources(k *core.Knowledge) []string {
	out := []string{k.Summary, k.Body, k.RootCause, k.LessonsLearned, k.PreventionMeasures}
	if k.Review != nil {
		for _, ac := range k.Review.Actions {
			out = append(out, ac.Description)
		}
	}
	return out
}

// Snippet size, in characters: some context before the first match, and
// enough after it to read on.
const (
	snippetBefore = 40
	snippetLen    = 160
)

// snippet cuts from the text with the most distinct matched terms a piece
// around its first match, the matches marked. Without any match (the hit
// was in the title or tags) it is the start of the first text.
func snippet(texts []string, terms []search.Term) []core.SnippetPart {
	best, bestN := -1, 0
	var bestSpans []span
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		if best < 0 {
			best = i
		}
		spans, n := matchSpans(t, terms)
		if n > bestN {
			best, bestN, bestSpans = i, n, spans
		}
	}
	if best < 0 {
		return []core.SnippetPart{}
	}
	rs := []rune(texts[best])
	for i, r := range rs {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			rs[i] = ' '
		}
	}
	start := 0
	if len(bestSpans) > 0 {
		start = max(bestSpans[0].from-snippetBefore, 0)
	}
	end := min(start+snippetLen, len(rs))
	var parts []core.SnippetPart
	add := func(text string, match bool) {
		if text != "" {
			parts = append(parts, core.SnippetPart{Text: text, Match: match})
		}
	}
	prefix, suffix := "", ""
	if start > 0 {
		prefix = "…"
	}
	if end < len(rs) {
		suffix = "…"
	}
	pos := start
	for _, s := range bestSpans {
		if s.to <= start || s.from >= end {
			continue
		}
		from, to := max(s.from, pos), min(s.to, end)
		if from > pos {
			add(string(rs[pos:from]), false)
		}
		add(string(rs[from:to]), true)
		pos = to
	}
	add(string(rs[pos:end]), false)
	if len(parts) > 0 {
		if prefix != "" {
			parts[0].Text = strings.TrimLeft(parts[0].Text, " ")
			if parts[0].Match {
				parts = append([]core.SnippetPart{{Text: prefix}}, parts...)
			} else {
				parts[0].Text = prefix + parts[0].Text
			}
		}
		if suffix != "" {
			last := &parts[len(parts)-1]
			if last.Match {
				parts = append(parts, core.SnippetPart{Text: suffix})
			} else {
				last.Text = strings.TrimRight(last.Text, " ") + suffix
			}
		}
	}
	return parts
}

// highlight marks every match of terms in a whole (short) text.
func highlight(text string, terms []search.Term) []core.SnippetPart {
	spans, _ := matchSpans(text, terms)
	rs := []rune(text)
	parts := []core.SnippetPart{}
	pos := 0
	for _, s := range spans {
		if s.from > pos {
			parts = append(parts, core.SnippetPart{Text: string(rs[pos:s.from])})
		}
		parts = append(parts, core.SnippetPart{Text: string(rs[s.from:s.to]), Match: true})
		pos = s.to
	}
	if pos < len(rs) {
		parts = append(parts, core.SnippetPart{Text: string(rs[pos:])})
	}
	return parts
}

// span is a matched stretch of a text, in runes of the original.
type span struct{ from, to int }

// matchSpans finds where the query terms occur in text, the way the
// index matched them: text is folded as package search folds it (NFKC,
// lower case) rune by rune, keeping where each folded rune came from; a
// Latin term must start a word (and end it, unless a prefix); a CJK
// bigram may be anywhere. It returns the merged spans in order and how
// many distinct terms matched.
func matchSpans(text string, terms []search.Term) ([]span, int) {
	if len(terms) == 0 || text == "" {
		return nil, 0
	}
	var folded []rune
	var origin []int
	for i, r := range []rune(text) {
		for _, f := range strings.ToLower(norm.NFKC.String(string(r))) {
			folded = append(folded, f)
			origin = append(origin, i)
		}
	}
	word := func(i int) bool { return i >= 0 && i < len(folded) && isWordRune(folded[i]) && !isCJK(folded[i]) }
	var spans []span
	distinct := 0
	for _, t := range terms {
		tr := []rune(t.Text)
		if len(tr) == 0 {
			continue
		}
		latin := !isCJK(tr[0])
		found := false
		for i := 0; i+len(tr) <= len(folded); i++ {
			if !slices.Equal(folded[i:i+len(tr)], tr) {
				continue
			}
			if latin && (word(i-1) || (!t.Prefix && word(i+len(tr)))) {
				continue
			}
			found = true
			end := i + len(tr)
			// A prefix term marks the whole word it starts.
			for latin && t.Prefix && word(end) {
				end++
			}
			spans = append(spans, span{origin[i], origin[end-1] + 1})
		}
		if found {
			distinct++
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return cmp.Or(cmp.Compare(x.from, y.from), cmp.Compare(x.to, y.to)) })
	var merged []span
	for _, s := range spans {
		if n := len(merged); n > 0 && s.from <= merged[n-1].to {
			merged[n-1].to = max(merged[n-1].to, s.to)
			continue
		}
		merged = append(merged, s)
	}
	return merged, distinct
}

// isCJK and isWordRune are package search's classes of characters.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		r == 'ー' || r == '々' || r == '〆' || r == 'ヶ'
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// NewMeasure is a prevention measure added by hand.
type NewMeasure struct {
	Text  string `json:"text"`
	Owner string `json:"owner"`
	Due   string `json:"due"`
}

// MeasurePatch changes a measure; nil fields stay. An empty owner or due
// date clears it.
type MeasurePatch struct {
	Text    *string             `json:"text"`
	Owner   *string             `json:"owner"`
	Due     *string             `json:"due"`
	Status  *core.MeasureStatus `json:"status"`
	Version *int64              `json:"version"`
}

func checkMeasureText(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", core.Invalid("text", "is required")
	}
	if utf8.RuneCountInString(text) > maxMeasureLen {
		return "", core.Invalid("text", "is longer than %d characters", maxMeasureLen)
	}
	return text, nil
}

func checkDue(due string) (string, error) {
	due = strings.TrimSpace(due)
	if due == "" {
		return "", nil
	}
	if _, err := time.Parse(time.DateOnly, due); err != nil {
		return "", core.Invalid("due", "must be a date (YYYY-MM-DD)")
	}
	return due, nil
}

// measureOwner resolves an owner by name inside the transaction; "" is
// nobody.
func measureOwner(ctx context.Context, tx *store.Tx, name string) (int64, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return 0, nil
	}
	u, err := tx.UserByName(ctx, name)
	if errors.Is(err, core.ErrNotFound) {
		return 0, core.Invalid("owner", "no user %q", name)
	}
	if err != nil {
		return 0, err
	}
	if u.Disabled {
		return 0, core.Invalid("owner", "%q is disabled", name)
	}
	return u.ID, nil
}

// knowledgeMutation loads an entry the actor may see inside a write
// transaction, after checking on the read pool first (see mutate).
func (app *App) knowledgeMutation(ctx context.Context, a Actor, id int64, fn func(*store.Tx, *core.Knowledge) error) error {
	if err := kbWrite(a); err != nil {
		return err
	}
	if _, err := app.store.GetKnowledge(ctx, id, a.scope()); err != nil {
		return err
	}
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		k, err := tx.GetKnowledge(ctx, id, a.scope())
		if err != nil {
			return err
		}
		return fn(tx, k)
	})
}

// AddMeasure adds a prevention measure to an entry. Analysts and up.
func (app *App) AddMeasure(ctx context.Context, a Actor, id int64, in NewMeasure) (core.Measure, error) {
	text, err := checkMeasureText(in.Text)
	if err != nil {
		return core.Measure{}, err
	}
	due, err := checkDue(in.Due)
	if err != nil {
		return core.Measure{}, err
	}
	var out core.Measure
	err = app.knowledgeMutation(ctx, a, id, func(tx *store.Tx, k *core.Knowledge) error {
		owner, err := measureOwner(ctx, tx, in.Owner)
		if err != nil {
			return err
		}
		m := core.Measure{KnowledgeID: k.ID, Text: text, OwnerID: owner, Owner: strings.TrimSpace(in.Owner), Due: due, Status: core.MeasureOpen}
		if err := tx.AddMeasure(ctx, &m); err != nil {
			return err
		}
		out = m
		return appendEvent(ctx, tx, a, core.EvMeasureAdded, k.IncidentID, map[string]any{"knowledge_id": k.ID, "measure": m})
	})
	return out, err
}

// UpdateMeasure changes a measure's text, owner, due date or status.
// Analysts and up; each change is audited with the before and after.
func (app *App) UpdateMeasure(ctx context.Context, a Actor, id int64, n int, p MeasurePatch) (core.Measure, error) {
	var text, due string
	var err error
	if p.Text != nil {
		if text, err = checkMeasureText(*p.Text); err != nil {
			return core.Measure{}, err
		}
	}
	if p.Due != nil {
		if due, err = checkDue(*p.Due); err != nil {
			return core.Measure{}, err
		}
	}
	if p.Status != nil && !p.Status.Valid() {
		return core.Measure{}, core.Invalid("status", "must be open or done")
	}
	var out core.Measure
	err = app.knowledgeMutation(ctx, a, id, func(tx *store.Tx, k *core.Knowledge) error {
		i := slices.IndexFunc(k.Measures, func(m core.Measure) bool { return m.N == n })
		if i < 0 {
			return fmt.Errorf("measure %d of entry %d: %w", n, id, core.ErrNotFound)
		}
		before := k.Measures[i]
		m := before
		if p.Version != nil && *p.Version != m.Version {
			return core.Conflict("measure %d is at version %d, not %d; reload and retry", n, m.Version, *p.Version)
		}
		if p.Text != nil {
			m.Text = text
		}
		if p.Due != nil {
			m.Due = due
		}
		if p.Owner != nil {
			owner, err := measureOwner(ctx, tx, *p.Owner)
			if err != nil {
				return err
			}
			m.OwnerID, m.Owner = owner, strings.TrimSpace(*p.Owner)
		}
		if p.Status != nil && *p.Status != m.Status {
			m.Status = *p.Status
			if m.Status == core.MeasureDone {
				now := tx.Now()
				m.DoneAt = &now
			} else {
				m.DoneAt = nil
			}
		}
		if m.Text == before.Text && m.Due == before.Due && m.OwnerID == before.OwnerID && m.Status == before.Status {
			out = m
			return nil
		}
		if err := tx.UpdateMeasure(ctx, &m); err != nil {
			return err
		}
		out = m
		return appendEvent(ctx, tx, a, core.EvMeasureUpdated, k.IncidentID, map[string]any{"knowledge_id": k.ID, "n": n,
			"before": before, "after": m})
	})
	return out, err
}

// MeasureQuery selects measures across the knowledge base.
type MeasureQuery struct {
	Status  core.MeasureStatus
	Overdue bool // open and due before today (in Japan)
	Owner   string
	Limit   int
}

// Measures lists prevention measures of entries the actor may see, due
// soonest first; with Overdue, the open ones past their due date.
func (app *App) Measures(ctx context.Context, a Actor, q MeasureQuery) ([]core.Measure, error) {
	if err := kbRead(a); err != nil {
		return nil, err
	}
	if q.Status != "" && !q.Status.Valid() {
		return nil, core.Invalid("status", "must be open or done")
	}
	today := app.now().In(jst).Format(time.DateOnly)
	f := store.MeasureFilter{Scope: a.scope(), Status: q.Status, Limit: q.Limit}
	if q.Overdue {
		if q.Status == core.MeasureDone {
			return nil, core.Invalid("overdue", "a done measure is never overdue")
		}
		f.Status, f.DueBefore = core.MeasureOpen, today
	}
	if q.Owner != "" {
		id, err := app.UserID(ctx, q.Owner)
		if errors.Is(err, core.ErrNotFound) {
			return []core.Measure{}, nil
		}
		if err != nil {
			return nil, err
		}
		f.OwnerID = id
	}
	ms, err := app.store.FindMeasures(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].Overdue = ms[i].Status == core.MeasureOpen && ms[i].Due != "" && ms[i].Due < today
	}
	return ms, nil
}

// Weights of what two incidents share. An observable (the same C2
// address, the same phishing sender) says most; then the same systems
// hit; the same category or cause says less, as many incidents share one.
const (
	simObservable    = 4.0
	simMaxObservable = 3
	simSystem        = 3.0
	simMaxSystem     = 2
	simCategory      = 2.0
	simCause         = 1.0
	simText          = 6.0 // times the Jaccard overlap of the terms
	simMaxText       = 3.0
	simTerms         = 24
	// MaxSimilar bounds one answer.
	MaxSimilar = 50
)

// SimilarIncidents ranks the incidents, open or closed, that the actor may
// see and that resemble the one with key: shared observables, affected
// systems and alert hosts, category, cause class and words of the title
// and description. Each result says why. Exercises are left out unless the
// incident itself is one.
func (app *App) SimilarIncidents(ctx context.Context, a Actor, key string, limit int) ([]core.SimilarIncident, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxSimilar {
		limit = 10
	}
	own := similarTerms(inc.Title + "\n" + inc.Description)
	query := make([]search.Term, 0, simTerms)
	for _, t := range own {
		if len(query) == simTerms {
			break
		}
		query = append(query, search.Term{Text: t})
	}
	cands, err := app.store.SimilarCandidates(ctx, inc, a.scope(), query)
	if err != nil {
		return nil, err
	}
	out := []core.SimilarIncident{}
	for _, c := range cands {
		if c.Exercise && !inc.Exercise {
			continue
		}
		s := core.SimilarIncident{Key: c.Key, Title: c.Title, Category: c.Category, Severity: c.Severity, Phase: c.Phase,
			Exercise: c.Exercise, ClosedAt: c.ClosedAt, KnowledgeID: c.KnowledgeID, Reasons: []core.SimilarReason{}}
		reason := func(kind string, values []string, score float64) {
			s.Reasons = append(s.Reasons, core.SimilarReason{Kind: kind, Values: values, Score: score})
			s.Score += score
		}
		if len(c.Observables) > 0 {
			slices.Sort(c.Observables)
			reason("observable", c.Observables, simObservable*float64(min(len(c.Observables), simMaxObservable)))
		}
		if len(c.Systems) > 0 {
			slices.Sort(c.Systems)
			reason("system", c.Systems, simSystem*float64(min(len(c.Systems), simMaxSystem)))
		}
		if c.Category == inc.Category {
			reason("category", []string{string(c.Category)}, simCategory)
		}
		if c.CauseClass != "" && c.CauseClass == inc.CauseClass {
			reason("cause_class", []string{string(c.CauseClass)}, simCause)
		}
		theirs := similarTerms(c.Title + "\n" + c.Description)
		if shared, j := overlap(own, theirs); len(shared) > 0 {
			reason("text", shared, min(simText*j, simMaxText))
		}
		if s.Score > 0 {
			s.Score = float64(int(s.Score*100+0.5)) / 100
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(x, y core.SimilarIncident) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), strings.Compare(y.Key, x.Key))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// similarTerms are the distinct terms of a text worth comparing: single
// characters and bare numbers say little.
func similarTerms(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range search.Terms(text) {
		if seen[t] || utf8.RuneCountInString(t) < 2 || strings.TrimFunc(t, unicode.IsDigit) == "" {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// overlap returns the terms two texts share (at most five, longest
// first, for the reason shown) and the Jaccard index of their term sets.
func overlap(a, b []string) ([]string, float64) {
	if len(a) == 0 || len(b) == 0 {
		return nil, 0
	}
	inB := map[string]bool{}
	for _, t := range b {
		inB[t] = true
	}
	var shared []string
	for _, t := range a {
		if inB[t] {
			shared = append(shared, t)
		}
	}
	j := float64(len(shared)) / float64(len(a)+len(b)-len(shared))
	slices.SortStableFunc(shared, func(x, y string) int { return cmp.Compare(len(y), len(x)) })
	if len(shared) > 5 {
		shared = shared[:5]
	}
	return shared, j
}
