package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"aias/db"
)

// Migrate applies every pending migration embedded in the binary. It must run
// as the schema owner (superuser or a role with CREATEROLE and BYPASSRLS, see
// docs/data.md). A Postgres session lock lets several migrators start at once.
func Migrate(ctx context.Context, url string) (applied int, err error) {
	sqlDB, err := sql.Open("postgres", url)
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
	return len(res), nil
}

// SchemaVersion reports the applied and the embedded (expected) version.
func SchemaVersion(ctx context.Context, url string) (current, expected int64, err error) {
	sqlDB, err := sql.Open("postgres", url)
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
