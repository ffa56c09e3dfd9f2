package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
)

var kbStart = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// kbUsers creates one user per role name given and returns their actors.
func kbUsers(tb testing.TB, a *App, roles map[string]core.Role) map[string]Actor {
	tb.Helper()
	out := map[string]Actor{}
	for name, role := range roles {
		u, _, err := a.CreateUser(context.Background(), SystemActor, NewUser{Name: name, Role: role, Password: "a long enough password"})
		if err != nil {
			tb.Fatal(err)
		}
		out[name] = Actor{User: u}
	}
	return out
}

// walkToClosed moves an incident through every phase, an hour in each,
// finishing the blocking tasks of each phase on the way, and closes it.
func walkToClosed(tb testing.TB, a *App, c *clock, as Actor, key string) *core.Incident {
	tb.Helper()
	ctx := context.Background()
	var inc *core.Incident
	for _, to := range core.Phases[1:] {
		tasks, err := a.Tasks(ctx, as, key)
		if err != nil {
			tb.Fatal(err)
		}
		cur, err := a.GetIncident(ctx, as, key)
		if err != nil {
			tb.Fatal(err)
		}
		for _, t := range tasks {
			if t.Phase == cur.Phase && t.Blocking && !t.Status.Finished() {
				if _, err := a.UpdateTask(ctx, as, key, t.ID, core.TaskPatch{Status: core.Opt[core.TaskStatus]{Set: true, Value: core.TaskDone}}); err != nil {
					tb.Fatalf("finish %s: %v", t.ID, err)
				}
			}
		}
		c.advance(time.Hour)
		if inc, err = a.MovePhase(ctx, as, key, to, ""); err != nil {
			tb.Fatalf("move %s to %s: %v", key, to, err)
		}
	}
	return inc
}

func newReviewed(tb testing.TB, a *App, as Actor, in NewIncident, rootCause, lessons, prevention string) string {
	tb.Helper()
	ctx := context.Background()
	inc, err := a.CreateIncident(ctx, as, in)
	if err != nil {
		tb.Fatal(err)
	}
	patch := core.IncidentPatch{}
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"root_cause":%q,"lessons_learned":%q,"prevention_measures":%q}`, rootCause, lessons, prevention)), &patch); err != nil {
		tb.Fatal(err)
	}
	if _, err := a.UpdateIncident(ctx, as, inc.Key, patch); err != nil {
		tb.Fatal(err)
	}
	return inc.Key
}

func TestClosingMakesKnowledgeEntry(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"lead": core.RoleLead, "viewer": core.RoleViewer, "reporter": core.RoleReporter})
	lead := us["lead"]
	key := newReviewed(t, a, lead, NewIncident{Title: "顧客情報の誤送信", Description: "営業部で顧客リストをメールで誤送した。",
		Category: core.CatMisdelivery, CauseClass: core.CauseHumanError, AffectedSystems: []string{"mail-gw", "crm"},
		Flags: core.Flags{PersonalData: true, PeopleAffected: 1200}},
		"宛先の自動補完で別の顧客を選んだ", "送信前の確認が形だけだった", "- 外部宛メールの送信保留を導入\n- 全社で誤送信訓練を実施")
	if _, err := a.RecordAction(ctx, lead, key, NewAction{Description: "送信済みメールを回収依頼", Tool: "Exchange"}); err != nil {
		t.Fatal(err)
	}
	before := auditLen(t, a)
	inc := walkToClosed(t, a, c, lead, key)
	if inc.Phase != core.PhaseClosed {
		t.Fatalf("phase %s", inc.Phase)
	}
	// The entry and its measures were written with the close.
	if got := auditLen(t, a) - before; got < 1+1+2 {
		t.Errorf("closing wrote %d events, want the phase moves plus knowledge.created and two measure_added", got)
	}
	p, err := a.SearchKnowledge(ctx, us["viewer"], KnowledgeQuery{Q: "誤送"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 1 {
		t.Fatalf("hits %d, want 1", len(p.Hits))
	}
	k, err := a.GetKnowledge(ctx, us["viewer"], p.Hits[0].Knowledge.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.Kind != core.KnowledgeIncident || k.IncidentKey != key || k.Title != "顧客情報の誤送信" || k.Summary == "" ||
		k.Category != core.CatMisdelivery || k.CauseClass != core.CauseHumanError ||
		k.RootCause != "宛先の自動補完で別の顧客を選んだ" || k.LessonsLearned != "送信前の確認が形だけだった" {
		t.Errorf("entry texts: %+v", k)
	}
	r := k.Review
	if r == nil || !slices.Equal(r.Scope.AffectedSystems, []string{"mail-gw", "crm"}) || r.Scope.PeopleAffected != 1200 || !r.Scope.PersonalData {
		t.Fatalf("scope: %+v", r)
	}
	if len(r.Actions) != 1 || r.Actions[0].Tool != "Exchange" || !slices.Equal(r.Tools, []string{"Exchange"}) {
		t.Errorf("actions %+v tools %v", r.Actions, r.Tools)
	}
	var phases []core.Phase
	for _, pt := range r.PhaseTimes {
		phases = append(phases, pt.Phase)
		if pt.Seconds != 3600 || pt.Stays != 1 {
			t.Errorf("phase %s: %d s in %d stays, want 3600 in 1", pt.Phase, pt.Seconds, pt.Stays)
		}
	}
	if !slices.Equal(phases, core.Phases[:len(core.Phases)-1]) {
		t.Errorf("phase times for %v", phases)
	}
	if r.TotalSeconds != int64(len(core.Phases)-1)*3600 {
		t.Errorf("total %d s", r.TotalSeconds)
	}
	if len(k.Measures) != 2 || k.Measures[0].Text != "外部宛メールの送信保留を導入" || k.Measures[1].Status != core.MeasureOpen {
		t.Fatalf("measures %+v", k.Measures)
	}

	// Measures get an owner and a due date; the overdue list follows.
	m, err := a.UpdateMeasure(ctx, lead, k.ID, 1, MeasurePatch{Owner: ptrTo("lead"), Due: ptrTo("2026-05-10")})
	if err != nil {
		t.Fatal(err)
	}
	if m.Owner != "lead" || m.Due != "2026-05-10" || m.Version != 2 {
		t.Errorf("measure %+v", m)
	}
	if _, err := a.UpdateMeasure(ctx, lead, k.ID, 1, MeasurePatch{Status: ptrTo(core.MeasureDone), Version: ptrTo(int64(1))}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("stale measure version: %v", err)
	}
	c.advance(15 * 24 * time.Hour)
	overdue, err := a.Measures(ctx, us["viewer"], MeasureQuery{Overdue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(overdue) != 1 || overdue[0].N != 1 || !overdue[0].Overdue || overdue[0].IncidentKey != key {
		t.Errorf("overdue %+v", overdue)
	}
	if _, err := a.UpdateMeasure(ctx, us["viewer"], k.ID, 1, MeasurePatch{Status: ptrTo(core.MeasureDone)}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("viewer updates a measure: %v", err)
	}
	if _, err := a.UpdateMeasure(ctx, lead, k.ID, 1, MeasurePatch{Status: ptrTo(core.MeasureDone)}); err != nil {
		t.Fatal(err)
	}
	if overdue, _ := a.Measures(ctx, lead, MeasureQuery{Overdue: true}); len(overdue) != 0 {
		t.Errorf("done measure still overdue: %+v", overdue)
	}
	if _, err := a.SearchKnowledge(ctx, us["reporter"], KnowledgeQuery{Q: "誤送"}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("reporter searches: %v", err)
	}

	// Reopening and closing again rewrites the entry and keeps the old text.
	c.advance(time.Hour)
	if _, err := a.MovePhase(ctx, lead, key, core.PhaseReview, "new facts"); err != nil {
		t.Fatal(err)
	}
	patch := core.IncidentPatch{}
	json.Unmarshal([]byte(`{"lessons_learned":"確認は二人で行う","prevention_measures":"- 外部宛メールの送信保留を導入\n- 宛先の自動補完を無効化"}`), &patch)
	if _, err := a.UpdateIncident(ctx, lead, key, patch); err != nil {
		t.Fatal(err)
	}
	if _, err := a.MovePhase(ctx, lead, key, core.PhaseClosed, ""); err != nil {
		t.Fatal(err)
	}
	k2, err := a.GetKnowledge(ctx, lead, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k2.LessonsLearned != "確認は二人で行う" || k2.Version != 2 || len(k2.Measures) != 3 || k2.Measures[0].Status != core.MeasureDone {
		t.Errorf("after closing again: v%d %q measures %+v", k2.Version, k2.LessonsLearned, k2.Measures)
	}
	h, err := a.KnowledgeHistory(ctx, lead, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Version != 1 || h[0].Content.LessonsLearned != "送信前の確認が形だけだった" {
		t.Errorf("history %+v", h)
	}
}

func auditLen(tb testing.TB, a *App) int64 {
	tb.Helper()
	n, err := a.VerifyAudit(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func ptrTo[T any](v T) *T { return &v }

func TestArticlesVersionsAndSearch(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"analyst": core.RoleAnalyst, "viewer": core.RoleViewer})
	an := us["analyst"]
	art, err := a.CreateArticle(ctx, an, NewArticle{Title: "Ransomware first response",
		Body: "# Steps\nIsolate the host from the network. Do **not** power it off: memory is evidence.\nThen call the CSIRT.",
		Tags: []string{"ransomware", "runbook", "runbook"}})
	if err != nil {
		t.Fatal(err)
	}
	if art.Language != "en" || !slices.Equal(art.Tags, []string{"ransomware", "runbook"}) || art.Version != 1 {
		t.Errorf("article %+v", art)
	}
	ja, err := a.CreateArticle(ctx, an, NewArticle{Title: "個人情報漏えい時の初動", Body: "漏えいした項目と人数を確認する。PPCへの速報は3〜5日以内。"})
	if err != nil {
		t.Fatal(err)
	}
	if ja.Language != "ja" {
		t.Errorf("language %q", ja.Language)
	}
	if _, err := a.CreateArticle(ctx, us["viewer"], NewArticle{Title: "x", Body: "y"}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("viewer writes: %v", err)
	}
	for _, bad := range []NewArticle{{Body: "no title"}, {Title: "no body"}, {Title: "t", Body: "b", Language: "日本語"},
		{Title: "t", Body: "b", Tags: []string{" "}}} {
		if _, err := a.CreateArticle(ctx, an, bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}

	// Search: a word in a different case, a prefix, Japanese inside a sentence.
	for q, want := range map[string]int64{"POWER": art.ID, "isolat": art.ID, "漏えい": ja.ID, "人数": ja.ID} {
		p, err := a.SearchKnowledge(ctx, us["viewer"], KnowledgeQuery{Q: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Hits) != 1 || p.Hits[0].Knowledge.ID != want {
			t.Errorf("%q: %d hits", q, len(p.Hits))
			continue
		}
		var marked []string
		for _, part := range p.Hits[0].Snippet {
			if part.Match {
				marked = append(marked, part.Text)
			}
		}
		if len(marked) == 0 {
			t.Errorf("%q: nothing marked in %+v", q, p.Hits[0].Snippet)
		}
	}

	// Edits keep the old text; a stale version is a conflict.
	c.advance(time.Minute)
	body := "Isolate the host. Keep it running."
	edited, err := a.UpdateKnowledge(ctx, an, art.ID, KnowledgeEdit{Body: &body, Version: ptrTo(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Version != 2 || edited.Body != body {
		t.Errorf("edited %+v", edited)
	}
	if _, err := a.UpdateKnowledge(ctx, an, art.ID, KnowledgeEdit{Body: &body, Version: ptrTo(int64(1))}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("stale edit: %v", err)
	}
	if _, err := a.UpdateKnowledge(ctx, an, art.ID, KnowledgeEdit{Body: &body}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("edit without version: %v", err)
	}
	h, err := a.KnowledgeHistory(ctx, us["viewer"], art.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || !strings.Contains(h[0].Content.Body, "power it off") || h[0].ReplacedBy != "analyst" {
		t.Errorf("history %+v", h)
	}
	// The index follows the edit.
	if p, _ := a.SearchKnowledge(ctx, an, KnowledgeQuery{Q: "memory"}); len(p.Hits) != 0 {
		t.Errorf("old text still found")
	}
	if p, _ := a.SearchKnowledge(ctx, an, KnowledgeQuery{Q: "running"}); len(p.Hits) != 1 {
		t.Errorf("new text not found")
	}
}

func TestSearchRanksTitleAndPages(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"analyst": core.RoleAnalyst})
	an := us["analyst"]
	var titleHit int64
	for i := range 5 {
		in := NewArticle{Title: fmt.Sprintf("note %d", i), Body: "phishing mail handling, general advice"}
		if i == 3 {
			in = NewArticle{Title: "Phishing response", Body: "what to do when phishing is reported"}
		}
		k, err := a.CreateArticle(ctx, an, in)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			titleHit = k.ID
		}
	}
	p, err := a.SearchKnowledge(ctx, an, KnowledgeQuery{Q: "phishing", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 2 || p.Hits[0].Knowledge.ID != titleHit || !p.More || p.Hits[0].Rank <= p.Hits[1].Rank {
		t.Fatalf("first page: more=%v %+v", p.More, p.Hits)
	}
	if !p.Hits[0].TitleMarks[0].Match || p.Hits[0].TitleMarks[0].Text != "Phishing" {
		t.Errorf("title marks %+v", p.Hits[0].TitleMarks)
	}
	seen := map[int64]bool{}
	q := KnowledgeQuery{Q: "phishing", Limit: 2}
	for {
		p, err := a.SearchKnowledge(ctx, an, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range p.Hits {
			if seen[h.Knowledge.ID] {
				t.Errorf("%d twice", h.Knowledge.ID)
			}
			seen[h.Knowledge.ID] = true
		}
		if !p.More {
			break
		}
		q.Offset = p.NextOffset
	}
	if len(seen) != 5 {
		t.Errorf("pages gave %d entries, want 5", len(seen))
	}
}

func TestSnippetMarks(t *testing.T) {
	for _, tc := range []struct {
		text, q string
		want    []string
	}{
		{"顧客情報の漏えいが発覚した", "漏えい", []string{"漏えい"}},
		{"メールを誤送した件", "誤送", []string{"誤送"}},
		{"The RANSOMWARE encrypted the share", "ransom", []string{"RANSOMWARE"}},
		{"Ｆｕｌｌ－width ＶＰＮ outage", "vpn", []string{"ＶＰＮ"}},
		{"cat concatenate", "cat", []string{"cat"}},
		{"<script>alert(1)</script> phishing", "phishing", []string{"phishing"}},
	} {
		parts := snippet([]string{tc.text}, search.Query(tc.q))
		var got []string
		var all strings.Builder
		for _, p := range parts {
			all.WriteString(p.Text)
			if p.Match {
				got = append(got, p.Text)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q in %q: marked %q", tc.q, tc.text, got)
		}
		if all.String() != tc.text {
			t.Errorf("snippet %q is not the text %q", all.String(), tc.text)
		}
	}
	long := strings.Repeat("前置き。", 50) + "ここで漏えいが起きた。" + strings.Repeat("後書き。", 50)
	parts := snippet([]string{long}, search.Query("漏えい"))
	if !strings.HasPrefix(parts[0].Text, "…") || !strings.HasSuffix(parts[len(parts)-1].Text, "…") {
		t.Errorf("long text not cut: %+v", parts)
	}
}

func FuzzSnippet(f *testing.F) {
	f.Add("顧客情報の漏えいが発覚した", "漏えい")
	f.Add("Ｆｕｌｌ－width ＶＰＮ", "vpn ﬁ")
	f.Add("ﬁle ǅ İstanbul", "fi i̇")
	f.Fuzz(func(t *testing.T, text, q string) {
		parts := snippet([]string{text}, search.Query(q))
		for _, p := range parts {
			if p.Text == "" {
				t.Fatalf("empty part in %+v", parts)
			}
		}
		highlight(text, search.Query(q))
	})
}

func TestMeasureLines(t *testing.T) {
	got := measureLines("- MFA everywhere\n\n* train staff\n1. patch VPN\n（2）バックアップの検証\n・訓練\n- MFA everywhere")
	want := []string{"MFA everywhere", "train staff", "patch VPN", "バックアップの検証", "訓練"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestSimilarIncidentsRankedWithReasonsAndScoped(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"lead": core.RoleLead, "analyst": core.RoleAnalyst, "outsider": core.RoleAnalyst,
		"reporter": core.RoleReporter})
	lead := us["lead"]
	mk := func(as Actor, in NewIncident, obs ...string) string {
		t.Helper()
		c.advance(time.Minute)
		inc, err := a.CreateIncident(ctx, as, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			typ, v, _ := strings.Cut(o, ":")
			if _, err := a.AddObservables(ctx, as, inc.Key, NewObservables{Items: []NewObservable{{Type: typ, Value: v}}}); err != nil {
				t.Fatal(err)
			}
		}
		return inc.Key
	}
	src := mk(lead, NewIncident{Title: "Phishing mail with invoice lure", Description: "Staff received a phishing invoice from billing-update.example",
		Category: core.CatPhishing, AffectedSystems: []string{"Mail-GW"}}, "domain:billing-update.example")
	byObservable := mk(lead, NewIncident{Title: "Malware on laptop", Category: core.CatMalware}, "domain:billing-update.example")
	byCategory := mk(lead, NewIncident{Title: "Something else", Category: core.CatPhishing})
	bySystem := mk(lead, NewIncident{Title: "Outage", Category: core.CatDoS, AffectedSystems: []string{"mail-gw"}})
	byText := mk(lead, NewIncident{Title: "Invoice phishing wave", Description: "another invoice lure", Category: core.CatOther})
	hidden := mk(lead, NewIncident{Title: "Phishing invoice at the board", Category: core.CatPhishing, Restricted: true},
		"domain:billing-update.example")
	exercise := mk(lead, NewIncident{Title: "Drill: phishing invoice", Category: core.CatPhishing, Exercise: true}, "domain:billing-update.example")
	_ = mk(lead, NewIncident{Title: "Nothing in common", Category: core.CatLostDevice})

	got, err := a.SimilarIncidents(ctx, us["outsider"], src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	why := map[string][]string{}
	for _, s := range got {
		keys = append(keys, s.Key)
		for _, r := range s.Reasons {
			why[s.Key] = append(why[s.Key], r.Kind)
		}
	}
	for _, k := range []string{hidden, exercise} {
		if slices.Contains(keys, k) {
			t.Errorf("%s (restricted or exercise) is listed: %v", k, keys)
		}
	}
	for _, k := range []string{byObservable, byCategory, bySystem, byText} {
		if !slices.Contains(keys, k) {
			t.Errorf("%s missing from %v", k, keys)
		}
	}
	if i, j := slices.Index(keys, byObservable), slices.Index(keys, byCategory); i < 0 || j < 0 || i > j {
		t.Errorf("shared observable must rank above shared category only: %v", keys)
	}
	if !slices.Contains(why[byObservable], "observable") || !slices.Contains(why[bySystem], "system") ||
		!slices.Equal(why[byCategory], []string{"category"}) || !slices.Contains(why[byText], "text") {
		t.Errorf("reasons %v", why)
	}
	// The lead (admin-like member of the restricted one) sees it.
	got, err = a.SimilarIncidents(ctx, lead, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(got, func(s core.SimilarIncident) bool { return s.Key == hidden }) {
		t.Errorf("a member does not see the restricted similar incident")
	}
	if _, err := a.SimilarIncidents(ctx, us["outsider"], hidden, 0); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("similar of a hidden incident: %v", err)
	}
	if _, err := a.SimilarIncidents(ctx, us["reporter"], src, 0); err == nil {
		t.Errorf("a reporter gets similar incidents")
	}
}

func TestRestrictedEntryInvisibleToNonMembers(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, kbStart)
	us := kbUsers(t, a, map[string]core.Role{"lead": core.RoleLead, "outsider": core.RoleAnalyst, "viewer": core.RoleViewer})
	key := newReviewed(t, a, us["lead"], NewIncident{Title: "役員PCからの情報漏えい", Category: core.CatDataLeak, Restricted: true},
		"USBメモリの紛失", "持ち出し管理", "USB制御")
	walkToClosed(t, a, c, us["lead"], key)
	p, err := a.SearchKnowledge(ctx, us["lead"], KnowledgeQuery{Q: "漏えい"})
	if err != nil || len(p.Hits) != 1 || !p.Hits[0].Knowledge.Restricted {
		t.Fatalf("member: %v %+v", err, p.Hits)
	}
	id := p.Hits[0].Knowledge.ID
	for _, who := range []string{"outsider", "viewer"} {
		if p, _ := a.SearchKnowledge(ctx, us[who], KnowledgeQuery{Q: "漏えい"}); len(p.Hits) != 0 {
			t.Errorf("%s finds the restricted entry", who)
		}
		if p, _ := a.SearchKnowledge(ctx, us[who], KnowledgeQuery{}); len(p.Hits) != 0 {
			t.Errorf("%s lists the restricted entry", who)
		}
		if _, err := a.GetKnowledge(ctx, us[who], id); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s gets the restricted entry: %v", who, err)
		}
		if _, err := a.KnowledgeHistory(ctx, us[who], id); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s reads its history: %v", who, err)
		}
		if ms, _ := a.Measures(ctx, us[who], MeasureQuery{}); len(ms) != 0 {
			t.Errorf("%s lists its measures", who)
		}
	}
	if _, err := a.UpdateKnowledge(ctx, us["outsider"], id, KnowledgeEdit{Title: ptrTo("x"), Version: ptrTo(int64(1))}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("outsider edits: %v", err)
	}
}
