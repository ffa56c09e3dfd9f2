package report

import (
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

// builder turns an Input into a document. Every user-visible string is a
// ja/en pair at the place it is used, so both languages are complete by
// construction.
type builder struct {
	in Input
}

func (b *builder) ja() bool { return b.in.Lang == LangJA }

// t picks the string of the report's language.
func (b *builder) t(ja, en string) string {
	if b.ja() {
		return ja
	}
	return en
}

func (b *builder) marker() string { return b.t("【要記入】", "[TO FILL IN]") }

// fill is content a person must still write; hint says what.
func (b *builder) fill(ja, en string) text { return text{S: b.t(ja, en), Mark: b.marker()} }

// val is s when it holds anything, else the fill-in marker with the hint.
func (b *builder) val(s, hintJA, hintEN string) text {
	if strings.TrimSpace(s) == "" {
		return b.fill(hintJA, hintEN)
	}
	return plain(strings.TrimSpace(s))
}

func (b *builder) time(t time.Time) string { return formatTime(t, b.in.TZ) }

// timeVal is a recorded time, or the fill-in marker when it was not recorded.
func (b *builder) timeVal(t *time.Time, hintJA, hintEN string) text {
	if t == nil || t.IsZero() {
		return b.fill(hintJA, hintEN)
	}
	return plain(b.time(*t))
}

func (b *builder) optTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return b.time(*t)
}

func (b *builder) dur(d time.Duration) string { return formatDuration(d, b.in.Lang) }

func (b *builder) people(n int64) string {
	return b.t(formatCount(n)+"人", formatCount(n)+" people")
}

func (b *builder) yesNo(v bool) string {
	if v {
		return b.t("該当", "yes")
	}
	return b.t("非該当", "no")
}

func (b *builder) check(v bool, label string) text {
	if v {
		return plain("☑ " + label)
	}
	return plain("☐ " + label)
}

// incidentLine names the incident: "INC-2026-0042 title".
func (b *builder) incidentLine() string {
	inc := b.in.Incident
	return strings.TrimSpace(inc.Key + " " + oneLine(inc.Title))
}

// commonMeta is the head every report starts with.
func (b *builder) commonMeta(extra ...field) []field {
	inc := b.in.Incident
	m := []field{
		fl(b.t("インシデント", "Incident"), plain(b.incidentLine())),
	}
	if inc.Exercise {
		m = append(m, fl(b.t("訓練", "Exercise"), plain(b.t("本件は訓練です", "This incident is an exercise"))))
	}
	m = append(m, extra...)
	m = append(m, fl(b.t("作成日時", "Drawn up"), plain(b.time(b.in.Now))))
	return m
}

func (b *builder) phaseName(p core.Phase) string {
	switch p {
	case core.PhaseDetect:
		return b.t("検知・報告", "Detection and report")
	case core.PhaseTriage:
		return b.t("初動対応", "First response (triage)")
	case core.PhaseInvestigate:
		return b.t("調査", "Investigation")
	case core.PhaseContain:
		return b.t("封じ込め・根絶", "Containment and eradication")
	case core.PhaseRecover:
		return b.t("復旧", "Recovery")
	case core.PhaseReview:
		return b.t("事後対応", "Post-incident review")
	case core.PhaseClosed:
		return b.t("クローズ", "Closed")
	}
	return string(p)
}

func (b *builder) categoryName(c core.Category) string {
	names := map[core.Category][2]string{
		core.CatMalware:          {"マルウェア感染", "Malware"},
		core.CatRansomware:       {"ランサムウェア", "Ransomware"},
		core.CatUnauthorized:     {"不正アクセス", "Unauthorised access"},
		core.CatDataLeak:         {"情報漏えい", "Information leak"},
		core.CatDoS:              {"DoS/DDoS攻撃", "DoS/DDoS"},
		core.CatWebDefacement:    {"Webサイト改ざん", "Web defacement"},
		core.CatTargetedAttack:   {"標的型攻撃", "Targeted attack"},
		core.CatPhishing:         {"フィッシング", "Phishing"},
		core.CatInsider:          {"内部不正", "Insider misuse"},
		core.CatLostDevice:       {"機器の紛失・盗難", "Lost or stolen device"},
		core.CatMisdelivery:      {"メール誤送信", "Mis-sent e-mail"},
		core.CatMisconfiguration: {"設定不備", "Misconfiguration"},
		core.CatSupplyChain:      {"サプライチェーン侵害", "Supply-chain compromise"},
		core.CatVulnerability:    {"脆弱性", "Vulnerability"},
		core.CatPolicyViolation:  {"ポリシー違反", "Policy violation"},
		core.CatOther:            {"その他", "Other"},
	}
	if n, ok := names[c]; ok {
		return b.t(n[0], n[1])
	}
	return string(c)
}

func (b *builder) causeName(c core.CauseClass) string {
	switch c {
	case core.CauseExternalAttack:
		return b.t("外部からの攻撃", "External attack")
	case core.CauseInsiderMisuse:
		return b.t("内部不正", "Insider misuse")
	case core.CauseHumanError:
		return b.t("ヒューマンエラー", "Human error")
	case core.CauseMisconfiguration:
		return b.t("設定不備・脆弱性", "Misconfiguration or vulnerability")
	}
	return string(c)
}

func (b *builder) stateName(s string) string {
	switch s {
	case deadline.StatePending:
		return b.t("未提出（期限前）", "pending")
	case deadline.StateDueSoon:
		return b.t("期限間近", "due soon")
	case deadline.StateOverdue:
		return b.t("期限超過", "overdue")
	case deadline.StateSubmitted:
		return b.t("提出済", "submitted")
	case deadline.StateNotRequired:
		return b.t("不要と判断", "not required")
	case deadline.StateExercise:
		return b.t("訓練（届出しない）", "exercise (not filed)")
	}
	return s
}

func (b *builder) clockTitle(c Clock) string {
	if b.ja() && c.TitleJA != "" {
		return c.TitleJA
	}
	if c.TitleEN != "" {
		return c.TitleEN
	}
	if c.TitleJA != "" {
		return c.TitleJA
	}
	return c.RuleID
}

// clocksWith are the clocks whose rule id starts with one of the prefixes
// (all of them for no prefix), in the order given.
func (b *builder) clocksWith(prefixes ...string) []Clock {
	var out []Clock
	for _, c := range b.in.Clocks {
		if len(prefixes) == 0 {
			out = append(out, c)
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(c.RuleID, p) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func (b *builder) clock(ruleID string) (Clock, bool) {
	for _, c := range b.in.Clocks {
		if c.RuleID == ruleID {
			return c, true
		}
	}
	return Clock{}, false
}

// clockTable lists legal reporting clocks: what, due, state, when
// submitted or decided, reference.
func (b *builder) clockTable(cs []Clock) *table {
	t := &table{Head: []string{b.t("報告", "Report"), b.t("期限", "Due"), b.t("状況", "Status"),
		b.t("提出・判断日時", "Submitted or decided"), b.t("受付番号等", "Reference")}}
	for _, c := range cs {
		ref := c.Reference
		if ref == "" {
			ref = "—"
		}
		t.Rows = append(t.Rows, []string{b.clockTitle(c), b.time(c.Due), b.stateName(c.State), b.optTime(c.At), ref})
	}
	return t
}

// awareness is when the organisation became aware: detection, or filing
// when detection was not recorded (as package deadline counts it).
func (b *builder) awareness() (time.Time, bool) {
	ts := b.in.Incident.Timestamps
	if ts.DetectedAt != nil && !ts.DetectedAt.IsZero() {
		return *ts.DetectedAt, true
	}
	if !ts.ReportedAt.IsZero() {
		return ts.ReportedAt, false
	}
	return time.Time{}, false
}

// actionsTable lists what was done, by whom, when, with which tool.
func (b *builder) actionsTable(acts []core.ActionRecord) *table {
	t := &table{Head: []string{b.t("日時", "When"), b.t("フェーズ", "Phase"), b.t("対応内容", "Action"),
		b.t("実施者", "Performed by"), b.t("ツール", "Tool"), b.t("記録者", "Recorded by")}}
	for _, a := range sortedActions(acts) {
		tool := a.Tool
		if tool == "" {
			tool = "—"
		}
		t.Rows = append(t.Rows, []string{b.time(a.PerformedAt), b.phaseName(a.Phase), a.Description, a.PerformedBy, tool, a.RecordedBy})
	}
	return t
}
