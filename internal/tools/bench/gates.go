package bench

import "fmt"

// Gate is one bar AIAS must clear, with the figure that was measured.
type Gate struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Limit    float64 `json:"limit"`
	AtMost   bool    `json:"at_most"` // the value must be <= limit (otherwise >=)
	Pass     bool    `json:"pass"`
	Measured bool    `json:"measured"` // false: the phase did not produce the figure
}

func gate(name string, value, limit float64, atMost bool) Gate {
	g := Gate{Name: name, Value: Round2(value), Limit: limit, AtMost: atMost, Measured: value > 0}
	if g.Measured {
		g.Pass = (atMost && value <= limit) || (!atMost && value >= limit)
	}
	return g
}

func (g Gate) String() string {
	op := ">="
	if g.AtMost {
		op = "<="
	}
	verdict := "FAIL"
	switch {
	case !g.Measured:
		verdict = "not measured"
	case g.Pass:
		verdict = "pass"
	}
	return fmt.Sprintf("%s: %.2f (%s %.2f) %s", g.Name, g.Value, op, g.Limit, verdict)
}

// Gates are the bars of issues 8 and 20, checked against a report.
func Gates(r *Report) []Gate {
	return []Gate{
		gate("ingress max real/floor", r.IngressMax.Ratio, 0.70, false),
		gate("ingress p99 real/floor", r.IngressLatency.P99Ratio, 1.5, true),
		gate("ingress CPU/request real/floor", r.IngressLatency.CPURatio, 1.4, true),
		gate("e2e efficiency (runs/s / db ceiling)", r.E2E.Efficiency, 0.40, false),
		gate(fmt.Sprintf("e2e p99 ms at half the db ceiling (%d runs/s)", r.E2E.Half.Rate), r.E2E.Half.P99Ms, 250, true),
		gate("drain / db ceiling", r.Drain.Efficiency, 0.45, false),
		gate("drain scaling 1->2 workers", r.Drain.Scale21, 1.3, false),
		gate("drain scaling 2->4 workers (no loss)", r.Drain.Scale42, 1.0, false),
		gate("fleet CPU per run, 4 workers / 1", r.Fleet.Ratio, 1.15, true),
		gate("I/O-bound drain 1->2 workers", r.IO.Scale21, 1.8, false),
		gate("I/O-bound drain 2->4 workers", r.IO.Scale42, 1.8, false),
		gate("worker RSS idle MB", r.Memory.IdleMB, 30, true),
		gate("worker RSS peak MB", r.Memory.PeakMB, 64, true),
	}
}
