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

func TestWorkflowApplyCreatesThenVersionsByNameOnlyWhatChanged(t *testing.T) {
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
	apply := func(want string) {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"workflow", "apply", "-f", file}, getenv, &out); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("apply said %q, want %s", out.String(), want)
		}
	}
	apply("(created): id ")
	// The same file again, formatted otherwise: nothing to save, no version.
	if err := os.WriteFile(file, []byte("steps:\n- name: a\n  with: {output: '1'}\n  type: transform\nname: from-git\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apply("(unchanged): id ")
	apply("version 1\n")
	if err := os.WriteFile(file, []byte("name: from-git\nsteps:\n  - {name: a, type: transform, with: {output: '2'}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apply("(updated): id ")
	apply("(unchanged): id ")
	apply("version 2\n")
}

// aias workflow validate checks a file locally: a valid definition is
// reported valid (nothing is sent anywhere), a bad one is refused with the
// path of every problem.
func TestWorkflowValidateReportsEveryProblemWithItsPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("name: ok\nsteps:\n  - { name: a, type: transform, with: { output: \"1\" } }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("name: bad\nsteps:\n  - { name: a, type: email }\n  - { name: b, type: transform, with: { output: \"steps.later.output\" } }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" } // validate needs no API and no database
	var out bytes.Buffer
	if err := run(context.Background(), []string{"workflow", "validate", "-f", good}, noEnv, &out); err != nil {
		t.Fatalf("validate good: %v", err)
	}
	if !strings.Contains(out.String(), `workflow "ok" is valid`) {
		t.Errorf("validate good printed %q", out.String())
	}
	err := run(context.Background(), []string{"workflow", "validate", "-f", bad}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "steps[0].type") || !strings.Contains(err.Error(), "steps[1].with.output") {
		t.Fatalf("validate bad = %v, want an error naming steps[0].type and steps[1].with.output", err)
	}
}
