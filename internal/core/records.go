package core

import (
	"encoding/json"
	"time"
)

// Comment is a note on an incident, tied to the phase it was written in.
type Comment struct {
	ID         int64     `json:"id"`
	IncidentID int64     `json:"-"`
	Phase      Phase     `json:"phase"`
	Author     string    `json:"author"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// ActionRecord says what was done, by whom, when and with which tool. The
// person who did it may differ from the one recording it (a vendor
// engineer, a colleague on the phone), so both are kept.
type ActionRecord struct {
	ID          int64     `json:"id"`
	IncidentID  int64     `json:"-"`
	Phase       Phase     `json:"phase"`
	Description string    `json:"description"`
	PerformedBy string    `json:"performed_by"`
	PerformedAt time.Time `json:"performed_at"`
	Tool        string    `json:"tool,omitempty"`
	RecordedBy  string    `json:"recorded_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// Event is one row of the append-only audit trail, which is also the
// incident timeline. Hash = SHA-256(PrevHash || canonical event); see
// package audit.
type Event struct {
	ID          int64           `json:"id"`
	Time        time.Time       `json:"time"`
	ActorID     int64           `json:"-"`
	Actor       string          `json:"actor"`
	IncidentID  int64           `json:"-"`
	IncidentKey string          `json:"incident,omitempty"`
	Type        string          `json:"type"`
	Payload     json.RawMessage `json:"payload"`
	PrevHash    string          `json:"prev_hash"`
	Hash        string          `json:"hash"`
}

// Event types. They are part of the audit format: never rename one.
const (
	EvIncidentCreated  = "incident.created"
	EvIncidentUpdated  = "incident.updated"
	EvPhaseChanged     = "incident.phase_changed"
	EvAssigned         = "incident.assigned"
	EvCommentAdded     = "incident.comment_added"
	EvActionRecorded   = "incident.action_recorded"
	EvMemberAdded      = "incident.member_added"
	EvMemberRemoved    = "incident.member_removed"
	EvClockRecorded    = "incident.clock_recorded"
	EvTaskCreated      = "incident.task_created"
	EvTaskUpdated      = "incident.task_updated"
	EvObservablesAdded = "incident.observables_added"
	// EvEscalated records an escalation rule firing: which rule, why and
	// who was told.
	EvEscalated             = "incident.escalated"
	EvNotificationRetried   = "notification.retried"
	EvContactCreated        = "contact.created"
	EvContactUpdated        = "contact.updated"
	EvContactDeleted        = "contact.deleted"
	EvEscalationRuleSaved   = "escalation.rule_saved"
	EvEscalationRuleDeleted = "escalation.rule_deleted"
	// EvReportEdited records hand edits of a report draft, in full.
	EvReportEdited         = "incident.report_edited"
	EvReportEditsDiscarded = "incident.report_edits_discarded"
	// EvOccurrencesPruned records the retention job deleting old alert
	// occurrences.
	EvOccurrencesPruned = "alert.occurrences_pruned"
	EvUserCreated       = "user.created"
	EvUserDisabled      = "user.disabled"
	EvPasswordChanged   = "user.password_changed"
	EvPasswordReset     = "user.password_reset"
	EvTokenCreated      = "token.created"
	EvTokenRevoked      = "token.revoked"
	EvLogin             = "auth.login"
	EvLoginFailed       = "auth.login_failed"
	EvLogout            = "auth.logout"
	EvUserPrefsChanged  = "user.preferences_changed"
)

// Sharing event types: exports that leave the desk and the watchlist of
// indicators others shared. Part of the audit format like those above.
const (
	EvIncidentExported      = "incident.exported"
	EvBulkExported          = "export.bulk"
	EvWatchlistImported     = "watchlist.imported"
	EvWatchlistEntryDeleted = "watchlist.entry_deleted"
	EvWatchlistRechecked    = "watchlist.rechecked"
	EvAlertWatchlistMatched = "alert.watchlist_matched"
)

// Evidence chain-of-custody event types: each is also filed in the item's
// custody log. Part of the audit format like those above.
const (
	EvEvidenceAdded      = "evidence.added"
	EvEvidenceDownloaded = "evidence.downloaded"
	EvEvidenceHandedOver = "evidence.handed_over"
	EvEvidenceVerified   = "evidence.verified"
	EvEvidencePurged     = "evidence.purged"
)

// Triage event types: what a triage rule or a bulk action did to an
// alert, and changes to the rules. Rule-made events name the rule in
// their payload ("rule", "rule_name"). Part of the audit format.
const (
	EvAlertSeverityChanged = "alert.severity_changed"
	EvAlertSuppressed      = "alert.suppressed"
	EvAlertUnsuppressed    = "alert.unsuppressed"
	EvAlertAssigned        = "alert.assigned"
	EvTriageRuleCreated    = "triage.rule_created"
	EvTriageRuleUpdated    = "triage.rule_updated"
	EvTriageRuleDeleted    = "triage.rule_deleted"
)

// Knowledge base and cost event types. Part of the audit format. An
// incident's review entry and its costs carry the incident's id; an
// article's events carry none.
const (
	EvKnowledgeCreated = "knowledge.created"
	EvKnowledgeUpdated = "knowledge.updated"
	EvMeasureAdded     = "knowledge.measure_added"
	EvMeasureUpdated   = "knowledge.measure_updated"
	EvCostAdded        = "incident.cost_added"
	EvCostUpdated      = "incident.cost_updated"
	EvCostDeleted      = "incident.cost_deleted"
)

// Response action event types: a run asked for, approved (destructive
// actions), and its outcome. Part of the audit format.
const (
	EvActionRequested = "action.requested"
	EvActionApproved  = "action.approved"
	EvActionSucceeded = "action.succeeded"
	EvActionFailed    = "action.failed"
	// EvActionRejected records a lead refusing a run awaiting approval,
	// with the reason; EvActionCancelled a run withdrawn before it started.
	EvActionRejected  = "action.rejected"
	EvActionCancelled = "action.cancelled"
	// EvLoginOIDC records a sign-in through OpenID Connect (with the
	// issuer, the subject and the role the group claim gave).
	EvLoginOIDC = "auth.login_oidc"
	// EvLoginOIDCRefused records a refused one (disabled user, no role).
	EvLoginOIDCRefused = "auth.login_oidc_refused"
)

// Two-step sign-in (TOTP) and user administration event types. Part of
// the audit format. No payload ever holds a secret, a code or a recovery
// code.
const (
	EvTOTPEnrolStarted = "auth.totp_enrol_started"
	EvTOTPEnabled      = "auth.totp_enabled"
	EvTOTPDisabled     = "auth.totp_disabled"
	EvTOTPReset        = "auth.totp_reset"
	EvRecoveryCodeUsed = "auth.recovery_code_used"
	EvUserRoleChanged  = "user.role_changed"
)

// User is a person (or a tool account) that signs in.
type User struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email,omitempty"`
	Role        Role      `json:"role"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// Token is an API token's public part; the secret is only ever shown once.
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"-"`
	User       string     `json:"user"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}
