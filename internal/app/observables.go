package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
	"github.com/irdesk/irdesk/internal/store"
)

// NewObservables is what an analyst adds to an incident: single items, or
// a pasted list of one type (one value a line, or separated by spaces or
// commas), defanged forms welcome.
type NewObservables struct {
	Items []NewObservable `json:"items"`
	Bulk  *BulkObservable `json:"bulk"`
}

// NewObservable is one observable with what is known of it.
type NewObservable struct {
	Type  string   `json:"type"`
	Value string   `json:"value"`
	Tags  []string `json:"tags"`
	IOC   bool     `json:"ioc"`
	TLP   string   `json:"tlp"`
}

// BulkObservable is a pasted list of values of one type.
type BulkObservable struct {
	Type string   `json:"type"`
	Text string   `json:"text"`
	Tags []string `json:"tags"`
	IOC  bool     `json:"ioc"`
	TLP  string   `json:"tlp"`
}

// maxObservablesPerRequest bounds one paste.
const maxObservablesPerRequest = 1000

// normalizeObservables validates and normalises every item; an error names
// the item (items[i] or bulk line n) at fault.
func normalizeObservables(in NewObservables) ([]core.IncidentObservable, error) {
	items := slices.Clone(in.Items)
	if in.Bulk != nil {
		for _, v := range strings.FieldsFunc(in.Bulk.Text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' }) {
			items = append(items, NewObservable{Type: in.Bulk.Type, Value: v, Tags: in.Bulk.Tags, IOC: in.Bulk.IOC, TLP: in.Bulk.TLP})
		}
	}
	if len(items) == 0 {
		return nil, core.Invalid("items", "give at least one observable")
	}
	if len(items) > maxObservablesPerRequest {
		return nil, core.Invalid("items", "at most %d observables at once", maxObservablesPerRequest)
	}
	out := make([]core.IncidentObservable, 0, len(items))
	for i, it := range items {
		field := fmt.Sprintf("items[%d]", i)
		if i >= len(in.Items) {
			field = fmt.Sprintf("bulk.text[%d]", i-len(in.Items))
		}
		value, err := ingest.NormalizeObservable(it.Type, it.Value)
		if err != nil {
			return nil, core.Invalid(field, "%q: %v", it.Value, err)
		}
		tlp := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.ToUpper(it.TLP), "TLP:")))
		if tlp != "" && !slices.Contains(core.TLPs, tlp) {
			return nil, core.Invalid(field+".tlp", "unknown TLP %q (clear, green, amber, amber+strict, red)", it.TLP)
		}
		var tags []string
		for _, t := range it.Tags {
			t = strings.TrimSpace(t)
			if t == "" || utf8.RuneCountInString(t) > 100 {
				return nil, core.Invalid(field+".tags", "a tag must have 1 to 100 characters")
			}
			tags = append(tags, t)
		}
		if tags == nil {
			tags = []string{}
		}
		out = append(out, core.IncidentObservable{Observable: core.Observable{Type: it.Type, Value: value}, Tags: tags, IOC: it.IOC, TLP: tlp})
	}
	return out, nil
}

// AddObservables records observables on an incident (analysts and up),
// in one transaction with one audit event.
func (app *App) AddObservables(ctx context.Context, a Actor, key string, in NewObservables) ([]core.IncidentObservable, error) {
	obs, err := normalizeObservables(in)
	if err != nil {
		return nil, err
	}
	var out []core.IncidentObservable
	_, err = app.mutate(ctx, a, key, needAnalyst(a), func(tx *store.Tx, inc *core.Incident) error {
		for _, o := range obs {
			if err := tx.AddIncidentObservable(ctx, inc.ID, o, a.User.ID); err != nil {
				return err
			}
		}
		added := make([]core.Observable, len(obs))
		for i, o := range obs {
			added[i] = o.Observable
		}
		if err := appendEvent(ctx, tx, a, core.EvObservablesAdded, inc.ID, map[string]any{"observables": added}); err != nil {
			return err
		}
		list, err := tx.IncidentObservableDetails(ctx, inc.ID)
		out = list
		return err
	})
	return out, err
}

// Observables lists an incident's observables.
func (app *App) Observables(ctx context.Context, a Actor, key string) ([]core.IncidentObservable, error) {
	inc, err := app.readIncident(ctx, a, key)
	if err != nil {
		return nil, err
	}
	return app.store.IncidentObservableDetails(ctx, inc.ID)
}

// Sightings answers "where else have we seen this?" for alert readers;
// incidents the actor may not see are left out.
func (app *App) Sightings(ctx context.Context, a Actor, typ, value string) (store.Sightings, error) {
	if a.User.Role == core.RoleReporter && !a.System {
		return store.Sightings{}, forbidden("reporters do not search observables")
	}
	v, err := ingest.NormalizeObservable(typ, value)
	if err != nil {
		return store.Sightings{}, core.Invalid("value", "%v", err)
	}
	return app.store.FindSightings(ctx, typ, v, a.scope())
}
