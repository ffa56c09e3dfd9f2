package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

// onlyParams refuses query parameters other than the allowed ones.
func onlyParams(q url.Values, allowed ...string) error {
	for name := range q {
		if !slices.Contains(allowed, name) {
			return badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	return nil
}

// exportOptions reads ?tlp=&pap=&include_internal=; the TLP defaults to
// amber, which keeps an export inside the partners' organisations.
func exportOptions(r *http.Request) (share.ExportOptions, error) {
	q := r.URL.Query()
	if err := onlyParams(q, "tlp", "pap", "include_internal"); err != nil {
		return share.ExportOptions{}, err
	}
	opt := share.ExportOptions{TLP: q.Get("tlp"), PAP: q.Get("pap")}
	if opt.TLP == "" {
		opt.TLP = "amber"
	}
	if v := q.Get("include_internal"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opt, badRequest("include_internal", "include_internal must be true or false")
		}
		opt.IncludeInternal = b
	}
	return opt, nil
}

func attachment(w http.ResponseWriter, contentType, name string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", contentDisposition(name))
	w.Header().Set("Cache-Control", "no-store")
}

func (s *Server) exportSTIX(w http.ResponseWriter, r *http.Request) error {
	opt, err := exportOptions(r)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	b, err := s.app.ExportIncidentSTIX(r.Context(), actorFrom(r), key, opt)
	if err != nil {
		return err
	}
	data, err := b.JSON()
	if err != nil {
		return err
	}
	attachment(w, "application/stix+json;version=2.1", key+".stix.json")
	_, err = w.Write(data)
	return err
}

func (s *Server) exportMISP(w http.ResponseWriter, r *http.Request) error {
	opt, err := exportOptions(r)
	if err != nil {
		return err
	}
	key := r.PathValue("key")
	d, err := s.app.ExportIncidentMISP(r.Context(), actorFrom(r), key, opt)
	if err != nil {
		return err
	}
	data, err := d.JSON()
	if err != nil {
		return err
	}
	attachment(w, "application/json", key+".misp.json")
	_, err = w.Write(data)
	return err
}

// bulkFormat takes ?format= off the request, so that the rest is the
// list API's filters, read by the list's own parser.
func bulkFormat(r *http.Request) (string, *http.Request, error) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "csv" && format != "ndjson" {
		return "", nil, badRequest("format", "format must be csv or ndjson")
	}
	q.Del("format")
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return format, r2, nil
}

// streamer writes a bulk export as it comes. Headers go out with the
// first row (or at the end, for an empty export), so an error found
// before any row is an ordinary problem answer; one found after cuts the
// connection, so the client sees a broken download rather than a short
// file that looks whole.
type streamer struct {
	w      http.ResponseWriter
	format string
	name   string
	header []string
	csv    *share.CSVWriter
	nd     *share.NDJSONWriter
	rows   int
}

func (st *streamer) start() error {
	if st.csv != nil || st.nd != nil {
		return nil
	}
	if st.format == "csv" {
		attachment(st.w, "text/csv; charset=utf-8", st.name+".csv")
		c, err := share.NewCSVWriter(st.w, st.header)
		st.csv = c
		return err
	}
	attachment(st.w, "application/x-ndjson", st.name+".ndjson")
	st.nd = share.NewNDJSONWriter(st.w)
	return nil
}

func (st *streamer) write(record any, row []string) error {
	if err := st.start(); err != nil {
		return err
	}
	st.rows++
	if st.nd != nil {
		return st.nd.Write(record)
	}
	if err := st.csv.Write(row); err != nil {
		return err
	}
	if st.rows%100 == 0 {
		return st.csv.Flush()
	}
	return nil
}

func (st *streamer) finish(s *Server, r *http.Request, err error) error {
	started := st.csv != nil || st.nd != nil
	if err != nil {
		if !started {
			return err
		}
		s.log.Error("bulk export failed after it began; connection cut", "request_id", requestID(r.Context()), "rows", st.rows, "err", err)
		panic(http.ErrAbortHandler)
	}
	if err := st.start(); err != nil {
		return err
	}
	if st.csv != nil {
		return st.csv.Flush()
	}
	return nil
}

func (s *Server) exportIncidents(w http.ResponseWriter, r *http.Request) error {
	format, r2, err := bulkFormat(r)
	if err != nil {
		return err
	}
	if err := app.CheckBulkExport(actorFrom(r)); err != nil {
		return err
	}
	f, err := s.incidentFilter(r2)
	if err != nil {
		return err
	}
	st := &streamer{w: w, format: format, name: "incidents", header: share.IncidentHeader}
	err = s.app.ExportIncidents(r.Context(), actorFrom(r), format, f, func(rec share.IncidentRecord) error {
		return st.write(rec, share.IncidentRow(rec))
	})
	return st.finish(s, r, err)
}

func (s *Server) exportAlerts(w http.ResponseWriter, r *http.Request) error {
	format, r2, err := bulkFormat(r)
	if err != nil {
		return err
	}
	f, err := alertFilter(r2)
	if err != nil {
		return err
	}
	st := &streamer{w: w, format: format, name: "alerts", header: share.AlertHeader}
	err = s.app.ExportAlerts(r.Context(), actorFrom(r), format, f, func(rec share.AlertRecord) error {
		return st.write(rec, share.AlertRow(rec))
	})
	return st.finish(s, r, err)
}

func (s *Server) importWatchlist(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyParams(q, "source", "format", "expires_in"); err != nil {
		return err
	}
	in := app.WatchlistImport{Source: q.Get("source"), Format: q.Get("format")}
	if in.Format != "" && in.Format != "stix" && in.Format != "misp" {
		return badRequest("format", "format must be stix or misp")
	}
	var err error
	if in.ExpiresIn, err = app.ParseExpiresIn(q.Get("expires_in")); err != nil {
		return err
	}
	a := actorFrom(r)
	// Refused before a body of up to 20 MiB is read in vain; the app checks again.
	if err := app.CheckWatchlistEditor(a); err != nil {
		return err
	}
	body, err := readBody(w, r, share.MaxImportBytes)
	if err != nil {
		return err
	}
	res, err := s.app.ImportWatchlist(r.Context(), a, in, body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

type watchlistList struct {
	Items      []store.WatchlistEntry `json:"items"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

func (s *Server) listWatchlist(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyParams(q, "type", "value", "source", "active", "limit", "cursor"); err != nil {
		return err
	}
	f := store.WatchlistFilter{Type: strings.TrimSpace(q.Get("type")), Value: q.Get("value"), Source: strings.TrimSpace(q.Get("source"))}
	if f.Type != "" && !slices.Contains(ingest.ObservableTypes, f.Type) {
		return badRequest("type", "unknown observable type "+strconv.Quote(f.Type))
	}
	if f.Value != "" {
		if f.Type == "" {
			return badRequest("value", "give type with value")
		}
		v, err := ingest.NormalizeObservable(f.Type, f.Value)
		if err != nil {
			return badRequest("value", "not a valid "+f.Type)
		}
		f.Value = v
	}
	active := false
	if v := q.Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("active", "active must be true or false")
		}
		active = b
	}
	var err error
	if f.Limit, f.Before, err = pageParams(q); err != nil {
		return err
	}
	items, more, err := s.app.ListWatchlist(r.Context(), actorFrom(r), f, active)
	if err != nil {
		return err
	}
	resp := watchlistList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) deleteWatchlistEntry(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return &httpError{status: http.StatusNotFound, detail: "no such watchlist entry"}
	}
	if err := s.app.DeleteWatchlistEntry(r.Context(), actorFrom(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) recheckWatchlist(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyParams(q, "since"); err != nil {
		return err
	}
	since, err := parseTimeParam(q, "since")
	if err != nil {
		return err
	}
	res, err := s.app.RecheckWatchlist(r.Context(), actorFrom(r), since)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) alertWatchlist(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	marks, err := s.app.AlertWatchlist(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": marks})
}
