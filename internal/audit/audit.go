// Package audit computes and verifies the hash chain over the events table,
// which makes any altered, deleted or inserted row detectable.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Genesis is the prev_hash of the first event.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// canonical is the exact byte form that is hashed. Field order is fixed by
// the struct; times are UTC with microseconds, the precision the database
// keeps; the payload is compacted so whitespace cannot matter.
type canonical struct {
	ID         int64           `json:"id"`
	Time       string          `json:"time"`
	ActorID    int64           `json:"actor_id"`
	Actor      string          `json:"actor"`
	IncidentID int64           `json:"incident_id"`
	Type       string          `json:"type"`
	Payload    json.RawMessage `json:"payload"`
}

// TimeFormat is the canonical time form inside a hashed event.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Canonical returns the bytes of ev that the hash covers.
func Canonical(ev *core.Event) ([]byte, error) {
	var payload bytes.Buffer
	if len(ev.Payload) == 0 {
		payload.WriteString("{}")
	} else if err := json.Compact(&payload, ev.Payload); err != nil {
		return nil, fmt.Errorf("event %d payload: %w", ev.ID, err)
	}
	return json.Marshal(canonical{
		ID:         ev.ID,
		Time:       ev.Time.UTC().Truncate(time.Microsecond).Format(TimeFormat),
		ActorID:    ev.ActorID,
		Actor:      ev.Actor,
		IncidentID: ev.IncidentID,
		Type:       ev.Type,
		Payload:    payload.Bytes(),
	})
}

// Hash returns SHA-256(prevHash || canonical(ev)) in hex.
func Hash(prevHash string, ev *core.Event) (string, error) {
	c, err := Canonical(ev)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(c)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Seal sets ev.PrevHash and ev.Hash so that ev follows prevHash.
func Seal(prevHash string, ev *core.Event) error {
	ev.PrevHash = prevHash
	h, err := Hash(prevHash, ev)
	if err != nil {
		return err
	}
	ev.Hash = h
	return nil
}

// Break describes the first place where the chain does not hold.
type Break struct {
	EventID int64
	Reason  string
}

func (b *Break) Error() string { return fmt.Sprintf("event %d: %s", b.EventID, b.Reason) }

// Verifier checks events one at a time, in id order, so a chain of any
// length is verified in constant memory.
type Verifier struct {
	prevHash string
	prevID   int64
	count    int64
}

// NewVerifier starts at the genesis hash.
func NewVerifier() *Verifier { return &Verifier{prevHash: Genesis} }

// Next checks one event. The first error is a *Break naming the event.
func (v *Verifier) Next(ev *core.Event) error {
	if ev.ID != v.prevID+1 {
		if ev.ID > v.prevID+1 {
			return &Break{ev.ID, fmt.Sprintf("events %d to %d are missing (deleted?)", v.prevID+1, ev.ID-1)}
		}
		return &Break{ev.ID, fmt.Sprintf("id out of order after event %d", v.prevID)}
	}
	if ev.PrevHash != v.prevHash {
		return &Break{ev.ID, "prev_hash does not match the hash of the event before it (row deleted or inserted?)"}
	}
	want, err := Hash(ev.PrevHash, ev)
	if err != nil {
		return &Break{ev.ID, err.Error()}
	}
	if ev.Hash != want {
		return &Break{ev.ID, "hash does not match the event's content (row altered)"}
	}
	v.prevHash, v.prevID = ev.Hash, ev.ID
	v.count++
	return nil
}

// Finish checks the end of the chain against the recorded head, which
// catches a deletion of the newest events that the chain alone cannot show.
func (v *Verifier) Finish(headID int64, headHash string) error {
	if headID != v.prevID || headHash != v.prevHash {
		return &Break{v.prevID + 1, fmt.Sprintf("the chain ends at event %d but the recorded head is event %d (newest events deleted?)", v.prevID, headID)}
	}
	return nil
}

// Count is the number of events verified so far.
func (v *Verifier) Count() int64 { return v.count }

// Head is the hash of the last verified event.
func (v *Verifier) Head() (int64, string) { return v.prevID, v.prevHash }
