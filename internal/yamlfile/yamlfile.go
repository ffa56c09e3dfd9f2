// Package yamlfile reads the YAML files people write for irdesk
// (playbooks, triage and escalation rules, response actions) strictly, and
// reports every problem at once as "file:line: field: message", so a
// mistake in a file used at 3 a.m. is found at start, not during an
// incident. Loaders either decode into structs (Decode, DecodeNode) and
// place their own validation errors with LineOf, or walk the node tree
// with a Checker.
package yamlfile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/core"
)

// Error is one problem in a file. Line is 0 when there is none (the file
// cannot be read); Field is the path of the field at fault, such as
// "rules[2].when.severity[0]".
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

// Unwrap makes errors.Is(err, core.ErrInvalid) true for every Error.
func (e *Error) Unwrap() error { return core.ErrInvalid }

// Join sorts the problems top to bottom, as an editor shows them, and
// joins them; nil when there are none.
func Join(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// lineMsg splits yaml.v3's "line 3: ..." (with or without "yaml: ").
var lineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// FromYAML turns an error of yaml.v3's decoder (a syntax error, or a
// TypeError listing several fields) into Errors with their lines.
func FromYAML(file string, err error) []*Error {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var le *lineError
	if errors.As(err, &le) {
		return []*Error{{File: file, Line: le.line, Message: le.msg}}
	}
	out := make([]*Error, 0, len(msgs))
	for _, m := range msgs {
		if g := lineMsg.FindStringSubmatch(m); g != nil {
			n, _ := strconv.Atoi(g[1])
			out = append(out, &Error{File: file, Line: n, Message: g[2]})
			continue
		}
		out = append(out, &Error{File: file, Message: strings.TrimPrefix(m, "yaml: ")})
	}
	return out
}

// Decode decodes one YAML document into v, refusing unknown fields, and
// returns the node tree too, for LineOf. An empty document leaves v as it
// is and returns a nil tree.
func Decode(file string, data []byte, maxSize int, v any) (*yaml.Node, error) {
	if len(data) > maxSize {
		return nil, Join([]*Error{{File: file, Message: fmt.Sprintf("larger than %d bytes", maxSize)}})
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, Join(FromYAML(file, err))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Join(FromYAML(file, err))
	}
	return &root, nil
}

// lineError is an error already placed on a line of the file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

// DecodeNode decodes a node of a larger file into v refusing unknown
// fields, which yaml.v3's Node.Decode cannot: the node is re-encoded and
// decoded strictly. The re-encoded lines are not the file's, so errors
// carry the node's own line (use FromYAML on them).
func DecodeNode(node *yaml.Node, v any) error {
	b, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		msgs := []string{err.Error()}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs = te.Errors
		}
		for i, m := range msgs {
			if g := lineMsg.FindStringSubmatch(m); g != nil {
				msgs[i] = g[2]
			}
		}
		return &lineError{line: node.Line, msg: strings.Join(msgs, "; ")}
	}
	return nil
}

var pathPart = regexp.MustCompile(`^([A-Za-z0-9_]+)(?:\[(\d+)\])?$`)

// LineOf finds the line of a field path such as "rules[1].when.severity[0]"
// below root (a document or any node). Where the path ends early it gives
// the line of the deepest node found, and 0 when root is nil.
func LineOf(root *yaml.Node, path string) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	if path == "" {
		return line
	}
	for _, part := range strings.Split(path, ".") {
		m := pathPart.FindStringSubmatch(part)
		if m == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				line = n.Content[i].Line
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if m[2] != "" {
			idx, _ := strconv.Atoi(m[2])
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// Path appends a field to a path: Path("tasks[2]", "phase").
func Path(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
