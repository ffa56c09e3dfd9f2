// Package i18n holds irdesk's Japanese and English message catalogues and
// picks the language of a request. Every user-visible string of the web UI
// comes from here, looked up by a flat key.
package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language the UI speaks.
type Lang string

const (
	Japanese Lang = "ja"
	English  Lang = "en"
)

// Langs lists the languages, the default first: the desk's users are in
// Japan.
var Langs = []Lang{Japanese, English}

// Parse accepts "ja" or "en" (any case, surrounding space ignored).
func Parse(s string) (Lang, bool) {
	switch Lang(strings.ToLower(strings.TrimSpace(s))) {
	case Japanese:
		return Japanese, true
	case English:
		return English, true
	}
	return "", false
}

//go:embed catalog/*.json
var catalogFS embed.FS

// Bundle is the loaded catalogues, one Translator per language.
type Bundle struct {
	tr map[Lang]*Translator
}

// Load reads the embedded catalogues. It fails if one is missing or is
// not a flat JSON object of strings with unique keys.
func Load() (*Bundle, error) {
	b := &Bundle{tr: map[Lang]*Translator{}}
	for _, l := range Langs {
		data, err := catalogFS.ReadFile("catalog/" + string(l) + ".json")
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", l, err)
		}
		msgs, err := parseCatalog(data)
		if err != nil {
			return nil, fmt.Errorf("catalogue %s: %w", l, err)
		}
		b.tr[l] = &Translator{lang: l, msgs: msgs}
	}
	return b, nil
}

// parseCatalog reads a flat JSON object of strings. encoding/json keeps
// the last of two equal keys without a word, and a duplicated key in a
// catalogue is always a mistake, so the tokens are walked by hand.
func parseCatalog(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	msgs := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // object keys are always strings
		var val string
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("key %q: the value must be a string", key)
		}
		if _, dup := msgs[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		msgs[key] = val
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("data after the object")
	}
	return msgs, nil
}

// For returns the translator of a language, Japanese for an unknown one.
func (b *Bundle) For(l Lang) *Translator {
	if t, ok := b.tr[l]; ok {
		return t
	}
	return b.tr[Japanese]
}

// Translator looks messages up in one language. It is read-only and
// shared by every request in that language.
type Translator struct {
	lang Lang
	msgs map[string]string
}

// Lang is the translator's language.
func (t *Translator) Lang() Lang { return t.lang }

// Has reports whether the catalogue has the key.
func (t *Translator) Has(key string) bool {
	_, ok := t.msgs[key]
	return ok
}

// Keys lists the catalogue's keys, sorted.
func (t *Translator) Keys() []string {
	out := make([]string, 0, len(t.msgs))
	for k := range t.msgs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Raw is the catalogue text of a key, placeholders unfilled.
func (t *Translator) Raw(key string) (string, bool) {
	m, ok := t.msgs[key]
	return m, ok
}

// T returns the message for key with {1}, {2}... replaced by the
// arguments. A missing key shows as the key itself, so a gap is visible
// on the page (and the catalogue test fails) rather than a blank.
// The result is plain text: html/template escapes it where it is used.
func (t *Translator) T(key string, args ...any) string {
	msg, ok := t.msgs[key]
	if !ok {
		return key
	}
	return fill(msg, args, func(s string) string { return s })
}

// HTML returns the message for key as HTML with every argument escaped.
// Only keys ending in "_html" hold markup (written by us, in the
// catalogue); any other message is escaped as a whole too, so a stray "<"
// in a translation can never become markup.
func (t *Translator) HTML(key string, args ...any) template.HTML {
	msg, ok := t.msgs[key]
	if !ok {
		return template.HTML(template.HTMLEscapeString(key))
	}
	if !strings.HasSuffix(key, "_html") {
		msg = template.HTMLEscapeString(msg)
	}
	return template.HTML(fill(msg, args, template.HTMLEscapeString))
}

// placeholderRe matches {1} to {99}.
var placeholderRe = regexp.MustCompile(`\{([1-9][0-9]?)\}`)

func fill(msg string, args []any, esc func(string) string) string {
	if !strings.Contains(msg, "{") {
		return msg
	}
	return placeholderRe.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[1 : len(m)-1])
		if n > len(args) {
			return m
		}
		return esc(fmt.Sprint(args[n-1]))
	})
}

// Placeholders lists the placeholders of a message, sorted and unique,
// for the test that both languages take the same arguments.
func Placeholders(msg string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range placeholderRe.FindAllString(msg, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// MaxAcceptLanguage bounds the header Negotiate reads: a browser sends a
// few dozen bytes, and parsing is not free.
const MaxAcceptLanguage = 1024

// Negotiate picks the language for an Accept-Language header: the first
// of Japanese or English the browser accepts, by its preference. No
// header means Japanese (the desk's home); a browser that asks only for
// other languages gets English, which more of its users will read.
func Negotiate(acceptLanguage string) Lang {
	h := strings.TrimSpace(acceptLanguage)
	if h == "" {
		return Japanese
	}
	if len(h) > MaxAcceptLanguage {
		h = h[:MaxAcceptLanguage]
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		return English
	}
	for _, tag := range tags {
		base, conf := tag.Base()
		if conf == language.No {
			continue
		}
		switch base.String() {
		case "ja":
			return Japanese
		case "en":
			return English
		}
	}
	return English
}
