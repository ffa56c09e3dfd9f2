package playbook

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/core"
)

// maxFileSize bounds a playbook file; real ones are a few tens of KiB.
const maxFileSize = 1 << 20

// Error is one problem in a playbook file. It names the file, the line
// (0 when there is none, e.g. the file cannot be read) and the field at
// fault, as "ransomware.yaml:42: tasks[3].phase: unknown phase "lunch"".
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
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap makes errors.Is(err, core.ErrInvalid) true for every Error.
func (e *Error) Unwrap() error { return core.ErrInvalid }

// idPattern is what playbook and task ids look like: short, lower case,
// safe in URLs and file names.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Load reads every *.yaml file at the top of fsys as one playbook and
// validates them all. It reports every problem it finds, joined with
// errors.Join, each an *Error; on any problem it returns no Set. A file
// system with no playbooks gives an empty Set.
func Load(fsys fs.FS) (*Set, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var (
		errs []error
		pbs  []*Playbook
	)
	type seen struct {
		file string
		line int
	}
	ids := map[string]seen{}
	sels := map[selector]seen{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &Error{File: name, Message: err.Error()})
			continue
		}
		ps := &parser{file: name}
		p := ps.parse(data)
		// Report a file's problems top to bottom, as an editor would.
		slices.SortStableFunc(ps.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
		for _, e := range ps.errs {
			errs = append(errs, e)
		}
		if p == nil {
			continue
		}
		if p.ID != "" {
			if prev, dup := ids[p.ID]; dup {
				errs = append(errs, &Error{File: name, Line: ps.idLine, Field: "id",
					Message: fmt.Sprintf("duplicate playbook id %q, also in %s:%d", p.ID, prev.file, prev.line)})
			} else {
				ids[p.ID] = seen{name, ps.idLine}
			}
		}
		if p.Category != "" {
			if prev, dup := sels[p.selector()]; dup {
				what := fmt.Sprintf("category %q", p.Category)
				if p.InfoType != "" {
					what += fmt.Sprintf(" with info_type %q", p.InfoType)
				}
				errs = append(errs, &Error{File: name, Line: ps.catLine, Field: "category",
					Message: fmt.Sprintf("%s already has a playbook in %s:%d", what, prev.file, prev.line)})
			} else {
				sels[p.selector()] = seen{name, ps.catLine}
			}
		}
		if len(ps.errs) == 0 {
			pbs = append(pbs, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newSet(pbs), nil
}

// parser checks one file, collecting every error rather than stopping at
// the first. It walks yaml.v3's node tree instead of decoding into structs
// so each message can carry the line and the path of the field.
type parser struct {
	file    string
	errs    []*Error
	idLine  int
	catLine int
}

func (ps *parser) errorf(line int, field, format string, args ...any) {
	ps.errs = append(ps.errs, &Error{File: ps.file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// yamlLine pulls the line out of yaml.v3's "yaml: line 3: ..." messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (ps *parser) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		ps.errorf(line, "", "invalid YAML: %s", m[2])
		return
	}
	ps.errorf(0, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// parse returns the playbook as far as it could be read (nil if not at
// all); ps.errs says whether it is valid.
func (ps *parser) parse(data []byte) *Playbook {
	if len(data) > maxFileSize {
		ps.errorf(0, "", "file is larger than %d bytes", maxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.errorf(0, "", "empty file")
		} else {
			ps.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		ps.errorf(extra.Line, "", "more than one YAML document; a file holds one playbook")
	case !errors.Is(err, io.EOF):
		ps.syntaxError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			ps.errorf(0, "", "empty file")
			return nil
		}
		root = root.Content[0]
	}
	m, ok := ps.mapping(root, "")
	if !ok {
		return nil
	}
	p := &Playbook{Source: ps.file}
	f := ps.fields(m, "", "id", "category", "info_type", "title", "summary", "tasks")

	var idNode *yaml.Node
	p.ID, idNode = ps.str(m, f, "", "id", true)
	if idNode != nil {
		ps.idLine = idNode.Line
		if p.ID != "" && !idPattern.MatchString(p.ID) {
			ps.errorf(idNode.Line, "id", "invalid id %q: use 1–64 lower-case letters, digits, '_' or '-'", p.ID)
		}
	}

	cat, catNode := ps.str(m, f, "", "category", true)
	if catNode != nil {
		ps.catLine = catNode.Line
		if cat != "" && !core.Category(cat).Valid() {
			ps.errorf(catNode.Line, "category", "unknown category %q", cat)
		} else {
			p.Category = core.Category(cat)
		}
	}

	if it, itNode := ps.str(m, f, "", "info_type", false); itNode != nil && it != "" {
		switch {
		case !core.InfoType(it).Valid():
			ps.errorf(itNode.Line, "info_type", "unknown info_type %q (one of %s)", it, list(core.InfoTypes))
		case p.Category != "" && p.Category != core.CatDataLeak:
			ps.errorf(itNode.Line, "info_type", "info_type applies only to category %q", core.CatDataLeak)
		default:
			p.InfoType = core.InfoType(it)
		}
	}

	p.Title = ps.text(m, f, "", "title")
	p.Summary = ps.text(m, f, "", "summary")
	p.Tasks = ps.tasks(m, f["tasks"])
	return p
}

func (ps *parser) tasks(parent, n *yaml.Node) []Task {
	if n == nil {
		ps.errorf(parent.Line, "tasks", "missing")
		return nil
	}
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n.Line, "tasks", "must be a list of tasks")
		return nil
	}
	if len(n.Content) == 0 {
		ps.errorf(n.Line, "tasks", "a playbook needs at least one task")
		return nil
	}
	var out []Task
	ids := map[string]int{}
	for i, item := range n.Content {
		path := fmt.Sprintf("tasks[%d]", i)
		m, ok := ps.mapping(item, path)
		if !ok {
			continue
		}
		f := ps.fields(m, path, "id", "phase", "title", "guidance", "role", "due_after", "blocking")
		var t Task

		id, idNode := ps.str(m, f, path, "id", true)
		if idNode != nil && id != "" {
			if !idPattern.MatchString(id) {
				ps.errorf(idNode.Line, path+".id", "invalid id %q: use 1–64 lower-case letters, digits, '_' or '-'", id)
			} else if prev, dup := ids[id]; dup {
				ps.errorf(idNode.Line, path+".id", "duplicate task id %q, also on line %d", id, prev)
			} else {
				ids[id] = idNode.Line
			}
		}
		t.ID = id

		ph, phNode := ps.str(m, f, path, "phase", true)
		if phNode != nil && ph != "" {
			switch p := core.Phase(ph); {
			case p == core.PhaseClosed:
				ps.errorf(phNode.Line, path+".phase", "phase %q is the end state and has no tasks (one of %s)", ph, list(WorkPhases))
			case !p.Valid():
				ps.errorf(phNode.Line, path+".phase", "unknown phase %q (one of %s)", ph, list(WorkPhases))
			default:
				t.Phase = p
			}
		}

		t.Title = ps.text(m, f, path, "title")
		t.Guidance = ps.text(m, f, path, "guidance")

		role, roleNode := ps.str(m, f, path, "role", true)
		if roleNode != nil && role != "" {
			if !Role(role).Valid() {
				ps.errorf(roleNode.Line, path+".role", "unknown role %q (one of %s)", role, list(Roles))
			} else {
				t.Role = Role(role)
			}
		}

		if due, dueNode := ps.str(m, f, path, "due_after", false); dueNode != nil && due != "" {
			d, err := time.ParseDuration(due)
			switch {
			case err != nil:
				ps.errorf(dueNode.Line, path+".due_after", "invalid duration %q (e.g. \"30m\", \"4h\", \"72h\")", due)
			case d <= 0:
				ps.errorf(dueNode.Line, path+".due_after", "duration %q must be positive", due)
			default:
				t.DueAfter = d
			}
		}

		if b := f["blocking"]; b != nil {
			b = resolve(b)
			if b.Kind != yaml.ScalarNode || b.ShortTag() != "!!bool" {
				ps.errorf(b.Line, path+".blocking", "must be true or false")
			} else if err := b.Decode(&t.Blocking); err != nil {
				ps.errorf(b.Line, path+".blocking", "must be true or false")
			}
		}
		out = append(out, t)
	}
	return out
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func (ps *parser) mapping(n *yaml.Node, path string) (*yaml.Node, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		line := 0
		if n != nil {
			line = n.Line
		}
		ps.errorf(line, path, "must be a mapping of fields")
		return nil, false
	}
	return n, true
}

// fields returns the values of a mapping by key, refusing keys not in
// known and keys given twice.
func (ps *parser) fields(m *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.errorf(k.Line, path, "field names must be plain strings")
			continue
		}
		name := join(path, k.Value)
		switch {
		case !slices.Contains(known, k.Value):
			ps.errorf(k.Line, name, "unknown field (known: %s)", strings.Join(known, ", "))
		case out[k.Value] != nil:
			ps.errorf(k.Line, name, "given more than once")
		default:
			out[k.Value] = v
		}
	}
	return out
}

// str reads a scalar field. It returns the value node when the field is
// present (even if invalid) so callers can report on its line.
func (ps *parser) str(m *yaml.Node, f map[string]*yaml.Node, path, key string, required bool) (string, *yaml.Node) {
	name := join(path, key)
	n := resolve(f[key])
	if n == nil {
		if required {
			ps.errorf(m.Line, name, "missing")
		}
		return "", nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		ps.errorf(n.Line, name, "must be a string")
		return "", n
	}
	v := strings.TrimSpace(n.Value)
	if v == "" && required {
		ps.errorf(n.Line, name, "must not be empty")
	}
	return v, n
}

// text reads a required {ja, en} field; both languages must be there.
func (ps *parser) text(m *yaml.Node, f map[string]*yaml.Node, path, key string) Text {
	name := join(path, key)
	n := f[key]
	if n == nil {
		ps.errorf(m.Line, name, "missing")
		return Text{}
	}
	tm, ok := ps.mapping(n, name)
	if !ok {
		return Text{}
	}
	tf := ps.fields(tm, name, "ja", "en")
	ja, _ := ps.str(tm, tf, name, "ja", true)
	en, _ := ps.str(tm, tf, name, "en", true)
	return Text{Ja: ja, En: en}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func list[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
