// Package playbook holds the response playbooks — per incident category, the
// tasks of each phase of the response flow — as embedded YAML, and loads and
// validates them and any custom playbooks an installation adds.
package playbook

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Role is the kind of people a task falls to. It is not core.Role (what a
// user may do in irdesk): it says which function of the organisation does
// the work, so a lead can hand it to the right person.
type Role string

const (
	RoleTechnical  Role = "technical"  // IT, CSIRT, vendors
	RoleLegal      Role = "legal"      // legal, compliance, regulator reports
	RolePR         Role = "pr"         // public relations, customer contact
	RoleHR         Role = "hr"         // staff matters, discipline
	RoleManagement Role = "management" // decisions that need an executive
)

// Roles lists every task role.
var Roles = []Role{RoleTechnical, RoleLegal, RolePR, RoleHR, RoleManagement}

// Valid reports whether r is a known task role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// WorkPhases are the phases a task may belong to: every phase of the flow
// but closed, which is an end state with nothing left to do.
var WorkPhases = []core.Phase{
	core.PhaseDetect, core.PhaseTriage, core.PhaseInvestigate,
	core.PhaseContain, core.PhaseRecover, core.PhaseReview,
}

// Text is a string in both languages irdesk speaks.
type Text struct {
	Ja string
	En string
}

// In returns the text in lang ("ja" or "en"); anything but "en" gets
// Japanese, the language of irdesk's users.
func (t Text) In(lang string) string {
	if lang == "en" {
		return t.En
	}
	return t.Ja
}

// Task is one step of a playbook.
type Task struct {
	ID       string
	Phase    core.Phase
	Title    Text
	Guidance Text
	Role     Role
	// DueAfter is how long after the start of its phase the task is due;
	// zero means no due time.
	DueAfter time.Duration
	// Blocking tasks must be done or skipped before the incident leaves
	// the phase.
	Blocking bool
}

// Playbook is the response procedure for one incident category (and, for
// data leaks, one kind of information). Playbooks from a Set are shared:
// treat them as read-only.
type Playbook struct {
	ID       string
	Category core.Category
	// InfoType is set only on the leak-type playbooks of data_leak.
	InfoType core.InfoType
	Title    Text
	Summary  Text
	Tasks    []Task
	// Source is the file the playbook was loaded from, for messages.
	Source string
}

// TasksIn returns the playbook's tasks of one phase, in file order.
func (p *Playbook) TasksIn(phase core.Phase) []Task {
	var out []Task
	for _, t := range p.Tasks {
		if t.Phase == phase {
			out = append(out, t)
		}
	}
	return out
}

// MissingPhases returns the work phases the playbook has no task for.
func (p *Playbook) MissingPhases() []core.Phase {
	var out []core.Phase
	for _, ph := range WorkPhases {
		if !slices.ContainsFunc(p.Tasks, func(t Task) bool { return t.Phase == ph }) {
			out = append(out, ph)
		}
	}
	return out
}

// selector is what For looks a playbook up by.
type selector struct {
	cat  core.Category
	info core.InfoType
}

func (p *Playbook) selector() selector { return selector{p.Category, p.InfoType} }

// Set is a validated collection of playbooks: ids are unique and no two
// playbooks share a category and info type. A Set is not modified after it
// is built, so it may be shared between goroutines.
type Set struct {
	byID  map[string]*Playbook
	bySel map[selector]*Playbook
}

func newSet(pbs []*Playbook) *Set {
	s := &Set{byID: make(map[string]*Playbook, len(pbs)), bySel: make(map[selector]*Playbook, len(pbs))}
	for _, p := range pbs {
		s.byID[p.ID] = p
		s.bySel[p.selector()] = p
	}
	return s
}

// Len is the number of playbooks in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byID)
}

// Get returns the playbook with the given id.
func (s *Set) Get(id string) (*Playbook, bool) {
	if s == nil {
		return nil, false
	}
	p, ok := s.byID[id]
	return p, ok
}

// For returns the playbook for an incident. For data_leak with a known info
// type it is that leak type's playbook if the set has one; otherwise (no or
// unknown info type, or no such playbook) the generic data_leak playbook.
// Other categories ignore infoType.
func (s *Set) For(category core.Category, infoType core.InfoType) (*Playbook, bool) {
	if s == nil {
		return nil, false
	}
	if category == core.CatDataLeak && infoType != "" {
		if p, ok := s.bySel[selector{category, infoType}]; ok {
			return p, true
		}
	}
	p, ok := s.bySel[selector{cat: category}]
	return p, ok
}

// All returns every playbook, ordered by category (the order of
// core.Categories), then id.
func (s *Set) All() []*Playbook {
	if s == nil {
		return nil
	}
	out := make([]*Playbook, 0, len(s.byID))
	for _, p := range s.byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Playbook) int {
		return cmp.Or(
			cmp.Compare(slices.Index(core.Categories, a.Category), slices.Index(core.Categories, b.Category)),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return out
}

// Merge returns a new set of s's playbooks overlaid with custom's. A custom
// playbook replaces the one of s with the same id, and also the one that
// answers For for the same category and info type, so that a custom
// playbook always takes over its incidents whatever it is called. Custom
// playbooks matching nothing in s are added. Neither set is changed.
func (s *Set) Merge(custom *Set) *Set {
	var out []*Playbook
	if s != nil {
		for _, p := range s.byID {
			if custom != nil {
				if _, ok := custom.byID[p.ID]; ok {
					continue
				}
				if _, ok := custom.bySel[p.selector()]; ok {
					continue
				}
			}
			out = append(out, p)
		}
	}
	if custom != nil {
		for _, p := range custom.byID {
			out = append(out, p)
		}
	}
	return newSet(out)
}

// Complete reports, as an error naming each, the categories and data-leak
// information types the set has no playbook for. The built-in set is
// complete; a custom set need not be.
func (s *Set) Complete() error {
	var errs []error
	for _, c := range core.Categories {
		if _, ok := s.bySel[selector{cat: c}]; !ok {
			errs = append(errs, fmt.Errorf("no playbook for category %q", c))
		}
	}
	for _, t := range core.InfoTypes {
		if _, ok := s.bySel[selector{core.CatDataLeak, t}]; !ok {
			errs = append(errs, fmt.Errorf("no playbook for data_leak with info_type %q", t))
		}
	}
	return errors.Join(errs...)
}

//go:embed playbooks/*.yaml
var embedded embed.FS

// builtin is computed once: the embedded files never change while the
// program runs, and the Set is read-only.
var builtin = sync.OnceValues(func() (*Set, error) {
	sub, err := fs.Sub(embedded, "playbooks")
	if err != nil {
		return nil, err
	}
	s, err := Load(sub)
	if err != nil {
		return nil, err
	}
	if err := s.Complete(); err != nil {
		return nil, err
	}
	return s, nil
})

// Builtin returns the playbooks shipped with irdesk. It panics if they are
// invalid, which the package's tests rule out.
func Builtin() *Set {
	s, err := builtin()
	if err != nil {
		panic("playbook: built-in playbooks are invalid: " + err.Error())
	}
	return s
}
