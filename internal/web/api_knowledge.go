package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// checkParams refuses query parameters a handler does not know, so a
// misspelt filter is an error rather than a silently wider answer.
func checkParams(q url.Values, known ...string) error {
	for name := range q {
		found := false
		for _, k := range known {
			if k == name {
				found = true
				break
			}
		}
		if !found {
			return badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	return nil
}

// A knowledge cursor continues a ranked search by offset ("o") or a list
// by the last id ("i"). Opaque to clients, like the incident cursor.
const kbCursorPrefix = "kb1:"

func encodeKBCursor(kind string, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kbCursorPrefix + kind + ":" + strconv.FormatInt(n, 10)))
}

func decodeKBCursor(c string, search bool) (offset int, before int64, err error) {
	bad := badRequest("cursor", "not a cursor this server issued for this query")
	b, derr := base64.RawURLEncoding.DecodeString(c)
	if derr != nil || !strings.HasPrefix(string(b), kbCursorPrefix) {
		return 0, 0, bad
	}
	kind, num, ok := strings.Cut(strings.TrimPrefix(string(b), kbCursorPrefix), ":")
	n, perr := strconv.ParseInt(num, 10, 64)
	if !ok || perr != nil || n < 1 {
		return 0, 0, bad
	}
	switch {
	case kind == "o" && search && n <= store.MaxSearchOffset:
		return int(n), 0, nil
	case kind == "i" && !search:
		return 0, n, nil
	}
	return 0, 0, bad
}

type knowledgeList struct {
	Items      []core.KnowledgeHit `json:"items"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

// searchKnowledge answers GET /api/v1/knowledge: a ranked search with q,
// else the newest entries first.
func (s *Server) searchKnowledge(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "q", "kind", "limit", "cursor"); err != nil {
		return err
	}
	kq := app.KnowledgeQuery{Q: q.Get("q"), Kind: core.KnowledgeKind(q.Get("kind"))}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxListLimit {
			return badRequest("limit", "limit must be 1 to "+strconv.Itoa(store.MaxListLimit))
		}
		kq.Limit = n
	}
	searching := strings.TrimSpace(kq.Q) != ""
	if c := q.Get("cursor"); c != "" {
		var err error
		if kq.Offset, kq.Before, err = decodeKBCursor(c, searching); err != nil {
			return err
		}
	}
	p, err := s.app.SearchKnowledge(r.Context(), actorFrom(r), kq)
	if err != nil {
		return err
	}
	resp := knowledgeList{Items: nonNil(p.Hits)}
	if p.More {
		if searching {
			resp.NextCursor = encodeKBCursor("o", int64(p.NextOffset))
		} else {
			resp.NextCursor = encodeKBCursor("i", p.NextBefore)
		}
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getKnowledge(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "knowledge entry")
	if err != nil {
		return err
	}
	k, err := s.app.GetKnowledge(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	k.Measures = nonNil(k.Measures)
	return writeJSON(w, http.StatusOK, k)
}

func (s *Server) createArticle(w http.ResponseWriter, r *http.Request) error {
	var in app.NewArticle
	if err := decode(w, r, &in); err != nil {
		return err
	}
	k, err := s.app.CreateArticle(r.Context(), actorFrom(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/knowledge/"+strconv.FormatInt(k.ID, 10))
	return writeJSON(w, http.StatusCreated, k)
}

func (s *Server) updateKnowledge(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "knowledge entry")
	if err != nil {
		return err
	}
	var in app.KnowledgeEdit
	if err := decode(w, r, &in); err != nil {
		return err
	}
	k, err := s.app.UpdateKnowledge(r.Context(), actorFrom(r), id, in)
	if err != nil {
		return err
	}
	k.Measures = nonNil(k.Measures)
	return writeJSON(w, http.StatusOK, k)
}

func (s *Server) knowledgeHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "knowledge entry")
	if err != nil {
		return err
	}
	h, err := s.app.KnowledgeHistory(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(h)})
}

func (s *Server) addMeasure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "knowledge entry")
	if err != nil {
		return err
	}
	var in app.NewMeasure
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.app.AddMeasure(r.Context(), actorFrom(r), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

func (s *Server) updateMeasure(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "knowledge entry")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return &httpError{status: http.StatusNotFound, detail: "no such measure"}
	}
	var in app.MeasurePatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.app.UpdateMeasure(r.Context(), actorFrom(r), id, n, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// listMeasures answers GET /api/v1/measures: prevention measures across
// the knowledge base, overdue=true for the open ones past due.
func (s *Server) listMeasures(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "status", "overdue", "owner", "limit"); err != nil {
		return err
	}
	mq := app.MeasureQuery{Status: core.MeasureStatus(q.Get("status")), Owner: q.Get("owner")}
	if v := q.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("overdue", "overdue must be true or false")
		}
		mq.Overdue = b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxListLimit {
			return badRequest("limit", "limit must be 1 to "+strconv.Itoa(store.MaxListLimit))
		}
		mq.Limit = n
	}
	ms, err := s.app.Measures(r.Context(), actorFrom(r), mq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(ms)})
}

func (s *Server) similarIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "limit"); err != nil {
		return err
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > app.MaxSimilar {
			return badRequest("limit", "limit must be 1 to "+strconv.Itoa(app.MaxSimilar))
		}
		limit = n
	}
	items, err := s.app.SimilarIncidents(r.Context(), actorFrom(r), r.PathValue("key"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(items)})
}
