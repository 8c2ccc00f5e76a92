// Package tcpproxy is a TCP forwarder that can be cut and restored, to
// simulate a database or a queue going away under a running system: the
// end-to-end tests and the fault suite (internal/tools/chaos) put it
// between the programs and Postgres. Cutting it refuses new connections and drops open
// ones, which is what a client sees when the server stops — without
// stopping a server others share. It can also slow a server down (a delay
// on every request that goes through, SetDelay) or freeze it (Stall: bytes
// are taken and held, as by a process stopped with SIGSTOP).
package tcpproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards a local address to an upstream one.
type Proxy struct {
	upstream string
	addr     string

	delay   atomic.Int64  // nanoseconds added before each chunk sent upstream
	stalled chan struct{} // non-nil while stalled; closed on Resume

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen starts a proxy to upstream on a free loopback port.
func Listen(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{upstream: upstream, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// Stop refuses new connections and cuts every open one.
func (p *Proxy) Stop() {
	p.Resume() // a stalled pipe would never see its connection cut
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// SetDelay holds every chunk a client sends for d before it goes upstream:
// each round trip takes d longer (0: none).
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Stall stops forwarding in both directions, connections staying open, until
// Resume: the server seems alive (connections are accepted) and silent.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled == nil {
		p.stalled = make(chan struct{})
	}
}

// Resume ends a Stall; what was held is forwarded.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled != nil {
		close(p.stalled)
		p.stalled = nil
	}
}

// gate waits while the proxy is stalled.
func (p *Proxy) gate() {
	p.mu.Lock()
	ch := p.stalled
	p.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// copy forwards src to dst, chunk by chunk, through the stall gate and, going
// upstream, the delay.
func (p *Proxy) copy(dst, src net.Conn, upstream bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); upstream && d > 0 {
				time.Sleep(d)
			}
			p.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Start listens again on the same address.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	pipe := func(dst, src net.Conn, upstream bool) {
		defer p.wg.Done()
		p.copy(dst, src, upstream) // a cut connection is the point of this package
		_ = dst.Close()
		_ = src.Close()
		p.untrack(dst, src)
	}
	go pipe(up, c, true)
	go pipe(c, up, false)
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	p.wg.Add(2)
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}
