package run

import (
	"aias/internal/step"
)

// stepOutcome names how a step attempt ended, as aias_step_duration_seconds
// labels it: succeeded, failed (permanently) or retryable. The step's span
// (telemetry.StartStep in walker.run) carries it as aias.step.outcome.
func stepOutcome(err error) string {
	switch {
	case err == nil:
		return "succeeded"
	case step.IsPermanent(err):
		return "failed"
	}
	return "retryable"
}
