package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRefusalByRange(t *testing.T) {
	for _, tc := range []struct {
		ip     string
		reason string // "" is allowed
	}{
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"2606:4700::1111", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"169.253.255.255", ""},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"169.254.169.254", "link-local"},
		{"169.254.0.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.0.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fec0::1", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"::127.0.0.1", "reserved"},
		// IPv4-mapped IPv6 forms are judged as the IPv4 address they carry.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:100.64.1.1", "carrier-grade NAT"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:8.8.8.8", ""},
		// NAT64 reaches the IPv4 address in the last 32 bits.
		{"64:ff9b::7f00:1", "loopback (through NAT64)"},
		{"64:ff9b::a9fe:a9fe", "link-local (through NAT64)"},
		{"64:ff9b::808:808", ""},
		{"64:ff9b:1::1", "private"},
	} {
		if got := Refusal(netip.MustParseAddr(tc.ip)); got != tc.reason {
			t.Errorf("Refusal(%s) = %q, want %q", tc.ip, got, tc.reason)
		}
	}
	if Refusal(netip.Addr{}) == "" {
		t.Error("the zero address is allowed")
	}
}

func TestParseDestinations(t *testing.T) {
	d, err := ParseDestinations(" 10.1.2.3, 192.168.0.0/16,fd00::/8, ::ffff:172.16.0.0/108 ,Chat.Corp.Example., ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "10.1.2.3,192.168.0.0/16,fd00::/8,172.16.0.0/12,chat.corp.example"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, bad := range []struct{ in, msg string }{
		{"10.1.2.3/8", "did you mean 10.0.0.0/8"},
		{"10.0.0.0/33", "not a network"},
		{"*.corp.example", "not a network, an address or a host name"},
		{"http://10.1.2.3/", "not a network"},
		{"host name", "not a network, an address or a host name"},
		{"fe80::1%eth0", "zoned"},
		{"-bad-.example", "not a network, an address or a host name"},
	} {
		if _, err := ParseDestinations(bad.in); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("ParseDestinations(%q) = %v, want an error containing %q", bad.in, err, bad.msg)
		}
	}
	if d, err := ParseDestinations(""); err != nil || d.String() != "" {
		t.Errorf("empty list: %v %q", err, d.String())
	}
}

func TestDestinationsCheck(t *testing.T) {
	d, err := ParseDestinations("10.1.2.3,192.168.10.0/24,::ffff:172.16.0.0/108,mattermost.corp.example,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	var nilPolicy *Destinations
	for _, tc := range []struct {
		d     *Destinations
		host  string
		ip    string
		allow bool
	}{
		{nilPolicy, "hooks.slack.com", "52.1.2.3", true},
		{nilPolicy, "127.0.0.1", "127.0.0.1", false},
		{nilPolicy, "localhost", "::1", false},
		{d, "10.1.2.3", "10.1.2.3", true},
		{d, "10.1.2.3", "::ffff:10.1.2.3", true},
		{d, "10.1.2.4", "10.1.2.4", false},
		{d, "192.168.10.77", "192.168.10.77", true},
		{d, "192.168.11.1", "192.168.11.1", false},
		{d, "172.20.0.1", "172.20.0.1", true},
		{d, "fd00::5", "fd00::5", true},
		{d, "fc00::5", "fc00::5", false},
		// An allowed name may resolve anywhere; others may not.
		{d, "Mattermost.corp.example.", "10.9.9.9", true},
		{d, "evil.example", "10.9.9.9", false},
		{d, "evil.example", "169.254.169.254", false},
		{d, "127.0.0.1", "127.0.0.1", false},
	} {
		err := tc.d.Check(tc.host, netip.MustParseAddr(tc.ip))
		if (err == nil) != tc.allow {
			t.Errorf("Check(%s, %s) = %v, want allowed %v", tc.host, tc.ip, err, tc.allow)
		}
		var re *RefusedError
		if err != nil && (!errors.As(err, &re) || !strings.Contains(err.Error(), AllowFlag)) {
			t.Errorf("refusal %v does not name %s", err, AllowFlag)
		}
	}
}

func FuzzParseDestinations(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3,chat.example", "::ffff:1.2.3.4/120", "a..b", "*,", "fe80::1%x/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDestinations(s)
		if err != nil {
			return
		}
		// What it prints reads back as the same policy.
		again, err := ParseDestinations(d.String())
		if err != nil || again.String() != d.String() {
			t.Fatalf("%q printed as %q, read back as %q (%v)", s, d.String(), again.String(), err)
		}
	})
}

// hookCounter is a real webhook receiver on loopback that counts calls.
func hookCounter(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestGuardedClientRefusesLoopbackByDefault(t *testing.T) {
	srv, hits := hookCounter(t)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	client := GuardedClient(nil)
	secretPath := "/services/T0001/B0002/sUpErSeCrEtToKeN"
	for _, addr := range []string{
		srv.URL + secretPath,                            // 127.0.0.1
		"http://localhost" + port + secretPath,          // a name that resolves to loopback
		"http://[::ffff:127.0.0.1]" + port + secretPath, // the IPv4-mapped form
	} {
		m := testMessage()
		m.Channel, m.Address = "slack", addr
		for _, s := range []Sender{Slack{Client: client}, Teams{Client: client}, Webhook{Client: client, Secret: []byte("k")}} {
			err := s.Send(context.Background(), m)
			var re *RefusedError
			if !IsPermanent(err) || !errors.As(err, &re) {
				t.Fatalf("%T to %s: %v, want a permanent refusal", s, addr, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "127.0.0.1") && !strings.Contains(msg, "::1") {
				t.Errorf("refusal does not name the address: %s", msg)
			}
			if !strings.Contains(msg, "--webhook-allow") || !strings.Contains(msg, "loopback") {
				t.Errorf("refusal does not name the flag and reason: %s", msg)
			}
			if strings.Contains(msg, "sUpErSeCrEt") || strings.Contains(msg, "/services/") || strings.Contains(msg, port) {
				t.Errorf("refusal shows the URL: %s", msg)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receiver was called %d times", n)
	}
}

func TestGuardedClientDeliversWhenAllowed(t *testing.T) {
	srv, hits := hookCounter(t)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	m := testMessage()
	m.Channel = "webhook"

	byNet, err := ParseDestinations("127.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	m.Address = srv.URL + "/hook"
	if err := (Webhook{Client: GuardedClient(byNet), Secret: []byte("k")}).Send(context.Background(), m); err != nil {
		t.Fatalf("allowed network: %v", err)
	}
	byName, err := ParseDestinations("localhost")
	if err != nil {
		t.Fatal(err)
	}
	m.Address = "http://localhost" + port + "/hook"
	if err := (Webhook{Client: GuardedClient(byName), Secret: []byte("k")}).Send(context.Background(), m); err != nil {
		t.Fatalf("allowed host name: %v", err)
	}
	// Allowing the name does not allow the address by itself.
	m.Address = srv.URL + "/hook"
	if err := (Webhook{Client: GuardedClient(byName), Secret: []byte("k")}).Send(context.Background(), m); !IsPermanent(err) {
		t.Fatalf("address behind an allowed name: %v", err)
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("receiver called %d times, want 2", n)
	}
}

// TestGuardedClientIgnoresEnvironmentProxy: with HTTP_PROXY set, the
// request still goes (and is checked) directly, so a proxy cannot carry
// it to an internal address.
func TestGuardedClientIgnoresEnvironmentProxy(t *testing.T) {
	proxy, proxied := hookCounter(t)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	m := testMessage()
	m.Channel, m.Address = "webhook", "http://10.255.255.1:9/hook"
	err := (Webhook{Client: GuardedClient(nil), Secret: []byte("k")}).Send(context.Background(), m)
	if !IsPermanent(err) || !strings.Contains(err.Error(), "10.255.255.1") || !strings.Contains(err.Error(), "private") {
		t.Fatalf("private address through a proxy: %v", err)
	}
	if n := proxied.Load(); n != 0 {
		t.Fatalf("the environment proxy was used %d times", n)
	}
}
