package web

import (
	"net/http"

	"github.com/irdesk/irdesk/internal/app"
)

func (s *Server) listObservables(w http.ResponseWriter, r *http.Request) error {
	obs, err := s.app.Observables(r.Context(), actorFrom(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(obs)})
}

func (s *Server) addObservables(w http.ResponseWriter, r *http.Request) error {
	var in app.NewObservables
	if err := decode(w, r, &in); err != nil {
		return err
	}
	obs, err := s.app.AddObservables(r.Context(), actorFrom(r), r.PathValue("key"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(obs)})
}

// sightings answers GET /api/v1/observables/{type}/{value...}; the value
// may hold slashes (a URL) and may be defanged.
func (s *Server) sightings(w http.ResponseWriter, r *http.Request) error {
	out, err := s.app.Sightings(r.Context(), actorFrom(r), r.PathValue("type"), r.PathValue("value"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
