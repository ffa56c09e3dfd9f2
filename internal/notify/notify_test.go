package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small but real SMTP server on loopback: EHLO, STARTTLS
// with a certificate made for the test, AUTH PLAIN, MAIL, RCPT, DATA.
type smtpServer struct {
	ln       net.Listener
	tlsCfg   *tls.Config
	pool     *x509.CertPool
	user     string
	pass     string
	noTLS    bool
	rejectTo string // RCPT TO this address gets 550

	mu       sync.Mutex
	messages []receivedMail
	sawTLS   bool
	authOK   bool
}

type receivedMail struct {
	from, to string
	data     string
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, pool: pool, user: "irdesk", pass: "p@ss",
		tlsCfg: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpServer) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	reply("220 test ESMTP")
	var from, to string
	isTLS := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch verb {
		case "EHLO":
			w.WriteString("250-test\r\n")
			if !isTLS && !s.noTLS {
				w.WriteString("250-STARTTLS\r\n")
			}
			reply("250 AUTH PLAIN")
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(c, s.tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			isTLS = true
			s.mu.Lock()
			s.sawTLS = true
			s.mu.Unlock()
		case "AUTH":
			parts := strings.Fields(cmd)
			raw, _ := base64.StdEncoding.DecodeString(parts[len(parts)-1])
			if string(raw) == "\x00"+s.user+"\x00"+s.pass {
				s.mu.Lock()
				s.authOK = true
				s.mu.Unlock()
				reply("235 ok")
			} else {
				reply("535 bad credentials")
			}
		case "MAIL":
			from = strings.TrimSuffix(strings.TrimPrefix(cmd[10:], "<"), ">")
			reply("250 ok")
		case "RCPT":
			to = strings.TrimSuffix(strings.TrimPrefix(cmd[8:], "<"), ">")
			if to == s.rejectTo {
				reply("550 no such user")
				continue
			}
			reply("250 ok")
		case "DATA":
			reply("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.messages = append(s.messages, receivedMail{from: from, to: to, data: b.String()})
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown")
		}
	}
}

func testMessage() Message {
	return Message{ID: 7, IdempotencyKey: "irdesk-abc123", Channel: "email", Address: "lead@example.jp", Recipient: "Lead",
		Language: "ja", Subject: "[irdesk][S1] INC-2026-0001 エスカレーション: ランサムウェア感染", Body: "本文です。\n二行目",
		Link: "https://irdesk.example.jp/incidents/INC-2026-0001", IncidentKey: "INC-2026-0001", Severity: "S1", Attempt: 1}
}

func TestSMTPDeliversOverSTARTTLSWithAuth(t *testing.T) {
	srv := newSMTPServer(t)
	s := &SMTP{Addr: srv.ln.Addr().String(), From: "irdesk@example.jp", Username: "irdesk", Password: "p@ss",
		TLSConfig: &tls.Config{RootCAs: srv.pool}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.sawTLS || !srv.authOK || len(srv.messages) != 1 {
		t.Fatalf("tls %v auth %v messages %d", srv.sawTLS, srv.authOK, len(srv.messages))
	}
	got := srv.messages[0]
	if got.from != "irdesk@example.jp" || got.to != "lead@example.jp" {
		t.Fatalf("envelope %s -> %s", got.from, got.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != testMessage().Subject {
		t.Errorf("subject %q (%v)", subject, err)
	}
	if id := msg.Header.Get("Message-ID"); id != "<irdesk-abc123@irdesk.localhost>" {
		t.Errorf("Message-ID %q", id)
	}
	body, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
	if !strings.Contains(string(body), "本文です。\r\n二行目") || !strings.Contains(string(body), "INC-2026-0001") {
		t.Errorf("body %q", body)
	}
}

func TestSMTPRefusesPlainTextUnlessOpportunistic(t *testing.T) {
	srv := newSMTPServer(t)
	srv.noTLS = true
	s := &SMTP{Addr: srv.ln.Addr().String(), From: "irdesk@example.jp"}
	err := s.Send(context.Background(), testMessage())
	if err == nil || !IsPermanent(err) {
		t.Fatalf("plain-text relay with starttls required: %v", err)
	}
	s.TLS = TLSOpportunistic
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
}

func TestSMTPErrorsAreClassified(t *testing.T) {
	srv := newSMTPServer(t)
	srv.rejectTo = "gone@example.jp"
	s := &SMTP{Addr: srv.ln.Addr().String(), From: "irdesk@example.jp", TLSConfig: &tls.Config{RootCAs: srv.pool}}
	m := testMessage()
	m.Address = "gone@example.jp"
	if err := s.Send(context.Background(), m); !IsPermanent(err) {
		t.Errorf("550 should be permanent: %v", err)
	}
	// A relay that is down is worth retrying.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s.Addr = addr
	if err := s.Send(context.Background(), testMessage()); err == nil || IsPermanent(err) {
		t.Errorf("connection refused should be temporary: %v", err)
	}
	// A subject with a line break cannot add headers.
	m = testMessage()
	m.Subject = "hi\r\nBcc: evil@example.com"
	raw := (&SMTP{From: "a@example.jp"}).compose(&mail.Address{Address: "a@example.jp"}, &mail.Address{Address: "b@example.jp"}, m)
	if strings.Contains(string(raw), "\r\nBcc:") {
		t.Errorf("header injection: %q", raw)
	}
	for _, bad := range []SMTP{{Addr: "nohost", From: "a@b.jp"}, {Addr: "h:25", From: "nope"}, {Addr: "h:25", From: "a@b.jp", TLS: "ssl3"}, {Addr: "h:25", From: "a@b.jp", Username: "u"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

func TestWebhookSignatureAndPayload(t *testing.T) {
	secret := []byte("whsec")
	var got WebhookPayload
	var sigErr error
	var key string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sigErr = VerifySignature(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), time.Minute)
		key = r.Header.Get("Idempotency-Key")
		_ = json.Unmarshal(body, &got)
	}))
	defer srv.Close()
	m := testMessage()
	m.Channel, m.Address = "webhook", srv.URL
	if err := (Webhook{Client: HTTPClient(), Secret: secret}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if sigErr != nil || key != m.IdempotencyKey || got.Incident != "INC-2026-0001" || got.Subject != m.Subject {
		t.Fatalf("sig %v key %q payload %+v", sigErr, key, got)
	}
	// The verifier refuses a tampered body, a wrong secret and a stale timestamp.
	ts := "1700000000"
	sig := Sign(secret, ts, []byte("body"))
	at := time.Unix(1700000000, 0)
	if VerifySignature(secret, ts, sig, []byte("body"), at, time.Minute) != nil {
		t.Error("good signature refused")
	}
	if VerifySignature(secret, ts, sig, []byte("b0dy"), at, time.Minute) == nil ||
		VerifySignature([]byte("other"), ts, sig, []byte("body"), at, time.Minute) == nil ||
		VerifySignature(secret, ts, sig, []byte("body"), at.Add(10*time.Minute), time.Minute) == nil {
		t.Error("bad signature accepted")
	}
	if err := (Webhook{Client: HTTPClient()}).Send(context.Background(), m); !IsPermanent(err) {
		t.Errorf("no secret: %v", err)
	}
}

func TestSlackAndTeamsPayloads(t *testing.T) {
	var bodies []map[string]any
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		_ = json.NewDecoder(r.Body).Decode(&v)
		bodies = append(bodies, v)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	m := testMessage()
	m.Address = srv.URL
	m.Subject = "<!channel> INC-2026-0001 & <https://evil|click>"
	if err := (Slack{Client: HTTPClient()}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	text, _ := bodies[0]["text"].(string)
	if strings.Contains(text, "<!channel>") || strings.Contains(text, "<https://evil") || !strings.Contains(text, "&lt;!channel&gt;") {
		t.Errorf("slack text not escaped: %q", text)
	}
	m.Body = "[Reset your password](https://evil.example)"
	if err := (Teams{Client: HTTPClient()}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	att := bodies[1]["attachments"].([]any)[0].(map[string]any)
	card := att["content"].(map[string]any)
	if text := card["body"].([]any)[1].(map[string]any)["text"].(string); strings.Contains(text, "](") {
		t.Errorf("teams text keeps a Markdown link: %q", text)
	}
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" {
		t.Errorf("teams card %v", att)
	}
	actions := card["actions"].([]any)
	if actions[0].(map[string]any)["url"] != m.Link {
		t.Errorf("teams action %v", actions)
	}
	for code, permanent := range map[int]bool{404: true, 400: true, 429: false, 503: false, 408: false} {
		status = code
		err := (Slack{Client: HTTPClient()}).Send(context.Background(), m)
		if err == nil || IsPermanent(err) != permanent {
			t.Errorf("status %d: %v (permanent %v)", code, err, IsPermanent(err))
		}
		if err != nil && strings.Contains(err.Error(), srv.URL) {
			t.Errorf("error names the webhook URL: %v", err)
		}
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	hit := false
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	m := testMessage()
	m.Address = srv.URL
	err := (Webhook{Client: HTTPClient(), Secret: []byte("k")}).Send(context.Background(), m)
	if err == nil || hit {
		t.Fatalf("redirect followed (hit %v, err %v)", hit, err)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 5; n++ {
		d := Backoff(n, 30*time.Second, time.Hour)
		base := 30 * time.Second << (n - 1)
		if d < base || d > base+base/5 {
			t.Errorf("attempt %d: %s, want %s..+20%%", n, d, base)
		}
		if d <= prev {
			t.Errorf("attempt %d: %s not longer than %s", n, d, prev)
		}
		prev = d
	}
	if d := Backoff(40, time.Second, time.Hour); d > time.Hour+12*time.Minute {
		t.Errorf("cap: %s", d)
	}
}

// memQueue is a Queue held in memory: the worker's contract, tested
// without a database (the app tests cover the real outbox).
type memQueue struct {
	mu        sync.Mutex
	msgs      []Message
	delivered []int64
	failed    map[int64]bool
}

func (q *memQueue) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out, nil
}

func (q *memQueue) NotificationDelivered(ctx context.Context, id int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.delivered = append(q.delivered, id)
	return nil
}

func (q *memQueue) NotificationFailed(ctx context.Context, id int64, reason string, permanent bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failed[id] = permanent
	return nil
}

type senderFunc func(context.Context, Message) error

func (f senderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

func TestWorkerRecordsOutcomes(t *testing.T) {
	q := &memQueue{failed: map[int64]bool{}, msgs: []Message{{ID: 1, Channel: "ok"}, {ID: 2, Channel: "flaky"}, {ID: 3, Channel: "pager"}}}
	w := &Worker{Queue: q, Senders: map[string]Sender{
		"ok":    senderFunc(func(context.Context, Message) error { return nil }),
		"flaky": senderFunc(func(context.Context, Message) error { return errors.New("timeout") }),
	}}
	n, err := w.RunOnce(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("%d %v", n, err)
	}
	if len(q.delivered) != 1 || q.delivered[0] != 1 {
		t.Errorf("delivered %v", q.delivered)
	}
	if perm, ok := q.failed[2]; !ok || perm {
		t.Errorf("flaky: %v %v", ok, perm)
	}
	if perm := q.failed[3]; !perm {
		t.Error("an unconfigured channel should fail permanently")
	}
}
