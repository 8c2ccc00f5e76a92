// Package pgtest gives each test its own real Postgres database.
//
// The first call in a test binary migrates a template database; every test
// then gets CREATE DATABASE ... TEMPLATE (a file copy, milliseconds), is
// connected as a non-owner login role in aias_app so row-level security is
// really exercised, and the database is dropped at cleanup. Databases left by
// killed runs are dropped by the next binary once they are two hours old.
//
// AIAS_TEST_DATABASE_URL names the admin connection (default: the local
// postgres superuser). A missing database is a test failure, never a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"aias/internal/postgres"
)

// AppRole is the login role tests connect as: member of aias_app, nothing more.
const AppRole = "aias_test_app"

var (
	tplOnce sync.Once
	tplName string
	tplErr  error
	mu      sync.Mutex // CREATE DATABASE from one template, one at a time per binary
)

// AdminURL is the superuser connection used to create and drop databases.
func AdminURL() string {
	if u := os.Getenv("AIAS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DB is one test database.
type DB struct {
	*postgres.DB
	Name     string
	AppURL   string // connect as the application role
	OwnerURL string // connect as the owner (superuser in tests)
}

// New creates a migrated database for tb and connects to it as the app role.
func New(tb testing.TB) *DB {
	tb.Helper()
	ctx := context.Background()
	tplOnce.Do(func() { tplName, tplErr = makeTemplate(ctx) })
	if tplErr != nil {
		tb.Fatalf("pgtest: template database: %v", tplErr)
	}
	name := dbName("aias_t")
	if err := createFromTemplate(ctx, name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	appURL, ownerURL := postgres.WithDatabase(AdminURL(), name, AppRole), postgres.WithDatabase(AdminURL(), name, "")
	db, err := postgres.Open(ctx, appURL, 10)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	tb.Cleanup(func() {
		_ = db.Close()
		if err := exec(context.Background(), AdminURL(), fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name)); err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return &DB{DB: db, Name: name, AppURL: appURL, OwnerURL: ownerURL}
}

// AsOwner runs query as the database's owner: what an operator, or time,
// does to rows the application role may not touch (a plan set by hand, a
// sign-in aged, a grant taken away). It fails tb on an error.
func (d *DB) AsOwner(tb testing.TB, query string, args ...any) {
	tb.Helper()
	owner, err := postgres.Open(context.Background(), d.OwnerURL, 1)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = owner.Close() }()
	if _, err := owner.ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

func makeTemplate(ctx context.Context) (string, error) {
	dropStale(ctx)
	name := dbName("aias_tpl")
	if err := exec(ctx, AdminURL(), fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		return "", err
	}
	if _, err := postgres.Migrate(ctx, postgres.WithDatabase(AdminURL(), name, "")); err != nil {
		return "", err
	}
	err := exec(ctx, AdminURL(), fmt.Sprintf(`DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%[1]s') THEN
			CREATE ROLE %[1]s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE aias_app;
		END IF;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`, AppRole))
	return name, err
}

func createFromTemplate(ctx context.Context, name string) error {
	mu.Lock()
	defer mu.Unlock()
	var err error
	for range 20 { // another binary may be copying the same template: retry briefly
		err = exec(ctx, AdminURL(), fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, tplName))
		if err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// dropStale removes databases of earlier, killed test binaries.
func dropStale(ctx context.Context) {
	db, err := sql.Open("postgres", AdminURL())
	if err != nil {
		return
	}
	defer func() { _ = db.Close() }()
	var names []string
	if err := datnames(ctx, db, &names); err != nil {
		return
	}
	var stale []string
	for _, n := range names {
		if olderThan(n, 2*time.Hour) {
			stale = append(stale, n)
		}
	}
	for _, n := range stale {
		_, _ = db.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, n))
	}
}

// olderThan reads the unix time embedded in a name made by dbName.
func olderThan(name string, age time.Duration) bool {
	parts := strings.Split(name, "_")
	if len(parts) < 4 {
		return false
	}
	ts, err := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	return err == nil && time.Since(time.Unix(ts, 0)) > age
}

func dbName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%d_%s", prefix, time.Now().Unix(), hex.EncodeToString(b))
}

func exec(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

func datnames(ctx context.Context, db *sql.DB, names *[]string) error {
	rows, err := db.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'aias\_t%'`)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		*names = append(*names, n)
	}
	return rows.Err()
}
