package aias

import (
	"context"
	"iter"
	"net/http"
)

// CreateEndpoint makes a webhook endpoint. The answer is the only one with
// the URL token, the intake URL and, for a signed scheme, the signing
// secret. (createEndpoint; admin)
func (c *Client) CreateEndpoint(ctx context.Context, req CreateEndpointRequest) (IssuedEndpoint, error) {
	return c.issued(ctx, http.MethodPost, "/api/v1/webhook-endpoints", req)
}

// GetEndpoint reads an endpoint with its live signing secrets (hints only).
// (getEndpoint; viewer)
func (c *Client) GetEndpoint(ctx context.Context, id string) (Endpoint, error) {
	var e Endpoint
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/webhook-endpoints/" + pathID(id)}, &e)
	return e, err
}

// ListEndpoints lists the live endpoints, newest first, page after page.
// (listEndpoints; viewer)
func (c *Client) ListEndpoints(ctx context.Context, o ListOptions) iter.Seq2[Endpoint, error] {
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (Page[Endpoint], error) {
		return c.ListEndpointsPage(ctx, ListOptions{Limit: o.Limit, Cursor: cursor})
	})
}

// ListEndpointsPage reads one page of ListEndpoints.
func (c *Client) ListEndpointsPage(ctx context.Context, o ListOptions) (Page[Endpoint], error) {
	return page[Endpoint](ctx, c, "/api/v1/webhook-endpoints", o.query())
}

// UpdateEndpoint changes the fields req sets; a new verification returns
// its signing secret, once. (updateEndpoint; admin)
func (c *Client) UpdateEndpoint(ctx context.Context, id string, req UpdateEndpointRequest) (IssuedEndpoint, error) {
	return c.issued(ctx, http.MethodPatch, "/api/v1/webhook-endpoints/"+pathID(id), req)
}

// DeleteEndpoint deletes an endpoint; its token stops working.
// (deleteEndpoint; admin)
func (c *Client) DeleteEndpoint(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/webhook-endpoints/" + pathID(id)}, nil)
}

// RotateEndpoint issues a new signing secret and, for the token scheme or
// with req.Token, a new URL token; the previous ones keep working for
// req.Grace. (rotateEndpoint; admin)
func (c *Client) RotateEndpoint(ctx context.Context, id string, req RotateEndpointRequest) (IssuedEndpoint, error) {
	return c.issued(ctx, http.MethodPost, "/api/v1/webhook-endpoints/"+pathID(id)+"/rotate", req)
}

func (c *Client) issued(ctx context.Context, method, path string, body any) (IssuedEndpoint, error) {
	var e IssuedEndpoint
	r, err := request{method: method, path: path}.jsonBody(body)
	if err == nil {
		err = c.call(ctx, r, &e)
	}
	return e, err
}

// ListEndpointRejections lists why deliveries to an endpoint were refused,
// newest first, page after page. (listEndpointRejections; admin)
func (c *Client) ListEndpointRejections(ctx context.Context, id string, o ListOptions) iter.Seq2[Rejection, error] {
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (Page[Rejection], error) {
		return c.ListEndpointRejectionsPage(ctx, id, ListOptions{Limit: o.Limit, Cursor: cursor})
	})
}

// ListEndpointRejectionsPage reads one page of ListEndpointRejections.
func (c *Client) ListEndpointRejectionsPage(ctx context.Context, id string, o ListOptions) (Page[Rejection], error) {
	return page[Rejection](ctx, c, "/api/v1/webhook-endpoints/"+pathID(id)+"/rejections", o.query())
}

// DeliverWebhook posts a delivery to an endpoint's intake URL (as a
// sender does): body is sent byte for byte with contentType and header
// (the scheme's signature headers, Idempotency-Key). No API key is sent.
// A repeat of a delivery id answers the first run with Duplicate set.
// (deliverWebhook; public)
func (c *Client) DeliverWebhook(ctx context.Context, intakeURL, contentType string, body []byte, header http.Header) (Delivery, error) {
	var d Delivery
	r := request{method: http.MethodPost, path: intakeURL, body: body, ctype: contentType, header: header, public: true}
	if body == nil {
		r.body = []byte{}
	}
	err := c.call(ctx, r, &d)
	return d, err
}
