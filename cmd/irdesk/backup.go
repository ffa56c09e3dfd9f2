package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
)

func cmdBackup(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var data, out string
	var gz bool
	fs := newFlagSet("backup", "backup --out FILE [--gzip] [--data DIR]\n\n"+
		"Writes a consistent backup of the data directory into one tar archive while the\n"+
		"server may be running and writing: a snapshot of the SQLite database (every write\n"+
		"acknowledged before the backup started is in it), the evidence files it names, and\n"+
		"manifest.json with the SHA-256 of each file, the schema and irdesk versions and the\n"+
		"time. FILE must not exist; it appears only once complete. Restore it with\n"+
		"irdesk restore. For PostgreSQL use pg_dump (see the README).", stdout, stderr)
	fs.dataFlag(&data)
	fs.StringVar(&out, "out", "", "the archive to write (required); a name ending in .gz or .tgz is gzipped")
	fs.BoolVar(&gz, "gzip", false, "gzip the archive whatever its name")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if out == "" {
		return &exitError{code: 2, msg: "--out is required"}
	}
	gz = gz || strings.HasSuffix(out, ".gz") || strings.HasSuffix(out, ".tgz")
	start := time.Now()
	m, err := app.Backup(ctx, data, out, app.BackupOptions{Gzip: gz, Version: version})
	if err != nil {
		return err
	}
	var size int64
	for _, f := range m.Files {
		size += f.Size
	}
	fmt.Fprintf(stdout, "backup %s: %d incidents, %d alerts, %d events, %d evidence files, %s in %s (schema %d)\n",
		out, m.Incidents, m.Alerts, m.Events, len(m.Files)-1, humanBytes(size), time.Since(start).Round(time.Millisecond), m.SchemaVersion)
	return nil
}

func cmdRestore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var from, data string
	fs := newFlagSet("restore", "restore --from FILE --data NEWDIR\n\n"+
		"Unpacks a backup made by irdesk backup into NEWDIR, which must not exist or be\n"+
		"empty, checks every file against the manifest's SHA-256, then runs irdesk audit\n"+
		"verify and irdesk evidence verify on the result. Exit 0 when all of it holds;\n"+
		"exit 1 naming the file or the check at fault otherwise (NEWDIR is then left as it\n"+
		"was found if the archive was at fault).", stdout, stderr)
	fs.StringVar(&from, "from", "", "the backup archive (required)")
	fs.StringVar(&data, "data", "", "the new data directory (required)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if from == "" || data == "" {
		return &exitError{code: 2, msg: "--from and --data are required"}
	}
	start := time.Now()
	m, err := app.Restore(ctx, from, data)
	if err != nil {
		var re *app.RestoreError
		if errors.As(err, &re) {
			return &exitError{code: 1, msg: "restore refused: " + re.Error()}
		}
		return err
	}
	fmt.Fprintf(stdout, "restored %d files into %s (backup of %s, irdesk %s, schema %d) in %s; all hashes match the manifest\n",
		len(m.Files), data, m.CreatedAt.Format(time.RFC3339), m.IrdeskVersion, m.SchemaVersion, time.Since(start).Round(time.Millisecond))
	// The same code paths as the commands, so a restore is judged exactly
	// as the live directory would be.
	if err := cmdAudit(ctx, []string{"verify", "--data", data}, nil, stdout, stderr); err != nil {
		return restoreCheckFailed("audit verify", err)
	}
	if err := evidenceVerify(ctx, []string{"--data", data}, stdout, stderr); err != nil {
		return restoreCheckFailed("evidence verify", err)
	}
	fmt.Fprintf(stdout, "restore ok: %s is ready; start it with irdesk serve --data %s\n", data, data)
	return nil
}

func restoreCheckFailed(check string, err error) error {
	msg := err.Error()
	if ee, ok := err.(*exitError); ok {
		msg = ee.msg
	}
	return &exitError{code: 1, msg: fmt.Sprintf("restored, but %s failed: %s", check, msg)}
}
