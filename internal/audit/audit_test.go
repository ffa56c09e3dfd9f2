package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func chain(t *testing.T, n int) []core.Event {
	t.Helper()
	prev := Genesis
	var out []core.Event
	base := time.Date(2026, 11, 23, 1, 2, 3, 456789000, time.UTC)
	for i := 1; i <= n; i++ {
		ev := core.Event{ID: int64(i), Time: base.Add(time.Duration(i) * time.Second), ActorID: 1, Actor: "alice",
			IncidentID: 7, Type: core.EvCommentAdded, Payload: []byte(`{"body": "x", "n": ` + string(rune('0'+i%10)) + `}`)}
		if err := Seal(prev, &ev); err != nil {
			t.Fatal(err)
		}
		prev = ev.Hash
		out = append(out, ev)
	}
	return out
}

func verify(evs []core.Event, headID int64, headHash string) (int64, error) {
	v := NewVerifier()
	for i := range evs {
		if err := v.Next(&evs[i]); err != nil {
			return v.Count(), err
		}
	}
	return v.Count(), v.Finish(headID, headHash)
}

func TestChain(t *testing.T) {
	evs := chain(t, 5)
	head := evs[4]
	tests := []struct {
		name    string
		mutate  func([]core.Event) []core.Event
		headID  int64
		breakAt int64 // 0: intact
	}{
		{"intact", func(e []core.Event) []core.Event { return e }, 5, 0},
		{"altered payload", func(e []core.Event) []core.Event { e[2].Payload = []byte(`{"body":"y"}`); return e }, 5, 3},
		{"altered actor", func(e []core.Event) []core.Event { e[1].Actor = "mallory"; return e }, 5, 2},
		{"altered time", func(e []core.Event) []core.Event { e[0].Time = e[0].Time.Add(time.Microsecond); return e }, 5, 1},
		{"deleted middle", func(e []core.Event) []core.Event { return append(e[:2:2], e[3:]...) }, 5, 4},
		{"deleted last", func(e []core.Event) []core.Event { return e[:4] }, 5, 5},
		{"inserted", func(e []core.Event) []core.Event {
			fake := core.Event{ID: 3, Time: e[2].Time, Actor: "mallory", Type: "x", Payload: []byte(`{}`)}
			_ = Seal(e[1].Hash, &fake)
			out := append(e[:2:2], fake)
			for _, ev := range e[2:] {
				ev.ID++
				out = append(out, ev)
			}
			return out
		}, 6, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := tt.mutate(append([]core.Event(nil), evs...))
			_, err := verify(evs, tt.headID, head.Hash)
			var b *Break
			if tt.breakAt == 0 {
				if err != nil {
					t.Fatalf("intact chain: %v", err)
				}
				return
			}
			if !errors.As(err, &b) {
				t.Fatalf("got %v, want a Break at %d", err, tt.breakAt)
			}
			if b.EventID != tt.breakAt {
				t.Fatalf("break at %d (%s), want %d", b.EventID, b.Reason, tt.breakAt)
			}
		})
	}
}

func TestCanonicalIgnoresPayloadWhitespace(t *testing.T) {
	a := core.Event{ID: 1, Time: time.Unix(0, 0), Type: "t", Payload: []byte(`{"a": 1, "b": [1, 2]}`)}
	b := a
	b.Payload = []byte("{\"a\":1,\n\"b\":[1,2]}")
	ha, _ := Hash(Genesis, &a)
	hb, _ := Hash(Genesis, &b)
	if ha != hb {
		t.Fatal("whitespace in the payload changed the hash")
	}
	b.Payload = []byte(`{"a":2,"b":[1,2]}`)
	if hc, _ := Hash(Genesis, &b); hc == ha {
		t.Fatal("a changed payload kept the hash")
	}
	if _, err := Hash(Genesis, &core.Event{Payload: []byte("{not json")}); err == nil {
		t.Fatal("a malformed payload hashed without error")
	}
}

// The hand-written canonical form is json.Marshal of the fields in order,
// with the payload as json.Compact leaves it (no HTML escaping).
func TestCanonicalMatchesMarshal(t *testing.T) {
	type canonical struct {
		ID         int64           `json:"id"`
		Time       string          `json:"time"`
		ActorID    int64           `json:"actor_id"`
		Actor      string          `json:"actor"`
		IncidentID int64           `json:"incident_id"`
		Type       string          `json:"type"`
		Payload    json.RawMessage `json:"payload"`
	}
	for _, ev := range []core.Event{
		{ID: 1, Time: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("JST", 9*3600)), Actor: "山田 <x@y>\"\\\u2028", Type: "t&<>", Payload: []byte(`{ "a" : [1, 2 ], "b":"</script>"}`)},
		{ID: 99, Time: time.Unix(0, 0), ActorID: 5, IncidentID: 7, Actor: "", Type: "x", Payload: nil},
	} {
		got, err := Canonical(&ev)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		p := ev.Payload
		if len(p) == 0 {
			p = []byte("{}")
		}
		_ = json.Compact(&compact, p)
		head, _ := json.Marshal(canonical{ev.ID, ev.Time.UTC().Truncate(time.Microsecond).Format(TimeFormat), ev.ActorID, ev.Actor, ev.IncidentID, ev.Type, json.RawMessage("0")})
		want := append(bytes.TrimSuffix(head, []byte("0}")), append(compact.Bytes(), '}')...)
		if !bytes.Equal(got, want) {
			t.Errorf("canonical\n got %s\nwant %s", got, want)
		}
	}
}
