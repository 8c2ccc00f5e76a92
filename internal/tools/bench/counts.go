package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// counters are the event counts a phase is explained by, read before and
// after it: Postgres's statistics of the bench's database (transactions,
// buffer hits, rows read), the server's multixact pages, and Redis's
// commands by name (server-wide: other users of the server count too).
type counters map[string]float64

func (b *bench) counters(ctx context.Context) counters {
	c := counters{}
	var db struct {
		Commit   float64 `db:"xact_commit"`
		Rollback float64 `db:"xact_rollback"`
		Hit      float64 `db:"blks_hit"`
		Returned float64 `db:"tup_returned"`
		Fetched  float64 `db:"tup_fetched"`
	}
	if b.e.owner.GetContext(ctx, &db, `SELECT xact_commit, xact_rollback, blks_hit, tup_returned, tup_fetched
		FROM pg_stat_database WHERE datname = $1`, b.e.dbName) == nil {
		c["pg.xact_commit"], c["pg.xact_rollback"], c["pg.blks_hit"] = db.Commit, db.Rollback, db.Hit
		c["pg.tup_returned"], c["pg.tup_fetched"] = db.Returned, db.Fetched
	}
	var multi float64
	if b.e.owner.GetContext(ctx, &multi, `SELECT coalesce(sum(blks_hit + blks_read), 0) FROM pg_stat_slru WHERE name LIKE 'Multi%'`) == nil {
		c["pg.multixact_pages"] = multi
	}
	// Context switches (voluntary and not) of the workers and of the
	// programs' Postgres backends: each is a process put to sleep or
	// preempted, which is what a run costs more of when the same work is
	// spread over more processes.
	for _, pid := range b.cpu.workers() {
		c["ctxsw.workers"] += ctxSwitches(pid)
	}
	var pids []int
	_ = b.e.owner.SelectContext(ctx, &pids, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user`, b.e.dbName)
	for _, pid := range pids {
		c["ctxsw.postgres"] += ctxSwitches(pid)
	}
	info, err := b.e.rdb.Info(ctx, "commandstats").Result()
	if err == nil {
		for _, line := range strings.Split(info, "\n") {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok || !strings.HasPrefix(name, "cmdstat_") {
				continue
			}
			for _, kv := range strings.Split(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					n, _ := strconv.ParseFloat(v, 64)
					c["redis."+strings.TrimPrefix(name, "cmdstat_")] = n
					c["redis.calls"] += n
				}
			}
		}
	}
	return c
}

// ctxSwitches is the voluntary and involuntary context switches of pid's
// threads so far (0 if it is gone; a thread that ended is not counted).
func ctxSwitches(pid int) float64 {
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n float64
	for _, p := range paths {
		b, err := os.ReadFile(p) //nolint:gosec // /proc/<pid>/task/<tid>/status, from a fixed pattern
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			name, v, ok := strings.Cut(line, ":")
			if ok && (name == "voluntary_ctxt_switches" || name == "nonvoluntary_ctxt_switches") {
				x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				n += x
			}
		}
	}
	return n
}

// perRun is the count of each counter from before to now, per run
// (counters that did not move are left out).
func (now counters) perRun(before counters, runs int) map[string]float64 {
	out := map[string]float64{}
	if runs <= 0 {
		return out
	}
	for k, v := range now {
		if d := v - before[k]; d > 0 {
			out[k] = Round2(d / float64(runs))
		}
	}
	return out
}

// waitSampler samples what the bench database's backends wait on, every
// 20 ms, until stopped: "active" and "active:<wait event>" counts.
type waitSampler struct {
	mu     sync.Mutex
	counts map[string]float64
	stop   chan struct{}
	done   chan struct{}
}

func (b *bench) sampleWaits(ctx context.Context) *waitSampler {
	w := &waitSampler{counts: map[string]float64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			var rows []struct {
				Type  string `db:"t"`
				Event string `db:"e"`
			}
			if b.e.owner.SelectContext(ctx, &rows, `SELECT coalesce(wait_event_type, 'CPU') AS t, coalesce(wait_event, '') AS e
				FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`, b.e.dbName) != nil {
				continue
			}
			w.mu.Lock()
			w.counts["samples"]++
			for _, r := range rows {
				w.counts[r.Type+":"+r.Event]++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// end stops sampling and returns the average number of backends in each
// state per sample.
func (w *waitSampler) end() map[string]float64 {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]float64{}
	n := w.counts["samples"]
	for k, v := range w.counts {
		if k != "samples" && n > 0 {
			out[k] = Round2(v / n)
		}
	}
	return out
}
