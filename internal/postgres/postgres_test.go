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
