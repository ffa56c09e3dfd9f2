package web

import (
	"net/http"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
)

// report answers GET /api/v1/incidents/{key}/reports/{kind}?format=md|html|pdf&lang=ja|en.
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
	case "pdf":
		w.Header().Set("Content-Type", "application/pdf")
		// A download, named so a folder of drafts sorts by incident.
		w.Header().Set("Content-Disposition", `attachment; filename="`+reportFilename(r.PathValue("key"), req)+`"`)
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

// reportFilename is e.g. INC-2026-0001-ppc-preliminary-ja.pdf. Only letters,
// digits and hyphens are kept, so nothing in it can break out of the
// header's quoted string.
func reportFilename(key string, req app.ReportRequest) string {
	lang := req.Lang
	if lang == "" {
		lang = "ja"
	}
	parts := []string{key, req.Kind}
	if req.Kind == "ppc" {
		stage := req.PPCStage
		if stage == "" {
			stage = "preliminary"
		}
		parts = append(parts, stage)
	}
	parts = append(parts, lang)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, strings.Join(parts, "-"))
	return name + "." + req.Format
}
