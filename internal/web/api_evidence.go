package web

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/evidence"
	"github.com/irdesk/irdesk/internal/store"
)

// Evidence uploads do not go through decode or readBody: a file of up to
// the configured maximum (10 GiB by default) is streamed from the request
// straight into the blob store, which hashes it as it writes. Its only
// limits are that maximum, evidenceFieldMax per metadata field and
// evidenceFormSlack for the multipart framing around the file.
const (
	evidenceFieldMax  = 64 << 10
	evidenceFormSlack = 1 << 20
	// evidenceIdle is how long an upload or a download may stall before
	// the connection is dropped. The server's read and write timeouts are
	// for requests that fit in a minute; a disk image does not, so these
	// routes push the deadlines on while bytes flow.
	evidenceIdle = 2 * time.Minute
)

// evidenceFields are the metadata an upload takes, as multipart fields or
// query parameters, or as X-Evidence-* headers (percent-encoded UTF-8).
var evidenceFields = map[string]string{
	"file_name":    "X-Evidence-Filename",
	"media_type":   "X-Evidence-Media-Type",
	"description":  "X-Evidence-Description",
	"collected_by": "X-Evidence-Collected-By",
	"collected_at": "X-Evidence-Collected-At",
	"source_host":  "X-Evidence-Source-Host",
	"source_path":  "X-Evidence-Source-Path",
}

func setEvidenceField(in *app.NewEvidence, name, value string) error {
	switch name {
	case "file_name":
		in.FileName = value
	case "media_type":
		in.MediaType = value
	case "description":
		in.Description = value
	case "collected_by":
		in.CollectedBy = value
	case "source_host":
		in.SourceHost = value
	case "source_path":
		in.SourcePath = value
	case "collected_at":
		if strings.TrimSpace(value) == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(value))
		if err != nil {
			return badRequest("collected_at", "collected_at must be RFC 3339 (2026-11-23T09:30:00+09:00)")
		}
		in.CollectedAt = &t
	default:
		return badRequest(name, "unknown field "+strconv.Quote(name)+"; evidence takes file, file_name, media_type, description, collected_by, collected_at, source_host, source_path")
	}
	return nil
}

// deadlines pushes a connection's read and write deadlines on while an
// evidence transfer makes progress.
type deadlines struct {
	rc   *http.ResponseController
	last time.Time
}

func newDeadlines(w http.ResponseWriter) *deadlines {
	d := &deadlines{rc: http.NewResponseController(w)}
	d.extend()
	return d
}

func (d *deadlines) extend() {
	now := time.Now()
	if now.Sub(d.last) < time.Second {
		return
	}
	d.last = now
	// Servers without deadlines (httptest, HTTP/2 in some setups) answer
	// ErrNotSupported, which changes nothing here.
	_ = d.rc.SetReadDeadline(now.Add(evidenceIdle))
	_ = d.rc.SetWriteDeadline(now.Add(evidenceIdle))
}

// uploadBody reads the upload, remembering a failure to read it, so that a
// client that went away is told apart from a disk that failed.
type uploadBody struct {
	r   io.Reader
	d   *deadlines
	err error
}

func (u *uploadBody) Read(p []byte) (int, error) {
	u.d.extend()
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}

// uploadError maps what went wrong while streaming an upload.
func uploadError(err error, body *uploadBody) error {
	var tl *evidence.TooLargeError
	var mbe *http.MaxBytesError
	var he *httpError
	switch {
	case errors.As(err, &tl):
		return &httpError{status: http.StatusRequestEntityTooLarge, detail: tl.Error() + "; nothing was stored", field: "file"}
	case errors.As(err, &mbe):
		return &httpError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the request is larger than the maximum of %s; nothing was stored", evidence.FormatSize(mbe.Limit)), field: "file"}
	case errors.As(err, &he):
		return he
	case errors.Is(err, syscall.ENOSPC):
		return &httpError{status: http.StatusInsufficientStorage, detail: "the evidence store is full; nothing was stored"}
	case body.err != nil && errors.Is(err, body.err):
		return badRequest("file", "the upload could not be read to its end; nothing was stored")
	}
	return err
}

// uploadEvidence answers POST /api/v1/incidents/{key}/evidence. It takes
// multipart/form-data (metadata fields first, then one file part) or a raw
// application/octet-stream body with the metadata in query parameters or
// X-Evidence-* headers.
func (s *Server) uploadEvidence(w http.ResponseWriter, r *http.Request) error {
	ctx, a, key := r.Context(), actorFrom(r), r.PathValue("key")
	// Refuse before the first byte of a possibly huge body is read.
	if err := s.app.CheckEvidenceUpload(ctx, a, key); err != nil {
		return err
	}
	limit := s.app.EvidenceMaxSize()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	body := &uploadBody{d: newDeadlines(w)}
	var e *store.Evidence
	switch mt {
	case "multipart/form-data":
		if r.ContentLength > limit+evidenceFormSlack {
			return uploadError(&evidence.TooLargeError{Limit: limit}, body)
		}
		body.r = http.MaxBytesReader(w, r.Body, limit+evidenceFormSlack)
		r.Body = io.NopCloser(body)
		e, err = s.uploadMultipart(r, a, key)
	case "application/octet-stream":
		if r.ContentLength > limit {
			return uploadError(&evidence.TooLargeError{Limit: limit}, body)
		}
		in, err := rawEvidenceMeta(r)
		if err != nil {
			return err
		}
		// One byte past the limit reaches the store, which tells "too
		// large" by it; the MaxBytesReader also makes the server close a
		// connection whose body was not read to the end.
		body.r = http.MaxBytesReader(w, r.Body, limit+1)
		e, err = s.app.UploadEvidence(ctx, a, key, in, body)
		if err != nil {
			return uploadError(err, body)
		}
	default:
		return &httpError{status: http.StatusUnsupportedMediaType, detail: "send multipart/form-data (fields, then the file) or application/octet-stream (the file, with metadata in query parameters or X-Evidence-* headers)"}
	}
	if err != nil {
		return uploadError(err, body)
	}
	w.Header().Set("Location", "/api/v1/incidents/"+e.IncidentKey+"/evidence/"+strconv.FormatInt(e.ID, 10))
	return writeJSON(w, http.StatusCreated, e)
}

// rawEvidenceMeta reads an octet-stream upload's metadata from the query
// and the X-Evidence-* headers; a query parameter wins over its header.
func rawEvidenceMeta(r *http.Request) (app.NewEvidence, error) {
	var in app.NewEvidence
	q := r.URL.Query()
	for name := range q {
		if _, ok := evidenceFields[name]; !ok {
			return in, badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	for name, header := range evidenceFields {
		v, ok := q.Get(name), q.Has(name)
		if !ok {
			hv := r.Header.Get(header)
			if hv == "" {
				continue
			}
			// Header values are ASCII; names in Japanese arrive percent-encoded.
			dec, err := url.PathUnescape(hv)
			if err != nil {
				return in, badRequest(name, header+" is not percent-encoded UTF-8")
			}
			v = dec
		}
		if len(v) > evidenceFieldMax {
			return in, badRequest(name, fmt.Sprintf("%s is longer than %d bytes", name, evidenceFieldMax))
		}
		if err := setEvidenceField(&in, name, v); err != nil {
			return in, err
		}
	}
	return in, nil
}

// uploadMultipart walks the parts: metadata fields, then the file, which
// is streamed into the store as it arrives. Nothing is buffered whole.
func (s *Server) uploadMultipart(r *http.Request, a app.Actor, key string) (*store.Evidence, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("", "malformed multipart body: "+err.Error())
	}
	var in app.NewEvidence
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, badRequest("file", "no file part: send the file in a part named \"file\"")
		}
		if err != nil {
			return nil, badRequest("", "malformed multipart body: "+err.Error())
		}
		name := part.FormName()
		if name == "file" || part.FileName() != "" {
			if name != "file" {
				return nil, badRequest(name, "the file goes in a part named \"file\"")
			}
			if !seen["file_name"] {
				in.FileName = part.FileName()
			}
			if !seen["media_type"] {
				in.MediaType = part.Header.Get("Content-Type")
			}
			return s.app.UploadEvidence(r.Context(), a, key, in, &lastPart{part: part, mr: mr})
		}
		if seen[name] {
			return nil, badRequest(name, "the field "+strconv.Quote(name)+" is given twice")
		}
		seen[name] = true
		v, err := io.ReadAll(io.LimitReader(part, evidenceFieldMax+1))
		if err != nil {
			return nil, badRequest(name, "could not read the field "+strconv.Quote(name))
		}
		if len(v) > evidenceFieldMax {
			return nil, badRequest(name, fmt.Sprintf("%s is longer than %d bytes", name, evidenceFieldMax))
		}
		if err := setEvidenceField(&in, name, string(v)); err != nil {
			return nil, err
		}
	}
}

// lastPart reads the file part and, at its end, makes sure it was the
// last part: a field after the file would arrive after the file is
// stored, so it fails the upload (and nothing is recorded) rather than
// being ignored.
type lastPart struct {
	part *multipart.Part
	mr   *multipart.Reader
}

func (l *lastPart) Read(p []byte) (int, error) {
	n, err := l.part.Read(p)
	if err != io.EOF {
		return n, err
	}
	next, nerr := l.mr.NextPart()
	switch {
	case nerr == io.EOF:
		return n, io.EOF
	case nerr != nil:
		return n, badRequest("", "malformed multipart body: "+nerr.Error())
	case next.FormName() == "file":
		return n, badRequest("file", "one file per request")
	default:
		return n, badRequest(next.FormName(), "metadata fields go before the file part")
	}
}

type evidenceList struct {
	Items      []*store.Evidence `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func (s *Server) listEvidence(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for name := range q {
		if name != "limit" && name != "cursor" {
			return badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	limit, before, err := pageParams(q)
	if err != nil {
		return err
	}
	items, more, err := s.app.ListEvidence(r.Context(), actorFrom(r), r.PathValue("key"), before, limit)
	if err != nil {
		return err
	}
	resp := evidenceList{Items: nonNil(items)}
	if more {
		resp.NextCursor = encodeCursor(items[len(items)-1].ID)
	}
	return writeJSON(w, http.StatusOK, resp)
}

func evidenceID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &httpError{status: http.StatusNotFound, detail: "no such evidence"}
	}
	return id, nil
}

func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := evidenceID(r)
	if err != nil {
		return err
	}
	e, err := s.app.GetEvidence(r.Context(), actorFrom(r), r.PathValue("key"), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// downloadEvidence serves an item's file. Whatever type the uploader
// claimed, it goes out as an attachment of application/octet-stream that
// the browser must not sniff: evidence is often hostile (a phishing page,
// a malicious script) and must never render in irdesk's origin.
func (s *Server) downloadEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := evidenceID(r)
	if err != nil {
		return err
	}
	req := app.DownloadRequest{Range: r.Header.Get("Range"), Client: clientHost(r), HeadOnly: r.Method == http.MethodHead}
	e, f, err := s.app.DownloadEvidence(r.Context(), actorFrom(r), r.PathValue("key"), id, req)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", contentDisposition(e.FileName))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+e.SHA256+`"`)
	if sum, err := hex.DecodeString(e.SHA256); err == nil {
		// RFC 9530: the client can check what it received.
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	}
	dw := &deadlineWriter{ResponseWriter: w, d: newDeadlines(w)}
	http.ServeContent(dw, r, "", e.CreatedAt, f)
	return nil
}

// deadlineWriter pushes the write deadline on while a download flows.
type deadlineWriter struct {
	http.ResponseWriter
	d *deadlines
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.d.extend()
	return d.ResponseWriter.Write(p)
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// clientHost is the peer address of the request, for the custody record.
// Forwarded headers are not trusted: anyone can send them.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// contentDisposition builds an RFC 6266 attachment header: an ASCII
// fallback name for old clients and the exact UTF-8 name as filename*
// (RFC 8187), so neither quotes, CR/LF nor non-ASCII can break the header.
func contentDisposition(name string) string {
	name = evidence.SanitizeFilename(name)
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '%' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar is RFC 8187's attr-char: what filename* carries unencoded.
func isAttrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

func (s *Server) handOverEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := evidenceID(r)
	if err != nil {
		return err
	}
	var in app.HandOver
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.app.HandOverEvidence(r.Context(), actorFrom(r), r.PathValue("key"), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// verifyEvidence re-hashes an item's file. A mismatch is an answer (200
// with ok false), not an error: the check itself worked.
func (s *Server) verifyEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := evidenceID(r)
	if err != nil {
		return err
	}
	c, err := s.app.VerifyEvidence(r.Context(), actorFrom(r), r.PathValue("key"), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) custodyLog(w http.ResponseWriter, r *http.Request) error {
	id, err := evidenceID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var after int64
	limit := app.MaxCustodyPage
	for name := range q {
		if name != "after" && name != "limit" {
			return badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badRequest("after", "after must be an event id")
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > app.MaxCustodyPage {
			return badRequest("limit", "limit must be 1 to "+strconv.Itoa(app.MaxCustodyPage))
		}
		limit = n
	}
	evs, err := s.app.CustodyLog(r.Context(), actorFrom(r), r.PathValue("key"), id, after, limit)
	if err != nil {
		return err
	}
	resp := timelineResponse{Items: nonNil(evs)}
	if len(evs) == limit {
		resp.NextAfter = evs[len(evs)-1].ID
	}
	return writeJSON(w, http.StatusOK, resp)
}
