package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n >= 0 {
		return n
	}
	return def
}

// BenchmarkBackupRestore measures irdesk backup and irdesk restore on a
// store of 100,000 incidents (each with its creation event) and 1,000,000
// alerts, against copying the same files with cp. The store is seeded
// with the store's own batch inserts, 1,000 to a transaction.
// IRDESK_BENCH_INCIDENTS and IRDESK_BENCH_ALERTS change the sizes:
//
//	go test -run x -bench BackupRestore -benchtime 1x ./cmd/irdesk/
func BenchmarkBackupRestore(b *testing.B) {
	ctx := context.Background()
	nInc, nAlerts := envInt("IRDESK_BENCH_INCIDENTS", 100_000), envInt("IRDESK_BENCH_ALERTS", 1_000_000)
	data := b.TempDir()
	st, err := store.OpenSQLite(ctx, data, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	seedBackupBench(b, st, nInc, nAlerts)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d incidents and %d alerts in %s", nInc, nAlerts, time.Since(t0).Round(time.Second))
	// A few evidence files, so the backup carries blobs as well.
	a, st, err := openApp(ctx, data, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	u, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: "bench", Role: core.RoleAdmin})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 20 {
		if _, err := a.UploadEvidence(ctx, app.Actor{User: u}, fmt.Sprintf("INC-2026-%04d", i+1), app.NewEvidence{FileName: fmt.Sprintf("log-%d.txt", i)},
			io.LimitReader(rand.NewChaCha8([32]byte{byte(i)}), 256<<10)); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	var dbBytes int64
	filepath.Walk(data, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			dbBytes += fi.Size()
		}
		return err
	})
	b.Logf("data directory: %s", humanBytes(dbBytes))

	for b.Loop() {
		work := b.TempDir()
		start := time.Now()
		if out, err := exec.Command("cp", "-r", data, filepath.Join(work, "copy")).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		cp := time.Since(start)
		start = time.Now()
		if _, err := store.SnapshotSQLite(ctx, data, filepath.Join(work, "snapshot.db")); err != nil {
			b.Fatal(err)
		}
		b.Logf("database snapshot alone (SQLite online backup): %s = %.2f× cp of the whole directory", time.Since(start).Round(time.Millisecond), time.Since(start).Seconds()/cp.Seconds())
		os.Remove(filepath.Join(work, "snapshot.db"))

		for _, gz := range []bool{false, true} {
			archive := filepath.Join(work, fmt.Sprintf("backup-%v.tar", gz))
			start = time.Now()
			m, err := app.Backup(ctx, data, archive, app.BackupOptions{Gzip: gz, Version: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			backup := time.Since(start)
			fi, _ := os.Stat(archive)

			target := filepath.Join(work, fmt.Sprintf("restored-%v", gz))
			start = time.Now()
			if _, err := app.Restore(ctx, archive, target); err != nil {
				b.Fatal(err)
			}
			unpack := time.Since(start)
			var sink discardWriter
			if err := cmdAudit(ctx, []string{"verify", "--data", target}, nil, &sink, &sink); err != nil {
				b.Fatal(err)
			}
			if err := evidenceVerify(ctx, []string{"--data", target}, &sink, &sink); err != nil {
				b.Fatal(err)
			}
			restore := time.Since(start)
			name := "tar"
			if gz {
				name = "tar.gz"
			}
			b.Logf("%s: archive %s (%d files); cp -r %s; backup %s = %.2f× cp; restore (unpack + hash check) %s = %.2f× cp; with audit and evidence verification %s = %.2f× cp",
				name, humanBytes(fi.Size()), len(m.Files), cp.Round(time.Millisecond),
				backup.Round(time.Millisecond), backup.Seconds()/cp.Seconds(),
				unpack.Round(time.Millisecond), unpack.Seconds()/cp.Seconds(),
				restore.Round(time.Millisecond), restore.Seconds()/cp.Seconds())
			b.ReportMetric(backup.Seconds()/cp.Seconds(), name+"-backup/cp")
			b.ReportMetric(restore.Seconds()/cp.Seconds(), name+"-restore/cp")
		}
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// seedBackupBench writes incidents (with an audit event each) and
// alerts, 1,000 to a transaction.
func seedBackupBench(b *testing.B, st *store.Store, nInc, nAlerts int) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < nInc; {
		chunk := min(1000, nInc-done)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := range chunk {
				k := done + i
				t := benchTitles[k%len(benchTitles)]
				key, err := tx.NextIncidentKey(ctx, 2026)
				if err != nil {
					return err
				}
				inc := &core.Incident{Key: key, Title: fmt.Sprintf("%s #%d", t.title, k), Category: core.Category(t.category),
					Severity: core.Severities[k%4], Impact: 3, Urgency: 3, Description: t.desc,
					AffectedSystems: []string{fmt.Sprintf("host-%04d", k%5000)}}
				if err := inc.Normalize(); err != nil {
					return err
				}
				now := tx.Now()
				inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = now, now, now
				if err := tx.CreateIncident(ctx, inc); err != nil {
					return err
				}
				payload, _ := json.Marshal(map[string]string{"key": key, "title": inc.Title})
				if err := tx.AppendEvent(ctx, &core.Event{Actor: "system", IncidentID: inc.ID, Type: core.EvIncidentCreated, Payload: payload}); err != nil {
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
	rng := rand.New(rand.NewPCG(1, 2))
	for done := 0; done < nAlerts; {
		chunk := min(1000, nAlerts-done)
		var body []byte
		for k := range chunk {
			body = benchAlertLine(body, rng, 0, 0, done, k)
		}
		parsed, err := ingest.Parse("native", body)
		if err != nil {
			b.Fatal(err)
		}
		err = st.InTx(ctx, func(tx *store.Tx) error {
			for i := range parsed {
				if _, _, err := tx.IngestAlert(ctx, &parsed[i], 24*time.Hour); err != nil {
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
