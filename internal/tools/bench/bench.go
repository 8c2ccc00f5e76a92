// Package bench is 'aias bench': AIAS measured against the least this
// machine can do, in the same run. It starts the real programs as separate
// processes (so CPU and memory are per process), drives them with an
// open-loop generator, and checks a ledger so that every request and every
// run is accounted for. See docs/benchmarks.md.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"aias/internal/tools/bench/floor"
	"aias/internal/tools/loopback"
)

// Options configure one bench run. The zero value of a field takes its default.
type Options struct {
	AdminURL   string        // Postgres superuser URL (a database is created and dropped)
	RedisURL   string        // Redis base URL (a free logical database is claimed)
	BinDir     string        // where aias and aias-worker are
	JSONPath   string        // where the JSON report goes
	Block      time.Duration // one block of interleaved load
	Pairs      int           // floor/real pairs per ingress phase
	Conns      int           // closed-loop connections
	E2ERate    int           // the end-to-end latency gate's rate
	DrainRuns  int           // backlog per drain level
	DrainWarm  int           // runs drained before each level's measured backlog
	IOConc     int           // AIAS_WORKER_CONCURRENCY in the I/O-bound drain
	FleetRuns  int           // backlog of each drain of the fleet-cost phase
	FleetWarm  int           // runs the fleet-cost phase's five workers are warmed on
	FleetPairs int           // one-worker/four-worker pairs of the fleet-cost phase
	IORuns     int           // runs per worker in each I/O-bound level
	NoopTasks  int           // no-op tasks per drain level
	WorkerConc int           // AIAS_WORKER_CONCURRENCY of each worker
	DBConns    int           // AIAS_DB_MAX_CONNS of each program (the default's 20)
	PadBytes   int           // artifact size (the body carries it)
	// GroupCommit and GroupCommitFlushers set the ingress's
	// AIAS_INTAKE_GROUP_COMMIT and AIAS_INTAKE_GROUP_COMMIT_FLUSHERS;
	// zero: the program's default (1 commits each delivery alone).
	GroupCommit, GroupCommitFlushers int
	LogLevel                         string // of the programs
	// Phases names the phases to run (comma-separated, of PhaseNames);
	// empty runs them all. Gates of phases not run read "not measured".
	Phases   string
	Progress io.Writer
}

// PhaseNames are the bench's phases, in the order they run.
var PhaseNames = []string{"ingress-max", "ingress-latency", "ceiling", "e2e", "drain", "fleet", "noop", "io", "memory"}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Pairs, 5)
	def(&o.Conns, 16)
	def(&o.E2ERate, 200)
	def(&o.DrainRuns, 2000)
	def(&o.NoopTasks, 5000)
	def(&o.WorkerConc, 10)
	def(&o.IOConc, 4)
	def(&o.IORuns, 240)
	def(&o.FleetRuns, 1500)
	def(&o.FleetWarm, 2000)
	def(&o.FleetPairs, 3)
	def(&o.DBConns, 20)
	def(&o.PadBytes, 4096)
	if o.Block <= 0 {
		o.Block = 2500 * time.Millisecond
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// bench is one run in progress.
type bench struct {
	o        Options
	e        *env
	r        *Report
	began    time.Time
	dir      string // program logs
	ingress  *proc
	base     string
	t        tenantSetup
	workers  []*proc
	cpu      *cpuGroups
	peak4k   float64
	slow     *http.Server // the I/O-bound workflow's target (iotarget.go)
	slowURL  string
	slowPort string
}

// Run runs every phase and returns the report (also when a phase failed,
// with what was measured up to then).
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	b := &bench{o: o, began: time.Now(), r: &Report{Started: time.Now().UTC()}}
	b.r.Settings = Settings{BlockSeconds: o.Block.Seconds(), Pairs: o.Pairs, ClosedConns: o.Conns, BodyBytes: o.PadBytes + 40,
		WorkerConc: o.WorkerConc, DrainRuns: o.DrainRuns, NoopTasks: o.NoopTasks, LogLevel: o.LogLevel}
	var err error
	if b.dir, err = os.MkdirTemp("", "aias-bench-"); err != nil {
		return nil, err
	}
	b.say("program logs in %s", b.dir)
	err = b.run(ctx)
	b.finish()
	if err == nil {
		_ = os.RemoveAll(b.dir)
	}
	return b.r, err
}

func (b *bench) say(format string, args ...any) {
	fmt.Fprintf(b.o.Progress, "[%5.1fs] %s\n", time.Since(b.began).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) run(ctx context.Context) (err error) {
	b.say("calibrating: fsync loop and SHA-256 loop")
	b.r.Calib = calibrate(b.dir)
	b.say("calibration: fsync %.0f/s, SHA-256 %.0f MB/s", b.r.Calib.FsyncPerSec, b.r.Calib.SHA256MBPerSec)
	b.e, err = setupDB(ctx, b.o.AdminURL)
	defer func() {
		b.stopAll()
		if b.e != nil {
			b.e.close()
		}
	}()
	if err != nil {
		return err
	}
	if err := b.e.claimRedis(ctx, b.o.RedisURL); err != nil {
		return err
	}
	b.say("database %s, Redis DB %d", b.e.dbName, b.e.redisDB)
	b.host(ctx)
	if err := b.startIngress(ctx); err != nil {
		return err
	}
	phases := []struct {
		key, name string
		fn        func(context.Context) error
	}{
		{"ingress-max", "ingress max", b.ingressMax}, {"ingress-latency", "ingress latency", b.ingressLatency},
		{"ceiling", "database ceiling", b.ceiling}, {"e2e", "end to end", b.endToEnd}, {"drain", "drain", b.drain}, {"fleet", "fleet cost", b.fleetCost},
		{"noop", "no-op drain", b.noopDrain}, {"io", "I/O-bound drain", b.ioDrain}, {"memory", "memory", b.memory},
	}
	want, err := selectPhases(b.o.Phases)
	if err != nil {
		return err
	}
	for _, p := range phases {
		if !want[p.key] {
			continue
		}
		if err := p.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// selectPhases parses Options.Phases: nil map entries are phases not run.
func selectPhases(list string) (map[string]bool, error) {
	want := map[string]bool{}
	if strings.TrimSpace(list) == "" {
		for _, n := range PhaseNames {
			want[n] = true
		}
		return want, nil
	}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(PhaseNames, n) {
			return nil, fmt.Errorf("unknown phase %q (phases: %s)", n, strings.Join(PhaseNames, ", "))
		}
		want[n] = true
	}
	return want, nil
}

func (b *bench) host(ctx context.Context) {
	b.r.Host = Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	_ = b.e.owner.GetContext(ctx, &b.r.Host.Postgres, `SELECT current_setting('server_version')`)
	info, _ := b.e.rdb.Info(ctx, "server").Result()
	pid := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "redis_version":
			b.r.Host.Redis = v
		case "process_id":
			_, _ = fmt.Sscan(v, &pid)
		}
	}
	b.cpu = &cpuGroups{pg: b.e.owner, dbName: b.e.dbName, redis: pid,
		ingress: func() []int {
			if b.ingress == nil {
				return nil
			}
			return []int{b.ingress.pid()}
		},
		workers: func() []int {
			var out []int
			for _, w := range b.workers {
				out = append(out, w.pid())
			}
			return out
		}}
}

func (b *bench) bin(name string) string { return filepath.Join(b.o.BinDir, name) }

func (b *bench) startIngress(ctx context.Context) error {
	addr, err := loopback.FreeAddr()
	if err != nil {
		return err
	}
	env := b.e.programEnv(b.o.LogLevel, b.o.DBConns)
	env["AIAS_HTTP_ADDR"], env["AIAS_PUBLIC_URL"] = addr, "http://"+addr
	if b.o.GroupCommit > 0 {
		env["AIAS_INTAKE_GROUP_COMMIT"] = strconv.Itoa(b.o.GroupCommit)
	}
	if b.o.GroupCommitFlushers > 0 {
		env["AIAS_INTAKE_GROUP_COMMIT_FLUSHERS"] = strconv.Itoa(b.o.GroupCommitFlushers)
	}
	// The ingress role as aias-ingress runs it, plus the floor route: the
	// floor and the real intake share one process and one HTTP stack.
	if b.ingress, err = start("ingress", b.bin("aias"), []string{"bench", "ingress"}, env, b.dir, false); err != nil {
		return err
	}
	b.base = "http://" + addr
	if err := b.ingress.waitHTTP(ctx, b.base+"/healthz", 20*time.Second); err != nil {
		return err
	}
	if err := b.startSlowTarget(); err != nil {
		return err
	}
	if b.t, err = b.e.makeTenant(ctx, b.base, b.slowURL); err != nil {
		return fmt.Errorf("bench tenant: %w", err)
	}
	b.say("ingress up (pid %d), tenant %s", b.ingress.pid(), b.t.TenantID)
	return nil
}

// startWorkers starts n worker processes of conc runs at once and waits
// until each is ready.
func (b *bench) startWorkers(ctx context.Context, n, conc int) error {
	return b.startWorkersWith(ctx, n, conc, b.o.DBConns)
}

// startWorkersWith is startWorkers with dbConns connections per worker.
func (b *bench) startWorkersWith(ctx context.Context, n, conc, dbConns int) error {
	for range n {
		addr, err := loopback.FreeAddr()
		if err != nil {
			return err
		}
		env := b.e.programEnv(b.o.LogLevel, dbConns)
		env["AIAS_METRICS_ADDR"], env["AIAS_WORKER_CONCURRENCY"] = addr, fmt.Sprint(conc)
		// The I/O-bound workflow's http steps reach the bench's slow
		// target on loopback, and nothing else there.
		env["AIAS_EGRESS_ALLOW"], env["AIAS_EGRESS_ALLOW_PORTS"] = "127.0.0.1/32", b.slowPort
		w, err := start(fmt.Sprintf("worker-%d-%d", len(b.workers), time.Now().UnixNano()%1e6), b.bin("aias-worker"), nil, env, b.dir, false)
		if err != nil {
			return err
		}
		w.ops = addr
		b.workers = append(b.workers, w)
	}
	for _, w := range b.workers {
		if err := w.waitHTTP(ctx, "http://"+w.ops+"/readyz", 20*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// stopWorkers stops every worker and returns the largest peak RSS among them.
func (b *bench) stopWorkers() (peakMB float64) {
	for _, w := range b.workers {
		if _, hwm := rssMB(w.pid()); hwm > peakMB {
			peakMB = hwm
		}
	}
	for _, w := range b.workers {
		if err := w.stop(30 * time.Second); err != nil {
			b.say("worker %s: %v", w.name, err)
		}
	}
	b.workers = nil
	return peakMB
}

func (b *bench) stopAll() {
	if b.slow != nil {
		_ = b.slow.Close()
	}
	b.stopWorkers()
	if b.ingress != nil {
		if err := b.ingress.stop(20 * time.Second); err != nil {
			b.say("ingress: %v", err)
		}
		b.ingress = nil
	}
}

// finish computes the gates and the ledger verdict.
func (b *bench) finish() {
	b.r.Seconds = Round2(time.Since(b.began).Seconds())
	b.r.Void = Void(b.r.Ledgers)
	b.r.Gates = Gates(b.r)
}

// floorURL is the floor route of the running ingress.
func (b *bench) floorURL() string { return b.base + floor.Path }

// waitFor polls cond every 100 ms until it holds or d passes.
func waitFor(ctx context.Context, d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
