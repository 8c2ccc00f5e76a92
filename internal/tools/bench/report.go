package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Report is every figure of one bench run; it is also the JSON file.
type Report struct {
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Host     Host      `json:"host"`
	Calib    Calib     `json:"calibration"`
	Settings Settings  `json:"settings"`

	IngressMax     IngressMax     `json:"ingress_max"`
	IngressLatency IngressLatency `json:"ingress_latency"`
	Ceiling        Ceiling        `json:"database_ceiling"`
	E2E            E2E            `json:"end_to_end"`
	Drain          Drain          `json:"drain"`
	IO             IODrain        `json:"io_drain"`
	Fleet          Fleet          `json:"fleet_cost"`
	Memory         Memory         `json:"memory"`

	Ledgers []Ledger `json:"ledgers"`
	Void    []string `json:"void,omitempty"`
	Gates   []Gate   `json:"gates"`
}

// Host is what the figures ran on.
type Host struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	Postgres  string `json:"postgres"`
	Redis     string `json:"redis"`
}

// Calib is the machine's own speed, measured at the start: figures of two
// runs compare only when their calibrations agree.
type Calib struct {
	FsyncPerSec    float64 `json:"fsync_per_s"`     // 4 KB write + fsync, one at a time
	SHA256MBPerSec float64 `json:"sha256_mb_per_s"` // one core
}

// Settings are the knobs the run used.
type Settings struct {
	BlockSeconds float64 `json:"block_s"`
	Pairs        int     `json:"pairs"`
	ClosedConns  int     `json:"closed_loop_conns"`
	BodyBytes    int     `json:"body_bytes"`
	WorkerConc   int     `json:"worker_concurrency"`
	DrainRuns    int     `json:"drain_runs"`
	NoopTasks    int     `json:"noop_tasks"`
	LogLevel     string  `json:"log_level"`
}

// Block is one stretch of load on one route.
type Block struct {
	Route      string  `json:"route"` // floor or real
	Rate       float64 `json:"rate"`  // offered (open loop) or achieved (closed loop), per second
	Accepted   int     `json:"accepted"`
	PerSec     float64 `json:"accepted_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	P999Ms     float64 `json:"p999_ms"`
	CPUusPerOK float64 `json:"cpu_us_per_accepted"`
	CPU        CPU     `json:"cpu_ms"`
	// RowsPerCommit is the rows the block stored per transaction (1 for
	// the floor; above 1 where the intake's group commit batched).
	RowsPerCommit float64 `json:"rows_per_commit,omitempty"`
}

// CPU is CPU time by process group over a block, in milliseconds.
type CPU struct {
	Ingress  float64 `json:"ingress"`
	Workers  float64 `json:"workers"`
	Postgres float64 `json:"postgres"` // backends connected to the bench's database
	Redis    float64 `json:"redis"`    // the whole server, which other users may share
	LoadGen  float64 `json:"loadgen"`  // this process
}

// Total is the sum.
func (c CPU) Total() float64 { return c.Ingress + c.Workers + c.Postgres + c.Redis + c.LoadGen }

// IngressMax is the closed-loop phase.
type IngressMax struct {
	Blocks   []Block `json:"blocks"`
	FloorMax float64 `json:"floor_per_s"` // median of the floor blocks
	RealMax  float64 `json:"real_per_s"`
	Ratio    float64 `json:"ratio"` // median of pair ratios
	// RealRowsPerCommit is the median over the real blocks of the runs one
	// intake transaction stored (the floor's is 1).
	RealRowsPerCommit float64 `json:"real_rows_per_commit"`
}

// IngressLatency is the open-loop phase at half the floor's max.
type IngressLatency struct {
	Rate     int     `json:"rate"`
	Blocks   []Block `json:"blocks"`
	P99Ratio float64 `json:"p99_ratio"`
	CPURatio float64 `json:"cpu_ratio"`
	Floor    Block   `json:"floor_median"`
	Real     Block   `json:"real_median"`
}

// Ceiling is the database alone.
type Ceiling struct {
	RunsPerSec float64 `json:"runs_per_s"`
	Runs       int     `json:"runs"`
	Conns      int     `json:"conns"`
	StmtPerRun int     `json:"statements_per_run"`
	TxPerRun   int     `json:"transactions_per_run"`
}

// E2E is webhook in, run finished, with two worker processes.
type E2E struct {
	Half       E2EBlock `json:"half_ceiling"` // at half this run's database ceiling: the latency gate
	Latency    E2EBlock `json:"latency"`      // at the reported fixed rate (200/s)
	Throughput E2EBlock `json:"throughput"`   // offered above what the workers can do
	RunsPerSec float64  `json:"runs_per_s"`
	Efficiency float64  `json:"efficiency"` // RunsPerSec / ceiling
}

// E2EBlock is one open-loop stretch of end-to-end load.
type E2EBlock struct {
	Rate        int     `json:"rate"`
	Accepted    int     `json:"accepted"`
	Completed   int     `json:"completed"`
	RunsPerSec  float64 `json:"runs_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	CPUusPerRun float64 `json:"cpu_us_per_run"`
	CPU         CPU     `json:"cpu_ms"`
}

// Drain is a backlog emptied by 1, 2 and 4 workers, and the same with no-op tasks.
type Drain struct {
	Levels     []DrainLevel `json:"levels"`
	Efficiency float64      `json:"efficiency"` // best level / ceiling
	Scale21    float64      `json:"scale_2_1"`
	Scale42    float64      `json:"scale_4_2"`
	Noop21     float64      `json:"noop_scale_2_1"`
	Noop42     float64      `json:"noop_scale_4_2"`
}

// IODrain is the I/O-bound drain: runs that wait on a slow target, drained
// by 1, 2 and 4 workers of a fixed concurrency.
type IODrain struct {
	Conc     int          `json:"worker_concurrency"`
	TargetMs int64        `json:"target_ms"` // the target's answer time, per http step
	Levels   []DrainLevel `json:"levels"`
	Scale21  float64      `json:"scale_2_1"`
	Scale42  float64      `json:"scale_4_2"`
	// CPURatio is CPU per run with 4 workers over that with 1: what
	// spreading runs over more processes costs when the cores are not
	// saturated.
	CPURatio float64 `json:"cpu_ratio_4_1"`
}

// Fleet is CPU per run with the same work spread over one worker and four.
type Fleet struct {
	// OneConc and FourConc are the runs at once of the one worker and of
	// each of the four: the same runs in flight in all.
	OneConc  int         `json:"one_worker_concurrency"`
	FourConc int         `json:"four_workers_concurrency"`
	Pairs    []FleetPair `json:"pairs"`
	// Ratio is the median over the pairs of the four workers' CPU per run
	// over the one worker's; PostgresRatio and WorkersRatio are the same of
	// the Postgres backends' and the worker processes' CPU alone.
	Ratio         float64 `json:"ratio_4_1"`
	PostgresRatio float64 `json:"postgres_ratio_4_1"`
	WorkersRatio  float64 `json:"workers_ratio_4_1"`
}

// FleetPair is one backlog drained by one worker, then one by four.
type FleetPair struct {
	One   DrainLevel `json:"one"`
	Four  DrainLevel `json:"four"`
	Ratio float64    `json:"ratio_4_1"`
}

// DrainLevel is one worker count.
type DrainLevel struct {
	Workers     int     `json:"workers"`
	Runs        int     `json:"runs"`
	RunsPerSec  float64 `json:"runs_per_s"`
	NoopPerSec  float64 `json:"noop_tasks_per_s"`
	CPUusPerRun float64 `json:"cpu_us_per_run"`
	CPU         CPU     `json:"cpu_ms"` // from the workers' start until the last run finished
	// CoresBusy is that CPU time over that wall time: near the machine's
	// core count, a level is bound by the machine, not by its workers.
	CoresBusy float64 `json:"cores_busy"`
	// Counts are Postgres's and Redis's event counts per run over the
	// level; Waits the average number of the database's backends active in
	// each wait event (CPU: none), sampled every 20 ms.
	Counts map[string]float64 `json:"counts_per_run,omitempty"`
	Waits  map[string]float64 `json:"pg_waits,omitempty"`
	// Backends is the Postgres backends connected at the level's end.
	Backends int `json:"pg_backends"`
}

// Memory is the workers' resident set.
type Memory struct {
	IdleMB      float64 `json:"idle_mb"`      // the largest idle RSS of any worker
	PeakMB      float64 `json:"peak_mb"`      // the largest peak (VmHWM) of any worker, every phase
	Peak4KMB    float64 `json:"peak_4k_mb"`   // peak through the 4 KB phases
	Peak256KMB  float64 `json:"peak_256k_mb"` // peak with 256 KB artifacts
	NoopIdleMB  float64 `json:"noop_idle_mb"` // a no-op asynq worker
	NoopPeakMB  float64 `json:"noop_peak_mb"`
	PeakPerNoop float64 `json:"peak_per_noop"` // PeakMB / NoopPeakMB
}

// WriteJSON writes r to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// WriteMarkdown prints the table of figures and the gates.
func (r *Report) WriteMarkdown(w io.Writer) {
	f := func(x float64) string { return fmt.Sprintf("%.2f", x) }
	fmt.Fprintf(w, "\n## aias bench, %s (%.0f s, %d CPUs, %s, Postgres %s, Redis %s)\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Seconds, r.Host.CPUs, r.Host.GoVersion, r.Host.Postgres, r.Host.Redis)
	fmt.Fprintf(w, "Calibration: fsync %.0f/s, SHA-256 %.0f MB/s (one core)\n\n", r.Calib.FsyncPerSec, r.Calib.SHA256MBPerSec)
	fmt.Fprintln(w, "| phase | figure | floor | AIAS | ratio |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	im, il := r.IngressMax, r.IngressLatency
	fmt.Fprintf(w, "| ingress max (closed loop, %d conns) | accepted/s | %.0f | %.0f | %s |\n", r.Settings.ClosedConns, im.FloorMax, im.RealMax, f(im.Ratio))
	fmt.Fprintf(w, "| | runs per commit | 1 | %s | |\n", f(im.RealRowsPerCommit))
	fmt.Fprintf(w, "| ingress latency (open loop, %d/s) | p50 ms | %s | %s | |\n", il.Rate, f(il.Floor.P50Ms), f(il.Real.P50Ms))
	fmt.Fprintf(w, "| | p99 ms | %s | %s | %s |\n", f(il.Floor.P99Ms), f(il.Real.P99Ms), f(il.P99Ratio))
	fmt.Fprintf(w, "| | p999 ms | %s | %s | |\n", f(il.Floor.P999Ms), f(il.Real.P999Ms))
	fmt.Fprintf(w, "| | CPU µs/accepted | %.0f | %.0f | %s |\n", il.Floor.CPUusPerOK, il.Real.CPUusPerOK, f(il.CPURatio))
	fmt.Fprintf(w, "| | runs per commit | 1 | %s | |\n", f(il.Real.RowsPerCommit))
	fmt.Fprintf(w, "| database ceiling (%d conns, %d tx/run) | runs/s | | %.0f | |\n", r.Ceiling.Conns, r.Ceiling.TxPerRun, r.Ceiling.RunsPerSec)
	e := r.E2E
	fmt.Fprintf(w, "| end to end, 2 workers, %d/s offered (half the ceiling) | runs/s, p50/p99 ms | | %.0f, %s/%s | |\n", e.Half.Rate, e.Half.RunsPerSec, f(e.Half.P50Ms), f(e.Half.P99Ms))
	fmt.Fprintf(w, "| | CPU µs/run | | %.0f | |\n", e.Half.CPUusPerRun)
	fmt.Fprintf(w, "| end to end, 2 workers, %d/s offered | runs/s, p50/p99 ms | | %.0f, %s/%s | |\n", e.Latency.Rate, e.Latency.RunsPerSec, f(e.Latency.P50Ms), f(e.Latency.P99Ms))
	fmt.Fprintf(w, "| | CPU µs/run | | %.0f | |\n", e.Latency.CPUusPerRun)
	fmt.Fprintf(w, "| end to end, 2 workers, %d/s offered | runs/s, p50/p99 ms | | %.0f, %s/%s | efficiency %s |\n", e.Throughput.Rate, e.Throughput.RunsPerSec, f(e.Throughput.P50Ms), f(e.Throughput.P99Ms), f(e.Efficiency))
	for _, l := range r.Drain.Levels {
		fmt.Fprintf(w, "| drain, %d worker(s), %d runs | runs/s (no-op tasks/s) | %.0f | %.0f | CPU µs/run %.0f, cores busy %.2f |\n", l.Workers, l.Runs, l.NoopPerSec, l.RunsPerSec, l.CPUusPerRun, l.CoresBusy)
	}
	d := r.Drain
	fmt.Fprintf(w, "| scaling | r2/r1, r4/r2 | %s, %s | %s, %s | drain/ceiling %s |\n", f(d.Noop21), f(d.Noop42), f(d.Scale21), f(d.Scale42), f(d.Efficiency))
	for _, p := range r.Fleet.Pairs {
		fmt.Fprintf(w, "| fleet cost, warm, %d runs | CPU µs/run 1 worker × %d, 4 workers × %d | | %.0f, %.0f | %s |\n", p.One.Runs, r.Fleet.OneConc, r.Fleet.FourConc, p.One.CPUusPerRun, p.Four.CPUusPerRun, f(p.Ratio))
	}
	fmt.Fprintf(w, "| fleet cost | 4/1 CPU per run (Postgres, workers) | | | %s (%s, %s) |\n", f(r.Fleet.Ratio), f(r.Fleet.PostgresRatio), f(r.Fleet.WorkersRatio))
	for _, l := range r.IO.Levels {
		fmt.Fprintf(w, "| I/O-bound drain, %d worker(s) × %d, %d ms target | runs/s | | %.1f | CPU µs/run %.0f, cores busy %.2f |\n", l.Workers, r.IO.Conc, r.IO.TargetMs, l.RunsPerSec, l.CPUusPerRun, l.CoresBusy)
	}
	fmt.Fprintf(w, "| I/O-bound scaling | r2/r1, r4/r2 | | %s, %s | CPU per run 4/1 %s |\n", f(r.IO.Scale21), f(r.IO.Scale42), f(r.IO.CPURatio))
	m := r.Memory
	fmt.Fprintf(w, "| worker RSS | idle MB | %s | %s | |\n", f(m.NoopIdleMB), f(m.IdleMB))
	fmt.Fprintf(w, "| | peak MB (4 KB, 256 KB artifacts) | %s | %s, %s | peak/no-op %s |\n", f(m.NoopPeakMB), f(m.Peak4KMB), f(m.Peak256KMB), f(m.PeakPerNoop))
	fmt.Fprintln(w, "\nGates:")
	for _, g := range r.Gates {
		fmt.Fprintf(w, "- %s\n", g)
	}
	if len(r.Void) > 0 {
		fmt.Fprintf(w, "\nVOID: the ledger does not balance:\n- %s\n", strings.Join(r.Void, "\n- "))
	} else {
		fmt.Fprintln(w, "\nLedger: balanced in every phase.")
	}
}
