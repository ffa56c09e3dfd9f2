package main

import (
	"context"
	"fmt"
	"os"

	"github.com/irdesk/irdesk/internal/actions"
)

// loadActions reads the --actions file over the built-in actions; any
// problem refuses the start (exit 2) with every error as file:line:
// field: message.
func loadActions(file string) (*actions.Set, error) {
	if file == "" {
		return actions.Builtin(), nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("--actions: %v", err)}
	}
	set, err := actions.Load(actions.Builtin(), file, data)
	if err != nil {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("--actions: %s is not valid:\n%v", file, err)}
	}
	return set, nil
}

// startActionWorker sends queued response actions in the background until
// the server stops; stopBackground ends it with the other jobs.
func (m *Main) startActionWorker() {
	ctx, cancel := context.WithCancel(context.Background())
	stopOthers := m.bg.cancel
	m.bg.cancel = func() { cancel(); stopOthers() }
	m.bg.wg.Add(1)
	go func() {
		defer m.bg.wg.Done()
		m.App.RunActionWorker(ctx)
	}()
}
