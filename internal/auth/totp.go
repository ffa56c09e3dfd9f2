package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP as authenticator apps implement it (RFC 6238 over RFC 4226):
// HMAC-SHA-1, 30-second steps, 6 digits. Apps ignore other parameters in
// practice, so irdesk offers no others.
const (
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	// TOTPSkew is how many steps either side of now are accepted, for a
	// phone whose clock is a little off and for the seconds it takes to type.
	TOTPSkew = 1
	// totpSecretBytes is RFC 4226's recommended 160 bits.
	totpSecretBytes = 20
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random secret in the base32 form that
// authenticator apps read.
func NewTOTPSecret() (string, error) {
	b := make([]byte, totpSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return b32.EncodeToString(b), nil
}

// decodeTOTPSecret reads a base32 secret, forgiving case, spaces and
// padding as people type them.
func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(secret))
	key, err := b32.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("TOTP secret is not base32")
	}
	return key, nil
}

// TOTPStep is the time step t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// hotp is RFC 4226's HOTP with dynamic truncation to digits digits.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// TOTPCode is the code of a step, for tests and for showing nothing else.
func TOTPCode(secret string, step int64) (string, error) {
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(key, uint64(step), TOTPDigits), nil
}

// CheckTOTP looks for code among the steps within TOTPSkew of now and
// returns the step it matched. Steps at or below lastUsed are never
// accepted, so a code seen over a shoulder or in a proxy log cannot be
// replayed; the caller stores the step returned as the new lastUsed.
func CheckTOTP(secret, code string, now time.Time, lastUsed int64) (int64, bool) {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != TOTPDigits {
		return 0, false
	}
	key, err := decodeTOTPSecret(secret)
	if err != nil {
		return 0, false
	}
	cur := TOTPStep(now)
	matched, found := int64(0), 0
	// Every candidate is computed and compared, so the time taken does
	// not tell which step matched.
	for step := cur - TOTPSkew; step <= cur+TOTPSkew; step++ {
		ok := subtle.ConstantTimeCompare([]byte(hotp(key, uint64(step), TOTPDigits)), []byte(code))
		if ok == 1 && step > lastUsed && found == 0 {
			matched, found = step, 1
		}
	}
	return matched, found == 1
}

// TOTPURI is the otpauth:// URI an authenticator app scans, in the form
// of Google Authenticator's Key Uri Format, which the other apps follow.
func TOTPURI(issuer, account, secret string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(TOTPDigits))
	q.Set("period", fmt.Sprint(int(TOTPPeriod/time.Second)))
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// RecoveryCodeCount is how many recovery codes an enrolment issues.
const RecoveryCodeCount = 10

// NewRecoveryCode returns a one-time recovery code: 80 random bits as
// four groups of four base32 letters and digits, easy to copy on paper.
// 80 bits make the fast HashSecret enough to store it.
func NewRecoveryCode() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := b32.EncodeToString(b)
	return strings.ToLower(s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]), nil
}

// NormalizeRecoveryCode is the form a recovery code is hashed in, so
// case, spaces and dashes typed differently still match.
func NormalizeRecoveryCode(code string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "", "\t", "").Replace(strings.TrimSpace(code)))
}
