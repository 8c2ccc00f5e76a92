package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"aias/db"
)

// Migrate applies every pending migration embedded in the binary, then the
// current body of every SQL function (db/functions). It must run as the
// schema owner (superuser or a role with CREATEROLE and BYPASSRLS, see
// docs/data.md). A Postgres session lock lets several migrators start at
// once.
func Migrate(ctx context.Context, url string) (applied int, err error) {
	sqlDB, err := openPlain(url)
	if err != nil {
		return 0, fmt.Errorf("open postgres: %w", err)
	}
	defer func() { _ = sqlDB.Close() }()
	p, err := provider(sqlDB)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", Classify(err))
	}
	if err := applyFunctions(ctx, sqlDB); err != nil {
		return len(res), err
	}
	return len(res), nil
}

// applyFunctions re-creates every function from db/functions (CREATE OR
// REPLACE: a body that did not change is rewritten to itself), then applies
// grants.sql, in one transaction. The body of a function is kept in one file
// rather than copied into each migration that changes it; a migration only
// drops a signature that changed. Migrators that start together take turns
// on a transaction lock, since concurrent replacements of one function fail.
func applyFunctions(ctx context.Context, sqlDB *sql.DB) error {
	files, err := fs.Glob(db.Functions, "functions/*.sql")
	if err != nil {
		return fmt.Errorf("embedded functions: %w", err)
	}
	last := func(f string) int { // grants.sql after every function
		if path.Base(f) == grantsFile {
			return 1
		}
		return 0
	}
	slices.SortFunc(files, func(a, b string) int { return cmp.Or(cmp.Compare(last(a), last(b)), cmp.Compare(a, b)) })
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("functions: %w", Classify(err))
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aias.functions', 0))`); err != nil {
		return fmt.Errorf("functions: lock: %w", Classify(err))
	}
	for _, f := range files {
		src, err := fs.ReadFile(db.Functions, f)
		if err != nil {
			return fmt.Errorf("functions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(src)); err != nil {
			return fmt.Errorf("functions: %s: %w", f, Classify(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("functions: commit: %w", Classify(err))
	}
	return nil
}

// grantsFile states who may execute the functions; it is applied last.
const grantsFile = "grants.sql"

// SchemaVersion reports the applied and the embedded (expected) version.
func SchemaVersion(ctx context.Context, url string) (current, expected int64, err error) {
	sqlDB, err := openPlain(url)
	if err != nil {
		return 0, 0, fmt.Errorf("open postgres: %w", err)
	}
	defer func() { _ = sqlDB.Close() }()
	p, err := provider(sqlDB)
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

func provider(sqlDB *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(db.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return p, nil
}

// openPlain opens a pool of plain lib/pq connections (no prepared
// statements, no connection wait), with Open's connect timeout and
// keepalives.
func openPlain(url string) (*sql.DB, error) {
	c, err := newConnector(url)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}
