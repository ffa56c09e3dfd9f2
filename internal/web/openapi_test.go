package web

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/metrics"
)

// openAPIOperations are the HTTP methods an OpenAPI path item may hold.
var openAPIOperations = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// parseOpenAPIDoc decodes the embedded document.
func parseOpenAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(OpenAPIDocument(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

func TestOpenAPICoversRoutes(t *testing.T) {
	// New only takes method values of the handlers, so no App is needed
	// to list the routes.
	s := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewRegistry(), Config{})
	doc := parseOpenAPIDoc(t)
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}

	routes := s.Routes()
	if len(routes) == 0 {
		t.Fatal("the server has no routes")
	}
	routeSet := map[string]bool{}
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt, " ")
		if !ok {
			t.Fatalf("route %q is not METHOD /path", rt)
		}
		// ServeMux's {name...} takes the rest of the path; OpenAPI has no
		// such template and documents it as {name}.
		path = strings.ReplaceAll(path, "...}", "}")
		key := strings.ToLower(method) + " " + path
		if routeSet[key] {
			t.Errorf("route %s is listed twice", rt)
		}
		routeSet[key] = true
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("route %s: path %s is not documented", rt, path)
			continue
		}
		if _, ok := item[strings.ToLower(method)].(map[string]any); !ok {
			t.Errorf("route %s: operation %s is not documented under %s", rt, strings.ToLower(method), path)
		}
	}

	opIDs := map[string]string{}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Errorf("path %s is not an object", path)
			continue
		}
		for method, v := range item {
			if !slices.Contains(openAPIOperations, method) {
				continue // parameters, summary, ...
			}
			key := method + " " + path
			if !routeSet[key] {
				t.Errorf("documented operation %s %s is not a route", strings.ToUpper(method), path)
			}
			op, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s: operation is not an object", key)
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", key)
			} else if prev, dup := opIDs[id]; dup {
				t.Errorf("%s: operationId %q is also used by %s", key, id, prev)
			} else {
				opIDs[id] = key
			}
			if sum, _ := op["summary"].(string); sum == "" {
				t.Errorf("%s: no summary", key)
			}
			if r, _ := op["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s: no responses", key)
			}
			checkOpenAPIPathParams(t, key, path, op, doc)
		}
	}
}

// checkOpenAPIPathParams checks that every {param} of the path template
// is declared as a path parameter of the operation, and no other.
func checkOpenAPIPathParams(t *testing.T, key, path string, op, doc map[string]any) {
	t.Helper()
	var want []string
	for rest := path; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			t.Errorf("%s: unbalanced braces in the path", key)
			return
		}
		want = append(want, rest[i+1:i+j])
		rest = rest[i+j+1:]
	}
	var got []string
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		pm, _ := p.(map[string]any)
		if ref, ok := pm["$ref"].(string); ok {
			r, err := resolveOpenAPIRef(doc, ref)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			pm, _ = r.(map[string]any)
		}
		if pm["in"] == "path" {
			name, _ := pm["name"].(string)
			if pm["required"] != true {
				t.Errorf("%s: path parameter %q is not required", key, name)
			}
			got = append(got, name)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("%s: path parameters %v, declared %v", key, want, got)
	}
}

// resolveOpenAPIRef follows a local JSON pointer such as
// #/components/schemas/Incident.
func resolveOpenAPIRef(doc map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, &openAPIRefError{ref, "not a local reference"}
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, &openAPIRefError{ref, "no member " + strconv.Quote(tok)}
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, &openAPIRefError{ref, "no element " + strconv.Quote(tok)}
			}
			cur = c[i]
		default:
			return nil, &openAPIRefError{ref, "cannot descend into " + strconv.Quote(tok)}
		}
	}
	return cur, nil
}

type openAPIRefError struct{ ref, why string }

func (e *openAPIRefError) Error() string { return "$ref " + e.ref + ": " + e.why }

func TestOpenAPIIsValidJSONAndRefsResolve(t *testing.T) {
	doc := parseOpenAPIDoc(t)
	if v := doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "irdesk" || info["version"] != "0.1.0" {
		t.Errorf("info = %v %v, want irdesk 0.1.0", info["title"], info["version"])
	}
	components, _ := doc["components"].(map[string]any)
	for _, section := range []string{"schemas", "responses", "securitySchemes"} {
		if m, _ := components[section].(map[string]any); len(m) == 0 {
			t.Errorf("components.%s is empty", section)
		}
	}

	refs := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"]; ok {
				ref, isString := r.(string)
				switch {
				case !isString:
					t.Errorf("%s: $ref is not a string", at)
				case !strings.HasPrefix(ref, "#/components/"):
					t.Errorf("%s: $ref %q does not point into #/components/", at, ref)
				default:
					refs++
					if _, err := resolveOpenAPIRef(doc, ref); err != nil {
						t.Errorf("%s: %v", at, err)
					}
				}
			}
			for k, e := range x {
				walk(at+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(at+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", doc)
	if refs == 0 {
		t.Error("the document has no $ref at all")
	}

	// Every security requirement names a declared scheme.
	schemes, _ := components["securitySchemes"].(map[string]any)
	for _, name := range []string{"bearerAuth", "cookieAuth"} {
		if _, ok := schemes[name]; !ok {
			t.Errorf("securitySchemes.%s is missing", name)
		}
	}
}

// TestOpenAPIServed checks the document is what GET /api/v1/openapi.json
// answers, without authentication.
func TestOpenAPIServed(t *testing.T) {
	s := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewRegistry(), Config{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if rec.Body.String() != string(OpenAPIDocument()) {
		t.Error("the served document differs from the embedded one")
	}
}

// TestOpenAPIEventTypesMatchCore: the EventType enum in openapi.json lists
// exactly the audit event types the code writes (the Ev... constants of
// internal/core), so a new event type cannot go undocumented.
func TestOpenAPIEventTypesMatchCore(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "core", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	inCode := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Ev") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					if err == nil && strings.Contains(v, ".") {
						inCode[v] = true
					}
				}
			}
			return true
		})
	}
	if len(inCode) < 50 {
		t.Fatalf("found only %d event types in internal/core", len(inCode))
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	inDoc := map[string]bool{}
	for _, v := range doc.Components.Schemas["EventType"].Enum {
		inDoc[v] = true
		if !inCode[v] {
			t.Errorf("openapi.json EventType lists %q, which no Ev constant in internal/core has", v)
		}
	}
	for v := range inCode {
		if !inDoc[v] {
			t.Errorf("event type %q is missing from openapi.json's EventType enum", v)
		}
	}
}
