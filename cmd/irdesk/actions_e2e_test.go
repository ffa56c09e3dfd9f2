package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeActionsFile: an invalid --actions file refuses the start with
// file:line errors; a valid one adds its action, which the server's own
// worker sends, with the secret from the environment never shown.
func TestServeActionsFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("actions:\n  - name: x\n    label: {ja: x, en: x}\n    observable: laptop\n    request: {method: POST, url: 'https://a.example/'}\n"), 0o600)
	_, errOut, code := cli(t, "", "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--actions", bad)
	if code != 2 || !strings.Contains(errOut, bad+":4: actions[0].observable: unknown type \"laptop\"") {
		t.Fatalf("bad actions file: exit %d, %s", code, errOut)
	}

	var hits atomic.Int32
	var gotKey atomic.Value
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hits.Add(1)
		gotKey.Store(r.Header.Get("X-Api-Key") + " " + string(body))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	good := filepath.Join(dir, "actions.yaml")
	os.WriteFile(good, []byte(fmt.Sprintf(`actions:
  - name: soar-block-ip
    label: {ja: SOAR で IP を遮断, en: Block IP in SOAR}
    observable: ip
    base_url: %s
    request:
      method: POST
      url: /block
      headers: {X-Api-Key: '{{secret "soar_key"}}'}
      body: {ip: '{{.Value}}', incident: '{{.Incident}}'}
    expect_status: [202]
`, rcv.URL)), 0o600)
	data := t.TempDir()
	t.Setenv("IRDESK_SECRET_SOAR_KEY", "soar-api-key-31337")
	s := startServer(t, data, "--actions", good)
	tok := newToken(t, data, "admin")
	status, body := apiCall(t, s.base, tok, "GET", "/api/v1/response-actions", "")
	if status != 200 || !strings.Contains(string(body), "soar-block-ip") || !strings.Contains(string(body), "defender-isolate-machine") {
		t.Fatalf("response actions: %d %s", status, body)
	}
	apiCall(t, s.base, tok, "POST", "/api/v1/incidents", `{"title":"C2 通信","category":"malware"}`)
	key := "INC-" + yearJST() + "-0001"
	status, body = apiCall(t, s.base, tok, "POST", "/api/v1/incidents/"+key+"/actions/run", `{"action":"soar-block-ip","value":"198.51.100.23"}`)
	if status != 202 {
		t.Fatalf("run: %d %s", status, body)
	}
	var run struct {
		ID     int64
		Status string
	}
	json.Unmarshal(body, &run)
	deadline := time.Now().Add(10 * time.Second)
	for run.Status != "succeeded" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		_, body = apiCall(t, s.base, tok, "GET", fmt.Sprintf("/api/v1/incidents/%s/action-runs/%d", key, run.ID), "")
		json.Unmarshal(body, &run)
	}
	if run.Status != "succeeded" || hits.Load() != 1 {
		t.Fatalf("the worker did not send it: %s, %d hits", body, hits.Load())
	}
	if got, _ := gotKey.Load().(string); !strings.HasPrefix(got, "soar-api-key-31337 ") || !strings.Contains(got, `"ip":"198.51.100.23"`) {
		t.Errorf("received %q", got)
	}
	if strings.Contains(string(body), "soar-api-key-31337") || strings.Contains(s.log(), "soar-api-key-31337") {
		t.Errorf("the secret is shown: %s", body)
	}
}
