package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/irdesk/irdesk/internal/store"
)

// cmdCopy moves a single-node install from SQLite to PostgreSQL.
func cmdCopy(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var from, to string
	var force bool
	fs := newFlagSet("copy", "copy --from DIR_OR_SQLITE_FILE --to postgres://... [--force]", stdout, stderr)
	fs.stringVar(&from, "from", "", "the data directory (or its irdesk.db) to copy from; the server may keep running, what it writes after the copy starts is not copied")
	fs.secretVar(&to, "to", "PostgreSQL URL to copy into; its database must hold no irdesk data yet")
	fs.BoolVar(&force, "force", false, "copy into a target that holds irdesk data: DELETES all of it first (audit trail included), in the copy's transaction")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if from == "" || to == "" {
		return &exitError{code: 2, msg: "give both --from and --to"}
	}
	if !store.IsPostgresURL(to) {
		return &exitError{code: 2, msg: "--to: want a postgres:// URL"}
	}
	path := from
	if fi, err := os.Stat(from); err == nil && fi.IsDir() {
		path = filepath.Join(from, store.DBFileName)
	}
	copyFn := store.CopyToPostgres
	if force {
		fmt.Fprintln(stderr, "irdesk: WARNING: --force: every irdesk table in the target database, its audit trail included, is emptied before the copy; what it held is lost once the copy commits.")
		copyFn = store.CopyToPostgresReplacing
	}
	res, err := copyFn(ctx, path, to, time.Now())
	if errors.Is(err, store.ErrTargetNotEmpty) {
		return fmt.Errorf("%w (--force empties it first, losing what it holds)", err)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", t.Name, t.Rows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied and verified: every table's rows counted again, audit chain ok %d events\n", res.Events)
	fmt.Fprintf(stdout, "evidence files are not in the database: they stay in %s\n", filepath.Join(filepath.Dir(path), "evidence"))
	return nil
}
