package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sseChange is one "change" message of an event stream.
type sseChange struct {
	ID       int64  `json:"id"`
	Type     string `json:"type"`
	Incident string `json:"incident"`
}

// watchEvents opens the list event stream of a node and sends each change
// to the returned channel until the test ends.
func watchEvents(tb testing.TB, base, token string) <-chan sseChange {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		tb.Fatalf("event stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseChange, 1000)
	tb.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = line[7:]
			case strings.HasPrefix(line, "data: ") && event == "change":
				var c sseChange
				if json.Unmarshal([]byte(line[6:]), &c) == nil {
					select {
					case out <- c:
					default:
					}
				}
			case line == "":
				event = ""
			}
		}
	}()
	return out
}

// waitChange waits for a change of the incident on the stream.
func waitChange(tb testing.TB, ch <-chan sseChange, key, typ string) {
	tb.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case c := <-ch:
			if c.Incident == key && c.Type == typ {
				return
			}
		case <-deadline:
			tb.Fatalf("no %s of %s on the event stream", typ, key)
		}
	}
}

func readyStatus(base string) int {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestThreeNodesOnPostgres: three `irdesk serve --db` processes on one
// PostgreSQL database. Concurrent writers on each get unique keys and one
// audit chain; an escalation webhook goes out once across the three
// nodes' workers; an event-stream client on node C sees a change made on
// node A.
func TestThreeNodesOnPostgres(t *testing.T) {
	db := pgTestDB(t)
	const secret = "multinode-webhook-secret"
	var mu sync.Mutex
	deliveries := map[string]int{} // idempotency key -> deliveries
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		deliveries[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	args := []string{"--db", db, "--webhook-secret", secret, "--notify-lease", "5s", "--webhook-allow", "127.0.0.1/32"}
	a := startServer(t, t.TempDir(), args...)
	b := startServer(t, t.TempDir(), args...)
	c := startServer(t, t.TempDir(), args...)
	nodes := []*server{a, b, c}
	tok := lastLine(mustCLI(t, "token", "create", "--db", db, "--user", "admin"))
	onC := watchEvents(t, c.base, tok)

	const perNode = 12
	var keys []string
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*perNode)
	for n, node := range nodes {
		for i := range perNode {
			wg.Go(func() {
				k, err := createIncidentAPI(node.base, tok, fmt.Sprintf("node %d writer %d", n, i))
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
	if len(slices.Compact(slices.Clone(keys))) != len(nodes)*perNode {
		t.Fatalf("keys from three nodes are not unique: %v", keys)
	}

	// The escalation: a webhook contact, then an S3 incident on node A.
	contact := fmt.Sprintf(`{"name":"SOAR","kind":"group","on_call_order":1,"channels":[{"type":"webhook","address":%q}]}`, recv.URL+"/hook")
	if code, body := apiCall(t, a.base, tok, "POST", "/api/v1/contacts", contact); code != http.StatusCreated {
		t.Fatalf("contact: %d %s", code, body)
	}
	code, body := apiCall(t, a.base, tok, "POST", "/api/v1/incidents", `{"title":"EDR: 3ノードで一度だけ通知","severity":"S3"}`)
	if code != http.StatusCreated {
		t.Fatalf("incident: %d %s", code, body)
	}
	var inc struct{ Key string }
	if err := json.Unmarshal(body, &inc); err != nil {
		t.Fatal(err)
	}
	// Node C's stream hears of what node A did, through LISTEN/NOTIFY.
	waitChange(t, onC, inc.Key, "incident.created")

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(deliveries)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the escalation webhook was never delivered\nA:\n%s", a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Give the other nodes' workers time to (wrongly) deliver it again:
	// each polls the outbox, and the lease is 5 s.
	time.Sleep(7 * time.Second)
	mu.Lock()
	got := maps2str(deliveries)
	total := 0
	for _, n := range deliveries {
		total += n
	}
	mu.Unlock()
	if total != len(deliveries) {
		t.Fatalf("a notification was delivered more than once across the nodes: %s", got)
	}
	code, body = apiCall(t, b.base, tok, "GET", "/api/v1/notifications", "")
	var list struct {
		Items []struct {
			Status   string `json:"status"`
			Attempts int    `json:"attempts"`
		} `json:"items"`
	}
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Items) != total {
		t.Fatalf("notifications (%d delivered): %d %s", total, code, body)
	}
	for _, it := range list.Items {
		if it.Status != "delivered" || it.Attempts != 1 {
			t.Fatalf("notification %+v, want delivered in one attempt", it)
		}
	}
	if got := lastLine(mustCLI(t, "audit", "verify", "--db", db)); !strings.HasPrefix(got, "ok ") {
		t.Fatalf("audit verify: %q", got)
	}
}

func maps2str(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// privatePostgres is a PostgreSQL cluster of the test's own, in a
// temporary directory on a free port, which the test may stop and start
// without disturbing the shared test database other packages are using
// at the same time. It needs Debian's PostgreSQL binaries and either to
// run as the postgres user or as root (which runs them as postgres).
type privatePostgres struct {
	bin, dir, port, owner string
	dsn                   string
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run a PostgreSQL cluster for the restart test, but CI=true: %s", why)
		}
		t.Skipf("PostgreSQL restart test skipped: %s (it needs Debian's postgresql package and root or the postgres user)", why)
	}
	// The newest installed version, as .ci/run picks it.
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(versions) == 0 {
		unavailable("no /usr/lib/postgresql/*/bin/pg_ctl")
	}
	slices.SortFunc(versions, func(x, y string) int {
		vx, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(x))))
		vy, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(y))))
		return vx - vy
	})
	p := &privatePostgres{bin: filepath.Dir(versions[len(versions)-1])}
	me, err := user.Current()
	if err != nil {
		unavailable(err.Error())
	}
	switch me.Uid {
	case "0":
		p.owner = "postgres"
		if _, err := user.Lookup("postgres"); err != nil {
			unavailable("no postgres user to run the cluster as")
		}
	default:
		if me.Username != "postgres" {
			unavailable("not root nor the postgres user")
		}
	}
	dir, err := os.MkdirTemp("", "irdesk-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if p.owner != "" {
		u, _ := user.Lookup(p.owner)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			unavailable(err.Error())
		}
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, p.port, _ = net.SplitHostPort(addr)
	if out, err := p.run("initdb", "-D", p.data(), "-U", "irdesk", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		unavailable(fmt.Sprintf("initdb: %v\n%s", err, out))
	}
	p.dsn = "postgres://irdesk@127.0.0.1:" + p.port + "/postgres?sslmode=disable"
	p.start(t)
	t.Cleanup(func() { _, _ = p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop") })
	return p
}

func (p *privatePostgres) data() string { return filepath.Join(p.dir, "data") }

// run runs one of the PostgreSQL programs, as the postgres user when the
// test runs as root (PostgreSQL refuses to run as root).
func (p *privatePostgres) run(prog string, args ...string) (string, error) {
	path := filepath.Join(p.bin, prog)
	var cmd *exec.Cmd
	if p.owner != "" {
		cmd = exec.Command("runuser", append([]string{"-u", p.owner, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *privatePostgres) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=100", p.port, p.dir)
	if out, err := p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		t.Fatalf("start PostgreSQL: %v\n%s\n%s", err, out, log)
	}
}

func (p *privatePostgres) stop(t *testing.T) {
	t.Helper()
	// fast: connections are cut, as in a restart or failover.
	if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		t.Fatalf("stop PostgreSQL: %v\n%s", err, out)
	}
}

// TestPostgresRestartDuringLoad: three nodes take incident creations from
// concurrent writers while PostgreSQL is stopped and started again. While
// it is down every node answers /readyz 503; afterwards every node is
// ready and writes again by itself, no acknowledged incident is lost, and
// the audit chain verifies.
func TestPostgresRestartDuringLoad(t *testing.T) {
	pg := startPrivatePostgres(t)
	nodes := []*server{
		startServer(t, t.TempDir(), "--db", pg.dsn),
		startServer(t, t.TempDir(), "--db", pg.dsn),
		startServer(t, t.TempDir(), "--db", pg.dsn),
	}
	tok := lastLine(mustCLI(t, "token", "create", "--db", pg.dsn, "--user", "admin"))

	var mu sync.Mutex
	acked := map[string]bool{}
	failed := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k, err := createIncidentAPI(nodes[(w+i)%len(nodes)].base, tok, fmt.Sprintf("restart load %d-%d", w, i))
				mu.Lock()
				if err != nil {
					failed++
				} else {
					acked[k] = true
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(time.Second)
	mu.Lock()
	beforeStop := len(acked)
	mu.Unlock()
	pg.stop(t)
	// Down: every node says so to its load balancer.
	for _, n := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for readyStatus(n.base) != http.StatusServiceUnavailable {
			if time.Now().After(deadline) {
				t.Fatalf("node %s does not answer /readyz 503 while the database is down", n.base)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	pg.start(t)
	for _, n := range nodes {
		deadline := time.Now().Add(30 * time.Second)
		for readyStatus(n.base) != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("node %s not ready again after the database returned\n%s", n.base, n.log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	mu.Lock()
	atRestart := len(acked)
	mu.Unlock()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d creations acknowledged before the stop, %d by the restart, %d in all; %d failed", beforeStop, atRestart, len(acked), failed)
	if beforeStop == 0 || len(acked) <= atRestart || failed == 0 {
		t.Fatalf("the test did not exercise a restart under load: %d acknowledged before, %d after, %d failed", beforeStop, len(acked)-atRestart, failed)
	}
	// Every node writes again.
	for _, n := range nodes {
		if _, err := createIncidentAPI(n.base, tok, "after the restart"); err != nil {
			t.Fatalf("node %s: %v", n.base, err)
		}
	}
	for k := range acked {
		if code, body := apiCall(t, nodes[0].base, tok, "GET", "/api/v1/incidents/"+k, ""); code != http.StatusOK {
			t.Fatalf("acknowledged incident %s lost: %d %s", k, code, body)
		}
	}
	if got := lastLine(mustCLI(t, "audit", "verify", "--db", pg.dsn)); !strings.HasPrefix(got, "ok ") {
		t.Fatalf("audit verify: %q", got)
	}
	for _, n := range nodes {
		if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := n.cmd.Wait(); err != nil {
			t.Fatalf("SIGTERM: %v\n%s", err, n.log())
		}
	}
}

// TestCopyForceAndEvidenceVerifyOnPostgres: a copy into a database that
// holds irdesk data is refused unless --force, which says loudly that it
// empties the target and then replaces its data; `evidence verify --db`
// re-hashes the files under --data against the PostgreSQL records.
func TestCopyForceAndEvidenceVerifyOnPostgres(t *testing.T) {
	db := pgTestDB(t)
	data := t.TempDir()
	s := startServer(t, data)
	tok := newToken(t, data, "admin")
	key := mustCreateIncident(t, s.base, tok, "USBメモリ紛失")
	if code, _ := uploadEvidence(t, s.base, tok, key, "note.txt", []byte("seized at the front desk")); code != http.StatusCreated {
		t.Fatalf("upload: %d", code)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	want := lastLine(mustCLI(t, "audit", "verify", "--data", data))

	// The target already holds other irdesk data: a node wrote to it.
	other := startServer(t, t.TempDir(), "--db", db)
	otherTok := lastLine(mustCLI(t, "token", "create", "--db", db, "--user", "admin"))
	mustCreateIncident(t, other.base, otherTok, "written before the copy")
	mustCreateIncident(t, other.base, otherTok, "also written before the copy")
	if err := other.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = other.cmd.Wait()

	if _, errOut, code := cli(t, "", "copy", "--from", data, "--to", db); code == 0 || !strings.Contains(errOut, "--force") {
		t.Fatalf("copy into a non-empty target: exit %d, %q", code, errOut)
	}
	out, errOut, code := cli(t, "", "copy", "--from", data, "--to", db, "--force")
	if code != 0 || !strings.Contains(errOut, "WARNING") || !strings.Contains(out, "audit chain ok") {
		t.Fatalf("copy --force: exit %d\n%s%s", code, out, errOut)
	}
	if got := lastLine(mustCLI(t, "audit", "verify", "--db", db)); got != want {
		t.Fatalf("audit verify after copy --force: %q, want %q (the source's chain alone)", got, want)
	}
	if got := mustCLI(t, "evidence", "verify", "--db", db, "--data", data); !strings.Contains(got, "ok 1 evidence items") {
		t.Fatalf("evidence verify --db: %q", got)
	}
	if _, errOut, code := cli(t, "", "evidence", "verify", "--db", db, "--data", filepath.Join(data, "nowhere")); code != 2 || !strings.Contains(errOut, "--data") {
		t.Fatalf("evidence verify --db with a wrong --data: exit %d %q", code, errOut)
	}
}
