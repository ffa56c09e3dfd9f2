package app

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// statsBenchN is how many incidents the stats and search benchmarks run
// over; IRDESK_BENCH_INCIDENTS changes it (articles are a tenth of it).
func statsBenchN() int {
	if n, err := strconv.Atoi(os.Getenv("IRDESK_BENCH_INCIDENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var benchSubjects = []struct {
	title string
	cat   core.Category
}{
	{"営業部のPCがランサムウェアに感染", core.CatRansomware},
	{"顧客リストを誤送信", core.CatMisdelivery},
	{"Phishing mail with credential form", core.CatPhishing},
	{"ノートPCを電車内で紛失", core.CatLostDevice},
	{"Suspicious PowerShell on FS01", core.CatMalware},
	{"Webサイト改ざんの疑い", core.CatWebDefacement},
	{"退職者アカウントによる不正アクセス", core.CatUnauthorized},
	{"委託先からの情報漏えい", core.CatSupplyChain},
}

// seedStats writes n incidents (every one with its milestones, 1 in 50
// restricted, 1 in 97 an exercise, filed over two years) and n/10
// articles straight through the store, 1,000 to a transaction.
func seedStats(b *testing.B, a *App, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n; {
		chunk := min(1000, n-done)
		err := a.store.InTx(ctx, func(tx *store.Tx) error {
			for i := range chunk {
				k := done + i
				s := benchSubjects[k%len(benchSubjects)]
				key, err := tx.NextIncidentKey(ctx, 2026)
				if err != nil {
					return err
				}
				created := now.Add(-time.Duration(k%730)*24*time.Hour - time.Duration(k%24)*time.Hour)
				inc := &core.Incident{Key: key, Title: fmt.Sprintf("%s #%d", s.title, k), Category: s.cat,
					Severity: core.Severities[k%4], Impact: 3, Urgency: 3, Phase: core.Phases[k%len(core.Phases)],
					CauseClass:  core.CauseClasses[k%len(core.CauseClasses)],
					Description: "詳細は調査中。影響範囲を確認している。", AffectedSystems: []string{fmt.Sprintf("host-%04d", k%5000)},
					Restricted: k%50 == 0, Exercise: k%97 == 0}
				if err := inc.Normalize(); err != nil {
					return err
				}
				inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = created, created, created
				occ, det, ack := created.Add(-time.Duration(k%72)*time.Hour), created, created.Add(time.Duration(k%90)*time.Minute)
				con, rec := det.Add(time.Duration(k%48)*time.Hour), det.Add(time.Duration(k%96)*time.Hour)
				inc.Facts.OccurredAt, inc.Timestamps.DetectedAt, inc.Timestamps.AcknowledgedAt = &occ, &det, &ack
				inc.Timestamps.ContainedAt, inc.Timestamps.RecoveredAt = &con, &rec
				if err := tx.CreateIncident(ctx, inc); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += chunk
	}
	for done := 0; done < n/10; {
		chunk := min(1000, n/10-done)
		err := a.store.InTx(ctx, func(tx *store.Tx) error {
			for i := range chunk {
				k := done + i
				s := benchSubjects[k%len(benchSubjects)]
				kn := &core.Knowledge{Kind: core.KnowledgeArticle, Title: fmt.Sprintf("%s の対応手順 %d", s.title, k),
					Body:     "手順: 端末をネットワークから隔離し、ログを保全する。Isolate the host and preserve the logs. 関係者へ連絡する。",
					Language: "ja", Tags: []string{"runbook"}, CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateKnowledge(ctx, kn); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += chunk
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkStatsAndSearch measures GET /api/v1/stats's and
// GET /api/v1/search's work (app.Stats, app.Search with snippets) over
// 100,000 incidents and 10,000 articles, as a viewer who is a member of
// no restricted incident:
//
//	go test -run x -bench StatsAndSearch -benchtime 200x ./internal/app/
func BenchmarkStatsAndSearch(b *testing.B) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a, _ := newApp(b, now)
	viewer := kbUsers(b, a, map[string]core.Role{"viewer": core.RoleViewer})["viewer"]
	n := statsBenchN()
	start := time.Now()
	seedStats(b, a, n, now)
	b.Logf("seeded %d incidents and %d articles in %s", n, n/10, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	for _, c := range []struct {
		name string
		q    StatsQuery
	}{{"stats/all-time", StatsQuery{}}, {"stats/last-90-days", StatsQuery{From: "2026-08-03", To: "2026-10-31"}}} {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				st, err := a.Stats(ctx, viewer, c.q)
				lat = append(lat, time.Since(t0))
				if err != nil || st.Total == 0 || st.ResponseTimes[3].MedianSeconds == nil {
					b.Fatalf("%+v %v", st, err)
				}
			}
			reportLatency(b, lat)
		})
	}
	for _, c := range []struct{ name, q, kind string }{
		{"search/ja/感染", "感染", ""},                 // 1 in 8 incidents and articles
		{"search/ja/情報漏えい", "情報漏えい", ""},           // 1 in 8, three bigrams
		{"search/en/powershell", "PowerShell", ""}, // another case
		{"search/rare/#77777", "77777", ""},
		{"search/incidents/感染", "感染", SearchIncidents},
		// Every incident and article matches: the ranking reads them all.
		{"search/worst/詳細", "詳細", SearchIncidents},
	} {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				p, err := a.Search(ctx, viewer, SearchQuery{Q: c.q, Kind: c.kind})
				lat = append(lat, time.Since(t0))
				if err != nil || len(p.Hits) == 0 {
					b.Fatalf("%d hits, %v", len(p.Hits), err)
				}
			}
			reportLatency(b, lat)
		})
	}
}
