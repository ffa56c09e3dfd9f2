package share

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

// utf8BOM makes Excel (Japanese Windows above all, which otherwise reads
// Shift_JIS) open the file as UTF-8.
const utf8BOM = "\ufeff"

// CSVWriter writes RFC 4180 CSV (CRLF line ends) in UTF-8 with a BOM.
// Every cell is guarded against formula injection.
type CSVWriter struct {
	w *csv.Writer
}

// NewCSVWriter writes the BOM and the header row.
func NewCSVWriter(w io.Writer, header []string) (*CSVWriter, error) {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return nil, err
	}
	c := &CSVWriter{w: csv.NewWriter(w)}
	c.w.UseCRLF = true
	return c, c.Write(header)
}

// Write writes one row; it is buffered until Flush.
func (c *CSVWriter) Write(row []string) error {
	safe := make([]string, len(row))
	for i, cell := range row {
		safe[i] = CSVCell(cell)
	}
	return c.w.Write(safe)
}

// Flush sends the buffered rows on.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// CSVCell guards a cell against formula injection: a spreadsheet runs a
// cell that starts with = + - @ (or a tab or carriage return, which some
// strip first) as a formula, and alert titles and URLs come from
// attackers. A leading quote makes it text.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// NDJSONWriter writes one JSON object per line.
type NDJSONWriter struct {
	enc *json.Encoder
}

// NewNDJSONWriter writes to w.
func NewNDJSONWriter(w io.Writer) *NDJSONWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &NDJSONWriter{enc: enc}
}

// Write writes v as one line.
func (n *NDJSONWriter) Write(v any) error { return n.enc.Encode(v) }

// Redactor withholds TLP:RED observables from bulk exports: those marked
// red on the incident at hand, and any value marked red on some incident
// (an alert's field may carry it).
type Redactor struct {
	Red map[core.Observable]bool
}

// Withheld reports whether an observable must not leave in bulk.
func (r Redactor) Withheld(o core.IncidentObservable) bool {
	return o.TLP == "red" || r.Red[o.Observable]
}

// Keep returns the observables that may leave in bulk.
func (r Redactor) Keep(obs []core.IncidentObservable) []core.IncidentObservable {
	out := []core.IncidentObservable{}
	for _, o := range obs {
		if !r.Withheld(o) {
			out = append(out, o)
		}
	}
	return out
}

// field reports whether an alert field's value, read as typ, is red.
func (r Redactor) field(typ, value string) bool {
	if value == "" || len(r.Red) == 0 {
		return false
	}
	if typ == ingest.ObsHost {
		if r.field(ingest.ObsIP, value) {
			return true
		}
	}
	v, err := ingest.NormalizeObservable(typ, value)
	return err == nil && r.Red[core.Observable{Type: typ, Value: v}]
}

// Alert returns a copy of al with every field and observable that holds
// a red value blanked, and without the raw payload (which may hold them
// too and is not meant for a table).
func (r Redactor) Alert(al *core.Alert) *core.Alert {
	c := *al
	c.Raw = nil
	for _, f := range []struct {
		typ string
		p   *string
	}{{ingest.ObsHost, &c.Host}, {ingest.ObsUser, &c.User}, {ingest.ObsIP, &c.SrcIP}, {ingest.ObsIP, &c.DstIP},
		{ingest.ObsFilename, &c.Process}, {ingest.ObsHash, &c.FileHash}, {ingest.ObsURL, &c.URL},
		{ingest.ObsDomain, &c.Domain}, {ingest.ObsEmail, &c.Email}} {
		if r.field(f.typ, *f.p) {
			*f.p = ""
		}
	}
	if r.field(ingest.ObsEmail, c.User) {
		c.User = ""
	}
	var kept []core.Observable
	for _, o := range c.Observables {
		if !r.Red[o] {
			kept = append(kept, o)
		}
	}
	c.Observables = kept
	return &c
}

// IncidentRecord is one incident of an NDJSON export: the incident and
// the observables that may leave with it.
type IncidentRecord struct {
	*core.Incident
	Observables []core.IncidentObservable `json:"observables"`
}

// IncidentHeader is the header of an incident CSV.
var IncidentHeader = []string{"key", "title", "category", "severity", "priority", "phase", "restricted", "exercise",
	"reporter", "assignee", "occurred_at", "detected_at", "reported_at", "contained_at", "closed_at",
	"created_at", "updated_at", "observables"}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// IncidentRow is the CSV row of an incident; observables are written as
// "type:value" separated by "; ".
func IncidentRow(rec IncidentRecord) []string {
	inc := rec.Incident
	obs := make([]string, len(rec.Observables))
	for i, o := range rec.Observables {
		obs[i] = o.Type + ":" + o.Value
	}
	return []string{inc.Key, inc.Title, string(inc.Category), string(inc.Severity), string(inc.Priority), string(inc.Phase),
		strconv.FormatBool(inc.Restricted), strconv.FormatBool(inc.Exercise), inc.Reporter, inc.Assignee,
		csvTime(inc.Facts.OccurredAt), csvTime(inc.Timestamps.DetectedAt), csvTime(&inc.Timestamps.ReportedAt),
		csvTime(inc.Timestamps.ContainedAt), csvTime(inc.Timestamps.ClosedAt),
		csvTime(&inc.CreatedAt), csvTime(&inc.UpdatedAt), strings.Join(obs, "; ")}
}

// AlertRecord is one alert of an NDJSON export with its watchlist marks.
type AlertRecord struct {
	*core.Alert
	Watchlist []string `json:"watchlist,omitempty"`
}

// AlertHeader is the header of an alert CSV.
var AlertHeader = []string{"id", "source", "status", "severity", "title", "rule_id", "rule_name", "host", "user",
	"src_ip", "src_port", "dst_ip", "dst_port", "process", "file_hash", "url", "domain", "email",
	"first_seen", "last_seen", "count", "incident", "watchlist"}

func port(p int) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(p)
}

// AlertRow is the CSV row of an alert.
func AlertRow(rec AlertRecord) []string {
	al := rec.Alert
	return []string{strconv.FormatInt(al.ID, 10), al.Source, string(al.Status), string(al.Severity), al.Title,
		al.RuleID, al.RuleName, al.Host, al.User, al.SrcIP, port(al.SrcPort), al.DstIP, port(al.DstPort),
		al.Process, al.FileHash, al.URL, al.Domain, al.Email,
		csvTime(&al.FirstSeen), csvTime(&al.LastSeen), strconv.FormatInt(al.Count, 10), al.IncidentKey,
		strings.Join(rec.Watchlist, "; ")}
}
