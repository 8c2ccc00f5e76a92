// Package stripemock runs stripe-mock (github.com/stripe/stripe-mock), a fake
// of the Stripe API answering from the OpenAPI specification's fixtures, so
// billing tests never reach the live API.
//
// The binary is taken from PATH or $(go env GOPATH)/bin; when it is missing
// it is installed once per test binary with `go install` (Version), which may
// take a minute the first time. A stripe-mock that cannot be installed or
// started fails the test, never skips it.
package stripemock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/internal/tools/loopback"
)

// Version is the stripe-mock installed when none is found.
const Version = "v0.203.0"

const module = "github.com/stripe/stripe-mock"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Start runs a stripe-mock on a free loopback port for tb and returns its base
// URL (http://127.0.0.1:port); it is stopped at cleanup.
func Start(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() { binPath, binErr = binary() })
	if binErr != nil {
		tb.Fatalf("stripemock: %v", binErr)
	}
	var lastErr error
	for range 5 { // a free port can be taken between choosing and binding it
		url, stop, err := run(binPath)
		if err == nil {
			tb.Cleanup(stop)
			return url
		}
		lastErr = err
	}
	tb.Fatalf("stripemock: start %s: %v", binPath, lastErr)
	return ""
}

// run starts one stripe-mock and waits until it answers.
func run(bin string) (string, func(), error) {
	port, err := loopback.FreePort()
	if err != nil {
		return "", nil, err
	}
	out := &syncWriter{}
	// Given only an HTTP address, stripe-mock also serves HTTPS on :12112,
	// which a second instance (a parallel test) cannot bind: it exits. An
	// empty port lets the system choose one for each instance.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:"+strconv.Itoa(port), "-https-addr", "127.0.0.1:")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return "", nil, fmt.Errorf("exited early: %s", strings.TrimSpace(out.String()))
		default:
		}
		// Any HTTP answer means it is serving (unauthenticated requests get 401).
		if resp, err := client.Get(url + "/v1/customers"); err == nil {
			_ = resp.Body.Close()
			return url, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("did not answer within 30s")
}

// binary finds stripe-mock, installing it when missing.
func binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	gobin, err := goBin()
	if err != nil {
		return "", err
	}
	p := filepath.Join(gobin, "stripe-mock")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", module+"@"+Version)
	cmd.Dir = os.TempDir() // outside any module: the version is the one named
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("stripe-mock not found; go install %s@%s: %w\n%s", module, Version, err, out)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("go install %s@%s left no %s", module, Version, p)
	}
	return p, nil
}

// goBin is where `go install` puts binaries: GOBIN, or GOPATH's first entry/bin.
func goBin() (string, error) {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
		return strings.TrimSpace(lines[0]), nil
	}
	if len(lines) < 2 || strings.TrimSpace(lines[1]) == "" {
		return "", errors.New("go env: no GOPATH")
	}
	return filepath.Join(filepath.SplitList(strings.TrimSpace(lines[1]))[0], "bin"), nil
}

// syncWriter lets stdout and stderr share one buffer.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
