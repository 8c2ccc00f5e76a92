package bench

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"aias/internal/queue"
)

// fleetCost measures what a run costs when the same work is spread over
// more worker processes: one worker of 4 × WorkerConc runs at once on
// DBConns connections and four of WorkerConc each on a quarter of them are
// started together and warmed on one backlog, then drain backlogs of
// FleetRuns in turn, one set running while the other is stopped (SIGSTOP: a
// stopped worker takes no task and spends no CPU), for FleetPairs pairs.
// Both sets hold the same runs in flight on as many connections, so the
// pair differs in the number of processes only: on a few cores, forty
// runs at once, or forty busy connections, cost Postgres more per run than
// ten whichever process holds them (docs/benchmarks.md). Each pair's ratio
// is the four workers' CPU per run over the one worker's, measured minutes
// apart at most, so a shared machine's drift mostly cancels; the median of
// the pairs is the figure the gate judges. Start-up is left out: a fleet
// starts once and runs for months.
func (b *bench) fleetCost(ctx context.Context) error {
	f := &b.r.Fleet
	f.OneConc, f.FourConc = 4*b.o.WorkerConc, b.o.WorkerConc
	if err := b.startWorkersWith(ctx, 1, f.OneConc, b.o.DBConns); err != nil {
		return err
	}
	if err := b.startWorkersWith(ctx, 4, f.FourConc, max(b.o.DBConns/4, 2)); err != nil {
		return err
	}
	defer func() { b.signal(b.workers, syscall.SIGCONT); b.stopWorkers() }()
	one, four := b.workers[:1], b.workers[1:]
	b.say("fleet cost: warming 1 + 4 workers on %d runs", b.o.FleetWarm)
	ids, err := b.backlog(ctx, b.t.main(), "fleet warm-up", b.o.FleetWarm, b.o.PadBytes)
	if err != nil {
		return err
	}
	if err := b.waitRuns(ctx, ids, 120*time.Second); err != nil {
		return err
	}
	for i := range b.o.FleetPairs {
		var pair FleetPair
		for _, set := range [][]*proc{one, four} {
			other := four
			if len(set) == 4 {
				other = one
			}
			// Stopped only once every handler returned: a worker stopped
			// between a run's end and its slot's release would hold the
			// tenant's slot for the lease's two minutes.
			if err := b.waitIdle(ctx); err != nil {
				return err
			}
			b.signal(other, syscall.SIGSTOP)
			b.signal(set, syscall.SIGCONT)
			lvl, err := b.fleetDrain(ctx, len(set), fmt.Sprintf("fleet pair %d, %d worker(s)", i+1, len(set)))
			if err != nil {
				return err
			}
			if len(set) == 1 {
				pair.One = lvl
			} else {
				pair.Four = lvl
			}
		}
		if pair.One.CPUusPerRun > 0 {
			pair.Ratio = Round2(pair.Four.CPUusPerRun / pair.One.CPUusPerRun)
		}
		f.Pairs = append(f.Pairs, pair)
		b.say("fleet cost, pair %d: 1 worker %.0f, 4 workers %.0f CPU µs/run: %.2f", i+1, pair.One.CPUusPerRun, pair.Four.CPUusPerRun, pair.Ratio)
	}
	var ratios, pg, wk []float64
	for _, p := range f.Pairs {
		ratios = append(ratios, p.Ratio)
		n1, n4 := float64(max(p.One.Runs, 1)), float64(max(p.Four.Runs, 1))
		if p.One.CPU.Postgres > 0 && p.One.CPU.Workers > 0 {
			pg = append(pg, (p.Four.CPU.Postgres/n4)/(p.One.CPU.Postgres/n1))
			wk = append(wk, (p.Four.CPU.Workers/n4)/(p.One.CPU.Workers/n1))
		}
	}
	f.Ratio, f.PostgresRatio, f.WorkersRatio = Round2(Median(ratios)), Round2(Median(pg)), Round2(Median(wk))
	b.say("fleet cost: 4 workers / 1 worker CPU per run %.2f (Postgres %.2f, workers %.2f)", f.Ratio, f.PostgresRatio, f.WorkersRatio)
	return nil
}

// fleetDrain drains FleetRuns runs with the workers that are not stopped.
func (b *bench) fleetDrain(ctx context.Context, k int, phase string) (DrainLevel, error) {
	lvl := DrainLevel{Workers: k}
	if err := b.pauseQueues(true); err != nil {
		return lvl, err
	}
	ids, err := b.backlog(ctx, b.t.main(), phase, b.o.FleetRuns, b.o.PadBytes)
	if err != nil {
		return lvl, err
	}
	before, counted, began := b.cpu.snap(ctx), b.counters(ctx), time.Now()
	if err := b.pauseQueues(false); err != nil {
		return lvl, err
	}
	if err := b.waitRuns(ctx, ids, 120*time.Second); err != nil {
		return lvl, err
	}
	b.measure(ctx, &lvl, before, counted, began, len(ids))
	return lvl, b.tally(ctx, &lvl, ids, phase)
}

// waitIdle waits up to 10 s until no task is being handled.
func (b *bench) waitIdle(ctx context.Context) error {
	opt, err := queue.RedisOpt(b.e.redisURL)
	if err != nil {
		return err
	}
	return waitFor(ctx, 10*time.Second, func() (bool, error) {
		n, err := queue.ActiveTasks(opt)
		return n == 0, err
	})
}

// signal sends sig to each of ps.
func (b *bench) signal(ps []*proc, sig syscall.Signal) {
	for _, p := range ps {
		_ = p.cmd.Process.Signal(sig)
	}
}
