package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/app"
)

// Live updates by Server-Sent Events. A stream says only that something
// changed (event id, type, incident key); the page then re-reads what it
// shows through the ordinary, authorised routes, so the stream never
// carries content a viewer might no longer be allowed to see.
//
// Messages:
//
//	id: 42
//	event: change
//	data: {"id":42,"type":"incident.comment_added","incident":"INC-2026-0001"}
//
//	event: resync   (changes may have been missed: re-read everything)
//	event: gone     (the viewer may no longer see the incident; the stream ends)
//
// and a comment line every heartbeat, so proxies keep the connection and
// the client notices a dead one.

const (
	// sseHeartbeat is how often an idle stream sends a comment.
	sseHeartbeat = 15 * time.Second
	// sseReplayMax bounds a Last-Event-ID replay; past it the client is
	// told to resync, which costs it one page load instead.
	sseReplayMax = 2000
)

// streams ends every live stream when the server shuts down: an open
// stream would otherwise hold http.Server.Shutdown for its whole grace.
type streams struct {
	once, closeOnce sync.Once
	closing         chan struct{}
}

func (st *streams) done() <-chan struct{} {
	st.once.Do(func() { st.closing = make(chan struct{}) })
	return st.closing
}

// CloseStreams ends the live event streams; register it with
// http.Server.RegisterOnShutdown.
func (s *Server) CloseStreams() {
	s.streams.done()
	s.streams.closeOnce.Do(func() { close(s.streams.closing) })
}

type sseChange struct {
	ID       int64  `json:"id"`
	Type     string `json:"type"`
	Incident string `json:"incident"`
}

// sseWriter writes one stream, pushing the connection's deadlines on as
// it goes: the server's ReadTimeout and WriteTimeout are for ordinary
// requests and would cut a stream that is meant to stay open.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSEWriter(w http.ResponseWriter) *sseWriter {
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	sw.extend()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Tell nginx and the like not to buffer the stream.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return sw
}

func (sw *sseWriter) extend() {
	// Two heartbeats of slack: a write that cannot go out in that time is
	// to a client that is gone. Servers without deadlines (httptest)
	// answer ErrNotSupported, which changes nothing.
	until := time.Now().Add(2 * sseHeartbeat)
	_ = sw.rc.SetReadDeadline(until)
	_ = sw.rc.SetWriteDeadline(until)
}

// send writes one message and flushes it.
func (sw *sseWriter) send(id int64, event string, data any) error {
	sw.extend()
	var b strings.Builder
	if id > 0 {
		fmt.Fprintf(&b, "id: %d\n", id)
	}
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return err
	}
	// json.Marshal never writes a newline, so the data is one line.
	fmt.Fprintf(&b, "data: %s\n\n", payload)
	if _, err := sw.w.Write([]byte(b.String())); err != nil {
		return err
	}
	return sw.rc.Flush()
}

func (sw *sseWriter) comment(text string) error {
	sw.extend()
	if _, err := sw.w.Write([]byte(": " + text + "\n\n")); err != nil {
		return err
	}
	return sw.rc.Flush()
}

// lastEventID reads the Last-Event-ID header a reconnecting EventSource
// sends: the last event id it received.
func lastEventID(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("Last-Event-ID", "Last-Event-ID must be an event id")
	}
	return n, nil
}

// incidentEvents streams the changes of one incident.
func (s *Server) incidentEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	a, key := actorFrom(r), r.PathValue("key")
	// Watch before replaying, so nothing committed during the replay is
	// missed; what both deliver is sent once, by id.
	recheck := s.recheck(r)
	changes, err := s.app.Watch(ctx, a, key, recheck)
	if err != nil {
		return err
	}
	sw := newSSEWriter(w)
	if after > 0 {
		last, err := s.replay(ctx, sw, a, key, after)
		if err != nil {
			return nil // the client went away or lost access; headers are sent
		}
		after = last
	}
	if err := sw.comment("watching " + key); err != nil {
		return nil
	}
	return s.pump(ctx, sw, changes, after, recheck)
}

// replay sends the incident's events after an id and returns the last id
// sent; past sseReplayMax it sends a resync instead.
func (s *Server) replay(ctx context.Context, sw *sseWriter, a app.Actor, key string, after int64) (int64, error) {
	sent := 0
	for {
		evs, err := s.app.Timeline(ctx, a, key, after, app.MaxTimelinePage)
		if err != nil {
			return after, err
		}
		for _, ev := range evs {
			if sent == sseReplayMax {
				// The ids still to come will not be sent one by one; what
				// the client re-reads on resync includes them.
				return after, sw.send(0, "resync", map[string]string{"incident": key})
			}
			if err := sw.send(ev.ID, "change", sseChange{ID: ev.ID, Type: ev.Type, Incident: key}); err != nil {
				return after, err
			}
			after = ev.ID
			sent++
		}
		if len(evs) < app.MaxTimelinePage {
			return after, nil
		}
	}
}

// listEvents streams the changes of every incident the viewer may see,
// for list pages. It does not replay: a list re-reads its page instead,
// so a reconnecting client is told to resync.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := lastEventID(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	recheck := s.recheck(r)
	changes, err := s.app.WatchList(ctx, actorFrom(r), recheck)
	if err != nil {
		return err
	}
	sw := newSSEWriter(w)
	if after > 0 {
		if err := sw.send(0, "resync", map[string]string{}); err != nil {
			return nil
		}
	}
	if err := sw.comment("watching incidents"); err != nil {
		return nil
	}
	return s.pump(ctx, sw, changes, after, recheck)
}

// recheck re-resolves the stream's credentials the way the request was
// authenticated (its bearer token or session cookie), so a stream ends
// when they stop being good.
func (s *Server) recheck(r *http.Request) app.Recheck {
	return func(ctx context.Context) (app.Actor, error) {
		c, err := s.authenticate(r.WithContext(ctx))
		if err != nil {
			return app.Actor{}, err
		}
		a, _ := c.Value(ctxActor).(app.Actor)
		return a, nil
	}
}

// pump sends changes until the client goes, the watch ends (the viewer
// lost access, the store closed) or the server shuts down. Changes with
// ids up to after were sent by a replay already.
func (s *Server) pump(ctx context.Context, sw *sseWriter, changes <-chan app.Watched, after int64, recheck app.Recheck) error {
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	closing := s.streams.done()
	for {
		var err error
		select {
		case c, ok := <-changes:
			if !ok {
				return nil
			}
			switch {
			case c.Gone:
				_ = sw.send(0, "gone", map[string]string{"incident": c.IncidentKey})
				return nil
			case c.Resync:
				err = sw.send(0, "resync", map[string]string{"incident": c.IncidentKey})
			case c.EventID <= after:
				continue
			default:
				err = sw.send(c.EventID, "change", sseChange{ID: c.EventID, Type: c.Type, Incident: c.IncidentKey})
			}
		case <-beat.C:
			// A quiet stream must still end when its credentials do.
			if _, aerr := recheck(ctx); aerr != nil {
				_ = sw.send(0, "gone", map[string]string{})
				return nil
			}
			err = sw.comment("heartbeat")
		case <-closing:
			return nil
		case <-ctx.Done():
			return nil
		}
		if err != nil {
			// The client is gone; there is nobody to answer.
			return nil
		}
	}
}
