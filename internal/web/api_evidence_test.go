package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/evidence"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
)

// newEvidenceEnv is newTestEnv with an evidence size limit; 0 keeps the
// default.
func newEvidenceEnv(tb testing.TB, maxSize int64) *testEnv {
	tb.Helper()
	if maxSize == 0 {
		return newTestEnv(tb)
	}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, nil, app.Config{EvidenceMaxSize: maxSize, PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	srv := httptest.NewServer(New(a, log, metrics.NewRegistry(), Config{}))
	tb.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	env := &testEnv{t: tb, url: srv.URL, app: a, store: st, tokens: map[string]string{}, client: srv.Client()}
	for _, u := range testUsers {
		if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: u.name, Role: u.role, Password: testPassword}); err != nil {
			tb.Fatal(err)
		}
		_, secret, err := a.CreateToken(ctx, app.SystemActor, u.name, "test", 0)
		if err != nil {
			tb.Fatal(err)
		}
		env.tokens[u.name] = secret
	}
	return env
}

// evidenceDir is the blob store of the env's data directory.
func (e *testEnv) evidenceDir() string { return app.EvidenceDir(filepath.Dir(e.store.Path())) }

// blobFiles lists the stored blobs and the temporary files on disk.
func (e *testEnv) blobFiles() (blobs, temps []string) {
	e.t.Helper()
	_ = filepath.WalkDir(e.evidenceDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(e.evidenceDir(), p); strings.HasPrefix(filepath.ToSlash(rel), "tmp/") {
			temps = append(temps, p)
		} else {
			blobs = append(blobs, p)
		}
		return nil
	})
	return blobs, temps
}

// send makes a request with a streamed body and extra headers.
func (e *testEnv) send(as, method, path string, body io.Reader, header map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[as])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// uploadRaw sends content as an octet-stream body with query metadata.
func (e *testEnv) uploadRaw(as, key string, content io.Reader, query url.Values) response {
	e.t.Helper()
	return e.send(as, "POST", "/api/v1/incidents/"+key+"/evidence?"+query.Encode(), content, map[string]string{"Content-Type": "application/octet-stream"})
}

// multipartBody builds a small multipart body in memory: fields in order,
// then the file.
func multipartBody(tb testing.TB, fields [][2]string, fileName string, content []byte) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			tb.Fatal(err)
		}
	}
	if content != nil {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			tb.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func mustEvidence(tb testing.TB, r response, want int) store.Evidence {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	var e store.Evidence
	r.json(tb, &e)
	return e
}

func custodyTypes(tb testing.TB, env *testEnv, as, key string, id int64) []string {
	tb.Helper()
	r := env.call(as, "GET", fmt.Sprintf("/api/v1/incidents/%s/evidence/%d/custody", key, id), nil)
	if r.status != 200 {
		tb.Fatalf("custody: %d %s", r.status, r.body)
	}
	var log timelineResponse
	r.json(tb, &log)
	var out []string
	for i, ev := range log.Items {
		if i > 0 && ev.ID <= log.Items[i-1].ID {
			tb.Errorf("custody log out of order at %d", ev.ID)
		}
		out = append(out, ev.Type)
	}
	return out
}

func TestEvidenceUploadDownload(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "phishing mail with attachment", "category": "phishing"})
	ct, body := multipartBody(t, [][2]string{
		{"description", "the mail as received"}, {"source_host", "mail01"}, {"source_path", "/var/spool/mail/tanaka"},
		{"collected_by", "佐藤 (委託先)"}, {"collected_at", "2026-11-23T09:30:00+09:00"},
	}, "invoice.eml", []byte("abc"))
	e := mustEvidence(t, env.send("analyst", "POST", "/api/v1/incidents/"+key+"/evidence", bytes.NewReader(body), map[string]string{"Content-Type": ct}), 201)
	if e.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || e.SHA1 != "a9993e364706816aba3e25717850c26c9cd0d89d" ||
		e.MD5 != "900150983cd24fb0d6963f7d28e17f72" || e.Size != 3 {
		t.Errorf("hashes %+v", e)
	}
	if e.FileName != "invoice.eml" || e.MediaType != "application/octet-stream" || e.CollectedBy != "佐藤 (委託先)" || e.SourceHost != "mail01" ||
		e.Custodian != "analyst" || e.CreatedBy != "analyst" || e.CollectedAt == nil || e.CollectedAt.Format(time.RFC3339) != "2026-11-23T00:30:00Z" {
		t.Errorf("metadata %+v", e)
	}

	// The same content as a raw body, named in a header: a second record,
	// one file.
	e2 := mustEvidence(t, env.send("analyst", "POST", "/api/v1/incidents/"+key+"/evidence", strings.NewReader("abc"), map[string]string{
		"Content-Type": "application/octet-stream", "X-Evidence-Filename": url.PathEscape("請求書.eml"), "X-Evidence-Media-Type": "message/rfc822",
		"X-Evidence-Description": url.PathEscape("転送された同じメール"),
	}), 201)
	if e2.ID == e.ID || e2.SHA256 != e.SHA256 || e2.FileName != "請求書.eml" || e2.MediaType != "message/rfc822" || e2.Description != "転送された同じメール" || e2.CollectedBy != "analyst" {
		t.Errorf("second upload %+v", e2)
	}
	if blobs, temps := env.blobFiles(); len(blobs) != 1 || len(temps) != 0 {
		t.Errorf("blobs %v temps %v: the same content must be stored once", blobs, temps)
	}
	if blobs, _ := env.blobFiles(); len(blobs) == 1 {
		if info, err := os.Stat(blobs[0]); err != nil || info.Mode().Perm() != 0o440 {
			t.Errorf("blob mode %v %v", info.Mode(), err)
		}
	}

	var list evidenceList
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/evidence", nil).json(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != e2.ID {
		t.Errorf("list %+v", list)
	}
	var page evidenceList
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/evidence?limit=1", nil).json(t, &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Errorf("first page %+v", page)
	}
	var page2 evidenceList
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/evidence?limit=1&cursor="+page.NextCursor, nil).json(t, &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID != e.ID || page2.NextCursor != "" {
		t.Errorf("second page %+v", page2)
	}
	got := mustEvidence(t, env.call("viewer", "GET", fmt.Sprintf("/api/v1/incidents/%s/evidence/%d", key, e.ID), nil), 200)
	if got.SHA256 != e.SHA256 || got.Description != "the mail as received" {
		t.Errorf("metadata %+v", got)
	}

	dl := fmt.Sprintf("/api/v1/incidents/%s/evidence/%d/download", key, e2.ID)
	r := env.call("viewer", "GET", dl, nil)
	if r.status != 200 || string(r.body) != "abc" {
		t.Fatalf("download: %d %q", r.status, r.body)
	}
	h := r.header
	if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") != `"`+e.SHA256+`"` ||
		h.Get("Repr-Digest") != "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:" {
		t.Errorf("download headers %v", h)
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || params["filename"] != "請求書.eml" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
		t.Errorf("Content-Disposition %q: %v %v", h.Get("Content-Disposition"), params, err)
	}
	// A range, and a conditional request by the ETag.
	r = env.send("viewer", "GET", dl, nil, map[string]string{"Range": "bytes=1-1"})
	if r.status != http.StatusPartialContent || string(r.body) != "b" {
		t.Errorf("range: %d %q", r.status, r.body)
	}
	r = env.send("viewer", "GET", dl, nil, map[string]string{"If-None-Match": `"` + e.SHA256 + `"`})
	if r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.status)
	}
	before := env.eventCount()
	if r := env.send("viewer", "HEAD", dl, nil, nil); r.status != 200 || r.header.Get("Content-Length") != "3" {
		t.Errorf("HEAD: %d %v", r.status, r.header)
	}
	if env.eventCount() != before {
		t.Error("a HEAD request wrote a custody event")
	}
	types := custodyTypes(t, env, "viewer", key, e2.ID)
	if strings.Join(types, ",") != "evidence.added,evidence.downloaded,evidence.downloaded,evidence.downloaded" {
		t.Errorf("custody %v", types)
	}
	// The range is in the custody record, and the timeline has it too.
	var tl timelineResponse
	env.call("viewer", "GET", "/api/v1/incidents/"+key+"/timeline", nil).json(t, &tl)
	if !strings.Contains(string(tl.Items[len(tl.Items)-2].Payload), `"range":"bytes=1-1"`) {
		t.Errorf("the range is not recorded: %s", tl.Items[len(tl.Items)-2].Payload)
	}
	if n, err := env.app.VerifyAudit(context.Background()); err != nil || n == 0 {
		t.Errorf("audit chain: %d %v", n, err)
	}
}

// pattern generates n pseudo-random bytes without holding them: each 1 MiB
// chunk is the same buffer with its index written in, so no two chunks
// are alike but nothing is allocated per chunk.
type pattern struct {
	buf  []byte
	left int64
	i    uint64
	off  int
	sum  hash.Hash
}

func newPattern(n int64) *pattern {
	p := &pattern{buf: make([]byte, 1<<20), left: n, sum: sha256.New()}
	for i := range p.buf {
		p.buf[i] = byte(i*7 + i>>8)
	}
	p.off = len(p.buf)
	return p
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if p.off == len(p.buf) {
		binary.LittleEndian.PutUint64(p.buf, p.i)
		p.i++
		p.off = 0
	}
	n := copy(b, p.buf[p.off:])
	if int64(n) > p.left {
		n = int(p.left)
	}
	p.off += n
	p.left -= int64(n)
	p.sum.Write(b[:n])
	return n, nil
}

// heapPeak samples the heap in use until stopped and returns the highest.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestEvidenceStreamsLargeUpload sends 200 MiB, generated on the fly
// through a pipe, with the memory limit at 64 MiB, raw and as multipart;
// the heap must not grow by more than 64 MiB and the hash must match.
func TestEvidenceStreamsLargeUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 400 MiB")
	}
	const size = 200 << 20
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "disk image of a laptop", "category": "malware"})
	old := debug.SetMemoryLimit(64 << 20)
	defer debug.SetMemoryLimit(old)
	for _, form := range []string{"raw", "multipart"} {
		t.Run(form, func(t *testing.T) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := heapPeak()
			src := newPattern(size)
			pr, pw := io.Pipe()
			ct, path := "application/octet-stream", "/api/v1/incidents/"+key+"/evidence?file_name=disk.img"
			if form == "raw" {
				go func() {
					_, err := io.Copy(pw, src)
					pw.CloseWithError(err)
				}()
			} else {
				mw := multipart.NewWriter(pw)
				ct, path = mw.FormDataContentType(), "/api/v1/incidents/"+key+"/evidence"
				go func() {
					mw.WriteField("description", "200 MiB streamed")
					fw, _ := mw.CreateFormFile("file", "disk.img")
					if _, err := io.Copy(fw, src); err != nil {
						pw.CloseWithError(err)
						return
					}
					pw.CloseWithError(mw.Close())
				}()
			}
			r := env.send("analyst", "POST", path, pr, map[string]string{"Content-Type": ct})
			peak := stop()
			e := mustEvidence(t, r, 201)
			if want := hex.EncodeToString(src.sum.Sum(nil)); e.SHA256 != want || e.Size != size {
				t.Errorf("stored %s (%d bytes), sent %s (%d)", e.SHA256, e.Size, want, size)
			}
			growth := int64(peak) - int64(before.HeapInuse)
			t.Logf("%s: heap in use before %d MiB, peak %d MiB, growth %d MiB", form, before.HeapInuse>>20, peak>>20, growth>>20)
			if growth > 64<<20 {
				t.Errorf("the heap grew by %d MiB during a %d MiB upload", growth>>20, size>>20)
			}
		})
	}
}

func TestEvidenceTooLarge(t *testing.T) {
	env := newEvidenceEnv(t, 1<<20)
	key := env.mustCreate("analyst", map[string]any{"title": "big pcap", "category": "malware"})
	before := env.eventCount()
	// Declared too large: refused before reading.
	r := env.send("analyst", "POST", "/api/v1/incidents/"+key+"/evidence", bytes.NewReader(make([]byte, 1<<20+1)), map[string]string{"Content-Type": "application/octet-stream"})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.body), "1MiB") {
		t.Errorf("declared: %d %s", r.status, r.body)
	}
	// Chunked, so the size shows only while streaming.
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, io.LimitReader(newPattern(3<<20), 3<<20))
		pw.CloseWithError(err)
	}()
	r = env.send("analyst", "POST", "/api/v1/incidents/"+key+"/evidence", pr, map[string]string{"Content-Type": "application/octet-stream"})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed: %d %s", r.status, r.body)
	}
	ct, body := multipartBody(t, nil, "big.pcap", make([]byte, 2<<20))
	r = env.send("analyst", "POST", "/api/v1/incidents/"+key+"/evidence", bytes.NewReader(body), map[string]string{"Content-Type": ct})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("multipart: %d %s", r.status, r.body)
	}
	if blobs, temps := env.blobFiles(); len(blobs) != 0 || len(temps) != 0 {
		t.Errorf("left behind: blobs %v temps %v", blobs, temps)
	}
	if env.eventCount() != before {
		t.Error("a refused upload wrote an event")
	}
	// Exactly the limit is accepted.
	mustEvidence(t, env.uploadRaw("analyst", key, bytes.NewReader(make([]byte, 1<<20)), url.Values{"file_name": {"exact.bin"}}), 201)
}

func TestEvidenceBadUploads(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "bad uploads", "category": "malware"})
	path := "/api/v1/incidents/" + key + "/evidence"
	noFileCT, noFile := multipartBody(t, [][2]string{{"description", "x"}}, "", nil)
	unknownCT, unknown := multipartBody(t, [][2]string{{"colour", "red"}}, "a.txt", []byte("x"))
	badTimeCT, badTime := multipartBody(t, [][2]string{{"collected_at", "yesterday"}}, "a.txt", []byte("x"))
	dupCT, dup := multipartBody(t, [][2]string{{"description", "a"}, {"description", "b"}}, "a.txt", []byte("x"))
	badTypeCT, badType := multipartBody(t, [][2]string{{"media_type", "not a type"}}, "a.txt", []byte("x"))
	// A field after the file.
	var after bytes.Buffer
	mw := multipart.NewWriter(&after)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	fw.Write([]byte("content after which a field comes"))
	mw.WriteField("description", "too late")
	mw.Close()
	tests := []struct {
		name   string
		ct     string
		body   []byte
		query  string
		status int
		field  string
	}{
		{"json", "application/json", []byte(`{}`), "", 415, ""},
		{"no type", "", []byte("x"), "", 415, ""},
		{"no file", noFileCT, noFile, "", 400, "file"},
		{"unknown field", unknownCT, unknown, "", 400, "colour"},
		{"bad time", badTimeCT, badTime, "", 400, "collected_at"},
		{"field twice", dupCT, dup, "", 400, "description"},
		{"bad media type", badTypeCT, badType, "", 422, "media_type"},
		{"field after file", mw.FormDataContentType(), after.Bytes(), "", 400, "description"},
		{"broken multipart", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nnonsense"), "", 400, ""},
		{"unknown query", "application/octet-stream", []byte("x"), "?colour=red", 400, "colour"},
		{"multi-line host", "application/octet-stream", []byte("x"), "?source_host=a%0d%0ab", 422, "source_host"},
		{"future", "application/octet-stream", []byte("x"), "?collected_at=2999-01-01T00:00:00Z", 422, "collected_at"},
	}
	before := env.eventCount()
	for _, tt := range tests {
		r := env.send("analyst", "POST", path+tt.query, bytes.NewReader(tt.body), map[string]string{"Content-Type": tt.ct})
		if r.status != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, r.status, tt.status, r.body)
			continue
		}
		var p Problem
		r.json(t, &p)
		if p.Field != tt.field {
			t.Errorf("%s: field %q, want %q (%s)", tt.name, p.Field, tt.field, p.Detail)
		}
	}
	if env.eventCount() != before {
		t.Error("a refused upload wrote an event")
	}
	if blobs, temps := env.blobFiles(); len(blobs) != 0 || len(temps) != 0 {
		t.Errorf("refused uploads left blobs %v temps %v", blobs, temps)
	}
	for _, p := range []string{"/0", "/x", "/99"} {
		if r := env.call("analyst", "GET", path+p, nil); r.status != 404 {
			t.Errorf("GET evidence%s: %d", p, r.status)
		}
	}
	if r := env.call("analyst", "GET", path+"?limit=0", nil); r.status != 400 {
		t.Errorf("limit=0: %d", r.status)
	}
}

// TestEvidenceAuthorization: reporters never see evidence, viewers read
// (list, metadata, custody, download), analysts and up also upload, hand
// over and verify; a restricted incident's evidence is for its members.
// Refusals write nothing; reads write only the download's custody event.
func TestEvidenceAuthorization(t *testing.T) {
	env := newTestEnv(t)
	type action struct {
		name, method, path, body string
		upload                   bool
	}
	rows := []struct {
		act                action
		public, restricted []int // per matrixUsers
		writes             bool
	}{
		{action{name: "list", method: "GET", path: "/evidence"}, []int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}, false},
		{action{name: "metadata", method: "GET", path: "/evidence/{id}"}, []int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}, false},
		{action{name: "custody", method: "GET", path: "/evidence/{id}/custody"}, []int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}, false},
		{action{name: "download", method: "GET", path: "/evidence/{id}/download"}, []int{200, 200, 200, 200, 403, 404, 200}, []int{200, 404, 200, 404, 404, 404, 404}, true},
		{action{name: "upload", method: "POST", path: "/evidence", upload: true}, []int{201, 201, 201, 201, 403, 404, 403}, []int{201, 404, 201, 404, 404, 404, 404}, true},
		{action{name: "handover", method: "POST", path: "/evidence/{id}/handover", body: `{"to":"lab {as}","reason":"imaging"}`}, []int{200, 200, 200, 200, 403, 404, 403}, []int{200, 404, 200, 404, 404, 404, 404}, true},
		{action{name: "verify", method: "POST", path: "/evidence/{id}/verify"}, []int{200, 200, 200, 200, 403, 404, 403}, []int{200, 404, 200, 404, 404, 404, 404}, true},
	}
	for _, restricted := range []bool{false, true} {
		key := matrixIncident(t, env, restricted)
		item := mustEvidence(t, env.uploadRaw("admin", key, strings.NewReader("secret log of "+key), url.Values{"file_name": {"auth.log"}}), 201)
		for _, row := range rows {
			want := row.public
			if restricted {
				want = row.restricted
			}
			for i, as := range matrixUsers {
				path := "/api/v1/incidents/" + key + strings.ReplaceAll(row.act.path, "{id}", strconv.FormatInt(item.ID, 10))
				before := env.eventCount()
				var r response
				if row.act.upload {
					r = env.uploadRaw(as, key, strings.NewReader("upload by "+as), url.Values{"file_name": {"by-" + as + ".txt"}})
				} else {
					var body any
					if row.act.body != "" {
						body = strings.ReplaceAll(row.act.body, "{as}", as)
					}
					r = env.call(as, row.act.method, path, body)
				}
				if r.status != want[i] {
					t.Errorf("%s as %s (restricted %v): %d, want %d: %s", row.act.name, as, restricted, r.status, want[i], r.body)
					continue
				}
				if r.status == 404 && strings.Contains(string(r.body), "secret log") {
					t.Errorf("%s as %s: a hidden item leaked in a 404", row.act.name, as)
				}
				wrote := env.eventCount() - before
				switch {
				case r.status < 300 && row.writes && wrote != 1:
					t.Errorf("%s as %s: wrote %d events, want 1", row.act.name, as, wrote)
				case (r.status >= 300 || !row.writes) && wrote != 0:
					t.Errorf("%s as %s answered %d but wrote %d events", row.act.name, as, r.status, wrote)
				}
			}
		}
		// The restricted item's file never reached an outsider.
		if restricted {
			for _, as := range []string{"lead", "analyst2", "viewer", "reporter"} {
				for _, ev := range custodyEvents(t, env, key, item.ID) {
					if ev.Actor == as {
						t.Errorf("%s appears in the custody log of a restricted item", as)
					}
				}
			}
		}
	}
}

func custodyEvents(tb testing.TB, env *testEnv, key string, id int64) []core.Event {
	tb.Helper()
	var log timelineResponse
	env.call("admin", "GET", fmt.Sprintf("/api/v1/incidents/%s/evidence/%d/custody", key, id), nil).json(tb, &log)
	return log.Items
}

func TestEvidenceHandOverAndCustody(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "USB stick found", "category": "lost_device"})
	e := mustEvidence(t, env.uploadRaw("analyst", key, strings.NewReader("image of the stick"), url.Values{"file_name": {"usb.dd"}}), 201)
	base := fmt.Sprintf("/api/v1/incidents/%s/evidence/%d", key, e.ID)
	if r := env.call("analyst", "GET", base+"/download", nil); r.status != 200 {
		t.Fatalf("download: %d", r.status)
	}
	h := mustEvidence(t, env.call("analyst", "POST", base+"/handover", map[string]any{"to": "外部フォレンジック業者 A社", "reason": "解析依頼"}), 200)
	if h.Custodian != "外部フォレンジック業者 A社" {
		t.Errorf("custodian %q", h.Custodian)
	}
	// Only the holder can hand it on.
	if r := env.call("lead", "POST", base+"/handover", map[string]any{"from": "analyst", "to": "police", "reason": "x"}); r.status != 409 {
		t.Errorf("wrong from: %d %s", r.status, r.body)
	}
	for body, field := range map[string]string{`{"reason":"x"}`: "to", `{"to":"police"}`: "reason", `{"to":"a\nb","reason":"x"}`: "to",
		`{"to":"外部フォレンジック業者 A社","reason":"again"}`: "to"} {
		r := env.call("lead", "POST", base+"/handover", body)
		var p Problem
		r.json(t, &p)
		if r.status != 422 || p.Field != field {
			t.Errorf("%s: %d %+v", body, r.status, p)
		}
	}
	mustEvidence(t, env.call("lead", "POST", base+"/handover", map[string]any{"from": "外部フォレンジック業者 A社", "to": "警視庁 サイバー犯罪対策課", "reason": "被害届"}), 200)
	var c app.EvidenceCheck
	r := env.call("analyst", "POST", base+"/verify", nil)
	r.json(t, &c)
	if r.status != 200 || !c.OK || c.SHA256 != e.SHA256 || c.Size != e.Size {
		t.Errorf("verify: %d %+v", r.status, c)
	}
	types := custodyTypes(t, env, "viewer", key, e.ID)
	want := "evidence.added,evidence.downloaded,evidence.handed_over,evidence.handed_over,evidence.verified"
	if strings.Join(types, ",") != want {
		t.Errorf("custody %v, want %s", types, want)
	}
	evs := custodyEvents(t, env, key, e.ID)
	if p := string(evs[2].Payload); !strings.Contains(p, `"from":"analyst"`) || !strings.Contains(p, `"reason":"解析依頼"`) || evs[2].Actor != "analyst" {
		t.Errorf("hand-over event %s by %s", p, evs[2].Actor)
	}
	if got := mustEvidence(t, env.call("viewer", "GET", base, nil), 200); got.Custodian != "警視庁 サイバー犯罪対策課" {
		t.Errorf("custodian %q", got.Custodian)
	}
	var page timelineResponse
	env.call("viewer", "GET", base+"/custody?limit=2", nil).json(t, &page)
	if len(page.Items) != 2 || page.NextAfter != page.Items[1].ID {
		t.Errorf("custody page %+v", page)
	}
}

// TestEvidenceTamperedAndMissing flips a byte of the stored file, as
// someone with shell access would, then removes it.
func TestEvidenceTamperedAndMissing(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "tamper test", "category": "insider"})
	e := mustEvidence(t, env.uploadRaw("analyst", key, strings.NewReader("original evidence content"), url.Values{"file_name": {"x.log"}}), 201)
	base := fmt.Sprintf("/api/v1/incidents/%s/evidence/%d", key, e.ID)
	blob := filepath.Join(env.evidenceDir(), "sha256", e.SHA256[:2], e.SHA256[2:])
	os.Chmod(blob, 0o640)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[3] ^= 0x20
	if err := os.WriteFile(blob, data, 0o440); err != nil {
		t.Fatal(err)
	}
	var c app.EvidenceCheck
	r := env.call("analyst", "POST", base+"/verify", nil)
	r.json(t, &c)
	if r.status != 200 || c.OK || c.Problem != "mismatch" || c.SHA256 == e.SHA256 {
		t.Errorf("tampered: %d %+v", r.status, c)
	}
	evs := custodyEvents(t, env, key, e.ID)
	if last := evs[len(evs)-1]; last.Type != core.EvEvidenceVerified || !strings.Contains(string(last.Payload), `"ok":false`) {
		t.Errorf("the failed check is not in the custody log: %+v", last)
	}
	os.Remove(blob)
	r = env.call("analyst", "POST", base+"/verify", nil)
	r.json(t, &c)
	if r.status != 200 || c.OK || c.Problem != "missing" {
		t.Errorf("missing: %d %+v", r.status, c)
	}
	before := env.eventCount()
	if r := env.call("analyst", "GET", base+"/download", nil); r.status != 409 || !strings.Contains(string(r.body), "missing") {
		t.Errorf("download of a missing file: %d %s", r.status, r.body)
	}
	if env.eventCount() != before {
		t.Error("a refused download wrote a custody event")
	}
}

func TestEvidenceFileNamesAreSafe(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{"title": "names", "category": "malware"})
	tests := []struct{ sent, stored string }{
		{"../../etc/passwd", "passwd"},
		{`C:\Users\tanaka\Desktop\請求書.pdf`, "請求書.pdf"},
		{"evil\r\nSet-Cookie: a=b\r\n.txt", "evilSet-Cookie_ a=b.txt"},
		{"report\u202Efdp.exe", "reportfdp.exe"},
		{`quote"and;semicolon.txt`, "quote_and;semicolon.txt"},
		{"..", evidence.FallbackFileName},
		{"100%_sure.txt", "100%_sure.txt"},
	}
	for i, tt := range tests {
		e := mustEvidence(t, env.uploadRaw("analyst", key, strings.NewReader(fmt.Sprint("file ", i)), url.Values{"file_name": {tt.sent}}), 201)
		if e.FileName != tt.stored {
			t.Errorf("%q stored as %q, want %q", tt.sent, e.FileName, tt.stored)
		}
		evs := custodyEvents(t, env, key, e.ID)
		if tt.sent != tt.stored && !strings.Contains(string(evs[0].Payload), `"file_name_as_sent"`) {
			t.Errorf("%q: the name as sent is not in the audit record", tt.sent)
		}
		r := env.call("analyst", "GET", fmt.Sprintf("/api/v1/incidents/%s/evidence/%d/download", key, e.ID), nil)
		cd := r.header.Get("Content-Disposition")
		checkDisposition(t, tt.sent, cd)
		if _, params, _ := mime.ParseMediaType(cd); params["filename"] != tt.stored {
			t.Errorf("%q: download name %q, want %q", tt.sent, params["filename"], tt.stored)
		}
	}
}

// checkDisposition: one header line, ASCII only, an attachment whose
// filename parses back to the sanitised name.
func checkDisposition(t *testing.T, in, cd string) {
	t.Helper()
	for _, r := range cd {
		if r < 0x20 || r > 0x7e {
			t.Fatalf("%q: Content-Disposition %q has byte %U", in, cd, r)
		}
	}
	disp, params, err := mime.ParseMediaType(cd)
	if err != nil || disp != "attachment" {
		t.Fatalf("%q: Content-Disposition %q does not parse: %v", in, cd, err)
	}
	if want := evidence.SanitizeFilename(in); params["filename"] != want {
		t.Fatalf("%q: filename %q, want %q (%s)", in, params["filename"], want, cd)
	}
	for _, r := range params["filename"] {
		if unicode.IsControl(r) || r == '/' || r == '\\' {
			t.Fatalf("%q: filename %q has %U", in, params["filename"], r)
		}
	}
}

func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"report.pdf", "請求書.pdf", "a\r\nb", `"; filename*=x`, "100%.txt", "..", "\u202E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkDisposition(t, in, contentDisposition(in))
	})
}

// BenchmarkEvidenceUpload measures upload throughput over loopback
// against reading the same file to nowhere (what `cat FILE > /dev/null`
// does), in the same run: go test ./internal/web -run XXX -bench EvidenceUpload -benchtime 3x
func BenchmarkEvidenceUpload(b *testing.B) {
	const size = 512 << 20
	env := newTestEnv(b)
	key := env.mustCreate("analyst", map[string]any{"title": "throughput", "category": "malware"})
	file := filepath.Join(b.TempDir(), "image.dd")
	out, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, newPattern(size)); err != nil {
		b.Fatal(err)
	}
	out.Close()
	var readTime, uploadTime time.Duration
	b.SetBytes(size)
	for b.Loop() {
		start := time.Now()
		f, _ := os.Open(file)
		io.Copy(io.Discard, f)
		f.Close()
		readTime += time.Since(start)

		f, _ = os.Open(file)
		start = time.Now()
		r := env.uploadRaw("analyst", key, f, url.Values{"file_name": {"image.dd"}})
		uploadTime += time.Since(start)
		f.Close()
		if r.status != 201 {
			b.Fatalf("%d %s", r.status, r.body)
		}
		// The next round stores a new file rather than finding it stored.
		blobs, _ := env.blobFiles()
		for _, p := range blobs {
			os.Chmod(filepath.Dir(p), 0o750)
			os.Remove(p)
		}
	}
	mbs := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / (1 << 20) }
	b.ReportMetric(mbs(readTime), "read-MiB/s")
	b.ReportMetric(mbs(uploadTime), "upload-MiB/s")
	b.ReportMetric(readTime.Seconds()/uploadTime.Seconds(), "upload/read")
}

// TestEvidenceOutlastsServerTimeouts: a production server drops a request
// whose body takes longer than its read timeout; an evidence upload that
// keeps flowing must not be cut off by it (downloads push the write
// deadline on the same way).
func TestEvidenceOutlastsServerTimeouts(t *testing.T) {
	if testing.Short() {
		t.Skip("takes three seconds")
	}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}})
	srv := httptest.NewUnstartedServer(New(a, log, metrics.NewRegistry(), Config{}))
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = time.Second, time.Second
	srv.Start()
	t.Cleanup(func() { srv.Close(); st.Close() })
	if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: "analyst", Role: core.RoleAnalyst, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	_, tok, err := a.CreateToken(ctx, app.SystemActor, "analyst", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, url: srv.URL, app: a, store: st, tokens: map[string]string{"analyst": tok}, client: srv.Client()}
	key := env.mustCreate("analyst", map[string]any{"title": "slow link", "category": "malware"})
	pr, pw := io.Pipe()
	go func() {
		for i := range 6 {
			fmt.Fprintf(pw, "chunk %d of a slow upload\n", i)
			time.Sleep(500 * time.Millisecond)
		}
		pw.Close()
	}()
	e := mustEvidence(t, env.uploadRaw("analyst", key, pr, url.Values{"file_name": {"slow.log"}}), 201)
	if e.Size == 0 || !strings.HasPrefix(e.FileName, "slow") {
		t.Errorf("%+v", e)
	}
}
