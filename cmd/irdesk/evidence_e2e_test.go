package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func uploadEvidence(tb testing.TB, base, token, key, name string, content []byte) (int, map[string]any) {
	tb.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/incidents/"+key+"/evidence?file_name="+name, bytes.NewReader(content))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func blobOf(data string, item map[string]any) string {
	sha, _ := item["sha256"].(string)
	if len(sha) != 64 {
		return ""
	}
	return filepath.Join(data, "evidence", "sha256", sha[:2], sha[2:])
}

// TestEvidenceCommands runs the server with a small evidence limit, then
// irdesk evidence verify and purge on its data directory while it runs:
// a file altered or removed on disk fails verify with exit 1, and purge
// disposes of files only with --yes, leaving an intact audit chain.
func TestEvidenceCommands(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--evidence-max-size", "1MiB")
	tok := newToken(t, data, "admin")
	if status, body := apiCall(t, s.base, tok, "POST", "/api/v1/incidents", `{"title":"証拠保全テスト","category":"malware"}`); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	key := "INC-" + yearJST() + "-0001"
	status, alpha := uploadEvidence(t, s.base, tok, key, "alpha.log", []byte("alpha log lines"))
	if status != 201 {
		t.Fatalf("upload: %d %v", status, alpha)
	}
	_, bravo := uploadEvidence(t, s.base, tok, key, "bravo.log", []byte("bravo log lines"))
	if status, body := uploadEvidence(t, s.base, tok, key, "big.bin", make([]byte, 1<<20+1)); status != 413 {
		t.Errorf("over the configured limit: %d %v", status, body)
	}

	out, errOut, code := cli(t, "", "evidence", "verify", "--data", data)
	if code != 0 || !strings.Contains(out, "ok 2 evidence items, 2 files") {
		t.Fatalf("intact: exit %d, %q %q", code, out, errOut)
	}

	// Flip a byte of alpha on disk.
	pa := blobOf(data, alpha)
	os.Chmod(pa, 0o640)
	b, err := os.ReadFile(pa)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if err := os.WriteFile(pa, b, 0o440); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = cli(t, "", "evidence", "verify", "--data", data)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("evidence %v of %s: mismatch", alpha["id"], key)) || strings.Contains(errOut, "bravo") {
		t.Fatalf("tampered: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Remove bravo.
	if err := os.Remove(blobOf(data, bravo)); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = cli(t, "", "evidence", "verify", "--data", data)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("evidence %v of %s: missing", bravo["id"], key)) || !strings.Contains(errOut, "2 of 2 evidence items failed") {
		t.Fatalf("missing: exit %d, stderr %q", code, errOut)
	}
	// The API sees the same through its own check.
	if status, body := apiCall(t, s.base, tok, "POST", fmt.Sprintf("/api/v1/incidents/%s/evidence/%v/verify", key, alpha["id"]), ""); status != 200 || !strings.Contains(string(body), `"ok":false`) {
		t.Errorf("API verify: %d %s", status, body)
	}

	tomorrow := time.Now().In(jstZone).AddDate(0, 0, 1).Format(time.DateOnly)
	out, errOut, code = cli(t, "", "evidence", "purge", "--data", data, "--incident", key, "--before", tomorrow)
	if code != 2 || !strings.Contains(out, "would purge evidence") || !strings.Contains(errOut, "--yes") {
		t.Fatalf("purge without --yes: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(pa); err != nil {
		t.Fatalf("a purge without --yes removed a file: %v", err)
	}
	out, errOut, code = cli(t, "", "evidence", "purge", "--data", data, "--incident", key, "--before", tomorrow, "--yes")
	if code != 0 || !strings.Contains(out, "purged 2 item(s) of "+key+", removed 1 file(s)") {
		t.Fatalf("purge: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(pa); !os.IsNotExist(err) {
		t.Errorf("the purged file is still there: %v", err)
	}
	// The records stay, marked, and their custody log ends with the purge.
	status, body := apiCall(t, s.base, tok, "GET", fmt.Sprintf("/api/v1/incidents/%s/evidence/%v/custody", key, alpha["id"]), "")
	if status != 200 || !strings.Contains(string(body), `"evidence.purged"`) {
		t.Errorf("custody after purge: %d %s", status, body)
	}
	if status, body := apiCall(t, s.base, tok, "GET", fmt.Sprintf("/api/v1/incidents/%s/evidence/%v/download", key, alpha["id"]), ""); status != 409 {
		t.Errorf("download after purge: %d %s", status, body)
	}
	out, _, code = cli(t, "", "evidence", "verify", "--data", data)
	if code != 0 || !strings.Contains(out, "ok 0 evidence items") {
		t.Errorf("verify after purge: exit %d %q", code, out)
	}
	// The server keeps writing onto the chain the commands extended.
	if status, _ := uploadEvidence(t, s.base, tok, key, "charlie.log", []byte("charlie")); status != 201 {
		t.Errorf("upload after the commands: %d", status)
	}
	if out, errOut, code := cli(t, "", "audit", "verify", "--data", data); code != 0 || !strings.HasPrefix(out, "ok ") {
		t.Errorf("audit verify: exit %d, %q %q", code, out, errOut)
	}
}

func TestEvidenceCLIArguments(t *testing.T) {
	data := t.TempDir()
	if _, errOut, code := cli(t, "", "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	steps := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"evidence", "--help"}, 0, "Usage: irdesk evidence", ""},
		{[]string{"evidence", "verify", "--help"}, 0, "Usage", ""},
		{[]string{"evidence", "purge", "--help"}, 0, "--yes", ""},
		{[]string{"evidence"}, 2, "", "missing subcommand"},
		{[]string{"evidence", "shred"}, 2, "", "unknown subcommand"},
		{[]string{"evidence", "verify", "--data", data}, 0, "ok 0 evidence items", ""},
		{[]string{"evidence", "verify", "--data", filepath.Join(data, "nope")}, 1, "", "no irdesk database"},
		{[]string{"evidence", "purge", "--data", data}, 2, "", "--incident and --before are required"},
		{[]string{"evidence", "purge", "--data", data, "--incident", "INC-2026-0001", "--before", "someday"}, 2, "", "--before"},
		{[]string{"evidence", "purge", "--data", data, "--incident", "INC-2026-0001", "--before", "2026-01-01", "--yes"}, 1, "", "not found"},
		{[]string{"config", "--evidence-max-size", "2GiB"}, 0, "evidence-max-size 2GiB", ""},
		{[]string{"config"}, 0, "evidence-max-size 10GiB", ""},
		{[]string{"serve", "--data", data, "--evidence-max-size", "lots"}, 2, "", "evidence-max-size"},
	}
	for _, st := range steps {
		out, errOut, code := cli(t, "", st.args...)
		if code != st.code || !strings.Contains(out, st.stdout) || !strings.Contains(errOut, st.stderr) {
			t.Errorf("irdesk %s: exit %d (want %d), stdout %q (want %q), stderr %q (want %q)",
				strings.Join(st.args, " "), code, st.code, out, st.stdout, errOut, st.stderr)
		}
	}
	t.Setenv("IRDESK_EVIDENCE_MAX_SIZE", "a lot")
	if _, errOut, code := cli(t, "", "config"); code != 2 || !strings.Contains(errOut, "IRDESK_EVIDENCE_MAX_SIZE") {
		t.Errorf("a bad IRDESK_EVIDENCE_MAX_SIZE: exit %d, %q", code, errOut)
	}
}
