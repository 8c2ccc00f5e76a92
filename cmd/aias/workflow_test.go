package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aias/internal/app"
	"aias/internal/config"
	"aias/internal/logging"
	"aias/internal/tenant"
	"aias/internal/testutil/pgtest"
	"aias/internal/testutil/redistest"
)

func TestWorkflowApplyCreatesThenVersionsByName(t *testing.T) {
	db := pgtest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": db.AppURL, "REDIS_URL": redistest.New(t), "AIAS_ENV": "dev",
		"AIAS_ENCRYPTION_KEYS": "t:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.RoleIngress)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logging.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, config.RoleIngress, ln) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })

	s, err := tenant.Create(context.Background(), db.DB, "cli@example.com", "cli")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "wf.yaml")
	if err := os.WriteFile(file, []byte("name: from-git\nsteps:\n  - {name: a, type: transform, with: {output: '1'}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"AIAS_API_URL": "http://" + ln.Addr().String(), "AIAS_API_KEY": s.APIKey}[k]
	}
	for _, want := range []string{"version 1", "version 2"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"workflow", "apply", "-f", file}, getenv, &out); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("apply said %q, want %s", out.String(), want)
		}
	}
}
