package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/escalation"
	"github.com/irdesk/irdesk/internal/notify"
)

// loadEscalation reads the --escalation file; every problem is reported
// at once, each as file:line: field: message.
func loadEscalation(path string) ([]*escalation.Rule, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("--escalation: %v", err)}
	}
	rules, err := escalation.ParseFile(path, data)
	if err != nil {
		return nil, &exitError{code: 2, msg: "--escalation: invalid rules:\n" + err.Error()}
	}
	return rules, nil
}

// webhookDestinations reads --webhook-allow.
func webhookDestinations(list string) (*notify.Destinations, error) {
	d, err := notify.ParseDestinations(list)
	if err != nil {
		return nil, &exitError{code: 2, msg: "--webhook-allow: " + err.Error()}
	}
	return d, nil
}

// senders builds the delivery channels the configuration enables. Slack
// and Teams need nothing but the address each contact carries. Leads set
// those addresses through the API, so the webhook channels use the
// guarded client: only public addresses and those dest allows.
func senders(cfg Config, dest *notify.Destinations, now func() time.Time) (map[string]notify.Sender, error) {
	client := notify.GuardedClient(dest)
	out := map[string]notify.Sender{
		"slack":   notify.Slack{Client: client},
		"teams":   notify.Teams{Client: client},
		"webhook": notify.Webhook{Client: client, Secret: []byte(cfg.WebhookSecret), Now: now},
	}
	if cfg.SMTPAddr != "" {
		s := &notify.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUser, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, Now: now}
		if err := s.Validate(); err != nil {
			return nil, &exitError{code: 2, msg: "--smtp-*: " + err.Error()}
		}
		out["email"] = s
	}
	return out, nil
}

// background runs the server's jobs: notification delivery, the
// escalation sweep and the retention of alert occurrences. stop waits for
// them all, so the database closes after.
type background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (m *Main) startBackground(worker *notify.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	m.bg = &background{cancel: cancel}
	every := m.Config.EscalationEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	m.bg.wg.Add(3)
	go func() {
		defer m.bg.wg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := m.App.PruneOccurrences(ctx, m.Config.OccurrenceRetention); err != nil && ctx.Err() == nil {
				m.Log.Warn("occurrence retention", "err", err)
			} else if n > 0 {
				m.Log.Info("pruned alert occurrences", "deleted", n, "retention", m.Config.OccurrenceRetention)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer m.bg.wg.Done()
		worker.Run(ctx)
	}()
	go func() {
		defer m.bg.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, err := m.App.RunEscalations(ctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("escalation sweep", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (m *Main) stopBackground() {
	if m.bg == nil {
		return
	}
	m.bg.cancel()
	m.bg.wg.Wait()
}
