package ui

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// situation is a plain-words choice on the report form. People who report
// do not know the desk's categories; they know what they saw.
type situation struct {
	ID       string
	Category core.Category
}

// situations in the order the form shows them, the most common first and
// "not sure" last. Each ID has the label key "situation.<ID>" and the
// hint key "situation.<ID>.hint" (TestEnumKeys).
var situations = []situation{
	{"misdirected_email", core.CatMisdelivery},
	{"lost_device", core.CatLostDevice},
	{"suspicious_attachment", core.CatPhishing},
	{"phishing_link", core.CatPhishing},
	{"virus_alert", core.CatMalware},
	{"ransom_screen", core.CatRansomware},
	{"account_hijacked", core.CatUnauthorized},
	{"website_defaced", core.CatWebDefacement},
	{"data_exposed", core.CatDataLeak},
	{"service_down", core.CatDoS},
	{"not_sure", core.CatOther},
}

func situationByID(id string) (situation, bool) {
	for _, s := range situations {
		if s.ID == id {
			return s, true
		}
	}
	return situation{}, false
}

func situationKey(id string) string  { return "situation." + id }
func situationHint(id string) string { return "situation." + id + ".hint" }

// SituationLabel and SituationHint translate a situation for the form.
func (b base) SituationLabel(id string) string { return b.Tr.T(situationKey(id)) }
func (b base) SituationHint(id string) string  { return b.Tr.T(situationHint(id)) }

// reportForm is the report as typed, kept to show it again on an error.
type reportForm struct {
	Situation    string
	What         string
	OccurredAt   string
	Location     string
	HowFound     string
	ActionsTaken string
	Contact      string
}

type reportView struct {
	base
	Situations []situation
	Form       reportForm
	Errors     map[string]string
}

func (u *UI) reportPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if rq.actor.User.Role == core.RoleViewer {
		return forbiddenf("viewers cannot file reports")
	}
	return u.render(w, http.StatusOK, "report", reportView{base: u.base(r, rq, "report", rq.tr.T("report.title")), Situations: situations})
}

// maxTitleWhat is how much of "what happened" goes into the title; the
// whole text is kept in the facts.
const maxTitleWhat = 80

func (u *UI) reportSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := reportForm{
		Situation: r.PostForm.Get("situation"), What: strings.TrimSpace(r.PostForm.Get("what")),
		OccurredAt: r.PostForm.Get("occurred_at"), Location: strings.TrimSpace(r.PostForm.Get("location")),
		HowFound: strings.TrimSpace(r.PostForm.Get("how_found")), ActionsTaken: strings.TrimSpace(r.PostForm.Get("actions_taken")),
		Contact: strings.TrimSpace(r.PostForm.Get("contact")),
	}
	errs := map[string]string{}
	sit, ok := situationByID(f.Situation)
	if !ok {
		errs["situation"] = rq.tr.T("report.error.situation")
	}
	occurred, err := parseLocalTime(f.OccurredAt, rq.loc)
	if err != nil {
		errs["occurred_at"] = rq.tr.T("report.error.occurred_at")
	}
	if utf8.RuneCountInString(f.Contact) > core.MaxShortLen {
		errs["contact"] = rq.tr.T("report.error.too_long")
	}
	in := app.NewIncident{Category: sit.Category, Facts: core.Facts{
		OccurredAt: occurred, Location: f.Location, What: f.What, HowFound: f.HowFound, ActionsTaken: f.ActionsTaken,
	}}
	if ok {
		in.Title = reportTitle(rq.tr.T(situationKey(sit.ID)), f.What)
	}
	if f.Contact != "" {
		in.Description = rq.tr.T("report.contact_line", f.Contact)
	}
	if len(errs) == 0 {
		inc, err := u.app.CreateIncident(r.Context(), rq.actor, in)
		var fe *core.FieldError
		switch {
		case errors.As(err, &fe):
			errs[formField(fe.Field)] = rq.tr.T("report.error.too_long")
		case err != nil:
			return err
		default:
			http.Redirect(w, r, "/my/reports?filed="+inc.Key, http.StatusSeeOther)
			return nil
		}
	}
	v := reportView{base: u.base(r, rq, "report", rq.tr.T("report.title")), Situations: situations, Form: f, Errors: errs}
	return u.render(w, http.StatusUnprocessableEntity, "report", v)
}

// formField names the form field an incident field came from.
func formField(field string) string {
	switch field {
	case "facts.what", "title":
		return "what"
	case "facts.location":
		return "location"
	case "facts.how_found":
		return "how_found"
	case "facts.actions_taken":
		return "actions_taken"
	case "description":
		return "contact"
	}
	return "what"
}

// reportTitle is the situation and the start of the first line of what
// happened, so a list shows what each report is about.
func reportTitle(label, what string) string {
	first, _, _ := strings.Cut(what, "\n")
	first = strings.TrimSpace(first)
	if first == "" {
		return label
	}
	if utf8.RuneCountInString(first) > maxTitleWhat {
		first = string([]rune(first)[:maxTitleWhat]) + "…"
	}
	return label + ": " + first
}

type myReportsView struct {
	base
	Items   []*core.Incident
	Filed   string
	NextURL string
}

// myReports lists the reports the user filed, newest first, with where
// each stands. A reporter sees nothing else.
func (u *UI) myReports(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	before, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	self := rq.actor.User.ID
	items, more, err := u.app.ListIncidents(r.Context(), rq.actor, store.IncidentFilter{ReporterID: &self, Before: before, Limit: listLimit})
	if err != nil {
		return err
	}
	v := myReportsView{base: u.base(r, rq, "myreports", rq.tr.T("myreports.title")), Items: items}
	if k := q.Get("filed"); k != "" {
		if _, _, err := core.ParseIncidentKey(k); err == nil {
			v.Filed = k
		}
	}
	if more {
		v.NextURL = "/my/reports?cursor=" + encodeCursor(cursor{id: items[len(items)-1].ID})
	}
	return u.render(w, http.StatusOK, "myreports", v)
}
