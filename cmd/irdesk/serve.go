package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/deadline"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/notify"
	"github.com/irdesk/irdesk/internal/store"
	"github.com/irdesk/irdesk/internal/syslogd"
	"github.com/irdesk/irdesk/internal/triage"
	"github.com/irdesk/irdesk/internal/web"
)

// Main is one running irdesk server: wiring only. Tests start it on
// 127.0.0.1:0 with a temporary data directory.
type Main struct {
	Config Config
	Log    *slog.Logger
	// Stderr receives the first admin password, once.
	Stderr io.Writer
	// Now is the clock (nil: wall clock).
	Now func() time.Time

	Store *store.Store
	App   *app.App

	bg        *background
	listener  net.Listener
	syslog    *syslogd.Server
	http      *http.Server
	served    chan error
	closeOnce sync.Once
	closeErr  error
}

// Run opens the database, makes sure an admin exists and starts serving.
// It returns once the listener is open; Close stops everything.
func (m *Main) Run(ctx context.Context) error {
	clocks := deadline.Config{NIS2: deadline.NIS2Entity(m.Config.NIS2Entity), AwarenessDayIsDayOne: m.Config.AwarenessDayCounts}
	if err := clocks.Validate(); err != nil {
		return fmt.Errorf("--nis2-entity: %w", err)
	}
	playbooks, err := loadPlaybooks(m.Config.Playbooks)
	if err != nil {
		return err
	}
	triageRules, err := loadTriageRules(m.Config.Rules)
	if err != nil {
		return err
	}
	rules, err := loadEscalation(m.Config.Escalation)
	if err != nil {
		return err
	}
	webhookDest, err := webhookDestinations(m.Config.WebhookAllow)
	if err != nil {
		return err
	}
	send, err := senders(m.Config, webhookDest, m.Now)
	if err != nil {
		return err
	}
	actionSet, err := loadActions(m.Config.Actions)
	if err != nil {
		return err
	}
	oidcCfg, err := oidcConfig(ctx, m.Config.OIDC)
	if err != nil {
		return err
	}
	worker := &notify.Worker{Senders: send, Log: m.Log, Lease: m.Config.NotifyLease}
	st, err := openStore(ctx, m.Config.DB, m.Config.Data, store.Options{Now: m.Now})
	if err != nil {
		return err
	}
	m.Store = st
	baseURL := m.Config.BaseURL
	if baseURL == "" {
		baseURL = "http://" + m.Config.Listen
	}
	m.App = app.New(st, m.Log, m.Now, app.Config{SessionTTL: m.Config.SessionTTL, Clocks: clocks, Playbooks: playbooks, TriageRules: triageRules,
		Notify: app.NotifyConfig{Rules: rules, BaseURL: baseURL, Kick: worker.Kick, Destinations: webhookDest}, EvidenceMaxSize: m.Config.EvidenceMaxSize, DataDir: m.Config.Data,
		Actions: app.ActionsConfig{Set: actionSet}, OIDC: oidcCfg})
	worker.Queue = m.App.Outbox()
	pw, err := m.App.EnsureAdmin(ctx)
	if err != nil {
		st.Close()
		return fmt.Errorf("create first admin: %w", err)
	}
	if pw != "" {
		// Printed once, to stderr only, never logged.
		fmt.Fprintf(m.Stderr, "\nirdesk: created the first user.\n  user:     admin\n  password: %s\nSign in and create named accounts; this password is not shown again.\n\n", pw)
	}
	reg := metrics.NewRegistry()
	srv := web.New(m.App, m.Log, reg, web.Config{SecureCookies: m.Config.SecureCookies})
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		st.Close()
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
	}
	if m.Config.SyslogListen != "" {
		loc, err := syslogZone(m.Config.SyslogTimezone)
		if err != nil {
			ln.Close()
			st.Close()
			return err
		}
		sl, err := syslogd.Listen(m.App, m.Log, reg, syslogd.Config{Addr: m.Config.SyslogListen, Now: m.Now, Location: loc})
		if err != nil {
			ln.Close()
			st.Close()
			return fmt.Errorf("--syslog-listen: %w", err)
		}
		m.syslog = sl
		m.Log.Info("syslog listening", "addr", sl.Addr().String(), "transports", "udp, tcp")
	}
	m.listener = ln
	m.http = &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	// Live event streams end at shutdown instead of holding it for the grace.
	m.http.RegisterOnShutdown(srv.CloseStreams)
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(ln) }()
	m.startBackground(worker)
	m.startActionWorker()
	m.startFeeds()
	m.Log.Info("irdesk listening", "addr", "http://"+ln.Addr().String(), "data", m.Config.Data, "database", st.Dialect(), "version", version)
	return nil
}

// loadTriageRules reads the --rules file; any problem in it refuses the
// start (exit 2) with every error, file:line: field: message.
func loadTriageRules(file string) ([]*triage.Rule, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("--rules: %v", err)}
	}
	rules, err := triage.LoadFile(file, data)
	if err != nil {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("--rules: %s is not valid:\n%v", file, err)}
	}
	return rules, nil
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Close stops accepting requests, lets those in flight finish (up to the
// shutdown grace), then closes the database. Calling it again is a no-op.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	if m.http != nil {
		grace := m.Config.ShutdownGrace
		if grace <= 0 {
			grace = 15 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.syslog != nil {
		// Before the database closes: the listener writes what it received.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, m.syslog.Shutdown(ctx))
		cancel()
	}
	m.stopBackground()
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

func cmdServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var cfg Config
	fs := serveFlags(&cfg, stdout, stderr)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("serve takes no arguments, got %q", pos)}
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	m := &Main{Config: cfg, Log: log, Stderr: stderr}
	if err := m.Run(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-m.served:
		m.served <- err // Close waits for it
		log.Error("server stopped", "err", err)
	}
	if err := m.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// syslogZone reads --syslog-timezone. Asia/Tokyo is known without a
// time-zone database, so the common case works on a minimal container.
func syslogZone(name string) (*time.Location, error) {
	switch name {
	case "", "Local":
		return time.Local, nil
	case "Asia/Tokyo", "JST":
		return time.FixedZone("JST", 9*3600), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("--syslog-timezone: unknown zone %q", name)}
	}
	return loc, nil
}
