package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/escalation"
	"github.com/irdesk/irdesk/internal/notify"
	"github.com/irdesk/irdesk/internal/store"
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

// cmdNotify is `irdesk notify test`: it sends a test message to a
// contact's channels right away, through the same senders and settings
// serve would use (it takes serve's flags and IRDESK_* variables), so an
// operator sees at setup time, not at 3 a.m., that a Slack URL is dead or
// the SMTP relay refuses the sender. Nothing is queued or retried, and no
// incident data is sent.
func cmdNotify(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	const synopsis = "notify test --contact NAME|ID [--channel TYPE] [serve's flags: --data/--db, --smtp-*, --webhook-secret, --webhook-allow ...]"
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintf(stdout, "Usage: irdesk %s\n", synopsis)
		if len(args) == 0 {
			return &exitError{code: 2, msg: "give the subcommand: test"}
		}
		return nil
	}
	if args[0] != "test" {
		return &exitError{code: 2, msg: fmt.Sprintf("unknown subcommand %q (test)", args[0])}
	}
	var cfg Config
	var contact, channel string
	fs := serveFlags(&cfg, stdout, stderr)
	fs.StringVar(&contact, "contact", "", "the contact's name or id (required)")
	fs.StringVar(&channel, "channel", "", "only this channel type: email, slack, teams or webhook")
	pos, err := fs.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if strings.TrimSpace(contact) == "" {
		return &exitError{code: 2, msg: "--contact is required"}
	}
	dest, err := webhookDestinations(cfg.WebhookAllow)
	if err != nil {
		return err
	}
	send, err := senders(cfg, dest, time.Now)
	if err != nil {
		return err
	}
	if channel != "" {
		if _, ok := send[channel]; !ok && channel != "email" {
			return &exitError{code: 2, msg: fmt.Sprintf("--channel: unknown type %q (email, slack, teams, webhook)", channel)}
		}
	}
	a, st, err := openAppDB(ctx, cfg.DB, cfg.Data, stderr, store.Options{Readers: 2, Existing: true})
	if err != nil {
		return err
	}
	defer st.Close()
	contacts, err := a.ListContacts(ctx, app.SystemActor)
	if err != nil {
		return err
	}
	var c *core.Contact
	for _, x := range contacts {
		if strings.EqualFold(x.Name, contact) || strconv.FormatInt(x.ID, 10) == contact {
			c = x
			break
		}
	}
	if c == nil {
		return &exitError{code: 1, msg: fmt.Sprintf("no contact %q (irdesk lists them at /contacts and GET /api/v1/contacts)", contact)}
	}
	failed, tried := 0, 0
	for _, ch := range c.Channels {
		if channel != "" && ch.Type != channel {
			continue
		}
		tried++
		s, ok := send[ch.Type]
		switch {
		case !ch.Automatic():
			fmt.Fprintf(stdout, "%-8s %s: no automatic channel; call them\n", ch.Type, ch.Label)
			continue
		case !ok:
			failed++
			fmt.Fprintf(stdout, "%-8s failed: not configured on this server (for e-mail: --smtp-addr and --smtp-from)\n", ch.Type)
			continue
		}
		m := notify.TestMessage(c.Language, c.Name, cfg.BaseURL)
		m.Channel, m.Address = ch.Type, ch.Address
		sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.Send(sendCtx, m)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%-8s failed: %v\n", ch.Type, err)
			continue
		}
		fmt.Fprintf(stdout, "%-8s delivered\n", ch.Type)
	}
	switch {
	case tried == 0 && channel != "":
		return &exitError{code: 1, msg: fmt.Sprintf("%s has no %s channel", c.Name, channel)}
	case tried == 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%s has no channels", c.Name)}
	case failed > 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d channels failed", failed, tried)}
	}
	return nil
}
