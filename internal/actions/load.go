package actions

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/yamlfile"
)

//go:embed builtin.yaml
var builtinFS embed.FS

// Error is one problem in an actions file, as "actions.yaml:12:
// actions[1].observable: unknown type "laptop"".
type Error = yamlfile.Error

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
		if err := yamlfile.DecodeNode(&node, d); err != nil {
			errs = append(errs, withField(yamlError(name, err), field))
			continue
		}
		if err := d.Validate(); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				errs = append(errs, &Error{File: name, Line: yamlfile.LineOf(&node, fe.Field), Field: field + "." + fe.Field, Message: fe.Message})
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

// yamlError is a decoding error as one problem on the line of its first
// part (the definitions are reported one entry at a time).
func yamlError(name string, err error) *Error {
	parts := yamlfile.FromYAML(name, err)
	e := parts[0]
	for _, p := range parts[1:] {
		e.Message += "; " + p.Message
	}
	return e
}

func withField(e *Error, field string) *Error {
	if e.Field == "" {
		e.Field = field
	}
	return e
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
