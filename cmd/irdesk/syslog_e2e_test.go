package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSyslogListener: `irdesk serve --syslog-listen` takes syslog over UDP
// and TCP into the alert queue beside POST /api/v1/alerts/syslog, counts
// it in /metrics, and stops cleanly on SIGTERM with the audit chain intact.
func TestSyslogListener(t *testing.T) {
	data := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	syslogAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{base: "http://" + addr, stderr: &bytes.Buffer{}}
	s.cmd = exec.Command(binary, "serve", "--data", data, "--listen", addr, "--log-format", "text", "--syslog-listen", syslogAddr)
	s.cmd.Stderr = &lockedWriter{w: s.stderr, mu: &s.mu}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	if err := waitReady(context.Background(), http.DefaultClient, s.base); err != nil {
		t.Fatalf("%v\nserver stderr:\n%s", err, s.log())
	}
	tok := newToken(t, data, "admin")

	u, err := net.Dial("udp", syslogAddr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "<38>May 14 09:20:01 web-01 sshd[23811]: Failed password for invalid user admin from 203.0.113.45 port 51234 ssh2")
	u.Close()
	c, err := net.Dial("tcp", syslogAddr)
	if err != nil {
		t.Fatal(err)
	}
	cef := "<14>1 2026-05-14T00:21:30Z pa-3220 - - - - CEF:0|Palo Alto Networks|PAN-OS|10.2.4|url|URL Filtering malware|8|src=10.0.3.15 dst=203.0.113.77"
	fmt.Fprintf(c, "%d %s", len(cef), cef)
	c.Close()
	status, body := apiCall(t, s.base, tok, "POST", "/api/v1/alerts/syslog", "<13>May 14 09:20:01 h1 app: posted over http\n")
	if status != 202 {
		t.Fatalf("POST /api/v1/alerts/syslog: %d %s", status, body)
	}

	var list struct {
		Items []struct{ Source, Title, Host, Severity string }
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(list.Items) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("alerts: %+v\n%s", list.Items, s.log())
		}
		time.Sleep(20 * time.Millisecond)
		status, body := apiCall(t, s.base, tok, "GET", "/api/v1/alerts", "")
		if status != 200 {
			t.Fatalf("list: %d %s", status, body)
		}
		list.Items = nil
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"sshd: Failed password for invalid user admin from 203.0.113.45 port 51234 ssh2": "syslog web-01 S4",
		"URL Filtering malware": "cef pa-3220 S2",
		"app: posted over http": "syslog h1 S4",
	}
	for _, a := range list.Items {
		if w := want[a.Title]; w != a.Source+" "+a.Host+" "+a.Severity {
			t.Errorf("alert %q: %s %s %s, want %s", a.Title, a.Source, a.Host, a.Severity, w)
		}
	}

	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "irdesk_syslog_ingested_total 2\n") {
		t.Errorf("metrics lack the syslog count:\n%s", metrics)
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, s.log())
	}
	if !strings.Contains(s.log(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", s.log())
	}
	if out, _, code := cli(t, "", "audit", "verify", "--data", data); code != 0 || !strings.HasPrefix(out, "ok ") {
		t.Fatalf("audit verify: %d %q", code, out)
	}
	// The port is free again for UDP and TCP alike.
	if pc, err := net.ListenPacket("udp", syslogAddr); err != nil {
		t.Errorf("UDP port still held after stop: %v", err)
	} else {
		pc.Close()
	}
}
