// Package audit computes and verifies the hash chain over the events table,
// which makes any altered, deleted or inserted row detectable.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Genesis is the prev_hash of the first event.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeFormat is the canonical time form inside a hashed event: UTC with
// microseconds, the precision the database keeps.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Canonical returns the bytes of ev that the hash covers:
//
//	{"id":N,"time":"...","actor_id":N,"actor":"...","incident_id":N,"type":"...","payload":{...}}
//
// with the fields in this order and the payload compacted, so whitespace
// cannot matter. It is written by hand rather than through a struct and
// json.Marshal, which would scan the payload a second time.
func Canonical(ev *core.Event) ([]byte, error) {
	b := make([]byte, 0, 160+len(ev.Payload))
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, ev.ID, 10)
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().Truncate(time.Microsecond).AppendFormat(b, TimeFormat)
	b = append(b, `","actor_id":`...)
	b = strconv.AppendInt(b, ev.ActorID, 10)
	b = append(b, `,"actor":`...)
	b = appendJSONString(b, ev.Actor)
	b = append(b, `,"incident_id":`...)
	b = strconv.AppendInt(b, ev.IncidentID, 10)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, ev.Type)
	b = append(b, `,"payload":`...)
	if len(ev.Payload) == 0 {
		b = append(b, "{}"...)
	} else {
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, ev.Payload); err != nil {
			return nil, fmt.Errorf("event %d payload: %w", ev.ID, err)
		}
		b = buf.Bytes()
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as encoding/json would write it.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
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
