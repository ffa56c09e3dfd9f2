// Command irdesk is the security-incident response desk: the server and
// the commands that administer its data directory.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

const usage = `irdesk — security-incident response desk

Usage:
  irdesk serve   [--data DIR] [--listen ADDR]   run the server (SQLite in DIR)
  irdesk migrate [--data DIR]                   apply database migrations and exit
  irdesk user    add|list|disable|enable ...    manage users
  irdesk token   create|list|revoke ...         manage API tokens
  irdesk audit   verify [--data DIR]            verify the tamper-evident audit chain
  irdesk playbook check DIR                     validate custom playbooks
  irdesk ingest  --server URL --token T [--format F] FILE|-   send alerts
  irdesk evidence verify|purge [--data DIR] ...  check or dispose of evidence files
  irdesk notify  test --contact NAME            send a test message to a contact's channels now
  irdesk backup  --out FILE [--data DIR]        online backup of the data directory
  irdesk restore --from FILE --data NEWDIR      restore a backup and verify it
  irdesk config  [flags of serve]               print the effective configuration
  irdesk bench   [flags]                        measure a running system on loopback
  irdesk copy    --from DIR --to postgres://... move a SQLite install to PostgreSQL, verified
  irdesk version                                print the version

Run "irdesk COMMAND --help" for a command's flags. Every flag also reads an
IRDESK_* environment variable (e.g. --data from IRDESK_DATA).
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) error{
		"serve":    cmdServe,
		"migrate":  cmdMigrate,
		"user":     cmdUser,
		"token":    cmdToken,
		"audit":    cmdAudit,
		"config":   cmdConfig,
		"playbook": cmdPlaybook,
		"ingest":   cmdIngest,
		"evidence": cmdEvidence,
		"backup":   cmdBackup,
		"restore":  cmdRestore,
		"bench":    cmdBench,
		"copy":     cmdCopy,
		"notify":   cmdNotify,
		"version": func(context.Context, []string, io.Reader, io.Writer, io.Writer) error {
			fmt.Fprintln(stdout, "irdesk", version)
			return nil
		},
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "irdesk: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	if err == errHelp {
		return 0
	}
	if ee, ok := err.(*exitError); ok {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "irdesk:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "irdesk:", err)
	return 1
}
