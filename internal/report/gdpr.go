package report

import (
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/deadline"
)

// gdprWindow is GDPR Art. 33(1): "where feasible, not later than 72 hours
// after having become aware of it".
const gdprWindow = 72 * time.Hour

// GDPR Art. 33(3) points, in the order of the article. Tests check every
// one appears.
var gdprPointsJA = []string{
	"(a) 個人データ侵害の性質（第33条第3項(a)）",
	"(b) データ保護オフィサー又は連絡窓口（第33条第3項(b)）",
	"(c) 個人データ侵害により生じ得る結果（第33条第3項(c)）",
	"(d) 講じた又は講じる予定の措置（第33条第3項(d)）",
}

var gdprPointsEN = []string{
	"(a) Nature of the personal data breach (Art. 33(3)(a))",
	"(b) Data protection officer or other contact point (Art. 33(3)(b))",
	"(c) Likely consequences of the breach (Art. 33(3)(c))",
	"(d) Measures taken or proposed (Art. 33(3)(d))",
}

// gdpr drafts the notification to the supervisory authority.
func (b *builder) gdpr() *document {
	inc := b.in.Incident
	f := inc.Flags
	points := gdprPointsEN
	if b.ja() {
		points = gdprPointsJA
	}
	d := &document{Title: b.t("GDPR 第33条に基づく監督機関への個人データ侵害通知 下書き",
		"Draft: notification of a personal data breach to the supervisory authority (GDPR Art. 33)")}
	d.Notice = b.t(
		"本書は irdesk がインシデントの記録から作成した下書きです。「【要記入】」の箇所を記入し、全体を確認のうえ、管轄の監督機関の様式（通常は英語又は当該国の言語）で提出してください。一度に全ての情報を提供できない場合は、段階的に提供できます（第33条第4項）。",
		"This is a draft irdesk drew up from the incident record. Fill in every \"[TO FILL IN]\", check the whole text, then submit it on the competent supervisory authority's form. Where not all information is available at once, it may be provided in phases without undue further delay (Art. 33(4)).")

	// Timing.
	aware, detected := b.awareness()
	var awareText text
	switch {
	case aware.IsZero():
		awareText = b.fill("侵害を認識した日時", "when the controller became aware")
	case detected:
		awareText = plain(b.time(aware))
	default:
		awareText = plain(b.time(aware) + b.t("（検知日時が未記録のため受付日時。要確認）", " (filing time, as no detection time is recorded; to be checked)"))
	}
	c, hasClock := b.clock(deadline.GDPRAuthority)
	var due time.Time
	switch {
	case hasClock:
		due = c.Due
	case !aware.IsZero():
		due = aware.Add(gdprWindow)
	}
	dueText := b.fill("72時間の期限", "the 72-hour deadline")
	if !due.IsZero() {
		dueText = plain(b.time(due))
	}
	status := b.t("未提出", "not submitted")
	if hasClock {
		status = b.stateName(c.State)
		if c.At != nil {
			status += " (" + b.time(*c.At) + ")"
		}
		if c.Reference != "" {
			status += b.t(" 受付番号: ", " reference: ") + c.Reference
		}
	}
	// Art. 33(1): a notification after 72 hours gives the reasons for the delay.
	var late bool
	switch {
	case due.IsZero():
	case hasClock && c.At != nil:
		late = c.At.After(due)
	default:
		late = b.in.Now.After(due)
	}
	delay := plain(b.t("該当なし（72時間以内に通知する場合は不要）", "not applicable (not needed when notifying within 72 hours)"))
	if late {
		delay = b.fill("72時間を超えた理由（第33条第1項）", "the reasons for notifying after 72 hours (Art. 33(1))")
	}
	timing := []field{
		fl(b.t("侵害を認識した日時", "Became aware"), awareText),
		fl(b.t("通知期限（認識から72時間）", "Due (72 hours from awareness)"), dueText),
		fl(b.t("状況", "Status"), plain(status)),
	}
	if !due.IsZero() && !late && !(hasClock && c.At != nil) {
		timing = append(timing, fl(b.t("期限までの残り時間", "Time left"), plain(b.dur(due.Sub(b.in.Now)))))
	}
	timing = append(timing, fl(b.t("遅延の理由", "Reasons for delay"), delay))
	d.Meta = b.commonMeta(fl(b.t("通知期限", "Due"), dueText))
	d.Sections = append(d.Sections, sec(2, b.t("通知の時期（第33条第1項）", "Timing (Art. 33(1))"), fields(timing...)))

	// (a) Nature.
	what := inc.Facts.What
	if strings.TrimSpace(what) == "" {
		what = inc.Description
	}
	subjects := b.fill("データ主体の類型（顧客、従業員、応募者等）", "categories of data subjects (customers, employees, applicants...)")
	if f.EUResidents {
		subjects = text{S: b.t("EU域内の居住者を含む。類型（顧客、従業員等）を記入", "includes residents of the EU; add the categories (customers, employees...)"), Mark: b.marker()}
	}
	number := b.fill("データ主体のおおよその数", "approximate number of data subjects")
	if f.PeopleAffected > 0 {
		number = plain(b.t("約", "about ") + b.people(f.PeopleAffected))
	}
	dataCats := b.fill("個人データの類型（氏名、連絡先、認証情報、決済情報等）", "categories of personal data (names, contact details, credentials, payment data...)")
	if f.SensitivePersonalData {
		dataCats = text{S: b.t("特別な種類の個人データ（第9条）を含む。その他の類型を記入", "includes special categories of personal data (Art. 9); add the other categories"), Mark: b.marker()}
	}
	nature := []field{
		fl(b.t("何が起きたか", "What happened"), b.val(what, "侵害の内容", "what happened")),
		fl(b.t("侵害の種類", "Type of breach"), b.fill("機密性・完全性・可用性のいずれの侵害か", "confidentiality, integrity and/or availability breach")),
		fl(b.t("事案の種類", "Type of incident"), plain(b.categoryName(inc.Category))),
		fl(b.t("発生日時", "When it happened"), b.timeVal(inc.Facts.OccurredAt, "発生日時（不明の場合は推定）", "when it happened (an estimate if unknown)")),
		fl(b.t("影響を受けたシステム", "Systems affected"), b.systems()),
		fl(b.t("データ主体の類型", "Categories of data subjects"), subjects),
		fl(b.t("データ主体のおおよその数", "Approximate number of data subjects"), number),
		fl(b.t("個人データの類型", "Categories of personal data records"), dataCats),
		fl(b.t("個人データレコードのおおよその数", "Approximate number of personal data records"), b.fill("レコードのおおよその数", "approximate number of records")),
	}
	d.Sections = append(d.Sections, sec(2, points[0], fields(nature...)))

	// (b) Contact point: not in the incident record.
	d.Sections = append(d.Sections, sec(2, points[1], fields(
		fl(b.t("氏名", "Name"), b.fill("データ保護オフィサー（DPO）又は連絡窓口の氏名", "name of the data protection officer or other contact point")),
		fl(b.t("連絡先", "Contact details"), b.fill("電話番号・メールアドレス・住所", "phone, e-mail, postal address")),
	)))

	// (c) Likely consequences.
	var cons []text
	if f.FinancialDamageRisk {
		cons = append(cons, plain(b.t("不正利用による財産的被害のおそれ", "risk of financial loss through misuse of the data")))
	}
	if f.SensitivePersonalData {
		cons = append(cons, plain(b.t("特別な種類の個人データの漏えいによる差別・社会的不利益等のおそれ", "risk of discrimination or other serious harm from exposure of special categories of data")))
	}
	if f.MaliciousIntent {
		cons = append(cons, plain(b.t("悪意ある第三者による取得のため、悪用（なりすまし、フィッシング等）のおそれ", "the data was taken by a malicious party: risk of misuse (identity fraud, phishing...)")))
	}
	cons = append(cons, b.fill("データ主体に生じ得る結果とその重大性・可能性の評価", "the likely consequences for the data subjects, with their severity and likelihood"))
	d.Sections = append(d.Sections, sec(2, points[2], list(cons...)))

	// (d) Measures.
	var taken []text
	if s := strings.TrimSpace(inc.Facts.ActionsTaken); s != "" {
		taken = append(taken, plain(s))
	}
	if t := inc.Timestamps.ContainedAt; t != nil {
		taken = append(taken, plain(b.t("封じ込め完了: ", "Contained: ")+b.time(*t)))
	}
	if t := inc.Timestamps.RecoveredAt; t != nil {
		taken = append(taken, plain(b.t("復旧完了: ", "Recovered: ")+b.time(*t)))
	}
	if len(taken) == 0 && len(b.in.Actions) == 0 {
		taken = append(taken, b.fill("講じた措置", "measures taken"))
	}
	proposed := b.val(inc.PreventionMeasures, "講じる予定の措置（再発防止策）", "measures proposed (to prevent recurrence)")
	blocks := []block{}
	if len(taken) > 0 {
		blocks = append(blocks, list(taken...))
	}
	if len(b.in.Actions) > 0 {
		blocks = append(blocks, captioned(b.t("対応の経過", "Actions taken"), block{Table: b.actionsTable(b.in.Actions)}))
	}
	blocks = append(blocks, fields(
		fl(b.t("講じる予定の措置", "Measures proposed"), proposed),
		fl(b.t("悪影響を軽減するための措置", "Measures to mitigate possible adverse effects"), b.fill("データ主体への助言（パスワード変更等）、問合せ窓口等", "advice to data subjects (password change...), help line...")),
	))
	d.Sections = append(d.Sections, sec(2, points[3], blocks...))

	// Communication to the data subjects (Art. 34) and the other clocks.
	var art34 text
	if c, ok := b.clock(deadline.GDPRIndividuals); ok {
		s := b.stateName(c.State)
		if c.At != nil {
			s += " (" + b.time(*c.At) + ")"
		} else {
			s += b.t("（期限 ", " (due ") + b.time(c.Due) + ")"
		}
		art34 = plain(s)
	} else {
		art34 = b.fill("データ主体への通知の要否と実施状況", "whether the data subjects must be told, and whether they were")
	}
	other := []block{fields(fl(b.t("データ主体への通知（第34条）", "Communication to the data subjects (Art. 34)"), art34))}
	if cs := b.otherClocks("gdpr-"); len(cs) > 0 {
		other = append(other, captioned(b.t("その他の報告期限", "Other reporting clocks"), block{Table: b.clockTable(cs)}))
	}
	d.Sections = append(d.Sections, sec(2, b.t("その他の報告・通知", "Other notifications"), other...))
	return d
}
