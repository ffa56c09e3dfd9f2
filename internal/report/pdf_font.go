package report

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// ttFont is the part of a TrueType font (glyf outlines) a PDF needs: glyph
// lookup, advance widths for layout, vertical metrics for the font
// descriptor, and the raw tables to cut a subset from.
type ttFont struct {
	tables     map[string][]byte
	psName     string
	unitsPerEm int
	bbox       [4]int16 // xMin, yMin, xMax, yMax
	ascent     int16
	descent    int16
	capHeight  int16
	numGlyphs  int
	longLoca   bool
	advances   []uint16 // by glyph id
	cmap       map[rune]uint16
}

var errFont = errors.New("report: unusable TrueType font")

func fontErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFont, fmt.Sprintf(format, args...))
}

// parseTrueType reads a TrueType font. CFF-flavoured OpenType is refused:
// a PDF embeds those differently (FontFile3) and the subsetter below only
// knows glyf/loca.
func parseTrueType(data []byte) (*ttFont, error) {
	if len(data) < 12 {
		return nil, fontErr("too short")
	}
	switch v := binary.BigEndian.Uint32(data); v {
	case 0x00010000, 0x74727565: // 1.0, "true"
	default:
		return nil, fontErr("not a TrueType-outline font (sfnt version %#x)", v)
	}
	n := int(binary.BigEndian.Uint16(data[4:]))
	if len(data) < 12+16*n {
		return nil, fontErr("table directory truncated")
	}
	f := &ttFont{tables: make(map[string][]byte, n)}
	for i := 0; i < n; i++ {
		rec := data[12+16*i:]
		tag := string(rec[:4])
		off, ln := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(ln) > uint64(len(data)) {
			return nil, fontErr("table %q out of bounds", tag)
		}
		f.tables[tag] = data[off : off+ln]
	}
	// cmap is optional: a subset embedded in a PDF has none (glyphs are
	// addressed by id), and reading one back is how the tests check it.
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf"} {
		if f.tables[tag] == nil {
			return nil, fontErr("no %q table", tag)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, fontErr("head, hhea or maxp truncated")
	}
	f.unitsPerEm = int(binary.BigEndian.Uint16(head[18:]))
	if f.unitsPerEm < 16 {
		return nil, fontErr("unitsPerEm %d", f.unitsPerEm)
	}
	for i := range f.bbox {
		f.bbox[i] = int16(binary.BigEndian.Uint16(head[36+2*i:]))
	}
	f.longLoca = binary.BigEndian.Uint16(head[50:]) == 1
	f.ascent = int16(binary.BigEndian.Uint16(hhea[4:]))
	f.descent = int16(binary.BigEndian.Uint16(hhea[6:]))
	f.capHeight = f.ascent * 7 / 10
	f.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	if os2 := f.tables["OS/2"]; len(os2) >= 10 {
		// fsType: bit 1 (0x0002) alone means "restricted licence embedding".
		if fs := binary.BigEndian.Uint16(os2[8:]); fs&0x000f == 0x0002 {
			return nil, fontErr("the font's licence forbids embedding (fsType %#x)", fs)
		}
		if binary.BigEndian.Uint16(os2) >= 2 && len(os2) >= 90 {
			if ch := int16(binary.BigEndian.Uint16(os2[88:])); ch > 0 {
				f.capHeight = ch
			}
		}
	}
	locaLen := f.numGlyphs + 1
	if f.longLoca {
		locaLen *= 4
	} else {
		locaLen *= 2
	}
	if len(f.tables["loca"]) < locaLen {
		return nil, fontErr("loca truncated")
	}
	nh := int(binary.BigEndian.Uint16(hhea[34:]))
	hmtx := f.tables["hmtx"]
	if nh < 1 || nh > f.numGlyphs || len(hmtx) < 4*nh {
		return nil, fontErr("hmtx/numberOfHMetrics inconsistent")
	}
	f.advances = make([]uint16, f.numGlyphs)
	for g := range f.advances {
		if g < nh {
			f.advances[g] = binary.BigEndian.Uint16(hmtx[4*g:])
		} else {
			f.advances[g] = f.advances[nh-1]
		}
	}
	if t := f.tables["cmap"]; t != nil {
		var err error
		if f.cmap, err = parseCmap(t, f.numGlyphs); err != nil {
			return nil, err
		}
	}
	f.psName = postScriptName(f.tables["name"])
	if f.psName == "" {
		f.psName = "Embedded"
	}
	return f, nil
}

// parseCmap reads the Unicode mapping: the full-repertoire subtable
// (format 12) when there is one, else the BMP one (format 4).
func parseCmap(t []byte, numGlyphs int) (map[rune]uint16, error) {
	if len(t) < 4 {
		return nil, fontErr("cmap truncated")
	}
	n := int(binary.BigEndian.Uint16(t[2:]))
	var fmt4, fmt12 []byte
	for i := 0; i < n; i++ {
		if 4+8*i+8 > len(t) {
			return nil, fontErr("cmap directory truncated")
		}
		rec := t[4+8*i:]
		pid, eid := binary.BigEndian.Uint16(rec), binary.BigEndian.Uint16(rec[2:])
		off := int(binary.BigEndian.Uint32(rec[4:]))
		if off+4 > len(t) {
			continue
		}
		sub := t[off:]
		unicode := pid == 0 || (pid == 3 && (eid == 1 || eid == 10))
		if !unicode {
			continue
		}
		switch binary.BigEndian.Uint16(sub) {
		case 4:
			fmt4 = sub
		case 12:
			fmt12 = sub
		}
	}
	m := make(map[rune]uint16)
	switch {
	case fmt12 != nil:
		if len(fmt12) < 16 {
			return nil, fontErr("cmap format 12 truncated")
		}
		groups := int(binary.BigEndian.Uint32(fmt12[12:]))
		if groups > (len(fmt12)-16)/12 {
			return nil, fontErr("cmap format 12 truncated")
		}
		for i := 0; i < groups; i++ {
			g := fmt12[16+12*i:]
			start, end, gid := binary.BigEndian.Uint32(g), binary.BigEndian.Uint32(g[4:]), binary.BigEndian.Uint32(g[8:])
			if end < start || end > 0x10FFFF || end-start > 0x10FFFF {
				return nil, fontErr("cmap format 12 bad group")
			}
			for c := start; c <= end; c++ {
				if id := gid + (c - start); id != 0 && int(id) < numGlyphs {
					m[rune(c)] = uint16(id)
				}
			}
		}
	case fmt4 != nil:
		if len(fmt4) < 14 {
			return nil, fontErr("cmap format 4 truncated")
		}
		segs := int(binary.BigEndian.Uint16(fmt4[6:])) / 2
		if 16+8*segs > len(fmt4) {
			return nil, fontErr("cmap format 4 truncated")
		}
		ends, starts := fmt4[14:], fmt4[16+2*segs:]
		deltas, rangeOffs := fmt4[16+4*segs:], fmt4[16+6*segs:]
		for s := 0; s < segs; s++ {
			end, start := int(binary.BigEndian.Uint16(ends[2*s:])), int(binary.BigEndian.Uint16(starts[2*s:]))
			delta, ro := binary.BigEndian.Uint16(deltas[2*s:]), int(binary.BigEndian.Uint16(rangeOffs[2*s:]))
			for c := start; c <= end && c != 0xFFFF; c++ {
				var id uint16
				if ro == 0 {
					id = uint16(c) + delta
				} else {
					p := 16 + 6*segs + 2*s + ro + 2*(c-start)
					if p+2 > len(fmt4) {
						continue
					}
					if id = binary.BigEndian.Uint16(fmt4[p:]); id != 0 {
						id += delta
					}
				}
				if id != 0 && int(id) < numGlyphs {
					m[rune(c)] = id
				}
			}
		}
	default:
		return nil, fontErr("no Unicode cmap (format 4 or 12)")
	}
	return m, nil
}

// postScriptName is name ID 6, which PDF uses as BaseFont.
func postScriptName(t []byte) string {
	if len(t) < 6 {
		return ""
	}
	count, strOff := int(binary.BigEndian.Uint16(t[2:])), int(binary.BigEndian.Uint16(t[4:]))
	for i := 0; i < count && 6+12*i+12 <= len(t); i++ {
		r := t[6+12*i:]
		pid, id := binary.BigEndian.Uint16(r), binary.BigEndian.Uint16(r[6:])
		ln, off := int(binary.BigEndian.Uint16(r[8:])), int(binary.BigEndian.Uint16(r[10:]))
		if id != 6 || strOff+off+ln > len(t) {
			continue
		}
		raw := t[strOff+off : strOff+off+ln]
		var b []byte
		if pid == 3 || pid == 0 { // UTF-16BE; a PostScript name is ASCII
			for j := 0; j+1 < len(raw); j += 2 {
				b = append(b, raw[j+1])
			}
		} else {
			b = raw
		}
		var clean []byte
		for _, c := range b {
			// PDF name characters: printable ASCII without delimiters.
			if c > 0x20 && c < 0x7f && !bytes.ContainsRune([]byte("()<>[]{}/%#"), rune(c)) {
				clean = append(clean, c)
			}
		}
		if len(clean) > 0 {
			return string(clean)
		}
	}
	return ""
}

// glyph returns the glyph for r and whether the font has one.
func (f *ttFont) glyph(r rune) (uint16, bool) {
	g, ok := f.cmap[r]
	return g, ok
}

// advance is the advance width of glyph g in thousandths of the font size,
// the unit PDF's W array and text positioning use.
func (f *ttFont) advance(g uint16) float64 {
	if int(g) >= len(f.advances) {
		return 0
	}
	return float64(f.advances[g]) * 1000 / float64(f.unitsPerEm)
}

// scaled converts font units to thousandths of an em.
func (f *ttFont) scaled(v int16) int {
	return int(float64(v) * 1000 / float64(f.unitsPerEm))
}

func (f *ttFont) glyphData(g uint16) []byte {
	loca, glyf := f.tables["loca"], f.tables["glyf"]
	var start, end uint32
	if f.longLoca {
		start, end = binary.BigEndian.Uint32(loca[4*int(g):]), binary.BigEndian.Uint32(loca[4*int(g)+4:])
	} else {
		start, end = 2*uint32(binary.BigEndian.Uint16(loca[2*int(g):])), 2*uint32(binary.BigEndian.Uint16(loca[2*int(g)+2:]))
	}
	if end < start || int(end) > len(glyf) {
		return nil
	}
	return glyf[start:end]
}

// components lists the glyphs a composite glyph is built from.
func componentsOf(data []byte) []uint16 {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil
	}
	var out []uint16
	for p := 10; p+4 <= len(data); {
		flags := binary.BigEndian.Uint16(data[p:])
		out = append(out, binary.BigEndian.Uint16(data[p+2:]))
		p += 4
		if flags&0x0001 != 0 { // ARG_1_AND_2_ARE_WORDS
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&0x0008 != 0: // WE_HAVE_A_SCALE
			p += 2
		case flags&0x0040 != 0: // WE_HAVE_AN_X_AND_Y_SCALE
			p += 4
		case flags&0x0080 != 0: // WE_HAVE_A_TWO_BY_TWO
			p += 8
		}
		if flags&0x0020 == 0 { // MORE_COMPONENTS
			break
		}
	}
	return out
}

// subset writes a TrueType font holding only the outlines of the given
// glyphs (plus .notdef and the components of composite glyphs). Glyph ids
// are kept, so the PDF can map CIDs to glyphs by identity; the glyphs left
// out become empty, which costs four bytes each in loca and compresses to
// almost nothing. Tables a CIDFontType2 does not use (cmap, name, post,
// OS/2, layout tables) are dropped, as ISO 32000 allows.
func (f *ttFont) subset(used map[uint16]bool) []byte {
	keep := map[uint16]bool{0: true}
	var stack []uint16
	for g := range used {
		if int(g) < f.numGlyphs {
			stack = append(stack, g)
		}
	}
	stack = append(stack, 0)
	for len(stack) > 0 {
		g := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		keep[g] = true
		for _, c := range componentsOf(f.glyphData(g)) {
			if int(c) < f.numGlyphs && !keep[c] {
				keep[c] = true
				stack = append(stack, c)
			}
		}
	}

	var glyf bytes.Buffer
	loca := make([]byte, 4*(f.numGlyphs+1))
	hmtx := make([]byte, len(f.tables["hmtx"]))
	nh := int(binary.BigEndian.Uint16(f.tables["hhea"][34:]))
	for g := 0; g < f.numGlyphs; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(glyf.Len()))
		if !keep[uint16(g)] {
			continue
		}
		glyf.Write(f.glyphData(uint16(g)))
		for glyf.Len()%4 != 0 {
			glyf.WriteByte(0)
		}
		// Metrics of glyphs left out are zeroed too: viewers take widths
		// from the PDF's W array, and zeros compress.
		switch {
		case g < nh:
			copy(hmtx[4*g:4*g+4], f.tables["hmtx"][4*g:])
		case 4*nh+2*(g-nh)+2 <= len(hmtx):
			copy(hmtx[4*nh+2*(g-nh):4*nh+2*(g-nh)+2], f.tables["hmtx"][4*nh+2*(g-nh):])
		}
	}
	if nh > 0 && !keep[uint16(nh-1)] {
		// The last long metric's advance applies to every glyph after it.
		copy(hmtx[4*(nh-1):4*(nh-1)+2], f.tables["hmtx"][4*(nh-1):])
	}
	binary.BigEndian.PutUint32(loca[4*f.numGlyphs:], uint32(glyf.Len()))

	head := append([]byte(nil), f.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0) // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1)
	tables := map[string][]byte{
		"head": head, "hhea": f.tables["hhea"], "maxp": f.tables["maxp"],
		"hmtx": hmtx, "loca": loca, "glyf": glyf.Bytes(),
	}
	// Hinting programs the kept glyphs' instructions may call.
	for _, tag := range []string{"cvt ", "fpgm", "prep"} {
		if t := f.tables[tag]; t != nil {
			tables[tag] = t
		}
	}
	out := writeSfnt(tables)
	adj := 0xB1B0AFBA - sfntChecksum(out)
	headOff := bytes.Index(out[:12+16*len(tables)], []byte("head"))
	off := binary.BigEndian.Uint32(out[headOff+8:])
	binary.BigEndian.PutUint32(out[off+8:], adj)
	return out
}

func sfntChecksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// writeSfnt lays out tables in tag order, each on a four-byte boundary,
// with a correct directory.
func writeSfnt(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	var b bytes.Buffer
	hdr := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(hdr, 0x00010000)
	binary.BigEndian.PutUint16(hdr[4:], uint16(n))
	binary.BigEndian.PutUint16(hdr[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(hdr[8:], uint16(es))
	binary.BigEndian.PutUint16(hdr[10:], uint16(16*n-16<<es))
	off := len(hdr)
	for i, tag := range tags {
		t := tables[tag]
		rec := hdr[12+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[4:], sfntChecksum(t))
		binary.BigEndian.PutUint32(rec[8:], uint32(off))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(t)))
		off += (len(t) + 3) &^ 3
	}
	b.Write(hdr)
	for _, tag := range tags {
		t := tables[tag]
		b.Write(t)
		for i := len(t); i%4 != 0; i++ {
			b.WriteByte(0)
		}
	}
	return b.Bytes()
}
