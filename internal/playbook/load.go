package playbook

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/yamlfile"

	"github.com/irdesk/irdesk/internal/core"
)

// maxFileSize bounds a playbook file; real ones are a few tens of KiB.
const maxFileSize = 1 << 20

// Error is one problem in a playbook file. It names the file, the line
// (0 when there is none, e.g. the file cannot be read) and the field at
// fault, as "ransomware.yaml:42: tasks[3].phase: unknown phase "lunch"".
type Error = yamlfile.Error

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
		ps := &parser{Checker: yamlfile.Checker{File: name}}
		p := ps.parse(data)
		// Report a file's problems top to bottom, as an editor would.
		fileErrs := ps.Errors()
		slices.SortStableFunc(fileErrs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
		for _, e := range fileErrs {
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
		if len(fileErrs) == 0 {
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
	yamlfile.Checker
	idLine  int
	catLine int
}

// parse returns the playbook as far as it could be read (nil if not at
// all); ps.errs says whether it is valid.
func (ps *parser) parse(data []byte) *Playbook {
	root := ps.Document(data, maxFileSize)
	if root == nil {
		return nil
	}
	m, ok := ps.Mapping(root, "")
	if !ok {
		return nil
	}
	p := &Playbook{Source: ps.File}
	f := ps.Fields(m, "", "id", "category", "info_type", "title", "summary", "tasks")

	var idNode *yaml.Node
	p.ID, idNode = ps.Str(m, f, "", "id", true)
	if idNode != nil {
		ps.idLine = idNode.Line
		if p.ID != "" && !idPattern.MatchString(p.ID) {
			ps.Errorf(idNode.Line, "id", "invalid id %q: use 1–64 lower-case letters, digits, '_' or '-'", p.ID)
		}
	}

	cat, catNode := ps.Str(m, f, "", "category", true)
	if catNode != nil {
		ps.catLine = catNode.Line
		if cat != "" && !core.Category(cat).Valid() {
			ps.Errorf(catNode.Line, "category", "unknown category %q", cat)
		} else {
			p.Category = core.Category(cat)
		}
	}

	if it, itNode := ps.Str(m, f, "", "info_type", false); itNode != nil && it != "" {
		switch {
		case !core.InfoType(it).Valid():
			ps.Errorf(itNode.Line, "info_type", "unknown info_type %q (one of %s)", it, list(core.InfoTypes))
		case p.Category != "" && p.Category != core.CatDataLeak:
			ps.Errorf(itNode.Line, "info_type", "info_type applies only to category %q", core.CatDataLeak)
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
		ps.Errorf(parent.Line, "tasks", "missing")
		return nil
	}
	n = yamlfile.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		ps.Errorf(n.Line, "tasks", "must be a list of tasks")
		return nil
	}
	if len(n.Content) == 0 {
		ps.Errorf(n.Line, "tasks", "a playbook needs at least one task")
		return nil
	}
	var out []Task
	ids := map[string]int{}
	for i, item := range n.Content {
		path := fmt.Sprintf("tasks[%d]", i)
		m, ok := ps.Mapping(item, path)
		if !ok {
			continue
		}
		f := ps.Fields(m, path, "id", "phase", "title", "guidance", "role", "due_after", "blocking")
		var t Task

		id, idNode := ps.Str(m, f, path, "id", true)
		if idNode != nil && id != "" {
			if !idPattern.MatchString(id) {
				ps.Errorf(idNode.Line, path+".id", "invalid id %q: use 1–64 lower-case letters, digits, '_' or '-'", id)
			} else if prev, dup := ids[id]; dup {
				ps.Errorf(idNode.Line, path+".id", "duplicate task id %q, also on line %d", id, prev)
			} else {
				ids[id] = idNode.Line
			}
		}
		t.ID = id

		ph, phNode := ps.Str(m, f, path, "phase", true)
		if phNode != nil && ph != "" {
			switch p := core.Phase(ph); {
			case p == core.PhaseClosed:
				ps.Errorf(phNode.Line, path+".phase", "phase %q is the end state and has no tasks (one of %s)", ph, list(WorkPhases))
			case !p.Valid():
				ps.Errorf(phNode.Line, path+".phase", "unknown phase %q (one of %s)", ph, list(WorkPhases))
			default:
				t.Phase = p
			}
		}

		t.Title = ps.text(m, f, path, "title")
		t.Guidance = ps.text(m, f, path, "guidance")

		role, roleNode := ps.Str(m, f, path, "role", true)
		if roleNode != nil && role != "" {
			if !Role(role).Valid() {
				ps.Errorf(roleNode.Line, path+".role", "unknown role %q (one of %s)", role, list(Roles))
			} else {
				t.Role = Role(role)
			}
		}

		if due, dueNode := ps.Str(m, f, path, "due_after", false); dueNode != nil && due != "" {
			d, err := time.ParseDuration(due)
			switch {
			case err != nil:
				ps.Errorf(dueNode.Line, path+".due_after", "invalid duration %q (e.g. \"30m\", \"4h\", \"72h\")", due)
			case d <= 0:
				ps.Errorf(dueNode.Line, path+".due_after", "duration %q must be positive", due)
			default:
				t.DueAfter = d
			}
		}

		if b := f["blocking"]; b != nil {
			b = yamlfile.Resolve(b)
			if b.Kind != yaml.ScalarNode || b.ShortTag() != "!!bool" {
				ps.Errorf(b.Line, path+".blocking", "must be true or false")
			} else if err := b.Decode(&t.Blocking); err != nil {
				ps.Errorf(b.Line, path+".blocking", "must be true or false")
			}
		}
		out = append(out, t)
	}
	return out
}

// text reads a required {ja, en} field; both languages must be there.
func (ps *parser) text(m *yaml.Node, f map[string]*yaml.Node, path, key string) Text {
	name := yamlfile.Path(path, key)
	n := f[key]
	if n == nil {
		ps.Errorf(m.Line, name, "missing")
		return Text{}
	}
	tm, ok := ps.Mapping(n, name)
	if !ok {
		return Text{}
	}
	tf := ps.Fields(tm, name, "ja", "en")
	ja, _ := ps.Str(tm, tf, name, "ja", true)
	en, _ := ps.Str(tm, tf, name, "en", true)
	return Text{Ja: ja, En: en}
}

func list[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
