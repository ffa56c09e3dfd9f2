package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

// roles in the order of the expectation columns below.
var matrixUsers = []string{"admin", "lead", "analyst", "analyst2", "reporter", "reporter2", "viewer"}

// TestAuthorizationMatrix runs each action as each role on an ordinary
// incident (filed by "reporter"; "analyst" is a member) and on a
// restricted one (opened by admin; "analyst" is its only member). Each
// row lists the status per user, in matrixUsers order. A success must
// write audit events; a refusal must write none.
func TestAuthorizationMatrix(t *testing.T) {
	env := newTestEnv(t)
	type action struct {
		name   string
		method string
		path   string // {key} is replaced
		body   string
		// restrictedBody replaces body on the restricted incident.
		restrictedBody string
		setup          func(key string) // run as admin before the call
	}
	moveSetup := func(key string) { env.finishBlocking(key, core.PhaseDetect) }
	closeSetup := func(key string) {
		env.finishBlocking(key, core.PhaseDetect)
		r := env.call("admin", "PATCH", "/api/v1/incidents/"+key, map[string]any{
			"root_cause": "phishing mail", "lessons_learned": "train staff", "prevention_measures": "MFA everywhere"})
		if r.status != http.StatusOK {
			t.Fatalf("setup close: %d %s", r.status, r.body)
		}
	}
	rows := []struct {
		act        action
		public     []int // per matrixUsers, on the ordinary incident
		restricted []int // per matrixUsers, on the restricted incident
	}{
		{action{name: "get", method: "GET", path: "/api/v1/incidents/{key}"},
			[]int{200, 200, 200, 200, 200, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "update", method: "PATCH", path: "/api/v1/incidents/{key}", body: `{"description":"more detail"}`},
			[]int{200, 200, 200, 200, 403, 404, 403}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "move phase", method: "POST", path: "/api/v1/incidents/{key}/phase", body: `{"to":"triage"}`, setup: moveSetup},
			[]int{200, 200, 200, 200, 403, 404, 403}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "close", method: "POST", path: "/api/v1/incidents/{key}/phase", body: `{"to":"closed","reason":"false alarm"}`, setup: closeSetup},
			[]int{200, 200, 403, 403, 403, 404, 403}, []int{200, 404, 403, 404, 404, 404, 404}},
		{action{name: "assign self", method: "POST", path: "/api/v1/incidents/{key}/assign", body: `{"user":"{as}"}`},
			[]int{200, 200, 200, 200, 403, 404, 403}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "assign other", method: "POST", path: "/api/v1/incidents/{key}/assign", body: `{"user":"lead"}`},
			[]int{200, 200, 403, 403, 403, 404, 403}, []int{200, 404, 403, 404, 404, 404, 404}},
		{action{name: "comment", method: "POST", path: "/api/v1/incidents/{key}/comments", body: `{"body":"見ました"}`},
			[]int{201, 201, 201, 201, 201, 404, 403}, []int{201, 404, 201, 404, 404, 404, 404}},
		{action{name: "record action", method: "POST", path: "/api/v1/incidents/{key}/actions", body: `{"description":"isolated the host","tool":"EDR"}`},
			[]int{201, 201, 201, 201, 403, 404, 403}, []int{201, 404, 201, 404, 404, 404, 404}},
		{action{name: "timeline", method: "GET", path: "/api/v1/incidents/{key}/timeline"},
			[]int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "comments", method: "GET", path: "/api/v1/incidents/{key}/comments"},
			[]int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "actions", method: "GET", path: "/api/v1/incidents/{key}/actions"},
			[]int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "members", method: "GET", path: "/api/v1/incidents/{key}/members"},
			[]int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}},
		{action{name: "add member", method: "PUT", path: "/api/v1/incidents/{key}/members/analyst2"},
			[]int{204, 204, 403, 403, 403, 404, 403}, []int{204, 404, 403, 404, 404, 404, 404}},
		{action{name: "remove member", method: "DELETE", path: "/api/v1/incidents/{key}/members/analyst"},
			[]int{204, 204, 403, 403, 403, 404, 403}, []int{204, 404, 403, 404, 404, 404, 404}},
		{action{name: "toggle restricted", method: "PATCH", path: "/api/v1/incidents/{key}", body: `{"restricted":true}`, restrictedBody: `{"restricted":false}`},
			[]int{200, 200, 403, 403, 403, 404, 403}, []int{200, 404, 403, 404, 404, 404, 404}},
	}
	for _, row := range rows {
		for _, restricted := range []bool{false, true} {
			want := row.public
			if restricted {
				want = row.restricted
			}
			if len(want) != len(matrixUsers) {
				t.Fatalf("%s: %d expectations for %d users", row.act.name, len(want), len(matrixUsers))
			}
			for i, as := range matrixUsers {
				name := row.act.name + "/" + as
				if restricted {
					name += "/restricted"
				}
				t.Run(name, func(t *testing.T) {
					key := matrixIncident(t, env, restricted)
					if row.act.setup != nil {
						row.act.setup(key)
					}
					before := env.eventCount()
					path := strings.ReplaceAll(row.act.path, "{key}", key)
					var body any
					raw := row.act.body
					if restricted && row.act.restrictedBody != "" {
						raw = row.act.restrictedBody
					}
					if raw != "" {
						body = strings.ReplaceAll(raw, "{as}", as)
					}
					r := env.call(as, row.act.method, path, body)
					if r.status != want[i] {
						t.Fatalf("%s %s as %s: status %d, want %d: %s", row.act.method, path, as, r.status, want[i], r.body)
					}
					if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
						t.Errorf("refusal is %q, not problem+json", r.header.Get("Content-Type"))
					}
					if r.status == 404 && strings.Contains(string(r.body), "matrix") {
						t.Errorf("a hidden incident's content leaked in a 404: %s", r.body)
					}
					after := env.eventCount()
					mutating := row.act.method != "GET"
					switch {
					case mutating && r.status < 300 && after == before:
						t.Errorf("a successful %s wrote no audit event", row.act.name)
					case (!mutating || r.status >= 300) && after != before:
						t.Errorf("%s answered %d but wrote %d audit events", row.act.name, r.status, after-before)
					}
				})
			}
		}
	}
}

// matrixIncident makes a fresh incident for one matrix cell, so that no
// cell depends on what another one did.
func matrixIncident(t *testing.T, env *testEnv, restricted bool) string {
	t.Helper()
	var key string
	if restricted {
		key = env.mustCreate("admin", map[string]any{"title": "matrix restricted: insider case", "category": "insider", "restricted": true})
	} else {
		key = env.mustCreate("reporter", map[string]any{"title": "matrix public: strange mail", "category": "phishing"})
	}
	if r := env.call("admin", "PUT", "/api/v1/incidents/"+key+"/members/analyst", nil); r.status != http.StatusNoContent {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	return key
}

// TestRestrictedHiddenFromListsAndSearch checks that need-to-know holds in
// lists, counts and text search, not only on direct reads.
func TestRestrictedHiddenFromListsAndSearch(t *testing.T) {
	env := newTestEnv(t)
	open := env.mustCreate("analyst", map[string]any{"title": "ウイルス感染の疑い 通常案件", "category": "malware"})
	secret := env.mustCreate("admin", map[string]any{"title": "内部不正 感染 秘匿案件", "category": "insider", "restricted": true})
	if r := env.call("admin", "PUT", "/api/v1/incidents/"+secret+"/members/analyst", nil); r.status != http.StatusNoContent {
		t.Fatalf("add member: %d", r.status)
	}
	mine := env.mustCreate("reporter", map[string]any{"title": "感染したかもしれない", "category": "malware"})
	tests := []struct {
		as        string
		query     string
		want      []string
		wantNotIn []string
	}{
		{"admin", "", []string{open, secret, mine}, nil},
		{"admin", "?q=" + "感染", []string{open, secret, mine}, nil},
		{"analyst", "?q=感染", []string{open, secret, mine}, nil},
		{"analyst2", "", []string{open, mine}, []string{secret}},
		{"analyst2", "?q=感染", []string{open, mine}, []string{secret}},
		{"analyst2", "?q=秘匿", nil, []string{secret}},
		{"analyst2", "?category=insider", nil, []string{secret}},
		{"lead", "?q=内部不正", nil, []string{secret}},
		{"viewer", "", []string{open, mine}, []string{secret}},
		{"reporter", "", []string{mine}, []string{open, secret}},
		{"reporter", "?q=感染", []string{mine}, []string{open, secret}},
		{"reporter2", "", nil, []string{open, secret, mine}},
	}
	for _, tt := range tests {
		r := env.call(tt.as, "GET", "/api/v1/incidents"+tt.query, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", tt.as, tt.query, r.status, r.body)
		}
		var list struct{ Items []core.Incident }
		r.json(t, &list)
		var keys []string
		for _, inc := range list.Items {
			keys = append(keys, inc.Key)
		}
		for _, k := range tt.want {
			if !slices.Contains(keys, k) {
				t.Errorf("%s %s: %s missing from %v", tt.as, tt.query, k, keys)
			}
		}
		for _, k := range tt.wantNotIn {
			if slices.Contains(keys, k) {
				t.Errorf("%s %s: %s must not be listed", tt.as, tt.query, k)
			}
		}
	}
}

// Opening an incident as restricted or as an exercise is a lead's call,
// as changing those flags is.
func TestCreateRestrictedNeedsLead(t *testing.T) {
	env := newTestEnv(t)
	for _, tc := range []struct {
		as     string
		body   string
		status int
	}{
		{"analyst", `{"title":"x","restricted":true}`, 403},
		{"analyst", `{"title":"x","exercise":true}`, 403},
		{"reporter", `{"title":"x","restricted":true}`, 403},
		{"viewer", `{"title":"x"}`, 403},
		{"lead", `{"title":"内部不正の疑い","restricted":true}`, 201},
		{"lead", `{"title":"机上訓練","exercise":true}`, 201},
		{"analyst", `{"title":"x"}`, 201},
	} {
		r := env.call(tc.as, "POST", "/api/v1/incidents", tc.body)
		if r.status != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.as, tc.body, r.status, tc.status, r.body)
		}
	}
	// The lead who restricted it stays a member and so keeps seeing it.
	var list incidentList
	env.call("lead", "GET", "/api/v1/incidents?q=内部不正", nil).json(t, &list)
	if len(list.Items) != 1 || !list.Items[0].Restricted {
		t.Fatalf("lead's own restricted incident: %+v", list.Items)
	}
	var members struct{ Items []core.User }
	env.call("lead", "GET", "/api/v1/incidents/"+list.Items[0].Key+"/members", nil).json(t, &members)
	if len(members.Items) != 1 || members.Items[0].Name != "lead" {
		t.Errorf("members %+v", members.Items)
	}
}

// TestNoUserEnumeration: a refusal looks the same whether or not the user
// name exists.
func TestNoUserEnumeration(t *testing.T) {
	env := newTestEnv(t)
	open := env.mustCreate("analyst", map[string]any{"title": "open case"})
	hidden := env.mustCreate("admin", map[string]any{"title": "hidden case", "restricted": true})
	for _, tc := range []struct {
		as, method, path string
		body             any
		status           int
	}{
		{"viewer", "PUT", "/api/v1/incidents/" + open + "/members/%s", nil, 403},
		{"viewer", "PUT", "/api/v1/incidents/" + hidden + "/members/%s", nil, 404},
		{"analyst", "DELETE", "/api/v1/incidents/" + open + "/members/%s", nil, 403},
		{"viewer", "GET", "/api/v1/tokens?user=%s", nil, 403},
		{"viewer", "POST", "/api/v1/tokens", `{"user":"%s"}`, 403},
		{"viewer", "POST", "/api/v1/incidents/" + open + "/assign", `{"user":"%s"}`, 403},
	} {
		var got []int
		for _, name := range []string{"admin", "nobody"} {
			path := strings.ReplaceAll(tc.path, "%s", name)
			var body any
			if s, ok := tc.body.(string); ok {
				body = strings.ReplaceAll(s, "%s", name)
			}
			got = append(got, env.call(tc.as, tc.method, path, body).status)
		}
		if got[0] != tc.status || got[1] != tc.status {
			t.Errorf("%s %s as %s: %v for an existing and a missing user, want %d for both", tc.method, tc.path, tc.as, got, tc.status)
		}
	}
}
