package postgres_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"aias/internal/postgres"
)

// silentServer accepts connections and never says a word, as a frozen
// Postgres (or one behind a dead link whose kernel still answers) does.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln.Addr().String()
}

// Opening a connection to a Postgres that accepts it and never answers
// fails within the connect timeout — DefaultConnectTimeout when the URL
// sets none, the URL's own otherwise — instead of hanging: lib/pq's
// startup handshake does not watch the caller's context.
func TestConnectingToASilentServerFailsWithinTheConnectTimeout(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)
	for name, tt := range map[string]struct {
		query string
		want  time.Duration
	}{
		"default":      {"", postgres.DefaultConnectTimeout},
		"the URL's":    {"&connect_timeout=1", time.Second},
		"0 is default": {"&connect_timeout=0", postgres.DefaultConnectTimeout},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := fmt.Sprintf("postgres://aias@%s/aias?sslmode=disable%s", addr, tt.query)
			done := make(chan error, 1)
			started := time.Now()
			go func() {
				// Open's own 5 s deadline does not reach the handshake.
				db, err := postgres.Open(context.Background(), url, 1)
				if err == nil {
					_ = db.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				took := time.Since(started)
				if err == nil || took < tt.want-100*time.Millisecond || took > tt.want+2*time.Second {
					t.Errorf("Open of a silent server = %v after %v; want an error after about %v", err, took, tt.want)
				}
			case <-time.After(tt.want + 10*time.Second):
				t.Fatalf("Open of a silent server still waiting after %v; want an error after about %v", tt.want+10*time.Second, tt.want)
			}
		})
	}
}
