package report

import (
	htmltemplate "html/template"
	"strconv"
	"strings"
	"time"
)

// document is what every kind of report is built into and what both
// templates render, so Markdown and HTML carry the same content.
type document struct {
	Lang     string
	Title    string
	Notice   string // what this draft is and what to do with it
	Meta     []field
	Sections []section
	CSS      htmltemplate.CSS // HTML only: the embedded print style
}

type section struct {
	Level   int // 2 or 3
	Heading string
	Blocks  []block
}

// block is one of: a paragraph, a list of label/value fields, a bulleted
// list or a table. Exactly one is set. Caption, if any, is a short bold
// line above it.
type block struct {
	Caption string
	Para    *text
	Fields  []field
	List    []text
	Table   *table
}

// text is a piece of content. Content still to be written by a person
// carries the fill-in marker of its language in Mark; S is then a hint of
// what belongs there, shown after the marker.
type text struct {
	S    string
	Mark string
}

type field struct {
	Label string
	Value text
}

type table struct {
	Head []string
	Rows [][]string
}

func para(t text) block                       { return block{Para: &t} }
func fields(f ...field) block                 { return block{Fields: f} }
func list(items ...text) block                { return block{List: items} }
func plain(s string) text                     { return text{S: s} }
func captioned(caption string, b block) block { b.Caption = caption; return b }
func fl(label string, v text) field           { return field{Label: label, Value: v} }

func sec(level int, heading string, blocks ...block) section {
	return section{Level: level, Heading: heading, Blocks: blocks}
}

// Markdown helpers.

func mdHashes(level int) string { return strings.Repeat("#", level) }

// mdText renders a text, indenting continuation lines so a multi-line value
// stays inside its list item.
func mdText(t text, indent int) string {
	s := mdEscape(strings.ReplaceAll(strings.TrimSpace(t.S), "\r\n", "\n"))
	if t.Mark != "" {
		s = strings.TrimSpace(t.Mark + " " + s)
	}
	if indent > 0 {
		s = strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", indent))
	}
	return s
}

// mdCell keeps a table cell on one line and its pipes literal.
func mdCell(s string) string {
	return strings.ReplaceAll(mdLine(s), "|", `\|`)
}

// mdLine is one line of text for a heading or a cell.
func mdLine(s string) string { return mdEscape(oneLine(s)) }

// mdEscape backslash-escapes "<" (CommonMark allows it before any ASCII
// punctuation), so incident text pasted into a Markdown viewer shows
// "<script>" as text instead of passing it through as raw HTML. The draft
// stays readable in a text editor, which entity-escaping would not.
func mdEscape(s string) string { return strings.ReplaceAll(s, "<", `\<`) }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Formatting of values, shared by every kind.

// formatTime shows t in zone tz: "2026-01-31 23:30 JST".
func formatTime(t time.Time, tz *time.Location) string {
	return t.In(tz).Format("2006-01-02 15:04 MST")
}

// formatDuration is human-readable and coarse: days and hours from a day
// on, hours and minutes below, minutes below an hour ("3日4時間", "3 d 4 h").
func formatDuration(d time.Duration, lang string) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	mins := int64(d / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	ja := lang == LangJA
	part := func(n int64, unitJA, unitEN string) string {
		if ja {
			return strconv.FormatInt(n, 10) + unitJA
		}
		return strconv.FormatInt(n, 10) + " " + unitEN
	}
	sep := " "
	if ja {
		sep = ""
	}
	var parts []string
	switch {
	case days > 0:
		parts = append(parts, part(days, "日", "d"))
		if hours > 0 {
			parts = append(parts, part(hours, "時間", "h"))
		}
	case hours > 0:
		parts = append(parts, part(hours, "時間", "h"))
		if m > 0 {
			parts = append(parts, part(m, "分", "min"))
		}
	default:
		parts = append(parts, part(m, "分", "min"))
	}
	return sign + strings.Join(parts, sep)
}

// formatCount writes n with thousands separators: 1,200.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
