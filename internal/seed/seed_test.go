package seed_test

import (
	"context"
	"strings"
	"testing"

	"aias/internal/postgres"
	"aias/internal/seed"
	"aias/internal/testutil/pgtest"
)

func TestInstallIsRepeatableAndReissuesCredentials(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	owner, err := postgres.Open(ctx, db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	first, err := seed.Install(ctx, owner, "http://127.0.0.1:8080", "")
	if err != nil {
		t.Fatalf("first Install: %v", err)
	}
	second, err := seed.Install(ctx, owner, "http://127.0.0.1:8080", "")
	if err != nil {
		t.Fatalf("second Install: %v", err)
	}
	if first.WorkflowID != second.WorkflowID || first.TenantID != second.TenantID {
		t.Errorf("reseeding made a new tenant or workflow: %+v then %+v", first, second)
	}
	if first.APIKey == second.APIKey || first.WebhookURL == second.WebhookURL {
		t.Error("reseeding kept the old key or token; they are stored hashed and must be reissued")
	}
	if !strings.HasPrefix(second.WebhookURL, "http://127.0.0.1:8080/api/webhooks/"+seed.DemoTenantID.String()+"/") {
		t.Errorf("webhook url = %s", second.WebhookURL)
	}
	var live int
	err = owner.GetContext(ctx, &live, `SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL`, seed.DemoTenantID)
	if err != nil || live != 1 {
		t.Errorf("live demo keys = %d (%v), want 1: the previous key is revoked", live, err)
	}
}
