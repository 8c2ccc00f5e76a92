package postgres_test

import (
	"context"
	"testing"

	"aias/internal/testutil/pgtest"
)

// The row-level security contract, read from the catalog so a table added
// later without it fails here.
func TestEveryTenantTableHasForcedRowLevelSecurityAndAPolicy(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	var tables []struct {
		Name     string `db:"relname"`
		Enabled  bool   `db:"relrowsecurity"`
		Forced   bool   `db:"relforcerowsecurity"`
		Policies int    `db:"policies"`
	}
	const q = `
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`
	if err := db.SelectContext(ctx, &tables, q); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 7 {
		t.Fatalf("found %d tenant tables, want the core ones at least", len(tables))
	}
	for _, tb := range tables {
		if !tb.Enabled || !tb.Forced || tb.Policies == 0 {
			t.Errorf("table %s: rls enabled=%v forced=%v policies=%d, want enabled, forced, >= 1 policy",
				tb.Name, tb.Enabled, tb.Forced, tb.Policies)
		}
	}
}

func TestTheApplicationRoleCannotBypassRowLevelSecurityOrOwnTables(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	var role struct {
		Super  bool `db:"rolsuper"`
		Bypass bool `db:"rolbypassrls"`
		Owns   int  `db:"owns"`
	}
	const q = `
SELECT r.rolsuper, r.rolbypassrls,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owns
  FROM pg_roles r WHERE r.rolname = current_user`
	if err := db.GetContext(ctx, &role, q); err != nil {
		t.Fatal(err)
	}
	if role.Super || role.Bypass || role.Owns != 0 {
		t.Errorf("application role: superuser=%v bypassrls=%v owns %d relations; want none of these", role.Super, role.Bypass, role.Owns)
	}
}

func TestEveryViewRunsWithTheCallersRights(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var views []string
	const q = `
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'v'
   AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)`
	if err := db.SelectContext(context.Background(), &views, q); err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		t.Errorf("view %s is not security_invoker: it would read with its owner's rights, past row-level security", v)
	}
}

func TestWritesWithTheTenantUnsetAreRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	_, err := db.ExecContext(context.Background(),
		`INSERT INTO audit_log (id, tenant_id, action, object_type, object_id) VALUES (gen_random_uuid(), gen_random_uuid(), 'x', 'y', 'z')`)
	if err == nil {
		t.Error("insert with app.tenant_id unset succeeded, want a row-level security refusal")
	}
}
