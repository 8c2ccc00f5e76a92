package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

func hostileTarget(ctx context.Context, h *harness) error {
	type target struct {
		name, yaml, want string
	}
	targets := []target{
		{"seq", `{ name: call, type: http, retry: { max_attempts: 4 }, with: { method: POST, url: "{rec}/seq", body: "trigger.body" } }`, "succeeded"},
		{"redir", `{ name: call, type: http, with: { method: POST, url: "{rec}/redir", body: "trigger.body" } }`, "failed"},
		{"big", `{ name: call, type: http, with: { method: GET, url: "{rec}/big" } }`, "succeeded"},
		{"drip", `{ name: call, type: http, timeout: 3s, retry: { max_attempts: 1 }, with: { method: GET, url: "{rec}/drip" } }`, "dead"},
	}
	runs := map[string]string{}
	t0 := time.Now()
	for _, tg := range targets {
		ep, err := h.workflow(ctx, fmt.Sprintf("name: hostile-%s\nsteps:\n  - %s\n", tg.name, tg.yaml))
		if err != nil {
			return err
		}
		l := h.newLoad(ep)
		l.Post("hostile-" + tg.name)
		ids := l.Accepted()
		if len(ids) != 1 {
			return fmt.Errorf("%s: delivery not acknowledged", tg.name)
		}
		runs[tg.name] = ids[0]
	}
	for _, tg := range targets {
		o, err := h.settle(ctx, []string{runs[tg.name]}, t0, 60*time.Second)
		if err != nil {
			return err
		}
		if o.Statuses[tg.want] != 1 {
			h.failf("%s: run ended %v, want %s", tg.name, o.Statuses, tg.want)
		}
	}
	calls := h.rec.Calls("seq", runs["seq"]+":call")
	if len(calls) != 3 {
		h.failf("seq: %d calls, want 3 (500, 429, 200)", len(calls))
	} else {
		gap := calls[2].Sub(calls[1])
		h.notef("wait after 429 Retry-After: 7 was %s", gap.Round(100*time.Millisecond))
		if gap < 7*time.Second {
			h.failf("seq: retried %s after a 429 with Retry-After: 7", gap)
		}
	}
	if n := h.rec.Stats("redirected").Calls; n > 0 {
		h.failf("redir: the redirect was followed %d times", n)
	}
	var out json.RawMessage
	if err := h.env.owner.GetContext(ctx, &out, `SELECT output FROM run_steps WHERE run_id = $1 AND name = 'call'`, runs["big"]); err != nil {
		return fmt.Errorf("big: %w", err)
	}
	var big struct {
		Truncated bool `json:"truncated"`
		Bytes     int  `json:"bytes"`
	}
	_ = json.Unmarshal(out, &big)
	h.notef("10 MiB body: stored output %d KiB, %d bytes read, truncated %v", len(out)>>10, big.Bytes, big.Truncated)
	if !big.Truncated || big.Bytes > 1<<20 || len(out) > 300<<10 {
		h.failf("big: output of %d bytes (read %d, truncated %v), want capped", len(out), big.Bytes, big.Truncated)
	}
	held := h.rec.Held("drip")
	if len(held) != 1 || held[0] > 4500*time.Millisecond {
		h.failf("drip: held %v, want cut after the 3 s timeout", held)
	} else {
		h.notef("1 byte/s target cut after %s", held[0].Round(100*time.Millisecond))
	}
	h.dups("seq", 2) // seq's two prescribed retries
	return nil
}

func sameDelivery(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, twoSteps(300))
	if err != nil {
		return err
	}
	bg := h.newLoad(ep) // keeps the workers busy so the kill cuts steps
	stop := steady(ctx, bg, 30)
	sleep(ctx, 3*time.Second)
	l := h.newLoad(ep)
	ids := 10
	for i := range ids {
		for range 100 {
			l.Go(fmt.Sprintf("same-%d", i))
		}
	}
	sleep(ctx, 300*time.Millisecond)
	h.sys.workers[0].Kill()
	l.Wait()
	sleep(ctx, time.Second)
	if err := h.sys.restart(ctx, h.sys.workers[0]); err != nil {
		return err
	}
	faultEnd := time.Now()
	sleep(ctx, afterFault)
	stop()
	var n int
	if err := h.env.owner.GetContext(ctx, &n, `SELECT count(*) FROM runs WHERE endpoint_id = $1 AND delivery_id LIKE 'same-%'`, ep.ID); err != nil {
		return err
	}
	if n != ids {
		h.failf("%d runs for %d delivery ids, want exactly one each", n, ids)
	}
	l.mu.Lock()
	h.notef("1000 posts of %d delivery ids: %d answered 202, %d answered 200 naming the same run", ids, l.statuses[202], l.statuses[200])
	l.mu.Unlock()
	if _, err := h.settle(ctx, append(l.Accepted(), bg.Accepted()...), faultEnd, 180*time.Second); err != nil {
		return err
	}
	h.dups("ok", 20)
	return nil
}

func schedulerLeaderKill(ctx context.Context, h *harness) error {
	const workflows = 10
	var wfs []string
	for i := range workflows {
		id, err := h.sys.ScheduledWorkflow(ctx, h.t, fmt.Sprintf(`
name: tick-%d
schedule: { cron: "* * * * *" }
steps:
  - { name: call, type: http, with: { method: POST, url: "%s/ok/0", body: "trigger.body" } }
`, i, h.rec.base))
		if err != nil {
			return err
		}
		wfs = append(wfs, id)
	}
	created := time.Now()
	// the first kill lands just before a tick, so the other replica must take
	// the lease over to start it; the second lands while the tick is handled
	for _, offset := range []time.Duration{-time.Second, 200 * time.Millisecond} {
		tick := time.Now().Truncate(time.Minute).Add(time.Minute)
		if time.Until(tick) < 3*time.Second {
			tick = tick.Add(time.Minute)
		}
		sleep(ctx, time.Until(tick.Add(offset)))
		leader := h.leader()
		if leader == nil {
			h.failf("no scheduler reports aias_scheduler_leader 1 before the %s tick", tick.Format("15:04"))
			continue
		}
		leader.Kill()
		killed := time.Now()
		h.logf("killed the cron leader %s %s from the %s tick", leader.name, offset, tick.Format("15:04"))
		sleep(ctx, 2*time.Second)
		if err := h.sys.restart(ctx, leader); err != nil {
			return err
		}
		took, err := h.tickDone(ctx, tick, workflows)
		if err != nil {
			return err
		}
		h.notef("kill %s from a tick: its %d runs terminal %s after the kill", offset, workflows, took(killed).Round(100*time.Millisecond))
		h.res.R = max(h.res.R, took(killed))
	}
	// one more tick with both alive, then count
	end := time.Now().Truncate(time.Minute).Add(time.Minute)
	sleep(ctx, time.Until(end.Add(5*time.Second)))
	var rows []struct {
		WorkflowID string `db:"workflow_id"`
		Tick       string `db:"tick"`
		ID         string `db:"id"`
	}
	if err := h.env.owner.SelectContext(ctx, &rows, `SELECT workflow_id::text, id::text,
		convert_from(body, 'UTF8')::jsonb->>'scheduled_at' AS tick FROM runs WHERE tenant_id = $1 AND trigger_kind = 'schedule'`, h.t.ID); err != nil {
		return err
	}
	perTick := map[string]map[int64]int{}
	var ids []string
	for _, r := range rows {
		ts, err := time.Parse(time.RFC3339, r.Tick)
		if err != nil {
			h.failf("run %s: scheduled_at %q", r.ID, r.Tick)
			continue
		}
		if perTick[r.WorkflowID] == nil {
			perTick[r.WorkflowID] = map[int64]int{}
		}
		perTick[r.WorkflowID][ts.Unix()]++
		ids = append(ids, r.ID)
	}
	var ticks []int64
	for m := created.Truncate(time.Minute).Add(time.Minute); !m.After(end); m = m.Add(time.Minute) {
		ticks = append(ticks, m.Unix())
	}
	missing, extra := 0, 0
	for _, wf := range wfs {
		for _, tk := range ticks {
			switch n := perTick[wf][tk]; {
			case n == 0:
				missing++
			case n > 1:
				extra += n - 1
			}
		}
		if len(perTick[wf]) > len(ticks) {
			extra += len(perTick[wf]) - len(ticks)
		}
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i] < ticks[j] })
	h.notef("%d workflows × %d ticks: %d runs", workflows, len(ticks), len(rows))
	if missing > 0 {
		h.failf("%d (workflow, tick) pairs without a run", missing)
	}
	if extra > 0 {
		h.failf("%d runs beyond one per (workflow, tick)", extra)
	}
	r := h.res.R
	if _, err := h.settle(ctx, ids, time.Now(), 60*time.Second); err != nil {
		return err
	}
	h.res.R = r // R is the failover's, measured above
	h.dups("ok", 0)
	return nil
}

// leader is the scheduler whose gauge says it holds the cron lease.
func (h *harness) leader() *Proc {
	for _, p := range h.sys.schedulers {
		if p.gauge("aias_scheduler_leader") == 1 {
			return p
		}
	}
	return nil
}

// tickDone waits until n runs of the tick exist and are terminal, and returns
// a function giving the time from a moment until then.
func (h *harness) tickDone(ctx context.Context, tick time.Time, n int) (func(time.Time) time.Duration, error) {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var done int
		err := h.env.owner.GetContext(ctx, &done, `SELECT count(*) FROM runs WHERE tenant_id = $1 AND trigger_kind = 'schedule'
			AND status IN ('succeeded', 'failed', 'dead', 'canceled')
			AND (convert_from(body, 'UTF8')::jsonb->>'scheduled_at')::timestamptz = $2`, h.t.ID, tick)
		if err != nil {
			return nil, err
		}
		if done >= n {
			at := time.Now()
			return func(from time.Time) time.Duration { return at.Sub(from) }, nil
		}
		sleep(ctx, 100*time.Millisecond)
	}
	h.failf("the %s tick's runs were not all terminal 90 s later", tick.Format("15:04"))
	return func(time.Time) time.Duration { return 0 }, nil
}
