package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupWhileWritingRestoresVerified: a backup taken while 8 clients
// create incidents and send alerts to a running server restores into a
// directory whose audit chain and evidence verify, and which holds every
// write acknowledged before the backup started.
func TestBackupWhileWritingRestoresVerified(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	tok := newToken(t, data, "admin")
	if status, body := apiCall(t, s.base, tok, "POST", "/api/v1/incidents", `{"title":"バックアップ対象","category":"malware"}`); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	key := "INC-" + yearJST() + "-0001"
	for _, name := range []string{"memory.dmp", "proxy.log"} {
		if status, body := uploadEvidence(t, s.base, tok, key, name, []byte("contents of "+name)); status != 201 {
			t.Fatalf("upload %s: %d %v", name, status, body)
		}
	}

	var mu sync.Mutex
	var incidents, alerts []string // acknowledged, in the order answered
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path, body string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		return client.Do(req)
	}
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if c%2 == 0 {
					resp, err := post("/api/v1/incidents", fmt.Sprintf(`{"title":"backup load %d-%d","category":"phishing"}`, c, i))
					if err != nil {
						t.Errorf("create: %v", err)
						return
					}
					var inc struct{ Key string }
					_ = json.NewDecoder(resp.Body).Decode(&inc)
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						mu.Lock()
						incidents = append(incidents, inc.Key)
						mu.Unlock()
					}
					continue
				}
				id := fmt.Sprintf("bk-%d-%d", c, i)
				resp, err := post("/api/v1/alerts", fmt.Sprintf(`{"title":"Suspicious logon","severity":"S3","host":"h-%d-%d","source_event_id":"%s"}`, c, i, id))
				if err != nil {
					t.Errorf("ingest: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					alerts = append(alerts, id)
					mu.Unlock()
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	waitFor := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := len(incidents) + len(alerts)
			mu.Unlock()
			if got >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("fewer than %d writes acknowledged in 20 s", n)
	}
	waitFor(1000)
	// Everything answered by now was acknowledged before the backup began.
	mu.Lock()
	ackedIncidents, ackedAlerts := append([]string(nil), incidents...), append([]string(nil), alerts...)
	mu.Unlock()
	archive := filepath.Join(t.TempDir(), "irdesk-backup.tar.gz")
	out, errOut, code := cli(t, "", "backup", "--data", data, "--out", archive)
	mu.Lock()
	during := len(incidents) + len(alerts) - len(ackedIncidents) - len(ackedAlerts)
	mu.Unlock()
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: exit %d, %s %s", code, out, errOut)
	}
	t.Logf("backup: %s(%d writes acknowledged while it ran)", out, during)
	if !strings.Contains(out, "2 evidence files") {
		t.Errorf("the backup does not report the 2 evidence files: %q", out)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	out, errOut, code = cli(t, "", "restore", "--from", archive, "--data", restored)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"all hashes match the manifest", "\nok ", "ok 2 evidence items, 2 files", "restore ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(restored, "irdesk.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	have := func(q string) map[string]bool {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]bool{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			m[s] = true
		}
		return m
	}
	keys := have(`SELECT key FROM incidents`)
	ids := have(`SELECT source_event_id FROM alerts`)
	for _, k := range append(ackedIncidents, key) {
		if !keys[k] {
			t.Fatalf("incident %s, acknowledged before the backup, is not in the restore", k)
		}
	}
	for _, id := range ackedAlerts {
		if !ids[id] {
			t.Fatalf("alert %s, acknowledged before the backup, is not in the restore", id)
		}
	}
	if len(ackedIncidents) == 0 || len(ackedAlerts) == 0 {
		t.Fatalf("%d incidents and %d alerts acknowledged: the test proves little", len(ackedIncidents), len(ackedAlerts))
	}
	t.Logf("%d incidents and %d alerts acknowledged before the backup, all restored", len(ackedIncidents), len(ackedAlerts))

	// The restored directory serves: the same token still works.
	s2 := startServer(t, restored)
	if status, body := apiCall(t, s2.base, tok, "GET", "/api/v1/incidents/"+key, ""); status != 200 || !strings.Contains(string(body), "バックアップ対象") {
		t.Fatalf("restored server: %d %s", status, body)
	}
}

// TestRestoreRefusesDamageAndNonEmptyTargets: a byte flipped in the
// archive fails the restore with exit 1 naming the file and leaves no
// half-restored directory; a target that holds anything is refused.
func TestRestoreRefusesDamageAndNonEmptyTargets(t *testing.T) {
	data := t.TempDir()
	m := startMain(t, data)
	tok := mustToken(t, m)
	base := "http://" + m.Addr()
	apiCall(t, base, tok, "POST", "/api/v1/incidents", `{"title":"damaged archive"}`)
	key := "INC-" + yearJST() + "-0001"
	if status, body := uploadEvidence(t, base, tok, key, "a.txt", []byte("evidence a")); status != 201 {
		t.Fatalf("upload: %d %v", status, body)
	}
	archive := filepath.Join(t.TempDir(), "b.tar")
	if out, errOut, code := cli(t, "", "backup", "--data", data, "--out", archive); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := cli(t, "", "backup", "--data", data, "--out", archive); code == 0 || !strings.Contains(errOut, "exists already") {
		t.Errorf("backup over an existing file: exit %d %s", code, errOut)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}

	// The database is the first entry: its content starts after one
	// 512-byte tar header.
	damaged := filepath.Join(t.TempDir(), "damaged.tar")
	bad := append([]byte(nil), raw...)
	bad[512+5000] ^= 0x40
	if err := os.WriteFile(damaged, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "new")
	out, errOut, code := cli(t, "", "restore", "--from", damaged, "--data", target)
	if code != 1 || !strings.Contains(errOut, "irdesk.db") || !strings.Contains(errOut, "corrupted") {
		t.Fatalf("damaged database: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a failed restore left %s behind: %v", target, err)
	}

	// Damage in the evidence file (the second entry's content).
	var dbSize int64
	fmt.Sscanf(strings.TrimRight(string(raw[124:136]), "\x00 "), "%o", &dbSize)
	evOffset := 512 + (dbSize+511)/512*512 + 512
	bad = append([]byte(nil), raw...)
	bad[evOffset] ^= 0x01
	if err := os.WriteFile(damaged, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, "", "restore", "--from", damaged, "--data", target)
	if code != 1 || !strings.Contains(errOut, "evidence/sha256/") {
		t.Fatalf("damaged evidence: exit %d, %q %q", code, out, errOut)
	}

	// Cut short: the manifest at the end is missing.
	if err := os.WriteFile(damaged, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := cli(t, "", "restore", "--from", damaged, "--data", target); code != 1 {
		t.Fatalf("truncated archive: exit %d %q", code, errOut)
	}

	// A target that holds anything is refused, and left alone.
	full := t.TempDir()
	keep := filepath.Join(full, "keep.txt")
	os.WriteFile(keep, []byte("mine"), 0o600)
	if _, errOut, code := cli(t, "", "restore", "--from", archive, "--data", full); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("non-empty target: exit %d %q", code, errOut)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("the refused target was changed: %q %v", b, err)
	}

	// The intact archive restores into an existing empty directory.
	empty := t.TempDir()
	if out, errOut, code := cli(t, "", "restore", "--from", archive, "--data", empty); code != 0 || !strings.Contains(out, "ok 1 evidence items") {
		t.Fatalf("intact archive: exit %d %q %q", code, out, errOut)
	}
}
