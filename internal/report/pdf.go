package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"strings"
	"sync"
)

// The PDF is drawn from the same document the Markdown and HTML templates
// render, with one embedded font: BIZ UDPGothic (SIL Open Font License
// 1.1, see fonts/OFL.txt), Morisawa's universal-design Gothic, which
// covers all of JIS X 0208 and has TrueType outlines, so a subset of it can
// be embedded (CIDFontType2) and every PDF reader shows the Japanese the
// same way. Text is written through a ToUnicode map so it can be searched
// and copied, and pdftotext gets it back.

//go:embed fonts/BIZUDPGothic-Regular.ttf
var fontTTF []byte

// loadFont parses the embedded font once; the parsed font is read-only.
var loadFont = sync.OnceValues(func() (*ttFont, error) {
	f, err := parseTrueType(fontTTF)
	if err == nil && len(f.cmap) == 0 {
		err = fontErr("no Unicode cmap")
	}
	return f, err
})

// glyphFallback stands in for characters the font lacks: a ballot box is
// drawn as a plain box. The ToUnicode map still gives back the original
// character.
var glyphFallback = map[rune]rune{
	'☐': '□', '☑': '■', '☒': '■', '✔': '✓', '\u00a0': ' ', '\u00ad': '-',
}

// glyphFor is the glyph shown for r: its own, a fallback's, or .notdef.
func (f *ttFont) glyphFor(r rune) uint16 {
	if g, ok := f.glyph(r); ok {
		return g
	}
	if fb, ok := glyphFallback[r]; ok {
		if g, ok := f.glyph(fb); ok {
			return g
		}
	}
	return 0
}

func (f *ttFont) runeAdvance(r rune) float64 { return f.advance(f.glyphFor(r)) }

// A4 in points, and the page furniture.
const (
	pageW        = 595.28
	pageH        = 841.89
	marginX      = 51.0 // 18 mm
	marginTop    = 68.0 // 24 mm: the header sits above
	marginBottom = 57.0 // 20 mm: the page number sits below
	contentW     = pageW - 2*marginX
	bodySize     = 10.0
	tableSize    = 9.0
	cellPad      = 3.5
)

type rgb [3]float64

var (
	colText      = rgb{0.07, 0.07, 0.07}
	colMuted     = rgb{0.33, 0.33, 0.33}
	colRule      = rgb{0.6, 0.6, 0.6}
	colLabelBg   = rgb{0.95, 0.95, 0.95}
	colHeadBg    = rgb{0.9, 0.9, 0.9}
	colHighlight = rgb{1, 0.953, 0.627} // as the HTML's .fill
	colDraft     = rgb{0.7, 0.05, 0.05}
)

// renderPDF lays the document out on A4 pages and writes the PDF.
func renderPDF(d *document, in Input) ([]byte, error) {
	l, err := layoutPDF(d, in)
	if err != nil {
		return nil, err
	}
	return l.write(d, in), nil
}

func layoutPDF(d *document, in Input) (*pdfLayout, error) {
	f, err := loadFont()
	if err != nil {
		return nil, err
	}
	l := &pdfLayout{font: f, used: map[uint16]rune{}, key: in.Incident.Key}
	l.newPage()
	l.document(d)
	return l, nil
}

func (l *pdfLayout) write(d *document, in Input) []byte {
	w := &pdfWriter{}
	catalog, pages, info := w.alloc(), w.alloc(), w.alloc()
	// Page numbers last: the total is known only now.
	for i, p := range l.pages {
		l.cur = p
		s := fmt.Sprintf("%d / %d", i+1, len(l.pages))
		size := 9.0
		l.textLine((pageW-l.width([]run{{s, stMuted}}, size))/2, 30, size, []run{{s, stMuted}})
	}
	font := w.fontObjects(l.font, l.used)
	var kids []string
	for _, p := range l.pages {
		page, content := w.alloc(), w.alloc()
		w.set(page, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>",
			pages, pdfNum(pageW), pdfNum(pageH), font, content))
		w.setStream(content, "", p.Bytes())
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
	}
	w.set(pages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids)))
	lang := "ja-JP"
	if d.Lang == LangEN {
		lang = "en"
	}
	w.set(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Lang %s /ViewerPreferences << /DisplayDocTitle true >> >>",
		pages, pdfLiteral([]byte(lang))))
	w.set(info, fmt.Sprintf("<< /Title %s /Subject %s /Producer (irdesk) /CreationDate %s >>",
		pdfTextString(d.Title), pdfTextString(in.Incident.Key), pdfLiteral([]byte(in.Now.UTC().Format("D:20060102150405Z")))))
	return w.bytes(catalog, info)
}

// pdfLayout fills pages from the top down. y is the top of the free space.
type pdfLayout struct {
	font  *ttFont
	used  map[uint16]rune
	key   string
	pages []*bytes.Buffer
	cur   *bytes.Buffer
	y     float64
	// drawn is every line of text shown, in order: tests check each one
	// comes back out of the PDF and together they hold the whole document.
	drawn []string
}

func (l *pdfLayout) newPage() {
	l.cur = &bytes.Buffer{}
	l.pages = append(l.pages, l.cur)
	l.y = pageH - marginTop
	// Header: the incident, and that this is a draft.
	hy := pageH - 40.0
	l.textLine(marginX, hy, 9, []run{{l.key, stMuted}})
	draft := []run{{"DRAFT / 下書き", stBold}}
	l.textLineColour(pageW-marginX-l.width(draft, 9), hy, 9, draft, &colDraft)
	l.rule(marginX, hy-6, pageW-marginX, 0.6, colRule)
}

// room is the free height left on the page.
func (l *pdfLayout) room() float64 { return l.y - marginBottom }

// need starts a new page unless h points are free.
func (l *pdfLayout) need(h float64) {
	if l.room() < h {
		l.newPage()
	}
}

func leading(size float64) float64 { return size * 1.55 }

// baseline of a line whose box starts at top: glyphs are centred in the
// line box (the font's em box runs from -0.12 to 0.88 em).
func baseline(top, size float64) float64 { return top - leading(size)/2 - 0.38*size }

func (l *pdfLayout) width(runs []run, size float64) float64 {
	w := 0.0
	for _, r := range runs {
		for _, c := range r.S {
			w += l.font.runeAdvance(c)
		}
	}
	return w * size / 1000
}

func (l *pdfLayout) document(d *document) {
	// Title.
	for _, ln := range wrapText(l.font, []run{{d.Title, stBold}}, 16, contentW) {
		l.need(leading(16))
		l.textLine(marginX, baseline(l.y, 16), 16, ln.Runs)
		l.y -= leading(16)
	}
	l.y -= 3
	l.rule(marginX, l.y, pageW-marginX, 1.2, colText)
	l.y -= 8
	l.fields(d.Meta, bodySize)
	l.y -= 6
	l.grid(grid{cols: []float64{contentW}, size: 9, dashed: true,
		rows: [][]gridCell{{{runs: []run{{d.Notice, stMuted}}}}}})
	for _, s := range d.Sections {
		l.section(s)
	}
}

func (l *pdfLayout) section(s section) {
	size, before := 12.5, 14.0
	if s.Level > 2 {
		size, before = 11, 9
	}
	lines := wrapText(l.font, []run{{s.Heading, stBold}}, size, contentW-6)
	h := float64(len(lines))*leading(size) + 4
	// Keep the heading with the start of what follows it.
	l.y -= before
	if l.room() < h+3*leading(bodySize)+2*cellPad {
		l.newPage()
	}
	top := l.y
	for _, ln := range lines {
		l.textLine(marginX+6, baseline(l.y, size), size, ln.Runs)
		l.y -= leading(size)
	}
	if s.Level <= 2 {
		// A bar before the heading, as in the HTML.
		fmt.Fprintf(l.cur, "q 0.27 0.27 0.27 rg %s %s 2.5 %s re f Q\n", pdfNum(marginX), pdfNum(l.y+2), pdfNum(top-l.y-4))
	}
	l.y -= 4
	for _, b := range s.Blocks {
		l.block(b)
	}
}

func (l *pdfLayout) block(b block) {
	if b.Caption != "" {
		l.y -= 4
		lines := wrapText(l.font, []run{{b.Caption, stBold}}, bodySize, contentW)
		if l.room() < float64(len(lines)+2)*leading(bodySize) {
			l.newPage()
		}
		for _, ln := range lines {
			l.textLine(marginX, baseline(l.y, bodySize), bodySize, ln.Runs)
			l.y -= leading(bodySize)
		}
	}
	switch {
	case b.Para != nil:
		l.paragraph(textRuns(*b.Para), marginX, contentW, bodySize)
	case b.Fields != nil:
		l.fields(b.Fields, bodySize)
	case b.List != nil:
		bullet := []run{{"•", stNormal}}
		indent := 14.0
		for _, it := range b.List {
			lines := wrapText(l.font, textRuns(it), bodySize, contentW-indent)
			for i, ln := range lines {
				l.need(leading(bodySize))
				if i == 0 {
					l.textLine(marginX+3, baseline(l.y, bodySize), bodySize, bullet)
				}
				l.textLine(marginX+indent, baseline(l.y, bodySize), bodySize, ln.Runs)
				l.y -= leading(bodySize)
			}
		}
	case b.Table != nil:
		l.table(b.Table)
	}
	l.y -= 4
}

// textRuns is a text with its fill-in marker, if any, set apart.
func textRuns(t text) []run {
	s := strings.TrimSpace(t.S)
	if t.Mark == "" {
		return []run{{s, stNormal}}
	}
	if s == "" {
		return []run{{t.Mark, stMark}}
	}
	return []run{{t.Mark, stMark}, {" " + s, stNormal}}
}

func (l *pdfLayout) paragraph(runs []run, x, w, size float64) {
	for _, ln := range wrapText(l.font, runs, size, w) {
		l.need(leading(size))
		l.textLine(x, baseline(l.y, size), size, ln.Runs)
		l.y -= leading(size)
	}
}

// fields are label/value pairs: a two-column table, labels shaded.
func (l *pdfLayout) fields(fs []field, size float64) {
	if len(fs) == 0 {
		return
	}
	labelW := 0.0
	for _, f := range fs {
		labelW = math.Max(labelW, l.width([]run{{f.Label, stBold}}, size)+2*cellPad+1)
	}
	labelW = math.Min(math.Max(labelW, contentW*0.22), contentW*0.34)
	g := grid{cols: []float64{labelW, contentW - labelW}, size: size}
	for _, f := range fs {
		g.rows = append(g.rows, []gridCell{{runs: []run{{f.Label, stBold}}, bg: &colLabelBg}, {runs: textRuns(f.Value)}})
	}
	l.grid(g)
}

// table lays a table out at full width, sizing columns as a browser's
// automatic table layout does: every column gets at least its longest
// unbreakable piece, and the room beyond that goes to each column in
// proportion to how much more it would need to fit on one line.
func (l *pdfLayout) table(t *table) {
	n := len(t.Head)
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	if n == 0 {
		return
	}
	size := tableSize
	cell := func(row []string, i int) string {
		if i < len(row) {
			return row[i]
		}
		return ""
	}
	minW, maxW := make([]float64, n), make([]float64, n)
	measure := func(i int, runs []run) {
		minW[i] = math.Max(minW[i], minContent(l.font, runs, size)+2*cellPad+1)
		for _, ln := range wrapText(l.font, runs, size, math.Inf(1)) {
			maxW[i] = math.Max(maxW[i], ln.Width+2*cellPad+1)
		}
	}
	for i := 0; i < n; i++ {
		measure(i, []run{{cell(t.Head, i), stBold}})
		for _, r := range t.Rows {
			measure(i, []run{{cell(r, i), stNormal}})
		}
	}
	g := grid{cols: shareWidths(minW, maxW, contentW), size: size}
	if len(t.Head) > 0 {
		for i := 0; i < n; i++ {
			g.head = append(g.head, gridCell{runs: []run{{cell(t.Head, i), stBold}}, bg: &colHeadBg})
		}
	}
	for _, r := range t.Rows {
		var row []gridCell
		for i := 0; i < n; i++ {
			row = append(row, gridCell{runs: []run{{cell(r, i), stNormal}}})
		}
		g.rows = append(g.rows, row)
	}
	l.grid(g)
}

// shareWidths divides total among columns that need at least minW and
// would like maxW. When even the minimums do not fit, they are scaled down
// (and long words cut).
func shareWidths(minW, maxW []float64, total float64) []float64 {
	var sumMin, sumMax float64
	for i := range minW {
		maxW[i] = math.Max(maxW[i], minW[i])
		sumMin += minW[i]
		sumMax += maxW[i]
	}
	out := make([]float64, len(minW))
	for i := range out {
		switch {
		case sumMax <= total:
			out[i] = maxW[i] * total / sumMax
		case sumMin >= total:
			out[i] = minW[i] * total / sumMin
		default:
			out[i] = minW[i] + (maxW[i]-minW[i])*(total-sumMin)/(sumMax-sumMin)
		}
	}
	return out
}

type gridCell struct {
	runs []run
	bg   *rgb
}

type grid struct {
	cols   []float64
	head   []gridCell // repeated on each page the grid continues on
	rows   [][]gridCell
	size   float64
	dashed bool
}

// grid draws rows of wrapped cells with borders. A row that fits on a page
// is kept whole; a taller one (a long description) is split between pages
// line by line.
func (l *pdfLayout) grid(g grid) {
	lead := leading(g.size)
	wrapRow := func(row []gridCell) [][]wrappedLine {
		out := make([][]wrappedLine, len(row))
		for i, c := range row {
			out[i] = wrapText(l.font, c.runs, g.size, g.cols[i]-2*cellPad)
		}
		return out
	}
	rowHeight := func(lines [][]wrappedLine) float64 {
		n := 0
		for _, c := range lines {
			n = max(n, len(c))
		}
		return float64(n)*lead + 2*cellPad
	}
	var head [][]wrappedLine
	if len(g.head) > 0 {
		head = wrapRow(g.head)
	}
	pageTop := pageH - marginTop
	drawHead := func() {
		if head != nil {
			l.gridRow(g, g.head, head, 0, math.MaxInt)
		}
	}
	headH := 0.0
	if head != nil {
		headH = rowHeight(head)
	}
	if l.room() < headH+lead+2*cellPad {
		l.newPage()
	}
	drawHead()
	for _, row := range g.rows {
		lines := wrapRow(row)
		h := rowHeight(lines)
		if h > l.room() && h <= (pageTop-marginBottom)/3 {
			l.newPage()
			drawHead()
		}
		for from := 0; ; {
			fit := int((l.room() - 2*cellPad) / lead)
			if fit < 1 {
				l.newPage()
				drawHead()
				continue
			}
			more := l.gridRow(g, row, lines, from, from+fit)
			if !more {
				break
			}
			from += fit
			l.newPage()
			drawHead()
		}
	}
}

// gridRow draws lines [from, to) of each cell of a row and reports whether
// any cell has lines left.
func (l *pdfLayout) gridRow(g grid, row []gridCell, lines [][]wrappedLine, from, to int) bool {
	lead := leading(g.size)
	n, more := 0, false
	for _, c := range lines {
		if len(c) > to {
			more = true
		}
		n = max(n, min(len(c), to)-from)
	}
	n = max(n, 1)
	h := float64(n)*lead + 2*cellPad
	x := marginX
	top := l.y
	for i, c := range row {
		w := g.cols[i]
		if c.bg != nil {
			fmt.Fprintf(l.cur, "q %s %s %s rg %s %s %s %s re f Q\n", pdfNum(c.bg[0]), pdfNum(c.bg[1]), pdfNum(c.bg[2]),
				pdfNum(x), pdfNum(top-h), pdfNum(w), pdfNum(h))
		}
		y := top - cellPad
		for k := from; k < min(len(lines[i]), to); k++ {
			l.textLine(x+cellPad, baseline(y, g.size), g.size, lines[i][k].Runs)
			y -= lead
		}
		dash := ""
		if g.dashed {
			dash = "[3 2] 0 d "
		}
		fmt.Fprintf(l.cur, "q %s%s %s %s RG 0.5 w %s %s %s %s re S Q\n", dash, pdfNum(colRule[0]), pdfNum(colRule[1]), pdfNum(colRule[2]),
			pdfNum(x), pdfNum(top-h), pdfNum(w), pdfNum(h))
		x += w
	}
	l.y = top - h
	return more
}

func (l *pdfLayout) rule(x1, y, x2, width float64, c rgb) {
	fmt.Fprintf(l.cur, "q %s %s %s RG %s w %s %s m %s %s l S Q\n", pdfNum(c[0]), pdfNum(c[1]), pdfNum(c[2]),
		pdfNum(width), pdfNum(x1), pdfNum(y), pdfNum(x2), pdfNum(y))
}

func (l *pdfLayout) textLine(x, y, size float64, runs []run) { l.textLineColour(x, y, size, runs, nil) }

// textLineColour shows one line of runs starting at (x, y) on the
// baseline, in colour c when given, else by style. Fill-in markers get a
// highlight with a frame (the highlight alone vanishes on a black-and-white
// printer); bold is the outline stroked as well as filled, so one font
// serves both weights.
func (l *pdfLayout) textLineColour(x, y, size float64, runs []run, c *rgb) {
	var line strings.Builder
	for _, r := range runs {
		line.WriteString(r.S)
	}
	l.drawn = append(l.drawn, line.String())
	cx := x
	for _, r := range runs {
		w := l.width([]run{r}, size)
		if r.St == stMark {
			fmt.Fprintf(l.cur, "q %s %s %s rg %s %s %s RG 0.4 w %s %s %s %s re B Q\n",
				pdfNum(colHighlight[0]), pdfNum(colHighlight[1]), pdfNum(colHighlight[2]),
				pdfNum(colText[0]), pdfNum(colText[1]), pdfNum(colText[2]),
				pdfNum(cx-0.5), pdfNum(y-0.2*size), pdfNum(w+1), pdfNum(1.1*size))
		}
		cx += w
	}
	fmt.Fprintf(l.cur, "BT /F1 %s Tf 1 0 0 1 %s %s Tm\n", pdfNum(size), pdfNum(x), pdfNum(y))
	for _, r := range runs {
		col := colText
		if r.St == stMuted {
			col = colMuted
		}
		if c != nil {
			col = *c
		}
		mode, lw := "0 Tr", ""
		if r.St == stBold || r.St == stMark {
			mode, lw = "2 Tr", pdfNum(size*0.035)+" w "
		}
		fmt.Fprintf(l.cur, "%s %s %s rg %s %s %s RG %s%s ", pdfNum(col[0]), pdfNum(col[1]), pdfNum(col[2]),
			pdfNum(col[0]), pdfNum(col[1]), pdfNum(col[2]), lw, mode)
		l.cur.WriteString(pdfLiteral(l.encode(r.S)))
		l.cur.WriteString(" Tj\n")
	}
	l.cur.WriteString("ET\n")
}

// encode turns text into two-byte glyph ids (Identity-H) and notes which
// character each glyph stands for.
func (l *pdfLayout) encode(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for _, r := range s {
		g := l.font.glyphFor(r)
		if _, ok := l.used[g]; !ok {
			if g == 0 {
				l.used[g] = '\uFFFD'
			} else {
				l.used[g] = r
			}
		}
		b = append(b, byte(g>>8), byte(g))
	}
	return b
}
