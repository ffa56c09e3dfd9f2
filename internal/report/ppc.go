package report

import (
	"strings"

	"github.com/irdesk/irdesk/internal/deadline"
)

// PPC report items, in the order of the PPC's form (個人情報保護法施行規則
// 第8条第1項各号). Tests check every one appears.
var ppcItemsJA = []string{
	"1. 概要",
	"2. 漏えい等が発生し、又は発生したおそれがある個人データの項目",
	"3. 漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数",
	"4. 原因",
	"5. 二次被害又はそのおそれの有無及びその内容",
	"6. 本人への対応の実施状況",
	"7. 公表の実施状況",
	"8. 再発防止のための措置",
	"9. その他参考となる事項",
}

var ppcItemsEN = []string{
	"1. Overview",
	"2. Items of personal data leaked or possibly leaked",
	"3. Number of individuals whose personal data leaked or possibly leaked",
	"4. Cause",
	"5. Secondary damage or risk of it, and its nature",
	"6. Measures taken towards the individuals",
	"7. Public announcement",
	"8. Measures to prevent recurrence",
	"9. Other matters for reference",
}

// ppc drafts the report to the Personal Information Protection Commission.
func (b *builder) ppc() *document {
	inc := b.in.Incident
	final := b.in.PPCStage == StageFinal
	items := ppcItemsEN
	if b.ja() {
		items = ppcItemsJA
	}
	stageRule := deadline.APPIPreliminary
	stage := b.t("速報（個人情報保護法施行規則第8条第1項）", "Preliminary report (速報; APPI Enforcement Rules Art. 8(1))")
	title := b.t("個人情報保護委員会への漏えい等報告（速報）下書き", "Draft: report of a personal data breach to the PPC (preliminary)")
	if final {
		stageRule = deadline.APPIFinal
		stage = b.t("確報（個人情報保護法施行規則第8条第2項）", "Final report (確報; APPI Enforcement Rules Art. 8(2))")
		title = b.t("個人情報保護委員会への漏えい等報告（確報）下書き", "Draft: report of a personal data breach to the PPC (final)")
	}
	d := &document{Title: title}
	d.Notice = b.t(
		"本書は irdesk がインシデントの記録から作成した下書きです。「【要記入】」の箇所を記入し、全体を確認のうえ、個人情報保護委員会の報告フォームに転記してください。",
		"This is a draft irdesk drew up from the incident record. Fill in every \"[TO FILL IN]\", check the whole text, then transfer it to the PPC's reporting form (which is in Japanese).")
	due := b.fill("報告期限を確認（本件には記録された法定期限がありません）", "check the due date (no legal clock is recorded for this incident)")
	if c, ok := b.clock(stageRule); ok {
		due = plain(b.time(c.Due) + " (" + b.stateName(c.State) + ")")
	}
	d.Meta = b.commonMeta(
		fl(b.t("報告の種類", "Report"), plain(stage)),
		fl(b.t("本報告の期限", "Due"), due),
	)

	// Who reports: not in the incident record.
	d.Sections = append(d.Sections, sec(2, b.t("報告者", "Reporting business"), fields(
		fl(b.t("事業者の名称", "Name of the business"), b.fill("法人名", "legal name")),
		fl(b.t("所在地", "Address"), b.fill("本店所在地", "registered address")),
		fl(b.t("代表者", "Representative"), b.fill("代表者の氏名・役職", "name and title of the representative")),
		fl(b.t("担当者・連絡先", "Contact person"), b.fill("部署・氏名・電話番号・メールアドレス", "department, name, phone, e-mail")),
	)))

	// Which of the reportable situations applies (規則第7条各号).
	f := inc.Flags
	d.Sections = append(d.Sections, sec(2, b.t("報告対象となる事態（個人情報保護法施行規則第7条）", "Reportable situation (APPI Enforcement Rules Art. 7)"), list(
		b.check(f.SensitivePersonalData, b.t("要配慮個人情報が含まれる（第1号）", "sensitive personal data is involved (item 1)")),
		b.check(f.FinancialDamageRisk, b.t("不正に利用されることにより財産的被害が生じるおそれがある（第2号）", "misuse may cause financial damage (item 2)")),
		b.check(f.MaliciousIntent, b.t("不正の目的をもって行われたおそれがある（第3号）", "may have been done for an unlawful purpose (item 3)")),
		b.check(f.PeopleAffected > 1000, b.t("本人の数が1,000人を超える（第4号）", "more than 1,000 individuals (item 4)")),
	)))

	// Legal due dates.
	var clockBlock block
	if cs := b.clocksWith("appi-"); len(cs) > 0 {
		clockBlock = block{Table: b.clockTable(cs)}
	} else {
		clockBlock = para(b.fill("報告義務の有無と期限を確認（本件には個人情報保護法の報告期限が記録されていません）",
			"check whether a report is required and when (no APPI clock is recorded for this incident)"))
	}
	d.Sections = append(d.Sections, sec(2, b.t("法定の報告期限", "Legal due dates"), clockBlock))

	// 1. Overview.
	what := inc.Facts.What
	if strings.TrimSpace(what) == "" {
		what = inc.Description
	}
	overview := []field{
		fl(b.t("発生日時", "When it happened"), b.timeVal(inc.Facts.OccurredAt, "発生日時（不明の場合は推定とその根拠）", "when it happened (if unknown, an estimate and why)")),
		fl(b.t("発覚日時（漏えい等を知った日時）", "When the business became aware"), b.timeVal(inc.Timestamps.DetectedAt, "漏えい等を知った日時", "when the business became aware")),
		fl(b.t("発見者", "Found by"), b.val(inc.Facts.DiscoveredBy, "発見者（部署・外部からの指摘等）", "who found it (department, outside notice...)")),
		fl(b.t("発覚の経緯", "How it was found"), b.val(inc.Facts.HowFound, "発覚の経緯", "how it was found")),
		fl(b.t("発生場所", "Where"), b.val(inc.Facts.Location, "発生場所（拠点・システム）", "where (site, system)")),
		fl(b.t("事案の種類", "Type of incident"), plain(b.categoryName(inc.Category))),
		fl(b.t("事案の概要", "What happened"), b.val(what, "何が起きたか（時系列で簡潔に）", "what happened (briefly, in order)")),
	}
	if strings.TrimSpace(inc.Facts.What) != "" && strings.TrimSpace(inc.Description) != "" {
		overview = append(overview, fl(b.t("詳細", "Details"), plain(strings.TrimSpace(inc.Description))))
	}
	d.Sections = append(d.Sections, sec(2, items[0], fields(overview...)))

	// 2. Items of personal data: not recorded as structured data.
	sensitive := b.t("記録上、要配慮個人情報は含まれない（要確認）", "no sensitive personal data according to the record (to be checked)")
	if f.SensitivePersonalData {
		sensitive = b.t("要配慮個人情報を含む", "includes sensitive personal data")
	}
	d.Sections = append(d.Sections, sec(2, items[1], fields(
		fl(b.t("項目", "Items"), b.fill("氏名、住所、電話番号、メールアドレス、生年月日、クレジットカード番号等、該当する項目を列挙",
			"list the items: name, address, phone number, e-mail, date of birth, card number...")),
		fl(b.t("要配慮個人情報", "Sensitive personal data"), plain(sensitive)),
		fl(b.t("媒体", "Medium"), b.fill("電子データ／紙媒体の別、保管場所", "electronic or paper, where it was kept")),
	)))

	// 3. Number of individuals.
	var count text
	switch {
	case f.PeopleAffected > 0 && final:
		count = plain(b.people(f.PeopleAffected))
	case f.PeopleAffected > 0:
		count = plain(b.people(f.PeopleAffected) + b.t("（速報時点の見込み。確報で確定値を記入）", " (estimate at the time of the preliminary report; confirm in the final report)"))
	default:
		count = b.fill("本人の数（不明の場合は見込みの数）", "number of individuals (an estimate if not yet known)")
	}
	d.Sections = append(d.Sections, sec(2, items[2], para(count)))

	// 4. Cause.
	cause := b.fill("原因の分類（外部からの攻撃・内部不正・ヒューマンエラー・設定不備等）", "cause class (external attack, insider misuse, human error, misconfiguration...)")
	if inc.CauseClass != "" {
		cause = plain(b.causeName(inc.CauseClass))
	}
	detail := inc.RootCause
	if strings.TrimSpace(detail) == "" {
		detail = inc.Facts.Why
	}
	d.Sections = append(d.Sections, sec(2, items[3], fields(
		fl(b.t("原因の分類", "Cause class"), cause),
		fl(b.t("原因の詳細", "Details"), b.val(detail, "漏えい等が発生した原因（調査中の場合はその旨と判明している事項）", "how it came about (if still under investigation, say so and what is known)")),
	)))

	// 5. Secondary damage.
	var damage []text
	if f.FinancialDamageRisk {
		damage = append(damage, plain(b.t("不正利用による財産的被害のおそれあり（記録上）", "risk of financial damage through misuse (per the record)")))
	}
	damage = append(damage, b.fill("二次被害の有無及びその内容（不正利用、なりすまし、フィッシングメール等の報告の有無）",
		"whether secondary damage occurred or may occur, and what (misuse, impersonation, phishing reported...)"))
	d.Sections = append(d.Sections, sec(2, items[4], list(damage...)))

	// 6. Measures towards the individuals.
	var toPeople []text
	if c, ok := b.clock(deadline.APPIIndividuals); ok {
		s := b.clockTitle(c) + ": " + b.stateName(c.State)
		if c.At != nil {
			s += " (" + b.time(*c.At) + ")"
		} else {
			s += b.t("（期限 ", " (due ") + b.time(c.Due) + ")"
		}
		toPeople = append(toPeople, plain(s))
	}
	toPeople = append(toPeople, b.fill("本人への通知の方法・時期・内容、問合せ窓口の設置状況", "how and when individuals were or will be told, what they were told, the contact point set up"))
	d.Sections = append(d.Sections, sec(2, items[5], list(toPeople...)))

	// 7. Public announcement.
	d.Sections = append(d.Sections, sec(2, items[6], para(b.fill("公表の有無、日付、方法（予定を含む）", "whether, when and how it was or will be made public"))))

	// 8. Prevention.
	d.Sections = append(d.Sections, sec(2, items[7], para(b.val(inc.PreventionMeasures,
		"実施済み又は実施予定の再発防止策（未定の場合はその旨）", "measures taken or planned (if not yet decided, say so)"))))

	// 9. Other.
	other := []field{
		fl(b.t("影響を受けたシステム", "Affected systems"), b.systems()),
		fl(b.t("実施済みの対応", "Actions already taken"), b.val(inc.Facts.ActionsTaken, "初動で実施した対応", "what was done in the first response")),
		fl(b.t("他の行政機関等への報告", "Reports to other authorities"), b.fill("警察・所管省庁・JPCERT/CC 等への報告・相談の状況", "reports to or consultation with the police, the supervising ministry, JPCERT/CC...")),
	}
	blocks := []block{fields(other...)}
	if len(b.in.Actions) > 0 {
		blocks = append(blocks, captioned(b.t("対応の経過", "Actions taken"), block{Table: b.actionsTable(b.in.Actions)}))
	}
	if cs := b.otherClocks("appi-"); len(cs) > 0 {
		blocks = append(blocks, captioned(b.t("その他の報告期限", "Other reporting clocks"), block{Table: b.clockTable(cs)}))
	}
	d.Sections = append(d.Sections, sec(2, items[8], blocks...))
	return d
}

// systems lists the affected systems on one line.
func (b *builder) systems() text {
	if len(b.in.Incident.AffectedSystems) == 0 {
		return b.fill("影響を受けたシステム", "affected systems")
	}
	return plain(strings.Join(b.in.Incident.AffectedSystems, b.t("、", ", ")))
}

// otherClocks are the clocks whose rule id does not start with prefix.
func (b *builder) otherClocks(prefix string) []Clock {
	var out []Clock
	for _, c := range b.in.Clocks {
		if !strings.HasPrefix(c.RuleID, prefix) {
			out = append(out, c)
		}
	}
	return out
}
