package actions

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The templates are not text/template: the placeholders are a fixed
// handful, each value is escaped for where it lands, and nothing in a
// definition can call a function or loop. That keeps a definition file
// from being a program.

type partKind int

const (
	partText partKind = iota
	partField
	partVar
	partSecret
)

type part struct {
	kind partKind
	text string // partText
	arg  string // field name, var name or secret name
}

var fields = map[string]bool{"Value": true, "Incident": true, "Actor": true, "Comment": true, "RunID": true}

// maxTemplate bounds one template string.
const maxTemplate = 64 << 10

func parseTemplate(s string) ([]part, error) {
	if len(s) > maxTemplate {
		return nil, fmt.Errorf("longer than %d bytes", maxTemplate)
	}
	var out []part
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			if strings.Contains(s, "}}") {
				return nil, errors.New(`"}}" without "{{"`)
			}
			out = append(out, part{kind: partText, text: s})
			break
		}
		if strings.Contains(s[:i], "}}") {
			return nil, errors.New(`"}}" without "{{"`)
		}
		if i > 0 {
			out = append(out, part{kind: partText, text: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, errors.New(`"{{" without "}}"`)
		}
		p, err := parsePlaceholder(strings.TrimSpace(s[i+2 : i+j]))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		s = s[i+j+2:]
	}
	return out, nil
}

func parsePlaceholder(expr string) (part, error) {
	if name, ok := strings.CutPrefix(expr, "."); ok {
		if !fields[name] {
			return part{}, fmt.Errorf("unknown placeholder {{.%s}} (known: .Value, .Incident, .Actor, .Comment, .RunID)", name)
		}
		return part{kind: partField, arg: name}, nil
	}
	fn, arg, ok := strings.Cut(expr, " ")
	if !ok || (fn != "var" && fn != "secret") {
		return part{}, fmt.Errorf("unknown placeholder {{%s}} (use {{.Value}}, {{var \"name\"}} or {{secret \"name\"}})", expr)
	}
	name, err := strconv.Unquote(strings.TrimSpace(arg))
	if err != nil || !secretNamePattern.MatchString(name) {
		return part{}, fmt.Errorf("{{%s}}: the name must be a quoted lower-case word, like {{%s \"client_secret\"}}", expr, fn)
	}
	if fn == "var" {
		return part{kind: partVar, arg: name}, nil
	}
	return part{kind: partSecret, arg: name}, nil
}

type renderEnv struct {
	in      Input
	vars    map[string]string
	secrets Secrets
	// trial renders a var that is not set yet (a later file may set it)
	// as a stand-in, for checking a definition when it is loaded.
	trial bool
}

func (e renderEnv) value(p part) (string, error) {
	switch p.kind {
	case partField:
		switch p.arg {
		case "Value":
			return e.in.Value, nil
		case "Incident":
			return e.in.Incident, nil
		case "Actor":
			return e.in.Actor, nil
		case "Comment":
			return e.in.Comment, nil
		case "RunID":
			return strconv.FormatInt(e.in.RunID, 10), nil
		}
	case partVar:
		v, ok := e.vars[p.arg]
		if (!ok || v == "") && e.trial {
			return "x", nil
		}
		if !ok || v == "" {
			return "", fmt.Errorf("var %q is not set in the action's vars", p.arg)
		}
		return v, nil
	case partSecret:
		if e.secrets == nil {
			return "", fmt.Errorf("secret %q: no secrets available", p.arg)
		}
		return e.secrets(p.arg)
	}
	return "", fmt.Errorf("bad placeholder")
}

// render fills a template; escape, when set, is applied to each value
// (never to the template's own text).
func (e renderEnv) render(s string, escape func(string) (string, error)) (string, error) {
	parts, err := parseTemplate(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.kind == partText {
			b.WriteString(p.text)
			continue
		}
		v, err := e.value(p)
		if err != nil {
			return "", err
		}
		if escape != nil {
			if v, err = escape(v); err != nil {
				return "", err
			}
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func escapeHeader(v string) (string, error) {
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", errors.New("a value holds a line break")
	}
	return v, nil
}

// renderURL fills a URL template: values in the path are path-escaped
// (so "a/../b" stays one segment), values in the query query-escaped.
// The template's own text decides the structure; a value can never add
// a path segment, a query parameter or change the host.
func (e renderEnv) renderURL(base, tmpl string) (string, error) {
	if tmpl == "" {
		// base_url alone: used as it is.
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", errors.New("not an absolute http(s) URL")
		}
		return u.String(), nil
	}
	path, query, hasQuery := strings.Cut(tmpl, "?")
	p, err := e.render(path, func(v string) (string, error) {
		// PathEscape leaves "." and ".." as they are, and a client or
		// server would resolve them: a value must not climb to a sibling
		// endpoint.
		if v == "." || v == ".." {
			return "", fmt.Errorf("the value %q cannot stand in a URL path", v)
		}
		return url.PathEscape(v), nil
	})
	if err != nil {
		return "", err
	}
	if hasQuery {
		q, err := e.render(query, func(v string) (string, error) { return url.QueryEscape(v), nil })
		if err != nil {
			return "", err
		}
		p += "?" + q
	}
	if strings.HasPrefix(p, "/") {
		p = strings.TrimSuffix(base, "/") + p
	}
	u, err := url.Parse(p)
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("not an absolute http(s) URL")
	}
	return u.String(), nil
}

// renderValue fills every string (and map key) of a body.
func (e renderEnv) renderValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return e.render(x, nil)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			r, err := e.renderValue(el)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			rk, err := e.render(k, nil)
			if err != nil {
				return nil, err
			}
			r, err := e.renderValue(el)
			if err != nil {
				return nil, err
			}
			out[rk] = r
		}
		return out, nil
	default:
		return x, nil
	}
}
