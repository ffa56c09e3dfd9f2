// Package evidence keeps evidence files: content-addressed blobs under the
// data directory, written once by streaming and never changed. It knows
// files and hashes, not who may see them or which incident they belong to.
package evidence

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultMaxSize is the largest file accepted unless configured otherwise:
// a disk image of a laptop partition or a week of proxy logs fits.
const DefaultMaxSize int64 = 10 << 30

// File modes. Blobs are read-only for everyone, so a slip with an editor
// or a script on the server cannot change evidence in place.
const (
	blobMode os.FileMode = 0o440
	dirMode  os.FileMode = 0o750
)

// ErrTooLarge means an upload went past the maximum size. Nothing of it
// was kept.
var ErrTooLarge = errors.New("evidence file too large")

// ErrMissing means a blob that should be stored is not on disk.
var ErrMissing = errors.New("evidence file missing")

// TooLargeError carries the limit that was exceeded.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the file is larger than the maximum of %s", FormatSize(e.Limit))
}

// Unwrap makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Blob is a stored file's identity.
type Blob struct {
	SHA256 string `json:"sha256"`
	SHA1   string `json:"sha1"`
	MD5    string `json:"md5"`
	Size   int64  `json:"size"`
	// Existed says the content was stored already (by an earlier upload).
	Existed bool `json:"-"`
}

// Store is a directory of blobs: <root>/sha256/ab/cdef… (the SHA-256 in
// hex, split after two characters so no directory grows past 256 entries
// at the first level). Uploads are written to <root>/tmp first, on the
// same file system, so the rename into place is atomic.
type Store struct {
	root    string
	maxSize int64
}

// New returns the store rooted at dir. It touches nothing on disk until
// the first write, so opening a data directory for a read stays a read.
// maxSize <= 0 means DefaultMaxSize.
func New(dir string, maxSize int64) *Store {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Store{root: dir, maxSize: maxSize}
}

// MaxSize is the largest file Write accepts.
func (s *Store) MaxSize() int64 { return s.maxSize }

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// ValidSHA256 reports whether h is a lower-case hex SHA-256, the only form
// a blob name takes: it is what keeps a caller's string out of the path.
func ValidSHA256(h string) bool {
	if len(h) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Path is where the blob with this SHA-256 lives.
func (s *Store) Path(sha string) (string, error) {
	if !ValidSHA256(sha) {
		return "", fmt.Errorf("%q is not a SHA-256", sha)
	}
	return filepath.Join(s.root, "sha256", sha[:2], sha[2:]), nil
}

// Write streams r into the store while computing SHA-256, SHA-1 and MD5
// in the same pass, and puts the blob in place. The content goes to a
// temporary file that is fsynced, made read-only and renamed into place,
// and the directory is fsynced, so a blob that Write returned survives a
// crash. Content stored already is kept as it is and the copy is dropped.
// More than MaxSize bytes fail with a *TooLargeError; any failure leaves
// no file behind. Memory use does not depend on the size of the stream.
//
// commit is where the caller records the blob (commits the row that names
// it). It runs under the store's lock, held shared from before the blob is
// put in place or found existing until commit returns, so a purge cannot
// delete the file in between: once commit has returned nil, the record
// naming the blob is what keeps it. Write returns commit's error as it is,
// with the blob (which stays stored, unreferenced: another upload may have
// found it meanwhile). A nil commit records nothing, and the blob may be
// purged as soon as Write returns. Uploads do not wait for each other.
func (s *Store) Write(ctx context.Context, r io.Reader, commit func(Blob) error) (Blob, error) {
	tmpDir := filepath.Join(s.root, "tmp")
	if err := os.MkdirAll(tmpDir, dirMode); err != nil {
		return Blob{}, fmt.Errorf("evidence directory: %w", err)
	}
	f, err := os.CreateTemp(tmpDir, "upload-*")
	if err != nil {
		return Blob{}, fmt.Errorf("evidence temporary file: %w", err)
	}
	tmp := f.Name()
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h256, h1, h5 := sha256.New(), sha1.New(), md5.New()
	w := newFanout(f, h256, h1, h5)
	// One byte past the limit tells "exactly the limit" from "more".
	n, err := copyChunks(w, &ctxReader{ctx: ctx, r: io.LimitReader(r, s.maxSize+1)})
	w.close()
	if err != nil {
		return Blob{}, fmt.Errorf("store evidence: %w", err)
	}
	if n > s.maxSize {
		return Blob{}, &TooLargeError{Limit: s.maxSize}
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("store evidence: fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("store evidence: %w", err)
	}
	b := Blob{SHA256: hex.EncodeToString(h256.Sum(nil)), SHA1: hex.EncodeToString(h1.Sum(nil)),
		MD5: hex.EncodeToString(h5.Sum(nil)), Size: n}
	// Only now, with the content on disk: the lock is held for a rename
	// and a commit, not for the upload of gigabytes.
	release, err := s.lock(ctx, false)
	if err != nil {
		return Blob{}, fmt.Errorf("store evidence: %w", err)
	}
	// Deferred, so a commit that panics lets the lock go too.
	defer release()
	if b.Existed, err = s.place(tmp, b.SHA256); err != nil {
		return Blob{}, fmt.Errorf("store evidence: %w", err)
	}
	keep = !b.Existed
	if commit != nil {
		if err := commit(b); err != nil {
			return b, err
		}
	}
	return b, nil
}

// place renames the temporary file tmp to the blob's path, or reports
// that the blob is there already (and tmp is to be dropped). The caller
// holds the lock.
func (s *Store) place(tmp, sha string) (existed bool, err error) {
	dst, err := s.Path(sha)
	if err != nil {
		return false, err
	}
	if _, err := os.Lstat(dst); err == nil {
		return true, nil
	}
	dir := filepath.Dir(dst)
	if err := mkdirSynced(dir); err != nil {
		return false, err
	}
	if err := os.Chmod(tmp, blobMode); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return false, err
	}
	if err := syncDir(dir); err != nil {
		// The blob is in place; only its directory entry may not be
		// durable yet. Failing lets the caller record nothing.
		return false, fmt.Errorf("fsync directory: %w", err)
	}
	return false, nil
}

// mkdirSynced creates dir (and <root>/sha256 above it) if needed, and
// fsyncs the parent of each directory it created, so that the directory
// entry of a new fan-out directory is as durable as the blob in it.
func mkdirSynced(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := mkdirSynced(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy once ctx is done: a client that went away must
// not keep a 10 GiB copy running.
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

// Open opens a blob for reading. A blob that is not there is ErrMissing.
func (s *Store) Open(sha string) (*os.File, error) {
	p, err := s.Path(sha)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: sha256 %s", ErrMissing, sha)
	}
	return f, err
}

// Hash re-reads a stored blob and returns what it hashes to now. A blob
// that is not there is ErrMissing.
func (s *Store) Hash(ctx context.Context, sha string) (Blob, error) {
	f, err := s.Open(sha)
	if err != nil {
		return Blob{}, err
	}
	defer f.Close()
	h256, h1, h5 := sha256.New(), sha1.New(), md5.New()
	w := newFanout(h256, h1, h5)
	n, err := copyChunks(w, &ctxReader{ctx: ctx, r: f})
	w.close()
	if err != nil {
		return Blob{}, fmt.Errorf("read evidence %s: %w", sha, err)
	}
	return Blob{SHA256: hex.EncodeToString(h256.Sum(nil)), SHA1: hex.EncodeToString(h1.Sum(nil)),
		MD5: hex.EncodeToString(h5.Sum(nil)), Size: n, Existed: true}, nil
}

// Purge removes a blob unless inUse says that something still names it.
// Only the retention command calls it, after the rows that referenced the
// blob were marked purged. inUse runs under the store's lock, held
// exclusive until the file is gone, so no upload can find the blob (or put
// it in place) and commit a record naming it between the answer and the
// removal. removed is false if the blob is in use or gone already (not an
// error, so an interrupted purge can run again).
func (s *Store) Purge(ctx context.Context, sha string, inUse func(context.Context) (bool, error)) (removed bool, err error) {
	p, err := s.Path(sha)
	if err != nil {
		return false, err
	}
	if inUse == nil {
		return false, errors.New("purge evidence: no check whether the file is still in use")
	}
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		// Removed by an earlier run. An upload that puts it back now
		// records it, and nothing here deletes it: no lock needed.
		return false, nil
	}
	release, err := s.lock(ctx, true)
	if err != nil {
		return false, fmt.Errorf("purge evidence %s: %w", sha, err)
	}
	defer release()
	used, err := inUse(ctx)
	if err != nil || used {
		return false, err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("purge evidence %s: %w", sha, err)
	}
	return true, syncDir(filepath.Dir(p))
}

// CleanTemp removes temporary files older than age, which an upload that
// was killed mid-way leaves behind. Younger ones may be uploads running
// right now in this or another process.
func (s *Store) CleanTemp(age time.Duration, now time.Time) (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, "tmp"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !strings.HasPrefix(e.Name(), "upload-") || now.Sub(info.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(s.root, "tmp", e.Name())) == nil {
			n++
		}
	}
	return n, nil
}

// Stored lists the SHA-256 of every blob on disk, sorted. Files in the
// blob tree that are not named like a blob are reported as strays.
func (s *Store) Stored(ctx context.Context) (blobs []string, strays []string, err error) {
	base := filepath.Join(s.root, "sha256")
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == base {
				return filepath.SkipDir
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(base, p)
		rel = filepath.ToSlash(rel)
		sha := strings.Replace(rel, "/", "", 1)
		if strings.IndexByte(rel, '/') == 2 && ValidSHA256(sha) {
			blobs = append(blobs, sha)
		} else {
			strays = append(strays, p)
		}
		return nil
	})
	sort.Strings(blobs)
	return blobs, strays, err
}

// Problem kinds a verification reports.
const (
	ProblemMismatch     = "mismatch"     // the file hashes to something else now
	ProblemMissing      = "missing"      // a stored file is not on disk
	ProblemUnreferenced = "unreferenced" // a file on disk that no record names
)

// Problem is one thing wrong in the store.
type Problem struct {
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Detail string `json:"detail"`
}

// Want is a blob that records say should be stored, with its size.
type Want struct {
	SHA256 string
	Size   int64
}

// Report is the outcome of Verify.
type Report struct {
	Checked  int       `json:"checked"`
	Bytes    int64     `json:"bytes"`
	Problems []Problem `json:"problems"`
}

// Failed reports whether anything is missing or altered. Unreferenced
// files alone do not fail a verification: an upload whose record could
// not be committed leaves one, and nothing recorded is lost by it.
func (r Report) Failed() bool {
	for _, p := range r.Problems {
		if p.Kind != ProblemUnreferenced {
			return true
		}
	}
	return false
}

// Verify re-hashes every wanted blob and compares it with its name and
// recorded size, then lists files on disk that nothing wants. onItem, if
// not nil, is called after each wanted blob with its problem (nil if the
// blob is intact), for progress and per-item records.
func (s *Store) Verify(ctx context.Context, want []Want, onItem func(w Want, got Blob, p *Problem) error) (Report, error) {
	var rep Report
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		if wanted[w.SHA256] {
			continue
		}
		wanted[w.SHA256] = true
		got, p, err := s.check(ctx, w)
		if err != nil {
			return rep, err
		}
		rep.Checked++
		rep.Bytes += got.Size
		if p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
		if onItem != nil {
			if err := onItem(w, got, p); err != nil {
				return rep, err
			}
		}
	}
	stored, strays, err := s.Stored(ctx)
	if err != nil {
		return rep, fmt.Errorf("list evidence files: %w", err)
	}
	for _, sha := range stored {
		if !wanted[sha] {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemUnreferenced, SHA256: sha, Detail: "a stored file that no evidence record names"})
		}
	}
	for _, p := range strays {
		rep.Problems = append(rep.Problems, Problem{Kind: ProblemUnreferenced, Detail: "a file in the evidence tree that is not named like a blob: " + p})
	}
	return rep, nil
}

// Check re-hashes one blob against what it should be. The problem is nil
// if the blob is intact; err is for failures to check at all.
func (s *Store) Check(ctx context.Context, w Want) (Blob, *Problem, error) { return s.check(ctx, w) }

func (s *Store) check(ctx context.Context, w Want) (Blob, *Problem, error) {
	got, err := s.Hash(ctx, w.SHA256)
	switch {
	case errors.Is(err, ErrMissing):
		return Blob{}, &Problem{Kind: ProblemMissing, SHA256: w.SHA256, Detail: "the stored file is not on disk"}, nil
	case err != nil:
		return Blob{}, nil, err
	case got.SHA256 != w.SHA256:
		return got, &Problem{Kind: ProblemMismatch, SHA256: w.SHA256, Detail: fmt.Sprintf("the file now hashes to sha256 %s (%d bytes)", got.SHA256, got.Size)}, nil
	case got.Size != w.Size:
		// A different size with the same SHA-256 cannot happen; it means
		// the record, not the file, was changed.
		return got, &Problem{Kind: ProblemMismatch, SHA256: w.SHA256, Detail: fmt.Sprintf("the file has %d bytes, the record says %d", got.Size, w.Size)}, nil
	}
	return got, nil, nil
}
