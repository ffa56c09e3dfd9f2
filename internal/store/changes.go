package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/irdesk/irdesk/internal/core"
)

// Change is one committed audit event, as the change feed tells it: what
// a live view needs to know that it must re-read something.
type Change struct {
	EventID    int64
	IncidentID int64 // 0 for events of no incident
	Type       string
	// Resync means changes may have been lost (a slow subscriber, a
	// reconnect to the database): re-read everything shown. The other
	// fields are zero.
	Resync bool
}

// subscriberBuffer bounds what one subscriber may fall behind before it is
// told to resync instead: the writer must never wait for a slow reader.
const subscriberBuffer = 256

// feed fans committed changes out to subscribers in this process.
type feed struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
	// closed is set when the store closes; later subscriptions end at once.
	closed bool
}

// subscription queues changes for one subscriber. The writer appends to
// queue under mu and never blocks; a goroutine hands them on through out.
type subscription struct {
	out    chan Change
	wake   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	queue  []Change
	cancel sync.Once
}

// Subscribe returns the changes committed from now on, in commit order,
// and a function that ends the subscription. The channel is closed when
// the subscription or the store ends. A subscriber that falls more than a
// buffer behind gets one Change{Resync: true} in place of what it missed.
func (s *Store) Subscribe() (<-chan Change, func()) {
	return s.w.feed.subscribe()
}

func (f *feed) subscribe() (<-chan Change, func()) {
	sub := &subscription{out: make(chan Change), wake: make(chan struct{}, 1), done: make(chan struct{})}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		close(sub.out)
		return sub.out, func() {}
	}
	if f.subs == nil {
		f.subs = map[*subscription]struct{}{}
	}
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	go sub.forward()
	cancel := func() {
		sub.cancel.Do(func() {
			f.mu.Lock()
			delete(f.subs, sub)
			f.mu.Unlock()
			close(sub.done)
		})
	}
	return sub.out, cancel
}

// forward hands queued changes to the subscriber until it cancels.
func (sub *subscription) forward() {
	defer close(sub.out)
	for {
		sub.mu.Lock()
		var next Change
		have := len(sub.queue) > 0
		if have {
			next = sub.queue[0]
			sub.queue = sub.queue[1:]
			if len(sub.queue) == 0 {
				sub.queue = nil
			}
		}
		sub.mu.Unlock()
		if !have {
			select {
			case <-sub.wake:
				continue
			case <-sub.done:
				return
			}
		}
		select {
		case sub.out <- next:
		case <-sub.done:
			return
		}
	}
}

// push queues changes for the subscriber. Past the buffer, everything
// queued is replaced by one resync marker: the subscriber re-reads
// anyway, so the queue stays bounded and the writer never waits.
func (sub *subscription) push(cs []Change) {
	sub.mu.Lock()
	for _, c := range cs {
		if len(sub.queue) >= subscriberBuffer {
			sub.queue = append(sub.queue[:0], Change{Resync: true})
		}
		if c.Resync && len(sub.queue) > 0 && sub.queue[len(sub.queue)-1].Resync {
			continue
		}
		sub.queue = append(sub.queue, c)
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// publish hands committed changes to every subscriber.
func (f *feed) publish(cs []Change) {
	if len(cs) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		sub.push(cs)
	}
}

// close ends every subscription: their channels close.
func (f *feed) close() {
	f.mu.Lock()
	subs := f.subs
	f.subs, f.closed = nil, true
	f.mu.Unlock()
	for sub := range subs {
		sub.cancel.Do(func() { close(sub.done) })
	}
}

// changeOf is what the feed tells of an appended event.
func changeOf(ev *core.Event) Change {
	return Change{EventID: ev.ID, IncidentID: ev.IncidentID, Type: ev.Type}
}

// notifyChannel is the PostgreSQL channel on which nodes tell each other
// of their commits.
const notifyChannel = "irdesk_changes"

// notifyLimit keeps one NOTIFY payload under PostgreSQL's 8000-byte limit.
const notifyLimit = 7000

// notice is the payload of one NOTIFY: the node that committed (so it can
// drop its own), the schema (nodes of other irdesk databases may share the
// PostgreSQL database and so the channel) and the changes as
// [event id, incident id, type].
type notice struct {
	Node    string  `json:"n"`
	Schema  string  `json:"s"`
	Changes [][]any `json:"c"`
}

// notices splits the changes into NOTIFY payloads under notifyLimit.
func notices(node, schema string, cs []Change) ([]string, error) {
	var out []string
	n := notice{Node: node, Schema: schema}
	size := 0
	flush := func() error {
		if len(n.Changes) == 0 {
			return nil
		}
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		out = append(out, string(b))
		n.Changes, size = nil, 0
		return nil
	}
	for _, c := range cs {
		// Ids print as at most 20 digits each; the type is ASCII.
		item := 50 + len(c.Type)
		if size+item > notifyLimit {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		n.Changes = append(n.Changes, []any{c.EventID, c.IncidentID, c.Type})
		size += item
	}
	return out, flush()
}

// parseNotice reads a NOTIFY payload.
func parseNotice(payload string) (notice, []Change, error) {
	var raw struct {
		Node    string            `json:"n"`
		Schema  string            `json:"s"`
		Changes []json.RawMessage `json:"c"`
	}
	if err := json.Unmarshal([]byte(payload), &raw); err != nil {
		return notice{}, nil, fmt.Errorf("change notice: %w", err)
	}
	cs := make([]Change, 0, len(raw.Changes))
	for _, item := range raw.Changes {
		var c struct {
			id, inc int64
			typ     string
		}
		fields := []any{&c.id, &c.inc, &c.typ}
		if err := json.Unmarshal(item, &fields); err != nil || len(fields) != 3 {
			return notice{}, nil, fmt.Errorf("change notice: bad item %s", item)
		}
		cs = append(cs, Change{EventID: c.id, IncidentID: c.inc, Type: c.typ})
	}
	return notice{Node: raw.Node, Schema: raw.Schema}, cs, nil
}

func newNodeID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// notifyChanges sends the batch's changes to the other nodes inside the
// batch transaction: PostgreSQL delivers them on COMMIT, never on rollback.
func (w *writer) notifyChanges(cs []Change) error {
	if w.d.name != postgresDialect.name || len(cs) == 0 {
		return nil
	}
	payloads, err := notices(w.node, w.schema, cs)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := w.stmts.prepare(ctx, `SELECT pg_notify('`+notifyChannel+`', $1)`)
	if err != nil {
		return err
	}
	for _, p := range payloads {
		if _, err := st.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// VisibleIncidentKey returns the key of the incident with the given id if
// the scope may see it; ErrNotFound otherwise. The live feed asks it for
// every change, so a viewer removed from a restricted incident stops
// hearing of it at once.
func (r reader) VisibleIncidentKey(ctx context.Context, incidentID int64, scope Scope) (string, error) {
	cond, args := scope.where()
	row, err := r.queryRow(ctx, `SELECT i.key FROM incidents i WHERE i.id = ? AND `+cond, append([]any{incidentID}, args...)...)
	if err != nil {
		return "", err
	}
	var key string
	if err := row.Scan(&key); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("incident %d: %w", incidentID, core.ErrNotFound)
		}
		return "", fmt.Errorf("incident %d: %w", incidentID, err)
	}
	return key, nil
}
