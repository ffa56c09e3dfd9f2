package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
)

// The knowledge base pages (search, articles, overdue prevention
// measures), the incident page's "similar incidents" and costs, and the
// dashboard's cost charts. Search hits arrive as parts with the matches
// flagged; the templates wrap those in <mark>, so user text is only ever
// escaped, never trusted as HTML.

type knowledgeView struct {
	base
	Q        string
	Searched bool
	Hits     []app.SearchHit
	More     bool
	Recent   []core.KnowledgeHit
	Overdue  []core.Measure
}

func (u *UI) knowledgePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	ctx := r.Context()
	tr := rq.tr
	v := knowledgeView{base: u.base(r, rq, "knowledge", tr.T("knowledge.title")), Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if v.Q != "" {
		p, err := u.app.Search(ctx, rq.actor, app.SearchQuery{Q: v.Q, Limit: listLimit})
		if err != nil {
			return err
		}
		v.Searched, v.Hits, v.More = true, p.Hits, p.Next != nil
	}
	recent, err := u.app.SearchKnowledge(ctx, rq.actor, app.KnowledgeQuery{Kind: core.KnowledgeArticle, Limit: 10})
	if err != nil {
		return err
	}
	v.Recent = recent.Hits
	if v.Overdue, err = u.app.Measures(ctx, rq.actor, app.MeasureQuery{Overdue: true, Limit: listLimit}); err != nil {
		return err
	}
	return u.render(w, http.StatusOK, "knowledge", v)
}

// HitURL is where a search hit leads.
func (b base) HitURL(h app.SearchHit) string {
	if h.Kind == app.SearchKnowledge {
		return "/knowledge/" + strconv.FormatInt(h.ID, 10)
	}
	return "/incidents/" + h.Key
}

// mdBlock is one block of an article's Markdown: a heading (Level 1-6), a
// paragraph, a list (Items) or code. The renderer only cuts the text into
// blocks; the template writes each one escaped.
type mdBlock struct {
	Kind    string // h, p, ul, ol, code
	Level   int
	Text    string
	Items   []string
	Ordered bool
}

// markdown cuts Markdown source into blocks: ATX headings, fenced code,
// "-", "*" and "1." lists, and paragraphs. Inline markup (emphasis,
// links) stays as written: it is read as text, never rendered.
func markdown(src string) []mdBlock {
	var out []mdBlock
	var para []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, mdBlock{Kind: "p", Text: strings.Join(para, "\n")})
			para = nil
		}
	}
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			out = append(out, mdBlock{Kind: "code", Text: strings.Join(code, "\n")})
		case trim == "":
			flush()
		case strings.HasPrefix(trim, "#"):
			level := len(trim) - len(strings.TrimLeft(trim, "#"))
			if level > 6 || (len(trim) > level && trim[level] != ' ') {
				para = append(para, trim)
				continue
			}
			flush()
			out = append(out, mdBlock{Kind: "h", Level: min(level+1, 6), Text: strings.TrimSpace(trim[level:])})
		case listItem(trim) != "":
			flush()
			ordered := trim[0] >= '0' && trim[0] <= '9'
			b := mdBlock{Kind: "ul", Ordered: ordered}
			if ordered {
				b.Kind = "ol"
			}
			for ; i < len(lines); i++ {
				t := strings.TrimSpace(lines[i])
				item := listItem(t)
				if item == "" || (t[0] >= '0' && t[0] <= '9') != ordered {
					break
				}
				b.Items = append(b.Items, item)
			}
			i--
			out = append(out, b)
		default:
			para = append(para, trim)
		}
	}
	flush()
	return out
}

// listItem returns the text of a list line ("- x", "* x", "12. x"), or "".
func listItem(t string) string {
	if strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ") {
		return strings.TrimSpace(t[2:])
	}
	digits := len(t) - len(strings.TrimLeft(t, "0123456789"))
	if digits > 0 && digits < 10 && strings.HasPrefix(t[digits:], ". ") {
		return strings.TrimSpace(t[digits+2:])
	}
	return ""
}

type articleView struct {
	base
	K       *core.Knowledge
	Blocks  []mdBlock
	Measure []core.Measure
}

func (u *UI) articlePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return fmt.Errorf("knowledge entry %q: %w", r.PathValue("id"), core.ErrNotFound)
	}
	k, err := u.app.GetKnowledge(r.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	v := articleView{base: u.base(r, rq, "knowledge", k.Title), K: k, Blocks: markdown(k.Body)}
	return u.render(w, http.StatusOK, "article", v)
}

type articleForm struct {
	Title, Summary, Body, Tags string
	Version                    int64
}

type articleEditView struct {
	base
	ID     int64 // 0 for a new article
	Form   articleForm
	Err    string
	Action string
}

func (u *UI) newArticlePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	v := articleEditView{base: u.base(r, rq, "knowledge", rq.tr.T("knowledge.new")), Action: "/knowledge/new"}
	return u.render(w, http.StatusOK, "article_edit", v)
}

func (u *UI) editArticlePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return fmt.Errorf("knowledge entry %q: %w", r.PathValue("id"), core.ErrNotFound)
	}
	k, err := u.app.GetKnowledge(r.Context(), rq.actor, id)
	if err != nil {
		return err
	}
	v := articleEditView{base: u.base(r, rq, "knowledge", rq.tr.T("knowledge.edit")), ID: id,
		Action: "/knowledge/" + strconv.FormatInt(id, 10) + "/edit",
		Form:   articleForm{Title: k.Title, Summary: k.Summary, Body: k.Body, Tags: strings.Join(k.Tags, ", "), Version: k.Version}}
	return u.render(w, http.StatusOK, "article_edit", v)
}

func formTags(s string) []string {
	tags := []string{}
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '、' || r == '\n' }) {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// articleSubmit creates (no id) or edits an article; a refused form comes
// back filled in, with the reason.
func (u *UI) articleSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := articleForm{Title: r.PostForm.Get("title"), Summary: r.PostForm.Get("summary"), Body: r.PostForm.Get("body"), Tags: r.PostForm.Get("tags")}
	var k *core.Knowledge
	var err error
	var id int64
	if s := r.PathValue("id"); s != "" {
		if id, err = strconv.ParseInt(s, 10, 64); err != nil || id < 1 {
			return fmt.Errorf("knowledge entry %q: %w", s, core.ErrNotFound)
		}
		f.Version, _ = strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
		tags := formTags(f.Tags)
		k, err = u.app.UpdateKnowledge(r.Context(), rq.actor, id, app.KnowledgeEdit{Title: &f.Title, Summary: &f.Summary,
			Body: &f.Body, Tags: &tags, Version: &f.Version})
	} else {
		k, err = u.app.CreateArticle(r.Context(), rq.actor, app.NewArticle{Title: f.Title, Summary: f.Summary, Body: f.Body, Tags: formTags(f.Tags)})
	}
	if err != nil {
		status := formStatus(err)
		if status == 0 {
			return err
		}
		v := articleEditView{base: u.base(r, rq, "knowledge", rq.tr.T("knowledge.edit")), ID: id, Form: f, Err: err.Error(),
			Action: r.URL.Path}
		return u.render(w, status, "article_edit", v)
	}
	http.Redirect(w, r, "/knowledge/"+strconv.FormatInt(k.ID, 10), http.StatusSeeOther)
	return nil
}

// formStatus is the status a refused form is shown again with, 0 for an
// error that is not the form's fault (shown as the error page).
func formStatus(err error) int {
	switch {
	case errors.Is(err, core.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, core.ErrConflict):
		return http.StatusConflict
	}
	return 0
}

// incidentKnowledge is the incident page's similar incidents and costs.
type incidentKnowledge struct {
	Similar []core.SimilarIncident
	Costs   app.IncidentCosts
	// Categories and Today fill the add-cost form.
	Categories []core.CostCategory
	Today      string
}

// knowledgeExtras loads the similar incidents and the costs for the
// incident page of someone who may read the response record.
func (u *UI) knowledgeExtras(r *http.Request, rq *request, v *incidentView) error {
	ctx := r.Context()
	sim, err := u.app.SimilarIncidents(ctx, rq.actor, v.Inc.Key, 5)
	if err != nil {
		return err
	}
	costs, err := u.app.Costs(ctx, rq.actor, v.Inc.Key)
	if err != nil {
		return err
	}
	v.Knowledge = &incidentKnowledge{Similar: sim, Costs: costs, Categories: core.CostCategories,
		Today: time.Now().In(rq.loc).Format(time.DateOnly)}
	return nil
}

// SimilarReason labels one reason an incident is similar.
func (b base) SimilarReason(r core.SimilarReason) string {
	label := b.Tr.T(similarReasonKey(r.Kind))
	if len(r.Values) > 0 {
		label += ": " + strings.Join(r.Values, ", ")
	}
	return label
}

// CostCategory translates a cost category.
func (b base) CostCategory(c string) string { return b.Tr.T(costCategoryKey(c)) }

func costCategoryKey(c string) string  { return "cost_category." + c }
func similarReasonKey(k string) string { return "similar.reason." + k }

// Money writes an exact amount with thousands separators: costs are
// integers in the currency's unit, never floats.
func (b base) Money(amount int64, currency string) string {
	s := strconv.FormatInt(amount, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		out = append([]byte{'-'}, out...)
	}
	return string(out) + " " + currency
}

func (u *UI) addCostSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := r.PostForm
	in := app.NewCost{Category: core.CostCategory(f.Get("category")), Status: core.CostStatus(f.Get("status")),
		Currency: strings.TrimSpace(f.Get("currency")), Date: f.Get("date"), Note: f.Get("note")}
	var err error
	if s := strings.ReplaceAll(strings.TrimSpace(f.Get("amount")), ",", ""); s != "" {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			err = core.Invalid("amount", "must be a whole number")
		}
		in.Amount = &n
	}
	if err == nil {
		_, err = u.app.AddCost(r.Context(), rq.actor, r.PathValue("key"), in)
	}
	return u.afterAction(w, r, rq, err, "#costs")
}

// costCharts are the dashboard's costs: by category and over the last
// twelve months, in one currency (JPY when there is any), exercises left
// out as from every figure.
type costCharts struct {
	Currency   string
	ByCategory chart
	Monthly    chart
	Totals     []core.CostTotal
}

func (u *UI) dashboardCosts(r *http.Request, rq *request, b base) (*costCharts, error) {
	ctx := r.Context()
	now := time.Now().In(rq.loc)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, rq.loc).AddDate(0, -11, 0)
	byCat, err := u.app.SummarizeCosts(ctx, rq.actor, app.CostSummaryQuery{Group: "category"})
	if err != nil {
		return nil, err
	}
	monthly, err := u.app.SummarizeCosts(ctx, rq.actor, app.CostSummaryQuery{Group: "month", From: first.Format(time.DateOnly)})
	if err != nil {
		return nil, err
	}
	c := &costCharts{Currency: "JPY", Totals: byCat.Totals}
	if len(byCat.Totals) > 0 {
		c.Currency = byCat.Totals[0].Currency
		for _, t := range byCat.Totals {
			if t.Currency == "JPY" {
				c.Currency = "JPY"
			}
		}
	}
	var vals []int
	var labels, titles []string
	for i, cat := range core.CostCategories {
		var n int64
		for _, g := range byCat.Groups {
			if g.Key == string(cat) && g.Currency == c.Currency {
				n = g.Total
			}
		}
		vals = append(vals, int(n))
		labels = append(labels, strconv.Itoa(i+1))
		titles = append(titles, strconv.Itoa(i+1)+". "+b.CostCategory(string(cat))+": "+b.Money(n, c.Currency))
	}
	c.ByCategory = barChart(b.Tr.T("costs.by_category"), vals, labels, titles, nil)
	vals, labels, titles = nil, nil, nil
	for m := range 12 {
		month := first.AddDate(0, m, 0).Format("2006-01")
		var n int64
		for _, g := range monthly.Groups {
			if g.Key == month && g.Currency == c.Currency {
				n = g.Total
			}
		}
		vals = append(vals, int(n))
		labels = append(labels, month[5:])
		titles = append(titles, month+": "+b.Money(n, c.Currency))
	}
	c.Monthly = barChart(b.Tr.T("costs.monthly"), vals, labels, titles, nil)
	return c, nil
}
