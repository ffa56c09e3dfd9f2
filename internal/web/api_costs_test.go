package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestCostsAPI runs the cost endpoints as each role, with bad input that
// must be refused with nothing written, and checks totals and summaries
// sum exactly.
func TestCostsAPI(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("admin", map[string]any{"title": "ransomware", "category": "ransomware"})
	hidden := env.mustCreate("admin", map[string]any{"title": "board", "category": "data_leak", "restricted": true})
	drill := env.mustCreate("admin", map[string]any{"title": "drill", "category": "ransomware", "exercise": true})
	own := env.mustCreate("reporter", map[string]any{"title": "my report"})
	costs := "/api/v1/incidents/" + key + "/costs"
	var first struct {
		ID int64 `json:"id"`
	}
	r := env.call("analyst", "POST", costs, map[string]any{"category": "investigation_recovery", "amount": 1_234_567, "status": "actual", "date": "2026-04-01"})
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	r.json(t, &first)
	item := fmt.Sprintf("%s/%d", costs, first.ID)
	for _, in := range []map[string]any{
		{"category": "ransom", "amount": 5, "status": "actual", "date": "2026-04-01"},
	} {
		for _, k := range []string{hidden, drill} {
			if r := env.call("admin", "POST", "/api/v1/incidents/"+k+"/costs", in); r.status != 201 {
				t.Fatalf("%s: %d %s", k, r.status, r.body)
			}
		}
	}

	before := env.eventCount()
	rows := []struct {
		as, method, path string
		body             any
		status           int
		has, hasNot      string
		events           int64
	}{
		{"viewer", "GET", costs, nil, 200, `"amount":1234567`, "", 0},
		{"reporter", "GET", costs, nil, 404, "", "", 0}, // not their report
		{"reporter", "GET", "/api/v1/incidents/" + own + "/costs", nil, 403, "", "", 0},
		{"reporter", "POST", "/api/v1/incidents/" + own + "/costs", map[string]any{"category": "other", "amount": 1, "status": "actual"}, 403, "", "", 0},
		{"viewer", "POST", costs, map[string]any{"category": "other", "amount": 1, "status": "actual"}, 403, "", "", 0},
		{"viewer", "PATCH", item, map[string]any{"amount": 1}, 403, "", "", 0},
		{"viewer", "DELETE", item, nil, 403, "", "", 0},
		{"analyst", "GET", "/api/v1/incidents/" + hidden + "/costs", nil, 404, "", "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "other", "amount": 1.5, "status": "actual"}, 400, `"field":"amount"`, "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "other", "amount": "100", "status": "actual"}, 400, `"field":"amount"`, "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "fines", "amount": 1, "status": "actual"}, 422, `"field":"category"`, "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "other", "amount": 1, "status": "actual", "currency": "yen!"}, 422, `"field":"currency"`, "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "other", "amount": 1, "status": "actual", "date": "1/4/2026"}, 422, `"field":"date"`, "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "staff_overtime", "kind": "staff_hours", "hours": 1.005, "rate": 1, "status": "actual"}, 422, `"field":"hours"`, "", 0},
		{"analyst", "POST", costs, map[string]any{"category": "other", "amount": 1, "status": "actual", "by": "me"}, 400, `"field":"by"`, "", 0},
		{"analyst", "POST", costs, `{"category":"other",`, 400, "", "", 0},
		{"analyst", "PATCH", costs + "/999", map[string]any{"amount": 1}, 404, "", "", 0},
		{"analyst", "PATCH", costs + "/x", map[string]any{"amount": 1}, 404, "", "", 0},
		{"analyst", "PATCH", item, map[string]any{"amount": 1, "version": 7}, 409, "", "", 0},
		{"analyst", "PATCH", item, map[string]any{"status": "maybe"}, 422, `"field":"status"`, "", 0},
		{"analyst", "GET", "/api/v1/costs/summary?group=weekday", nil, 422, `"field":"group"`, "", 0},
		{"analyst", "GET", "/api/v1/costs/summary?from=2026-13-01", nil, 422, `"field":"from"`, "", 0},
		{"analyst", "GET", "/api/v1/costs/summary?currency=JPY", nil, 400, `"field":"currency"`, "", 0},
		{"reporter", "GET", "/api/v1/costs/summary", nil, 403, "", "", 0},
		// Writes, each audited once.
		{"analyst", "POST", costs, map[string]any{"category": "staff_overtime", "kind": "staff_hours", "hours": 7.5, "rate": 4000, "status": "estimate", "date": "2026-05-02"}, 201, `"amount":30000`, "", 1},
		{"lead", "POST", costs, map[string]any{"category": "notification_pr", "amount": 250_000, "currency": "USD", "status": "estimate", "date": "2026-05-03", "note": "press conference"}, 201, `"currency":"USD"`, "", 1},
		{"analyst", "PATCH", item, map[string]any{"amount": 1_000_000, "version": 1}, 200, `"version":2`, "", 1},
		{"viewer", "GET", costs, nil, 200, `"totals":[{"currency":"JPY","estimated":30000,"actual":1000000,"total":1030000,"items":2},{"currency":"USD","estimated":250000,"actual":0,"total":250000,"items":1}]`, "", 0},
		// Admin sees the restricted incident's cost; the exercise's never counts.
		{"admin", "GET", "/api/v1/costs/summary?group=month", nil, 200, `{"key":"2026-04","currency":"JPY","estimated":0,"actual":1000005,"total":1000005,"items":2}`, "", 0},
		{"viewer", "GET", "/api/v1/costs/summary?group=incident_category&from=2026-04-01&to=2026-04-30", nil, 200, `"groups":[{"key":"ransomware","currency":"JPY","estimated":0,"actual":1000000,"total":1000000,"items":1}]`, "data_leak", 0},
		{"analyst", "DELETE", item, nil, 204, "", "", 1},
		{"analyst", "DELETE", item, nil, 404, "", "", 0},
		{"viewer", "GET", "/api/v1/incidents/" + key + "/timeline", nil, 200, `"type":"incident.cost_deleted"`, "", 0},
	}
	for _, row := range rows {
		r := env.call(row.as, row.method, row.path, row.body)
		name := row.as + " " + row.method + " " + row.path
		if r.status != row.status {
			t.Errorf("%s: %d, want %d: %s", name, r.status, row.status, r.body)
			continue
		}
		if row.has != "" && !strings.Contains(string(r.body), row.has) {
			t.Errorf("%s: %s lacks %s", name, r.body, row.has)
		}
		if row.hasNot != "" && strings.Contains(string(r.body), row.hasNot) {
			t.Errorf("%s: %s has %s", name, r.body, row.hasNot)
		}
		after := env.eventCount()
		if after-before != row.events {
			t.Errorf("%s: %d events, want %d", name, after-before, row.events)
		}
		before = after
	}
}
