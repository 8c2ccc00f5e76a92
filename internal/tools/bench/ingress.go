package bench

import (
	"context"
	"fmt"
	"time"

	"aias/internal/postgres"
	"aias/internal/tools/bench/floor"
)

// block turns a tally into a Block with its CPU.
func block(route string, rate float64, t tally, cpu CPU) Block {
	ids, lat := t.accepted()
	b := Block{Route: route, Rate: Round2(rate), Accepted: len(ids), PerSec: Round2(Rate(len(ids), t.span)), CPU: cpu,
		CPUusPerOK: perEvent(cpu, len(ids))}
	b.P50Ms, b.P99Ms, b.P999Ms = Ms(Percentile(lat, 0.5)), Ms(Percentile(lat, 0.99)), Ms(Percentile(lat, 0.999))
	return b
}

// record checks the durability of a block's accepted requests and adds its
// ledger. It returns how many of the stored rows one transaction committed
// on average (rows written by one transaction share its xmin); this holds
// only while nothing has updated them since, that is, in the ingress phases.
func (b *bench) record(ctx context.Context, phase, route string, t tally) (rowsPerCommit float64, err error) {
	l := t.ledger(phase + " " + route)
	ids, _ := t.accepted()
	table := "runs"
	if route == "floor" {
		table = "bench_floor_runs"
	}
	var n struct {
		Rows    int `db:"rows"`
		Commits int `db:"commits"`
	}
	err = b.e.owner.GetContext(ctx, &n, fmt.Sprintf(`SELECT count(*) AS rows, count(DISTINCT xmin::text) AS commits FROM %s WHERE id = ANY($1::uuid[])`, table),
		postgres.StringArray(ids))
	if err != nil {
		return 0, err
	}
	l.Stored = n.Rows
	b.r.Ledgers = append(b.r.Ledgers, l)
	if n.Commits == 0 {
		return 0, nil
	}
	return Round2(float64(n.Rows) / float64(n.Commits)), nil
}

// senders for both routes, with delivery ids unique to the phase.
func (b *bench) senders(phase string) (fl, real *sender, err error) {
	if fl, err = newSender(b.floorURL(), floor.Secret, phase+"-floor", b.o.PadBytes); err != nil {
		return nil, nil, err
	}
	real, err = newSender(b.t.URL, b.t.Secret, phase+"-real", b.o.PadBytes)
	return fl, real, err
}

// ingressMax: closed loop, floor and real interleaved, ratio of medians of pairs.
func (b *bench) ingressMax(ctx context.Context) error {
	floor, real, err := b.senders("max")
	if err != nil {
		return err
	}
	b.say("ingress max: warm-up (discarded)")
	closedLoop(ctx, floor, b.o.Conns, time.Second)
	closedLoop(ctx, real, b.o.Conns, time.Second)
	var fl, rl, rc []float64
	m := &b.r.IngressMax
	for i := range b.o.Pairs {
		for _, s := range []*sender{floor, real} {
			route := routeOf(s, floor)
			before := b.cpu.snap(ctx)
			t := closedLoop(ctx, s, b.o.Conns, b.o.Block)
			blk := block(route, 0, t, b.cpu.snap(ctx).since(before))
			blk.Rate = blk.PerSec
			if blk.RowsPerCommit, err = b.record(ctx, "ingress max", route, t); err != nil {
				return err
			}
			m.Blocks = append(m.Blocks, blk)
			if route == "floor" {
				fl = append(fl, blk.PerSec)
			} else {
				rl, rc = append(rl, blk.PerSec), append(rc, blk.RowsPerCommit)
			}
			b.say("ingress max pair %d/%d %s: %.0f accepted/s, p99 %.1f ms, %.2f runs per commit", i+1, b.o.Pairs, route, blk.PerSec, blk.P99Ms, blk.RowsPerCommit)
		}
	}
	m.FloorMax, m.RealMax, m.Ratio = Round2(Median(fl)), Round2(Median(rl)), Round2(MedianRatio(rl, fl))
	m.RealRowsPerCommit = Round2(Median(rc))
	b.say("ingress max: floor %.0f/s, real %.0f/s, ratio %.2f", m.FloorMax, m.RealMax, m.Ratio)
	return nil
}

func routeOf(s, floor *sender) string {
	if s == floor {
		return "floor"
	}
	return "real"
}

// ingressLatency: open loop at half the floor's max, interleaved.
func (b *bench) ingressLatency(ctx context.Context) error {
	floor, real, err := b.senders("lat")
	if err != nil {
		return err
	}
	rate := max(int(b.r.IngressMax.FloorMax/2), 10)
	l := &b.r.IngressLatency
	l.Rate = rate
	b.say("ingress latency: open loop at %d/s, warm-up (discarded)", rate)
	openLoop(floor, rate, time.Second)
	openLoop(real, rate, time.Second)
	var fp, rp, fc, rc []float64
	var fBlocks, rBlocks []Block
	for i := range b.o.Pairs {
		for _, s := range []*sender{floor, real} {
			route := routeOf(s, floor)
			before := b.cpu.snap(ctx)
			t := openLoop(s, rate, b.o.Block)
			blk := block(route, float64(rate), t, b.cpu.snap(ctx).since(before))
			if blk.RowsPerCommit, err = b.record(ctx, "ingress latency", route, t); err != nil {
				return err
			}
			l.Blocks = append(l.Blocks, blk)
			if route == "floor" {
				fp, fc, fBlocks = append(fp, blk.P99Ms), append(fc, blk.CPUusPerOK), append(fBlocks, blk)
			} else {
				rp, rc, rBlocks = append(rp, blk.P99Ms), append(rc, blk.CPUusPerOK), append(rBlocks, blk)
			}
			b.say("ingress latency pair %d/%d %s: p50 %.1f p99 %.1f p999 %.1f ms, %.0f CPU µs/req, %.2f runs per commit, %d non-202",
				i+1, b.o.Pairs, route, blk.P50Ms, blk.P99Ms, blk.P999Ms, blk.CPUusPerOK, blk.RowsPerCommit, len(t.outcomes)-blk.Accepted)
		}
	}
	l.P99Ratio, l.CPURatio = Round2(MedianRatio(rp, fp)), Round2(MedianRatio(rc, fc))
	l.Floor, l.Real = medianBlock(fBlocks), medianBlock(rBlocks)
	b.say("ingress latency: p99 ratio %.2f, CPU ratio %.2f", l.P99Ratio, l.CPURatio)
	return b.quiesce(ctx)
}

// medianBlock is the per-figure median of blocks of one route.
func medianBlock(bs []Block) Block {
	pick := func(f func(Block) float64) float64 {
		var xs []float64
		for _, b := range bs {
			xs = append(xs, f(b))
		}
		return Round2(Median(xs))
	}
	if len(bs) == 0 {
		return Block{}
	}
	return Block{Route: bs[0].Route, Rate: bs[0].Rate,
		PerSec: pick(func(b Block) float64 { return b.PerSec }), P50Ms: pick(func(b Block) float64 { return b.P50Ms }),
		P99Ms: pick(func(b Block) float64 { return b.P99Ms }), P999Ms: pick(func(b Block) float64 { return b.P999Ms }),
		CPUusPerOK: pick(func(b Block) float64 { return b.CPUusPerOK }), RowsPerCommit: pick(func(b Block) float64 { return b.RowsPerCommit })}
}

// quiesce ends the ingress phases: their runs are canceled (they measured
// the intake, not execution) and the queue is emptied, so the phases that
// follow start from nothing.
func (b *bench) quiesce(ctx context.Context) error {
	if _, err := b.e.owner.ExecContext(ctx,
		`UPDATE runs SET status = 'canceled', finished_at = now(), updated_at = now() WHERE status IN ('queued', 'held')`); err != nil {
		return err
	}
	return b.e.resetQueue(ctx)
}
