package bench

import "fmt"

// Ledger accounts for every request and every run of one phase. A phase
// whose ledger does not balance measured something other than what it says
// (lost requests, runs that vanished, rows without an answer), and the whole
// bench is VOID.
type Ledger struct {
	Phase string `json:"phase"`

	// HTTP: every request the generator scheduled has exactly one outcome.
	Sent     int `json:"sent"`
	Accepted int `json:"accepted"` // 202 with a run id
	Rejected int `json:"rejected"` // any other HTTP status
	Errors   int `json:"errors"`   // no HTTP answer (transport error, timeout)

	// Durability: every accepted request has its row in Postgres.
	Stored int `json:"stored"`

	// Runs (phases that execute them): every accepted run is accounted for
	// at the cut-off. Runs is how many rows the phase started with.
	Runs      int  `json:"runs"`
	Completed int  `json:"completed"`
	Failed    int  `json:"failed"`  // failed, dead or canceled
	Running   int  `json:"running"` // queued, delayed or running at the cut-off
	Executes  bool `json:"executes"`
}

// Problems lists every equation of l that does not hold; none: it balances.
func (l Ledger) Problems() []string {
	var p []string
	if l.Sent != l.Accepted+l.Rejected+l.Errors {
		p = append(p, fmt.Sprintf("%s: sent %d != accepted %d + rejected %d + errors %d", l.Phase, l.Sent, l.Accepted, l.Rejected, l.Errors))
	}
	if l.Stored != l.Accepted {
		p = append(p, fmt.Sprintf("%s: accepted %d but %d rows stored", l.Phase, l.Accepted, l.Stored))
	}
	if l.Executes && l.Runs != l.Completed+l.Failed+l.Running {
		p = append(p, fmt.Sprintf("%s: runs %d != completed %d + failed %d + running %d", l.Phase, l.Runs, l.Completed, l.Failed, l.Running))
	}
	return p
}

// Balanced reports whether every equation holds.
func (l Ledger) Balanced() bool { return len(l.Problems()) == 0 }

// Void lists the problems of every ledger; a bench with any is VOID.
func Void(ls []Ledger) []string {
	var p []string
	for _, l := range ls {
		p = append(p, l.Problems()...)
	}
	return p
}
