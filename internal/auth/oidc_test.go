package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testFlowOIDC(now time.Time) *OIDC {
	return &OIDC{cfg: OIDCConfig{Now: func() time.Time { return now }}, key: []byte("k")}
}

// TestFlowCookie: a sealed flow opens; an altered, foreign or expired one
// does not.
func TestFlowCookie(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	o := testFlowOIDC(now)
	c := o.seal(flow{State: "s", Nonce: "n", Verifier: "v", Expires: now.Add(FlowTTL).Unix()})
	if f, err := o.open(c); err != nil || f.State != "s" || f.Nonce != "n" || f.Verifier != "v" {
		t.Fatalf("open: %+v %v", f, err)
	}
	payload, sig, _ := strings.Cut(c, ".")
	for name, bad := range map[string]string{
		"altered":  strings.ToUpper(payload[:4]) + payload[4:] + "." + sig,
		"no sig":   payload,
		"foreign":  (&OIDC{cfg: o.cfg, key: []byte("other")}).seal(flow{State: "s", Expires: now.Add(time.Hour).Unix()}),
		"expired":  o.seal(flow{State: "s", Expires: now.Add(-time.Second).Unix()}),
		"empty":    "",
		"too long": strings.Repeat("a", 5000) + ".b",
	} {
		if _, err := o.open(bad); !errors.Is(err, ErrOIDC) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzFlowCookie(f *testing.F) {
	o := testFlowOIDC(time.Unix(1_800_000_000, 0))
	f.Add(o.seal(flow{State: "s", Expires: 1_900_000_000}))
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, c string) {
		if _, err := o.open(c); err != nil && !errors.Is(err, ErrOIDC) {
			t.Fatalf("error not ErrOIDC: %v", err)
		}
	})
}
