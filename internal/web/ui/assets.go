package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

// assets are the static files, each served under a name that carries a
// hash of its content (app.3f2a9c01d2.css): a new build changes the URL,
// so browsers may keep a file for a year without ever using a stale one.
type assets struct {
	byName map[string]*asset // "app.css"
	byURL  map[string]*asset // "app.3f2a9c01d2.css"
}

type asset struct {
	url         string
	body        []byte
	etag        string
	contentType string
}

// assetTypes are the files served and their types; anything else in
// static/ (the htmx licence note) stays in the binary only.
var assetTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

func loadAssets(fsys fs.FS) (*assets, error) {
	as := &assets{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := assetTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(p)
		name := strings.TrimSuffix(p, ext) + "." + h + ext
		a := &asset{url: "/static/" + name, body: body, etag: `"` + h + `"`, contentType: ct}
		as.byName[p], as.byURL[name] = a, a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui static files: %w", err)
	}
	return as, nil
}

// url is the template function asset: the hashed URL of a static file.
// An unknown name fails the render, so a typo cannot ship a broken link.
func (as *assets) url(name string) (string, error) {
	a, ok := as.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return a.url, nil
}

func (u *UI) static(w http.ResponseWriter, r *http.Request) error {
	a, ok := u.assets.byURL[r.PathValue("file")]
	if !ok {
		return fmt.Errorf("static file %q: %w", r.PathValue("file"), core.ErrNotFound)
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(a.body)
	return err
}
