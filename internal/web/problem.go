package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/web/ui"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// httpError is an error the web layer itself raises with a status of its
// own (a body too large, a wrong media type).
type httpError struct {
	status int
	detail string
	field  string
}

func (e *httpError) Error() string { return e.detail }

func badRequest(field, detail string) error {
	return &httpError{status: http.StatusBadRequest, detail: detail, field: field}
}

const problemBase = "urn:irdesk:problem:"

// problemFor is the one place errors become statuses. Unknown errors are
// a 500 whose detail is never echoed; they are logged in full instead.
func problemFor(err error) Problem {
	var he *httpError
	var fe *core.FieldError
	switch {
	case errors.As(err, &he):
		return Problem{Type: problemBase + slugFor(he.status), Title: http.StatusText(he.status), Status: he.status, Detail: he.detail, Field: he.field}
	case errors.As(err, &fe):
		return Problem{Type: problemBase + "invalid", Title: "Invalid input", Status: http.StatusUnprocessableEntity, Detail: fe.Error(), Field: fe.Field}
	case errors.Is(err, core.ErrInvalid):
		return Problem{Type: problemBase + "invalid", Title: "Invalid input", Status: http.StatusUnprocessableEntity, Detail: err.Error()}
	case errors.Is(err, core.ErrNotFound):
		return Problem{Type: problemBase + "not-found", Title: http.StatusText(http.StatusNotFound), Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, core.ErrConflict):
		return Problem{Type: problemBase + "conflict", Title: http.StatusText(http.StatusConflict), Status: http.StatusConflict, Detail: err.Error()}
	case errors.Is(err, core.ErrForbidden):
		return Problem{Type: problemBase + "forbidden", Title: http.StatusText(http.StatusForbidden), Status: http.StatusForbidden, Detail: err.Error()}
	case errors.Is(err, core.ErrUnauthenticated):
		return Problem{Type: problemBase + "unauthenticated", Title: "Unauthenticated", Status: http.StatusUnauthorized, Detail: err.Error()}
	case errors.Is(err, store.ErrOverloaded):
		return Problem{Type: problemBase + "too-many-requests", Title: http.StatusText(http.StatusTooManyRequests), Status: http.StatusTooManyRequests,
			Detail: "irdesk is writing as fast as it can; nothing of this request was stored: send it again after Retry-After seconds"}
	case errors.Is(err, store.ErrClosed):
		return Problem{Type: problemBase + "unavailable", Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable, Detail: "the server is shutting down; retry on another node or in a moment"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Problem{Type: problemBase + "unavailable", Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable, Detail: "the request timed out or was cancelled"}
	default:
		return Problem{Type: problemBase + "internal", Title: http.StatusText(http.StatusInternalServerError), Status: http.StatusInternalServerError,
			Detail: "something went wrong on our side; quote the request id when reporting it"}
	}
}

func slugFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad-request"
	case http.StatusRequestEntityTooLarge:
		return "too-large"
	case http.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case http.StatusMethodNotAllowed:
		return "method-not-allowed"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusTooManyRequests:
		return "too-many-requests"
	}
	return "error"
}

// writeError answers with a problem and logs what deserves it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.RequestID = requestID(r.Context())
	if p.Status >= 500 && !errors.Is(err, context.Canceled) {
		s.log.Error("request failed", "request_id", p.RequestID, "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "request_id", p.RequestID, "status", p.Status, "err", err)
	}
	if p.Status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	if s.ui != nil && ui.WantsHTML(r) {
		s.ui.RenderError(w, r, ui.ErrorPage{Status: p.Status, Detail: p.Detail, RequestID: p.RequestID})
		return
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="irdesk"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		s.log.Debug("write problem", "err", err)
	}
}
