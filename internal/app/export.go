package app

import (
	"context"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/share"
	"github.com/irdesk/irdesk/internal/store"
)

// exportIncident reads what an incident export needs, checks the options
// and records the export on the incident's timeline: sharing outside the
// desk is something the record must show (who, at which TLP). Only those
// who may read the incident's response record may export it.
func (app *App) exportIncident(ctx context.Context, a Actor, key, format string, opt *share.ExportOptions) (*core.Incident, []core.IncidentObservable, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, nil, err
	}
	if opt.Org == "" {
		opt.Org = app.cfg.ShareOrg
	}
	if err := opt.Normalize(); err != nil {
		return nil, nil, err
	}
	obs, err := app.store.IncidentObservableDetails(ctx, inc.ID)
	if err != nil {
		return nil, nil, err
	}
	err = app.store.InTx(ctx, func(tx *store.Tx) error {
		return appendEvent(ctx, tx, a, core.EvIncidentExported, inc.ID, map[string]any{
			"format": format, "tlp": opt.TLP, "pap": opt.PAP, "include_internal": opt.IncludeInternal, "observables": len(obs),
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return inc, obs, nil
}

// ExportIncidentSTIX builds the STIX 2.1 bundle of an incident.
func (app *App) ExportIncidentSTIX(ctx context.Context, a Actor, key string, opt share.ExportOptions) (*share.Bundle, error) {
	inc, obs, err := app.exportIncident(ctx, a, key, "stix", &opt)
	if err != nil {
		return nil, err
	}
	return share.STIXBundle(inc, obs, opt)
}

// ExportIncidentMISP builds the MISP event of an incident.
func (app *App) ExportIncidentMISP(ctx context.Context, a Actor, key string, opt share.ExportOptions) (*share.MISPDocument, error) {
	inc, obs, err := app.exportIncident(ctx, a, key, "misp", &opt)
	if err != nil {
		return nil, err
	}
	return share.MISPEventOf(inc, obs, opt)
}

// bulkExported records a bulk export before it streams, so an export cut
// short is on record too.
func (app *App) bulkExported(ctx context.Context, a Actor, what, format string) error {
	return app.store.InTx(ctx, func(tx *store.Tx) error {
		return appendEvent(ctx, tx, a, core.EvBulkExported, 0, map[string]any{"what": what, "format": format})
	})
}

// CheckBulkExport says whether the actor may export lists: reporters see
// only the status of their own reports, not response records.
func CheckBulkExport(a Actor) error {
	if a.System || a.User.Role.AtLeastAnalyst() || a.User.Role == core.RoleViewer {
		return nil
	}
	return forbidden("your role may not export incidents or alerts")
}

// ExportIncidents calls fn for every incident matching f that the actor
// may see (restricted ones only for their members), newest first, with
// its observables less those marked TLP:RED anywhere. f's cursor, if
// any, is where the export starts; its limit is ignored.
func (app *App) ExportIncidents(ctx context.Context, a Actor, format string, f store.IncidentFilter, fn func(share.IncidentRecord) error) error {
	if err := CheckBulkExport(a); err != nil {
		return err
	}
	red, err := app.store.RedObservables(ctx)
	if err != nil {
		return err
	}
	if err := app.bulkExported(ctx, a, "incidents", format); err != nil {
		return err
	}
	redactor := share.Redactor{Red: red}
	f.Scope = a.scope()
	f.Limit = store.MaxListLimit
	for {
		page, more, err := app.store.FindIncidents(ctx, f)
		if err != nil {
			return err
		}
		for _, inc := range page {
			obs, err := app.store.IncidentObservableDetails(ctx, inc.ID)
			if err != nil {
				return err
			}
			if err := fn(share.IncidentRecord{Incident: inc, Observables: redactor.Keep(obs)}); err != nil {
				return err
			}
		}
		if !more || len(page) == 0 {
			return nil
		}
		f.Before = page[len(page)-1].ID
	}
}

// ExportAlerts calls fn for every alert matching f, newest first, with
// its watchlist marks, without raw payloads and with every value marked
// TLP:RED on some incident blanked.
func (app *App) ExportAlerts(ctx context.Context, a Actor, format string, f store.AlertFilter, fn func(share.AlertRecord) error) error {
	if err := needAlertReader(a); err != nil {
		return err
	}
	red, err := app.store.RedObservables(ctx)
	if err != nil {
		return err
	}
	if err := app.bulkExported(ctx, a, "alerts", format); err != nil {
		return err
	}
	redactor := share.Redactor{Red: red}
	f.Scope = a.scope()
	f.Limit = store.MaxListLimit
	for {
		page, more, err := app.store.FindAlerts(ctx, f)
		if err != nil {
			return err
		}
		ids := make([]int64, len(page))
		for i, al := range page {
			ids[i] = al.ID
		}
		marks, err := app.store.AlertWatchlistMarks(ctx, ids...)
		if err != nil {
			return err
		}
		for _, al := range page {
			var wl []string
			for _, m := range marks[al.ID] {
				if red[core.Observable{Type: m.Type, Value: m.Value}] {
					continue
				}
				wl = append(wl, m.Type+":"+m.Value+" ("+m.Source+")")
			}
			if err := fn(share.AlertRecord{Alert: redactor.Alert(al), Watchlist: wl}); err != nil {
				return err
			}
		}
		if !more || len(page) == 0 {
			return nil
		}
		f.Before = page[len(page)-1].ID
	}
}
