package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	kinds   = []string{KindPPC, KindGDPR, KindPostIncident}
	formats = []string{FormatMarkdown, FormatHTML}
	langs   = []string{LangJA, LangEN}
)

func render(tb testing.TB, kind, format string, in Input) string {
	tb.Helper()
	out, err := Render(kind, format, in)
	if err != nil {
		tb.Fatalf("Render(%s, %s, %s): %v", kind, format, in.Lang, err)
	}
	return string(out)
}

func TestGolden(t *testing.T) {
	for _, kind := range kinds {
		for _, format := range formats {
			for _, lang := range langs {
				name := kind + "_" + lang + "." + format
				t.Run(name, func(t *testing.T) {
					in := fixture(t)
					in.Lang = lang
					got := render(t, kind, format, in)
					path := filepath.Join("testdata", name)
					if *update {
						if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (run go test -update to create it)", err)
					}
					if got != string(want) {
						t.Errorf("%s differs from the golden file; run go test ./internal/report/ -update and review the diff\n%s", name, firstDiff(got, string(want)))
					}
				})
			}
		}
	}
}

// firstDiff shows the first differing line, enough to see what changed.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func itoa(n int) string { return formatCount(int64(n)) }

// Every item of the PPC form is a heading, in both languages and formats,
// and the items the record knows are filled from it.
func TestPPCItems(t *testing.T) {
	for _, lang := range langs {
		for _, format := range formats {
			in := fixture(t)
			in.Lang = lang
			out := render(t, KindPPC, format, in)
			items, heading := ppcItemsJA, "## "
			if lang == LangEN {
				items = ppcItemsEN
			}
			for _, it := range items {
				want := heading + it
				if format == FormatHTML {
					want = "<h2>" + it + "</h2>"
				}
				if !strings.Contains(out, want) {
					t.Errorf("%s/%s: missing item heading %q", lang, format, want)
				}
			}
			filled := []string{
				"1,200",                // 本人の数
				"2026-01-31 23:30 JST", // 発覚日時 (detected_at)
				"2026-01-29 02:10 JST", // 発生日時
				"情報システム部 佐藤",           // 発見者
				"VPN装置 vpn-gw01 の認証回避の脆弱性", // 原因
				"VPNへの多要素認証の導入",            // 再発防止策
				"PPC-2026-01234",           // 速報の受付番号
			}
			for _, s := range filled {
				if !strings.Contains(out, s) {
					t.Errorf("%s/%s: missing %q from the fixture", lang, format, s)
				}
			}
			if lang == LangJA && !strings.Contains(out, "1,200人") {
				t.Errorf("ja/%s: people affected not shown as 1,200人", format)
			}
			if lang == LangEN && !strings.Contains(out, "1,200 people") {
				t.Errorf("en/%s: people affected not shown as 1,200 people", format)
			}
			marker := map[string]string{LangJA: "【要記入】", LangEN: "[TO FILL IN]"}[lang]
			if !strings.Contains(out, marker) {
				t.Errorf("%s/%s: no fill-in marker for the items the record cannot know", lang, format)
			}
		}
	}
}

// The stage parameter chooses 速報 or 確報 and the matching due date.
func TestPPCStage(t *testing.T) {
	in := fixture(t)
	pre := render(t, KindPPC, FormatMarkdown, in)
	in.PPCStage = StageFinal
	fin := render(t, KindPPC, FormatMarkdown, in)
	if !strings.Contains(pre, "漏えい等報告（速報）") || strings.Contains(pre, "漏えい等報告（確報）下書き") {
		t.Error("preliminary report does not say 速報")
	}
	if !strings.Contains(fin, "漏えい等報告（確報）下書き") || !strings.Contains(fin, "第8条第2項") {
		t.Error("final report does not say 確報")
	}
	var preDue, finDue string
	for _, c := range in.Clocks {
		switch c.RuleID {
		case "appi-ppc-preliminary":
			preDue = formatTime(c.Due, JST)
		case "appi-ppc-final":
			finDue = formatTime(c.Due, JST)
		}
	}
	if preDue == "" || finDue == "" {
		t.Fatal("fixture lacks the APPI clocks")
	}
	if !strings.Contains(pre, "**本報告の期限**: "+preDue) {
		t.Errorf("preliminary report does not give its due date %s", preDue)
	}
	if !strings.Contains(fin, "**本報告の期限**: "+finDue) {
		t.Errorf("final report does not give its due date %s", finDue)
	}
	in.PPCStage = "draft"
	if _, err := Render(KindPPC, FormatMarkdown, in); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown stage: err = %v, want ErrInvalid", err)
	}
}

func TestGDPRPoints(t *testing.T) {
	for _, lang := range langs {
		for _, format := range formats {
			in := fixture(t)
			in.Lang = lang
			out := render(t, KindGDPR, format, in)
			points := gdprPointsJA
			if lang == LangEN {
				points = gdprPointsEN
			}
			for _, p := range points {
				if !strings.Contains(out, p) {
					t.Errorf("%s/%s: missing Art. 33(3) point %q", lang, format, p)
				}
			}
			for _, s := range []string{"1,200", "2026-01-31 23:30 JST", "2026-02-03 23:30 JST", "オフラインバックアップ"} {
				if !strings.Contains(out, s) {
					t.Errorf("%s/%s: missing %q", lang, format, s)
				}
			}
		}
	}
}

// Notifying after 72 hours needs the reasons for the delay; within, not.
func TestGDPRDelay(t *testing.T) {
	in := fixture(t)
	in.Lang = LangEN
	on := render(t, KindGDPR, FormatMarkdown, in)
	if !strings.Contains(on, "**Reasons for delay**: not applicable") {
		t.Error("a timely notification asks for reasons for delay")
	}
	for i := range in.Clocks {
		if in.Clocks[i].RuleID == "gdpr-art33-authority" {
			in.Clocks[i].At = ptr(jst(2026, 2, 4, 9, 0))
		}
	}
	late := render(t, KindGDPR, FormatMarkdown, in)
	if !strings.Contains(late, "**Reasons for delay**: [TO FILL IN]") {
		t.Error("a late notification does not ask for the reasons for the delay")
	}
	// Not submitted and past due: also late.
	in = fixture(t)
	in.Clocks = nil
	in.Lang = LangEN
	if out := render(t, KindGDPR, FormatMarkdown, in); !strings.Contains(out, "**Reasons for delay**: [TO FILL IN]") ||
		!strings.Contains(out, "2026-02-03 23:30 JST") {
		t.Error("without a clock, the 72 hours are not counted from awareness")
	}
}

// A bare incident: what the record does not know becomes the fill-in marker.
func TestMissingFactsAreMarked(t *testing.T) {
	inc := &core.Incident{Key: "INC-2026-0007", Title: "USBメモリ紛失", Category: core.CatLostDevice,
		Timestamps: core.Timestamps{ReportedAt: jst(2026, 3, 2, 10, 0)}, Phase: core.PhaseDetect}
	if err := inc.Normalize(); err != nil {
		t.Fatal(err)
	}
	for _, lang := range langs {
		marker := map[string]string{LangJA: "【要記入】", LangEN: "[TO FILL IN]"}[lang]
		in := Input{Incident: inc, Lang: lang, Now: jst(2026, 3, 2, 12, 0)}
		ppc := render(t, KindPPC, FormatMarkdown, in)
		want := map[string][2]string{
			"people":     {"\n" + marker + " 本人の数", "\n" + marker + " number of individuals"},
			"when":       {"**発覚日時（漏えい等を知った日時）**: " + marker, "**When the business became aware**: " + marker},
			"occurred":   {"**発生日時**: " + marker, "**When it happened**: " + marker},
			"cause":      {"**原因の詳細**: " + marker, "**Details**: " + marker},
			"prevention": {"\n" + marker + " 実施済み又は実施予定の再発防止策", "\n" + marker + " measures taken or planned"},
			"clocks":     {marker + " 報告義務の有無と期限を確認", marker + " check whether a report is required"},
		}
		for name, w := range want {
			s := w[0]
			if lang == LangEN {
				s = w[1]
			}
			if !strings.Contains(ppc, s) {
				t.Errorf("%s ppc: %s not marked: want %q", lang, name, s)
			}
		}
		gdpr := render(t, KindGDPR, FormatMarkdown, in)
		if n := strings.Count(gdpr, marker); n < 8 {
			t.Errorf("%s gdpr: only %d fill-in markers for a bare incident", lang, n)
		}
		post := render(t, KindPostIncident, FormatHTML, in)
		if !strings.Contains(post, `<span class="fill">`+marker+`</span>`) {
			t.Errorf("%s post-incident html: no marked fill-in", lang)
		}
		if !strings.Contains(post, map[string]string{LangJA: "算出不可", LangEN: "not computable"}[lang]) {
			t.Errorf("%s post-incident: milestones without times not said to be not computable", lang)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	good := fixture(t)
	cases := []struct {
		name, kind, format string
		mod                func(*Input)
	}{
		{"kind", "stix", FormatMarkdown, nil},
		{"empty kind", "", FormatMarkdown, nil},
		{"format", KindPPC, "docx", nil},
		{"lang", KindGDPR, FormatHTML, func(in *Input) { in.Lang = "fr" }},
		{"nil incident", KindPostIncident, FormatMarkdown, func(in *Input) { in.Incident = nil }},
		{"zero now", KindPostIncident, FormatMarkdown, func(in *Input) { in.Now = time.Time{} }},
	}
	for _, c := range cases {
		in := good
		if c.mod != nil {
			c.mod(&in)
		}
		out, err := Render(c.kind, c.format, in)
		if !errors.Is(err, core.ErrInvalid) || out != nil {
			t.Errorf("%s: Render = %q, %v; want nil, ErrInvalid", c.name, out, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	in := fixture(t)
	in.Lang, in.TZ = "", nil
	out := render(t, KindPostIncident, FormatHTML, in)
	if !strings.Contains(out, `<html lang="ja">`) || !strings.Contains(out, "2026-01-31 23:30 JST") {
		t.Error("empty Lang and nil TZ do not default to ja and JST")
	}
	in.TZ = time.UTC
	if out := render(t, KindPostIncident, FormatMarkdown, in); !strings.Contains(out, "2026-01-31 14:30 UTC") {
		t.Error("times not shown in the zone asked for")
	}
	in.Lang = LangEN
	if out := render(t, KindGDPR, FormatHTML, in); !strings.Contains(out, `<html lang="en">`) {
		t.Error("lang attribute not en")
	}
}

func TestPhaseTimes(t *testing.T) {
	in := fixture(t)
	stays, totals := phaseTimes(in.Incident.Phases, in.Now)
	if len(stays) != 8 {
		t.Fatalf("%d stays, want 8", len(stays))
	}
	want := map[core.Phase]struct {
		n     int
		spent time.Duration
	}{
		core.PhaseDetect:      {1, 20 * time.Minute},
		core.PhaseTriage:      {1, 115 * time.Minute},
		core.PhaseInvestigate: {1, 150 * time.Minute},
		core.PhaseContain:     {2, 29*time.Hour + 30*time.Minute + 9*time.Hour}, // entered twice
		core.PhaseRecover:     {2, 23*time.Hour + 42*time.Hour},
		core.PhaseReview:      {1, 29 * time.Hour}, // ongoing: to now
	}
	if len(totals) != len(want) {
		t.Fatalf("totals = %+v", totals)
	}
	for i, tot := range totals {
		if tot.Phase != core.Phases[i] {
			t.Errorf("totals[%d] is %s, want flow order", i, tot.Phase)
		}
		w := want[tot.Phase]
		if tot.Stays != w.n || tot.Spent != w.spent {
			t.Errorf("%s: %d stays, %s; want %d, %s", tot.Phase, tot.Stays, tot.Spent, w.n, w.spent)
		}
		if tot.Ongoing != (tot.Phase == core.PhaseReview) {
			t.Errorf("%s: ongoing = %v", tot.Phase, tot.Ongoing)
		}
	}
	// Rendered: containment 38 h 30 min = 1日14時間, recovery 65 h = 2日17時間.
	ja := render(t, KindPostIncident, FormatMarkdown, in)
	for _, s := range []string{"| 封じ込め・根絶 | 2 | 1日14時間 | tanaka |", "| 復旧 | 2 | 2日17時間 | suzuki |", "| 事後対応 | 1 | 1日5時間（継続中） | tanaka |",
		"| MTTD | 検知 − 発生 | 2日21時間 |", "| MTTA | 対応開始 − 受付 | 20分 |", "| MTTC | 封じ込め − 検知 | 6時間30分 |", "| MTTR | 復旧 − 検知 | 4日12時間 |"} {
		if !strings.Contains(ja, s) {
			t.Errorf("post-incident ja lacks %q", s)
		}
	}
	in.Lang = LangEN
	en := render(t, KindPostIncident, FormatMarkdown, in)
	for _, s := range []string{"| Containment and eradication | 2 | 1 d 14 h | tanaka |", "| MTTC | contained − detected | 6 h 30 min |"} {
		if !strings.Contains(en, s) {
			t.Errorf("post-incident en lacks %q", s)
		}
	}

	// Closed has no time spent; a period ending before it starts counts as zero.
	t0 := jst(2026, 1, 1, 0, 0)
	_, tot := phaseTimes([]core.PhasePeriod{
		{Phase: core.PhaseTriage, EnteredAt: t0, LeftAt: ptr(t0.Add(-time.Hour))},
		{Phase: core.PhaseClosed, EnteredAt: t0.Add(time.Hour)},
	}, t0.Add(100*time.Hour))
	if len(tot) != 1 || tot[0].Phase != core.PhaseTriage || tot[0].Spent != 0 {
		t.Errorf("totals = %+v", tot)
	}
}

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		d      time.Duration
		ja, en string
	}{
		{0, "0分", "0 min"},
		{59 * time.Second, "0分", "0 min"},
		{25 * time.Minute, "25分", "25 min"},
		{time.Hour, "1時間", "1 h"},
		{4*time.Hour + 30*time.Minute, "4時間30分", "4 h 30 min"},
		{76 * time.Hour, "3日4時間", "3 d 4 h"},
		{72*time.Hour + 59*time.Minute, "3日", "3 d"},
		{-2 * time.Hour, "-2時間", "-2 h"},
	}
	for _, c := range cases {
		if got := formatDuration(c.d, LangJA); got != c.ja {
			t.Errorf("ja %s = %q, want %q", c.d, got, c.ja)
		}
		if got := formatDuration(c.d, LangEN); got != c.en {
			t.Errorf("en %s = %q, want %q", c.d, got, c.en)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1200: "1,200", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q", n, got)
		}
	}
	if got := formatTime(jst(2026, 1, 31, 23, 30), JST); got != "2026-01-31 23:30 JST" {
		t.Errorf("formatTime = %q", got)
	}
}

// Incident text is data: in HTML every payload is escaped, in every kind
// and language.
func TestXSSInert(t *testing.T) {
	payloads := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(2)>`,
		`"><svg onload=alert(3)>`,
		`javascript:alert(4)`,
	}
	in := fixture(t)
	in.Incident.Title = payloads[0] + " ランサムウェア"
	in.Incident.Description = payloads[1] + "\n" + payloads[2]
	in.Incident.Facts.What = payloads[2]
	in.Incident.RootCause = payloads[3] + payloads[0]
	in.Incident.AffectedSystems = []string{payloads[1]}
	in.Actions[0].Description = payloads[0]
	in.Actions[0].Tool = payloads[1]
	in.Comments[0].Body = payloads[2]
	in.Clocks[0].Reference = payloads[0]
	for _, kind := range kinds {
		for _, lang := range langs {
			in.Lang = lang
			out := render(t, kind, FormatHTML, in)
			// The attribute text may appear, escaped, as text; a tag may not.
			for _, bad := range []string{"<script", "<img", "<svg", `"><`} {
				if strings.Contains(strings.ToLower(out), bad) {
					t.Errorf("%s/%s: raw %q in HTML", kind, lang, bad)
				}
			}
			if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("%s/%s: title not shown escaped", kind, lang)
			}
			md := render(t, kind, FormatMarkdown, in)
			if strings.Contains(strings.ReplaceAll(md, `\<`, ""), "<") {
				t.Errorf("%s/%s: unescaped < in Markdown", kind, lang)
			}
			if strings.Count(out, "<style>") != 1 || !bytes.Contains([]byte(out), []byte("@page")) {
				t.Errorf("%s/%s: print CSS not embedded once", kind, lang)
			}
		}
	}
}

// The HTML carries the same content as the Markdown: every fill-in marker
// and every table row of one appears in the other.
func TestSameContent(t *testing.T) {
	for _, kind := range kinds {
		for _, lang := range langs {
			in := fixture(t)
			in.Lang = lang
			md := render(t, kind, FormatMarkdown, in)
			html := render(t, kind, FormatHTML, in)
			marker := map[string]string{LangJA: "【要記入】", LangEN: "[TO FILL IN]"}[lang]
			if a, b := strings.Count(md, marker), strings.Count(html, marker); a != b {
				t.Errorf("%s/%s: %d markers in md, %d in html", kind, lang, a, b)
			}
			if a, b := strings.Count(md, "\n## "), strings.Count(html, "<h2>"); a != b {
				t.Errorf("%s/%s: %d sections in md, %d in html", kind, lang, a, b)
			}
			// Markdown tables have one separator row more than HTML ones.
			if a, b := strings.Count(md, "\n| ")-strings.Count(md, "\n| --- |"), strings.Count(html, "<tr>"); a != b {
				t.Errorf("%s/%s: %d table rows in md, %d in html", kind, lang, a, b)
			}
		}
	}
}
