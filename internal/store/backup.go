package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
)

// SnapshotInfo is what a database snapshot holds that a backup needs to
// know: its schema version, the evidence files it names and a few counts
// for the report.
type SnapshotInfo struct {
	SchemaVersion int
	// Blobs are the SHA-256 names of the evidence files that the snapshot's
	// live (not purged) evidence items point to, sorted.
	Blobs     []string
	Incidents int64
	Alerts    int64
	Events    int64
}

// SnapshotSQLite writes a consistent copy of the SQLite database in
// dataDir to dst, which must not exist, while the server may be running
// and writing. It uses SQLite's online backup API in a single step: the
// pages are copied inside one read transaction, which in WAL mode is one
// snapshot that holds every commit made before it started and blocks no
// writer. The copy is a complete database file with no WAL beside it,
// not yet synced to disk.
func SnapshotSQLite(ctx context.Context, dataDir, dst string) (SnapshotInfo, error) {
	src := filepath.Join(dataDir, DBFileName)
	if _, err := os.Stat(src); err != nil {
		return SnapshotInfo{}, fmt.Errorf("no irdesk database in %s: %w", dataDir, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot target %s exists already", dst)
	}
	db, err := sql.Open("sqlite", sqliteDSN(src, readerConn))
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("open database %s: %w", src, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		bc, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver has no backup API")
		}
		b, err := bc.NewBackup(dst)
		if err != nil {
			return err
		}
		// -1: every page in one step, so one read transaction, one snapshot.
		if _, err := b.Step(-1); err != nil {
			b.Finish()
			return err
		}
		return b.Finish()
	})
	if err != nil {
		os.Remove(dst)
		return SnapshotInfo{}, fmt.Errorf("snapshot the database: %w", err)
	}
	// Not fsynced: the caller copies the snapshot into what it keeps and
	// syncs that; forcing this temporary copy to disk first would double
	// the writes the backup waits for.
	return InspectSnapshot(ctx, dst)
}

// InspectSnapshot reads a SnapshotInfo from a database file without
// changing it (no WAL, no migration): for a snapshot just taken and for
// one restored from an archive.
func InspectSnapshot(ctx context.Context, file string) (SnapshotInfo, error) {
	var info SnapshotInfo
	if _, err := os.Stat(file); err != nil {
		return info, err
	}
	// immutable: the file is a closed snapshot, so SQLite needs no lock
	// and no shared-memory file beside it.
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(file)+"?mode=ro&immutable=1")
	if err != nil {
		return info, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&info.SchemaVersion); err != nil {
		return info, fmt.Errorf("read the snapshot's schema version: %w", err)
	}
	for _, c := range []struct {
		table string
		n     *int64
	}{{"incidents", &info.Incidents}, {"alerts", &info.Alerts}, {"events", &info.Events}} {
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.table).Scan(c.n); err != nil {
			return info, fmt.Errorf("count %s in the snapshot: %w", c.table, err)
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT sha256 FROM evidence WHERE purged_at IS NULL ORDER BY sha256`)
	if err != nil {
		return info, fmt.Errorf("list the snapshot's evidence files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			return info, err
		}
		info.Blobs = append(info.Blobs, strings.ToLower(sha))
	}
	if err := rows.Err(); err != nil {
		return info, err
	}
	if info.SchemaVersion == 0 {
		return info, errors.New("the snapshot has no schema version: not an irdesk database")
	}
	return info, nil
}

// SchemaVersion is the schema version this binary brings databases to.
func SchemaVersion() int {
	ms, err := Migrations(sqliteDialect.name)
	if err != nil {
		return 0
	}
	return len(ms)
}
