package yamlfile

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/irdesk/irdesk/internal/core"
)

const sample = `rules:
  - id: a
    when:
      severity: [S1, S2]
  - id: b
    notify:
      roles:
        - lead
        - legal
`

func TestLineOf(t *testing.T) {
	var v struct {
		Rules []map[string]any `yaml:"rules"`
	}
	root, err := Decode("f.yaml", []byte(sample), 1<<20, &v)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"":                         1,
		"rules":                    1,
		"rules[0]":                 2,
		"rules[0].when.severity":   4,
		"rules[1].id":              5,
		"rules[1].notify.roles[1]": 9,
		"rules[1].missing":         5, // the deepest node found
		"rules[7]":                 1,
	} {
		if got := LineOf(root, path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
	if LineOf(nil, "x") != 0 {
		t.Error("nil root")
	}
}

func TestDecodeErrorsHaveLines(t *testing.T) {
	var v struct {
		Rules []struct {
			ID string `yaml:"id"`
		} `yaml:"rules"`
	}
	_, err := Decode("f.yaml", []byte("rules:\n  - id: a\n    colour: red\n  - id: b\n    size: 2\n"), 1<<20, &v)
	if err == nil || !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("unknown fields: %v", err)
	}
	for _, want := range []string{"f.yaml:3:", "colour", "f.yaml:5:", "size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
	_, err = Decode("f.yaml", []byte("rules: [\n"), 1<<20, &v)
	if err == nil || !strings.Contains(err.Error(), "f.yaml:") {
		t.Errorf("syntax error: %v", err)
	}
	_, err = Decode("f.yaml", []byte("rules: []\n"), 4, &v)
	if err == nil || !strings.Contains(err.Error(), "larger than 4 bytes") {
		t.Errorf("size: %v", err)
	}
	if root, err := Decode("f.yaml", nil, 10, &v); root != nil || err != nil {
		t.Errorf("empty document: %v %v", root, err)
	}
}

func TestDecodeNodeIsStrict(t *testing.T) {
	var doc struct {
		Items []yaml.Node `yaml:"items"`
	}
	root, err := Decode("f.yaml", []byte("items:\n  - name: x\n  - name: y\n    extra: 1\n"), 1<<20, &doc)
	if err != nil {
		t.Fatal(err)
	}
	_ = root
	var item struct {
		Name string `yaml:"name"`
	}
	if err := DecodeNode(&doc.Items[0], &item); err != nil || item.Name != "x" {
		t.Fatalf("%v %q", err, item.Name)
	}
	err = DecodeNode(&doc.Items[1], &item)
	if err == nil {
		t.Fatal("unknown field accepted")
	}
	errs := FromYAML("f.yaml", err)
	if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Message, "extra") {
		t.Errorf("%+v", errs[0])
	}
}

func TestChecker(t *testing.T) {
	c := &Checker{File: "c.yaml"}
	root := c.Document([]byte("name: x\nname: y\nflag: maybe\nlist: []\nodd: 1\n"), 1<<20)
	m, ok := c.Mapping(root, "")
	if !ok {
		t.Fatal(c.Err())
	}
	f := c.Fields(m, "", "name", "flag", "list")
	c.Bool(f, "", "flag")
	c.StrList(f["list"], "list")
	err := c.Err()
	for _, want := range []string{"c.yaml:2: name: given more than once", "c.yaml:3: flag: must be true or false",
		"c.yaml:4: list: an empty list", "c.yaml:5: odd: unknown field"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
	c = &Checker{File: "d.yaml"}
	if c.Document([]byte("a: 1\n---\nb: 2\n"), 1<<20) == nil || c.Err() == nil {
		t.Error("a second document was accepted")
	}
	c = &Checker{File: "e.yaml"}
	if c.Document([]byte("   \n"), 1<<20) != nil || !strings.Contains(c.Err().Error(), "empty document") {
		t.Error("empty document")
	}
}

func FuzzChecker(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("- 1\n- {a: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Checker{File: "f.yaml"}
		root := c.Document(data, 1<<16)
		if root == nil {
			if c.Err() == nil {
				t.Fatal("no root and no error")
			}
			return
		}
		if m, ok := c.Mapping(root, ""); ok {
			for _, v := range c.Fields(m, "", "rules", "a") {
				c.StrList(v, "x")
			}
		}
		if err := c.Err(); err != nil && !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("not ErrInvalid: %v", err)
		}
	})
}
