package app

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// Cost of damage: what an incident cost, by category, estimated or
// actual. Amounts are integers in the currency's minor unit (yen for
// JPY); staff time is hours (to the hundredth) × an hourly rate. Viewers
// and up read costs; analysts and up write them; reporters neither.

// NewCost is a cost item as submitted.
type NewCost struct {
	Category core.CostCategory `json:"category"`
	Kind     core.CostKind     `json:"kind"`
	Amount   *int64            `json:"amount"`
	Currency string            `json:"currency"`
	// Hours is a decimal number of hours with at most two decimals.
	Hours  json.Number     `json:"hours"`
	Rate   *int64          `json:"rate"`
	Status core.CostStatus `json:"status"`
	Date   string          `json:"date"`
	Note   string          `json:"note"`
}

// CostPatch changes a cost item; nil (or empty) fields stay.
type CostPatch struct {
	Category *core.CostCategory `json:"category"`
	Kind     *core.CostKind     `json:"kind"`
	Amount   *int64             `json:"amount"`
	Currency *string            `json:"currency"`
	Hours    json.Number        `json:"hours"`
	Rate     *int64             `json:"rate"`
	Status   *core.CostStatus   `json:"status"`
	Date     *string            `json:"date"`
	Note     *string            `json:"note"`
	Version  *int64             `json:"version"`
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// parseHours reads a decimal number of hours into hundredths, exactly.
func parseHours(n json.Number) (int64, error) {
	s := strings.TrimSpace(string(n))
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 6 || (dot && (frac == "" || len(frac) > 2)) ||
		strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return 0, core.Invalid("hours", "must be a number of hours with at most two decimals, such as 7.5")
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	x := w*100 + f
	if x <= 0 {
		return 0, core.Invalid("hours", "must be more than zero")
	}
	return x, nil
}

// checkCost normalises and checks a whole item and computes the amount of
// staff time. today is the default date.
func checkCost(c *core.CostItem, today string) error {
	if !c.Category.Valid() {
		return core.Invalid("category", "must be one of investigation_recovery, compensation, legal_fines, business_interruption, consulting, notification_pr, staff_overtime, ransom, other")
	}
	if c.Kind == "" {
		c.Kind = core.CostAmount
	}
	if !c.Kind.Valid() {
		return core.Invalid("kind", "must be amount or staff_hours")
	}
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	if c.Currency == "" {
		c.Currency = "JPY"
	}
	if !currencyPattern.MatchString(c.Currency) {
		return core.Invalid("currency", "must be an ISO 4217 code such as JPY or USD")
	}
	if !c.Status.Valid() {
		return core.Invalid("status", "must be estimate or actual")
	}
	c.Date = strings.TrimSpace(c.Date)
	if c.Date == "" {
		c.Date = today
	}
	if _, err := time.Parse(time.DateOnly, c.Date); err != nil {
		return core.Invalid("date", "must be a date (YYYY-MM-DD)")
	}
	c.Note = strings.TrimSpace(c.Note)
	if utf8.RuneCountInString(c.Note) > core.MaxTextLen {
		return core.Invalid("note", "is longer than %d characters", core.MaxTextLen)
	}
	switch c.Kind {
	case core.CostStaffHours:
		if c.HoursX100 <= 0 {
			return core.Invalid("hours", "is required for staff time")
		}
		if c.Rate <= 0 || c.Rate > core.MaxCostAmount {
			return core.Invalid("rate", "is required for staff time: the hourly rate, more than zero")
		}
		// Hours have two decimals, so the product is exact in hundredths;
		// the amount rounds half up to a whole minor unit.
		if c.Rate > (core.MaxCostAmount*100)/c.HoursX100 {
			return core.Invalid("hours", "hours × rate is more than %d", int64(core.MaxCostAmount))
		}
		c.Amount = (c.HoursX100*c.Rate + 50) / 100
	default:
		if c.HoursX100 != 0 || c.Rate != 0 {
			return core.Invalid("hours", "hours and rate are for staff time (kind staff_hours)")
		}
	}
	if c.Amount < 0 || c.Amount > core.MaxCostAmount {
		return core.Invalid("amount", "must be from 0 to %d", int64(core.MaxCostAmount))
	}
	return nil
}

func (app *App) today() string { return app.now().In(jst).Format(time.DateOnly) }

// AddCost records a cost item of an incident. Analysts and up.
func (app *App) AddCost(ctx context.Context, a Actor, key string, in NewCost) (core.CostItem, error) {
	c := core.CostItem{Category: in.Category, Kind: in.Kind, Currency: in.Currency, Status: in.Status, Date: in.Date, Note: in.Note}
	if in.Amount != nil {
		c.Amount = *in.Amount
		if c.Kind == core.CostStaffHours {
			return c, core.Invalid("amount", "staff time is hours × rate; leave amount out")
		}
	} else if c.Kind != core.CostStaffHours {
		return c, core.Invalid("amount", "is required")
	}
	if in.Hours != "" {
		h, err := parseHours(in.Hours)
		if err != nil {
			return c, err
		}
		c.HoursX100 = h
	}
	if in.Rate != nil {
		c.Rate = *in.Rate
	}
	if err := checkCost(&c, app.today()); err != nil {
		return c, err
	}
	var out core.CostItem
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		item := c
		item.IncidentID, item.IncidentKey = inc.ID, inc.Key
		if err := tx.CreateCost(ctx, &item, a.User.ID); err != nil {
			return err
		}
		item.CreatedBy, item.UpdatedBy = a.name(), a.name()
		if item.Kind == core.CostStaffHours {
			item.Hours = store.FormatHours(item.HoursX100)
		}
		out = item
		return appendEvent(ctx, tx, a, core.EvCostAdded, inc.ID, map[string]any{"cost": item})
	})
	return out, err
}

// UpdateCost changes a cost item. Analysts and up; the event keeps the
// item before and after.
func (app *App) UpdateCost(ctx context.Context, a Actor, key string, id int64, p CostPatch) (core.CostItem, error) {
	var hours int64
	if p.Hours != "" {
		h, err := parseHours(p.Hours)
		if err != nil {
			return core.CostItem{}, err
		}
		hours = h
	}
	var out core.CostItem
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		before, err := tx.GetCost(ctx, inc.ID, id)
		if err != nil {
			return err
		}
		if p.Version != nil && *p.Version != before.Version {
			return core.Conflict("cost item %d is at version %d, not %d; reload and retry", id, before.Version, *p.Version)
		}
		c := before
		if p.Category != nil {
			c.Category = *p.Category
		}
		if p.Kind != nil {
			c.Kind = *p.Kind
			if c.Kind != core.CostStaffHours {
				c.HoursX100, c.Rate = 0, 0
			}
		}
		if p.Amount != nil {
			if c.Kind == core.CostStaffHours {
				return core.Invalid("amount", "staff time is hours × rate; change hours or rate")
			}
			c.Amount = *p.Amount
		}
		if p.Currency != nil {
			c.Currency = *p.Currency
			if c.Currency == "" {
				return core.Invalid("currency", "must be an ISO 4217 code such as JPY or USD")
			}
		}
		if hours != 0 {
			c.HoursX100 = hours
		}
		if p.Rate != nil {
			c.Rate = *p.Rate
		}
		if p.Status != nil {
			c.Status = *p.Status
		}
		if p.Date != nil {
			if strings.TrimSpace(*p.Date) == "" {
				return core.Invalid("date", "must be a date (YYYY-MM-DD)")
			}
			c.Date = *p.Date
		}
		if p.Note != nil {
			c.Note = *p.Note
		}
		if err := checkCost(&c, app.today()); err != nil {
			return err
		}
		if c.Category == before.Category && c.Kind == before.Kind && c.Amount == before.Amount && c.Currency == before.Currency &&
			c.HoursX100 == before.HoursX100 && c.Rate == before.Rate && c.Status == before.Status && c.Date == before.Date && c.Note == before.Note {
			out = before
			return nil
		}
		if err := tx.UpdateCost(ctx, &c, a.User.ID); err != nil {
			return err
		}
		c.UpdatedBy = a.name()
		c.Hours = ""
		if c.Kind == core.CostStaffHours {
			c.Hours = store.FormatHours(c.HoursX100)
		}
		out = c
		return appendEvent(ctx, tx, a, core.EvCostUpdated, inc.ID, map[string]any{"before": before, "after": c})
	})
	return out, err
}

// DeleteCost removes a cost item. Analysts and up; the audit event keeps
// the whole item, so the trail still shows what was deleted.
func (app *App) DeleteCost(ctx context.Context, a Actor, key string, id int64) error {
	_, err := app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		item, err := tx.GetCost(ctx, inc.ID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteCost(ctx, inc.ID, id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvCostDeleted, inc.ID, map[string]any{"cost": item})
	})
	return err
}

// IncidentCosts is an incident's cost items with their totals.
type IncidentCosts struct {
	Items []core.CostItem `json:"items"`
	// ByCategory sums per category and currency; Totals per currency.
	ByCategory []core.CostTotal `json:"by_category"`
	Totals     []core.CostTotal `json:"totals"`
}

// Costs lists an incident's cost items with totals. Viewers and up.
func (app *App) Costs(ctx context.Context, a Actor, key string) (IncidentCosts, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return IncidentCosts{}, err
	}
	items, err := app.store.ListCosts(ctx, inc.ID)
	if err != nil {
		return IncidentCosts{}, err
	}
	out := IncidentCosts{Items: items}
	if out.Items == nil {
		out.Items = []core.CostItem{}
	}
	f := store.CostFilter{Scope: a.scope(), IncidentID: inc.ID, Group: store.CostByCategory}
	if out.ByCategory, err = app.store.SumCosts(ctx, f); err != nil {
		return IncidentCosts{}, err
	}
	f.Group = store.CostByCurrency
	if out.Totals, err = app.store.SumCosts(ctx, f); err != nil {
		return IncidentCosts{}, err
	}
	out.ByCategory, out.Totals = nonNilTotals(out.ByCategory), nonNilTotals(out.Totals)
	return out, nil
}

func nonNilTotals(t []core.CostTotal) []core.CostTotal {
	if t == nil {
		return []core.CostTotal{}
	}
	return t
}

// CostSummaryQuery selects what a cost summary covers.
type CostSummaryQuery struct {
	From, To string // YYYY-MM-DD, inclusive
	Group    string // category (default), month, incident_category
}

// CostSummary sums costs across the incidents the actor may see,
// exercises left out.
type CostSummary struct {
	From   string           `json:"from,omitempty"`
	To     string           `json:"to,omitempty"`
	Group  string           `json:"group"`
	Groups []core.CostTotal `json:"groups"`
	Totals []core.CostTotal `json:"totals"`
}

// SummarizeCosts sums costs by category, month or incident category and
// currency. Viewers and up; reporters have no access.
func (app *App) SummarizeCosts(ctx context.Context, a Actor, q CostSummaryQuery) (CostSummary, error) {
	if err := kbRead(a); err != nil {
		return CostSummary{}, forbidden("reporters have no access to costs")
	}
	for _, d := range []struct{ name, v string }{{"from", q.From}, {"to", q.To}} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return CostSummary{}, core.Invalid(d.name, "must be a date (YYYY-MM-DD)")
		}
	}
	if q.From != "" && q.To != "" && q.To < q.From {
		return CostSummary{}, core.Invalid("to", "is before from")
	}
	if q.Group == "" {
		q.Group = string(store.CostByCategory)
	}
	g := store.CostGroup(q.Group)
	if g != store.CostByCategory && g != store.CostByMonth && g != store.CostByIncidentCategory {
		return CostSummary{}, core.Invalid("group", "must be category, month or incident_category")
	}
	f := store.CostFilter{Scope: a.scope(), From: q.From, To: q.To, Group: g}
	groups, err := app.store.SumCosts(ctx, f)
	if err != nil {
		return CostSummary{}, err
	}
	f.Group = store.CostByCurrency
	totals, err := app.store.SumCosts(ctx, f)
	if err != nil {
		return CostSummary{}, fmt.Errorf("cost totals: %w", err)
	}
	return CostSummary{From: q.From, To: q.To, Group: q.Group, Groups: nonNilTotals(groups), Totals: nonNilTotals(totals)}, nil
}
