// Package seed installs the demo tenant that `make run` (aias dev) shows off.
//
// Seeding is an operator action and runs on the owner connection. The demo
// API key and endpoint token are reissued on every call: AIAS stores only
// their hashes, so the only way to print a working curl line is a fresh one.
package seed

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"aias/internal/auth"
	"aias/internal/postgres"
	"aias/internal/webhook"
	"aias/internal/workflow"
)

//go:embed demo.yaml
var demoWorkflow string

// DemoEmail is the demo tenant's owner, who logs in to the console with
// the password aias dev prints.
const DemoEmail = "demo@example.com"

// DemoTenantID is fixed so reseeding finds the same tenant.
var DemoTenantID = uuid.MustParse("00000000-0000-4000-8000-0000000de300")

// Demo is what the seed printed lines need.
type Demo struct {
	TenantID   uuid.UUID
	WorkflowID uuid.UUID
	APIKey     string
	WebhookURL string
}

// Install creates or refreshes the demo tenant, workflow and endpoint.
// publicURL is where senders reach the ingress (the printed webhook URL);
// targetURL is where the demo workflow's http step reaches it from a worker
// (the same on one machine; the ingress's service name in a container
// network). An empty targetURL means publicURL.
func Install(ctx context.Context, owner *postgres.DB, publicURL, targetURL string) (Demo, error) {
	d := Demo{TenantID: DemoTenantID, APIKey: auth.NewKey()}
	token := webhook.NewToken()
	if targetURL == "" {
		targetURL = publicURL
	}
	def, err := workflow.Decode([]byte(strings.ReplaceAll(demoWorkflow, "__PUBLIC_URL__", strings.TrimRight(targetURL, "/"))), "application/yaml")
	if err != nil {
		return d, fmt.Errorf("demo workflow: %w", err)
	}
	if err := def.Validate(); err != nil {
		return d, fmt.Errorf("demo workflow: %w", err)
	}
	err = owner.InTenantTx(ctx, DemoTenantID, func(q postgres.Querier) error {
		if err := ensureTenant(ctx, q, d.APIKey); err != nil {
			return err
		}
		if d.WorkflowID, err = ensureWorkflow(ctx, q, def); err != nil {
			return err
		}
		return ensureEndpoint(ctx, q, d.WorkflowID, token)
	})
	if err != nil {
		return d, fmt.Errorf("seed demo tenant: %w", err)
	}
	d.WebhookURL = webhook.URL(publicURL, DemoTenantID, token)
	return d, nil
}

func ensureTenant(ctx context.Context, q postgres.Querier, key string) error {
	const stmts = `
INSERT INTO tenants (id, name) VALUES ($1, 'demo') ON CONFLICT (id) DO NOTHING;`
	if _, err := q.ExecContext(ctx, stmts, DemoTenantID); err != nil {
		return fmt.Errorf("tenant: %w", err)
	}
	var userID uuid.UUID
	const user = `INSERT INTO users (id, email) VALUES ($1, $2)
	              ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id`
	if err := q.GetContext(ctx, &userID, user, uuid.New(), DemoEmail); err != nil {
		return fmt.Errorf("user: %w", err)
	}
	const member = `INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner') ON CONFLICT DO NOTHING`
	if _, err := q.ExecContext(ctx, member, DemoTenantID, userID); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	const revoke = `UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND name = 'demo key' AND revoked_at IS NULL`
	if _, err := q.ExecContext(ctx, revoke, DemoTenantID); err != nil {
		return fmt.Errorf("revoke old demo keys: %w", err)
	}
	const insertKey = `INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, role)
	                   VALUES ($1, $2, $3, 'demo key', $4, $5, 'owner')`
	if _, err := q.ExecContext(ctx, insertKey, uuid.New(), DemoTenantID, userID, auth.DisplayPrefix(key), auth.Hash(key)); err != nil {
		return fmt.Errorf("api key: %w", err)
	}
	return nil
}

func ensureWorkflow(ctx context.Context, q postgres.Querier, def workflow.Definition) (uuid.UUID, error) {
	w, err := workflow.GetByName(ctx, q, def.Name)
	if err == nil {
		if string(w.Definition) != string(def.JSON()) {
			w, err = workflow.Update(ctx, q, DemoTenantID, w.ID, def)
		}
		return w.ID, err
	}
	w, err = workflow.Create(ctx, q, DemoTenantID, def)
	return w.ID, err
}

func ensureEndpoint(ctx context.Context, q postgres.Querier, workflowID uuid.UUID, token string) error {
	const rotate = `UPDATE webhook_endpoints SET token_hash = $2, token_prefix = $3, workflow_id = $4, enabled = true, updated_at = now()
	                 WHERE tenant_id = $1 AND name = 'demo' AND deleted_at IS NULL`
	res, err := q.ExecContext(ctx, rotate, DemoTenantID, webhook.HashToken(token), token[:6], workflowID)
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	const insert = `INSERT INTO webhook_endpoints (id, tenant_id, workflow_id, name, token_hash, token_prefix)
	                VALUES ($1, $2, $3, 'demo', $4, $5)`
	_, err = q.ExecContext(ctx, insert, uuid.New(), DemoTenantID, workflowID, webhook.HashToken(token), token[:6])
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	return nil
}
