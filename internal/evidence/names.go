package evidence

import (
	"fmt"
	"math"
	"mime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFileNameBytes bounds a stored file name: what file systems allow.
const MaxFileNameBytes = 255

// FallbackFileName is the name of a file sent without a usable one.
const FallbackFileName = "evidence.bin"

// SanitizeFilename turns the name a client claims for a file into one that
// is safe to store, show and offer as a download name: the last path
// element only (browsers on Windows send C:\Users\…\mail.eml), no control
// or invisible formatting characters (CR and LF would split a header;
// bidirectional overrides disguise "exe.txt" as "txt.exe"), none of the
// characters Windows refuses or reads as a stream name, not a device name,
// at most 255 bytes of valid UTF-8 with the extension kept. Japanese and
// other scripts are kept as they are. It never returns "" or a name of dots.
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r),
			unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r), r >= 0xE000 && r <= 0xF8FF,
			r >= 0xFFF0 && r <= 0xFFFF, unicode.Is(unicode.Noncharacter_Code_Point, r):
			// dropped: control, format (bidi, zero width), separators,
			// private use, specials and non-characters
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	name = trimName(b.String())
	if len(name) > MaxFileNameBytes {
		name = trimName(truncateKeepExt(name, MaxFileNameBytes))
	}
	if name == "" {
		return FallbackFileName
	}
	if reservedDevice(name) {
		name = "_" + name
		if len(name) > MaxFileNameBytes {
			name = trimName(truncateKeepExt(name, MaxFileNameBytes))
		}
	}
	return name
}

// trimName drops spaces at both ends and dots at the end (Windows drops
// them silently, so "report.pdf." and "report.pdf" would be one file), and
// a name that is only dots.
func trimName(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ". ")
	s = strings.TrimSpace(s)
	if strings.Trim(s, ".") == "" {
		return ""
	}
	return s
}

// truncateKeepExt shortens s to at most n bytes on a rune boundary,
// keeping a short extension so the file still opens with the right tool.
func truncateKeepExt(s string, n int) string {
	ext := ""
	if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= 16 {
		ext = s[i:]
	}
	base := s[:len(s)-len(ext)]
	limit := n - len(ext)
	for len(base) > limit {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + ext
}

// reservedDevice reports names Windows maps to devices, with or without
// an extension (NUL.txt is the null device too).
func reservedDevice(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimSpace(stem))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '0' && stem[3] <= '9' {
		return true
	}
	return false
}

// MaxMediaTypeBytes bounds a claimed media type.
const MaxMediaTypeBytes = 255

// NormalizeMediaType checks a claimed media type and returns its
// type/subtype in lower case, without parameters; "" becomes
// application/octet-stream. The type is only a label: downloads are
// always served as application/octet-stream.
func NormalizeMediaType(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "application/octet-stream", nil
	}
	if len(s) > MaxMediaTypeBytes {
		return "", fmt.Errorf("is longer than %d bytes", MaxMediaTypeBytes)
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		return "", fmt.Errorf("%q is not a media type such as application/vnd.tcpdump.pcap", s)
	}
	if !strings.Contains(mt, "/") {
		return "", fmt.Errorf("%q is not a media type such as application/vnd.tcpdump.pcap", s)
	}
	return mt, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"tb", 1e12}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3},
	{"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10},
	{"b", 1},
}

// ParseSize reads a size such as 10GiB, 500MB, 2G or 1048576 (bytes).
// KiB/MiB/GiB/TiB and the bare K/M/G/T are powers of 1024; KB/MB/GB/TB
// are powers of 1000. The size must be a whole number of at least 1 byte.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	if t == "" || strings.ContainsAny(t, "+-") {
		return 0, fmt.Errorf("%q is not a size such as 10GiB, 500MiB or 1048576", s)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 10GiB, 500MiB or 1048576", s)
	}
	if n < 1 {
		return 0, fmt.Errorf("%q: the size must be at least 1 byte", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// FormatSize writes a size the way ParseSize reads it back exactly.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
