package store_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/search"
	"github.com/irdesk/irdesk/internal/store"
)

// benchEntries is how many knowledge entries the search benchmark runs
// over; IRDESK_BENCH_ENTRIES changes it.
func benchEntries() int {
	if n, err := strconv.Atoi(os.Getenv("IRDESK_BENCH_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

var benchBodies = []string{
	"顧客情報の漏えいが発覚した。委託先のサーバ設定ミスが原因で、外部から閲覧できる状態だった。",
	"営業部でメールの誤送信があり、顧客リストが別の取引先に届いた。送信保留の仕組みを導入する。",
	"Ransomware encrypted the file server. Backups were verified clean before the restore.",
	"Phishing mail with a credential form; MFA stopped the login. Block the sender domain.",
	"ノートPCを電車内で紛失。ディスク暗号化済みのため情報漏えいの可能性は低い。",
	"VPN appliance vulnerability exploited; patch applied and credentials rotated.",
}

// seedKnowledge writes n articles, 1,000 to a transaction.
func seedKnowledge(b *testing.B, st *store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		chunk := min(1000, n-done)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := range chunk {
				k := done + i
				body := benchBodies[k%len(benchBodies)] + fmt.Sprintf(" 手順%d step %d", k%97, k)
				e := &core.Knowledge{Kind: core.KnowledgeArticle, Title: fmt.Sprintf("runbook %d %s", k, benchTitles[k%len(benchTitles)].title),
					Body: body, Tags: []string{"bench"}, Language: "ja", CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateKnowledge(ctx, e); err != nil {
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

// BenchmarkKnowledgeSearch is one ranked search (first page of 20) over
// benchEntries() entries as a viewer, reporting p50 and p99 latency:
// Japanese words (bigrams), English words and prefixes, common and rare.
// The postgres half runs when IRDESK_TEST_POSTGRES is set:
//
//	go test -run x -bench KnowledgeSearch -benchtime 400x ./internal/store/
func BenchmarkKnowledgeSearch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := store.OpenSQLite(context.Background(), b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchKnowledgeSearch(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgEnv) == "" {
			b.Skipf("set %s to run", pgEnv)
		}
		benchKnowledgeSearch(b, openPostgres(b))
	})
}

func benchKnowledgeSearch(b *testing.B, st *store.Store) {
	seedKnowledge(b, st, benchEntries())
	queries := []string{"漏えい", "誤送信", "ransomware", "phish", "送信保留", "VPN patch", "手順42", "紛失 暗号化"}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rows, _, err := st.FindKnowledge(ctx, store.KnowledgeFilter{Scope: store.Scope{UserID: 1}, Query: queries[i%len(queries)], Limit: 20})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(rows) == 0 {
			b.Fatalf("%q found nothing", queries[i%len(queries)])
		}
	}
	b.StopTimer()
	p := percentiles(lat)
	b.ReportMetric(float64(p[0].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p[1].Microseconds())/1000, "p99-ms")
}

// BenchmarkSimilarCandidates gathers the candidates for "similar
// incidents" of one incident among benchIncidents() others (shared
// systems, the category, any of the title's words), as a viewer:
//
//	go test -run x -bench SimilarCandidates -benchtime 100x ./internal/store/
func BenchmarkSimilarCandidates(b *testing.B) {
	st, err := store.OpenSQLite(context.Background(), b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seed(b, st, benchIncidents())
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		inc, err := st.GetIncident(ctx, core.IncidentKey(2026, int64(1+(i*7919)%benchIncidents())), store.Scope{All: true})
		if err != nil {
			b.Fatal(err)
		}
		var terms []search.Term
		for _, t := range search.Terms(inc.Title + " " + inc.Description) {
			if len([]rune(t)) > 1 && len(terms) < 24 && !slices.Contains(terms, search.Term{Text: t}) {
				terms = append(terms, search.Term{Text: t})
			}
		}
		start := time.Now()
		cands, err := st.SimilarCandidates(ctx, inc, store.Scope{UserID: 99}, terms)
		lat = append(lat, time.Since(start))
		if err != nil || len(cands) == 0 {
			b.Fatalf("%d candidates, %v", len(cands), err)
		}
	}
	p := percentiles(lat)
	b.ReportMetric(float64(p[0].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p[1].Microseconds())/1000, "p99-ms")
}
