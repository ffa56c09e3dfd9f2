package report

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

func TestOutlineNamesTheFormItems(t *testing.T) {
	o, err := OutlineOf(KindPPC, fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range ppcItemsJA {
		if !slices.Contains(o.Sections, item) {
			t.Errorf("outline lacks %q: %v", item, o.Sections)
		}
	}
	if len(o.Fields) == 0 {
		t.Error("no fields in the outline")
	}
	in := fixture(t)
	in.Lang = LangEN
	o, err = OutlineOf(KindPPC, in)
	if err != nil || !slices.Contains(o.Sections, ppcItemsEN[3]) {
		t.Fatalf("English outline %v (%v)", o.Sections, err)
	}
	if _, err := OutlineOf("memo", fixture(t)); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestEditsReplaceSectionsAndFieldsInEveryFormat(t *testing.T) {
	in := fixture(t)
	o, err := OutlineOf(KindPPC, in)
	if err != nil {
		t.Fatal(err)
	}
	cause := "標的型メールの添付ファイル（マクロ付き Excel）を開いたことによる感染。\n\n侵入経路は VPN 機器の脆弱性ではないことを確認済み。"
	e := &Edits{Sections: map[string]string{ppcItemsJA[3]: cause, ppcItemsJA[8]: "   "}, Fields: map[string]string{o.Fields[0]: "手で直した値 <b>"}}
	if err := e.Check(o); err != nil {
		t.Fatal(err)
	}
	if _, kept := e.Sections[ppcItemsJA[8]]; kept {
		t.Error("a blank edit should be dropped")
	}
	in.Edits = e
	md := render(t, KindPPC, FormatMarkdown, in)
	if !strings.Contains(md, "標的型メールの添付ファイル") || !strings.Contains(md, "VPN 機器の脆弱性ではない") {
		t.Errorf("edited section missing from Markdown:\n%s", md)
	}
	if !strings.Contains(md, `手で直した値 \<b>`) {
		t.Errorf("edited field missing or unescaped in Markdown")
	}
	// The generated text of the edited section is gone; the other items stay.
	plainMD := render(t, KindPPC, FormatMarkdown, fixture(t))
	section := func(doc, heading string) string {
		i := strings.Index(doc, heading)
		if i < 0 {
			return ""
		}
		rest := doc[i+len(heading):]
		if j := strings.Index(rest, "\n## "); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	if section(md, ppcItemsJA[3]) == section(plainMD, ppcItemsJA[3]) {
		t.Error("the cause section was not replaced")
	}
	if section(md, ppcItemsJA[1]) != section(plainMD, ppcItemsJA[1]) {
		t.Error("an unedited section changed")
	}
	html := render(t, KindPPC, FormatHTML, in)
	if !strings.Contains(html, "標的型メールの添付ファイル") || strings.Contains(html, "値 <b>") {
		t.Error("HTML: edit missing or unescaped")
	}
	if pdf := render(t, KindPPC, FormatPDF, in); !strings.HasPrefix(pdf, "%PDF-") {
		t.Error("PDF with edits did not render")
	}
}

func TestEditsCheckRefusesUnknownKeysAndHugeTexts(t *testing.T) {
	o, err := OutlineOf(KindGDPR, fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*Edits{
		{Sections: map[string]string{"No such heading": "x"}},
		{Fields: map[string]string{"No such label": "x"}},
		{Sections: map[string]string{o.Sections[0]: strings.Repeat("長", maxEditText+1)}},
		{Sections: map[string]string{o.Sections[0]: "\xff\xfe"}},
	} {
		if err := e.Check(o); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%v: %v", e, err)
		}
	}
	var none *Edits
	if !none.Empty() || !(&Edits{}).Empty() {
		t.Error("Empty")
	}
}
