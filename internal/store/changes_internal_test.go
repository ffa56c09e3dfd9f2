package store

import (
	"reflect"
	"strings"
	"testing"
)

// TestNoticesRoundTrip: a big batch is split into NOTIFY payloads under
// PostgreSQL's limit, and reading them back gives every change in order.
func TestNoticesRoundTrip(t *testing.T) {
	var cs []Change
	for i := range 1000 {
		cs = append(cs, Change{EventID: int64(1_000_000_000 + i), IncidentID: int64(i % 7), Type: "incident.comment_added"})
	}
	payloads, err := notices("node1", "public", cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(payloads) < 2 {
		t.Fatalf("1000 changes in %d payload(s), want them split", len(payloads))
	}
	var got []Change
	for _, p := range payloads {
		if len(p) >= 8000 {
			t.Fatalf("payload of %d bytes, over PostgreSQL's limit", len(p))
		}
		hdr, part, err := parseNotice(p)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Node != "node1" || hdr.Schema != "public" {
			t.Fatalf("header %+v", hdr)
		}
		got = append(got, part...)
	}
	if !reflect.DeepEqual(got, cs) {
		t.Fatalf("round trip lost or changed changes: %d of %d", len(got), len(cs))
	}
}

func TestParseNoticeRefusesJunk(t *testing.T) {
	for _, p := range []string{"", "{", `{"c":[[1,2]]}`, `{"c":[["x",2,"t"]]}`, `{"c":[1]}`, strings.Repeat("[", 100)} {
		if _, _, err := parseNotice(p); err == nil {
			t.Errorf("parseNotice(%q) accepted junk", p)
		}
	}
}

func FuzzParseNotice(f *testing.F) {
	p, _ := notices("n", "s", []Change{{EventID: 1, IncidentID: 2, Type: "incident.created"}})
	f.Add(p[0])
	f.Add(`{"n":"x","s":"y","c":[[1,0,"a"],[2,3,"b"]]}`)
	f.Fuzz(func(t *testing.T, payload string) {
		hdr, cs, err := parseNotice(payload)
		if err != nil {
			return
		}
		again, err := notices(hdr.Node, hdr.Schema, cs)
		if err != nil {
			t.Fatal(err)
		}
		var back []Change
		for _, q := range again {
			_, part, err := parseNotice(q)
			if err != nil {
				t.Fatalf("re-encoded %q does not parse: %v", q, err)
			}
			back = append(back, part...)
		}
		if len(back) != len(cs) {
			t.Fatalf("round trip changed %d changes into %d", len(cs), len(back))
		}
	})
}
