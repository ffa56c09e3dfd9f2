package app

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// IngestResult is what became of one alert of an intake request.
type IngestResult struct {
	ID        int64 `json:"id"`
	Duplicate bool  `json:"duplicate"`
}

// CheckIngest says whether the actor may send alerts: analysts, leads and
// admins (tools use an analyst account's API token). The web layer asks
// before reading a body of up to megabytes that would be refused anyway.
func CheckIngest(a Actor) error {
	if a.System || a.User.Role.AtLeastAnalyst() {
		return nil
	}
	return forbidden("your role may not send alerts")
}

// IngestAlerts parses body in the named format (ingest.Formats) and
// records every alert in one transaction with one audit event for the
// request, so a batch of thousands costs one commit and one event, and is
// taken whole or not at all. The results are in the order of the alerts.
// A body that does not parse is core.ErrInvalid and writes nothing.
func (app *App) IngestAlerts(ctx context.Context, a Actor, format string, body []byte) ([]IngestResult, error) {
	if err := CheckIngest(a); err != nil {
		return nil, err
	}
	alerts, err := ingest.Parse(format, body)
	if err != nil {
		return nil, err
	}
	return app.IngestParsed(ctx, a, format, alerts)
}

// IngestParsed records alerts that were already parsed (by a listener
// that frames its own input, such as syslog) exactly as IngestAlerts
// does: one transaction, one audit event, results in order.
func (app *App) IngestParsed(ctx context.Context, a Actor, format string, alerts []ingest.Alert) ([]IngestResult, error) {
	if err := CheckIngest(a); err != nil {
		return nil, err
	}
	if len(alerts) == 0 {
		// Only records the format skips (a Suricata flow): nothing happened.
		return []IngestResult{}, nil
	}
	format = strings.ToLower(strings.TrimSpace(format))
	var out []IngestResult
	err := app.store.TryInTx(ctx, func(tx *store.Tx) error {
		results := make([]IngestResult, len(alerts))
		dups := 0
		for i := range alerts {
			alerts[i].ReceivedAt = tx.Now()
			id, dup, err := tx.IngestAlert(ctx, &alerts[i], app.cfg.AlertDedupWindow)
			if err != nil {
				return fmt.Errorf("alert %d: %w", i, err)
			}
			results[i] = IngestResult{ID: id, Duplicate: dup}
			if dup {
				dups++
			}
			if err := app.watchlistIngested(ctx, tx, &alerts[i], id, dup); err != nil {
				return fmt.Errorf("alert %d: watchlist: %w", i, err)
			}
			if err := app.triageIngested(ctx, tx, &alerts[i], id, dup); err != nil {
				return fmt.Errorf("alert %d: triage: %w", i, err)
			}
		}
		if err := appendEvent(ctx, tx, a, core.EvAlertIngested, 0, map[string]any{
			"format": format, "alerts": len(alerts), "new": len(alerts) - dups, "duplicates": dups,
		}); err != nil {
			return err
		}
		out = results
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// needAlertReader lets everyone who works or watches incidents read alerts;
// reporters file reports and do not see the tools' alerts.
func needAlertReader(a Actor) error {
	if a.System || a.User.Role.AtLeastAnalyst() || a.User.Role == core.RoleViewer {
		return nil
	}
	return forbidden("your role may not see alerts")
}

// ListAlerts lists alerts newest first.
func (app *App) ListAlerts(ctx context.Context, a Actor, f store.AlertFilter) ([]*core.Alert, bool, error) {
	if err := needAlertReader(a); err != nil {
		return nil, false, err
	}
	f.Scope = a.scope()
	return app.store.FindAlerts(ctx, f)
}

// GetAlert returns an alert with its raw payload and observables.
func (app *App) GetAlert(ctx context.Context, a Actor, id int64) (*core.Alert, error) {
	if err := needAlertReader(a); err != nil {
		return nil, err
	}
	return app.store.GetAlert(ctx, id, a.scope())
}

// mutateAlert runs fn on an alert inside a write transaction after
// checking the actor works alerts. The alert is read in the transaction
// so the status check and the change see the same state; the returned
// alert is read again after the change.
func (app *App) mutateAlert(ctx context.Context, a Actor, id int64, fn func(*store.Tx, *core.Alert) error) (*core.Alert, error) {
	if !a.System && !a.User.Role.AtLeastAnalyst() {
		return nil, forbidden("your role may not work alerts")
	}
	var out *core.Alert
	err := app.store.InTx(ctx, func(tx *store.Tx) error {
		al, err := tx.GetAlert(ctx, id, a.scope())
		if err != nil {
			return err
		}
		if err := fn(tx, al); err != nil {
			return err
		}
		fresh, err := tx.GetAlert(ctx, id, a.scope())
		if err != nil {
			return err
		}
		out = fresh
		return nil
	})
	return out, err
}

func notOpen(al *core.Alert, what string) error {
	return core.Conflict("alert %d is %s; only new or acknowledged alerts can be %s", al.ID, al.Status, what)
}

// AcknowledgeAlert marks a new alert as being looked at. Acknowledging an
// acknowledged alert changes nothing and writes no event.
func (app *App) AcknowledgeAlert(ctx context.Context, a Actor, id int64) (*core.Alert, error) {
	return app.mutateAlert(ctx, a, id, func(tx *store.Tx, al *core.Alert) error {
		switch al.Status {
		case core.AlertAcknowledged:
			return nil
		case core.AlertNew:
		default:
			return notOpen(al, "acknowledged")
		}
		if err := tx.SetAlertStatus(ctx, al.ID, core.AlertAcknowledged, ""); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvAlertAcknowledged, 0, map[string]any{"alert": al.ID})
	})
}

// CloseAlert closes an alert that needs no incident, for a reason that
// the statistics on false positives are built from. Suppressed alerts may
// be closed too; promoted ones belong to their incident.
func (app *App) CloseAlert(ctx context.Context, a Actor, id int64, reason core.CloseReason) (*core.Alert, error) {
	if reason == "" {
		return nil, core.Invalid("reason", "is required (false_positive, benign or duplicate)")
	}
	if !reason.Valid() {
		return nil, core.Invalid("reason", "unknown reason %q (false_positive, benign or duplicate)", reason)
	}
	return app.mutateAlert(ctx, a, id, func(tx *store.Tx, al *core.Alert) error {
		if !al.Status.Open() && al.Status != core.AlertSuppressed {
			return notOpen(al, "closed")
		}
		if err := tx.SetAlertStatus(ctx, al.ID, core.AlertClosed, reason); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvAlertClosed, 0, map[string]any{"alert": al.ID, "from": al.Status, "reason": reason})
	})
}

// PromoteInput is what a responder decides when opening an incident from
// an alert; empty fields take the alert's values (category: other).
type PromoteInput struct {
	Category core.Category `json:"category"`
	Severity core.Severity `json:"severity"`
	Title    string        `json:"title"`
}

// PromoteAlert opens an incident from an alert, exactly as CreateIncident
// would (key, phase, created event), links the alert and gives the
// incident its observables, all in one transaction. It returns the alert
// and the new incident.
func (app *App) PromoteAlert(ctx context.Context, a Actor, id int64, in PromoteInput) (*core.Alert, *core.Incident, error) {
	var inc *core.Incident
	al, err := app.mutateAlert(ctx, a, id, func(tx *store.Tx, al *core.Alert) error {
		if !al.Status.Open() {
			return notOpen(al, "promoted")
		}
		n := &core.Incident{
			Title: in.Title, Category: in.Category, Severity: in.Severity, Phase: core.PhaseDetect,
			Description: promotedDescription(al), ReporterID: a.User.ID, Reporter: a.User.Name,
			Facts: core.Facts{OccurredAt: al.EventTime},
		}
		if strings.TrimSpace(n.Title) == "" {
			n.Title = truncateRunes(al.Title, core.MaxTitleLen)
		}
		if n.Severity == "" {
			n.Severity = al.Severity
		}
		if al.Host != "" && utf8.RuneCountInString(al.Host) <= core.MaxShortLen {
			n.AffectedSystems = []string{al.Host}
		}
		if err := n.Normalize(); err != nil {
			return err
		}
		// Detected when the tool's alert first reached the desk.
		if err := app.createIncident(ctx, tx, a, n, &al.FirstSeen); err != nil {
			return err
		}
		if err := tx.SetAlertStatus(ctx, al.ID, core.AlertPromoted, ""); err != nil {
			return err
		}
		if err := tx.LinkAlertIncident(ctx, al.ID, n.ID, a.User.ID); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, core.EvAlertPromoted, n.ID, map[string]any{"alert": al.ID, "from": al.Status}); err != nil {
			return err
		}
		inc = n
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return al, inc, nil
}

// AttachAlert adds an alert to an incident the actor may change: the
// alert becomes promoted (it belongs to an incident) and the incident
// gets its observables. The event is on the incident's timeline.
func (app *App) AttachAlert(ctx context.Context, a Actor, id int64, key string) (*core.Alert, error) {
	if _, _, err := core.ParseIncidentKey(key); err != nil {
		return nil, core.Invalid("incident", "%q is not an incident key", key)
	}
	return app.mutateAlert(ctx, a, id, func(tx *store.Tx, al *core.Alert) error {
		if !al.Status.Open() {
			return notOpen(al, "attached")
		}
		inc, err := tx.GetIncident(ctx, key, a.scope())
		if err != nil {
			return err
		}
		if err := needAnalyst(a)(inc); err != nil {
			return err
		}
		if err := tx.SetAlertStatus(ctx, al.ID, core.AlertPromoted, ""); err != nil {
			return err
		}
		if err := tx.LinkAlertIncident(ctx, al.ID, inc.ID, a.User.ID); err != nil {
			return err
		}
		return appendEvent(ctx, tx, a, core.EvAlertAttached, inc.ID, map[string]any{"alert": al.ID, "from": al.Status})
	})
}

func promotedDescription(al *core.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Opened from alert %d (%s", al.ID, al.Source)
	if al.RuleName != "" {
		fmt.Fprintf(&b, ", rule %s", al.RuleName)
	} else if al.RuleID != "" {
		fmt.Fprintf(&b, ", rule %s", al.RuleID)
	}
	fmt.Fprintf(&b, "), seen %d time(s).", al.Count)
	return b.String()
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
