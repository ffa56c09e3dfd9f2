package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// MaxIntakeBytes bounds an alert intake body. Tools send batches (a SIEM
// forwarding a backlog, an NDJSON file), so it is larger than for the
// forms; ingest.MaxItems bounds the alerts in it.
const MaxIntakeBytes = 10 << 20

// readBody reads a raw body of at most limit bytes, answering 413 past it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes; send the alerts in smaller batches", limit)}
		}
		return nil, badRequest("", "could not read the body")
	}
	return data, nil
}

type ingestResponse struct {
	Items []app.IngestResult `json:"items"`
}

// ingestAlerts takes alerts in irdesk's own schema at /api/v1/alerts and
// in a tool's native payload at /api/v1/alerts/{format}. It answers 202
// only once the alerts are committed, so a tool that sees 202 may forget
// them. No Content-Type is required: tools label NDJSON and CEF lines in
// every way there is.
func (s *Server) ingestAlerts(w http.ResponseWriter, r *http.Request) error {
	format := r.PathValue("format")
	if format == "" {
		format = "native"
	}
	if !slices.Contains(ingest.Formats(), format) {
		return fmt.Errorf("alert format %q (known: %s): %w", format, strings.Join(ingest.Formats(), ", "), core.ErrNotFound)
	}
	a := actorFrom(r)
	if err := app.CheckIngest(a); err != nil {
		return err
	}
	body, err := readBody(w, r, MaxIntakeBytes)
	if err != nil {
		return err
	}
	items, err := s.app.IngestAlerts(r.Context(), a, format, body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, ingestResponse{Items: nonNil(items)})
}

type alertList struct {
	Items      []*core.Alert `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

var alertListParams = map[string]bool{"status": true, "source": true, "severity": true, "host": true, "q": true,
	"seen_after": true, "seen_before": true, "limit": true, "cursor": true}

func alertFilter(r *http.Request) (store.AlertFilter, error) {
	q := r.URL.Query()
	var f store.AlertFilter
	for name := range q {
		if !alertListParams[name] {
			return f, badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	var err error
	if f.Statuses, err = enumValues[core.AlertStatus](q, "status"); err != nil {
		return f, err
	}
	if f.Severities, err = enumValues[core.Severity](q, "severity"); err != nil {
		return f, err
	}
	for _, src := range values(q, "source") {
		if !slices.Contains(ingest.Formats(), src) {
			return f, badRequest("source", "unknown source "+strconv.Quote(src))
		}
		f.Sources = append(f.Sources, src)
	}
	f.Host = strings.TrimSpace(q.Get("host"))
	f.Query = q.Get("q")
	if len(f.Query) > 1000 || len(f.Host) > 1000 {
		return f, badRequest("q", "the search text is longer than 1000 bytes")
	}
	if f.SeenAfter, err = parseTimeParam(q, "seen_after"); err != nil {
		return f, err
	}
	if f.SeenBefore, err = parseTimeParam(q, "seen_before"); err != nil {
		return f, err
	}
	f.Limit, f.Before, err = pageParams(q)
	return f, err
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	f, err := alertFilter(r)
	if err != nil {
		return err
	}
	items, more, err := s.app.ListAlerts(r.Context(), actorFrom(r), f)
	if err != nil {
		return err
	}
	resp := alertList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func alertID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &httpError{status: http.StatusNotFound, detail: "no such alert"}
	}
	return id, nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	al, err := s.app.GetAlert(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

func (s *Server) acknowledgeAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	al, err := s.app.AcknowledgeAlert(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

func (s *Server) closeAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason core.CloseReason `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	al, err := s.app.CloseAlert(r.Context(), actorFrom(r), id, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

type promoteResponse struct {
	Alert    *core.Alert    `json:"alert"`
	Incident *core.Incident `json:"incident"`
}

func (s *Server) promoteAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	var in app.PromoteInput
	// Every field is optional, so no body at all means "all defaults".
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	al, inc, err := s.app.PromoteAlert(r.Context(), actorFrom(r), id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.Key)
	return writeJSON(w, http.StatusCreated, promoteResponse{Alert: al, Incident: inc})
}

func (s *Server) attachAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	var in struct {
		Incident string `json:"incident"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	al, err := s.app.AttachAlert(r.Context(), actorFrom(r), id, in.Incident)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

type occurrenceList struct {
	Items      []store.Occurrence `json:"items"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// alertOccurrences pages forward through an alert's occurrences, oldest
// first; the cursor is opaque like every other.
func (s *Server) alertOccurrences(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for name := range q {
		if name != "limit" && name != "cursor" {
			return badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	limit, after, err := pageParams(q)
	if err != nil {
		return err
	}
	items, more, err := s.app.AlertOccurrences(r.Context(), actorFrom(r), id, after, limit)
	if err != nil {
		return err
	}
	resp := occurrenceList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}
