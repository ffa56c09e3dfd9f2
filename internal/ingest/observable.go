package ingest

import (
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/irdesk/irdesk/internal/core"
)

// Observable is one indicator taken from an alert: an address, a name, a
// hash, in normalised form (see NormalizeObservable).
type Observable struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// maxObservableLen bounds any observable before it is looked at, so no
// check runs on megabytes; every type has a smaller limit of its own.
const maxObservableLen = 8192

// Observable types.
const (
	ObsIP          = "ip"
	ObsDomain      = "domain"
	ObsURL         = "url"
	ObsHash        = "hash" // MD5, SHA-1 or SHA-256, told apart by length: see HashType
	ObsEmail       = "email"
	ObsUser        = "user"
	ObsHost        = "host"
	ObsFilename    = "filename"
	ObsRegistryKey = "registry_key"
)

// ObservableTypes lists every observable type.
var ObservableTypes = []string{ObsIP, ObsDomain, ObsURL, ObsHash, ObsEmail, ObsUser, ObsHost, ObsFilename, ObsRegistryKey}

// NormalizeObservable checks that value is a valid observable of type typ
// and returns its normal form, so the same indicator written two ways is
// stored once:
//   - ip: canonical text of net/netip (IPv6 compressed and lower-case,
//     IPv4-mapped IPv6 as IPv4, zone dropped; "[2001:db8::1]" accepted);
//   - domain: lower-case, no trailing dot, at least two labels;
//   - url: scheme and host lower-case, default port dropped, re-assembled;
//     a URL without a scheme ("evil.example/x") is taken as http;
//   - hash: lower-case hex of 32, 40 or 64 digits; all zeros is refused
//     (tools send it for "no hash");
//   - email: lower-case;
//   - host: lower-case, no trailing dot (an IP address as for ip);
//   - user, filename: trimmed, case kept;
//   - registry_key: hive spelled out in capitals (HKLM → HKEY_LOCAL_MACHINE,
//     \REGISTRY\MACHINE → HKEY_LOCAL_MACHINE), rest kept.
//
// Defanged forms are accepted for ip, domain, url and email: hxxp://,
// hxxps://, [.], (.), {.}, [dot], (dot), [@], (@), [at], (at), [:], [://].
// Placeholders tools write for "nobody" ("-", "N/A", "null", "none") are
// refused as user and host. Errors wrap core.ErrInvalid.
func NormalizeObservable(typ, value string) (string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", core.Invalid("value", "is empty")
	}
	if len(value) > maxObservableLen {
		return "", core.Invalid("value", "is longer than %d bytes", maxObservableLen)
	}
	if !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl) {
		return "", core.Invalid("value", "contains invalid or control characters")
	}
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case ObsIP:
		return normIP(refang(value))
	case ObsDomain:
		return normDomain(refang(value), 2)
	case ObsURL:
		return normURL(refang(value))
	case ObsHash:
		return normHash(value)
	case ObsEmail:
		return normEmail(refang(value))
	case ObsUser:
		return normName(value, 256)
	case ObsHost:
		return normHost(value)
	case ObsFilename:
		return normName(value, 1024)
	case ObsRegistryKey:
		return normRegistryKey(value)
	}
	return "", core.Invalid("type", "unknown observable type %q", clean(typ, 64))
}

// HashType names a hash by its length: "md5", "sha1", "sha256", or "" when
// value is not a hex hash.
func HashType(value string) string {
	if !isHex(value) {
		return ""
	}
	switch len(value) {
	case 32:
		return "md5"
	case 40:
		return "sha1"
	case 64:
		return "sha256"
	}
	return ""
}

var defangs = []struct{ from, to string }{
	{"[://]", "://"}, {"[:]", ":"}, {"[.]", "."}, {"(.)", "."}, {"{.}", "."},
	{"[dot]", "."}, {"(dot)", "."}, {"{dot}", "."}, {"[@]", "@"}, {"(@)", "@"},
	{"[at]", "@"}, {"(at)", "@"}, {"[/]", "/"},
}

// refang undoes the usual ways of defanging an indicator. It builds the
// result left to right and rewrites a defang as soon as the result ends in
// one, so nested forms ("[(.)]") come out fully undone in linear time, and
// the result holds no defang: refang is idempotent.
func refang(s string) string {
	if !strings.ContainsAny(s, "[({") && !strings.HasPrefix(asciiLower(s), "hxxp") && !strings.HasPrefix(asciiLower(s), "fxp") {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		for _, d := range defangs {
			n := len(d.from)
			// No replacement ends in a bracket, so one rewrite cannot
			// complete another: checking once per byte is enough.
			if len(out) >= n && asciiLower(string(out[len(out)-n:])) == d.from {
				out = append(out[:len(out)-n], d.to...)
				break
			}
		}
	}
	s = string(out)
	lower := asciiLower(s)
	switch {
	case strings.HasPrefix(lower, "hxxps"):
		s = "https" + s[5:]
	case strings.HasPrefix(lower, "hxxp"):
		s = "http" + s[4:]
	case strings.HasPrefix(lower, "fxp://"):
		s = "ftp" + s[3:]
	}
	return s
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func normIP(s string) (string, error) {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", core.Invalid("value", "is not an IP address")
	}
	return a.WithZone("").Unmap().String(), nil
}

// normDomain checks a DNS name of at least minLabels labels. Letters
// outside ASCII are allowed (internationalised names as written).
func normDomain(s string, minLabels int) (string, error) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "" || len(s) > 253 {
		return "", core.Invalid("value", "is not a domain name")
	}
	labels := strings.Split(s, ".")
	if len(labels) < minLabels {
		return "", core.Invalid("value", "is not a domain name (needs at least %d labels)", minLabels)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", core.Invalid("value", "is not a domain name")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' ||
				r > 0x7f && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r))) {
				return "", core.Invalid("value", "is not a domain name")
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "", core.Invalid("value", "is an address, not a domain name")
	}
	return s, nil
}

func normURL(s string) (string, error) {
	if len(s) > maxURLLen {
		return "", core.Invalid("value", "is longer than %d characters", maxURLLen)
	}
	if strings.ContainsAny(s, " \t") {
		return "", core.Invalid("value", "is not a URL (contains spaces)")
	}
	if !strings.Contains(s, "://") {
		// Only "host[:port][/…]" is taken as a URL without a scheme.
		host := s
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if h, p, ok := strings.Cut(host, ":"); ok && port(p) != 0 {
			host = h
		}
		if _, err := normDomain(host, 2); err != nil {
			if _, err := netip.ParseAddr(host); err != nil {
				return "", core.Invalid("value", "is not a URL")
			}
		}
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", core.Invalid("value", "is not a URL")
	}
	host := u.Hostname()
	if ip, err := normIP(host); err == nil {
		if strings.Contains(ip, ":") {
			host = "[" + ip + "]"
		} else {
			host = ip
		}
	} else if h, err := normDomain(host, 1); err == nil {
		host = h
	} else {
		return "", core.Invalid("value", "is not a URL (bad host)")
	}
	if p := u.Port(); p != "" {
		if port(p) == 0 && p != "0" {
			return "", core.Invalid("value", "is not a URL (bad port)")
		}
		if !(u.Scheme == "http" && p == "80" || u.Scheme == "https" && p == "443") {
			host += ":" + p
		}
	}
	u.Host = host
	out := u.String()
	if len(out) > maxURLLen {
		return "", core.Invalid("value", "is longer than %d characters", maxURLLen)
	}
	return out, nil
}

func normHash(s string) (string, error) {
	s = strings.ToLower(s)
	if HashType(s) == "" {
		return "", core.Invalid("value", "is not an MD5, SHA-1 or SHA-256 hex digest")
	}
	if strings.Trim(s, "0") == "" {
		return "", core.Invalid("value", "is an all-zero hash")
	}
	return s, nil
}

func normEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "mailto:"), "MAILTO:"))
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || len(s) > 254 || strings.ContainsAny(local, " <>()[],;:\"@\\") {
		return "", core.Invalid("value", "is not an e-mail address")
	}
	d, err := normDomain(domain, 2)
	if err != nil {
		return "", core.Invalid("value", "is not an e-mail address (bad domain)")
	}
	return local + "@" + d, nil
}

func isPlaceholder(s string) bool {
	switch strings.ToLower(s) {
	case "-", "n/a", "na", "null", "(null)", "nil", "none", "unknown", "?":
		return true
	}
	return false
}

func normName(s string, max int) (string, error) {
	if isPlaceholder(s) {
		return "", core.Invalid("value", "is a placeholder, not a name")
	}
	if utf8.RuneCountInString(s) > max {
		return "", core.Invalid("value", "is longer than %d characters", max)
	}
	return s, nil
}

func normHost(s string) (string, error) {
	if isPlaceholder(s) {
		return "", core.Invalid("value", "is a placeholder, not a host")
	}
	if ip, err := normIP(s); err == nil {
		return ip, nil
	}
	h, err := normDomain(s, 1)
	if err != nil {
		return "", core.Invalid("value", "is not a host name")
	}
	return h, nil
}

var hives = []struct{ prefix, long string }{
	{"HKEY_LOCAL_MACHINE", "HKEY_LOCAL_MACHINE"}, {"HKLM", "HKEY_LOCAL_MACHINE"},
	{"HKEY_CURRENT_USER", "HKEY_CURRENT_USER"}, {"HKCU", "HKEY_CURRENT_USER"},
	{"HKEY_USERS", "HKEY_USERS"}, {"HKU", "HKEY_USERS"},
	{"HKEY_CLASSES_ROOT", "HKEY_CLASSES_ROOT"}, {"HKCR", "HKEY_CLASSES_ROOT"},
	{"HKEY_CURRENT_CONFIG", "HKEY_CURRENT_CONFIG"}, {"HKCC", "HKEY_CURRENT_CONFIG"},
	{`\REGISTRY\MACHINE`, "HKEY_LOCAL_MACHINE"}, {`\REGISTRY\USER`, "HKEY_USERS"},
}

func normRegistryKey(s string) (string, error) {
	if utf8.RuneCountInString(s) > 2048 {
		return "", core.Invalid("value", "is longer than 2048 characters")
	}
	lower := asciiLower(s)
	for _, h := range hives {
		p := asciiLower(h.prefix)
		if !strings.HasPrefix(lower, p) {
			continue
		}
		rest := s[len(p):]
		if rest != "" && rest[0] != '\\' {
			continue // HKU is a prefix of HKUSERS-like junk
		}
		rest = strings.TrimRightFunc(rest, func(r rune) bool { return r == '\\' || unicode.IsSpace(r) })
		return h.long + rest, nil
	}
	return "", core.Invalid("value", "is not a registry key (must start with a hive such as HKLM or HKEY_LOCAL_MACHINE)")
}

// collectObservables takes the observables out of an alert's fields, then
// adds extra, normalised and without duplicates. Values that do not
// validate are left out: the field and Raw still hold them.
func collectObservables(a *Alert, extra []Observable) []Observable {
	cand := []Observable{
		{ObsHost, a.Host}, {ObsUser, a.User}, {ObsIP, a.SrcIP}, {ObsIP, a.DstIP},
		{ObsFilename, a.Process}, {ObsHash, a.FileHash}, {ObsURL, a.URL},
		{ObsDomain, a.Domain}, {ObsEmail, a.Email},
	}
	if a.URL != "" {
		if u, err := url.Parse(a.URL); err == nil {
			cand = append(cand, Observable{ObsDomain, u.Hostname()}, Observable{ObsIP, u.Hostname()})
		}
	}
	if strings.Contains(a.User, "@") {
		cand = append(cand, Observable{ObsEmail, a.User})
	}
	cand = append(cand, extra...)
	var out []Observable
	seen := map[Observable]bool{}
	for _, c := range cand {
		if c.Value == "" {
			continue
		}
		if c.Type == ObsHost {
			if ip, err := normIP(strings.TrimSpace(c.Value)); err == nil {
				c = Observable{ObsIP, ip}
			}
		}
		v, err := NormalizeObservable(c.Type, c.Value)
		if err != nil {
			continue
		}
		o := Observable{c.Type, v}
		if seen[o] {
			continue
		}
		seen[o] = true
		out = append(out, o)
		if len(out) == MaxObservables {
			break
		}
	}
	return out
}
