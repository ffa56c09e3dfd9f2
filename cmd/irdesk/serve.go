package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/deadline"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
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

	listener  net.Listener
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
	st, err := store.OpenSQLite(ctx, m.Config.Data, store.Options{Now: m.Now})
	if err != nil {
		return err
	}
	m.Store = st
	m.App = app.New(st, m.Log, m.Now, app.Config{SessionTTL: m.Config.SessionTTL, Clocks: clocks, Playbooks: playbooks})
	pw, err := m.App.EnsureAdmin(ctx)
	if err != nil {
		st.Close()
		return fmt.Errorf("create first admin: %w", err)
	}
	if pw != "" {
		// Printed once, to stderr only, never logged.
		fmt.Fprintf(m.Stderr, "\nirdesk: created the first user.\n  user:     admin\n  password: %s\nSign in and create named accounts; this password is not shown again.\n\n", pw)
	}
	srv := web.New(m.App, m.Log, metrics.NewRegistry(), web.Config{SecureCookies: m.Config.SecureCookies})
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		st.Close()
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
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
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(ln) }()
	m.Log.Info("irdesk listening", "addr", "http://"+ln.Addr().String(), "data", m.Config.Data, "version", version)
	return nil
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
