package ingress

import (
	"context"
	"net/url"

	"github.com/labstack/echo/v4"

	"aias/internal/postgres"
	"aias/internal/workflow"
)

// The console's workflow pages: the list, the editor (a new workflow, or
// one with its versions, a diff of two and a test run). They read what the
// API's handlers read; the editor's checks, saves and tests are fetches of
// POST /api/v1/workflows/validate, POST|PUT /api/v1/workflows and POST
// /api/v1/workflows/test (assets/workbench.js).

// workflowsData is the list page.
type workflowsData struct {
	Workflows []workflow.Workflow
	NextURL   string
	Later     bool // a page after the first
}

func (s *Server) workflowsPage(c echo.Context) error {
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	var d workflowsData
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		d.Workflows, next, err = workflow.List(ctx, q, p)
		return err
	})
	if err != nil {
		return err
	}
	d.Later = p.After != nil
	if next != "" {
		d.NextURL = "/workflows?" + url.Values{"cursor": {next}}.Encode()
	}
	return s.page(c, "workflows.html", "Workflows", "workflows", d)
}

// newWorkflowYAML is where a new workflow's editor starts.
const newWorkflowYAML = `name: order-received
steps:
  - name: normalize
    type: transform
    with:
      output:
        id: "trigger.body.order.id"
        total: "trigger.body.order.total * 1.2"
  - name: note
    type: log
    with:
      message: "order {{ steps.normalize.output.id }}"
`

// workflowData is the editor page.
type workflowData struct {
	Workflow *workflow.Workflow // nil for a new one
	Text     string             // the definition as the editor shows it
	Versions []workflow.Version
	Diff     *workflow.Diff
	From, To int
	Sample   string // the test's trigger body
}

func (s *Server) newWorkflowPage(c echo.Context) error {
	return s.page(c, "workflow.html", "New workflow", "workflows",
		workflowData{Text: newWorkflowYAML, Sample: `{"order": {"id": "A-1001", "total": 120}}`})
}

func (s *Server) workflowPage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	from, err := versionParam(c, "from")
	if err != nil {
		return err
	}
	to, err := versionParam(c, "to")
	if err != nil {
		return err
	}
	d := workflowData{Sample: `{}`}
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) error {
		w, err := workflow.Get(ctx, q, id)
		if err != nil {
			return err
		}
		d.Workflow = &w
		if d.Text, err = workflow.Render(w.Definition); err != nil {
			return err
		}
		if d.Versions, err = workflow.Versions(ctx, q, id); err != nil {
			return err
		}
		d.To, d.From = w.Version, max(w.Version-1, 1)
		if to > 0 {
			d.To = to
		}
		if from > 0 {
			d.From = from
		}
		if len(d.Versions) < 2 && from == 0 && to == 0 {
			return nil
		}
		diff, err := workflow.DiffVersions(ctx, q, id, d.From, d.To)
		d.Diff = &diff
		return err
	})
	if err != nil {
		return err
	}
	return s.page(c, "workflow.html", d.Workflow.Name, "workflows", d)
}
