package core_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

func TestNormalize(t *testing.T) {
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	tests := []struct {
		name  string
		edit  func(*core.Incident)
		field string                           // field at fault; "" = valid
		check func(*testing.T, *core.Incident) // for valid cases
	}{
		{name: "minimal incident gets defaults", edit: func(*core.Incident) {}, check: func(t *testing.T, inc *core.Incident) {
			if inc.Category != core.CatOther {
				t.Errorf("category = %q, want other", inc.Category)
			}
			if inc.Severity != core.S3 || inc.Impact != 3 || inc.Urgency != 3 || inc.Priority != core.P3 {
				t.Errorf("severity/impact/urgency/priority = %s/%d/%d/%s, want S3/3/3/P3", inc.Severity, inc.Impact, inc.Urgency, inc.Priority)
			}
			if inc.AffectedSystems == nil || len(inc.AffectedSystems) != 0 {
				t.Errorf("affected systems = %#v, want an empty non-nil slice", inc.AffectedSystems)
			}
		}},
		{name: "missing title", edit: func(i *core.Incident) { i.Title = "" }, field: "title"},
		{name: "blank title", edit: func(i *core.Incident) { i.Title = " \t\n　" }, field: "title"},
		{name: "title trimmed", edit: func(i *core.Incident) { i.Title = "  USB stick lost \n" }, check: func(t *testing.T, inc *core.Incident) {
			if inc.Title != "USB stick lost" {
				t.Errorf("title = %q, want trimmed", inc.Title)
			}
		}},
		{name: "title of max length in runes", edit: func(i *core.Incident) { i.Title = long("あ", core.MaxTitleLen) }},
		{name: "title too long", edit: func(i *core.Incident) { i.Title = long("a", core.MaxTitleLen+1) }, field: "title"},
		{name: "title too long in runes", edit: func(i *core.Incident) { i.Title = long("あ", core.MaxTitleLen+1) }, field: "title"},
		{name: "title with NUL", edit: func(i *core.Incident) { i.Title = "lost\x00laptop" }, field: "title"},
		{name: "title invalid UTF-8", edit: func(i *core.Incident) { i.Title = "lost \xff\xfe laptop" }, field: "title"},
		{name: "description with NUL", edit: func(i *core.Incident) { i.Description = "a\x00b" }, field: "description"},
		{name: "description invalid UTF-8", edit: func(i *core.Incident) { i.Description = "\xc3\x28" }, field: "description"},
		{name: "description too long", edit: func(i *core.Incident) { i.Description = long("x", core.MaxTextLen+1) }, field: "description"},
		{name: "location too long", edit: func(i *core.Incident) { i.Facts.Location = long("x", core.MaxShortLen+1) }, field: "facts.location"},
		{name: "discovered_by invalid UTF-8", edit: func(i *core.Incident) { i.Facts.DiscoveredBy = "\x80" }, field: "facts.discovered_by"},
		{name: "what with NUL", edit: func(i *core.Incident) { i.Facts.What = "\x00" }, field: "facts.what"},
		{name: "why too long", edit: func(i *core.Incident) { i.Facts.Why = long("x", core.MaxTextLen+1) }, field: "facts.why"},
		{name: "how_found with NUL", edit: func(i *core.Incident) { i.Facts.HowFound = "x\x00" }, field: "facts.how_found"},
		{name: "actions_taken invalid", edit: func(i *core.Incident) { i.Facts.ActionsTaken = "\xff" }, field: "facts.actions_taken"},
		{name: "root_cause with NUL", edit: func(i *core.Incident) { i.RootCause = "\x00" }, field: "root_cause"},
		{name: "lessons_learned invalid", edit: func(i *core.Incident) { i.LessonsLearned = "\xff" }, field: "lessons_learned"},
		{name: "prevention_measures too long", edit: func(i *core.Incident) { i.PreventionMeasures = long("x", core.MaxTextLen+1) }, field: "prevention_measures"},
		{name: "unknown category", edit: func(i *core.Incident) { i.Category = "virus" }, field: "category"},
		{name: "category is case sensitive", edit: func(i *core.Incident) { i.Category = "Malware" }, field: "category"},
		{name: "known category kept", edit: func(i *core.Incident) { i.Category = core.CatRansomware }, check: func(t *testing.T, inc *core.Incident) {
			if inc.Category != core.CatRansomware {
				t.Errorf("category = %q", inc.Category)
			}
		}},
		{name: "info_type with data_leak", edit: func(i *core.Incident) { i.Category, i.InfoType = core.CatDataLeak, core.InfoPersonal }},
		{name: "info_type without category", edit: func(i *core.Incident) { i.InfoType = core.InfoPersonal }, field: "info_type"},
		{name: "info_type with malware", edit: func(i *core.Incident) { i.Category, i.InfoType = core.CatMalware, core.InfoGeneral }, field: "info_type"},
		{name: "unknown info_type", edit: func(i *core.Incident) { i.Category, i.InfoType = core.CatDataLeak, "secret" }, field: "info_type"},
		{name: "known cause class", edit: func(i *core.Incident) { i.CauseClass = core.CauseHumanError }},
		{name: "unknown cause class", edit: func(i *core.Incident) { i.CauseClass = "bad_luck" }, field: "cause_class"},
		{name: "unknown severity", edit: func(i *core.Incident) { i.Severity = "S5" }, field: "severity"},
		{name: "lower-case severity", edit: func(i *core.Incident) { i.Severity = "s1" }, field: "severity"},
		{name: "explicit severity kept", edit: func(i *core.Incident) { i.Severity = core.S1 }, check: func(t *testing.T, inc *core.Incident) {
			if inc.Severity != core.S1 {
				t.Errorf("severity = %s", inc.Severity)
			}
		}},
		{name: "impact and urgency set the priority", edit: func(i *core.Incident) { i.Impact, i.Urgency = 1, 2 }, check: func(t *testing.T, inc *core.Incident) {
			if inc.Priority != core.P1 {
				t.Errorf("priority = %s, want P1", inc.Priority)
			}
		}},
		{name: "stale priority recomputed", edit: func(i *core.Incident) { i.Impact, i.Urgency, i.Priority = 4, 4, core.P1 }, check: func(t *testing.T, inc *core.Incident) {
			if inc.Priority != core.P4 {
				t.Errorf("priority = %s, want P4", inc.Priority)
			}
		}},
		{name: "only urgency defaults", edit: func(i *core.Incident) { i.Impact = 1 }, check: func(t *testing.T, inc *core.Incident) {
			if inc.Urgency != 3 || inc.Priority != core.P2 {
				t.Errorf("urgency/priority = %d/%s, want 3/P2", inc.Urgency, inc.Priority)
			}
		}},
		{name: "impact out of range", edit: func(i *core.Incident) { i.Impact = 5 }, field: "impact"},
		{name: "negative impact", edit: func(i *core.Incident) { i.Impact = -1 }, field: "impact"},
		{name: "urgency out of range", edit: func(i *core.Incident) { i.Urgency = 7 }, field: "urgency"},
		{name: "affected systems trimmed", edit: func(i *core.Incident) { i.AffectedSystems = []string{" fs01 ", "web02"} }, check: func(t *testing.T, inc *core.Incident) {
			if !reflect.DeepEqual(inc.AffectedSystems, []string{"fs01", "web02"}) {
				t.Errorf("affected systems = %q", inc.AffectedSystems)
			}
		}},
		{name: "empty affected system", edit: func(i *core.Incident) { i.AffectedSystems = []string{"fs01", "  "} }, field: "affected_systems[1]"},
		{name: "affected system with NUL", edit: func(i *core.Incident) { i.AffectedSystems = []string{"fs\x0001"} }, field: "affected_systems[0]"},
		{name: "affected system too long", edit: func(i *core.Incident) { i.AffectedSystems = []string{long("x", core.MaxShortLen+1)} }, field: "affected_systems[0]"},
		{name: "too many affected systems", edit: func(i *core.Incident) {
			i.AffectedSystems = make([]string, core.MaxAffectedItems+1)
			for k := range i.AffectedSystems {
				i.AffectedSystems[k] = "host"
			}
		}, field: "affected_systems"},
		{name: "negative people affected", edit: func(i *core.Incident) { i.Flags.PeopleAffected = -1 }, field: "flags.people_affected"},
		{name: "too many people affected", edit: func(i *core.Incident) { i.Flags.PeopleAffected = core.MaxPeopleAffected + 1 }, field: "flags.people_affected"},
		{name: "max people affected", edit: func(i *core.Incident) { i.Flags.PeopleAffected = core.MaxPeopleAffected }},
		{name: "sensitive implies personal data", edit: func(i *core.Incident) { i.Flags.SensitivePersonalData = true }, check: func(t *testing.T, inc *core.Incident) {
			if !inc.Flags.PersonalData || !inc.Flags.SensitivePersonalData {
				t.Errorf("flags = %+v, want personal and sensitive", inc.Flags)
			}
		}},
		{name: "personal data alone stays", edit: func(i *core.Incident) { i.Flags.PersonalData = true }, check: func(t *testing.T, inc *core.Incident) {
			if !inc.Flags.PersonalData || inc.Flags.SensitivePersonalData {
				t.Errorf("flags = %+v, want personal only", inc.Flags)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := &core.Incident{Title: "Laptop lost on the train"}
			tt.edit(inc)
			err := inc.Normalize()
			if tt.field != "" {
				wantFieldError(t, err, tt.field)
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if tt.check != nil {
				tt.check(t, inc)
			}
			// A valid incident stays valid and unchanged when normalised again.
			again := *inc
			again.AffectedSystems = append([]string{}, inc.AffectedSystems...)
			if err := again.Normalize(); err != nil {
				t.Fatalf("second Normalize: %v", err)
			}
			if !reflect.DeepEqual(&again, inc) {
				t.Errorf("Normalize is not idempotent:\n first %+v\nsecond %+v", inc, &again)
			}
		})
	}
}

func TestParseIncidentKey(t *testing.T) {
	valid := []struct {
		key  string
		year int
		seq  int64
	}{
		{"INC-2026-0001", 2026, 1},
		{"INC-2026-0042", 2026, 42},
		{"INC-2026-9999", 2026, 9999},
		{"INC-2026-12345", 2026, 12345},
		{"INC-1999-1000", 1999, 1000},
		{"INC-9999-0001", 9999, 1},
	}
	for _, tt := range valid {
		year, seq, err := core.ParseIncidentKey(tt.key)
		if err != nil {
			t.Errorf("ParseIncidentKey(%q): %v", tt.key, err)
			continue
		}
		if year != tt.year || seq != tt.seq {
			t.Errorf("ParseIncidentKey(%q) = %d, %d, want %d, %d", tt.key, year, seq, tt.year, tt.seq)
		}
		if got := core.IncidentKey(year, seq); got != tt.key {
			t.Errorf("IncidentKey(%d, %d) = %q, want %q", year, seq, got, tt.key)
		}
	}
	invalid := []string{
		"",
		"INC",
		"INC-",
		"INC-2026",
		"INC-2026-",
		"INC-2026-001",   // too few digits
		"INC-2026-00a1",  // not a number
		"inc-2026-0001",  // lower case
		"Inc-2026-0001",  //
		"INC-2026-00001", // zero-padded beyond four digits: not canonical
		"INC-2026-01234", //
		"INC-2026-0000",  // no incident zero
		"INC-2026--001",  //
		"INC-2026-+001",  //
		"INC-2026-0x01",  //
		"INC-2026-1e10",  //
		"INC-2026-0001 ", // trailing space
		" INC-2026-0001", // leading space
		"INC-2026-0001\n",
		"INC-2026-0001-0002",
		"INC-2026-99999999999999999999", // overflows int64
		"INC-26-0001",                   // two-digit year
		"INC-20261-0001",                // five-digit year
		"INC-999-0001",                  // three-digit year
		"INC-0-0001",
		"INC--1-0001", // negative year
		"INC-+202-0001",
		"INC-２０２６-0001", // full-width digits
		"INC-2026-０００１",
		"INC_2026_0001",
		"INC-2026-0001\x00",
	}
	for _, key := range invalid {
		year, seq, err := core.ParseIncidentKey(key)
		if err == nil {
			t.Errorf("ParseIncidentKey(%q) = %d, %d, want an error", key, year, seq)
			continue
		}
		if year != 0 || seq != 0 {
			t.Errorf("ParseIncidentKey(%q) returned %d, %d with its error", key, year, seq)
		}
		wantFieldError(t, err, "key")
	}
}

func TestIncidentKeyRoundTrip(t *testing.T) {
	for _, year := range []int{1000, 2026, 2027, 9999} {
		for _, seq := range []int64{1, 9, 10, 999, 1000, 9999, 10000, 123456, 1 << 40} {
			key := core.IncidentKey(year, seq)
			y, s, err := core.ParseIncidentKey(key)
			if err != nil || y != year || s != seq {
				t.Errorf("ParseIncidentKey(IncidentKey(%d, %d) = %q) = %d, %d, %v", year, seq, key, y, s, err)
			}
		}
	}
}

func FuzzParseIncidentKey(f *testing.F) {
	for _, seed := range []string{
		"INC-2026-0001", "INC-2026-12345", "INC-2026-00001", "INC-2026-001", "inc-2026-0001",
		"INC--1-0001", "INC-0-0001", "INC-2026-99999999999999999999", "INC-2026-0001 ", "",
		"INC-２０２６-0001", "INC-2026-\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		year, seq, err := core.ParseIncidentKey(key)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("ParseIncidentKey(%q) error %v is not ErrInvalid", key, err)
			}
			return
		}
		if got := core.IncidentKey(year, seq); got != key {
			t.Fatalf("ParseIncidentKey(%q) = %d, %d, but IncidentKey gives %q", key, year, seq, got)
		}
		if seq < 1 || year < 1000 || year > 9999 {
			t.Fatalf("ParseIncidentKey(%q) accepted year %d, seq %d", key, year, seq)
		}
	})
}

// patchBase is the incident every patch test starts from.
func patchBase(tb testing.TB) *core.Incident {
	tb.Helper()
	occurred := time.Date(2026, 3, 1, 0, 30, 0, 0, time.UTC)
	detected := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	inc := &core.Incident{
		ID: 7, Key: "INC-2026-0007", Title: "Customer list mailed to wrong address", Description: "d",
		Category: core.CatDataLeak, InfoType: core.InfoPersonal, Severity: core.S2, Impact: 2, Urgency: 2,
		Phase: core.PhaseTriage, AffectedSystems: []string{"mail01", "crm"},
		Facts:      core.Facts{OccurredAt: &occurred, Location: "Osaka office", What: "mail sent to wrong address"},
		Flags:      core.Flags{PersonalData: false, PeopleAffected: 120},
		Timestamps: core.Timestamps{DetectedAt: &detected, ReportedAt: detected}, Version: 3,
	}
	if err := inc.Normalize(); err != nil {
		tb.Fatalf("base incident: %v", err)
	}
	return inc
}

// clone deep-copies an incident through JSON plus the fields JSON skips.
func clone(tb testing.TB, inc *core.Incident) *core.Incident {
	tb.Helper()
	b, err := json.Marshal(inc)
	if err != nil {
		tb.Fatal(err)
	}
	var out core.Incident
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	out.ReporterID, out.AssigneeID = inc.ReporterID, inc.AssigneeID
	return &out
}

func TestIncidentPatchApply(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		changes string // the changes as the audit event records them (JSON); "" = none
		field   string // field at fault, for refused patches
		check   func(*testing.T, *core.Incident)
	}{
		{name: "empty patch", body: `{}`},
		{name: "only version", body: `{"version": 3}`},
		{name: "same values", body: `{"title": "Customer list mailed to wrong address", "severity": "S2", "impact": 2,
			"affected_systems": ["mail01", "crm"], "facts": {"occurred_at": "2026-03-01T09:30:00+09:00", "location": "Osaka office"},
			"flags": {"personal_data": false, "people_affected": 120}}`},
		{name: "empty sub-objects", body: `{"facts": {}, "flags": {}, "timestamps": {}}`},
		{name: "title", body: `{"title": "Customer list leaked"}`,
			changes: `[{"field":"title","old":"Customer list mailed to wrong address","new":"Customer list leaked"}]`},
		{name: "title null refused", body: `{"title": null}`, field: "title"},
		{name: "blank title refused", body: `{"title": "   "}`, field: "title"},
		{name: "several fields in order", body: `{"description": "", "severity": "S1", "facts": {"location": "Tokyo"}, "restricted": true}`,
			changes: `[{"field":"description","old":"d","new":""},{"field":"severity","old":"S2","new":"S1"},` +
				`{"field":"facts.location","old":"Osaka office","new":"Tokyo"},{"field":"restricted","old":false,"new":true}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.Description != "" || inc.Severity != core.S1 || inc.Facts.Location != "Tokyo" || !inc.Restricted {
					t.Errorf("incident not changed: %+v", inc)
				}
				if inc.Facts.What != "mail sent to wrong address" {
					t.Errorf("absent facts.what changed to %q", inc.Facts.What)
				}
			}},
		{name: "null clears occurred_at", body: `{"facts": {"occurred_at": null}}`,
			changes: `[{"field":"facts.occurred_at","old":"2026-03-01T00:30:00Z","new":null}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.Facts.OccurredAt != nil {
					t.Errorf("occurred_at = %v, want nil", inc.Facts.OccurredAt)
				}
			}},
		{name: "absent occurred_at left alone", body: `{"facts": {"why": "typo"}}`,
			changes: `[{"field":"facts.why","old":"","new":"typo"}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.Facts.OccurredAt == nil || !inc.Facts.OccurredAt.Equal(time.Date(2026, 3, 1, 0, 30, 0, 0, time.UTC)) {
					t.Errorf("occurred_at = %v, want unchanged", inc.Facts.OccurredAt)
				}
			}},
		{name: "occurred_at stored in UTC to the microsecond", body: `{"facts": {"occurred_at": "2026-02-28T23:00:00.123456789+09:00"}}`,
			changes: `[{"field":"facts.occurred_at","old":"2026-03-01T00:30:00Z","new":"2026-02-28T14:00:00.123456Z"}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.Facts.OccurredAt.Location() != time.UTC {
					t.Errorf("occurred_at in %v, want UTC", inc.Facts.OccurredAt.Location())
				}
			}},
		{name: "timestamp set by hand", body: `{"timestamps": {"contained_at": "2026-03-02T00:00:00Z", "detected_at": null}}`,
			changes: `[{"field":"timestamps.detected_at","old":"2026-03-01T02:00:00Z","new":null},` +
				`{"field":"timestamps.contained_at","old":null,"new":"2026-03-02T00:00:00Z"}]`},
		{name: "category away from data_leak clears info_type", body: `{"category": "malware"}`,
			changes: `[{"field":"category","old":"data_leak","new":"malware"},{"field":"info_type","old":"personal","new":""}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.Category != core.CatMalware || inc.InfoType != "" {
					t.Errorf("category/info_type = %q/%q", inc.Category, inc.InfoType)
				}
			}},
		{name: "category away with info_type null", body: `{"category": "malware", "info_type": null}`,
			changes: `[{"field":"category","old":"data_leak","new":"malware"},{"field":"info_type","old":"personal","new":""}]`},
		{name: "category away keeping info_type refused", body: `{"category": "malware", "info_type": "personal"}`, field: "info_type"},
		{name: "info_type changed", body: `{"info_type": "general"}`,
			changes: `[{"field":"info_type","old":"personal","new":"general"}]`},
		{name: "unknown info_type refused", body: `{"info_type": "secret"}`, field: "info_type"},
		{name: "category null refused", body: `{"category": null}`, field: "category"},
		{name: "unknown category refused", body: `{"category": "virus"}`, field: "category"},
		{name: "severity null refused", body: `{"severity": null}`, field: "severity"},
		{name: "unknown severity refused", body: `{"severity": "S0"}`, field: "severity"},
		{name: "impact and urgency recompute priority", body: `{"impact": 1, "urgency": 1}`,
			changes: `[{"field":"impact","old":2,"new":1},{"field":"urgency","old":2,"new":1}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.Priority != core.P1 {
					t.Errorf("priority = %s, want P1", inc.Priority)
				}
			}},
		{name: "impact null refused", body: `{"impact": null}`, field: "impact"},
		{name: "urgency null refused", body: `{"urgency": null}`, field: "urgency"},
		{name: "impact zero refused", body: `{"impact": 0}`, field: "impact"},
		{name: "urgency zero refused", body: `{"urgency": 0}`, field: "urgency"},
		{name: "impact out of range refused", body: `{"impact": 5}`, field: "impact"},
		{name: "urgency out of range refused", body: `{"urgency": -2}`, field: "urgency"},
		{name: "affected systems null empties", body: `{"affected_systems": null}`,
			changes: `[{"field":"affected_systems","old":["mail01","crm"],"new":[]}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if inc.AffectedSystems == nil || len(inc.AffectedSystems) != 0 {
					t.Errorf("affected systems = %#v, want empty", inc.AffectedSystems)
				}
			}},
		{name: "affected systems replaced", body: `{"affected_systems": ["crm"]}`,
			changes: `[{"field":"affected_systems","old":["mail01","crm"],"new":["crm"]}]`},
		{name: "flags", body: `{"flags": {"people_affected": 5000, "malicious_intent": true, "eu_residents": true}}`,
			changes: `[{"field":"flags.people_affected","old":120,"new":5000},{"field":"flags.malicious_intent","old":false,"new":true},` +
				`{"field":"flags.eu_residents","old":false,"new":true}]`},
		{name: "negative people refused", body: `{"flags": {"people_affected": -1}}`, field: "flags.people_affected"},
		{name: "sensitive data implies personal data, recorded", body: `{"flags": {"sensitive_personal_data": true}}`,
			changes: `[{"field":"flags.sensitive_personal_data","old":false,"new":true},{"field":"flags.personal_data","old":false,"new":true}]`,
			check: func(t *testing.T, inc *core.Incident) {
				if !inc.Flags.PersonalData {
					t.Error("personal_data not set")
				}
			}},
		{name: "closing texts", body: `{"root_cause": "r", "lessons_learned": "l", "prevention_measures": "p", "cause_class": "human_error"}`,
			changes: `[{"field":"cause_class","old":"","new":"human_error"},{"field":"root_cause","old":"","new":"r"},` +
				`{"field":"lessons_learned","old":"","new":"l"},{"field":"prevention_measures","old":"","new":"p"}]`},
		{name: "text with NUL refused", body: `{"facts": {"what": "a\u0000b"}}`, field: "facts.what"},
		{name: "exercise", body: `{"exercise": true}`, changes: `[{"field":"exercise","old":false,"new":true}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p core.IncidentPatch
			if err := json.Unmarshal([]byte(tt.body), &p); err != nil {
				t.Fatalf("unmarshal patch: %v", err)
			}
			base := patchBase(t)
			inc := clone(t, base)
			changes, err := p.Apply(inc)
			if tt.field != "" {
				wantFieldError(t, err, tt.field)
				if changes != nil {
					t.Errorf("refused patch returned changes %v", changes)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if tt.changes == "" {
				if len(changes) != 0 {
					t.Fatalf("changes = %+v, want none", changes)
				}
				if !reflect.DeepEqual(inc, base) {
					t.Fatalf("no-op patch changed the incident:\n got %+v\nwant %+v", inc, base)
				}
				return
			}
			got, err := json.Marshal(changes)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.changes {
				t.Errorf("changes\n got %s\nwant %s", got, tt.changes)
			}
			if tt.check != nil {
				tt.check(t, inc)
			}
			// Applying the same patch again changes nothing more.
			again, err := p.Apply(inc)
			if err != nil || len(again) != 0 {
				t.Errorf("second Apply = %+v, %v; want no changes", again, err)
			}
		})
	}
}

func TestOptUnmarshal(t *testing.T) {
	var v struct {
		A core.Opt[string] `json:"a"`
		B core.Opt[string] `json:"b"`
		C core.Opt[string] `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a": "x", "b": null}`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.A.Set || v.A.Null || v.A.Value != "x" {
		t.Errorf("a = %+v", v.A)
	}
	if !v.B.Set || !v.B.Null || v.B.Value != "" {
		t.Errorf("b = %+v", v.B)
	}
	if v.C.Set || v.C.Null {
		t.Errorf("c = %+v, want not set", v.C)
	}
	var bad struct {
		N core.Opt[int] `json:"n"`
	}
	if err := json.Unmarshal([]byte(`{"n": "seven"}`), &bad); err == nil {
		t.Error("a string for an int option was accepted")
	}
}

func TestSearchTextHasEveryTextField(t *testing.T) {
	inc := patchBase(t)
	inc.Description, inc.Facts.DiscoveredBy, inc.Facts.Why = "desc-x", "finder-x", "why-x"
	inc.Facts.HowFound, inc.Facts.ActionsTaken = "how-x", "actions-x"
	inc.RootCause, inc.LessonsLearned, inc.PreventionMeasures = "root-x", "lessons-x", "prevent-x"
	text := inc.SearchText()
	for _, want := range []string{inc.Key, inc.Title, "desc-x", "Osaka office", "finder-x", "mail sent to wrong address",
		"why-x", "how-x", "actions-x", "root-x", "lessons-x", "prevent-x", "mail01", "crm"} {
		if !strings.Contains(text, want) {
			t.Errorf("SearchText lacks %q", want)
		}
	}
}
