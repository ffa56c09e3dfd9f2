package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// FuzzDecodeIncident feeds arbitrary bodies through the request decoder
// and the incident rules: either a clean 4xx error or a valid incident,
// never a panic, and a valid incident stays valid when normalised again.
func FuzzDecodeIncident(f *testing.F) {
	for _, s := range []string{
		`{"title":"営業部のPCがランサムウェアに感染","category":"ransomware","severity":"S1","impact":1,"urgency":1}`,
		`{"title":"x","facts":{"occurred_at":"2026-11-23T09:00:00+09:00"},"flags":{"people_affected":1001}}`,
		`{"title":"x","category":"data_leak","info_type":"personal","affected_systems":[" a ","b"]}`,
		`{"title":null}`, `[]`, `{"title":"x"} {}`, `{"title":"\u0000"}`, `{"impact":1e400}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/incidents", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var in app.NewIncident
		err := decode(httptest.NewRecorder(), req, &in)
		if err != nil {
			if p := problemFor(err); p.Status < 400 || p.Status >= 500 {
				t.Fatalf("decode error maps to %d: %v", p.Status, err)
			}
			return
		}
		inc := core.Incident{Title: in.Title, Description: in.Description, Category: in.Category, InfoType: in.InfoType,
			CauseClass: in.CauseClass, Severity: in.Severity, Impact: in.Impact, Urgency: in.Urgency,
			AffectedSystems: in.AffectedSystems, Facts: in.Facts, Flags: in.Flags}
		if err := inc.Normalize(); err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("Normalize failed without ErrInvalid: %v", err)
			}
			return
		}
		again := inc
		again.AffectedSystems = append([]string(nil), inc.AffectedSystems...)
		if err := again.Normalize(); err != nil || again.Priority != inc.Priority || again.Title != inc.Title {
			t.Fatalf("a normalised incident changed or failed when normalised again: %v", err)
		}
	})
}

// FuzzIncidentPatch applies arbitrary patch bodies to a valid incident.
func FuzzIncidentPatch(f *testing.F) {
	for _, s := range []string{
		`{"title":"new","severity":"S1","facts":{"occurred_at":null},"flags":{"personal_data":true}}`,
		`{"category":"dos"}`, `{"impact":null}`, `{"affected_systems":null}`, `{"version":1,"restricted":true}`,
		`{"timestamps":{"contained_at":"2026-11-23T10:00:00Z"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPatch, "/api/v1/incidents/INC-2026-0001", bytes.NewReader(body))
		var patch core.IncidentPatch
		if err := decode(httptest.NewRecorder(), req, &patch); err != nil {
			return
		}
		inc := core.Incident{Title: "base", Category: core.CatDataLeak, InfoType: core.InfoPersonal, Phase: core.PhaseDetect,
			Timestamps: core.Timestamps{ReportedAt: time.Now()}}
		if err := inc.Normalize(); err != nil {
			t.Fatal(err)
		}
		changes, err := patch.Apply(&inc)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("Apply failed without ErrInvalid: %v", err)
			}
			return
		}
		if err := inc.Normalize(); err != nil {
			t.Fatalf("Apply accepted a patch that leaves an invalid incident: %v (changes %v)", err, changes)
		}
	})
}

func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(42))
	f.Add("garbage")
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		id, err := decodeCursor(c)
		if err == nil && (id < 1 || encodeCursor(id) != c && decodeMust(t, encodeCursor(id)) != id) {
			t.Fatalf("cursor %q decoded to %d", c, id)
		}
	})
}

func decodeMust(t *testing.T, c string) int64 {
	id, err := decodeCursor(c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
