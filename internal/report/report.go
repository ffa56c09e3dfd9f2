// Package report drafts the documents an incident ends in: the PPC leak
// report (漏えい等報告), the GDPR Art. 33(3) notification and the
// post-incident report for management, in Japanese or English, as Markdown,
// HTML or PDF. It is pure: the caller gathers the incident's records and gets
// bytes back; nothing is read or written but the embedded templates and font.
package report

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/irdesk/irdesk/internal/core"
)

// Kinds of report.
const (
	KindPPC          = "ppc"           // 個人情報保護委員会への漏えい等報告 (draft)
	KindGDPR         = "gdpr"          // GDPR Art. 33(3) notification (draft)
	KindPostIncident = "post-incident" // 報告書 for management
)

// Formats.
const (
	FormatMarkdown = "md"
	FormatHTML     = "html"
	FormatPDF      = "pdf" // A4, with an embedded Japanese font
)

// Languages.
const (
	LangJA = "ja"
	LangEN = "en"
)

// Stages of the PPC report: the preliminary report (速報) is due promptly
// after awareness, the final one (確報) within 30 (or 60) days.
const (
	StagePreliminary = "preliminary" // 速報
	StageFinal       = "final"       // 確報
)

// Clock is one legal reporting clock as the report shows it. It mirrors the
// part of app.ClockView a report needs, so this package does not depend on
// app.
type Clock struct {
	RuleID    string // e.g. deadline.APPIPreliminary
	TitleJA   string
	TitleEN   string
	Due       time.Time
	State     string     // deadline.State* value
	At        *time.Time // when submitted or decided
	Reference string     // the regulator's reference number
}

// Input is everything a report is drawn from.
type Input struct {
	Incident *core.Incident
	Actions  []core.ActionRecord
	Comments []core.Comment
	Timeline []core.Event
	Clocks   []Clock
	// Lang is "ja" (the default when empty) or "en".
	Lang string
	// TZ is the zone times are shown in; nil means JST (UTC+9).
	TZ *time.Location
	// Now is when the report is drawn up; it ends the phase the incident is
	// in and decides whether the GDPR 72 hours have passed. Required.
	Now time.Time
	// PPCStage chooses the PPC report: StagePreliminary (速報, the default
	// when empty) or StageFinal (確報). Other kinds ignore it.
	PPCStage string
	// Edits are a person's changes to the generated draft (nil: none).
	Edits *Edits
	// Costs are the incident's cost items (the post-incident report sums
	// them by category).
	Costs []core.CostItem
}

// JST is the default zone. A fixed zone, so no time-zone database is needed.
var JST = time.FixedZone("JST", 9*60*60)

//go:embed templates
var templateFS embed.FS

var (
	mdTemplate = texttemplate.Must(texttemplate.New("report.md.tmpl").Funcs(texttemplate.FuncMap{
		"hashes": mdHashes, "mdtext": mdText, "cell": mdCell, "line": mdLine,
	}).ParseFS(templateFS, "templates/report.md.tmpl"))
	htmlTemplate = htmltemplate.Must(htmltemplate.New("report.html.tmpl").ParseFS(templateFS, "templates/report.html.tmpl"))
	printCSS     = mustRead("templates/print.css")
)

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Render draws up a report of the given kind ("ppc", "gdpr",
// "post-incident") in the given format ("md", "html" or "pdf"). An unknown kind,
// format, language or PPC stage, a nil incident or a zero Now is an error
// wrapping core.ErrInvalid.
func Render(kind, format string, in Input) ([]byte, error) {
	if format != FormatMarkdown && format != FormatHTML && format != FormatPDF {
		return nil, core.Invalid("format", "unknown report format %q (md, html or pdf)", format)
	}
	if err := in.normalize(); err != nil {
		return nil, err
	}
	d, err := build(kind, in)
	if err != nil {
		return nil, err
	}
	if in.Edits != nil {
		in.Edits.apply(d)
	}
	d.Lang = in.Lang
	if format == FormatPDF {
		return renderPDF(d, in)
	}
	var buf bytes.Buffer
	if format == FormatHTML {
		d.CSS = htmltemplate.CSS(printCSS)
		err = htmlTemplate.Execute(&buf, d)
	} else {
		err = mdTemplate.Execute(&buf, d)
	}
	if err != nil {
		return nil, fmt.Errorf("render %s report as %s: %w", kind, format, err)
	}
	return buf.Bytes(), nil
}

// normalize fills in the defaults and refuses what cannot be drawn up.
func (in *Input) normalize() error {
	if in.Lang == "" {
		in.Lang = LangJA
	}
	if in.Lang != LangJA && in.Lang != LangEN {
		return core.Invalid("lang", "unknown language %q (ja or en)", in.Lang)
	}
	if in.TZ == nil {
		in.TZ = JST
	}
	if in.Incident == nil {
		return core.Invalid("incident", "is required")
	}
	if in.Now.IsZero() {
		return core.Invalid("now", "is required")
	}
	if in.PPCStage == "" {
		in.PPCStage = StagePreliminary
	}
	return nil
}

// build draws up the document of a kind from a normalised input.
func build(kind string, in Input) (*document, error) {
	b := &builder{in: in}
	var d *document
	switch kind {
	case KindPPC:
		if in.PPCStage != StagePreliminary && in.PPCStage != StageFinal {
			return nil, core.Invalid("stage", "unknown PPC report stage %q (preliminary or final)", in.PPCStage)
		}
		d = b.ppc()
	case KindGDPR:
		d = b.gdpr()
	case KindPostIncident:
		d = b.postIncident()
	default:
		return nil, core.Invalid("kind", "unknown report kind %q (ppc, gdpr or post-incident)", kind)
	}
	return d, nil
}
