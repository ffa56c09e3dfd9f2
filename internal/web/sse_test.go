package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
)

// sseMsg is one message read off a stream.
type sseMsg struct {
	id    int64
	event string
	data  sseChange
}

// sseStream is an open event stream, read in the background.
type sseStream struct {
	resp   *http.Response
	msgs   chan sseMsg
	ended  chan struct{}
	cancel context.CancelFunc
}

// openStream opens path as a user; lastID, when not empty, is sent as
// Last-Event-ID. It returns the response for a refusal (stream nil).
func (e *testEnv) openStream(as, path, lastID string) (*sseStream, response) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[as])
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		var buf strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			buf.WriteString(sc.Text())
		}
		return nil, response{status: resp.StatusCode, header: resp.Header, body: []byte(buf.String())}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		cancel()
		e.t.Fatalf("stream Content-Type %q", ct)
	}
	s := &sseStream{resp: resp, msgs: make(chan sseMsg, 100), ended: make(chan struct{}), cancel: cancel}
	e.t.Cleanup(s.close)
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(resp.Body)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.event != "" {
					s.msgs <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, "id: "):
				m.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &m.data)
			}
		}
	}()
	return s, response{status: resp.StatusCode, header: resp.Header}
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

func (s *sseStream) next(tb testing.TB) sseMsg {
	tb.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-s.ended:
		// The reader queues every message before it ends.
		select {
		case m := <-s.msgs:
			return m
		default:
		}
		tb.Fatal("the stream ended")
	case <-time.After(10 * time.Second):
		tb.Fatal("no message within 10 s")
	}
	return sseMsg{}
}

// expectEnd waits for the server to end the stream.
func (s *sseStream) expectEnd(tb testing.TB) {
	tb.Helper()
	select {
	case <-s.ended:
	case <-time.After(10 * time.Second):
		tb.Fatal("the stream did not end")
	}
	select {
	case m := <-s.msgs:
		tb.Fatalf("message %+v where the stream should end", m)
	default:
	}
}

func (s *sseStream) quiet(tb testing.TB, d time.Duration) {
	tb.Helper()
	select {
	case m := <-s.msgs:
		tb.Fatalf("unexpected message %+v", m)
	case <-time.After(d):
	}
}

func (e *testEnv) comment(as, key, body string) {
	e.t.Helper()
	if r := e.call(as, "POST", "/api/v1/incidents/"+key+"/comments", map[string]any{"body": body}); r.status != http.StatusCreated {
		e.t.Fatalf("comment as %s: %d %s", as, r.status, r.body)
	}
}

func (e *testEnv) timelineIDs(key string) []int64 {
	e.t.Helper()
	var tl struct{ Items []core.Event }
	e.call("admin", "GET", "/api/v1/incidents/"+key+"/timeline", nil).json(e.t, &tl)
	var ids []int64
	for _, ev := range tl.Items {
		ids = append(ids, ev.ID)
	}
	return ids
}

// TestSSEChangeByAnotherUser: an analyst watching an incident hears of a
// comment the lead adds, with the event id, type and incident key; the
// list stream hears of it too, and of a new incident.
func TestSSEChangeByAnotherUser(t *testing.T) {
	e := newTestEnv(t)
	key := e.mustCreate("lead", map[string]any{"title": "Phishing mail opened"})
	one, _ := e.openStream("analyst", "/api/v1/incidents/"+key+"/events", "")
	list, _ := e.openStream("viewer", "/api/v1/events", "")
	e.comment("lead", key, "looking at the mail gateway")
	ids := e.timelineIDs(key)
	m := one.next(t)
	if m.event != "change" || m.id != ids[len(ids)-1] || m.data.ID != m.id || m.data.Type != core.EvCommentAdded || m.data.Incident != key {
		t.Fatalf("incident stream: %+v, want the comment event %d of %s", m, ids[len(ids)-1], key)
	}
	if m := list.next(t); m.data.Type != core.EvCommentAdded || m.data.Incident != key {
		t.Fatalf("list stream: %+v", m)
	}
	other := e.mustCreate("lead", map[string]any{"title": "Lost laptop"})
	if m := list.next(t); m.data.Type != core.EvIncidentCreated || m.data.Incident != other {
		t.Fatalf("list stream: %+v, want the creation of %s", m, other)
	}
	// The incident stream is about its incident only (creation may
	// append more events to the other one, none of which may arrive).
	one.quiet(t, 300*time.Millisecond)
}

// TestSSELastEventIDReplay: a client reconnecting with Last-Event-ID gets
// the timeline after that id, in order, then live changes, each once.
func TestSSELastEventIDReplay(t *testing.T) {
	e := newTestEnv(t)
	key := e.mustCreate("lead", map[string]any{"title": "Ransom note on screen"})
	e.comment("lead", key, "first")
	e.comment("analyst", key, "second")
	ids := e.timelineIDs(key)
	if len(ids) < 3 {
		t.Fatalf("timeline %v", ids)
	}
	s, _ := e.openStream("analyst", "/api/v1/incidents/"+key+"/events", strconv.FormatInt(ids[0], 10))
	for _, want := range ids[1:] {
		if m := s.next(t); m.id != want || m.event != "change" {
			t.Fatalf("replay: %+v, want event %d", m, want)
		}
	}
	e.comment("lead", key, "third")
	after := e.timelineIDs(key)
	if m := s.next(t); m.id != after[len(after)-1] {
		t.Fatalf("live after replay: %+v, want %d", m, after[len(after)-1])
	}
	s.quiet(t, 300*time.Millisecond)

	if _, r := e.openStream("analyst", "/api/v1/incidents/"+key+"/events", "yesterday"); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Last-Event-ID") {
		t.Fatalf("bad Last-Event-ID: %d %s", r.status, r.body)
	}
}

// TestSSERestrictedIncident: a non-member cannot open a restricted
// incident's stream and does not hear of it on the list stream; a member
// who is removed is told "gone" and cut off.
func TestSSERestrictedIncident(t *testing.T) {
	e := newTestEnv(t)
	key := e.mustCreate("lead", map[string]any{"title": "Insider copying files", "restricted": true})
	if _, r := e.openStream("analyst2", "/api/v1/incidents/"+key+"/events", ""); r.status != http.StatusNotFound {
		t.Fatalf("non-member opened the stream: %d %s", r.status, r.body)
	}
	if _, r := e.openStream("reporter", "/api/v1/incidents/"+key+"/events", ""); r.status != http.StatusNotFound && r.status != http.StatusForbidden {
		t.Fatalf("reporter opened the stream: %d %s", r.status, r.body)
	}
	if _, r := e.openStream("", "/api/v1/events", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous opened the list stream: %d", r.status)
	}
	if r := e.call("lead", "PUT", "/api/v1/incidents/"+key+"/members/analyst", nil); r.status/100 != 2 {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	member, _ := e.openStream("analyst", "/api/v1/incidents/"+key+"/events", "")
	outsider, _ := e.openStream("analyst2", "/api/v1/events", "")
	e.comment("lead", key, "keep this quiet")
	if m := member.next(t); m.data.Type != core.EvCommentAdded {
		t.Fatalf("member: %+v", m)
	}
	outsider.quiet(t, 300*time.Millisecond)

	if r := e.call("lead", "DELETE", "/api/v1/incidents/"+key+"/members/analyst", nil); r.status/100 != 2 {
		t.Fatalf("remove member: %d %s", r.status, r.body)
	}
	if m := member.next(t); m.event != "gone" || m.data.Incident != key {
		t.Fatalf("removed member: %+v, want gone", m)
	}
	member.expectEnd(t)
	e.comment("lead", key, "after the removal")
	outsider.quiet(t, 300*time.Millisecond)
}

// TestSSEEndsOnShutdown: CloseStreams (registered for server shutdown)
// ends open streams.
func TestSSEEndsOnShutdown(t *testing.T) {
	e := newTestEnv(t)
	key := e.mustCreate("lead", map[string]any{"title": "Malware on a kiosk"})
	srv := New(e.app, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewRegistry(), Config{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	own := *e
	own.url, own.client = hs.URL, hs.Client()
	s, _ := own.openStream("analyst", "/api/v1/incidents/"+key+"/events", "")
	l, _ := own.openStream("analyst", "/api/v1/events", "")
	srv.CloseStreams()
	s.expectEnd(t)
	l.expectEnd(t)
}

// TestSSEOutlivesServerTimeouts: a stream stays open past the server's
// ReadTimeout and WriteTimeout, which are for ordinary requests.
func TestSSEOutlivesServerTimeouts(t *testing.T) {
	e := newTestEnv(t)
	key := e.mustCreate("lead", map[string]any{"title": "Slow burn"})
	hs := httptest.NewUnstartedServer(New(e.app, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewRegistry(), Config{}))
	hs.Config.ReadTimeout, hs.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	hs.Start()
	defer hs.Close()
	own := *e
	own.url, own.client = hs.URL, hs.Client()
	s, _ := own.openStream("analyst", "/api/v1/incidents/"+key+"/events", "")
	time.Sleep(time.Second)
	e.comment("lead", key, "still there?")
	if m := s.next(t); m.data.Type != core.EvCommentAdded {
		t.Fatalf("after the server timeouts: %+v", m)
	}
	s.close() // before hs.Close, which waits for open requests
}

// FuzzLastEventID: any header value is an id or a 400 naming the header,
// never a panic or a negative id.
func FuzzLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "42", " 7 ", "-1", "x", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/api/v1/events", nil)
		r.Header.Set("Last-Event-ID", v)
		n, err := lastEventID(r)
		if err != nil {
			if he, ok := err.(*httpError); !ok || he.field != "Last-Event-ID" || he.status != http.StatusBadRequest {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("%q gave %d", v, n)
		}
	})
}

// TestSSEEndsWhenCredentialsDo: a stream outlives the request that
// opened it, so disabling the user ends it at the next change.
func TestSSEEndsWhenCredentialsDo(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "見ている間に無効化"})
	s, _ := env.openStream("viewer", "/api/v1/events", "")
	env.comment("analyst", key, "first")
	if m := s.next(t); m.event != "change" || m.data.Incident != key {
		t.Fatalf("first message %+v", m)
	}
	if r := env.call("admin", "POST", "/api/v1/users/viewer/disable", nil); r.status >= 300 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	env.comment("analyst", key, "second")
	if m := s.next(t); m.event != "gone" {
		t.Fatalf("after disabling: %+v", m)
	}
	s.expectEnd(t)
	// Reporters do not follow the response record's events.
	if _, r := env.openStream("reporter", "/api/v1/events", ""); r.status != http.StatusForbidden {
		t.Errorf("reporter list stream: %d", r.status)
	}
}
