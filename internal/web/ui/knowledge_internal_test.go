package ui

import (
	"reflect"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/i18n"
)

func TestMarkdownBlocks(t *testing.T) {
	got := markdown("# Title\nline one\nline two\n\n- a\n* b\n1. one\n2. two\n```\ncode <b>\n```\n#nothead\n####### seven\n")
	want := []mdBlock{
		{Kind: "h", Level: 2, Text: "Title"},
		{Kind: "p", Text: "line one\nline two"},
		{Kind: "ul", Items: []string{"a", "b"}},
		{Kind: "ol", Ordered: true, Items: []string{"one", "two"}},
		{Kind: "code", Text: "code <b>"},
		{Kind: "p", Text: "#nothead\n####### seven"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if b := markdown("```\nunclosed"); len(b) != 1 || b[0].Text != "unclosed" {
		t.Errorf("unclosed fence: %+v", b)
	}
}

// FuzzMarkdown: any text cuts into blocks without panicking, and no text
// is lost outside fences and markers.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"# h\n- a\n1. b\n```\nc", "", "```", "- ", "1. ", "#", "\r\n\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, b := range markdown(s) {
			if b.Kind == "" {
				t.Fatalf("empty block kind for %q", s)
			}
		}
	})
}

// TestKnowledgeKeys: the labels built at run time exist in both languages.
func TestKnowledgeKeys(t *testing.T) {
	b, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range core.CostCategories {
		keys = append(keys, costCategoryKey(string(c)))
	}
	for _, k := range []string{"observable", "system", "category", "cause_class", "text"} {
		keys = append(keys, similarReasonKey(k))
	}
	keys = append(keys, clockStateKey("exercise"), "costs.status.actual", "costs.status.estimate")
	for _, l := range i18n.Langs {
		tr := b.For(l)
		for _, k := range keys {
			if !tr.Has(k) {
				t.Errorf("%s: no %q", l, k)
			}
		}
	}
}

func TestMoney(t *testing.T) {
	var b base
	for in, want := range map[int64]string{0: "0 JPY", 999: "999 JPY", 1000: "1,000 JPY", -1234567: "-1,234,567 JPY", 100000: "100,000 JPY"} {
		if got := b.Money(in, "JPY"); got != want {
			t.Errorf("%d: %q, want %q", in, got, want)
		}
	}
}
