package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

const costCols = `c.id, c.incident_id, i.key, c.category, c.kind, c.amount, c.currency, c.hours_x100, c.rate, c.status,
	c.incurred_on, c.note, COALESCE(cu.name, ''), c.created_at, COALESCE(uu.name, ''), c.updated_at, c.version`

const costJoins = ` JOIN incidents i ON i.id = c.incident_id LEFT JOIN users cu ON cu.id = c.created_by LEFT JOIN users uu ON uu.id = c.updated_by`

func scanCost(sc scanner) (core.CostItem, error) {
	var c core.CostItem
	var created, updated int64
	err := sc.Scan(&c.ID, &c.IncidentID, &c.IncidentKey, &c.Category, &c.Kind, &c.Amount, &c.Currency, &c.HoursX100, &c.Rate,
		&c.Status, &c.Date, &c.Note, &c.CreatedBy, &created, &c.UpdatedBy, &updated, &c.Version)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	if c.Kind == core.CostStaffHours {
		c.Hours = FormatHours(c.HoursX100)
	}
	return c, err
}

// FormatHours writes hundredths of an hour as a decimal ("1.5", "12").
func FormatHours(x100 int64) string {
	s := strconv.FormatInt(x100/100, 10)
	if frac := x100 % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s
}

// CreateCost stores a cost item (IncidentID set) and sets its ID and version.
func (tx *Tx) CreateCost(ctx context.Context, c *core.CostItem, byUserID int64) error {
	by := sql.NullInt64{Int64: byUserID, Valid: byUserID != 0}
	c.CreatedAt, c.UpdatedAt, c.Version = tx.now, tx.now, 1
	row, err := tx.queryRow(ctx, `INSERT INTO incident_costs (incident_id, category, kind, amount, currency, hours_x100, rate,
		status, incurred_on, note, created_by, created_at, updated_by, updated_at, version)
		VALUES (`+placeholders(14)+`, 1) RETURNING id`,
		c.IncidentID, string(c.Category), string(c.Kind), c.Amount, c.Currency, c.HoursX100, c.Rate, string(c.Status),
		c.Date, c.Note, by, micros(c.CreatedAt), by, micros(c.UpdatedAt))
	if err != nil {
		return err
	}
	if err := row.Scan(&c.ID); err != nil {
		return fmt.Errorf("create cost item: %w", err)
	}
	return nil
}

// UpdateCost writes every field of a cost item if its stored version is
// still c.Version, then bumps the version. Returns core.ErrConflict.
func (tx *Tx) UpdateCost(ctx context.Context, c *core.CostItem, byUserID int64) error {
	res, err := tx.exec(ctx, `UPDATE incident_costs SET category = ?, kind = ?, amount = ?, currency = ?, hours_x100 = ?, rate = ?,
		status = ?, incurred_on = ?, note = ?, updated_by = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND incident_id = ? AND version = ?`,
		string(c.Category), string(c.Kind), c.Amount, c.Currency, c.HoursX100, c.Rate, string(c.Status), c.Date, c.Note,
		sql.NullInt64{Int64: byUserID, Valid: byUserID != 0}, micros(tx.now), c.ID, c.IncidentID, c.Version)
	if err != nil {
		return fmt.Errorf("update cost item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Conflict("cost item %d was changed by someone else (version %d is not current); reload and retry", c.ID, c.Version)
	}
	c.Version++
	c.UpdatedAt = tx.now
	return nil
}

// DeleteCost removes a cost item of an incident. Returns core.ErrNotFound.
func (tx *Tx) DeleteCost(ctx context.Context, incidentID, id int64) error {
	res, err := tx.exec(ctx, `DELETE FROM incident_costs WHERE id = ? AND incident_id = ?`, id, incidentID)
	if err != nil {
		return fmt.Errorf("delete cost item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("cost item %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// GetCost returns a cost item of an incident; core.ErrNotFound if the
// incident has no such item.
func (r reader) GetCost(ctx context.Context, incidentID, id int64) (core.CostItem, error) {
	row, err := r.queryRow(ctx, `SELECT `+costCols+` FROM incident_costs c`+costJoins+` WHERE c.id = ? AND c.incident_id = ?`, id, incidentID)
	if err != nil {
		return core.CostItem{}, err
	}
	c, err := scanCost(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("cost item %d: %w", id, core.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get cost item: %w", err)
	}
	return c, nil
}

// MaxCostItems bounds the items one incident's list returns.
const MaxCostItems = 1000

// ListCosts returns an incident's cost items by date, then as entered.
func (r reader) ListCosts(ctx context.Context, incidentID int64) ([]core.CostItem, error) {
	rows, err := r.query(ctx, `SELECT `+costCols+` FROM incident_costs c`+costJoins+` WHERE c.incident_id = ?
		ORDER BY c.incurred_on, c.id LIMIT ?`, incidentID, MaxCostItems)
	if err != nil {
		return nil, fmt.Errorf("list cost items: %w", err)
	}
	out, _, err := page(rows, MaxCostItems, scanCost)
	return out, err
}

// CostGroup is how a cost summary groups the items.
type CostGroup string

const (
	CostByCategory         CostGroup = "category"
	CostByMonth            CostGroup = "month"
	CostByIncidentCategory CostGroup = "incident_category"
	// CostByCurrency sums everything, per currency only.
	CostByCurrency CostGroup = ""
)

// CostFilter selects cost items to sum.
type CostFilter struct {
	Scope Scope
	// IncidentID limits the sum to one incident; otherwise exercises are
	// left out, as from every statistic.
	IncidentID int64
	From, To   string // YYYY-MM-DD, inclusive; empty for no bound
	Group      CostGroup
}

// SumCosts sums the items the scope may see by group and currency,
// estimates and actuals apart. Sums are exact integers. Groups come in
// key order, currencies in code order.
func (r reader) SumCosts(ctx context.Context, f CostFilter) ([]core.CostTotal, error) {
	cond, args := f.Scope.where()
	where := []string{cond}
	if f.IncidentID != 0 {
		where = append(where, "c.incident_id = ?")
		args = append(args, f.IncidentID)
	} else {
		where = append(where, "i.exercise = 0")
	}
	if f.From != "" {
		where = append(where, "c.incurred_on >= ?")
		args = append(args, f.From)
	}
	if f.To != "" {
		where = append(where, "c.incurred_on <= ?")
		args = append(args, f.To)
	}
	var key, groupBy string
	switch f.Group {
	case CostByCategory:
		key = "c.category"
	case CostByMonth:
		key = "SUBSTR(c.incurred_on, 1, 7)"
	case CostByIncidentCategory:
		key = "i.category"
	case CostByCurrency:
		key = "''"
	default:
		return nil, core.Invalid("group", "must be category, month or incident_category")
	}
	// PostgreSQL refuses a constant in GROUP BY.
	groupBy = "c.currency"
	if f.Group != CostByCurrency {
		groupBy = key + ", c.currency"
	}
	// CAST: PostgreSQL's SUM of BIGINT is NUMERIC; the amounts are bounded
	// (core.MaxCostAmount) so the sum fits.
	rows, err := r.query(ctx, `SELECT `+key+` AS k, c.currency,
		CAST(COALESCE(SUM(CASE WHEN c.status = 'estimate' THEN c.amount ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN c.status = 'actual' THEN c.amount ELSE 0 END), 0) AS BIGINT),
		COUNT(*)
		FROM incident_costs c JOIN incidents i ON i.id = c.incident_id
		WHERE `+strings.Join(where, " AND ")+` GROUP BY `+groupBy+` ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("sum costs: %w", err)
	}
	defer rows.Close()
	var out []core.CostTotal
	for rows.Next() {
		var t core.CostTotal
		if err := rows.Scan(&t.Key, &t.Currency, &t.Estimated, &t.Actual, &t.Items); err != nil {
			return nil, fmt.Errorf("sum costs: %w", err)
		}
		t.Total = t.Estimated + t.Actual
		out = append(out, t)
	}
	return out, rows.Err()
}
