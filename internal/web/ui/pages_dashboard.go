package ui

import (
	"net/http"
	"strconv"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

// chart is a bar chart drawn on the server as SVG: readable without
// JavaScript, printable, and allowed by the strict CSP (no inline style;
// colours come from classes in app.css).
type chart struct {
	Label         string
	Width, Height int
	BaseY, AxisY  int
	Bars          []chartBar
}

type chartBar struct {
	X, Y, W, H, CX, LabelY int
	Value                  int
	Label, Title, Class    string
}

// Chart geometry, in SVG user units.
const (
	chartHeight = 180
	chartTop    = 18 // room for the value above the tallest bar
	chartAxis   = 22 // room for the labels under the bars
	chartSlot   = 48
	chartGap    = 10
)

// barChart lays out bars of values under labels; the tallest bar fills
// the height, and an all-zero chart draws flat bars rather than dividing
// by zero.
func barChart(label string, values []int, labels, titles, classes []string) chart {
	c := chart{Label: label, Width: chartSlot * len(values), Height: chartHeight}
	c.BaseY = chartHeight - chartAxis
	c.AxisY = chartHeight - 6
	top := 0
	for _, v := range values {
		top = max(top, v)
	}
	room := c.BaseY - chartTop
	for i, v := range values {
		h := 0
		if top > 0 {
			h = v * room / top
		}
		if v > 0 && h < 2 {
			h = 2 // a one among hundreds still shows
		}
		x := i*chartSlot + chartGap/2
		b := chartBar{X: x, W: chartSlot - chartGap, H: h, Y: c.BaseY - h, CX: x + (chartSlot-chartGap)/2,
			LabelY: c.BaseY - h - 4, Value: v, Label: labels[i], Title: titles[i]}
		if classes != nil {
			b.Class = classes[i]
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// pairChart is a horizontal bar chart with two bars per row (open now,
// filed in the last 90 days), for labels too long to sit under a bar.
type pairChart struct {
	Label         string
	Width, Height int
	Rows          []pairRow
}

type pairRow struct {
	Label                  string
	Open, Recent           int
	Y, TextY               int
	OpenY, RecentY         int
	OpenW, RecentW         int
	OpenVX, RecentVX       int
	OpenTitle, RecentTitle string
}

// Geometry of pairChart, in SVG user units.
const (
	pairLabelW = 170 // room for the category's name
	pairBarW   = 260 // the longest bar
	pairRowH   = 28
	pairBarH   = 10
)

// categoryChart lays out one row per category that has an open incident
// or one filed in the window, in the catalogue's order; the longest bar
// is the largest of all the values.
func categoryChart(b base, d *app.Dashboard) pairChart {
	c := pairChart{Label: b.Tr.T("dashboard.by_category"), Width: pairLabelW + pairBarW + 50}
	top := 0
	for _, cat := range core.Categories {
		top = max(top, d.OpenByCategory[cat], d.RecentByCategory[cat])
	}
	width := func(v int) int {
		if top == 0 || v == 0 {
			return 0
		}
		return max(2, v*pairBarW/top)
	}
	for _, cat := range core.Categories {
		open, recent := d.OpenByCategory[cat], d.RecentByCategory[cat]
		if open == 0 && recent == 0 {
			continue
		}
		y := len(c.Rows) * pairRowH
		r := pairRow{Label: b.Category(cat), Open: open, Recent: recent, Y: y, TextY: y + pairRowH/2 + 4,
			OpenY: y + 3, RecentY: y + 4 + pairBarH, OpenW: width(open), RecentW: width(recent)}
		r.OpenVX, r.RecentVX = pairLabelW+r.OpenW+4, pairLabelW+r.RecentW+4
		r.OpenTitle = b.Tr.T("dashboard.category_open", r.Label, open)
		r.RecentTitle = b.Tr.T("dashboard.category_recent", r.Label, recent)
		c.Rows = append(c.Rows, r)
	}
	c.Height = max(1, len(c.Rows)) * pairRowH
	return c
}

// PairLabelX and PairBarX place the labels and the bars of pairChart.
func (pairChart) PairLabelX() int { return pairLabelW - 6 }
func (pairChart) PairBarX() int   { return pairLabelW }
func (pairChart) BarH() int       { return pairBarH }

type dashboardView struct {
	base
	D          *app.Dashboard
	BySev      chart
	ByPhase    chart
	Weekly     chart
	ByCategory pairChart
	Overdue    []app.ClockView
	DueSoon    []app.ClockView
	Medians    []medianRow
	WeekFrom   time.Time
	Costs      *costCharts
}

type medianRow struct {
	Name, Hint string
	M          app.Median
}

func (u *UI) dashboardPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	d, err := u.app.Dashboard(r.Context(), rq.actor, rq.loc)
	if err != nil {
		return err
	}
	tr := rq.tr
	v := dashboardView{base: u.base(r, rq, "dashboard", tr.T("dashboard.title")), D: d}
	var vals []int
	var labels, titles, classes []string
	for _, s := range core.Severities {
		n := d.OpenBySev[s]
		vals = append(vals, n)
		labels = append(labels, string(s))
		titles = append(titles, string(s)+" · "+v.Severity(s)+": "+strconv.Itoa(n))
		classes = append(classes, "sev-"+v.Lower(string(s)))
	}
	v.BySev = barChart(tr.T("dashboard.by_severity"), vals, labels, titles, classes)
	vals, labels, titles, classes = nil, nil, nil, nil
	for i, p := range core.Phases {
		if p == core.PhaseClosed {
			continue
		}
		n := d.OpenByPhase[p]
		vals = append(vals, n)
		labels = append(labels, strconv.Itoa(i+1))
		titles = append(titles, v.Phase(p)+": "+strconv.Itoa(n))
	}
	v.ByPhase = barChart(tr.T("dashboard.by_phase"), vals, labels, titles, nil)
	vals, labels, titles = nil, nil, nil
	for _, wk := range d.Weeks {
		start := wk.Start.In(rq.loc)
		vals = append(vals, wk.Count)
		labels = append(labels, start.Format("1/2"))
		titles = append(titles, tr.T("dashboard.week_of", start.Format("2006-01-02"), wk.Count))
	}
	v.Weekly = barChart(tr.T("dashboard.weekly"), vals, labels, titles, nil)
	v.ByCategory = categoryChart(v.base, d)
	if len(d.Weeks) > 0 {
		v.WeekFrom = d.Weeks[0].Start
	}
	for _, c := range d.Clocks {
		if c.State == deadline.StateOverdue {
			v.Overdue = append(v.Overdue, c)
		} else {
			v.DueSoon = append(v.DueSoon, c)
		}
	}
	v.Medians = []medianRow{
		{"MTTD", tr.T("dashboard.mttd"), d.MTTD},
		{"MTTA", tr.T("dashboard.mtta"), d.MTTA},
		{"MTTC", tr.T("dashboard.mttc"), d.MTTC},
		{"MTTR", tr.T("dashboard.mttr"), d.MTTR},
	}
	if v.Costs, err = u.dashboardCosts(r, rq, v.base); err != nil {
		return err
	}
	return u.render(w, http.StatusOK, "dashboard", v)
}
