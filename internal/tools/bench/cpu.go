package bench

import (
	"context"
	"os"

	"aias/internal/postgres"
)

// cpuGroups samples the CPU time of every process that serves the load.
type cpuGroups struct {
	ingress func() []int
	workers func() []int
	pg      *postgres.DB // the owner connection; backends are found by database
	dbName  string
	redis   int
}

// cpuSnap is CPU milliseconds by pid, per group.
type cpuSnap map[string]map[int]float64

func (g *cpuGroups) snap(ctx context.Context) cpuSnap {
	s := cpuSnap{"ingress": {}, "workers": {}, "postgres": {}, "redis": {}, "loadgen": {}}
	for _, p := range g.ingress() {
		s["ingress"][p] = cpuMs(p)
	}
	for _, p := range g.workers() {
		s["workers"][p] = cpuMs(p)
	}
	// The programs' backends: the bench's own connections (the owner's,
	// which poll for finished runs) are not AIAS's cost.
	var pids []int
	_ = g.pg.SelectContext(ctx, &pids, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user`, g.dbName)
	for _, p := range pids {
		s["postgres"][p] = cpuMs(p)
	}
	if g.redis > 0 {
		s["redis"][g.redis] = cpuMs(g.redis)
	}
	s["loadgen"][os.Getpid()] = cpuMs(os.Getpid())
	return s
}

// since is the CPU spent from before to now; a process that appeared in
// between counts from zero, one that vanished is lost (pools keep their
// connections, so backends live through a block).
func (now cpuSnap) since(before cpuSnap) CPU {
	d := func(group string) float64 {
		var sum float64
		for pid, ms := range now[group] {
			sum += ms - before[group][pid]
		}
		return Round2(sum)
	}
	return CPU{Ingress: d("ingress"), Workers: d("workers"), Postgres: d("postgres"), Redis: d("redis"), LoadGen: d("loadgen")}
}

// perRun is the CPU of AIAS's processes (the load generator's left out:
// in a drain it only polls) in microseconds per run.
func perRun(c CPU, n int) float64 {
	c.LoadGen = 0
	return perEvent(c, n)
}

// perEvent is CPU microseconds per event.
func perEvent(c CPU, n int) float64 {
	if n == 0 {
		return 0
	}
	return Round2(c.Total() * 1000 / float64(n))
}
