package web

import (
	"net/http"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/report"
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

// draftRequest reads the draft a request names: kind from the path, lang
// and stage from the query (nothing else is accepted).
func draftRequest(r *http.Request) (app.ReportRequest, error) {
	q := r.URL.Query()
	for name := range q {
		if name != "lang" && name != "stage" {
			return app.ReportRequest{}, badRequest(name, "unknown query parameter "+name)
		}
	}
	return app.ReportRequest{Kind: r.PathValue("kind"), Lang: q.Get("lang"), PPCStage: q.Get("stage")}, nil
}

func (s *Server) reportEdits(w http.ResponseWriter, r *http.Request) error {
	req, err := draftRequest(r)
	if err != nil {
		return err
	}
	d, err := s.app.ReportDraftEdits(r.Context(), actorFrom(r), r.PathValue("key"), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) saveReportEdits(w http.ResponseWriter, r *http.Request) error {
	req, err := draftRequest(r)
	if err != nil {
		return err
	}
	var in struct {
		report.Edits
		Version int64 `json:"version"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.app.SaveReportDraftEdits(r.Context(), actorFrom(r), r.PathValue("key"), req, in.Edits, in.Version)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) discardReportEdits(w http.ResponseWriter, r *http.Request) error {
	req, err := draftRequest(r)
	if err != nil {
		return err
	}
	if err := s.app.DiscardReportDraftEdits(r.Context(), actorFrom(r), r.PathValue("key"), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
