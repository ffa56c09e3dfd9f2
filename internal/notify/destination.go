package notify

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// AllowFlag is the serve flag that lets the operator open refused
// destinations; refusals name it so the reader knows the way out.
const AllowFlag = "--webhook-allow"

// Destinations decides which addresses notification webhooks may reach.
// Leads set webhook URLs through the API, so without it the server would
// POST wherever a lead points it: its own admin port, the cloud metadata
// service, services on the internal network. By default every public
// address is allowed and the ranges below are refused; the operator can
// allow some of those by network or by exact host name.
//
// The zero value (and nil) is the default policy.
type Destinations struct {
	nets  []netip.Prefix
	hosts map[string]bool
}

// refusedRanges are the ranges refused unless allowed, with the reason
// shown in the refusal. IPv4-mapped IPv6 addresses are unmapped before
// the check, so ::ffff:127.0.0.1 is loopback too.
var refusedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"}, // "this network": 0.0.0.0 reaches the local host
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"}, // cloud metadata lives at 169.254.169.254
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	// Deprecated IPv4-compatible addresses (::a.b.c.d) have no use on
	// today's networks but a stack might still route them as IPv4.
	{netip.MustParsePrefix("::/96"), "reserved"},
	{netip.MustParsePrefix("fc00::/7"), "private"}, // unique local
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "private"}, // deprecated site-local
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private"}, // local-use NAT64 (RFC 8215)
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4
// address in their last 32 bits, which is what gets checked.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refusal reports why ip is refused by default ("loopback", "private"...),
// or "" when it is an ordinary public address.
func Refusal(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.Unmap().WithZone("")
	if nat64.Contains(ip) {
		b := ip.As16()
		if r := Refusal(netip.AddrFrom4([4]byte(b[12:]))); r != "" {
			return r + " (through NAT64)"
		}
		return ""
	}
	for _, r := range refusedRanges {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	return ""
}

// ParseDestinations reads the --webhook-allow list: comma-separated
// CIDR networks (10.1.0.0/16, fd00::/8), single addresses (10.1.2.3) and
// exact host names (chat.corp.example). An allowed host name may resolve
// to any address, since the operator vouches for it by name.
func ParseDestinations(list string) (*Destinations, error) {
	d := &Destinations{hosts: map[string]bool{}}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not a network such as 10.1.0.0/16 or fd00::/8", item)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("%q has bits set after the prefix length; did you mean %s?", item, p.Masked())
			}
			d.nets = append(d.nets, unmapPrefix(p))
			continue
		}
		// An address written like a name ("10.1.2.3.", upper-case hex) is
		// still an address, so it prints and compares as one.
		if ip, err := netip.ParseAddr(canonicalHost(item)); err == nil {
			if ip.Zone() != "" {
				return nil, fmt.Errorf("%q: zoned addresses cannot be allowed", item)
			}
			ip = ip.Unmap()
			d.nets = append(d.nets, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		h := canonicalHost(item)
		if !validHostName(h) {
			return nil, fmt.Errorf("%q is not a network, an address or a host name", item)
		}
		d.hosts[h] = true
	}
	return d, nil
}

// unmapPrefix turns ::ffff:10.0.0.0/104 into 10.0.0.0/8, the form
// addresses are compared in.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

func canonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// validHostName accepts DNS names of letters, digits and hyphens (and
// underscores, which some internal zones use); no wildcards.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// HostAllowed reports whether host is allowed by name, whatever it
// resolves to.
func (d *Destinations) HostAllowed(host string) bool {
	return d != nil && d.hosts[canonicalHost(host)]
}

// Check returns nil if ip may be reached, else a *RefusedError. host is
// the name the URL gave (for the message, and the host-name allow list);
// it may be empty or the address itself.
func (d *Destinations) Check(host string, ip netip.Addr) error {
	reason := Refusal(ip)
	if reason == "" || d.HostAllowed(host) {
		return nil
	}
	if d != nil {
		u := ip.Unmap().WithZone("")
		for _, p := range d.nets {
			if p.Contains(u) {
				return nil
			}
		}
	}
	return &RefusedError{Host: host, Addr: ip.Unmap(), Reason: reason}
}

// String lists the allow list in a canonical form, networks then host
// names, for `irdesk config` and logs.
func (d *Destinations) String() string {
	if d == nil {
		return ""
	}
	var parts []string
	for _, p := range d.nets {
		if p.Bits() == p.Addr().BitLen() {
			parts = append(parts, p.Addr().String())
		} else {
			parts = append(parts, p.String())
		}
	}
	for h := range d.hosts {
		parts = append(parts, h)
	}
	// Host names come from a map: sorted for a stable output.
	slices.Sort(parts[len(d.nets):])
	return strings.Join(parts, ",")
}

// RefusedError is a destination the policy refuses. Its message names the
// address and the flag, never the URL: Slack and Teams URLs carry their
// secret in the path.
type RefusedError struct {
	Host   string // the URL's host name, if it was a name
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && canonicalHost(e.Host) != canonicalHost(e.Addr.String()) {
		what = fmt.Sprintf("%s (%s)", e.Addr, e.Host)
	}
	return fmt.Sprintf("destination %s refused: %s address; notification webhooks reach only public addresses unless the operator allows it with %s", what, e.Reason, AllowFlag)
}
