package deadline

import (
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Rule is one legal reporting duty: who must be told, on what legal basis,
// when the duty arises and when it falls due.
type Rule struct {
	ID        string
	Source    string // legal basis, as a lawyer would cite it
	Recipient string
	TitleJA   string
	TitleEN   string
	// Deadline states the due and warn-from rules in words; it is what a
	// reviewer checks the functions below against.
	Deadline string
	// Applies reports whether the incident starts this clock.
	Applies func(f Facts, cfg Config) bool
	// Due is the deadline for an awareness time start (UTC).
	Due func(start time.Time, f Facts, cfg Config) time.Time
	// WarnFrom is when the clock becomes "due soon"; Compute clamps it to
	// [start, due].
	WarnFrom func(start, due time.Time) time.Time
}

// Rule IDs, stable: they are stored with submissions and used in URLs.
const (
	APPIPreliminary    = "appi-ppc-preliminary"
	APPIFinal          = "appi-ppc-final"
	APPIIndividuals    = "appi-individuals"
	GDPRAuthority      = "gdpr-art33-authority"
	GDPRIndividuals    = "gdpr-art34-individuals"
	NIS2EarlyWarning   = "nis2-early-warning"
	NIS2Notification   = "nis2-notification"
	NIS2Final          = "nis2-final"
	appiReportableOver = 1000 // 施行規則 第7条第4号: 本人の数が千人を超える
	gdprHighRiskOver   = 1000 // irdesk's own threshold, mirrors APPI's
)

// Legal durations fixed by the texts.
const (
	appiPreliminaryDays     = 5  // 速やかに; PPC guidance: 概ね3〜5日以内. irdesk takes the outer bound.
	appiPreliminaryWarnDays = 3  // due soon from day 3, the inner bound of that guidance
	appiFinalDays           = 30 // 施行規則 第8条第2項
	appiFinalMaliciousDays  = 60 // 同項括弧書: 第7条第3号 (不正の目的) の事態
	appiFinalWarnDays       = 7
	appiIndividualsWarnDays = 3
	gdprAuthorityHours      = 72 * time.Hour
	nis2EarlyWarningHours   = 24 * time.Hour
	nis2NotificationHours   = 72 * time.Hour
)

// appiReportable is 個人情報保護法 第26条第1項 with 施行規則 第7条: a leak
// (漏えい, 滅失, 毀損, or the possibility of one — irdesk does not tell these
// apart) of personal data that is
//
//	第1号 要配慮個人情報 (sensitive personal data)        → SensitivePersonalData
//	第2号 不正利用により財産的被害が生じるおそれ          → FinancialDamageRisk
//	第3号 不正の目的をもって行われたおそれ                → MaliciousIntent
//	第4号 本人の数が千人を超える (more than 1,000 people) → PeopleAffected > 1000
//
// Items 1–3 apply from a single person. The exemption for data protected by
// advanced encryption (高度な暗号化) is not modelled: people record it by
// marking the clocks not required.
func appiReportable(f Facts) bool {
	fl := f.Flags
	return personalData(fl) && (fl.SensitivePersonalData || fl.FinancialDamageRisk || fl.MaliciousIntent ||
		fl.PeopleAffected > appiReportableOver)
}

// gdprApplies is GDPR Art. 33(1): a personal data breach concerning data
// subjects in the EU. The Art. 33(1) exception ("unlikely to result in a
// risk") is a judgement recorded by people as not required.
func gdprApplies(f Facts) bool { return personalData(f.Flags) && f.Flags.EUResidents }

// personalData is the PersonalData flag, also true when only the sensitive
// flag is set: sensitive personal data is personal data. core.Normalize keeps
// the two consistent; Facts built by other code may not.
func personalData(fl core.Flags) bool { return fl.PersonalData || fl.SensitivePersonalData }

// gdprHighRisk is irdesk's conservative reading of "likely to result in a
// high risk to the rights and freedoms" (Art. 34(1)): a breach of EU
// residents' personal data that involves sensitive data, a risk of
// financial damage, or more than 1,000 people. Regulators weigh more than
// this (identifiability, vulnerable subjects, ...); the clock is started
// early and people close it as not required when the assessment says so.
func gdprHighRisk(f Facts) bool {
	fl := f.Flags
	return gdprApplies(f) && (fl.SensitivePersonalData || fl.FinancialDamageRisk || fl.PeopleAffected > gdprHighRiskOver)
}

// nis2Applies starts the NIS2 clocks for every incident of an essential or
// important entity. Whether an incident is "significant" (Art. 23(3)) is a
// judgement the flags cannot make, and the 24-hour early warning leaves no
// time to wait for it: the clocks start, and people mark them not required
// for incidents that are not significant.
func nis2Applies(cfg Config) bool { return cfg.NIS2 == NIS2Essential || cfg.NIS2 == NIS2Important }

func appiFinalDue(start time.Time, f Facts, cfg Config) time.Time {
	days := appiFinalDays
	if f.Flags.MaliciousIntent {
		days = appiFinalMaliciousDays
	}
	return dueAfterDays(start, days, cfg.AwarenessDayIsDayOne)
}

// NIS2FinalDue is the NIS2 final report deadline once the incident
// notification was actually submitted at notified: one month later (Art.
// 23(4)(d)), as the same wall-clock time on the same day of the next month
// in JST, clamped to that month's last day. Compute can only run it from the
// notification's due time; when the notification goes in earlier, the app
// should recompute the final deadline with this function, which is earlier.
func NIS2FinalDue(notified time.Time) time.Time { return addMonthClamped(notified).UTC() }

// Rules are the legal clocks irdesk knows, in the order a list shows them
// when two fall due at the same moment. It is a table to read and to range
// over; nothing modifies it at run time (the organisation's own clocks go in
// Config.Custom).
var Rules = []Rule{
	{
		ID:        APPIPreliminary,
		Source:    "個人情報保護法 第26条第1項 / 施行規則 第7条・第8条第1項",
		Recipient: "個人情報保護委員会 (PPC)",
		TitleJA:   "漏えい等報告(速報)",
		TitleEN:   "APPI breach report to the PPC (preliminary)",
		Deadline: "The rule says 速やかに (promptly); PPC guidance reads this as about 3–5 days from awareness. " +
			"Due at the end of day 5 (JST), counting from the day after awareness (初日不算入); due soon from the start of day 3.",
		Applies: func(f Facts, _ Config) bool { return appiReportable(f) },
		Due: func(start time.Time, _ Facts, cfg Config) time.Time {
			return dueAfterDays(start, appiPreliminaryDays, cfg.AwarenessDayIsDayOne)
		},
		WarnFrom: lastDays(appiPreliminaryDays - appiPreliminaryWarnDays + 1),
	},
	{
		ID:        APPIFinal,
		Source:    "個人情報保護法 第26条第1項 / 施行規則 第7条・第8条第2項",
		Recipient: "個人情報保護委員会 (PPC)",
		TitleJA:   "漏えい等報告(確報)",
		TitleEN:   "APPI breach report to the PPC (final)",
		Deadline: "30 days from awareness, 60 days when the leak may have been done with an unlawful purpose (不正の目的, 施行規則 第7条第3号). " +
			"Counted from the day after awareness, due at the end of the last day (JST); due soon during the last 7 days.",
		Applies:  func(f Facts, _ Config) bool { return appiReportable(f) },
		Due:      appiFinalDue,
		WarnFrom: lastDays(appiFinalWarnDays),
	},
	{
		ID:        APPIIndividuals,
		Source:    "個人情報保護法 第26条第2項 / 施行規則 第10条",
		Recipient: "本人 (affected individuals)",
		TitleJA:   "本人への通知",
		TitleEN:   "APPI notice to the affected individuals",
		Deadline: "The rule says 当該事態の状況に応じて速やかに (promptly, as the situation allows) with no fixed period. " +
			"irdesk uses a configurable target, 7 days by default, counted like the PPC deadlines; due soon during the last 3 days.",
		Applies: func(f Facts, _ Config) bool { return appiReportable(f) },
		Due: func(start time.Time, _ Facts, cfg Config) time.Time {
			return dueAfterDays(start, cfg.appiIndividualsDays(), cfg.AwarenessDayIsDayOne)
		},
		WarnFrom: lastDays(appiIndividualsWarnDays),
	},
	{
		ID:        GDPRAuthority,
		Source:    "GDPR Art. 33(1)",
		Recipient: "Lead supervisory authority (EU)",
		TitleJA:   "GDPR 監督機関への個人データ侵害通知",
		TitleEN:   "GDPR breach notification to the supervisory authority",
		Deadline:  "Without undue delay and, where feasible, not later than 72 hours after becoming aware: exactly 72 h, not end of day. Due soon for the last 24 h.",
		Applies:   func(f Facts, _ Config) bool { return gdprApplies(f) },
		Due:       func(start time.Time, _ Facts, _ Config) time.Time { return start.Add(gdprAuthorityHours) },
		WarnFrom:  beforeDue(24 * time.Hour),
	},
	{
		ID:        GDPRIndividuals,
		Source:    "GDPR Art. 34(1)",
		Recipient: "Data subjects (EU)",
		TitleJA:   "GDPR データ主体への通知",
		TitleEN:   "GDPR communication to the data subjects",
		Deadline: "Without undue delay when the breach is likely to result in a high risk; irdesk assumes high risk for sensitive data, risk of financial damage or more than 1,000 people. " +
			"Configurable target, 72 h by default, exact time; due soon for the last 24 h.",
		Applies:  func(f Facts, _ Config) bool { return gdprHighRisk(f) },
		Due:      func(start time.Time, _ Facts, cfg Config) time.Time { return start.Add(cfg.gdprIndividualsTarget()) },
		WarnFrom: beforeDue(24 * time.Hour),
	},
	{
		ID:        NIS2EarlyWarning,
		Source:    "NIS2 Directive (EU) 2022/2555 Art. 23(4)(a)",
		Recipient: "CSIRT / competent authority (EU)",
		TitleJA:   "NIS2 早期警告",
		TitleEN:   "NIS2 early warning",
		Deadline:  "Without undue delay and within 24 hours of becoming aware of a significant incident: exactly 24 h. Due soon for the last 12 h.",
		Applies:   func(_ Facts, cfg Config) bool { return nis2Applies(cfg) },
		Due:       func(start time.Time, _ Facts, _ Config) time.Time { return start.Add(nis2EarlyWarningHours) },
		WarnFrom:  beforeDue(12 * time.Hour),
	},
	{
		ID:        NIS2Notification,
		Source:    "NIS2 Directive (EU) 2022/2555 Art. 23(4)(b)",
		Recipient: "CSIRT / competent authority (EU)",
		TitleJA:   "NIS2 インシデント通知",
		TitleEN:   "NIS2 incident notification",
		Deadline:  "Without undue delay and within 72 hours of becoming aware: exactly 72 h. Due soon for the last 24 h.",
		Applies:   func(_ Facts, cfg Config) bool { return nis2Applies(cfg) },
		Due:       func(start time.Time, _ Facts, _ Config) time.Time { return start.Add(nis2NotificationHours) },
		WarnFrom:  beforeDue(24 * time.Hour),
	},
	{
		ID:        NIS2Final,
		Source:    "NIS2 Directive (EU) 2022/2555 Art. 23(4)(d)",
		Recipient: "CSIRT / competent authority (EU)",
		TitleJA:   "NIS2 最終報告",
		TitleEN:   "NIS2 final report",
		Deadline: "Not later than one month after the incident notification. Computed from the notification's due time (72 h after awareness) as the same time " +
			"on the same day of the next month in JST, clamped to the month's last day (Jan 31 → Feb 28/29); see NIS2FinalDue. Due soon for the last 7 days.",
		Applies: func(_ Facts, cfg Config) bool { return nis2Applies(cfg) },
		Due: func(start time.Time, _ Facts, _ Config) time.Time {
			return NIS2FinalDue(start.Add(nis2NotificationHours))
		},
		WarnFrom: beforeDue(7 * 24 * time.Hour),
	},
}

func isBuiltin(id string) bool {
	for _, r := range Rules {
		if r.ID == id {
			return true
		}
	}
	return false
}
