package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) error {
	var in app.NewIncident
	if err := decode(w, r, &in); err != nil {
		return err
	}
	inc, err := s.app.CreateIncident(r.Context(), actorFrom(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.Key)
	return writeJSON(w, http.StatusCreated, inc)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.app.GetIncident(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inc)
}

type incidentList struct {
	Items      []*core.Incident `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// Cursors are opaque to clients; inside, the id the page ended at.
const cursorPrefix = "v1:"

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return 0, badRequest("cursor", "not a cursor this server issued")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(b), cursorPrefix), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("cursor", "not a cursor this server issued")
	}
	return id, nil
}

var listParams = map[string]bool{"phase": true, "severity": true, "category": true, "assignee": true, "reporter": true,
	"open": true, "q": true, "created_after": true, "created_before": true, "limit": true, "cursor": true}

// values splits repeated and comma-separated values: ?phase=a,b&phase=c.
func values(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func enumValues[T interface {
	~string
	Valid() bool
}](q url.Values, name string) ([]T, error) {
	var out []T
	for _, v := range values(q, name) {
		t := T(v)
		if !t.Valid() {
			return nil, badRequest(name, "unknown "+name+" "+strconv.Quote(v))
		}
		out = append(out, t)
	}
	return out, nil
}

func parseTimeParam(q url.Values, name string) (*time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return &t, nil
	}
	// A bare date is a day in Japan, where the desk's users are.
	if t, err := time.ParseInLocation(time.DateOnly, v, time.FixedZone("JST", 9*3600)); err == nil {
		return &t, nil
	}
	return nil, badRequest(name, name+" must be RFC 3339 (2026-11-23T09:00:00+09:00) or a date (2026-11-23)")
}

func (s *Server) incidentFilter(r *http.Request) (store.IncidentFilter, error) {
	q := r.URL.Query()
	var f store.IncidentFilter
	for name := range q {
		if !listParams[name] {
			return f, badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	var err error
	if f.Phases, err = enumValues[core.Phase](q, "phase"); err != nil {
		return f, err
	}
	if f.Severities, err = enumValues[core.Severity](q, "severity"); err != nil {
		return f, err
	}
	if f.Categories, err = enumValues[core.Category](q, "category"); err != nil {
		return f, err
	}
	userParam := func(name string) *int64 {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		if v == "none" && name == "assignee" {
			zero := int64(0)
			return &zero
		}
		id, err := s.app.UserID(r.Context(), v)
		if err != nil {
			// An unknown user matches nothing; that is an answer, not an error.
			id = -1
		}
		return &id
	}
	f.AssigneeID, f.ReporterID = userParam("assignee"), userParam("reporter")
	if v := q.Get("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, badRequest("open", "open must be true or false")
		}
		f.Open = &b
	}
	f.Query = q.Get("q")
	if len(f.Query) > 1000 {
		return f, badRequest("q", "the search text is longer than 1000 bytes")
	}
	if f.CreatedAfter, err = parseTimeParam(q, "created_after"); err != nil {
		return f, err
	}
	if f.CreatedBefore, err = parseTimeParam(q, "created_before"); err != nil {
		return f, err
	}
	f.Limit, f.Before, err = pageParams(q)
	return f, err
}

// pageParams reads the limit and cursor every list takes.
func pageParams(q url.Values) (limit int, before int64, err error) {
	if v := q.Get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > store.MaxListLimit {
			return 0, 0, badRequest("limit", "limit must be 1 to "+strconv.Itoa(store.MaxListLimit))
		}
	}
	if c := q.Get("cursor"); c != "" {
		if before, err = decodeCursor(c); err != nil {
			return 0, 0, err
		}
	}
	return limit, before, nil
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	f, err := s.incidentFilter(r)
	if err != nil {
		return err
	}
	items, more, err := s.app.ListIncidents(r.Context(), actorFrom(r), f)
	if err != nil {
		return err
	}
	resp := incidentList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) error {
	var patch core.IncidentPatch
	if err := decode(w, r, &patch); err != nil {
		return err
	}
	inc, err := s.app.UpdateIncident(r.Context(), actorFrom(r), r.PathValue("key"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inc)
}

type phaseRequest struct {
	To     core.Phase `json:"to"`
	Reason string     `json:"reason"`
}

func (s *Server) movePhase(w http.ResponseWriter, r *http.Request) error {
	var req phaseRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	inc, err := s.app.MovePhase(r.Context(), actorFrom(r), r.PathValue("key"), req.To, req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inc)
}

type assignRequest struct {
	User  string     `json:"user"`
	Phase core.Phase `json:"phase"`
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) error {
	var req assignRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	inc, err := s.app.Assign(r.Context(), actorFrom(r), r.PathValue("key"), req.User, req.Phase)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, inc)
}

type commentRequest struct {
	Body string `json:"body"`
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) error {
	var req commentRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.app.AddComment(r.Context(), actorFrom(r), r.PathValue("key"), req.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.app.Comments(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(cs)})
}

func (s *Server) recordAction(w http.ResponseWriter, r *http.Request) error {
	var req app.NewAction
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.app.RecordAction(r.Context(), actorFrom(r), r.PathValue("key"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) error {
	as, err := s.app.Actions(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(as)})
}

type timelineResponse struct {
	Items     []core.Event `json:"items"`
	NextAfter int64        `json:"next_after,omitempty"`
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var after int64
	limit := app.MaxTimelinePage
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badRequest("after", "after must be an event id")
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > app.MaxTimelinePage {
			return badRequest("limit", "limit must be 1 to "+strconv.Itoa(app.MaxTimelinePage))
		}
		limit = n
	}
	evs, err := s.app.Timeline(r.Context(), actorFrom(r), r.PathValue("key"), after, limit)
	if err != nil {
		return err
	}
	resp := timelineResponse{Items: nonNil(evs)}
	if len(evs) == limit {
		resp.NextAfter = evs[len(evs)-1].ID
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.app.Members(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(ms)})
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.AddMember(r.Context(), actorFrom(r), r.PathValue("key"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.RemoveMember(r.Context(), actorFrom(r), r.PathValue("key"), r.PathValue("user")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
