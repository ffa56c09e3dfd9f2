package app

import (
	"testing"

	"github.com/irdesk/irdesk/internal/auth"
	"github.com/irdesk/irdesk/internal/core"
)

func TestParseOIDCRoleMapAndPick(t *testing.T) {
	m, err := ParseOIDCRoleMap(" soc-leads=lead, soc=analyst ,all-staff=reporter,")
	if err != nil || len(m) != 3 {
		t.Fatalf("%v %v", m, err)
	}
	a := &App{cfg: Config{OIDC: OIDCConfig{RoleMap: m}}}
	for _, tt := range []struct {
		groups []string
		want   core.Role
	}{
		{[]string{"all-staff", "soc-leads", "soc"}, core.RoleLead},
		{[]string{"soc", "all-staff"}, core.RoleAnalyst},
		{[]string{"SOC"}, ""},
		{nil, ""},
	} {
		if got, _ := a.oidcRole(tt.groups); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.groups, got, tt.want)
		}
	}
	for _, bad := range []string{"", "soc", "soc=boss", "=lead", ","} {
		if _, err := ParseOIDCRoleMap(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	names := oidcNames(auth.Identity{Subject: "00u/ABC", PreferredUsername: "Taro Yamada", Email: "T.Yamada@Example.JP"})
	if len(names) != 3 || names[0] != "taro-yamada" || names[1] != "t.yamada@example.jp" || names[2] != "oidc-00u-abc" {
		t.Errorf("names %v", names)
	}
}

func FuzzParseOIDCRoleMap(f *testing.F) {
	f.Add("soc-leads=lead,soc=analyst")
	f.Add("=,=")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseOIDCRoleMap(s)
		if err == nil {
			for _, r := range m {
				if !r.Role.Valid() || r.Group == "" {
					t.Fatalf("%q gave %+v", s, r)
				}
			}
		}
	})
}
