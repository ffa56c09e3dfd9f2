package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/irdesk/irdesk/internal/playbook"
)

// loadPlaybooks returns the built-in playbooks, with those of dir (if
// given) added or overriding.
func loadPlaybooks(dir string) (*playbook.Set, error) {
	if dir == "" {
		return playbook.Builtin(), nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("playbooks: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("playbooks: %s is not a directory", dir)
	}
	custom, err := playbook.Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("playbooks in %s:\n%w", dir, err)
	}
	return playbook.Builtin().Merge(custom), nil
}

func cmdPlaybook(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, "Usage: irdesk playbook check DIR\n\nValidates the custom playbooks (*.yaml) in DIR without starting the server.\nErrors name the file, the line and the field; exit 1 if any.\n")
		return nil
	}
	_, args, err := subcommand(args, "check")
	if err != nil {
		return err
	}
	fs := newFlagSet("playbook check", "playbook check DIR", stdout, stderr)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, msg: "give the directory of playbooks to check"}
	}
	set, err := loadPlaybooks(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok %d playbooks (built-in and %s)\n", len(set.All()), pos[0])
	return nil
}
