package web

import (
	"net/http"
	"strconv"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/escalation"
)

func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &httpError{status: http.StatusNotFound, detail: "no such " + what}
	}
	return id, nil
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.app.ListContacts(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(cs)})
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	c, err := s.app.GetContact(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// contactInput is what a client may set on a contact; id, times and the
// user's internal id are the server's.
type contactInput struct {
	Name         string         `json:"name"`
	Kind         string         `json:"kind"`
	Party        string         `json:"party"`
	Organisation string         `json:"organisation"`
	Roles        []string       `json:"roles"`
	User         string         `json:"user"`
	Language     string         `json:"language"`
	OnCallOrder  *int           `json:"on_call_order"`
	Channels     []core.Channel `json:"channels"`
	Notes        string         `json:"notes"`
	Active       *bool          `json:"active"`
	// Version is required when replacing: the one the client read.
	Version int64 `json:"version"`
}

func (in contactInput) contact() *core.Contact {
	c := &core.Contact{Name: in.Name, Kind: in.Kind, Party: in.Party, Organisation: in.Organisation, Roles: in.Roles,
		User: in.User, Language: in.Language, OnCallOrder: in.OnCallOrder, Channels: in.Channels, Notes: in.Notes,
		Active: true, Version: in.Version}
	if in.Active != nil {
		c.Active = *in.Active
	}
	return c
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	var in contactInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.app.SaveContact(r.Context(), actorFrom(r), in.contact())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) replaceContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	var in contactInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Version < 1 {
		return badRequest("version", "give the version you read, so a concurrent change is not overwritten")
	}
	c := in.contact()
	c.ID = id
	c, err = s.app.SaveContact(r.Context(), actorFrom(r), c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	if err := s.app.DeleteContact(r.Context(), actorFrom(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listEscalationRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.app.EscalationRules(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(rules)})
}

func (s *Server) saveEscalationRule(w http.ResponseWriter, r *http.Request) error {
	var rule escalation.Rule
	if err := decode(w, r, &rule); err != nil {
		return err
	}
	status := http.StatusCreated
	if id := r.PathValue("id"); id != "" {
		if rule.ID != "" && rule.ID != id {
			return badRequest("id", "the id in the body differs from the one in the URL")
		}
		rule.ID = id
		status = http.StatusOK
	}
	out, err := s.app.SaveEscalationRule(r.Context(), actorFrom(r), &rule)
	if err != nil {
		return err
	}
	return writeJSON(w, status, out)
}

func (s *Server) deleteEscalationRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.DeleteEscalationRule(r.Context(), actorFrom(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type notificationList struct {
	Items      []core.Notification `json:"items"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, before, err := pageParams(q)
	if err != nil {
		return err
	}
	f := app.NotificationFilter{Status: q.Get("status"), IncidentKey: q.Get("incident"), Before: before, Limit: limit}
	items, more, err := s.app.Notifications(r.Context(), actorFrom(r), f)
	if err != nil {
		return err
	}
	resp := notificationList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) retryNotification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "notification")
	if err != nil {
		return err
	}
	n, err := s.app.RetryNotification(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}
