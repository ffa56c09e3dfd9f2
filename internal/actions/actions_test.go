package actions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

func TestBuiltinsValidate(t *testing.T) {
	s := Builtin()
	want := []string{"defender-isolate-machine", "entra-revoke-sessions", "falcon-contain-host", "webhook-signed"}
	var got []string
	for _, d := range s.List() {
		got = append(got, d.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("built-ins %v, want %v", got, want)
	}
	d, _ := s.Get("defender-isolate-machine")
	if !d.Destructive || d.Observable != "host" || strings.Join(d.SecretNames(), ",") != "defender_client_secret" {
		t.Errorf("defender: %+v %v", d, d.SecretNames())
	}
}

func secretsOf(m map[string]string) Secrets {
	return func(name string) (string, error) {
		v, ok := m[name]
		if !ok {
			return "", errors.New("no secret " + name)
		}
		return v, nil
	}
}

// TestRenderEscapes: a value cannot change a request's structure: it is
// path-escaped in the path, query-escaped in the query, JSON-encoded in
// the body, and refused in a header when it holds a line break.
func TestRenderEscapes(t *testing.T) {
	base, err := Load(&Set{defs: map[string]*Definition{}}, "t.yaml", []byte(`
actions:
  - name: t
    label: {ja: テスト, en: test}
    observable: user
    base_url: https://api.example/root/
    request:
      method: post
      url: /users/{{.Value}}/x?who={{.Value}}&k={{secret "api_key"}}
      headers: {X-User: '{{.Value}}', Authorization: 'Key {{secret "api_key"}}'}
      body: {user: '{{.Value}}', list: ['{{.Incident}}', 3, true], '{{.Incident}}': n}
`))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := base.Get("t")
	in := Input{Value: `a/../b?c="d"&e`, Incident: "INC-2026-0001", Actor: "alice"}
	r, err := d.Render(in, secretsOf(map[string]string{"api_key": "s3cr3t"}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" {
		t.Errorf("method %q", r.Method)
	}
	wantURL := `https://api.example/root/users/a%2F..%2Fb%3Fc=%22d%22&e/x?who=a%2F..%2Fb%3Fc%3D%22d%22%26e&k=s3cr3t`
	if r.URL != wantURL {
		t.Errorf("url\n got %s\nwant %s", r.URL, wantURL)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body is not JSON: %s", r.Body)
	}
	if body["user"] != in.Value || body["INC-2026-0001"] != "n" || len(body["list"].([]any)) != 3 {
		t.Errorf("body %s", r.Body)
	}
	if r.Headers["Authorization"] != "Key s3cr3t" {
		t.Errorf("headers %v", r.Headers)
	}
	m, err := d.Render(in, MaskedSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.URL+m.Headers["Authorization"], "s3cr3t") || !strings.Contains(m.Headers["Authorization"], Mask) {
		t.Errorf("masked rendering shows the secret: %+v", m)
	}
	if _, err := d.Render(Input{Value: "x\r\nX-Evil: 1"}, MaskedSecrets); err == nil {
		t.Error("a line break went into a header")
	}
	for _, v := range []string{"..", "."} {
		if _, err := d.Render(Input{Value: v}, MaskedSecrets); err == nil {
			t.Errorf("%q went into the URL path, where it would climb to another endpoint", v)
		}
	}
	if _, err := d.Render(in, secretsOf(nil)); err == nil || !strings.Contains(err.Error(), "api_key") {
		t.Errorf("missing secret: %v", err)
	}
}

// TestLoadOverridesAndErrors: an entry naming a built-in changes only
// what it gives; mistakes are reported with file, line and field.
func TestLoadOverridesAndErrors(t *testing.T) {
	s, err := Load(Builtin(), "mine.yaml", []byte(`
actions:
  - name: falcon-contain-host
    base_url: http://127.0.0.1:9999
    auth:
      token_url: http://127.0.0.1:9999/oauth2/token
`))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.Get("falcon-contain-host")
	orig, _ := Builtin().Get("falcon-contain-host")
	if d.BaseURL != "http://127.0.0.1:9999" || d.Auth.TokenURL != "http://127.0.0.1:9999/oauth2/token" || d.Auth.ClientSecret != orig.Auth.ClientSecret ||
		d.Request.URL != orig.Request.URL || !d.Destructive {
		t.Errorf("override: %+v %+v", d, d.Auth)
	}
	if orig.BaseURL != "https://api.crowdstrike.com" {
		t.Errorf("the built-in changed: %s", orig.BaseURL)
	}

	tests := []struct{ name, yaml, want string }{
		{"bad observable", `
actions:
  - name: x
    label: {ja: x, en: x}
    observable: laptop
    request: {method: POST, url: "https://a.example/"}
`, `f.yaml:5: actions[0].observable: unknown type "laptop"`},
		{"bad placeholder", `
actions:
  - name: x
    label: {ja: x, en: x}
    observable: host
    request:
      method: POST
      url: "https://a.example/{{.Host}}"
`, `f.yaml:8: actions[0].request.url: unknown placeholder {{.Host}}`},
		{"unknown field", `
actions:
  - name: x
    lable: {ja: x}
`, `f.yaml:3: actions[0]: field lable not found`},
		{"duplicate", `
actions:
  - {name: a, label: {ja: x, en: x}, observable: ip, request: {method: GET, url: "https://a.example/"}}
  - {name: a, label: {ja: x, en: x}, observable: ip, request: {method: GET, url: "https://a.example/"}}
`, `f.yaml:4: actions[1].name: "a" is defined already on line 3`},
		{"syntax", "actions: [\n", "f.yaml:1: did not find"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Builtin(), "f.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	f.Add(`/users/{{.Value}}/x?q={{.Value}}`, "a/b?c")
	f.Add(`{{var "x"}}{{secret "y"}}`, "")
	f.Add(`{{`, "}}")
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		d := &Definition{Name: "f", Label: map[string]string{"ja": "f", "en": "f"}, Observable: "host", BaseURL: "https://h.example",
			Vars: map[string]string{"x": "v"}, Request: Request{Method: "POST", URL: tmpl, Body: map[string]any{"v": tmpl}}}
		if d.Validate() != nil {
			return
		}
		r, err := d.Render(Input{Value: value}, MaskedSecrets)
		if err != nil {
			return
		}
		if !strings.HasPrefix(r.URL, "https://h.example") && !strings.HasPrefix(r.URL, "http") {
			t.Fatalf("url %q", r.URL)
		}
		if !json.Valid(r.Body) {
			t.Fatalf("body %q", r.Body)
		}
	})
}

// FuzzLoad: any file gives a Set or errors with file names, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("actions:\n  - name: falcon-contain-host\n    base_url: http://127.0.0.1:1\n"))
	f.Add([]byte("actions: [{name: x, label: {ja: a, en: b}, observable: ip, request: {method: GET, url: 'https://a.example/{{.Value}}'}}]"))
	f.Add([]byte("actions: [\n"))
	base := Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load(base, "fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, d := range s.List() {
			if _, err := d.Render(Input{Value: "v"}, MaskedSecrets); err != nil && !strings.Contains(err.Error(), "var") {
				// Only a var left unset may stop a validated definition.
				t.Fatalf("%s validated but does not render: %v", d.Name, err)
			}
		}
	})
}

// TestURLThatCannotRenderIsRefusedAtLoad: a URL template that parses but
// makes no URL (a space in the host; found by FuzzLoad) is an error of the
// file, naming the field, not of the first run.
func TestURLThatCannotRenderIsRefusedAtLoad(t *testing.T) {
	for _, tc := range []struct{ doc, field string }{
		{"actions: [{name: x, label: {ja: a, en: b}, observable: ip, request: {method: GET, url: 'https://a. b.example/{{.Value}}'}}]", "request.url"},
		{"actions: [{name: x, label: {ja: a, en: b}, observable: ip, request: {method: POST, url: 'https://edr.example/{{.Value}}'}, auth: {type: oauth2_client_credentials, token_url: 'https://lo gin.example/token', client_id: a, client_secret: b}}]", "auth.token_url"},
	} {
		_, err := Load(Builtin(), "actions.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "actions.yaml") {
			t.Errorf("%s: %v, want an error naming the file and %s", tc.field, err, tc.field)
		}
	}
	// A var that a later file may set still loads.
	if _, err := Load(Builtin(), "actions.yaml", []byte("actions: [{name: x, label: {ja: a, en: b}, observable: ip, request: {method: GET, url: 'https://{{var \"host\"}}/{{.Value}}'}}]")); err != nil {
		t.Errorf("a URL naming a var not set yet: %v", err)
	}
}
