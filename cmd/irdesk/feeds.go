package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
)

// feedList is the repeatable --feed NAME=URL flag.
type feedList struct{ feeds *[]app.Feed }

func (l feedList) String() string {
	if l.feeds == nil {
		return ""
	}
	names := make([]string, len(*l.feeds))
	for i, f := range *l.feeds {
		names[i] = f.Name // URLs may carry access keys
	}
	return strings.Join(names, ",")
}

func (l feedList) Set(v string) error {
	f, err := app.ParseFeed(v)
	if err != nil {
		return err
	}
	*l.feeds = append(*l.feeds, f)
	return nil
}

// feedFlags adds --feed (repeatable; IRDESK_FEEDS holds NAME=URL pairs
// separated by spaces) and --feed-every.
func feedFlags(fs *flagSet, cfg *Config) {
	if v, ok := os.LookupEnv("IRDESK_FEEDS"); ok {
		for _, item := range strings.Fields(v) {
			if err := (feedList{&cfg.Feeds}).Set(item); err != nil {
				fs.envErrs = append(fs.envErrs, "IRDESK_FEEDS: "+err.Error())
			}
		}
	}
	fs.Var(feedList{&cfg.Feeds}, "feed", "shared-intelligence feed to pull into the watchlist, NAME=URL of a STIX 2.1 bundle, a MISP event or a MISP feed's manifest.json; repeatable (IRDESK_FEEDS, space-separated)")
	fs.durationVar(&cfg.FeedEvery, "feed-every", time.Hour, "how often the --feed URLs are pulled")
}

// startFeeds pulls the --feed URLs in the background until the server
// stops; stopBackground ends it with the other jobs.
func (m *Main) startFeeds() {
	if len(m.Config.Feeds) == 0 {
		return
	}
	every := m.Config.FeedEvery
	if every <= 0 {
		every = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopOthers := m.bg.cancel
	m.bg.cancel = func() { cancel(); stopOthers() }
	m.bg.wg.Add(1)
	client := &http.Client{Timeout: 2 * time.Minute}
	go func() {
		defer m.bg.wg.Done()
		m.App.RunFeeds(ctx, client, m.Config.Feeds, every, 0)
	}()
}
