package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// benchAlerts parses n native alerts shaped like irdesk bench ingest's:
// each a new fingerprint, two observables, a source event id.
func benchAlerts(tb testing.TB, from, n int) []ingest.Alert {
	tb.Helper()
	var out []ingest.Alert
	for start := from; start < from+n; start += 5000 {
		var body []byte
		for i := start; i < min(start+5000, from+n); i++ {
			body = fmt.Appendf(body, `{"title":"Suspicious logon","rule_id":"4625","severity":"S3","host":"h-%d","src_ip":"203.0.113.%d","source_event_id":"ev-%d"}`+"\n",
				i, i%250, i)
		}
		alerts, err := ingest.Parse("native", body)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, alerts...)
	}
	return out
}

func benchApp(b *testing.B) *App {
	b.Helper()
	st, err := store.OpenSQLite(context.Background(), b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, Config{})
}

// BenchmarkIngest measures the durable intake path below HTTP: 16
// concurrent single-alert requests group-committed by the writer, against
// the physical limit of the same rows inserted 1,000 to a transaction.
//
//	go test -run x -bench Ingest -benchtime 20000x ./internal/app
func BenchmarkIngest(b *testing.B) {
	b.Run("requests-of-1-by-16", func(b *testing.B) {
		a := benchApp(b)
		alerts := benchAlerts(b, 0, b.N+64)
		var next atomic.Int64
		b.SetParallelism(16 / max(1, runtimeProcs()))
		before := a.WriteStats()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				if _, err := a.IngestParsed(context.Background(), SystemActor, "native", alerts[i:i+1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
		after := a.WriteStats()
		b.ReportMetric(float64(after.Requests-before.Requests)/float64(max(1, after.Batches-before.Batches)), "requests/commit")
	})
	b.Run("raw-1000-per-tx", func(b *testing.B) {
		a := benchApp(b)
		alerts := benchAlerts(b, 0, b.N)
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		for done := 0; done < b.N; {
			n := min(1000, b.N-done)
			err := a.store.InTx(ctx, func(tx *store.Tx) error {
				for i := done; i < done+n; i++ {
					if _, _, err := tx.IngestAlert(ctx, &alerts[i], 24*time.Hour); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			done += n
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
	})
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkCreateIncident measures filing incidents below HTTP, 16 at a
// time, with the built-in escalation rules and an empty contact tree (a
// fresh install):
//
//	go test -run x -bench CreateIncident -benchtime 20000x ./internal/app
func BenchmarkCreateIncident(b *testing.B) {
	a := benchApp(b)
	b.SetParallelism(16 / max(1, runtimeProcs()))
	b.ResetTimer()
	start := time.Now()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := a.CreateIncident(context.Background(), SystemActor, NewIncident{
				Title: fmt.Sprintf("不審な通信 #%d", i), Severity: "S3", AffectedSystems: []string{fmt.Sprintf("pc-%d", i%500)},
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "incidents/s")
}
