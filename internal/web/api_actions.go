package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

func (s *Server) listResponseActions(w http.ResponseWriter, r *http.Request) error {
	defs, err := s.app.ResponseActions(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(defs)})
}

// runAction starts a response action, or with ?dry_run=true shows the
// request it would send (secrets masked) and sends and stores nothing.
func (s *Server) runAction(w http.ResponseWriter, r *http.Request) error {
	var in app.RunActionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	dry := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("dry_run", "dry_run must be true or false")
		}
		dry = b
	}
	if dry {
		p, err := s.app.PreviewAction(r.Context(), actorFrom(r), r.PathValue("key"), in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, p)
	}
	run, err := s.app.RunAction(r.Context(), actorFrom(r), r.PathValue("key"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, run)
}

type actionRunList struct {
	Items      []*store.ActionRun `json:"items"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

func (s *Server) listActionRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "status", "limit", "cursor", "incident":
		default:
			return badRequest(name, "unknown parameter "+name)
		}
	}
	limit, before, err := pageParams(q)
	if err != nil {
		return err
	}
	f := app.ActionRunFilter{Status: q.Get("status"), IncidentKey: q.Get("incident"), Before: before, Limit: limit}
	if key := r.PathValue("key"); key != "" {
		f.IncidentKey = key
	}
	items, more, err := s.app.ActionRuns(r.Context(), actorFrom(r), f)
	if err != nil {
		return err
	}
	resp := actionRunList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getActionRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.incidentRun(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

// incidentRun is the run named in the path, if it belongs to the incident
// named there.
func (s *Server) incidentRun(r *http.Request) (*store.ActionRun, error) {
	id, err := pathID(r, "action run")
	if err != nil {
		return nil, err
	}
	run, err := s.app.GetActionRun(r.Context(), actorFrom(r), id)
	if err != nil {
		return nil, err
	}
	if run.IncidentKey != r.PathValue("key") {
		return nil, fmt.Errorf("action run %d of %s: %w", id, r.PathValue("key"), core.ErrNotFound)
	}
	return run, nil
}

func (s *Server) approveActionRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.incidentRun(r)
	if err != nil {
		return err
	}
	out, err := s.app.ApproveActionRun(r.Context(), actorFrom(r), run.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// runDecision is the body of a rejection or a cancellation.
type runDecision struct {
	Reason string `json:"reason"`
}

// decideActionRun rejects (op "reject": a run awaiting approval, the
// reason required) or cancels (a run that has not started; the body, with
// an optional reason, may be left out) a run.
func (s *Server) decideActionRun(op string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		run, err := s.incidentRun(r)
		if err != nil {
			return err
		}
		// An empty body is let through so a reject names the missing field.
		var in runDecision
		if err := decodeOptional(w, r, &in); err != nil {
			return err
		}
		decide := s.app.CancelActionRun
		if op == "reject" {
			decide = s.app.RejectActionRun
		}
		out, err := decide(r.Context(), actorFrom(r), run.ID, in.Reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// decodeOptional is decode for a body that may be empty.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
		}
		return badRequest("", "could not read the body")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return decode(w, r, v)
}
