package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

// closeViaAPI fills in the review of an incident and walks it, as admin,
// through every phase to closed.
func (e *testEnv) closeViaAPI(key string) {
	e.t.Helper()
	r := e.call("admin", "PATCH", "/api/v1/incidents/"+key, map[string]any{
		"root_cause": "宛先の自動補完", "lessons_learned": "送信前に二人で確認する", "prevention_measures": "- 外部宛メールの送信保留\n- 訓練"})
	if r.status != http.StatusOK {
		e.t.Fatalf("review: %d %s", r.status, r.body)
	}
	for i, to := range core.Phases[1:] {
		e.finishBlocking(key, core.Phases[i])
		if r := e.call("admin", "POST", "/api/v1/incidents/"+key+"/phase", map[string]any{"to": to}); r.status != http.StatusOK {
			e.t.Fatalf("move to %s: %d %s", to, r.status, r.body)
		}
	}
}

type kbListJSON struct {
	Items []struct {
		Entry   core.Knowledge     `json:"entry"`
		Rank    float64            `json:"rank"`
		Snippet []core.SnippetPart `json:"snippet"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// TestKnowledgeAPI: closing files the review; articles are written,
// found in both languages with snippets, edited with versions; a
// restricted incident's entry stays hidden from non-members everywhere.
func TestKnowledgeAPI(t *testing.T) {
	env := newTestEnv(t)
	pub := env.mustCreate("admin", map[string]any{"title": "顧客リストの誤送信", "description": "営業部で顧客情報の漏えいが発覚した",
		"category": "misdelivery", "affected_systems": []string{"mail"}})
	env.closeViaAPI(pub)
	secret := env.mustCreate("admin", map[string]any{"title": "役員の誤送信", "description": "機密の漏えい", "category": "misdelivery",
		"restricted": true, "affected_systems": []string{"mail"}})
	if r := env.call("admin", "PUT", "/api/v1/incidents/"+secret+"/members/analyst", nil); r.status != http.StatusNoContent {
		t.Fatalf("member: %d %s", r.status, r.body)
	}
	env.closeViaAPI(secret)

	var list kbListJSON
	r := env.call("viewer", "GET", "/api/v1/knowledge?q="+urlQ("漏えい"), nil)
	r.json(t, &list)
	if r.status != 200 || len(list.Items) != 1 || list.Items[0].Entry.IncidentKey != pub {
		t.Fatalf("viewer search: %d %s", r.status, r.body)
	}
	pubID := list.Items[0].Entry.ID
	if !strings.Contains(string(r.body), `"match":true`) || list.Items[0].Entry.Review == nil {
		t.Errorf("no marked snippet or review: %s", r.body)
	}
	r = env.call("analyst", "GET", "/api/v1/knowledge?q="+urlQ("漏えい"), nil)
	r.json(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("member search: %s", r.body)
	}
	var secretID int64
	for _, it := range list.Items {
		if it.Entry.IncidentKey == secret {
			secretID = it.Entry.ID
		}
	}
	art := env.call("analyst", "POST", "/api/v1/knowledge", map[string]any{"title": "Misdelivery runbook",
		"body": "Ask the recipient to DELETE the mail, then report.", "tags": []string{"runbook"}})
	if art.status != http.StatusCreated {
		t.Fatalf("article: %d %s", art.status, art.body)
	}
	var a core.Knowledge
	art.json(t, &a)

	ids := func(path, as string) string {
		return fmt.Sprintf("/api/v1/knowledge/%d%s", map[string]int64{"pub": pubID, "secret": secretID, "art": a.ID}[as], path)
	}
	before := env.eventCount()
	rows := []struct {
		as, method, path string
		body             any
		status           int
		has, hasNot      string
		events           int64
	}{
		{"viewer", "GET", "/api/v1/knowledge?q=delete", nil, 200, "Misdelivery runbook", "", 0},
		{"viewer", "GET", "/api/v1/knowledge?q=" + urlQ("機密"), nil, 200, `"items":[]`, secret, 0},
		{"viewer", "GET", "/api/v1/knowledge", nil, 200, pub, secret, 0},
		{"viewer", "GET", ids("", "secret"), nil, 404, "", "機密", 0},
		{"viewer", "GET", ids("/history", "secret"), nil, 404, "", "", 0},
		{"analyst2", "GET", "/api/v1/incidents/" + pub + "/similar", nil, 200, `"items":[]`, secret, 0},
		{"analyst", "GET", "/api/v1/incidents/" + pub + "/similar", nil, 200, `"kind":"system","values":["mail"]`, "", 0},
		{"analyst2", "GET", "/api/v1/incidents/" + secret + "/similar", nil, 404, "", "", 0},
		{"reporter", "GET", "/api/v1/knowledge", nil, 403, "", "", 0},
		{"reporter", "GET", ids("", "art"), nil, 403, "", "", 0},
		{"viewer", "POST", "/api/v1/knowledge", map[string]any{"title": "x", "body": "y"}, 403, "", "", 0},
		{"viewer", "PUT", ids("", "art"), map[string]any{"title": "x", "version": 1}, 403, "", "", 0},
		{"analyst", "POST", "/api/v1/knowledge", map[string]any{"title": "", "body": "y"}, 422, `"field":"title"`, "", 0},
		{"analyst", "POST", "/api/v1/knowledge", map[string]any{"title": "t", "body": "y", "colour": "red"}, 400, `"field":"colour"`, "", 0},
		{"analyst", "POST", "/api/v1/knowledge", `{"title": 5}`, 400, `"field":"title"`, "", 0},
		{"analyst", "PUT", ids("", "art"), map[string]any{"title": "x"}, 422, `"field":"version"`, "", 0},
		{"analyst", "PUT", ids("", "art"), map[string]any{"title": "x", "version": 9}, 409, "", "", 0},
		{"analyst", "PUT", ids("", "pub"), map[string]any{"body": "x", "version": 1}, 422, `"field":"body"`, "", 0},
		{"analyst", "GET", "/api/v1/knowledge?limit=0", nil, 400, `"field":"limit"`, "", 0},
		{"analyst", "GET", "/api/v1/knowledge?cursor=zzz", nil, 400, `"field":"cursor"`, "", 0},
		{"analyst", "GET", "/api/v1/knowledge?kind=memo", nil, 422, `"field":"kind"`, "", 0},
		{"analyst", "GET", "/api/v1/knowledge?sort=new", nil, 400, `"field":"sort"`, "", 0},
		{"analyst", "GET", "/api/v1/knowledge/abc", nil, 404, "", "", 0},
		{"analyst", "PATCH", ids("/measures/9", "pub"), map[string]any{"status": "done"}, 404, "", "", 0},
		{"analyst", "PATCH", ids("/measures/1", "pub"), map[string]any{"status": "finished"}, 422, `"field":"status"`, "", 0},
		{"analyst", "PATCH", ids("/measures/1", "pub"), map[string]any{"due": "next week"}, 422, `"field":"due"`, "", 0},
		{"analyst", "PATCH", ids("/measures/1", "pub"), map[string]any{"owner": "nobody"}, 422, `"field":"owner"`, "", 0},
		{"analyst2", "PATCH", ids("/measures/1", "secret"), map[string]any{"status": "done"}, 404, "", "", 0},
		{"analyst", "GET", "/api/v1/measures?overdue=maybe", nil, 400, `"field":"overdue"`, "", 0},
		// Writes that succeed, each audited once.
		{"analyst", "PUT", ids("", "art"), map[string]any{"body": "Ask the recipient to delete it.", "version": 1}, 200, `"version":2`, "", 1},
		{"analyst", "PATCH", ids("/measures/1", "pub"), map[string]any{"owner": "lead", "due": "2000-01-01"}, 200, `"owner":"lead"`, "", 1},
		{"analyst", "POST", ids("/measures", "pub"), map[string]any{"text": "メール誤送信の訓練", "owner": "analyst"}, 201, `"n":3`, "", 1},
		{"viewer", "GET", "/api/v1/measures?overdue=true", nil, 200, `"overdue":true`, secret, 0},
		{"viewer", "GET", ids("/history", "art"), nil, 200, "then report", "", 0},
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

func urlQ(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "+", "#", "%23").Replace(s)
}

func TestKnowledgeCursorPaging(t *testing.T) {
	env := newTestEnv(t)
	for i := range 5 {
		if r := env.call("analyst", "POST", "/api/v1/knowledge", map[string]any{"title": fmt.Sprintf("runbook %d", i), "body": "VPN outage steps"}); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	for _, base := range []string{"/api/v1/knowledge?limit=2", "/api/v1/knowledge?limit=2&q=vpn"} {
		seen := map[int64]bool{}
		url := base
		for {
			var list kbListJSON
			r := env.call("viewer", "GET", url, nil)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", url, r.status, r.body)
			}
			r.json(t, &list)
			for _, it := range list.Items {
				seen[it.Entry.ID] = true
			}
			if list.NextCursor == "" {
				break
			}
			url = base + "&cursor=" + list.NextCursor
		}
		if len(seen) != 5 {
			t.Errorf("%s: %d entries over the pages", base, len(seen))
		}
	}
	// A list cursor does not continue a search.
	var list kbListJSON
	env.call("viewer", "GET", "/api/v1/knowledge?limit=2", nil).json(t, &list)
	if r := env.call("viewer", "GET", "/api/v1/knowledge?limit=2&q=vpn&cursor="+list.NextCursor, nil); r.status != 400 {
		t.Errorf("list cursor on a search: %d", r.status)
	}
}

func FuzzKnowledgeCursor(f *testing.F) {
	f.Add("a2IxOm86Mg")
	f.Add(encodeKBCursor("o", 5))
	f.Add(encodeKBCursor("i", 7))
	f.Fuzz(func(t *testing.T, c string) {
		for _, search := range []bool{true, false} {
			off, before, err := decodeKBCursor(c, search)
			if err == nil && (off < 0 || before < 0 || (off == 0 && before == 0)) {
				t.Fatalf("%q accepted as %d/%d", c, off, before)
			}
		}
	})
}
