package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Proc is one program of AIAS (or redis-server) running as a child process.
type Proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	ops     string // host:port of /metrics and /readyz ("" for redis)
	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error
}

func (p *Proc) start() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		p.exitErr = cmd.Wait()
		_ = f.Close()
		close(done)
	}(p.cmd, p.done)
	return nil
}

// running reports whether the process has not exited.
func (p *Proc) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Signal sends sig (SIGSTOP, SIGCONT) to a running process.
func (p *Proc) Signal(sig os.Signal) error {
	if !p.running() {
		return fmt.Errorf("%s is not running", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

// Term sends SIGTERM and returns how long the process took to exit, or an
// error if it had not exited after limit (it is then killed).
func (p *Proc) Term(limit time.Duration) (time.Duration, error) {
	if !p.running() {
		return 0, nil
	}
	t0 := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return time.Since(t0), nil
	case <-time.After(limit):
		p.Kill()
		return time.Since(t0), fmt.Errorf("%s still running %s after SIGTERM", p.name, limit)
	}
}

// waitReady polls the program's /readyz (or PINGs redis) until it answers.
func (p *Proc) waitReady(ctx context.Context, check func(context.Context) bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !p.running() {
			return fmt.Errorf("%s exited (log %s): %w", p.name, p.logPath, p.exitErr)
		}
		if check(ctx) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 30s (log %s)", p.name, p.logPath)
}

func httpReady(url string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
}

func redisReady(addr string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer func() { _ = c.Close() }()
		return c.Ping(ctx).Err() == nil
	}
}

// panicRE matches what a Go panic or a logged panic leaves in a log.
var panicRE = regexp.MustCompile(`(?m)^panic: |"level":"panic"|goroutine \d+ \[running\]:|"panic":`)

// panics returns the lines of the log that show a panic.
func (p *Proc) panics() []string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		if panicRE.Match(line) {
			out = append(out, p.name+": "+truncate(string(line), 200))
		}
	}
	return out
}

// gauge reads one unlabelled metric from the program's /metrics.
func (p *Proc) gauge(name string) float64 {
	if p.ops == "" || !p.running() {
		return -1
	}
	res, err := http.Get("http://" + p.ops + "/metrics") //nolint:gosec // a loopback address the suite chose
	if err != nil {
		return -1
	}
	defer func() { _ = res.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, name)), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
