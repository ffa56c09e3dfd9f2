package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// pgTestDB creates an empty schema in the IRDESK_TEST_POSTGRES database
// for one test, drops it afterwards and returns a --db URL that works in
// it. Without the variable the test skips, except in CI, where it fails.
func pgTestDB(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("IRDESK_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("IRDESK_TEST_POSTGRES is not set, but CI=true: CI must test the PostgreSQL backend (see .ci/run)")
		}
		tb.Skip("PostgreSQL tests skipped: set IRDESK_TEST_POSTGRES=postgres://user:pass@127.0.0.1:5432/db?sslmode=disable to run them")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("IRDESK_TEST_POSTGRES must be a postgres:// URL here")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "irdesk_e2e_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func mustCLI(tb testing.TB, args ...string) string {
	tb.Helper()
	out, errOut, code := cli(tb, "", args...)
	if code != 0 {
		tb.Fatalf("irdesk %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// createIncidentAPI files an incident through the API and returns its
// key; it may run outside the test's goroutine, so it returns errors.
func createIncidentAPI(base, token, title string) (string, error) {
	req, _ := http.NewRequest("POST", base+"/api/v1/incidents", strings.NewReader(fmt.Sprintf(`{"title":%q,"category":"malware"}`, title)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("create %q: %d %s", title, resp.StatusCode, body)
	}
	var inc struct{ Key string }
	if err := json.Unmarshal(body, &inc); err != nil {
		return "", err
	}
	return inc.Key, nil
}

func mustCreateIncident(tb testing.TB, base, token, title string) string {
	tb.Helper()
	k, err := createIncidentAPI(base, token, title)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// TestCopyThenTwoNodesOnPostgres: a single-node install moves to
// PostgreSQL with irdesk copy; two `irdesk serve --db` nodes then take
// writes at once; keys stay unique, each node finds what the other wrote,
// and `irdesk audit verify --db` passes on the one chain.
func TestCopyThenTwoNodesOnPostgres(t *testing.T) {
	db := pgTestDB(t)
	data := t.TempDir()
	s := startServer(t, data)
	tok := newToken(t, data, "admin")
	mustCreateIncident(t, s.base, tok, "ノートPCを紛失")
	mustCreateIncident(t, s.base, tok, "Ransomware on FS01")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, s.log())
	}
	before := lastLine(mustCLI(t, "audit", "verify", "--data", data))

	out := mustCLI(t, "copy", "--from", data, "--to", db)
	if !strings.Contains(out, "audit chain ok") || !strings.Contains(out, "incidents  ") {
		t.Fatalf("copy output:\n%s", out)
	}
	if after := lastLine(mustCLI(t, "audit", "verify", "--db", db)); after != before {
		t.Fatalf("audit verify after the copy: %q, before %q", after, before)
	}
	if _, errOut, code := cli(t, "", "copy", "--from", data, "--to", db); code == 0 || !strings.Contains(errOut, "already holds irdesk data") {
		t.Fatalf("a second copy: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, "", "serve", "--db", "mysql://x", "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(errOut, "--db") {
		t.Fatalf("serve --db mysql://: exit %d, %q", code, errOut)
	}

	a := startServer(t, t.TempDir(), "--db", db)
	b := startServer(t, t.TempDir(), "--db", db)
	tok = lastLine(mustCLI(t, "token", "create", "--db", db, "--user", "admin"))
	const perNode = 15
	var mu sync.Mutex
	keys := []string{"INC-" + yearJST() + "-0001", "INC-" + yearJST() + "-0002"}
	var wg sync.WaitGroup
	errs := make(chan error, 2*perNode)
	for n, node := range []*server{a, b} {
		for i := range perNode {
			wg.Go(func() {
				k, err := createIncidentAPI(node.base, tok, fmt.Sprintf("node %d 侵害 %d", n, i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				keys = append(keys, k)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if len(slices.Compact(slices.Clone(keys))) != len(keys) || keys[len(keys)-1] != fmt.Sprintf("INC-%s-%04d", yearJST(), 2+2*perNode) {
		t.Fatalf("keys from two nodes: %v", keys)
	}
	// What node A wrote, node B finds (and the other way round).
	for _, q := range []string{"紛失", "node%200", "node%201"} {
		for _, node := range []*server{a, b} {
			code, body := apiCall(t, node.base, tok, "GET", "/api/v1/incidents?q="+q, "")
			if code != 200 || !strings.Contains(string(body), `"key":"INC-`) {
				t.Fatalf("search %s on %s: %d %s", q, node.base, code, body)
			}
		}
	}
	if got := lastLine(mustCLI(t, "audit", "verify", "--db", db)); !strings.HasPrefix(got, "ok ") {
		t.Fatalf("audit verify: %q", got)
	}
}
