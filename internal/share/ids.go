package share

import (
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// scoNamespace is the namespace STIX 2.1 (section 2.9) fixes for the
// UUIDv5 identifiers of cyber-observable objects.
var scoNamespace = [16]byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}

// irdeskNamespace seeds the deterministic identifiers irdesk gives MISP
// objects; any fixed value would do, it must only never change.
var irdeskNamespace = [16]byte{0x6f, 0x1c, 0x0e, 0x53, 0x8d, 0x2a, 0x4b, 0x61, 0x9e, 0x47, 0x12, 0xc3, 0x5a, 0x80, 0xd4, 0x27}

func formatUUID(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// uuid5 is RFC 9562's name-based SHA-1 UUID.
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// uuid4From is a version-4 UUID whose "random" bits come from hashing
// parts. STIX wants v4 for domain and relationship objects; deriving the
// bits from the incident instead of a random source keeps a re-export of
// the same incident the same objects, so a partner's platform updates
// them instead of piling up copies.
func uuid4From(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// canonicalJSON writes v in the JSON Canonicalization Scheme (RFC 8785)
// form that STIX uses for SCO identifiers. It takes only what SCO
// identifier properties hold here: strings and objects of them.
func canonicalJSON(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch t := v.(type) {
	case string:
		writeJCSString(b, t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		// RFC 8785 sorts by UTF-16 code units; the property names here are
		// ASCII, where that is byte order.
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJCSString(b, k)
			b.WriteByte(':')
			writeCanonical(b, t[k])
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, s := range t {
			m[k] = s
		}
		writeCanonical(b, m)
	default:
		panic(fmt.Sprintf("canonicalJSON: unsupported %T", v))
	}
}

// writeJCSString escapes as ECMAScript's JSON.stringify does: only the
// quote, the backslash and control characters; everything else as is.
func writeJCSString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// scoID is the deterministic identifier of a cyber-observable object
// from its ID-contributing properties.
func scoID(typ string, contributing map[string]any) string {
	return typ + "--" + uuid5(scoNamespace, canonicalJSON(contributing))
}
