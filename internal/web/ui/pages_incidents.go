package ui

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
	"github.com/irdesk/irdesk/internal/store"
)

func forbiddenf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", core.ErrForbidden, fmt.Sprintf(format, args...))
}

// cursor is where a page of a list ended: the last id, and for the
// severity sort the severity that id had.
type cursor struct {
	sev core.Severity
	id  int64
}

const cursorPrefix = "u1:"

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + string(c.sev) + ":" + strconv.FormatInt(c.id, 10)))
}

// decodeCursor reads a cursor; "" is the first page.
func decodeCursor(s string) (int64, error) {
	c, err := parseCursor(s)
	return c.id, err
}

func parseCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	bad := core.Invalid("cursor", "not a cursor this server issued")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return cursor{}, bad
	}
	sev, idText, ok := strings.Cut(strings.TrimPrefix(string(b), cursorPrefix), ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id < 1 || (sev != "" && !core.Severity(sev).Valid()) {
		return cursor{}, bad
	}
	return cursor{sev: core.Severity(sev), id: id}, nil
}

// listFilter is the incident list's filter form as typed.
type listFilter struct {
	Q        string
	Phase    string
	Severity string
	Category string
	Assignee string
	State    string // "" all, "open", "closed"
	Sort     string // "" newest first, "severity" most severe first
}

func (f listFilter) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("q", f.Q)
	set("phase", f.Phase)
	set("severity", f.Severity)
	set("category", f.Category)
	set("assignee", f.Assignee)
	set("state", f.State)
	set("sort", f.Sort)
	return q
}

// incidentRow is one line of the list.
type incidentRow struct {
	*core.Incident
	Overdue bool
}

type incidentsView struct {
	base
	Filter     listFilter
	Rows       []incidentRow
	NextURL    string
	Phases     []core.Phase
	Severities []core.Severity
	Categories []core.Category
	Overdue    int
}

// maxListQuery bounds the search text, as the API does.
const maxListQuery = 1000

func (u *UI) incidentsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	lf := listFilter{Q: strings.TrimSpace(q.Get("q")), Phase: q.Get("phase"), Severity: q.Get("severity"),
		Category: q.Get("category"), Assignee: strings.TrimSpace(q.Get("assignee")), State: q.Get("state"), Sort: q.Get("sort")}
	var f store.IncidentFilter
	if lf.Phase != "" {
		if p := core.Phase(lf.Phase); p.Valid() {
			f.Phases = []core.Phase{p}
		} else {
			return core.Invalid("phase", "unknown phase %q", lf.Phase)
		}
	}
	if lf.Severity != "" {
		if s := core.Severity(lf.Severity); s.Valid() {
			f.Severities = []core.Severity{s}
		} else {
			return core.Invalid("severity", "unknown severity %q", lf.Severity)
		}
	}
	if lf.Category != "" {
		if c := core.Category(lf.Category); c.Valid() {
			f.Categories = []core.Category{c}
		} else {
			return core.Invalid("category", "unknown category %q", lf.Category)
		}
	}
	switch lf.State {
	case "":
	case "open", "closed":
		open := lf.State == "open"
		f.Open = &open
	default:
		return core.Invalid("state", "must be open or closed")
	}
	if lf.Sort != "" && lf.Sort != "severity" {
		return core.Invalid("sort", "must be severity or empty")
	}
	if len(lf.Q) > maxListQuery {
		return core.Invalid("q", "the search text is longer than %d bytes", maxListQuery)
	}
	f.Query = lf.Q
	if lf.Assignee != "" {
		id := int64(0) // "none": unassigned
		if lf.Assignee != "none" {
			var err error
			if id, err = u.app.UserID(r.Context(), lf.Assignee); err != nil {
				if !errors.Is(err, core.ErrNotFound) {
					return err
				}
				id = -1 // an unknown user is assigned nothing
			}
		}
		f.AssigneeID = &id
	}
	cur, err := parseCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	var items []*core.Incident
	var next *cursor
	if lf.Sort == "severity" {
		items, next, err = u.listBySeverity(r, rq, f, cur)
	} else {
		f.Before, f.Limit = cur.id, listLimit
		var more bool
		items, more, err = u.app.ListIncidents(r.Context(), rq.actor, f)
		if more {
			next = &cursor{id: items[len(items)-1].ID}
		}
	}
	if err != nil {
		return err
	}
	overdue, err := u.overdueIncidents(r, rq)
	if err != nil {
		return err
	}
	v := incidentsView{base: u.base(r, rq, "incidents", rq.tr.T("incidents.title")), Filter: lf,
		Phases: core.Phases, Severities: core.Severities, Categories: core.Categories}
	for _, inc := range items {
		row := incidentRow{Incident: inc, Overdue: overdue[inc.Key]}
		if row.Overdue {
			v.Overdue++
		}
		v.Rows = append(v.Rows, row)
	}
	if next != nil {
		nq := lf.query()
		nq.Set("cursor", encodeCursor(*next))
		v.NextURL = "/incidents?" + nq.Encode()
	}
	return u.render(w, http.StatusOK, "incidents", v)
}

// listBySeverity pages through the list most severe first, newest first
// within a severity, with the store's own newest-first lists: one per
// severity, the cursor holding the severity and id where a page ended.
func (u *UI) listBySeverity(r *http.Request, rq *request, f store.IncidentFilter, cur cursor) ([]*core.Incident, *cursor, error) {
	sevs := core.Severities
	if len(f.Severities) > 0 {
		sevs = f.Severities
	}
	start := 0
	if cur.sev != "" {
		start = slices.Index(sevs, cur.sev)
		if start < 0 {
			return nil, nil, core.Invalid("cursor", "not a cursor of this list")
		}
	}
	var out []*core.Incident
	for i := start; i < len(sevs); i++ {
		g := f
		g.Severities = []core.Severity{sevs[i]}
		g.Before = 0
		if i == start {
			g.Before = cur.id
		}
		g.Limit = listLimit - len(out)
		if g.Limit == 0 {
			// The page is full: one more row tells whether a next page exists.
			g.Limit = 1
			more, _, err := u.app.ListIncidents(r.Context(), rq.actor, g)
			if err != nil {
				return nil, nil, err
			}
			if len(more) > 0 {
				last := out[len(out)-1]
				return out, &cursor{sev: last.Severity, id: last.ID}, nil
			}
			continue
		}
		items, more, err := u.app.ListIncidents(r.Context(), rq.actor, g)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, items...)
		if more {
			last := out[len(out)-1]
			return out, &cursor{sev: last.Severity, id: last.ID}, nil
		}
	}
	return out, nil, nil
}

// overdueIncidents are the keys of incidents with a legal clock past
// due. Reporters do not see clocks.
func (u *UI) overdueIncidents(r *http.Request, rq *request) (map[string]bool, error) {
	out := map[string]bool{}
	if rq.actor.User.Role == core.RoleReporter {
		return out, nil
	}
	clocks, err := u.app.DueClocks(r.Context(), rq.actor, 0)
	if err != nil {
		return nil, err
	}
	for _, c := range clocks {
		if c.State == deadline.StateOverdue {
			out[c.Incident] = true
		}
	}
	return out, nil
}

// step is one box of the six-step progress bar.
type step struct {
	Phase core.Phase
	State string // done, skipped, current, todo
	Spent time.Duration
	Stays int
}

type incidentView struct {
	base
	Inc        *core.Incident
	Steps      []step
	Closed     bool
	Comments   []core.Comment
	Actions    []core.ActionRecord
	Tasks      []core.Task
	Clocks     []app.ClockView
	Timeline   []timelineRow
	Record     bool // the viewer may read the response record
	Now        time.Time
	CommentErr string
	// Slice 2: the actions on the page and what they need.
	ActionErr string
	// RecordErr is why an action record was refused.
	RecordErr string
	Members   []core.User
	Alerts    []*core.Alert
	Owners    []phaseOwner
	Targets   []core.Phase
	Drafts    []draftLink
	Users     []string // who may own a phase
	// MemberCandidates may be added to a restricted incident.
	MemberCandidates []string
	// Response is the response-actions section (analysts and up).
	Response *responseView
	// Knowledge is the similar incidents and the costs.
	Knowledge *incidentKnowledge
}

type timelineRow struct {
	core.Event
	Label  string
	Detail string
}

func (u *UI) incidentPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.showIncident(w, r, rq, http.StatusOK, incidentMsg{})
}

// incidentMsg is what a failed form post shows on the incident page.
type incidentMsg struct {
	Comment string // the comment form's error
	Action  string // an action's error (phase move, assignment, task...)
	// Record is the action-record form's error.
	Record string
	// Response is a response-action post's dry run or error.
	Response *responseMsg
}

func (u *UI) showIncident(w http.ResponseWriter, r *http.Request, rq *request, status int, msg incidentMsg) error {
	ctx := r.Context()
	key := r.PathValue("key")
	inc, err := u.app.GetIncident(ctx, rq.actor, key)
	if err != nil {
		return err
	}
	now := time.Now()
	v := incidentView{base: u.base(r, rq, "incidents", inc.Key+" "+inc.Title), Inc: inc, Now: now, CommentErr: msg.Comment, ActionErr: msg.Action, RecordErr: msg.Record,
		Closed: inc.Phase == core.PhaseClosed, Steps: progress(inc, now)}
	// A form re-shown after a failed post returns (language switch) to the
	// page, not to the post's URL.
	v.Path = "/incidents/" + url.PathEscape(inc.Key)
	// Reporters follow the status of their reports; the response record
	// (comments, tasks, clocks, timeline) is the responders'.
	if rq.actor.User.Role != core.RoleReporter {
		v.Record = true
		if v.Comments, err = u.app.Comments(ctx, rq.actor, key); err != nil {
			return err
		}
		if v.Actions, err = u.app.Actions(ctx, rq.actor, key); err != nil {
			return err
		}
		if v.Tasks, err = u.app.Tasks(ctx, rq.actor, key); err != nil {
			return err
		}
		if v.Clocks, err = u.app.Clocks(ctx, rq.actor, key); err != nil {
			return err
		}
		evs, err := u.app.Timeline(ctx, rq.actor, key, 0, app.MaxTimelinePage)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			v.Timeline = append(v.Timeline, u.timelineRow(v.base, ev))
		}
		if err := u.incidentExtras(r, rq, &v, evs); err != nil {
			return err
		}
		if err := u.responseExtras(r, rq, &v, msg.Response); err != nil {
			return err
		}
		if err := u.knowledgeExtras(r, rq, &v); err != nil {
			return err
		}
	}
	return u.render(w, status, "incident", v)
}

// progress sums the time spent in each of the six phases; a phase
// entered twice (re-infection) adds both stays.
func progress(inc *core.Incident, now time.Time) []step {
	cur := slices.Index(core.Phases, inc.Phase)
	var steps []step
	for i, p := range core.Phases {
		if p == core.PhaseClosed {
			continue
		}
		s := step{Phase: p, State: "todo"}
		switch {
		case i < cur:
			s.State = "done"
		case i == cur:
			s.State = "current"
		}
		for _, per := range inc.Phases {
			if per.Phase != p {
				continue
			}
			end := now
			if per.LeftAt != nil {
				end = *per.LeftAt
			}
			s.Spent += end.Sub(per.EnteredAt)
			s.Stays++
		}
		if s.State == "done" && s.Stays == 0 {
			s.State = "skipped" // moved past with a reason, never worked in
		}
		steps = append(steps, s)
	}
	return steps
}

// timelineRow gives an event its label and the one detail worth a line.
// Everything stays text: the template escapes it.
func (u *UI) timelineRow(b base, ev core.Event) timelineRow {
	row := timelineRow{Event: ev, Label: ev.Type}
	if b.Tr.Has(eventKey(ev.Type)) {
		row.Label = b.Tr.T(eventKey(ev.Type))
	}
	var p map[string]any
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return row
	}
	str := func(k string) string { s, _ := p[k].(string); return s }
	switch ev.Type {
	case core.EvPhaseChanged:
		row.Detail = b.Phase(core.Phase(str("from"))) + " → " + b.Phase(core.Phase(str("to")))
		if reason := str("reason"); reason != "" {
			row.Detail += " (" + reason + ")"
		}
	case core.EvAssigned:
		row.Detail = str("to")
		if ph := str("phase"); ph != "" {
			row.Detail = b.Phase(core.Phase(ph)) + ": " + row.Detail
		}
	case core.EvCommentAdded:
		row.Detail = str("body")
	case core.EvMemberAdded, core.EvMemberRemoved:
		row.Detail = str("user")
	case core.EvActionRejected, core.EvActionCancelled:
		row.Detail = str("value")
		if reason := str("reason"); reason != "" {
			row.Detail += " (" + reason + ")"
		}
	}
	if r := []rune(row.Detail); len(r) > 300 {
		row.Detail = string(r[:300]) + "…"
	}
	return row
}

// recordAction records what was done (by whom, when, with which tool):
// the response record each phase keeps.
func (u *UI) recordAction(w http.ResponseWriter, r *http.Request, rq *request) error {
	key := r.PathValue("key")
	in := app.NewAction{Description: r.PostForm.Get("description"), PerformedBy: strings.TrimSpace(r.PostForm.Get("performed_by")),
		Tool: strings.TrimSpace(r.PostForm.Get("tool"))}
	at, err := parseLocalTime(r.PostForm.Get("performed_at"), rq.loc)
	if err != nil {
		return u.showIncident(w, r, rq, http.StatusUnprocessableEntity, incidentMsg{Record: rq.tr.T("record.error_time")})
	}
	in.PerformedAt = at
	_, err = u.app.RecordAction(r.Context(), rq.actor, key, in)
	var fe *core.FieldError
	if errors.As(err, &fe) {
		return u.showIncident(w, r, rq, http.StatusUnprocessableEntity, incidentMsg{Record: rq.tr.T("record.error")})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(key)+"#actions", http.StatusSeeOther)
	return nil
}

func (u *UI) addComment(w http.ResponseWriter, r *http.Request, rq *request) error {
	key := r.PathValue("key")
	_, err := u.app.AddComment(r.Context(), rq.actor, key, r.PostForm.Get("body"))
	var fe *core.FieldError
	if errors.As(err, &fe) {
		return u.showIncident(w, r, rq, http.StatusUnprocessableEntity, incidentMsg{Comment: rq.tr.T("incident.comment_error")})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(key)+"#comments", http.StatusSeeOther)
	return nil
}
