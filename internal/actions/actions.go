// Package actions describes response actions: HTTP requests to an EDR, an
// identity provider or any webhook that contain an incident (isolate a
// host, revoke a user's sessions), defined in YAML and rendered from an
// observable. It is pure: it renders requests and never sends them.
package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/ingest"
)

// Mask replaces a secret wherever a request or an answer is shown.
const Mask = "********"

// Definition is one response action.
type Definition struct {
	Name string `yaml:"name" json:"name"`
	// Label is the name shown to people, by language ("ja", "en").
	Label map[string]string `yaml:"label" json:"label"`
	// Observable is the observable type the action takes: host, user, ip...
	Observable  string `yaml:"observable" json:"observable"`
	Destructive bool   `yaml:"destructive" json:"destructive"`
	// BaseURL is put before Request.URL when that is a path; a
	// configuration overrides it to point at a tenant or a test server.
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// Vars are plain (not secret) settings the templates read with
	// {{var "name"}}, such as a tenant id.
	Vars    map[string]string `yaml:"vars" json:"vars,omitempty"`
	Request Request           `yaml:"request" json:"request"`
	Auth    *Auth             `yaml:"auth" json:"auth,omitempty"`
	Sign    *Sign             `yaml:"sign" json:"sign,omitempty"`
	// Secrets say where each secret the templates name comes from; a
	// secret not listed comes from IRDESK_SECRET_<NAME> (or the file that
	// IRDESK_SECRET_<NAME>_FILE names).
	Secrets      map[string]SecretSource `yaml:"secrets" json:"secrets,omitempty"`
	ExpectStatus []int                   `yaml:"expect_status" json:"expect_status"`
	Timeout      Duration                `yaml:"timeout" json:"timeout"`
	MaxAttempts  int                     `yaml:"max_attempts" json:"max_attempts"`
}

// Request is the HTTP request template. Placeholders: {{.Value}} (the
// observable), {{.Incident}} (its key), {{.Actor}} (who asked),
// {{.Comment}}, {{.RunID}}, {{var "name"}} and {{secret "name"}}.
type Request struct {
	Method  string            `yaml:"method" json:"method"`
	URL     string            `yaml:"url" json:"url"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Body is any YAML value, sent as JSON; placeholders may appear in its
	// strings (and keys). Nil sends no body.
	Body any `yaml:"body" json:"body,omitempty"`
}

// Auth fetches a bearer token with the OAuth 2.0 client-credentials grant
// (Microsoft identity platform, CrowdStrike Falcon) before the request.
type Auth struct {
	Type         string `yaml:"type" json:"type"`
	TokenURL     string `yaml:"token_url" json:"token_url"`
	ClientID     string `yaml:"client_id" json:"client_id"`
	ClientSecret string `yaml:"client_secret" json:"client_secret"`
	Scope        string `yaml:"scope" json:"scope,omitempty"`
}

// AuthClientCredentials is the one Auth type there is.
const AuthClientCredentials = "oauth2_client_credentials"

// Sign signs the body with HMAC-SHA256 as irdesk's notification webhooks
// do: Header carries "v1=<hex>" of timestamp "." body.
type Sign struct {
	Secret          string `yaml:"secret" json:"secret"`
	Header          string `yaml:"header" json:"header"`
	TimestampHeader string `yaml:"timestamp_header" json:"timestamp_header"`
}

// SecretSource names an environment variable or a file holding a secret.
type SecretSource struct {
	Env  string `yaml:"env" json:"env,omitempty"`
	File string `yaml:"file" json:"file,omitempty"`
}

// Duration is a time.Duration written as "30s" in YAML and JSON.
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration like 30s: %q", b)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Defaults for a definition that leaves them out.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 5
	maxTimeout         = 5 * time.Minute
	maxAttemptsLimit   = 20
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
var secretNamePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
var headerNamePattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")

// FieldError is a problem with one field of a definition.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks a definition and fills in defaults. Every placeholder is
// parsed here, so a definition that validates always renders.
func (d *Definition) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if !namePattern.MatchString(d.Name) {
		return bad("name", "use 1 to 64 lower-case letters, digits, '_' or '-'")
	}
	if strings.TrimSpace(d.Label["en"]) == "" || strings.TrimSpace(d.Label["ja"]) == "" {
		return bad("label", "needs both ja and en")
	}
	if !slices.Contains(ingest.ObservableTypes, d.Observable) {
		return bad("observable", "unknown type %q (one of %s)", d.Observable, strings.Join(ingest.ObservableTypes, ", "))
	}
	d.Request.Method = strings.ToUpper(d.Request.Method)
	switch d.Request.Method {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		return bad("request.method", "one of GET, POST, PUT, PATCH, DELETE")
	}
	if d.BaseURL != "" {
		u, err := url.Parse(d.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return bad("base_url", "must be an http(s) URL without a query")
		}
	}
	if d.Request.URL == "" && d.BaseURL == "" {
		return bad("request.url", "is required (or base_url alone)")
	}
	if strings.HasPrefix(d.Request.URL, "/") && d.BaseURL == "" {
		return bad("request.url", "is a path, so base_url is required")
	}
	if u := d.Request.URL; u != "" && !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return bad("request.url", "must be a path (after base_url) or start with https://")
	}
	for _, f := range []struct{ field, s string }{{"request.url", d.Request.URL}} {
		if _, err := parseTemplate(f.s); err != nil {
			return bad(f.field, "%v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.Request.Headers)) {
		if !headerNamePattern.MatchString(k) {
			return bad("request.headers", "%q is not a header name", k)
		}
		if _, err := parseTemplate(d.Request.Headers[k]); err != nil {
			return bad("request.headers."+k, "%v", err)
		}
	}
	if err := walkStrings(d.Request.Body, func(s string) error { _, err := parseTemplate(s); return err }); err != nil {
		return bad("request.body", "%v", err)
	}
	// A template that parses may still make something that is not a URL
	// (a space in the host): find out when the file is read, with
	// stand-in values, not when a responder presses the button.
	trial := renderEnv{in: Input{Value: "192.0.2.1", Incident: "INC-2026-0001", Actor: "x", Comment: "x", RunID: 1},
		vars: d.Vars, secrets: MaskedSecrets, trial: true}
	if _, err := trial.renderURL(d.BaseURL, d.Request.URL); err != nil {
		return bad("request.url", "%v", err)
	}
	if d.Auth != nil {
		if d.Auth.Type != AuthClientCredentials {
			return bad("auth.type", "only %s is supported", AuthClientCredentials)
		}
		if d.Auth.TokenURL == "" || d.Auth.ClientID == "" || d.Auth.ClientSecret == "" {
			return bad("auth", "token_url, client_id and client_secret are required")
		}
		for _, f := range []struct{ field, s string }{{"auth.token_url", d.Auth.TokenURL}, {"auth.client_id", d.Auth.ClientID},
			{"auth.client_secret", d.Auth.ClientSecret}, {"auth.scope", d.Auth.Scope}} {
			if _, err := parseTemplate(f.s); err != nil {
				return bad(f.field, "%v", err)
			}
		}
		if _, err := trial.renderURL("", d.Auth.TokenURL); err != nil {
			return bad("auth.token_url", "%v", err)
		}
	}
	if d.Sign != nil {
		if !secretNamePattern.MatchString(d.Sign.Secret) {
			return bad("sign.secret", "name a secret (lower-case letters, digits, '_')")
		}
		if d.Sign.Header == "" {
			d.Sign.Header = "X-Irdesk-Signature"
		}
		if d.Sign.TimestampHeader == "" {
			d.Sign.TimestampHeader = "X-Irdesk-Timestamp"
		}
		if !headerNamePattern.MatchString(d.Sign.Header) || !headerNamePattern.MatchString(d.Sign.TimestampHeader) {
			return bad("sign.header", "not a header name")
		}
	}
	for name, src := range d.Secrets {
		if !secretNamePattern.MatchString(name) {
			return bad("secrets", "%q: use lower-case letters, digits and '_'", name)
		}
		if (src.Env == "") == (src.File == "") {
			return bad("secrets."+name, "give exactly one of env and file")
		}
	}
	if len(d.ExpectStatus) == 0 {
		d.ExpectStatus = []int{200, 201, 202, 204}
	}
	for _, s := range d.ExpectStatus {
		if s < 100 || s > 599 {
			return bad("expect_status", "%d is not an HTTP status", s)
		}
	}
	if d.Timeout == 0 {
		d.Timeout = Duration(DefaultTimeout)
	}
	if d.Timeout < 0 || time.Duration(d.Timeout) > maxTimeout {
		return bad("timeout", "between 1s and %s", maxTimeout)
	}
	if d.MaxAttempts == 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.MaxAttempts < 1 || d.MaxAttempts > maxAttemptsLimit {
		return bad("max_attempts", "between 1 and %d", maxAttemptsLimit)
	}
	return nil
}

// SecretNames lists the secrets the definition uses, sorted.
func (d *Definition) SecretNames() []string {
	set := map[string]bool{}
	collect := func(s string) error {
		parts, err := parseTemplate(s)
		for _, p := range parts {
			if p.kind == partSecret {
				set[p.arg] = true
			}
		}
		return err
	}
	collect(d.Request.URL)
	for _, v := range d.Request.Headers {
		collect(v)
	}
	walkStrings(d.Request.Body, collect)
	if d.Auth != nil {
		collect(d.Auth.TokenURL)
		collect(d.Auth.ClientID)
		collect(d.Auth.ClientSecret)
		collect(d.Auth.Scope)
	}
	if d.Sign != nil {
		set[d.Sign.Secret] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// Input is what a rendering fills the placeholders with.
type Input struct {
	Value    string
	Incident string
	Actor    string
	Comment  string
	RunID    int64
}

// Secrets looks a secret up by name.
type Secrets func(name string) (string, error)

// MaskedSecrets renders every secret as Mask, for showing a request.
func MaskedSecrets(string) (string, error) { return Mask, nil }

// Rendered is a request ready to send (or to show, when rendered with
// MaskedSecrets).
type Rendered struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// RenderedToken is a token request ready to send.
type RenderedToken struct {
	URL          string
	ClientID     string
	ClientSecret string
	Scope        string
}

// Render fills the request template. Values are escaped for where they
// land: path-escaped in a URL path, query-escaped in a query, JSON-encoded
// in the body; a header value may not hold a line break.
func (d *Definition) Render(in Input, secrets Secrets) (Rendered, error) {
	env := renderEnv{in: in, vars: d.Vars, secrets: secrets}
	u, err := env.renderURL(d.BaseURL, d.Request.URL)
	if err != nil {
		return Rendered{}, fmt.Errorf("url: %w", err)
	}
	out := Rendered{Method: d.Request.Method, URL: u}
	if len(d.Request.Headers) > 0 {
		out.Headers = map[string]string{}
		for k, v := range d.Request.Headers {
			s, err := env.render(v, escapeHeader)
			if err != nil {
				return Rendered{}, fmt.Errorf("header %s: %w", k, err)
			}
			out.Headers[k] = s
		}
	}
	if d.Request.Body != nil {
		body, err := env.renderValue(d.Request.Body)
		if err != nil {
			return Rendered{}, fmt.Errorf("body: %w", err)
		}
		b, err := json.Marshal(body)
		if err != nil {
			return Rendered{}, fmt.Errorf("body: %w", err)
		}
		out.Body = b
	}
	return out, nil
}

// RenderToken fills the token request of an action with Auth.
func (d *Definition) RenderToken(secrets Secrets) (RenderedToken, error) {
	if d.Auth == nil {
		return RenderedToken{}, errors.New("the action has no auth")
	}
	env := renderEnv{vars: d.Vars, secrets: secrets}
	var t RenderedToken
	var err error
	if t.URL, err = env.renderURL("", d.Auth.TokenURL); err != nil {
		return t, fmt.Errorf("token_url: %w", err)
	}
	if t.ClientID, err = env.render(d.Auth.ClientID, nil); err != nil {
		return t, fmt.Errorf("client_id: %w", err)
	}
	if t.ClientSecret, err = env.render(d.Auth.ClientSecret, nil); err != nil {
		return t, fmt.Errorf("client_secret: %w", err)
	}
	if t.Scope, err = env.render(d.Auth.Scope, nil); err != nil {
		return t, fmt.Errorf("scope: %w", err)
	}
	return t, nil
}

func walkStrings(v any, fn func(string) error) error {
	switch x := v.(type) {
	case string:
		return fn(x)
	case []any:
		for _, e := range x {
			if err := walkStrings(e, fn); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := fn(k); err != nil {
				return err
			}
			if err := walkStrings(x[k], fn); err != nil {
				return err
			}
		}
	}
	return nil
}
