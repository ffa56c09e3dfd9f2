package report

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/deadline"
)

// jst builds a time in JST, the zone the fixture's people work in.
func jst(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, JST).UTC()
}

func ptr(t time.Time) *time.Time { return &t }

// fixtureNow is when the fixture's reports are drawn up.
var fixtureNow = jst(2026, 2, 6, 17, 0)

// fixture is a realistic ransomware incident with personal data: a VPN
// appliance exploited, a file server encrypted after customer data was
// taken (double extortion), re-infection during recovery sending it back
// to containment, now in review.
func fixture(tb testing.TB) Input {
	tb.Helper()
	inc := &core.Incident{
		ID:    42,
		Key:   "INC-2026-0042",
		Title: "ランサムウェア感染によるファイルサーバ暗号化と顧客情報流出のおそれ",
		Description: "1月31日深夜、EDRがファイルサーバ fs01 上で大量のファイル暗号化を検知した。\n" +
			"攻撃者のリークサイトに当社名が掲載され、顧客情報を窃取したとの主張がある（二重恐喝）。",
		Category:   core.CatRansomware,
		CauseClass: core.CauseExternalAttack,
		Severity:   core.S1,
		Impact:     1,
		Urgency:    1,
		Phase:      core.PhaseReview,
		AffectedSystems: []string{
			"fs01.corp.example.jp（ファイルサーバ）", "vpn-gw01（VPN装置）", "顧客管理システム CRM",
		},
		Reporter: "sato",
		Assignee: "tanaka",
		Facts: core.Facts{
			OccurredAt:   ptr(jst(2026, 1, 29, 2, 10)),
			Location:     "本社データセンター",
			DiscoveredBy: "情報システム部 佐藤",
			What:         "ファイルサーバ fs01 のファイル約38万件が暗号化され、顧客管理データのエクスポートファイルが外部へ送信された形跡がある。",
			Why:          "VPN装置の既知の脆弱性（修正パッチ未適用）を悪用した侵入と推定。",
			HowFound:     "EDRの大量暗号化アラートを夜間当番が確認し、CSIRTに連絡した。",
			ActionsTaken: "fs01 をネットワークから隔離（電源は入れたまま）、VPNの外部接続を遮断、管理者アカウントのパスワードを変更。",
		},
		Flags: core.Flags{
			PersonalData:    true,
			PeopleAffected:  1200,
			MaliciousIntent: true,
			EUResidents:     true,
		},
		RootCause:          "VPN装置 vpn-gw01 の認証回避の脆弱性に対する修正パッチが未適用だった。資産台帳に当該装置が登録されておらず、脆弱性情報の確認対象から漏れていた。",
		LessonsLearned:     "夜間のアラートから初動までは20分以内で機能した。一方、オフラインバックアップの復元手順が未検証で、復旧に想定以上の時間を要した。",
		PreventionMeasures: "1. 外部公開機器を含む資産台帳の整備と月次の脆弱性確認\n2. VPNへの多要素認証の導入\n3. オフラインバックアップからの復元訓練を四半期ごとに実施",
		Timestamps: core.Timestamps{
			DetectedAt:     ptr(jst(2026, 1, 31, 23, 30)),
			ReportedAt:     jst(2026, 1, 31, 23, 45),
			AcknowledgedAt: ptr(jst(2026, 2, 1, 0, 5)),
			ContainedAt:    ptr(jst(2026, 2, 1, 6, 0)),
			EradicatedAt:   ptr(jst(2026, 2, 3, 18, 0)),
			RecoveredAt:    ptr(jst(2026, 2, 5, 12, 0)),
		},
		Phases: []core.PhasePeriod{
			{Phase: core.PhaseDetect, EnteredAt: jst(2026, 1, 31, 23, 45), LeftAt: ptr(jst(2026, 2, 1, 0, 5)), EnteredBy: "sato"},
			{Phase: core.PhaseTriage, EnteredAt: jst(2026, 2, 1, 0, 5), LeftAt: ptr(jst(2026, 2, 1, 2, 0)), EnteredBy: "tanaka"},
			{Phase: core.PhaseInvestigate, EnteredAt: jst(2026, 2, 1, 2, 0), LeftAt: ptr(jst(2026, 2, 1, 4, 30)), EnteredBy: "tanaka"},
			{Phase: core.PhaseContain, EnteredAt: jst(2026, 2, 1, 4, 30), LeftAt: ptr(jst(2026, 2, 2, 10, 0)), EnteredBy: "tanaka"},
			{Phase: core.PhaseRecover, EnteredAt: jst(2026, 2, 2, 10, 0), LeftAt: ptr(jst(2026, 2, 3, 9, 0)), EnteredBy: "suzuki"},
			{Phase: core.PhaseContain, EnteredAt: jst(2026, 2, 3, 9, 0), LeftAt: ptr(jst(2026, 2, 3, 18, 0)), EnteredBy: "tanaka", Reason: "復元したサーバで再感染を検知"},
			{Phase: core.PhaseRecover, EnteredAt: jst(2026, 2, 3, 18, 0), LeftAt: ptr(jst(2026, 2, 5, 12, 0)), EnteredBy: "suzuki"},
			{Phase: core.PhaseReview, EnteredAt: jst(2026, 2, 5, 12, 0), EnteredBy: "tanaka"},
		},
		PhaseAssignees: []core.PhaseAssignee{
			{Phase: core.PhaseTriage, Assignee: "tanaka"},
			{Phase: core.PhaseContain, Assignee: "tanaka"},
			{Phase: core.PhaseRecover, Assignee: "suzuki"},
			{Phase: core.PhaseReview, Assignee: "tanaka"},
		},
	}
	if err := inc.Normalize(); err != nil {
		tb.Fatal(err)
	}

	// The clocks as package deadline computes them, with what people recorded.
	var clocks []Clock
	for _, c := range deadline.Compute(deadline.FromIncident(inc), deadline.Config{}) {
		rc := Clock{RuleID: c.RuleID, TitleJA: c.TitleJA, TitleEN: c.TitleEN, Due: c.Due, State: deadline.State(c, fixtureNow, false)}
		switch c.RuleID {
		case deadline.APPIPreliminary:
			rc.State, rc.At, rc.Reference = deadline.StateSubmitted, ptr(jst(2026, 2, 3, 15, 0)), "PPC-2026-01234"
		case deadline.GDPRAuthority:
			rc.State, rc.At = deadline.StateSubmitted, ptr(jst(2026, 2, 3, 20, 0))
		case deadline.APPIIndividuals:
			rc.State, rc.At = deadline.StateSubmitted, ptr(jst(2026, 2, 5, 10, 0))
		}
		clocks = append(clocks, rc)
	}

	actions := []core.ActionRecord{
		{Phase: core.PhaseTriage, Description: "fs01 をスイッチポートで隔離（メモリ保全のため電源は維持）", PerformedBy: "tanaka", PerformedAt: jst(2026, 2, 1, 0, 20), Tool: "EDR コンソール", RecordedBy: "tanaka"},
		{Phase: core.PhaseInvestigate, Description: "fs01 のメモリイメージとディスクイメージを取得", PerformedBy: "外部フォレンジック事業者 山本", PerformedAt: jst(2026, 2, 1, 3, 0), Tool: "FTK Imager", RecordedBy: "tanaka"},
		{Phase: core.PhaseContain, Description: "VPN装置の外部接続を遮断し、全管理者アカウントのパスワードを変更", PerformedBy: "suzuki", PerformedAt: jst(2026, 2, 1, 5, 40), RecordedBy: "suzuki"},
		{Phase: core.PhaseRecover, Description: "オフラインバックアップ（1月28日分）から fs01 を復元", PerformedBy: "suzuki", PerformedAt: jst(2026, 2, 2, 15, 0), Tool: "Veeam", RecordedBy: "suzuki"},
		{Phase: core.PhaseContain, Description: "復元サーバに残存したバックドアを削除し、再構築", PerformedBy: "tanaka", PerformedAt: jst(2026, 2, 3, 14, 0), Tool: "EDR コンソール", RecordedBy: "tanaka"},
	}
	comments := []core.Comment{
		{Phase: core.PhaseInvestigate, Author: "tanaka", Body: "CRMのエクスポートファイル（顧客1,200件）がC2サーバへ送信されたログを確認。", CreatedAt: jst(2026, 2, 1, 4, 10)},
		{Phase: core.PhaseReview, Author: "yamada", Body: "経営会議向けに影響額の試算を追記予定。", CreatedAt: jst(2026, 2, 6, 9, 0)},
	}
	ev := func(at time.Time, actor, typ string, payload any) core.Event {
		raw, err := json.Marshal(payload)
		if err != nil {
			tb.Fatal(err)
		}
		return core.Event{Time: at, Actor: actor, IncidentKey: inc.Key, Type: typ, Payload: raw}
	}
	timeline := []core.Event{
		ev(jst(2026, 1, 31, 23, 45), "sato", core.EvIncidentCreated, map[string]any{}),
		ev(jst(2026, 2, 1, 0, 5), "tanaka", core.EvPhaseChanged, map[string]any{"from": "detect", "to": "triage", "reason": ""}),
		ev(jst(2026, 2, 3, 9, 0), "tanaka", core.EvPhaseChanged, map[string]any{"from": "recover", "to": "contain", "reason": "復元したサーバで再感染を検知"}),
		ev(jst(2026, 2, 3, 15, 5), "yamada", core.EvClockRecorded, map[string]any{"rule_id": deadline.APPIPreliminary, "state": "submitted"}),
		ev(jst(2026, 2, 3, 14, 5), "tanaka", core.EvActionRecorded, map[string]any{"action": actions[4]}),
	}
	costs := []core.CostItem{
		{Category: core.CostInvestigationRecovery, Amount: 1_200_000, Currency: "JPY", Status: core.CostActual},
		{Category: core.CostInvestigationRecovery, Amount: 300_000, Currency: "JPY", Status: core.CostEstimate},
		{Category: core.CostCompensation, Amount: 500_000, Currency: "JPY", Status: core.CostEstimate},
		{Category: core.CostStaffOvertime, Amount: 320_000, Currency: "JPY", Status: core.CostActual},
		{Category: core.CostConsulting, Amount: 8_000, Currency: "USD", Status: core.CostActual},
	}
	return Input{
		Incident: inc, Actions: actions, Comments: comments, Timeline: timeline, Clocks: clocks, Costs: costs,
		Lang: LangJA, TZ: JST, Now: fixtureNow, PPCStage: StagePreliminary,
	}
}
