package report

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// parsedPDF is what checkPDF found in a file: its objects by number and
// its streams, decompressed.
type parsedPDF struct {
	objs    map[int]string
	streams map[int][]byte
	root    int
	pages   int
}

var (
	reTrailer = regexp.MustCompile(`trailer\n<< /Size (\d+) /Root (\d+) 0 R /Info (\d+) 0 R /ID \[<[0-9a-f]{32}> <[0-9a-f]{32}>\] >>\nstartxref\n(\d+)\n%%EOF\n$`)
	reLength  = regexp.MustCompile(`/Length (\d+)`)
	reCount   = regexp.MustCompile(`/Type /Pages /Kids \[[^\]]*\] /Count (\d+)`)
)

// checkPDF checks the file's structure the way a strict reader would: the
// header, a trailer pointing at the cross-reference table, every xref
// offset landing on its object, every stream's length exact and its data
// inflating, and the page tree counting the pages there are.
func checkPDF(tb testing.TB, data []byte) parsedPDF {
	tb.Helper()
	if !bytes.HasPrefix(data, []byte("%PDF-1.7\n%")) {
		tb.Fatalf("no PDF header: %q", data[:min(20, len(data))])
	}
	m := reTrailer.FindSubmatch(data)
	if m == nil {
		tb.Fatalf("no well-formed trailer at the end: %q", data[max(0, len(data)-200):])
	}
	size, _ := strconv.Atoi(string(m[1]))
	root, _ := strconv.Atoi(string(m[2]))
	info, _ := strconv.Atoi(string(m[3]))
	xref, _ := strconv.Atoi(string(m[4]))
	head := "xref\n0 " + strconv.Itoa(size) + "\n0000000000 65535 f \n"
	if xref >= len(data) || !bytes.HasPrefix(data[xref:], []byte(head)) {
		tb.Fatalf("startxref %d does not point at an xref table for %d objects", xref, size)
	}
	p := parsedPDF{objs: map[int]string{}, streams: map[int][]byte{}, root: root}
	entries := data[xref+len(head):]
	for n := 1; n < size; n++ {
		e := string(entries[20*(n-1) : 20*n])
		if len(e) != 20 || !strings.HasSuffix(e, " 00000 n \n") {
			tb.Fatalf("xref entry %d malformed: %q", n, e)
		}
		off, err := strconv.Atoi(e[:10])
		if err != nil || off >= xref {
			tb.Fatalf("xref entry %d: bad offset %q", n, e[:10])
		}
		start := strconv.Itoa(n) + " 0 obj\n"
		if !bytes.HasPrefix(data[off:], []byte(start)) {
			tb.Fatalf("xref offset %d of object %d lands on %q", off, n, data[off:min(off+20, len(data))])
		}
		body := data[off+len(start):]
		end := bytes.Index(body, []byte("\nendobj\n"))
		if i := bytes.Index(body, []byte("stream\n")); i >= 0 && (end < 0 || i < end) {
			lm := reLength.FindSubmatch(body[:i])
			if lm == nil {
				tb.Fatalf("object %d: stream without /Length", n)
			}
			ln, _ := strconv.Atoi(string(lm[1]))
			raw := body[i+len("stream\n"):]
			if len(raw) < ln || !bytes.HasPrefix(raw[ln:], []byte("\nendstream\nendobj\n")) {
				tb.Fatalf("object %d: /Length %d does not end at endstream", n, ln)
			}
			zr, err := zlib.NewReader(bytes.NewReader(raw[:ln]))
			if err != nil {
				tb.Fatalf("object %d: %v", n, err)
			}
			dec, err := io.ReadAll(zr)
			if err != nil {
				tb.Fatalf("object %d: stream does not inflate: %v", n, err)
			}
			p.streams[n] = dec
			end = i
		}
		if end < 0 {
			tb.Fatalf("object %d has no endobj", n)
		}
		p.objs[n] = string(body[:end])
		if strings.Contains(p.objs[n], "/Type /Page ") {
			p.pages++
		}
	}
	if !strings.HasPrefix(p.objs[root], "<< /Type /Catalog ") {
		tb.Fatalf("/Root %d is not the catalog: %.60s", root, p.objs[root])
	}
	if !strings.Contains(p.objs[info], "/Producer (irdesk)") {
		tb.Fatalf("/Info %d is not the information dictionary", info)
	}
	count := -1
	for _, o := range p.objs {
		if cm := reCount.FindStringSubmatch(o); cm != nil {
			count, _ = strconv.Atoi(cm[1])
		}
	}
	if count != p.pages || count < 1 {
		tb.Fatalf("page tree counts %d pages, the file has %d", count, p.pages)
	}
	return p
}

// pdfText extracts the text with Debian's pdftotext. Without it the test
// is skipped on a developer's machine, but it fails in CI, which installs
// poppler-utils.
func pdfText(tb testing.TB, data []byte) string {
	tb.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("pdftotext not found but CI=true: .ci/run must install poppler-utils")
		}
		tb.Skip("pdftotext not found (apt-get install poppler-utils); skipping text extraction")
	}
	path := filepath.Join(tb.TempDir(), "report.pdf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		tb.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

// squash drops whitespace, so text compares whatever the line breaks.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func renderPDFFor(tb testing.TB, kind string, in Input) []byte {
	tb.Helper()
	out, err := Render(kind, FormatPDF, in)
	if err != nil {
		tb.Fatalf("Render(%s, pdf, %s): %v", kind, in.Lang, err)
	}
	return out
}

// docFor builds the document Render draws, for tests to compare against.
func docFor(kind string, in Input) *document {
	b := &builder{in: in}
	switch kind {
	case KindPPC:
		return b.ppc()
	case KindGDPR:
		return b.gdpr()
	}
	return b.postIncident()
}

// cases is every kind in both languages, and the PPC final report.
func pdfCases(tb testing.TB) map[string]Input {
	out := map[string]Input{}
	for _, kind := range kinds {
		for _, lang := range langs {
			in := fixture(tb)
			in.Lang = lang
			out[kind+"_"+lang] = in
			if kind == KindPPC {
				in.PPCStage = StageFinal
				out[kind+"-final_"+lang] = in
			}
		}
	}
	return out
}

func kindOf(name string) string {
	k := name[:strings.LastIndex(name, "_")]
	return strings.TrimSuffix(k, "-final")
}

func TestPDFStructure(t *testing.T) {
	f, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range pdfCases(t) {
		t.Run(name, func(t *testing.T) {
			out := renderPDFFor(t, kindOf(name), in)
			p := checkPDF(t, out)
			// One font, subset, with its ToUnicode map.
			var prog []byte
			for n, o := range p.objs {
				if strings.Contains(o, "/Length1 ") {
					prog = p.streams[n]
				}
				if strings.Contains(o, "/Subtype /Type0") {
					if !regexp.MustCompile(`/BaseFont /[A-Z]{6}\+BIZUDPGothic-Regular /Encoding /Identity-H `).MatchString(o) || !strings.Contains(o, "/ToUnicode ") {
						t.Errorf("Type0 font: %s", o)
					}
				}
			}
			sub, err := parseTrueType(prog)
			if err != nil {
				t.Fatalf("embedded font program does not parse: %v", err)
			}
			if sub.numGlyphs != f.numGlyphs {
				t.Errorf("subset has %d glyph ids, want the original %d (ids are kept)", sub.numGlyphs, f.numGlyphs)
			}
			drawn := 0
			for g := 0; g < sub.numGlyphs; g++ {
				if len(sub.glyphData(uint16(g))) > 0 {
					drawn++
					// The same outline, padded to four bytes.
					got, orig := sub.glyphData(uint16(g)), f.glyphData(uint16(g))
					if !bytes.HasPrefix(got, orig) || len(got)-len(orig) > 3 || len(bytes.Trim(got[len(orig):], "\x00")) > 0 {
						t.Fatalf("glyph %d differs from the original", g)
					}
				}
			}
			if drawn < 50 || drawn > 1500 {
				t.Errorf("subset keeps %d outlines; expected the few hundred the report uses", drawn)
			}
			if sfntChecksum(prog) != 0xB1B0AFBA {
				t.Errorf("subset font checksum adjustment wrong")
			}
		})
	}
}

// The text comes back out of the PDF: headings, labels, values, table
// cells, in Japanese and English, with the page furniture.
func TestPDFText(t *testing.T) {
	for name, in := range pdfCases(t) {
		t.Run(name, func(t *testing.T) {
			kind := kindOf(name)
			out := renderPDFFor(t, kind, in)
			got := squash(pdfText(t, out))
			d := docFor(kind, in)
			l, err := layoutPDF(d, in)
			if err != nil {
				t.Fatal(err)
			}
			// Every line drawn comes back out whole...
			for _, line := range l.drawn {
				if !strings.Contains(got, squash(line)) {
					t.Errorf("line %q not in the extracted text", line)
				}
			}
			// ...and the lines drawn hold every piece of the document.
			drawn := squash(strings.Join(l.drawn, "\n"))
			want := []string{"INC-2026-0042", "DRAFT/下書き"}
			want = append(want, d.Title, d.Notice)
			for _, f := range d.Meta {
				want = append(want, f.Label, f.Value.Mark+f.Value.S)
			}
			for _, s := range d.Sections {
				want = append(want, s.Heading)
				for _, b := range s.Blocks {
					want = append(want, b.Caption)
					if b.Para != nil {
						want = append(want, b.Para.Mark+b.Para.S)
					}
					for _, f := range b.Fields {
						want = append(want, f.Label, f.Value.Mark+f.Value.S)
					}
					for _, it := range b.List {
						want = append(want, it.Mark+it.S)
					}
					if b.Table != nil {
						want = append(want, b.Table.Head...)
						for _, r := range b.Table.Rows {
							want = append(want, r...)
						}
					}
				}
			}
			for _, w := range want {
				if !strings.Contains(drawn, squash(w)) {
					t.Errorf("%q not drawn", w)
				}
			}
			// Spot checks that do not depend on the document model.
			spot := []string{"INC-2026-0042", "DRAFT/下書き", "1/"}
			switch {
			case kind == KindPPC && in.Lang == LangJA && in.PPCStage == StageFinal:
				spot = append(spot, "漏えい等報告", "確報", "情報システム部佐藤", "1,200人", "【要記入】", "☑本人の数が1,000人を超える")
			case kind == KindPPC && in.Lang == LangJA:
				spot = append(spot, "漏えい等報告", "速報", "情報システム部佐藤", "PPC-2026-01234", "【要記入】")
			case kind == KindPPC:
				spot = append(spot, "PPC", "[TOFILLIN]", "1,200people", "情報システム部佐藤")
			case kind == KindGDPR && in.Lang == LangJA:
				spot = append(spot, "GDPR第33条", "72時間", "顧客管理システムCRM")
			case kind == KindGDPR:
				spot = append(spot, "Art.33", "72hours", "[TOFILLIN]")
			case in.Lang == LangJA:
				spot = append(spot, "インシデント報告書", "再発防止策", "VPNへの多要素認証の導入")
			default:
				spot = append(spot, "Post-incident", "Lessonslearned", "VPNへの多要素認証の導入")
			}
			for _, s := range spot {
				if !strings.Contains(got, s) {
					t.Errorf("extracted text lacks %q", s)
				}
			}
		})
	}
}

// glyphsWithDelimiterBytes finds characters whose two-byte glyph id holds
// a byte that must be escaped in a PDF string, so the escaping is really
// exercised: the characters ( ) \ themselves have small glyph ids whose
// bytes need no escaping.
func glyphsWithDelimiterBytes(tb testing.TB) string {
	tb.Helper()
	f, err := loadFont()
	if err != nil {
		tb.Fatal(err)
	}
	found := map[byte]rune{}
	for r := rune(0x4E00); r <= 0x9FFF && len(found) < 5; r++ {
		g, ok := f.glyph(r)
		if !ok {
			continue
		}
		for _, c := range []byte{byte(g >> 8), byte(g)} {
			if _, seen := found[c]; !seen && strings.IndexByte("()\\\r\n", c) >= 0 {
				found[c] = r
			}
		}
	}
	if len(found) < 3 {
		tb.Fatalf("only %d kinds of delimiter bytes among the glyph ids", len(found))
	}
	var s strings.Builder
	for _, r := range found {
		s.WriteRune(r)
	}
	return s.String()
}

// Incident text with markup and PDF string delimiters is shown literally.
func TestPDFEscaping(t *testing.T) {
	tricky := glyphsWithDelimiterBytes(t)
	in := fixture(t)
	in.Incident.Title = `<script>alert(1)</script> ) Tj (x) Tj \ (` + tricky
	in.Incident.Facts.What = `C:\Users\admin\ransom(1).exe \\) ET BT (` + tricky + "\r\n改行後の行"
	out := renderPDFFor(t, KindPPC, in)
	checkPDF(t, out)
	got := pdfText(t, out)
	for _, want := range []string{
		`<script>alert(1)</script>`, `) Tj (x) Tj \ (` + tricky,
		`C:\Users\admin\ransom(1).exe \\) ET BT (` + tricky, "改行後の行",
	} {
		if !strings.Contains(squash(got), squash(want)) {
			t.Errorf("extracted text lacks %q", want)
		}
	}
}

// A description of several pages is split across pages line by line, and
// every line of it comes back.
func TestPDFLongText(t *testing.T) {
	in := fixture(t)
	var desc strings.Builder
	for i := 1; i <= 120; i++ {
		desc.WriteString("第" + strconv.Itoa(i) + "段落：攻撃者は管理者アカウントで各サーバへ横展開し、ログを削除した。The attacker moved laterally and deleted logs.\n")
	}
	in.Incident.Description = desc.String()
	out := renderPDFFor(t, KindPPC, in)
	p := checkPDF(t, out)
	if p.pages < 5 {
		t.Errorf("%d pages for a report with a 120-paragraph description", p.pages)
	}
	got := squash(pdfText(t, out))
	for i := 1; i <= 120; i++ {
		if !strings.Contains(got, "第"+strconv.Itoa(i)+"段落：攻撃者は管理者アカウントで") {
			t.Errorf("paragraph %d missing from the extracted text", i)
		}
	}
	if !strings.Contains(got, strconv.Itoa(p.pages)+"/"+strconv.Itoa(p.pages)) {
		t.Errorf("last page number %d/%d not found", p.pages, p.pages)
	}
}

// Subsetting keeps reports small: the font file is 4.7 MB, a report a
// fraction of a megabyte.
func TestPDFSize(t *testing.T) {
	for name, in := range pdfCases(t) {
		out := renderPDFFor(t, kindOf(name), in)
		if len(out) > 300<<10 {
			t.Errorf("%s: %d bytes; a typical report should be well under 1 MB", name, len(out))
		}
	}
	// Many distinct characters still stay under 1 MB.
	in := fixture(t)
	var all strings.Builder
	for r := rune(0x4E00); r < 0x4E00+3000; r++ {
		all.WriteRune(r)
	}
	in.Incident.Description = all.String()
	if out := renderPDFFor(t, KindPostIncident, in); len(out) > 1<<20 {
		t.Errorf("3,000 kanji: %d bytes, want under 1 MB", len(out))
	}
}

// The same input gives the same bytes: nothing depends on map order or
// the clock.
func TestPDFDeterministic(t *testing.T) {
	in := fixture(t)
	a, b := renderPDFFor(t, KindGDPR, in), renderPDFFor(t, KindGDPR, in)
	if !bytes.Equal(a, b) {
		t.Error("two renderings of the same report differ")
	}
}

func TestWrapText(t *testing.T) {
	f, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	em := func(n float64) float64 { return n * 10 } // at 10 pt a full-width character is about 10 pt
	lines := func(s string, width float64) []string {
		var out []string
		for _, l := range wrapText(f, []run{{s, stNormal}}, 10, width) {
			var b strings.Builder
			for _, r := range l.Runs {
				b.WriteString(r.S)
			}
			out = append(out, b.String())
		}
		return out
	}
	cases := []struct {
		name  string
		in    string
		width float64
		check func([]string) bool
	}{
		{"english breaks at spaces", "the quick brown fox jumps over the lazy dog", 60,
			func(ls []string) bool {
				for _, l := range ls {
					for _, w := range strings.Fields(l) {
						if !strings.Contains(" the quick brown fox jumps over lazy dog ", " "+w+" ") {
							return false
						}
					}
				}
				return len(ls) > 1
			}},
		{"japanese breaks between characters", "個人情報保護委員会への漏えい等報告", em(5.5),
			func(ls []string) bool {
				return len(ls) >= 3 && strings.Join(ls, "") == "個人情報保護委員会への漏えい等報告"
			}},
		{"no line starts with 。or 、", "あいうえ。かきくけ、さしすせ。たちつて」なにぬね）", em(4.5),
			func(ls []string) bool {
				for _, l := range ls {
					if l != "" && strings.ContainsRune("。、」）", []rune(l)[0]) {
						return false
					}
				}
				return len(ls) > 1
			}},
		{"no line ends with an opening bracket", "あいう「えお」かきく（けこ）", em(3.5),
			func(ls []string) bool {
				for _, l := range ls {
					r := []rune(l)
					if len(r) > 0 && strings.ContainsRune("「（", r[len(r)-1]) {
						return false
					}
				}
				return len(ls) > 1
			}},
		{"small kana stays with its syllable", "ちょっとまってください", em(3.2),
			func(ls []string) bool {
				for _, l := range ls {
					if l != "" && strings.ContainsRune("ょっ", []rune(l)[0]) {
						return false
					}
				}
				return true
			}},
		{"a long word is cut", strings.Repeat("x", 100), 50,
			func(ls []string) bool { return len(ls) > 2 && strings.Join(ls, "") == strings.Repeat("x", 100) }},
		{"newlines are kept", "一行目\n\n三行目", 400,
			func(ls []string) bool { return len(ls) == 3 && ls[1] == "" }},
		{"mixed text breaks between Latin and Japanese", "VPN装置vpn-gw01の脆弱性", em(4),
			func(ls []string) bool {
				return strings.Join(ls, "") == "VPN装置vpn-gw01の脆弱性" && !strings.HasPrefix(ls[1], "N")
			}},
	}
	for _, c := range cases {
		ls := lines(c.in, c.width)
		if !c.check(ls) {
			t.Errorf("%s: %q", c.name, ls)
		}
	}
}

// FuzzWrapText checks what line breaking must keep whatever the text: no
// character lost or reordered, no line wider than the measure unless it
// is a single character, and kinsoku respected wherever a break was free
// to move.
func FuzzWrapText(f *testing.F) {
	for _, s := range []string{"", "hello world", "漏えい等報告（速報）。", "a\r\nb\tc", "ちょっと、「まって」ください。", strings.Repeat("長", 80), "x\u200by\u0000z"} {
		f.Add(s, uint16(100))
	}
	font, err := loadFont()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string, w uint16) {
		width := 5 + float64(w%500)
		lines := wrapText(font, []run{{s, stNormal}, {"【要記入】", stMark}}, 10, width)
		cs := normaliseRunes([]run{{s, stNormal}, {"【要記入】", stMark}})
		var got, want strings.Builder
		for i, l := range lines {
			n := 0
			for _, r := range l.Runs {
				got.WriteString(r.S)
				n += len([]rune(r.S))
			}
			if n > 1 && l.Width > width+1e-6 {
				t.Fatalf("line %d is %.2f wide, measure %.2f: %q", i, l.Width, width, l.Runs)
			}
			if n != l.To-l.From {
				t.Fatalf("line %d: %d characters for [%d, %d)", i, n, l.From, l.To)
			}
			if i == 0 || l.Hard || lines[i-1].Forced || l.From == l.To {
				continue
			}
			// A soft break: kinsoku holds unless a space stood there.
			first, prevEnd := cs[l.From].r, lines[i-1].To
			if noStart(first) && !isSpace(cs[l.From-1].r) {
				t.Fatalf("line %d starts with %q", i, first)
			}
			if prevEnd > lines[i-1].From && noEnd(cs[prevEnd-1].r) && !isSpace(cs[prevEnd].r) {
				t.Fatalf("line %d ends with %q", i-1, cs[prevEnd-1].r)
			}
		}
		for _, c := range cs {
			want.WriteRune(c.r)
		}
		if squash(got.String()) != squash(want.String()) {
			t.Fatalf("text changed:\n got %q\nwant %q", got.String(), want.String())
		}
	})
}

// parseLiteral reads a PDF literal string as ISO 32000 7.3.4.2 defines it,
// independently of pdfLiteral.
func parseLiteral(s string) ([]byte, bool) {
	if len(s) < 2 || s[0] != '(' {
		return nil, false
	}
	var out []byte
	depth := 0
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			i++
			if i >= len(s) {
				return nil, false
			}
			switch e := s[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '(', ')', '\\':
				out = append(out, e)
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v, j := 0, i
					for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
						v = v*8 + int(s[j]-'0')
					}
					out = append(out, byte(v))
					i = j - 1
				} else {
					out = append(out, e)
				}
			}
		case '(':
			depth++
			out = append(out, c)
		case ')':
			if depth == 0 {
				return out, i == len(s)-1
			}
			depth--
			out = append(out, c)
		case '\r':
			// A raw end of line reads as LF: pdfLiteral must never leave one.
			return nil, false
		default:
			out = append(out, c)
		}
	}
	return nil, false
}

func FuzzPDFLiteral(f *testing.F) {
	for _, s := range []string{"", "abc", "a(b)c", `)\(`, "\r\n", "\x00\xff(", `\\\)`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lit := pdfLiteral(b)
		got, ok := parseLiteral(lit)
		if !ok || !bytes.Equal(got, b) {
			t.Fatalf("pdfLiteral(%q) = %q reads back as %q (ok %v)", b, lit, got, ok)
		}
	})
}

func BenchmarkRenderPDF(b *testing.B) {
	in := fixture(b)
	if _, err := loadFont(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := Render(KindPPC, FormatPDF, in)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "bytes/report")
}
