package bench

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ioDelay is how long the slow target takes to answer: a third-party API.
const ioDelay = 50 * time.Millisecond

// startSlowTarget serves the I/O-bound workflow's target on loopback: every
// request is answered 200 with a small JSON body after ioDelay.
func (b *bench) startSlowTarget() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.slow = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		t := time.NewTimer(ioDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})}
	go func() { _ = b.slow.Serve(ln) }()
	port := ln.Addr().(*net.TCPAddr).Port
	b.slowPort, b.slowURL = strconv.Itoa(port), "http://127.0.0.1:"+strconv.Itoa(port)
	return nil
}
