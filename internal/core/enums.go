package core

import (
	"slices"
)

// Category is the type of incident; it selects the playbook.
type Category string

// Categories users pick from (../shared/DOMAIN.md, "Incident types").
const (
	CatMalware          Category = "malware"
	CatRansomware       Category = "ransomware"
	CatUnauthorized     Category = "unauthorized_access"
	CatDataLeak         Category = "data_leak"
	CatDoS              Category = "dos"
	CatWebDefacement    Category = "web_defacement"
	CatTargetedAttack   Category = "targeted_attack"
	CatPhishing         Category = "phishing"
	CatInsider          Category = "insider"
	CatLostDevice       Category = "lost_device"
	CatMisdelivery      Category = "misdelivery"
	CatMisconfiguration Category = "misconfiguration"
	CatSupplyChain      Category = "supply_chain"
	CatVulnerability    Category = "vulnerability"
	CatPolicyViolation  Category = "policy_violation"
	CatOther            Category = "other"
)

// Categories lists every category in the order a picker shows them.
var Categories = []Category{
	CatMalware, CatRansomware, CatUnauthorized, CatDataLeak, CatDoS, CatWebDefacement,
	CatTargetedAttack, CatPhishing, CatInsider, CatLostDevice, CatMisdelivery,
	CatMisconfiguration, CatSupplyChain, CatVulnerability, CatPolicyViolation, CatOther,
}

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return slices.Contains(Categories, c) }

// InfoType says what kind of information leaked; each is handled differently
// (who is told, what is published), so it only applies to data_leak.
type InfoType string

const (
	InfoPersonal       InfoType = "personal"
	InfoPublicInterest InfoType = "public_interest"
	InfoGeneral        InfoType = "general"
)

// InfoTypes lists every information type.
var InfoTypes = []InfoType{InfoPersonal, InfoPublicInterest, InfoGeneral}

// Valid reports whether t is a known information type.
func (t InfoType) Valid() bool { return slices.Contains(InfoTypes, t) }

// CauseClass is one of the four causes of the domain brief.
type CauseClass string

const (
	CauseExternalAttack   CauseClass = "external_attack"
	CauseInsiderMisuse    CauseClass = "insider_misuse"
	CauseHumanError       CauseClass = "human_error"
	CauseMisconfiguration CauseClass = "misconfiguration_or_vulnerability"
)

// CauseClasses lists every cause class.
var CauseClasses = []CauseClass{CauseExternalAttack, CauseInsiderMisuse, CauseHumanError, CauseMisconfiguration}

// Valid reports whether c is a known cause class.
func (c CauseClass) Valid() bool { return slices.Contains(CauseClasses, c) }

// Severity is S1 (most severe) to S4.
type Severity string

const (
	S1 Severity = "S1"
	S2 Severity = "S2"
	S3 Severity = "S3"
	S4 Severity = "S4"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{S1, S2, S3, S4}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Role is what a user may do. Roles are ordered: each includes the
// permissions of the ones below it, except reporter, which is narrower
// than viewer in what it may read (only its own reports) and wider in what
// it may write (it files reports).
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleLead     Role = "lead"
	RoleAnalyst  Role = "analyst"
	RoleReporter Role = "reporter"
	RoleViewer   Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleLead, RoleAnalyst, RoleReporter, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// AtLeastAnalyst reports whether the role works incidents (analyst, lead, admin).
func (r Role) AtLeastAnalyst() bool { return r == RoleAdmin || r == RoleLead || r == RoleAnalyst }

// AtLeastLead reports whether the role commands incidents (lead, admin).
func (r Role) AtLeastLead() bool { return r == RoleAdmin || r == RoleLead }
