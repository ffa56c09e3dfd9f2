// Package search turns text into the terms both databases index, so that
// a search gives the same hits on SQLite and PostgreSQL: Latin words and
// numbers whole, Japanese and Chinese text as overlapping two-character
// pieces (bigrams), since such text has no spaces between words.
package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxTermLen keeps one pathological "word" (a base64 blob) from bloating
// the index; longer runs are cut.
const MaxTermLen = 64

// MaxQueryTerms bounds the work one search may ask of the database.
const MaxQueryTerms = 32

// MaxDocumentBytes bounds the indexed form of one document. PostgreSQL
// refuses a tsvector of a megabyte or more, so without a bound an incident
// whose texts hold pasted logs (up to 100,000 characters a field) saves
// on SQLite but fails on PostgreSQL. 256 KiB of terms stays well under
// that limit however distinct the terms are, and covers the first tens of
// thousands of words of every document; the rest is not searchable, on
// both databases alike.
const MaxDocumentBytes = 256 << 10

// cjk reports whether r belongs to a script written without spaces.
func cjk(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		r == 'ー' || r == '々' || r == '〆' || r == 'ヶ'
}

func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// run is a maximal stretch of word characters of one kind.
type run struct {
	text string
	cjk  bool
}

// runs normalises (NFKC folds full-width Latin and half-width kana to
// their usual forms; then lower case) and splits text into runs.
func runs(text string) []run {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, " ")
	}
	text = strings.ToLower(norm.NFKC.String(text))
	var out []run
	start := -1
	startCJK := false
	flush := func(end int) {
		if start >= 0 {
			out = append(out, run{text[start:end], startCJK})
			start = -1
		}
	}
	for i, r := range text {
		if !wordRune(r) {
			flush(i)
			continue
		}
		isCJK := cjk(r)
		if start >= 0 && isCJK != startCJK {
			flush(i)
		}
		if start < 0 {
			start, startCJK = i, isCJK
		}
	}
	flush(len(text))
	return out
}

func clip(s string) string {
	if len(s) <= MaxTermLen {
		return s
	}
	cut := MaxTermLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// Terms returns the terms to index for a document, in order. A CJK run
// gives its bigrams and then its last character alone, so that every
// character of the text starts some term and a one-character query can be
// answered with a prefix match.
func Terms(text string) []string {
	var out []string
	for _, rn := range runs(text) {
		if !rn.cjk {
			out = append(out, clip(rn.text))
			continue
		}
		rs := []rune(rn.text)
		for i := 0; i+1 < len(rs); i++ {
			out = append(out, string(rs[i:i+2]))
		}
		out = append(out, string(rs[len(rs)-1]))
	}
	return out
}

// Term is one part of a query. A Prefix term matches any indexed term
// that starts with Text.
type Term struct {
	Text   string
	Prefix bool
}

// Query turns what a user typed into terms that must all match. Latin
// words of three or more characters match as prefixes ("ransom" finds
// "ransomware"); a CJK run of two or more characters must contain all its
// bigrams; a lone CJK character matches as a prefix. Duplicates are
// dropped and at most MaxQueryTerms are kept.
func Query(text string) []Term {
	var out []Term
	seen := map[Term]bool{}
	add := func(t Term) {
		if !seen[t] && len(out) < MaxQueryTerms {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, rn := range runs(text) {
		if !rn.cjk {
			w := clip(rn.text)
			add(Term{Text: w, Prefix: utf8.RuneCountInString(w) >= 3 && len(rn.text) <= MaxTermLen})
			continue
		}
		rs := []rune(rn.text)
		if len(rs) == 1 {
			add(Term{Text: rn.text, Prefix: true})
			continue
		}
		for i := 0; i+1 < len(rs); i++ {
			add(Term{Text: string(rs[i : i+2])})
		}
	}
	return out
}

// Document joins the terms of a document into the space-separated form the
// databases' full-text columns hold, at most MaxDocumentBytes of them.
func Document(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		for _, t := range Terms(p) {
			if b.Len()+1+len(t) > MaxDocumentBytes {
				return b.String()
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(t)
		}
	}
	return b.String()
}
