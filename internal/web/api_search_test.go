package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
)

type searchListJSON struct {
	Items      []app.SearchHit `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// TestSearchAPI: one list over knowledge and incidents, knowledge first,
// snippets marked, restricted incidents only for members, pages without
// repeats, bad parameters named.
func TestSearchAPI(t *testing.T) {
	env := newTestEnv(t)
	pub := env.mustCreate("admin", map[string]any{"title": "顧客リストの誤送信", "description": "顧客情報の漏洩が発覚した",
		"category": "misdelivery"})
	secret := env.mustCreate("admin", map[string]any{"title": "役員メール", "description": "機密の漏洩", "category": "misdelivery",
		"restricted": true})
	if r := env.call("admin", "PUT", "/api/v1/incidents/"+secret+"/members/analyst", nil); r.status != http.StatusNoContent {
		t.Fatalf("member: %d %s", r.status, r.body)
	}
	if r := env.call("analyst", "POST", "/api/v1/knowledge", map[string]any{"title": "漏洩時の初動",
		"body": "Ask the recipient to DELETE the mail. 漏洩した項目を確認する。"}); r.status != http.StatusCreated {
		t.Fatalf("article: %d %s", r.status, r.body)
	}
	var list searchListJSON
	r := env.call("analyst", "GET", "/api/v1/search?q="+urlQ("漏洩"), nil)
	r.json(t, &list)
	if r.status != 200 || len(list.Items) != 3 || list.Items[0].Kind != "knowledge" || list.Items[1].Kind != "incident" {
		t.Fatalf("member search: %d %s", r.status, r.body)
	}
	if !bytes.Contains(r.body, []byte(`{"text":"漏洩","match":true}`)) {
		t.Errorf("no marked snippet: %s", r.body)
	}
	r = env.call("viewer", "GET", "/api/v1/search?q="+urlQ("漏洩")+"&kind=incident", nil)
	r.json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Key != pub || strings.Contains(string(r.body), secret) {
		t.Fatalf("viewer search: %s", r.body)
	}
	// An English word in another case.
	r = env.call("viewer", "GET", "/api/v1/search?q=delete&kind=knowledge", nil)
	r.json(t, &list)
	if len(list.Items) != 1 || !strings.Contains(string(r.body), `"text":"DELETE","match":true`) {
		t.Fatalf("english: %s", r.body)
	}
	// One hit a page: three pages, no repeats.
	seen := map[string]bool{}
	path := "/api/v1/search?limit=1&q=" + urlQ("漏洩")
	for range 5 {
		r := env.call("analyst", "GET", path, nil)
		list = searchListJSON{}
		r.json(t, &list)
		for _, h := range list.Items {
			k := fmt.Sprintf("%s/%d", h.Kind, h.ID)
			if seen[k] {
				t.Errorf("%s twice", k)
			}
			seen[k] = true
		}
		if list.NextCursor == "" {
			break
		}
		path = "/api/v1/search?limit=1&q=" + urlQ("漏洩") + "&cursor=" + list.NextCursor
	}
	if len(seen) != 3 {
		t.Errorf("paged %v", seen)
	}
	for _, c := range []struct {
		as, query string
		status    int
		field     string
	}{
		{"viewer", "q=x&kind=alerts", 422, "kind"},
		{"viewer", "q=x&limit=0", 400, "limit"},
		{"viewer", "q=x&cursor=bm9wZQ", 400, "cursor"},
		{"viewer", "", 422, "q"},
		{"viewer", "q=x&sort=new", 400, "sort"},
		{"reporter", "q=x&kind=knowledge", 403, ""},
		{"", "q=x", 401, ""},
	} {
		r := env.call(c.as, "GET", "/api/v1/search?"+c.query, nil)
		if r.status != c.status || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s %q: %d %s", c.as, c.query, r.status, r.body)
		}
	}
}

// TestStatsAPI: exercises are left out of the counts, the response times
// and the cost totals; /stats/costs answers as /costs/summary.
func TestStatsAPI(t *testing.T) {
	env := newTestEnv(t)
	real := env.mustCreate("lead", map[string]any{"title": "本番", "category": "malware", "severity": "S2"})
	drill := env.mustCreate("lead", map[string]any{"title": "訓練", "category": "ransomware", "severity": "S1", "exercise": true})
	for _, k := range []string{real, drill} {
		if r := env.call("lead", "POST", "/api/v1/incidents/"+k+"/costs", map[string]any{"category": "consulting", "amount": 1000,
			"status": "actual", "date": time.Now().Format(time.DateOnly)}); r.status != 201 {
			t.Fatalf("cost: %d %s", r.status, r.body)
		}
	}
	var st app.Stats
	r := env.call("viewer", "GET", "/api/v1/stats", nil)
	r.json(t, &st)
	if r.status != 200 || st.Total != 1 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	for _, c := range st.ByCategory {
		if (c.Key == "ransomware" && c.Count != 0) || (c.Key == "malware" && c.Count != 1) {
			t.Errorf("by category %+v", st.ByCategory)
		}
	}
	if len(st.ResponseTimes) != 4 || st.ResponseTimes[0].Measure != "mttd" {
		t.Errorf("response times %+v", st.ResponseTimes)
	}
	sum := env.call("viewer", "GET", "/api/v1/costs/summary?group=month", nil)
	alias := env.call("viewer", "GET", "/api/v1/stats/costs?group=month", nil)
	if alias.status != 200 || !bytes.Equal(sum.body, alias.body) || !strings.Contains(string(alias.body), `"total":1000`) {
		t.Errorf("cost alias: %d %s vs %s", alias.status, alias.body, sum.body)
	}
	for _, c := range []struct {
		as, query string
		status    int
		field     string
	}{
		{"viewer", "from=2026-13-01", 422, "from"},
		{"viewer", "from=2026-05-02&to=2026-05-01", 422, "to"},
		{"viewer", "since=2026-01-01", 400, "since"},
		{"reporter", "", 403, ""},
	} {
		r := env.call(c.as, "GET", "/api/v1/stats?"+c.query, nil)
		if r.status != c.status || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s %q: %d %s", c.as, c.query, r.status, r.body)
		}
	}
	r = env.call("viewer", "GET", "/api/v1/stats?from=2000-01-01&to=2000-01-31", nil)
	r.json(t, &st)
	if st.Total != 0 {
		t.Errorf("empty window: %s", r.body)
	}
}

// FuzzSearchCursor: any cursor decodes to a valid position or a 400,
// and what the server encodes decodes back the same.
func FuzzSearchCursor(f *testing.F) {
	for _, c := range []app.SearchCursor{{}, {Offset: 20}, {InIncidents: true}, {InIncidents: true, Offset: 9999}} {
		f.Add(encodeSearchCursor(c))
	}
	f.Add("bm9wZQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeSearchCursor(s)
		if err != nil {
			return
		}
		if c.Offset < 0 || c.Offset > 10_000 {
			t.Fatalf("%q decodes to %+v", s, c)
		}
		if back, err := decodeSearchCursor(encodeSearchCursor(c)); err != nil || back != c {
			t.Fatalf("round trip %+v: %+v %v", c, back, err)
		}
	})
}
