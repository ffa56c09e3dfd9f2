package ingest

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
)

// ParseSyslog reads syslog messages, one per line, taking the current
// local time as the reference for BSD timestamps (see ParseSyslogAt).
func ParseSyslog(body []byte) ([]Alert, error) { return ParseSyslogAt(body, time.Now()) }

// ParseSyslogAt reads syslog messages, one per line, as a text body of
// POST /api/v1/alerts/syslog carries them. ref stands in for what a BSD
// timestamp leaves out: its year is the one that puts the message nearest
// to ref, and its zone is ref's. Blank lines are skipped; every other line
// is an item, read by ParseSyslogMessage.
func ParseSyslogAt(body []byte, ref time.Time) ([]Alert, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	var alerts []Alert
	n := 0
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if n >= MaxItems {
			return nil, itemErr(n, "", "too many items (at most %d per body)", MaxItems)
		}
		a, err := syslogMessage(n, line, ref)
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, *a)
		n++
	}
	if n == 0 {
		return nil, &ParseError{Index: -1, Message: "empty body"}
	}
	return alerts, nil
}

// ParseSyslogMessage reads one syslog message, as a listener frames it (it
// may hold line breaks when octet-counted): RFC 5424 when a version follows
// the PRI, else RFC 3164 (BSD). ref is as for ParseSyslogAt.
//
// A message whose text holds a CEF event becomes that CEF alert (source
// "cef", with the syslog hostname and time where CEF has none); any other
// message becomes a "syslog" alert. Only a message without a valid PRI, an
// RFC 5424 message whose header or structured data is broken, or one that
// says nothing at all is refused, with a *ParseError of index -1.
func ParseSyslogMessage(msg []byte, ref time.Time) (Alert, error) {
	a, err := syslogMessage(-1, msg, ref)
	if err != nil {
		return Alert{}, err
	}
	return *a, nil
}

// syslogSeverities names the severities 0–7 as syslog.conf does.
var syslogSeverities = [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// syslogSeverity maps a syslog severity to ours: see the package doc.
func syslogSeverity(sev int) core.Severity {
	switch {
	case sev <= 1:
		return core.S1
	case sev <= 3:
		return core.S2
	case sev == 4:
		return core.S3
	}
	return core.S4
}

// sdParam is one PARAM-NAME="value" of RFC 5424 structured data, value
// unescaped.
type sdParam struct{ id, name, value string }

// syslogMsg is a syslog message taken apart; "-" (NILVALUE) is left empty.
type syslogMsg struct {
	pri    int
	time   time.Time
	host   string
	app    string
	procID string
	msgID  string
	sd     []sdParam
	text   string // MSG (5424) or CONTENT after the tag (3164)
	body   string // MSG (5424) or TAG and CONTENT (3164): where CEF is looked for
}

func syslogMessage(i int, line []byte, ref time.Time) (*Alert, error) {
	s := string(line)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.TrimRight(s, "\r\n\x00")
	if strings.TrimSpace(s) == "" {
		return nil, itemErr(i, "", "empty message")
	}
	m, err := splitSyslog(i, s, ref)
	if err != nil {
		return nil, err
	}
	if m.host == "" && m.app == "" && m.msgID == "" && len(m.sd) == 0 && strings.TrimSpace(m.text) == "" {
		return nil, itemErr(i, "msg", "empty: no hostname, app-name, msgid, structured data or text")
	}
	if k := strings.Index(m.body, "CEF:"); k >= 0 {
		if a, err := cefEvent(i, s, m.body[k:], cefCarrier{host: m.host, time: m.time}); err == nil {
			return a, nil
		}
		// Not a CEF event after all ("CEF:" in a sentence, a cut-off
		// header): it is still a message someone sent, so it is kept as one.
	}
	return syslogAlert(s, m), nil
}

// splitSyslog takes the PRI and the header off s.
func splitSyslog(i int, s string, ref time.Time) (*syslogMsg, error) {
	s = strings.TrimLeft(s, " \t")
	if len(s) < 3 || s[0] != '<' {
		return nil, itemErr(i, "pri", "a syslog message starts with <PRI> (a number 0–191 in angle brackets)")
	}
	end := strings.IndexByte(s[:min(len(s), 5)], '>')
	if end < 2 {
		return nil, itemErr(i, "pri", "no closing '>' after one to three digits")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri < 0 || pri > 191 || strings.Trim(s[1:end], "0123456789") != "" {
		return nil, itemErr(i, "pri", "%q is not a number 0–191", clean(s[1:end], 8))
	}
	rest := s[end+1:]
	m := &syslogMsg{pri: pri}
	// RFC 5424: a version (1–3 digits, not starting with 0) and a space. A
	// BSD message never has one: its header starts with a month, an
	// RFC 3339 date (digits then '-') or a Cisco sequence number ("123:").
	if v := digitsPrefix(rest); v > 0 && v <= 3 && rest[0] != '0' && len(rest) > v && rest[v] == ' ' {
		return m, split5424(i, rest[v+1:], m)
	}
	split3164(rest, ref, m)
	return m, nil
}

func digitsPrefix(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// split5424 reads TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG], each
// header field separated by exactly one space as the RFC says.
func split5424(i int, s string, m *syslogMsg) error {
	var f [5]string
	names := [5]string{"timestamp", "hostname", "app-name", "procid", "msgid"}
	const shape = "missing: an RFC 5424 header is <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA"
	for n := range f {
		var ok bool
		f[n], s, ok = strings.Cut(s, " ")
		switch {
		case f[n] == "":
			return itemErr(i, names[n], shape)
		case !ok && n < 4:
			return itemErr(i, names[n+1], shape)
		case !ok:
			return itemErr(i, "structured-data", "missing (\"-\" when there is none)")
		}
	}
	nil5424 := func(v string) string {
		if v == "-" {
			return ""
		}
		return v
	}
	if f[0] != "-" {
		// A timestamp that is not RFC 3339 loses only the time, not the
		// message: ReceivedAt remains.
		if t, err := time.Parse(time.RFC3339Nano, f[0]); err == nil && t.Year() >= 1970 {
			m.time = t.UTC()
		}
	}
	m.host, m.app, m.procID, m.msgID = nil5424(f[1]), nil5424(f[2]), nil5424(f[3]), nil5424(f[4])
	sd, rest, err := structuredData(i, s)
	if err != nil {
		return err
	}
	m.sd = sd
	switch {
	case rest == "":
	case rest[0] == ' ':
		rest = rest[1:]
	default:
		return itemErr(i, "structured-data", "must be followed by a space before the message")
	}
	m.text = strings.TrimPrefix(rest, "\ufeff")
	m.body = m.text
	return nil
}

// structuredData reads "-" or one or more [SD-ID PARAM="value" ...]
// elements off the front of s. In values \" \\ \] are escapes; any other
// backslash is kept, as RFC 5424 6.3.3 says.
func structuredData(i int, s string) ([]sdParam, string, error) {
	if strings.HasPrefix(s, "-") {
		return nil, s[1:], nil
	}
	if !strings.HasPrefix(s, "[") {
		return nil, "", itemErr(i, "structured-data", "must be \"-\" or start with '['")
	}
	var out []sdParam
	bad := func(format string, args ...any) ([]sdParam, string, error) {
		return nil, "", itemErr(i, "structured-data", format, args...)
	}
	j := 0
	for j < len(s) && s[j] == '[' {
		j++
		k := j
		for j < len(s) && sdNameChar(s[j]) {
			j++
		}
		if j == k {
			return bad("an element has no SD-ID")
		}
		id := s[k:j]
		for {
			if j >= len(s) {
				return bad("element %q is not closed with ']'", clean(id, 32))
			}
			if s[j] == ']' {
				j++
				break
			}
			if s[j] != ' ' {
				return bad("unexpected %q in element %q", s[j], clean(id, 32))
			}
			j++
			k = j
			for j < len(s) && sdNameChar(s[j]) {
				j++
			}
			if j == k || j+1 >= len(s) || s[j] != '=' || s[j+1] != '"' {
				return bad("a parameter of element %q is not NAME=\"value\"", clean(id, 32))
			}
			name := s[k:j]
			j += 2
			var v strings.Builder
			closed := false
			for j < len(s) {
				c := s[j]
				if c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\' || s[j+1] == ']') {
					v.WriteByte(s[j+1])
					j += 2
					continue
				}
				j++
				if c == '"' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return bad("the value of %q in element %q has no closing quote", clean(name, 32), clean(id, 32))
			}
			out = append(out, sdParam{id: id, name: name, value: v.String()})
		}
	}
	return out, s[j:], nil
}

// sdNameChar is PRINTUSASCII except '=', SP, ']' and '"'.
func sdNameChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '=' && c != ']' && c != '"'
}

var months = map[string]time.Month{
	"Jan": time.January, "Feb": time.February, "Mar": time.March, "Apr": time.April,
	"May": time.May, "Jun": time.June, "Jul": time.July, "Aug": time.August,
	"Sep": time.September, "Oct": time.October, "Nov": time.November, "Dec": time.December,
}

// split3164 reads what follows the PRI of a BSD message: TIMESTAMP
// HOSTNAME TAG: CONTENT, as leniently as real senders need. Without a
// recognisable timestamp the whole rest is content (RFC 3164 4.3.3).
func split3164(s string, ref time.Time, m *syslogMsg) {
	t, rest, ok := bsdTimestamp(s, ref)
	if !ok {
		m.text = strings.TrimLeft(s, " ")
		m.body = m.text
		return
	}
	m.time = t
	rest = strings.TrimLeft(rest, " ")
	// HOSTNAME, unless the sender left it out (local senders do) and the
	// word is already the tag: "sshd[812]:" or "kernel:".
	word, after, _ := strings.Cut(rest, " ")
	if word != "" && !strings.HasSuffix(word, ":") && !strings.Contains(word, "[") {
		m.host = word
		rest = after
	}
	rest = strings.TrimLeft(rest, " ")
	m.body = rest
	m.app, m.procID, m.text = bsdTag(rest)
}

// bsdTimestamp reads "Mmm dd hh:mm:ss" (day space- or zero-padded, an
// optional fraction, an optional year after the day or the time as some
// devices add), or an RFC 3339 time as rsyslog's forwarding format has.
func bsdTimestamp(s string, ref time.Time) (time.Time, string, bool) {
	if digitsPrefix(s) == 4 && len(s) > 4 && s[4] == '-' {
		word, rest, _ := strings.Cut(s, " ")
		if t, err := time.Parse(time.RFC3339Nano, word); err == nil && t.Year() >= 1970 {
			return t.UTC(), rest, true
		}
		return time.Time{}, s, false
	}
	if len(s) < 15 {
		return time.Time{}, s, false
	}
	mon, ok := months[s[:3]]
	if !ok || s[3] != ' ' {
		return time.Time{}, s, false
	}
	r := strings.TrimLeft(s[4:], " ")
	n := digitsPrefix(r)
	if n < 1 || n > 2 || len(r) <= n || r[n] != ' ' {
		return time.Time{}, s, false
	}
	day, _ := strconv.Atoi(r[:n])
	r = r[n+1:]
	year := 0
	if y := digitsPrefix(r); y == 4 && len(r) > 4 && r[4] == ' ' {
		year, _ = strconv.Atoi(r[:4])
		r = r[5:]
	}
	if len(r) < 8 || r[2] != ':' || r[5] != ':' {
		return time.Time{}, s, false
	}
	hh, e1 := strconv.Atoi(r[0:2])
	mm, e2 := strconv.Atoi(r[3:5])
	ss, e3 := strconv.Atoi(r[6:8])
	if e1 != nil || e2 != nil || e3 != nil || hh > 23 || mm > 59 || ss > 60 || day < 1 || day > 31 {
		return time.Time{}, s, false
	}
	r = r[8:]
	nsec := 0
	if len(r) > 1 && r[0] == '.' {
		k := digitsPrefix(r[1:])
		if k > 0 {
			frac := r[1 : 1+min(k, 9)]
			nsec, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
			r = r[1+k:]
		}
	}
	if year == 0 && len(r) >= 5 && r[0] == ' ' && digitsPrefix(r[1:]) == 4 && (len(r) == 5 || r[5] == ' ') {
		year, _ = strconv.Atoi(r[1:5])
		r = r[5:]
	}
	if r != "" && r[0] != ' ' {
		return time.Time{}, s, false
	}
	loc := ref.Location()
	if year != 0 {
		t := time.Date(year, mon, day, hh, mm, ss, nsec, loc)
		if t.Day() != day || year < 1970 {
			return time.Time{}, s, false
		}
		return t.UTC(), r, true
	}
	// No year: of last year, this year and next, the valid date nearest
	// to ref (a December message read in January is last year's).
	var best time.Time
	for y := ref.Year() - 1; y <= ref.Year()+1; y++ {
		t := time.Date(y, mon, day, hh, mm, ss, nsec, loc)
		if t.Day() != day { // 29 February of a common year
			continue
		}
		if best.IsZero() || absDur(t.Sub(ref)) < absDur(best.Sub(ref)) {
			best = t
		}
	}
	if best.IsZero() || best.Year() < 1970 {
		return time.Time{}, s, false
	}
	return best.UTC(), r, true
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// bsdTag splits "tag[pid]: content". A first word that is not a tag
// leaves the whole text as content.
func bsdTag(s string) (app, pid, text string) {
	j := 0
	for j < len(s) && j < 64 && bsdTagChar(s[j]) {
		j++
	}
	if j == 0 || j == len(s) {
		return "", "", s
	}
	tag := s[:j]
	r := s[j:]
	if r[0] == '[' {
		end := strings.IndexByte(r, ']')
		if end < 0 || end > 130 {
			return "", "", s
		}
		pid = r[1:end]
		r = r[end+1:]
	}
	if !strings.HasPrefix(r, ":") {
		return "", "", s
	}
	return tag, pid, strings.TrimLeft(r[1:], " ")
}

func bsdTagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/' || c == '@' || c == '%'
}

// Field names that, in structured data or key=value text, carry the
// normalised fields. Compared in lower case.
var (
	srcIPKeys   = []string{"src", "srcip", "src_ip", "source_ip", "sourceip", "sip", "client_ip", "clientip", "remote_ip", "remoteip", "ipaddress", "rhost"}
	dstIPKeys   = []string{"dst", "dstip", "dst_ip", "dest_ip", "destination_ip", "dip"}
	srcPortKeys = []string{"spt", "srcport", "src_port", "sport", "source_port", "ipport"}
	dstPortKeys = []string{"dpt", "dstport", "dst_port", "dport", "destination_port"}
	userKeys    = []string{"user", "usr", "username", "user_name", "suser", "duser", "targetusername", "account"}
	hashKeys    = []string{"sha256", "filehash", "sha1", "md5", "hash"}
	urlKeys     = []string{"url"}
	hostKeys    = []string{"devname", "hostname"}
)

// sshdAuth finds the user and the client of OpenSSH's authentication
// messages ("Failed password for invalid user admin from 203.0.113.9 port
// 4711 ssh2", "Invalid user admin from ...", "Disconnected from
// authenticating user root 203.0.113.9 port 4711").
var (
	sshdUser = regexp.MustCompile(`(?:\bfor (?:invalid user )?|\b[Ii]nvalid user |\bauthenticating user |\bby (?:invalid )?user )(\S+) (?:from )?(\S+) port (\d{1,5})\b`)
	sshdPeer = regexp.MustCompile(`\bfrom (\S+) port (\d{1,5})\b`)
)

// syslogAlert makes the generic alert of a message that is not CEF.
func syslogAlert(line string, m *syslogMsg) *Alert {
	sev := m.pri % 8
	a := &Alert{
		EventTime:      m.time,
		NativeSeverity: syslogSeverities[sev],
		Severity:       syslogSeverity(sev),
		RuleID:         m.msgID,
		RuleName:       m.app,
		Host:           m.host,
	}
	text := strings.TrimSpace(m.text)
	switch {
	case m.app != "" && text != "":
		a.Title = m.app + ": " + text
	case text != "":
		a.Title = text
	default:
		a.Title = strings.TrimSpace(strings.Join([]string{m.app, m.msgID}, " "))
		if a.Title == "" && m.host != "" {
			a.Title = "syslog message from " + m.host
		}
	}
	kv := map[string]string{}
	for _, p := range m.sd {
		if k := strings.ToLower(p.name); kv[k] == "" {
			kv[k] = strings.TrimSpace(p.value)
		}
	}
	textKV(text, kv)
	if first, _, _ := strings.Cut(text, " "); strings.Contains(first, "=") && kv["msg"] != "" {
		// A message made of key=value pairs (FortiGate) says what happened
		// in its msg field; the whole line would be an unreadable title.
		a.Title = kv["msg"]
		if m.app != "" {
			a.Title = m.app + ": " + a.Title
		}
	}
	get := func(keys []string) string {
		for _, k := range keys {
			if v := kv[k]; v != "" {
				return v
			}
		}
		return ""
	}
	a.SrcIP, a.DstIP = get(srcIPKeys), get(dstIPKeys)
	a.SrcPort, a.DstPort = port(get(srcPortKeys)), port(get(dstPortKeys))
	a.User = get(userKeys)
	a.FileHash = get(hashKeys)
	a.URL = get(urlKeys)
	if a.Host == "" {
		a.Host = get(hostKeys)
	}
	if strings.HasPrefix(strings.ToLower(m.app), "sshd") {
		if g := sshdUser.FindStringSubmatch(text); g != nil {
			if a.User == "" {
				a.User = g[1]
			}
			if a.SrcIP == "" {
				a.SrcIP, a.SrcPort = g[2], port(g[3])
			}
		} else if g := sshdPeer.FindStringSubmatch(text); g != nil && a.SrcIP == "" {
			a.SrcIP, a.SrcPort = g[1], port(g[2])
		}
	}
	var extra []Observable
	for _, p := range m.sd {
		// RFC 5424 7.2: the origin element names the sender's addresses.
		if p.id == "origin" && p.name == "ip" {
			extra = append(extra, Observable{ObsIP, p.value})
		}
	}
	extra = append(extra, textObservables(text)...)
	if a.URL == "" {
		for _, o := range extra {
			if o.Type == ObsURL {
				a.URL = o.Value
				break
			}
		}
	}
	a.finish("syslog", lineRaw(line), extra)
	a.setFingerprint(a.Host, m.app, m.msgID, messageTemplate(text))
	return a
}

// textKV collects key=value and key="quoted value" pairs from free text
// into kv (keys lower-cased, the first value of a key wins), as firewalls
// such as FortiGate write their messages. Only the first pairs are read.
func textKV(s string, kv map[string]string) {
	pairs := 0
	for j := 0; j < len(s) && pairs < 128; {
		// a key starts at the start or after a space, comma or semicolon
		k := j
		for j < len(s) && (cefKeyChar(s[j])) {
			j++
		}
		if j == k || j >= len(s) || s[j] != '=' || (k > 0 && !strings.ContainsRune(" ,;\t", rune(s[k-1]))) {
			if j == k {
				j++
			}
			continue
		}
		key := strings.ToLower(s[k:j])
		j++
		var v string
		if j < len(s) && s[j] == '"' {
			end := strings.IndexByte(s[j+1:], '"')
			if end < 0 {
				v, j = s[j+1:], len(s)
			} else {
				v, j = s[j+1:j+1+end], j+2+end
			}
		} else {
			e := j
			for e < len(s) && s[e] != ' ' && s[e] != ',' && s[e] != ';' && s[e] != '\t' {
				e++
			}
			v, j = s[j:e], e
		}
		pairs++
		if _, ok := kv[key]; !ok {
			kv[key] = strings.TrimSpace(v)
		}
	}
}

func cefKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// textObservables finds IP addresses and http(s) URLs written in free
// text. At most 32, so a message that is a list of addresses stays cheap.
func textObservables(s string) []Observable {
	var out []Observable
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == ';' || r == '(' || r == ')' || r == '"' || r == '\'' || r == '<' || r == '>'
	}) {
		if len(out) >= 32 {
			break
		}
		lw := strings.ToLower(w)
		if strings.HasPrefix(lw, "http://") || strings.HasPrefix(lw, "https://") {
			out = append(out, Observable{ObsURL, w})
			continue
		}
		if strings.Contains(w, "=") {
			_, w, _ = strings.Cut(w, "=")
		}
		w = strings.Trim(w, "[].:")
		if len(w) < 2 || len(w) > 64 {
			continue
		}
		if ip, err := netip.ParseAddr(w); err == nil {
			out = append(out, Observable{ObsIP, ip.String()})
		} else if ap, err := netip.ParseAddrPort(w); err == nil {
			out = append(out, Observable{ObsIP, ap.Addr().String()})
		}
	}
	return out
}

// messageTemplate is the message with what varies between repeats taken
// out: every word (run of letters and digits) holding a digit becomes #,
// so counts, ports, addresses, ids and pids do not split a group. It is
// cut at 512 bytes: a long message rarely differs only after that.
func messageTemplate(s string) string {
	var b strings.Builder
	word := func(w string) {
		if strings.ContainsAny(w, "0123456789") {
			b.WriteByte('#')
		} else {
			b.WriteString(w)
		}
	}
	start := -1
	for j := 0; j < len(s) && b.Len() < 512; j++ {
		c := s[j]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
		switch {
		case alnum && start < 0:
			start = j
		case !alnum && start >= 0:
			word(s[start:j])
			start = -1
			b.WriteByte(c)
		case !alnum:
			b.WriteByte(c)
		}
	}
	if start >= 0 && b.Len() < 512 {
		word(s[start:])
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// lineRaw is the Raw of a line format: the line as a JSON string, with
// '<', '>' and '&' left as they are, so a syslog "<134>" reads as sent.
// line must be valid UTF-8.
func lineRaw(line string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(line) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}
