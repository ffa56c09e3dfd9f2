// Package web is irdesk's HTTP surface: the JSON API, health and metrics
// endpoints. It is the only package that knows HTTP.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/web/ui"
)

// MaxBodyBytes bounds a request body: an incident is text, not a file.
const MaxBodyBytes = 1 << 20

// Config tunes the HTTP surface.
type Config struct {
	// SecureCookies marks the session cookie Secure; on by default behind
	// TLS, off for http://127.0.0.1 so a first local start works.
	SecureCookies bool
}

// Server routes requests to the use cases.
type Server struct {
	app      *app.App
	log      *slog.Logger
	cfg      Config
	mux      *http.ServeMux
	handler  http.Handler
	requests *metrics.CounterVec
	duration *metrics.HistogramVec
	registry *metrics.Registry
	routes   []route
	origin   *http.CrossOriginProtection
	ui       *ui.UI
	streams  streams
}

// handlerFunc is the shape of every handler: it returns an error instead
// of choosing a status; writeError maps it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method, path string
	h            handlerFunc
	public       bool // no authentication needed
}

// New builds the server and its routes.
func New(a *app.App, log *slog.Logger, reg *metrics.Registry, cfg Config) *Server {
	s := &Server{
		app: a, log: log, cfg: cfg, mux: http.NewServeMux(), registry: reg,
		requests: reg.NewCounterVec("irdesk_http_requests_total", "HTTP requests by route and status.", "route", "code"),
		duration: reg.NewHistogramVec("irdesk_http_request_duration_seconds", "HTTP request duration by route.", metrics.DefaultBuckets, "route"),
		origin:   http.NewCrossOriginProtection(),
	}
	if a != nil {
		reg.NewCounterFunc("irdesk_store_commits_total", "Write transactions committed (each carries one or more requests).",
			func() float64 { return float64(a.WriteStats().Batches) })
		reg.NewCounterFunc("irdesk_store_write_requests_total", "Write requests handed to the store.",
			func() float64 { return float64(a.WriteStats().Requests) })
	}
	s.routes = s.routeList()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.adapt(rt))
	}
	s.mountUI()
	s.handler = s.middleware(http.HandlerFunc(s.dispatch))
	return s
}

// mountUI adds the browser pages. They are not API routes (not in Routes,
// not in openapi.json) but share adapt: metrics and the error mapping.
// The UI's templates are embedded, so a failure here is a broken build,
// and the server must not start with it.
func (s *Server) mountUI() {
	u, err := ui.New(ui.Options{App: s.app, Log: s.log, SessionCookie: sessionCookie, SecureCookies: s.cfg.SecureCookies, Origin: s.origin,
		OIDC: s.app != nil && s.app.OIDCEnabled()})
	if err != nil {
		panic(fmt.Sprintf("web ui: %v", err))
	}
	s.ui = u
	for _, rt := range u.Routes() {
		s.mux.Handle(rt.Method+" "+rt.Path, s.adapt(route{method: rt.Method, path: rt.Path, h: rt.Handler, public: true}))
	}
}

// Routes lists "METHOD /path" of every API route, for the OpenAPI check.
func (s *Server) Routes() []string {
	out := make([]string, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// dispatch routes a request; the mux's own 404 and 405 answers are
// turned into problem bodies like every other error.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		// Through the mux, not h: only the mux sets r.PathValue.
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &headerOnly{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	status := probe.status
	if status == 0 || status == http.StatusOK {
		status = http.StatusNotFound
	}
	s.requests.Inc("unmatched", fmt.Sprint(status))
	s.writeError(w, r, &httpError{status: status, detail: fmt.Sprintf("no endpoint answers %s %s", r.Method, r.URL.Path)})
}

// headerOnly records what a handler would answer without sending it.
type headerOnly struct {
	header http.Header
	status int
}

func (h *headerOnly) Header() http.Header         { return h.header }
func (h *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerOnly) WriteHeader(code int)        { h.status = code }

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxActor
	ctxSession
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// statusRecorder remembers the status for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// middleware wraps every request: request id, security headers, panic
// recovery and the access log. Metrics are per route, in adapt.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = r.WithContext(context.WithValue(r.Context(), ctxRequestID, id))
		rec := &statusRecorder{ResponseWriter: w}
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, errors.New("panic"))
				}
			}
			s.log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// adapt turns a route into an http.Handler: authentication, CSRF for
// cookie sessions, metrics, and the error mapping.
func (s *Server) adapt(rt route) http.Handler {
	label := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec, _ := w.(*statusRecorder)
		err := s.serve(w, r, rt)
		if err != nil {
			s.writeError(w, r, err)
		}
		code := "0"
		if rec != nil {
			code = fmt.Sprint(rec.status)
		}
		s.requests.Inc(label, code)
		s.duration.Observe(time.Since(start).Seconds(), label)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt route) error {
	if !rt.public {
		ctx, err := s.authenticate(r)
		if err != nil {
			return err
		}
		r = r.WithContext(ctx)
	}
	return rt.h(w, r)
}

// sessionCookie is the name of the browser session cookie.
const sessionCookie = "irdesk_session"

// authenticate resolves the bearer token or session cookie. A cookie
// session must also pass the CSRF checks for anything but a read: the
// request must be same-origin and carry the session's CSRF token.
func (s *Server) authenticate(r *http.Request) (context.Context, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return nil, fmt.Errorf("%w: use Authorization: Bearer <token>", core.ErrUnauthenticated)
		}
		actor, err := s.app.AuthenticateToken(ctx, strings.TrimSpace(secret))
		if err != nil {
			return nil, err
		}
		return context.WithValue(ctx, ctxActor, actor), nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, fmt.Errorf("%w: sign in or send a bearer token", core.ErrUnauthenticated)
	}
	actor, sess, err := s.app.AuthenticateSession(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	if !safeMethod(r.Method) {
		if err := s.origin.Check(r); err != nil {
			return nil, fmt.Errorf("%w: cross-origin request refused", core.ErrForbidden)
		}
		if r.Header.Get("X-CSRF-Token") != sess.CSRFToken {
			return nil, fmt.Errorf("%w: missing or wrong X-CSRF-Token header", core.ErrForbidden)
		}
	}
	ctx = context.WithValue(ctx, ctxActor, actor)
	return context.WithValue(ctx, ctxSession, sess), nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func actorFrom(r *http.Request) app.Actor {
	a, _ := r.Context().Value(ctxActor).(app.Actor)
	return a
}

// decode reads a JSON body into v: at most MaxBodyBytes, one JSON value,
// no unknown fields, so a typo in a field name is an error rather than a
// silently ignored change.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &httpError{status: http.StatusUnsupportedMediaType, detail: "send application/json"}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
		}
		return badRequest("", "could not read the body")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return badRequest("", "the body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &se):
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	case errors.As(err, &te):
		return badRequest(te.Field, fmt.Sprintf("%s must be %s, not %s", fieldName(te.Field), te.Type.String(), te.Value))
	case errors.As(err, &pe):
		return badRequest("", "a time is not in RFC 3339 form (2026-11-23T09:30:00+09:00)")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this one.
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(f, fmt.Sprintf("unknown field %q", f))
	default:
		return badRequest("", "malformed JSON: "+err.Error())
	}
}

func fieldName(f string) string {
	if f == "" {
		return "the value"
	}
	return f
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
