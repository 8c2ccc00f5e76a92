package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"aias/internal/keyring"
	"aias/internal/postgres"
	"aias/internal/seed"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/webhook"
)

const (
	oldKeys = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	newKeys = "new:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=," + oldKeys
)

func TestTenantAndAPIKeyCommandsMintWorkingKeys(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"tenant", "create", "-email", "op@example.com", "-name", "ops"}, getenv, &out); err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	tenantID := field(out.String(), "tenant_id:")
	out.Reset()
	if err := run(context.Background(), []string{"apikey", "create", "-tenant", tenantID, "-name", "ci", "-role", "viewer"}, getenv, &out); err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	if key := field(out.String(), "api_key:"); !strings.HasPrefix(key, "aias_") || !strings.Contains(out.String(), "role:       viewer") {
		t.Errorf("apikey create printed %q, want a viewer aias_ key", out.String())
	}
}

func TestSecretsRewrapMovesSigningSecretsToThePrimaryKey(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	s, err := tenant.Create(ctx, db.DB, "k@example.com", "k")
	if err != nil {
		t.Fatal(err)
	}
	old, err := keyring.Parse(oldKeys)
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTenantTx(ctx, s.TenantID, func(q postgres.Querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO workflows (id, tenant_id, name, current_version) VALUES (gen_random_uuid(), $1, 'w', 1)`, s.TenantID); err != nil {
			return err
		}
		var wf string
		if err := q.GetContext(ctx, &wf, `SELECT id FROM workflows`); err != nil {
			return err
		}
		// a signed endpoint: its secret is sealed under the old key
		_, _, err := webhook.Create(ctx, q, old, s.TenantID, withScheme(mustUUID(t, wf), "github"), webhook.Limits{MaxBodyBytes: 1 << 20})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL, "AIAS_ENCRYPTION_KEYS": newKeys}
	var out bytes.Buffer
	if err := run(ctx, []string{"secrets", "rewrap"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("secrets rewrap: %v", err)
	}
	if !strings.Contains(out.String(), "1 signing secret(s) to key new") {
		t.Errorf("rewrap said %q, want one signing secret moved to key new", out.String())
	}
	owner, err := postgres.Open(ctx, db.OwnerURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	var left int
	if err := owner.GetContext(ctx, &left, `SELECT count(*) FROM endpoint_secrets WHERE key_id <> 'new'`); err != nil || left != 0 {
		t.Errorf("signing secrets still on another key = %d (%v), want 0", left, err)
	}
}

func field(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label); ok {
			return strings.Fields(v)[0]
		}
	}
	return ""
}

func withScheme(wf uuid.UUID, scheme string) webhook.NewEndpoint {
	n := webhook.NewEndpoint{WorkflowID: wf, Name: scheme}
	n.Verification.Scheme = scheme
	return n
}

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// aias seed installs the demo on a running installation: the printed
// webhook URL uses the public URL, the demo's http step the target URL.
func TestSeedPrintsTheDemoAndPointsItsStepAtTheTarget(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"DATABASE_URL": db.AppURL, "AIAS_MIGRATE_DATABASE_URL": db.OwnerURL,
		"AIAS_PUBLIC_URL": "http://localhost:8080"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "-target", "http://ingress:8080"}, getenv, &out); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if !strings.Contains(out.String(), "curl -sS -X POST 'http://localhost:8080/") {
		t.Errorf("seed printed %q, want a curl line on the public URL", out.String())
	}
	var def string
	err := db.InTenantTx(context.Background(), seed.DemoTenantID, func(q postgres.Querier) error {
		return q.GetContext(context.Background(), &def, `SELECT definition::text FROM workflow_versions ORDER BY version DESC LIMIT 1`)
	})
	if err != nil || !strings.Contains(def, "http://ingress:8080/healthz") {
		t.Errorf("demo definition = %s (%v), want its http step on the target URL", def, err)
	}
}
