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
)

// Definition is one version of a workflow as its author wrote it.
type Definition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	MaxAttempts int    `json:"max_attempts,omitempty"` // 0 means DefaultMaxAttempts
	Steps       []Step `json:"steps"`
}

// Step is one step of a definition. With is interpreted by the step type
// named in Type (see package step).
type Step struct {
	Name string         `json:"name"`
	Type string         `json:"type"`
	With map[string]any `json:"with,omitempty"`
}

// EffectiveMaxAttempts is the number of attempts a step of this workflow
// gets before the run fails.
func (d Definition) EffectiveMaxAttempts() int {
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
