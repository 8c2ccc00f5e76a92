package ingress

import (
	"context"
	"net/url"

	"github.com/labstack/echo/v4"

	"aias/internal/auth"
	"aias/internal/page"
	"aias/internal/postgres"
	"aias/internal/signature"
	"aias/internal/webhook"
	"aias/internal/workflow"
)

// The console's endpoint pages: the list with a form to create one, and
// one endpoint (its URL, scheme and secrets, enable/disable, rotation, the
// rejection log, a test delivery). Writes are fetches of the
// /api/v1/webhook-endpoints routes; the token and secrets appear only in
// the answer of the call that issued them, shown once.

// endpointsData is the list page.
type endpointsData struct {
	Endpoints []webhook.Endpoint
	Workflows map[string]string // id → name, for the list and the form
	Choices   []workflow.Workflow
	Schemes   []schemeChoice
	NextURL   string
	Later     bool // a page after the first
}

// schemeChoice is one option of the new endpoint's verification. A
// generic HMAC's header, algorithm and encoding are fields of their own,
// shown while it is chosen.
type schemeChoice struct{ Name, Value string }

func schemeChoices() []schemeChoice {
	var out []schemeChoice
	for _, sc := range signature.Schemes() {
		name := sc
		if sc == signature.HMAC {
			name = "hmac (generic: your header, algorithm, encoding)"
		}
		out = append(out, schemeChoice{Name: name, Value: `{"scheme":"` + sc + `"}`})
	}
	return out
}

func (s *Server) endpointsPage(c echo.Context) error {
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	d := endpointsData{Workflows: map[string]string{}, Schemes: schemeChoices()}
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if d.Endpoints, next, err = webhook.List(ctx, q, p); err != nil {
			return err
		}
		d.Choices, _, err = workflow.List(ctx, q, page.Request{Limit: page.MaxLimit})
		return err
	})
	if err != nil {
		return err
	}
	for _, w := range d.Choices {
		d.Workflows[w.ID.String()] = w.Name
	}
	d.Later = p.After != nil
	if next != "" {
		d.NextURL = "/endpoints?" + url.Values{"cursor": {next}}.Encode()
	}
	return s.page(c, "endpoints.html", "Endpoints", "endpoints", d)
}

// endpointData is one endpoint's page.
type endpointData struct {
	Endpoint   webhook.Endpoint
	Workflow   string
	URLPrefix  string // the intake URL up to the token, which AIAS does not keep
	Rejections []webhook.Rejection
	RejNextURL string
}

func (s *Server) endpointPage(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := pageRequest(c)
	if err != nil {
		return err
	}
	var d endpointData
	var next string
	err = s.inTenant(c, func(ctx context.Context, q postgres.Querier) (err error) {
		if d.Endpoint, err = webhook.Get(ctx, q, id); err != nil {
			return err
		}
		if w, err := workflow.Get(ctx, q, d.Endpoint.WorkflowID); err == nil {
			d.Workflow = w.Name
		}
		if !principal(c).Role.AtLeast(auth.Admin) { // the rejection log is admins' (its route's role)
			return nil
		}
		d.Rejections, next, err = webhook.Rejections(ctx, q, id, p)
		return err
	})
	if err != nil {
		return err
	}
	d.URLPrefix = webhook.URL(s.opt.PublicURL, d.Endpoint.TenantID, "")
	if next != "" {
		d.RejNextURL = "/endpoints/" + id.String() + "?" + url.Values{"cursor": {next}}.Encode()
	}
	return s.page(c, "endpoint.html", "Endpoint "+d.Endpoint.Name, "endpoints", d)
}
