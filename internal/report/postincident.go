package report

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Post-incident report sections, in order. Tests check every one appears.
var postItemsJA = []string{"1. 概要", "2. 影響範囲", "3. 経緯", "4. 実施した対応", "5. 原因", "6. 教訓", "7. 再発防止策", "8. 法令等に基づく報告の状況", "9. 被害額"}
var postItemsEN = []string{"1. Summary", "2. Scope", "3. Timeline", "4. Actions taken", "5. Root cause", "6. Lessons learned", "7. Prevention measures", "8. Legal reports", "9. Cost of damage"}

// postIncident drafts the report to management.
func (b *builder) postIncident() *document {
	inc := b.in.Incident
	items := postItemsEN
	if b.ja() {
		items = postItemsJA
	}
	d := &document{Title: b.t("インシデント報告書", "Post-incident report") + ": " + b.incidentLine()}
	d.Notice = b.t(
		"本書は irdesk がインシデントの記録から作成した経営層向け報告書の下書きです。「【要記入】」の箇所を記入し、内容を確認してください。",
		"This is a draft report to management that irdesk drew up from the incident record. Fill in every \"[TO FILL IN]\" and check the content.")
	d.Meta = b.commonMeta()

	// 1. Summary.
	what := inc.Description
	if strings.TrimSpace(what) == "" {
		what = inc.Facts.What
	}
	assignee := inc.Assignee
	if assignee == "" {
		assignee = "—"
	}
	d.Sections = append(d.Sections, sec(2, items[0], fields(
		fl(b.t("件名", "Title"), plain(oneLine(inc.Title))),
		fl(b.t("種類", "Type"), plain(b.categoryName(inc.Category))),
		fl(b.t("重大度・優先度", "Severity and priority"), plain(string(inc.Severity)+" / "+string(inc.Priority))),
		fl(b.t("現在のフェーズ", "Current phase"), plain(b.phaseName(inc.Phase))),
		fl(b.t("報告者", "Reported by"), plain(inc.Reporter)),
		fl(b.t("担当者", "Assignee"), plain(assignee)),
		fl(b.t("事案の概要", "What happened"), b.val(what, "何が起きたか", "what happened")),
	)))

	// 2. Scope.
	f := inc.Flags
	people := b.t("記録なし", "none recorded")
	if f.PeopleAffected > 0 {
		people = b.people(f.PeopleAffected)
	}
	d.Sections = append(d.Sections, sec(2, items[1], fields(
		fl(b.t("影響を受けたシステム", "Affected systems"), b.systems()),
		fl(b.t("発生場所", "Location"), b.val(inc.Facts.Location, "発生場所", "where")),
		fl(b.t("個人データ", "Personal data"), plain(b.yesNo(f.PersonalData))),
		fl(b.t("影響を受けた人数", "People affected"), plain(people)),
		fl(b.t("要配慮個人情報", "Sensitive personal data"), plain(b.yesNo(f.SensitivePersonalData))),
		fl(b.t("EU域内の居住者", "EU residents"), plain(b.yesNo(f.EUResidents))),
		fl(b.t("財産的被害のおそれ", "Risk of financial damage"), plain(b.yesNo(f.FinancialDamageRisk))),
		fl(b.t("不正の目的のおそれ", "Unlawful purpose"), plain(b.yesNo(f.MaliciousIntent))),
	)))

	// 3. Timeline.
	ts := inc.Timestamps
	d.Sections = append(d.Sections, sec(2, items[2]))
	d.Sections = append(d.Sections, sec(3, b.t("主要な日時", "Milestones"), fields(
		fl(b.t("発生", "Occurred"), plain(b.optTime(inc.Facts.OccurredAt))),
		fl(b.t("検知", "Detected"), plain(b.optTime(ts.DetectedAt))),
		fl(b.t("受付", "Reported"), plain(b.optTime(&ts.ReportedAt))),
		fl(b.t("対応開始", "Acknowledged"), plain(b.optTime(ts.AcknowledgedAt))),
		fl(b.t("封じ込め", "Contained"), plain(b.optTime(ts.ContainedAt))),
		fl(b.t("根絶", "Eradicated"), plain(b.optTime(ts.EradicatedAt))),
		fl(b.t("復旧", "Recovered"), plain(b.optTime(ts.RecoveredAt))),
		fl(b.t("クローズ", "Closed"), plain(b.optTime(ts.ClosedAt))),
	)))
	mt := &table{Head: []string{b.t("指標", "Measure"), b.t("定義", "Definition"), b.t("値", "Value")}}
	defs := map[string][2]string{
		"MTTD": {"検知 − 発生", "detected − occurred"},
		"MTTA": {"対応開始 − 受付", "acknowledged − reported"},
		"MTTC": {"封じ込め − 検知", "contained − detected"},
		"MTTR": {"復旧 − 検知", "recovered − detected"},
	}
	for _, m := range milestones(inc) {
		v := b.t("算出不可（日時が未記録）", "not computable (a time is not recorded)")
		if m.Defined {
			v = b.dur(m.Spent)
		}
		mt.Rows = append(mt.Rows, []string{m.Name, b.t(defs[m.Name][0], defs[m.Name][1]), v})
	}
	d.Sections = append(d.Sections, sec(3, b.t("対応時間の指標", "Response times"), block{Table: mt}))

	stays, totals := phaseTimes(inc.Phases, b.in.Now)
	if len(stays) == 0 {
		d.Sections = append(d.Sections, sec(3, b.t("フェーズ別の所要時間", "Time spent per phase"),
			para(plain(b.t("フェーズの記録がありません。", "No phase periods are recorded.")))))
	} else {
		tt := &table{Head: []string{b.t("フェーズ", "Phase"), b.t("回数", "Times entered"), b.t("所要時間", "Time spent"), b.t("担当者", "Owner")}}
		var sum time.Duration
		for _, t := range totals {
			spent := b.dur(t.Spent)
			if t.Ongoing {
				spent += b.t("（継続中）", " (ongoing)")
			}
			tt.Rows = append(tt.Rows, []string{b.phaseName(t.Phase), formatCount(int64(t.Stays)), spent, b.phaseOwner(t.Phase)})
			sum += t.Spent
		}
		tt.Rows = append(tt.Rows, []string{b.t("合計", "Total"), "", b.dur(sum), ""})
		st := &table{Head: []string{b.t("フェーズ", "Phase"), b.t("開始", "Entered"), b.t("終了", "Left"),
			b.t("所要時間", "Time spent"), b.t("移行者", "Moved by"), b.t("理由", "Reason")}}
		for _, s := range stays {
			left, spent := b.optTime(s.LeftAt), b.dur(s.Spent)
			switch {
			case s.Phase == core.PhaseClosed:
				left, spent = "—", "—"
			case s.Ongoing:
				left = b.t("継続中", "ongoing")
			}
			reason := s.Reason
			if reason == "" {
				reason = "—"
			}
			st.Rows = append(st.Rows, []string{b.phaseName(s.Phase), b.time(s.EnteredAt), left, spent, s.EnteredBy, reason})
		}
		d.Sections = append(d.Sections, sec(3, b.t("フェーズ別の所要時間", "Time spent per phase"), captioned(b.t("フェーズ別の合計", "Total per phase"), block{Table: tt}),
			captioned(b.t("フェーズの記録", "Phase periods"), block{Table: st})))
	}
	if len(b.in.Timeline) > 0 {
		et := &table{Head: []string{b.t("日時", "When"), b.t("実施者", "Actor"), b.t("記録", "Event"), b.t("内容", "Detail")}}
		evs := slices.Clone(b.in.Timeline)
		slices.SortStableFunc(evs, func(x, y core.Event) int { return x.Time.Compare(y.Time) })
		for _, e := range evs {
			et.Rows = append(et.Rows, []string{b.time(e.Time), e.Actor, b.eventName(e.Type), b.eventDetail(e)})
		}
		d.Sections = append(d.Sections, sec(3, b.t("記録（監査証跡）", "Record (audit trail)"), block{Table: et}))
	}

	// 4. Actions.
	var acts []block
	if s := strings.TrimSpace(inc.Facts.ActionsTaken); s != "" {
		acts = append(acts, fields(fl(b.t("初動で実施した対応", "First response"), plain(s))))
	}
	if len(b.in.Actions) > 0 {
		acts = append(acts, captioned(b.t("対応の記録", "Action log"), block{Table: b.actionsTable(b.in.Actions)}))
	} else {
		acts = append(acts, para(b.fill("実施した対応（日時・実施者・ツール）", "actions taken (when, by whom, with which tool)")))
	}
	if len(b.in.Comments) > 0 {
		cs := slices.Clone(b.in.Comments)
		slices.SortStableFunc(cs, func(x, y core.Comment) int { return x.CreatedAt.Compare(y.CreatedAt) })
		var items []text
		for _, c := range cs {
			items = append(items, plain(b.time(c.CreatedAt)+" "+c.Author+" ["+b.phaseName(c.Phase)+"]: "+strings.TrimSpace(c.Body)))
		}
		acts = append(acts, captioned(b.t("コメント", "Comments"), list(items...)))
	}
	d.Sections = append(d.Sections, sec(2, items[3], acts...))

	// 5–7. Root cause, lessons, prevention.
	cause := b.fill("原因の分類", "cause class")
	if inc.CauseClass != "" {
		cause = plain(b.causeName(inc.CauseClass))
	}
	d.Sections = append(d.Sections, sec(2, items[4], fields(
		fl(b.t("原因の分類", "Cause class"), cause),
		fl(b.t("根本原因", "Root cause"), b.val(inc.RootCause, "根本原因", "the root cause")),
	)))
	d.Sections = append(d.Sections, sec(2, items[5], para(b.val(inc.LessonsLearned, "教訓（対応手順・体制の改善点を含む）", "lessons learned (including improvements to the response process)"))))
	d.Sections = append(d.Sections, sec(2, items[6], para(b.val(inc.PreventionMeasures, "再発防止策（ルール・教育・技術的対策）", "prevention measures (rules, training, technical controls)"))))

	// 8. Legal reports.
	if len(b.in.Clocks) > 0 {
		d.Sections = append(d.Sections, sec(2, items[7], block{Table: b.clockTable(b.in.Clocks)}))
	} else {
		d.Sections = append(d.Sections, sec(2, items[7], para(plain(b.t("記録上、法令等に基づく報告期限はありません。", "No legal reporting clock is recorded for this incident.")))))
	}

	// 9. What it cost: management's first question after "is it over?".
	d.Sections = append(d.Sections, b.costSection(items[8]))
	return d
}

// costSection sums the incident's cost items per category, estimates and
// actual amounts apart, one column pair per currency in use.
func (b *builder) costSection(heading string) section {
	if len(b.in.Costs) == 0 {
		return sec(2, heading, para(b.fill("被害額を記録してください（調査・復旧費用、損害賠償、法務・制裁金、逸失利益、外部支援、通知・広報、時間外労働 等）",
			"record the cost of damage (investigation and recovery, compensation, legal fees and fines, lost business, consulting, notification and PR, staff overtime, ...)")))
	}
	type key struct {
		cat core.CostCategory
		cur string
	}
	est, act := map[key]int64{}, map[key]int64{}
	var currencies []string
	for _, c := range b.in.Costs {
		k := key{c.Category, c.Currency}
		if c.Status == core.CostActual {
			act[k] += c.Amount
		} else {
			est[k] += c.Amount
		}
		if !slices.Contains(currencies, c.Currency) {
			currencies = append(currencies, c.Currency)
		}
	}
	slices.Sort(currencies)
	t := &table{Head: []string{b.t("区分", "Category"), b.t("通貨", "Currency"), b.t("見積", "Estimated"), b.t("確定", "Actual")}}
	for _, cur := range currencies {
		var sumEst, sumAct int64
		for _, cat := range core.CostCategories {
			k := key{cat, cur}
			e, a := est[k], act[k]
			if e == 0 && a == 0 {
				continue
			}
			sumEst, sumAct = sumEst+e, sumAct+a
			t.Rows = append(t.Rows, []string{b.costCategoryName(cat), cur, formatCount(e), formatCount(a)})
		}
		t.Rows = append(t.Rows, []string{b.t("合計", "Total"), cur, formatCount(sumEst), formatCount(sumAct)})
	}
	return sec(2, heading, block{Table: t})
}

func (b *builder) costCategoryName(c core.CostCategory) string {
	names := map[core.CostCategory][2]string{
		core.CostInvestigationRecovery: {"調査・復旧費用", "Investigation and recovery"},
		core.CostCompensation:          {"損害賠償・見舞金", "Compensation"},
		core.CostLegalFines:            {"法務費用・制裁金", "Legal fees and fines"},
		core.CostBusinessInterruption:  {"逸失利益（事業停止）", "Lost business"},
		core.CostConsulting:            {"外部専門家・コンサルティング", "Consulting"},
		core.CostNotificationPR:        {"通知・広報", "Notification and PR"},
		core.CostStaffOvertime:         {"従業員の時間外労働", "Staff overtime"},
		core.CostRansom:                {"身代金", "Ransom"},
		core.CostOther:                 {"その他", "Other"},
	}
	if n, ok := names[c]; ok {
		return b.t(n[0], n[1])
	}
	return string(c)
}

// phaseOwner is who owns a phase, "—" when nobody was assigned.
func (b *builder) phaseOwner(p core.Phase) string {
	for _, a := range b.in.Incident.PhaseAssignees {
		if a.Phase == p && a.Assignee != "" {
			return a.Assignee
		}
	}
	return "—"
}

func (b *builder) eventName(typ string) string {
	names := map[string][2]string{
		core.EvIncidentCreated: {"起票", "incident filed"},
		core.EvIncidentUpdated: {"更新", "incident updated"},
		core.EvPhaseChanged:    {"フェーズ変更", "phase changed"},
		core.EvAssigned:        {"担当者設定", "assigned"},
		core.EvCommentAdded:    {"コメント", "comment"},
		core.EvActionRecorded:  {"対応記録", "action recorded"},
		core.EvMemberAdded:     {"メンバー追加", "member added"},
		core.EvMemberRemoved:   {"メンバー削除", "member removed"},
		core.EvClockRecorded:   {"報告状況の記録", "report status recorded"},
	}
	if n, ok := names[typ]; ok {
		return b.t(n[0], n[1])
	}
	return typ
}

// eventDetail says the essentials of an event's payload for the kinds a
// reader of the report cares about; the full payload stays in the audit
// trail.
func (b *builder) eventDetail(e core.Event) string {
	var p struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Reason string `json:"reason"`
		Phase  string `json:"phase"`
		RuleID string `json:"rule_id"`
		State  string `json:"state"`
		User   string `json:"user"`
		Action *struct {
			Description string `json:"description"`
		} `json:"action"`
	}
	if len(e.Payload) == 0 || json.Unmarshal(e.Payload, &p) != nil {
		return ""
	}
	switch e.Type {
	case core.EvPhaseChanged:
		s := b.phaseName(core.Phase(p.From)) + " → " + b.phaseName(core.Phase(p.To))
		if p.Reason != "" {
			s += b.t("（理由: ", " (reason: ") + p.Reason + b.t("）", ")")
		}
		return s
	case core.EvAssigned:
		return b.phaseName(core.Phase(p.Phase)) + ": " + p.To
	case core.EvClockRecorded:
		title := p.RuleID
		for _, c := range b.in.Clocks {
			if c.RuleID == p.RuleID {
				title = b.clockTitle(c)
			}
		}
		return title + ": " + b.stateName(p.State)
	case core.EvActionRecorded:
		if p.Action != nil {
			return p.Action.Description
		}
	case core.EvMemberAdded, core.EvMemberRemoved:
		return p.User
	}
	return ""
}
