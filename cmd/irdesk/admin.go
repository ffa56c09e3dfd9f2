package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/audit"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/store"
)

// openApp opens the data directory for an administrative command. The
// server may be running on it at the same time: SQLite serialises the
// writers and the audit chain is re-read under the write lock.
func openApp(ctx context.Context, data string, stderr io.Writer) (*app.App, *store.Store, error) {
	return openAppWith(ctx, data, stderr, store.Options{Readers: 2})
}

func openAppWith(ctx context.Context, data string, stderr io.Writer, opts store.Options) (*app.App, *store.Store, error) {
	return openAppDB(ctx, "", data, stderr, opts)
}

// openStore opens PostgreSQL when db is set (--db), else the SQLite
// database in the data directory.
func openStore(ctx context.Context, db, data string, opts store.Options) (*store.Store, error) {
	if db == "" {
		return store.OpenSQLite(ctx, data, opts)
	}
	if !store.IsPostgresURL(db) {
		return nil, &exitError{code: 2, msg: "--db: want a postgres:// URL (leave it empty for SQLite in --data)"}
	}
	return store.OpenPostgres(ctx, db, opts)
}

// openAppDB is openAppWith on the database --db names, if any.
func openAppDB(ctx context.Context, db, data string, stderr io.Writer, opts store.Options) (*app.App, *store.Store, error) {
	st, err := openStore(ctx, db, data, opts)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.New(st, log, nil, app.Config{}), st, nil
}

func cmdMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var data, db string
	fs := newFlagSet("migrate", "migrate [--data DIR | --db URL]", stdout, stderr)
	fs.dataFlag(&data)
	fs.dbFlag(&db)
	if _, err := fs.parse(args); err != nil {
		return err
	}
	var applied []string
	var err error
	switch {
	case db == "":
		applied, err = store.Migrate(ctx, data, time.Now())
	case !store.IsPostgresURL(db):
		return &exitError{code: 2, msg: "--db: want a postgres:// URL (leave it empty for SQLite in --data)"}
	default:
		applied, err = store.MigratePostgres(ctx, db, time.Now())
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "the database is up to date")
	}
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	return nil
}

func subcommand(args []string, names ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, &exitError{code: 2, msg: "missing subcommand: one of " + strings.Join(names, ", ")}
	}
	for _, n := range names {
		if args[0] == n {
			return n, args[1:], nil
		}
	}
	return "", nil, &exitError{code: 2, msg: fmt.Sprintf("unknown subcommand %q: one of %s", args[0], strings.Join(names, ", "))}
}

func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, "Usage: irdesk user add|list|disable|enable|reset-password|reset-totp [--data DIR] ...\n\nRun \"irdesk user SUBCOMMAND --help\" for its flags.\n")
		return nil
	}
	sub, args, err := subcommand(args, "add", "list", "disable", "enable", "reset-password", "reset-totp")
	if err != nil {
		return err
	}
	var data, db, name, role, display, email string
	var passwordStdin bool
	var fs *flagSet
	switch sub {
	case "add":
		fs = newFlagSet("user add", "user add NAME --role ROLE [--data DIR] [--display-name N] [--email E] [--password-stdin]", stdout, stderr)
		fs.StringVar(&role, "role", "analyst", "admin, lead, analyst, reporter or viewer")
		fs.StringVar(&display, "display-name", "", "the name shown in the UI")
		fs.StringVar(&email, "email", "", "e-mail address")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	case "list":
		fs = newFlagSet("user list", "user list [--data DIR]", stdout, stderr)
	case "reset-password":
		fs = newFlagSet("user reset-password", "user reset-password NAME [--password-stdin] [--data DIR]: a new password (shown once unless given); every session of the user ends", stdout, stderr)
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the new password from standard input instead of generating one")
	case "reset-totp":
		fs = newFlagSet("user reset-totp", "user reset-totp NAME [--data DIR]: switch two-step sign-in off for a user who lost their authenticator and recovery codes", stdout, stderr)
	default:
		fs = newFlagSet("user "+sub, "user "+sub+" NAME [--data DIR]", stdout, stderr)
	}
	fs.dataFlag(&data)
	fs.dbFlag(&db)
	fs.StringVar(&name, "name", "", "user name (or give it as the argument)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if name == "" && len(pos) > 0 {
		name, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if sub != "list" && name == "" {
		return &exitError{code: 2, msg: "give the user name"}
	}
	a, st, err := openAppDB(ctx, db, data, stderr, store.Options{Readers: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	var password string
	if passwordStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return &exitError{code: 2, msg: "--password-stdin: no password on standard input"}
		}
	}
	switch sub {
	case "add":
		u, pw, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: name, Role: core.Role(role), DisplayName: display, Email: email, Password: password})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (%s)\n", u.Name, u.Role)
		if !passwordStdin {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
	case "list":
		users, err := a.ListUsers(ctx, app.SystemActor)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tDISABLED\tDISPLAY NAME\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", u.Name, u.Role, u.Disabled, u.DisplayName, u.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "disable", "enable":
		if err := a.SetUserDisabled(ctx, app.SystemActor, name, sub == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %sd\n", name, sub)
	case "reset-password":
		pw, err := a.ResetPassword(ctx, app.SystemActor, name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s reset; every session of theirs has ended\n", name)
		if !passwordStdin {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
	case "reset-totp":
		if err := a.ResetTOTP(ctx, app.SystemActor, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "two-step sign-in of %s switched off; they sign in with their password and may enrol again\n", name)
	}
	return nil
}

func cmdToken(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, "Usage: irdesk token create|list|revoke [--data DIR] ...\n\nRun \"irdesk token SUBCOMMAND --help\" for its flags.\n")
		return nil
	}
	sub, args, err := subcommand(args, "create", "list", "revoke")
	if err != nil {
		return err
	}
	var data, db, user, name string
	var ttl time.Duration
	var id int64
	var fs *flagSet
	switch sub {
	case "create":
		fs = newFlagSet("token create", "token create --user NAME [--name LABEL] [--ttl DURATION] [--data DIR]", stdout, stderr)
		fs.StringVar(&user, "user", "", "the user the token acts as (required)")
		fs.StringVar(&name, "name", "api", "a label for the token, e.g. the tool that uses it")
		fs.DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 2160h; 0 never expires")
	case "list":
		fs = newFlagSet("token list", "token list [--user NAME] [--data DIR]", stdout, stderr)
		fs.StringVar(&user, "user", "", "only this user's tokens")
	case "revoke":
		fs = newFlagSet("token revoke", "token revoke ID [--data DIR]", stdout, stderr)
		fs.Int64Var(&id, "id", 0, "the token id (or give it as the argument)")
	}
	fs.dataFlag(&data)
	fs.dbFlag(&db)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if sub == "revoke" && id == 0 && len(pos) == 1 {
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("%q is not a token id", pos[0])}
		}
		pos = nil
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", pos)}
	}
	if sub == "create" && user == "" {
		return &exitError{code: 2, msg: "--user is required"}
	}
	if sub == "revoke" && id < 1 {
		return &exitError{code: 2, msg: "give the token id"}
	}
	a, st, err := openAppDB(ctx, db, data, stderr, store.Options{Readers: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "create":
		t, secret, err := a.CreateToken(ctx, app.SystemActor, user, name, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created token %d for %s; it is shown once, store it now:\n%s\n", t.ID, t.User, secret)
	case "list":
		tokens, err := a.ListTokens(ctx, app.SystemActor, user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tEXPIRES\tREVOKED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, t.CreatedAt.Format(time.RFC3339), fmtTime(t.ExpiresAt), fmtTime(t.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		if err := a.RevokeToken(ctx, app.SystemActor, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked token %d\n", id)
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func cmdAudit(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, "Usage: irdesk audit verify [--data DIR | --db URL]\n\nRecomputes the audit hash chain. Exit 0 and \"ok N events\" when intact;\nexit 1 naming the first broken event otherwise.\n")
		return nil
	}
	if _, args, err := subcommand(args, "verify"); err != nil {
		return err
	} else {
		var data, db string
		fs := newFlagSet("audit verify", "audit verify [--data DIR | --db URL]", stdout, stderr)
		fs.dataFlag(&data)
		fs.dbFlag(&db)
		if _, err := fs.parse(args); err != nil {
			return err
		}
		// Verifying must not create or migrate anything: a wrong directory
		// is an error, not "ok 0 events".
		a, st, err := openAppDB(ctx, db, data, stderr, store.Options{Readers: 2, Existing: true})
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := a.VerifyAudit(ctx)
		var br *audit.Break
		if errors.As(err, &br) {
			return &exitError{code: 1, msg: fmt.Sprintf("audit chain broken at event %d: %s (%d events before it verified)", br.EventID, br.Reason, n)}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ok %d events\n", n)
	}
	return nil
}
