package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	// pgx through database/sql: the well-kept pure-Go PostgreSQL driver,
	// so the same *sql.DB code serves both databases and CGO stays off.
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/irdesk/irdesk/internal/search"
)

// postgresDialect is PostgreSQL, where several nodes write to one database.
var postgresDialect = dialect{
	name: "postgres",
	// READ COMMITTED, so that once a transaction holds the audit head
	// (headLock), each statement sees everything the node before it
	// committed; REPEATABLE READ would see a snapshot from before the wait.
	beginWrite: "BEGIN ISOLATION LEVEL READ COMMITTED",
	rebind:     pgRebind,
	// FOR UPDATE makes every write transaction of every node wait its turn
	// on the one audit_head row, as BEGIN IMMEDIATE does on SQLite: the
	// chain stays one line and incident keys unique. The row exists from
	// the first migration on, so there is always something to lock.
	headLock:  headSelect + ` FOR UPDATE`,
	textMatch: `f.tsv @@ to_tsquery('simple', ?)`,
	textQuery: pgTextQuery,
	// A claim takes rows another node's worker holds without waiting.
	skipLocked: ` FOR UPDATE SKIP LOCKED`,
	// A read transaction at REPEATABLE READ sees one snapshot throughout.
	snapshot: &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
	// Nodes that start together must not both apply a migration: the
	// loser would fail half-way. The number is "irdesk" in ASCII.
	lockMigrations:   `SELECT pg_advisory_lock(115940031558507)`,
	unlockMigrations: `SELECT pg_advisory_unlock(115940031558507)`,
}

// pgRebind turns the ? placeholders of the common SQL into PostgreSQL's
// $1, $2..., leaving string literals, quoted names and comments alone.
func pgRebind(q string) string {
	if strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'', '"':
			// Copy through the closing quote; a doubled quote inside is
			// just a close followed by an open, which this handles too.
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
			continue
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				end := strings.IndexByte(q[i:], '\n')
				if end < 0 {
					b.WriteString(q[i:])
					return b.String()
				}
				b.WriteString(q[i : i+end])
				i += end - 1
				continue
			}
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// pgTextQuery builds the text of a tsquery (for to_tsquery('simple', ...))
// in which every term must match. The terms are package search's, already
// cut and folded; each is quoted, so that to_tsquery treats it as the one
// word it is and reads it as the index's to_tsvector did.
func pgTextQuery(terms []search.Term) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('\'')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(t.Text))
		b.WriteByte('\'')
		if t.Prefix {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// isPGUniqueViolation tells a PostgreSQL unique_violation by its SQLSTATE.
func isPGUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// IsPostgresURL reports whether a --db value names a PostgreSQL database
// (postgres:// or postgresql://), the only kind --db takes so far.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// OpenPostgres opens the PostgreSQL database at dsn (a postgres:// URL or
// key=value string) and brings its schema up to date. Several irdesk
// nodes may open the same database at once.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Readers <= 0 {
		opts.Readers = 8
	}
	writeDB, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// One connection carries this node's group commit, as on SQLite;
	// more would only queue on the audit head lock.
	writeDB.SetMaxOpenConns(1)
	writeDB.SetConnMaxIdleTime(0)
	writeDB.SetConnMaxLifetime(0)
	conn, err := writeDB.Conn(ctx)
	if err != nil {
		writeDB.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s := &Store{d: postgresDialect, writeDB: writeDB}
	fail := func(err error) (*Store, error) {
		conn.Close()
		writeDB.Close()
		if s.readDB != nil {
			s.readDB.Close()
		}
		return nil, err
	}
	if _, err := migrate(ctx, conn, s.d, micros(opts.Now()), opts.Existing); err != nil {
		return fail(err)
	}
	s.readDB, err = sql.Open("pgx", dsn)
	if err != nil {
		return fail(fmt.Errorf("open database: %w", err))
	}
	s.readDB.SetMaxOpenConns(opts.Readers)
	s.readDB.SetMaxIdleConns(opts.Readers)
	s.reader = reader{q: &stmtCache{db: s.readDB}, d: s.d}
	s.w, err = newWriter(ctx, conn, s.d, opts, "", writeDB.Conn)
	if err != nil {
		return fail(err)
	}
	// Commands that only inspect (Existing) have no live views to feed.
	if !opts.Existing {
		if err := s.startListening(ctx, dsn); err != nil {
			s.w.close()
			return fail(err)
		}
	}
	return s, nil
}

// MigratePostgres applies pending migrations to the PostgreSQL database
// at dsn and returns the names of those applied.
func MigratePostgres(ctx context.Context, dsn string, now time.Time) ([]string, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close()
	return migrate(ctx, conn, postgresDialect, micros(now), false)
}
