package web

import "net/http"

// routeList is the one list of API routes. openapi.json documents each;
// a test keeps the two in step.
func (s *Server) routeList() []route {
	return []route{
		{method: "GET", path: "/healthz", h: s.healthz, public: true},
		{method: "GET", path: "/readyz", h: s.readyz, public: true},
		{method: "GET", path: "/metrics", h: s.metrics, public: true},
		{method: "GET", path: "/api/v1/openapi.json", h: s.openAPI, public: true},

		{method: "POST", path: "/api/v1/auth/login", h: s.login, public: true},
		{method: "POST", path: "/api/v1/auth/logout", h: s.logout},
		{method: "GET", path: "/api/v1/me", h: s.me},
		{method: "POST", path: "/api/v1/me/password", h: s.changePassword},
		{method: "GET", path: "/auth/oidc/login", h: s.oidcLogin, public: true},
		{method: "GET", path: "/auth/oidc/callback", h: s.oidcCallback, public: true},

		{method: "GET", path: "/api/v1/users", h: s.listUsers},
		{method: "POST", path: "/api/v1/users", h: s.createUser},
		{method: "POST", path: "/api/v1/users/{name}/disable", h: s.setDisabled(true)},
		{method: "POST", path: "/api/v1/users/{name}/enable", h: s.setDisabled(false)},
		{method: "GET", path: "/api/v1/tokens", h: s.listTokens},
		{method: "POST", path: "/api/v1/tokens", h: s.createToken},
		{method: "DELETE", path: "/api/v1/tokens/{id}", h: s.revokeToken},

		{method: "POST", path: "/api/v1/incidents", h: s.createIncident},
		{method: "GET", path: "/api/v1/incidents", h: s.listIncidents},
		{method: "GET", path: "/api/v1/incidents/{key}", h: s.getIncident},
		{method: "PATCH", path: "/api/v1/incidents/{key}", h: s.updateIncident},
		{method: "POST", path: "/api/v1/incidents/{key}/phase", h: s.movePhase},
		{method: "POST", path: "/api/v1/incidents/{key}/assign", h: s.assign},
		{method: "GET", path: "/api/v1/incidents/{key}/comments", h: s.listComments},
		{method: "POST", path: "/api/v1/incidents/{key}/comments", h: s.addComment},
		{method: "GET", path: "/api/v1/incidents/{key}/actions", h: s.listActions},
		{method: "POST", path: "/api/v1/incidents/{key}/actions", h: s.recordAction},
		{method: "GET", path: "/api/v1/incidents/{key}/timeline", h: s.timeline},
		{method: "GET", path: "/api/v1/incidents/{key}/events", h: s.incidentEvents},
		{method: "GET", path: "/api/v1/events", h: s.listEvents},
		{method: "GET", path: "/api/v1/incidents/{key}/members", h: s.listMembers},
		{method: "PUT", path: "/api/v1/incidents/{key}/members/{user}", h: s.addMember},
		{method: "DELETE", path: "/api/v1/incidents/{key}/members/{user}", h: s.removeMember},
		{method: "GET", path: "/api/v1/incidents/{key}/clocks", h: s.listClocks},
		{method: "POST", path: "/api/v1/incidents/{key}/clocks/{rule}", h: s.recordClock},
		{method: "GET", path: "/api/v1/clocks", h: s.dueClocks},
		{method: "GET", path: "/api/v1/playbooks", h: s.listPlaybooks},
		{method: "GET", path: "/api/v1/incidents/{key}/observables", h: s.listObservables},
		{method: "POST", path: "/api/v1/incidents/{key}/observables", h: s.addObservables},
		{method: "GET", path: "/api/v1/observables/{type}/{value...}", h: s.sightings},
		{method: "GET", path: "/api/v1/incidents/{key}/reports/{kind}", h: s.report},
		{method: "GET", path: "/api/v1/incidents/{key}/reports/{kind}/edits", h: s.reportEdits},
		{method: "PUT", path: "/api/v1/incidents/{key}/reports/{kind}/edits", h: s.saveReportEdits},
		{method: "DELETE", path: "/api/v1/incidents/{key}/reports/{kind}/edits", h: s.discardReportEdits},
		{method: "GET", path: "/api/v1/incidents/{key}/tasks", h: s.listTasks},
		{method: "POST", path: "/api/v1/incidents/{key}/tasks", h: s.createTask},
		{method: "PATCH", path: "/api/v1/incidents/{key}/tasks/{task}", h: s.updateTask},
		{method: "POST", path: "/api/v1/incidents/{key}/tasks/{task}/complete", h: s.completeTask},
		{method: "POST", path: "/api/v1/incidents/{key}/evidence", h: s.uploadEvidence},
		{method: "GET", path: "/api/v1/incidents/{key}/evidence", h: s.listEvidence},
		{method: "GET", path: "/api/v1/incidents/{key}/evidence/{id}", h: s.getEvidence},
		{method: "GET", path: "/api/v1/incidents/{key}/evidence/{id}/download", h: s.downloadEvidence},
		{method: "POST", path: "/api/v1/incidents/{key}/evidence/{id}/handover", h: s.handOverEvidence},
		{method: "POST", path: "/api/v1/incidents/{key}/evidence/{id}/verify", h: s.verifyEvidence},
		{method: "GET", path: "/api/v1/incidents/{key}/evidence/{id}/custody", h: s.custodyLog},
		{method: "GET", path: "/api/v1/incidents/{key}/similar", h: s.similarIncidents},
		{method: "GET", path: "/api/v1/incidents/{key}/costs", h: s.listCosts},
		{method: "POST", path: "/api/v1/incidents/{key}/costs", h: s.addCost},
		{method: "PATCH", path: "/api/v1/incidents/{key}/costs/{id}", h: s.updateCost},
		{method: "DELETE", path: "/api/v1/incidents/{key}/costs/{id}", h: s.deleteCost},
		{method: "GET", path: "/api/v1/costs/summary", h: s.costSummary},
		{method: "GET", path: "/api/v1/response-actions", h: s.listResponseActions},
		{method: "POST", path: "/api/v1/incidents/{key}/actions/run", h: s.runAction},
		{method: "GET", path: "/api/v1/incidents/{key}/action-runs", h: s.listActionRuns},
		{method: "GET", path: "/api/v1/incidents/{key}/action-runs/{id}", h: s.getActionRun},
		{method: "POST", path: "/api/v1/incidents/{key}/action-runs/{id}/approve", h: s.approveActionRun},
		{method: "POST", path: "/api/v1/incidents/{key}/action-runs/{id}/reject", h: s.decideActionRun("reject")},
		{method: "POST", path: "/api/v1/incidents/{key}/action-runs/{id}/cancel", h: s.decideActionRun("cancel")},
		{method: "GET", path: "/api/v1/action-runs", h: s.listActionRuns},

		{method: "GET", path: "/api/v1/search", h: s.search},
		{method: "GET", path: "/api/v1/stats", h: s.stats},
		{method: "GET", path: "/api/v1/stats/costs", h: s.statsCosts},
		{method: "GET", path: "/api/v1/knowledge", h: s.searchKnowledge},
		{method: "POST", path: "/api/v1/knowledge", h: s.createArticle},
		{method: "GET", path: "/api/v1/knowledge/{id}", h: s.getKnowledge},
		{method: "PUT", path: "/api/v1/knowledge/{id}", h: s.updateKnowledge},
		{method: "GET", path: "/api/v1/knowledge/{id}/history", h: s.knowledgeHistory},
		{method: "POST", path: "/api/v1/knowledge/{id}/measures", h: s.addMeasure},
		{method: "PATCH", path: "/api/v1/knowledge/{id}/measures/{n}", h: s.updateMeasure},
		{method: "GET", path: "/api/v1/measures", h: s.listMeasures},

		{method: "GET", path: "/api/v1/contacts", h: s.listContacts},
		{method: "POST", path: "/api/v1/contacts", h: s.createContact},
		{method: "GET", path: "/api/v1/contacts/{id}", h: s.getContact},
		{method: "PUT", path: "/api/v1/contacts/{id}", h: s.replaceContact},
		{method: "DELETE", path: "/api/v1/contacts/{id}", h: s.deleteContact},
		{method: "GET", path: "/api/v1/escalation-rules", h: s.listEscalationRules},
		{method: "POST", path: "/api/v1/escalation-rules", h: s.saveEscalationRule},
		{method: "PUT", path: "/api/v1/escalation-rules/{id}", h: s.saveEscalationRule},
		{method: "DELETE", path: "/api/v1/escalation-rules/{id}", h: s.deleteEscalationRule},
		{method: "GET", path: "/api/v1/notifications", h: s.listNotifications},
		{method: "POST", path: "/api/v1/notifications/{id}/retry", h: s.retryNotification},

		{method: "POST", path: "/api/v1/alerts", h: s.ingestAlerts},
		{method: "POST", path: "/api/v1/alerts/{format}", h: s.ingestAlerts},
		{method: "GET", path: "/api/v1/alerts", h: s.listAlerts},
		{method: "GET", path: "/api/v1/alerts/{id}", h: s.getAlert},
		{method: "GET", path: "/api/v1/alerts/{id}/occurrences", h: s.alertOccurrences},
		{method: "POST", path: "/api/v1/alerts/{id}/acknowledge", h: s.acknowledgeAlert},
		{method: "POST", path: "/api/v1/alerts/{id}/close", h: s.closeAlert},
		{method: "POST", path: "/api/v1/alerts/{id}/promote", h: s.promoteAlert},
		{method: "POST", path: "/api/v1/alerts/{id}/attach", h: s.attachAlert},
		{method: "POST", path: "/api/v1/alerts/bulk", h: s.bulkAlerts},

		{method: "GET", path: "/api/v1/triage/rules", h: s.listTriageRules},
		{method: "POST", path: "/api/v1/triage/rules", h: s.createTriageRule},
		{method: "PUT", path: "/api/v1/triage/rules/{id}", h: s.updateTriageRule},
		{method: "DELETE", path: "/api/v1/triage/rules/{id}", h: s.deleteTriageRule},
		{method: "POST", path: "/api/v1/triage/rules/test", h: s.testTriageRule},

		{method: "GET", path: "/api/v1/incidents/{key}/export/stix", h: s.exportSTIX},
		{method: "GET", path: "/api/v1/incidents/{key}/export/misp", h: s.exportMISP},
		{method: "GET", path: "/api/v1/incidents/export", h: s.exportIncidents},
		{method: "GET", path: "/api/v1/alerts/export", h: s.exportAlerts},
		{method: "GET", path: "/api/v1/alerts/{id}/watchlist", h: s.alertWatchlist},
		{method: "POST", path: "/api/v1/watchlist/import", h: s.importWatchlist},
		{method: "GET", path: "/api/v1/watchlist", h: s.listWatchlist},
		{method: "DELETE", path: "/api/v1/watchlist/{id}", h: s.deleteWatchlistEntry},
		{method: "POST", path: "/api/v1/watchlist/recheck", h: s.recheckWatchlist},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 503 while the database does not answer, so a load
// balancer stops sending traffic to this node.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.Ping(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.registry.WriteText(w)
	return nil
}
