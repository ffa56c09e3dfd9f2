package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Checker walks a YAML node tree collecting every problem rather than
// stopping at the first, for loaders whose checks depend on each other
// (a task's phase must be one the playbook has) and so read the tree
// field by field instead of decoding into structs.
type Checker struct {
	File string
	errs []*Error
}

// Errorf records a problem.
func (c *Checker) Errorf(line int, field, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.File, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Errors are the problems found so far, in the order found.
func (c *Checker) Errors() []*Error { return c.errs }

// Err returns the problems top to bottom, joined; nil if there are none.
func (c *Checker) Err() error { return Join(c.errs) }

// Document decodes exactly one YAML document and returns its root, or
// records why not (too large, empty, a syntax error, a second document)
// and returns nil.
func (c *Checker) Document(data []byte, maxSize int) *yaml.Node {
	if len(data) > maxSize {
		c.Errorf(0, "", "larger than %d bytes", maxSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.Errorf(0, "", "empty document")
		} else {
			c.syntax(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		c.Errorf(extra.Line, "", "more than one YAML document")
	case !errors.Is(err, io.EOF):
		c.syntax(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			c.Errorf(0, "", "empty document")
			return nil
		}
		root = root.Content[0]
	}
	return root
}

func (c *Checker) syntax(err error) {
	for _, e := range FromYAML(c.File, err) {
		e.Message = "invalid YAML: " + e.Message
		c.errs = append(c.errs, e)
	}
}

// Resolve follows aliases to the node they name (a bounded number of
// times: an alias cycle is not followed for ever).
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// Mapping checks that n is a mapping.
func (c *Checker) Mapping(n *yaml.Node, path string) (*yaml.Node, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		line := 0
		if n != nil {
			line = n.Line
		}
		c.Errorf(line, path, "must be a mapping of fields")
		return nil, false
	}
	return n, true
}

// Fields returns the values of a mapping by key, refusing keys not in
// known and keys given twice.
func (c *Checker) Fields(m *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := Resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.Errorf(k.Line, path, "field names must be plain strings")
			continue
		}
		name := Path(path, k.Value)
		switch {
		case !slices.Contains(known, k.Value):
			c.Errorf(k.Line, name, "unknown field (known: %s)", strings.Join(known, ", "))
		case out[k.Value] != nil:
			c.Errorf(k.Line, name, "given more than once")
		default:
			out[k.Value] = v
		}
	}
	return out
}

// Str reads a string field of the mapping m, trimmed. It returns the value
// node when the field is present (even if invalid) so the caller can
// report on its line.
func (c *Checker) Str(m *yaml.Node, f map[string]*yaml.Node, path, key string, required bool) (string, *yaml.Node) {
	name := Path(path, key)
	n := Resolve(f[key])
	if n == nil {
		if required {
			c.Errorf(m.Line, name, "missing")
		}
		return "", nil
	}
	s, sn := c.Scalar(n, name)
	if sn != nil && s == "" && required {
		c.Errorf(n.Line, name, "must not be empty")
	}
	return s, sn
}

// Scalar reads a string value, trimmed; nil node if it is not one.
func (c *Checker) Scalar(n *yaml.Node, path string) (string, *yaml.Node) {
	n = Resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" || n.ShortTag() == "!!binary" {
		c.Errorf(n.Line, path, "must be a string")
		return "", nil
	}
	return strings.TrimSpace(n.Value), n
}

// Bool reads a true/false field; the second result says it was given.
func (c *Checker) Bool(f map[string]*yaml.Node, path, key string) (bool, bool) {
	n := Resolve(f[key])
	if n == nil {
		return false, false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		c.Errorf(n.Line, Path(path, key), "must be true or false")
		return false, false
	}
	return b, true
}

// LineStr is a string with the line it was on.
type LineStr struct {
	S    string
	Line int
}

// StrList reads a string or a list of strings (at most 1,000, none empty).
func (c *Checker) StrList(n *yaml.Node, path string) []LineStr {
	n = Resolve(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			c.Errorf(n.Line, path, "an empty list matches nothing; leave the field out instead")
		}
		if len(items) > 1000 {
			c.Errorf(n.Line, path, "more than 1000 items")
			return nil
		}
	}
	var out []LineStr
	for _, it := range items {
		s, sn := c.Scalar(it, path)
		if sn == nil {
			continue
		}
		if s == "" {
			c.Errorf(sn.Line, path, "must not be empty")
			continue
		}
		out = append(out, LineStr{s, sn.Line})
	}
	return out
}
