package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

func marked(parts []core.SnippetPart) []string {
	var out []string
	for _, p := range parts {
		if p.Match {
			out = append(out, p.Text)
		}
	}
	return out
}

func TestSearchIncidentsAndKnowledge(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"lead": core.RoleLead, "member": core.RoleAnalyst,
		"outsider": core.RoleAnalyst, "reporter": core.RoleReporter})
	lead := us["lead"]
	open, err := a.CreateIncident(ctx, lead, NewIncident{Title: "顧客DBへの不正アクセス", Category: core.CatDataLeak,
		Description: "顧客情報の漏洩が発覚した。Exfiltration over HTTPS."})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := a.CreateIncident(ctx, lead, NewIncident{Title: "役員メールの漏洩", Category: core.CatDataLeak,
		Description: "役員の漏洩事案", Restricted: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddMember(ctx, lead, secret.Key, "member"); err != nil {
		t.Fatal(err)
	}
	art, err := a.CreateArticle(ctx, lead, NewArticle{Title: "情報漏洩の初動", Body: "漏洩した項目と人数を確認する。"})
	if err != nil {
		t.Fatal(err)
	}

	keys := func(p SearchPage) []string {
		var out []string
		for _, h := range p.Hits {
			out = append(out, fmt.Sprintf("%s:%d:%s", h.Kind, h.ID, h.Key))
		}
		return out
	}
	// A Japanese word inside a sentence; knowledge first, then incidents.
	p, err := a.Search(ctx, us["member"], SearchQuery{Q: "漏洩"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 3 || p.Hits[0].Kind != SearchKnowledge || p.Hits[0].ID != art.ID || p.Hits[1].Kind != SearchIncidents {
		t.Fatalf("member hits %v", keys(p))
	}
	for _, h := range p.Hits {
		if m := marked(h.Snippet); len(m) == 0 || m[0] != "漏洩" {
			t.Errorf("%s %d: marks %v in %+v", h.Kind, h.ID, m, h.Snippet)
		}
	}
	// The restricted incident is found by its member only.
	p, err = a.Search(ctx, us["outsider"], SearchQuery{Q: "漏洩"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 2 {
		t.Fatalf("outsider hits %v", keys(p))
	}
	for _, h := range p.Hits {
		if h.Key == secret.Key {
			t.Errorf("outsider finds the restricted incident")
		}
	}
	// An English word in another case.
	p, err = a.Search(ctx, us["outsider"], SearchQuery{Q: "exfiltration", Kind: SearchIncidents})
	if err != nil || len(p.Hits) != 1 || p.Hits[0].Key != open.Key || marked(p.Hits[0].Snippet)[0] != "Exfiltration" {
		t.Fatalf("english: %v %v", err, keys(p))
	}
	// Kind filters.
	if p, _ := a.Search(ctx, us["member"], SearchQuery{Q: "漏洩", Kind: SearchKnowledge}); len(p.Hits) != 1 || p.Hits[0].ID != art.ID {
		t.Errorf("knowledge only: %v", keys(p))
	}
	// Paging one hit at a time walks knowledge then incidents, no repeats.
	seen := map[string]bool{}
	q := SearchQuery{Q: "漏洩", Limit: 1}
	for range 10 {
		p, err := a.Search(ctx, us["member"], q)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys(p) {
			if seen[k] {
				t.Errorf("%s twice", k)
			}
			seen[k] = true
		}
		if p.Next == nil {
			break
		}
		q.Cursor = *p.Next
	}
	if len(seen) != 3 {
		t.Errorf("paged %v", seen)
	}
	// Reporters: no knowledge, and only their own reports.
	if _, err := a.Search(ctx, us["reporter"], SearchQuery{Q: "漏洩", Kind: SearchKnowledge}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("reporter knowledge: %v", err)
	}
	if p, err := a.Search(ctx, us["reporter"], SearchQuery{Q: "漏洩"}); err != nil || len(p.Hits) != 0 {
		t.Errorf("reporter: %v %v", err, keys(p))
	}
	for _, bad := range []SearchQuery{{Q: ""}, {Q: "x", Kind: "alerts"}, {Q: "x", Cursor: SearchCursor{Offset: -1}}} {
		if _, err := a.Search(ctx, lead, bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
