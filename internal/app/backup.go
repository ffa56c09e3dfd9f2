package app

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/evidence"
	"github.com/irdesk/irdesk/internal/store"
)

// BackupFormat names the archive layout; restore refuses any other.
const BackupFormat = "irdesk-backup/1"

// manifestName is the archive's last entry: written after every file it
// lists, so that it can carry their hashes without a second pass.
const manifestName = "manifest.json"

// BackupManifest describes a backup archive.
type BackupManifest struct {
	Format        string       `json:"format"`
	IrdeskVersion string       `json:"irdesk_version"`
	SchemaVersion int          `json:"schema_version"`
	CreatedAt     time.Time    `json:"created_at"`
	Incidents     int64        `json:"incidents"`
	Alerts        int64        `json:"alerts"`
	Events        int64        `json:"events"`
	Files         []BackupFile `json:"files"`
}

// BackupFile is one file of the archive.
type BackupFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// BackupOptions tune a backup.
type BackupOptions struct {
	Gzip    bool
	Version string
	Now     func() time.Time
}

// Backup writes a consistent online backup of the SQLite data directory
// to the archive file out (a tar, gzipped if asked): a snapshot of the
// database taken while the server may be writing, the evidence files
// that snapshot names (content-addressed and never modified, so copying
// them after the snapshot is consistent) and a manifest with the SHA-256
// of each. The archive appears under its name only once complete.
func Backup(ctx context.Context, dataDir, out string, opts BackupOptions) (BackupManifest, error) {
	var m BackupManifest
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if _, err := os.Lstat(out); err == nil {
		return m, fmt.Errorf("%s exists already; choose a new file name", out)
	}
	// The snapshot goes beside the archive: the same file system, which
	// has to hold a copy of the database anyway.
	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".irdesk-backup-")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	snap := filepath.Join(tmpDir, store.DBFileName)
	m.CreatedAt = opts.Now().UTC().Truncate(time.Second)
	info, err := store.SnapshotSQLite(ctx, dataDir, snap)
	if err != nil {
		return m, err
	}
	m.Format, m.IrdeskVersion, m.SchemaVersion = BackupFormat, opts.Version, info.SchemaVersion
	m.Incidents, m.Alerts, m.Events = info.Incidents, info.Alerts, info.Events

	tmpOut := filepath.Join(tmpDir, "archive")
	f, err := os.OpenFile(tmpOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var gz *gzip.Writer
	if opts.Gzip {
		// BestSpeed: a database compresses well already at the fastest
		// level, and the backup runs while the desk works.
		gz, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		w = gz
	}
	tw := tar.NewWriter(w)
	add := func(name, src string, wantSHA string) error {
		file, err := addFile(ctx, tw, name, src, m.CreatedAt)
		if err != nil {
			return err
		}
		if wantSHA != "" && file.SHA256 != wantSHA {
			return fmt.Errorf("evidence file %s does not match its name (its content hashes to %s): run irdesk evidence verify", wantSHA, file.SHA256)
		}
		m.Files = append(m.Files, file)
		return nil
	}
	if err := add(store.DBFileName, snap, ""); err != nil {
		return m, err
	}
	locker := evidence.New(EvidenceDir(dataDir), 0)
	for _, sha := range info.Blobs {
		p, err := locker.Path(sha)
		if err != nil {
			return m, fmt.Errorf("the snapshot names an evidence file %q that is not a SHA-256", sha)
		}
		if err := add(blobArchivePath(sha), p, sha); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return m, fmt.Errorf("evidence file %s is named by the database but missing from %s (purged during the backup? run it again; else run irdesk evidence verify)", sha, locker.Root())
			}
			return m, err
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
		return m, err
	}
	if _, err := tw.Write(mb); err != nil {
		return m, err
	}
	if err := tw.Close(); err != nil {
		return m, err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return m, err
		}
	}
	if err := bw.Flush(); err != nil {
		return m, fmt.Errorf("write %s: %w", out, err)
	}
	if err := f.Sync(); err != nil {
		return m, fmt.Errorf("write %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return m, fmt.Errorf("write %s: %w", out, err)
	}
	// Link, not rename: it fails rather than replace a file that appeared
	// at out meanwhile.
	if err := os.Link(tmpOut, out); err != nil {
		return m, fmt.Errorf("write %s: %w", out, err)
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return m, nil
}

// blobArchivePath is where an evidence file goes in the archive: the same
// place, relative to the data directory, as in the locker.
func blobArchivePath(sha string) string {
	return path.Join("evidence", "sha256", sha[:2], sha[2:])
}

func addFile(ctx context.Context, tw *tar.Writer, name, src string, mod time.Time) (BackupFile, error) {
	f, err := os.Open(src)
	if err != nil {
		return BackupFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return BackupFile{}, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return BackupFile{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), &ctxReader{ctx: ctx, r: f})
	if err != nil {
		return BackupFile{}, fmt.Errorf("archive %s: %w", name, err)
	}
	if n != st.Size() {
		return BackupFile{}, fmt.Errorf("archive %s: it changed size while being copied", name)
	}
	return BackupFile{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// RestoreError names the archive file at fault.
type RestoreError struct {
	File   string
	Reason string
}

func (e *RestoreError) Error() string {
	if e.File == "" {
		return e.Reason
	}
	return e.File + ": " + e.Reason
}

// maxManifest bounds the manifest read into memory: tens of bytes per
// file, so this is millions of evidence files.
const maxManifest = 256 << 20

// Restore unpacks the backup archive from into dataDir, which must not
// exist or be empty, and checks every file against the manifest's size
// and SHA-256. It refuses any entry the format does not have (so no name
// can write outside dataDir) and a schema newer than this binary knows.
// On any failure it removes what it wrote, leaving dataDir as it found
// it. It does not verify the audit chain or the evidence: the caller runs
// those on the restored directory.
func Restore(ctx context.Context, from, dataDir string) (m BackupManifest, err error) {
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		return m, fmt.Errorf("%s is not empty: restore only into a new or empty directory", dataDir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	created := false
	if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
		created = true
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return m, err
	}
	defer func() {
		if err == nil {
			return
		}
		if created {
			os.RemoveAll(dataDir)
			return
		}
		entries, _ := os.ReadDir(dataDir)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(dataDir, e.Name()))
		}
	}()
	f, err := os.Open(from)
	if err != nil {
		return m, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return m, &RestoreError{File: from, Reason: "not a readable gzip stream: " + err.Error()}
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	got := map[string]BackupFile{}
	var manifest []byte
	last := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, &RestoreError{File: from, Reason: fmt.Sprintf("the archive is damaged after %q: %v", last, err)}
		}
		name := hdr.Name
		last = name
		if hdr.Typeflag != tar.TypeReg {
			return m, &RestoreError{File: name, Reason: "not a regular file; an irdesk backup holds only files"}
		}
		if _, dup := got[name]; dup || (name == manifestName && manifest != nil) {
			return m, &RestoreError{File: name, Reason: "appears twice in the archive"}
		}
		if name == manifestName {
			manifest, err = io.ReadAll(io.LimitReader(tr, maxManifest+1))
			if err != nil {
				return m, &RestoreError{File: name, Reason: "unreadable: " + err.Error()}
			}
			if len(manifest) > maxManifest {
				return m, &RestoreError{File: name, Reason: "too large"}
			}
			continue
		}
		dst, mode, ok := restorePath(dataDir, name)
		if !ok {
			return m, &RestoreError{File: name, Reason: "not a file an irdesk backup holds"}
		}
		file, err := writeRestored(ctx, tr, dst, mode)
		if err != nil {
			return m, &RestoreError{File: name, Reason: err.Error()}
		}
		file.Path = name
		got[name] = file
	}
	if manifest == nil {
		return m, &RestoreError{File: manifestName, Reason: "missing: the archive is incomplete or not an irdesk backup"}
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return m, &RestoreError{File: manifestName, Reason: "not valid JSON: " + err.Error()}
	}
	if m.Format != BackupFormat {
		return m, &RestoreError{File: manifestName, Reason: fmt.Sprintf("format %q, this irdesk reads %q", m.Format, BackupFormat)}
	}
	if bin := store.SchemaVersion(); m.SchemaVersion > bin {
		return m, &RestoreError{File: manifestName, Reason: fmt.Sprintf("schema version %d is newer than this irdesk's %d: restore with a newer irdesk", m.SchemaVersion, bin)}
	}
	listed := map[string]bool{}
	for _, want := range m.Files {
		listed[want.Path] = true
		have, ok := got[want.Path]
		switch {
		case !ok:
			return m, &RestoreError{File: want.Path, Reason: "listed in the manifest but missing from the archive"}
		case have.Size != want.Size:
			return m, &RestoreError{File: want.Path, Reason: fmt.Sprintf("%d bytes, the manifest says %d: the archive is corrupted", have.Size, want.Size)}
		case have.SHA256 != want.SHA256:
			return m, &RestoreError{File: want.Path, Reason: fmt.Sprintf("SHA-256 %s, the manifest says %s: the archive is corrupted", have.SHA256, want.SHA256)}
		}
	}
	for name := range got {
		if !listed[name] {
			return m, &RestoreError{File: name, Reason: "in the archive but not in its manifest"}
		}
	}
	if !listed[store.DBFileName] {
		return m, &RestoreError{File: store.DBFileName, Reason: "missing: the archive holds no database"}
	}
	info, err := store.InspectSnapshot(ctx, filepath.Join(dataDir, store.DBFileName))
	if err != nil {
		return m, &RestoreError{File: store.DBFileName, Reason: err.Error()}
	}
	if info.SchemaVersion != m.SchemaVersion {
		return m, &RestoreError{File: store.DBFileName, Reason: fmt.Sprintf("schema version %d, the manifest says %d", info.SchemaVersion, m.SchemaVersion)}
	}
	return m, nil
}

// restorePath maps an archive name to its place in the data directory,
// accepting only the names a backup writes.
func restorePath(dataDir, name string) (string, os.FileMode, bool) {
	if name == store.DBFileName {
		return filepath.Join(dataDir, store.DBFileName), 0o600, true
	}
	rest, ok := strings.CutPrefix(name, "evidence/sha256/")
	if !ok || len(rest) != 65 || rest[2] != '/' {
		return "", 0, false
	}
	sha := rest[:2] + rest[3:]
	if !evidence.ValidSHA256(sha) {
		return "", 0, false
	}
	p, err := evidence.New(EvidenceDir(dataDir), 0).Path(sha)
	if err != nil {
		return "", 0, false
	}
	// Evidence is read-only on disk, as the locker writes it.
	return p, 0o440, true
}

func writeRestored(ctx context.Context, r io.Reader, dst string, mode os.FileMode) (BackupFile, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return BackupFile{}, err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return BackupFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), &ctxReader{ctx: ctx, r: r})
	if err != nil {
		return BackupFile{}, fmt.Errorf("the archive is damaged here: %w", err)
	}
	if err := f.Sync(); err != nil {
		return BackupFile{}, err
	}
	if err := f.Close(); err != nil {
		return BackupFile{}, err
	}
	if err := os.Chmod(dst, mode); err != nil {
		return BackupFile{}, err
	}
	return BackupFile{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
