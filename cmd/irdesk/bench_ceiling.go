package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The ceiling of durable intake on this machine.
//
// `irdesk bench ingest --ceiling` drives, with the same clients and the
// same request bodies, a server that does the least a durable intake can
// do: it appends each line of the body as a row to one SQLite table (in
// WAL mode, synchronous=FULL, group-committed by one writer) and answers
// 202 with the row ids once committed. No parsing, authentication,
// de-duplication, observables, triage or audit trail. Each row can carry
// index entries with random keys, which is what de-duplication by
// fingerprint, recognising resent event ids and linking observables cost
// a real alert: on a B-tree, each such entry dirties a page of its own in
// every commit. The figures bound what irdesk can reach here, whatever its
// own code does.

// benchCeiling runs the ceiling server with indexes random-key index
// entries per row as a child process and drives it like cmdBenchIngest.
func benchCeiling(ctx context.Context, load ingestLoad, indexes int, stderr io.Writer) (float64, error) {
	dir, err := os.MkdirTemp("", "irdesk-bench-ceiling-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	addr, err := freeAddr()
	if err != nil {
		return 0, err
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "ceiling-server", "--listen", addr, "--data", dir, "--indexes", strconv.Itoa(indexes))
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: load.clients * 2, MaxIdleConnsPerHost: load.clients * 2}, Timeout: 60 * time.Second}
	base := "http://" + addr
	if err := waitReady(ctx, client, base); err != nil {
		return 0, err
	}
	if load.total > 0 {
		// A run by count (a million alerts, for the memory figure) would
		// take long here for nothing: the ceiling is a rate.
		load.total, load.duration = 0, 10*time.Second
	}
	res, err := load.run(ctx, &bencher{client: client, base: base, token: "none"})
	if err != nil {
		return 0, err
	}
	if res.refused > 0 {
		return 0, fmt.Errorf("the ceiling server refused %d requests", res.refused)
	}
	return res.rate, nil
}

type ceilingReq struct {
	lines [][]byte
	ids   []int64
	done  chan error
}

// cmdBenchCeilingServer is the child benchCeiling starts; it is not meant
// to be run by hand.
func cmdBenchCeilingServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var listen, data string
	var indexes int
	fs := newFlagSet("bench ceiling-server", "bench ceiling-server --listen ADDR --data DIR [--indexes N]", stdout, stderr)
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&data, "data", "", "directory for the database")
	fs.IntVar(&indexes, "indexes", 0, "random-key index entries per row (0 to 8)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if data == "" || indexes < 0 || indexes > 8 {
		return &exitError{code: 2, msg: "--data is required and --indexes must be 0 to 8"}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(data, "ceiling.db"))+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	cols, marks := []string{"raw"}, []string{"?"}
	schema := []string{}
	for i := range indexes {
		cols = append(cols, fmt.Sprintf("k%d", i))
		marks = append(marks, "?")
		schema = append(schema, fmt.Sprintf("CREATE INDEX ceiling_k%d ON ceiling (k%d)", i, i))
	}
	schema = append([]string{"CREATE TABLE ceiling (id INTEGER PRIMARY KEY, " + strings.Join(cols, " TEXT, ") + " TEXT)"}, schema...)
	for _, q := range schema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("ceiling schema: %w", err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	insert, err := conn.PrepareContext(ctx, "INSERT INTO ceiling ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")")
	if err != nil {
		return err
	}
	queue := make(chan *ceilingReq, 256)
	go ceilingWriter(conn, insert, indexes, queue)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /api/v1/alerts", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		req := &ceilingReq{done: make(chan error, 1)}
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				req.lines = append(req.lines, line)
			}
		}
		queue <- req
		if err := <-req.done; err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var out bytes.Buffer
		out.WriteString(`{"results":[`)
		for i, id := range req.ids {
			if i > 0 {
				out.WriteByte(',')
			}
			fmt.Fprintf(&out, `{"id":%d,"duplicate":false}`, id)
		}
		out.WriteString("]}")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(out.Bytes())
	})
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ceilingWriter group-commits whatever is queued, as irdesk's writer does,
// and answers each request once its batch committed.
func ceilingWriter(conn *sql.Conn, insert *sql.Stmt, indexes int, queue <-chan *ceilingReq) {
	ctx := context.Background()
	args := make([]any, 1+indexes)
	for first := range queue {
		batch := []*ceilingReq{first}
	fill:
		for len(batch) < 256 {
			select {
			case r := <-queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		err := func() error {
			if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				return err
			}
			for _, r := range batch {
				r.ids = r.ids[:0]
				for _, line := range r.lines {
					args[0] = string(line)
					for i := range indexes {
						args[1+i] = strconv.FormatUint(rand.Uint64(), 16)
					}
					res, err := insert.ExecContext(ctx, args...)
					if err != nil {
						_, _ = conn.ExecContext(ctx, "ROLLBACK")
						return err
					}
					id, _ := res.LastInsertId()
					r.ids = append(r.ids, id)
				}
			}
			_, err := conn.ExecContext(ctx, "COMMIT")
			return err
		}()
		for _, r := range batch {
			r.done <- err
		}
	}
}
