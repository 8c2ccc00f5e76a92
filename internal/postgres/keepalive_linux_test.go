//go:build linux

package postgres

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// probed records the keepalive options of the connections it dials.
type probed struct {
	netDialer
	opts []map[string]int
}

func (p *probed) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := p.netDialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return nil, err
	}
	got := map[string]int{}
	_ = raw.Control(func(fd uintptr) {
		got["SO_KEEPALIVE"], _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		got["TCP_KEEPIDLE"], _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		got["TCP_KEEPINTVL"], _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL)
		got["TCP_KEEPCNT"], _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT)
	})
	p.opts = append(p.opts, got)
	return conn, nil
}

// lib/pq's connections probe a silent peer early: a call waiting for the
// answer of a Postgres that vanished without a reset fails within about
// half a minute, not Go's default of two and a half. (Not parallel: it
// swaps the package's dialer.)
func TestConnectionsProbeASilentPeerWithinHalfAMinute(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	rec := &probed{netDialer: dialer.(netDialer)}
	dialer = rec
	defer func() { dialer = rec.netDialer }()
	c, err := newConnector("postgres://aias@" + ln.Addr().String() + "/aias?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	if cn, err := c.Connect(context.Background()); err == nil { // a listener that never answers
		_ = cn.Close()
	}
	if len(rec.opts) == 0 {
		t.Fatal("the connector did not dial with the package's dialer")
	}
	for _, got := range rec.opts {
		dead := time.Duration(got["TCP_KEEPIDLE"]+got["TCP_KEEPINTVL"]*got["TCP_KEEPCNT"]) * time.Second
		if got["SO_KEEPALIVE"] != 1 || dead <= 0 || dead > 30*time.Second {
			t.Errorf("keepalive options %v: a silent peer is given up after %v, want probes on and at most 30s", got, dead)
		}
	}
}
