package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestServePullsFeeds: `serve --feed NAME=URL` pulls the URL into the
// watchlist at start, under the feed's name.
func TestServePullsFeeds(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--6f7a4c1e-2a9b-4c1d-8e0f-0a1b2c3d4e5f","objects":[
	 {"type":"indicator","spec_version":"2.1","id":"indicator--0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5","pattern_type":"stix",
	  "pattern":"[ipv4-addr:value = '198.51.100.77']","valid_from":"2026-11-20T00:00:00Z"}]}`
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/bundle.json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(bundle))
	}))
	defer feed.Close()

	data := t.TempDir()
	s := startServer(t, data, "--feed", "isac="+feed.URL+"/bundle.json?key=SECRET", "--feed-every", "1h")
	tok := newToken(t, data, "admin")
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := apiCall(t, s.base, tok, "GET", "/api/v1/watchlist?source=isac", "")
		if code == 200 && strings.Contains(string(body), "198.51.100.77") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed not pulled: %d %s\nserver log:\n%s", code, body, s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(s.log(), "SECRET") {
		t.Error("the feed URL's key is in the log")
	}

	_, errOut, code := cli(t, "", "serve", "--data", t.TempDir(), "--feed", "no-url-here")
	if code == 0 || !strings.Contains(errOut, "NAME=URL") {
		t.Errorf("bad --feed: exit %d, %s", code, errOut)
	}
}
