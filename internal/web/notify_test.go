package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

// TestContactsRulesAndNotificationsAPI walks the contact tree, the rules
// and the outbox through HTTP: who may do what, bad input named by field,
// and a notification visible only to those who may see its incident.
func TestContactsRulesAndNotificationsAPI(t *testing.T) {
	env := newTestEnv(t)
	contact := map[string]any{"name": "Legal 法務部", "kind": "internal", "roles": []string{"legal"}, "language": "ja",
		"channels": []map[string]any{{"type": "slack", "address": "https://hooks.slack.com/services/T0/B0/SECRET"}}}
	for _, as := range []string{"analyst", "viewer", "reporter"} {
		if r := env.call(as, "POST", "/api/v1/contacts", contact); r.status != http.StatusForbidden {
			t.Errorf("%s adding a contact: %d", as, r.status)
		}
	}
	r := env.call("lead", "POST", "/api/v1/contacts", contact)
	if r.status != http.StatusCreated {
		t.Fatalf("lead adding a contact: %d %s", r.status, r.body)
	}
	var created core.Contact
	r.json(t, &created)
	path := fmt.Sprintf("/api/v1/contacts/%d", created.ID)

	// Analysts read the tree but not the webhook's secret path.
	r = env.call("analyst", "GET", path, nil)
	if r.status != 200 || strings.Contains(string(r.body), "SECRET") || !strings.Contains(string(r.body), "hooks.slack.com") {
		t.Errorf("analyst reading a contact: %d %s", r.status, r.body)
	}
	if r := env.call("lead", "GET", path, nil); !strings.Contains(string(r.body), "SECRET") {
		t.Errorf("lead should see the address whole: %s", r.body)
	}
	for _, as := range []string{"reporter", "viewer"} {
		if r := env.call(as, "GET", "/api/v1/contacts", nil); r.status != http.StatusForbidden {
			t.Errorf("%s listing contacts: %d", as, r.status)
		}
	}
	// The audit trail keeps the contact without the secret.
	if r := env.call("admin", "GET", "/api/v1/contacts/999", nil); r.status != 404 {
		t.Errorf("missing contact: %d", r.status)
	}
	if r := env.call("admin", "GET", "/api/v1/contacts/abc", nil); r.status != 404 {
		t.Errorf("malformed id: %d", r.status)
	}

	bad := []struct {
		body  string
		field string
	}{
		{`{"name":""}`, "name"},
		{`{"name":"x","roles":["boss"]}`, "roles[0]"},
		{`{"name":"x","channels":[{"type":"email","address":"nope"}]}`, "channels[0].address"},
		{`{"name":"x","on_call_order":0}`, "on_call_order"},
		{`{"name":"x","user":"ghost"}`, "user"},
		{`{"name":"x","colour":"red"}`, ""},
	}
	before := env.eventCount()
	for _, b := range bad {
		r := env.call("lead", "POST", "/api/v1/contacts", b.body)
		if r.status < 400 || r.status >= 500 || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s", b.body, r.status, r.body)
		}
		if b.field != "" && !strings.Contains(string(r.body), b.field) {
			t.Errorf("%s: problem does not name %s: %s", b.body, b.field, r.body)
		}
	}
	if env.eventCount() != before {
		t.Error("refused contacts wrote audit events")
	}

	// Replace needs the version read.
	update := map[string]any{"name": "Legal 法務部", "roles": []string{"legal", "pr"}, "on_call_order": 1,
		"channels": []map[string]any{{"type": "email", "address": "legal@example.jp"}}}
	if r := env.call("lead", "PUT", path, update); r.status != http.StatusBadRequest {
		t.Errorf("replace without version: %d %s", r.status, r.body)
	}
	update["version"] = created.Version
	if r := env.call("lead", "PUT", path, update); r.status != 200 {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	if r := env.call("lead", "PUT", path, update); r.status != http.StatusConflict {
		t.Errorf("replace with a stale version: %d %s", r.status, r.body)
	}

	// Rules: analysts read, leads change; file rules are read-only (none here).
	rule := `{"id":"ransomware-execs","name":"Ransomware to executives","when":{"category":["ransomware"]},"notify":{"roles":["legal"]}}`
	if r := env.call("analyst", "POST", "/api/v1/escalation-rules", rule); r.status != http.StatusForbidden {
		t.Errorf("analyst saving a rule: %d", r.status)
	}
	if r := env.call("lead", "POST", "/api/v1/escalation-rules", rule); r.status != http.StatusCreated {
		t.Fatalf("lead saving a rule: %d %s", r.status, r.body)
	}
	if r := env.call("lead", "PUT", "/api/v1/escalation-rules/other-id", rule); r.status != http.StatusBadRequest {
		t.Errorf("id mismatch: %d %s", r.status, r.body)
	}
	r = env.call("lead", "POST", "/api/v1/escalation-rules", `{"id":"x","name":"x","when":{"not_acknowledged_for":"soon"},"notify":{"roles":["lead"]}}`)
	if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad duration: %d %s", r.status, r.body)
	}
	r = env.call("analyst", "GET", "/api/v1/escalation-rules", nil)
	if r.status != 200 || !strings.Contains(string(r.body), "ransomware-execs") || !strings.Contains(string(r.body), `"source":"builtin"`) {
		t.Errorf("list rules: %d %s", r.status, r.body)
	}

	// A restricted ransomware incident tells legal; the notification is
	// listed for members and hidden from others.
	key := env.mustCreate("admin", map[string]any{"title": "役員PCがランサムウェア感染", "category": "ransomware", "severity": "S3", "restricted": true})
	if r := env.call("admin", "PUT", "/api/v1/incidents/"+key+"/members/analyst", nil); r.status != 200 && r.status != 204 {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	r = env.call("analyst", "GET", "/api/v1/notifications?incident="+key, nil)
	if r.status != 200 || !strings.Contains(string(r.body), key) || strings.Contains(string(r.body), "役員PC") {
		t.Errorf("member listing notifications: %d %s", r.status, r.body)
	}
	r = env.call("analyst2", "GET", "/api/v1/notifications", nil)
	if r.status != 200 || strings.Contains(string(r.body), key) {
		t.Errorf("non-member sees the restricted incident's notification: %s", r.body)
	}
	if r := env.call("analyst2", "GET", "/api/v1/notifications?incident="+key, nil); r.status != 404 {
		t.Errorf("non-member filtering by the incident: %d", r.status)
	}
	if r := env.call("viewer", "GET", "/api/v1/notifications", nil); r.status != http.StatusForbidden {
		t.Errorf("viewer listing notifications: %d", r.status)
	}
	if r := env.call("analyst", "GET", "/api/v1/notifications?status=lost", nil); r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad status filter: %d", r.status)
	}
	if r := env.call("analyst", "POST", "/api/v1/notifications/1/retry", nil); r.status != http.StatusConflict {
		t.Errorf("retrying a pending notification: %d %s", r.status, r.body)
	}
	if r := env.call("analyst2", "POST", "/api/v1/notifications/1/retry", nil); r.status != http.StatusNotFound {
		t.Errorf("non-member retrying: %d %s", r.status, r.body)
	}

	if r := env.call("analyst", "DELETE", path, nil); r.status != http.StatusForbidden {
		t.Errorf("analyst deleting: %d", r.status)
	}
	if r := env.call("lead", "DELETE", path, nil); r.status != http.StatusNoContent {
		t.Errorf("lead deleting: %d %s", r.status, r.body)
	}
	if r := env.call("lead", "DELETE", "/api/v1/escalation-rules/ransomware-execs", nil); r.status != http.StatusNoContent {
		t.Errorf("delete rule: %d %s", r.status, r.body)
	}
	if r := env.call("lead", "DELETE", "/api/v1/escalation-rules/ransomware-execs", nil); r.status != http.StatusNotFound {
		t.Errorf("delete rule twice: %d", r.status)
	}
	env.eventCount() // the chain still verifies
}
