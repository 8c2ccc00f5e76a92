package aias

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Definition is a workflow definition as sent: its bytes and their media
// type. AIAS reads JSON and YAML (docs/workflows.md).
type Definition struct {
	Body        []byte
	ContentType string
	// AsJSON is a YAML Body as JSON, which this package cannot make
	// itself (it reads no YAML): with it, ApplyWorkflow leaves a workflow
	// whose stored definition is the same unchanged. A JSON Body needs none.
	AsJSON []byte
}

// YAML is a definition written in YAML.
func YAML(b []byte) Definition { return Definition{Body: b, ContentType: "application/yaml"} }

// JSON is a definition written in JSON.
func JSON(b []byte) Definition { return Definition{Body: b, ContentType: "application/json"} }

// DefinitionOf is a typed definition, sent as JSON.
func DefinitionOf(d WorkflowDefinition) (Definition, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return Definition{}, fmt.Errorf("aias: encode definition: %w", err)
	}
	return JSON(b), nil
}

// ReadDefinition reads a definition file: JSON when its name ends in .json,
// YAML otherwise.
func ReadDefinition(path string) (Definition, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the caller names its file
	if err != nil {
		return Definition{}, err
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return JSON(b), nil
	}
	return YAML(b), nil
}

func (d Definition) request(method, path string) (request, error) {
	if len(d.Body) == 0 {
		return request{}, errors.New("aias: empty workflow definition")
	}
	ct := d.ContentType
	if ct == "" {
		ct = "application/yaml"
	}
	return request{method: method, path: path, body: d.Body, ctype: ct}, nil
}

// CreateWorkflow saves a new workflow; the definition becomes version 1.
// (createWorkflow; member, admin for a definition that reads secrets)
func (c *Client) CreateWorkflow(ctx context.Context, def Definition) (Workflow, error) {
	var w Workflow
	r, err := def.request(http.MethodPost, "/api/v1/workflows")
	if err == nil {
		err = c.call(ctx, r, &w)
	}
	return w, err
}

// UpdateWorkflow saves a new version of workflow id. (updateWorkflow; member)
//
// Unlike other PUTs it is not sent again after a network error: each
// request that arrives saves a version, so a lost answer would leave two.
func (c *Client) UpdateWorkflow(ctx context.Context, id string, def Definition) (Workflow, error) {
	var w Workflow
	r, err := def.request(http.MethodPut, "/api/v1/workflows/"+pathID(id))
	r.once = true
	if err == nil {
		err = c.call(ctx, r, &w)
	}
	return w, err
}

// Applied says what ApplyWorkflow did.
type Applied string

// What ApplyWorkflow did.
const (
	AppliedCreated   Applied = "created"   // a new workflow, version 1
	AppliedUpdated   Applied = "updated"   // a new version of the workflow
	AppliedUnchanged Applied = "unchanged" // the stored definition is the same: nothing saved
)

// ApplyWorkflow creates the workflow named name, or saves a new version of
// the live one of that name, or, when its current definition is the same
// as def (same fields and values; formatting and key order aside), saves
// nothing: every save makes a version, so applying an unchanged file
// would make one each time. A YAML def is compared only with its AsJSON.
// name must be the definition's own name.
func (c *Client) ApplyWorkflow(ctx context.Context, name string, def Definition) (w Workflow, how Applied, err error) {
	existing, err := c.FindWorkflow(ctx, name)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == CodeNotFound:
		w, err = c.CreateWorkflow(ctx, def)
		return w, AppliedCreated, err
	case err != nil:
		return Workflow{}, "", err
	}
	if def.same(existing.Definition) {
		return existing, AppliedUnchanged, nil
	}
	w, err = c.UpdateWorkflow(ctx, existing.ID, def)
	return w, AppliedUpdated, err
}

// same says the definition is stored's: both encode to the same JSON
// (maps' keys sorted), as workflows diff renders them. A definition this
// package cannot read, or with a field it does not know, is not the same.
func (d Definition) same(stored WorkflowDefinition) bool {
	js := d.AsJSON
	if js == nil && strings.Contains(strings.ToLower(d.ContentType), "json") {
		js = d.Body
	}
	if js == nil {
		return false
	}
	var mine WorkflowDefinition
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if dec.Decode(&mine) != nil {
		return false
	}
	return SameDefinition(mine, stored)
}

// SameDefinition says two definitions have the same fields and values.
func SameDefinition(a, b WorkflowDefinition) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(x, y)
}

// FindWorkflow returns the live workflow named name, or an *Error with
// CodeNotFound.
func (c *Client) FindWorkflow(ctx context.Context, name string) (Workflow, error) {
	for w, err := range c.ListWorkflows(ctx, ListOptions{Limit: maxPage}) {
		if err != nil {
			return Workflow{}, err
		}
		if w.Name == name {
			return w, nil
		}
	}
	return Workflow{}, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Title: "Not Found",
		Detail: fmt.Sprintf("no workflow named %q", name), Method: http.MethodGet, Path: "/api/v1/workflows"}
}

// GetWorkflow reads a workflow with its current definition. (getWorkflow; viewer)
func (c *Client) GetWorkflow(ctx context.Context, id string) (Workflow, error) {
	var w Workflow
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/workflows/" + pathID(id)}, &w)
	return w, err
}

// ListWorkflows lists the live workflows, newest first, page after page.
// (listWorkflows; viewer)
func (c *Client) ListWorkflows(ctx context.Context, o ListOptions) iter.Seq2[Workflow, error] {
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (Page[Workflow], error) {
		return c.ListWorkflowsPage(ctx, ListOptions{Limit: o.Limit, Cursor: cursor})
	})
}

// ListWorkflowsPage reads one page of ListWorkflows.
func (c *Client) ListWorkflowsPage(ctx context.Context, o ListOptions) (Page[Workflow], error) {
	return page[Workflow](ctx, c, "/api/v1/workflows", o.query())
}

// DeleteWorkflow retires a workflow; its versions and runs stay readable.
// (deleteWorkflow; member)
func (c *Client) DeleteWorkflow(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/workflows/" + pathID(id)}, nil)
}

// ListWorkflowVersions lists every version of a workflow, newest first.
// (listWorkflowVersions; viewer)
func (c *Client) ListWorkflowVersions(ctx context.Context, id string) ([]WorkflowVersion, error) {
	var l list[WorkflowVersion]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/workflows/" + pathID(id) + "/versions"}, &l)
	return l.Data, err
}

// TriggerWorkflow starts a run of workflow id by hand; body (any JSON
// value, nil for none) becomes trigger.body. (triggerWorkflow; member)
func (c *Client) TriggerWorkflow(ctx context.Context, id string, body any) (RunAccepted, error) {
	var out RunAccepted
	r := request{method: http.MethodPost, path: "/api/v1/workflows/" + pathID(id) + "/runs"}
	var err error
	if body != nil {
		r, err = r.jsonBody(body)
	}
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}
