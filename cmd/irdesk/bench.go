package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// cmdBench measures a whole irdesk on loopback: it starts `irdesk serve`
// as a child process on a fresh data directory, drives it over HTTP like
// real clients would and reads the child's memory from /proc.
func cmdBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "ingest" {
		return cmdBenchIngest(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "ceiling-server" {
		return cmdBenchCeilingServer(ctx, args[1:], stdout, stderr)
	}
	var data string
	var clients, creates, seed, queries int
	var keep bool
	fs := newFlagSet("bench", "bench [--clients N] [--creates N] [--seed N] [--queries N] [--data DIR]", stdout, stderr)
	fs.StringVar(&data, "data", "", "data directory for the server under test (default: a new temporary one)")
	fs.IntVar(&clients, "clients", 16, "concurrent HTTP clients for the create phase")
	fs.IntVar(&creates, "creates", 20000, "incidents created in the measured create phase")
	fs.IntVar(&seed, "seed", 100000, "incidents in the database before the list and search phase")
	fs.IntVar(&queries, "queries", 1000, "requests per query kind in the list and search phase")
	fs.BoolVar(&keep, "keep", false, "keep the data directory afterwards")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if clients < 1 || creates < 1 || queries < 1 || seed < 0 {
		return &exitError{code: 2, msg: "--clients, --creates and --queries must be positive"}
	}
	srv, err := startBenchServer(ctx, data, keep, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}, Timeout: 30 * time.Second}
	if err := waitReady(ctx, client, srv.base); err != nil {
		return err
	}
	b := &bencher{client: client, base: srv.base, token: srv.token}
	child := srv.cmd
	fmt.Fprintf(stdout, "irdesk bench: server pid %d on %s, data %s\n", child.Process.Pid, srv.base, srv.data)
	res, err := b.create(ctx, clients, creates)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "create   %d incidents, %d clients: %.0f incidents/s  (p50 %s, p99 %s)\n", creates, clients, res.rate, res.p50, res.p99)
	if more := seed - creates; more > 0 {
		if _, err := b.create(ctx, clients, more); err != nil {
			return err
		}
	}
	total := max(seed, creates)
	fmt.Fprintf(stdout, "list and search over %d incidents, %d requests each, one client:\n", total, queries)
	for _, q := range []struct{ name, query string }{
		{"newest 50", "limit=50"},
		{"filtered (severity=S1, category=ransomware)", "limit=50&severity=S1&category=ransomware"},
		{"filtered (open, assignee=none, phase=detect)", "limit=50&open=true&assignee=none&phase=detect"},
		{"search (Japanese: 感染)", "limit=50&q=" + url.QueryEscape("感染")},
		{"search (Japanese: 誤送信)", "limit=50&q=" + url.QueryEscape("誤送信")},
		{"search (English prefix: power)", "limit=50&q=power"},
		{"second page (cursor)", "limit=50&cursor=PAGE2"},
	} {
		lat, n, err := b.query(ctx, q.query, queries)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		fmt.Fprintf(stdout, "  %-48s p50 %-9s p99 %-9s (%d hits on a page)\n", q.name, lat[0], lat[1], n)
	}
	rss, hwm := procMemory(child.Process.Pid)
	fmt.Fprintf(stdout, "server memory after the load: RSS %s, peak RSS %s\n", rss, hwm)
	return nil
}

type bencher struct {
	client *http.Client
	base   string
	token  string
}

type createResult struct {
	rate     float64
	p50, p99 time.Duration
}

// Titles mix Japanese and English the way a Japanese desk's incidents do,
// so that search has realistic selectivity.
var benchTitles = []struct{ title, category, desc string }{
	{"営業部のPCがランサムウェアに感染", "ransomware", "ファイルが暗号化され、身代金要求の画面が表示された"},
	{"顧客リストを誤送信", "misdelivery", "取引先宛のメールに別の顧客の一覧を添付して送信した"},
	{"Phishing mail with credential form", "phishing", "Several users received a fake Microsoft 365 login page"},
	{"ノートPCを電車内で紛失", "lost_device", "暗号化済み。MDMでリモートワイプを依頼"},
	{"Suspicious PowerShell on FS01", "malware", "EDR flagged encoded PowerShell spawning from winword.exe"},
	{"Webサイト改ざんの疑い", "web_defacement", "トップページに不審なスクリプトが埋め込まれている"},
	{"DDoS against the shop front", "dos", "Traffic spike from many sources, site unreachable"},
	{"退職者アカウントによる不正アクセス", "unauthorized_access", "退職済み社員のVPNアカウントでログインがあった"},
	{"S3 bucket publicly readable", "misconfiguration", "Backups bucket was world-readable for two weeks"},
	{"委託先からの情報漏えい", "supply_chain", "委託先のサーバーが侵害され、当社の顧客情報が流出した可能性"},
}

func (b *bencher) create(ctx context.Context, clients, n int) (createResult, error) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	errc := make(chan error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			var body []byte
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				// Bodies are formatted, not marshalled: the load generator
				// shares the machine with the server and must stay cheap.
				t := benchTitles[rng.IntN(len(benchTitles))]
				body = fmt.Appendf(body[:0], `{"title":"%s #%d","category":"%s","description":"%s","severity":"S%d","impact":%d,"urgency":%d,"affected_systems":["host-%04d"]}`,
					t.title, i, t.category, t.desc, 1+rng.IntN(4), 1+rng.IntN(4), 1+rng.IntN(4), rng.IntN(5000))
				t0 := time.Now()
				status, _, err := b.do(ctx, http.MethodPost, "/api/v1/incidents", body)
				lat[i] = time.Since(t0)
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("create answered %d", status)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return createResult{}, err
	default:
	}
	p := percentiles(lat, 0.50, 0.99)
	return createResult{rate: float64(n) / elapsed.Seconds(), p50: p[0], p99: p[1]}, nil
}

func (b *bencher) query(ctx context.Context, query string, n int) ([]time.Duration, int, error) {
	if strings.Contains(query, "PAGE2") {
		_, body, err := b.do(ctx, http.MethodGet, "/api/v1/incidents?limit=50", nil)
		if err != nil {
			return nil, 0, err
		}
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(body, &page)
		query = strings.Replace(query, "PAGE2", page.NextCursor, 1)
	}
	lat := make([]time.Duration, n)
	hits := 0
	for i := range n {
		t0 := time.Now()
		status, body, err := b.do(ctx, http.MethodGet, "/api/v1/incidents?"+query, nil)
		lat[i] = time.Since(t0)
		if err != nil {
			return nil, 0, err
		}
		if status != http.StatusOK {
			return nil, 0, fmt.Errorf("GET %s answered %d: %s", query, status, body)
		}
		if i == 0 {
			var page struct {
				Items []json.RawMessage `json:"items"`
			}
			_ = json.Unmarshal(body, &page)
			hits = len(page.Items)
		}
	}
	return percentiles(lat, 0.50, 0.99), hits, nil
}

func (b *bencher) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if method == http.MethodPost {
		// Only the status matters for creates.
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil, err
	}
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func percentiles(d []time.Duration, ps ...float64) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		idx := int(p*float64(len(s)-1) + 0.5)
		out[i] = s[idx].Round(10 * time.Microsecond)
	}
	return out
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, client *http.Client, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("server at %s did not become ready", base)
}

// procMemory reads the current and peak resident set size of a process.
func procMemory(pid int) (rss, peak string) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return "unknown", "unknown"
	}
	rss, peak = "unknown", "unknown"
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS":
			rss = strings.TrimSpace(v)
		case "VmHWM":
			peak = strings.TrimSpace(v)
		}
	}
	return rss, peak
}

// benchServer is an `irdesk serve` child process on a data directory of
// its own, with an API token made before it started.
type benchServer struct {
	cmd   *exec.Cmd
	base  string
	token string
	data  string
	tmp   string // removed by stop, unless kept
}

func startBenchServer(ctx context.Context, data string, keep bool, stderr io.Writer) (*benchServer, error) {
	srv := &benchServer{data: data}
	if data == "" {
		dir, err := os.MkdirTemp("", "irdesk-bench-")
		if err != nil {
			return nil, err
		}
		srv.data = dir
		if !keep {
			srv.tmp = dir
		}
	}
	fail := func(err error) (*benchServer, error) {
		if srv.tmp != "" {
			os.RemoveAll(srv.tmp)
		}
		return nil, err
	}
	a, st, err := openApp(ctx, srv.data, stderr)
	if err != nil {
		return fail(err)
	}
	if _, err := a.EnsureAdmin(ctx); err != nil {
		st.Close()
		return fail(err)
	}
	_, token, err := a.CreateToken(ctx, app.SystemActor, "admin", "bench", 0)
	st.Close()
	if err != nil {
		return fail(err)
	}
	addr, err := freeAddr()
	if err != nil {
		return fail(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	srv.cmd = exec.CommandContext(ctx, exe, "serve", "--data", srv.data, "--listen", addr, "--log-level", "warn", "--log-format", "text")
	srv.cmd.Stderr = stderr
	if err := srv.cmd.Start(); err != nil {
		return fail(fmt.Errorf("start server: %w", err))
	}
	srv.base, srv.token = "http://"+addr, token
	return srv, nil
}

func (s *benchServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

// cmdBenchIngest measures durable alert intake on loopback: clients send
// batches of native alerts, a share of them repeats of earlier events'
// fingerprints, for a fixed time.
func cmdBenchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var load ingestLoad
	var raw int
	var ceiling bool
	fs := newFlagSet("bench ingest", "bench ingest [--clients N] [--batch N] [--dups RATIO] [--duration D | --alerts N] [--raw N] [--ceiling]", stdout, stderr)
	fs.IntVar(&load.clients, "clients", 16, "concurrent HTTP clients")
	fs.IntVar(&load.batch, "batch", 1, "alerts per request")
	fs.Float64Var(&load.dups, "dups", 0, "share of alerts that repeat an earlier alert's fingerprint (0 to 1)")
	fs.DurationVar(&load.duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&load.total, "alerts", 0, "send this many alerts instead of sending for --duration (e.g. 1000000 to see the memory after a million)")
	fs.IntVar(&raw, "raw", 100000, "then insert this many of the same alerts straight into a fresh SQLite database, 1,000 to a transaction, as the physical limit (0: skip)")
	fs.BoolVar(&ceiling, "ceiling", false, "then drive a bare durable-append server (no parsing, authentication, de-duplication, observables or audit) the same way: what this machine's HTTP, SQLite and disk allow at all")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if load.clients < 1 || load.batch < 1 || load.batch > 10000 || load.dups < 0 || load.dups > 1 || load.duration <= 0 || load.total < 0 || raw < 0 {
		return &exitError{code: 2, msg: "--clients and --duration must be positive, --batch 1 to 10000, --dups 0 to 1, --alerts and --raw not negative"}
	}
	srv, err := startBenchServer(ctx, "", false, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: load.clients * 2, MaxIdleConnsPerHost: load.clients * 2}, Timeout: 60 * time.Second}
	if err := waitReady(ctx, client, srv.base); err != nil {
		return err
	}
	b := &bencher{client: client, base: srv.base, token: srv.token}
	commits0, requests0 := b.writeCounters(ctx)
	serverCPU0, selfCPU0 := procCPU(srv.cmd.Process.Pid), procCPU(os.Getpid())
	res, err := load.run(ctx, b)
	if err != nil {
		return err
	}
	commits1, requests1 := b.writeCounters(ctx)
	serverCPU, selfCPU := procCPU(srv.cmd.Process.Pid)-serverCPU0, procCPU(os.Getpid())-selfCPU0
	fmt.Fprintf(stdout, "ingest  %d clients, batch %d, %.0f%% duplicates: %.0f alerts/s durable (%d requests, p50 %s, p99 %s, %d refused)\n",
		load.clients, load.batch, load.dups*100, res.rate, res.requests, res.p50, res.p99, res.refused)
	if serverCPU > 0 && commits1 > commits0 {
		fmt.Fprintf(stdout, "server  %.2f cores busy, %.1f requests per commit; bench clients %.2f cores (%d cores in all)\n",
			serverCPU.Seconds()/res.elapsed.Seconds(), float64(requests1-requests0)/float64(commits1-commits0),
			selfCPU.Seconds()/res.elapsed.Seconds(), runtime.NumCPU())
	}
	rss, hwm := procMemory(srv.cmd.Process.Pid)
	fmt.Fprintf(stdout, "server memory: RSS %s, peak RSS %s\n", rss, hwm)
	if raw > 0 {
		rate, err := benchRawIngest(ctx, raw, load.dups)
		if err != nil {
			return fmt.Errorf("raw insert: %w", err)
		}
		fmt.Fprintf(stdout, "raw     the same alerts straight into SQLite, 1,000 to a transaction: %.0f alerts/s; HTTP reached %.0f%% of it\n",
			rate, 100*res.rate/rate)
	}
	if ceiling {
		for _, indexes := range []int{0, 4} {
			rate, err := benchCeiling(ctx, load, indexes, stderr)
			if err != nil {
				return fmt.Errorf("ceiling: %w", err)
			}
			fmt.Fprintf(stdout, "ceiling bare durable append, same clients and bodies, %d random-key index entries per row: %.0f alerts/s\n", indexes, rate)
		}
	}
	return nil
}

// ingestLoad is what cmdBenchIngest sends: clients posting batches of
// native alerts for a duration or until total alerts were sent.
type ingestLoad struct {
	clients, batch, total int
	dups                  float64
	duration              time.Duration
}

type ingestResult struct {
	rate              float64
	requests, refused int
	p50, p99          time.Duration
	elapsed           time.Duration
}

func (l ingestLoad) run(ctx context.Context, b *bencher) (ingestResult, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var alerts, refused, sent atomic.Int64
	deadline := time.Now().Add(l.duration)
	if l.total > 0 {
		deadline = time.Now().Add(24 * time.Hour)
	}
	more := func() bool {
		if l.total > 0 {
			return sent.Add(int64(l.batch)) <= int64(l.total)
		}
		return time.Now().Before(deadline)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range l.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			conn, err := newLoadConn(b.base, b.token)
			if err != nil {
				return
			}
			defer conn.close()
			var body []byte
			var mine []time.Duration
			for i := 0; more() && ctx.Err() == nil; i++ {
				body = body[:0]
				for k := range l.batch {
					body = benchAlertLine(body, rng, l.dups, c, i, k)
				}
				t0 := time.Now()
				status, err := conn.post("/api/v1/alerts", body)
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil:
					return
				case status == http.StatusAccepted:
					alerts.Add(int64(l.batch))
				default:
					refused.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return ingestResult{}, fmt.Errorf("no request was answered")
	}
	p := percentiles(lat, 0.50, 0.99)
	return ingestResult{rate: float64(alerts.Load()) / elapsed.Seconds(), requests: len(lat), refused: int(refused.Load()),
		p50: p[0], p99: p[1], elapsed: elapsed}, nil
}

// loadConn is one load-generating client: a keep-alive HTTP/1.1
// connection that writes each request in one system call and reads the
// answer with the standard library's parser. net/http's client costs
// several times more CPU per request (connection pool, a reader and a
// writer goroutine per connection), and here the clients share the
// machine with the server they measure; real tools send from elsewhere.
type loadConn struct {
	conn   net.Conn
	r      *bufio.Reader
	host   string
	header []byte // the request head up to Content-Length's value
	buf    []byte
}

func newLoadConn(base, token string) (*loadConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	return &loadConn{conn: conn, r: bufio.NewReaderSize(conn, 16<<10), host: u.Host,
		header: []byte("Host: " + u.Host + "\r\nAuthorization: Bearer " + token + "\r\nContent-Type: application/x-ndjson\r\nContent-Length: ")}, nil
}

// post sends body and returns the answer's status once its body is read.
func (c *loadConn) post(path string, body []byte) (int, error) {
	c.buf = append(c.buf[:0], "POST "+path+" HTTP/1.1\r\n"...)
	c.buf = append(c.buf, c.header...)
	c.buf = strconv.AppendInt(c.buf, int64(len(body)), 10)
	c.buf = append(c.buf, "\r\n\r\n"...)
	c.buf = append(c.buf, body...)
	if _, err := c.conn.Write(c.buf); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.Close {
		err = errors.New("the server closed the connection")
	}
	return resp.StatusCode, err
}

func (c *loadConn) close() { c.conn.Close() }

// writeCounters reads the server's commit and write-request counters;
// their ratio over a run is the group-commit factor.
func (b *bencher) writeCounters(ctx context.Context) (commits, requests int64) {
	status, body, err := b.do(ctx, http.MethodGet, "/metrics", nil)
	if err != nil || status != http.StatusOK {
		return 0, 0
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "irdesk_store_commits_total":
			commits = int64(v)
		case "irdesk_store_write_requests_total":
			requests = int64(v)
		}
	}
	return commits, requests
}

// procCPU is the user and system time a process has used so far, from
// /proc; zero where there is none.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it do not.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	// Linux reports clock ticks of 1/100 s (USER_HZ) here.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// benchAlertLine appends one native alert: a new fingerprint, or with
// probability dups one of 64 shared ones, so a share of the alerts are
// repeats.
func benchAlertLine(body []byte, rng *rand.Rand, dups float64, c, i, k int) []byte {
	host := fmt.Sprintf("c%d-%d-%d", c, i, k)
	if rng.Float64() < dups {
		host = fmt.Sprintf("shared-%d", rng.IntN(64))
	}
	return fmt.Appendf(body, `{"title":"Suspicious logon","rule_id":"4625","severity":"S3","host":"%s","src_ip":"203.0.113.%d","source_event_id":"%d-%d-%d-%d"}`+"\n",
		host, rng.IntN(250), c, i, k, rng.Uint64())
}

// benchRawIngest is the physical limit of intake on this machine: the same
// kind of alerts, parsed beforehand, inserted by the store's own
// statements (so the same rows, payload bytes and indexes) into a fresh
// database, 1,000 to a transaction, with no HTTP, no JSON, no audit event
// per request and no group commit. Only the inserts are timed.
func benchRawIngest(ctx context.Context, n int, dups float64) (float64, error) {
	dir, err := os.MkdirTemp("", "irdesk-bench-raw-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := store.OpenSQLite(ctx, dir, store.Options{})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var elapsed time.Duration
	for done := 0; done < n; {
		chunk := min(1000, n-done)
		var body []byte
		for k := range chunk {
			body = benchAlertLine(body, rng, dups, 0, done, k)
		}
		parsed, err := ingest.Parse("native", body)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		err = st.InTx(ctx, func(tx *store.Tx) error {
			for i := range parsed {
				if _, _, err := tx.IngestAlert(ctx, &parsed[i], 24*time.Hour); err != nil {
					return err
				}
			}
			return nil
		})
		elapsed += time.Since(start)
		if err != nil {
			return 0, err
		}
		done += chunk
	}
	return float64(n) / elapsed.Seconds(), nil
}
