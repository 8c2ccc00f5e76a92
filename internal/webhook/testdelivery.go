package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"aias/internal/errs"
	"aias/internal/postgres"
	"aias/internal/signature"
)

// A test delivery is one the server sends an endpoint itself, to show its
// owner what happens to a delivery: it is signed the way the endpoint's
// scheme expects with the endpoint's newest signing secret, and goes
// through Verify and Accept like any delivery, so it starts a real run (or
// is refused, for the reason a sender's would be, and the refusal is in the
// rejection log). Only the URL lookup differs: the server finds the
// endpoint by id, since it keeps no token to put in a URL.

// ErrEndpointOff answers a test delivery to an endpoint the intake would
// not resolve: disabled, or its workflow disabled.
var ErrEndpointOff = errs.E(errs.Conflict, "endpoint_disabled",
	"the endpoint, or its workflow, is disabled: a delivery to it gets 404")

// TargetOf resolves an endpoint of the tenant by id, as Resolve does by
// token: not found when the tenant has no such endpoint, ErrEndpointOff
// when the intake would not take deliveries to it.
func (in *Intake) TargetOf(ctx context.Context, tenantID, endpointID uuid.UUID) (Target, error) {
	var hash []byte
	err := in.DB.InTenantTx(ctx, tenantID, func(q postgres.Querier) error {
		const get = `SELECT token_hash FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`
		return q.GetContext(ctx, &hash, get, endpointID, tenantID)
	})
	if postgres.IsNoRows(err) {
		return Target{}, errs.NotFoundf("webhook endpoint not found")
	}
	if err != nil {
		return Target{}, fmt.Errorf("find endpoint %s: %w", endpointID, postgres.Classify(err))
	}
	t, err := findTarget(ctx, in.DB, tenantID, hash)
	if errors.Is(err, errUnknownEndpoint) {
		return Target{}, ErrEndpointOff
	}
	if err != nil {
		return Target{}, err
	}
	in.bodyLimit(&t)
	return t, nil
}

// SampleBody is the body of a test delivery when its sender gives none.
func SampleBody(id string, now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "type": "aias.test_delivery", "created": now.Unix(),
		"data": map[string]any{"message": "a test delivery sent by AIAS"},
	})
	return b
}

// SignTest signs a test delivery's body for t with its newest signing
// secret, at now; the headers are what a sender of t's scheme would send.
func (in *Intake) SignTest(t Target, id string, body []byte) (http.Header, error) {
	var key signature.Secret
	if t.Settings.Scheme != signature.Token && len(t.sealed) > 0 {
		keys, err := openSecrets(in.Keys, t.Settings.Scheme, t.TenantID, t.EndpointID, t.sealed[:1])
		if err != nil {
			return nil, err
		}
		key = keys[0]
	}
	h, err := signature.Sign(t.Settings, key, id, in.now(), body)
	if err != nil {
		return nil, err
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "AIAS-test-delivery")
	if h.Get("Idempotency-Key") == "" && h.Get("Webhook-Id") == "" {
		h.Set("Idempotency-Key", id)
	}
	return h, nil
}
