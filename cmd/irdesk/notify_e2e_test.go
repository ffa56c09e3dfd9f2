package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/notify"
)

// TestKilledMidDeliveryDeliversAfterRestart: the server is killed while a
// webhook receiver holds the first delivery open; after the restart the
// message is delivered, with the same idempotency key, and recorded as
// delivered.
func TestKilledMidDeliveryDeliversAfterRestart(t *testing.T) {
	secret := "e2e-webhook-secret"
	type hit struct {
		key string
		sig error
	}
	var (
		mu   sync.Mutex
		hits []hit
		seen = make(chan struct{}, 10)
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := notify.VerifySignature([]byte(secret), r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Now(), time.Minute)
		mu.Lock()
		hits = append(hits, hit{key: r.Header.Get("Idempotency-Key"), sig: err})
		first := len(hits) == 1
		mu.Unlock()
		seen <- struct{}{}
		if first {
			// Hold the first delivery open until the server dies.
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	data := filepath.Join(t.TempDir(), "data")
	args := []string{"--webhook-secret", secret, "--notify-lease", "3s", "--webhook-allow", "127.0.0.1/32"}
	s := startServer(t, data, args...)
	tok := newToken(t, data, "admin")
	contact := fmt.Sprintf(`{"name":"SOAR","kind":"group","on_call_order":1,"channels":[{"type":"webhook","address":%q}]}`, recv.URL+"/hook")
	if code, body := apiCall(t, s.base, tok, "POST", "/api/v1/contacts", contact); code != http.StatusCreated {
		t.Fatalf("contact: %d %s", code, body)
	}
	if code, body := apiCall(t, s.base, tok, "POST", "/api/v1/incidents", `{"title":"EDR検知: 不審なPowerShell","severity":"S3"}`); code != http.StatusCreated {
		t.Fatalf("incident: %d %s", code, body)
	}
	select {
	case <-seen:
	case <-time.After(15 * time.Second):
		t.Fatalf("no delivery attempt\n%s", s.log())
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()

	s = startServer(t, data, args...)
	select {
	case <-seen:
	case <-time.After(20 * time.Second):
		t.Fatalf("not delivered after the restart\n%s", s.log())
	}
	mu.Lock()
	got := append([]hit(nil), hits...)
	mu.Unlock()
	if len(got) != 2 || got[0].key == "" || got[0].key != got[1].key || got[0].sig != nil || got[1].sig != nil {
		t.Fatalf("deliveries %+v", got)
	}
	// The outcome is recorded: delivered, after two attempts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := apiCall(t, s.base, tok, "GET", "/api/v1/notifications", "")
		var list struct {
			Items []struct {
				Status   string `json:"status"`
				Attempts int    `json:"attempts"`
				Key      string `json:"idempotency_key"`
			} `json:"items"`
		}
		if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Items) != 1 {
			t.Fatalf("notifications: %d %s", code, body)
		}
		if it := list.Items[0]; it.Status == "delivered" {
			if it.Attempts != 2 || it.Key != got[0].key {
				t.Fatalf("recorded %+v", it)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, errOut, code := cli(t, "", "audit", "verify", "--data", data); code != 0 || !strings.Contains(out+errOut, "ok") {
		t.Fatalf("audit verify: %d %s %s", code, out, errOut)
	}
}

// TestServeRefusesInternalWebhookDestinations: without --webhook-allow a
// lead cannot save a webhook to a loopback address, and a webhook to a
// name that resolves to loopback fails permanently, listed with the
// address and the flag but not the URL, without reaching the receiver.
// A bad --webhook-allow refuses the start; a good one shows in config.
func TestServeRefusesInternalWebhookDestinations(t *testing.T) {
	_, errOut, code := cli(t, "", "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--webhook-allow", "10.0.0.1/8")
	if code != 2 || !strings.Contains(errOut, "--webhook-allow") || !strings.Contains(errOut, "10.0.0.0/8") {
		t.Fatalf("bad --webhook-allow: exit %d, %s", code, errOut)
	}
	out, errOut, code := cli(t, "", "config", "--webhook-allow", "10.1.2.3,chat.corp.example")
	if code != 0 || !strings.Contains(out, "webhook-allow   10.1.2.3,chat.corp.example") {
		t.Fatalf("config: exit %d, %s %s", code, out, errOut)
	}

	var hits sync.Map
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	port := recv.URL[strings.LastIndex(recv.URL, ":"):]
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, "--webhook-secret", "k")
	tok := newToken(t, data, "admin")
	direct := fmt.Sprintf(`{"name":"Direct","kind":"group","channels":[{"type":"webhook","address":%q}]}`, recv.URL+"/direct")
	code, body := apiCall(t, s.base, tok, "POST", "/api/v1/contacts", direct)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "channels[0].address") || !strings.Contains(string(body), "--webhook-allow") {
		t.Fatalf("loopback contact: %d %s", code, body)
	}
	byName := fmt.Sprintf(`{"name":"SOAR","kind":"group","on_call_order":1,"channels":[{"type":"webhook","address":%q}]}`, "http://localhost"+port+"/s3cr3t")
	if code, body := apiCall(t, s.base, tok, "POST", "/api/v1/contacts", byName); code != http.StatusCreated {
		t.Fatalf("contact: %d %s", code, body)
	}
	if code, body := apiCall(t, s.base, tok, "POST", "/api/v1/incidents", `{"title":"SSRF試験","severity":"S3"}`); code != http.StatusCreated {
		t.Fatalf("incident: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := apiCall(t, s.base, tok, "GET", "/api/v1/notifications?status=failed", "")
		var list struct {
			Items []struct {
				Attempts  int    `json:"attempts"`
				LastError string `json:"last_error"`
			} `json:"items"`
		}
		if code != 200 || json.Unmarshal(body, &list) != nil {
			t.Fatalf("notifications: %d %s", code, body)
		}
		if len(list.Items) == 1 {
			it := list.Items[0]
			if it.Attempts != 1 || !strings.Contains(it.LastError, "--webhook-allow") || !strings.Contains(it.LastError, "loopback") ||
				strings.Contains(it.LastError, "s3cr3t") || strings.Contains(it.LastError, port) {
				t.Fatalf("failed notification %+v", it)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed notification: %s\n%s", body, s.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	hits.Range(func(k, _ any) bool {
		t.Errorf("the receiver was called at %v", k)
		return true
	})
}

// TestNotifyTestCommand: `irdesk notify test` sends a signed test message
// to a contact's channels at once, with serve's settings: refused while
// the destination is not allowed, delivered once it is, and clear exit
// codes for what cannot be sent.
func TestNotifyTestCommand(t *testing.T) {
	var got sync.Map
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature([]byte("k"), r.Header.Get("X-Irdesk-Timestamp"), r.Header.Get("X-Irdesk-Signature"), body, time.Now(), time.Minute); err != nil {
			t.Errorf("test message signature: %v", err)
		}
		got.Store(r.URL.Path, string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	port := recv.URL[strings.LastIndex(recv.URL, ":"):]
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, "--webhook-secret", "k")
	tok := newToken(t, data, "admin")
	contact := fmt.Sprintf(`{"name":"SOAR","kind":"group","language":"ja","channels":[{"type":"webhook","address":%q},{"type":"phone","address":"+81-3-0000-0000","label":"duty phone"}]}`, "http://localhost"+port+"/hook")
	if code, body := apiCall(t, s.base, tok, "POST", "/api/v1/contacts", contact); code != http.StatusCreated {
		t.Fatalf("contact: %d %s", code, body)
	}

	out, errOut, code := cli(t, "", "notify", "test", "--data", data, "--contact", "soar", "--webhook-secret", "k")
	if code != 1 || !strings.Contains(out, "webhook  failed") || !strings.Contains(out, "refused") || !strings.Contains(out, "call them") {
		t.Fatalf("not allowed yet: exit %d\n%s%s", code, out, errOut)
	}
	if _, ok := got.Load("/hook"); ok {
		t.Fatal("the receiver was called although localhost is not allowed")
	}
	out, errOut, code = cli(t, "", "notify", "test", "--data", data, "--contact", "SOAR", "--webhook-secret", "k", "--webhook-allow", "localhost")
	if code != 0 || !strings.Contains(out, "webhook  delivered") {
		t.Fatalf("allowed: exit %d\n%s%s", code, out, errOut)
	}
	body, ok := got.Load("/hook")
	if !ok || !strings.Contains(body.(string), "テスト通知") {
		t.Fatalf("test message %v %v, want the Japanese test message", ok, body)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"notify", "test", "--data", data}, 2, "--contact is required"},
		{[]string{"notify", "test", "--data", data, "--contact", "nobody"}, 1, `no contact "nobody"`},
		{[]string{"notify", "test", "--data", data, "--contact", "SOAR", "--channel", "email"}, 1, "has no email channel"},
		{[]string{"notify", "test", "--data", data, "--contact", "SOAR", "--channel", "pager"}, 2, "unknown type"},
		{[]string{"notify", "send", "--data", data}, 2, "unknown subcommand"},
	} {
		_, errOut, code := cli(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("irdesk %s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}
