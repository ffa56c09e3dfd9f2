package actions

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/core"
)

//go:embed builtin.yaml
var builtinFS embed.FS

// Error is one problem in an actions file, as "actions.yaml:12:
// actions[1].observable: unknown type "laptop"".
type Error struct {
	File    string
	Line    int
	Field   string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Message)
	return b.String()
}

// Unwrap makes errors.Is(err, core.ErrInvalid) true.
func (e *Error) Unwrap() error { return core.ErrInvalid }

// Set is the response actions a server offers, by name.
type Set struct {
	defs map[string]*Definition
}

// Get returns the named definition.
func (s *Set) Get(name string) (*Definition, bool) {
	d, ok := s.defs[name]
	return d, ok
}

// List returns every definition in name order.
func (s *Set) List() []*Definition {
	out := make([]*Definition, 0, len(s.defs))
	for _, k := range slices.Sorted(maps.Keys(s.defs)) {
		out = append(out, s.defs[k])
	}
	return out
}

// Builtin returns the built-in actions.
func Builtin() *Set {
	data, err := builtinFS.ReadFile("builtin.yaml")
	if err != nil {
		panic(err)
	}
	s, err := Load(&Set{defs: map[string]*Definition{}}, "builtin.yaml", data)
	if err != nil {
		panic(fmt.Sprintf("built-in actions: %v", err)) // a test keeps this from happening
	}
	return s
}

// maxFileSize bounds an actions file.
const maxFileSize = 1 << 20

type file struct {
	Actions []yaml.Node `yaml:"actions"`
}

// Load reads an actions file over base: an entry with a new name adds an
// action; an entry with the name of one in base overrides only the fields
// it gives (base_url, vars, auth.token_url...), so pointing a built-in at
// a tenant takes three lines. Every problem is reported, each an *Error
// with the line; on any problem Load returns no Set. base is not changed.
func Load(base *Set, name string, data []byte) (*Set, error) {
	if len(data) > maxFileSize {
		return nil, &Error{File: name, Message: fmt.Sprintf("larger than %d bytes", maxFileSize)}
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	out := &Set{defs: map[string]*Definition{}}
	for k, d := range base.defs {
		out.defs[k] = d
	}
	var errs []error
	seen := map[string]int{}
	for i, node := range f.Actions {
		field := fmt.Sprintf("actions[%d]", i)
		var head struct {
			Name string `yaml:"name"`
		}
		_ = node.Decode(&head)
		if prev, dup := seen[head.Name]; dup {
			errs = append(errs, &Error{File: name, Line: node.Line, Field: field + ".name", Message: fmt.Sprintf("%q is defined already on line %d", head.Name, prev)})
			continue
		}
		seen[head.Name] = node.Line
		d := &Definition{}
		if old, ok := base.defs[head.Name]; ok {
			d = old.clone()
		}
		if err := decodeStrict(&node, d); err != nil {
			errs = append(errs, withField(yamlError(name, err), field))
			continue
		}
		if err := d.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				errs = append(errs, &Error{File: name, Line: lineOf(&node, fe.Field), Field: field + "." + fe.Field, Message: fe.Message})
			} else {
				errs = append(errs, &Error{File: name, Line: node.Line, Field: field, Message: err.Error()})
			}
			continue
		}
		out.defs[d.Name] = d
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// decodeStrict decodes a node refusing unknown fields (Node.Decode has no
// such switch, so the node is re-encoded and decoded strictly).
func decodeStrict(node *yaml.Node, d *Definition) error {
	b, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(d); err != nil {
		// Line numbers of the re-encoded node are not the file's: report
		// the entry's line instead.
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return &lineErr{line: node.Line, msg: strings.Join(stripLines(te.Errors), "; ")}
		}
		return &lineErr{line: node.Line, msg: err.Error()}
	}
	return nil
}

type lineErr struct {
	line int
	msg  string
}

func (e *lineErr) Error() string { return e.msg }

func stripLines(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
			m = rest
		}
		out[i] = m
	}
	return out
}

func yamlError(name string, err error) *Error {
	var le *lineErr
	if errors.As(err, &le) {
		return &Error{File: name, Line: le.line, Message: le.msg}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if v, err := strconv.Atoi(n); err == nil {
				line, msg = v, after
			}
		}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	return &Error{File: name, Line: line, Message: msg}
}

func withField(e *Error, field string) *Error {
	if e.Field == "" {
		e.Field = field
	}
	return e
}

// lineOf finds the line of a dotted field ("request.method") in an entry,
// or the entry's own line.
func lineOf(node *yaml.Node, field string) int {
	n := node
	for _, key := range strings.Split(field, ".") {
		if n.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return n.Line
}

// clone copies a definition deeply enough that decoding an override into
// the copy leaves the original as it was.
func (d *Definition) clone() *Definition {
	c := *d
	c.Label = maps.Clone(d.Label)
	c.Vars = maps.Clone(d.Vars)
	c.Secrets = maps.Clone(d.Secrets)
	c.Request.Headers = maps.Clone(d.Request.Headers)
	c.ExpectStatus = slices.Clone(d.ExpectStatus)
	if d.Auth != nil {
		a := *d.Auth
		c.Auth = &a
	}
	if d.Sign != nil {
		s := *d.Sign
		c.Sign = &s
	}
	// The body is replaced whole when an override gives one, never merged.
	return &c
}
