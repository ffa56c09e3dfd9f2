package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/irdesk/irdesk/internal/audit"
)

// ErrTargetNotEmpty means the PostgreSQL database of a copy holds irdesk
// data already; a copy never merges into or overwrites it.
var ErrTargetNotEmpty = errors.New("the target database already holds irdesk data")

// CopiedTable is one table a copy moved and how many rows it holds.
type CopiedTable struct {
	Name string
	Rows int64
}

// CopyResult is what CopyToPostgres moved and verified.
type CopyResult struct {
	Tables []CopiedTable
	// Events is the length of the audit chain verified on the target.
	Events int64
}

// copyExcluded are tables a copy does not move row by row: each database
// keeps its own migration record, and the chain head is set separately.
var copyExcluded = []string{"schema_migrations", "audit_head"}

// CopyToPostgres moves every row of the SQLite database file at
// sqlitePath into the PostgreSQL database at dsn (migrated first if need
// be), in one transaction: ids, the audit chain and its head, incident key
// sequences and evidence records arrive as they are. The target must hold
// no irdesk data (ErrTargetNotEmpty). Afterwards it compares every table's
// row count and verifies the audit chain on the target.
//
// The source is read in one snapshot, so a server still writing to it
// does not tear the copy; what it writes after the snapshot is not copied.
func CopyToPostgres(ctx context.Context, sqlitePath, dsn string, now time.Time) (*CopyResult, error) {
	return copyToPostgres(ctx, sqlitePath, dsn, now, false)
}

// CopyToPostgresReplacing is CopyToPostgres onto a target that may hold
// irdesk data: every irdesk table there, the audit trail included, is
// emptied first, in the copy's own transaction, so a copy that fails
// leaves the target as it was. It is for re-running a migration that
// went wrong, never for merging.
func CopyToPostgresReplacing(ctx context.Context, sqlitePath, dsn string, now time.Time) (*CopyResult, error) {
	return copyToPostgres(ctx, sqlitePath, dsn, now, true)
}

func copyToPostgres(ctx context.Context, sqlitePath, dsn string, now time.Time, replace bool) (*CopyResult, error) {
	if _, err := os.Stat(sqlitePath); err != nil {
		return nil, fmt.Errorf("no irdesk database at %s: %w", sqlitePath, err)
	}
	srcDB, err := sql.Open("sqlite", sqliteDSN(sqlitePath, readerConn))
	if err != nil {
		return nil, err
	}
	defer srcDB.Close()
	src, err := srcDB.BeginTx(ctx, sqliteDialect.snapshot)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", sqlitePath, err)
	}
	defer src.Rollback()
	ms, err := Migrations(sqliteDialect.name)
	if err != nil {
		return nil, err
	}
	var version int
	if err := src.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return nil, fmt.Errorf("read the schema version of %s: %w", sqlitePath, err)
	}
	if version != len(ms) {
		return nil, fmt.Errorf("%s is at schema version %d, this irdesk expects %d: open it with this irdesk once (irdesk migrate) before copying", sqlitePath, version, len(ms))
	}
	if _, err := MigratePostgres(ctx, dsn, now); err != nil {
		return nil, err
	}
	tables, err := copyOrder(ctx, src)
	if err != nil {
		return nil, err
	}

	dstDB, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	defer dstDB.Close()
	conn, err := dstDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close()
	if err := checkSameTables(ctx, conn, tables); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, postgresDialect.beginWrite); err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	// Holding the head keeps any node that is already running from writing
	// while the copy fills the database.
	var headID int64
	var headHash string
	if err := conn.QueryRowContext(ctx, postgresDialect.headLock).Scan(&headID, &headHash); err != nil {
		return nil, fmt.Errorf("lock the audit head: %w", err)
	}
	if replace {
		if err := emptyTarget(ctx, conn, tables); err != nil {
			return nil, err
		}
	}
	if headID != 0 && !replace {
		return nil, fmt.Errorf("%w: its audit chain has %d events", ErrTargetNotEmpty, headID)
	}
	for _, t := range tables {
		var has bool
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t.name}.Sanitize()+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("look into %s: %w", t.name, err)
		}
		if has {
			return nil, fmt.Errorf("%w: table %s has rows", ErrTargetNotEmpty, t.name)
		}
	}

	res := &CopyResult{}
	for _, t := range tables {
		// A table kept by triggers (incident_systems) was filled as its
		// source rows arrived; the source's copy of it is the one to keep.
		if _, err := conn.ExecContext(ctx, `DELETE FROM `+pgx.Identifier{t.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("empty %s: %w", t.name, err)
		}
		n, err := copyTable(ctx, src, conn, t)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t.name, err)
		}
		res.Tables = append(res.Tables, CopiedTable{Name: t.name, Rows: n})
	}
	srcHead, err := loadHead(ctx, src, headSelect)
	if err != nil {
		return nil, fmt.Errorf("read the audit head of %s: %w", sqlitePath, err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE audit_head SET event_id = $1, hash = $2 WHERE id = 1`, srcHead.id, srcHead.hash); err != nil {
		return nil, fmt.Errorf("record the audit head: %w", err)
	}
	// Ids were copied as they are; the identity sequences must continue
	// after them, or the next insert would collide.
	if err := resetIdentities(ctx, conn); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	committed = true

	// Verify from what is now stored, not from what was sent.
	for _, t := range res.Tables {
		var n int64
		if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{t.Name}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.Name, err)
		}
		if n != t.Rows {
			return nil, fmt.Errorf("verify: %s has %d rows in PostgreSQL, %d in SQLite", t.Name, n, t.Rows)
		}
	}
	st, err := OpenPostgres(ctx, dsn, Options{Existing: true, Readers: 1})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	v := audit.NewVerifier()
	id, hash, err := st.ScanEvents(ctx, v.Next)
	if err != nil {
		return nil, fmt.Errorf("verify the audit chain: %w", err)
	}
	if err := v.Finish(id, hash); err != nil {
		return nil, fmt.Errorf("verify the audit chain: %w", err)
	}
	if id != srcHead.id || hash != srcHead.hash {
		return nil, fmt.Errorf("verify: the audit head is event %d in PostgreSQL, %d in SQLite", id, srcHead.id)
	}
	res.Events = v.Count()
	return res, nil
}

// copyTableSpec is a source table and the columns a copy moves.
type copyTableSpec struct {
	name string
	cols []string
}

// copyOrder lists the source's tables with their columns, every table
// after the tables its foreign keys point at, so that each row's
// references exist when it arrives.
func copyOrder(ctx context.Context, src *sql.Tx) ([]copyTableSpec, error) {
	rows, err := src.QueryContext(ctx, `SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var all []string
	virtual := map[string]bool{}
	for rows.Next() {
		var n, ddl string
		if err := rows.Scan(&n, &ddl); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, n)
		virtual[n] = strings.HasPrefix(strings.ToUpper(ddl), "CREATE VIRTUAL TABLE")
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// SQLite's own tables and the shadow tables behind a full-text index
	// are the database's business, not data.
	shadow := func(n string) bool {
		for v, ok := range virtual {
			if ok && strings.HasPrefix(n, v+"_") && slices.Contains([]string{"data", "idx", "content", "docsize", "config"}, n[len(v)+1:]) {
				return true
			}
		}
		return false
	}
	var names []string
	for _, n := range all {
		if strings.HasPrefix(n, "sqlite_") || shadow(n) || slices.Contains(copyExcluded, n) {
			continue
		}
		names = append(names, n)
	}
	specs := map[string]copyTableSpec{}
	deps := map[string][]string{}
	for _, n := range names {
		cols, err := queryStrings(ctx, src, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", n, err)
		}
		if virtual[n] {
			// A full-text table's rowid is the id of the row it indexes.
			cols = append([]string{"rowid"}, cols...)
		} else if deps[n], err = queryStrings(ctx, src, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n); err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", n, err)
		}
		specs[n] = copyTableSpec{name: n, cols: cols}
	}
	var out []copyTableSpec
	done := map[string]bool{}
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		if done[n] {
			return nil
		}
		if slices.Contains(path, n) {
			return fmt.Errorf("foreign keys form a cycle: %s", strings.Join(append(path, n), " -> "))
		}
		for _, d := range deps[n] {
			if d == n {
				continue
			}
			if _, ok := specs[d]; !ok {
				return fmt.Errorf("table %s refers to %s, which the source does not have", n, d)
			}
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		done[n] = true
		out = append(out, specs[n])
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// checkSameTables makes sure the target has exactly the source's tables
// and columns (generated ones aside): both are at the same schema version,
// so a difference means one migration differs between the dialects.
func checkSameTables(ctx context.Context, conn *sql.Conn, tables []copyTableSpec) error {
	dst, err := queryStrings(ctx, conn, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return err
	}
	var srcNames []string
	for _, t := range tables {
		srcNames = append(srcNames, t.name)
		cols, err := queryStrings(ctx, conn, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'`, t.name)
		if err != nil {
			return err
		}
		a, b := slices.Sorted(slices.Values(t.cols)), slices.Sorted(slices.Values(cols))
		if !slices.Equal(a, b) {
			return fmt.Errorf("table %s has columns %q in SQLite but %q in PostgreSQL", t.name, a, b)
		}
	}
	dst = slices.DeleteFunc(dst, func(n string) bool { return slices.Contains(copyExcluded, n) })
	slices.Sort(srcNames)
	if !slices.Equal(srcNames, dst) {
		return fmt.Errorf("the databases have different tables:\nSQLite     %q\nPostgreSQL %q", srcNames, dst)
	}
	return nil
}

// copyTable streams one table into PostgreSQL with COPY and returns how
// many rows it moved.
func copyTable(ctx context.Context, src *sql.Tx, conn *sql.Conn, t copyTableSpec) (int64, error) {
	quoted := make([]string, len(t.cols))
	for i, c := range t.cols {
		quoted[i] = `"` + c + `"`
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+t.name+`"`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	next := func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		return vals, nil
	}
	var n int64
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the PostgreSQL connection is a %T, not pgx's", dc)
		}
		var err error
		n, err = pc.Conn().CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(next))
		return err
	})
	return n, err
}

// resetIdentities moves every identity column's sequence past the largest
// id in its table.
func resetIdentities(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	var idents [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		idents = append(idents, [2]string{t, c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, tc := range idents {
		table, col := pgx.Identifier{tc[0]}.Sanitize(), pgx.Identifier{tc[1]}.Sanitize()
		if _, err := conn.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), (SELECT COALESCE(MAX(`+col+`), 0) FROM `+table+`) + 1, false)`,
			table, tc[1]); err != nil {
			return fmt.Errorf("continue the ids of %s: %w", tc[0], err)
		}
	}
	return nil
}

// emptyTarget truncates every table a copy fills. The append-only tables
// (events, evidence...) refuse TRUNCATE by triggers; those are set aside
// for this one statement, inside the transaction, and are back in force
// before anything else can see the tables.
func emptyTarget(ctx context.Context, conn *sql.Conn, tables []copyTableSpec) error {
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		names = append(names, pgx.Identifier{t.name}.Sanitize())
	}
	if len(names) == 0 {
		return nil
	}
	var qs []string
	for _, n := range names {
		qs = append(qs, `ALTER TABLE `+n+` DISABLE TRIGGER USER`)
	}
	qs = append(qs, `TRUNCATE `+strings.Join(names, ", ")+` CASCADE`)
	for _, n := range names {
		qs = append(qs, `ALTER TABLE `+n+` ENABLE TRIGGER USER`)
	}
	qs = append(qs, `UPDATE audit_head SET event_id = 0, hash = '`+audit.Genesis+`' WHERE id = 1`)
	for _, q := range qs {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("empty the target: %w", err)
		}
	}
	return nil
}
