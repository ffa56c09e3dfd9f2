package evidence

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// Known answers: FIPS 180 "abc" and the empty message, RFC 1321 for MD5.
var vectors = []struct {
	in                string
	sha256, sha1, md5 string
}{
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "d41d8cd98f00b204e9800998ecf8427e"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "a9993e364706816aba3e25717850c26c9cd0d89d", "900150983cd24fb0d6963f7d28e17f72"},
	{"The quick brown fox jumps over the lazy dog", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
		"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "9e107d9d372bb6826bd81d3542a419d6"},
}

func TestWriteHashesKnownVectors(t *testing.T) {
	s := New(t.TempDir(), 0)
	for _, v := range vectors {
		b, err := s.Write(context.Background(), strings.NewReader(v.in), nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.SHA256 != v.sha256 || b.SHA1 != v.sha1 || b.MD5 != v.md5 || b.Size != int64(len(v.in)) {
			t.Errorf("%q: got %+v", v.in, b)
		}
		p, _ := s.Path(b.SHA256)
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o440 {
			t.Errorf("%q: mode %v, want 0440", v.in, info.Mode().Perm())
		}
		if filepath.Base(filepath.Dir(p)) != v.sha256[:2] || filepath.Base(p) != v.sha256[2:] {
			t.Errorf("path %s is not sha256/ab/cdef…", p)
		}
		got, err := s.Hash(context.Background(), b.SHA256)
		if err != nil || got.SHA256 != v.sha256 || got.SHA1 != v.sha1 || got.MD5 != v.md5 {
			t.Errorf("re-hash %q: %+v %v", v.in, got, err)
		}
	}
}

func TestWriteTwiceStoresOnce(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, 0)
	content := bytes.Repeat([]byte("same bytes "), 100_000)
	first, err := s.Write(context.Background(), bytes.NewReader(content), nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Write(context.Background(), bytes.NewReader(content), nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Existed || !second.Existed || first.SHA256 != second.SHA256 {
		t.Fatalf("first %+v second %+v", first, second)
	}
	blobs, strays, err := s.Stored(context.Background())
	if err != nil || len(blobs) != 1 || len(strays) != 0 {
		t.Fatalf("stored %v strays %v err %v; want one blob", blobs, strays, err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestWriteTooLargeLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, 1000)
	// Exactly the limit is fine.
	if _, err := s.Write(context.Background(), bytes.NewReader(make([]byte, 1000)), nil); err != nil {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
	_, err := s.Write(context.Background(), bytes.NewReader(make([]byte, 1001)), nil)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrTooLarge) || tl.Limit != 1000 {
		t.Fatalf("err = %v, want TooLargeError", err)
	}
	if !strings.Contains(err.Error(), "1000B") {
		t.Errorf("message %q does not name the limit", err)
	}
	blobs, _, _ := s.Stored(context.Background())
	if len(blobs) != 1 {
		t.Errorf("blobs %v: the too-large upload must leave nothing", blobs)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// failingReader fails after some bytes, like a client that disconnects.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestWriteInterruptedLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, 0)
	if _, err := s.Write(context.Background(), &failingReader{n: 3 << 20}, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Write(ctx, strings.NewReader("x"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if blobs, _, _ := s.Stored(context.Background()); len(blobs) != 0 {
		t.Errorf("blobs %v", blobs)
	}
}

func TestVerifyFindsMismatchMissingUnreferenced(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, 0)
	ctx := context.Background()
	var blobs []Blob
	for _, c := range []string{"intact", "tampered content", "to be removed", "nobody names me"} {
		b, err := s.Write(ctx, strings.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	// Flip one byte of the second file, as someone with shell access would.
	p, _ := s.Path(blobs[1].SHA256)
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	data[0] ^= 0x01
	if err := os.WriteFile(p, data, 0o440); err != nil {
		t.Fatal(err)
	}
	p2, _ := s.Path(blobs[2].SHA256)
	if err := os.Remove(p2); err != nil {
		t.Fatal(err)
	}
	want := []Want{{blobs[0].SHA256, blobs[0].Size}, {blobs[1].SHA256, blobs[1].Size}, {blobs[2].SHA256, blobs[2].Size}, {blobs[0].SHA256, blobs[0].Size}}
	var items []string
	rep, err := s.Verify(ctx, want, func(w Want, got Blob, p *Problem) error {
		kind := "ok"
		if p != nil {
			kind = p.Kind
		}
		items = append(items, kind)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(items, ",") != "ok,mismatch,missing" {
		t.Errorf("items %v (a blob named twice is checked once)", items)
	}
	if rep.Checked != 3 || !rep.Failed() {
		t.Errorf("report %+v", rep)
	}
	kinds := map[string]string{}
	for _, p := range rep.Problems {
		kinds[p.SHA256] = p.Kind
	}
	if kinds[blobs[1].SHA256] != ProblemMismatch || kinds[blobs[2].SHA256] != ProblemMissing || kinds[blobs[3].SHA256] != ProblemUnreferenced || len(kinds) != 3 {
		t.Errorf("problems %+v", rep.Problems)
	}
	// Only unreferenced files: not a failure.
	rep, err = s.Verify(ctx, []Want{{blobs[0].SHA256, blobs[0].Size}}, nil)
	if err != nil || rep.Failed() {
		t.Errorf("unreferenced only: %+v %v", rep, err)
	}
	// A record whose size was changed is a mismatch too.
	rep, _ = s.Verify(ctx, []Want{{blobs[0].SHA256, 999}}, nil)
	if !rep.Failed() {
		t.Errorf("a wrong recorded size passed: %+v", rep)
	}
}

func TestVerifyEmptyStore(t *testing.T) {
	rep, err := New(filepath.Join(t.TempDir(), "never-written"), 0).Verify(context.Background(), nil, nil)
	if err != nil || rep.Failed() || rep.Checked != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	s := New(t.TempDir(), 0)
	b, err := s.Write(ctx, strings.NewReader("old logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	inUse, unused := func(context.Context) (bool, error) { return true, nil }, func(context.Context) (bool, error) { return false, nil }
	if removed, err := s.Purge(ctx, b.SHA256, inUse); err != nil || removed {
		t.Fatalf("purge of a file in use: removed %v, %v", removed, err)
	}
	if _, err := s.Purge(ctx, b.SHA256, nil); err == nil {
		t.Error("a purge without an in-use check went ahead")
	}
	checkErr := errors.New("database down")
	if removed, err := s.Purge(ctx, b.SHA256, func(context.Context) (bool, error) { return false, checkErr }); !errors.Is(err, checkErr) || removed {
		t.Errorf("purge when the check fails: removed %v, %v", removed, err)
	}
	if _, err := s.Open(b.SHA256); err != nil {
		t.Fatalf("the file went without a purge: %v", err)
	}
	if removed, err := s.Purge(ctx, b.SHA256, unused); err != nil || !removed {
		t.Fatalf("purge: removed %v, %v", removed, err)
	}
	if _, err := s.Open(b.SHA256); !errors.Is(err, ErrMissing) {
		t.Errorf("open after purge: %v", err)
	}
	if removed, err := s.Purge(ctx, b.SHA256, unused); err != nil || removed {
		t.Errorf("purging again: removed %v, %v", removed, err)
	}
	if _, err := s.Purge(ctx, "../../etc/passwd", unused); err == nil {
		t.Error("a path was taken for a hash")
	}
}

func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, 0)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		t.Fatal(err)
	}
	old, young := filepath.Join(dir, "tmp", "upload-1"), filepath.Join(dir, "tmp", "upload-2")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := os.Chtimes(old, now.Add(-48*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.CleanTemp(24*time.Hour, now)
	if err != nil || n != 1 {
		t.Fatalf("cleaned %d, %v", n, err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a young upload was removed: %v", err)
	}
}

func TestValidSHA256(t *testing.T) {
	for in, want := range map[string]bool{
		vectors[1].sha256:                  true,
		strings.ToUpper(vectors[1].sha256): false,
		vectors[1].sha256[:63]:             false,
		"../" + vectors[1].sha256[3:]:      false,
		strings.Repeat("g", 64):            false,
		vectors[1].sha256[:62] + "/x":      false,
		strings.Repeat("0", 64):            true,
		"":                                 false,
	} {
		if ValidSHA256(in) != want {
			t.Errorf("ValidSHA256(%q) = %v", in, !want)
		}
	}
}

func TestSanitizeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\tanaka\Desktop\mail.eml`, "mail.eml"},
		{"a/b\\c.txt", "c.txt"},
		{"evil\r\nSet-Cookie: x=1.txt", "evilSet-Cookie_ x=1.txt"},
		{"顧客リスト_2026.xlsx", "顧客リスト_2026.xlsx"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"zero\u200bwidth.txt", "zerowidth.txt"},
		{"a\x00b.bin", "ab.bin"},
		{"  spaced  name.txt  ", "spaced  name.txt"},
		{"tab\there.txt", "tab here.txt"},
		{"report.pdf...", "report.pdf"},
		{"..", FallbackFileName},
		{".", FallbackFileName},
		{"", FallbackFileName},
		{"dir/", FallbackFileName},
		{"\r\n", FallbackFileName},
		{".bash_history", ".bash_history"},
		{"file.txt:hidden", "file.txt_hidden"},
		{`what?"*<>|.txt`, "what______.txt"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"COM1.log", "_COM1.log"},
		{"COMMAND.log", "COMMAND.log"},
		{"bad\xffutf8.txt", "badutf8.txt"},
		{strings.Repeat("あ", 100) + ".eml", strings.Repeat("あ", 83) + ".eml"},
	}
	for _, tt := range tests {
		if got := SanitizeFilename(tt.in); got != tt.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func checkSanitized(t *testing.T, in, out string) {
	t.Helper()
	if out == "" || strings.Trim(out, ".") == "" {
		t.Fatalf("%q -> %q: empty or dots", in, out)
	}
	if !utf8.ValidString(out) || len(out) > MaxFileNameBytes {
		t.Fatalf("%q -> %q: invalid UTF-8 or %d bytes", in, out, len(out))
	}
	if strings.ContainsAny(out, "/\\\r\n\x00:\"") {
		t.Fatalf("%q -> %q: a separator, quote or line break", in, out)
	}
	for _, r := range out {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("%q -> %q: control or format character %U", in, out, r)
		}
	}
	if out != strings.TrimSpace(out) || strings.HasSuffix(out, ".") {
		t.Fatalf("%q -> %q: untrimmed", in, out)
	}
	if again := SanitizeFilename(out); again != out {
		t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
	}
}

func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"report.pdf", "../../x", "a\r\nb", "CON.txt", "..", "顧客.xlsx", "a\u202Eb", strings.Repeat("x.", 200), "\xff\xfe", " . . "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSanitized(t, in, SanitizeFilename(in))
	})
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"10GiB": 10 << 30, "10 GiB": 10 << 30, "10g": 10 << 30, "500MiB": 500 << 20, "500MB": 500_000_000,
		"1048576": 1 << 20, "1": 1, "1KiB": 1024, "1kb": 1000, "2T": 2 << 40, "64b": 64, "8388607TiB": 8388607 << 40,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := ParseSize(FormatSize(got)); err != nil || back != got {
			t.Errorf("FormatSize(%d) = %q does not read back: %d %v", got, FormatSize(got), back, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "GiB", "1.5GiB", "ten", "+5", "9999999999999999999", "8388608TiB", "10 XB", "1e9"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10GiB", "1", "0", "-1", "9223372036854775807", "8388608TiB", " 5 m "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := ParseSize(in)
		if err != nil {
			return
		}
		if n < 1 {
			t.Fatalf("ParseSize(%q) = %d", in, n)
		}
		if back, err := ParseSize(FormatSize(n)); err != nil || back != n {
			t.Fatalf("%q -> %d -> %q -> %d %v", in, n, FormatSize(n), back, err)
		}
	})
}

func TestNormalizeMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"": "application/octet-stream", "Text/Plain; charset=utf-8": "text/plain", "application/vnd.tcpdump.pcap": "application/vnd.tcpdump.pcap",
		"message/rfc822": "message/rfc822",
	} {
		if got, err := NormalizeMediaType(in); err != nil || got != want {
			t.Errorf("NormalizeMediaType(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"text", "a b/c", "text/plain\r\nX: y", strings.Repeat("a", 300) + "/b"} {
		if got, err := NormalizeMediaType(in); err == nil {
			t.Errorf("NormalizeMediaType(%q) = %q, want an error", in, got)
		}
	}
}

func FuzzNormalizeMediaType(f *testing.F) {
	for _, s := range []string{"text/plain", "a/b; c=d", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		mt, err := NormalizeMediaType(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(mt, "\r\n;\" ") || !strings.Contains(mt, "/") {
			t.Fatalf("%q -> %q", in, mt)
		}
	})
}

// BenchmarkWrite measures the store alone: hashing, writing and fsync of
// 256 MiB from memory, without HTTP.
func BenchmarkWrite(b *testing.B) {
	data := make([]byte, 256<<20)
	for i := range data {
		data[i] = byte(i * 31 >> 3)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		s := New(b.TempDir(), 0)
		data[0] = byte(i)
		if _, err := s.Write(context.Background(), bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}
