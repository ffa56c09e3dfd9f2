package web

import (
	"net/http"
	"time"

	"github.com/irdesk/irdesk/internal/app"
)

func (s *Server) listClocks(w http.ResponseWriter, r *http.Request) error {
	clocks, err := s.app.Clocks(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(clocks)})
}

func (s *Server) recordClock(w http.ResponseWriter, r *http.Request) error {
	var d app.ClockDecision
	if err := decode(w, r, &d); err != nil {
		return err
	}
	clocks, err := s.app.RecordClock(r.Context(), actorFrom(r), r.PathValue("key"), r.PathValue("rule"), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(clocks)})
}

// dueClocks answers GET /api/v1/clocks?due_within=72h: the open reporting
// duties across incidents, overdue ones included, soonest first.
func (s *Server) dueClocks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for name := range q {
		if name != "due_within" {
			return badRequest(name, "unknown query parameter "+name)
		}
	}
	within := 72 * time.Hour
	if v := q.Get("due_within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return badRequest("due_within", "due_within must be a duration such as 72h")
		}
		within = d
	}
	clocks, err := s.app.DueClocks(r.Context(), actorFrom(r), within)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(clocks)})
}
