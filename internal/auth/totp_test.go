package auth

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHOTPRFC6238Vectors checks the SHA-1 rows of RFC 6238 Appendix B
// (8 digits, the 20-byte ASCII key "12345678901234567890") and their
// 6-digit truncations, which is what authenticator apps show.
func TestHOTPRFC6238Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, v := range vectors {
		step := TOTPStep(time.Unix(v.unix, 0))
		if got := hotp(key, uint64(step), 8); got != v.code {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.code)
		}
		six, err := TOTPCode(secret, step)
		if err != nil || six != v.code[2:] {
			t.Errorf("T=%d six digits: %s %v, want %s", v.unix, six, err, v.code[2:])
		}
	}
	// RFC 4226 Appendix D, the HOTP counter table.
	for i, want := range []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"} {
		if got := hotp(key, uint64(i), 6); got != want {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestCheckTOTPWindowAndReplay(t *testing.T) {
	secret, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 {
		t.Fatalf("secret %q: want 32 base32 characters", secret)
	}
	now := time.Unix(1_800_000_015, 0)
	cur := TOTPStep(now)
	code := func(step int64) string { c, _ := TOTPCode(secret, step); return c }
	for _, d := range []int64{-1, 0, 1} {
		if step, ok := CheckTOTP(secret, code(cur+d), now, 0); !ok || step != cur+d {
			t.Errorf("step %+d: %d %v", d, step, ok)
		}
	}
	for _, d := range []int64{-2, 2} {
		if _, ok := CheckTOTP(secret, code(cur+d), now, 0); ok {
			t.Errorf("step %+d accepted outside the window", d)
		}
	}
	// The step just used, or any before it, is refused.
	if _, ok := CheckTOTP(secret, code(cur), now, cur); ok {
		t.Error("replayed step accepted")
	}
	if _, ok := CheckTOTP(secret, code(cur-1), now, cur); ok {
		t.Error("an older step accepted after a newer one was used")
	}
	if _, ok := CheckTOTP(secret, code(cur+1), now, cur); !ok {
		t.Error("the next step refused")
	}
	// Typed with a space in the middle, as apps display it.
	c := code(cur)
	if _, ok := CheckTOTP(secret, c[:3]+" "+c[3:], now, 0); !ok {
		t.Error("code with a space refused")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", c + "0"} {
		if _, ok := CheckTOTP(secret, bad, now, 0); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, ok := CheckTOTP("not base32!", c, now, 0); ok {
		t.Error("a broken secret accepted a code")
	}
	// A lower-case secret with spaces, as someone might type it into an app.
	lower := strings.ToLower(secret[:4] + " " + secret[4:])
	if got, err := TOTPCode(lower, cur); err != nil || got != c {
		t.Errorf("lower-case secret: %s %v", got, err)
	}
}

func TestTOTPURI(t *testing.T) {
	uri := TOTPURI("irdesk", "yamada@example.jp", "JBSWY3DPEHPK3PXP")
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/irdesk:yamada@example.jp" ||
		q.Get("secret") != "JBSWY3DPEHPK3PXP" || q.Get("issuer") != "irdesk" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("uri %s", uri)
	}
}

func TestRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c, err := NewRecoveryCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 19 || strings.Count(c, "-") != 3 || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		if NormalizeRecoveryCode(" "+strings.ToUpper(c)+" ") != strings.ReplaceAll(c, "-", "") {
			t.Errorf("normalize %q", c)
		}
	}
}

func FuzzCheckTOTP(f *testing.F) {
	f.Add("JBSWY3DPEHPK3PXP", "123456")
	f.Add("", "")
	f.Add("!!!!", "12 34 56")
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, secret, code string) {
		step, ok := CheckTOTP(secret, code, now, 0)
		if ok {
			want, err := TOTPCode(secret, step)
			if err != nil || strings.ReplaceAll(strings.TrimSpace(code), " ", "") != want {
				t.Fatalf("accepted %q for step %d (code %s, %v)", code, step, want, err)
			}
		}
	})
}
