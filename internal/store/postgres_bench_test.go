package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// BenchmarkWriteRates measures durable incident creation (key, row,
// phase, audit event) and alert intake with 16 writers per CPU, on
// SQLite and on PostgreSQL with one and three stores on one database (as
// one and three nodes would be):
//
//	IRDESK_TEST_POSTGRES=postgres://... go test -run x -bench WriteRates ./internal/store/
func BenchmarkWriteRates(b *testing.B) {
	backends := []struct {
		name string
		open func(tb testing.TB) []*store.Store
	}{
		{"sqlite", func(tb testing.TB) []*store.Store { return []*store.Store{openSQLite(tb)} }},
		{"postgres/1node", func(tb testing.TB) []*store.Store { return []*store.Store{openPostgres(tb)} }},
		{"postgres/3nodes", func(tb testing.TB) []*store.Store {
			dsn := pgSchema(tb)
			return []*store.Store{openPostgresAt(tb, dsn, store.Options{}), openPostgresAt(tb, dsn, store.Options{}), openPostgresAt(tb, dsn, store.Options{})}
		}},
	}
	ops := []struct {
		name string
		fn   func(ctx context.Context, tx *store.Tx, i int64) error
	}{
		{"incident", func(ctx context.Context, tx *store.Tx, i int64) error {
			key, err := tx.NextIncidentKey(ctx, 2026)
			if err != nil {
				return err
			}
			inc := &core.Incident{Key: key, Title: fmt.Sprintf("営業部のPCがランサムウェアに感染 #%d", i), Category: core.CatRansomware}
			if err := inc.Normalize(); err != nil {
				return err
			}
			inc.Phase, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = core.PhaseDetect, tx.Now(), tx.Now(), tx.Now()
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
			if err := tx.EnterPhase(ctx, inc.ID, core.PhaseDetect, "bench", ""); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, &core.Event{Actor: "bench", IncidentID: inc.ID, Type: core.EvIncidentCreated})
		}},
		{"alert", func(ctx context.Context, tx *store.Tx, i int64) error {
			id := fmt.Sprint(i)
			_, _, err := tx.IngestAlert(ctx, &ingest.Alert{Source: "native", SourceEventID: id, Severity: core.S3, Title: "SSH brute force",
				Host: "web-01", Fingerprint: "fp-" + fmt.Sprint(i%1000), Raw: []byte(`{"id":"` + id + `"}`),
				Observables: []ingest.Observable{{Type: "ip", Value: "203.0.113.7"}}}, 0)
			return err
		}},
	}
	for _, be := range backends {
		for _, op := range ops {
			b.Run(be.name+"/"+op.name, func(b *testing.B) {
				stores := be.open(b)
				ctx := context.Background()
				var n atomic.Int64
				b.SetParallelism(16)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						st := stores[int(i)%len(stores)]
						if err := st.InTx(ctx, func(tx *store.Tx) error { return op.fn(ctx, tx, i) }); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			})
		}
	}
}
