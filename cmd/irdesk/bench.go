package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	var clients, batch, total, raw int
	var dups float64
	var duration time.Duration
	fs := newFlagSet("bench ingest", "bench ingest [--clients N] [--batch N] [--dups RATIO] [--duration D | --alerts N] [--raw N]", stdout, stderr)
	fs.IntVar(&clients, "clients", 16, "concurrent HTTP clients")
	fs.IntVar(&batch, "batch", 1, "alerts per request")
	fs.Float64Var(&dups, "dups", 0, "share of alerts that repeat an earlier alert's fingerprint (0 to 1)")
	fs.DurationVar(&duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&total, "alerts", 0, "send this many alerts instead of sending for --duration (e.g. 1000000 to see the memory after a million)")
	fs.IntVar(&raw, "raw", 100000, "then insert this many of the same alerts straight into a fresh SQLite database, 1,000 to a transaction, as the physical limit (0: skip)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if clients < 1 || batch < 1 || batch > 10000 || dups < 0 || dups > 1 || duration <= 0 || total < 0 || raw < 0 {
		return &exitError{code: 2, msg: "--clients and --duration must be positive, --batch 1 to 10000, --dups 0 to 1, --alerts and --raw not negative"}
	}
	srv, err := startBenchServer(ctx, "", false, stderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}, Timeout: 60 * time.Second}
	if err := waitReady(ctx, client, srv.base); err != nil {
		return err
	}
	b := &bencher{client: client, base: srv.base, token: srv.token}
	var mu sync.Mutex
	var lat []time.Duration
	var alerts, refused, sent atomic.Int64
	deadline := time.Now().Add(duration)
	if total > 0 {
		deadline = time.Now().Add(24 * time.Hour)
	}
	more := func() bool {
		if total > 0 {
			return sent.Add(int64(batch)) <= int64(total)
		}
		return time.Now().Before(deadline)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			var body []byte
			var mine []time.Duration
			for i := 0; more() && ctx.Err() == nil; i++ {
				body = body[:0]
				for k := range batch {
					body = benchAlertLine(body, rng, dups, c, i, k)
				}
				t0 := time.Now()
				status, _, err := b.do(ctx, http.MethodPost, "/api/v1/alerts", body)
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil:
					return
				case status == http.StatusAccepted:
					alerts.Add(int64(batch))
				default:
					refused.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return fmt.Errorf("no request was answered")
	}
	p := percentiles(lat, 0.50, 0.99)
	fmt.Fprintf(stdout, "ingest  %d clients, batch %d, %.0f%% duplicates: %.0f alerts/s durable (%d requests, p50 %s, p99 %s, %d refused)\n",
		clients, batch, dups*100, float64(alerts.Load())/elapsed.Seconds(), len(lat), p[0], p[1], refused.Load())
	rss, hwm := procMemory(srv.cmd.Process.Pid)
	fmt.Fprintf(stdout, "server memory: RSS %s, peak RSS %s\n", rss, hwm)
	if raw == 0 {
		return nil
	}
	rate, err := benchRawIngest(ctx, raw, dups)
	if err != nil {
		return fmt.Errorf("raw insert: %w", err)
	}
	httpRate := float64(alerts.Load()) / elapsed.Seconds()
	fmt.Fprintf(stdout, "raw     the same alerts straight into SQLite, 1,000 to a transaction: %.0f alerts/s; HTTP reached %.0f%% of it\n",
		rate, 100*httpRate/rate)
	return nil
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
