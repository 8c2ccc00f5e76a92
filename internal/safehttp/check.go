package safehttp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Rule names carried by Refusal.Rule.
const (
	RuleLoopback        = "loopback"
	RulePrivate         = "private"
	RuleLinkLocal       = "link-local"
	RuleCGNAT           = "cgnat"
	RuleMulticast       = "multicast"
	RuleUnspecified     = "unspecified"
	RuleReserved        = "reserved"
	RuleMetadata        = "metadata"
	RuleMixedResolution = "mixed-resolution"
)

// Refusal is the error the guard returns when it will not connect to an
// address. Rule is one of the Rule constants; Addr is the address (or, for
// a metadata host name or a mixed resolution, the host name) that broke it.
// Ports, when set, are the ports the address is allowed on: the address is
// allow-listed, and was refused for the port it was dialled on (Addr then
// carries that port).
//
// Retrying cannot change a refusal. Callers that classify errors for
// retries wrap it as permanent (in the worker: step.Permanent(err)); the
// Permanent method says the same thing for code that looks for it.
type Refusal struct {
	Rule, Addr string
	Ports      []uint16
}

func (r *Refusal) Error() string {
	msg := "egress refused: " + r.Addr + " is " + r.Rule
	if len(r.Ports) > 0 {
		word := " ports "
		if len(r.Ports) == 1 {
			word = " port "
		}
		msg += ", allowed on" + word + joinPorts(r.Ports) + " only"
	}
	return msg
}

func joinPorts(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ", ")
}

// Permanent reports that retrying the request cannot succeed.
func (r *Refusal) Permanent() bool { return true }

// ParseAllow parses a comma-separated allow-list such as
// "127.0.0.0/8,10.1.2.3/32,::1/128". A bare address stands for itself (/32
// or /128). Spaces around entries and empty entries are ignored, so ""
// yields no prefixes. A prefix with host bits set (10.1.2.3/8) is an error
// rather than silently widened, and zones are not accepted.
func ParseAllow(spec string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.Contains(entry, "/") {
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("safehttp: allow-list entry %q: %w", entry, err)
			}
			if p != p.Masked() {
				return nil, fmt.Errorf("safehttp: allow-list entry %q has host bits set (did you mean %s?)", entry, p.Masked())
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return nil, fmt.Errorf("safehttp: allow-list entry %q: %w", entry, err)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("safehttp: allow-list entry %q: zones are not allowed", entry)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// AnyPort is the ParsePorts spec that allows every port.
const AnyPort = "*"

// ParsePorts parses the ports allow-listed addresses may be reached on: a
// comma-separated list such as "80,443,8080" (spaces around entries are
// ignored), or AnyPort for every port, which yields nil (Policy.AllowPorts's
// "no restriction"). An empty spec is an error rather than "every port", so
// a setting blanked by mistake does not open every port.
func ParsePorts(spec string) ([]uint16, error) {
	spec = strings.TrimSpace(spec)
	if spec == AnyPort {
		return nil, nil
	}
	var out []uint16
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n, err := strconv.ParseUint(entry, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("safehttp: port %q is not a number from 1 to 65535 (or %s alone for every port)", entry, AnyPort)
		}
		if !slices.Contains(out, uint16(n)) {
			out = append(out, uint16(n))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("safehttp: no ports listed (list them, or %s for every port)", AnyPort)
	}
	return out, nil
}

// Check reports whether p permits connecting to ip: nil, or a *Refusal
// naming the rule ip breaks. It does not know the port, so it ignores
// p.AllowPorts; the client's dialer applies them.
func Check(ip netip.Addr, p Policy) error {
	if r := p.verdict(ip, 0, false); r != nil {
		return r
	}
	return nil
}

// verdict is Check with the port known (hasPort) or not.
func (p Policy) verdict(ip netip.Addr, port uint16, hasPort bool) *Refusal {
	bare := ip.WithZone("")
	rule := classify(bare)
	if rule == "" {
		return nil
	}
	portOK := !hasPort || len(p.AllowPorts) == 0 || slices.Contains(p.AllowPorts, port)
	if p.allowed(bare, rule == RuleMetadata) {
		if portOK {
			return nil
		}
		return &Refusal{Rule: rule, Addr: netip.AddrPortFrom(bare, port).String(), Ports: p.AllowPorts}
	}
	return &Refusal{Rule: rule, Addr: bare.String()}
}

// allowed reports whether the allow-list covers ip (or its IPv4 form). For
// a metadata address only a single-address entry counts.
func (p Policy) allowed(ip netip.Addr, exact bool) bool {
	for _, pre := range p.Allow {
		for _, a := range []netip.Addr{ip, ip.Unmap()} {
			if pre.Contains(a) && (!exact || pre.Bits() == a.BitLen()) {
				return true
			}
		}
	}
	return false
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

type ruleSet struct {
	rule     string
	prefixes []netip.Prefix
}

// Order matters: the first matching set names the rule, so the metadata
// addresses come before the ranges that contain them.
var (
	rules4 = []ruleSet{
		{RuleMetadata, mustPrefixes("169.254.169.254/32", "169.254.170.2/32", "100.100.100.200/32")},
		{RuleUnspecified, mustPrefixes("0.0.0.0/32")},
		{RuleLoopback, mustPrefixes("127.0.0.0/8")},
		{RulePrivate, mustPrefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")},
		{RuleLinkLocal, mustPrefixes("169.254.0.0/16")},
		{RuleCGNAT, mustPrefixes("100.64.0.0/10")},
		{RuleMulticast, mustPrefixes("224.0.0.0/4")},
		{RuleReserved, mustPrefixes(
			"0.0.0.0/8",       // "this network"
			"192.0.0.0/24",    // IETF protocol assignments
			"192.0.2.0/24",    // TEST-NET-1
			"198.51.100.0/24", // TEST-NET-2
			"203.0.113.0/24",  // TEST-NET-3
			"198.18.0.0/15",   // benchmarking
			"192.88.99.0/24",  // deprecated 6to4 relay anycast
			"240.0.0.0/4",     // reserved, including 255.255.255.255
		)},
	}
	rules6 = []ruleSet{
		{RuleMetadata, mustPrefixes("fd00:ec2::254/128")},
		{RuleUnspecified, mustPrefixes("::/128")},
		{RuleLoopback, mustPrefixes("::1/128")},
		{RuleLinkLocal, mustPrefixes("fe80::/10")},
		{RulePrivate, mustPrefixes("fc00::/7", "fec0::/10", "64:ff9b:1::/48")},
		{RuleMulticast, mustPrefixes("ff00::/8")},
		{RuleReserved, mustPrefixes(
			"2001:db8::/32", // documentation
			"3fff::/20",     // documentation
			"2001:2::/48",   // benchmarking
			"100::/64",      // discard-only
		)},
	}
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	mapped6        = netip.MustParsePrefix("::ffff:0:0/96")
	compat6        = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
)

func match(ip netip.Addr, sets []ruleSet) string {
	for _, s := range sets {
		for _, pre := range s.prefixes {
			if pre.Contains(ip) {
				return s.rule
			}
		}
	}
	return ""
}

// classify returns the rule ip (without zone) breaks, or "" if it is a
// public address.
func classify(ip netip.Addr) string {
	if !ip.IsValid() {
		return RuleUnspecified
	}
	if ip.Is4() {
		return match(ip, rules4)
	}
	if r := match(ip, rules6); r != "" {
		return r
	}
	b := ip.As16()
	v4 := func(off int) netip.Addr { return netip.AddrFrom4([4]byte(b[off : off+4])) }
	switch {
	case mapped6.Contains(ip), compat6.Contains(ip), nat64.Contains(ip):
		return classify(v4(12))
	case sixToFour.Contains(ip):
		return classify(v4(2))
	case teredo.Contains(ip):
		if r := classify(v4(4)); r != "" {
			return r
		}
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return classify(netip.AddrFrom4(client))
	case !globalUnicast6.Contains(ip):
		return RuleReserved
	}
	return ""
}
