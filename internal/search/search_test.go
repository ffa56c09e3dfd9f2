package search

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Ransomware on FS01", []string{"ransomware", "on", "fs01"}},
		{"ランサムウェア", []string{"ラン", "ンサ", "サム", "ムウ", "ウェ", "ェア", "ア"}},
		{"PCを紛失", []string{"pc", "を紛", "紛失", "失"}},
		{"ＦＵＬＬ　ｗｉｄｔｈ", []string{"full", "width"}},
		{"ｶﾀｶﾅ", []string{"カタ", "タカ", "カナ", "ナ"}},
		{"鍵", []string{"鍵"}},
		{"cve-2024-1234, 10.0.0.1", []string{"cve", "2024", "1234", "10", "0", "0", "1"}},
		{"", nil},
		{"!!! ???", nil},
	}
	for _, tt := range tests {
		if got := Terms(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		in   string
		want []Term
	}{
		{"ransom", []Term{{"ransom", true}}},
		{"pc", []Term{{"pc", false}}},
		{"紛失", []Term{{"紛失", false}}},
		{"情報漏えい", []Term{{"情報", false}, {"報漏", false}, {"漏え", false}, {"えい", false}}},
		{"鍵", []Term{{"鍵", true}}},
		{"ラン ラン", []Term{{"ラン", false}}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Query(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Query(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("a b c d e f g h i j k l m n o p q r s t u v w x y z ", 3)
	if n := len(Query(long + "aa bb cc dd ee ff gg hh ii jj")); n != MaxQueryTerms {
		t.Errorf("Query kept %d terms, want %d", n, MaxQueryTerms)
	}
}

// Every query built from a document's own text must find that document:
// each query term is a term of the document or a prefix of one.
func TestQueryFindsItsDocument(t *testing.T) {
	docs := []string{"営業部のPCがランサムウェアに感染", "mis-sent e-mail to 取引先", "鍵", "ＡＢＣ１２３"}
	for _, d := range docs {
		assertFinds(t, d, d)
	}
	assertFinds(t, "営業部のPCがランサムウェアに感染", "感染")
	assertFinds(t, "営業部のPCがランサムウェアに感染", "営")
	assertFinds(t, "営業部のPCがランサムウェアに感染", "染")
	assertFinds(t, "営業部のPCがランサムウェアに感染", "ランサム")
}

func assertFinds(tb testing.TB, doc, q string) {
	tb.Helper()
	terms := Terms(doc)
	for _, qt := range Query(q) {
		found := false
		for _, dt := range terms {
			if dt == qt.Text || qt.Prefix && strings.HasPrefix(dt, qt.Text) {
				found = true
				break
			}
		}
		if !found {
			tb.Errorf("query %q term %v not found in terms of %q: %q", q, qt, doc, terms)
		}
	}
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"ランサムウェア感染", "Ransomware on FS01", "ｶﾀｶﾅ", "\xff\xfe", "a\u0301b", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms := Terms(s)
		for _, term := range terms {
			if term == "" || !utf8.ValidString(term) || len(term) > MaxTermLen || strings.ContainsAny(term, " \"*\x00") {
				t.Fatalf("bad term %q from %q", term, s)
			}
		}
		q := Query(s)
		if len(q) > MaxQueryTerms {
			t.Fatalf("%d query terms", len(q))
		}
		if utf8.ValidString(s) && len(q) < MaxQueryTerms {
			assertFinds(t, s, s)
		}
	})
}

// TestDocumentBounded: a document of pasted logs is indexed up to
// MaxDocumentBytes, cut at a term boundary, keeping its beginning.
func TestDocumentBounded(t *testing.T) {
	var log strings.Builder
	for i := range 60_000 {
		fmt.Fprintf(&log, "conn %08x from 198.51.100.%d ", i*2654435761, i%250)
	}
	doc := Document("最初の報告 ransomware", log.String(), "感染拡大")
	if len(doc) > MaxDocumentBytes {
		t.Fatalf("document of %d bytes, over %d", len(doc), MaxDocumentBytes)
	}
	if len(doc) < MaxDocumentBytes-MaxTermLen-1 {
		t.Errorf("document of %d bytes: cut too early", len(doc))
	}
	if !strings.HasPrefix(doc, "最初 初の の報 報告 告 ransomware conn ") {
		t.Errorf("document starts %q", doc[:60])
	}
	last := doc[strings.LastIndexByte(doc, ' ')+1:]
	if !strings.Contains(log.String(), last) {
		t.Errorf("the document ends in a cut term %q", last)
	}
	if small := Document("Ransomware on FS01"); small != "ransomware on fs01" {
		t.Errorf("small document %q", small)
	}
}
