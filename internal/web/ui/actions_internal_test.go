package ui

import (
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/i18n"
	"github.com/irdesk/irdesk/internal/store"
)

// TestResponseKeys: every run status and every event of a response
// action or an export has its label in both languages (the keys are
// built, so the catalogue test cannot see them).
func TestResponseKeys(t *testing.T) {
	b, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range store.ActionRunStatuses {
		keys = append(keys, runStatusKey(s))
	}
	for _, typ := range []string{core.EvActionRequested, core.EvActionApproved, core.EvActionSucceeded, core.EvActionFailed,
		core.EvActionRejected, core.EvActionCancelled, core.EvIncidentExported} {
		keys = append(keys, eventKey(typ))
	}
	for _, l := range i18n.Langs {
		for _, k := range keys {
			if !b.For(l).Has(k) {
				t.Errorf("%s: no %q", l, k)
			}
		}
	}
}
