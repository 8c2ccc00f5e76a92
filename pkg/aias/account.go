package aias

import (
	"context"
	"io"
	"iter"
	"net/http"
)

// SignUp creates a person, their tenant and its first owner key (shown
// only in this answer), when the operator allows signups. No API key is
// sent. (signUp; public)
func (c *Client) SignUp(ctx context.Context, req SignupRequest) (Signup, error) {
	var out Signup
	r, err := request{method: http.MethodPost, path: "/api/v1/signup", public: true}.jsonBody(req)
	if err == nil {
		err = c.call(ctx, r, &out)
	}
	return out, err
}

// ListPlans lists every plan with its limits, features and Stripe prices.
// (listPlans; public)
func (c *Client) ListPlans(ctx context.Context) ([]Plan, error) {
	var l list[Plan]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/plans", public: true}, &l)
	return l.Data, err
}

// GetMe reads the calling key's tenant, plan, role and usage. (getMe; viewer)
func (c *Client) GetMe(ctx context.Context) (Me, error) {
	var m Me
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/me"}, &m)
	return m, err
}

// GetUsage reads this period's usage against the plan's limits.
// (getUsage; viewer)
func (c *Client) GetUsage(ctx context.Context) (Usage, error) {
	var u Usage
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/usage"}, &u)
	return u, err
}

// CreateAPIKey mints a key; CreatedAPIKey.Key is shown only now. Nobody
// mints above their own role. (createAPIKey; admin)
func (c *Client) CreateAPIKey(ctx context.Context, req CreateAPIKeyRequest) (CreatedAPIKey, error) {
	var k CreatedAPIKey
	r, err := request{method: http.MethodPost, path: "/api/v1/api-keys"}.jsonBody(req)
	if err == nil {
		err = c.call(ctx, r, &k)
	}
	return k, err
}

// ListAPIKeys lists the tenant's keys, newest first, page after page.
// (listAPIKeys; admin)
func (c *Client) ListAPIKeys(ctx context.Context, o ListOptions) iter.Seq2[APIKey, error] {
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (Page[APIKey], error) {
		return c.ListAPIKeysPage(ctx, ListOptions{Limit: o.Limit, Cursor: cursor})
	})
}

// ListAPIKeysPage reads one page of ListAPIKeys.
func (c *Client) ListAPIKeysPage(ctx context.Context, o ListOptions) (Page[APIKey], error) {
	return page[APIKey](ctx, c, "/api/v1/api-keys", o.query())
}

// RevokeAPIKey revokes a key; it stops working at once. (revokeAPIKey; admin)
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/api-keys/" + pathID(id)}, nil)
}

// ListSecrets lists the tenant's secrets: names, last four characters and
// timestamps, never a value. (listSecrets; admin)
func (c *Client) ListSecrets(ctx context.Context) ([]Secret, error) {
	var l list[Secret]
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/secrets"}, &l)
	return l.Data, err
}

// PutSecret creates or replaces a secret, stored sealed. (putSecret; admin)
func (c *Client) PutSecret(ctx context.Context, name, value string) (Secret, error) {
	var s Secret
	r, err := request{method: http.MethodPut, path: "/api/v1/secrets/" + pathID(name)}.jsonBody(putSecretRequest{Value: value})
	if err == nil {
		err = c.call(ctx, r, &s)
	}
	return s, err
}

// DeleteSecret deletes a secret. (deleteSecret; admin)
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/api/v1/secrets/" + pathID(name)}, nil)
}

// RotateCallbackSecret creates the tenant's callback signing secret, or
// replaces it while the previous one keeps signing for req.Grace. The
// whsec_ value is in this answer only. (rotateCallbackSecret; admin)
func (c *Client) RotateCallbackSecret(ctx context.Context, req RotateCallbackSecretRequest) (IssuedCallbackSecret, error) {
	var s IssuedCallbackSecret
	r := request{method: http.MethodPost, path: "/api/v1/callback-secret"}
	var err error
	if req.Grace != nil {
		r, err = r.jsonBody(req)
	}
	if err == nil {
		err = c.call(ctx, r, &s)
	}
	return s, err
}

// GetCallbackSecret reads the callback secret's state, never its value.
// (getCallbackSecret; admin)
func (c *Client) GetCallbackSecret(ctx context.Context) (CallbackSecret, error) {
	var s CallbackSecret
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/callback-secret"}, &s)
	return s, err
}

// ListAuditEntries lists every change made through the API, newest first,
// page after page. (listAuditEntries; admin)
func (c *Client) ListAuditEntries(ctx context.Context, o ListOptions) iter.Seq2[AuditEntry, error] {
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (Page[AuditEntry], error) {
		return c.ListAuditEntriesPage(ctx, ListOptions{Limit: o.Limit, Cursor: cursor})
	})
}

// ListAuditEntriesPage reads one page of ListAuditEntries.
func (c *Client) ListAuditEntriesPage(ctx context.Context, o ListOptions) (Page[AuditEntry], error) {
	return page[AuditEntry](ctx, c, "/api/v1/audit", o.query())
}

// GetDiagnostics reads the tenant's waiting, failing and refused work.
// (getDiagnostics; admin)
func (c *Client) GetDiagnostics(ctx context.Context) (Diagnostics, error) {
	var d Diagnostics
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/diagnostics"}, &d)
	return d, err
}

// GetSubscription reads the tenant's Stripe subscription; nil without one.
// (getSubscription; admin)
func (c *Client) GetSubscription(ctx context.Context) (*Subscription, error) {
	var s subscriptionState
	err := c.call(ctx, request{method: http.MethodGet, path: "/api/v1/billing"}, &s)
	return s.Subscription, err
}

// CreateCheckoutSession returns a Stripe Checkout URL that buys a plan.
// (createCheckoutSession; owner)
func (c *Client) CreateCheckoutSession(ctx context.Context, req CheckoutRequest) (SessionURL, error) {
	var u SessionURL
	r, err := request{method: http.MethodPost, path: "/api/v1/billing/checkout"}.jsonBody(req)
	if err == nil {
		err = c.call(ctx, r, &u)
	}
	return u, err
}

// CreatePortalSession returns a Stripe billing-portal URL for the tenant.
// (createPortalSession; owner)
func (c *Client) CreatePortalSession(ctx context.Context) (SessionURL, error) {
	var u SessionURL
	err := c.call(ctx, request{method: http.MethodPost, path: "/api/v1/billing/portal"}, &u)
	return u, err
}

// ReceiveStripeEvent posts a Stripe event as Stripe does, with its
// Stripe-Signature header: for tests of a billing set-up and for
// forwarding events. (receiveStripeEvent; public)
func (c *Client) ReceiveStripeEvent(ctx context.Context, payload []byte, stripeSignature string) (StripeReceipt, error) {
	var out StripeReceipt
	r := request{method: http.MethodPost, path: "/api/stripe/webhook", body: payload, ctype: "application/json", public: true,
		header: http.Header{"Stripe-Signature": {stripeSignature}}}
	err := c.call(ctx, r, &out)
	return out, err
}

// GetHealth answers while the server lives. (getHealth; public)
func (c *Client) GetHealth(ctx context.Context) (Health, error) {
	var h Health
	err := c.call(ctx, request{method: http.MethodGet, path: "/healthz", public: true}, &h)
	return h, err
}

// GetOpenAPIDocument returns the server's API document as JSON.
// (getOpenAPIDocument; public)
func (c *Client) GetOpenAPIDocument(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/api/openapi.json")
}

// GetOpenAPIDocumentYAML returns the server's API document as its YAML
// source. (getOpenAPIDocumentYAML; public)
func (c *Client) GetOpenAPIDocumentYAML(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/api/openapi.yaml")
}

func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	res, err := c.send(ctx, request{method: http.MethodGet, path: path, public: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	return io.ReadAll(res.Body)
}
