package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aias/internal/postgres"
	"aias/internal/tools/tcpproxy"
)

// Options configure one suite run.
type Options struct {
	BinDir   string    // holds aias-ingress, aias-worker, aias-scheduler
	AdminURL string    // a superuser connection to the Postgres cluster (default: local postgres)
	WorkDir  string    // logs and Redis files (default: a temp dir, removed unless KeepDir)
	KeepDir  bool      // keep WorkDir (logs) after the run
	Out      io.Writer // progress lines
	Quick    bool      // smaller loads, for the subset that runs in make test
}

// appRole is the login role the programs connect as: a member of aias_app,
// no superuser, no BYPASSRLS, so row-level security is in force as in production.
const appRole = "aias_chaos_app"

// keys seals secrets in the suite (a throwaway value, never a real key).
const keys = "chaos1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" //nolint:gosec // a throwaway test key

// Env is what one suite run shares: its database and the proxy in front of it.
type Env struct {
	opt      Options
	dbName   string
	ownerURL string
	appURL   string // through the proxy
	owner    *postgres.DB
	pg       *tcpproxy.Proxy
	logf     func(format string, args ...any)
	tmp      bool
}

// NewEnv creates the suite's database (migrated, with its login role) and the
// proxy the programs reach it through.
func NewEnv(ctx context.Context, opt Options) (*Env, error) {
	if opt.AdminURL == "" {
		opt.AdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	e := &Env{opt: opt}
	e.logf = func(format string, args ...any) {
		fmt.Fprintf(e.opt.Out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	if e.opt.WorkDir == "" {
		d, err := os.MkdirTemp("", "aias-chaos-")
		if err != nil {
			return nil, err
		}
		e.opt.WorkDir, e.tmp = d, !opt.KeepDir
	}
	admin, err := postgres.Open(ctx, opt.AdminURL, 2)
	if err != nil {
		return nil, fmt.Errorf("connect as admin: %w", err)
	}
	defer func() { _ = admin.Close() }()
	dropStale(ctx, admin)
	e.dbName = dbName()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %q`, e.dbName)); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	e.ownerURL = postgres.WithDatabase(opt.AdminURL, e.dbName, "")
	if _, err := postgres.Migrate(ctx, e.ownerURL); err != nil {
		e.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%[1]s') THEN
			CREATE ROLE %[1]s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE aias_app;
		END IF;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END $$`, appRole)); err != nil {
		e.Close()
		return nil, fmt.Errorf("create role: %w", err)
	}
	if e.owner, err = postgres.Open(ctx, e.ownerURL, 4); err != nil {
		e.Close()
		return nil, err
	}
	u, _ := url.Parse(opt.AdminURL)
	if e.pg, err = tcpproxy.Listen(u.Host); err != nil {
		e.Close()
		return nil, err
	}
	app, _ := url.Parse(postgres.WithDatabase(opt.AdminURL, e.dbName, appRole))
	app.Host = e.pg.Addr()
	e.appURL = app.String()
	e.logf("database %s (programs connect through %s)", e.dbName, e.pg.Addr())
	return e, nil
}

// Close drops the database and stops the proxy.
func (e *Env) Close() {
	if e.pg != nil {
		e.pg.Stop()
	}
	if e.owner != nil {
		_ = e.owner.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if admin, err := postgres.Open(ctx, e.opt.AdminURL, 1); err == nil {
		_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, e.dbName))
		_ = admin.Close()
	}
	if e.tmp {
		_ = os.RemoveAll(e.opt.WorkDir)
	}
}

// dropStale removes databases of suite runs killed more than two hours ago.
func dropStale(ctx context.Context, admin *postgres.DB) {
	var names []string
	if err := admin.SelectContext(ctx, &names, `SELECT datname FROM pg_database WHERE datname LIKE 'aias\_chaos\_%'`); err != nil {
		return
	}
	for _, n := range names {
		var ts int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(n, "aias_chaos_"), "%d_", &ts); err == nil && time.Since(time.Unix(ts, 0)) > 2*time.Hour {
			_, _ = admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, n))
		}
	}
}

func dbName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("aias_chaos_%d_%s", time.Now().Unix(), hex.EncodeToString(b))
}

func (e *Env) path(name string) string { return filepath.Join(e.opt.WorkDir, name) }
