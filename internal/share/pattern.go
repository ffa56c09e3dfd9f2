package share

import (
	"fmt"
	"strings"
)

// Comparison is one "object-path operator value" of a STIX pattern.
type Comparison struct {
	// ObjectType and Path name the property: "file" and
	// ["hashes", "SHA-256"] for file:hashes.'SHA-256'.
	ObjectType string
	Path       []string
	Op         string
	// Value is the literal; IsString says it was a quoted string.
	Value    string
	IsString bool
}

// Observation is one bracketed observation expression.
type Observation struct {
	Comparisons []Comparison
	// And is true when the comparisons are joined with AND (all must hold)
	// rather than OR (any may).
	And bool
}

// Pattern is a STIX pattern of the subset irdesk reads: observation
// expressions of comparisons joined by AND or OR (one kind per
// expression), themselves joined by OR, AND or FOLLOWEDBY. Parentheses,
// qualifiers (WITHIN, REPEATS, START/STOP) and set operators (IN) are
// outside it.
type Pattern struct {
	Observations []Observation
	// Joined is true when some observations are joined by AND or
	// FOLLOWEDBY: the pattern then needs more than one of them.
	Joined bool
}

// Indicators returns the comparisons that each alone indicate: those of
// a pattern that needs only one "=" of them to hold. A pattern that
// needs more than one (AND, FOLLOWEDBY) yields none: watching for one
// part would flag what the pattern does not.
func (p Pattern) Indicators() []Comparison {
	if p.Joined {
		return nil
	}
	var out []Comparison
	for _, o := range p.Observations {
		if o.And && len(o.Comparisons) > 1 {
			continue
		}
		for _, c := range o.Comparisons {
			if c.Op == "=" && c.IsString {
				out = append(out, c)
			}
		}
	}
	return out
}

// maxPatternLen bounds a pattern; ours are one comparison long.
const maxPatternLen = 64 << 10

type patTok struct {
	kind byte // 'i' identifier, 's' string, 'p' punctuation/operator, 0 end
	text string
	pos  int
}

func lexPattern(s string) ([]patTok, error) {
	if len(s) > maxPatternLen {
		return nil, fmt.Errorf("pattern is longer than %d bytes", maxPatternLen)
	}
	var toks []patTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\\' {
					if j+1 >= len(s) || (s[j+1] != '\'' && s[j+1] != '\\') {
						return nil, fmt.Errorf("bad escape in the string at %d (only \\' and \\\\)", j)
					}
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == '\'' {
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, patTok{'s', b.String(), i})
			i = j
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, patTok{'p', s[i : i+2], i})
				i += 2
			} else if c == '!' {
				return nil, fmt.Errorf("unexpected '!' at %d", i)
			} else {
				toks = append(toks, patTok{'p', s[i : i+1], i})
				i++
			}
		case strings.IndexByte("[]:.=()", c) >= 0:
			toks = append(toks, patTok{'p', s[i : i+1], i})
			i++
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, patTok{'i', s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at %d", c, i)
		}
	}
	return append(toks, patTok{kind: 0, pos: len(s)}), nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

type patParser struct {
	toks []patTok
	i    int
}

func (p *patParser) peek() patTok { return p.toks[p.i] }
func (p *patParser) next() patTok {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}

func (p *patParser) expect(text string) error {
	t := p.next()
	if t.kind != 'p' || t.text != text {
		return fmt.Errorf("expected %q at %d", text, t.pos)
	}
	return nil
}

// ParsePattern parses a STIX pattern of the subset Pattern describes.
func ParsePattern(s string) (Pattern, error) {
	toks, err := lexPattern(s)
	if err != nil {
		return Pattern{}, err
	}
	p := &patParser{toks: toks}
	var out Pattern
	for {
		o, err := p.observation()
		if err != nil {
			return Pattern{}, err
		}
		out.Observations = append(out.Observations, o)
		t := p.peek()
		if t.kind == 0 {
			break
		}
		if t.kind != 'i' {
			return Pattern{}, fmt.Errorf("unexpected %q at %d", t.text, t.pos)
		}
		switch strings.ToUpper(t.text) {
		case "OR":
		case "AND", "FOLLOWEDBY":
			out.Joined = true
		default:
			return Pattern{}, fmt.Errorf("unexpected %q at %d (qualifiers are not supported)", t.text, t.pos)
		}
		p.next()
	}
	return out, nil
}

func (p *patParser) observation() (Observation, error) {
	if err := p.expect("["); err != nil {
		return Observation{}, err
	}
	var o Observation
	sawOr := false
	for {
		c, err := p.comparison()
		if err != nil {
			return Observation{}, err
		}
		o.Comparisons = append(o.Comparisons, c)
		t := p.next()
		if t.kind == 'p' && t.text == "]" {
			break
		}
		if t.kind != 'i' {
			return Observation{}, fmt.Errorf("expected AND, OR or ']' at %d", t.pos)
		}
		switch strings.ToUpper(t.text) {
		case "AND":
			o.And = true
		case "OR":
			sawOr = true
		default:
			return Observation{}, fmt.Errorf("expected AND, OR or ']' at %d", t.pos)
		}
		if o.And && sawOr {
			return Observation{}, fmt.Errorf("AND and OR mixed without parentheses at %d", t.pos)
		}
	}
	return o, nil
}

func (p *patParser) comparison() (Comparison, error) {
	var c Comparison
	t := p.next()
	if t.kind != 'i' || !validTypeName(t.text) {
		return c, fmt.Errorf("expected an object type at %d", t.pos)
	}
	c.ObjectType = t.text
	if err := p.expect(":"); err != nil {
		return c, err
	}
	for {
		t := p.next()
		switch {
		case t.kind == 'i' && (t.text[0] < '0' || t.text[0] > '9'):
			c.Path = append(c.Path, t.text)
		case t.kind == 's' && len(c.Path) > 0 && t.text != "":
			c.Path = append(c.Path, t.text)
		default:
			return c, fmt.Errorf("expected a property name at %d", t.pos)
		}
		if n := p.peek(); n.kind == 'p' && n.text == "." {
			p.next()
			continue
		}
		if n := p.peek(); n.kind == 'p' && n.text == "[" {
			// A list index; only a number ("[*]" is outside the subset).
			p.next()
			idx := p.next()
			if idx.kind != 'i' || strings.Trim(idx.text, "0123456789") != "" {
				return c, fmt.Errorf("expected a list index at %d", idx.pos)
			}
			if err := p.expect("]"); err != nil {
				return c, err
			}
			c.Path = append(c.Path, "["+idx.text+"]")
			if n := p.peek(); n.kind == 'p' && n.text == "." {
				p.next()
				continue
			}
		}
		break
	}
	t = p.next()
	switch {
	case t.kind == 'p' && (t.text == "=" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
		c.Op = t.text
	case t.kind == 'i' && (strings.EqualFold(t.text, "LIKE") || strings.EqualFold(t.text, "MATCHES")):
		c.Op = strings.ToUpper(t.text)
	default:
		return c, fmt.Errorf("expected a comparison operator at %d", t.pos)
	}
	t = p.next()
	switch {
	case t.kind == 's':
		c.Value, c.IsString = t.text, true
	case t.kind == 'i' && (t.text == "true" || t.text == "false" || strings.Trim(t.text, "0123456789-") == ""):
		if c.Op == "LIKE" || c.Op == "MATCHES" {
			return c, fmt.Errorf("%s takes a string at %d", c.Op, t.pos)
		}
		c.Value = t.text
	case t.kind == 'i' && (t.text == "t" || t.text == "h" || t.text == "b") && p.peek().kind == 's':
		c.Value = p.next().text // t'…' timestamp, h'…' hex, b'…' binary
	default:
		return c, fmt.Errorf("expected a value at %d", t.pos)
	}
	return c, nil
}

// validTypeName is the STIX type-name rule: 3–250 characters of
// lower-case letters, digits and hyphens, starting with a letter and not
// ending with a hyphen.
func validTypeName(s string) bool {
	if len(s) < 3 || len(s) > 250 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
