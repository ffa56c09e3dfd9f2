package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures sign-in through an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	// GroupsClaim is the ID-token claim that lists the user's groups
	// (default "groups").
	GroupsClaim string
	// Scopes are asked for besides openid (default profile, email).
	Scopes []string
	// Client talks to the provider (nil: a client with a 15 s timeout).
	Client *http.Client
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// OIDC signs users in with the authorization-code flow, PKCE (S256), a
// state and a nonce. The ID token is verified by go-oidc: signature
// against the provider's JWKS (refetched when a new key id appears), iss,
// aud and exp; the nonce is checked here.
type OIDC struct {
	cfg      OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	// key signs the flow cookie. It is derived from the client secret, so
	// every node of a cluster shares it without another setting, and a
	// new secret voids every flow in progress.
	key []byte
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer            string
	Subject           string
	PreferredUsername string
	Email             string
	Name              string
	Groups            []string
}

// FlowTTL is how long a sign-in may take between leaving for the provider
// and coming back.
const FlowTTL = 10 * time.Minute

// ErrOIDC is every refused sign-in: a bad or expired flow, a state that
// does not match, a token that does not verify.
var ErrOIDC = errors.New("the OpenID Connect sign-in was refused")

// NewOIDC reads the provider's discovery document.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.RedirectURL == "" {
		return nil, errors.New("OpenID Connect needs the issuer, a client id, a client secret and the redirect URL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.Client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect discovery at %s: %w", cfg.Issuer, err)
	}
	o := &OIDC{cfg: cfg}
	o.oauth = oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, cfg.Scopes...)}
	o.verifier = p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now})
	mac := hmac.New(sha256.New, []byte(cfg.ClientSecret))
	mac.Write([]byte("irdesk oidc flow cookie v1"))
	o.key = mac.Sum(nil)
	return o, nil
}

// Issuer is the configured issuer.
func (o *OIDC) Issuer() string { return o.cfg.Issuer }

type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
}

// Begin starts a sign-in: the provider URL to send the browser to, and the
// value of the short-lived cookie that must come back with it.
func (o *OIDC) Begin() (authURL, cookie string, err error) {
	state, err := NewSecret("")
	if err != nil {
		return "", "", err
	}
	nonce, err := NewSecret("")
	if err != nil {
		return "", "", err
	}
	f := flow{State: state, Nonce: nonce, Verifier: oauth2.GenerateVerifier(), Expires: o.cfg.Now().Add(FlowTTL).Unix()}
	cookie = o.seal(f)
	authURL = o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(f.Verifier))
	return authURL, cookie, nil
}

func (o *OIDC) seal(f flow) string {
	b, _ := json.Marshal(f)
	payload := base64.RawURLEncoding.EncodeToString(b)
	mac := hmac.New(sha256.New, o.key)
	mac.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (o *OIDC) open(cookie string) (flow, error) {
	var f flow
	payload, sig, ok := strings.Cut(cookie, ".")
	if !ok || len(cookie) > 4096 {
		return f, fmt.Errorf("%w: no sign-in in progress (the flow cookie is missing or malformed)", ErrOIDC)
	}
	mac := hmac.New(sha256.New, o.key)
	mac.Write([]byte(payload))
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return f, fmt.Errorf("%w: the flow cookie is not ours", ErrOIDC)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &f) != nil {
		return f, fmt.Errorf("%w: the flow cookie is malformed", ErrOIDC)
	}
	if o.cfg.Now().Unix() > f.Expires {
		return f, fmt.Errorf("%w: the sign-in took too long; start again", ErrOIDC)
	}
	return f, nil
}

// Finish completes a sign-in from the provider's redirect: the flow
// cookie, and the state and code of the redirect. It exchanges the code
// (with the PKCE verifier), verifies the ID token and its nonce, and
// returns who signed in. Every refusal wraps ErrOIDC.
func (o *OIDC) Finish(ctx context.Context, cookie, state, code string) (Identity, error) {
	f, err := o.open(cookie)
	if err != nil {
		return Identity{}, err
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		return Identity{}, fmt.Errorf("%w: the state does not match this browser's sign-in", ErrOIDC)
	}
	if code == "" {
		return Identity{}, fmt.Errorf("%w: the provider sent no code", ErrOIDC)
	}
	ctx = oidc.ClientContext(ctx, o.cfg.Client)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: code exchange: %v", ErrOIDC, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, fmt.Errorf("%w: the token response holds no ID token", ErrOIDC)
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: ID token: %v", ErrOIDC, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return Identity{}, fmt.Errorf("%w: ID token: the nonce does not match", ErrOIDC)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: ID token claims: %v", ErrOIDC, err)
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject, PreferredUsername: str("preferred_username"),
		Email: str("email"), Name: str("name")}
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: ID token without a subject", ErrOIDC)
	}
	switch g := claims[o.cfg.GroupsClaim].(type) {
	case string:
		id.Groups = []string{g}
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	return id, nil
}
