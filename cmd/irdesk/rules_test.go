package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An invalid --rules file refuses the start with every error and exit 2.
func TestServeRefusesInvalidRules(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - id: a\n    name: A\n    colour: red\n    actions: [{set_severity: S9}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want []string
	}{
		{bad, []string{bad + ":4: rules[0].colour: unknown field", bad + `:5: rules[0].actions[0].set_severity: unknown severity "S9"`}},
		{filepath.Join(dir, "missing.yaml"), []string{"--rules:", "missing.yaml"}},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"serve", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--rules", tc.file}, nil, &stdout, &stderr)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2: %s", tc.file, code, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.file, w, stderr.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("the data directory was created before the rules were checked: %v", err)
	}
}
