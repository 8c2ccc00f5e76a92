// Package workflow stores versioned workflow definitions and checks them.
//
// A definition is written in JSON or YAML, decoded with Decode, checked with
// Validate when it is saved, and stored in the canonical form JSON returns.
// Every change creates a new immutable version; a run pins the version it
// started on.
package workflow

import (
	"bytes"
	"encoding/json"
)

// Limits on definitions.
const (
	DefaultMaxAttempts = 5    // attempts per step when max_attempts is omitted
	MaxMaxAttempts     = 25   // the largest max_attempts accepted
	MaxSteps           = 100  // steps per definition unless Limits say otherwise
	MaxNameLen         = 100  // workflow and step names (ASCII only)
	MaxDescriptionLen  = 1000 // characters
	MaxDepth           = 4    // nesting of switch and foreach
)

// Definition is one version of a workflow as its author wrote it.
type Definition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// MaxAttempts is shorthand for Retry.MaxAttempts; 0 means DefaultMaxAttempts.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Retry is the workflow's retry policy; a step's own policy overrides it
	// field by field.
	Retry *Retry `json:"retry,omitempty"`
	// Timeout bounds a run from its first start to its finish (a Go
	// duration such as "10m"); a run past it fails. Empty: no limit beyond
	// the per-attempt one.
	Timeout string `json:"timeout,omitempty"`
	// ConcurrencyKey is an expression over trigger; runs of this workflow
	// with the same key execute one at a time, in arrival order.
	ConcurrencyKey string `json:"concurrency_key,omitempty"`
	// OnFinish, when set, posts the run's outcome to a tenant URL, signed
	// with the tenant's callback secret.
	OnFinish *OnFinish `json:"on_finish,omitempty"`
	// Schedule, when set, starts a run on a cron schedule.
	Schedule *Schedule `json:"schedule,omitempty"`
	Steps    []Step    `json:"steps"`
}

// Retry is a retry policy. Zero fields inherit: a step's from its
// workflow's, a workflow's from the defaults.
type Retry struct {
	MaxAttempts int    `json:"max_attempts,omitempty"`
	Backoff     string `json:"backoff,omitempty"`     // first wait, a Go duration
	MaxBackoff  string `json:"max_backoff,omitempty"` // cap of the exponential wait
	// Jitter spreads each wait over [wait/2, wait]; nil means on.
	Jitter *bool `json:"jitter,omitempty"`
}

// OnFinish is the per-workflow outcome callback.
type OnFinish struct {
	URL string `json:"url"`
	// Statuses limits the callback to runs ending in these statuses; empty
	// means every terminal status.
	Statuses []string `json:"statuses,omitempty"`
}

// Schedule is a cron trigger.
type Schedule struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone,omitempty"` // IANA name; empty means UTC
	// CatchUp says what happens to ticks missed while no scheduler ran:
	// "skip" (default) drops them, "once" runs one run for all of them.
	CatchUp string `json:"catch_up,omitempty"`
}

// Step is one step of a definition. With is interpreted by the step type
// named in Type (see package step).
type Step struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	With    map[string]any `json:"with,omitempty"`
	Retry   *Retry         `json:"retry,omitempty"`
	Timeout string         `json:"timeout,omitempty"` // per attempt of this step, a Go duration
	// Cases and Default are the branches of a switch step: the first case
	// whose when holds runs its steps; none holding runs Default.
	Cases   []Case `json:"cases,omitempty"`
	Default []Step `json:"default,omitempty"`
	// Steps is the body of a foreach step, run once per item.
	Steps []Step `json:"steps,omitempty"`
}

// Case is one branch of a switch step.
type Case struct {
	When  string `json:"when"`
	Steps []Step `json:"steps"`
}

// EffectiveMaxAttempts is the number of attempts a step of this workflow
// gets before the run fails, unless the step says otherwise.
func (d Definition) EffectiveMaxAttempts() int {
	if d.Retry != nil && d.Retry.MaxAttempts > 0 {
		return d.Retry.MaxAttempts
	}
	if d.MaxAttempts == 0 {
		return DefaultMaxAttempts
	}
	return d.MaxAttempts
}

// JSON returns the canonical JSON form of d, as stored: object keys sorted,
// no insignificant whitespace, and no HTML escaping (so "a > 1" stays
// readable).
func (d Definition) JSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		// Validate rejects definitions that cannot be encoded, and decoded
		// ones hold only JSON values, so reaching this is a bug.
		panic("workflow: encode definition: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
