package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

// watchlistCacheTTL bounds how long an import made by another process
// (another node, the CLI) can go unnoticed by intake here. Imports and
// deletions through this process reset the cache at once.
const watchlistCacheTTL = 2 * time.Second

// watchlistCache remembers how many watchlist entries are active, so
// that intake skips every lookup while there are none: most desks have
// no watchlist, and intake is the hot path.
type watchlistCache struct {
	mu    sync.Mutex
	count int64
	until time.Time
	// gen counts resets: a count read before a reset must not be stored.
	gen uint64
}

func (c *watchlistCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.until = time.Time{}
	c.gen++
}

type watchlistCounter interface {
	CountActiveWatchlist(ctx context.Context, now time.Time) (int64, error)
}

// watchlistActive reports whether any watchlist entry may be active,
// reading the count through r at most once per watchlistCacheTTL.
func (app *App) watchlistActive(ctx context.Context, r watchlistCounter, now time.Time) (bool, error) {
	c := &app.watchlist
	wall := app.now()
	c.mu.Lock()
	if wall.Before(c.until) {
		n := c.count
		c.mu.Unlock()
		return n > 0, nil
	}
	gen := c.gen
	c.mu.Unlock()
	n, err := r.CountActiveWatchlist(ctx, now)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	if gen == c.gen {
		c.count, c.until = n, wall.Add(watchlistCacheTTL)
	}
	c.mu.Unlock()
	return n > 0, nil
}

// watchlistActor is who the audit trail shows for intake's watchlist marks.
var watchlistActor = Actor{User: core.User{Name: "watchlist", Role: core.RoleAdmin}}

// watchlistIngested marks a new alert whose observables match active
// watchlist entries, with one audit event naming the matches, inside the
// intake transaction. Repeats are not looked at: their alert was, when
// it was new (and a re-check covers entries imported since).
func (app *App) watchlistIngested(ctx context.Context, tx *store.Tx, al *ingest.Alert, id int64, repeat bool) error {
	if repeat || len(al.Observables) == 0 {
		return nil
	}
	active, err := app.watchlistActive(ctx, tx, tx.Now())
	if err != nil || !active {
		return err
	}
	var matches []map[string]any
	for _, o := range al.Observables {
		entries, err := tx.WatchlistMatches(ctx, o.Type, o.Value, tx.Now())
		if err != nil {
			return err
		}
		for _, e := range entries {
			added, err := tx.MarkAlertWatchlist(ctx, id, e)
			if err != nil {
				return err
			}
			if added {
				matches = append(matches, markPayload(e))
			}
		}
	}
	if len(matches) == 0 {
		return nil
	}
	return appendEvent(ctx, tx, watchlistActor, core.EvAlertWatchlistMatched, 0, map[string]any{"alert": id, "matches": matches})
}

func markPayload(e store.WatchlistEntry) map[string]any {
	return map[string]any{"entry": e.ID, "type": e.Type, "value": e.Value, "source": e.Source, "confidence": e.Confidence, "tlp": e.TLP}
}

// ObservableInWatchlist answers the triage condition of the same name.
func (e triageEnv) ObservableInWatchlist(o ingest.Observable, now time.Time) (bool, error) {
	w, ok := e.r.(interface {
		InWatchlist(ctx context.Context, typ, value string, now time.Time) (bool, error)
	})
	if !ok {
		return false, nil
	}
	return w.InWatchlist(e.ctx, o.Type, o.Value, now)
}

// CheckWatchlistEditor says whether the actor may change the watchlist:
// leads and admins.
func CheckWatchlistEditor(a Actor) error { return needWatchlistEditor(a) }

func needWatchlistEditor(a Actor) error {
	if a.System || a.User.Role.AtLeastLead() {
		return nil
	}
	return forbidden("only leads and admins may change the watchlist")
}

func needWatchlistReader(a Actor) error {
	if a.System || a.User.Role.AtLeastAnalyst() {
		return nil
	}
	return forbidden("your role may not see the watchlist")
}

// WatchlistImport says where an import comes from.
type WatchlistImport struct {
	// Source names the feed or partner (required): entries are unique per
	// type, value and source, so a re-import of a feed refreshes its own.
	Source string
	// Format is "stix", "misp", or "" to tell by the content.
	Format string
	// ExpiresIn is how long entries without an end of their own stay on
	// watch (share.DefaultTTL if zero).
	ExpiresIn time.Duration
}

// WatchlistImportResult is what an import did.
type WatchlistImportResult struct {
	Source  string `json:"source"`
	Format  string `json:"format"`
	Added   int    `json:"added"`
	Updated int    `json:"updated"`
	Skipped int    `json:"skipped"`
}

// maxExpiresIn bounds expires_in: indicators go stale in weeks.
const maxExpiresIn = 5 * 366 * 24 * time.Hour

func validSource(s string) error {
	if s == "" {
		return core.Invalid("source", "is required: name the feed or partner")
	}
	if utf8.RuneCountInString(s) > 100 || strings.ContainsFunc(s, unicode.IsControl) {
		return core.Invalid("source", "must be at most 100 characters without control characters")
	}
	return nil
}

// ImportWatchlist reads shared intelligence (a STIX 2.1 bundle or a MISP
// event) and adds its indicators to the watchlist, or refreshes those of
// the same source, in one transaction with one audit event (leads and
// admins). Input that does not parse is core.ErrInvalid and writes nothing.
func (app *App) ImportWatchlist(ctx context.Context, a Actor, in WatchlistImport, body []byte) (WatchlistImportResult, error) {
	if err := needWatchlistEditor(a); err != nil {
		return WatchlistImportResult{}, err
	}
	in.Source = strings.TrimSpace(in.Source)
	if err := validSource(in.Source); err != nil {
		return WatchlistImportResult{}, err
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > maxExpiresIn {
		return WatchlistImportResult{}, core.Invalid("expires_in", "must be from 1s to %s", maxExpiresIn)
	}
	format := strings.ToLower(strings.TrimSpace(in.Format))
	if format == "" {
		var probe struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(body, &probe) == nil && probe.Type == "bundle" {
			format = "stix"
		} else {
			format = "misp"
		}
	}
	opt := share.ImportOptions{Source: in.Source, Now: app.now(), DefaultTTL: in.ExpiresIn}
	var parsed share.ImportResult
	var err error
	switch format {
	case "stix":
		parsed, err = share.ParseSTIX(body, opt)
	case "misp":
		parsed, err = share.ParseMISP(body, opt)
	default:
		return WatchlistImportResult{}, core.Invalid("format", "must be stix or misp")
	}
	if err != nil {
		return WatchlistImportResult{}, err
	}
	return app.storeImport(ctx, a, in.Source, format, parsed)
}

// storeImport writes parsed entries in one transaction with one event.
func (app *App) storeImport(ctx context.Context, a Actor, source, format string, parsed share.ImportResult) (WatchlistImportResult, error) {
	var out WatchlistImportResult
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		res := WatchlistImportResult{Source: source, Format: format, Skipped: parsed.Skipped}
		for _, e := range parsed.Entries {
			we := store.WatchlistEntry{Type: e.Type, Value: e.Value, Source: e.Source, Confidence: e.Confidence, TLP: e.TLP, ExpiresAt: e.ExpiresAt}
			added, err := tx.UpsertWatchlistEntry(ctx, &we, a.User.ID)
			if err != nil {
				return err
			}
			if added {
				res.Added++
			} else {
				res.Updated++
			}
		}
		if err := appendEvent(ctx, tx, a, core.EvWatchlistImported, 0, res); err != nil {
			return err
		}
		out = res
		return nil
	})
	if err != nil {
		return WatchlistImportResult{}, err
	}
	app.watchlist.reset()
	return out, nil
}

// ListWatchlist lists watchlist entries, newest first (analysts and up);
// activeOnly leaves out those expired now.
func (app *App) ListWatchlist(ctx context.Context, a Actor, f store.WatchlistFilter, activeOnly bool) ([]store.WatchlistEntry, bool, error) {
	if err := needWatchlistReader(a); err != nil {
		return nil, false, err
	}
	if activeOnly {
		now := app.now()
		f.ActiveAt = &now
	}
	return app.store.FindWatchlist(ctx, f)
}

// DeleteWatchlistEntry takes an entry off the watchlist (leads and
// admins); alerts it marked keep their marks.
func (app *App) DeleteWatchlistEntry(ctx context.Context, a Actor, id int64) error {
	if err := needWatchlistEditor(a); err != nil {
		return err
	}
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		e, err := tx.DeleteWatchlistEntry(ctx, id)
		if err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvWatchlistEntryDeleted, 0, markPayload(e))
	})
	if err == nil {
		app.watchlist.reset()
	}
	return err
}

// MaxRecheckMarks bounds one re-check: past it, the result says so and a
// later re-check goes on where this one stopped (marked alerts are not
// found again).
const MaxRecheckMarks = 10_000

// DefaultRecheckWindow is how far back a re-check looks by default.
const DefaultRecheckWindow = 30 * 24 * time.Hour

// RecheckResult is what a re-check marked.
type RecheckResult struct {
	Since     time.Time `json:"since"`
	Alerts    int       `json:"alerts"`
	Marks     int       `json:"marks"`
	Truncated bool      `json:"truncated"`
}

// RecheckWatchlist marks past alerts (last seen at or after since,
// DefaultRecheckWindow ago if nil) whose observables match an active
// watchlist entry, at most MaxRecheckMarks marks, in one transaction
// with one audit event (leads and admins).
func (app *App) RecheckWatchlist(ctx context.Context, a Actor, since *time.Time) (RecheckResult, error) {
	if err := needWatchlistEditor(a); err != nil {
		return RecheckResult{}, err
	}
	now := app.now()
	from := now.Add(-DefaultRecheckWindow)
	if since != nil {
		if since.After(now) {
			return RecheckResult{}, core.Invalid("since", "is in the future")
		}
		from = *since
	}
	var out RecheckResult
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		marks, entries, err := tx.UnmarkedWatchlistMatches(ctx, from, tx.Now(), MaxRecheckMarks+1)
		if err != nil {
			return err
		}
		res := RecheckResult{Since: from.UTC(), Truncated: len(marks) > MaxRecheckMarks}
		if res.Truncated {
			marks, entries = marks[:MaxRecheckMarks], entries[:MaxRecheckMarks]
		}
		var alerts []int64
		for i, m := range marks {
			added, err := tx.MarkAlertWatchlist(ctx, m.AlertID, entries[i])
			if err != nil {
				return err
			}
			if !added {
				continue
			}
			res.Marks++
			if len(alerts) == 0 || alerts[len(alerts)-1] != m.AlertID {
				alerts = append(alerts, m.AlertID)
			}
		}
		res.Alerts = len(alerts)
		payload := map[string]any{"since": res.Since, "alerts": res.Alerts, "marks": res.Marks, "truncated": res.Truncated}
		// The ids make the event say which alerts; a thousand is plenty to
		// follow up and keeps one event row small.
		if len(alerts) > 1000 {
			alerts = alerts[:1000]
		}
		payload["alert_ids"] = alerts
		if err := appendEvent(ctx, tx, a, core.EvWatchlistRechecked, 0, payload); err != nil {
			return err
		}
		out = res
		return nil
	})
	return out, err
}

// AlertWatchlist lists the watchlist marks of an alert.
func (app *App) AlertWatchlist(ctx context.Context, a Actor, id int64) ([]store.WatchlistMark, error) {
	if _, err := app.GetAlert(ctx, a, id); err != nil {
		return nil, err
	}
	marks, err := app.store.AlertWatchlistMarks(ctx, id)
	if err != nil {
		return nil, err
	}
	if marks[id] == nil {
		return []store.WatchlistMark{}, nil
	}
	return marks[id], nil
}

// ParseExpiresIn reads an expires_in value ("720h", "30d").
func ParseExpiresIn(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days || n < 1 || n > 5*366 {
			return 0, core.Invalid("expires_in", "must be a duration such as 720h or 30d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, core.Invalid("expires_in", "must be a duration such as 720h or 30d")
	}
	return d, nil
}

// Feed is a source of shared intelligence pulled on a schedule: a URL
// serving a STIX 2.1 bundle, a MISP event, or a MISP feed's manifest.json
// (whose events are fetched beside it).
type Feed struct {
	Name string
	URL  string
}

// ParseFeed reads NAME=URL (http or https).
func ParseFeed(s string) (Feed, error) {
	name, raw, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || validSource(name) != nil {
		return Feed{}, core.Invalid("feed", "%q is not NAME=URL", s)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Feed{}, core.Invalid("feed", "%s: the URL must be http:// or https://", name)
	}
	return Feed{Name: name, URL: u.String()}, nil
}

// feedActor is who the audit trail shows for scheduled pulls.
func feedActor(f Feed) Actor {
	return Actor{User: core.User{Name: "feed:" + f.Name, Role: core.RoleAdmin}}
}

// shownURL is a feed URL fit for logs and errors: without credentials or
// query, where access keys go.
func shownURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User, p.RawQuery, p.Fragment = nil, "", ""
	return p.String()
}

// fetchFeed GETs one document of a feed, at most share.MaxImportBytes.
func fetchFeed(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/stix+json")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL; say it without its secrets.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", shownURL(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", shownURL(u), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, share.MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shownURL(u), err)
	}
	if len(data) > share.MaxImportBytes {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", shownURL(u), share.MaxImportBytes)
	}
	return data, nil
}

// PullFeed fetches a feed and imports what it holds under the feed's
// name, as one import with one audit event. A MISP manifest is followed
// to its event files (<uuid>.json beside it, at most share.MaxFeedEvents).
func (app *App) PullFeed(ctx context.Context, client *http.Client, f Feed, expiresIn time.Duration) (WatchlistImportResult, error) {
	data, err := fetchFeed(ctx, client, f.URL)
	if err != nil {
		return WatchlistImportResult{}, err
	}
	opt := share.ImportOptions{Source: f.Name, Now: app.now(), DefaultTTL: expiresIn}
	var probe struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &probe) == nil && probe.Type == "bundle" {
		parsed, err := share.ParseSTIX(data, opt)
		if err != nil {
			return WatchlistImportResult{}, fmt.Errorf("feed %s: %w", f.Name, err)
		}
		return app.storeImport(ctx, feedActor(f), f.Name, "stix", parsed)
	}
	if strings.HasSuffix(strings.ToLower(f.URL), "/manifest.json") {
		uuids, err := share.ParseMISPManifest(data)
		if err != nil {
			return WatchlistImportResult{}, fmt.Errorf("feed %s: manifest: %w", f.Name, err)
		}
		base := strings.TrimSuffix(f.URL, "manifest.json")
		all := share.ImportResult{Entries: []share.Entry{}}
		for _, id := range uuids {
			ev, err := fetchFeed(ctx, client, base+id+".json")
			if err != nil {
				return WatchlistImportResult{}, fmt.Errorf("feed %s: %w", f.Name, err)
			}
			parsed, err := share.ParseMISP(ev, opt)
			if err != nil {
				return WatchlistImportResult{}, fmt.Errorf("feed %s: event %s: %w", f.Name, id, err)
			}
			all.Merge(parsed, opt)
		}
		return app.storeImport(ctx, feedActor(f), f.Name, "misp", all)
	}
	parsed, err := share.ParseMISP(data, opt)
	if err != nil {
		return WatchlistImportResult{}, fmt.Errorf("feed %s: %w", f.Name, err)
	}
	return app.storeImport(ctx, feedActor(f), f.Name, "misp", parsed)
}

// RunFeeds pulls every feed at once and then every `every` until ctx
// ends. A feed that fails is logged and tried again at the next round;
// the others go on.
func (app *App) RunFeeds(ctx context.Context, client *http.Client, feeds []Feed, every, expiresIn time.Duration) {
	if len(feeds) == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, f := range feeds {
			res, err := app.PullFeed(ctx, client, f, expiresIn)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				app.log.Warn("feed pull failed", "feed", f.Name, "err", err)
			default:
				app.log.Info("feed pulled", "feed", f.Name, "added", res.Added, "updated", res.Updated, "skipped", res.Skipped)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
