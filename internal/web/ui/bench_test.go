package ui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/web"
)

// BenchmarkDashboardRender measures whole page renders — GET /dashboard
// (session, aggregate queries, clocks, template) and the incident list
// plain, filtered and searched in Japanese — over 100,000 incidents filed
// over two years, a sixth of them closed with their milestones, as an
// admin and as a viewer whose scope check is part of every query:
//
//	go test -run x -bench DashboardRender ./internal/web/ui/
//
// IRDESK_BENCH_INCIDENTS changes the count.
func BenchmarkDashboardRender(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("IRDESK_BENCH_INCIDENTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	// IRDESK_BENCH_DIR keeps the database, to look at its query plans.
	dir := os.Getenv("IRDESK_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	st, err := store.OpenSQLite(ctx, dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	seedDashboard(b, st, n, start)
	b.Logf("seeded %d incidents in %s", n, time.Since(start).Round(time.Millisecond))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	h := web.New(a, log, metrics.NewRegistry(), web.Config{})
	for _, role := range []core.Role{core.RoleAdmin, core.RoleViewer} {
		name := "bench-" + string(role)
		if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: name, Role: role, Password: password}); err != nil {
			b.Fatal(err)
		}
		secret, _, _, err := a.Login(ctx, name, password, "127.0.0.1")
		if err != nil {
			b.Fatal(err)
		}
		for _, page := range benchPages {
			b.Run(string(role)+"/"+page.name, func(b *testing.B) {
				lat := make([]time.Duration, 0, 1024)
				for b.Loop() {
					req := httptest.NewRequest("GET", page.path, nil)
					req.Header.Set("Accept", "text/html")
					req.AddCookie(&http.Cookie{Name: "irdesk_session", Value: secret})
					rec := httptest.NewRecorder()
					t0 := time.Now()
					h.ServeHTTP(rec, req)
					lat = append(lat, time.Since(t0))
					if rec.Code != http.StatusOK {
						b.Fatalf("GET %s: %d %s", page.path, rec.Code, rec.Body.String())
					}
				}
				s := slices.Clone(lat)
				slices.Sort(s)
				b.ReportMetric(float64(s[len(s)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(s[len(s)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}

// seedDashboard files n incidents, 1,000 to a transaction, spread over
// two years before now: every phase, severity and category, one in fifty
// restricted, one in ninety-seven an exercise, the closed ones with every
// milestone set.
func seedDashboard(b *testing.B, st *store.Store, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n; {
		chunk := min(1000, n-done)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := range chunk {
				k := done + i
				key, err := tx.NextIncidentKey(ctx, 2026)
				if err != nil {
					return err
				}
				created := now.Add(-time.Duration(k%730)*24*time.Hour - time.Duration(k%24)*time.Hour)
				inc := &core.Incident{Key: key, Title: fmt.Sprintf("incident %d", k), Category: core.Categories[k%len(core.Categories)],
					Severity: core.Severities[k%4], Impact: 3, Urgency: 3, Phase: core.Phases[k%len(core.Phases)],
					Description: "詳細は調査中。", Restricted: k%50 == 0, Exercise: k%97 == 0}
				if err := inc.Normalize(); err != nil {
					return err
				}
				inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = created, created, created
				if inc.Phase == core.PhaseClosed {
					occ, det, ack := created.Add(-3*time.Hour), created, created.Add(time.Duration(k%90)*time.Minute)
					con, rec, clo := det.Add(time.Duration(k%48)*time.Hour), det.Add(time.Duration(k%96)*time.Hour), det.Add(time.Duration(k%30)*24*time.Hour)
					inc.Facts.OccurredAt, inc.Timestamps.DetectedAt, inc.Timestamps.AcknowledgedAt = &occ, &det, &ack
					inc.Timestamps.ContainedAt, inc.Timestamps.RecoveredAt, inc.Timestamps.ClosedAt = &con, &rec, &clo
				}
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
}

// benchPages are the pages BenchmarkDashboardRender renders.
var benchPages = []struct{ name, path string }{
	{"dashboard", "/dashboard"},
	{"list", "/incidents"},
	{"list-filtered", "/incidents?severity=S1&phase=investigate"},
	{"list-search-ja", "/incidents?q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0"}, // ランサム
}
