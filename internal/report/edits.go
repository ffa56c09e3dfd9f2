package report

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
)

// Edits are a person's changes to a generated draft, so the text that is
// finally submitted can be worked on in irdesk before export rather than
// in a copy that loses its link to the incident. A section's text replaces
// everything the draft generated under that heading; a field's text
// replaces the value shown beside that label. Keys are the headings and
// labels of the draft in its language (see Outline).
type Edits struct {
	Sections map[string]string `json:"sections,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// Bounds on edits: a report section is at most a few pages.
const (
	maxEditText = 20000 // characters per section or field
	maxEdits    = 200
)

// Outline is what a draft can be edited by: its section headings and the
// labels of its fields, in document order.
type Outline struct {
	Sections []string `json:"sections"`
	Fields   []string `json:"fields"`
}

// OutlineOf returns the outline of the draft Render would draw up.
func OutlineOf(kind string, in Input) (Outline, error) {
	if err := in.normalize(); err != nil {
		return Outline{}, err
	}
	d, err := build(kind, in)
	if err != nil {
		return Outline{}, err
	}
	o := Outline{Sections: []string{}, Fields: []string{}}
	addField := func(label string) {
		if !slices.Contains(o.Fields, label) {
			o.Fields = append(o.Fields, label)
		}
	}
	for _, f := range d.Meta {
		addField(f.Label)
	}
	for _, s := range d.Sections {
		if !slices.Contains(o.Sections, s.Heading) {
			o.Sections = append(o.Sections, s.Heading)
		}
		for _, b := range s.Blocks {
			for _, f := range b.Fields {
				addField(f.Label)
			}
		}
	}
	return o, nil
}

// Check validates edits against a draft's outline: every key must name a
// heading or label of the draft, and texts are bounded. Empty texts are
// dropped (an empty edit means "back to the generated text").
func (e *Edits) Check(o Outline) error {
	if len(e.Sections)+len(e.Fields) > maxEdits {
		return core.Invalid("sections", "at most %d edits per draft", maxEdits)
	}
	check := func(kind string, m map[string]string, allowed []string) error {
		for k, v := range m {
			if !slices.Contains(allowed, k) {
				return core.Invalid(fmt.Sprintf("%s[%q]", kind, k), "the draft has no such %s (see outline)", strings.TrimSuffix(kind, "s"))
			}
			if utf8.RuneCountInString(v) > maxEditText {
				return core.Invalid(fmt.Sprintf("%s[%q]", kind, k), "at most %d characters", maxEditText)
			}
			if !utf8.ValidString(v) {
				return core.Invalid(fmt.Sprintf("%s[%q]", kind, k), "is not valid UTF-8")
			}
			if strings.TrimSpace(v) == "" {
				delete(m, k)
			}
		}
		return nil
	}
	if err := check("sections", e.Sections, o.Sections); err != nil {
		return err
	}
	return check("fields", e.Fields, o.Fields)
}

// Empty reports whether there is nothing to apply.
func (e *Edits) Empty() bool { return e == nil || len(e.Sections)+len(e.Fields) == 0 }

// apply lays the edits over a generated document. Keys the document no
// longer has (the incident changed since) are left unused.
func (e *Edits) apply(d *document) {
	setField := func(f *field) {
		if v, ok := e.Fields[f.Label]; ok {
			f.Value = plain(v)
		}
	}
	for i := range d.Meta {
		setField(&d.Meta[i])
	}
	for i := range d.Sections {
		s := &d.Sections[i]
		if v, ok := e.Sections[s.Heading]; ok {
			var blocks []block
			for _, p := range strings.Split(strings.ReplaceAll(v, "\r\n", "\n"), "\n\n") {
				if p = strings.TrimSpace(p); p != "" {
					blocks = append(blocks, para(plain(p)))
				}
			}
			s.Blocks = blocks
			continue
		}
		for j := range s.Blocks {
			for k := range s.Blocks[j].Fields {
				setField(&s.Blocks[j].Fields[k])
			}
		}
	}
}

// CheckKind says whether kind is a report kind, and for a PPC report
// whether the stage is known ("" is the preliminary one).
func CheckKind(kind string) error {
	switch kind {
	case KindPPC, KindGDPR, KindPostIncident:
		return nil
	}
	return core.Invalid("kind", "unknown report kind %q (ppc, gdpr or post-incident)", kind)
}
