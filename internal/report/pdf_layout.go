package report

import (
	"strings"
	"unicode"
)

// Line breaking for the PDF: Japanese may break between any two characters
// except where kinsoku (禁則) forbids it, English only at spaces. A word
// too long for the line (a URL, a hash) is cut where it must be.

// pdfStyle is how a run of text looks.
type pdfStyle uint8

const (
	stNormal pdfStyle = iota
	stBold
	stMark  // fill-in marker: bold on a highlight
	stMuted // secondary text: grey
)

// run is text in one style.
type run struct {
	S  string
	St pdfStyle
}

// styledRune is one character of a paragraph being broken into lines.
type styledRune struct {
	r  rune
	st pdfStyle
}

// wrappedLine is one output line: chars[From:To] of the normalised text,
// with the spaces a soft break falls on left out.
type wrappedLine struct {
	Runs  []run
	Width float64 // in points
	From  int
	To    int
	// Forced is set when the line ends inside a word or kinsoku group that
	// did not fit on a line of its own.
	Forced bool
	// Hard is set when the line starts a new line of the source text (the
	// first line, or after a newline).
	Hard bool
}

// advancer gives the advance width of a rune in thousandths of the font
// size.
type advancer interface {
	runeAdvance(r rune) float64
}

// normaliseRunes flattens runs into characters, turning every line
// separator into '\n' and tabs into spaces and dropping other control
// characters, which a PDF would otherwise show as missing glyphs.
func normaliseRunes(runs []run) []styledRune {
	var out []styledRune
	for _, rn := range runs {
		s := strings.ReplaceAll(rn.S, "\r\n", "\n")
		for _, r := range s {
			switch {
			case r == '\r' || r == '\u2028' || r == '\u2029' || r == '\v' || r == '\f' || r == '\u0085':
				r = '\n'
			case r == '\t':
				r = ' '
			case r == '\n':
			case unicode.IsControl(r):
				continue
			case unicode.Is(unicode.Cf, r) && r != '\u00ad':
				// Zero-width format characters (ZWSP, bidi marks, BOM)
				// have no glyph.
				continue
			}
			out = append(out, styledRune{r, rn.St})
		}
	}
	return out
}

// isSpace is a breakable space; the ideographic space (U+3000) is not one:
// it is a full-width character that keeps its place.
func isSpace(r rune) bool { return r == ' ' }

// isWide reports characters of scripts written without spaces, around
// which a line may break.
func isWide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x11FF, // Hangul Jamo
		r >= 0x2E80 && r <= 0x303F,   // radicals, CJK symbols and punctuation
		r >= 0x3040 && r <= 0x33FF,   // kana, bopomofo, enclosed CJK, CJK compatibility
		r >= 0x3400 && r <= 0x4DBF,   // CJK extension A
		r >= 0x4E00 && r <= 0x9FFF,   // CJK unified ideographs
		r >= 0xAC00 && r <= 0xD7AF,   // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF,   // CJK compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F,   // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFFEF,   // half- and full-width forms
		r >= 0x20000 && r <= 0x3FFFF: // CJK extensions B and beyond
		return true
	}
	return false
}

// Kinsoku: characters that may not start a line (closing brackets,
// punctuation, small kana, the prolonged sound mark, iteration marks) and
// characters that may not end one (opening brackets).
const (
	noStartChars = "、。，．,.・：；:;？！?!゛゜ヽヾゝゞ々〻ー’”)）〕］]｝}〉》」』】〙〗〟" +
		"ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ" +
		"‐゠–〜～…‥%％℃°′″"
	noEndChars = "(（〔［[｛{〈《「『【〘〖〝‘“￥＄＃#"
)

func noStart(r rune) bool { return strings.ContainsRune(noStartChars, r) }
func noEnd(r rune) bool   { return strings.ContainsRune(noEndChars, r) }

// canBreak reports whether a line may break between a and b, neither of
// them a space.
func canBreak(a, b rune) bool {
	if noStart(b) || noEnd(a) {
		return false
	}
	return isWide(a) || isWide(b)
}

// atom is a piece no line break may fall inside: a word, a space, a
// character of Japanese with the punctuation that clings to it, or a
// newline.
type atom struct {
	from, to int
	space    bool
	newline  bool
}

func atomsOf(cs []styledRune) []atom {
	var out []atom
	for i := 0; i < len(cs); {
		r := cs[i].r
		switch {
		case r == '\n':
			out = append(out, atom{from: i, to: i + 1, newline: true})
			i++
			continue
		case isSpace(r):
			j := i + 1
			for j < len(cs) && isSpace(cs[j].r) {
				j++
			}
			out = append(out, atom{from: i, to: j, space: true})
			i = j
			continue
		}
		j := i + 1
		for j < len(cs) && cs[j].r != '\n' && !isSpace(cs[j].r) && !canBreak(cs[j-1].r, cs[j].r) {
			j++
		}
		out = append(out, atom{from: i, to: j})
		i = j
	}
	return out
}

// wrapText breaks runs into lines no wider than width points at the given
// font size. Lines keep the styles of their characters.
func wrapText(f advancer, runs []run, size, width float64) []wrappedLine {
	cs := normaliseRunes(runs)
	adv := func(i int) float64 { return f.runeAdvance(cs[i].r) * size / 1000 }
	span := func(from, to int) float64 {
		w := 0.0
		for i := from; i < to; i++ {
			w += adv(i)
		}
		return w
	}
	const eps = 1e-6
	var lines []wrappedLine
	// cur is the line being filled: chars[from:to], soft spaces excluded
	// at its end (pending holds them until something follows).
	from, to, curW := 0, 0, 0.0
	hard := true
	var pending *atom
	emit := func(forced bool) {
		lines = append(lines, makeLine(cs, from, to, curW, forced, hard))
		hard = false
		pending = nil
	}
	for _, a := range atomsOf(cs) {
		switch {
		case a.newline:
			emit(false)
			hard = true
			from, to, curW = a.to, a.to, 0
			continue
		case a.space:
			if to == from && !hard {
				// A space a soft break fell on: dropped.
				from, to = a.to, a.to
				continue
			}
			if to == from {
				// Leading spaces of a source line are indentation: kept,
				// unless wider than the line itself.
				if w := span(a.from, a.to); w <= width+eps {
					to, curW = a.to, w
				} else {
					from, to = a.to, a.to
				}
				continue
			}
			aa := a
			pending = &aa
			continue
		}
		w := span(a.from, a.to)
		sw := 0.0
		if pending != nil {
			sw = span(pending.from, pending.to)
		}
		if curW+sw+w <= width+eps || to == from && w <= width+eps {
			if to == from {
				from = a.from
			}
			to, curW, pending = a.to, curW+sw+w, nil
			continue
		}
		if to > from {
			emit(false)
		}
		from, to, curW, pending = a.from, a.from, 0, nil
		if w <= width+eps {
			to, curW = a.to, w
			continue
		}
		// Too long for any line: cut it where it reaches the margin.
		for i := a.from; i < a.to; i++ {
			cw := adv(i)
			if curW+cw > width+eps && to > from {
				emit(true)
				from, to, curW = i, i, 0
			}
			to, curW = i+1, curW+cw
		}
	}
	if to > from || hard || len(lines) == 0 {
		emit(false)
	}
	return lines
}

func makeLine(cs []styledRune, from, to int, w float64, forced, hard bool) wrappedLine {
	l := wrappedLine{Width: w, From: from, To: to, Forced: forced, Hard: hard}
	var b strings.Builder
	for i := from; i < to; i++ {
		if i > from && cs[i].st != cs[i-1].st {
			l.Runs = append(l.Runs, run{b.String(), cs[i-1].st})
			b.Reset()
		}
		b.WriteRune(cs[i].r)
	}
	if to > from {
		l.Runs = append(l.Runs, run{b.String(), cs[to-1].st})
	}
	return l
}

// minContent is the width of the widest piece of text no line break may
// fall inside: the narrowest a column can be without cutting a word.
func minContent(f advancer, runs []run, size float64) float64 {
	cs := normaliseRunes(runs)
	widest := 0.0
	for _, a := range atomsOf(cs) {
		if a.space || a.newline {
			continue
		}
		w := 0.0
		for i := a.from; i < a.to; i++ {
			w += f.runeAdvance(cs[i].r)
		}
		widest = max(widest, w*size/1000)
	}
	return widest
}
