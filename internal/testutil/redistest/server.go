package redistest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"aias/internal/loopback"

	"github.com/redis/go-redis/v9"
)

// Server is a private redis-server process a test may kill and restart,
// to prove that losing Redis loses no accepted work.
type Server struct {
	tb    testing.TB
	extra []string // more redis-server arguments
	port  int
	cmd   *exec.Cmd
	dir   string
}

// StartServer runs a fresh, empty, non-persistent redis-server on a free
// port, with extra arguments for redis-server, if any.
func StartServer(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	port, err := loopback.FreePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	// Files a test makes Redis write (CONFIG SET appendonly yes) land in a
	// directory of the test's own, never in the package under test.
	s := &Server{tb: tb, port: port, dir: tb.TempDir(), extra: extra}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Start launches the server (empty: nothing is persisted) and waits for PING.
func (s *Server) Start() {
	s.tb.Helper()
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--dir", s.dir}, s.extra...)
	s.cmd = exec.Command("redis-server", args...)
	// A group of its own, so Stop also kills the children Redis forks to
	// write snapshots and AOF rewrites (a test that turns persistence on).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port)})
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.tb.Fatalf("redistest: redis-server on port %d did not answer", s.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server at once (SIGKILL): whatever it held is gone. Its
// forked children go with it, and Stop returns once none is left, so no
// process writes into the test's directory while it is removed.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
	}
	s.cmd = nil
}
