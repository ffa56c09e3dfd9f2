package syslogd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/syslogd"
)

var jst = time.FixedZone("JST", 9*3600)

// fixedNow dates BSD timestamps: they carry no year.
func fixedNow() time.Time { return time.Date(2026, 5, 14, 12, 0, 0, 0, jst) }

type env struct {
	st  *store.Store
	app *app.App
	srv *syslogd.Server
	reg *metrics.Registry
}

// start runs a listener on 127.0.0.1 over a real SQLite-backed app.
func start(tb testing.TB, opts store.Options, cfg syslogd.Config) *env {
	tb.Helper()
	st, err := store.OpenSQLite(context.Background(), tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	reg := metrics.NewRegistry()
	cfg.Addr = "127.0.0.1:0"
	cfg.Location = jst
	cfg.Now = fixedNow
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 2 * time.Millisecond
	}
	srv, err := syslogd.Listen(a, log, reg, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	// Cleanups run last-in first-out: the listener stops before the store closes.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return &env{st: st, app: a, srv: srv, reg: reg}
}

func (e *env) udp(tb testing.TB, msgs ...string) {
	tb.Helper()
	c, err := net.Dial("udp", e.srv.UDPAddr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	for _, m := range msgs {
		if _, err := c.Write([]byte(m)); err != nil {
			tb.Fatal(err)
		}
	}
}

func (e *env) dial(tb testing.TB) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", e.srv.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// tcp sends data on a new connection and closes it.
func (e *env) tcp(tb testing.TB, data string) {
	tb.Helper()
	c := e.dial(tb)
	if _, err := io.WriteString(c, data); err != nil {
		tb.Fatal(err)
	}
	c.Close()
}

func octet(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%d %s", len(m), m)
	}
	return b.String()
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) waitIngested(tb testing.TB, n uint64) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("%d alerts ingested", n), func() bool { return e.srv.Stats().Ingested >= n })
	if got := e.srv.Stats().Ingested; got != n {
		tb.Fatalf("%d alerts ingested, want %d", got, n)
	}
}

// alerts lists the stored alerts by title.
func (e *env) alerts(tb testing.TB) map[string]*core.Alert {
	tb.Helper()
	list, _, err := e.app.ListAlerts(context.Background(), app.SystemActor, store.AlertFilter{Limit: 500})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]*core.Alert{}
	for _, a := range list {
		out[a.Title] = a
	}
	return out
}

func titles(m map[string]*core.Alert) []string {
	var out []string
	for t := range m {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Messages over UDP and over TCP in both framings become alerts; a CEF
// line keeps CEF's fields; multi-line messages survive octet counting.
func TestMessagesArriveAsAlerts(t *testing.T) {
	e := start(t, store.Options{}, syslogd.Config{})
	e.udp(t, "<165>1 2026-05-14T00:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] udp one")
	e.tcp(t, "<38>May 14 09:20:01 web-01 sshd[23811]: Failed password for invalid user admin from 203.0.113.45 port 51234 ssh2\n"+
		"<13>May 14 09:20:02 web-01 app: lf two\r\n\n"+
		"<13>May 14 09:20:03 web-01 app: lf last, no newline")
	e.tcp(t, octet(
		"<189>May 14 09:20:01 fw-edge-01 CEF:0|Fortinet|Fortigate|v7.2.8|0419016384|ips: Backdoor.Cobalt.Strike.Beacon|9|src=10.0.2.34 spt=49822 dst=198.51.100.23 dpt=443 suser=jdoe externalId=7321992",
		"<14>1 2026-05-14T00:00:00Z db-01 app - - - first line\nsecond line",
	)+"\n"+octet("<14>1 - db-01 app - - - octet after a stray newline"))
	e.waitIngested(t, 7)
	got := e.alerts(t)
	want := []string{
		"evntslog: udp one",
		"sshd: Failed password for invalid user admin from 203.0.113.45 port 51234 ssh2",
		"app: lf two",
		"app: lf last, no newline",
		"ips: Backdoor.Cobalt.Strike.Beacon",
		"app: first line second line",
		"app: octet after a stray newline",
	}
	for _, w := range want {
		if got[w] == nil {
			t.Errorf("no alert %q; have %q", w, titles(got))
		}
	}
	if a := got["sshd: Failed password for invalid user admin from 203.0.113.45 port 51234 ssh2"]; a != nil {
		if a.Source != "syslog" || a.Host != "web-01" || a.User != "admin" || a.SrcIP != "203.0.113.45" || a.Severity != core.S4 ||
			a.EventTime == nil || !a.EventTime.Equal(time.Date(2026, 5, 14, 0, 20, 1, 0, time.UTC)) {
			t.Errorf("sshd alert: %+v", a)
		}
	}
	if a := got["ips: Backdoor.Cobalt.Strike.Beacon"]; a != nil {
		if a.Source != "cef" || a.RuleID != "0419016384" || a.Severity != core.S1 || a.Host != "fw-edge-01" ||
			a.SrcIP != "10.0.2.34" || a.DstPort != 443 || a.SourceEventID != "7321992" {
			t.Errorf("CEF alert: %+v", a)
		}
		full, err := e.app.GetAlert(context.Background(), app.SystemActor, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(full.Raw, []byte(`<189>May 14 09:20:01 fw-edge-01 CEF:0|Fortinet`)) {
			t.Errorf("raw is not the whole syslog message: %s", full.Raw)
		}
	}
	s := e.srv.Stats()
	if s.Received != 7 || s.Parsed != 7 || s.ParseErrors != 0 || s.DroppedOverlong != 0 || s.DroppedOverload != 0 {
		t.Errorf("stats %+v", s)
	}
	var text bytes.Buffer
	e.reg.WriteText(&text)
	for _, m := range []string{"irdesk_syslog_received_total 7\n", "irdesk_syslog_ingested_total 7\n", "irdesk_syslog_dropped_overlong_total 0\n"} {
		if !strings.Contains(text.String(), m) {
			t.Errorf("metrics lack %q:\n%s", m, text.String())
		}
	}
}

// What is not syslog is counted and skipped; the listener and, in LF
// framing, the connection go on. Octet counting that breaks can only end
// the connection: where the next frame starts is lost.
func TestMalformedDoesNotStopTheListener(t *testing.T) {
	e := start(t, store.Options{}, syslogd.Config{})
	e.udp(t, "not syslog at all", "<999>bad pri", "<13>May 14 09:20:01 h app: udp good")
	c := e.dial(t)
	io.WriteString(c, "garbage line\n<34>1 2026-05-14T00:00:00Z cut-short\n<13>May 14 09:20:01 h app: tcp good after garbage\n")
	e.tcp(t, octet("<13>May 14 09:20:01 h app: octet good")+"12x this is no frame"+octet("<13>May 14 09:20:01 h app: never read"))
	e.waitIngested(t, 3)
	// not syslog, bad PRI, garbage line, cut-short header, broken frame
	waitFor(t, "5 parse errors", func() bool { return e.srv.Stats().ParseErrors == 5 })
	// The LF connection is still open and read.
	io.WriteString(c, "<13>May 14 09:20:01 h app: same connection still read\n")
	e.waitIngested(t, 4)
	e.tcp(t, "<13>May 14 09:20:01 h app: new connection\n")
	e.waitIngested(t, 5)
	got := e.alerts(t)
	for _, w := range []string{"app: udp good", "app: tcp good after garbage", "app: octet good", "app: same connection still read", "app: new connection"} {
		if got[w] == nil {
			t.Errorf("no alert %q; have %q", w, titles(got))
		}
	}
	if got["app: never read"] != nil {
		t.Errorf("a frame after broken framing was read")
	}
}

// Over-long messages are dropped and counted; the connection keeps going
// with the next message in both framings.
func TestOverlongDroppedAndCounted(t *testing.T) {
	e := start(t, store.Options{}, syslogd.Config{MaxMessageSize: 1024})
	big := "<13>May 14 09:20:01 h app: " + strings.Repeat("x", 2000)
	e.udp(t, big, "<13>May 14 09:20:01 h app: udp after big")
	exact := "<13>May 14 09:20:01 h app: " + strings.Repeat("y", 1024-len("<13>May 14 09:20:01 h app: "))
	c := e.dial(t)
	io.WriteString(c, big+strings.Repeat("z", 40000)+"\n"+exact+"\r\n<13>May 14 09:20:01 h app: lf after big\n")
	e.tcp(t, octet(big, "<13>May 14 09:20:01 h app: octet after big", exact))
	e.waitIngested(t, 5)
	s := e.srv.Stats()
	if s.DroppedOverlong != 3 || s.Received != 8 || s.Parsed != 5 {
		t.Errorf("stats %+v, want 3 over-long of 8 received", s)
	}
	got := e.alerts(t)
	for _, w := range []string{"app: udp after big", "app: lf after big", "app: octet after big", "app: " + strings.Repeat("y", 1024-len("<13>May 14 09:20:01 h app: "))} {
		if got[w] == nil {
			t.Errorf("no alert %.40q...; have %d", w, len(got))
		}
	}
}

// holdWriter occupies the store's only writer slot and fills its one-slot
// queue, so every TryInTx answers ErrOverloaded until release is called.
func holdWriter(tb testing.TB, st *store.Store) (release func()) {
	tb.Helper()
	hold, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// fn may run more than once; only the first run signals.
		st.InTx(context.Background(), func(*store.Tx) error { once.Do(func() { close(started) }); <-hold; return nil })
	}()
	<-started
	// Fill the one-slot queue: probe until a try is refused. A probe that
	// is not refused at once sits in the queue until release.
	for {
		refused := make(chan bool, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.TryInTx(context.Background(), func(*store.Tx) error { return nil })
			refused <- errors.Is(err, store.ErrOverloaded)
		}()
		select {
		case r := <-refused:
			if !r {
				tb.Fatal("a write ran while the writer was held")
			}
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	var released sync.Once
	release = func() { released.Do(func() { close(hold); wg.Wait() }) }
	tb.Cleanup(release)
	return release
}

// When the store is full, UDP drops and counts while TCP stops reading
// and retries, losing nothing.
func TestOverloadUDPDropsTCPWaits(t *testing.T) {
	e := start(t, store.Options{MaxBatch: 1}, syslogd.Config{BatchSize: 2, QueueSize: 4})
	release := holdWriter(t, e.st)
	waitFor(t, "a UDP drop", func() bool {
		e.udp(t, "<13>May 14 09:20:01 h app: udp under load")
		return e.srv.Stats().DroppedOverload > 0
	})
	const n = 200
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "<13>May 14 09:20:01 h app: tcp %d\n", i)
	}
	c := e.dial(t)
	done := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, lines.String())
		done <- err
	}()
	waitFor(t, "a TCP retry", func() bool { return e.srv.Stats().OverloadRetries > 0 })
	time.Sleep(50 * time.Millisecond)
	before := e.srv.Stats()
	if before.Ingested != 0 {
		t.Fatalf("ingested %d while the store was held", before.Ingested)
	}
	// Backpressure: the connection is not read beyond what the queue holds.
	if before.Received-before.Parsed > 0 || before.Received > 30 {
		t.Errorf("read %d TCP and UDP messages while the store was full", before.Received)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The TCP messages differ only in a number, so they are one alert
	// counted n times: every one of them must be in the count.
	waitFor(t, "every TCP message", func() bool {
		a := e.alerts(t)["app: tcp 0"]
		return a != nil && a.Count == n
	})
	waitFor(t, "every UDP message accounted for", func() bool {
		s := e.srv.Stats()
		return s.Ingested+s.DroppedOverload == s.Parsed
	})
	s := e.srv.Stats()
	if s.DroppedError != 0 || s.ParseErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A connection over the limit is closed at once; an idle one is closed
// after the idle timeout.
func TestConnectionLimitAndIdleTimeout(t *testing.T) {
	e := start(t, store.Options{}, syslogd.Config{MaxConns: 1, IdleTimeout: 300 * time.Millisecond})
	first := e.dial(t)
	io.WriteString(first, "<13>May 14 09:20:01 h app: first\n")
	e.waitIngested(t, 1)
	second := e.dial(t)
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("second connection: %v, want EOF", err)
	}
	if e.srv.Stats().ConnsRejected != 1 {
		t.Errorf("rejected %d", e.srv.Stats().ConnsRejected)
	}
	start := time.Now()
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("idle connection closed after %v", d)
	}
	// Its slot is free again.
	waitFor(t, "a free slot", func() bool {
		c := e.dial(t)
		io.WriteString(c, "<13>May 14 09:20:01 h app: after\n")
		c.Close()
		return e.srv.Stats().Ingested >= 2
	})
}

// Shutdown writes what was received, closes both sockets and leaves no
// goroutine behind, even with connections open.
func TestShutdownIsClean(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	before := runtime.NumGoroutine()
	// A long flush interval: the message is still waiting when Shutdown starts.
	srv, err := syslogd.Listen(a, log, nil, syslogd.Config{Addr: "127.0.0.1:0", FlushInterval: time.Hour, Location: jst, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	idle, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	half, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	io.WriteString(half, "<13>May 14 09:20:01 h app: whole\n<13>May 14 09:20:01 h app: half a mess")
	waitFor(t, "the whole message", func() bool { return srv.Stats().Parsed == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if s := srv.Stats(); s.Ingested != 1 {
		t.Errorf("the received message was not written at shutdown: %+v", s)
	}
	if c, err := net.Dial("tcp", srv.Addr().String()); err == nil {
		c.Close()
		t.Errorf("TCP still accepts after shutdown")
	}
	for _, c := range []net.Conn{idle, half} {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("open connection not closed by shutdown: %v", err)
		}
	}
	waitFor(t, "the listener's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	// The UDP port is free again: it can be bound anew.
	if pc, err := net.ListenPacket("udp", srv.UDPAddr().String()); err != nil {
		t.Errorf("UDP port still held: %v", err)
	} else {
		pc.Close()
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

// BenchmarkTCPIngest measures messages from one octet-counting TCP sender
// to committed alerts, each message a new alert (hosts differ).
func BenchmarkTCPIngest(b *testing.B) {
	e := start(b, store.Options{}, syslogd.Config{})
	var data bytes.Buffer
	for i := range b.N {
		m := fmt.Sprintf("<38>May 14 09:20:01 host-%d sshd[23811]: Failed password for root from 203.0.113.45 port 51234 ssh2", i)
		fmt.Fprintf(&data, "%d %s", len(m), m)
	}
	b.ResetTimer()
	c := e.dial(b)
	if _, err := c.Write(data.Bytes()); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "all", func() bool { return e.srv.Stats().Ingested >= uint64(b.N) })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
