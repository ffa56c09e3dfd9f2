package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

// feed is a partner's STIX bundle naming one address and one domain.
const feed = `{"type":"bundle","id":"bundle--6f7a4c1e-2a9b-4c1d-8e0f-0a1b2c3d4e5f","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5","created":"2026-11-20T00:00:00Z","modified":"2026-11-20T00:00:00Z",
  "pattern":"[ipv4-addr:value = '198.51.100.66'] OR [domain-name:value = 'c2.evil.example']","pattern_type":"stix","valid_from":"2026-11-20T00:00:00Z",
  "confidence":85,"object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}]}`

func events(tb testing.TB, a *App, typ string) []string {
	tb.Helper()
	var out []string
	if _, _, err := a.store.ScanEvents(context.Background(), func(ev *core.Event) error {
		if ev.Type == typ {
			out = append(out, ev.Actor+" "+string(ev.Payload))
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestWatchlistMarksAlertAndFiresRule(t *testing.T) {
	ctx := context.Background()
	a, c := withRules(t, `rules:
  - id: shared-ioc
    name: Indicator shared by partners
    conditions: {observable_in_watchlist: [ip, domain]}
    actions: [{set_severity: S1}]
`)
	// Before the import: nothing to match, and the cache remembers that.
	before := ingestOne(t, a, `{"title":"Beacon","severity":"S3","dst_ip":"198.51.100.66"}`)
	if al := alertOf(t, a, before.ID); al.Severity != core.S3 {
		t.Fatalf("rule fired without a watchlist: %+v", al)
	}
	res, err := a.ImportWatchlist(ctx, SystemActor, WatchlistImport{Source: "isac"}, []byte(feed))
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.Format != "stix" {
		t.Fatalf("import %+v", res)
	}
	// The import reset the cache: the very next alert is checked.
	r := ingestOne(t, a, `{"title":"Beacon again","severity":"S3","dst_ip":"198.51.100.66","host":"pc-1"}`)
	al := alertOf(t, a, r.ID)
	if al.Severity != core.S1 {
		t.Errorf("severity %s, want S1 from the watchlist rule", al.Severity)
	}
	marks, err := a.AlertWatchlist(ctx, SystemActor, r.ID)
	if err != nil || len(marks) != 1 || marks[0].Source != "isac" || marks[0].Value != "198.51.100.66" {
		t.Fatalf("marks %+v %v", marks, err)
	}
	if ev := events(t, a, core.EvAlertWatchlistMatched); len(ev) != 1 || !strings.HasPrefix(ev[0], "watchlist ") || !strings.Contains(ev[0], `"source":"isac"`) {
		t.Errorf("match events %v", ev)
	}
	if len(ruleEvents(t, a, core.EvAlertSeverityChanged, "shared-ioc")) != 1 {
		t.Error("the rule's change is not on record")
	}
	// A repeat is not marked again; an unrelated alert is not marked.
	ingestOne(t, a, `{"title":"Beacon again","severity":"S3","dst_ip":"198.51.100.66","host":"pc-1"}`)
	other := ingestOne(t, a, `{"title":"Other","severity":"S3","dst_ip":"192.0.2.200"}`)
	if m, _ := a.AlertWatchlist(ctx, SystemActor, other.ID); len(m) != 0 {
		t.Errorf("unrelated alert marked %+v", m)
	}
	if len(events(t, a, core.EvAlertWatchlistMatched)) != 1 {
		t.Error("a repeat wrote another match event")
	}

	// Re-check marks the alert that came before the import, once.
	rc, err := a.RecheckWatchlist(ctx, SystemActor, nil)
	if err != nil || rc.Alerts != 1 || rc.Marks != 1 || rc.Truncated {
		t.Fatalf("recheck %+v %v", rc, err)
	}
	if m, _ := a.AlertWatchlist(ctx, SystemActor, before.ID); len(m) != 1 {
		t.Errorf("past alert not marked: %+v", m)
	}
	if rc, _ := a.RecheckWatchlist(ctx, SystemActor, nil); rc.Marks != 0 {
		t.Errorf("second recheck marked %d again", rc.Marks)
	}
	if ev := events(t, a, core.EvWatchlistRechecked); len(ev) != 2 {
		t.Errorf("recheck events %v", ev)
	}
	future := c.now().Add(time.Hour)
	if _, err := a.RecheckWatchlist(ctx, SystemActor, &future); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("since in the future: %v", err)
	}

	// Entries expire: after the default 30 days nothing matches.
	c.advance(share.DefaultTTL + time.Minute)
	later := ingestOne(t, a, `{"title":"Beacon much later","severity":"S3","dst_ip":"198.51.100.66","host":"pc-2"}`)
	if al := alertOf(t, a, later.ID); al.Severity != core.S3 {
		t.Errorf("expired entry still fires: %+v", al)
	}
}

func TestWatchlistCacheSkipsLookupsWhenEmpty(t *testing.T) {
	ctx := context.Background()
	a, c := newApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	if active, err := a.watchlistActive(ctx, a.store, c.now()); err != nil || active {
		t.Fatalf("empty watchlist active=%v %v", active, err)
	}
	// Written behind the app's back (another node): unseen until the TTL passes.
	if err := a.store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.UpsertWatchlistEntry(ctx, &store.WatchlistEntry{Type: "ip", Value: "192.0.2.1", Source: "other-node"}, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if active, _ := a.watchlistActive(ctx, a.store, c.now()); active {
		t.Error("the cache was not used")
	}
	c.advance(watchlistCacheTTL)
	if active, _ := a.watchlistActive(ctx, a.store, c.now()); !active {
		t.Error("the cache did not expire")
	}
}

func TestWatchlistAuthorizationAndBadInput(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	actor := func(role core.Role) Actor { return Actor{User: core.User{ID: 1, Name: string(role), Role: role}} }
	for _, role := range []core.Role{core.RoleAnalyst, core.RoleViewer, core.RoleReporter} {
		if _, err := a.ImportWatchlist(ctx, actor(role), WatchlistImport{Source: "x"}, []byte(feed)); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s import: %v", role, err)
		}
		if _, err := a.RecheckWatchlist(ctx, actor(role), nil); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s recheck: %v", role, err)
		}
		if err := a.DeleteWatchlistEntry(ctx, actor(role), 1); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s delete: %v", role, err)
		}
	}
	for _, role := range []core.Role{core.RoleViewer, core.RoleReporter} {
		if _, _, err := a.ListWatchlist(ctx, actor(role), store.WatchlistFilter{}, false); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s list: %v", role, err)
		}
	}
	bad := []struct {
		in    WatchlistImport
		body  string
		field string
	}{
		{WatchlistImport{}, feed, "source"},
		{WatchlistImport{Source: "x", Format: "csv"}, feed, "format"},
		{WatchlistImport{Source: "x", ExpiresIn: -time.Hour}, feed, "expires_in"},
		{WatchlistImport{Source: "x", Format: "stix"}, `{"type":"bundle","objects":[{"type":"indicator","pattern":1}]}`, "objects[0].pattern"},
		{WatchlistImport{Source: "x"}, `{"type":"bundle"`, "body"},
		{WatchlistImport{Source: "x", Format: "misp"}, `{"Event":{"Attribute":[{"type":"ip-dst","value":"192.0.2.1","to_ids":true},"x"]}}`, "Event.Attribute[1]"},
	}
	for _, b := range bad {
		_, err := a.ImportWatchlist(ctx, SystemActor, b.in, []byte(b.body))
		var fe *core.FieldError
		if !errors.As(err, &fe) || fe.Field != b.field {
			t.Errorf("%+v %s: %v, want an error naming %s", b.in, b.body, err, b.field)
		}
	}
	if list, _, err := a.ListWatchlist(ctx, SystemActor, store.WatchlistFilter{}, false); err != nil || len(list) != 0 {
		t.Errorf("bad imports wrote %v %v", list, err)
	}
	if ev := events(t, a, core.EvWatchlistImported); len(ev) != 0 {
		t.Errorf("bad imports wrote events %v", ev)
	}
	if err := a.DeleteWatchlistEntry(ctx, SystemActor, 99); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	for s, want := range map[string]time.Duration{"720h": 720 * time.Hour, "30d": 30 * 24 * time.Hour, "": 0} {
		if d, err := ParseExpiresIn(s); err != nil || d != want {
			t.Errorf("ParseExpiresIn(%q) = %v %v", s, d, err)
		}
	}
	for _, s := range []string{"x", "-1h", "0d", "9999999999d", "1.5d"} {
		if _, err := ParseExpiresIn(s); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("ParseExpiresIn(%q): %v", s, err)
		}
	}
}

func TestPullFeeds(t *testing.T) {
	ctx := context.Background()
	a, _ := newApp(t, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC))
	const ev1 = "5cf3d2b2-0b44-4c5e-9b8c-4f1a0a0a0a01"
	const ev2 = "5cf3d2b2-0b44-4c5e-9b8c-4f1a0a0a0a02"
	files := map[string]string{
		"/stix/bundle.json":   feed,
		"/misp/manifest.json": `{"` + ev1 + `":{"info":"one","timestamp":"1700000000"},"` + ev2 + `":{"info":"two","timestamp":"1700000100"}}`,
		"/misp/" + ev1 + ".json": `{"Event":{"threat_level_id":"1","Tag":[{"name":"tlp:green"}],"Attribute":[
			{"type":"ip-dst","value":"192.0.2.10","to_ids":true},{"type":"domain","value":"shared.example","to_ids":true}]}}`,
		"/misp/" + ev2 + ".json": `{"Event":{"threat_level_id":"2","Attribute":[{"type":"ip-dst","value":"192.0.2.10","to_ids":true,"Tag":[{"name":"tlp:red"}]}]}}`,
		"/bad/event.json":        `{"Event":{"Attribute":{}}}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()

	res, err := a.PullFeed(ctx, srv.Client(), Feed{Name: "isac-stix", URL: srv.URL + "/stix/bundle.json"}, 0)
	if err != nil || res.Added != 2 || res.Format != "stix" {
		t.Fatalf("stix pull %+v %v", res, err)
	}
	res, err = a.PullFeed(ctx, srv.Client(), Feed{Name: "misp-feed", URL: srv.URL + "/misp/manifest.json"}, 24*time.Hour)
	if err != nil || res.Added != 2 || res.Format != "misp" {
		t.Fatalf("misp pull %+v %v", res, err)
	}
	list, _, err := a.ListWatchlist(ctx, SystemActor, store.WatchlistFilter{Source: "misp-feed", Type: "ip"}, true)
	if err != nil || len(list) != 1 || list[0].TLP != "red" || list[0].Confidence != 90 || list[0].CreatedBy != "" {
		t.Errorf("merged entry %+v %v", list, err)
	}
	if ev := events(t, a, core.EvWatchlistImported); len(ev) != 2 || !strings.HasPrefix(ev[1], "feed:misp-feed ") {
		t.Errorf("import events %v", ev)
	}
	// Pulled again: refreshed, not added.
	if res, err := a.PullFeed(ctx, srv.Client(), Feed{Name: "misp-feed", URL: srv.URL + "/misp/manifest.json"}, 0); err != nil || res.Added != 0 || res.Updated != 2 {
		t.Errorf("second pull %+v %v", res, err)
	}
	for _, f := range []Feed{{Name: "gone", URL: srv.URL + "/nothing.json?authkey=SECRET"}, {Name: "bad", URL: srv.URL + "/bad/event.json"}} {
		_, err := a.PullFeed(ctx, srv.Client(), f, 0)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
	if list, _, _ := a.ListWatchlist(ctx, SystemActor, store.WatchlistFilter{Source: "bad"}, false); len(list) != 0 {
		t.Error("a broken feed wrote entries")
	}

	// RunFeeds pulls at once, then every interval, until cancelled.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		a.RunFeeds(runCtx, srv.Client(), []Feed{{Name: "isac-stix", URL: srv.URL + "/stix/bundle.json"}}, 10*time.Millisecond, 0)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n := len(events(t, a, core.EvWatchlistImported)); n >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := len(events(t, a, core.EvWatchlistImported)); n < 6 {
		t.Errorf("RunFeeds pulled %d times", n-4)
	}

	for _, s := range []string{"isac=https://feeds.example/x.json", " a = http://h/m/manifest.json "} {
		if _, err := ParseFeed(s); err != nil {
			t.Errorf("ParseFeed(%q): %v", s, err)
		}
	}
	for _, s := range []string{"noequals", "=http://h/", "x=ftp://h/", "x=", "x=http://"} {
		if _, err := ParseFeed(s); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("ParseFeed(%q): %v", s, err)
		}
	}
}
