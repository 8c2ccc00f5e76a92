package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"aias/internal/signature"
)

// Tenant is a signed-up tenant with its owner key.
type Tenant struct {
	ID  string
	Key string
}

// Endpoint is a standard-webhooks endpoint with its signing key.
type Endpoint struct {
	URL        string
	ID         string
	WorkflowID string
	secret     signature.Secret
}

var client = &http.Client{Timeout: 30 * time.Second}

// call sends a management request and decodes the answer.
func (s *System) call(ctx context.Context, method, path, key, contentType string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s = %d %s, want %d", method, path, res.StatusCode, truncate(string(b), 300), want)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (s *System) callJSON(ctx context.Context, method, path, key string, in any, want int, out any) error {
	var b []byte
	if in != nil {
		var err error
		if b, err = json.Marshal(in); err != nil {
			return err
		}
	}
	return s.call(ctx, method, path, key, "application/json", b, want, out)
}

// Signup makes a tenant on the business plan (limits that do not bound the load).
func (s *System) Signup(ctx context.Context, name string) (Tenant, error) {
	var out struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	err := s.callJSON(ctx, "POST", "/api/v1/signup", "", map[string]string{"email": name + "@chaos.example", "tenant_name": name}, 201, &out)
	if err != nil {
		return Tenant{}, err
	}
	if _, err := s.env.owner.ExecContext(ctx, `UPDATE tenants SET plan = 'business' WHERE id = $1`, out.TenantID); err != nil {
		return Tenant{}, err
	}
	return Tenant{ID: out.TenantID, Key: out.APIKey}, nil
}

// Workflow saves a YAML definition and makes a standard-webhooks endpoint for it.
func (s *System) Workflow(ctx context.Context, t Tenant, yaml string) (Endpoint, error) {
	var wf struct {
		ID string `json:"id"`
	}
	if err := s.call(ctx, "POST", "/api/v1/workflows", t.Key, "application/yaml", []byte(yaml), 201, &wf); err != nil {
		return Endpoint{}, err
	}
	var ep struct {
		ID            string `json:"id"`
		URL           string `json:"url"`
		SigningSecret string `json:"signing_secret"`
	}
	err := s.callJSON(ctx, "POST", "/api/v1/webhook-endpoints", t.Key, map[string]any{
		"workflow_id": wf.ID, "name": "chaos", "verification": map[string]string{"scheme": signature.StandardWebhooks},
	}, 201, &ep)
	if err != nil {
		return Endpoint{}, err
	}
	sec, err := signature.KeyBytes(signature.StandardWebhooks, ep.SigningSecret)
	if err != nil {
		return Endpoint{}, err
	}
	return Endpoint{URL: ep.URL, ID: ep.ID, WorkflowID: wf.ID, secret: sec}, nil
}

// ScheduledWorkflow saves a workflow with a schedule and no endpoint.
func (s *System) ScheduledWorkflow(ctx context.Context, t Tenant, yaml string) (string, error) {
	var wf struct {
		ID string `json:"id"`
	}
	err := s.call(ctx, "POST", "/api/v1/workflows", t.Key, "application/yaml", []byte(yaml), 201, &wf)
	return wf.ID, err
}

// sign returns the headers of a signed delivery of body with id.
func (ep Endpoint) sign(id string, body []byte) (http.Header, error) {
	return signature.Sign(signature.Settings{Scheme: signature.StandardWebhooks}, ep.secret, id, time.Now(), body)
}
