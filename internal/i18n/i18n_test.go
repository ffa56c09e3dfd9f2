package i18n

import (
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func load(t testing.TB) *Bundle {
	t.Helper()
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	b := load(t)
	ja, en := b.For(Japanese), b.For(English)
	if len(ja.Keys()) < 100 {
		t.Fatalf("only %d keys in ja: catalogue not loaded?", len(ja.Keys()))
	}
	for _, k := range ja.Keys() {
		if !en.Has(k) {
			t.Errorf("key %q is in ja but not in en", k)
		}
	}
	for _, k := range en.Keys() {
		if !ja.Has(k) {
			t.Errorf("key %q is in en but not in ja", k)
		}
	}
}

func TestPlaceholdersMatch(t *testing.T) {
	b := load(t)
	ja, en := b.For(Japanese), b.For(English)
	for _, k := range ja.Keys() {
		jm, _ := ja.Raw(k)
		em, ok := en.Raw(k)
		if !ok {
			continue // reported by TestCataloguesHaveTheSameKeys
		}
		if p, q := Placeholders(jm), Placeholders(em); !slices.Equal(p, q) {
			t.Errorf("%s: ja has placeholders %v, en %v", k, p, q)
		}
		for _, m := range []string{jm, em} {
			if strings.TrimSpace(m) == "" {
				t.Errorf("%s: empty message", k)
			}
			if !strings.HasSuffix(k, "_html") && strings.ContainsAny(m, "<>") {
				t.Errorf("%s: markup in a plain-text message %q (name the key *_html if it is meant)", k, m)
			}
		}
	}
}

// usedKey finds literal keys: tr.T("key", ...), .HTML("key") in Go and
// {{.Tr.T "key" ...}} in templates.
var (
	goKeyRe   = regexp.MustCompile(`\.(?:T|HTML)\(\s*"([^"]+)"`)
	tmplKeyRe = regexp.MustCompile(`\.(?:T|HTML)\s+"([^"]+)"`)
)

// TestEveryUsedKeyExists scans every Go file that imports this package
// (and the files of its package) and every UI template for literal keys.
// Keys built at run time (phase.<phase>...) are checked by the UI's own
// test over each enumeration.
func TestEveryUsedKeyExists(t *testing.T) {
	b := load(t)
	root := moduleRoot(t)
	used := map[string][]string{} // key -> files
	scanned := 0
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		var re *regexp.Regexp
		switch {
		case strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			re = goKeyRe
		case strings.HasSuffix(path, ".html") && strings.Contains(filepath.ToSlash(path), "/web/ui/templates/"):
			re = tmplKeyRe
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(data)
		if re == goKeyRe && !usesTranslator(path, src) {
			return nil
		}
		scanned++
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			rel, _ := filepath.Rel(root, path)
			used[m[1]] = append(used[m[1]], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 5 || len(used) < 50 {
		t.Fatalf("scanned %d files and found %d keys: the scan is not finding the UI", scanned, len(used))
	}
	for key, files := range used {
		for _, l := range Langs {
			if !b.For(l).Has(key) {
				t.Errorf("key %q (used in %s) is missing from %s", key, strings.Join(slices.Compact(files), ", "), l)
			}
		}
	}
}

// usesTranslator tells the Go files whose .T("...") calls are lookups:
// the package's own files and those of packages that import it.
func usesTranslator(path, src string) bool {
	if strings.Contains(src, `"github.com/irdesk/irdesk/internal/i18n"`) {
		return true
	}
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && strings.Contains(string(data), `"github.com/irdesk/irdesk/internal/i18n"`) {
				return true
			}
		}
	}
	return false
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

func TestTranslate(t *testing.T) {
	b := load(t)
	ja, en := b.For(Japanese), b.For(English)
	if got := en.T("myreports.filed", "INC-2026-0001"); !strings.Contains(got, "INC-2026-0001") || strings.Contains(got, "{1}") {
		t.Errorf("en filed = %q", got)
	}
	if got := ja.T("phase.contain"); got != "封じ込め・根絶" {
		t.Errorf("ja phase.contain = %q", got)
	}
	if got := ja.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key shows as %q, want the key", got)
	}
	// Too few arguments leave the placeholder visible rather than panic.
	if got := en.T("settings.signed_in_as", "hana"); !strings.Contains(got, "{2}") {
		t.Errorf("missing argument: %q", got)
	}
	if b.For("fr") != ja {
		t.Error("an unknown language does not fall back to Japanese")
	}
}

func TestHTMLEscapesArguments(t *testing.T) {
	b := load(t)
	en := b.For(English)
	payload := `<script>alert(1)</script>`
	got := en.HTML("myreports.filed", payload)
	if strings.Contains(string(got), "<script>") || !strings.Contains(string(got), "&lt;script&gt;") {
		t.Fatalf("argument not escaped: %s", got)
	}
	// A plain message is escaped as a whole: an apostrophe or quote in a
	// translation stays text.
	got = en.HTML("report.error.situation")
	if strings.Contains(string(got), `"Not sure"`) {
		t.Fatalf("plain message not escaped: %s", got)
	}
	if got := en.HTML("missing<b>"); got != template.HTML("missing&lt;b&gt;") {
		t.Fatalf("missing key not escaped: %s", got)
	}
	// T is plain text: html/template escapes it at the point of use.
	tmpl := template.Must(template.New("x").Parse(`<p>{{.T "myreports.filed" .Arg}}</p>`))
	var sb strings.Builder
	if err := tmpl.Execute(&sb, struct {
		*Translator
		Arg string
	}{en, payload}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sb.String(), "<script>") {
		t.Fatalf("T through html/template: %s", sb.String())
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   Lang
	}{
		{"", Japanese},
		{"ja", Japanese},
		{"ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", Japanese},
		{"en-US,en;q=0.9,ja;q=0.8", English},
		{"en-GB", English},
		{"fr-FR,fr;q=0.9,ja;q=0.5", Japanese},
		{"fr-FR,fr;q=0.9", English},
		{"de;q=0.9, en;q=0.2, ja;q=0.3", Japanese},
		{"ja;q=0, en", English},
		{"*", English},
		{"!!garbage!!", English},
		{strings.Repeat("en-US,", 1000), English},
	} {
		if got := Negotiate(tc.header); got != tc.want {
			t.Errorf("Negotiate(%.40q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestParseCatalogRejects(t *testing.T) {
	for _, bad := range []string{
		`[]`, `{"a": 1}`, `{"a": "x", "a": "y"}`, `{"a": "x"} {}`, `{"a": {"b": "c"}}`, ``,
	} {
		if _, err := parseCatalog([]byte(bad)); err == nil {
			t.Errorf("parseCatalog(%q) accepted it", bad)
		}
	}
	m, err := parseCatalog([]byte(`{"a.b": "x {1}", "c": ""}`))
	if err != nil || m["a.b"] != "x {1}" || len(m) != 2 {
		t.Fatalf("good catalogue: %v %v", m, err)
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "ja", "en-US,en;q=0.9", "fr;q=0.1, ja;q=0.05", "*;q=0", "x-klingon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := Negotiate(h); l != Japanese && l != English {
			t.Fatalf("Negotiate(%q) = %q", h, l)
		}
	})
}

func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"a": "b"}`))
	f.Add([]byte(`{"a": "b", "a": "c"}`))
	f.Add([]byte(`{"k": "{1} and {2}"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseCatalog(data)
		if err != nil {
			return
		}
		tr := &Translator{lang: English, msgs: m}
		for k := range m {
			_ = tr.T(k, "<x>")
			if s := string(tr.HTML(k, "<x>")); strings.Contains(s, "<x>") && !strings.Contains(m[k], "<x>") {
				t.Fatalf("HTML(%q) let an argument through: %q", k, s)
			}
		}
	})
}
