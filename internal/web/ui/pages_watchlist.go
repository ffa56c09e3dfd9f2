package ui

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

type watchlistView struct {
	base
	Items   []store.WatchlistEntry
	NextURL string
	Active  bool
	Now     time.Time
	Error   string
	Done    string
	// Form is the import form as typed, kept after a refusal.
	Source, ExpiresIn, Format string
}

// Expired reports whether an entry no longer matches.
func (v watchlistView) Expired(e store.WatchlistEntry) bool {
	return e.ExpiresAt != nil && !e.ExpiresAt.After(v.Now)
}

func (u *UI) watchlistPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.showWatchlist(w, r, rq, http.StatusOK, watchlistView{})
}

// showWatchlist lists entries newest first (analysts read, leads and
// admins change); v carries a refused form and its message, if any.
func (u *UI) showWatchlist(w http.ResponseWriter, r *http.Request, rq *request, status int, v watchlistView) error {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		q = url.Values{}
	}
	v.base = u.base(r, rq, "watchlist", rq.tr.T("watchlist.title"))
	v.Path, v.Now = "/watchlist", time.Now()
	v.Active = q.Get("active") == "1"
	before, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	items, more, err := u.app.ListWatchlist(r.Context(), rq.actor, store.WatchlistFilter{Before: before, Limit: listLimit}, v.Active)
	if err != nil {
		return err
	}
	v.Items = items
	if more {
		nq := url.Values{"cursor": {encodeCursor(cursor{id: items[len(items)-1].ID})}}
		if v.Active {
			nq.Set("active", "1")
		}
		v.NextURL = "/watchlist?" + nq.Encode()
	}
	num := func(k string) int {
		n, err := strconv.Atoi(q.Get(k))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	switch q.Get("done") {
	case "import":
		v.Done = rq.tr.T("watchlist.imported", num("added"), num("updated"), num("skipped"))
	case "recheck":
		v.Done = rq.tr.T("watchlist.rechecked", num("alerts"), num("marks"))
		if q.Get("truncated") == "1" {
			v.Done += " " + rq.tr.T("watchlist.truncated")
		}
	case "deleted":
		v.Done = rq.tr.T("watchlist.deleted")
	}
	return u.render(w, status, "watchlist", v)
}

// watchlistFailed shows the page with the app's reason for a refusal the
// user can fix; anything else is an error page.
func (u *UI) watchlistFailed(w http.ResponseWriter, r *http.Request, rq *request, v watchlistView, err error) error {
	status, msg, ok := actionFailed(rq, err)
	if !ok {
		return err
	}
	v.Error = msg
	return u.showWatchlist(w, r, rq, status, v)
}

// maxUploadBytes bounds the import form: the file (as large as the API
// takes) and a few short fields.
const maxUploadBytes = share.MaxImportBytes + 64<<10

// authedUpload is authed for a multipart form (a file upload): the same
// session, origin and CSRF checks, with the token read from the
// multipart body, which ParseForm does not read.
func (u *UI) authedUpload(h pageHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		rq, err := u.session(r)
		if err != nil {
			return err
		}
		if err := u.opts.Origin.Check(r); err != nil {
			return fmt.Errorf("%w: cross-origin form refused", core.ErrForbidden)
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
		// Small fields stay in memory; the file may go to a temporary file.
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return core.Invalid("file", "is larger than %d bytes", share.MaxImportBytes)
			}
			return core.Invalid("form", "could not be read")
		}
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
		got := r.PostFormValue("csrf_token")
		if rq.csrf == "" || subtle.ConstantTimeCompare([]byte(got), []byte(rq.csrf)) != 1 {
			return fmt.Errorf("%w: missing or wrong CSRF token; reload the page and try again", core.ErrForbidden)
		}
		return h(w, r, rq)
	}
}

// watchlistImport reads an uploaded STIX bundle or MISP event into the
// watchlist under the source named in the form.
func (u *UI) watchlistImport(w http.ResponseWriter, r *http.Request, rq *request) error {
	// Refused before the file is read in vain; the app checks again.
	if err := app.CheckWatchlistEditor(rq.actor); err != nil {
		return err
	}
	v := watchlistView{Source: r.PostFormValue("source"), ExpiresIn: r.PostFormValue("expires_in"), Format: r.PostFormValue("format")}
	in := app.WatchlistImport{Source: v.Source, Format: v.Format}
	if in.Format != "" && in.Format != "stix" && in.Format != "misp" {
		return u.watchlistFailed(w, r, rq, v, core.Invalid("format", "must be stix or misp"))
	}
	var err error
	if in.ExpiresIn, err = app.ParseExpiresIn(v.ExpiresIn); err != nil {
		return u.watchlistFailed(w, r, rq, v, err)
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		return u.watchlistFailed(w, r, rq, v, core.Invalid("file", "choose a STIX 2.1 bundle or a MISP event file"))
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, share.MaxImportBytes+1))
	if err != nil {
		return err
	}
	if len(body) > share.MaxImportBytes {
		return u.watchlistFailed(w, r, rq, v, core.Invalid("file", "is larger than %d bytes", share.MaxImportBytes))
	}
	res, err := u.app.ImportWatchlist(r.Context(), rq.actor, in, body)
	if err != nil {
		return u.watchlistFailed(w, r, rq, v, err)
	}
	q := url.Values{"done": {"import"}, "added": {strconv.Itoa(res.Added)}, "updated": {strconv.Itoa(res.Updated)}, "skipped": {strconv.Itoa(res.Skipped)}}
	http.Redirect(w, r, "/watchlist?"+q.Encode(), http.StatusSeeOther)
	return nil
}

func (u *UI) watchlistDelete(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return fmt.Errorf("watchlist entry %q: %w", r.PathValue("id"), core.ErrNotFound)
	}
	if err := u.app.DeleteWatchlistEntry(r.Context(), rq.actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/watchlist?done=deleted", http.StatusSeeOther)
	return nil
}

// watchlistRecheck marks past alerts that match the watchlist as it is
// now; since is typed in the user's zone (empty: the default window).
func (u *UI) watchlistRecheck(w http.ResponseWriter, r *http.Request, rq *request) error {
	since, err := parseLocalTime(r.PostForm.Get("since"), rq.loc)
	if err != nil {
		return u.watchlistFailed(w, r, rq, watchlistView{}, core.Invalid("since", "not a date and time"))
	}
	res, err := u.app.RecheckWatchlist(r.Context(), rq.actor, since)
	if err != nil {
		return u.watchlistFailed(w, r, rq, watchlistView{}, err)
	}
	q := url.Values{"done": {"recheck"}, "alerts": {strconv.Itoa(res.Alerts)}, "marks": {strconv.Itoa(res.Marks)}}
	if res.Truncated {
		q.Set("truncated", "1")
	}
	http.Redirect(w, r, "/watchlist?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// WatchSources names the sources of an alert's marks, for its badge's
// tooltip.
func (b base) WatchSources(marks []store.WatchlistMark) string {
	var out []string
	for _, m := range marks {
		s := m.Source + ": " + m.Type + " " + m.Value
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// watchMarks reads the watchlist marks of a page of alerts in one query.
func (u *UI) watchMarks(r *http.Request, rq *request, items []*core.Alert) (map[int64][]store.WatchlistMark, error) {
	ids := make([]int64, len(items))
	for i, al := range items {
		ids[i] = al.ID
	}
	return u.app.AlertsWatchlistMarks(r.Context(), rq.actor, ids)
}
