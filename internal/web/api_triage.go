package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

type triageRuleList struct {
	Items []app.TriageRuleView `json:"items"`
}

func (s *Server) listTriageRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.app.ListTriageRules(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, triageRuleList{Items: rules})
}

// ruleBody reads a rule as JSON. It is validated by the rules parser,
// which reports every problem with its field, not by encoding/json.
func ruleBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var raw json.RawMessage
	if err := decode(w, r, &raw); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, badRequest("", "send the rule as a JSON object")
	}
	return raw, nil
}

func (s *Server) createTriageRule(w http.ResponseWriter, r *http.Request) error {
	body, err := ruleBody(w, r)
	if err != nil {
		return err
	}
	rule, err := s.app.CreateTriageRule(r.Context(), actorFrom(r), body)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/triage/rules/"+url.PathEscape(rule.ID))
	return writeJSON(w, http.StatusCreated, rule)
}

func (s *Server) updateTriageRule(w http.ResponseWriter, r *http.Request) error {
	body, err := ruleBody(w, r)
	if err != nil {
		return err
	}
	rule, err := s.app.UpdateTriageRule(r.Context(), actorFrom(r), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rule)
}

func (s *Server) deleteTriageRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.DeleteTriageRule(r.Context(), actorFrom(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) testTriageRule(w http.ResponseWriter, r *http.Request) error {
	var in app.TriageTest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.app.TestTriageRule(r.Context(), actorFrom(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// bulkRequest is the body of POST /api/v1/alerts/bulk. Filter takes the
// query parameters of GET /api/v1/alerts as an object (each a string or a
// list of strings), checked by the same code.
type bulkRequest struct {
	Action   string                     `json:"action"`
	IDs      []int64                    `json:"ids"`
	Filter   map[string]json.RawMessage `json:"filter"`
	Reason   string                     `json:"reason"`
	For      string                     `json:"for"`
	Until    *time.Time                 `json:"until"`
	Incident string                     `json:"incident"`
	Category core.Category              `json:"category"`
	Severity core.Severity              `json:"severity"`
	Title    string                     `json:"title"`
}

// bulkFilter turns the filter object into the list query it stands for.
func bulkFilter(m map[string]json.RawMessage) (*store.AlertFilter, error) {
	q := url.Values{}
	for k, raw := range m {
		if k == "limit" || k == "cursor" {
			return nil, badRequest("filter."+k, "a bulk filter takes every matching alert; leave out "+k)
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			q.Add(k, one)
		case json.Unmarshal(raw, &many) == nil:
			for _, v := range many {
				q.Add(k, v)
			}
		default:
			return nil, badRequest("filter."+k, "must be a string or a list of strings")
		}
	}
	f, err := alertFilter(&http.Request{URL: &url.URL{RawQuery: q.Encode()}})
	if err != nil {
		if he, ok := err.(*httpError); ok && he.field != "" {
			he.field = "filter." + he.field
		}
		return nil, err
	}
	return &f, nil
}

func (s *Server) bulkAlerts(w http.ResponseWriter, r *http.Request) error {
	var req bulkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := app.BulkInput{Action: req.Action, IDs: req.IDs, Incident: strings.TrimSpace(req.Incident), Until: req.Until,
		Promote: app.PromoteInput{Category: req.Category, Severity: req.Severity, Title: req.Title}}
	if req.Filter != nil {
		f, err := bulkFilter(req.Filter)
		if err != nil {
			return err
		}
		in.Filter = f
	}
	switch req.Action {
	case app.BulkClose:
		in.CloseReason = core.CloseReason(req.Reason)
	case app.BulkSuppress:
		in.SuppressReason = strings.TrimSpace(req.Reason)
		if req.For != "" {
			d, err := time.ParseDuration(req.For)
			if err != nil || d < time.Second {
				return core.Invalid("for", "%q is not a duration such as 30m or 24h", req.For)
			}
			in.For = d
		}
	default:
		if req.Reason != "" {
			return core.Invalid("reason", "goes with close and suppress only")
		}
	}
	if req.Action != app.BulkSuppress && (req.For != "" || req.Until != nil) {
		return core.Invalid("for", "for and until go with suppress only")
	}
	if req.Action != app.BulkAttach && req.Incident != "" {
		return core.Invalid("incident", "goes with attach only")
	}
	res, err := s.app.BulkAlerts(r.Context(), actorFrom(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
