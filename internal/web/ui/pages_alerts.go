package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// alertFilterForm is the alert queue's filter as typed.
type alertFilterForm struct {
	Status, Source, Severity, Host, Q, SeenAfter, SeenBefore string
}

func (f alertFilterForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "source": f.Source, "severity": f.Severity, "host": f.Host,
		"q": f.Q, "seen_after": f.SeenAfter, "seen_before": f.SeenBefore} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type alertsView struct {
	base
	Filter       alertFilterForm
	Items        []*core.Alert
	NextURL      string
	Statuses     []core.AlertStatus
	Sources      []string
	Severities   []core.Severity
	Categories   []core.Category
	CloseReasons []core.CloseReason
	Error        string
	Done         string
	// Watch holds the watchlist marks of the listed alerts, by id.
	Watch map[int64][]store.WatchlistMark
}

// AlertStatus and CloseReason translate the alert enumerations.
func (b base) AlertStatus(s core.AlertStatus) string { return b.Tr.T(alertStatusKey(s)) }
func (b base) CloseReason(r core.CloseReason) string { return b.Tr.T(closeReasonKey(r)) }

func alertStatusKey(s core.AlertStatus) string { return "alert_status." + string(s) }
func closeReasonKey(r core.CloseReason) string { return "close_reason." + string(r) }

// StepState translates a progress step's state (for the print view).
func (b base) StepState(s string) string { return b.Tr.T(stepStateKey(s)) }

func stepStateKey(s string) string { return "step_state." + s }

// parseAlertFilter reads the queue's filter; the time range is typed in
// the user's zone.
func parseAlertFilter(q url.Values, rq *request) (alertFilterForm, store.AlertFilter, error) {
	ff := alertFilterForm{Status: q.Get("status"), Source: q.Get("source"), Severity: q.Get("severity"),
		Host: strings.TrimSpace(q.Get("host")), Q: strings.TrimSpace(q.Get("q")), SeenAfter: q.Get("seen_after"), SeenBefore: q.Get("seen_before")}
	var f store.AlertFilter
	if ff.Status != "" {
		if s := core.AlertStatus(ff.Status); s.Valid() {
			f.Statuses = []core.AlertStatus{s}
		} else {
			return ff, f, core.Invalid("status", "unknown alert status %q", ff.Status)
		}
	}
	if ff.Source != "" {
		if !slices.Contains(ingest.Formats(), ff.Source) {
			return ff, f, core.Invalid("source", "unknown source %q", ff.Source)
		}
		f.Sources = []string{ff.Source}
	}
	if ff.Severity != "" {
		if s := core.Severity(ff.Severity); s.Valid() {
			f.Severities = []core.Severity{s}
		} else {
			return ff, f, core.Invalid("severity", "unknown severity %q", ff.Severity)
		}
	}
	if len(ff.Q) > maxListQuery || len(ff.Host) > maxListQuery {
		return ff, f, core.Invalid("q", "the search text is longer than %d bytes", maxListQuery)
	}
	f.Host, f.Query = ff.Host, ff.Q
	var err error
	if f.SeenAfter, err = parseLocalTime(ff.SeenAfter, rq.loc); err != nil {
		return ff, f, core.Invalid("seen_after", "not a date and time")
	}
	if f.SeenBefore, err = parseLocalTime(ff.SeenBefore, rq.loc); err != nil {
		return ff, f, core.Invalid("seen_before", "not a date and time")
	}
	return ff, f, nil
}

func (u *UI) alertsView(r *http.Request, rq *request) alertsView {
	return alertsView{base: u.base(r, rq, "alerts", rq.tr.T("alerts.title")), Statuses: core.AlertStatuses,
		Sources: ingest.Formats(), Severities: core.Severities, Categories: core.Categories, CloseReasons: core.CloseReasons}
}

func (u *UI) alertsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.showAlerts(w, r, rq, r.URL.Query(), http.StatusOK, "")
}

// showAlerts renders the queue for the filter in q, with an error from a
// bulk action when there is one.
func (u *UI) showAlerts(w http.ResponseWriter, r *http.Request, rq *request, q url.Values, status int, errMsg string) error {
	ff, f, err := parseAlertFilter(q, rq)
	if err != nil {
		return err
	}
	if f.Before, err = decodeCursor(q.Get("cursor")); err != nil {
		return err
	}
	f.Limit = listLimit
	items, more, err := u.app.ListAlerts(r.Context(), rq.actor, f)
	if err != nil {
		return err
	}
	v := u.alertsView(r, rq)
	v.Filter, v.Items, v.Error = ff, items, errMsg
	if v.Watch, err = u.watchMarks(r, rq, items); err != nil {
		return err
	}
	if d := q.Get("done"); d != "" {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			v.Done = rq.tr.T("alerts.bulk_done", n)
		}
	}
	if more {
		nq := ff.query()
		nq.Set("cursor", encodeCursor(cursor{id: items[len(items)-1].ID}))
		v.NextURL = "/alerts?" + nq.Encode()
	}
	v.Path = "/alerts"
	if enc := ff.query().Encode(); enc != "" {
		v.Path += "?" + enc
	}
	return u.render(w, status, "alerts", v)
}

// alertActions is what the shared alert-actions form needs.
type alertActions struct {
	base
	Alert      *core.Alert
	Next       string
	Categories []core.Category
	Severities []core.Severity
	Reasons    []core.CloseReason
}

// Row gives one queue row its action forms; they return to the queue.
func (v alertsView) Row(al *core.Alert) alertActions {
	return alertActions{base: v.base, Alert: al, Next: v.Path, Categories: v.Categories, Severities: v.Severities, Reasons: v.CloseReasons}
}

// Actions gives the alert page its action forms; they return to it.
func (v alertView) Actions() alertActions {
	return alertActions{base: v.base, Alert: v.Alert, Next: v.Path, Categories: v.Categories, Severities: v.Severities, Reasons: v.Reasons}
}

// ---- one alert ----

type alertView struct {
	base
	Alert       *core.Alert
	Payload     string
	Occurrences []occurrenceRow
	NextURL     string
	Categories  []core.Category
	Severities  []core.Severity
	Reasons     []core.CloseReason
	Error       string
	// Watch lists the watchlist entries the alert matched.
	Watch []store.WatchlistMark
}

type occurrenceRow struct {
	store.Occurrence
	Payload string
}

// prettyJSON indents a payload for reading. It stays text: the template
// escapes it, so a payload holding markup shows as the characters it is.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

func alertIDParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("alert %q: %w", r.PathValue("id"), core.ErrNotFound)
	}
	return id, nil
}

// maxOccurrencePage is how many occurrences the alert page lists at once.
const maxOccurrencePage = 50

func (u *UI) alertPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.showAlert(w, r, rq, http.StatusOK, "")
}

func (u *UI) showAlert(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string) error {
	id, err := alertIDParam(r)
	if err != nil {
		return err
	}
	al, err := u.app.GetAlert(r.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	after, err := decodeCursor(r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	occ, more, err := u.app.AlertOccurrences(r.Context(), rq.actor, id, after, maxOccurrencePage)
	if err != nil {
		return err
	}
	v := alertView{base: u.base(r, rq, "alerts", rq.tr.T("alert.title", al.ID)), Alert: al, Payload: prettyJSON(al.Raw),
		Categories: core.Categories, Severities: core.Severities, Reasons: core.CloseReasons, Error: errMsg}
	v.Path = "/alerts/" + strconv.FormatInt(id, 10)
	if v.Watch, err = u.app.AlertWatchlist(r.Context(), rq.actor, id); err != nil {
		return err
	}
	for _, o := range occ {
		v.Occurrences = append(v.Occurrences, occurrenceRow{Occurrence: o, Payload: prettyJSON(o.Raw)})
	}
	if more && len(occ) > 0 {
		v.NextURL = v.Path + "?after=" + encodeCursor(cursor{id: occ[len(occ)-1].ID})
	}
	return u.render(w, status, "alert", v)
}

// alertDone answers an alert action: back where the form came from (the
// queue or the alert), or the alert page with the app's reason when the
// alert's state did not allow it.
func (u *UI) alertDone(w http.ResponseWriter, r *http.Request, rq *request, err error) error {
	if err != nil {
		status, msg, ok := actionFailed(rq, err)
		if !ok {
			return err
		}
		return u.showAlert(w, r, rq, status, msg)
	}
	next, ok := localPath(r.PostForm.Get("next"))
	if !ok {
		next = "/alerts/" + r.PathValue("id")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (u *UI) acknowledgeAlert(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := alertIDParam(r)
	if err != nil {
		return err
	}
	_, err = u.app.AcknowledgeAlert(r.Context(), rq.actor, id)
	return u.alertDone(w, r, rq, err)
}

func (u *UI) closeAlert(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := alertIDParam(r)
	if err != nil {
		return err
	}
	_, err = u.app.CloseAlert(r.Context(), rq.actor, id, core.CloseReason(r.PostForm.Get("reason")))
	return u.alertDone(w, r, rq, err)
}

// promoteAlert opens an incident from the alert and goes to it: the next
// thing a responder does is work the incident.
func (u *UI) promoteAlert(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := alertIDParam(r)
	if err != nil {
		return err
	}
	in := app.PromoteInput{Category: core.Category(r.PostForm.Get("category")), Severity: core.Severity(r.PostForm.Get("severity")),
		Title: strings.TrimSpace(r.PostForm.Get("title"))}
	_, inc, err := u.app.PromoteAlert(r.Context(), rq.actor, id, in)
	if err != nil {
		return u.alertDone(w, r, rq, err)
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(inc.Key), http.StatusSeeOther)
	return nil
}

func (u *UI) attachAlert(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := alertIDParam(r)
	if err != nil {
		return err
	}
	_, err = u.app.AttachAlert(r.Context(), rq.actor, id, strings.TrimSpace(r.PostForm.Get("incident")))
	return u.alertDone(w, r, rq, err)
}

// bulkAlerts applies one action to the checked alerts.
func (u *UI) bulkAlerts(w http.ResponseWriter, r *http.Request, rq *request) error {
	pf := r.PostForm
	in := app.BulkInput{Action: pf.Get("action")}
	if len(pf["ids"]) > app.MaxBulk {
		return core.Invalid("ids", "at most %d alerts at once", app.MaxBulk)
	}
	for _, s := range pf["ids"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return core.Invalid("ids", "%q is not an alert id", s)
		}
		in.IDs = append(in.IDs, id)
	}
	switch in.Action {
	case app.BulkClose:
		in.CloseReason = core.CloseReason(pf.Get("reason"))
	case app.BulkAttach:
		in.Incident = strings.TrimSpace(pf.Get("incident"))
	case app.BulkPromote:
		in.Promote = app.PromoteInput{Category: core.Category(pf.Get("category")), Severity: core.Severity(pf.Get("severity"))}
	}
	next, ok := localPath(pf.Get("next"))
	if !ok || !strings.HasPrefix(next, "/alerts") {
		next = "/alerts"
	}
	res, err := u.app.BulkAlerts(r.Context(), rq.actor, in)
	if err != nil {
		status, msg, ok := actionFailed(rq, err)
		if !ok {
			return err
		}
		q := url.Values{}
		if p, err := url.Parse(next); err == nil {
			q = p.Query()
		}
		return u.showAlerts(w, r, rq, q, status, msg)
	}
	if res.Incident != nil {
		http.Redirect(w, r, "/incidents/"+url.PathEscape(res.Incident.Key), http.StatusSeeOther)
		return nil
	}
	p, err := url.Parse(next)
	if err != nil {
		p = &url.URL{Path: "/alerts"}
	}
	q := p.Query()
	q.Set("done", strconv.Itoa(res.Changed))
	p.RawQuery = q.Encode()
	http.Redirect(w, r, p.String(), http.StatusSeeOther)
	return nil
}
