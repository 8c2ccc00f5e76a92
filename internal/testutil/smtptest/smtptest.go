// Package smtptest is a minimal SMTP server on loopback for tests: it
// speaks the protocol for real (EHLO, MAIL, RCPT, DATA, QUIT) and records
// what it received, so a test can read the link an email carried.
package smtptest

import (
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// Mail is one message the server received.
type Mail struct {
	From, To string
	Data     string
}

// Server records the messages sent to it until the test ends.
type Server struct {
	Addr *net.TCPAddr
	mu   sync.Mutex
	got  []Mail
}

// New starts a server that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Addr: ln.Addr().(*net.TCPAddr)}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); srv.serve(conn) }()
		}
	}()
	return srv
}

func (s *Server) serve(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	tp := textproto.NewConn(conn)
	_ = tp.PrintfLine("220 test ESMTP")
	var m Mail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch strings.ToUpper(strings.Fields(line + " x")[0]) {
		case "EHLO":
			_ = tp.PrintfLine("250-test\r\n250 8BITMIME")
		case "MAIL":
			m = Mail{From: between(line, "<", ">")}
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			m.To = between(line, "<", ">")
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m.Data = string(b)
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

func between(s, open, closing string) string {
	_, rest, _ := strings.Cut(s, open)
	v, _, _ := strings.Cut(rest, closing)
	return v
}

// Received is every message so far.
func (s *Server) Received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.got...)
}
