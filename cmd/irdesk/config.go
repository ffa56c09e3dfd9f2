package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/evidence"
)

// Config is everything the server is told, from flags and then IRDESK_*
// environment variables; the defaults work with nothing set.
type Config struct {
	Data          string
	Listen        string
	LogLevel      string
	LogFormat     string
	SecureCookies bool
	SessionTTL    time.Duration
	ShutdownGrace time.Duration
	// NIS2Entity is "essential" or "important" when the organisation falls
	// under NIS2, which starts NIS2 clocks for every incident.
	NIS2Entity string
	// AwarenessDayCounts makes the day of awareness day 1 of day-based
	// legal periods (APPI): the stricter of the two readings, so the desk
	// never shows a deadline later than the law's.
	AwarenessDayCounts bool
	// Playbooks is a directory of custom playbooks (*.yaml) that add to or
	// override the built-in ones.
	Playbooks string
	// SyslogListen is host:port of the syslog listener, UDP and TCP;
	// empty leaves it off.
	SyslogListen string
	// SyslogTimezone is the zone of BSD syslog timestamps, which carry none.
	SyslogTimezone string
	// Rules is a YAML file of alert triage rules, read-only through the API.
	Rules string
	// BaseURL is where people reach irdesk; notifications link to it.
	BaseURL string
	// Escalation is a YAML file of escalation rules laid over the defaults.
	Escalation string
	// EscalationEvery is how often time-based escalations are checked.
	EscalationEvery time.Duration
	// SMTP relay for e-mail notifications; e-mail is off without SMTPAddr.
	SMTPAddr     string
	SMTPFrom     string
	SMTPUser     string
	SMTPPassword string
	SMTPTLS      string
	// WebhookSecret signs generic webhooks (HMAC-SHA256).
	WebhookSecret string
	// WebhookAllow lists destinations (CIDRs, addresses, exact host names)
	// that notification webhooks may reach although they are loopback,
	// private, link-local...; see notify.ParseDestinations.
	WebhookAllow string
	// OccurrenceRetention is how long alert occurrences (each repeat and
	// its payload) are kept; 0 keeps them for ever.
	OccurrenceRetention time.Duration
	// NotifyLease is how long a delivery attempt holds its message; after
	// a crash the message is sent again once the lease runs out.
	NotifyLease time.Duration
	// EvidenceMaxSize bounds one evidence file, in bytes.
	EvidenceMaxSize int64
	// DB is a PostgreSQL URL; empty keeps the SQLite database in Data.
	DB string
	// Actions is a YAML file of response actions adding to or overriding
	// the built-in ones.
	Actions string
	// OIDC configures sign-in through an OpenID Connect provider; off
	// without --oidc-issuer.
	OIDC OIDCFlags
	// Feeds are pulled into the watchlist every FeedEvery.
	Feeds     []app.Feed
	FeedEvery time.Duration
}

var errHelp = errors.New("help shown")

// flagSet builds a command's flags, each defaulting to its IRDESK_*
// variable, and prints help to stdout when asked.
type flagSet struct {
	*flag.FlagSet
	stdout io.Writer
	// envErrs are IRDESK_* values that could not be read; parse reports
	// them rather than silently using the default.
	envErrs []string
}

func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flagSet{FlagSet: fs, stdout: stdout}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: irdesk %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return f
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (f *flagSet) stringVar(p *string, name, def, help string) {
	env := "IRDESK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	f.StringVar(p, name, envOr(env, def), help+" ("+env+")")
}

func (f *flagSet) boolVar(p *bool, name string, def bool, help string) {
	env := "IRDESK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := os.LookupEnv(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.envErrs = append(f.envErrs, fmt.Sprintf("%s=%q is not true or false", env, v))
		}
		def = b
	}
	f.BoolVar(p, name, def, help+" ("+env+")")
}

// secretVar is stringVar for secrets: the value may also come from the
// file named by IRDESK_*_FILE (a mounted secret), so it need not sit in
// the environment, and help never shows a value from the environment.
func (f *flagSet) secretVar(p *string, name, help string) {
	env := "IRDESK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	def := os.Getenv(env)
	if file, ok := os.LookupEnv(env + "_FILE"); ok && def == "" {
		b, err := os.ReadFile(file)
		if err != nil {
			f.envErrs = append(f.envErrs, fmt.Sprintf("%s_FILE: %v", env, err))
		}
		def = strings.TrimRight(string(b), "\r\n")
	}
	f.Var(&secretValue{p: p, v: def}, name, help+" ("+env+" or "+env+"_FILE)")
	*p = def
}

// secretValue is a flag.Value that prints as *** in help and errors.
type secretValue struct {
	p *string
	v string
}

func (s *secretValue) String() string {
	if s == nil || s.v == "" {
		return ""
	}
	return "***"
}

func (s *secretValue) Set(v string) error { s.v, *s.p = v, v; return nil }

func (f *flagSet) durationVar(p *time.Duration, name string, def time.Duration, help string) {
	env := "IRDESK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := os.LookupEnv(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.envErrs = append(f.envErrs, fmt.Sprintf("%s=%q is not a duration such as 15s or 12h", env, v))
		}
		def = d
	}
	f.DurationVar(p, name, def, help+" ("+env+")")
}

// parse parses flags, allowing them before and after positional
// arguments (irdesk user add alice --role analyst), and returns the
// positional ones.
func (f *flagSet) parse(args []string) ([]string, error) {
	if len(f.envErrs) > 0 {
		return nil, &exitError{code: 2, msg: strings.Join(f.envErrs, "; ")}
	}
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.SetOutput(f.stdout)
				f.Usage()
				return nil, errHelp
			}
			return nil, &exitError{code: 2, msg: ""}
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (f *flagSet) dataFlag(p *string) {
	f.stringVar(p, "data", "./irdesk-data", "data directory: the SQLite database and evidence files")
}

// dbFlag is --db: a secret, since the URL may carry a password.
func (f *flagSet) dbFlag(p *string) {
	f.secretVar(p, "db", "PostgreSQL URL, postgres://user:pass@host:5432/db (several nodes may share it); empty: SQLite in --data")
}

// redactDB shows a --db value without its password.
func redactDB(db string) string {
	if db == "" {
		return ""
	}
	u, err := url.Parse(db)
	if err != nil || u.Scheme == "" {
		return "***"
	}
	return u.Redacted()
}

func serveFlags(cfg *Config, stdout, stderr io.Writer) *flagSet {
	fs := newFlagSet("serve", "serve [--data DIR] [--listen ADDR] [flags]", stdout, stderr)
	fs.dataFlag(&cfg.Data)
	fs.dbFlag(&cfg.DB)
	fs.stringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.stringVar(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.stringVar(&cfg.LogFormat, "log-format", "auto", "json, text, or auto (text on a terminal, else json)")
	fs.boolVar(&cfg.SecureCookies, "secure-cookies", false, "mark session cookies Secure (set when served over HTTPS by a proxy)")
	fs.durationVar(&cfg.SessionTTL, "session-ttl", 12*time.Hour, "how long a browser session lasts")
	fs.durationVar(&cfg.ShutdownGrace, "shutdown-grace", 15*time.Second, "how long SIGTERM waits for requests in flight")
	fs.stringVar(&cfg.Playbooks, "playbooks", "", "directory of custom playbooks (*.yaml) adding to or overriding the built-in ones")
	fs.boolVar(&cfg.AwarenessDayCounts, "awareness-day-counts", true, "count the day of becoming aware as day 1 of APPI periods (stricter); false counts from the next day (civil code 初日不算入)")
	fs.stringVar(&cfg.NIS2Entity, "nis2-entity", "", `"essential" or "important" if the organisation falls under NIS2 (starts NIS2 reporting clocks)`)
	fs.stringVar(&cfg.SyslogListen, "syslog-listen", "", "host:port to receive syslog on, UDP and TCP alike (RFC 5424 and 3164, CEF inside; e.g. 127.0.0.1:5514); off when empty")
	fs.stringVar(&cfg.SyslogTimezone, "syslog-timezone", "Local", `time zone of RFC 3164 timestamps, which carry none: "Local" (this machine's), "UTC" or an IANA name such as Asia/Tokyo`)
	fs.stringVar(&cfg.Rules, "rules", "", "YAML file of alert triage rules applied at intake (read-only through the API; an invalid file refuses the start)")
	fs.stringVar(&cfg.BaseURL, "base-url", "", "URL people open irdesk at, for links in notifications (default http://LISTEN)")
	fs.stringVar(&cfg.Escalation, "escalation", "", "YAML file of escalation rules laid over the built-in defaults")
	fs.durationVar(&cfg.EscalationEvery, "escalation-every", 30*time.Second, "how often time-based escalations (not acknowledged, overdue tasks, legal clocks) are checked")
	fs.stringVar(&cfg.SMTPAddr, "smtp-addr", "", "mail relay host:port for e-mail notifications (e-mail is off when empty)")
	fs.stringVar(&cfg.SMTPFrom, "smtp-from", "", "sender address of notification e-mail")
	fs.stringVar(&cfg.SMTPUser, "smtp-user", "", "mail relay user name (AUTH PLAIN, only over TLS)")
	fs.secretVar(&cfg.SMTPPassword, "smtp-password", "mail relay password")
	fs.stringVar(&cfg.SMTPTLS, "smtp-tls", "starttls", "starttls (required), tls (implicit, port 465) or opportunistic (plain text if the relay offers no STARTTLS)")
	fs.secretVar(&cfg.WebhookSecret, "webhook-secret", "secret for the HMAC-SHA256 signature of generic webhook notifications")
	fs.stringVar(&cfg.WebhookAllow, "webhook-allow", "", "comma-separated networks (10.1.0.0/16), addresses and exact host names that Slack, Teams and webhook notifications may reach although loopback, private, link-local, CGNAT or multicast (refused by default; no HTTP(S)_PROXY is used for them)")
	fs.durationVar(&cfg.OccurrenceRetention, "occurrence-retention", 90*24*time.Hour, "how long each repeat of an alert and its payload is kept (the alert, its first occurrence and its count stay); 0 keeps them for ever")
	fs.durationVar(&cfg.NotifyLease, "notify-lease", 2*time.Minute, "how long one delivery attempt may take before the message is handed out again (after a crash)")
	fs.sizeVar(&cfg.EvidenceMaxSize, "evidence-max-size", evidence.DefaultMaxSize, "largest evidence file accepted, e.g. 10GiB, 500MiB or bytes")
	fs.stringVar(&cfg.Actions, "actions", "", "YAML file of response actions adding to or overriding the built-in ones (an invalid file refuses the start)")
	oidcFlags(fs, &cfg.OIDC)
	feedFlags(fs, cfg)
	return fs
}

// newLogger logs JSON in production and text on a terminal.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto", "":
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return slog.New(slog.NewTextHandler(w, opts)), nil
			}
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not json, text or auto", format)
}

func cmdConfig(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var cfg Config
	fs := serveFlags(&cfg, stdout, stderr)
	fs.Init("config", flag.ContinueOnError)
	if _, err := fs.parse(args); err != nil {
		return err
	}
	// Secrets are printed as "***" (or empty when unset).
	fmt.Fprintf(stdout, "data            %s\nlisten          %s\nlog-level       %s\nlog-format      %s\nsecure-cookies  %t\nsession-ttl     %s\nshutdown-grace  %s\nnis2-entity     %s\nawareness-day-counts %t\n",
		cfg.Data, cfg.Listen, cfg.LogLevel, cfg.LogFormat, cfg.SecureCookies, cfg.SessionTTL, cfg.ShutdownGrace, cfg.NIS2Entity, cfg.AwarenessDayCounts)
	fmt.Fprintf(stdout, "base-url        %s\nescalation      %s\nescalation-every %s\nsmtp-addr       %s\nsmtp-from       %s\nsmtp-user       %s\nsmtp-password   %s\nsmtp-tls        %s\nwebhook-secret  %s\n",
		cfg.BaseURL, cfg.Escalation, cfg.EscalationEvery, cfg.SMTPAddr, cfg.SMTPFrom, cfg.SMTPUser, mask(cfg.SMTPPassword), cfg.SMTPTLS, mask(cfg.WebhookSecret))
	fmt.Fprintf(stdout, "syslog-listen   %s\n", cfg.SyslogListen)
	fmt.Fprintf(stdout, "webhook-allow   %s\n", cfg.WebhookAllow)
	fmt.Fprintf(stdout, "db              %s\n", redactDB(cfg.DB))
	fmt.Fprintf(stdout, "evidence-max-size %s\n", evidence.FormatSize(cfg.EvidenceMaxSize))
	fmt.Fprintf(stdout, "actions         %s\noidc-issuer     %s\noidc-client-id  %s\noidc-client-secret %s\noidc-redirect-url %s\noidc-role-claim %s\noidc-role-map   %s\n",
		cfg.Actions, cfg.OIDC.Issuer, cfg.OIDC.ClientID, mask(cfg.OIDC.ClientSecret), cfg.OIDC.RedirectURL, cfg.OIDC.RoleClaim, cfg.OIDC.RoleMap)
	return nil
}

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
