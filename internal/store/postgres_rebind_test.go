package store

import (
	"strconv"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/search"
)

func TestPGRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' , ? FROM "we?ird" WHERE x = ?`, `SELECT '?' , $1 FROM "we?ird" WHERE x = $2`},
		{`LOWER(a.title) LIKE ? ESCAPE '\' OR b LIKE ? ESCAPE '\'`, `LOWER(a.title) LIKE $1 ESCAPE '\' OR b LIKE $2 ESCAPE '\'`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{"SELECT ? -- why? don't\n, ?", "SELECT $1 -- why? don't\n, $2"},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`a - ? - b`, `a - $1 - b`},
	}
	for _, tt := range tests {
		if got := pgRebind(tt.in); got != tt.want {
			t.Errorf("pgRebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzPGRebind: rebinding never panics, leaves nothing to rebind (every
// ? left is quoted or in a comment) and numbers placeholders from 1.
func FuzzPGRebind(f *testing.F) {
	for _, s := range []string{`SELECT ? FROM t WHERE a = '?' AND b = ?`, "x -- ?\n?", `"?"?''?`, `'`, `?`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := pgRebind(q)
		if again := pgRebind(out); again != out {
			t.Fatalf("rebinding twice changed %q to %q", out, again)
		}
		if strings.Contains(q, "?") && !strings.Contains(q, "$") {
			n := strings.Count(q, "?") - strings.Count(out, "?")
			for i := 1; i <= n; i++ {
				if !strings.Contains(out, "$"+strconv.Itoa(i)) {
					t.Fatalf("%q: placeholder $%d missing in %q", q, i, out)
				}
			}
		}
	})
}

func TestPGTextQuery(t *testing.T) {
	got := pgTextQuery([]search.Term{{Text: "ransom", Prefix: true}, {Text: "紛失"}, {Text: `o'b\`}})
	if want := `'ransom':* & '紛失' & 'o''b\\'`; got != want {
		t.Fatalf("pgTextQuery = %q, want %q", got, want)
	}
}
