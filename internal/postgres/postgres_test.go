package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
)

func TestRowLevelSecurityShowsOnlyTheTransactionsTenant(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	owner, err := postgres.Open(ctx, db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	tenant := uuid.New()
	if _, err := owner.ExecContext(ctx, `INSERT INTO tenants (id, name) VALUES ($1, 'x')`, tenant); err != nil {
		t.Fatal(err)
	}
	count := func(q postgres.Querier) int {
		var n int
		if err := q.GetContext(ctx, &n, `SELECT count(*) FROM tenants`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(db); n != 0 {
		t.Errorf("tenants visible with app.tenant_id unset = %d, want 0", n)
	}
	_ = db.InTenantTx(ctx, uuid.New(), func(q postgres.Querier) error {
		if n := count(q); n != 0 {
			t.Errorf("tenants visible to another tenant = %d, want 0", n)
		}
		return nil
	})
	_ = db.InTenantTx(ctx, tenant, func(q postgres.Querier) error {
		if n := count(q); n != 1 {
			t.Errorf("tenants visible to the tenant itself = %d, want 1", n)
		}
		return nil
	})
	if n := count(db); n != 0 {
		t.Errorf("tenant setting leaked past its transaction: %d rows visible", n)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	n, err := postgres.Migrate(context.Background(), db.OwnerURL)
	if err != nil || n != 0 {
		t.Fatalf("Migrate on a migrated database = %d, %v; want 0, nil", n, err)
	}
	cur, want, err := postgres.SchemaVersion(context.Background(), db.OwnerURL)
	if err != nil || cur != want {
		t.Fatalf("SchemaVersion = %d, %d, %v; want equal", cur, want, err)
	}
}

// Repository statements filter on postgres.Tenant: it is the tenant a
// transaction was opened for, and the zero id for the pool or a plain
// transaction, so such a statement run outside a tenant matches nothing.
func TestTenantIsTheTenantATransactionWasOpenedFor(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	tenant := uuid.New()
	var inTenant, inPlain, scoped uuid.UUID
	if err := db.InTenantTx(ctx, tenant, func(q postgres.Querier) error { inTenant = postgres.Tenant(q); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(q postgres.Querier) error { inPlain = postgres.Tenant(q); return nil }); err != nil {
		t.Fatal(err)
	}
	scoped = postgres.Tenant(db.Scoped(tenant))
	if inTenant != tenant || scoped != tenant {
		t.Errorf("Tenant in InTenantTx = %s, of Scoped = %s, want %s", inTenant, scoped, tenant)
	}
	if inPlain != uuid.Nil || postgres.Tenant(db.DB) != uuid.Nil {
		t.Errorf("Tenant in InTx = %s, of the pool = %s, want the zero id for both", inPlain, postgres.Tenant(db.DB))
	}
}
