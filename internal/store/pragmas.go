package store

import (
	"context"
	"database/sql"
	"fmt"
)

// pragmaNames are the per-connection settings sqliteDSN sets.
var pragmaNames = []string{"busy_timeout", "journal_mode", "foreign_keys", "synchronous", "query_only"}

func readPragmas(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (map[string]string, error) {
	out := make(map[string]string, len(pragmaNames))
	for _, name := range pragmaNames {
		var v string
		if err := q.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			return nil, fmt.Errorf("pragma %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

// Pragmas reports the SQLite settings of one connection of the read pool
// (busy_timeout, journal_mode, foreign_keys, synchronous, query_only), so
// a test or a health check can see that the DSN took effect. SQLite only.
func (s *Store) Pragmas(ctx context.Context) (map[string]string, error) {
	conn, err := s.readDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return readPragmas(ctx, conn)
}

// Pragmas reports the same settings for the write connection.
func (tx *Tx) Pragmas(ctx context.Context) (map[string]string, error) {
	// fn runs on the writer's goroutine, which owns the connection.
	return readPragmas(ctx, tx.w.conn)
}
