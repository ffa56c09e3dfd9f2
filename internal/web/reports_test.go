package web

import (
	"strings"
	"testing"
)

func TestReportDrafts(t *testing.T) {
	env := newTestEnv(t)
	key := env.mustCreate("analyst", map[string]any{
		"title": `顧客情報の漏えい <script>alert(1)</script>`, "category": "data_leak", "info_type": "personal",
		"flags": map[string]any{"personal_data": true, "people_affected": 1500, "eu_residents": true},
	})
	env.call("analyst", "POST", "/api/v1/incidents/"+key+"/actions", `{"description":"アクセスログを保全した","tool":"SIEM"}`)
	tests := []struct {
		as, query   string
		status      int
		contentType string
		has         []string
		hasNot      []string
	}{
		{"analyst", "/reports/ppc", 200, "text/markdown", []string{"個人情報保護委員会", "1,500", "【要記入】", "速報"}, nil},
		{"analyst", "/reports/ppc?stage=final&lang=en", 200, "text/markdown", []string{"final", "1,500"}, nil},
		{"viewer", "/reports/gdpr?format=html&lang=en", 200, "text/html", []string{`lang="en"`, "Art. 33", "&lt;script&gt;"}, []string{"<script>alert"}},
		{"lead", "/reports/post-incident?format=html", 200, "text/html", []string{"アクセスログを保全した", "SIEM"}, []string{"<script>alert"}},
		{"analyst", "/reports/novel", 422, "application/problem+json", nil, nil},
		{"analyst", "/reports/ppc?format=pdf", 200, "application/pdf", []string{"%PDF-1.7", "/FontFile2", "%%EOF"}, nil},
		{"analyst", "/reports/ppc?format=docx", 422, "application/problem+json", nil, nil},
		{"analyst", "/reports/ppc?lang=fr", 422, "application/problem+json", nil, nil},
		{"analyst", "/reports/ppc?colour=red", 400, "application/problem+json", nil, nil},
		{"reporter", "/reports/ppc", 404, "application/problem+json", nil, nil},
	}
	for _, tt := range tests {
		r := env.call(tt.as, "GET", "/api/v1/incidents/"+key+tt.query, nil)
		if r.status != tt.status || !strings.HasPrefix(r.header.Get("Content-Type"), tt.contentType) {
			t.Errorf("%s %s: %d %s, want %d %s: %.300s", tt.as, tt.query, r.status, r.header.Get("Content-Type"), tt.status, tt.contentType, r.body)
			continue
		}
		if tt.contentType == "application/pdf" {
			want := `attachment; filename="` + key + `-ppc-preliminary-ja.pdf"`
			if got := r.header.Get("Content-Disposition"); got != want {
				t.Errorf("%s: Content-Disposition %q, want %q", tt.query, got, want)
			}
		}
		for _, s := range tt.has {
			if !strings.Contains(string(r.body), s) {
				t.Errorf("%s: missing %q", tt.query, s)
			}
		}
		for _, s := range tt.hasNot {
			if strings.Contains(string(r.body), s) {
				t.Errorf("%s: must not contain %q", tt.query, s)
			}
		}
	}
}
