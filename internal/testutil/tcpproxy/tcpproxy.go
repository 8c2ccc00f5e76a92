// Package tcpproxy starts an internal/tools/tcpproxy forwarder for a test.
package tcpproxy

import (
	"testing"

	"aias/internal/tools/tcpproxy"
)

// Proxy forwards a local address to an upstream one (see internal/tools/tcpproxy).
type Proxy = tcpproxy.Proxy

// New starts a proxy to upstream on a free loopback port; it stops at cleanup.
func New(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	p, err := tcpproxy.Listen(upstream)
	if err != nil {
		tb.Fatalf("tcpproxy: %v", err)
	}
	tb.Cleanup(p.Stop)
	return p
}
