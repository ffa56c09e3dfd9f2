// Package notify delivers the notifications that irdesk writes to its
// outbox: e-mail over SMTP, Slack and Microsoft Teams webhooks and generic
// webhooks signed with HMAC-SHA256. A Worker claims due messages from a
// Queue (the app), hands each to its channel and reports the outcome; the
// queue decides the retry schedule, so a restart loses nothing.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Message is one notification to one address over one channel.
type Message struct {
	ID int64 `json:"id"`
	// IdempotencyKey is the same on every attempt, so a receiver that got
	// a message whose acknowledgement was lost can drop the repeat.
	IdempotencyKey string `json:"idempotency_key"`
	Channel        string `json:"channel"`
	Address        string `json:"address"`
	Recipient      string `json:"recipient"`
	Language       string `json:"language"`
	Subject        string `json:"subject"`
	Body           string `json:"body"`
	Link           string `json:"link,omitempty"`
	IncidentKey    string `json:"incident,omitempty"`
	Severity       string `json:"severity,omitempty"`
	RuleID         string `json:"rule,omitempty"`
	// Attempt counts from 1.
	Attempt int `json:"attempt"`
}

// Sender delivers a message over one kind of channel.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// PermanentError marks a failure that retrying cannot fix (the receiver
// answered 404, the address was refused): the message fails at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err should not be retried.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Queue is the outbox as the worker sees it.
type Queue interface {
	// ClaimNotifications returns up to limit due messages and hides them
	// from other claims for lease; a worker that dies mid-delivery thus
	// hands its messages back when the lease runs out.
	ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]Message, error)
	// NotificationDelivered records success.
	NotificationDelivered(ctx context.Context, id int64) error
	// NotificationFailed records a failed attempt; the queue schedules the
	// next one or gives up.
	NotificationFailed(ctx context.Context, id int64, reason string, permanent bool) error
}

// Backoff is the wait before attempt n+1 after n failed attempts:
// exponential from base, capped at limit, with up to 20% jitter so a
// receiver that comes back is not hit by every message at once.
func Backoff(failed int, base, limit time.Duration) time.Duration {
	if failed < 1 {
		failed = 1
	}
	d := base
	for i := 1; i < failed && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// Worker delivers messages from a Queue.
type Worker struct {
	Queue    Queue
	Senders  map[string]Sender
	Log      *slog.Logger
	Interval time.Duration // how often to look for due messages (default 1s)
	Lease    time.Duration // how long a claim lasts (default 2m)
	Batch    int           // messages per claim (default 16)
	// Parallel is how many messages are sent at once (default 4).
	Parallel int

	kick chan struct{}
	once sync.Once
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.kick = make(chan struct{}, 1)
		if w.Interval <= 0 {
			w.Interval = time.Second
		}
		if w.Lease <= 0 {
			w.Lease = 2 * time.Minute
		}
		if w.Batch <= 0 {
			w.Batch = 16
		}
		if w.Parallel <= 0 {
			w.Parallel = 4
		}
		if w.Log == nil {
			w.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Kick makes a running worker look for messages now rather than at its
// next tick; it never blocks.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. Messages in flight when it ends are left
// to their lease and delivered again after a restart.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.Log.Warn("notification queue", "err", err)
				}
				break
			}
			if n < w.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// RunOnce claims one batch and delivers it, returning how many messages
// it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.init()
	msgs, err := w.Queue.ClaimNotifications(ctx, w.Batch, w.Lease)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, w.Parallel)
	var wg sync.WaitGroup
	for _, m := range msgs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.deliver(ctx, m)
		}()
	}
	wg.Wait()
	return len(msgs), nil
}

func (w *Worker) deliver(ctx context.Context, m Message) {
	s, ok := w.Senders[m.Channel]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("channel %q is not configured on this server", m.Channel))
	} else {
		// An attempt must end before its lease does, or a second worker
		// would send the same message while the first is still at it.
		sendCtx, cancel := context.WithTimeout(ctx, min(30*time.Second, w.Lease*3/4))
		err = s.Send(sendCtx, m)
		cancel()
	}
	// A success is recorded even if ctx ended meanwhile, so a delivered
	// message is not sent again after the restart.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err == nil {
		if err := w.Queue.NotificationDelivered(rec, m.ID); err != nil {
			w.Log.Warn("record delivery", "notification", m.ID, "err", err)
		}
		return
	}
	if ctx.Err() != nil {
		// Shutting down cut the attempt short: not the receiver's fault,
		// and the lease hands the message back after a restart.
		return
	}
	w.Log.Info("notification not delivered", "notification", m.ID, "channel", m.Channel, "attempt", m.Attempt, "err", err)
	if err := w.Queue.NotificationFailed(rec, m.ID, truncate(err.Error(), 500), IsPermanent(err)); err != nil {
		w.Log.Warn("record failed delivery", "notification", m.ID, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
