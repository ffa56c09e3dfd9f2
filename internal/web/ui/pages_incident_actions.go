package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/report"
)

// phaseOwner is one phase and who owns it.
type phaseOwner struct {
	Phase    core.Phase
	Assignee string
}

// draftLink is one report draft of an incident, in each export format.
type draftLink struct {
	Kind, Stage   string
	Edit          string // the UI's edit page
	MD, HTML, PDF string // the API's exports
}

// newDraftLink builds the links of one draft of an incident in a language.
func newDraftLink(key, kind, stage, lang string) draftLink {
	q := url.Values{"lang": {lang}}
	if stage != "" {
		q.Set("stage", stage)
	}
	path := "/incidents/" + url.PathEscape(key) + "/reports/" + kind
	export := func(format string) string {
		q := url.Values{"lang": {lang}, "format": {format}}
		if stage != "" {
			q.Set("stage", stage)
		}
		return "/api/v1" + path + "?" + q.Encode()
	}
	return draftLink{Kind: kind, Stage: stage, Edit: path + "?" + q.Encode(), MD: export("md"), HTML: export("html"), PDF: export("pdf")}
}

// reportKinds are the drafts offered on the incident page; the PPC
// report has a preliminary (速報) and a final (確報) stage.
var reportKinds = []struct{ kind, stage string }{
	{report.KindPPC, report.StagePreliminary},
	{report.KindPPC, report.StageFinal},
	{report.KindGDPR, ""},
	{report.KindPostIncident, ""},
}

// DraftLabel names a draft for the page.
func (b base) DraftLabel(kind, stage string) string {
	return b.Tr.T(draftKindKey(kind, stage))
}

func draftKindKey(kind, stage string) string {
	if stage != "" {
		return "draft." + kind + "." + stage
	}
	return "draft." + kind
}

// incidentExtras fills what the responders' part of the incident page
// needs besides the record: members, linked alerts, phase owners, the
// phases it may move to and the report drafts.
func (u *UI) incidentExtras(r *http.Request, rq *request, v *incidentView, evs []core.Event) error {
	ctx := r.Context()
	inc := v.Inc
	if inc.Restricted {
		var err error
		if v.Members, err = u.app.Members(ctx, rq.actor, inc.Key); err != nil {
			return err
		}
	}
	// Linked alerts are named by the promote and attach events on the
	// incident's timeline; the rest of the timeline is read for them when
	// the page shows only its first part.
	var ids []int64
	collect := func(evs []core.Event) {
		for _, ev := range evs {
			if ev.Type != core.EvAlertPromoted && ev.Type != core.EvAlertAttached {
				continue
			}
			var p struct {
				Alert int64 `json:"alert"`
			}
			if json.Unmarshal(ev.Payload, &p) == nil && p.Alert > 0 && !slices.Contains(ids, p.Alert) {
				ids = append(ids, p.Alert)
			}
		}
	}
	collect(evs)
	for page := evs; len(page) == app.MaxTimelinePage; {
		var err error
		if page, err = u.app.Timeline(ctx, rq.actor, inc.Key, page[len(page)-1].ID, app.MaxTimelinePage); err != nil {
			return err
		}
		collect(page)
	}
	for _, id := range ids {
		al, err := u.app.GetAlert(ctx, rq.actor, id)
		if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrForbidden) {
			continue
		}
		if err != nil {
			return err
		}
		v.Alerts = append(v.Alerts, al)
	}
	for _, p := range core.Phases {
		if p == core.PhaseClosed {
			continue
		}
		o := phaseOwner{Phase: p}
		for _, pa := range inc.PhaseAssignees {
			if pa.Phase == p {
				o.Assignee = pa.Assignee
			}
		}
		v.Owners = append(v.Owners, o)
	}
	for _, p := range core.Phases {
		if p != inc.Phase {
			v.Targets = append(v.Targets, p)
		}
	}
	lang := string(rq.tr.Lang())
	for _, k := range reportKinds {
		v.Drafts = append(v.Drafts, newDraftLink(inc.Key, k.kind, k.stage, lang))
	}
	if v.CanLead() {
		users, err := u.app.ListUsers(ctx, rq.actor)
		if err != nil {
			return err
		}
		for _, usr := range users {
			if usr.Disabled {
				continue
			}
			if usr.Role.AtLeastAnalyst() {
				v.Users = append(v.Users, usr.Name)
			}
			// Viewers may be given need-to-know access too; reporters see
			// only their own reports whatever their membership.
			if usr.Role != core.RoleReporter {
				v.MemberCandidates = append(v.MemberCandidates, usr.Name)
			}
		}
	}
	return nil
}

// NextPhase is the phase after p in the flow ("" at the end).
func (b base) NextPhase(p core.Phase) core.Phase {
	i := slices.Index(core.Phases, p)
	if i < 0 || i+1 >= len(core.Phases) {
		return ""
	}
	return core.Phases[i+1]
}

// actionFailed turns an app error of a form post into the message shown
// on the page, with its status: invalid input and conflicts are the
// user's to fix and are shown with the app's own explanation; anything
// else (forbidden, not found, a failure) goes to the error page.
func actionFailed(rq *request, err error) (int, string, bool) {
	var fe *core.FieldError
	switch {
	case errors.As(err, &fe):
		return http.StatusUnprocessableEntity, rq.tr.T("action.invalid", fieldLabel(rq, fe.Field), fe.Message), true
	case errors.Is(err, core.ErrConflict):
		return http.StatusConflict, rq.tr.T("action.conflict", err.Error()), true
	}
	return 0, "", false
}

// fieldLabel names a field for a message: its label when the catalogue
// has one, else the API's field name.
func fieldLabel(rq *request, field string) string {
	if k := "field." + field; rq.tr.Has(k) {
		return rq.tr.T(k)
	}
	return field
}

// afterAction answers a form post on the incident page: back to the page
// on success, the page with the error on a failure the user can fix.
func (u *UI) afterAction(w http.ResponseWriter, r *http.Request, rq *request, err error, anchor string) error {
	if err != nil {
		status, msg, ok := actionFailed(rq, err)
		if !ok {
			return err
		}
		return u.showIncident(w, r, rq, status, incidentMsg{Action: msg})
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(r.PathValue("key"))+anchor, http.StatusSeeOther)
	return nil
}

// movePhase moves the incident. Closing needs the root cause, lessons
// learned and prevention measures; the dialog carries them, and they are
// saved (at the version the page showed) before the move.
func (u *UI) movePhase(w http.ResponseWriter, r *http.Request, rq *request) error {
	key := r.PathValue("key")
	to := core.Phase(r.PostForm.Get("to"))
	reason := r.PostForm.Get("reason")
	if to == core.PhaseClosed {
		patch := core.IncidentPatch{
			RootCause:          core.Opt[string]{Set: true, Value: strings.TrimSpace(r.PostForm.Get("root_cause"))},
			LessonsLearned:     core.Opt[string]{Set: true, Value: strings.TrimSpace(r.PostForm.Get("lessons_learned"))},
			PreventionMeasures: core.Opt[string]{Set: true, Value: strings.TrimSpace(r.PostForm.Get("prevention_measures"))},
		}
		if v, err := strconv.ParseInt(r.PostForm.Get("version"), 10, 64); err == nil {
			patch.Version = core.Opt[int64]{Set: true, Value: v}
		}
		if _, err := u.app.UpdateIncident(r.Context(), rq.actor, key, patch); err != nil {
			return u.afterAction(w, r, rq, err, "")
		}
	}
	_, err := u.app.MovePhase(r.Context(), rq.actor, key, to, reason)
	return u.afterAction(w, r, rq, err, "#progress")
}

// assign sets a phase's owner: "me" takes it, a lead may name anyone.
func (u *UI) assign(w http.ResponseWriter, r *http.Request, rq *request) error {
	user := strings.TrimSpace(r.PostForm.Get("user"))
	if r.PostForm.Get("self") != "" {
		user = rq.actor.User.Name
	}
	_, err := u.app.Assign(r.Context(), rq.actor, r.PathValue("key"), user, core.Phase(r.PostForm.Get("phase")))
	return u.afterAction(w, r, rq, err, "#owners")
}

func (u *UI) completeTask(w http.ResponseWriter, r *http.Request, rq *request) error {
	patch := core.TaskPatch{Status: core.Opt[core.TaskStatus]{Set: true, Value: core.TaskDone}}
	_, err := u.app.UpdateTask(r.Context(), rq.actor, r.PathValue("key"), r.PathValue("task"), patch)
	return u.afterAction(w, r, rq, err, "#tasks")
}

func (u *UI) skipTask(w http.ResponseWriter, r *http.Request, rq *request) error {
	patch := core.TaskPatch{Status: core.Opt[core.TaskStatus]{Set: true, Value: core.TaskSkipped},
		SkipReason: core.Opt[string]{Set: true, Value: r.PostForm.Get("reason")}}
	_, err := u.app.UpdateTask(r.Context(), rq.actor, r.PathValue("key"), r.PathValue("task"), patch)
	return u.afterAction(w, r, rq, err, "#tasks")
}

func (u *UI) addMember(w http.ResponseWriter, r *http.Request, rq *request) error {
	err := u.app.AddMember(r.Context(), rq.actor, r.PathValue("key"), strings.TrimSpace(r.PostForm.Get("user")))
	return u.afterAction(w, r, rq, err, "#members")
}

func (u *UI) removeMember(w http.ResponseWriter, r *http.Request, rq *request) error {
	err := u.app.RemoveMember(r.Context(), rq.actor, r.PathValue("key"), r.PathValue("user"))
	return u.afterAction(w, r, rq, err, "#members")
}

// ---- editing ----

// editForm is the incident's editable fields as the form holds them.
type editForm struct {
	Version         int64
	Title           string
	Description     string
	Severity        string
	Impact          string
	Urgency         string
	Category        string
	InfoType        string
	OccurredAt      string
	Location        string
	DiscoveredBy    string
	What            string
	Why             string
	HowFound        string
	ActionsTaken    string
	PersonalData    bool
	PeopleAffected  string
	Sensitive       bool
	Malicious       bool
	FinancialRisk   bool
	EUResidents     bool
	Restricted      bool
	Exercise        bool
	AffectedSystems string
}

type editView struct {
	base
	Inc        *core.Incident
	Form       editForm
	Error      string
	Conflict   bool
	Severities []core.Severity
	Categories []core.Category
	InfoTypes  []core.InfoType
	Levels     []int
}

// localInput formats a time for a datetime-local field in loc.
func localInput(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

func formOf(inc *core.Incident, loc *time.Location) editForm {
	return editForm{
		Version: inc.Version, Title: inc.Title, Description: inc.Description, Severity: string(inc.Severity),
		Impact: strconv.Itoa(inc.Impact), Urgency: strconv.Itoa(inc.Urgency), Category: string(inc.Category),
		InfoType: string(inc.InfoType), OccurredAt: localInput(inc.Facts.OccurredAt, loc), Location: inc.Facts.Location,
		DiscoveredBy: inc.Facts.DiscoveredBy, What: inc.Facts.What, Why: inc.Facts.Why, HowFound: inc.Facts.HowFound,
		ActionsTaken: inc.Facts.ActionsTaken, PersonalData: inc.Flags.PersonalData,
		PeopleAffected: strconv.FormatInt(inc.Flags.PeopleAffected, 10), Sensitive: inc.Flags.SensitivePersonalData,
		Malicious: inc.Flags.MaliciousIntent, FinancialRisk: inc.Flags.FinancialDamageRisk, EUResidents: inc.Flags.EUResidents,
		Restricted: inc.Restricted, Exercise: inc.Exercise, AffectedSystems: strings.Join(inc.AffectedSystems, "\n"),
	}
}

func (u *UI) editView(r *http.Request, rq *request, inc *core.Incident, f editForm) editView {
	v := editView{base: u.base(r, rq, "incidents", rq.tr.T("edit.title", inc.Key)), Inc: inc, Form: f,
		Severities: core.Severities, Categories: core.Categories, InfoTypes: core.InfoTypes, Levels: []int{1, 2, 3, 4}}
	v.Path = "/incidents/" + url.PathEscape(inc.Key) + "/edit"
	return v
}

// InfoTypeLabel translates an information type.
func (b base) InfoTypeLabel(t core.InfoType) string { return b.Tr.T(infoTypeKey(t)) }

func infoTypeKey(t core.InfoType) string { return "info_type." + string(t) }

func (u *UI) editIncidentPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if !rq.actor.User.Role.AtLeastAnalyst() {
		return forbiddenf("your role may not change incidents")
	}
	inc, err := u.app.GetIncident(r.Context(), rq.actor, r.PathValue("key"))
	if err != nil {
		return err
	}
	return u.render(w, http.StatusOK, "incident_edit", u.editView(r, rq, inc, formOf(inc, rq.loc)))
}

func (u *UI) editIncidentSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	inc, err := u.app.GetIncident(r.Context(), rq.actor, r.PathValue("key"))
	if err != nil {
		return err
	}
	pf := r.PostForm
	f := editForm{
		Title: pf.Get("title"), Description: pf.Get("description"), Severity: pf.Get("severity"),
		Impact: pf.Get("impact"), Urgency: pf.Get("urgency"), Category: pf.Get("category"), InfoType: pf.Get("info_type"),
		OccurredAt: pf.Get("occurred_at"), Location: pf.Get("location"), DiscoveredBy: pf.Get("discovered_by"),
		What: pf.Get("what"), Why: pf.Get("why"), HowFound: pf.Get("how_found"), ActionsTaken: pf.Get("actions_taken"),
		PersonalData: pf.Get("personal_data") != "", PeopleAffected: strings.TrimSpace(pf.Get("people_affected")),
		Sensitive: pf.Get("sensitive_personal_data") != "", Malicious: pf.Get("malicious_intent") != "",
		FinancialRisk: pf.Get("financial_damage_risk") != "", EUResidents: pf.Get("eu_residents") != "",
		Restricted: pf.Get("restricted") != "", Exercise: pf.Get("exercise") != "",
		AffectedSystems: pf.Get("affected_systems"),
	}
	fail := func(status int, msg string) error {
		v := u.editView(r, rq, inc, f)
		v.Error = msg
		v.Conflict = status == http.StatusConflict
		return u.render(w, status, "incident_edit", v)
	}
	version, err := strconv.ParseInt(pf.Get("version"), 10, 64)
	if err != nil {
		return core.Invalid("version", "missing from the form; reload the page")
	}
	f.Version = version
	patch, err := f.patch(inc, rq.loc, rq.actor.User.Role.AtLeastLead())
	if err != nil {
		status, msg, _ := actionFailed(rq, err)
		return fail(status, msg)
	}
	_, err = u.app.UpdateIncident(r.Context(), rq.actor, inc.Key, patch)
	switch {
	case errors.Is(err, core.ErrConflict):
		return fail(http.StatusConflict, rq.tr.T("edit.conflict"))
	case err != nil:
		status, msg, ok := actionFailed(rq, err)
		if !ok {
			return err
		}
		return fail(status, msg)
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(inc.Key), http.StatusSeeOther)
	return nil
}

// patch builds the update from the form. Every field is sent; the app
// records only what differs. The time of occurrence is sent only when
// its text changed, as the form shows it to the minute and would
// otherwise drop the seconds of a time set through the API.
func (f editForm) patch(inc *core.Incident, loc *time.Location, lead bool) (core.IncidentPatch, error) {
	str := func(v string) core.Opt[string] { return core.Opt[string]{Set: true, Value: strings.TrimSpace(v)} }
	boolean := func(v bool) core.Opt[bool] { return core.Opt[bool]{Set: true, Value: v} }
	p := core.IncidentPatch{
		Version:     core.Opt[int64]{Set: true, Value: f.Version},
		Title:       str(f.Title),
		Description: str(f.Description),
		Severity:    core.Opt[core.Severity]{Set: true, Value: core.Severity(f.Severity)},
		Category:    core.Opt[core.Category]{Set: true, Value: core.Category(f.Category)},
		InfoType:    core.Opt[core.InfoType]{Set: true, Value: core.InfoType(f.InfoType)},
	}
	if core.Category(f.Category) != core.CatDataLeak {
		p.InfoType.Value = "" // only a data leak has an information type
	}
	level := func(field, v string) (core.Opt[int], error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4 {
			return core.Opt[int]{}, core.Invalid(field, "must be 1 to 4")
		}
		return core.Opt[int]{Set: true, Value: n}, nil
	}
	var err error
	if p.Impact, err = level("impact", f.Impact); err != nil {
		return p, err
	}
	if p.Urgency, err = level("urgency", f.Urgency); err != nil {
		return p, err
	}
	if f.OccurredAt != localInput(inc.Facts.OccurredAt, loc) {
		t, err := parseLocalTime(f.OccurredAt, loc)
		if err != nil {
			return p, core.Invalid("facts.occurred_at", "not a date and time")
		}
		p.Facts.OccurredAt = core.Opt[time.Time]{Set: true, Null: t == nil}
		if t != nil {
			p.Facts.OccurredAt.Value = *t
		}
	}
	p.Facts.Location, p.Facts.DiscoveredBy = str(f.Location), str(f.DiscoveredBy)
	p.Facts.What, p.Facts.Why, p.Facts.HowFound, p.Facts.ActionsTaken = str(f.What), str(f.Why), str(f.HowFound), str(f.ActionsTaken)
	people := int64(0)
	if f.PeopleAffected != "" {
		if people, err = strconv.ParseInt(f.PeopleAffected, 10, 64); err != nil {
			return p, core.Invalid("flags.people_affected", "must be a whole number")
		}
	}
	p.Flags = core.FlagsPatch{
		PersonalData: boolean(f.PersonalData), PeopleAffected: core.Opt[int64]{Set: true, Value: people},
		SensitivePersonalData: boolean(f.Sensitive), MaliciousIntent: boolean(f.Malicious),
		FinancialDamageRisk: boolean(f.FinancialRisk), EUResidents: boolean(f.EUResidents),
	}
	systems := []string{}
	for _, line := range strings.Split(f.AffectedSystems, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			systems = append(systems, line)
		}
	}
	p.AffectedSystems = core.Opt[[]string]{Set: true, Value: systems}
	// Only leads decide who may see an incident and whether it counts;
	// the form shows those boxes to them alone.
	if lead {
		p.Restricted, p.Exercise = boolean(f.Restricted), boolean(f.Exercise)
	}
	return p, nil
}

// ---- print ----

func (u *UI) printIncident(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	key := r.PathValue("key")
	inc, err := u.app.GetIncident(ctx, rq.actor, key)
	if err != nil {
		return err
	}
	now := time.Now()
	v := incidentView{base: u.base(r, rq, "incidents", inc.Key+" "+inc.Title), Inc: inc, Now: now,
		Closed: inc.Phase == core.PhaseClosed, Steps: progress(inc, now)}
	v.Print = true
	v.Path = "/incidents/" + url.PathEscape(inc.Key) + "/print"
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
	}
	return u.render(w, http.StatusOK, "incident_print", v)
}

// ---- report drafts ----

type draftSection struct {
	Name, Heading, Text string
}

type draftView struct {
	base
	Inc      *core.Incident
	Kind     string
	Stage    string
	DocLang  string
	Sections []draftSection
	Fields   []draftSection
	Version  int64
	By       string
	At       *time.Time
	Saved    bool
	Error    string
	Link     draftLink
}

func draftRequest(r *http.Request) (app.ReportRequest, error) {
	q := r.URL.Query()
	req := app.ReportRequest{Kind: r.PathValue("kind"), Lang: q.Get("lang"), PPCStage: q.Get("stage")}
	if err := report.CheckKind(req.Kind); err != nil {
		return req, err
	}
	if req.Lang == "" {
		req.Lang = report.LangJA
	}
	if req.Lang != report.LangJA && req.Lang != report.LangEN {
		return req, core.Invalid("lang", "ja or en")
	}
	switch {
	case req.Kind != report.KindPPC:
		req.PPCStage = ""
	case req.PPCStage == "":
		req.PPCStage = report.StagePreliminary
	case req.PPCStage != report.StagePreliminary && req.PPCStage != report.StageFinal:
		return req, core.Invalid("stage", "preliminary or final")
	}
	return req, nil
}

func (u *UI) draftView(r *http.Request, rq *request, req app.ReportRequest) (draftView, error) {
	key := r.PathValue("key")
	inc, err := u.app.GetIncident(r.Context(), rq.actor, key)
	if err != nil {
		return draftView{}, err
	}
	d, err := u.app.ReportDraftEdits(r.Context(), rq.actor, key, req)
	if err != nil {
		return draftView{}, err
	}
	v := draftView{base: u.base(r, rq, "incidents", rq.tr.T("draft.title", inc.Key)), Inc: inc, Kind: req.Kind,
		Stage: req.PPCStage, DocLang: req.Lang, Version: d.Version, By: d.UpdatedBy, At: d.UpdatedAt}
	for i, h := range d.Outline.Sections {
		v.Sections = append(v.Sections, draftSection{Name: "s" + strconv.Itoa(i), Heading: h, Text: d.Edits.Sections[h]})
	}
	for i, h := range d.Outline.Fields {
		v.Fields = append(v.Fields, draftSection{Name: "f" + strconv.Itoa(i), Heading: h, Text: d.Edits.Fields[h]})
	}
	v.Link = newDraftLink(inc.Key, req.Kind, req.PPCStage, req.Lang)
	v.Path = v.Link.Edit
	return v, nil
}

func (u *UI) reportDraftPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	req, err := draftRequest(r)
	if err != nil {
		return err
	}
	v, err := u.draftView(r, rq, req)
	if err != nil {
		return err
	}
	v.Saved = r.URL.Query().Get("saved") == "1"
	return u.render(w, http.StatusOK, "report_draft", v)
}

// reportDraftSubmit saves the edits. Fields are named by their place in
// the outline (s0, f2...), not by their headings, which are free text;
// the outline is read again here to map them back.
func (u *UI) reportDraftSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	req, err := draftRequest(r)
	if err != nil {
		return err
	}
	v, err := u.draftView(r, rq, req)
	if err != nil {
		return err
	}
	version, err := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	if err != nil {
		return core.Invalid("version", "missing from the form; reload the page")
	}
	e := report.Edits{Sections: map[string]string{}, Fields: map[string]string{}}
	for i := range v.Sections {
		s := &v.Sections[i]
		s.Text = r.PostForm.Get(s.Name)
		e.Sections[s.Heading] = s.Text
	}
	for i := range v.Fields {
		f := &v.Fields[i]
		f.Text = r.PostForm.Get(f.Name)
		e.Fields[f.Heading] = f.Text
	}
	_, err = u.app.SaveReportDraftEdits(r.Context(), rq.actor, r.PathValue("key"), req, e, version)
	if err != nil {
		status, msg, ok := actionFailed(rq, err)
		if !ok {
			return err
		}
		if status == http.StatusConflict {
			msg = rq.tr.T("draft.conflict")
		}
		v.Error = msg
		return u.render(w, status, "report_draft", v)
	}
	http.Redirect(w, r, v.Link.Edit+"&saved=1", http.StatusSeeOther)
	return nil
}
