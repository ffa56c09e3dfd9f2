package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/store"
)

// A search cursor names the list a page continues (knowledge "k" or
// incidents "i") and the offset in it; opaque to clients.
const searchCursorPrefix = "s1:"

func encodeSearchCursor(c app.SearchCursor) string {
	kind := "k"
	if c.InIncidents {
		kind = "i"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(searchCursorPrefix + kind + ":" + strconv.Itoa(c.Offset)))
}

func decodeSearchCursor(s string) (app.SearchCursor, error) {
	bad := badRequest("cursor", "not a cursor this server issued for this query")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), searchCursorPrefix) {
		return app.SearchCursor{}, bad
	}
	kind, num, ok := strings.Cut(strings.TrimPrefix(string(b), searchCursorPrefix), ":")
	n, perr := strconv.Atoi(num)
	if !ok || perr != nil || n < 0 || n > store.MaxSearchOffset || (kind != "k" && kind != "i") {
		return app.SearchCursor{}, bad
	}
	return app.SearchCursor{InIncidents: kind == "i", Offset: n}, nil
}

type searchList struct {
	Items      []app.SearchHit `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// search answers GET /api/v1/search: incidents and knowledge entries in
// one ranked list (knowledge first; see app.Search).
func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := checkParams(q, "q", "kind", "limit", "cursor"); err != nil {
		return err
	}
	sq := app.SearchQuery{Q: q.Get("q"), Kind: q.Get("kind")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxListLimit {
			return badRequest("limit", "limit must be 1 to "+strconv.Itoa(store.MaxListLimit))
		}
		sq.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		var err error
		if sq.Cursor, err = decodeSearchCursor(c); err != nil {
			return err
		}
	}
	p, err := s.app.Search(r.Context(), actorFrom(r), sq)
	if err != nil {
		return err
	}
	resp := searchList{Items: nonNil(p.Hits)}
	if p.Next != nil {
		resp.NextCursor = encodeSearchCursor(*p.Next)
	}
	return writeJSON(w, http.StatusOK, resp)
}
