// Package step holds the workflow step types that do work (transform, log,
// artifact, http, callback) and the expression and template language every
// `with` block is written in.
//
// Every step type implements the small Type interface and lives in a file of
// its own, so adding a type means adding one file and one registry entry.
// Definitions are checked with Validate when a workflow is saved; Run is called
// by the worker for each attempt. Errors returned by Run are retryable unless
// wrapped with Permanent.
//
// Control flow (condition, delay, switch, foreach) is not a step type: the
// engine decides it (package run), and package workflow checks its with
// blocks with this package's Schema and expressions.
//
// # Secrets
//
// A tenant's integration secrets reach expressions as the map secrets (see
// Env). The rules, enforced when a definition is validated:
//
//   - secrets may be read only in an http step's url, headers (values) and
//     body. Anywhere else — transform output, condition if, log message and
//     fields, artifact name and content, http method, timeout and expect, and
//     every field of any other step type — it is rejected at that field's
//     path with "secrets may only be used in an http step's url, headers and
//     body". Plain fields (method, timeout, ...) are never evaluated; a value
//     such as "{{ secrets.M }}" there is reported the same way.
//   - secrets is read by a fixed name: secrets.NAME or secrets["NAME"]
//     ($env.secrets.NAME counts as the same). A computed key, secrets on its
//     own (e.g. toJSON(secrets), keys(secrets)), or a computed or whole use
//     of $env in those fields is rejected with "secrets must be referenced by
//     a fixed name".
//   - NAME matches SecretNamePattern, ^[A-Za-z_][A-Za-z0-9_]{0,63}$.
//   - a secret is used whole: a template part that is exactly
//     {{ secrets.NAME }}, or a body value that is exactly secrets.NAME,
//     never an operand, an argument, indexed or sliced
//     (upper(secrets.T), secrets.T[1:], "Bearer " + secrets.T,
//     secrets.T == "guess"). What an expression makes of a secret no
//     longer matches the value the redactor masks, and its errors quote it.
//
// SecretRefs and Source.SecretRefs list the names an expression reads, so the
// worker can decrypt only those (workflow.Definition.SecretNames).
//
// At run time, defence in depth: every expression other than an http step's
// url, headers and body is evaluated against Env.WithoutSecrets, so it sees
// no secrets even if validation were bypassed; the http step refuses a
// url, header or body that uses a secret other than whole (a definition
// saved before that rule), and the error of a field that reads a secret
// names the field only, never its expressions or values. The http step passes its
// output (including the echoed response headers and body), log lines and
// errors through Deps.Redactor, which masks each secret and its base64 and
// URL-escaped forms as "[REDACTED]"; its log line names only method, host,
// status and duration, never header values or the URL's query. The worker
// applies the same Redactor to every step's result and error.
package step

import (
	"context"
	"net/http"
	"time"

	"aias/internal/errs"
)

// Env is what expressions see. Its keys are:
//
//	trigger: {"body": any, "raw": string, "headers": map[string]string (lower-cased names),
//	          "query": map[string]string, "received_at": string (RFC 3339), "delivery_id": string}
//	steps:   {<step name>: {"output": any}} for every step that already ran
//	run:     {"id": string, "attempt": int, "workflow_version": int}
//	step:    {"name": string} for the step being run (set by the worker)
//	item, index: the current element and its position, inside a foreach body
//	secrets: map[string]string from secret name to decrypted value, set by the
//	         worker for the whole run with the secrets the definition names
//	         (see the package documentation). Only an http step's url,
//	         headers and body are evaluated with it; every other expression
//	         is evaluated against Env.WithoutSecrets.
type Env map[string]any

// Artifact is a file a step produced for the run.
type Artifact struct {
	Name        string
	ContentType string
	Content     []byte
}

// LogLine is one structured log entry a step produced for the run.
type LogLine struct {
	Time    time.Time      `json:"time"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// Result is what one successful step attempt produced.
type Result struct {
	// Output is stored as the step's output and is visible to later steps as
	// steps.<name>.output. It is always JSON-encodable.
	Output    any
	Logs      []LogLine
	Artifacts []Artifact
	// Until, when set, is when the run continues. The engine's delay node
	// sets it; a step type leaves it zero.
	Until time.Time
}

// Deps are the collaborators the worker injects into every step.
type Deps struct {
	// HTTPClient is the only way steps reach the network, so that the egress
	// guard configured on it applies to every request.
	HTTPClient *http.Client
	// Redactor masks the run's secret values in what a step returns. The
	// http step applies it to its output, logs and errors itself; nil masks
	// nothing.
	Redactor *Redactor
	// CallbackSigner signs callback steps with the tenant's callback secret;
	// nil fails them permanently (the tenant has none).
	CallbackSigner CallbackSigner
}

// Type is one step type.
type Type interface {
	// Name is the value of a step's "type" field.
	Name() string
	// Validate checks the step's with block, which lives at path (for example
	// "steps[2].with"), and returns every problem found, including
	// expressions and templates that do not compile.
	Validate(with map[string]any, path string) []errs.FieldError
	// Sources lists the expressions and templates in a with block, so that a
	// definition can check which steps each of them refers to. Values of the
	// wrong shape are left out; Validate reports them.
	Sources(with map[string]any, path string) []Source
	// Run executes the step once. It honours ctx for cancellation and
	// timeouts.
	Run(ctx context.Context, deps Deps, with map[string]any, env Env) (Result, error)
}
