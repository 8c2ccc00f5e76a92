package bench

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestLedgerBalances(t *testing.T) {
	t.Parallel()
	l := Ledger{Phase: "e2e", Sent: 10, Accepted: 7, Rejected: 2, Errors: 1, Stored: 7,
		Executes: true, Runs: 7, Completed: 5, Failed: 1, Running: 1}
	if p := l.Problems(); len(p) != 0 {
		t.Fatalf("Problems() = %q, want none", p)
	}
	if v := Void([]Ledger{l, {Phase: "http only", Sent: 3, Accepted: 3, Stored: 3}}); len(v) != 0 {
		t.Fatalf("Void() = %q, want none", v)
	}
}

func TestLedgerVoid(t *testing.T) {
	t.Parallel()
	ok := Ledger{Phase: "p", Sent: 4, Accepted: 4, Stored: 4, Executes: true, Runs: 4, Completed: 4}
	cases := map[string]func(*Ledger){
		"a request without an outcome":        func(l *Ledger) { l.Sent = 5 },
		"an accepted request without its row": func(l *Ledger) { l.Stored = 3 },
		"a run that vanished":                 func(l *Ledger) { l.Completed = 3 },
		"a run counted twice":                 func(l *Ledger) { l.Running = 1 },
	}
	for name, mutate := range cases {
		l := ok
		mutate(&l)
		v := Void([]Ledger{ok, l})
		if len(v) != 1 || !strings.HasPrefix(v[0], "p: ") {
			t.Errorf("%s: Void() = %q, want one problem of phase p", name, v)
		}
		if l.Balanced() {
			t.Errorf("%s: Balanced() = true, want false", name)
		}
	}
	// Runs are not checked where the phase executes none.
	l := ok
	l.Executes, l.Completed = false, 0
	if !l.Balanced() {
		t.Errorf("Balanced() of an intake-only ledger = false, want true: %q", l.Problems())
	}
}

func TestMedianAndRatios(t *testing.T) {
	t.Parallel()
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("Median(3,1,2) = %v, want 2", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("Median(4,1,3,2) = %v, want 2.5", got)
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
	// Pair by pair: a drifting machine (floor 100, 200, 400) still shows 0.5.
	real, floor := []float64{50, 100, 200}, []float64{100, 200, 400}
	if got := MedianRatio(real, floor); got != 0.5 {
		t.Errorf("MedianRatio = %v, want 0.5", got)
	}
	// One outlier pair moves the median, not the mean.
	if got := MedianRatio([]float64{50, 900, 200}, floor); got != 0.5 {
		t.Errorf("MedianRatio with an outlier = %v, want 0.5", got)
	}
	if got := PairRatios([]float64{1, 2}, []float64{0, 4}); len(got) != 1 || got[0] != 0.5 {
		t.Errorf("PairRatios with a zero floor = %v, want [0.5]", got)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1000; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, time.Second}} {
		if got := Percentile(ds, c.q); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
}

// A server that stalls makes every later request wait; latency counted from
// the schedule shows it, latency from the actual send would hide it.
func TestOpenLoopLatencyFromSchedule(t *testing.T) {
	t.Parallel()
	began := time.Unix(1000, 0)
	interval := 10 * time.Millisecond
	var rs []*vegeta.Result
	// seq 0 on time, 5 ms; seqs 1..3 sent late (the generator was held up
	// 100 ms), each 5 ms once sent; seq 4 never answered.
	rs = append(rs, &vegeta.Result{Seq: 0, Code: 202, Timestamp: began, Latency: 5 * time.Millisecond, Body: []byte(`{"run_id":"a"}`)})
	for s := uint64(1); s <= 3; s++ {
		rs = append(rs, &vegeta.Result{Seq: s, Code: 202, Timestamp: began.Add(100 * time.Millisecond), Latency: 5 * time.Millisecond,
			Body: []byte(`{"run_id":"r"}`)})
	}
	rs = append(rs, &vegeta.Result{Seq: 4, Code: 0, Error: "timeout", Timestamp: began.Add(40 * time.Millisecond), Latency: time.Second})
	tl := fromResults(rs, interval, 5)
	want := []time.Duration{5, 95, 85, 75}
	for i, w := range want {
		if got := tl.outcomes[i].latency; got != w*time.Millisecond {
			t.Errorf("seq %d latency = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	l := tl.ledger("open")
	if l.Sent != 5 || l.Accepted != 4 || l.Errors != 1 || l.Rejected != 0 {
		t.Errorf("ledger = %+v, want 5 sent, 4 accepted, 1 error", l)
	}
}

func TestClosedLoopOutcomes(t *testing.T) {
	t.Parallel()
	tl := tally{sent: 4, outcomes: []outcome{{code: http.StatusAccepted, runID: "a"}, {code: http.StatusAccepted}, {code: 503}, {code: 0}}}
	l := tl.ledger("x")
	// A 202 without a run id is not an acceptance the bench can check.
	if l.Accepted != 1 || l.Rejected != 2 || l.Errors != 1 || l.Problems() == nil {
		t.Errorf("ledger = %+v, want 1 accepted, 2 rejected, 1 error and stored missing", l)
	}
}

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// pid (comm with spaces) state ppid ... utime=150 stime=50 (fields 14, 15)
	line := []byte("42 (postgres: a b) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 100 0 0")
	if got := parseStatCPU(line); got != 2000 {
		t.Errorf("parseStatCPU = %v ms, want 2000", got)
	}
	if got := parseStatCPU([]byte("garbage")); got != 0 {
		t.Errorf("parseStatCPU(garbage) = %v, want 0", got)
	}
}

func TestGates(t *testing.T) {
	t.Parallel()
	r := &Report{}
	r.IngressMax.Ratio = 0.8
	r.IngressLatency.P99Ratio = 2
	r.Memory.IdleMB = 20
	gs := Gates(r)
	byName := map[string]Gate{}
	for _, g := range gs {
		byName[g.Name] = g
	}
	for _, name := range []string{"ingress max real/floor", "ingress p99 real/floor", "worker RSS idle MB", "drain / db ceiling"} {
		if _, ok := byName[name]; !ok {
			t.Fatalf("no gate %q among %d", name, len(gs))
		}
	}
	if g := byName["ingress max real/floor"]; !g.Pass {
		t.Errorf("%s, want pass", g)
	}
	if g := byName["ingress p99 real/floor"]; g.Pass || !g.Measured {
		t.Errorf("%s, want FAIL", g)
	}
	if g := byName["worker RSS idle MB"]; !g.Pass {
		t.Errorf("%s, want pass", g)
	}
	if g := byName["drain / db ceiling"]; g.Measured || g.Pass {
		t.Errorf("%s, want not measured", g)
	}
}

func TestCPUSince(t *testing.T) {
	t.Parallel()
	before := cpuSnap{"ingress": {1: 100}, "postgres": {7: 10}}
	now := cpuSnap{"ingress": {1: 150}, "postgres": {7: 30, 8: 5}}
	c := now.since(before)
	if c.Ingress != 50 || c.Postgres != 25 || c.Total() != 75 {
		t.Errorf("since = %+v, want ingress 50, postgres 25 (a new backend from zero)", c)
	}
	if got := perEvent(c, 3); got != 25000 {
		t.Errorf("perEvent = %v µs, want 25000", got)
	}
}

func TestFleetAndIOGates(t *testing.T) {
	t.Parallel()
	r := &Report{}
	r.Fleet.Ratio = 1.2
	r.IO.Scale21, r.IO.Scale42 = 1.9, 1.7
	r.E2E.Half = E2EBlock{Rate: 300, P99Ms: 120}
	byName := map[string]Gate{}
	for _, g := range Gates(r) {
		byName[g.Name] = g
	}
	want := map[string]bool{
		"fleet CPU per run, 4 workers / 1":               false,
		"I/O-bound drain 1->2 workers":                   true,
		"I/O-bound drain 2->4 workers":                   false,
		"e2e p99 ms at half the db ceiling (300 runs/s)": true,
	}
	for name, pass := range want {
		g, ok := byName[name]
		if !ok {
			t.Fatalf("no gate %q", name)
		}
		if !g.Measured || g.Pass != pass {
			t.Errorf("%s, want pass=%v", g, pass)
		}
	}
}

func TestSelectPhases(t *testing.T) {
	t.Parallel()
	all, err := selectPhases("")
	if err != nil || len(all) != len(PhaseNames) {
		t.Fatalf("empty list = %v, %v; want every phase", all, err)
	}
	some, err := selectPhases("drain, io")
	if err != nil || !some["drain"] || !some["io"] || some["e2e"] {
		t.Errorf("drain,io = %v, %v", some, err)
	}
	if _, err := selectPhases("drain,nope"); err == nil {
		t.Error("an unknown phase was accepted")
	}
}

func TestCountersPerRun(t *testing.T) {
	t.Parallel()
	before := counters{"pg.xact_commit": 100, "redis.calls": 10, "redis.get": 5}
	now := counters{"pg.xact_commit": 300, "redis.calls": 60, "redis.get": 5, "redis.zadd": 40}
	got := now.perRun(before, 20)
	want := map[string]float64{"pg.xact_commit": 10, "redis.calls": 2.5, "redis.zadd": 2}
	if len(got) != len(want) {
		t.Fatalf("perRun = %v, want %v (counters that did not move left out)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(now.perRun(before, 0)) != 0 {
		t.Error("no runs: no figures")
	}
}
