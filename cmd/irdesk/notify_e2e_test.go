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
	args := []string{"--webhook-secret", secret, "--notify-lease", "3s"}
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
