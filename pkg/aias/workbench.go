package aias

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// WorkflowValidation is a definition found valid by ValidateWorkflow.
type WorkflowValidation struct {
	Valid bool   `json:"valid"`
	Name  string `json:"name"`
	// Steps counts the steps as the plan does, nested ones included.
	Steps int `json:"steps"`
	// SideEffects are the steps that act outside AIAS when they run.
	SideEffects []SideEffect `json:"side_effects"`
}

// SideEffect is a step that acts outside AIAS (an http or callback step).
type SideEffect struct {
	Path string `json:"path"`
	Name string `json:"name"`
	Type string `json:"type"`
	Does string `json:"does"`
	Line int    `json:"line,omitempty"`
}

// ValidateWorkflow checks a definition as saving it would, and saves
// nothing; an invalid one is an *Error with CodeValidationFailed whose
// Fields carry their lines. (validateWorkflow; member)
func (c *Client) ValidateWorkflow(ctx context.Context, def Definition) (WorkflowValidation, error) {
	var v WorkflowValidation
	r, err := def.request(http.MethodPost, "/api/v1/workflows/validate")
	if err == nil {
		err = c.call(ctx, r, &v)
	}
	return v, err
}

// WorkflowTestRequest asks TestWorkflow to run a definition once.
type WorkflowTestRequest struct {
	// Definition is the definition's text, YAML or JSON.
	Definition string               `json:"definition"`
	Trigger    *WorkflowTestTrigger `json:"trigger,omitempty"`
	// AllowSideEffects lets http and callback steps run.
	AllowSideEffects bool `json:"allow_side_effects,omitempty"`
}

// WorkflowTestTrigger is the trigger a test runs on.
type WorkflowTestTrigger struct {
	// Body is trigger.body: any JSON value, or, with a ContentType that is
	// not JSON, a JSON string holding the raw body.
	Body        json.RawMessage   `json:"body,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
}

// WorkflowTestResult is what a test run did.
type WorkflowTestResult struct {
	Status  string             `json:"status"` // succeeded, stopped or failed
	Error   string             `json:"error,omitempty"`
	Steps   []WorkflowTestStep `json:"steps"`
	Skipped []string           `json:"skipped,omitempty"`
}

// WorkflowTestStep is one step of a test run.
type WorkflowTestStep struct {
	Position   int                    `json:"position"`
	Name       string                 `json:"name"`
	Type       string                 `json:"type"`
	Status     StepStatus             `json:"status"`
	Output     json.RawMessage        `json:"output,omitempty"`
	Error      *string                `json:"error,omitempty"`
	Logs       json.RawMessage        `json:"logs"`
	DurationMS int64                  `json:"duration_ms"`
	Artifacts  []WorkflowTestArtifact `json:"artifacts,omitempty"`
}

// WorkflowTestArtifact is an artifact a test run's step made (not stored).
type WorkflowTestArtifact struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	Preview     string `json:"preview,omitempty"`
}

// TestWorkflow runs a definition once on a trigger and answers each step's
// output; nothing is stored or queued. A definition with http or callback
// steps is refused (CodeSideEffectsNotAllowed) unless the request allows
// side effects. (testWorkflow; member)
func (c *Client) TestWorkflow(ctx context.Context, req WorkflowTestRequest) (WorkflowTestResult, error) {
	var out WorkflowTestResult
	r, err := request{method: http.MethodPost, path: "/api/v1/workflows/test"}.jsonBody(req)
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}

// WorkflowDiff is a line diff between two versions of a workflow.
type WorkflowDiff struct {
	WorkflowID string     `json:"workflow_id"`
	From       int        `json:"from"`
	To         int        `json:"to"`
	Added      int        `json:"added"`
	Removed    int        `json:"removed"`
	Lines      []DiffLine `json:"lines"`
}

// DiffLine is one line of a WorkflowDiff: Op is "=" (kept), "-" (removed)
// or "+" (added).
type DiffLine struct {
	Op       string `json:"op"`
	Text     string `json:"text"`
	FromLine int    `json:"from_line,omitempty"`
	ToLine   int    `json:"to_line,omitempty"`
}

// DiffWorkflowVersions diffs version from against version to of workflow
// id; 0 for to means the current version, 0 for from the one before to.
// (diffWorkflowVersions; viewer)
func (c *Client) DiffWorkflowVersions(ctx context.Context, id string, from, to int) (WorkflowDiff, error) {
	q := url.Values{}
	if from > 0 {
		q.Set("from", strconv.Itoa(from))
	}
	if to > 0 {
		q.Set("to", strconv.Itoa(to))
	}
	var d WorkflowDiff
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/workflows/" + pathID(id) + "/diff", query: q}, &d)
	return d, err
}

// TestDeliveryRequest optionally replaces a test delivery's sample body.
type TestDeliveryRequest struct {
	Body json.RawMessage `json:"body,omitempty"`
}

// TestDeliveryOutcome is what happened to a test delivery.
type TestDeliveryOutcome struct {
	// Outcome is accepted, held, duplicate or rejected.
	Outcome string `json:"outcome"`
	// Status is the HTTP status a sender would have been answered.
	Status     int             `json:"status"`
	RunID      string          `json:"run_id,omitempty"`
	RunStatus  RunStatus       `json:"run_status,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	Detail     string          `json:"detail,omitempty"`
	DeliveryID string          `json:"delivery_id"`
	Headers    []string        `json:"headers"`
	Body       json.RawMessage `json:"body"`
}

// SendTestDelivery has the server send endpoint id a delivery signed as
// its scheme wants, through the intake: an accepted one starts a real run.
// (sendTestDelivery; admin)
func (c *Client) SendTestDelivery(ctx context.Context, id string, req TestDeliveryRequest) (TestDeliveryOutcome, error) {
	var out TestDeliveryOutcome
	r, err := request{method: http.MethodPost, path: "/api/v1/webhook-endpoints/" + pathID(id) + "/test"}.jsonBody(req)
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}
