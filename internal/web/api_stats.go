package web

import (
	"net/http"

	"github.com/irdesk/irdesk/internal/app"
)

// stats answers GET /api/v1/stats?from=&to=.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "from", "to"); err != nil {
		return err
	}
	out, err := s.app.Stats(r.Context(), actorFrom(r), app.StatsQuery{From: q.Get("from"), To: q.Get("to")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// statsCosts answers GET /api/v1/stats/costs: the cost summary under the
// statistics path (same parameters and answer as /api/v1/costs/summary).
func (s *Server) statsCosts(w http.ResponseWriter, r *http.Request) error {
	return s.costSummary(w, r)
}
