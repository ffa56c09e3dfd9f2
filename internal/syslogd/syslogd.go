// Package syslogd receives syslog over UDP and TCP on one address and
// records every message as an alert, in batches that ride the store's
// group commit. It frames and counts; ingest parses and app records.
package syslogd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
)

// Config tunes the listener; zero values take the defaults named.
type Config struct {
	// Addr is host:port for both UDP and TCP. With port 0 the TCP port is
	// chosen by the system and UDP takes the same one.
	Addr string
	// MaxMessageSize bounds one message (64 KiB). A longer one is dropped
	// and counted; on TCP the connection goes on with the next message.
	MaxMessageSize int
	// IdleTimeout closes a TCP connection that sent nothing for this long
	// (5 minutes); senders reconnect when they have something to say.
	IdleTimeout time.Duration
	// MaxConns bounds concurrent TCP connections (256); one more is
	// closed at once and counted.
	MaxConns int
	// BatchSize and FlushInterval: messages are written when BatchSize
	// are waiting or FlushInterval after the first of them (500, 5 ms).
	BatchSize     int
	FlushInterval time.Duration
	// QueueSize bounds the parsed messages waiting to be written, per
	// transport (4096). When it is full, UDP drops and TCP stops reading.
	QueueSize int
	// Location is the zone of BSD timestamps, which carry none (time.Local).
	Location *time.Location
	// Now is the clock that dates BSD timestamps (time.Now).
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 64 << 10
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 256
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 5 * time.Millisecond
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Ingester records parsed alerts: *app.App.
type Ingester interface {
	IngestParsed(ctx context.Context, a app.Actor, format string, alerts []ingest.Alert) ([]app.IngestResult, error)
}

// Actor is who the audit trail says sent syslog alerts: the system, since
// syslog has no authentication to name anyone.
var Actor = app.Actor{System: true, User: core.User{Name: "syslog"}}

// Stats are the listener's counters since it started. Every message
// received ends in exactly one of Parsed, ParseErrors and DroppedOverlong;
// every parsed one in Ingested, DroppedOverload or DroppedError (or is
// still on its way).
type Stats struct {
	Received        uint64 // messages (datagrams, TCP frames) received, blank ones aside
	Parsed          uint64 // messages read as an alert
	ParseErrors     uint64 // messages that are not syslog, and broken TCP framing
	DroppedOverlong uint64 // messages longer than MaxMessageSize
	DroppedOverload uint64 // alerts dropped because the store or the queue was full (UDP; TCP only at shutdown)
	DroppedError    uint64 // alerts the store refused for another reason
	Ingested        uint64 // alerts committed
	OverloadRetries uint64 // TCP batches retried because the store was full
	ConnsRejected   uint64 // TCP connections closed at once for MaxConns
}

type counters struct {
	received, parsed, parseErrors, droppedOverlong, droppedOverload,
	droppedError, ingested, overloadRetries, connsRejected atomic.Uint64
}

// Server is a running listener.
type Server struct {
	cfg Config
	in  Ingester
	log *slog.Logger
	c   counters

	tcp net.Listener
	udp net.PacketConn

	udpQ, tcpQ chan ingest.Alert
	sem        chan struct{} // one token per open TCP connection

	readers  sync.WaitGroup // accept loop, UDP loop, connections
	batchers sync.WaitGroup
	stop     chan struct{} // closed when shutdown begins
	abandon  chan struct{} // closed when the shutdown grace is over
	abandonO sync.Once
	downOnce sync.Once
	downErr  error

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	lastWarn atomic.Int64 // unix nanoseconds of the last rate-limited warning
}

// Listen opens cfg.Addr for UDP and TCP and starts serving. reg may be
// nil; otherwise the counters are registered in it as irdesk_syslog_*.
func Listen(in Ingester, log *slog.Logger, reg *metrics.Registry, cfg Config) (*Server, error) {
	cfg.defaults()
	tcp, udp, err := listenBoth(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, in: in, log: log, tcp: tcp, udp: udp,
		udpQ:    make(chan ingest.Alert, cfg.QueueSize),
		tcpQ:    make(chan ingest.Alert, cfg.QueueSize),
		sem:     make(chan struct{}, cfg.MaxConns),
		stop:    make(chan struct{}),
		abandon: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
	}
	if reg != nil {
		s.register(reg)
	}
	s.batchers.Add(2)
	go s.batcher(s.udpQ, false)
	go s.batcher(s.tcpQ, true)
	s.readers.Add(2)
	go s.serveUDP()
	go s.acceptTCP()
	return s, nil
}

// listenBoth opens TCP and then UDP on the same port. When the port was
// left to the system, the one TCP got may be taken for UDP; then it tries
// again with another.
func listenBoth(addr string) (net.Listener, net.PacketConn, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("syslog listen address %q: %w", addr, err)
	}
	for attempt := 0; ; attempt++ {
		tcp, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("syslog listen on %s (tcp): %w", addr, err)
		}
		port := strconv.Itoa(tcp.Addr().(*net.TCPAddr).Port)
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err == nil {
			return tcp, udp, nil
		}
		tcp.Close()
		if p != "0" || attempt == 10 {
			return nil, nil, fmt.Errorf("syslog listen on %s (udp): %w", net.JoinHostPort(host, port), err)
		}
	}
}

func (s *Server) register(reg *metrics.Registry) {
	for _, m := range []struct {
		name, help string
		v          *atomic.Uint64
	}{
		{"irdesk_syslog_received_total", "Syslog messages received (UDP datagrams and TCP frames).", &s.c.received},
		{"irdesk_syslog_parsed_total", "Syslog messages read as an alert.", &s.c.parsed},
		{"irdesk_syslog_parse_errors_total", "Syslog messages that could not be read, and broken TCP framing.", &s.c.parseErrors},
		{"irdesk_syslog_dropped_overlong_total", "Syslog messages dropped for exceeding the maximum message size.", &s.c.droppedOverlong},
		{"irdesk_syslog_dropped_overload_total", "Syslog alerts dropped because the write queue was full.", &s.c.droppedOverload},
		{"irdesk_syslog_dropped_error_total", "Syslog alerts the store refused.", &s.c.droppedError},
		{"irdesk_syslog_ingested_total", "Syslog alerts committed.", &s.c.ingested},
		{"irdesk_syslog_overload_retries_total", "TCP syslog batches retried because the write queue was full.", &s.c.overloadRetries},
		{"irdesk_syslog_connections_rejected_total", "TCP syslog connections closed at once for the connection limit.", &s.c.connsRejected},
	} {
		v := m.v
		reg.NewCounterFunc(m.name, m.help, func() float64 { return float64(v.Load()) })
	}
}

// Addr is the TCP address; UDP listens on the same port.
func (s *Server) Addr() net.Addr { return s.tcp.Addr() }

// UDPAddr is the UDP address.
func (s *Server) UDPAddr() net.Addr { return s.udp.LocalAddr() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Received: s.c.received.Load(), Parsed: s.c.parsed.Load(), ParseErrors: s.c.parseErrors.Load(),
		DroppedOverlong: s.c.droppedOverlong.Load(), DroppedOverload: s.c.droppedOverload.Load(),
		DroppedError: s.c.droppedError.Load(), Ingested: s.c.ingested.Load(),
		OverloadRetries: s.c.overloadRetries.Load(), ConnsRejected: s.c.connsRejected.Load(),
	}
}

// Shutdown stops receiving, closes the TCP connections, writes what was
// already received, and returns once every goroutine has ended. Messages
// still unwritten when ctx ends (the store stayed full) are dropped and
// counted, and the error says so. Calling it again returns the first
// result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.downOnce.Do(func() { s.downErr = s.shutdown(ctx) })
	return s.downErr
}

func (s *Server) shutdown(ctx context.Context) error {
	close(s.stop)
	s.tcp.Close()
	s.udp.Close()
	s.mu.Lock()
	for c := range s.conns {
		// A past deadline ends a blocked read at once; a frame half read
		// is lost, as it would be if the sender had hung up.
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
	late := s.waitOrAbandon(ctx, &s.readers)
	close(s.udpQ)
	close(s.tcpQ)
	late = s.waitOrAbandon(ctx, &s.batchers) || late
	if late {
		return fmt.Errorf("syslog: shutdown grace ended with messages unwritten (%d dropped for overload in all)", s.c.droppedOverload.Load())
	}
	return nil
}

// waitOrAbandon waits for wg; if ctx ends first it tells everyone to stop
// retrying and still waits, which is then quick.
func (s *Server) waitOrAbandon(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return false
	case <-ctx.Done():
		s.abandonO.Do(func() { close(s.abandon) })
		<-done
		return true
	}
}

func (s *Server) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// warn logs at most one warning per 10 seconds: under overload every
// batch fails the same way, and the counters tell how many.
func (s *Server) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(10*time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, args...)
}

// parse reads one framed message; nil when it is not syslog.
func (s *Server) parse(msg []byte, transport string, from net.Addr) *ingest.Alert {
	s.c.received.Add(1)
	a, err := ingest.ParseSyslogMessage(msg, s.cfg.Now().In(s.cfg.Location))
	if err != nil {
		s.c.parseErrors.Add(1)
		// The error names the field, never the message text.
		s.log.Debug("syslog message not readable", "transport", transport, "from", from.String(), "err", err)
		return nil
	}
	s.c.parsed.Add(1)
	return &a
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != 0 {
			return false
		}
	}
	return true
}

// serveUDP reads datagrams, one message each (RFC 5426). When the queue is
// full the message is dropped: UDP has no way to slow a sender down.
func (s *Server) serveUDP() {
	defer s.readers.Done()
	// One byte more than allowed tells an over-long datagram from one of
	// exactly the limit (the kernel cuts what does not fit).
	buf := make([]byte, min(s.cfg.MaxMessageSize+1, 1<<16))
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			if s.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.warn("syslog udp read failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if blank(buf[:n]) {
			continue
		}
		if n > s.cfg.MaxMessageSize {
			s.c.received.Add(1)
			s.c.droppedOverlong.Add(1)
			continue
		}
		a := s.parse(buf[:n], "udp", from)
		if a == nil {
			continue
		}
		select {
		case s.udpQ <- *a:
		default:
			s.c.droppedOverload.Add(1)
		}
	}
}

func (s *Server) acceptTCP() {
	defer s.readers.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if s.stopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			s.warn("syslog tcp accept failed", "err", err)
			select {
			case <-time.After(backoff):
			case <-s.stop:
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		select {
		case s.sem <- struct{}{}:
		default:
			s.c.connsRejected.Add(1)
			s.warn("syslog tcp connection limit reached; closing new connections", "limit", s.cfg.MaxConns)
			c.Close()
			continue
		}
		s.mu.Lock()
		if s.stopping() {
			s.mu.Unlock()
			c.Close()
			<-s.sem
			return
		}
		s.conns[c] = struct{}{}
		s.readers.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// framing is how a TCP connection delimits messages (RFC 6587).
type framing int

const (
	framingUnknown framing = iota
	framingOctet           // "LEN SP MSG": what RFC 5425 and modern senders use
	framingLF              // MSG LF: the traditional non-transparent framing
)

// errFraming is a stream that cannot be cut into messages any more.
var errFraming = errors.New("broken octet-counting frame")

func (s *Server) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		<-s.sem
		s.readers.Done()
	}()
	from := c.RemoteAddr()
	r := bufio.NewReaderSize(c, 16<<10)
	mode := framingUnknown
	var buf []byte
	for {
		if err := c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil || s.stopping() {
			return // see Shutdown: it set a past deadline before or after this one
		}
		if mode == framingUnknown {
			// The first byte decides for the whole connection: a digit
			// starts an octet count, anything else ('<') a message.
			b, err := r.Peek(1)
			if err != nil {
				return
			}
			mode = framingLF
			if b[0] >= '0' && b[0] <= '9' {
				mode = framingOctet
			}
		}
		var msg []byte
		var over bool
		var err error
		if mode == framingOctet {
			msg, over, err = s.readOctet(r, &buf)
		} else {
			msg, over, err = s.readLine(r, &buf)
		}
		switch {
		case over:
			s.c.received.Add(1)
			s.c.droppedOverlong.Add(1)
		case len(msg) > 0 && !blank(msg):
			if a := s.parse(msg, "tcp", from); a != nil {
				select {
				case s.tcpQ <- *a:
				case <-s.abandon:
					s.c.droppedOverload.Add(1)
					return
				}
			}
		}
		if err != nil {
			if errors.Is(err, errFraming) {
				s.c.parseErrors.Add(1)
				s.log.Debug("syslog tcp framing broken; closing", "from", from.String())
			}
			return
		}
	}
}

// readOctet reads one "MSG-LEN SP SYSLOG-MSG" frame. A frame longer than
// allowed is skipped (its length says where the next one starts) and
// reported with over.
func (s *Server) readOctet(r *bufio.Reader, buf *[]byte) (msg []byte, over bool, err error) {
	n := 0
	digits := 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		switch {
		case b >= '0' && b <= '9':
			digits++
			if digits > 10 {
				return nil, false, errFraming
			}
			n = n*10 + int(b-'0')
			continue
		case b == ' ' && digits > 0:
		case (b == '\n' || b == '\r') && digits == 0:
			continue // a stray line end between frames, as some senders add
		default:
			return nil, false, errFraming
		}
		break
	}
	if n > s.cfg.MaxMessageSize {
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return nil, true, err
		}
		return nil, true, nil
	}
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	msg = (*buf)[:n]
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, false, err
	}
	return msg, false, nil
}

// readLine reads one LF-terminated message, keeping at most the allowed
// size in memory; the rest of a longer line is skipped and over reported.
// A last message without LF before the sender hangs up still counts.
func (s *Server) readLine(r *bufio.Reader, buf *[]byte) (msg []byte, over bool, err error) {
	line := (*buf)[:0]
	for {
		chunk, err := r.ReadSlice('\n')
		if !over {
			line = append(line, chunk...)
			if len(line) > s.cfg.MaxMessageSize+2 { // room for CR LF
				over = true
				line = line[:0]
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		*buf = line[:0]
		// A line cut short by a deadline is not a message; one the sender
		// ended by hanging up is.
		if err != nil && (err != io.EOF || over || len(line) == 0) {
			return nil, over, err
		}
		for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
			line = line[:len(line)-1]
		}
		if len(line) > s.cfg.MaxMessageSize {
			return nil, true, err
		}
		if over {
			return nil, true, err
		}
		return line, false, err
	}
}

// batcher gathers alerts from q and writes them in batches. The UDP one
// drops a batch the store has no room for; the TCP one retries it, and
// while it does, q fills and the connections stop reading: backpressure
// that reaches the senders through TCP's window.
func (s *Server) batcher(q <-chan ingest.Alert, retry bool) {
	defer s.batchers.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// Batches grow as needed: at a trickle, each is one alert.
	var batch []ingest.Alert
	for {
		var due <-chan time.Time
		if len(batch) > 0 {
			due = timer.C
		}
		select {
		case a, ok := <-q:
			if !ok {
				s.flush(batch, retry)
				return
			}
			if len(batch) == 0 {
				timer.Reset(s.cfg.FlushInterval)
			}
			batch = append(batch, a)
			if len(batch) < s.cfg.BatchSize {
				continue
			}
			timer.Stop()
		case <-due:
		}
		s.flush(batch, retry)
		batch = nil
	}
}

// flush writes a batch. If the store refuses it for a reason other than
// load, the batch is written one alert at a time so one bad alert does not
// take the others with it.
func (s *Server) flush(batch []ingest.Alert, retry bool) {
	if len(batch) == 0 {
		return
	}
	err := s.write(batch, retry)
	if err == nil || len(batch) == 1 || errors.Is(err, store.ErrOverloaded) || errors.Is(err, store.ErrClosed) {
		return
	}
	for i := range batch {
		_ = s.write(batch[i:i+1], retry)
	}
}

// write ingests alerts, counting the outcome. It returns the store's
// error only when it should be retried one by one: then nothing is counted.
func (s *Server) write(alerts []ingest.Alert, retry bool) error {
	backoff := 10 * time.Millisecond
	n := uint64(len(alerts))
	for {
		_, err := s.in.IngestParsed(context.Background(), Actor, "syslog", alerts)
		switch {
		case err == nil:
			s.c.ingested.Add(n)
			return nil
		case errors.Is(err, store.ErrOverloaded) && retry:
			s.c.overloadRetries.Add(1)
			select {
			case <-time.After(backoff):
				backoff = min(2*backoff, 500*time.Millisecond)
				continue
			case <-s.abandon:
			}
			s.c.droppedOverload.Add(n)
			return err
		case errors.Is(err, store.ErrOverloaded):
			s.c.droppedOverload.Add(n)
			return err
		case len(alerts) > 1 && !errors.Is(err, store.ErrClosed):
			return err
		default:
			s.c.droppedError.Add(n)
			s.warn("syslog alerts not recorded", "alerts", n, "err", err)
			return err
		}
	}
}
