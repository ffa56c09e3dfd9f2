package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/irdesk/irdesk/internal/app"
)

// binary is irdesk built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "irdesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "irdesk")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build irdesk:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs an irdesk command and returns stdout, stderr and the exit code.
func cli(tb testing.TB, stdin string, args ...string) (string, string, int) {
	tb.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// server is an `irdesk serve` child process.
type server struct {
	cmd    *exec.Cmd
	base   string
	stderr *bytes.Buffer
	mu     sync.Mutex
}

func startServer(tb testing.TB, data string, extra ...string) *server {
	tb.Helper()
	addr, err := freeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{base: "http://" + addr, stderr: &bytes.Buffer{}}
	s.cmd = exec.Command(binary, append([]string{"serve", "--data", data, "--listen", addr, "--log-format", "text"}, extra...)...)
	s.cmd.Stderr = &lockedWriter{w: s.stderr, mu: &s.mu}
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	if err := waitReady(context.Background(), http.DefaultClient, s.base); err != nil {
		tb.Fatalf("%v\nserver stderr:\n%s", err, s.log())
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func newToken(tb testing.TB, data, user string) string {
	tb.Helper()
	out, errOut, code := cli(tb, "", "token", "create", "--data", data, "--user", user)
	if code != 0 {
		tb.Fatalf("token create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, "irdt_") || strings.Contains(tok, " ") {
		tb.Fatalf("the last line is not the token alone: %q", out)
	}
	return tok
}

func apiCall(tb testing.TB, base, token, method, path, body string) (int, []byte) {
	tb.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// TestFirstStartRestartAndGracefulStop: the first start prints an admin
// password once; data survives a restart; SIGTERM stops cleanly.
func TestFirstStartRestartAndGracefulStop(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	if !strings.Contains(s.log(), "user:     admin") || !strings.Contains(s.log(), "password: ") {
		t.Fatalf("first start did not print the admin password:\n%s", s.log())
	}
	tok := newToken(t, data, "admin")
	status, body := apiCall(t, s.base, tok, "POST", "/api/v1/incidents", `{"title":"再起動テスト","category":"dos","severity":"S2"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	if status, body := apiCall(t, s.base, tok, "POST", "/api/v1/incidents/INC-"+yearJST()+"-0001/comments", `{"body":"メモ"}`); status != 201 {
		t.Fatalf("comment: %d %s", status, body)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, s.log())
	}
	if !strings.Contains(s.log(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", s.log())
	}
	s2 := startServer(t, data)
	if strings.Contains(s2.log(), "password: ") {
		t.Errorf("second start printed a password again")
	}
	status, body = apiCall(t, s2.base, tok, "GET", "/api/v1/incidents/INC-"+yearJST()+"-0001", "")
	if status != 200 || !strings.Contains(string(body), "再起動テスト") {
		t.Fatalf("after restart: %d %s", status, body)
	}
	status, body = apiCall(t, s2.base, tok, "GET", "/api/v1/incidents/INC-"+yearJST()+"-0001/comments", "")
	if status != 200 || !strings.Contains(string(body), "メモ") {
		t.Fatalf("comment after restart: %d %s", status, body)
	}
	if out, _, code := cli(t, "", "audit", "verify", "--data", data); code != 0 || !strings.HasPrefix(out, "ok ") {
		t.Fatalf("audit verify after restart: %d %q", code, out)
	}
}

func yearJST() string { return fmt.Sprint(time.Now().In(time.FixedZone("JST", 9*3600)).Year()) }

// TestKillDuringCreatesLosesNothingAcknowledged: a server killed with
// SIGKILL in the middle of concurrent creates still has, after a restart,
// every incident whose create was answered 201, and an intact chain.
func TestKillDuringCreatesLosesNothingAcknowledged(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	tok := newToken(t, data, "admin")
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", s.base+"/api/v1/incidents",
					strings.NewReader(fmt.Sprintf(`{"title":"kill test %d-%d","category":"malware"}`, c, i)))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var inc struct{ Key string }
				_ = json.NewDecoder(resp.Body).Decode(&inc)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked = append(acked, inc.Key)
					mu.Unlock()
				}
			}
		}(c)
	}
	// Let the load build up, then kill without warning.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d creates answered before the kill; the test proves little", len(acked))
	}
	s2 := startServer(t, data)
	for _, key := range acked {
		if status, body := apiCall(t, s2.base, tok, "GET", "/api/v1/incidents/"+key, ""); status != 200 {
			t.Fatalf("acknowledged %s lost after SIGKILL: %d %s", key, status, body)
		}
	}
	if out, errOut, code := cli(t, "", "audit", "verify", "--data", data); code != 0 {
		t.Fatalf("audit chain after SIGKILL: %d %s %s", code, out, errOut)
	}
	t.Logf("%d acknowledged creates all present after SIGKILL and restart", len(acked))
}

// TestAuditVerifyCatchesTampering alters, deletes and inserts event rows
// directly in the database file, as an attacker with file access would.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	tests := []struct {
		name    string
		sql     []string
		wantMsg string
	}{
		{"intact", nil, ""},
		{"altered", []string{`UPDATE events SET payload = '{"body":"nothing happened"}' WHERE id = 4`}, "event 4"},
		{"altered actor", []string{`UPDATE events SET actor = 'mallory' WHERE id = 3`}, "event 3"},
		{"deleted", []string{`DELETE FROM events WHERE id = 3`}, "event 4"},
		{"deleted newest", []string{`DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)`}, "head"},
		{"inserted", []string{
			`UPDATE events SET id = id + 1000 WHERE id >= 4`,
			`UPDATE events SET id = id - 999 WHERE id >= 1004`,
			`INSERT INTO events (id, time, actor, type, payload, prev_hash, hash) SELECT 4, time, 'mallory', 'incident.comment_added', '{}', hash, hash FROM events WHERE id = 3`,
		}, "event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			m := startMain(t, data)
			tok := mustToken(t, m)
			base := "http://" + m.Addr()
			apiCall(t, base, tok, "POST", "/api/v1/incidents", `{"title":"tamper target"}`)
			key := "INC-" + yearJST() + "-0001"
			apiCall(t, base, tok, "POST", "/api/v1/incidents/"+key+"/comments", `{"body":"first"}`)
			apiCall(t, base, tok, "POST", "/api/v1/incidents/"+key+"/comments", `{"body":"second"}`)
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if len(tt.sql) > 0 {
				db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "irdesk.db"))
				if err != nil {
					t.Fatal(err)
				}
				// The triggers stop accidents, not an attacker with the file.
				mustExec(t, db, `DROP TRIGGER events_append_only_update`)
				mustExec(t, db, `DROP TRIGGER events_append_only_delete`)
				for _, q := range tt.sql {
					mustExec(t, db, q)
				}
				db.Close()
			}
			out, errOut, code := cli(t, "", "audit", "verify", "--data", data)
			if tt.wantMsg == "" {
				if code != 0 || !regexpOK(out) {
					t.Fatalf("intact chain: exit %d, %q %q", code, out, errOut)
				}
				return
			}
			if code != 1 || !strings.Contains(errOut, "broken") || !strings.Contains(errOut, tt.wantMsg) {
				t.Fatalf("exit %d, stderr %q; want exit 1 naming %q", code, errOut, tt.wantMsg)
			}
		})
	}
}

func regexpOK(out string) bool {
	var n int
	_, err := fmt.Sscanf(out, "ok %d events", &n)
	return err == nil && n > 0
}

func mustExec(tb testing.TB, db *sql.DB, q string) {
	tb.Helper()
	if _, err := db.Exec(q); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

// TestAppendOnlyTriggers: the events table refuses updates and deletes.
func TestAppendOnlyTriggers(t *testing.T) {
	data := t.TempDir()
	m := startMain(t, data)
	mustToken(t, m)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "irdesk.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`UPDATE events SET actor = 'x'`, `DELETE FROM events`} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
}

func TestCLI(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"user", "--help"}, {"user", "add", "--help"},
		{"user", "list", "--help"}, {"user", "disable", "--help"}, {"token", "--help"}, {"token", "create", "--help"},
		{"token", "revoke", "--help"}, {"token", "list", "--help"}, {"audit", "--help"}, {"audit", "verify", "--help"},
		{"config", "--help"}, {"bench", "--help"}, {"playbook", "--help"}, {"ingest", "--help"}, {"bench", "ingest", "--help"},
	} {
		out, errOut, code := cli(t, "", args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("irdesk %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
	goodPB, badPB := t.TempDir(), t.TempDir()
	custom := "id: ransomware\ncategory: ransomware\ntitle: {ja: 当社版ランサムウェア対応, en: Our ransomware response}\nsummary: {ja: 要約, en: Summary}\n" +
		"tasks:\n  - id: call-insurer\n    phase: triage\n    role: management\n    title: {ja: 保険会社へ連絡, en: Call the insurer}\n    guidance: {ja: 契約番号を伝える, en: Give the policy number}\n"
	if err := os.WriteFile(filepath.Join(goodPB, "ransomware.yaml"), []byte(custom), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badPB, "x.yaml"), []byte(strings.Replace(custom, "phase: triage", "phase: lunch", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		stdin    string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout string
	}{
		{"", []string{"migrate", "--data", data}, 0, "applied 0001_core.sql", "", ""},
		{"", []string{"migrate", "--data", data}, 0, "up to date", "", ""},
		{"", []string{"user", "add", "alice", "--role", "lead", "--data", data}, 0, "password: ", "", ""},
		{"a long enough password\n", []string{"user", "add", "--name", "bob", "--role", "analyst", "--password-stdin", "--data", data}, 0, "created user bob", "", "password"},
		{"short\n", []string{"user", "add", "carol", "--password-stdin", "--data", data}, 1, "", "password", ""},
		{"", []string{"user", "add", "alice", "--data", data}, 1, "", "already exists", ""},
		{"", []string{"user", "add", "dave", "--role", "king", "--data", data}, 1, "", "unknown role", ""},
		{"", []string{"user", "add", "--data", data}, 2, "", "user name", ""},
		{"", []string{"user", "list", "--data", data}, 0, "alice", "", ""},
		{"", []string{"user", "reset-password", "alice", "--data", data}, 0, "password: ", "", ""},
		{"another long password\n", []string{"user", "reset-password", "bob", "--password-stdin", "--data", data}, 0, "password of bob reset", "", "password:"},
		{"short\n", []string{"user", "reset-password", "bob", "--password-stdin", "--data", data}, 1, "", "password", ""},
		{"", []string{"user", "reset-password", "nobody", "--data", data}, 1, "", "not found", ""},
		{"", []string{"user", "reset-totp", "alice", "--data", data}, 1, "", "no two-step sign-in", ""},
		{"", []string{"user", "disable", "bob", "--data", data}, 0, "disabled", "", ""},
		{"", []string{"user", "disable", "nobody", "--data", data}, 1, "", "not found", ""},
		{"", []string{"token", "create", "--data", data}, 2, "", "--user", ""},
		{"", []string{"token", "create", "--user", "bob", "--data", data}, 1, "", "disabled", ""},
		{"", []string{"token", "create", "--user", "alice", "--data", data}, 0, "irdt_", "", ""},
		{"", []string{"token", "list", "--data", data}, 0, "alice", "", "irdt_"},
		{"", []string{"token", "revoke", "1", "--data", data}, 0, "revoked token 1", "", ""},
		{"", []string{"token", "revoke", "1", "--data", data}, 1, "", "not found", ""},
		{"", []string{"token", "revoke", "x", "--data", data}, 2, "", "not a token id", ""},
		{"", []string{"audit", "verify", "--data", data}, 0, "ok ", "", ""},
		{"", []string{"audit", "verify", "--data", filepath.Join(data, "missing")}, 1, "", "missing", ""},
		{"", []string{"nonsense"}, 2, "", "unknown command", ""},
		{"", []string{"serve", "--listen"}, 2, "", "flag needs an argument", ""},
		{"", []string{"serve", "--data", data, "--log-level", "loud"}, 2, "", "log-level", ""},
		{"", []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--nis2-entity", "bogus"}, 1, "", "nis2-entity", ""},
		{"", []string{"version"}, 0, "irdesk ", "", ""},
		{"", []string{"playbook", "check", goodPB}, 0, "ok ", "", ""},
		{"", []string{"playbook", "check", badPB}, 1, "", `x.yaml:7: tasks[0].phase: unknown phase "lunch"`, ""},
		{"", []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--playbooks", badPB}, 1, "", "x.yaml:7", ""},
		{"", []string{"config"}, 0, "listen          127.0.0.1:8080", "", ""},
	}
	t.Setenv("IRDESK_SESSION_TTL", "forever")
	if _, errOut, code := cli(t, "", "config"); code != 2 || !strings.Contains(errOut, "IRDESK_SESSION_TTL") {
		t.Errorf("a bad IRDESK_SESSION_TTL: exit %d, %q", code, errOut)
	}
	os.Unsetenv("IRDESK_SESSION_TTL")
	for _, st := range steps {
		out, errOut, code := cli(t, st.stdin, st.args...)
		name := strings.Join(st.args, " ")
		if code != st.code {
			t.Errorf("irdesk %s: exit %d, want %d (stdout %q, stderr %q)", name, code, st.code, out, errOut)
			continue
		}
		if !strings.Contains(out, st.stdout) || !strings.Contains(errOut, st.stderr) {
			t.Errorf("irdesk %s: stdout %q (want %q), stderr %q (want %q)", name, out, st.stdout, errOut, st.stderr)
		}
		if st.noStdout != "" && strings.Contains(out, st.noStdout) {
			t.Errorf("irdesk %s: stdout must not contain %q: %q", name, st.noStdout, out)
		}
	}
}

func mustToken(tb testing.TB, m *Main) string {
	tb.Helper()
	_, tok, err := m.App.CreateToken(context.Background(), app.SystemActor, "admin", "test", 0)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// TestIngestCommand sends real-shaped tool output through `irdesk ingest`
// to a running server, twice: the second time everything is a duplicate.
func TestIngestCommand(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	tok := newToken(t, data, "admin")
	for _, tc := range []struct {
		format, file string
	}{
		{"suricata", "../../internal/ingest/testdata/suricata_eve.ndjson"},
		{"cef", "../../internal/ingest/testdata/cef_events.log"},
		{"wazuh", "../../internal/ingest/testdata/wazuh_ssh_bruteforce.json"},
	} {
		out, errOut, code := cli(t, "", "ingest", "--server", s.base, "--token", tok, "--format", tc.format, tc.file)
		if code != 0 || !strings.Contains(out, "alerts stored") || strings.Contains(out, " 0 new") {
			t.Fatalf("%s: exit %d, %q %q", tc.format, code, out, errOut)
		}
		out, _, code = cli(t, "", "ingest", "--server", s.base, "--token", tok, "--format", tc.format, tc.file)
		if code != 0 || !strings.Contains(out, " 0 new") {
			t.Fatalf("%s again: exit %d, %q", tc.format, code, out)
		}
	}
	if _, errOut, code := cli(t, "{not json", "ingest", "--server", s.base, "--token", tok, "-"); code != 1 || !strings.Contains(errOut, "refused") {
		t.Errorf("malformed input: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, "", "ingest", "--server", s.base, "-"); code != 2 || !strings.Contains(errOut, "--token") {
		t.Errorf("no token: exit %d, %q", code, errOut)
	}
	if out, errOut, code := cli(t, "", "audit", "verify", "--data", data); code != 0 {
		t.Fatalf("audit after ingest: %d %s %s", code, out, errOut)
	}
}

// TestKillDuringIngest: SIGKILL while 8 clients send alerts, five times
// over. After each restart every alert that got a 202 is there, counted
// at least as often as it was acknowledged and at most once more per
// request that was in flight, and the audit chain verifies.
func TestKillDuringIngest(t *testing.T) {
	data := t.TempDir()
	var tok string
	acked := map[int64]int{} // alert id -> acknowledged occurrences, over all rounds
	for round := range 5 {
		s := startServer(t, data)
		if tok == "" {
			tok = newToken(t, data, "admin")
		}
		var mu sync.Mutex
		sent := 0
		stop := make(chan struct{})
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 5 * time.Second}
		const clients = 8
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// Eight fingerprints shared by all clients, so most
					// alerts are duplicates whose counts must add up.
					body := fmt.Sprintf(`{"title":"brute force %d","rule_id":"r%d","host":"h%d","source_event_id":"%d-%d-%d"}`, i%8, i%8, i%8, round, c, i)
					req, _ := http.NewRequest("POST", s.base+"/api/v1/alerts", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := client.Do(req)
					if err != nil {
						return
					}
					var out struct{ Items []struct{ ID int64 } }
					_ = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode == http.StatusAccepted && len(out.Items) == 1 {
						mu.Lock()
						acked[out.Items[0].ID]++
						sent++
						mu.Unlock()
					}
				}
			}()
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			n := sent
			mu.Unlock()
			if n >= 200 {
				break
			}
		}
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = s.cmd.Wait()
		close(stop)
		wg.Wait()
		if sent < 20 {
			t.Fatalf("round %d: only %d alerts acknowledged before the kill", round, sent)
		}
		s2 := startServer(t, data)
		extra := 0
		for id, n := range acked {
			status, body := apiCall(t, s2.base, tok, "GET", fmt.Sprint("/api/v1/alerts/", id), "")
			if status != 200 {
				t.Fatalf("round %d: acknowledged alert %d lost: %d %s", round, id, status, body)
			}
			var al struct{ Count int }
			_ = json.Unmarshal(body, &al)
			if al.Count < n {
				t.Fatalf("round %d: alert %d counts %d, but %d occurrences were acknowledged", round, id, al.Count, n)
			}
			extra += al.Count - n
		}
		// Requests in flight at the kill may have committed unanswered.
		if extra > clients*(round+1) {
			t.Fatalf("round %d: %d occurrences more than acknowledged; at most %d were in flight", round, extra, clients*(round+1))
		}
		if err := s2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = s2.cmd.Wait()
		if out, errOut, code := cli(t, "", "audit", "verify", "--data", data); code != 0 {
			t.Fatalf("round %d: audit chain: %d %s %s", round, code, out, errOut)
		}
	}
}

// TestBenchIngestRuns checks the load tool works end to end (it measures
// nothing here: figures come from running it by hand).
func TestBenchIngestRuns(t *testing.T) {
	out, errOut, code := cli(t, "", "bench", "ingest", "--clients", "2", "--batch", "5", "--dups", "0.5", "--duration", "300ms")
	if code != 0 || !strings.Contains(out, "alerts/s durable") || !strings.Contains(out, " 0 refused") {
		t.Fatalf("exit %d: %q %q", code, out, errOut)
	}
	if _, errOut, code := cli(t, "", "bench", "ingest", "--batch", "0"); code != 2 || !strings.Contains(errOut, "--batch") {
		t.Errorf("bad flag: exit %d %q", code, errOut)
	}
}
