package chaos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The degraded-service scenarios (13–17): a Postgres or a Redis that is slow
// or half-working rather than gone, a worker killed and not restarted, and
// slow uploads. Each reports the intake's p99 during the fault.

func degradedScenarios() []Scenario {
	return []Scenario{
		{13, "Postgres +200 ms per round trip under load", "the proxy in front of Postgres delays every request by 200 ms for 20 s under a 30/s load",
			"L=0; only 503 with Retry-After, each within the connection wait; intake p99 reported", slowPostgres},
		{14, "Redis SIGSTOP for 20 s, then SIGCONT", "SIGSTOP the redis-server for 20 s under a 30/s load, then SIGCONT",
			"every delivery answered 202 within 3 s (p99 reported); L=0; R within seconds of SIGCONT", redisFrozen},
		{15, "Redis out of memory (noeviction) for 15 s", "maxmemory 1 byte under noeviction on the scenario's own redis-server for 15 s under a 30/s load, then unlimited",
			"/readyz 503 redis refuses_writes and aias_dependency_up{redis} 0 during; deliveries 202; L=0", redisOOM},
		{16, "kill -9 a worker, not restarted: R < 15 s", "kill -9 one of two workers with runs in flight; the other goes on alone",
			"L=0; D ≤ 20; every run succeeded; R < 15 s (the reclaim, not asynq's lease)", workerKillReclaim},
		{17, "200 slow-body uploads beside normal traffic", "200 connections send a 1,000-byte body at 1 byte/s to the intake for 25 s, beside a 30/s load",
			"each slow upload answered 408 body_timeout before 15 s (AIAS_BODY_TIMEOUT 10 s, deadline 30 s); L=0; normal p99 reported", slowBodies},
	}
}

// faultLatency notes the intake's p99 between from and to and returns it.
func (h *harness) faultLatency(l *Load, from, to time.Time) time.Duration {
	p99, slowest, n := l.Latency(from, to)
	h.notef("intake during the fault: p99 %s, slowest %s over %d answers", p99.Round(time.Millisecond), slowest.Round(time.Millisecond), n)
	return p99
}

// loaded is what a fault held under load left: the load, the recorder's
// open calls when it began, the recovery and the intake's p99 during it.
type loaded struct {
	l    *Load
	open int64
	out  Outcome
	p99  time.Duration
}

// underLoad is the shape of every degraded scenario: a steady load of rate
// deliveries a second on a two-step workflow whose call takes callMs,
// warmed for warm; then fault, timed from its start to its return; then
// the recovery (every accepted run succeeded within limit of the fault's
// end), and the intake's p99 over the fault, or over afterFault for a
// fault that is one blow (a kill).
func (h *harness) underLoad(ctx context.Context, rate, callMs int, warm, limit time.Duration, fault func(ep Endpoint) error) (loaded, error) {
	ep, err := h.workflow(ctx, twoSteps(callMs))
	if err != nil {
		return loaded{}, err
	}
	f := loaded{l: h.newLoad(ep)}
	stop := steady(ctx, f.l, rate)
	sleep(ctx, warm)
	f.open = h.rec.Open()
	from := time.Now()
	if err := fault(ep); err != nil {
		stop()
		return f, err
	}
	to := time.Now()
	if f.out, err = h.recover(ctx, f.l, stop, to, limit); err != nil {
		return f, err
	}
	f.p99 = h.faultLatency(f.l, from, maxTime(to, from.Add(afterFault)))
	return f, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func slowPostgres(ctx context.Context, h *harness) error {
	f, err := h.underLoad(ctx, 30, 50, 5*time.Second, 150*time.Second, func(Endpoint) error {
		h.env.pg.SetDelay(200 * time.Millisecond)
		sleep(ctx, 20*time.Second)
		h.env.pg.SetDelay(0)
		return nil
	})
	if err != nil {
		return err
	}
	f.l.mu.Lock()
	n503, slowest := f.l.statuses[503], f.l.max503
	f.l.mu.Unlock()
	h.notef("%d answers 503 (load shed), slowest 503 %s; max run attempt %d", n503, slowest.Round(time.Millisecond), f.out.MaxAttempt)
	if slowest > 5*time.Second {
		h.failf("a 503 took %s: the connection wait did not bound it", slowest)
	}
	h.dups("ok", int(f.open)+40)
	return nil
}

func redisFrozen(ctx context.Context, h *harness) error {
	f, err := h.underLoad(ctx, 30, 50, 5*time.Second, 150*time.Second, func(Endpoint) error {
		if err := h.sys.redis.Signal(syscall.SIGSTOP); err != nil {
			return err
		}
		sleep(ctx, 20*time.Second)
		return h.sys.redis.Signal(syscall.SIGCONT)
	})
	if err != nil {
		return err
	}
	if f.p99 > 3*time.Second {
		h.failf("intake p99 %s with Redis frozen, above a sender's 3 s timeout", f.p99)
	}
	h.dups("ok", int(f.open)+40)
	return nil
}

func redisOOM(ctx context.Context, h *harness) error {
	rc := h.sys.redisClient()
	defer func() { _ = rc.Close() }()
	_, err := h.underLoad(ctx, 30, 50, 5*time.Second, 150*time.Second, func(Endpoint) error {
		if err := rc.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
			return err
		}
		if err := rc.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
			return err
		}
		sleep(ctx, 5*time.Second)
		ready, body := readyz(h.sys.ingress)
		up := h.sys.ingress.gauge(`aias_dependency_up{dependency="redis"}`)
		h.notef("during: /readyz %d %s; aias_dependency_up{redis} %.0f", ready, strings.TrimSpace(body), up)
		if ready != http.StatusServiceUnavailable || !strings.Contains(body, "refuses_writes") {
			h.failf("/readyz with Redis out of memory = %d %s, want 503 redis refuses_writes", ready, body)
		}
		if up != 0 {
			h.failf("aias_dependency_up{dependency=\"redis\"} = %.0f with Redis out of memory, want 0", up)
		}
		sleep(ctx, 10*time.Second)
		return rc.ConfigSet(ctx, "maxmemory", "0").Err()
	})
	if err != nil {
		return err
	}
	if ready, body := readyz(h.sys.ingress); ready != http.StatusOK {
		h.failf("/readyz after Redis took writes again = %d %s", ready, body)
	}
	h.dups("ok", 40)
	return nil
}

func readyz(p *Proc) (int, string) {
	res, err := http.Get("http://" + p.ops + "/readyz") //nolint:gosec // a loopback address the suite chose
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func workerKillReclaim(ctx context.Context, h *harness) error {
	f, err := h.underLoad(ctx, 40, 300, 8*time.Second, 120*time.Second, func(Endpoint) error {
		open := h.rec.Open()
		h.sys.workers[0].Kill()
		h.logf("killed %s with %d calls open", h.sys.workers[0].name, open)
		h.notef("%d calls open at the kill", open)
		return nil
	})
	if err != nil {
		return err
	}
	if f.out.Recovery > 15*time.Second {
		h.failf("R=%s after a worker kill, want under 15 s", f.out.Recovery.Round(100*time.Millisecond))
	}
	h.dups("ok", 20)
	return nil
}

func slowBodies(ctx context.Context, h *harness) error {
	const uploads = 200
	var (
		mu      sync.Mutex
		codes   = map[string]int{}
		slowest time.Duration
	)
	_, err := h.underLoad(ctx, 30, 50, 3*time.Second, 120*time.Second, func(ep Endpoint) error {
		var wg sync.WaitGroup
		for range uploads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, took := trickle(ctx, ep.URL, 1000, time.Second, 25*time.Second)
				mu.Lock()
				codes[code]++
				slowest = max(slowest, took)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		return err
	}
	h.notef("slow uploads: %v, slowest answer %s", codes, slowest.Round(100*time.Millisecond))
	if codes["408 body_timeout"] != uploads {
		h.failf("slow uploads answered %v, want all %d 408 body_timeout", codes, uploads)
	}
	if slowest > 15*time.Second {
		h.failf("a slow upload was cut after %s, want well before the 30 s request deadline", slowest)
	}
	return nil
}

// trickle posts a body of size bytes to url one byte per every, and returns
// the answer ("408 body_timeout", say) and how long it took to come.
func trickle(ctx context.Context, url string, size int, every, limit time.Duration) (string, time.Duration) {
	host := strings.TrimPrefix(url, "http://")
	path := host[strings.Index(host, "/"):]
	host = host[:strings.Index(host, "/")]
	t0 := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "dial: " + err.Error(), 0
	}
	defer func() { _ = conn.Close() }()
	_, _ = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, host, size)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for range size {
			select {
			case <-done:
				return
			case <-time.After(every):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "no answer", time.Since(t0)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	code := ""
	if i := strings.Index(string(b), `"code":"`); i >= 0 {
		code = strings.SplitN(string(b)[i+8:], `"`, 2)[0]
	}
	return fmt.Sprintf("%d %s", res.StatusCode, code), time.Since(t0)
}
