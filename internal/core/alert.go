package core

import (
	"encoding/json"
	"slices"
	"time"
)

// AlertStatus is where an alert stands in triage.
type AlertStatus string

const (
	// AlertNew has not been looked at.
	AlertNew AlertStatus = "new"
	// AlertAcknowledged is being looked at.
	AlertAcknowledged AlertStatus = "acknowledged"
	// AlertPromoted belongs to an incident (opened from it, or attached).
	AlertPromoted AlertStatus = "promoted"
	// AlertSuppressed is known noise: repeats still count, nobody is bothered.
	AlertSuppressed AlertStatus = "suppressed"
	// AlertClosed is done with; a repeat after closing opens a new alert.
	AlertClosed AlertStatus = "closed"
)

// AlertStatuses lists every alert status.
var AlertStatuses = []AlertStatus{AlertNew, AlertAcknowledged, AlertPromoted, AlertSuppressed, AlertClosed}

// Valid reports whether s is a known alert status.
func (s AlertStatus) Valid() bool { return slices.Contains(AlertStatuses, s) }

// Open reports whether the alert still waits for a decision: acknowledging,
// closing, promoting and attaching start from here.
func (s AlertStatus) Open() bool { return s == AlertNew || s == AlertAcknowledged }

// CloseReason says why an alert was closed without an incident.
type CloseReason string

const (
	CloseFalsePositive CloseReason = "false_positive"
	CloseBenign        CloseReason = "benign"
	CloseDuplicate     CloseReason = "duplicate"
)

// CloseReasons lists every close reason.
var CloseReasons = []CloseReason{CloseFalsePositive, CloseBenign, CloseDuplicate}

// Valid reports whether r is a known close reason.
func (r CloseReason) Valid() bool { return slices.Contains(CloseReasons, r) }

// Observable is an indicator (address, name, hash...) in normalised form.
type Observable struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// IncidentObservable is an observable as an incident carries it, with
// what the analyst knows: tags, whether it is an indicator of compromise,
// and its TLP 2.0 marking.
type IncidentObservable struct {
	Observable
	Tags []string `json:"tags"`
	IOC  bool     `json:"ioc"`
	TLP  string   `json:"tlp,omitempty"`
}

// TLPs are the Traffic Light Protocol 2.0 markings.
var TLPs = []string{"clear", "green", "amber", "amber+strict", "red"}

// Alert is a stored tool alert: the normalised fields, the original
// payload, and how often it was seen. Repeats of the same fingerprint
// within the dedup window bump Count and LastSeen instead of adding rows.
type Alert struct {
	ID             int64        `json:"id"`
	Source         string       `json:"source"`
	SourceEventID  string       `json:"source_event_id,omitempty"`
	Fingerprint    string       `json:"fingerprint"`
	Status         AlertStatus  `json:"status"`
	CloseReason    CloseReason  `json:"close_reason,omitempty"`
	Severity       Severity     `json:"severity"`
	NativeSeverity string       `json:"native_severity,omitempty"`
	RuleID         string       `json:"rule_id,omitempty"`
	RuleName       string       `json:"rule_name,omitempty"`
	Title          string       `json:"title"`
	Host           string       `json:"host,omitempty"`
	User           string       `json:"user,omitempty"`
	SrcIP          string       `json:"src_ip,omitempty"`
	SrcPort        int          `json:"src_port,omitempty"`
	DstIP          string       `json:"dst_ip,omitempty"`
	DstPort        int          `json:"dst_port,omitempty"`
	Process        string       `json:"process,omitempty"`
	FileHash       string       `json:"file_hash,omitempty"`
	URL            string       `json:"url,omitempty"`
	Domain         string       `json:"domain,omitempty"`
	Email          string       `json:"email,omitempty"`
	EventTime      *time.Time   `json:"event_time,omitempty"`
	FirstSeen      time.Time    `json:"first_seen"`
	LastSeen       time.Time    `json:"last_seen"`
	Count          int64        `json:"count"`
	IncidentID     int64        `json:"-"`
	IncidentKey    string       `json:"incident,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	Observables    []Observable `json:"observables,omitempty"`
	// Raw is the tool's payload verbatim (a JSON string for line formats
	// such as CEF); only the single-alert read fills it.
	Raw json.RawMessage `json:"raw,omitempty"`
	// SuppressReason and SuppressedUntil (nil: no expiry) say why and how
	// long a suppressed alert stays quiet; Assignee is who should look at it.
	SuppressReason  string     `json:"suppress_reason,omitempty"`
	SuppressedUntil *time.Time `json:"suppressed_until,omitempty"`
	Assignee        string     `json:"assignee,omitempty"`
}

// Alert event types. They are part of the audit format: never rename one.
const (
	EvAlertIngested     = "alert.ingested"
	EvAlertAcknowledged = "alert.acknowledged"
	EvAlertClosed       = "alert.closed"
	EvAlertPromoted     = "alert.promoted"
	EvAlertAttached     = "alert.attached"
)
