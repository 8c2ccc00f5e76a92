package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"aias/internal/tools/loopback"

	"github.com/redis/go-redis/v9"
)

// System is one scenario's AIAS: a private redis-server, one ingress, two
// workers and one or more schedulers, each a separate process.
type System struct {
	env        *Env
	name       string
	redis      *Proc
	redisAddr  string
	ingress    *Proc
	workers    []*Proc
	schedulers []*Proc
	base       string
	extra      map[string]string
}

// programEnv is the environment every program gets; extra overrides it.
func (s *System) programEnv(own map[string]string) []string {
	vars := map[string]string{
		"AIAS_ENV": "dev", "DATABASE_URL": s.env.appURL, "REDIS_URL": "redis://" + s.redisAddr + "/0",
		"AIAS_ENCRYPTION_KEYS": keys, "AIAS_EGRESS_ALLOW": "127.0.0.0/8", "AIAS_EGRESS_ALLOW_PORTS": "*", // the recorder's port
		"AIAS_SIGNUP_ENABLED": "true", // each scenario signs a tenant up
		"AIAS_LOG_FORMAT":     "json", "AIAS_LOG_LEVEL": "info", "AIAS_DB_MAX_CONNS": "6",
		"AIAS_RETRY_BASE": "200ms", "AIAS_RETRY_MAX": "2s",
		"AIAS_SWEEP_INTERVAL": "1s", "AIAS_SWEEP_QUEUED_GRACE": "5s", "AIAS_SWEEP_RUNNING_STALE": "15s",
		"AIAS_WORKER_CONCURRENCY": "20", "AIAS_WORKER_SHUTDOWN_TIMEOUT": "5s", "AIAS_SHUTDOWN_TIMEOUT": "10s",
		"AIAS_SCHEDULER_LEASE_TTL": "3s", "AIAS_RATE_LIMIT_IP_PER_SECOND": "0", "AIAS_RATE_LIMIT_ENDPOINT_PER_SECOND": "0",
		"AIAS_PUBLIC_URL": s.base, "AIAS_METRICS_ADDR": "off",
	}
	for k, v := range s.extra {
		vars[k] = v
	}
	for k, v := range own {
		vars[k] = v
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// StartSystem starts Redis and the programs for one scenario and waits
// until each is ready. extra overrides the programs' environment.
func (e *Env) StartSystem(ctx context.Context, name string, schedulers int, extra map[string]string) (*System, error) {
	s := &System{env: e, name: name, extra: extra}
	rp, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	s.redisAddr = "127.0.0.1:" + strconv.Itoa(rp)
	dir := e.path(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s.redis = &Proc{name: "redis", bin: "redis-server", logPath: filepath.Join(dir, "redis.log"),
		args: []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(rp), "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--dir", dir, "--loglevel", "warning"}}
	if err := s.startRedis(ctx); err != nil {
		return nil, err
	}
	ip, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	s.base = "http://127.0.0.1:" + strconv.Itoa(ip)
	if s.ingress, err = s.opsProc("ingress", "aias-ingress", dir); err != nil { // /metrics is on the ops listener
		return nil, err
	}
	s.ingress.env = append(s.ingress.env, "AIAS_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(ip))
	procs := []*Proc{s.ingress}
	for i := 1; i <= 2; i++ {
		p, err := s.opsProc(fmt.Sprintf("worker%d", i), "aias-worker", dir)
		if err != nil {
			return nil, err
		}
		s.workers = append(s.workers, p)
		procs = append(procs, p)
	}
	for i := 1; i <= schedulers; i++ {
		p, err := s.opsProc(fmt.Sprintf("scheduler%d", i), "aias-scheduler", dir)
		if err != nil {
			return nil, err
		}
		s.schedulers = append(s.schedulers, p)
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := s.restart(ctx, p); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

func (s *System) opsProc(name, bin, dir string) (*Proc, error) {
	port, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	p := &Proc{name: name, bin: filepath.Join(s.env.opt.BinDir, bin), logPath: filepath.Join(dir, name+".log"), ops: "127.0.0.1:" + strconv.Itoa(port)}
	p.env = s.programEnv(map[string]string{"AIAS_METRICS_ADDR": p.ops})
	return p, nil
}

func (s *System) startRedis(ctx context.Context) error {
	if err := s.redis.start(); err != nil {
		return err
	}
	return s.redis.waitReady(ctx, redisReady(s.redisAddr))
}

// restart starts a program that is not running and waits for its liveness.
func (s *System) restart(ctx context.Context, p *Proc) error {
	if p.running() {
		return nil
	}
	if err := p.start(); err != nil {
		return err
	}
	return p.waitReady(ctx, httpReady("http://"+p.ops+"/healthz"))
}

// programs lists every AIAS process of the system.
func (s *System) programs() []*Proc {
	return append(append([]*Proc{s.ingress}, s.workers...), s.schedulers...)
}

// Stop terminates every program, then Redis.
func (s *System) Stop() {
	for _, p := range s.programs() {
		if p != nil && p.running() {
			if _, err := p.Term(20 * time.Second); err != nil {
				p.Kill()
			}
		}
	}
	s.redis.Kill()
}

// panics collects panic lines from every program's log.
func (s *System) panics() []string {
	var out []string
	for _, p := range s.programs() {
		out = append(out, p.panics()...)
	}
	return out
}

// redisClient is a client of the system's own Redis.
func (s *System) redisClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.redisAddr})
}

// flushRedis empties the system's own Redis (never the shared one).
func (s *System) flushRedis(ctx context.Context) error {
	c := s.redisClient()
	defer func() { _ = c.Close() }()
	return c.FlushAll(ctx).Err()
}

// restartRedisEmpty starts the killed redis-server again, with nothing in it.
func (s *System) restartRedisEmpty(ctx context.Context) error {
	if s.redis.running() {
		return errors.New("redis is still running")
	}
	return s.startRedis(ctx)
}
