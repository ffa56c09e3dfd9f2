package web

import (
	"net/http"

	"github.com/irdesk/irdesk/internal/app"
)

// report answers GET /api/v1/incidents/{key}/reports/{kind}?format=md|html&lang=ja|en.
func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for name := range q {
		if name != "format" && name != "lang" && name != "stage" {
			return badRequest(name, "unknown query parameter "+name)
		}
	}
	req := app.ReportRequest{Kind: r.PathValue("kind"), Format: q.Get("format"), Lang: q.Get("lang"), PPCStage: q.Get("stage")}
	if req.Format == "" {
		req.Format = "md"
	}
	body, err := s.app.Report(r.Context(), actorFrom(r), r.PathValue("key"), req)
	if err != nil {
		return err
	}
	switch req.Format {
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The draft is a document, not an app page: no scripts, its own styles.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	default:
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(body)
	return err
}
