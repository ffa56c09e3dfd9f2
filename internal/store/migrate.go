package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations of a dialect in order. File
// names are NNNN_name.sql; the same names exist for every dialect.
func Migrations(dialectName string) ([]Migration, error) {
	dir := path.Join("migrations", dialectName)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", name)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d (no gaps, no duplicates)", m.Name, i+1)
		}
	}
	return out, nil
}

// ErrDatabaseNewer means the database was migrated by a newer irdesk; this
// binary must not touch it.
type ErrDatabaseNewer struct{ Database, Binary int }

func (e *ErrDatabaseNewer) Error() string {
	return fmt.Sprintf("the database is at schema version %d but this irdesk knows only up to %d: use a newer irdesk", e.Database, e.Binary)
}

// migrate applies every pending migration, each in its own transaction
// together with its bookkeeping row, and returns the names applied.
//
// With checkOnly it changes nothing and fails unless the schema is current.
func migrate(ctx context.Context, conn *sql.Conn, d dialect, now int64, checkOnly bool) ([]string, error) {
	ms, err := Migrations(d.name)
	if err != nil {
		return nil, err
	}
	if d.lockMigrations != "" {
		if _, err := conn.ExecContext(ctx, d.lockMigrations); err != nil {
			return nil, fmt.Errorf("lock migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), d.unlockMigrations)
	}
	if _, err := conn.ExecContext(ctx, d.migrationsTable); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if current > len(ms) {
		return nil, &ErrDatabaseNewer{Database: current, Binary: len(ms)}
	}
	if checkOnly {
		if current < len(ms) {
			return nil, fmt.Errorf("the database is at schema version %d, this irdesk expects %d: run irdesk migrate first", current, len(ms))
		}
		return nil, nil
	}
	var applied []string
	for _, m := range ms[current:] {
		if err := applyMigration(ctx, conn, d, m, now); err != nil {
			return applied, err
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, d dialect, m Migration, now int64) (err error) {
	if _, err := conn.ExecContext(ctx, d.beginWrite); err != nil {
		return fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := conn.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.Version, m.Name, now); err != nil {
		return fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return nil
}
