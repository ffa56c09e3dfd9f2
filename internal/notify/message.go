package notify

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/irdesk/irdesk/internal/i18n"
)

// Content is what an escalation message says, before it is put into the
// recipient's language.
type Content struct {
	IncidentKey string
	Title       string
	Severity    string
	Priority    string
	Category    string
	Phase       string
	Assignee    string
	// Restricted incidents are need-to-know: the message names the key
	// and the severity only, since it may travel to shared channels.
	Restricted bool
	Exercise   bool
	// Reason is one of the escalation.Reason* kinds.
	Reason   string
	RuleName string
	// For task and clock reasons.
	TaskTitle  string
	ClockTitle string
	Due        time.Time
	// OnCallPosition > 1 says the message went down the on-call order.
	OnCallPosition int
	Location       *time.Location
}

// Render writes the subject and body in lang ("ja" or "en"; anything else
// is English).
func Render(lang string, c Content) (subject, body string) {
	ja := lang == "ja"
	t := func(j, e string) string {
		if ja {
			return j
		}
		return e
	}
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	title := c.Title
	if c.Restricted {
		title = t("（閲覧制限のあるインシデント）", "(restricted incident)")
	}
	var prefix string
	if c.Exercise {
		prefix = t("【訓練】", "[EXERCISE] ")
	}
	var what string
	switch c.Reason {
	case "not_acknowledged":
		what = t("未対応のままです", "not acknowledged yet")
	case "task_overdue":
		what = t("タスク期限超過", "task overdue")
	case "clock_due_soon":
		what = t("報告期限が近づいています", "reporting deadline approaching")
	case "clock_overdue":
		what = t("報告期限を過ぎています", "reporting deadline passed")
	default:
		what = t("エスカレーション", "escalation")
	}
	subject = fmt.Sprintf("%s[irdesk][%s] %s %s: %s", prefix, c.Severity, c.IncidentKey, what, title)

	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, value)
		}
	}
	switch c.Reason {
	case "not_acknowledged":
		if c.OnCallPosition > 1 {
			fmt.Fprintf(&b, t("このインシデントはまだ誰も対応を開始していないため、オンコール順 %d 番目のあなたに連絡しています。\n\n",
				"Nobody has taken this incident on yet, so it is escalated to you, number %d in the on-call order.\n\n"), c.OnCallPosition)
		} else {
			b.WriteString(t("このインシデントはまだ誰も対応を開始していません。\n\n", "Nobody has taken this incident on yet.\n\n"))
		}
	case "task_overdue":
		task := c.TaskTitle
		if c.Restricted {
			// A task's title is free text about the incident.
			task = t("（閲覧制限）", "(restricted)")
		}
		fmt.Fprintf(&b, t("タスク「%s」が期限（%s）を過ぎています。\n\n", "The task \"%s\" was due at %s.\n\n"),
			task, c.Due.In(loc).Format("2006-01-02 15:04 MST"))
	case "clock_due_soon":
		fmt.Fprintf(&b, t("%sの期限は %s です。提出の準備をしてください。\n\n", "%s is due at %s. Prepare the submission.\n\n"),
			c.ClockTitle, c.Due.In(loc).Format("2006-01-02 15:04 MST"))
	case "clock_overdue":
		fmt.Fprintf(&b, t("%sの期限（%s）を過ぎています。直ちに対応してください。\n\n", "%s was due at %s. Act now.\n\n"),
			c.ClockTitle, c.Due.In(loc).Format("2006-01-02 15:04 MST"))
	default:
		if c.OnCallPosition == 1 {
			b.WriteString(t("オンコール担当のあなたに新しいインシデントを通知します。\n\n", "You are first on call: a new incident needs attention.\n\n"))
		} else {
			b.WriteString(t("次のインシデントについて連絡します。\n\n", "You are being told about this incident.\n\n"))
		}
	}
	line(t("インシデント", "Incident"), c.IncidentKey)
	line(t("件名", "Title"), title)
	line(t("重大度", "Severity"), c.Severity)
	line(t("優先度", "Priority"), c.Priority)
	if !c.Restricted {
		line(t("種別", "Category"), categoryLabel(c.Category, ja))
		line(t("フェーズ", "Phase"), phaseLabel(c.Phase, ja))
		line(t("担当者", "Assignee"), c.Assignee)
	}
	line(t("ルール", "Rule"), c.RuleName)
	return subject, strings.TrimRight(b.String(), "\n")
}

// catalogue is the UI's message catalogue, read once: messages name
// categories and phases exactly as the screens do.
var catalogue = sync.OnceValues(i18n.Load)

// categoryLabel and phaseLabel name categories and phases for messages.
// They fall back to the code, which is still meaningful.
func categoryLabel(c string, ja bool) string { return label("category."+c, c, ja) }

func phaseLabel(p string, ja bool) string { return label("phase."+p, p, ja) }

func label(key, code string, ja bool) string {
	b, err := catalogue()
	if err != nil || code == "" {
		return code
	}
	lang := i18n.English
	if ja {
		lang = i18n.Japanese
	}
	tr := b.For(lang)
	if !tr.Has(key) {
		return code
	}
	return tr.T(key)
}

// TestMessage is what `irdesk notify test` sends: it says plainly that it
// is a test, in the recipient's language, and carries no incident data.
// Its idempotency key is new each time, so receivers that drop repeats
// take every test.
func TestMessage(lang, recipient, baseURL string) Message {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	m := Message{
		IdempotencyKey: "irdesk-test-" + hex.EncodeToString(nonce[:]),
		Recipient:      recipient,
		Language:       lang,
		Link:           baseURL,
		Attempt:        1,
	}
	if lang == "ja" {
		m.Subject = "【irdesk】テスト通知"
		m.Body = recipient + " さん\n\nirdesk からのテスト通知です。この連絡先・チャネルにインシデントのエスカレーションが届きます。対応は不要です。"
	} else {
		m.Subject = "[irdesk] Test message"
		m.Body = "Hello " + recipient + ",\n\nThis is a test message from irdesk. Incident escalations for you will arrive on this channel. No action is needed."
	}
	return m
}
