package ui

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/actions"
	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

// responseView is the incident page's response-actions section: the
// actions a responder may start, a dry run's request, and the runs.
type responseView struct {
	// Matching take an observable type the incident has; Other the rest,
	// for a value typed by hand.
	Matching, Other []actionChoice
	Values          []core.IncidentObservable
	Runs            []runRow
	Preview         *previewView
	Form            app.RunActionInput
	Error           string
}

// responseMsg is what a response-action post shows on the incident page.
type responseMsg struct {
	Form    app.RunActionInput
	Preview *previewView
	Error   string
}

type actionChoice struct {
	Name, Label, Observable string
	Destructive             bool
}

// runRow is one run with what its row offers the viewer.
type runRow struct {
	*store.ActionRun
	Label      string
	CanApprove bool
	// CanReject is a lead's refusal of a run awaiting approval (not of
	// their own, which they cancel instead).
	CanReject bool
	// CanCancel is the requester's or a lead's withdrawal of a run not yet
	// started; Sending says why a queued run has no Cancel now.
	CanCancel, Sending bool
}

type header struct{ Name, Value string }

// previewView is a dry run as shown: the request exactly as the API's
// dry run returns it, secrets already masked by package app.
type previewView struct {
	Action, Label  string
	Method, URL    string
	Headers        []header
	Body           string
	Token          []header
	Missing        []string
	NeedsApproval  bool
	ObservableType string
	Value          string
}

func actionLabel(d *actions.Definition, lang string) string {
	if l := d.Label[lang]; l != "" {
		return l
	}
	return d.Label["en"]
}

func sortedHeaders(h map[string]string) []header {
	var out []header
	for _, k := range slices.Sorted(maps.Keys(h)) {
		out = append(out, header{k, h[k]})
	}
	return out
}

// responseExtras fills the response-actions section for those who may run
// actions (analysts and up); others see no section at all.
func (u *UI) responseExtras(r *http.Request, rq *request, v *incidentView, msg *responseMsg) error {
	if !v.CanWork() {
		return nil
	}
	ctx := r.Context()
	defs, err := u.app.ResponseActions(ctx, rq.actor)
	if err != nil {
		return err
	}
	obs, err := u.app.Observables(ctx, rq.actor, v.Inc.Key)
	if err != nil {
		return err
	}
	rv := &responseView{Values: obs}
	types := map[string]bool{}
	for _, o := range obs {
		types[o.Type] = true
	}
	lang := string(rq.tr.Lang())
	labels := map[string]string{}
	for _, d := range defs {
		c := actionChoice{Name: d.Name, Label: actionLabel(d, lang), Observable: d.Observable, Destructive: d.Destructive}
		labels[d.Name] = c.Label
		if types[d.Observable] {
			rv.Matching = append(rv.Matching, c)
		} else {
			rv.Other = append(rv.Other, c)
		}
	}
	runs, _, err := u.app.ActionRuns(ctx, rq.actor, app.ActionRunFilter{IncidentKey: v.Inc.Key, Limit: listLimit})
	if err != nil {
		return err
	}
	rv.Runs = u.runRows(rq, runs, labels)
	if msg != nil {
		rv.Form, rv.Preview, rv.Error = msg.Form, msg.Preview, msg.Error
	}
	v.Response = rv
	return nil
}

// runRows labels runs and says which the viewer may approve or reject: a
// lead or admin other than the requester (app enforces the same four-eyes
// rule); and which they may cancel: the requester or a lead, while the
// run has not started.
func (u *UI) runRows(rq *request, runs []*store.ActionRun, labels map[string]string) []runRow {
	lead := rq.actor.User.Role.AtLeastLead()
	now := time.Now()
	out := make([]runRow, 0, len(runs))
	for _, run := range runs {
		l := labels[run.Action]
		if l == "" {
			l = run.Action
		}
		own := run.RequestedByID == rq.actor.User.ID
		waiting := run.Status == store.ActionAwaitingApproval
		sending := run.Status == store.ActionPending && run.ClaimedUntil != nil && run.ClaimedUntil.After(now)
		decides := lead && waiting && !own
		// A lead deciding on another's waiting run is offered Reject, not
		// also Cancel: one refusal, with its reason, is clearer.
		out = append(out, runRow{ActionRun: run, Label: l, CanApprove: decides, CanReject: decides,
			CanCancel: !decides && (lead || own) && (waiting || run.Status == store.ActionPending && !sending), Sending: sending})
	}
	return out
}

// RunStatus translates a run's status.
func (b base) RunStatus(s string) string { return b.Tr.T(runStatusKey(s)) }

func runStatusKey(s string) string { return "run_status." + s }

// ExportTLPs and ExportPAPs are the markings offered for an export.
func (v incidentView) ExportTLPs() []string { return core.TLPs }
func (v incidentView) ExportPAPs() []string { return share.PAPs }

// ExportURL is the API's download of the incident in a format.
func (v incidentView) ExportURL(format string) string {
	return "/api/v1/incidents/" + url.PathEscape(v.Inc.Key) + "/export/" + format
}

// responseActionSubmit dry-runs or starts an action from the incident
// page. A dry run shows the request on the page and sends nothing.
func (u *UI) responseActionSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	pf := r.PostForm
	in := app.RunActionInput{Action: strings.TrimSpace(pf.Get("action")), Value: strings.TrimSpace(pf.Get("value")), Comment: pf.Get("comment")}
	key := r.PathValue("key")
	if pf.Get("op") == "dry_run" {
		p, err := u.app.PreviewAction(r.Context(), rq.actor, key, in)
		if err != nil {
			return u.responseFailed(w, r, rq, in, err)
		}
		pv := &previewView{Action: p.Action, Label: p.Action, Method: p.Request.Method, URL: p.Request.URL,
			Headers: sortedHeaders(p.Request.Headers), Body: prettyJSON(p.Request.Body), Token: sortedHeaders(p.TokenRequest),
			Missing: p.MissingSecrets, NeedsApproval: p.NeedsApproval}
		if defs, err := u.app.ResponseActions(r.Context(), rq.actor); err == nil {
			for _, d := range defs {
				if d.Name == p.Action {
					pv.Label, pv.ObservableType = actionLabel(d, string(rq.tr.Lang())), d.Observable
				}
			}
		}
		pv.Value = in.Value
		return u.showIncident(w, r, rq, http.StatusOK, incidentMsg{Response: &responseMsg{Form: in, Preview: pv}})
	}
	if _, err := u.app.RunAction(r.Context(), rq.actor, key, in); err != nil {
		return u.responseFailed(w, r, rq, in, err)
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(key)+"#response-actions", http.StatusSeeOther)
	return nil
}

// responseFailed shows the section again with the form as typed and the
// app's reason when the user can fix it; anything else is an error page.
func (u *UI) responseFailed(w http.ResponseWriter, r *http.Request, rq *request, in app.RunActionInput, err error) error {
	status, msg, ok := actionFailed(rq, err)
	if !ok {
		return err
	}
	return u.showIncident(w, r, rq, status, incidentMsg{Response: &responseMsg{Form: in, Error: msg}})
}

func runIDParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("action run %q: %w", r.PathValue("id"), core.ErrNotFound)
	}
	return id, nil
}

// decideRun approves, rejects or cancels a run (op), the last two with
// the posted reason.
func (u *UI) decideRun(r *http.Request, rq *request, id int64, op string) error {
	reason := r.PostForm.Get("reason")
	var err error
	switch op {
	case "approve":
		_, err = u.app.ApproveActionRun(r.Context(), rq.actor, id)
	case "reject":
		_, err = u.app.RejectActionRun(r.Context(), rq.actor, id, reason)
	default:
		_, err = u.app.CancelActionRun(r.Context(), rq.actor, id, reason)
	}
	return err
}

// decideIncidentRun approves, rejects or cancels a run from its
// incident's page.
func (u *UI) decideIncidentRun(op string) func(http.ResponseWriter, *http.Request, *request) error {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		id, err := runIDParam(r)
		if err != nil {
			return err
		}
		key := r.PathValue("key")
		run, err := u.app.GetActionRun(r.Context(), rq.actor, id)
		if err != nil {
			return err
		}
		if run.IncidentKey != key {
			return fmt.Errorf("action run %d of %s: %w", id, key, core.ErrNotFound)
		}
		if err := u.decideRun(r, rq, id, op); err != nil {
			status, msg, ok := actionFailed(rq, err)
			if !ok {
				return err
			}
			return u.showIncident(w, r, rq, status, incidentMsg{Response: &responseMsg{Error: msg}})
		}
		http.Redirect(w, r, "/incidents/"+url.PathEscape(key)+"#response-actions", http.StatusSeeOther)
		return nil
	}
}

// decideListedRun approves, rejects or cancels a run from the
// /action-runs page.
func (u *UI) decideListedRun(op string) func(http.ResponseWriter, *http.Request, *request) error {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		id, err := runIDParam(r)
		if err != nil {
			return err
		}
		if err := u.decideRun(r, rq, id, op); err != nil {
			status, msg, ok := actionFailed(rq, err)
			if !ok {
				return err
			}
			return u.showActionRuns(w, r, rq, status, msg)
		}
		http.Redirect(w, r, "/action-runs", http.StatusSeeOther)
		return nil
	}
}

// ---- /action-runs ----

type actionRunsView struct {
	base
	Groups []runGroup
	Error  string
}

// runGroup is one list of the page: its element id, heading and empty
// text (catalogue keys) and rows.
type runGroup struct {
	ID, Title, Empty string
	Rows             []runRow
}

func (u *UI) actionRunsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	return u.showActionRuns(w, r, rq, http.StatusOK, "")
}

// showActionRuns lists the runs that need a lead: those waiting for
// approval and those that failed for good, across incidents.
func (u *UI) showActionRuns(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string) error {
	v := actionRunsView{base: u.base(r, rq, "action-runs", rq.tr.T("runs.title")), Error: errMsg}
	v.Path = "/action-runs"
	if !v.CanLead() {
		return fmt.Errorf("%w: only leads and admins see the response actions of every incident", core.ErrForbidden)
	}
	ctx := r.Context()
	defs, err := u.app.ResponseActions(ctx, rq.actor)
	if err != nil {
		return err
	}
	labels := map[string]string{}
	for _, d := range defs {
		labels[d.Name] = actionLabel(d, string(rq.tr.Lang()))
	}
	for _, s := range []string{store.ActionAwaitingApproval, store.ActionFailed} {
		runs, _, err := u.app.ActionRuns(ctx, rq.actor, app.ActionRunFilter{Status: s, Limit: listLimit})
		if err != nil {
			return err
		}
		g := runGroup{ID: "waiting-runs", Title: "runs.waiting", Empty: "runs.no_waiting", Rows: u.runRows(rq, runs, labels)}
		if s == store.ActionFailed {
			g.ID, g.Title, g.Empty = "failed-runs", "runs.failed", "runs.no_failed"
		}
		v.Groups = append(v.Groups, g)
	}
	return u.render(w, status, "action_runs", v)
}
