package bench

import (
	"bufio"
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
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTicks = 100

// cpuMs is the user+system CPU time of pid in milliseconds (0 if gone).
func cpuMs(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a stat line; the
// command name (field 2) may hold spaces, so fields count from its ')'.
func parseStatCPU(b []byte) float64 {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) * 1000 / clockTicks
}

// rssMB reads VmRSS and VmHWM (the peak) of pid, in MB.
func rssMB(pid int) (rss, hwm float64) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer func() { _ = fh.Close() }()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if name == "VmRSS" {
			rss = kb / 1024
		} else {
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// proc is a program the bench started.
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     *bytes.Buffer // stdout when captured
	logPath string
	done    chan error
	ops     string // its ops listener (host:port), "" if none
}

// start runs bin with env (added to a minimal base) and logs to dir.
func start(name, bin string, args []string, env map[string]string, dir string, capture bool) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = childAttr()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range []string{"GOMAXPROCS", "GOGC", "GODEBUG"} { // the Go runtime's knobs pass through
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{name: name, cmd: cmd, logPath: filepath.Join(dir, name+".log"), done: make(chan error, 1)}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	cmd.Stdout = logf
	if capture {
		p.out = &bytes.Buffer{}
		cmd.Stdout = p.out
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.done <- cmd.Wait(); _ = logf.Close() }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits up to d, then kills.
func (p *proc) stop(d time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == -1 {
			return nil
		}
		return err
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		if err := <-p.done; err != nil {
			return fmt.Errorf("%s did not stop within %s and was killed: %w", p.name, d, err)
		}
		return fmt.Errorf("%s did not stop within %s", p.name, d)
	}
}

// waitHTTP polls url until it answers 200, the process exits, or d passes.
func (p *proc) waitHTTP(ctx context.Context, url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited while starting; see %s: %w", p.name, p.logPath, err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s within %s; see %s", p.name, url, d, p.logPath)
}
