package safehttp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   string
		rule string // "" = allowed
	}{
		// public
		{"93.184.216.34", ""},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:2800:220:1:248:1893:25c8:1946", ""},
		{"2001:4860:4860::8888", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"223.255.255.255", ""},
		// loopback
		{"127.0.0.1", RuleLoopback},
		{"127.255.255.254", RuleLoopback},
		{"::1", RuleLoopback},
		// private
		{"10.0.0.1", RulePrivate},
		{"10.255.255.255", RulePrivate},
		{"172.16.0.1", RulePrivate},
		{"172.31.255.255", RulePrivate},
		{"192.168.1.1", RulePrivate},
		{"fc00::1", RulePrivate},
		{"fd12:3456::1", RulePrivate},
		{"fec0::1", RulePrivate},
		{"64:ff9b:1::a00:1", RulePrivate},
		// link-local
		{"169.254.0.1", RuleLinkLocal},
		{"169.254.169.253", RuleLinkLocal},
		{"fe80::1", RuleLinkLocal},
		{"fe80::1%eth0", RuleLinkLocal},
		{"febf::1", RuleLinkLocal},
		// cgnat
		{"100.64.0.1", RuleCGNAT},
		{"100.127.255.255", RuleCGNAT},
		// multicast
		{"224.0.0.1", RuleMulticast},
		{"239.255.255.250", RuleMulticast},
		{"ff02::1", RuleMulticast},
		{"ff0e::1", RuleMulticast},
		// unspecified
		{"0.0.0.0", RuleUnspecified},
		{"::", RuleUnspecified},
		// reserved
		{"0.1.2.3", RuleReserved},
		{"255.255.255.255", RuleReserved},
		{"240.0.0.1", RuleReserved},
		{"198.18.0.1", RuleReserved},
		{"198.19.255.255", RuleReserved},
		{"192.0.2.1", RuleReserved},
		{"198.51.100.1", RuleReserved},
		{"203.0.113.1", RuleReserved},
		{"192.0.0.170", RuleReserved},
		{"192.88.99.1", RuleReserved},
		{"2001:db8::1", RuleReserved},
		{"3fff::1", RuleReserved},
		{"2001:2::1", RuleReserved},
		{"100::1", RuleReserved},
		{"4000::1", RuleReserved},
		{"1::1", RuleReserved},
		// metadata
		{"169.254.169.254", RuleMetadata},
		{"169.254.170.2", RuleMetadata},
		{"100.100.100.200", RuleMetadata},
		{"fd00:ec2::254", RuleMetadata},
		// IPv4-mapped
		{"::ffff:127.0.0.1", RuleLoopback},
		{"::ffff:10.0.0.1", RulePrivate},
		{"::ffff:169.254.169.254", RuleMetadata},
		{"::ffff:0.0.0.0", RuleUnspecified},
		{"::ffff:93.184.216.34", ""},
		// IPv4-compatible
		{"::127.0.0.1", RuleLoopback},
		{"::192.168.0.1", RulePrivate},
		{"::169.254.169.254", RuleMetadata},
		{"::93.184.216.34", ""},
		// NAT64
		{"64:ff9b::7f00:1", RuleLoopback},
		{"64:ff9b::a9fe:a9fe", RuleMetadata},
		{"64:ff9b::c0a8:101", RulePrivate},
		{"64:ff9b::5db8:d822", ""},
		// 6to4
		{"2002:7f00:1::1", RuleLoopback},
		{"2002:a9fe:a9fe::", RuleMetadata},
		{"2002:a00:1::1", RulePrivate},
		{"2002:5db8:d822::1", ""},
		// Teredo: server 65.54.227.120 (public); client ^3f57:fefe = 192.168.1.1
		{"2001:0:4136:e378:8000:63bf:3f57:fefe", RulePrivate},
		// Teredo with a loopback server
		{"2001:0:7f00:1::", RuleLoopback},
		// Teredo, public server and client (client ^a247:29dd = 93.184.214.34)
		{"2001:0:4136:e378:8000:63bf:a247:29dd", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			t.Parallel()
			err := Check(netip.MustParseAddr(tt.ip), Policy{})
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", tt.ip, err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Check(%s) = %v, want *Refusal with rule %q", tt.ip, err, tt.rule)
			}
			if r.Rule != tt.rule {
				t.Fatalf("Check(%s) rule = %q, want %q (%v)", tt.ip, r.Rule, tt.rule, err)
			}
		})
	}
}

func TestCheckInvalid(t *testing.T) {
	t.Parallel()
	if err := Check(netip.Addr{}, Policy{}); err == nil {
		t.Fatal("Check(zero Addr) = nil, want refusal")
	}
}

func TestCheckAllow(t *testing.T) {
	t.Parallel()
	allow := func(spec string) []netip.Prefix {
		p, err := ParseAllow(spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		ip    string
		allow string
		ok    bool
	}{
		{"loopback allowed", "127.0.0.1", "127.0.0.0/8", true},
		{"mapped loopback allowed by v4 prefix", "::ffff:127.0.0.1", "127.0.0.0/8", true},
		{"v6 loopback not covered by v4 prefix", "::1", "127.0.0.0/8", false},
		{"v6 loopback allowed", "::1", "::1", true},
		{"private single host", "10.1.2.3", "10.1.2.3/32", true},
		{"private neighbour", "10.1.2.4", "10.1.2.3/32", false},
		{"zoned link-local", "fe80::1%eth0", "fe80::/10", true},
		{"metadata not uncovered by a broad prefix", "169.254.169.254", "169.254.0.0/16", false},
		{"link-local uncovered by a broad prefix", "169.254.1.1", "169.254.0.0/16", true},
		{"metadata uncovered by its own entry", "169.254.169.254", "169.254.169.254", true},
		{"v6 metadata not uncovered by fc00::/7", "fd00:ec2::254", "fc00::/7", false},
		{"public stays allowed", "93.184.216.34", "127.0.0.0/8", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check(netip.MustParseAddr(tt.ip), Policy{Allow: allow(tt.allow)})
			if (err == nil) != tt.ok {
				t.Fatalf("Check(%s, allow %s) = %v, want ok=%v", tt.ip, tt.allow, err, tt.ok)
			}
		})
	}
}

func TestVerdictPorts(t *testing.T) {
	t.Parallel()
	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, AllowPorts: []uint16{8080}}
	tests := []struct {
		ip   string
		port uint16
		ok   bool
	}{
		{"127.0.0.1", 8080, true},
		{"127.0.0.1", 8081, false},
		{"93.184.216.34", 8081, true}, // public: ports do not matter
		{"10.0.0.1", 8080, false},     // not allow-listed
	}
	for _, tt := range tests {
		r := p.verdict(netip.MustParseAddr(tt.ip), tt.port, true)
		if (r == nil) != tt.ok {
			t.Errorf("verdict(%s:%d) = %v, want ok=%v", tt.ip, tt.port, r, tt.ok)
		}
	}
	// Check does not know the port, so AllowPorts does not apply.
	if err := Check(netip.MustParseAddr("127.0.0.1"), p); err != nil {
		t.Errorf("Check = %v, want nil", err)
	}
}

func TestRefusal(t *testing.T) {
	t.Parallel()
	var err error = &Refusal{Rule: RuleLoopback, Addr: "127.0.0.1"}
	if got, want := err.Error(), "egress refused: 127.0.0.1 is loopback"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var perm interface{ Permanent() bool }
	if !errors.As(err, &perm) || !perm.Permanent() {
		t.Error("Refusal does not report Permanent() == true")
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    []string
		wantErr bool
	}{
		{spec: "", want: nil},
		{spec: " , ", want: nil},
		{spec: "127.0.0.0/8,10.1.2.3/32,::1/128", want: []string{"127.0.0.0/8", "10.1.2.3/32", "::1/128"}},
		{spec: "10.1.2.3", want: []string{"10.1.2.3/32"}},
		{spec: "::1", want: []string{"::1/128"}},
		{spec: " 127.0.0.0/8 , 192.168.0.0/16 ,", want: []string{"127.0.0.0/8", "192.168.0.0/16"}},
		{spec: "fd00::/8", want: []string{"fd00::/8"}},
		{spec: "localhost", wantErr: true},
		{spec: "10.0.0.0/33", wantErr: true},
		{spec: "10.1.2.3/8", wantErr: true},
		{spec: "127.0.0.0/8,nope", wantErr: true},
		{spec: "fe80::1%eth0", wantErr: true},
		{spec: "256.0.0.1", wantErr: true},
		{spec: "127.1", wantErr: true},
		{spec: "10.0.0.0/", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAllow(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseAllow(%q) = %v, want error", tt.spec, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAllow(%q): %v", tt.spec, err)
			}
			var strs []string
			for _, p := range got {
				strs = append(strs, p.String())
			}
			if !slices.Equal(strs, tt.want) {
				t.Fatalf("ParseAllow(%q) = %v, want %v", tt.spec, strs, tt.want)
			}
		})
	}
}

func TestParseInetAton(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" = not numeric
	}{
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0177.0.0.01", "127.0.0.1"},
		{"10.0x10203", "10.1.2.3"},
		{"169.254.43518", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"4294967296", ""},
		{"256.1", ""},
		{"1.2.3.4.5", ""},
		{"1..2", ""},
		{"08", ""},
		{"0x", ""},
		{"0xg", ""},
		{"example", ""},
		{"deadbeef", ""},
		{"1_000", ""},
		{"+1", ""},
		{"1.2.3.256", ""},
	}
	for _, tt := range tests {
		got, ok := parseInetAton(tt.in)
		switch {
		case tt.want == "" && ok:
			t.Errorf("parseInetAton(%q) = %s, want not numeric", tt.in, got)
		case tt.want != "" && (!ok || got.String() != tt.want):
			t.Errorf("parseInetAton(%q) = %s, %v, want %s", tt.in, got, ok, tt.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    []uint16
		wantErr bool
	}{
		{spec: "80,443", want: []uint16{80, 443}},
		{spec: " 8080 , 80,8080,", want: []uint16{8080, 80}},
		{spec: "65535", want: []uint16{65535}},
		{spec: "*", want: nil},
		{spec: " * ", want: nil},
		{spec: "", wantErr: true},    // blank is not "every port"
		{spec: " , ", wantErr: true}, // nor is a list of nothing
		{spec: "0", wantErr: true},
		{spec: "65536", wantErr: true},
		{spec: "-1", wantErr: true},
		{spec: "http", wantErr: true},
		{spec: "80,*", wantErr: true},
		{spec: "8000-8100", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePorts(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePorts(%q) = %v, want error", tt.spec, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParsePorts(%q) = %v, %v, want %v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func TestRefusalOnAPortNamesTheAllowedPorts(t *testing.T) {
	t.Parallel()
	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("172.30.0.0/16")}, AllowPorts: []uint16{80, 443}}
	r := p.verdict(netip.MustParseAddr("172.30.0.5"), 5432, true)
	if r == nil {
		t.Fatal("verdict(172.30.0.5:5432) = nil, want a refusal: 5432 is not an allowed port")
	}
	if got, want := r.Error(), "egress refused: 172.30.0.5:5432 is private, allowed on ports 80, 443 only"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	one := Policy{Allow: p.Allow, AllowPorts: []uint16{8080}}
	if got, want := one.verdict(netip.MustParseAddr("172.30.0.5"), 6379, true).Error(), "egress refused: 172.30.0.5:6379 is private, allowed on port 8080 only"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
