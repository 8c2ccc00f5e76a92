package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"aias/internal/postgres"
	"aias/internal/queue"
)

func (b *bench) ceiling(ctx context.Context) error {
	b.say("database ceiling: straight SQL of a 3-step run with a 4 KB artifact, %d connections", b.o.Conns/2)
	c, err := measureCeiling(ctx, b.e.app, b.t, b.o.Conns/2, 2*b.o.Block)
	b.r.Ceiling = c
	b.say("database ceiling: %.0f runs/s (%d runs)", c.RunsPerSec, c.Runs)
	return err
}

// workerIdle records the idle RSS of the running workers.
func (b *bench) workerIdle() {
	for _, w := range b.workers {
		if rss, _ := rssMB(w.pid()); rss > b.r.Memory.IdleMB {
			b.r.Memory.IdleMB = Round2(rss)
		}
	}
}

func (b *bench) endToEnd(ctx context.Context) error {
	b.say("end to end: starting 2 workers")
	if err := b.startWorkers(ctx, 2, b.o.WorkerConc); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	b.workerIdle()
	s, err := newSender(b.t.URL, b.t.Secret, "e2e", b.o.PadBytes)
	if err != nil {
		return err
	}
	warm := openLoop(s, 50, time.Second)
	ids, _ := warm.accepted()
	if err := b.waitRuns(ctx, ids, 10*time.Second); err != nil {
		return err
	}
	e := &b.r.E2E
	if e.Latency, err = b.e2eBlock(ctx, s, b.o.E2ERate, b.o.Block, "e2e latency"); err != nil {
		return err
	}
	b.say("end to end at %d/s: %.0f runs/s, p50 %.1f p99 %.1f ms, %.0f CPU µs/run", b.o.E2ERate, e.Latency.RunsPerSec, e.Latency.P50Ms, e.Latency.P99Ms, e.Latency.CPUusPerRun)
	// The latency gate's rate is half of what this machine's database did
	// in this run, so the gate means the same on a fast day and a slow one.
	if half := int(b.r.Ceiling.RunsPerSec / 2); half > 0 {
		if e.Half, err = b.e2eBlock(ctx, s, half, b.o.Block, "e2e latency at half the ceiling"); err != nil {
			return err
		}
		b.say("end to end at %d/s (half the ceiling): %.0f runs/s, p50 %.1f p99 %.1f ms, %.0f CPU µs/run", half, e.Half.RunsPerSec, e.Half.P50Ms, e.Half.P99Ms, e.Half.CPUusPerRun)
	}
	// Offered above what the workers can finish (twice the straight-SQL
	// ceiling; the intake alone takes several times that), so runs/s is
	// what the whole pipeline sustains rather than what was offered.
	rate := max(int(b.r.Ceiling.RunsPerSec*2), b.o.E2ERate*3/2)
	if e.Throughput, err = b.e2eBlock(ctx, s, rate, b.o.Block, "e2e throughput"); err != nil {
		return err
	}
	e.RunsPerSec = e.Throughput.RunsPerSec
	if b.r.Ceiling.RunsPerSec > 0 {
		e.Efficiency = Round2(e.RunsPerSec / b.r.Ceiling.RunsPerSec)
	}
	b.say("end to end at %d/s: %.0f runs/s, p50 %.1f p99 %.1f ms; efficiency %.2f", rate, e.RunsPerSec, e.Throughput.P50Ms, e.Throughput.P99Ms, e.Efficiency)
	b.peak4k = max(b.peak4k, b.stopWorkers())
	return b.e.resetQueue(ctx)
}

// e2eBlock sends rate/s for d, waits for the runs (20 s cut-off) and times
// each from its scheduled send to its finish; a run unfinished at the cut-off
// counts with the cut-off as its finish.
func (b *bench) e2eBlock(ctx context.Context, s *sender, rate int, d time.Duration, phase string) (E2EBlock, error) {
	blk := E2EBlock{Rate: rate}
	before := b.cpu.snap(ctx)
	t := openLoop(s, rate, d)
	ids, _ := t.accepted()
	sched := map[string]time.Time{}
	for _, o := range t.outcomes {
		if o.runID != "" {
			sched[o.runID] = o.sched
		}
	}
	if err := b.waitRuns(ctx, ids, 20*time.Second); err != nil {
		return blk, err
	}
	cutoff := time.Now()
	blk.CPU = b.cpu.snap(ctx).since(before)
	fin, err := b.finished(ctx, ids)
	if err != nil {
		return blk, err
	}
	var lat []time.Duration
	first, last := cutoff, time.Time{}
	for _, id := range ids {
		end, ok := fin[id]
		if !ok {
			end = cutoff
		}
		lat = append(lat, end.Sub(sched[id]))
		first = minTime(first, sched[id])
		if ok && end.After(last) {
			last = end
		}
	}
	blk.Accepted, blk.Completed = len(ids), len(fin)
	blk.RunsPerSec = Round2(Rate(len(fin), last.Sub(first)))
	blk.P50Ms, blk.P99Ms = Ms(Percentile(lat, 0.5)), Ms(Percentile(lat, 0.99))
	blk.CPUusPerRun = perEvent(blk.CPU, len(fin))
	if _, err := b.record(ctx, phase, "real", t); err != nil { // runs per commit: the workers have updated the rows
		return blk, err
	}
	return blk, b.counts(ctx, ids, &b.r.Ledgers[len(b.r.Ledgers)-1])
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// level is one drain level: k workers of conc runs at once empty a
// backlog of n runs of flow f (artifacts of pad bytes). With warm > 0 the
// workers are started and drain warm runs first, the queues paused while
// the measured backlog is enqueued: the CPU counted is then the drain's
// alone, without the processes' and their connections' start-up, and every
// worker starts on the backlog at once.
type level struct {
	k, conc, n, pad, warm int
	f                     flow
	phase                 string
}

// drainLevel empties the level's backlog.
func (b *bench) drainLevel(ctx context.Context, lv level) (DrainLevel, float64, error) {
	lvl := DrainLevel{Workers: lv.k}
	if lv.warm > 0 {
		if err := b.startWorkers(ctx, lv.k, lv.conc); err != nil {
			return lvl, 0, err
		}
		ids, err := b.backlog(ctx, lv.f, lv.phase+" warm-up", lv.warm, lv.pad)
		if err != nil {
			return lvl, 0, err
		}
		if err := b.waitRuns(ctx, ids, 90*time.Second); err != nil {
			return lvl, 0, err
		}
		if err := b.pauseQueues(true); err != nil {
			return lvl, 0, err
		}
	}
	ids, err := b.backlog(ctx, lv.f, lv.phase, lv.n, lv.pad)
	if err != nil {
		return lvl, 0, err
	}
	before, counted, began := b.cpu.snap(ctx), b.counters(ctx), time.Now()
	if lv.warm > 0 {
		if err := b.pauseQueues(false); err != nil {
			return lvl, 0, err
		}
	} else if err := b.startWorkers(ctx, lv.k, lv.conc); err != nil {
		return lvl, 0, err
	}
	waits := b.sampleWaits(ctx)
	err = b.waitRuns(ctx, ids, 90*time.Second)
	lvl.Waits = waits.end()
	if err != nil {
		return lvl, 0, err
	}
	b.measure(ctx, &lvl, before, counted, began, lv.n)
	peak := b.stopWorkers()
	if err := b.tally(ctx, &lvl, ids, lv.phase); err != nil {
		return lvl, peak, err
	}
	return lvl, peak, b.e.resetQueue(ctx)
}

// measure sets what a drain level spent since before, counted and began:
// CPU by process group, counts per run of n, backends, cores busy.
func (b *bench) measure(ctx context.Context, lvl *DrainLevel, before cpuSnap, counted counters, began time.Time, n int) {
	cpu := b.cpu.snap(ctx).since(before)
	lvl.Counts = b.counters(ctx).perRun(counted, n)
	lvl.Backends = b.backends(ctx)
	lvl.CPU = cpu
	lvl.CoresBusy = Round2((cpu.Total() - cpu.LoadGen) / float64(max(time.Since(began).Milliseconds(), 1)))
}

// tally sets a drained level's runs (those of ids that succeeded), their
// rate from the first finish to the last and the CPU per run, and adds
// the phase's ledger.
func (b *bench) tally(ctx context.Context, lvl *DrainLevel, ids []string, phase string) error {
	var span struct {
		N     int        `db:"n"`
		First *time.Time `db:"first"`
		Last  *time.Time `db:"last"`
	}
	if err := b.e.owner.GetContext(ctx, &span, `SELECT count(*) AS n, min(finished_at) AS first, max(finished_at) AS last
		FROM runs WHERE id = ANY($1::uuid[]) AND status = 'succeeded'`, postgres.StringArray(ids)); err != nil {
		return err
	}
	lvl.Runs = span.N
	if span.First != nil && span.N > 1 {
		lvl.RunsPerSec = Round2(Rate(span.N-1, span.Last.Sub(*span.First)))
	}
	lvl.CPUusPerRun = perRun(lvl.CPU, span.N)
	l := Ledger{Phase: phase, Sent: len(ids), Accepted: len(ids), Stored: len(ids)}
	if err := b.counts(ctx, ids, &l); err != nil {
		return err
	}
	b.r.Ledgers = append(b.r.Ledgers, l)
	return nil
}

// pauseQueues pauses (or resumes) every queue the workers serve.
func (b *bench) pauseQueues(pause bool) error {
	opt, err := queue.RedisOpt(b.e.redisURL)
	if err != nil {
		return err
	}
	return queue.SetPaused(opt, pause)
}

// backends counts the Postgres backends connected to the bench's database.
func (b *bench) backends(ctx context.Context) int {
	var n int
	_ = b.e.owner.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, b.e.dbName)
	return n
}

func (b *bench) drain(ctx context.Context) error {
	d := &b.r.Drain
	for _, k := range []int{1, 2, 4} {
		b.say("drain: %d runs with %d worker(s)", b.o.DrainRuns, k)
		lvl, peak, err := b.drainLevel(ctx, level{k: k, conc: b.o.WorkerConc, n: b.o.DrainRuns, pad: b.o.PadBytes,
			warm: b.o.DrainWarm, f: b.t.main(), phase: fmt.Sprintf("drain %d", k)})
		b.peak4k = max(b.peak4k, peak)
		if err != nil {
			return err
		}
		d.Levels = append(d.Levels, lvl)
		b.say("drain with %d worker(s): %.0f runs/s, %.0f CPU µs/run, peak RSS %.1f MB", k, lvl.RunsPerSec, lvl.CPUusPerRun, peak)
	}
	best := 0.0
	for _, l := range d.Levels {
		best = max(best, l.RunsPerSec)
	}
	if b.r.Ceiling.RunsPerSec > 0 {
		d.Efficiency = Round2(best / b.r.Ceiling.RunsPerSec)
	}
	d.Scale21, d.Scale42 = scale(d.Levels, 0, 1, false), scale(d.Levels, 1, 2, false)
	b.r.Memory.Peak4KMB = Round2(b.peak4k)
	return nil
}

func scale(ls []DrainLevel, lo, hi int, noop bool) float64 {
	if len(ls) <= hi {
		return 0
	}
	a, c := ls[lo].RunsPerSec, ls[hi].RunsPerSec
	if noop {
		a, c = ls[lo].NoopPerSec, ls[hi].NoopPerSec
	}
	if a <= 0 {
		return 0
	}
	return Round2(c / a)
}

// noopWorkers starts k no-op asynq workers (aias bench noop-worker).
func (b *bench) noopWorkers(k int) ([]*proc, error) {
	var ps []*proc
	for i := range k {
		p, err := start(fmt.Sprintf("noop-%d-%d", k, i), b.bin("aias"),
			[]string{"bench", "noop-worker", "-redis", b.e.redisURL, "-concurrency", fmt.Sprint(b.o.WorkerConc)}, nil, b.dir, true)
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func (b *bench) noopDrain(ctx context.Context) error {
	opt, err := queue.RedisOpt(b.e.redisURL)
	if err != nil {
		return err
	}
	idle, err := b.noopWorkers(1)
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	rss, _ := rssMB(idle[0].pid())
	b.r.Memory.NoopIdleMB = Round2(rss)
	_ = idle[0].stop(10 * time.Second)
	for i, k := range []int{1, 2, 4} {
		if err := queue.EnqueueNoop(ctx, opt, b.o.NoopTasks); err != nil {
			return err
		}
		ps, err := b.noopWorkers(k)
		if err != nil {
			return err
		}
		err = waitFor(ctx, 60*time.Second, func() (bool, error) {
			left, err := queue.NoopLeft(opt)
			return left == 0, err
		})
		for _, p := range ps {
			if _, hwm := rssMB(p.pid()); hwm > b.r.Memory.NoopPeakMB {
				b.r.Memory.NoopPeakMB = Round2(hwm)
			}
		}
		var total queue.NoopStats
		for _, p := range ps {
			_ = p.stop(10 * time.Second)
			var st queue.NoopStats
			if json.Unmarshal(p.out.Bytes(), &st) == nil && st.Done > 0 {
				if total.Done == 0 || st.First.Before(total.First) {
					total.First = st.First
				}
				if st.Last.After(total.Last) {
					total.Last = st.Last
				}
				total.Done += st.Done
			}
		}
		if err != nil {
			return err
		}
		if i < len(b.r.Drain.Levels) && total.Done > 1 {
			b.r.Drain.Levels[i].NoopPerSec = Round2(Rate(total.Done-1, total.Last.Sub(total.First)))
		}
		b.say("no-op drain with %d worker(s): %d tasks, %.0f tasks/s", k, total.Done, Rate(total.Done-1, total.Last.Sub(total.First)))
		if total.Done != b.o.NoopTasks {
			b.r.Ledgers = append(b.r.Ledgers, Ledger{Phase: fmt.Sprintf("no-op drain %d", k), Sent: b.o.NoopTasks, Accepted: b.o.NoopTasks,
				Stored: b.o.NoopTasks, Executes: true, Runs: b.o.NoopTasks, Completed: total.Done})
		}
		if err := b.e.resetQueue(ctx); err != nil {
			return err
		}
	}
	b.r.Drain.Noop21, b.r.Drain.Noop42 = scale(b.r.Drain.Levels, 0, 1, true), scale(b.r.Drain.Levels, 1, 2, true)
	return nil
}

func (b *bench) memory(ctx context.Context) error {
	const n, pad = 100, 256 << 10
	b.say("memory: %d runs with 256 KB artifacts, 2 workers", n)
	_, peak, err := b.drainLevel(ctx, level{k: 2, conc: b.o.WorkerConc, n: n, pad: pad, f: b.t.main(), phase: "memory 256 KB"})
	if err != nil {
		return err
	}
	m := &b.r.Memory
	m.Peak256KMB = Round2(peak)
	m.PeakMB = Round2(max(m.Peak4KMB, m.Peak256KMB))
	if m.NoopPeakMB > 0 {
		m.PeakPerNoop = Round2(m.PeakMB / m.NoopPeakMB)
	}
	b.say("memory: worker RSS idle %.1f MB, peak %.1f MB (4 KB) and %.1f MB (256 KB); no-op worker peak %.1f MB",
		m.IdleMB, m.Peak4KMB, m.Peak256KMB, m.NoopPeakMB)
	return nil
}

// ioDrain is the I/O-bound drain: runs of two http steps, each waiting
// 50 ms on the bench's slow target, drained by 1, 2 and 4 workers of a
// fixed concurrency (IOConc), IORuns runs per worker. Such a fleet waits on
// its targets, not on the CPU: each doubling of the workers should double
// the runs per second unless something they share (a lock, a slot, a poll)
// caps it.
func (b *bench) ioDrain(ctx context.Context) error {
	d := &b.r.IO
	d.Conc, d.TargetMs = b.o.IOConc, ioDelay.Milliseconds()
	for _, k := range []int{1, 2, 4} {
		b.say("I/O-bound drain: %d runs with %d worker(s) of concurrency %d", b.o.IORuns*k, k, b.o.IOConc)
		lvl, _, err := b.drainLevel(ctx, level{k: k, conc: b.o.IOConc, n: b.o.IORuns * k, pad: 16,
			warm: 2 * k * b.o.IOConc, f: b.t.IO, phase: fmt.Sprintf("I/O drain %d", k)})
		if err != nil {
			return err
		}
		d.Levels = append(d.Levels, lvl)
		b.say("I/O-bound drain with %d worker(s): %.1f runs/s, %.0f CPU µs/run, cores busy %.2f", k, lvl.RunsPerSec, lvl.CPUusPerRun, lvl.CoresBusy)
	}
	d.Scale21, d.Scale42 = scale(d.Levels, 0, 1, false), scale(d.Levels, 1, 2, false)
	if len(d.Levels) == 3 && d.Levels[0].CPUusPerRun > 0 {
		d.CPURatio = Round2(d.Levels[2].CPUusPerRun / d.Levels[0].CPUusPerRun)
	}
	return nil
}
