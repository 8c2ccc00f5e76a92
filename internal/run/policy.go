package run

import (
	"time"

	"aias/internal/workflow"
)

// policy is the retry policy in force for one step: the step's own fields,
// else the workflow's, else the worker's defaults.
type policy struct {
	MaxAttempts int
	Backoff     Backoff
	Jitter      bool
}

func (e *Executor) policyOf(d workflow.Definition, s workflow.Step) policy {
	p := policy{MaxAttempts: d.EffectiveMaxAttempts(), Backoff: e.Backoff, Jitter: true}
	for _, r := range []*workflow.Retry{d.Retry, s.Retry} {
		if r == nil {
			continue
		}
		if r.MaxAttempts > 0 {
			p.MaxAttempts = r.MaxAttempts
		}
		if d, err := time.ParseDuration(r.Backoff); err == nil {
			p.Backoff.Base = d
		}
		if d, err := time.ParseDuration(r.MaxBackoff); err == nil {
			p.Backoff.Max = d
		}
		if r.Jitter != nil {
			p.Jitter = *r.Jitter
		}
	}
	if p.Backoff.Max < p.Backoff.Base {
		p.Backoff.Max = p.Backoff.Base
	}
	return p
}

// wait is the pause before the retry that follows a step's n-th failure
// (n ≥ 1).
func (p policy) wait(n int) time.Duration {
	if p.Jitter {
		return p.Backoff.Delay(n - 1)
	}
	return p.Backoff.ceiling(n - 1)
}
