package report

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// pdfWriter collects numbered objects and writes them with a
// cross-reference table. Objects may be filled in any order (the font is
// known only after every page is laid out); they are written by number.
type pdfWriter struct {
	objs [][]byte
}

// alloc reserves the next object number.
func (w *pdfWriter) alloc() int {
	w.objs = append(w.objs, nil)
	return len(w.objs)
}

func (w *pdfWriter) set(n int, body string) { w.objs[n-1] = []byte(body) }

// setStream stores a Flate-compressed stream; extra is more of its
// dictionary.
func (w *pdfWriter) setStream(n int, extra string, data []byte) {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(data)
	zw.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< /Length %d /Filter /FlateDecode%s >>\nstream\n", z.Len(), extra)
	b.Write(z.Bytes())
	b.WriteString("\nendstream")
	w.objs[n-1] = b.Bytes()
}

// bytes writes the file: header, objects, xref, trailer.
func (w *pdfWriter) bytes(root, info int) []byte {
	var b bytes.Buffer
	// The second line's high bytes tell transfer tools the file is binary.
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(w.objs))
	for i, o := range w.objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		b.Write(o)
		b.WriteString("\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(w.objs)+1)
	for _, off := range offsets {
		// Each entry is exactly 20 bytes, ending in space + LF.
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	id := sha256.Sum256(b.Bytes())
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		len(w.objs)+1, root, info, id[:16], id[:16], xref)
	return b.Bytes()
}

// pdfLiteral writes b as a PDF literal string. Backslash and both
// parentheses are escaped, so text like ") Tj (" can never end the string
// early; CR and LF are escaped because a reader turns a raw end of line
// inside a string into a single LF.
func pdfLiteral(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + 2)
	s.WriteByte('(')
	for _, c := range b {
		switch c {
		case '\\', '(', ')':
			s.WriteByte('\\')
			s.WriteByte(c)
		case '\r':
			s.WriteString(`\r`)
		case '\n':
			s.WriteString(`\n`)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte(')')
	return s.String()
}

// pdfTextString is a text string for the document information: UTF-16BE
// with a byte-order mark, which any reader decodes whatever the script.
func pdfTextString(s string) string {
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return pdfLiteral(b)
}

// pdfNum writes a coordinate with at most two decimals, enough for 1/7200
// inch and short for the content stream.
func pdfNum(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// fontObjects writes the Type0 font with its CIDFontType2 descendant, the
// subset font program and the ToUnicode map, and returns the Type0 font's
// object number. used maps every glyph shown to the character it stands
// for, so copying text out of the PDF gives back the characters.
func (w *pdfWriter) fontObjects(f *ttFont, used map[uint16]rune) int {
	gids := make([]uint16, 0, len(used))
	keep := make(map[uint16]bool, len(used))
	for g := range used {
		gids = append(gids, g)
		keep[g] = true
	}
	sort.Slice(gids, func(i, j int) bool { return gids[i] < gids[j] })

	// The subset tag (ISO 32000 9.6.4) is six capitals, here derived from
	// the glyph set so the same report gives the same bytes.
	h := sha256.New()
	for _, g := range gids {
		h.Write([]byte{byte(g >> 8), byte(g)})
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	name := string(tag) + "+" + f.psName

	type0, cid, desc, file, tounicode := w.alloc(), w.alloc(), w.alloc(), w.alloc(), w.alloc()
	w.set(type0, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>",
		name, cid, tounicode))

	var widths strings.Builder
	widths.WriteString("[")
	for i := 0; i < len(gids); {
		j := i + 1
		for j < len(gids) && gids[j] == gids[j-1]+1 {
			j++
		}
		fmt.Fprintf(&widths, " %d [", gids[i])
		for k := i; k < j; k++ {
			if k > i {
				widths.WriteByte(' ')
			}
			fmt.Fprintf(&widths, "%d", int(f.advance(gids[k])+0.5))
		}
		widths.WriteString("]")
		i = j
	}
	widths.WriteString(" ]")
	w.set(cid, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 1000 /W %s /CIDToGIDMap /Identity >>",
		name, desc, widths.String()))
	w.set(desc, fmt.Sprintf("<< /Type /FontDescriptor /FontName /%s /Flags 4 /FontBBox [%d %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
		name, f.scaled(f.bbox[0]), f.scaled(f.bbox[1]), f.scaled(f.bbox[2]), f.scaled(f.bbox[3]),
		f.scaled(f.ascent), f.scaled(f.descent), f.scaled(f.capHeight), file))
	prog := f.subset(keep)
	w.setStream(file, fmt.Sprintf(" /Length1 %d", len(prog)), prog)
	w.setStream(tounicode, "", toUnicodeCMap(gids, used))
	return type0
}

// toUnicodeCMap maps each glyph id (the two-byte code Identity-H shows) to
// its character, in UTF-16BE as the CMap syntax wants.
func toUnicodeCMap(gids []uint16, used map[uint16]rune) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for i := 0; i < len(gids); i += 100 {
		chunk := gids[i:min(i+100, len(gids))]
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X> <", g)
			for _, u := range utf16.Encode([]rune{used[g]}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}
