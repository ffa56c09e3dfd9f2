package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/irdesk/irdesk/internal/app"
)

// BenchmarkCreateIncidentHTTP measures durable incident creation through
// the HTTP API with 16 concurrent clients (b.SetParallelism on 2 cores
// gives 16 goroutines when GOMAXPROCS is 2... so it is set from that).
func BenchmarkCreateIncidentHTTP(b *testing.B) {
	m := startMain(b, b.TempDir())
	_, token, err := m.App.CreateToken(context.Background(), app.SystemActor, "admin", "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := "http://" + m.Addr() + "/api/v1/incidents"
	var n atomic.Int64
	b.SetParallelism(max(1, 16/testingProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"title":"営業部のPCがランサムウェアに感染 #%d","category":"ransomware","severity":"S2","description":"ファイルが暗号化された","affected_systems":["host-%d"]}`, i, i%500)
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "incidents/s")
	ws := m.Store.WriteStats()
	b.ReportMetric(float64(ws.Requests)/float64(ws.Batches), "writes/commit")
}

func startMain(tb testing.TB, data string) *Main {
	tb.Helper()
	m := &Main{
		Config: Config{Data: data, Listen: "127.0.0.1:0"},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Stderr: io.Discard,
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
