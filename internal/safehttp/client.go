package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Policy configures the guard. The zero value refuses every internal
// address and uses the default timeouts with redirects off.
type Policy struct {
	// Allow lists the internal addresses that are permitted anyway (see
	// ParseAllow). Metadata addresses need a single-address entry.
	Allow []netip.Prefix
	// AllowPorts, if not empty, restricts Allow to these ports.
	AllowPorts []uint16
	// ConnectTimeout bounds resolving a host and connecting to it (default
	// 5s), TLSTimeout the TLS handshake (default 5s) and Total the whole
	// request including redirects and reading the body (default 30s).
	ConnectTimeout, TLSTimeout, Total time.Duration
	// MaxRedirects is how many redirects a request may follow. 0, the
	// default, follows none: the 3xx response is returned as it is. Every
	// redirect target goes through the same dial-time check.
	MaxRedirects int
}

const (
	defaultConnectTimeout = 5 * time.Second
	defaultTLSTimeout     = 5 * time.Second
	defaultTotal          = 30 * time.Second
)

// metadataHosts are refused by name, before any resolution.
var metadataHosts = map[string]bool{
	"metadata.google.internal":   true,
	"metadata":                   true,
	"metadata.goog":              true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
	"metadata.azure.com":         true,
}

// lookupFunc resolves a host name; net.DefaultResolver.LookupNetIP in
// production, a fake in tests.
type lookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// NewClient returns an http.Client whose every connection goes through the
// guard: the dialer resolves the host itself, checks every address with the
// rules of Check (and p.AllowPorts), and connects to a checked address, so
// nothing is resolved twice. Proxies from the environment are ignored.
// CheckRedirect enforces p.MaxRedirects.
func NewClient(p Policy) *http.Client {
	return newClient(p, net.DefaultResolver.LookupNetIP)
}

func newClient(p Policy, lookup lookupFunc) *http.Client {
	p.ConnectTimeout = orDefault(p.ConnectTimeout, defaultConnectTimeout)
	p.TLSTimeout = orDefault(p.TLSTimeout, defaultTLSTimeout)
	p.Total = orDefault(p.Total, defaultTotal)
	d := &dialer{policy: p, lookup: lookup}
	transport := &http.Transport{
		// No Proxy: a proxy would resolve and connect where the guard
		// cannot see.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   p.TLSTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	maxRedirects := p.MaxRedirects
	return &http.Client{
		Transport: transport,
		Timeout:   p.Total,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if maxRedirects <= 0 {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("safehttp: stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

type dialer struct {
	policy Policy
	lookup lookupFunc
}

// DialContext resolves and checks addr, then connects to a checked IP.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("safehttp: bad port in %q", addr)
	}
	lookupCtx, cancel := context.WithTimeout(ctx, d.policy.ConnectTimeout)
	ips, err := d.resolve(lookupCtx, network, host, uint16(port))
	cancel()
	if err != nil {
		return nil, err
	}
	// Each address gets ConnectTimeout of its own; the request's context
	// (Policy.Total) bounds them all.
	nd := &net.Dialer{
		Timeout:        d.policy.ConnectTimeout,
		KeepAlive:      30 * time.Second,
		ControlContext: d.control,
	}
	var errs []error
	for _, ip := range ips {
		conn, err := nd.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		var r *Refusal
		if errors.As(err, &r) {
			return nil, r
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// control re-checks the address the socket is about to connect to. The
// dialer only ever hands literal, already checked addresses to net.Dialer,
// so this is a second line of defence, not the main check.
func (d *dialer) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("safehttp: unexpected dial address %q: %w", address, err)
	}
	if r := d.policy.verdict(ap.Addr(), ap.Port(), true); r != nil {
		return r
	}
	return nil
}

// resolve turns host into the addresses to dial, all of them checked. Any
// refused address refuses the whole host.
func (d *dialer) resolve(ctx context.Context, network, host string, port uint16) ([]netip.Addr, error) {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if metadataHosts[name] {
		return nil, &Refusal{Rule: RuleMetadata, Addr: host}
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ip, ok := parseInetAton(name); ok {
		ips = []netip.Addr{ip}
	} else {
		ips, err = d.lookup(ctx, lookupNetwork(network), host)
		if err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
	}
	return checkAll(d.policy, host, ips, port)
}

// checkAll applies the policy to every address of host. If all pass they
// are returned; if some pass and some do not, host is refused as a mixed
// resolution; if none pass, the first refusal is returned.
func checkAll(p Policy, host string, ips []netip.Addr, port uint16) ([]netip.Addr, error) {
	var first *Refusal
	passed := 0
	for _, ip := range ips {
		if r := p.verdict(ip, port, true); r != nil {
			if first == nil {
				first = r
			}
			continue
		}
		passed++
	}
	switch {
	case first == nil:
		return ips, nil
	case passed > 0:
		return nil, &Refusal{Rule: RuleMixedResolution, Addr: fmt.Sprintf("%s (%s: %s)", host, first.Addr, first.Rule)}
	default:
		return nil, first
	}
}

func lookupNetwork(network string) string {
	switch network {
	case "tcp4", "udp4":
		return "ip4"
	case "tcp6", "udp6":
		return "ip6"
	}
	return "ip"
}

// parseInetAton decodes the numeric host forms that inet_aton(3) accepts
// and netip.ParseAddr does not: one to four dot-separated parts, each
// decimal, octal (leading 0) or hexadecimal (leading 0x), the last part
// filling the remaining bytes (127.1, 2130706433, 0x7f000001,
// 017700000001, 0x7f.0.0.1).
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, part := range parts {
		v, ok := parseAtonPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	last := len(vals) - 1
	for _, v := range vals[:last] {
		if v > 0xff {
			return netip.Addr{}, false
		}
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	var n uint64
	for _, v := range vals[:last] {
		n = n<<8 | v
	}
	n = n<<(8*(4-last)) | vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func parseAtonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	for _, c := range p {
		// strconv.ParseUint would also take "_" and signs; inet_aton does not.
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(p, base, 32)
	return v, err == nil
}
