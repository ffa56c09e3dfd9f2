package web

import (
	"net/http"

	"github.com/irdesk/irdesk/internal/app"
)

func (s *Server) listCosts(w http.ResponseWriter, r *http.Request) error {
	out, err := s.app.Costs(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) addCost(w http.ResponseWriter, r *http.Request) error {
	var in app.NewCost
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.app.AddCost(r.Context(), actorFrom(r), r.PathValue("key"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) updateCost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "cost item")
	if err != nil {
		return err
	}
	var in app.CostPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.app.UpdateCost(r.Context(), actorFrom(r), r.PathValue("key"), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteCost(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "cost item")
	if err != nil {
		return err
	}
	if err := s.app.DeleteCost(r.Context(), actorFrom(r), r.PathValue("key"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// costSummary answers GET /api/v1/costs/summary?from=&to=&group=.
func (s *Server) costSummary(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "from", "to", "group"); err != nil {
		return err
	}
	out, err := s.app.SummarizeCosts(r.Context(), actorFrom(r), app.CostSummaryQuery{From: q.Get("from"), To: q.Get("to"), Group: q.Get("group")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
