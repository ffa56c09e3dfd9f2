package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxIngestFile matches the server's intake limit.
const maxIngestFile = 10 << 20

// cmdIngest sends a file of alerts (NDJSON, a JSON array, or CEF lines) to
// a running irdesk, as a tool would, and reports what was new and what was
// a duplicate.
func cmdIngest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var server, token, format string
	var timeout time.Duration
	fs := newFlagSet("ingest", "ingest --server URL --token T [--format F] FILE|-", stdout, stderr)
	fs.stringVar(&server, "server", "http://127.0.0.1:8080", "irdesk's base URL")
	fs.stringVar(&token, "token", "", "API token of an analyst account (also IRDESK_TOKEN)")
	fs.StringVar(&format, "format", "", "wazuh, suricata, elastic, splunk, defender, crowdstrike or cef; empty for irdesk's own JSON")
	fs.DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for the server")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give one file of alerts, or - for standard input"}
	}
	if token == "" {
		return &exitError{code: 2, msg: "--token is required (or IRDESK_TOKEN)"}
	}
	var in io.Reader = stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	body, err := io.ReadAll(io.LimitReader(in, maxIngestFile+1))
	if err != nil {
		return err
	}
	if len(body) > maxIngestFile {
		return &exitError{code: 2, msg: fmt.Sprintf("the input is larger than %d bytes; split it", maxIngestFile)}
	}
	url := strings.TrimRight(server, "/") + "/api/v1/alerts"
	if format != "" {
		url += "/" + format
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &exitError{code: 2, msg: fmt.Sprintf("--server: %v", err)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if format != "cef" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		var p struct{ Title, Detail string }
		if json.Unmarshal(answer, &p) == nil && p.Detail != "" {
			return fmt.Errorf("the server refused the alerts (%d %s): %s", resp.StatusCode, p.Title, p.Detail)
		}
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	var result struct {
		Items []struct {
			ID        int64 `json:"id"`
			Duplicate bool  `json:"duplicate"`
		} `json:"items"`
	}
	if err := json.Unmarshal(answer, &result); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	dups := 0
	for _, it := range result.Items {
		if it.Duplicate {
			dups++
		}
	}
	fmt.Fprintf(stdout, "%d alerts stored: %d new, %d duplicates\n", len(result.Items), len(result.Items)-dups, dups)
	return nil
}
