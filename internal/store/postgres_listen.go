package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listening: every node keeps one connection that LISTENs for the other
// nodes' commits and republishes them to its own subscribers, so a browser
// on node C sees what a user on node A did. It is a pgx connection of its
// own, outside database/sql's pools: a pooled connection could be handed
// to a query while a notification waits on it.

const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// startListening connects the LISTEN connection (so a change committed by
// another node right after Open is heard) and keeps it up until stop.
func (s *Store) startListening(ctx context.Context, dsn string) error {
	conn, err := listenConn(ctx, dsn)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.listenLoop(lctx, dsn, conn)
	}()
	s.stopListen = func() {
		cancel()
		<-done
	}
	return nil
}

func listenConn(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("listen for other nodes' changes: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("listen for other nodes' changes: %w", err)
	}
	return conn, nil
}

// listenLoop republishes notifications until ctx ends. When the
// connection drops (a restart, a failover) it reconnects with backoff,
// and then tells subscribers to resync: whatever was committed while it
// was away was not heard.
func (s *Store) listenLoop(ctx context.Context, dsn string, conn *pgx.Conn) {
	w := s.w
	backoff := listenBackoffMin
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				break
			}
			hdr, cs, err := parseNotice(n.Payload)
			if err != nil || hdr.Node == w.node || hdr.Schema != w.schema {
				// Malformed (not ours to act on), this node's own (already
				// published after its commit), or another irdesk database's.
				continue
			}
			w.feed.publish(cs)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := listenConn(cctx, dsn)
		cancel()
		if err != nil {
			backoff = min(2*backoff, listenBackoffMax)
			continue
		}
		conn, backoff = c, listenBackoffMin
		w.feed.publish([]Change{{Resync: true}})
	}
}
