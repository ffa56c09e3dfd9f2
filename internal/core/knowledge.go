package core

import (
	"slices"
	"time"
)

// KnowledgeKind says where a knowledge entry came from.
type KnowledgeKind string

const (
	// KnowledgeIncident is the review of a closed incident.
	KnowledgeIncident KnowledgeKind = "incident"
	// KnowledgeArticle is a free-standing how-to or runbook.
	KnowledgeArticle KnowledgeKind = "article"
)

// Limits on knowledge entries.
const (
	MaxTags     = 20
	MaxTagLen   = 50
	MaxMeasures = 100
)

// KnowledgeScope is how far an incident reached.
type KnowledgeScope struct {
	AffectedSystems []string `json:"affected_systems"`
	PeopleAffected  int64    `json:"people_affected"`
	PersonalData    bool     `json:"personal_data"`
}

// KnowledgeAction is one thing done during the incident, with the tool
// used: the "what was done" of the review, from the action records.
type KnowledgeAction struct {
	Phase       Phase     `json:"phase"`
	Description string    `json:"description"`
	PerformedBy string    `json:"performed_by"`
	PerformedAt time.Time `json:"performed_at"`
	Tool        string    `json:"tool,omitempty"`
}

// PhaseTime is how long an incident spent in one phase, over all its
// stays there.
type PhaseTime struct {
	Phase   Phase `json:"phase"`
	Seconds int64 `json:"seconds"`
	Stays   int   `json:"stays"`
}

// KnowledgeReview is what an entry keeps of its incident besides the
// texts: computed when the incident is closed, not edited afterwards.
type KnowledgeReview struct {
	Scope      KnowledgeScope    `json:"scope"`
	Actions    []KnowledgeAction `json:"actions"`
	Tools      []string          `json:"tools"`
	PhaseTimes []PhaseTime       `json:"phase_times"`
	// TotalSeconds is from detection (or filing) to closing.
	TotalSeconds int64      `json:"total_seconds"`
	DetectedAt   *time.Time `json:"detected_at,omitempty"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
}

// MeasureStatus is where a prevention measure stands.
type MeasureStatus string

const (
	MeasureOpen MeasureStatus = "open"
	MeasureDone MeasureStatus = "done"
)

// Valid reports whether s is a known status.
func (s MeasureStatus) Valid() bool { return s == MeasureOpen || s == MeasureDone }

// Measure is one prevention measure with its owner and due date.
type Measure struct {
	KnowledgeID int64         `json:"knowledge_id"`
	N           int           `json:"n"`
	Text        string        `json:"text"`
	OwnerID     int64         `json:"-"`
	Owner       string        `json:"owner,omitempty"`
	Due         string        `json:"due,omitempty"` // YYYY-MM-DD
	Status      MeasureStatus `json:"status"`
	DoneAt      *time.Time    `json:"done_at,omitempty"`
	UpdatedAt   time.Time     `json:"updated_at"`
	Version     int64         `json:"version"`
	// IncidentKey and Title say which entry the measure belongs to, in
	// lists across entries.
	IncidentKey string `json:"incident,omitempty"`
	Title       string `json:"title,omitempty"`
	Overdue     bool   `json:"overdue,omitempty"`
}

// Knowledge is one entry of the knowledge base.
type Knowledge struct {
	ID                 int64            `json:"id"`
	Kind               KnowledgeKind    `json:"kind"`
	IncidentID         int64            `json:"-"`
	IncidentKey        string           `json:"incident,omitempty"`
	Restricted         bool             `json:"restricted,omitempty"`
	Exercise           bool             `json:"exercise,omitempty"`
	Title              string           `json:"title"`
	Summary            string           `json:"summary,omitempty"`
	Body               string           `json:"body,omitempty"`
	Category           Category         `json:"category,omitempty"`
	CauseClass         CauseClass       `json:"cause_class,omitempty"`
	RootCause          string           `json:"root_cause,omitempty"`
	LessonsLearned     string           `json:"lessons_learned,omitempty"`
	PreventionMeasures string           `json:"prevention_measures,omitempty"`
	Review             *KnowledgeReview `json:"review,omitempty"`
	Measures           []Measure        `json:"measures,omitempty"`
	Tags               []string         `json:"tags"`
	Language           string           `json:"language,omitempty"`
	AuthorID           int64            `json:"-"`
	Author             string           `json:"author,omitempty"`
	CreatedAt          time.Time        `json:"created_at"`
	UpdatedAt          time.Time        `json:"updated_at"`
	Version            int64            `json:"version"`
}

// KnowledgeContent is the editable part of an entry, as the history keeps
// each replaced version.
type KnowledgeContent struct {
	Title              string   `json:"title"`
	Summary            string   `json:"summary,omitempty"`
	Body               string   `json:"body,omitempty"`
	RootCause          string   `json:"root_cause,omitempty"`
	LessonsLearned     string   `json:"lessons_learned,omitempty"`
	PreventionMeasures string   `json:"prevention_measures,omitempty"`
	Tags               []string `json:"tags"`
	Language           string   `json:"language,omitempty"`
}

// Content returns the editable part of k.
func (k *Knowledge) Content() KnowledgeContent {
	return KnowledgeContent{Title: k.Title, Summary: k.Summary, Body: k.Body, RootCause: k.RootCause,
		LessonsLearned: k.LessonsLearned, PreventionMeasures: k.PreventionMeasures,
		Tags: slices.Clone(k.Tags), Language: k.Language}
}

// SearchParts are the texts of k that search indexes, title first.
func (k *Knowledge) SearchParts() (title string, rest []string) {
	rest = []string{k.Summary, k.Body, k.RootCause, k.LessonsLearned, k.PreventionMeasures, string(k.Category)}
	rest = append(rest, k.Tags...)
	if k.Review != nil {
		rest = append(rest, k.Review.Scope.AffectedSystems...)
		rest = append(rest, k.Review.Tools...)
		for _, a := range k.Review.Actions {
			rest = append(rest, a.Description)
		}
	}
	return k.Title, rest
}

// KnowledgeVersion is a replaced version of an entry.
type KnowledgeVersion struct {
	Version    int64            `json:"version"`
	Content    KnowledgeContent `json:"content"`
	ReplacedBy string           `json:"replaced_by"`
	ReplacedAt time.Time        `json:"replaced_at"`
}

// SnippetPart is a piece of a search snippet; Match marks a matched term.
// A snippet is plain text in pieces, so a client escapes each piece and
// wraps the matches in whatever marks them (<mark> in HTML).
type SnippetPart struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// KnowledgeHit is one search result.
type KnowledgeHit struct {
	Knowledge *Knowledge    `json:"entry"`
	Rank      float64       `json:"rank"`
	Snippet   []SnippetPart `json:"snippet"`
	// TitleMarks is the title in pieces with its matches marked.
	TitleMarks []SnippetPart `json:"title_marks"`
}

// SimilarReason is one thing two incidents share.
type SimilarReason struct {
	// Kind is observable, system, category, cause_class or text.
	Kind   string   `json:"kind"`
	Values []string `json:"values,omitempty"`
	Score  float64  `json:"score"`
}

// SimilarIncident is an incident like another one, and why.
type SimilarIncident struct {
	Key      string          `json:"key"`
	Title    string          `json:"title"`
	Category Category        `json:"category"`
	Severity Severity        `json:"severity"`
	Phase    Phase           `json:"phase"`
	Exercise bool            `json:"exercise,omitempty"`
	ClosedAt *time.Time      `json:"closed_at,omitempty"`
	Score    float64         `json:"score"`
	Reasons  []SimilarReason `json:"reasons"`
	// KnowledgeID is the incident's review entry, when it has one.
	KnowledgeID int64 `json:"knowledge_id,omitempty"`
}

// CostCategory is what a cost was for (../shared/DOMAIN.md, "What an
// incident costs").
type CostCategory string

const (
	CostInvestigationRecovery CostCategory = "investigation_recovery"
	CostCompensation          CostCategory = "compensation"
	CostLegalFines            CostCategory = "legal_fines"
	CostBusinessInterruption  CostCategory = "business_interruption"
	CostConsulting            CostCategory = "consulting"
	CostNotificationPR        CostCategory = "notification_pr"
	CostStaffOvertime         CostCategory = "staff_overtime"
	CostRansom                CostCategory = "ransom"
	CostOther                 CostCategory = "other"
)

// CostCategories lists every category in the order reports show them.
var CostCategories = []CostCategory{CostInvestigationRecovery, CostCompensation, CostLegalFines,
	CostBusinessInterruption, CostConsulting, CostNotificationPR, CostStaffOvertime, CostRansom, CostOther}

// Valid reports whether c is a known category.
func (c CostCategory) Valid() bool { return slices.Contains(CostCategories, c) }

// CostStatus says whether an amount is an estimate or what was paid.
type CostStatus string

const (
	CostEstimate CostStatus = "estimate"
	CostActual   CostStatus = "actual"
)

// Valid reports whether s is a known status.
func (s CostStatus) Valid() bool { return s == CostEstimate || s == CostActual }

// CostKind is how the amount was arrived at.
type CostKind string

const (
	// CostAmount is an amount entered as it is.
	CostAmount CostKind = "amount"
	// CostStaffHours is hours × an hourly rate.
	CostStaffHours CostKind = "staff_hours"
)

// Valid reports whether k is a known kind.
func (k CostKind) Valid() bool { return k == CostAmount || k == CostStaffHours }

// MaxCostAmount bounds one item (in minor units) so that sums over any
// number of items a desk will ever hold stay far inside int64.
const MaxCostAmount = 1_000_000_000_000_000

// CostItem is one cost of an incident. Amount is an integer in the
// currency's minor unit (yen for JPY): money is never a float.
type CostItem struct {
	ID          int64        `json:"id"`
	IncidentID  int64        `json:"-"`
	IncidentKey string       `json:"incident"`
	Category    CostCategory `json:"category"`
	Kind        CostKind     `json:"kind"`
	Amount      int64        `json:"amount"`
	Currency    string       `json:"currency"`
	// Hours is in hundredths of an hour (150 = 1.5 h) for staff time.
	HoursX100 int64      `json:"-"`
	Hours     string     `json:"hours,omitempty"`
	Rate      int64      `json:"rate,omitempty"`
	Status    CostStatus `json:"status"`
	Date      string     `json:"date"` // YYYY-MM-DD
	Note      string     `json:"note,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedBy string     `json:"updated_by"`
	UpdatedAt time.Time  `json:"updated_at"`
	Version   int64      `json:"version"`
}

// CostTotal is a sum of costs in one currency for one group.
type CostTotal struct {
	Key       string `json:"key,omitempty"`
	Currency  string `json:"currency"`
	Estimated int64  `json:"estimated"`
	Actual    int64  `json:"actual"`
	Total     int64  `json:"total"`
	Items     int64  `json:"items"`
}
