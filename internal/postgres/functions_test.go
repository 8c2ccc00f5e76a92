package postgres_test

import (
	"context"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"aias/db"
	"aias/internal/postgres"
	"aias/internal/testutil/pgtest"
)

// migrationHelpers are the functions migrations themselves call, which
// must exist before db/functions is applied and so live in a migration.
var migrationHelpers = []string{"aias_enable_rls"}

// Each function's body lives in one file of db/functions: every function
// in the schema has its file, and every file is a function of the schema.
func TestEveryFunctionHasOneFileAndEveryFileAFunction(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	var inSchema []string
	const q = `SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	            WHERE n.nspname = 'public' ORDER BY 1`
	if err := d.SelectContext(context.Background(), &inSchema, q); err != nil {
		t.Fatal(err)
	}
	files := functionFiles(t)
	for _, name := range inSchema {
		if !slices.Contains(files, name) && !slices.Contains(migrationHelpers, name) {
			t.Errorf("function %s has no file db/functions/%s.sql", name, name)
		}
	}
	for _, name := range files {
		if !slices.Contains(inSchema, name) {
			t.Errorf("db/functions/%s.sql names no function of the migrated schema", name)
		}
	}
}

// From migration 00023 on, a migration changes a function only by dropping
// a signature that changed: the new body goes into db/functions, so it is
// never copied into the migration that changes one line of it.
func TestNoNewMigrationCarriesAFunctionBody(t *testing.T) {
	t.Parallel()
	create := regexp.MustCompile(`(?i)CREATE\s+(OR\s+REPLACE\s+)?FUNCTION\s+(\w+)`)
	migrations, err := fs.Glob(db.Migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range migrations {
		if path.Base(f) < "00023" {
			continue // written before db/functions existed
		}
		src, err := fs.ReadFile(db.Migrations, f)
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(src), "-- +goose Down")
		for _, m := range create.FindAllStringSubmatch(up, -1) {
			if !slices.Contains(migrationHelpers, m[2]) {
				t.Errorf("%s creates function %s: put its body in db/functions/%s.sql", f, m[2], m[2])
			}
		}
	}
}

// Applying db/functions to a database that has them changes nothing: the
// bodies in the schema are the files'.
func TestFunctionsInTheSchemaAreTheFiles(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	ctx := context.Background()
	const defs = `SELECT string_agg(md5(pg_get_functiondef(p.oid)) || coalesce(p.proacl::text, ''), ',' ORDER BY p.oid)
	                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'`
	owner := ownerOf(t, d)
	var before, after string
	if err := owner.GetContext(ctx, &before, defs); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(functionFiles(t), "grants") {
		src, err := fs.ReadFile(db.Functions, "functions/"+f+".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owner.ExecContext(ctx, string(src)); err != nil {
			t.Fatalf("apply %s: %v", f, err)
		}
	}
	if err := owner.GetContext(ctx, &after, defs); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Error("re-applying db/functions changed the schema's functions: the migrated schema does not hold the files' bodies")
	}
}

// A SECURITY DEFINER function runs past row-level security: the
// application's role may execute it, PUBLIC may not (grants.sql).
func TestOnlyTheApplicationMayExecuteDefinerFunctions(t *testing.T) {
	t.Parallel()
	d := pgtest.New(t)
	var open []string
	const q = `
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.prosecdef
   AND (has_function_privilege('public', p.oid, 'EXECUTE') OR NOT has_function_privilege('aias_app', p.oid, 'EXECUTE'))`
	if err := d.SelectContext(context.Background(), &open, q); err != nil {
		t.Fatal(err)
	}
	for _, f := range open {
		t.Errorf("SECURITY DEFINER function %s: executable by PUBLIC, or not by aias_app", f)
	}
}

// functionFiles names the functions of db/functions (grants.sql aside).
func functionFiles(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(db.Functions, "functions/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if name := strings.TrimSuffix(path.Base(f), ".sql"); name != "grants" {
			names = append(names, name)
		}
	}
	return names
}

// ownerOf connects to d as its owner, for the test's length.
func ownerOf(t *testing.T, d *pgtest.DB) *postgres.DB {
	t.Helper()
	owner, err := postgres.Open(context.Background(), d.OwnerURL, 1) // one connection: the file's statements in order
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Close() })
	return owner
}
