package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// twoSteps is the workflow of the load scenarios: two http calls of ms each.
func twoSteps(ms int) string {
	return fmt.Sprintf(`
name: two-steps-%[1]d
retry: { max_attempts: 5 }
steps:
  - { name: a, type: http, with: { method: POST, url: "{rec}/ok/%[1]d", body: "trigger.body" } }
  - { name: b, type: http, with: { method: POST, url: "{rec}/ok/%[1]d", body: "trigger.body" } }
`, ms)
}

// Scenarios lists the suite in order.
func Scenarios() []Scenario {
	return append([]Scenario{
		{1, "kill -9 a worker under load", "kill -9 one of two workers with its 20 slots busy and a backlog queued; restart it 2 s later",
			"L=0; D ≤ the killed worker's in-flight steps (20); every run succeeded", workerKills(1)},
		{2, "kill -9 workers five times", "scenario 1 five times at random moments within 90 s, alternating workers",
			"L=0; D ≤ 5 × 20; every run succeeded; none left running", workerKills(5)},
		{3, "kill -9 the ingress under load", "kill -9 the ingress; the sender retries unanswered deliveries with the same webhook-id; restart 2 s later",
			"every 2xx has its run; at most one run per delivery id; D=0", ingressKill},
		{4, "kill -9 Redis, back empty after 10 s", "kill -9 the redis-server under load, start it again empty 10 s later",
			"intake keeps answering 202; L=0; backlog done within a minute of Redis returning", redisKill},
		{5, "FLUSHALL with runs queued and delayed", "FLUSHALL on Redis right after a burst of runs whose first step is a delay",
			"L=0; no delayed run continues before its time; every run succeeded", redisFlush},
		{6, "Postgres away for 30 s", "cut every connection to Postgres (the programs' proxy) for 30 s under load",
			"no 2xx without a committed row; 503 with Retry-After within 2 s; no attempt burnt; L=0", postgresOutage},
		{7, "SIGTERM each program in turn", "SIGTERM the ingress, each worker and the scheduler in turn during 3 s steps; restart each",
			"each exits within its deadline; L=0; D ≤ in-flight steps", sigterms},
		{8, "a step that hangs past its timeout", "the target never answers a run's first call; the step timeout is 2 s",
			"the call is cut at 2 s; the run is retried and succeeds; nothing left running", hangingStep},
		{9, "poison step, max attempts 3", "the target always answers 500; retry max_attempts 3; then one re-drive",
			"dead after exactly 3 calls; listed as dead; the re-drive calls exactly once more", poison},
		{10, "a hostile target", "500 then 429 Retry-After: 7; a redirect; a 10 MiB body; 1 byte per second",
			"Retry-After honoured; redirect not followed; stored body capped; step timeout enforced", hostileTarget},
		{11, "one delivery 100 times during a worker kill", "10 delivery ids posted 100 times each, concurrently, while a worker is killed",
			"exactly one run per delivery id; every answer names it; L=0", sameDelivery},
		{12, "two schedulers, leader killed at the tick", "kill -9 the cron leader one second after two successive minute ticks; restart it",
			"exactly one run per workflow and tick; no tick missed", schedulerLeaderKill},
	}, degradedScenarios()...)
}

// steady runs a sender at rate until stop, which waits for every delivery
// in flight to be answered.
func steady(ctx context.Context, l *Load, rate int) (stop func()) {
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.Steady(lctx, rate); close(done) }()
	return func() { cancel(); <-done; l.Wait() }
}

// afterFault is how long the load goes on after a fault ended: long enough
// to see the system take new work, short enough that R measures recovery
// rather than the tail of the load.
const afterFault = 2 * time.Second

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func workerKills(kills int) func(context.Context, *harness) error {
	return func(ctx context.Context, h *harness) error {
		ep, err := h.workflow(ctx, twoSteps(300))
		if err != nil {
			return err
		}
		l := h.newLoad(ep)
		rate := h.quick(60, 40)
		stop := steady(ctx, l, rate)
		t0 := time.Now()
		var at []time.Duration
		for i := range kills {
			if kills == 1 {
				at = append(at, 8*time.Second)
			} else {
				at = append(at, time.Duration(5+i*16+rand.IntN(10))*time.Second) //nolint:gosec // timing, not security
			}
		}
		var faultEnd time.Time
		for i, a := range at {
			sleep(ctx, a-time.Since(t0))
			w := h.sys.workers[i%2]
			open := h.rec.Open()
			w.Kill()
			h.logf("killed %s with %d calls open at the recorder, %d acknowledged so far", w.name, open, l.Count())
			h.notef("kill %d: %d calls open", i+1, open)
			sleep(ctx, 2*time.Second)
			if err := h.sys.restart(ctx, w); err != nil {
				return err
			}
			faultEnd = time.Now()
		}
		if _, err := h.recover(ctx, l, stop, faultEnd, 180*time.Second); err != nil {
			return err
		}
		h.dups("ok", 20*kills)
		return nil
	}
}

func ingressKill(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, twoSteps(50))
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	stop := steady(ctx, l, h.quick(60, 40))
	sleep(ctx, h.quickDur(8, 5))
	h.sys.ingress.Kill()
	h.logf("killed the ingress, %d acknowledged so far", l.Count())
	sleep(ctx, 2*time.Second)
	if err := h.sys.restart(ctx, h.sys.ingress); err != nil {
		return err
	}
	if _, err := h.recover(ctx, l, stop, time.Now(), 120*time.Second); err != nil {
		return err
	}
	dup, err := h.env.duplicateDeliveries(ctx, ep.ID)
	if err != nil {
		return err
	}
	if dup > 0 {
		h.failf("%d delivery ids have more than one run", dup)
	}
	l.mu.Lock()
	h.notef("%d attempts unanswered and retried", l.unanswered)
	l.mu.Unlock()
	h.dups("ok", 0)
	return nil
}

func (h *harness) quickDur(full, quick int) time.Duration {
	return time.Duration(h.quick(full, quick)) * time.Second
}

func redisKill(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, twoSteps(100))
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	stop := steady(ctx, l, 40)
	sleep(ctx, 8*time.Second)
	open := h.rec.Open()
	h.sys.redis.Kill()
	before := l.Count()
	h.logf("killed Redis, %d acknowledged so far", before)
	sleep(ctx, 10*time.Second)
	during := l.Count() - before
	if err := h.sys.restartRedisEmpty(ctx); err != nil {
		return err
	}
	faultEnd := time.Now()
	h.notef("%d deliveries acknowledged while Redis was down", during)
	if during < 100 {
		h.failf("only %d deliveries acknowledged during the 10 s outage", during)
	}
	o, err := h.recover(ctx, l, stop, faultEnd, 120*time.Second)
	if err != nil {
		return err
	}
	if o.Lost == 0 && o.Recovery > time.Minute {
		h.failf("backlog done %s after Redis returned, want within a minute", o.Recovery.Round(time.Second))
	}
	h.dups("ok", int(open)+40)
	return nil
}

func redisFlush(ctx context.Context, h *harness) error {
	wait := h.quickDur(15, 8)
	ep, err := h.workflow(ctx, fmt.Sprintf(`
name: delayed
steps:
  - { name: wait, type: delay, with: { for: %s } }
  - { name: call, type: http, with: { method: POST, url: "{rec}/ok/0", body: "trigger.body" } }
`, wait))
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	n := h.quick(1000, 300)
	burst := make(chan struct{})
	go func() {
		defer close(burst)
		for i := range n {
			l.Go(fmt.Sprintf("flush-%d", i))
		}
		l.Wait()
	}()
	// flush half-way through the burst: the early runs are delayed, the
	// late ones still queued
	for l.Count() < n*2/3 && ctx.Err() == nil {
		sleep(ctx, 10*time.Millisecond)
	}
	var byStatus []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := h.env.owner.SelectContext(ctx, &byStatus, `SELECT status, count(*) AS n FROM runs WHERE endpoint_id = $1 GROUP BY 1 ORDER BY 1`, ep.ID); err != nil {
		return err
	}
	if err := h.sys.flushRedis(ctx); err != nil {
		return err
	}
	faultEnd := time.Now()
	<-burst
	ids := l.Accepted()
	var at []string
	for _, b := range byStatus {
		at = append(at, fmt.Sprintf("%d %s", b.N, b.Status))
	}
	h.logf("FLUSHALL with %s; %d acknowledged in all", strings.Join(at, ", "), len(ids))
	h.notef("at the flush: %s", strings.Join(at, ", "))
	o, err := h.settle(ctx, ids, faultEnd, wait+120*time.Second)
	if err != nil {
		return err
	}
	h.allSucceeded(o)
	var until []struct {
		RunID string    `db:"run_id"`
		Until time.Time `db:"until"`
	}
	if err := h.env.owner.SelectContext(ctx, &until, `SELECT s.run_id::text, (s.output->>'until')::timestamptz AS until
		FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE r.endpoint_id = $1 AND s.name = 'wait'`, ep.ID); err != nil {
		return err
	}
	early := 0
	for _, u := range until {
		calls := h.rec.Calls("ok", u.RunID+":call")
		if len(calls) > 0 && calls[0].Before(u.Until.Add(-50*time.Millisecond)) {
			early++
		}
	}
	if early > 0 {
		h.failf("%d delayed runs called their target before their delay ended", early)
	}
	if len(until) != len(ids) {
		h.failf("%d of %d runs have a recorded delay", len(until), len(ids))
	}
	h.dups("ok", 0)
	return nil
}

func postgresOutage(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, twoSteps(100))
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	stop := steady(ctx, l, 30)
	sleep(ctx, 8*time.Second)
	open := h.rec.Open()
	h.env.pg.Stop()
	h.logf("Postgres cut, %d acknowledged so far", l.Count())
	sleep(ctx, 30*time.Second)
	if err := h.env.pg.Start(); err != nil {
		return err
	}
	o, err := h.recover(ctx, l, stop, time.Now(), 150*time.Second)
	if err != nil {
		return err
	}
	l.mu.Lock()
	n503, slowest, unanswered := l.statuses[503], l.max503, l.unanswered
	l.mu.Unlock()
	h.notef("%d answers 503, slowest %s; %d attempts unanswered; max run attempt %d", n503, slowest.Round(time.Millisecond), unanswered, o.MaxAttempt)
	if n503 == 0 {
		h.failf("no 503 during the outage")
	}
	if slowest > 2*time.Second {
		h.failf("slowest 503 took %s, want within 2 s", slowest)
	}
	if unanswered > 0 {
		h.failf("%d requests got no answer during the outage (a hang or a dropped connection)", unanswered)
	}
	if o.MaxAttempt > 2 {
		h.failf("a run needed %d attempts: the outage burnt attempts", o.MaxAttempt)
	}
	h.dups("ok", int(open)+40)
	return nil
}

func sigterms(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, twoSteps(3000))
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	stop := steady(ctx, l, 8)
	s := h.sys
	type victim struct {
		p     *Proc
		limit time.Duration
	}
	vs := []victim{{s.ingress, 12 * time.Second}, {s.workers[0], 8 * time.Second}, {s.workers[1], 8 * time.Second}, {s.schedulers[0], 8 * time.Second}}
	var faultEnd time.Time
	for _, v := range vs {
		sleep(ctx, 7*time.Second)
		took, err := v.p.Term(v.limit)
		h.notef("%s exited %s after SIGTERM", v.p.name, took.Round(100*time.Millisecond))
		if err != nil {
			h.failf("%v", err)
		}
		if err := s.restart(ctx, v.p); err != nil {
			return err
		}
		faultEnd = time.Now()
	}
	if _, err := h.recover(ctx, l, stop, faultEnd, 150*time.Second); err != nil {
		return err
	}
	h.dups("ok", 40)
	return nil
}

func hangingStep(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, `
name: hang
steps:
  - { name: call, type: http, timeout: 2s, retry: { max_attempts: 3 }, with: { method: POST, url: "{rec}/hang-once", body: "trigger.body" } }
`)
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	for i := range 20 {
		l.Go(fmt.Sprintf("hang-%d", i))
	}
	l.Wait()
	o, err := h.settle(ctx, l.Accepted(), time.Now(), 60*time.Second)
	if err != nil {
		return err
	}
	h.allSucceeded(o)
	held := h.rec.Held("hang-once")
	var longest time.Duration
	for _, d := range held {
		longest = max(longest, d)
	}
	h.notef("%d hanging calls, cut after at most %s", len(held), longest.Round(10*time.Millisecond))
	if len(held) != 20 {
		h.failf("%d hanging calls ended, want 20", len(held))
	}
	if longest > 3*time.Second {
		h.failf("a hanging call was held %s, want its 2 s timeout", longest)
	}
	st := h.rec.Stats("hang-once")
	if st.Calls != 40 {
		h.failf("%d calls for 20 runs, want 40 (one cut, one retry each)", st.Calls)
	}
	h.dups("hang-once", 20) // the retry after a timeout is the step's budget at work, not a duplicate
	return nil
}

func poison(ctx context.Context, h *harness) error {
	ep, err := h.workflow(ctx, `
name: poison
steps:
  - { name: call, type: http, retry: { max_attempts: 3 }, with: { method: POST, url: "{rec}/fail", body: "trigger.body" } }
`)
	if err != nil {
		return err
	}
	l := h.newLoad(ep)
	n := h.quick(30, 10)
	for i := range n {
		l.Go(fmt.Sprintf("poison-%d", i))
	}
	l.Wait()
	ids := l.Accepted()
	o, err := h.settle(ctx, ids, time.Now(), 60*time.Second)
	if err != nil {
		return err
	}
	if o.Statuses["dead"] != len(ids) {
		h.failf("statuses %v, want all %d dead", o.Statuses, len(ids))
	}
	h.callsPerRun(ids, 3)
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := h.sys.callJSON(ctx, "GET", "/api/v1/runs?status=dead&limit=100", h.t.Key, nil, 200, &page); err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, r := range page.Data {
		listed[r.ID] = true
	}
	for _, id := range ids {
		if !listed[id] {
			h.failf("dead run %s is not listed by ?status=dead", id)
			break
		}
	}
	for _, id := range ids {
		if err := h.sys.callJSON(ctx, "POST", "/api/v1/runs/"+id+"/redrive", h.t.Key, map[string]any{}, 202, nil); err != nil {
			return err
		}
	}
	redriven := time.Now()
	sleep(ctx, 500*time.Millisecond)
	o, err = h.env.settle(ctx, ids, redriven, 60*time.Second)
	if err != nil {
		return err
	}
	if o.Statuses["dead"] != len(ids) {
		h.failf("after re-drive: %v, want all %d dead again", o.Statuses, len(ids))
	}
	h.callsPerRun(ids, 4)
	h.dups("fail", 3*len(ids)) // the budget's retries and the re-drive are prescribed, not duplicates
	return nil
}

// callsPerRun checks that the recorder saw each run's step exactly want times.
func (h *harness) callsPerRun(ids []string, want int) {
	bad := 0
	for _, id := range ids {
		if got := len(h.rec.Calls("fail", id+":call")); got != want {
			if bad == 0 {
				h.failf("run %s: %d calls, want %d", id, got, want)
			}
			bad++
		}
	}
	if bad > 1 {
		h.failf("%d runs in all with a call count other than %d", bad, want)
	}
}
