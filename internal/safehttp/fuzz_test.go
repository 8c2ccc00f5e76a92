package safehttp

import (
	"net/netip"
	"testing"
)

// FuzzClassify checks the egress classifier's promises on any address: an
// address it lets through is none of the kinds the standard library can
// name as internal, and an IPv4 address gets the same answer in its
// IPv4-mapped IPv6 form.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "8.8.8.8",
		"::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe", "2606:4700::1111", "fe80::1"} {
		a := netip.MustParseAddr(s).As16()
		f.Add(a[:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 16 && len(b) != 4 {
			return
		}
		ip, _ := netip.AddrFromSlice(b)
		if Check(ip, Policy{}) == nil {
			u := ip.Unmap()
			if u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsLinkLocalMulticast() ||
				u.IsMulticast() || u.IsUnspecified() || u.IsInterfaceLocalMulticast() {
				t.Fatalf("%s passes the egress guard", ip)
			}
		}
		if ip.Is4() {
			mapped := netip.AddrFrom16(ip.As16())
			if (Check(ip, Policy{}) == nil) != (Check(mapped, Policy{}) == nil) {
				t.Fatalf("%s and %s get different answers", ip, mapped)
			}
		}
	})
}

// FuzzParseInetAton checks that the numeric host parser never panics and
// that a dotted-quad result reads back as itself.
func FuzzParseInetAton(f *testing.F) {
	for _, s := range []string{"127.1", "2130706433", "0x7f000001", "017700000001", "0x7f.0.0.1", "1.2.3.4", "", "...", "0x", "08"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, ok := parseInetAton(s)
		if !ok {
			return
		}
		if !ip.Is4() {
			t.Fatalf("parseInetAton(%q) = %s, not IPv4", s, ip)
		}
		back, ok := parseInetAton(ip.String())
		if !ok || back != ip {
			t.Fatalf("parseInetAton(%q) = %s, which reads back as %s, %v", s, ip, back, ok)
		}
	})
}
