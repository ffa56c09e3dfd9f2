package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/store/storetest"
)

// pgEnv names the variable that holds the DSN of a PostgreSQL database the
// tests may create and drop schemas in.
const pgEnv = "IRDESK_TEST_POSTGRES"

// pgBaseDSN returns the test database's DSN. Without one the test skips
// on a workstation, but fails in CI, where both backends must be tested.
func pgBaseDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set, but CI=true: CI must test the PostgreSQL backend (see .ci/run)", pgEnv)
		}
		tb.Skipf("PostgreSQL tests skipped: set %s=postgres://user:pass@127.0.0.1:5432/db?sslmode=disable to run them", pgEnv)
	}
	return dsn
}

// withSearchPath returns dsn with its connections set to use schema.
func withSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("%s: %v", pgEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// pgSchema creates an empty schema for one test, drops it when the test
// ends, and returns a DSN whose connections work in it: every test gets a
// database of its own without the cost of CREATE DATABASE.
func pgSchema(tb testing.TB) string {
	tb.Helper()
	base := pgBaseDSN(tb)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "irdesk_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(tb, base, schema)
}

// openPostgresAt opens a store on dsn and closes it when the test ends
// (before the schema is dropped: cleanups run last registered first).
func openPostgresAt(tb testing.TB, dsn string, opts store.Options) *store.Store {
	tb.Helper()
	st, err := store.OpenPostgres(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatalf("OpenPostgres: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return st
}

func openPostgres(tb testing.TB) *store.Store {
	tb.Helper()
	return openPostgresAt(tb, pgSchema(tb), store.Options{})
}

func TestPostgresContract(t *testing.T) {
	pgBaseDSN(t)
	storetest.Run(t, openPostgres)
}

func TestPostgresMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	ms, err := store.Migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range ms {
		want = append(want, m.Name)
	}
	applied, err := store.MigratePostgres(ctx, dsn, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, want) {
		t.Fatalf("first MigratePostgres applied %q, want %q", applied, want)
	}
	applied, err = store.MigratePostgres(ctx, dsn, time.Now())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second MigratePostgres applied %q, %v; want nothing", applied, err)
	}
	st := openPostgresAt(t, dsn, store.Options{Existing: true})
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Dialect() != "postgres" {
		t.Fatalf("Dialect() = %q", st.Dialect())
	}
}

// TestPostgresMigrateConcurrently: nodes starting together on an empty
// database apply each migration once between them, and all start.
func TestPostgresMigrateConcurrently(t *testing.T) {
	dsn := pgSchema(t)
	const nodes = 3
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	stores := make([]*store.Store, nodes)
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = store.OpenPostgres(context.Background(), dsn, store.Options{}) })
	}
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		stores[i].Close()
	}
}

func TestPostgresExistingRefusesEmptyDatabase(t *testing.T) {
	st, err := store.OpenPostgres(context.Background(), pgSchema(t), store.Options{Existing: true})
	if err == nil {
		st.Close()
		t.Fatal("Existing opened a database without the schema")
	}
}

func TestPostgresDatabaseNewerRefused(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	if _, err := store.MigratePostgres(ctx, dsn, time.Now()); err != nil {
		t.Fatal(err)
	}
	ms, err := store.Migrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	future := len(ms) + 1
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		future, fmt.Sprintf("%04d_from_the_future.sql", future), time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		var newer *store.ErrDatabaseNewer
		if !errors.As(err, &newer) || newer.Database != future || newer.Binary != len(ms) {
			t.Fatalf("%s: error = %v, want ErrDatabaseNewer{%d, %d}", what, err, future, len(ms))
		}
	}
	st, err := store.OpenPostgres(ctx, dsn, store.Options{})
	if st != nil {
		st.Close()
		t.Fatal("OpenPostgres returned a store for a newer database")
	}
	check("OpenPostgres", err)
	_, err = store.MigratePostgres(ctx, dsn, time.Now())
	check("MigratePostgres", err)
}

// TestPostgresEventsAppendOnly: the database itself refuses to change or
// remove audit events and custody records, TRUNCATE included.
func TestPostgresEventsAppendOnly(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	st := openPostgresAt(t, dsn, store.Options{})
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.AppendEvent(ctx, &core.Event{Actor: "alice", Type: core.EvIncidentCreated})
	}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`UPDATE events SET actor = 'mallory'`,
		`DELETE FROM events`,
		`TRUNCATE events CASCADE`,
		`TRUNCATE evidence CASCADE`,
		`TRUNCATE evidence_custody`,
	} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s: succeeded", q)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE actor = 'alice'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("events after the attempts: %d, %v", n, err)
	}
}

// TestTextSearchSameOnBothBackends files the same incidents in SQLite and
// PostgreSQL and checks that every query finds the same ones in both.
func TestTextSearchSameOnBothBackends(t *testing.T) {
	pgBaseDSN(t)
	ctx := context.Background()
	lite, pg := openSQLite(t), openPostgres(t)
	docs := []struct{ title, desc string }{
		{"Ransomware on FS01", "files encrypted; ransom note README.txt"},
		{"ノートPCを紛失", "営業部の社員が電車内でノートPCを紛失した"},
		{"情報漏えいの疑い", "顧客情報が外部に送信された可能性"},
		{"Phishing mail", "credential harvesting page at login-example.com"},
		{"ＦＵＬＬ　ｗｉｄｔｈ ｶﾀｶﾅ", "全角と半角カナ"},
		{"鍵の紛失", "サーバー室の鍵"},
		{"CVE-2024-1234 exploited", "10.0.0.1 scanned 443/tcp; naïve café Ωmega"},
		{"O'Brien's laptop", `back\slash and "quotes" and it's fine`},
	}
	for _, b := range []*store.Store{lite, pg} {
		for _, d := range docs {
			inc := &core.Incident{Title: d.title, Description: d.desc}
			if err := inc.Normalize(); err != nil {
				t.Fatal(err)
			}
			err := b.InTx(ctx, func(tx *store.Tx) error {
				key, err := tx.NextIncidentKey(ctx, 2026)
				if err != nil {
					return err
				}
				inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
				return tx.CreateIncident(ctx, inc)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	queries := []string{"ransom", "ransomware", "fs01", "fs", "紛失", "紛", "ノートpc", "ノート", "PC", "情報", "漏えい", "情報漏えい",
		"full", "ｆｕｌｌ", "カタカナ", "ｶﾀ", "鍵", "室", "cve-2024", "1234", "10.0.0.1", "443", "café", "cafe", "naïve", "ωmega",
		"o'brien", "it's", `back\slash`, `"quotes"`, "nothing-matches-this", "の", "a", "!!!", "exploit"}
	some := 0
	for _, q := range queries {
		keys := func(b *store.Store) []string {
			incs, _, err := b.FindIncidents(ctx, store.IncidentFilter{Scope: store.Scope{All: true}, Query: q, Limit: store.MaxListLimit})
			if err != nil {
				t.Fatalf("%s: %q: %v", b.Dialect(), q, err)
			}
			var out []string
			for _, inc := range incs {
				out = append(out, inc.Key)
			}
			return out
		}
		a, b := keys(lite), keys(pg)
		if !slices.Equal(a, b) {
			t.Errorf("query %q: sqlite %v, postgres %v", q, a, b)
		}
		if len(a) > 0 {
			some++
		}
	}
	if some < len(queries)/2 {
		t.Fatalf("only %d of %d queries found anything: the fixture does not exercise search", some, len(queries))
	}
}

// TestPostgresNodesShareOneChain: several stores on one database, as
// several nodes would be, create incidents at the same time. Every key is
// handed out once, with no gap, and the audit chain is one line.
func TestPostgresNodesShareOneChain(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	const nodes, perNode = 3, 40
	stores := make([]*store.Store, nodes)
	for i := range stores {
		stores[i] = openPostgresAt(t, dsn, store.Options{})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []string
	errs := make(chan error, nodes*perNode)
	for n, st := range stores {
		for i := range perNode {
			wg.Go(func() {
				inc := &core.Incident{Title: fmt.Sprintf("node %d incident %d", n, i)}
				if err := inc.Normalize(); err != nil {
					errs <- err
					return
				}
				err := st.InTx(ctx, func(tx *store.Tx) error {
					key, err := tx.NextIncidentKey(ctx, 2026)
					if err != nil {
						return err
					}
					inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
					if err := tx.CreateIncident(ctx, inc); err != nil {
						return err
					}
					return tx.AppendEvent(ctx, &core.Event{Actor: "node", IncidentID: inc.ID, Type: core.EvIncidentCreated})
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				got = append(got, inc.Key)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(got)
	var want []string
	for i := 1; i <= nodes*perNode; i++ {
		want = append(want, core.IncidentKey(2026, int64(i)))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("keys %v, want INC-2026-0001 to %d once each", got, nodes*perNode)
	}
	// Every node sees the same single chain.
	for i, st := range stores {
		v := audit.NewVerifier()
		headID, headHash, err := st.ScanEvents(ctx, v.Next)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if err := v.Finish(headID, headHash); err != nil || v.Count() != nodes*perNode {
			t.Fatalf("node %d: chain of %d events, %v", i, v.Count(), err)
		}
	}
}

// withAppName tags dsn's connections so a test can find and end them.
func withAppName(dsn string) (string, string) {
	b := make([]byte, 6)
	rand.Read(b)
	app := "irdesk_test_" + hex.EncodeToString(b)
	if strings.Contains(dsn, "://") {
		return dsn + "&application_name=" + app, app
	}
	return dsn + " application_name=" + app, app
}

// endConnections ends every connection tagged app, as a database restart
// or failover would, and returns how many there were.
func endConnections(tb testing.TB, admin *sql.DB, app string) int {
	tb.Helper()
	var n int
	if err := admin.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestPostgresWriterRecovers: when the database drops the node's
// connections (a restart, a failover), writes fail for a moment and then
// work again without restarting the node, on the same single chain.
func TestPostgresWriterRecovers(t *testing.T) {
	ctx := context.Background()
	dsn, app := withAppName(pgSchema(t))
	st := openPostgresAt(t, dsn, store.Options{})
	write := func() error {
		return st.InTx(ctx, func(tx *store.Tx) error {
			return tx.AppendEvent(ctx, &core.Event{Actor: "alice", Type: core.EvIncidentCreated})
		})
	}
	if err := write(); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", pgBaseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if endConnections(t, admin, app) == 0 {
		t.Fatal("found no connection of the store to end")
	}
	// The first write may find the connection dead; by the second the
	// writer has a new one.
	ok := 0
	for range 3 {
		if err := write(); err == nil {
			ok++
		} else {
			t.Logf("write after the connections ended: %v", err)
		}
	}
	if ok < 2 {
		t.Fatalf("%d of 3 writes after the connections ended succeeded, want at least the last 2", ok)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("reads after the connections ended: %v", err)
	}
	v := audit.NewVerifier()
	headID, headHash, err := st.ScanEvents(ctx, v.Next)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Finish(headID, headHash); err != nil || v.Count() != int64(1+ok) {
		t.Fatalf("chain: %d events (want %d), %v", v.Count(), 1+ok, err)
	}
}

// TestPostgresConnectionsDropUnderLoad: three nodes take incident
// creations from many writers while the database drops all their
// connections, again and again. No acknowledged incident is lost, keys
// stay unique, every node writes again afterwards and the chain verifies.
func TestPostgresConnectionsDropUnderLoad(t *testing.T) {
	ctx := context.Background()
	dsn, app := withAppName(pgSchema(t))
	stores := []*store.Store{openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{})}
	admin, err := sql.Open("pgx", pgBaseDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	create := func(st *store.Store, title string) (string, error) {
		inc := &core.Incident{Title: title}
		if err := inc.Normalize(); err != nil {
			return "", err
		}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			key, err := tx.NextIncidentKey(ctx, 2026)
			if err != nil {
				return err
			}
			inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, &core.Event{Actor: "load", IncidentID: inc.ID, Type: core.EvIncidentCreated})
		})
		return inc.Key, err
	}
	stop := make(chan struct{})
	var mu sync.Mutex
	acked := map[string]bool{}
	failed := 0
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key, err := create(stores[w%len(stores)], fmt.Sprintf("writer %d #%d", w, i))
				mu.Lock()
				if err != nil {
					failed++
				} else {
					if acked[key] {
						t.Errorf("key %s acknowledged twice", key)
					}
					acked[key] = true
				}
				mu.Unlock()
			}
		})
	}
	kills := 0
	for range 4 {
		time.Sleep(250 * time.Millisecond)
		kills += endConnections(t, admin, app)
	}
	time.Sleep(250 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d connections ended in 4 rounds; %d creations acknowledged, %d failed", kills, len(acked), failed)
	if kills == 0 || len(acked) == 0 {
		t.Fatalf("the test did not exercise anything: %d connections ended, %d creations acknowledged", kills, len(acked))
	}
	for i, st := range stores {
		if _, err := create(st, fmt.Sprintf("after the storm, node %d", i)); err != nil {
			// One more try: the first may find the connection dead.
			if _, err := create(st, fmt.Sprintf("after the storm, node %d again", i)); err != nil {
				t.Fatalf("node %d does not write again: %v", i, err)
			}
		}
	}
	for key := range acked {
		if _, err := stores[0].GetIncident(ctx, key, store.Scope{All: true}); err != nil {
			t.Fatalf("acknowledged incident %s: %v", key, err)
		}
	}
	for i, st := range stores {
		v := audit.NewVerifier()
		headID, headHash, err := st.ScanEvents(ctx, v.Next)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if err := v.Finish(headID, headHash); err != nil || v.Count() < int64(len(acked)) {
			t.Fatalf("node %d: chain of %d events for %d acknowledged incidents: %v", i, v.Count(), len(acked), err)
		}
	}
}

// fillForCopy writes a little of everything into st through the store's
// own API, every row tied to the others the way the app ties them.
func fillForCopy(tb testing.TB, st *store.Store) {
	tb.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		u := core.User{Name: "alice", DisplayName: "Alice", Role: core.RoleAdmin, CreatedAt: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
		if err := tx.CreateUser(ctx, &u, "hash"); err != nil {
			return err
		}
		for i, title := range []string{"ノートPCを紛失", "Ransomware on FS01", "情報漏えいの疑い"} {
			inc := &core.Incident{Title: title, Description: fmt.Sprintf("fixture %d", i), ReporterID: u.ID, Restricted: i == 2,
				AffectedSystems: []string{"FS01", fmt.Sprintf("web-%02d", i)}}
			if err := inc.Normalize(); err != nil {
				return err
			}
			key, err := tx.NextIncidentKey(ctx, 2026)
			if err != nil {
				return err
			}
			inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
			if err := tx.CreateIncident(ctx, inc); err != nil {
				return err
			}
			if err := tx.EnterPhase(ctx, inc.ID, inc.Phase, "alice", ""); err != nil {
				return err
			}
			if _, err := tx.AddMember(ctx, inc.ID, u.ID); err != nil {
				return err
			}
			if err := tx.CreateComment(ctx, &core.Comment{IncidentID: inc.ID, Phase: inc.Phase, Body: "見ています", CreatedAt: tx.Now()}, u.ID); err != nil {
				return err
			}
			ev := &core.Event{ActorID: u.ID, Actor: "alice", IncidentID: inc.ID, Type: core.EvIncidentCreated, Payload: []byte(`{"title":"` + title + `"}`)}
			if err := tx.AppendEvent(ctx, ev); err != nil {
				return err
			}
			e := &store.Evidence{IncidentID: inc.ID, SHA256: strings.Repeat("a", 64), SHA1: strings.Repeat("b", 40), MD5: strings.Repeat("c", 32),
				Size: 42, FileName: "memory.dmp", MediaType: "application/octet-stream", CollectedBy: "alice", CreatedByID: u.ID}
			if err := tx.CreateEvidence(ctx, e); err != nil {
				return err
			}
			if err := tx.AddCustody(ctx, e.ID, ev.ID, "alice"); err != nil {
				return err
			}
			if err := tx.EnqueueNotification(ctx, &store.Outbox{Notification: core.Notification{IdempotencyKey: key, IncidentID: inc.ID, IncidentKey: key,
				Recipient: "SOC", Channel: "webhook", Address: "https://example.com/hook", Language: "ja", Subject: title, MaxAttempts: 3}}); err != nil {
				return err
			}
			alertID, _, err := tx.IngestAlert(ctx, &ingest.Alert{Source: "native", SourceEventID: key, Severity: core.S2, Title: "alert for " + title,
				Host: "web-01", Fingerprint: "fp-" + key, Raw: []byte(`{"k":"` + key + `"}`),
				Observables: []ingest.Observable{{Type: "ip", Value: "203.0.113.7"}}}, time.Hour)
			if err != nil {
				return err
			}
			if err := tx.LinkAlertIncident(ctx, alertID, inc.ID, u.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("fill: %v", err)
	}
}

func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	dir := t.TempDir()
	lite, err := store.OpenSQLite(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fillForCopy(t, lite)
	all := store.Scope{All: true}
	before, _, err := lite.FindIncidents(ctx, store.IncidentFilter{Scope: all})
	if err != nil {
		t.Fatal(err)
	}
	if err := lite.Close(); err != nil {
		t.Fatal(err)
	}

	res, err := store.CopyToPostgres(ctx, filepath.Join(dir, store.DBFileName), dsn, time.Now())
	if err != nil {
		t.Fatalf("CopyToPostgres: %v", err)
	}
	if res.Events != 3 {
		t.Errorf("verified %d events, want 3", res.Events)
	}
	rows := map[string]int64{}
	for _, tb := range res.Tables {
		rows[tb.Name] = tb.Rows
	}
	for table, want := range map[string]int64{"users": 1, "incidents": 3, "incident_fts": 3, "events": 3, "evidence": 3, "evidence_custody": 3,
		"notifications": 3, "alerts": 3, "observables": 1, "incident_observables": 3, "incident_keys": 1, "comments": 3,
		"incident_systems": 6} {
		if rows[table] != want {
			t.Errorf("copied %d rows of %s, want %d", rows[table], table, want)
		}
	}

	pg := openPostgresAt(t, dsn, store.Options{})
	after, _, err := pg.FindIncidents(ctx, store.IncidentFilter{Scope: all})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		for i := range min(len(before), len(after)) {
			t.Logf("SQLite     %+v\nPostgreSQL %+v", *before[i], *after[i])
		}
		t.Fatalf("incidents differ after the copy (%d in SQLite, %d in PostgreSQL)", len(before), len(after))
	}
	if hits, _, err := pg.FindIncidents(ctx, store.IncidentFilter{Scope: all, Query: "紛失"}); err != nil || len(hits) != 1 {
		t.Fatalf("search after the copy: %d hits, %v", len(hits), err)
	}
	// Keys, ids and the chain continue where SQLite left them.
	var inc *core.Incident
	var u core.User
	err = pg.InTx(ctx, func(tx *store.Tx) error {
		u = core.User{Name: "bob", Role: core.RoleAnalyst, CreatedAt: tx.Now()}
		if err := tx.CreateUser(ctx, &u, "h"); err != nil {
			return err
		}
		inc = &core.Incident{Title: "after the move"}
		if err := inc.Normalize(); err != nil {
			return err
		}
		key, err := tx.NextIncidentKey(ctx, 2026)
		if err != nil {
			return err
		}
		inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
		if err := tx.CreateIncident(ctx, inc); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &core.Event{Actor: "bob", IncidentID: inc.ID, Type: core.EvIncidentCreated})
	})
	if err != nil {
		t.Fatalf("write after the copy: %v", err)
	}
	if inc.Key != "INC-2026-0004" || inc.ID != 4 || u.ID != 2 {
		t.Fatalf("after the copy: key %s, incident id %d, user id %d; want INC-2026-0004, 4, 2", inc.Key, inc.ID, u.ID)
	}
	v := audit.NewVerifier()
	headID, headHash, err := pg.ScanEvents(ctx, v.Next)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Finish(headID, headHash); err != nil || v.Count() != 4 {
		t.Fatalf("chain after the copy and one more event: %d events, %v", v.Count(), err)
	}

	// A second copy into the same database is refused and changes nothing.
	if _, err := store.CopyToPostgres(ctx, filepath.Join(dir, store.DBFileName), dsn, time.Now()); !errors.Is(err, store.ErrTargetNotEmpty) {
		t.Fatalf("copy into a filled database: %v, want ErrTargetNotEmpty", err)
	}
	if n, _, err := pg.FindIncidents(ctx, store.IncidentFilter{Scope: all}); err != nil || len(n) != 4 {
		t.Fatalf("after the refused copy: %d incidents, %v", len(n), err)
	}
}

// TestIncidentSystemsSameOnBothBackends: the triggers that keep
// incident_systems from the JSON column give the same rows on both.
func TestIncidentSystemsSameOnBothBackends(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	dir := t.TempDir()
	lite, pg := openAt(t, dir), openPostgresAt(t, dsn, store.Options{})
	systems := func(db *sql.DB, q string) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(id, ":", name))
		}
		return out
	}
	pgDB, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pgDB.Close()
	for _, st := range []*store.Store{lite, pg} {
		var inc *core.Incident
		for _, sys := range [][]string{{" FS01 ", "fs01", "", "Web-01", "ＤＢ"}, nil, {"mail"}} {
			err := st.InTx(ctx, func(tx *store.Tx) error {
				inc = &core.Incident{Title: "systems"}
				if err := inc.Normalize(); err != nil {
					return err
				}
				// Stored as given, past Normalize: the triggers must cope.
				inc.AffectedSystems = sys
				key, err := tx.NextIncidentKey(ctx, 2026)
				if err != nil {
					return err
				}
				inc.Key, inc.CreatedAt, inc.UpdatedAt, inc.Timestamps.ReportedAt = key, tx.Now(), tx.Now(), tx.Now()
				return tx.CreateIncident(ctx, inc)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// An update that changes the list replaces its rows.
		err := st.InTx(ctx, func(tx *store.Tx) error {
			inc.AffectedSystems = []string{"MAIL", "dns"}
			return tx.UpdateIncident(ctx, inc)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	q := `SELECT incident_id, name FROM incident_systems ORDER BY incident_id, name`
	a, b := systems(rawDB(t, dir), q), systems(pgDB, q)
	if !slices.Equal(a, b) || len(a) == 0 {
		t.Fatalf("incident_systems:\nsqlite   %q\npostgres %q", a, b)
	}
	t.Logf("%q", a)
}

// TestPostgresSchemaMatchesSQLite: after every migration both databases
// have the same tables with the same columns (PostgreSQL's generated
// tsvector columns aside), so the one set of SQL fits both; a migration
// ported by hand that misses a column fails here, not in production.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	dir := t.TempDir()
	openAt(t, dir)
	openPostgresAt(t, dsn, store.Options{})
	lite := rawDB(t, dir)
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	cols := func(db *sql.DB, q string) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+"."+col)
		}
		slices.Sort(out)
		return out
	}
	// FTS5 shadow tables (incident_fts_data...) are SQLite's own; the
	// virtual tables themselves show their columns, rowid aside.
	a := cols(lite, `SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
		AND m.name NOT GLOB '*_fts_data' AND m.name NOT GLOB '*_fts_idx' AND m.name NOT GLOB '*_fts_content'
		AND m.name NOT GLOB '*_fts_docsize' AND m.name NOT GLOB '*_fts_config'`)
	b := cols(pg, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_generated = 'NEVER' AND NOT (table_name LIKE '%\_fts' AND column_name = 'rowid')`)
	if !slices.Equal(a, b) {
		var onlyA, onlyB []string
		for _, c := range a {
			if !slices.Contains(b, c) {
				onlyA = append(onlyA, c)
			}
		}
		for _, c := range b {
			if !slices.Contains(a, c) {
				onlyB = append(onlyB, c)
			}
		}
		t.Fatalf("schemas differ:\nonly in SQLite:     %q\nonly in PostgreSQL: %q", onlyA, onlyB)
	}
	if len(a) < 100 {
		t.Fatalf("only %d columns compared: the query missed the tables", len(a))
	}
}

// TestPostgresNodesClaimEachNotificationOnce: workers on three nodes
// drain one outbox together; every message is claimed by exactly one.
func TestPostgresNodesClaimEachNotificationOnce(t *testing.T) {
	ctx := context.Background()
	dsn := pgSchema(t)
	stores := []*store.Store{openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{}), openPostgresAt(t, dsn, store.Options{})}
	const total = 150
	err := stores[0].InTx(ctx, func(tx *store.Tx) error {
		for i := range total {
			if err := tx.EnqueueNotification(ctx, &store.Outbox{Notification: core.Notification{IdempotencyKey: fmt.Sprint("k", i),
				Recipient: "SOC", Channel: "webhook", Address: "https://example.com/hook", Language: "ja", Subject: "s", MaxAttempts: 3}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for w := range 12 {
		st := stores[w%len(stores)]
		wg.Go(func() {
			for {
				var got []*store.Outbox
				err := st.InTx(ctx, func(tx *store.Tx) error {
					var err error
					got, err = tx.ClaimNotifications(ctx, 4, time.Hour)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, o := range got {
					seen[o.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %d claimed %d times", id, n)
		}
	}
}
