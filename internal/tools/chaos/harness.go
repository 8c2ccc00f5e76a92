package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Result is one scenario's row.
type Result struct {
	N        int
	Name     string
	Accepted int           // runs acknowledged (or started) in the scenario
	L        int           // lost: missing or not terminal after recovery
	D        int           // duplicate side effects
	DBound   int           // the most D may be
	R        time.Duration // end of the fault → every run terminal
	Took     time.Duration
	Notes    []string // measured figures worth a line
	Failures []string
}

// Pass reports whether every check held.
func (r Result) Pass() bool { return len(r.Failures) == 0 }

// Scenario is one fault and what must hold.
type Scenario struct {
	N        int
	Name     string
	Fault    string
	MustHold string
	run      func(ctx context.Context, h *harness) error
}

// harness is what a scenario works with.
type harness struct {
	env  *Env
	sys  *System
	rec  *Recorder
	t    Tenant
	res  *Result
	opt  Options
	load []*Load
}

func (h *harness) failf(format string, args ...any) {
	h.res.Failures = append(h.res.Failures, fmt.Sprintf(format, args...))
}

func (h *harness) notef(format string, args ...any) {
	h.res.Notes = append(h.res.Notes, fmt.Sprintf(format, args...))
}

func (h *harness) logf(format string, args ...any) {
	h.env.logf("[%d] "+format, append([]any{h.res.N}, args...)...)
}

// quick picks the smaller figure in the make-test subset.
func (h *harness) quick(full, quick int) int {
	if h.opt.Quick {
		return quick
	}
	return full
}

// newLoad makes a sender for an endpoint and remembers it for the final checks.
func (h *harness) newLoad(ep Endpoint) *Load {
	l := newLoad(ep, fmt.Sprintf("s%d-%d", h.res.N, len(h.load)))
	h.load = append(h.load, l)
	return l
}

// workflow saves a definition whose {rec} is the recorder's base URL.
func (h *harness) workflow(ctx context.Context, yaml string) (Endpoint, error) {
	return h.sys.Workflow(ctx, h.t, strings.ReplaceAll(yaml, "{rec}", h.rec.base))
}

// settle waits for the runs, fills L and R, and fails on lost runs.
func (h *harness) settle(ctx context.Context, ids []string, faultEnd time.Time, limit time.Duration) (Outcome, error) {
	o, err := h.env.settle(ctx, ids, faultEnd, limit)
	if err != nil {
		return o, err
	}
	h.res.Accepted += len(ids)
	h.res.L += o.Lost
	h.res.R = max(h.res.R, o.Recovery)
	if o.Lost > 0 {
		h.failf("L=%d: %d acknowledged runs missing, %d not terminal after %s (%v)", o.Lost, o.Missing, o.Lost-o.Missing, limit, o.Statuses)
	}
	return o, nil
}

// recover lets the load run on for afterFault past the fault's end, stops
// it, and waits up to limit for the run of every acknowledged delivery to
// end (settle: none missing, none unfinished), each of which must have
// succeeded.
func (h *harness) recover(ctx context.Context, l *Load, stop func(), faultEnd time.Time, limit time.Duration) (Outcome, error) {
	sleep(ctx, afterFault)
	stop()
	o, err := h.settle(ctx, l.Accepted(), faultEnd, limit)
	if err != nil {
		return o, err
	}
	h.allSucceeded(o)
	return o, nil
}

// allSucceeded fails unless every run ended succeeded.
func (h *harness) allSucceeded(o Outcome) {
	for st, n := range o.Statuses {
		if st != "succeeded" {
			h.failf("%d runs ended %s, want succeeded", n, st)
		}
	}
}

// dups adds the recorder's duplicates of kind to D and checks the bound.
func (h *harness) dups(kind string, bound int) {
	st := h.rec.Stats(kind)
	h.res.D += st.Duplicates
	h.res.DBound += bound
	if st.Duplicates > bound {
		h.failf("D=%d duplicate %s calls, bound %d", st.Duplicates, kind, bound)
	}
}

// Run runs the scenarios (all when only is empty) and returns their rows.
func Run(ctx context.Context, opt Options, only []int) ([]Result, error) {
	env, err := NewEnv(ctx, opt)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	rec, err := NewRecorder()
	if err != nil {
		return nil, err
	}
	defer rec.Close()
	var out []Result
	for _, sc := range Scenarios() {
		if len(only) > 0 && !contains(only, sc.N) {
			continue
		}
		r := env.runScenario(ctx, sc, rec)
		out = append(out, r)
		env.logf("%s", r.Row())
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// runScenario gives a scenario a fresh Redis, fresh programs and a fresh
// tenant on the suite's database, runs it and applies the common checks.
func (e *Env) runScenario(ctx context.Context, sc Scenario, rec *Recorder) (out Result) {
	t0 := time.Now()
	res := &Result{N: sc.N, Name: sc.Name}
	e.logf("[%d] %s", sc.N, sc.Name)
	rec.Reset()
	schedulers := 1
	if sc.N == 12 {
		schedulers = 2
	}
	sys, err := e.StartSystem(ctx, fmt.Sprintf("s%02d", sc.N), schedulers, nil)
	if err != nil {
		res.Failures = append(res.Failures, "start: "+err.Error())
		return *res
	}
	h := &harness{env: e, sys: sys, rec: rec, res: res, opt: e.opt}
	defer func() {
		sys.Stop()
		for _, p := range sys.panics() {
			h.failf("panic in log: %s", p)
		}
		res.Took = time.Since(t0)
		out = *res
	}()
	if h.t, err = sys.Signup(ctx, fmt.Sprintf("chaos%d-%d", sc.N, time.Now().UnixNano())); err != nil {
		h.failf("signup: %v", err)
		return
	}
	baseG := gauges(sys)
	if err := sc.run(ctx, h); err != nil {
		h.failf("%v", err)
	}
	for _, l := range h.load {
		for _, p := range l.problems() {
			h.failf("sender: %s", p)
		}
	}
	h.checkGauges(baseG)
	return
}

// gauges reads goroutines and resident memory of every program.
func gauges(s *System) map[string][2]float64 {
	out := map[string][2]float64{}
	for _, p := range s.programs() {
		out[p.name] = [2]float64{p.gauge("go_goroutines"), p.gauge("process_resident_memory_bytes")}
	}
	return out
}

// checkGauges compares goroutines and memory after recovery with the
// baseline taken before the load: they must be back near it.
func (h *harness) checkGauges(base map[string][2]float64) {
	for _, l := range h.load {
		l.http.CloseIdleConnections() // the sender's keep-alive connections are not the server's goroutines
	}
	time.Sleep(2 * time.Second) // let closed connections and timers wind down
	now := gauges(h.sys)
	var worst []string
	for _, p := range h.sys.programs() {
		name := p.name
		b, okb := base[name]
		n, ok := now[name]
		ok = ok && okb
		if !ok || b[0] < 0 || n[0] < 0 {
			continue // restarted or without an ops listener: no comparable baseline
		}
		worst = append(worst, fmt.Sprintf("%s %.0f→%.0f", name, b[0], n[0]))
		if n[0] > b[0]*2+100 {
			h.failf("%s goroutines %.0f after recovery, baseline %.0f", name, n[0], b[0])
		}
		if b[1] > 0 && n[1] > b[1]*3+256<<20 {
			h.failf("%s resident memory %.0f MiB after recovery, baseline %.0f MiB", name, n[1]/(1<<20), b[1]/(1<<20))
		}
	}
	if len(worst) > 0 {
		h.notef("goroutines %s", strings.Join(worst, ", "))
	}
}
