package app

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
	"github.com/irdesk/irdesk/internal/store"
)

// One search over incidents and the knowledge base.
//
// Ranking across the two kinds: the knowledge base first, then incidents,
// each in its own index's rank order. The two scores (bm25 over two
// differently sized indexes with different columns, or ts_rank) are not on
// one scale, and normalising them per page would make the order of a hit
// depend on which page it lands on. Knowledge leads because it is the
// distilled answer — a closed incident's review or a runbook — while the
// incidents behind it are the raw record. The cursor says which list a
// page continues and where, so paging is stable.

// Search kinds.
const (
	SearchAll       = "all"
	SearchIncidents = "incident"
	SearchKnowledge = "knowledge"
)

// SearchCursor continues a search: InIncidents says the knowledge part is
// done, Offset is the position in the list being read.
type SearchCursor struct {
	InIncidents bool
	Offset      int
}

// SearchQuery is one page of a search.
type SearchQuery struct {
	Q      string
	Kind   string // all (default), incident, knowledge
	Limit  int
	Cursor SearchCursor
}

// SearchHit is one result: an incident, or a knowledge entry (an
// incident's review or an article). Title and snippet come as parts with
// the matched terms marked, for the client to mark up; they are never
// HTML.
type SearchHit struct {
	Kind          string             `json:"kind"`
	ID            int64              `json:"id"`
	Key           string             `json:"key,omitempty"`
	KnowledgeKind core.KnowledgeKind `json:"knowledge_kind,omitempty"`
	Title         string             `json:"title"`
	TitleMarks    []core.SnippetPart `json:"title_marks"`
	Snippet       []core.SnippetPart `json:"snippet"`
	Rank          float64            `json:"rank"`
	Phase         core.Phase         `json:"phase,omitempty"`
	Severity      core.Severity      `json:"severity,omitempty"`
	Restricted    bool               `json:"restricted"`
	Exercise      bool               `json:"exercise"`
	UpdatedAt     time.Time          `json:"updated_at"`
}

// SearchPage is one page of hits; Next continues it when set.
type SearchPage struct {
	Hits []SearchHit
	Next *SearchCursor
}

// Search finds incidents and knowledge entries the actor may see in which
// every word of q occurs (Latin words, CJK bigrams: the tokenizer of the
// incident search). Reporters have no access to the knowledge base: for
// them "all" means their own incidents, and "knowledge" is refused.
func (app *App) Search(ctx context.Context, a Actor, q SearchQuery) (SearchPage, error) {
	if q.Kind == "" {
		q.Kind = SearchAll
	}
	if q.Kind != SearchAll && q.Kind != SearchIncidents && q.Kind != SearchKnowledge {
		return SearchPage{}, core.Invalid("kind", "must be incident, knowledge or all")
	}
	if strings.TrimSpace(q.Q) == "" {
		return SearchPage{}, core.Invalid("q", "is required")
	}
	if utf8.RuneCountInString(q.Q) > 1000 {
		return SearchPage{}, core.Invalid("q", "is longer than 1000 characters")
	}
	if q.Limit <= 0 || q.Limit > store.MaxListLimit {
		q.Limit = 20
	}
	if q.Cursor.Offset < 0 || q.Cursor.Offset > store.MaxSearchOffset {
		return SearchPage{}, core.Invalid("cursor", "pages end at %d results; narrow the search", store.MaxSearchOffset)
	}
	if a.User.Role == core.RoleReporter && !a.System {
		if q.Kind == SearchKnowledge {
			return SearchPage{}, kbRead(a)
		}
		q.Kind = SearchIncidents
	}
	terms := search.Query(q.Q)
	p := SearchPage{Hits: []SearchHit{}}
	if len(terms) == 0 {
		// Only punctuation: nothing can match.
		return p, nil
	}
	cur := q.Cursor
	if q.Kind == SearchIncidents {
		cur.InIncidents = true
	}
	if !cur.InIncidents {
		rows, more, err := app.store.FindKnowledge(ctx, store.KnowledgeFilter{Scope: a.scope(), Query: q.Q,
			Offset: cur.Offset, Limit: q.Limit})
		if err != nil {
			return SearchPage{}, err
		}
		for _, r := range rows {
			k := r.Knowledge
			p.Hits = append(p.Hits, SearchHit{Kind: SearchKnowledge, ID: k.ID, Key: k.IncidentKey, KnowledgeKind: k.Kind,
				Title: k.Title, TitleMarks: highlight(k.Title, terms), Snippet: snippet(snippetSources(k), terms),
				Rank: r.Score, Restricted: k.Restricted, Exercise: k.Exercise, UpdatedAt: k.UpdatedAt})
		}
		if more {
			p.Next = &SearchCursor{Offset: cur.Offset + len(rows)}
			return p, nil
		}
		if q.Kind == SearchKnowledge {
			return p, nil
		}
		// The knowledge part ended on this page: incidents fill the rest.
		cur = SearchCursor{InIncidents: true}
	}
	room := q.Limit - len(p.Hits)
	if room == 0 {
		// Whether incidents follow is unknown without asking: a last,
		// possibly empty page is cheaper than a second query on every one.
		p.Next = &SearchCursor{InIncidents: true}
		return p, nil
	}
	hits, more, err := app.store.SearchIncidents(ctx, a.scope(), q.Q, cur.Offset, room)
	if err != nil {
		return SearchPage{}, err
	}
	for _, h := range hits {
		inc := h.Incident
		p.Hits = append(p.Hits, SearchHit{Kind: SearchIncidents, ID: inc.ID, Key: inc.Key, Title: inc.Title,
			TitleMarks: highlight(inc.Title, terms), Snippet: snippet(incidentSnippetSources(inc), terms), Rank: h.Score,
			Phase: inc.Phase, Severity: inc.Severity, Restricted: inc.Restricted, Exercise: inc.Exercise, UpdatedAt: inc.UpdatedAt})
	}
	if more {
		p.Next = &SearchCursor{InIncidents: true, Offset: cur.Offset + len(hits)}
	}
	return p, nil
}

// incidentSnippetSources are the texts of an incident a snippet may come
// from, most telling first.
func incidentSnippetSources(inc *core.Incident) []string {
	return []string{inc.Description, inc.Facts.What, inc.Facts.Why, inc.Facts.HowFound, inc.Facts.ActionsTaken,
		inc.RootCause, inc.LessonsLearned, inc.PreventionMeasures, inc.Facts.Location, inc.Facts.DiscoveredBy,
		strings.Join(inc.AffectedSystems, ", "), inc.Key}
}
