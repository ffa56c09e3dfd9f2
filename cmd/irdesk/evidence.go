package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/evidence"
	"github.com/irdesk/irdesk/internal/store"
)

const evidenceUsage = `Usage: irdesk evidence verify|purge [--data DIR] ...

  verify   re-hash every stored evidence file and compare it with its record
  purge    the retention command: dispose of an incident's evidence files

Run "irdesk evidence SUBCOMMAND --help" for its flags.
`

func cmdEvidence(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, evidenceUsage)
		return nil
	}
	sub, args, err := subcommand(args, "verify", "purge")
	if err != nil {
		return err
	}
	if sub == "verify" {
		return evidenceVerify(ctx, args, stdout, stderr)
	}
	return evidencePurge(ctx, args, stdout, stderr)
}

// evidenceVerify re-hashes the whole locker. Each item checked gets a
// custody event (evidence.verified) with its result.
func evidenceVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var data, db string
	fs := newFlagSet("evidence verify", "evidence verify [--data DIR] [--db URL]\n\n"+
		"Re-hashes every stored evidence file (SHA-256, SHA-1, MD5) and compares it with\n"+
		"the record of every item that names it; records the result of each item in its\n"+
		"chain of custody. Each missing or altered item is reported on stderr and the\n"+
		"exit status is 1; otherwise a summary is printed and the exit status is 0.\n"+
		"Files that no record names are listed on stdout but do not fail the check.\n"+
		"With --db the records are read from PostgreSQL and the files from --data/evidence.", stdout, stderr)
	fs.dataFlag(&data)
	fs.dbFlag(&db)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	// A wrong directory is an error, not "ok 0 items".
	st, err := openStore(ctx, db, data, store.Options{Readers: 2, Existing: true})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := os.Stat(app.EvidenceDir(data)); db != "" && err != nil {
		// On SQLite the database proves the directory; here a wrong --data
		// would report every item missing rather than say what is wrong.
		return &exitError{code: 2, msg: fmt.Sprintf("--data: no evidence directory in %s: %v", data, err)}
	}
	a := app.New(st, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil, app.Config{DataDir: data})
	bad := 0
	rep, err := a.VerifyLocker(ctx, app.SystemActor, func(c app.EvidenceCheck) {
		if !c.OK {
			bad++
			fmt.Fprintf(stderr, "irdesk: evidence %d of %s: %s: %s\n", c.EvidenceID, c.IncidentKey, c.Problem, c.Detail)
		}
	})
	if err != nil {
		return err
	}
	for _, p := range rep.Unreferenced {
		if p.SHA256 != "" {
			fmt.Fprintf(stdout, "note: file sha256 %s is stored but no evidence record names it\n", p.SHA256)
		} else {
			fmt.Fprintf(stdout, "note: %s\n", p.Detail)
		}
	}
	if rep.StaleTemp > 0 {
		fmt.Fprintf(stdout, "note: removed %d leftover(s) of interrupted uploads\n", rep.StaleTemp)
	}
	if rep.Failed() {
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d evidence items failed verification", bad, len(rep.Items))}
	}
	fmt.Fprintf(stdout, "ok %d evidence items, %d files, %s verified\n", len(rep.Items), rep.Files, humanBytes(rep.Bytes))
	return nil
}

// evidencePurge is the documented retention command.
func evidencePurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var data, key, beforeArg string
	var yes bool
	fs := newFlagSet("evidence purge", "evidence purge --incident KEY --before DATE [--yes] [--data DIR]\n\n"+
		"The retention command. Marks every evidence item of the incident that was put in\n"+
		"the locker before DATE as purged, with an audit event (evidence.purged) each, and\n"+
		"deletes the files that no remaining item names (a file shared with an item that\n"+
		"stays is kept). The records stay, with their hashes, as proof of what was kept\n"+
		"and when it was disposed of. Without --yes it only lists what it would purge.", stdout, stderr)
	fs.dataFlag(&data)
	fs.StringVar(&key, "incident", "", "the incident key, e.g. INC-2026-0042 (required)")
	fs.StringVar(&beforeArg, "before", "", "purge items put in the locker before this date (2026-04-01, midnight in Japan) or time (RFC 3339) (required)")
	fs.BoolVar(&yes, "yes", false, "really purge; evidence cannot be recovered afterwards")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if key == "" || beforeArg == "" {
		return &exitError{code: 2, msg: "--incident and --before are required"}
	}
	before, err := parseDateArg(beforeArg)
	if err != nil {
		return &exitError{code: 2, msg: "--before: " + err.Error()}
	}
	a, st, err := openAppWith(ctx, data, stderr, store.Options{Readers: 2, Existing: true})
	if err != nil {
		return err
	}
	defer st.Close()
	if !yes {
		cands, err := a.PurgeCandidates(ctx, app.SystemActor, key, before)
		if err != nil {
			return err
		}
		for _, e := range cands {
			fmt.Fprintf(stdout, "would purge evidence %d %q (%s, sha256 %s, added %s)\n", e.ID, e.FileName, humanBytes(e.Size), e.SHA256, e.CreatedAt.Format(time.RFC3339))
		}
		return &exitError{code: 2, msg: fmt.Sprintf("nothing purged: %d item(s) of %s would be; add --yes to purge them", len(cands), key)}
	}
	res, err := a.PurgeEvidence(ctx, app.SystemActor, key, before)
	for _, e := range res.Items {
		fmt.Fprintf(stdout, "purged evidence %d %q (sha256 %s)\n", e.ID, e.FileName, e.SHA256)
	}
	for _, sha := range res.FilesRemoved {
		fmt.Fprintf(stdout, "removed file sha256 %s\n", sha)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "purged %d item(s) of %s, removed %d file(s)\n", len(res.Items), key, len(res.FilesRemoved))
	return nil
}

var jstZone = time.FixedZone("JST", 9*3600)

// parseDateArg reads a date (a day in Japan, where the desk is) or an
// RFC 3339 time.
func parseDateArg(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, jstZone); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-04-01) or an RFC 3339 time", s)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// sizeValue is a flag holding a size in bytes, written 10GiB, 500MiB or
// as a number of bytes.
type sizeValue struct{ p *int64 }

func (v sizeValue) String() string {
	if v.p == nil {
		return ""
	}
	return evidence.FormatSize(*v.p)
}

func (v sizeValue) Set(s string) error {
	n, err := evidence.ParseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

func (f *flagSet) sizeVar(p *int64, name string, def int64, help string) {
	env := "IRDESK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := os.LookupEnv(env); ok {
		n, err := evidence.ParseSize(v)
		if err != nil {
			f.envErrs = append(f.envErrs, fmt.Sprintf("%s: %v", env, err))
		}
		def = n
	}
	*p = def
	f.Var(sizeValue{p}, name, help+" ("+env+")")
}
