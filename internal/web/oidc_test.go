package web

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/metrics"
	"github.com/irdesk/irdesk/internal/store"
)

// testProvider is a small OpenID Connect provider: discovery, JWKS with an
// RSA key made for the test, an authorize endpoint that signs in whoever
// the test says and redirects back with a code, and a token endpoint that
// checks the client, the redirect and the PKCE verifier and issues an
// RS256-signed ID token.
type testProvider struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	kid    string
	client string
	secret string

	mu    sync.Mutex
	user  providerUser
	codes map[string]grant
	// tamper changes the next ID token's claims.
	tamper func(claims map[string]any)
	// signWith, when set, signs with another key (a forged token).
	signWith *rsa.PrivateKey
}

type providerUser struct {
	sub, username, email, name string
	groups                     []string
}

type grant struct {
	user      providerUser
	nonce     string
	challenge string
	redirect  string
}

func newTestProvider(t *testing.T) *testProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{key: key, kid: "test-key-1", client: "irdesk-test", secret: "provider-client-secret", codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.kid,
			"n": b64(p.key.N.Bytes()), "e": b64(big.NewInt(int64(p.key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != p.client || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := fmt.Sprintf("code-%d", time.Now().UnixNano())
		p.mu.Lock()
		p.codes[code] = grant{user: p.user, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		p.mu.Lock()
		g, found := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code")) // a code is good once
		tamper, signer := p.tamper, p.signWith
		p.tamper, p.signWith = nil, nil
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case id != p.client || secret != p.secret:
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		case !found || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect:
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			http.Error(w, `{"error":"invalid_grant","error_description":"PKCE"}`, http.StatusBadRequest)
			return
		}
		now := time.Now()
		claims := map[string]any{"iss": p.srv.URL, "aud": p.client, "sub": g.user.sub, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"nonce": g.nonce, "preferred_username": g.user.username, "email": g.user.email, "name": g.user.name, "groups": g.user.groups}
		if tamper != nil {
			tamper(claims)
		}
		if signer == nil {
			signer = p.key
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + g.user.sub, "token_type": "Bearer", "expires_in": 300,
			"id_token": signJWT(t, signer, p.kid, claims)})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	b64 := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	signing := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64(sig)
}

func (p *testProvider) as(u providerUser) {
	p.mu.Lock()
	p.user = u
	p.mu.Unlock()
}

// oidcEnv is a real irdesk server whose sign-in goes to the test provider.
type oidcEnv struct {
	*testEnv
	provider *testProvider
}

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	p := newTestProvider(t)
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The server's address is needed for the redirect URL before the
	// handler exists: listen first, serve later.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	client, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: p.srv.URL, ClientID: p.client, ClientSecret: p.secret, RedirectURL: base + "/auth/oidc/callback"})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := app.ParseOIDCRoleMap("soc-leads=lead,soc=analyst,all-staff=reporter")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(st, log, nil, app.Config{PasswordParams: auth.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32},
		OIDC: app.OIDCConfig{Client: client, RoleMap: roles}})
	srv.Config.Handler = New(a, log, metrics.NewRegistry(), Config{})
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	env := &testEnv{t: t, url: srv.URL, app: a, store: st, tokens: map[string]string{}, client: srv.Client()}
	for _, name := range []string{"admin"} {
		if _, _, err := a.CreateUser(ctx, app.SystemActor, app.NewUser{Name: name, Role: core.RoleAdmin, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.CreateToken(ctx, app.SystemActor, name, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		env.tokens[name] = secret
	}
	return &oidcEnv{testEnv: env, provider: p}
}

// browser is a client with a cookie jar that follows redirects, as a
// person's browser does.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// signIn runs the whole flow: irdesk → provider → irdesk callback → /.
// It returns the callback's status (303 when signed in, as seen from the
// redirect it gives) and the user /api/v1/me then shows.
func (e *oidcEnv) signIn(b *http.Client) (int, string, core.User) {
	e.t.Helper()
	var status int
	var body string
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/" && len(via) > 0 && via[len(via)-1].URL.Path == "/auth/oidc/callback" {
			status = http.StatusSeeOther
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := b.Get(e.url + "/auth/oidc/login")
	if err != nil {
		e.t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if status == 0 {
		status, body = resp.StatusCode, string(data)
	}
	resp, err = b.Get(e.url + "/api/v1/me")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ User core.User }
	if resp.StatusCode == 200 {
		json.NewDecoder(resp.Body).Decode(&me)
	}
	return status, body, me.User
}

// TestOIDCLoginMapsGroupsToRoles: the first sign-in creates the user with
// the role of their highest group; the next takes the role from the
// groups again; local accounts keep working.
func TestOIDCLoginMapsGroupsToRoles(t *testing.T) {
	e := newOIDCEnv(t)
	e.provider.as(providerUser{sub: "00u1a2b3c4", username: "Hanako.Suzuki@Example.co.jp", email: "hanako.suzuki@example.co.jp",
		name: "鈴木 花子", groups: []string{"all-staff", "soc-leads"}})
	status, body, u := e.signIn(browser(t))
	if status != http.StatusSeeOther || u.Role != core.RoleLead || u.Name != "hanako.suzuki@example.co.jp" || u.DisplayName != "鈴木 花子" {
		t.Fatalf("first sign-in: %d %s %+v", status, body, u)
	}
	// The directory moves her out of the leads: analyst at the next sign-in.
	e.provider.as(providerUser{sub: "00u1a2b3c4", username: "renamed", groups: []string{"soc"}})
	status, body, u2 := e.signIn(browser(t))
	if status != http.StatusSeeOther || u2.ID != u.ID || u2.Role != core.RoleAnalyst || u2.Name != u.Name {
		t.Fatalf("second sign-in: %d %s %+v", status, body, u2)
	}
	// A session from OIDC works for the API like a password one.
	b := browser(t)
	e.signIn(b)
	resp, err := b.Get(e.url + "/api/v1/incidents")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("API with the OIDC session: %v %d", err, resp.StatusCode)
	}
	resp.Body.Close()
	// A local user with the name another OIDC user would take keeps it.
	e.provider.as(providerUser{sub: "other-subject", username: "admin", groups: []string{"all-staff"}})
	_, _, u3 := e.signIn(browser(t))
	if u3.Name == "admin" || u3.Role != core.RoleReporter || u3.ID == 0 {
		t.Fatalf("a local name was taken over: %+v", u3)
	}
	// Break-glass: the local admin signs in with the password.
	if r := e.call("", "POST", "/api/v1/auth/login", map[string]string{"name": "admin", "password": testPassword}); r.status != 200 {
		t.Fatalf("local sign-in: %d %s", r.status, r.body)
	}
	tl := e.call("admin", "GET", "/api/v1/users", nil)
	if !strings.Contains(string(tl.body), "hanako.suzuki@example.co.jp") {
		t.Errorf("users: %s", tl.body)
	}
	e.eventCount()
}

// TestOIDCRefusals: a disabled user, a user in no mapped group, a state
// that does not match, a wrong nonce, an expired or forged token, another
// audience, and a callback without the flow cookie are all refused, and
// none leaves a session behind.
func TestOIDCRefusals(t *testing.T) {
	e := newOIDCEnv(t)
	taro := providerUser{sub: "sub-taro", username: "taro", groups: []string{"soc"}}
	e.provider.as(taro)
	if status, body, u := e.signIn(browser(t)); status != http.StatusSeeOther || u.Role != core.RoleAnalyst {
		t.Fatalf("taro's first sign-in: %d %s", status, body)
	}
	if r := e.call("admin", "POST", "/api/v1/users/taro/disable", nil); r.status != 204 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name   string
		user   providerUser
		tamper func(map[string]any)
		forged bool
		status int
	}{
		{"disabled in irdesk", taro, nil, false, 403},
		{"no mapped group", providerUser{sub: "sub-x", username: "x", groups: []string{"marketing"}}, nil, false, 403},
		{"wrong nonce", providerUser{sub: "sub-y", groups: []string{"soc"}}, func(c map[string]any) { c["nonce"] = "replayed" }, false, 401},
		{"expired", providerUser{sub: "sub-y", groups: []string{"soc"}}, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, false, 401},
		{"other audience", providerUser{sub: "sub-y", groups: []string{"soc"}}, func(c map[string]any) { c["aud"] = "another-app" }, false, 401},
		{"other issuer", providerUser{sub: "sub-y", groups: []string{"soc"}}, func(c map[string]any) { c["iss"] = "https://evil.example" }, false, 401},
		{"forged signature", providerUser{sub: "sub-y", groups: []string{"soc-leads"}}, nil, true, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.provider.as(c.user)
			e.provider.mu.Lock()
			e.provider.tamper = c.tamper
			if c.forged {
				e.provider.signWith = other
			}
			e.provider.mu.Unlock()
			status, body, u := e.signIn(browser(t))
			if status != c.status || u.ID != 0 {
				t.Fatalf("got %d %s, user %+v", status, body, u)
			}
			want := map[string]string{"disabled in irdesk": "disabled", "no mapped group": "groups", "wrong nonce": "nonce",
				"expired": "expired", "other audience": "audience", "other issuer": "different provider", "forged signature": "signature"}[c.name]
			if !strings.Contains(body, want) {
				t.Fatalf("refused for another reason than %q: %s", want, body)
			}
		})
	}

	// A state that is not this browser's: the provider's redirect is
	// intercepted and its state replaced.
	b := browser(t)
	e.provider.as(providerUser{sub: "sub-z", groups: []string{"soc"}})
	b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/oidc/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := b.Get(e.url + "/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	q := cb.Query()
	q.Set("state", "attacker-state")
	cb.RawQuery = q.Encode()
	resp, err = b.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong state: %d", resp.StatusCode)
	}
	// A callback in a browser that never started a sign-in (login CSRF).
	if r := e.call("", "GET", "/auth/oidc/callback?code=x&state=y", nil); r.status != 401 {
		t.Fatalf("no flow cookie: %d %s", r.status, r.body)
	}
	// The provider reporting an error.
	if r := e.call("", "GET", "/auth/oidc/callback?error=access_denied&error_description=%3Cscript%3E", nil); r.status != 401 || strings.Contains(string(r.body), "<script>") {
		t.Fatalf("provider error: %d %s", r.status, r.body)
	}
	tl := e.call("admin", "GET", "/api/v1/users", nil)
	if strings.Contains(string(tl.body), "oidc-sub-y") || strings.Contains(string(tl.body), `"x"`) {
		t.Errorf("a refused sign-in created a user: %s", tl.body)
	}
	e.eventCount()
}

// TestOIDCOffWithoutIssuer: with no provider configured the endpoints are
// 404 and nothing else changes.
func TestOIDCOffWithoutIssuer(t *testing.T) {
	e := newTestEnv(t)
	for _, p := range []string{"/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"} {
		if r := e.call("", "GET", p, nil); r.status != 404 {
			t.Errorf("%s: %d", p, r.status)
		}
	}
}
